/* Causal attention over the host KV cache (F16 or F32), as ggml computes it; with a sliding
 * window, a position sees only the last `window` positions (itself included). A sliding layer's
 * cache is a ring of kv_cap rows (eq_kv_keep: the window plus a step's own tokens), position p
 * at row p % kv_cap; a global layer's kv_cap is n_ctx, so the same indexing is the identity.
 * The ring changes where a key is read from, never which keys or in what order: the results
 * are bit for bit those of a full cache. A layer's cache is head-major, [n_head_kv][kv_cap]
 * [head_dim]: a head's keys (and values) for all positions are contiguous, so a task streams
 * them in order. Position-major rows put one head's slices a whole row apart (6 KB in Phi-3.5:
 * a new page every position, no hardware prefetch); the Phi-3.5 shape at 1024 positions, 1
 * thread, read its cache at a few GB/s and ran tg32 6.1 -> 9.0 t/s, pp64 15.8 -> 22.6 with this
 * layout (same numbers, same order: the results are unchanged). */
#include "backend/cpu/cpu.h"
#include "quant/quant.h"
#include "quant/fp16.h"

#include <math.h>
#include <string.h>

void eq_cpu_store_kv(eq_backend *b, int layer, int n, int pos0) {
    eq_cpu *c = (eq_cpu *)b;
    const int hd = c->p.head_dim, n_kv = c->p.n_head_kv, kv_dim = n_kv * hd, cap = c->kv_cap[layer];
    for (int k = 0; k < 2; k++) {
        const float *src = c->act[k ? EQ_ACT_V : EQ_ACT_K];
        void *cache = (k ? c->v_cache : c->k_cache)[layer];
        for (int t = 0; t < n; t++) {
            const size_t row = (size_t)((pos0 + t) % cap);
            for (int h = 0; h < n_kv; h++) {
                const float *s = src + (size_t)t * kv_dim + (size_t)h * hd;
                const size_t at = ((size_t)h * cap + row) * hd;
                if (c->p.kv_type == EQ_KV_F16) {
                    eq_f16 *d = (eq_f16 *)cache + at;
                    for (int i = 0; i < hd; i++) d[i] = eq_fp32_to_fp16(s[i]);
                } else {
                    memcpy((float *)cache + at, s, (size_t)hd * sizeof(float));
                }
            }
        }
    }
}

typedef struct {
    eq_cpu *c;
    int layer, n, pos0;
    float scale;
    int window;
    int split;   /* tasks per (token, KV head), each with a share of the heads that read it */
} attn_job;

/* Rows per block (one head's slices of them: 16 KB) when a task has several heads. */
static int block_rows(int hd, size_t esz) {
    const int b = (int)(16384 / ((size_t)hd * esz));
    return b > 0 ? b : 1;
}

/* A task is one token's heads [h0, h1) of one KV head's group: those heads read the same K and
 * V rows, so the rows are taken in blocks small enough to stay in L1 and handed to the rows
 * kernels with all of the task's heads at once; a row comes from memory once per task instead
 * of once per head, and the AVX2 kernels convert it once for several heads (the 1.1B shape,
 * eight heads per KV head, tg64 at 1024 positions: +7% at 1 thread, +8% at 2). Per head the
 * arithmetic is the one-row kernels' (ops/vec.c), in row order: only the heads' order changes. */
static void attention(void *arg, int ith, int nth) {
    attn_job *j = arg;
    eq_cpu *c = j->c;
    const int hd = c->p.head_dim, n_head = c->p.n_head, n_kv = c->p.n_head_kv, group = n_head / n_kv;
    const int q_dim = n_head * hd;
    const int kv_f16 = c->p.kv_type == EQ_KV_F16;
    const eq_type_traits *dot = eq_type_traits_get(kv_f16 ? EQ_TYPE_F16 : EQ_TYPE_F32);
    const size_t esz = kv_f16 ? 2 : 4;
    const size_t kv_row = (size_t)hd * esz;   /* one head's row: a head's positions are contiguous */
    const int cap = c->kv_cap[j->layer], n_ctx = c->p.n_ctx;
    const int per = (group + j->split - 1) / j->split;   /* <= eq_cpu_att_heads (eq_cpu_attention) */
    float *scores = c->att_scores + (size_t)ith * eq_cpu_att_heads(&c->p) * n_ctx;
    eq_f16 *q16 = c->att_q16 + (size_t)ith * eq_cpu_att_heads(&c->p) * hd;
    float inv[EQ_ATT_HEADS];
    int lo, hi;
    eq_split(j->n * n_kv * j->split, ith, nth, &lo, &hi);
    for (int task = lo; task < hi; task++) {
        const int t = task / (n_kv * j->split), kvh = task / j->split % n_kv;
        const int h0 = kvh * group + task % j->split * per;
        const int h1 = h0 + per < (kvh + 1) * group ? h0 + per : (kvh + 1) * group;
        const int nq = h1 - h0;
        if (nq <= 0) continue;
        const int pos = j->pos0 + t;
        /* llama.cpp masks key p for query pos when pos - p >= window */
        const int first = j->window > 0 && pos - j->window + 1 > 0 ? pos - j->window + 1 : 0;
        const int n_pos = pos - first + 1, r0 = first % cap;
        /* one head alone gains nothing from blocks */
        const int block = nq > 1 ? block_rows(hd, esz) : n_pos;
        const float *q = c->act[EQ_ACT_Q] + (size_t)t * q_dim + (size_t)h0 * hd;
        float *out = c->act[EQ_ACT_ATT] + (size_t)t * q_dim + (size_t)h0 * hd;
        if (kv_f16)   /* as in ggml: Q meets an F16 cache in F16 */
            for (int i = 0; i < nq * hd; i++) q16[i] = eq_fp32_to_fp16(q[i]);
        const char *kbase = (const char *)c->k_cache[j->layer] + (size_t)kvh * cap * kv_row;
        const char *vbase = (const char *)c->v_cache[j->layer] + (size_t)kvh * cap * kv_row;
        /* score i belongs to position first + i, at ring row (r0 + i) % cap; a block never
         * runs past the ring's end */
        for (int off = 0, len; off < n_pos; off += len) {
            const int row = (r0 + off) % cap;
            len = n_pos - off < cap - row ? n_pos - off : cap - row;
            if (len > block) len = block;
            if (kv_f16) {   /* many rows and heads per call: the same numbers, less time */
                eq_vec_dot_f16_rows(hd, nq, len, scores + off, (size_t)n_ctx, (const eq_f16 *)kbase + (size_t)row * hd,
                                    (size_t)hd, q16, (size_t)hd);
            } else {
                for (int h = 0; h < nq; h++)
                    for (int r = 0; r < len; r++)
                        dot->vec_dot(hd, &scores[(size_t)h * n_ctx + off + r], kbase + (size_t)(row + r) * kv_row, q + (size_t)h * hd);
            }
        }
        for (int h = 0; h < nq; h++) {
            float *sh = scores + (size_t)h * n_ctx;
            inv[h] = (float)(1.0 / eq_vec_softmax(n_pos, sh, j->scale));
            /* llama.cpp multiplies an F16 V cache by the probabilities converted to F16 */
            if (kv_f16) eq_vec_round_f16(n_pos, sh, inv[h]);
        }
        memset(out, 0, (size_t)nq * hd * sizeof *out);
        for (int off = 0, len; off < n_pos; off += len) {
            const int row = (r0 + off) % cap;
            len = n_pos - off < cap - row ? n_pos - off : cap - row;
            if (len > block) len = block;
            if (kv_f16) {
                eq_vec_mad_f16_rows(hd, nq, len, out, (size_t)hd, (const eq_f16 *)vbase + (size_t)row * hd, (size_t)hd,
                                    scores + off, (size_t)n_ctx);
            } else {
                for (int h = 0; h < nq; h++)
                    for (int r = 0; r < len; r++)
                        eq_vec_mad_f32(hd, out + (size_t)h * hd, (const float *)(vbase + (size_t)(row + r) * kv_row),
                                       scores[(size_t)h * n_ctx + off + r] * inv[h]);
            }
        }
    }
}

int eq_cpu_att_heads(const eq_backend_params *p) {
    const int group = p->n_head / p->n_head_kv;
    return group < EQ_ATT_HEADS ? group : EQ_ATT_HEADS;
}

void eq_cpu_attention(eq_backend *b, int layer, int n, int pos0, float scale, int window) {
    eq_cpu *c = (eq_cpu *)b;
    const int group = c->p.n_head / c->p.n_head_kv, nth = eq_pool_size(c->pool);
    /* at most EQ_ATT_HEADS heads a task, and tasks enough for every thread where the group
     * can be shared out (generation: one token, few KV heads) */
    int split = (group + EQ_ATT_HEADS - 1) / EQ_ATT_HEADS;
    while (split < group && n * c->p.n_head_kv * split < nth) split++;
    attn_job j = {c, layer, n, pos0, scale, window, split};
    eq_pool_run(c->pool, attention, &j);
}
