/* phi3 (Phi-3-mini, Phi-3.5-mini, Phi-4-mini): fused attn_qkv and gate/up, NEOX rope over
 * n_rot dims (partial rotary in Phi-4-mini), LongRoPE factors chosen by context length as
 * llama.cpp chooses them (long when n_ctx > original context), Q pre-scaled by 1/sqrt(d).
 * Sliding-window attention is read but, like llama.cpp, not applied (its metadata is unreliable). */
#include "models/weights.h"

eq_status eq_phi3_bind(eq_model *m, char *err, size_t errlen) {
    eq_status st = eq_read_hparams(m, err, errlen);
    if (st) return st;
    m->hp.rope_type = EQ_ROPE_NEOX;
    m->hp.q_prescale = 1;
    if ((st = eq_bind_decoder(m, 1, 1, 0, err, errlen))) return st;
    eq_weight lng, sht;
    if ((st = eq_bind_weight(m, &lng, "rope_factors_long.weight", m->hp.n_rot / 2, 1, 0, err, errlen))) return st;
    if ((st = eq_bind_weight(m, &sht, "rope_factors_short.weight", m->hp.n_rot / 2, 1, 0, err, errlen))) return st;
    for (int i = 0; i < m->hp.n_layer; i++) {
        m->layers[i].rope_long = lng;
        m->layers[i].rope_short = sht;
    }
    return EQ_OK;
}
