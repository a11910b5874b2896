/* The inference context: the position, the logits, and the backend that holds the KV cache,
 * the activations and the threads (sized once, here). */
#include "models/model.h"
#include "backend/cpu/cpu.h"
#include "backend/webgpu/webgpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eq_ctx_params eq_ctx_default_params(void) {
    eq_ctx_params p = {0, 0, 256, EQ_KV_F16, EQ_DEVICE_CPU};
    return p;
}

void eq_ctx_free(eq_ctx *c) {
    if (!c) return;
    if (c->be) c->be->op->free(c->be);
    free(c->logits);
    free(c->tokens);
    free(c);
}

/* The parameters with defaults filled in, checked; EQ_ERR_ARG with errbuf set. */
static eq_status resolve_params(const eq_model *m, const eq_ctx_params *params, eq_ctx_params *out,
                                char *errbuf, size_t errlen) {
    if (!m || m->vocab_only) {
        snprintf(errbuf, errlen, "the model was loaded without weights (vocab only)");
        return EQ_ERR_ARG;
    }
    eq_ctx_params p = params ? *params : eq_ctx_default_params();
    if (p.n_ctx < 0 || p.n_threads < 0 || p.n_batch < 0 || (p.kv_type != EQ_KV_F16 && p.kv_type != EQ_KV_F32) ||
        (p.device != EQ_DEVICE_CPU && p.device != EQ_DEVICE_WEBGPU)) {
        snprintf(errbuf, errlen, "bad context parameters");
        return EQ_ERR_ARG;
    }
    if (p.device == EQ_DEVICE_CPU && !m->host_weights) {
        snprintf(errbuf, errlen, "the model's weights are on the GPU only (loaded for WebGPU without a host copy%s%s): "
                 "load it again for the CPU", m->dev_err[0] ? "; " : "", m->dev_err);
        return EQ_ERR_UNSUPPORTED;
    }
    if (p.device == EQ_DEVICE_WEBGPU && (m->device != EQ_DEVICE_WEBGPU || m->dev_err[0])) {
        snprintf(errbuf, errlen, "the model is not on the GPU: %s",
                 m->device != EQ_DEVICE_WEBGPU ? "it was loaded for the CPU" : m->dev_err);
        return EQ_ERR_UNSUPPORTED;
    }
    if (p.n_ctx == 0) p.n_ctx = m->hp.n_ctx_train;
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
    *out = p;
    return EQ_OK;
}

/* The window of each layer: gemma3's sliding layers n_swa, the others 0 (every position). */
static int layer_window(const eq_model *m, int l) { return m->layers[l].swa ? m->hp.n_swa : 0; }

/* The backend's parameters for p (resolved); bp->mm and bp->window are malloc'ed (mm NULL
 * when out of memory; free both with backend_params_free): every weight a matmul takes, since
 * the CPU sizes its conversion scratch by them, and each layer's window. */
static void backend_params(const eq_model *m, const eq_ctx_params *p, eq_backend_params *bp) {
    const eq_hparams *hp = &m->hp;
    /* the backend's slots, each n_batch rows of its widest use (see decoder.c) */
    const int E = hp->n_embd, F = hp->n_ff;
    const int Qd = hp->n_head * hp->head_dim, KVd = hp->n_head_kv * hp->head_dim;
    const int wide = (Qd + 2 * KVd) > 2 * F ? (Qd + 2 * KVd) : 2 * F;
    eq_backend_params b = {p->n_ctx, p->n_batch, p->n_threads, p->kv_type, hp->n_layer, hp->n_head, hp->n_head_kv,
                           hp->head_dim, {0}, NULL, 0, NULL};
    b.width[EQ_ACT_X] = b.width[EQ_ACT_XB] = E;
    b.width[EQ_ACT_Q] = b.width[EQ_ACT_ATT] = Qd;
    b.width[EQ_ACT_K] = b.width[EQ_ACT_V] = KVd;
    b.width[EQ_ACT_HB] = b.width[EQ_ACT_HB2] = wide;
    b.width[EQ_ACT_LOGITS] = hp->n_vocab;
    const eq_weight **mm = malloc(((size_t)hp->n_layer * 8 + 1) * sizeof *mm);
    if (mm) {
        mm[b.n_mm++] = &m->output;
        for (int l = 0; l < hp->n_layer; l++) {
            const eq_layer *L = &m->layers[l];
            const eq_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
            for (size_t i = 0; i < sizeof ws / sizeof *ws; i++)
                if (eq_weight_present(ws[i])) mm[b.n_mm++] = ws[i];
        }
        b.mm = mm;
    }
    int *window = malloc((size_t)hp->n_layer * sizeof *window);
    if (window) {
        for (int l = 0; l < hp->n_layer; l++) window[l] = layer_window(m, l);
        b.window = window;
    } else {
        free(mm);
        b.mm = NULL;
    }
    *bp = b;
}

static void backend_params_free(eq_backend_params *bp) {
    free((void *)bp->mm);
    free((void *)bp->window);
}

eq_status eq_ctx_estimate(const eq_model *m, const eq_ctx_params *params, eq_ctx_mem *out,
                          char *errbuf, size_t errlen) {
    char dummy[8];
    if (!errbuf) { errbuf = dummy; errlen = sizeof dummy; }
    memset(out, 0, sizeof *out);
    eq_ctx_params p;
    eq_status st = resolve_params(m, params, &p, errbuf, errlen);
    if (st) return st;
    eq_backend_params bp;
    backend_params(m, &p, &bp);
    if (!bp.mm) { snprintf(errbuf, errlen, "out of memory"); return EQ_ERR_NOMEM; }
    uint64_t kv = 0;
    const uint64_t be = eq_backend_cpu_bytes(&bp, &kv);
    backend_params_free(&bp);
    out->n_ctx = p.n_ctx;
    out->kv_bytes = kv;
    /* the context's own logits and token list, as eq_ctx_new allocates them */
    out->scratch_bytes = (be - kv) + (uint64_t)m->hp.n_vocab * sizeof(float) + (uint64_t)p.n_ctx * sizeof(eq_token);
    out->total_bytes = out->kv_bytes + out->scratch_bytes;
    return EQ_OK;
}

eq_status eq_ctx_new(eq_model *m, const eq_ctx_params *params, eq_ctx **out, char *errbuf, size_t errlen) {
    char dummy[8];
    if (!errbuf) { errbuf = dummy; errlen = sizeof dummy; }
    *out = NULL;
    eq_ctx_params p;
    eq_status st = resolve_params(m, params, &p, errbuf, errlen);
    if (st) return st;
    const eq_hparams *hp = &m->hp;

    eq_ctx *c = calloc(1, sizeof *c);
    if (!c) { snprintf(errbuf, errlen, "out of memory"); return EQ_ERR_NOMEM; }
    c->m = m;
    c->argmax = -1;
    c->n_ctx = p.n_ctx;
    c->n_batch = p.n_batch;
    c->kv_type = p.kv_type;

    eq_backend_params bp;
    backend_params(m, &p, &bp);
    if (!bp.mm) st = EQ_ERR_NOMEM;
    else if (p.device == EQ_DEVICE_WEBGPU) st = eq_backend_webgpu_new(&bp, &c->be, errbuf, errlen);
    else st = eq_backend_cpu_new(&bp, &c->be, errbuf, errlen);
    backend_params_free(&bp);
    /* what the sliding layers keep, as the backend sizes them (every swa layer has n_swa) */
    c->kv_keep = p.n_ctx;
    for (int l = 0; l < hp->n_layer; l++)
        if (layer_window(m, l)) {
            c->n_swa = hp->n_swa;
            c->kv_keep = eq_kv_keep(hp->n_swa, p.n_batch, p.n_ctx);
        }
    if (!st && !(c->logits = malloc((size_t)hp->n_vocab * sizeof(float)))) st = EQ_ERR_NOMEM;
    if (!st && !(c->tokens = malloc((size_t)p.n_ctx * sizeof *c->tokens))) st = EQ_ERR_NOMEM;
    if (st) {
        eq_ctx_free(c);
        if (st == EQ_ERR_NOMEM && p.device == EQ_DEVICE_CPU)
            snprintf(errbuf, errlen, "out of memory allocating a context of %d tokens", p.n_ctx);
        return st;
    }
    /* per-dimension rope divisors: Llama 3.1 rope_freqs, or LongRoPE long/short by context size */
    const eq_layer *L0 = &m->layers[0];
    if (eq_weight_present(&L0->rope_freqs)) c->rope_factors = &L0->rope_freqs;
    else if (eq_weight_present(&L0->rope_long) && p.n_ctx > hp->n_ctx_orig) c->rope_factors = &L0->rope_long;
    else if (eq_weight_present(&L0->rope_short)) c->rope_factors = &L0->rope_short;
    *out = c;
    return EQ_OK;
}

const char *eq_ctx_errmsg(const eq_ctx *c) { return c ? c->err : "no context"; }
int eq_ctx_n_ctx(const eq_ctx *c) { return c->n_ctx; }
int eq_ctx_n_past(const eq_ctx *c) { return c->n_past; }
int eq_ctx_n_threads(const eq_ctx *c) { return c->be->n_threads; }

/* Whether a token at pos can be evaluated: the sliding layers still hold the positions
 * (pos - n_swa, pos) it attends to. Storing position q overwrites q - kv_keep in their rings,
 * so after any decode the positions [kv_lo, n_past) are intact (kv_lo: see eq_decode_logits);
 * going back to pos needs those before it. */
static int window_intact(const eq_ctx *c, int pos) {
    if (!c->n_swa) return 1;
    const int need = pos - c->n_swa + 1 > 0 ? pos - c->n_swa + 1 : 0;
    return need >= pos || need >= c->kv_lo;
}

eq_status eq_ctx_truncate(eq_ctx *c, int n_past) {
    if (n_past < 0 || n_past > c->n_past) {
        snprintf(c->err, sizeof c->err, "cannot truncate to %d tokens (the cache holds %d)", n_past, c->n_past);
        return EQ_ERR_ARG;
    }
    if (n_past < c->n_past && !window_intact(c, n_past)) {
        /* llama.cpp keeps whole caches for this (swa_full); we keep the memory and say so */
        snprintf(c->err, sizeof c->err, "cannot truncate to %d tokens: the sliding-window layers keep only the last %d "
                 "positions and have overwritten those before it; truncate to 0 and evaluate again", n_past, c->kv_keep);
        return EQ_ERR_UNSUPPORTED;
    }
    c->n_past = n_past;
    c->n_pending = 0;   /* a submitted step not completed is dropped */
    if (c->kv_lo > n_past) c->kv_lo = n_past;   /* [kv_lo, n_past) stays intact (maybe empty) */
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
    c->n_pending = 0;
    if (c->be->deferred) {
        snprintf(c->err, sizeof c->err, "a %s context decodes step-wise only (eq_gen)", c->be->name);
        return EQ_ERR_UNSUPPORTED;
    }
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
        /* this step may store positions up to n_past + k - 1 (even when it fails), dropping
         * those below n_past + k - kv_keep from the sliding layers */
        if (c->n_past + k - c->kv_keep > c->kv_lo) c->kv_lo = c->n_past + k - c->kv_keep;
        eq_status st = eq_forward(c, tokens + i, k, k_out);
        if (!st) st = eq_forward_read(c, k_out, k_out ? out + (size_t)(lo - first_out) * n_vocab : NULL);
        if (st) {
            c->n_past = start;  /* nothing half-done: the cache is as it was */
            c->has_logits = 0;
            if (!window_intact(c, start)) {
                /* unless earlier steps of this call overwrote the window before start */
                const size_t len = strlen(c->err);
                snprintf(c->err + len, sizeof c->err - len, " (the sliding-window cache was overwritten: the context was cleared)");
                c->n_past = c->kv_lo = 0;
            }
            return st;
        }
        c->n_past += k;
    }
    memcpy(c->tokens + start, tokens, (size_t)n * sizeof *tokens);   /* n <= n_ctx - start */
    c->has_logits = 1;
    return EQ_OK;
}

int eq_ctx_deferred(const eq_ctx *c) { return c->be->deferred; }

eq_status eq_decode_submit(eq_ctx *c, const eq_token *tokens, int n) {
    c->err[0] = 0;
    c->n_pending = 0;
    if (n <= 0 || n > c->n_batch || !tokens) {
        snprintf(c->err, sizeof c->err, "a step takes 1 to %d tokens, not %d", c->n_batch, n);
        return EQ_ERR_ARG;
    }
    if (n > c->n_ctx - c->n_past) {
        snprintf(c->err, sizeof c->err, "%d tokens do not fit: the context holds %d and %d are used", n, c->n_ctx, c->n_past);
        return EQ_ERR_CONTEXT_FULL;
    }
    c->has_logits = 0;
    /* as in eq_decode_logits: the sliding layers may drop positions below n_past + n - kv_keep
     * (a single step never reaches the window of n_past itself) */
    if (c->n_past + n - c->kv_keep > c->kv_lo) c->kv_lo = c->n_past + n - c->kv_keep;
    c->step_argmax = c->be->want_argmax = c->greedy && c->be->op->read_argmax;
    eq_status st = eq_forward(c, tokens, n, 0);
    c->be->want_argmax = 0;
    if (st) return st;
    memcpy(c->tokens + c->n_past, tokens, (size_t)n * sizeof *tokens);   /* n <= n_ctx - n_past */
    c->n_pending = n;
    return EQ_OK;
}

eq_status eq_decode_complete(eq_ctx *c) {
    const int n = c->n_pending;
    if (n <= 0) {
        snprintf(c->err, sizeof c->err, "no step was submitted");
        return EQ_ERR_ARG;
    }
    c->n_pending = 0;
    eq_status st = eq_forward_read(c, 0, NULL);
    if (st) return st;   /* the cache stays as it was */
    c->n_past += n;
    c->has_logits = 1;
    return EQ_OK;
}

eq_status eq_decode(eq_ctx *c, const eq_token *tokens, int n) {
    return eq_decode_logits(c, tokens, n, 0, NULL);
}

const float *eq_ctx_logits(const eq_ctx *c) { return c->has_logits && c->argmax < 0 ? c->logits : NULL; }
int eq_ctx_logits_on_device(const eq_ctx *c) { return c->has_logits && c->argmax >= 0; }
int eq_ctx_argmax(const eq_ctx *c) { return c->has_logits ? c->argmax : -1; }
void eq_ctx_set_greedy(eq_ctx *c, int on) { c->greedy = on; }
