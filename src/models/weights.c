/* Binding tensors and hyperparameters by llama.cpp's names, with every shape checked. */
#include "models/weights.h"
#include "quant/quant.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const eq_gguf_tensor *find_tensor(const eq_model *m, const char *name) {
    for (int p = 0; p < m->n_parts; p++) {
        int i = eq_gguf_find_tensor(m->parts[p], name);
        if (i >= 0) return &m->parts[p]->tensors[i];
    }
    return NULL;
}

eq_status eq_bind_weight(eq_model *m, eq_weight *w, const char *name, int64_t ne0, int64_t ne1, int required,
                         char *err, size_t errlen) {
    memset(w, 0, sizeof *w);
    const eq_gguf_tensor *t = find_tensor(m, name);
    if (!t) {
        if (!required) return EQ_OK;
        snprintf(err, errlen, "missing tensor '%s'", name);
        return EQ_ERR_FORMAT;
    }
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
        snprintf(err, errlen, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                 (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                 (long long)ne0, (long long)ne1);
        return EQ_ERR_FORMAT;
    }
    if (ne1 == 1 && t->type != EQ_TYPE_F32) {
        /* norms, biases and rope factors are read as float vectors */
        snprintf(err, errlen, "tensor '%s' is %s; only F32 is supported for vectors", name, eq_type_name(t->type));
        return EQ_ERR_UNSUPPORTED;
    }
    w->data = t->data;
    w->dev = t->dev;
    w->packed = t->packed;
    w->type = t->type;
    w->ne0 = ne0;
    w->ne1 = ne1;
    w->nb1 = eq_row_size(t->type, ne0);
    /* without a host copy the bytes are on the GPU, or (a tensor it refused) nowhere: such a
     * model runs no context, which says why (dev_err) */
    if (!w->data && !w->dev && !m->vocab_only && !m->dev_err[0]) {
        snprintf(err, errlen, "tensor '%s' has no data", name);
        return EQ_ERR_FORMAT;
    }
    return EQ_OK;
}

eq_status eq_bind_layer_weight(eq_model *m, eq_weight *w, const char *pattern, int layer, int64_t ne0, int64_t ne1,
                               int required, char *err, size_t errlen) {
    char name[128];
    snprintf(name, sizeof name, pattern, layer);
    return eq_bind_weight(m, w, name, ne0, ne1, required, err, errlen);
}

/* Read "<arch>.<suffix>" as an integer; arrays (per-layer values) must be uniform. */
static int get_int(const eq_model *m, const char *suffix, int64_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    if (eq_gguf_get_i64(m->parts[0], key, out)) return 1;
    const eq_gguf_kv *kv = eq_gguf_get(m->parts[0], key);
    if (kv && kv->type == EQ_GGUF_ARRAY && kv->n > 0) {
        int64_t first, v;
        if (!eq_gguf_arr_i64(kv, 0, &first)) return -1;
        for (uint64_t i = 1; i < kv->n; i++)
            if (!eq_gguf_arr_i64(kv, i, &v) || v != first) return -1;
        *out = first;
        return 1;
    }
    return kv ? -1 : 0;
}

static int get_float(const eq_model *m, const char *suffix, float *out) {
    char key[128];
    double d;
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    if (!eq_gguf_get_f64(m->parts[0], key, &d)) return 0;
    *out = (float)d;
    return 1;
}

int eq_hparam_int(const eq_model *m, const char *suffix, int64_t *out) { return get_int(m, suffix, out); }
int eq_hparam_float(const eq_model *m, const char *suffix, float *out) { return get_float(m, suffix, out); }

#define REQ_INT(field, suffix, lo, hi)                                                                  \
    do {                                                                                              \
        int64_t v_;                                                                                   \
        int r_ = get_int(m, suffix, &v_);                                                             \
        if (r_ <= 0) {                                                                                \
            snprintf(err, errlen, r_ < 0 ? "metadata '%s.%s' has the wrong type or varies per layer"  \
                                         : "missing metadata '%s.%s'", m->arch_name, suffix);         \
            return r_ < 0 ? EQ_ERR_UNSUPPORTED : EQ_ERR_FORMAT;                                       \
        }                                                                                             \
        if (v_ < (lo) || v_ > (hi)) {                                                                 \
            snprintf(err, errlen, "metadata '%s.%s' = %lld is out of range", m->arch_name, suffix, (long long)v_); \
            return EQ_ERR_FORMAT;                                                                     \
        }                                                                                             \
        hp->field = (int)v_;                                                                          \
    } while (0)

eq_status eq_read_hparams(eq_model *m, char *err, size_t errlen) {
    eq_hparams *hp = &m->hp;
    REQ_INT(n_ctx_train, "context_length", 1, 1 << 24);
    REQ_INT(n_embd, "embedding_length", 1, 1 << 16);
    REQ_INT(n_layer, "block_count", 1, 1024);
    REQ_INT(n_ff, "feed_forward_length", 1, 1 << 20);
    free(m->layers);
    if (!(m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers))) {
        snprintf(err, errlen, "out of memory");
        return EQ_ERR_NOMEM;
    }
    REQ_INT(n_head, "attention.head_count", 1, 1024);
    int64_t v;
    hp->n_head_kv = hp->n_head;
    if (get_int(m, "attention.head_count_kv", &v) > 0) hp->n_head_kv = (int)v;
    if (hp->n_head_kv < 1 || hp->n_head % hp->n_head_kv) {
        snprintf(err, errlen, "head_count %d is not a multiple of head_count_kv %d", hp->n_head, hp->n_head_kv);
        return EQ_ERR_FORMAT;
    }
    hp->head_dim = hp->n_embd / hp->n_head;
    if (get_int(m, "attention.key_length", &v) > 0) hp->head_dim = (int)v;
    if (get_int(m, "attention.value_length", &v) > 0 && v != hp->head_dim) {
        snprintf(err, errlen, "key_length != value_length is not supported");
        return EQ_ERR_UNSUPPORTED;
    }
    if (hp->head_dim < 2 || hp->head_dim > 1024 || hp->head_dim % 2) {
        snprintf(err, errlen, "bad attention head size %d", hp->head_dim);
        return EQ_ERR_FORMAT;
    }
    hp->n_rot = hp->head_dim;
    if (get_int(m, "rope.dimension_count", &v) > 0) hp->n_rot = (int)v;
    if (hp->n_rot < 2 || hp->n_rot > hp->head_dim || hp->n_rot % 2 || hp->n_rot > 512) {
        snprintf(err, errlen, "bad rope dimension count %d (head size %d)", hp->n_rot, hp->head_dim);
        return EQ_ERR_FORMAT;
    }
    hp->norm_eps = 1e-5f;
    get_float(m, "attention.layer_norm_rms_epsilon", &hp->norm_eps);
    hp->rope_base = 10000.0f;
    get_float(m, "rope.freq_base", &hp->rope_base);
    float factor = 0;
    if (!get_float(m, "rope.scaling.factor", &factor)) get_float(m, "rope.scale_linear", &factor);
    hp->rope_freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
    hp->rope_attn_factor = 1.0f;
    get_float(m, "rope.scaling.attn_factor", &hp->rope_attn_factor);
    hp->n_ctx_orig = hp->n_ctx_train;
    if (get_int(m, "rope.scaling.original_context_length", &v) > 0 && v > 0 && v < (1 << 24)) hp->n_ctx_orig = (int)v;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    const char *stype = eq_gguf_get_str(m->parts[0], key);
    if (stype && !strcmp(stype, "none")) hp->rope_freq_scale = 1.0f;
    if (stype && !strcmp(stype, "yarn")) {
        hp->rope_yarn = 1;
        hp->yarn_beta_fast = 32.0f;
        hp->yarn_beta_slow = 1.0f;
        get_float(m, "rope.scaling.yarn_beta_fast", &hp->yarn_beta_fast);
        get_float(m, "rope.scaling.yarn_beta_slow", &hp->yarn_beta_slow);
    }
    if (!isfinite(hp->norm_eps) || !isfinite(hp->rope_base) || hp->rope_base <= 0 || !isfinite(hp->rope_freq_scale)) {
        snprintf(err, errlen, "bad norm epsilon or rope parameters");
        return EQ_ERR_FORMAT;
    }
    hp->n_vocab = eq_vocab_n_tokens(m->vocab);
    return EQ_OK;
}

eq_status eq_bind_decoder(eq_model *m, int fused_qkv, int fused_gate_up, int biases, char *err, size_t errlen) {
    const eq_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, V = hp->n_vocab, F = hp->n_ff;
    const int64_t Q = (int64_t)hp->n_head * hp->head_dim, KV = (int64_t)hp->n_head_kv * hp->head_dim;
    eq_status st;
#define B(w, name, a, b, req) if ((st = eq_bind_weight(m, w, name, a, b, req, err, errlen))) return st
#define L(w, pat, a, b, req) if ((st = eq_bind_layer_weight(m, w, pat, i, a, b, req, err, errlen))) return st
    B(&m->tok_embd, "token_embd.weight", E, V, 1);
    B(&m->output_norm, "output_norm.weight", E, 1, 1);
    B(&m->output, "output.weight", E, V, 0);
    if (!eq_weight_present(&m->output) && !m->vocab_only) m->output = m->tok_embd;  /* tied embeddings */
    for (int i = 0; i < hp->n_layer; i++) {
        eq_layer *l = &m->layers[i];
        L(&l->attn_norm, "blk.%d.attn_norm.weight", E, 1, 1);
        if (fused_qkv) L(&l->wqkv, "blk.%d.attn_qkv.weight", E, Q + 2 * KV, 0);
        if (!eq_weight_present(&l->wqkv)) {
            L(&l->wq, "blk.%d.attn_q.weight", E, Q, 1);
            L(&l->wk, "blk.%d.attn_k.weight", E, KV, 1);
            L(&l->wv, "blk.%d.attn_v.weight", E, KV, 1);
        }
        if (biases) {
            L(&l->bq, "blk.%d.attn_q.bias", Q, 1, 0);
            L(&l->bk, "blk.%d.attn_k.bias", KV, 1, 0);
            L(&l->bv, "blk.%d.attn_v.bias", KV, 1, 0);
            L(&l->bqkv, "blk.%d.attn_qkv.bias", Q + 2 * KV, 1, 0);
        }
        L(&l->wo, "blk.%d.attn_output.weight", Q, E, 1);
        L(&l->ffn_norm, "blk.%d.ffn_norm.weight", E, 1, 1);
        if (fused_gate_up) {
            L(&l->w_up, "blk.%d.ffn_up.weight", E, 2 * F, 1);
        } else {
            L(&l->w_gate, "blk.%d.ffn_gate.weight", E, F, 1);
            L(&l->w_up, "blk.%d.ffn_up.weight", E, F, 1);
        }
        L(&l->w_down, "blk.%d.ffn_down.weight", F, E, 1);
    }
#undef B
#undef L
    return EQ_OK;
}
