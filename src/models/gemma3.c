/* gemma3 (Gemma 3 270M .. 27B): the hyperparameters its forward pass needs, read as llama.cpp
 * reads them. Most layers attend to a sliding window (attention.sliding_window) with their
 * own rope base (rope.freq_base_swa, else 10000); every n-th layer (sliding_window_pattern,
 * default 6: layers 5, 11, 17, ...) attends to everything with rope.freq_base. Heads are
 * key_length wide whatever n_embd / n_head is; embeddings are scaled by sqrt(n_embd), Q by
 * 1/sqrt(key_length) (27B: 1/sqrt(n_embd / n_head)); final_logit_softcapping is optional.
 * The forward pass is decoder.c's, with the flags and weights bound here. */
#include "models/weights.h"

#include <math.h>
#include <stdio.h>

eq_status eq_gemma3_hparams(eq_model *m, char *err, size_t errlen) {
    eq_status st = eq_read_hparams(m, err, errlen);
    if (st) return st;
    eq_hparams *hp = &m->hp;
    hp->rope_type = EQ_ROPE_NEOX;
    if (!eq_hparam_float(m, "attention.layer_norm_rms_epsilon", &hp->norm_eps)) {
        snprintf(err, errlen, "missing metadata 'gemma3.attention.layer_norm_rms_epsilon'");
        return EQ_ERR_FORMAT;
    }
    int64_t v;
    int r = eq_hparam_int(m, "attention.sliding_window", &v);
    if (r < 0 || (r > 0 && (v < 0 || v > (1 << 24)))) {
        snprintf(err, errlen, "metadata 'gemma3.attention.sliding_window' is not a size");
        return EQ_ERR_FORMAT;
    }
    hp->n_swa = r > 0 ? (int)v : 0;
    hp->rope_base_swa = 10000.0f;
    if (hp->n_swa > 0) {
        eq_hparam_float(m, "rope.freq_base_swa", &hp->rope_base_swa);
        /* per-layer booleans, or n: every n-th layer is global (0: none is) */
        const eq_gguf_kv *kv = eq_gguf_get(m->parts[0], "gemma3.attention.sliding_window_pattern");
        if (kv && kv->type == EQ_GGUF_ARRAY) {
            if (kv->n != (uint64_t)hp->n_layer) {
                snprintf(err, errlen, "metadata 'gemma3.attention.sliding_window_pattern' has %llu entries for %d layers",
                         (unsigned long long)kv->n, hp->n_layer);
                return EQ_ERR_FORMAT;
            }
            for (int i = 0; i < hp->n_layer; i++) {
                if (!eq_gguf_arr_i64(kv, (uint64_t)i, &v)) {
                    snprintf(err, errlen, "metadata 'gemma3.attention.sliding_window_pattern' is not an array of booleans");
                    return EQ_ERR_FORMAT;
                }
                m->layers[i].swa = v != 0;
            }
        } else {
            int64_t n = 6;
            if (kv && (!eq_gguf_get_i64(m->parts[0], "gemma3.attention.sliding_window_pattern", &n) || n < 0 || n > (1 << 20))) {
                snprintf(err, errlen, "metadata 'gemma3.attention.sliding_window_pattern' is not a layer count");
                return EQ_ERR_FORMAT;
            }
            for (int i = 0; i < hp->n_layer; i++) m->layers[i].swa = n == 0 || i % n < n - 1;
        }
    }
    hp->final_logit_softcap = 0.0f;
    eq_hparam_float(m, "final_logit_softcapping", &hp->final_logit_softcap);
    hp->embd_scale = sqrtf((float)hp->n_embd);
    hp->attn_scale = 1.0f / sqrtf((float)(hp->n_layer == 62 ? hp->n_embd / hp->n_head : hp->head_dim));
    if (!isfinite(hp->rope_base_swa) || hp->rope_base_swa <= 0 || !isfinite(hp->final_logit_softcap)
        || hp->final_logit_softcap < 0) {
        snprintf(err, errlen, "bad rope.freq_base_swa or final_logit_softcapping");
        return EQ_ERR_FORMAT;
    }
    return EQ_OK;
}

/* llama's tensors (no biases, tied output unless output.weight is there) plus four norms per
 * layer. Gemma's norms scale by (1 + w); llama.cpp's converter already stored 1 + w, so they
 * are plain RMS norm weights here. */
eq_status eq_gemma3_bind(eq_model *m, char *err, size_t errlen) {
    eq_status st = eq_gemma3_hparams(m, err, errlen);
    if (st) return st;
    eq_hparams *hp = &m->hp;
    hp->q_prescale = 1;
    hp->gelu = 1;
    if ((st = eq_bind_decoder(m, 0, 0, 0, err, errlen))) return st;
    const int64_t E = hp->n_embd, hd = hp->head_dim;
    for (int i = 0; i < hp->n_layer; i++) {
        eq_layer *l = &m->layers[i];
        if ((st = eq_bind_layer_weight(m, &l->q_norm, "blk.%d.attn_q_norm.weight", i, hd, 1, 1, err, errlen))
            || (st = eq_bind_layer_weight(m, &l->k_norm, "blk.%d.attn_k_norm.weight", i, hd, 1, 1, err, errlen))
            || (st = eq_bind_layer_weight(m, &l->attn_post_norm, "blk.%d.post_attention_norm.weight", i, E, 1, 1, err, errlen))
            || (st = eq_bind_layer_weight(m, &l->ffn_post_norm, "blk.%d.post_ffw_norm.weight", i, E, 1, 1, err, errlen)))
            return st;
    }
    return EQ_OK;
}
