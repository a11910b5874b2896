/* llama (Llama 2/3, TinyLlama, SmolLM2): separate Q/K/V, SwiGLU, rope on adjacent pairs
 * (the converter permuted Q/K for it), optional rope_freqs (Llama 3.1 long-context factors). */
#include "models/weights.h"

eq_status eq_llama_bind(eq_model *m, char *err, size_t errlen) {
    eq_status st = eq_read_hparams(m, err, errlen);
    if (st) return st;
    m->hp.rope_type = EQ_ROPE_NORM;
    if ((st = eq_bind_decoder(m, 0, 0, 1, err, errlen))) return st;  /* some llama finetunes carry biases */
    eq_weight f;
    if ((st = eq_bind_weight(m, &f, "rope_freqs.weight", m->hp.n_rot / 2, 1, 0, err, errlen))) return st;
    for (int i = 0; i < m->hp.n_layer; i++) m->layers[i].rope_freqs = f;
    return EQ_OK;
}
