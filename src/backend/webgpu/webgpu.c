/* The WebGPU backend: every op of the seam becomes one or more kernel dispatches (the WGSL of
 * this folder) recorded into the context's batch in the JavaScript runtime, which encodes the
 * whole step into one command buffer at submit and starts one readback: the step's logits
 * rows (or, greedy, their argmax) and its not-finite fault word, copied into `host` below
 * once the GPU is done.
 *
 * This file decides what is dispatched: which buffer each slot is, offsets and row strides,
 * in-place kernels, rope's constants (powf here, the same bits as the CPU), the fault keys.
 * JavaScript owns the GPU objects; C names them by small integer handles. The imports are
 * wasm/web/library_webgpu.js, forwarding to wasm/web/webgpu.js's Device. A failing import
 * records the failure there: submit then returns it (EQ_ERR_DEVICE), as the seam asks. */
#include "backend/webgpu/webgpu.h"

#include <stdio.h>
#include <string.h>

#ifndef EQ_HAVE_WEBGPU

eq_status eq_backend_webgpu_new(const eq_backend_params *p, eq_backend **out, char *err, size_t errlen) {
    (void)p;
    *out = NULL;
    snprintf(err, errlen, "this build has no WebGPU backend (only the browser/Node module has)");
    return EQ_ERR_UNSUPPORTED;
}

eq_status eq_webgpu_upload(void *user, int part, eq_gguf_tensor *t, char *err, size_t errlen) {
    eq_webgpu_upload_state *s = user;
    (void)part; (void)t; (void)err; (void)errlen;
    if (!s->err[0]) snprintf(s->err, sizeof s->err, "this build has no WebGPU backend");
    return EQ_OK;
}

void eq_webgpu_release(void *dev) { (void)dev; }

int eq_webgpu_has_kernel(int type) { (void)type; return 0; }

#else

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "quant/quant.h"

/* ---- the runtime's entry points (all handles > 0; 0 means failed / none) ---------------- */
extern int eqgpu_buffer(double bytes);
extern int eqgpu_weight(int type, double ne0, double ne1, const void *data, double nbytes, char *err, int errlen);
extern void eqgpu_release(int h);
extern void eqgpu_write(int h, double offset, const void *src, double bytes);
extern int eqgpu_batch_new(void);
extern void eqgpu_batch_free(int b);
extern void eqgpu_embed(int b, int w, int ids, int y, int T);
extern void eqgpu_rmsnorm(int b, int x, int x_off, int wn, int y, int n, int T, float eps);
extern void eqgpu_matmul(int b, int w, int x, int y, int T);
extern void eqgpu_bias(int b, int bias, int y, int n, int T);
extern void eqgpu_copy(int b, int x, int x_off, int x_ld, int y, int n, int T);
extern void eqgpu_rope(int b, int x, int n_head, int head_dim, int n_rot, int mode, int pos0, int T, float theta_scale,
                       float freq_scale, float attn_factor, float ext_factor, float corr0, float corr1,
                       float yarn_mscale, int ff);
extern void eqgpu_scale(int b, int y, int n, int T, float s);
extern void eqgpu_store_kv(int b, int src, int cache, int kv_dim, int T, int pos0);
extern void eqgpu_attention(int b, int q, int kc, int vc, int o, int n_head, int n_head_kv, int head_dim, int pos0,
                            int T, float scale, int window);
extern void eqgpu_glu(int b, int gelu, int g, int g_ld, int u, int u_off, int u_ld, int y, int n, int T);
extern void eqgpu_softcap(int b, int y, int n, int T, float cap);
extern void eqgpu_add(int b, int x, int y, int n, int T);
extern void eqgpu_finite(int b, int x, int n, int T, int key0, int fault);
/* res[0] = the index of the largest of n floats at x[off..] (lowest on ties; argmax.wgsl) */
extern void eqgpu_argmax(int b, int x, int off, int n, int res);
/* encode the batch, submit it, start the readback of the fault word and `bytes` of LOGITS
 * into host (state, fault, then the floats at host + 16); 0 or the runtime's failure */
extern int eqgpu_submit(int b, int logits, double bytes, int fault, void *host);
/* the runtime's first failure since the last call (copied into err; "" when none) */
extern void eqgpu_error(char *err, int errlen);

/* What the runtime writes back: `state` 1 while the readback is in flight, 0 once `fault` and
 * the logits are in, -1 when the device failed (the message: eqgpu_error). */
typedef struct {
    int32_t state;
    uint32_t fault;     /* 0xffffffff, or site * n_batch + token of the first not-finite row */
    int32_t pad[2];
    float logits[];
} eq_gpu_host;

typedef struct {
    eq_backend base;
    eq_backend_params p;
    int batch;
    int act[EQ_ACT_COUNT];      /* buffer handles */
    int logits_rows;            /* rows the LOGITS buffer (and host) hold */
    int *k_cache, *v_cache;     /* per layer: [n_ctx][kv_dim] halves */
    int ids, fault;             /* the step's token ids; its not-finite word */
    eq_gpu_host *host;
    int rows_in_flight;         /* LOGITS rows the submitted step reads back */
    int res;                    /* the greedy token of a want_argmax step (argmax.wgsl) */
    int argmax_in_flight;       /* the submitted step reads back only that */
    eq_status failed;           /* sticky for the step: the ops after it are no-ops */
} eq_gpu;

#define W(w) ((int)(intptr_t)(w)->dev)

static void gpu_fail(eq_gpu *g, eq_status st, const char *what) {
    if (g->failed) return;
    g->failed = st;
    char msg[120] = "";
    eqgpu_error(msg, sizeof msg);
    snprintf(g->base.err, sizeof g->base.err, "%s%s%s", what, msg[0] ? ": " : "", msg);
}

static void gpu_free(eq_backend *b) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g) return;
    for (int l = 0; l < g->p.n_layer; l++) {
        if (g->k_cache) eqgpu_release(g->k_cache[l]);
        if (g->v_cache) eqgpu_release(g->v_cache[l]);
    }
    free(g->k_cache); free(g->v_cache);
    for (int a = 0; a < EQ_ACT_COUNT; a++) eqgpu_release(g->act[a]);
    eqgpu_release(g->ids);
    eqgpu_release(g->fault);
    eqgpu_release(g->res);
    if (g->batch) eqgpu_batch_free(g->batch);
    free(g->host);
    free(g);
}

static void gpu_get_rows(eq_backend *b, eq_act dst, const eq_weight *w, const eq_token *ids, int n) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    eqgpu_write(g->ids, 0, ids, (double)n * sizeof *ids);
    eqgpu_embed(g->batch, W(w), g->ids, g->act[dst], n);
}

static void gpu_rmsnorm(eq_backend *b, eq_act dst, eq_act src, int src_row0, int n, int len, const eq_weight *w, float eps) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    /* in place (dst == src) only from row 0: the forward pass never asks otherwise */
    eqgpu_rmsnorm(g->batch, g->act[src], src_row0 * len, W(w), g->act[dst], len, n, eps);
}

/* LOGITS rows past the first, and the host rows they come back to, when first asked for. */
static int logits_rows(eq_gpu *g, int n) {
    if (n <= g->logits_rows) return 1;
    const size_t V = (size_t)g->p.width[EQ_ACT_LOGITS];
    eq_gpu_host *h = malloc(sizeof *h + (size_t)n * V * sizeof(float));
    int buf = h ? eqgpu_buffer((double)n * (double)V * sizeof(float)) : 0;
    if (!buf) {
        free(h);
        g->failed = EQ_ERR_NOMEM;
        snprintf(g->base.err, sizeof g->base.err, "out of memory for the logits of %d tokens", n);
        return 0;
    }
    eqgpu_release(g->act[EQ_ACT_LOGITS]);
    g->act[EQ_ACT_LOGITS] = buf;
    free(g->host);
    g->host = h;
    g->logits_rows = n;
    return 1;
}

static void gpu_matmul(eq_backend *b, eq_act dst, const eq_weight *w, const eq_weight *bias, eq_act src, int n) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed || (dst == EQ_ACT_LOGITS && !logits_rows(g, n))) return;
    eqgpu_matmul(g->batch, W(w), g->act[src], g->act[dst], n);
    if (bias && eq_weight_present(bias)) eqgpu_bias(g->batch, W(bias), g->act[dst], (int)w->ne1, n);
}

static void gpu_copy_cols(eq_backend *b, eq_act dst, eq_act src, int n, int col0, int len, int src_len) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    eqgpu_copy(g->batch, g->act[src], col0, src_len, g->act[dst], len, n);
}

static void gpu_rope(eq_backend *b, eq_act a, int n, int n_head, int pos0, const eq_rope *r, const eq_weight *factors) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    /* the constants as src/ops/rope.c computes them, so the angles have the CPU's bits */
    const float theta_scale = powf(r->freq_base, -2.0f / r->n_rot);
    const float yarn_mscale = r->attn_factor * (1.0f + 0.1f * logf(1.0f / r->freq_scale));
    eqgpu_rope(g->batch, g->act[a], n_head, r->head_dim, r->n_rot, r->mode, pos0, n, theta_scale, r->freq_scale,
               r->attn_factor, r->ext_factor, r->corr_dims[0], r->corr_dims[1], yarn_mscale,
               factors && factors->dev ? W(factors) : 0);
}

static void gpu_scale(eq_backend *b, eq_act a, int n, int len, float s) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g->failed) eqgpu_scale(g->batch, g->act[a], len, n, s);
}

static void gpu_store_kv(eq_backend *b, int layer, int n, int pos0) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    const int kv_dim = g->p.n_head_kv * g->p.head_dim;
    eqgpu_store_kv(g->batch, g->act[EQ_ACT_K], g->k_cache[layer], kv_dim, n, pos0);
    eqgpu_store_kv(g->batch, g->act[EQ_ACT_V], g->v_cache[layer], kv_dim, n, pos0);
}

static void gpu_attention(eq_backend *b, int layer, int n, int pos0, float scale, int window) {
    eq_gpu *g = (eq_gpu *)b;
    if (g->failed) return;
    eqgpu_attention(g->batch, g->act[EQ_ACT_Q], g->k_cache[layer], g->v_cache[layer], g->act[EQ_ACT_ATT],
                    g->p.n_head, g->p.n_head_kv, g->p.head_dim, pos0, n, scale, window);
}

static void glu(eq_gpu *g, int gelu, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    if (g->failed) return;
    eqgpu_glu(g->batch, gelu, g->act[gate], ld, g->act[up], up_col0, ld, g->act[dst], len, n);
}
static void gpu_swiglu(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    glu((eq_gpu *)b, 0, dst, gate, up, n, len, ld, up_col0);
}
static void gpu_geglu(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0) {
    glu((eq_gpu *)b, 1, dst, gate, up, n, len, ld, up_col0);
}

static void gpu_softcap(eq_backend *b, eq_act a, int n, int len, float cap) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g->failed) eqgpu_softcap(g->batch, g->act[a], len, n, cap);
}

static void gpu_add(eq_backend *b, eq_act dst, eq_act src, int n, int len) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g->failed) eqgpu_add(g->batch, g->act[src], g->act[dst], len, n);
}

/* Deferred: the kernel folds site * n_batch + token of every bad row into the step's fault
 * word with atomicMin, so read finds the first site, then the first token, as the CPU would. */
static int gpu_check_finite(eq_backend *b, eq_act a, int n, int len, int site, int first) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g->failed) eqgpu_finite(g->batch, g->act[a], len, n, site * g->p.n_batch + first, g->fault);
    return -1;
}

static eq_status gpu_submit(eq_backend *b) {
    eq_gpu *g = (eq_gpu *)b;
    eq_status st = g->failed;
    g->failed = EQ_OK;   /* the next step starts clean (err keeps the message) */
    g->rows_in_flight = 0;
    g->argmax_in_flight = 0;
    if (st) return st;
    g->host->state = 1;
    /* greedy: 4 bytes (the token) come back instead of the logits */
    const int am = g->base.want_argmax;
    if (am) eqgpu_argmax(g->batch, g->act[EQ_ACT_LOGITS], 0, g->p.width[EQ_ACT_LOGITS], g->res);
    const double bytes = am ? 4.0 : (double)g->logits_rows * g->p.width[EQ_ACT_LOGITS] * sizeof(float);
    if (eqgpu_submit(g->batch, am ? g->res : g->act[EQ_ACT_LOGITS], bytes, g->fault, g->host)) {
        gpu_fail(g, EQ_ERR_DEVICE, "the GPU refused the step");
        g->failed = EQ_OK;
        return EQ_ERR_DEVICE;
    }
    if (am) g->argmax_in_flight = 1;
    else g->rows_in_flight = g->logits_rows;
    return EQ_OK;
}

/* The submitted step's readback: EQ_OK once in, the device's failure, or its fault. */
static eq_status step_done(eq_gpu *g, eq_fault *fault) {
    if (g->host->state == 1) {
        snprintf(g->base.err, sizeof g->base.err, "the GPU's results are not in yet (await the device between steps)");
        return EQ_ERR_ARG;
    }
    if (g->host->state != 0) {
        char msg[120] = "";
        eqgpu_error(msg, sizeof msg);
        snprintf(g->base.err, sizeof g->base.err, "the GPU failed%s%s", msg[0] ? ": " : "", msg);
        return EQ_ERR_DEVICE;
    }
    if (g->host->fault != 0xffffffffu) {
        fault->site = (int)(g->host->fault / (uint32_t)g->p.n_batch);
        fault->token = (int)(g->host->fault % (uint32_t)g->p.n_batch);
        return EQ_ERR_FORMAT;
    }
    return EQ_OK;
}

static eq_status gpu_read(eq_backend *b, eq_act a, int row0, int n, int len, float *dst, eq_fault *fault) {
    eq_gpu *g = (eq_gpu *)b;
    if (a != EQ_ACT_LOGITS || row0 + n > g->rows_in_flight) {
        snprintf(g->base.err, sizeof g->base.err, "the GPU reads back only the logits of the step submitted last");
        return EQ_ERR_ARG;
    }
    eq_status st = step_done(g, fault);
    if (st) return st;
    memcpy(dst, g->host->logits + (size_t)row0 * len, (size_t)n * len * sizeof(float));
    return EQ_OK;
}

static eq_status gpu_read_argmax(eq_backend *b, int *id, eq_fault *fault) {
    eq_gpu *g = (eq_gpu *)b;
    if (!g->argmax_in_flight) {
        snprintf(g->base.err, sizeof g->base.err, "the step submitted last did not compute a greedy token");
        return EQ_ERR_ARG;
    }
    eq_status st = step_done(g, fault);
    if (st) return st;
    uint32_t u;
    memcpy(&u, g->host->logits, sizeof u);
    *id = u > 0x7fffffffu ? -1 : (int)u;
    return EQ_OK;
}

static const eq_backend_ops gpu_ops = {
    gpu_free, gpu_get_rows, gpu_rmsnorm, gpu_matmul, gpu_copy_cols, gpu_rope, gpu_scale,
    gpu_store_kv, gpu_attention, gpu_swiglu, gpu_geglu, gpu_softcap, gpu_add, gpu_check_finite, gpu_submit,
    gpu_read, gpu_read_argmax,
};

/* The weight types the matrix kernels read (src/backend/webgpu/quant.wgsl). */
static int has_kernel(int type) {
    switch (type) {
    case EQ_TYPE_F32: case EQ_TYPE_F16: case EQ_TYPE_Q4_0: case EQ_TYPE_Q4_1: case EQ_TYPE_Q5_0:
    case EQ_TYPE_Q5_1: case EQ_TYPE_Q8_0: case EQ_TYPE_Q2_K: case EQ_TYPE_Q3_K: case EQ_TYPE_Q4_K:
    case EQ_TYPE_Q5_K: case EQ_TYPE_Q6_K: return 1;
    default: return 0;
    }
}

eq_status eq_backend_webgpu_new(const eq_backend_params *p, eq_backend **out, char *err, size_t errlen) {
    *out = NULL;
    const int kv_dim = p->n_head_kv * p->head_dim;
    if (p->kv_type != EQ_KV_F16) {
        snprintf(err, errlen, "the WebGPU backend keeps the KV cache in F16 only");
        return EQ_ERR_UNSUPPORTED;
    }
    if (p->head_dim > 256 || p->head_dim % 4 || kv_dim % 2 || p->n_head % p->n_head_kv) {
        snprintf(err, errlen, "the WebGPU attention kernel takes head sizes up to 256 (a multiple of 4), not %d", p->head_dim);
        return EQ_ERR_UNSUPPORTED;
    }
    if ((uint64_t)(p->n_layer * 4 + 1) * (uint64_t)p->n_batch >= 0xffffffffu) {
        snprintf(err, errlen, "batch of %d tokens too large for the WebGPU backend", p->n_batch);
        return EQ_ERR_UNSUPPORTED;
    }
    for (int i = 0; i < p->n_mm; i++) {
        const eq_weight *w = p->mm[i];
        if (!has_kernel(w->type) || w->ne0 % 4) {
            snprintf(err, errlen, "the WebGPU backend has no kernel for %s weights of rows of %lld", eq_type_name(w->type),
                     (long long)w->ne0);
            return EQ_ERR_UNSUPPORTED;
        }
        if (!w->dev) {
            snprintf(err, errlen, "a weight is not on the GPU (load the model with the WebGPU device)");
            return EQ_ERR_UNSUPPORTED;
        }
    }
    eq_gpu *g = calloc(1, sizeof *g);
    if (!g) { snprintf(err, errlen, "out of memory"); return EQ_ERR_NOMEM; }
    g->base.op = &gpu_ops;
    g->base.name = "webgpu";
    g->base.n_threads = 1;
    g->base.deferred = 1;
    g->p = *p;
    g->p.mm = NULL;
    int fail = !(g->batch = eqgpu_batch_new());
    g->k_cache = calloc((size_t)p->n_layer, sizeof *g->k_cache);
    g->v_cache = calloc((size_t)p->n_layer, sizeof *g->v_cache);
    if (!g->k_cache || !g->v_cache) fail = 1;
    const double kv_bytes = (double)p->n_ctx * kv_dim * 2;
    for (int l = 0; l < p->n_layer && !fail; l++) {
        fail |= !(g->k_cache[l] = eqgpu_buffer(kv_bytes));
        fail |= !(g->v_cache[l] = eqgpu_buffer(kv_bytes));
    }
    for (int a = 0; a < EQ_ACT_COUNT && !fail; a++)
        fail |= !(g->act[a] = eqgpu_buffer((double)(a == EQ_ACT_LOGITS ? 1 : p->n_batch) * p->width[a] * sizeof(float)));
    fail = fail || !(g->ids = eqgpu_buffer((double)p->n_batch * sizeof(eq_token))) || !(g->fault = eqgpu_buffer(4)) ||
           !(g->res = eqgpu_buffer(4));
    g->logits_rows = 1;
    if (!fail && !(g->host = malloc(sizeof *g->host + (size_t)p->width[EQ_ACT_LOGITS] * sizeof(float)))) fail = 1;
    if (fail) {
        char msg[120] = "";
        eqgpu_error(msg, sizeof msg);
        gpu_free(&g->base);
        snprintf(err, errlen, "cannot allocate a WebGPU context of %d tokens%s%s", p->n_ctx, msg[0] ? ": " : "", msg);
        return EQ_ERR_NOMEM;
    }
    *out = &g->base;
    return EQ_OK;
}

eq_status eq_webgpu_upload(void *user, int part, eq_gguf_tensor *t, char *err, size_t errlen) {
    eq_webgpu_upload_state *s = user;
    (void)part; (void)err; (void)errlen;
    if (s->err[0]) return EQ_OK;   /* one tensor did not go up: the model stays on the CPU */
    /* tensors are at most 2-D here (the binding checks shapes later): rows of ne0 */
    const double ne1 = (double)t->ne[1] * (double)t->ne[2] * (double)t->ne[3];
    char msg[140] = "";
    int h = eqgpu_weight((int)t->type, (double)t->ne[0], ne1, t->data, (double)t->nbytes, msg, sizeof msg);
    if (!h) {
        snprintf(s->err, sizeof s->err, "tensor '%s' could not go to the GPU: %s", t->name, msg[0] ? msg : "unknown failure");
        return EQ_OK;
    }
    t->dev = (void *)(intptr_t)h;
    s->bytes += t->nbytes;
    return EQ_OK;
}

void eq_webgpu_release(void *dev) {
    if (dev) eqgpu_release((int)(intptr_t)dev);
}

int eq_webgpu_has_kernel(int type) { return has_kernel(type); }

#endif
