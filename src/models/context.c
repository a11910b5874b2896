/* The inference context: KV cache, scratch buffers sized once, the thread pool. */
#include "models/model.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "runtime/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eq_ctx_params eq_ctx_default_params(void) {
    eq_ctx_params p = {0, 0, 256, EQ_KV_F16};
    return p;
}

static void *xalloc(size_t n, int *fail) {
    void *p = NULL;
    if (n && !(p = eq_aligned_alloc(64, n))) *fail = 1;
    return p;
}

void eq_ctx_free(eq_ctx *c) {
    if (!c) return;
    if (c->k_cache) for (int l = 0; l < c->m->hp.n_layer; l++) free(c->k_cache[l]);
    if (c->v_cache) for (int l = 0; l < c->m->hp.n_layer; l++) free(c->v_cache[l]);
    free(c->k_cache); free(c->v_cache);
    free(c->x); free(c->xb); free(c->q); free(c->k); free(c->v); free(c->att);
    free(c->hb); free(c->hb2); free(c->logits); free(c->att_scores); free(c->qbuf); free(c->tokens);
    eq_pool_free(c->pool);
    free(c);
}

static size_t max_qbuf(const eq_model *m, int T) {
    size_t best = eq_matmul_qbuf_size(m->output.type, m->output.ne0, T)  /* eq_decode_logits: T rows */;
    for (int l = 0; l < m->hp.n_layer; l++) {
        const eq_layer *L = &m->layers[l];
        const eq_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof *ws; i++) {
            if (!ws[i]->data) continue;
            size_t s = eq_matmul_qbuf_size(ws[i]->type, ws[i]->ne0, T);
            if (s > best) best = s;
        }
    }
    return best;
}

eq_status eq_ctx_new(eq_model *m, const eq_ctx_params *params, eq_ctx **out, char *errbuf, size_t errlen) {
    char dummy[8];
    if (!errbuf) { errbuf = dummy; errlen = sizeof dummy; }
    *out = NULL;
    if (!m || m->vocab_only) {
        snprintf(errbuf, errlen, "the model was loaded without weights (vocab only)");
        return EQ_ERR_ARG;
    }
    eq_ctx_params p = params ? *params : eq_ctx_default_params();
    const eq_hparams *hp = &m->hp;
    if (p.n_ctx < 0 || p.n_threads < 0 || p.n_batch < 0 || (p.kv_type != EQ_KV_F16 && p.kv_type != EQ_KV_F32)) {
        snprintf(errbuf, errlen, "bad context parameters");
        return EQ_ERR_ARG;
    }
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train;
    if (p.n_ctx > (1 << 22)) {
        snprintf(errbuf, errlen, "context size %d is too large", p.n_ctx);
        return EQ_ERR_ARG;
    }
    if (p.n_threads > EQ_MAX_THREADS) {
        snprintf(errbuf, errlen, "%d threads are too many (at most %d)", p.n_threads, EQ_MAX_THREADS);
        return EQ_ERR_ARG;
    }
    if (p.n_threads == 0) p.n_threads = eq_cpu_count();
    if (p.n_batch == 0) p.n_batch = 256;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;

    eq_ctx *c = calloc(1, sizeof *c);
    if (!c) { snprintf(errbuf, errlen, "out of memory"); return EQ_ERR_NOMEM; }
    c->m = m;
    c->n_ctx = p.n_ctx;
    c->n_batch = p.n_batch;
    c->kv_type = p.kv_type;
    int fail = 0;
    c->pool = eq_pool_new(p.n_threads);
    if (!c->pool) fail = 1;

    const size_t B = (size_t)p.n_batch, E = hp->n_embd, F = hp->n_ff;
    const size_t Qd = (size_t)hp->n_head * hp->head_dim, KVd = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t wide = (Qd + 2 * KVd) > 2 * F ? (Qd + 2 * KVd) : 2 * F;
    const size_t esz = p.kv_type == EQ_KV_F16 ? 2 : 4;
    c->k_cache = calloc((size_t)hp->n_layer, sizeof(void *));
    c->v_cache = calloc((size_t)hp->n_layer, sizeof(void *));
    if (!c->k_cache || !c->v_cache) fail = 1;
    for (int l = 0; l < hp->n_layer && !fail; l++) {
        c->k_cache[l] = xalloc((size_t)p.n_ctx * KVd * esz, &fail);
        c->v_cache[l] = xalloc((size_t)p.n_ctx * KVd * esz, &fail);
    }
    c->x = xalloc(B * E * 4, &fail);
    c->xb = xalloc(B * E * 4, &fail);
    c->q = xalloc(B * Qd * 4, &fail);
    c->k = xalloc(B * KVd * 4, &fail);
    c->v = xalloc(B * KVd * 4, &fail);
    c->att = xalloc(B * Qd * 4, &fail);
    c->hb = xalloc(B * wide * 4, &fail);
    c->hb2 = xalloc(B * wide * 4, &fail);
    c->logits = xalloc((size_t)hp->n_vocab * 4, &fail);
    c->att_scores = xalloc((size_t)eq_pool_size(c->pool) * p.n_ctx * 4, &fail);
    c->qbuf_size = max_qbuf(m, p.n_batch);
    c->qbuf = xalloc(c->qbuf_size, &fail);
    c->tokens = xalloc((size_t)p.n_ctx * sizeof *c->tokens, &fail);
    if (fail) {
        eq_ctx_free(c);
        snprintf(errbuf, errlen, "out of memory allocating a context of %d tokens", p.n_ctx);
        return EQ_ERR_NOMEM;
    }
    /* per-dimension rope divisors: Llama 3.1 rope_freqs, or LongRoPE long/short by context size */
    const eq_layer *L0 = &m->layers[0];
    if (L0->rope_freqs.data) c->rope_factors = L0->rope_freqs.data;
    else if (L0->rope_long.data && p.n_ctx > hp->n_ctx_orig) c->rope_factors = L0->rope_long.data;
    else if (L0->rope_short.data) c->rope_factors = L0->rope_short.data;
    *out = c;
    return EQ_OK;
}

const char *eq_ctx_errmsg(const eq_ctx *c) { return c ? c->err : "no context"; }
int eq_ctx_n_ctx(const eq_ctx *c) { return c->n_ctx; }
int eq_ctx_n_past(const eq_ctx *c) { return c->n_past; }
int eq_ctx_n_threads(const eq_ctx *c) { return eq_pool_size(c->pool); }

eq_status eq_ctx_truncate(eq_ctx *c, int n_past) {
    if (n_past < 0 || n_past > c->n_past) {
        snprintf(c->err, sizeof c->err, "cannot truncate to %d tokens (the cache holds %d)", n_past, c->n_past);
        return EQ_ERR_ARG;
    }
    c->n_past = n_past;
    if (n_past == 0) c->has_logits = 0;
    return EQ_OK;
}

const eq_token *eq_ctx_tokens(const eq_ctx *c, int *n) {
    *n = c->n_past;
    return c->tokens;
}

void eq_ctx_set_abort(eq_ctx *c, int (*abort_cb)(void *user), void *user) {
    c->abort_cb = abort_cb;
    c->abort_user = user;
}

eq_status eq_decode_logits(eq_ctx *c, const eq_token *tokens, int n, int n_out, float *out) {
    c->err[0] = 0;
    if (n <= 0 || !tokens) {
        snprintf(c->err, sizeof c->err, "no tokens to decode");
        return EQ_ERR_ARG;
    }
    if (n_out < 0 || n_out > n || (n_out > 0 && !out)) {
        snprintf(c->err, sizeof c->err, "cannot return the logits of %d of %d tokens", n_out, n);
        return EQ_ERR_ARG;
    }
    if (n > c->n_ctx - c->n_past) {
        snprintf(c->err, sizeof c->err, "%d tokens do not fit: the context holds %d and %d are used", n, c->n_ctx, c->n_past);
        return EQ_ERR_CONTEXT_FULL;
    }
    const int start = c->n_past, first_out = n - n_out;
    const size_t n_vocab = (size_t)c->m->hp.n_vocab;
    for (int i = 0; i < n; i += c->n_batch) {
        int k = n - i < c->n_batch ? n - i : c->n_batch;
        /* rows wanted in this step: always its tail, since the wanted rows end the input */
        int lo = i > first_out ? i : first_out;
        int k_out = i + k > lo ? i + k - lo : 0;
        eq_status st = eq_forward(c, tokens + i, k, k_out, k_out ? out + (size_t)(lo - first_out) * n_vocab : NULL);
        if (st) {
            c->n_past = start;  /* nothing half-done: the cache is as it was */
            c->has_logits = 0;
            return st;
        }
        c->n_past += k;
    }
    memcpy(c->tokens + start, tokens, (size_t)n * sizeof *tokens);   /* n <= n_ctx - start */
    c->has_logits = 1;
    return EQ_OK;
}

eq_status eq_decode(eq_ctx *c, const eq_token *tokens, int n) {
    return eq_decode_logits(c, tokens, n, 0, NULL);
}

const float *eq_ctx_logits(const eq_ctx *c) { return c->has_logits ? c->logits : NULL; }
