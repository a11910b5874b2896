/* The CPU backend: every op runs when it is called, on host arrays, with the kernels of
 * src/ops; submit has nothing left to do and read is a copy. */
#include "backend/cpu/cpu.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/repack.h"
#include "runtime/memory.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW(c, a, t, len) ((c)->act[a] + (size_t)(t) * (size_t)(len))

static void cpu_free(eq_backend *b) {
    eq_cpu *c = (eq_cpu *)b;
    if (!c) return;
    for (int l = 0; l < c->p.n_layer; l++) {
        if (c->k_cache) free(c->k_cache[l]);
        if (c->v_cache) free(c->v_cache[l]);
    }
    free(c->k_cache); free(c->v_cache); free(c->kv_cap);
    for (int a = 0; a < EQ_ACT_COUNT; a++) free(c->act[a]);
    free(c->att_scores); free(c->att_q16); free(c->qbuf); free(c->gelu_table);
    eq_pool_free(c->pool);
    free(c);
}

/* A packed table (tied embeddings, models/loader.c) is read a row out of its group of eight. */
static void cpu_get_rows(eq_backend *b, eq_act dst, const eq_weight *w, const eq_token *ids, int n) {
    eq_cpu *c = (eq_cpu *)b;
    const eq_to_float_fn to_float = eq_type_traits_get(w->type)->to_float;
    for (int t = 0; t < n; t++) {
        const size_t id = (size_t)ids[t];
        if (w->packed)
            eq_packed_row_to_float(w->type, (const char *)w->data + id / EQ_PACK_ROWS * EQ_PACK_ROWS * w->nb1, w->ne0,
                                   (int)(id % EQ_PACK_ROWS), ROW(c, dst, t, w->ne0));
        else
            to_float((const char *)w->data + id * w->nb1, ROW(c, dst, t, w->ne0), w->ne0);
    }
}

static void cpu_rmsnorm(eq_backend *b, eq_act dst, eq_act src, int src_row0, int n, int len, const eq_weight *w, float eps) {
    eq_cpu *c = (eq_cpu *)b;
    for (int t = 0; t < n; t++) eq_rmsnorm(ROW(c, dst, t, len), ROW(c, src, src_row0 + t, len), w->data, len, eps);
}

/* LOGITS rows past the first are allocated when first asked for. */
static int logits_rows(eq_cpu *c, int n) {
    if (n <= c->logits_rows) return 1;
    float *p = eq_aligned_alloc(64, (size_t)n * c->p.width[EQ_ACT_LOGITS] * sizeof(float));
    if (!p) {
        c->failed = EQ_ERR_NOMEM;
        snprintf(c->base.err, sizeof c->base.err, "out of memory for the logits of %d tokens", n);
        return 0;
    }
    free(c->act[EQ_ACT_LOGITS]);
    c->act[EQ_ACT_LOGITS] = p;
    c->logits_rows = n;
    return 1;
}

static void cpu_matmul(eq_backend *b, eq_act dst, const eq_weight *w, const eq_weight *bias, eq_act src, int n) {
    eq_cpu *c = (eq_cpu *)b;
    if (c->failed || (dst == EQ_ACT_LOGITS && !logits_rows(c, n))) return;
    const int ld = (int)w->ne1;
    eq_matmul(c->pool, w, c->act[src], n, c->act[dst], ld, c->qbuf);
    if (bias && bias->data) eq_add_bias(c->act[dst], bias->data, ld, n, ld);
}

static void cpu_copy_cols(eq_backend *b, eq_act dst, eq_act src, int n, int col0, int len, int src_len) {
    eq_cpu *c = (eq_cpu *)b;
    for (int t = 0; t < n; t++)
        memcpy(ROW(c, dst, t, len), ROW(c, src, t, src_len) + col0, (size_t)len * sizeof(float));
}

static void cpu_rope(eq_backend *b, eq_act a, int n, int n_head, int pos0, const eq_rope *r, const eq_weight *factors) {
    eq_cpu *c = (eq_cpu *)b;
    eq_rope rr = *r;
    rr.freq_factors = factors ? factors->data : NULL;
    const int len = n_head * r->head_dim;
    for (int t = 0; t < n; t++) eq_rope_apply(&rr, ROW(c, a, t, len), n_head, pos0 + t);
}

static void cpu_scale(eq_backend *b, eq_act a, int n, int len, float s) {
    float *x = ((eq_cpu *)b)->act[a];
    for (size_t i = 0; i < (size_t)n * len; i++) x[i] *= s;
}

/* The gated activations, threaded: the n rows × len outputs are split evenly over the
 * pool's shares. Each output reads only its own gate and up elements, and dst is either the
 * gate itself (same layout: in place) or another buffer, so shares never race. */
typedef struct {
    eq_cpu *c;
    eq_act dst, gate, up;
    int n, len, ld, up_col0;
    int gelu;
} glu_job;

static void glu_share(void *arg, int ith, int nth) {
    const glu_job *j = arg;
    eq_cpu *c = j->c;
    int lo, hi;
    eq_split(j->n * j->len, ith, nth, &lo, &hi);
    while (lo < hi) {
        const int t = lo / j->len, i0 = lo % j->len;
        const int i1 = hi - t * j->len < j->len ? hi - t * j->len : j->len;
        float *g = ROW(c, j->dst, t, j->len) + i0;
        const float *gs = ROW(c, j->gate, t, j->ld) + i0;
        const float *u = ROW(c, j->up, t, j->ld) + j->up_col0 + i0;
        if (g != gs) memcpy(g, gs, (size_t)(i1 - i0) * sizeof(float));
        if (j->gelu) eq_geglu(g, u, i1 - i0, c->gelu_table);
        else eq_swiglu(g, u, i1 - i0);
        lo = t * j->len + i1;
    }
}

static void glu(eq_cpu *c, int gelu, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    glu_job j = {c, dst, gate, up, n, len, ld, up_col0, gelu};
    if (dst == gate && ld != len) {   /* rows would move within one buffer: in order, alone */
        glu_share(&j, 0, 1);
        return;
    }
    eq_pool_run(c->pool, glu_share, &j);
}

static void cpu_swiglu(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    glu((eq_cpu *)b, 0, dst, gate, up, n, len, ld, up_col0);
}

static void cpu_geglu(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    eq_cpu *c = (eq_cpu *)b;
    /* the F16 gelu table (128 KiB), made on first use: only GeGLU models pay for it; without
     * memory for it the same numbers come from tanh */
    if (!c->gelu_table && (c->gelu_table = malloc(65536 * sizeof *c->gelu_table))) eq_gelu_table(c->gelu_table);
    glu(c, 1, dst, gate, up, n, len, ld, up_col0);
}

/* as ggml computes it: scale, tanh, scale */
static void cpu_softcap(eq_backend *b, eq_act a, int n, int len, float cap) {
    float *x = ((eq_cpu *)b)->act[a];
    const float inv = 1.0f / cap;
    for (size_t i = 0; i < (size_t)n * len; i++) x[i] = tanhf(x[i] * inv) * cap;
}

static void cpu_add(eq_backend *b, eq_act dst, eq_act src, int n, int len) {
    eq_cpu *c = (eq_cpu *)b;
    float *y = c->act[dst];
    const float *x = c->act[src];
    for (size_t i = 0; i < (size_t)n * len; i++) y[i] += x[i];
}

/* The test is on the exponent bits, branch-free, vectorized: about 3k floats per token and
 * layer, next to the megabytes of weights each token reads. */
static int cpu_check_finite(eq_backend *b, eq_act a, int n, int len, int site, int first) {
    eq_cpu *c = (eq_cpu *)b;
    if (c->failed) return -1;
    for (int r = 0; r < n; r++) {
        const float *p = ROW(c, a, r, len);
        uint32_t any = 0;
        for (int i = 0; i < len; i++) {
            uint32_t bits;
            memcpy(&bits, &p[i], 4);
            any |= (bits & 0x7f800000u) == 0x7f800000u;
        }
        if (any) return first + r;
    }
    return -1;
}

static eq_status cpu_submit(eq_backend *b) {
    eq_cpu *c = (eq_cpu *)b;
    eq_status st = c->failed;
    c->failed = EQ_OK;   /* the next step starts clean (err keeps the message) */
    return st;
}

static eq_status cpu_read(eq_backend *b, eq_act a, int row0, int n, int len, float *dst, eq_fault *fault) {
    eq_cpu *c = (eq_cpu *)b;
    memcpy(dst, ROW(c, a, row0, len), (size_t)n * len * sizeof(float));
    return EQ_OK;
}

static const eq_backend_ops cpu_ops = {
    cpu_free, cpu_get_rows, cpu_rmsnorm, cpu_matmul, cpu_copy_cols, cpu_rope, cpu_scale,
    eq_cpu_store_kv, eq_cpu_attention, cpu_swiglu, cpu_geglu, cpu_softcap, cpu_add, cpu_check_finite, cpu_submit,
    cpu_read, NULL,   /* read_argmax: the CPU samples from its logits */
};

static void *xalloc(size_t n, int *fail) {
    void *p = NULL;
    if (n && !(p = eq_aligned_alloc(64, n))) *fail = 1;
    return p;
}

/* positions layer l keeps: a sliding-window layer only its ring */
static int layer_cap(const eq_backend_params *p, int l) {
    return eq_kv_keep(p->window ? p->window[l] : 0, p->n_batch, p->n_ctx);
}

uint64_t eq_backend_cpu_bytes(const eq_backend_params *p, uint64_t *kv_out) {
    /* what eq_backend_cpu_new allocates, in the same terms (kept beside it so they agree), in
     * 64 bits: on wasm32 a size_t product wraps long before these numbers do. The thread
     * count is the one asked for, an upper bound of the pool's. */
    const uint64_t kv_row = (uint64_t)p->n_head_kv * (uint64_t)p->head_dim * (p->kv_type == EQ_KV_F16 ? 2 : 4);
    uint64_t kv = 0;
    for (int l = 0; l < p->n_layer; l++) kv += 2 * (uint64_t)layer_cap(p, l) * kv_row;
    uint64_t total = kv;
    for (int a = 0; a < EQ_ACT_COUNT; a++) {
        uint64_t rows = a == EQ_ACT_LOGITS ? 1 : (uint64_t)p->n_batch;
        total += rows * (uint64_t)p->width[a] * sizeof(float);
    }
    total += (uint64_t)(p->n_threads > 0 ? p->n_threads : 1) * (uint64_t)eq_cpu_att_heads(p) *
             ((uint64_t)p->n_ctx * sizeof(float) + (uint64_t)p->head_dim * sizeof(uint16_t));
    uint64_t qbuf = 0;
    for (int i = 0; i < p->n_mm; i++) {
        uint64_t s = eq_matmul_qbuf_size(p->mm[i]->type, p->mm[i]->ne0, p->n_batch);
        if (s > qbuf) qbuf = s;
    }
    if (kv_out) *kv_out = kv;
    return total + qbuf;
}

eq_status eq_backend_cpu_new(const eq_backend_params *p, eq_backend **out, char *err, size_t errlen) {
    *out = NULL;
    eq_cpu *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, errlen, "out of memory"); return EQ_ERR_NOMEM; }
    c->base.op = &cpu_ops;
    c->base.name = "cpu";
    c->p = *p;
    c->p.mm = NULL;   /* not kept: only sized from here */
    c->p.window = NULL;
    int fail = 0;
    /* every size below is a size_t product: when the whole does not fit the address space
     * (wasm32, a huge n_ctx), one of them would wrap and allocate too little */
    if (eq_backend_cpu_bytes(p, NULL) > (uint64_t)SIZE_MAX) {
        free(c);
        snprintf(err, errlen, "a context of %d tokens needs more memory than this address space holds", p->n_ctx);
        return EQ_ERR_NOMEM;
    }
    if (!(c->pool = eq_pool_new(p->n_threads))) fail = 1;
    c->base.n_threads = c->pool ? eq_pool_size(c->pool) : 0;

    const size_t kv_row = (size_t)p->n_head_kv * p->head_dim * (p->kv_type == EQ_KV_F16 ? 2 : 4);
    c->k_cache = calloc((size_t)p->n_layer, sizeof(void *));
    c->v_cache = calloc((size_t)p->n_layer, sizeof(void *));
    c->kv_cap = calloc((size_t)p->n_layer, sizeof(int));
    if (!c->k_cache || !c->v_cache || !c->kv_cap) fail = 1;
    for (int l = 0; l < p->n_layer && !fail; l++) {
        c->kv_cap[l] = layer_cap(p, l);
        c->k_cache[l] = xalloc((size_t)c->kv_cap[l] * kv_row, &fail);
        c->v_cache[l] = xalloc((size_t)c->kv_cap[l] * kv_row, &fail);
    }
    for (int a = 0; a < EQ_ACT_COUNT; a++) {
        size_t rows = a == EQ_ACT_LOGITS ? 1 : (size_t)p->n_batch;
        c->act[a] = xalloc(rows * p->width[a] * sizeof(float), &fail);
    }
    c->logits_rows = 1;
    if (c->pool) {
        const size_t heads = (size_t)c->base.n_threads * eq_cpu_att_heads(p);
        c->att_scores = xalloc(heads * p->n_ctx * sizeof(float), &fail);
        c->att_q16 = xalloc(heads * p->head_dim * sizeof(uint16_t), &fail);
    }
    size_t qbuf = 0;
    for (int i = 0; i < p->n_mm; i++) {
        const eq_weight *w = p->mm[i];
        size_t s = eq_matmul_qbuf_size(w->type, w->ne0, p->n_batch);
        if (s > qbuf) qbuf = s;
    }
    c->qbuf = xalloc(qbuf, &fail);
    if (fail) {
        cpu_free(&c->base);
        snprintf(err, errlen, "out of memory allocating a context of %d tokens", p->n_ctx);
        return EQ_ERR_NOMEM;
    }
    *out = &c->base;
    return EQ_OK;
}
