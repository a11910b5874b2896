/* Causal attention over the host KV cache (F16 or F32), as ggml computes it; with a sliding
 * window, a position sees only the last `window` positions (itself included). A sliding layer's
 * cache is a ring of kv_cap rows (eq_kv_keep: the window plus a step's own tokens), position p
 * at row p % kv_cap; a global layer's kv_cap is n_ctx, so the same indexing is the identity.
 * The ring changes where a key is read from, never which keys or in what order: the results
 * are bit for bit those of a full cache. */
#include "backend/cpu/cpu.h"
#include "quant/quant.h"
#include "quant/fp16.h"

#include <math.h>
#include <string.h>

void eq_cpu_store_kv(eq_backend *b, int layer, int n, int pos0) {
    eq_cpu *c = (eq_cpu *)b;
    const int kv_dim = c->p.n_head_kv * c->p.head_dim, cap = c->kv_cap[layer];
    for (int k = 0; k < 2; k++) {
        const float *src = c->act[k ? EQ_ACT_V : EQ_ACT_K];
        void *cache = (k ? c->v_cache : c->k_cache)[layer];
        for (int t = 0; t < n; t++) {
            const float *s = src + (size_t)t * kv_dim;
            if (c->p.kv_type == EQ_KV_F16) {
                eq_f16 *d = (eq_f16 *)cache + (size_t)((pos0 + t) % cap) * kv_dim;
                for (int i = 0; i < kv_dim; i++) d[i] = eq_fp32_to_fp16(s[i]);
            } else {
                memcpy((float *)cache + (size_t)((pos0 + t) % cap) * kv_dim, s, (size_t)kv_dim * sizeof(float));
            }
        }
    }
}

typedef struct {
    eq_cpu *c;
    int layer, n, pos0;
    float scale;
    int window;
} attn_job;

/* One thread owns each (token, head) pair. */
static void attention(void *arg, int ith, int nth) {
    attn_job *j = arg;
    eq_cpu *c = j->c;
    const int hd = c->p.head_dim, n_head = c->p.n_head, group = n_head / c->p.n_head_kv;
    const int q_dim = n_head * hd, kv_dim = c->p.n_head_kv * hd;
    const int kv_f16 = c->p.kv_type == EQ_KV_F16;
    const eq_type_traits *dot = eq_type_traits_get(kv_f16 ? EQ_TYPE_F16 : EQ_TYPE_F32);
    const size_t esz = kv_f16 ? 2 : 4;
    const size_t kv_row = (size_t)kv_dim * esz;
    const int cap = c->kv_cap[j->layer];
    float *scores = c->att_scores + (size_t)ith * c->p.n_ctx;
    eq_f16 q16[1024];
    int lo, hi;
    eq_split(j->n * n_head, ith, nth, &lo, &hi);
    for (int ph = lo; ph < hi; ph++) {
        const int t = ph / n_head, h = ph % n_head, kvh = h / group;
        const int pos = j->pos0 + t;
        /* llama.cpp masks key p for query pos when pos - p >= window */
        const int first = j->window > 0 && pos - j->window + 1 > 0 ? pos - j->window + 1 : 0;
        const float *q = c->act[EQ_ACT_Q] + (size_t)t * q_dim + (size_t)h * hd;
        const void *qv = q;
        if (kv_f16) {
            /* as in ggml: Q meets an F16 cache in F16 */
            for (int i = 0; i < hd; i++) q16[i] = eq_fp32_to_fp16(q[i]);
            qv = q16;
        }
        const char *kbase = (const char *)c->k_cache[j->layer] + (size_t)kvh * hd * esz;
        /* positions first..pos sit in the ring in at most two runs of rows: from row first % cap
         * to the end, then from row 0 */
        const int r0 = first % cap, n_pos = pos - first + 1;
        const int run0 = n_pos < cap - r0 ? n_pos : cap - r0;
        if (kv_f16) {   /* many rows per call: the same numbers, less time (ops/vec.c) */
            const eq_f16 *k16 = (const eq_f16 *)kbase;
            eq_vec_dot_f16_rows(hd, run0, scores + first, k16 + (size_t)r0 * kv_dim, (size_t)kv_dim, qv);
            eq_vec_dot_f16_rows(hd, n_pos - run0, scores + first + run0, k16, (size_t)kv_dim, qv);
        } else {
            for (int p = first, r = r0; p <= pos; p++, r = r + 1 == cap ? 0 : r + 1)
                dot->vec_dot(hd, &scores[p], kbase + (size_t)r * kv_row, qv);
        }
        float mx = -INFINITY;
        for (int p = first; p <= pos; p++) {
            const float s = scores[p] * j->scale;
            scores[p] = s;
            if (s > mx) mx = s;
        }
        double sum = 0.0;
        for (int p = first; p <= pos; p++) {
            float e = expf(scores[p] - mx);
            scores[p] = e;
            sum += e;
        }
        const float inv = (float)(1.0 / sum);
        float *out = c->act[EQ_ACT_ATT] + (size_t)t * q_dim + (size_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof *out);
        const char *vbase = (const char *)c->v_cache[j->layer] + (size_t)kvh * hd * esz;
        if (kv_f16) {
            /* llama.cpp multiplies an F16 V cache by the probabilities converted to F16 */
            for (int p = first; p <= pos; p++) scores[p] = eq_fp16_to_fp32(eq_fp32_to_fp16(scores[p] * inv));
            const eq_f16 *v16 = (const eq_f16 *)vbase;
            eq_vec_mad_f16_rows(hd, run0, out, v16 + (size_t)r0 * kv_dim, (size_t)kv_dim, scores + first);
            eq_vec_mad_f16_rows(hd, n_pos - run0, out, v16, (size_t)kv_dim, scores + first + run0);
        } else {
            for (int p = first, r = r0; p <= pos; p++, r = r + 1 == cap ? 0 : r + 1)
                eq_vec_mad_f32(hd, out, (const float *)(vbase + (size_t)r * kv_row), scores[p] * inv);
        }
    }
}

void eq_cpu_attention(eq_backend *b, int layer, int n, int pos0, float scale, int window) {
    eq_cpu *c = (eq_cpu *)b;
    attn_job j = {c, layer, n, pos0, scale, window};
    eq_pool_run(c->pool, attention, &j);
}
