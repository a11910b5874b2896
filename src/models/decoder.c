/* The forward pass of a pre-norm decoder-only transformer (llama, qwen2, phi3), read top to
 * bottom: embed, then per layer RMS norm → Q/K/V → rope → causal attention over the KV cache →
 * output projection → residual, RMS norm → SwiGLU feed-forward → residual; final norm, logits. */
#include "models/model.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/fp16.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    eq_ctx *c;
    int layer, n, q_dim, kv_dim;
} attn_job;

/* Causal attention for every (token, head) pair; one thread owns each pair. */
static void attention(void *arg, int ith, int nth) {
    attn_job *j = arg;
    eq_ctx *c = j->c;
    const eq_hparams *hp = &c->m->hp;
    const int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const float scale = hp->q_prescale ? 1.0f : 1.0f / sqrtf((float)hd);
    const int kv_f16 = c->kv_type == EQ_KV_F16;
    const eq_type_traits *dot = eq_type_traits_get(kv_f16 ? EQ_TYPE_F16 : EQ_TYPE_F32);
    const size_t esz = kv_f16 ? 2 : 4;
    const size_t kv_row = (size_t)j->kv_dim * esz;
    float *scores = c->att_scores + (size_t)ith * c->n_ctx;
    eq_f16 q16[1024];
    int lo, hi;
    eq_split(j->n * hp->n_head, ith, nth, &lo, &hi);
    for (int ph = lo; ph < hi; ph++) {
        const int t = ph / hp->n_head, h = ph % hp->n_head, kvh = h / group;
        const int pos = c->n_past + t;
        const float *q = c->q + (size_t)t * j->q_dim + (size_t)h * hd;
        const void *qv = q;
        if (kv_f16) {
            /* as in ggml: Q meets an F16 cache in F16 */
            for (int i = 0; i < hd; i++) q16[i] = eq_fp32_to_fp16(q[i]);
            qv = q16;
        }
        const char *kbase = (const char *)c->k_cache[j->layer] + (size_t)kvh * hd * esz;
        float mx = -INFINITY;
        for (int p = 0; p <= pos; p++) {
            float s;
            dot->vec_dot(hd, &s, kbase + (size_t)p * kv_row, qv);
            s *= scale;
            scores[p] = s;
            if (s > mx) mx = s;
        }
        double sum = 0.0;
        for (int p = 0; p <= pos; p++) {
            float e = expf(scores[p] - mx);
            scores[p] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
        float *out = c->att + (size_t)t * j->q_dim + (size_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof *out);
        const char *vbase = (const char *)c->v_cache[j->layer] + (size_t)kvh * hd * esz;
        for (int p = 0; p <= pos; p++) {
            float w = scores[p] * inv;
            /* llama.cpp multiplies an F16 V cache by the probabilities converted to F16 */
            if (kv_f16) w = eq_fp16_to_fp32(eq_fp32_to_fp16(w));
            if (kv_f16) eq_vec_mad_f16(hd, out, (const eq_f16 *)(vbase + (size_t)p * kv_row), w);
            else eq_vec_mad_f32(hd, out, (const float *)(vbase + (size_t)p * kv_row), w);
        }
    }
}

static void store_kv(eq_ctx *c, int layer, const float *src, void **cache, int n, int kv_dim) {
    for (int t = 0; t < n; t++) {
        const float *s = src + (size_t)t * kv_dim;
        if (c->kv_type == EQ_KV_F16) {
            eq_f16 *d = (eq_f16 *)cache[layer] + (size_t)(c->n_past + t) * kv_dim;
            for (int i = 0; i < kv_dim; i++) d[i] = eq_fp32_to_fp16(s[i]);
        } else {
            memcpy((float *)cache[layer] + (size_t)(c->n_past + t) * kv_dim, s, (size_t)kv_dim * sizeof(float));
        }
    }
}

/* The first of `rows` rows of `len` floats holding a NaN or an infinity, or -1. A corrupt file
 * (a weight's scale, a negative norm epsilon, a rope base that overflows) makes them, and the
 * next matmul would quantize them into finite garbage (so the logits need not show it): every
 * matmul input is checked instead. The test is on the exponent bits, branch-free, vectorized:
 * about 3k floats per token and layer, next to the megabytes of weights each token reads. */
static int bad_row(const float *x, int rows, size_t len) {
    for (int r = 0; r < rows; r++) {
        const float *p = x + (size_t)r * len;
        uint32_t any = 0;
        for (size_t i = 0; i < len; i++) {
            uint32_t b;
            memcpy(&b, &p[i], 4);
            any |= (b & 0x7f800000u) == 0x7f800000u;
        }
        if (any) return r;
    }
    return -1;
}

static eq_status not_finite(eq_ctx *c, int layer, const char *where, int pos) {
    char at[48] = "the output";
    if (layer >= 0) snprintf(at, sizeof at, "layer %d's %s", layer, where);
    snprintf(c->err, sizeof c->err, "the model's numbers are not finite (NaN or inf) in %s at position %d: the file "
             "is corrupt (a weight, the norm epsilon or the rope base)", at, pos);
    return EQ_ERR_FORMAT;
}
/* rows are the tokens from index `first` of this step on */
#define CHECK_FINITE(x, rows, len, first, layer, where) do { \
        int r_ = bad_row((x), (rows), (len)); \
        if (r_ >= 0) return not_finite(c, (layer), (where), c->n_past + (first) + r_); } while (0)

static void embed(const eq_model *m, eq_token tok, float *out) {
    const eq_weight *w = &m->tok_embd;
    eq_type_traits_get(w->type)->to_float((const char *)w->data + (size_t)tok * w->nb1, out, w->ne0);
}

eq_status eq_forward(eq_ctx *c, const eq_token *tokens, int n, int n_out, float *out) {
    const eq_model *m = c->m;
    const eq_hparams *hp = &m->hp;
    const int E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    const int Qd = hp->n_head * hd, KVd = hp->n_head_kv * hd;
    float *x = c->x, *xb = c->xb;

    for (int t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= hp->n_vocab) {
            snprintf(c->err, sizeof c->err, "token id %d is out of range (vocabulary has %d)", tokens[t], hp->n_vocab);
            return EQ_ERR_ARG;
        }
        embed(m, tokens[t], x + (size_t)t * E);
    }

    eq_rope rope = {hp->n_rot, hd, hp->rope_type, hp->rope_base, hp->rope_freq_scale, hp->rope_attn_factor, 0.0f, {0, 0}, c->rope_factors};
    if (hp->rope_yarn) {
        rope.ext_factor = 1.0f;
        eq_rope_yarn_corr_dims(hp->n_rot, hp->n_ctx_orig, hp->rope_base, hp->yarn_beta_fast, hp->yarn_beta_slow, rope.corr_dims);
        /* llama.cpp folds the YaRN magnitude correction into attn_factor and cancels it again */
        rope.attn_factor *= 1.0f / (1.0f + 0.1f * logf(1.0f / hp->rope_freq_scale));
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const eq_layer *L = &m->layers[l];
        if (c->abort_cb && c->abort_cb(c->abort_user)) {
            snprintf(c->err, sizeof c->err, "aborted");
            return EQ_ERR_ABORTED;
        }
        for (int t = 0; t < n; t++) eq_rmsnorm(xb + (size_t)t * E, x + (size_t)t * E, L->attn_norm.data, E, hp->norm_eps);
        CHECK_FINITE(xb, n, E, 0, l, "attention input");

        if (L->wqkv.data) {
            const int D = Qd + 2 * KVd;
            eq_matmul(c->pool, &L->wqkv, xb, n, c->hb, D, c->qbuf);
            if (L->bqkv.data) eq_add_bias(c->hb, L->bqkv.data, D, n, D);
            for (int t = 0; t < n; t++) {
                const float *r = c->hb + (size_t)t * D;
                memcpy(c->q + (size_t)t * Qd, r, (size_t)Qd * sizeof(float));
                memcpy(c->k + (size_t)t * KVd, r + Qd, (size_t)KVd * sizeof(float));
                memcpy(c->v + (size_t)t * KVd, r + Qd + KVd, (size_t)KVd * sizeof(float));
            }
        } else {
            eq_matmul(c->pool, &L->wq, xb, n, c->q, Qd, c->qbuf);
            eq_matmul(c->pool, &L->wk, xb, n, c->k, KVd, c->qbuf);
            eq_matmul(c->pool, &L->wv, xb, n, c->v, KVd, c->qbuf);
            if (L->bq.data) eq_add_bias(c->q, L->bq.data, Qd, n, Qd);
            if (L->bk.data) eq_add_bias(c->k, L->bk.data, KVd, n, KVd);
            if (L->bv.data) eq_add_bias(c->v, L->bv.data, KVd, n, KVd);
        }
        for (int t = 0; t < n; t++) {
            eq_rope_apply(&rope, c->q + (size_t)t * Qd, hp->n_head, c->n_past + t);
            eq_rope_apply(&rope, c->k + (size_t)t * KVd, hp->n_head_kv, c->n_past + t);
        }
        if (hp->q_prescale) {
            const float s = 1.0f / sqrtf((float)hd);
            for (size_t i = 0; i < (size_t)n * Qd; i++) c->q[i] *= s;
        }
        store_kv(c, l, c->k, c->k_cache, n, KVd);
        store_kv(c, l, c->v, c->v_cache, n, KVd);

        attn_job aj = {c, l, n, Qd, KVd};
        eq_pool_run(c->pool, attention, &aj);
        CHECK_FINITE(c->att, n, Qd, 0, l, "attention");
        eq_matmul(c->pool, &L->wo, c->att, n, xb, E, c->qbuf);
        for (size_t i = 0; i < (size_t)n * E; i++) x[i] += xb[i];

        for (int t = 0; t < n; t++) eq_rmsnorm(xb + (size_t)t * E, x + (size_t)t * E, L->ffn_norm.data, E, hp->norm_eps);
        CHECK_FINITE(xb, n, E, 0, l, "feed-forward input");
        if (!L->w_gate.data) {
            /* fused: the first F outputs are the gate, the next F the up projection */
            eq_matmul(c->pool, &L->w_up, xb, n, c->hb2, 2 * F, c->qbuf);
            for (int t = 0; t < n; t++) {
                float *g = c->hb + (size_t)t * F;
                memcpy(g, c->hb2 + (size_t)t * 2 * F, (size_t)F * sizeof(float));
                eq_swiglu(g, c->hb2 + (size_t)t * 2 * F + F, F);
            }
        } else {
            eq_matmul(c->pool, &L->w_gate, xb, n, c->hb, F, c->qbuf);
            eq_matmul(c->pool, &L->w_up, xb, n, c->hb2, F, c->qbuf);
            eq_swiglu(c->hb, c->hb2, n * F);
        }
        CHECK_FINITE(c->hb, n, F, 0, l, "feed-forward");
        eq_matmul(c->pool, &L->w_down, c->hb, n, xb, E, c->qbuf);
        for (size_t i = 0; i < (size_t)n * E; i++) x[i] += xb[i];
    }

    if (out && n_out > 0) {
        /* the output projection runs only over the rows asked for, batched like any matmul */
        const int t0 = n - n_out;
        for (int t = 0; t < n_out; t++)
            eq_rmsnorm(xb + (size_t)t * E, x + (size_t)(t0 + t) * E, m->output_norm.data, E, hp->norm_eps);
        CHECK_FINITE(xb, n_out, E, t0, -1, NULL);
        eq_matmul(c->pool, &m->output, xb, n_out, out, hp->n_vocab, c->qbuf);
        CHECK_FINITE(out, n_out, hp->n_vocab, t0, -1, NULL);
        memcpy(c->logits, out + (size_t)(n_out - 1) * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
        return EQ_OK;
    }
    eq_rmsnorm(xb, x + (size_t)(n - 1) * E, m->output_norm.data, E, hp->norm_eps);
    CHECK_FINITE(xb, 1, E, n - 1, -1, NULL);
    eq_matmul(c->pool, &m->output, xb, 1, c->logits, hp->n_vocab, c->qbuf);
    CHECK_FINITE(c->logits, 1, hp->n_vocab, n - 1, -1, NULL);
    return EQ_OK;
}
