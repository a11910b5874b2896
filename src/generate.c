/* The generation loop, step-wise: a small state machine over a context.
 *
 *   PROMPT --(last batch evaluated)--> SAMPLE --(token kept)--> EVAL --> SAMPLE ...
 *
 * A step evaluates (a prompt batch, or the token sampled last) and then samples. The two
 * phases stay apart so that a GPU backend can end a step after submitting its work and sample
 * in the next call, once the logits are read back.
 *
 * Text: each kept token's bytes (raw, or through an eq_detok that releases whole UTF-8
 * characters) are appended to `buf`, which holds only what was not released yet. A stop string
 * found there ends the generation and is dropped with all after it; otherwise the longest tail
 * that is a prefix of some stop string is held back and the rest released. Matching bytes is
 * matching characters: a valid UTF-8 string only ever matches at character boundaries. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include "edgeq.h"
#include "models/model.h"
#include "runtime/entropy.h"
#include "runtime/status.h"
#include "tokenizer/detok.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STOP 64
#define MAX_STOP_LEN 65536

enum { PH_PROMPT, PH_SAMPLE, PH_EVAL, PH_DONE, PH_FAILED };

struct eq_gen {
    eq_ctx *c;
    const eq_model *m;
    eq_gen_params p;
    int n_vocab;
    eq_sampler *s;
    eq_token *prompt;
    int n_prompt, n_cached, n_batch;
    int phase;
    int next;                 /* PH_PROMPT: the next prompt token to evaluate */
    eq_token last;            /* PH_EVAL: the token sampled last, not yet evaluated */
    int pending;              /* tokens submitted to a deferred backend, not yet completed */
    double t_submit;
    int n_gen;
    char **stop;              /* owned copies */
    size_t *stop_len;
    float *plogits;           /* OpenAI penalties: logits copy, per-token counts, distinct tokens */
    int *counts;
    eq_token *hist;
    int n_hist;
    eq_detok dt;
    char *piece;              /* a token's bytes; grows to the longest piece met */
    int pcap;
    char *buf;                /* text not yet released: [0, rel) released by the last step */
    size_t len, cap, rel;
    eq_finish finish;
    eq_status failed;
    double t_prompt, t_gen;
    uint64_t seed;
    char err[256];
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

eq_gen_params eq_gen_default_params(void) {
    eq_gen_params p;
    memset(&p, 0, sizeof p);
    p.sp = eq_sampler_default_params();
    p.sp.seed = EQ_SEED_RANDOM;
    p.max_tokens = -1;
    return p;
}

void eq_gen_free(eq_gen *g) {
    if (!g) return;
    if (g->stop) for (int i = 0; i < g->p.n_stop; i++) free(g->stop[i]);
    free(g->stop);
    free(g->stop_len);
    free(g->plogits);
    free(g->counts);
    free(g->hist);
    free(g->prompt);
    free(g->piece);
    free(g->buf);
    eq_sampler_free(g->s);
    free(g);
}

eq_status eq_gen_start(eq_ctx *c, const eq_token *prompt, int n, const eq_gen_params *params,
                       eq_gen **out, char *errbuf, size_t errlen) {
    if (errbuf && errlen) errbuf[0] = 0;
    if (!out) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "no place for the generation");
    *out = NULL;
    if (!c) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "no context");
    eq_gen_params p = params ? *params : eq_gen_default_params();
    const eq_model *m = c->m;
    const int n_vocab = eq_model_n_vocab(m), n_ctx = eq_ctx_n_ctx(c);
    if (n <= 0 || !prompt) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "the prompt is empty");
    for (int i = 0; i < n; i++)
        if (prompt[i] < 0 || prompt[i] >= n_vocab)
            return eq_errf(errbuf, errlen, EQ_ERR_ARG, "prompt token %d is %d, not in the vocabulary (0 to %d)", i,
                              (int)prompt[i], n_vocab - 1);
    if (n >= n_ctx)
        return eq_errf(errbuf, errlen, EQ_ERR_CONTEXT_FULL, "the prompt is %d tokens, the context only %d", n, n_ctx);
    if (p.n_stop < 0 || p.n_stop > MAX_STOP || (p.n_stop > 0 && (!p.stop || !p.stop_len)))
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad stop strings (%d given, at most %d)", p.n_stop, MAX_STOP);
    for (int i = 0; i < p.n_stop; i++)
        if (!p.stop[i] || p.stop_len[i] == 0 || p.stop_len[i] > MAX_STOP_LEN)
            return eq_errf(errbuf, errlen, EQ_ERR_ARG, "stop string %d must be 1 to %d bytes long", i, MAX_STOP_LEN);
    if (!isfinite(p.frequency_penalty) || !isfinite(p.presence_penalty))
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "the frequency and presence penalties must be finite");
    if (p.n_batch < 0) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad batch size %d", p.n_batch);

    eq_gen *g = calloc(1, sizeof *g);
    if (!g) return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory");
    g->c = c;
    g->m = m;
    g->p = p;
    g->n_vocab = n_vocab;
    g->n_prompt = n;
    g->n_batch = p.n_batch ? p.n_batch : c->n_batch;
    g->p.stop = NULL;   /* ours are g->stop */
    g->p.stop_len = NULL;
    g->seed = p.sp.seed == EQ_SEED_RANDOM ? eq_entropy64() : p.sp.seed;
    eq_sampler_params sp = p.sp;
    sp.seed = g->seed;
    char serr[160];
    eq_status sst = eq_sampler_new(&sp, n_vocab, &g->s, serr, sizeof serr);
    if (sst) { eq_gen_free(g); return eq_errf(errbuf, errlen, sst, "sampling: %s", serr); }
    g->pcap = 256;
    g->prompt = malloc((size_t)n * sizeof *prompt);
    g->piece = malloc((size_t)g->pcap);
    int fail = !g->prompt || !g->piece;
    if (p.n_stop) {
        g->stop = calloc((size_t)p.n_stop, sizeof *g->stop);
        g->stop_len = malloc((size_t)p.n_stop * sizeof *g->stop_len);
        fail |= !g->stop || !g->stop_len;
        for (int i = 0; i < p.n_stop && !fail; i++) {
            if (!(g->stop[i] = malloc(p.stop_len[i]))) fail = 1;
            else memcpy(g->stop[i], p.stop[i], p.stop_len[i]);
            g->stop_len[i] = p.stop_len[i];
        }
    }
    if (p.frequency_penalty != 0 || p.presence_penalty != 0) {
        g->plogits = malloc((size_t)n_vocab * sizeof *g->plogits);
        g->counts = calloc((size_t)n_vocab, sizeof *g->counts);
        g->hist = malloc((size_t)n_vocab * sizeof *g->hist);
        fail |= !g->plogits || !g->counts || !g->hist;
    }
    if (fail) { eq_gen_free(g); return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory"); }
    memcpy(g->prompt, prompt, (size_t)n * sizeof *prompt);
    /* greedy with no penalty changing the logits: the argmax is the token, so a GPU reads back
     * only that (eq_sampler_sample: the lowest id of the largest logit; a repetition penalty
     * of 1 or an empty window leaves the logits as they are) */
    eq_ctx_set_greedy(c, p.sp.temp <= 0.0f && (p.sp.repeat_penalty == 1.0f || p.sp.repeat_last_n == 0) && !g->plogits);

    int keep = 0;
    if (p.reuse_prefix) {
        int n_have;
        const eq_token *have = eq_ctx_tokens(c, &n_have);
        while (keep < n_have && keep < n - 1 && have[keep] == prompt[keep]) keep++;
    }
    /* keep <= n_past: fails only where a sliding-window cache lost the window before keep;
     * then the whole prompt is evaluated again */
    if (eq_ctx_truncate(c, keep)) {
        keep = 0;
        eq_ctx_truncate(c, 0);
    }
    g->n_cached = g->next = keep;
    g->phase = PH_PROMPT;
    *out = g;
    return EQ_OK;
}

static eq_status fail(eq_gen *g, eq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    g->failed = st;
    g->phase = PH_FAILED;
    return st;
}

/* Append n bytes to the unreleased text. */
static int append(eq_gen *g, const char *s, size_t n) {
    if (!n) return 0;
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap : 256;
        while (cap < g->len + n) cap *= 2;
        char *nb = realloc(g->buf, cap);
        if (!nb) return -1;
        g->buf = nb;
        g->cap = cap;
    }
    memcpy(g->buf + g->len, s, n);
    g->len += n;
    return 0;
}

/* Cut at the earliest stop string (returns 1), else release all but the held-back tail (none
 * when final: nothing more can complete a stop string). Sets g->rel. */
static int check_stop(eq_gen *g, int final) {
    size_t best = (size_t)-1;
    for (int i = 0; i < g->p.n_stop; i++) {
        const size_t k = g->stop_len[i];
        for (size_t at = 0; at + k <= g->len && at < best; at++)
            if (g->buf[at] == g->stop[i][0] && !memcmp(g->buf + at, g->stop[i], k)) { best = at; break; }
    }
    if (best != (size_t)-1) {
        g->len = g->rel = best;
        return 1;
    }
    size_t hold = 0;
    if (!final)
        for (int i = 0; i < g->p.n_stop; i++) {
            size_t k = g->stop_len[i] - 1;
            if (k > g->len) k = g->len;
            for (; k > hold; k--)
                if (!memcmp(g->buf + g->len - k, g->stop[i], k)) { hold = k; break; }
        }
    g->rel = g->len - hold;
    return 0;
}

static void finish(eq_gen *g, eq_finish why) {
    g->finish = why;
    g->phase = PH_DONE;
}

/* End without a stop string met so far: the UTF-8 tail and the held-back text go out. */
static eq_status finish_flush(eq_gen *g, eq_finish why) {
    if (!g->p.raw_bytes) {
        char tail[32];   /* eq_detok_flush writes at most 24 bytes */
        int k = eq_detok_flush(&g->dt, tail, (int)sizeof tail);
        if (k > 0 && append(g, tail, (size_t)k)) return fail(g, EQ_ERR_NOMEM, "out of memory");
    }
    if (check_stop(g, 1)) why = EQ_FINISH_STOP;
    finish(g, why);
    return EQ_OK;
}

/* The evaluate phase: the next prompt batch, or the token sampled last. It submits the batch
 * and completes it; on a deferred backend (a GPU) the step returns in between (g->pending,
 * eq_gen_pending) and the next step completes it. */
static eq_status evaluate(eq_gen *g) {
    eq_ctx *c = g->c;
    if (!g->pending) {
        if (g->phase == PH_EVAL && eq_ctx_n_past(c) >= eq_ctx_n_ctx(c)) return finish_flush(g, EQ_FINISH_LENGTH);
        int k = 1;
        const eq_token *toks = &g->last;
        if (g->phase == PH_PROMPT) {
            k = g->n_prompt - g->next;
            if (k > g->n_batch) k = g->n_batch;
            toks = g->prompt + g->next;
        }
        g->t_submit = now_s();
        eq_status st = eq_decode_submit(c, toks, k);
        if (st) return fail(g, st, "%s", eq_ctx_errmsg(c));
        g->pending = k;
        if (eq_ctx_deferred(c)) return EQ_OK;
    }
    const int k = g->pending;
    g->pending = 0;
    eq_status st = eq_decode_complete(c);
    const double dt = now_s() - g->t_submit;
    if (g->phase == PH_PROMPT) g->t_prompt += dt; else g->t_gen += dt;
    if (st) return fail(g, st, "%s", eq_ctx_errmsg(c));
    if (g->phase == PH_PROMPT) {
        g->next += k;
        if (g->next < g->n_prompt) return EQ_OK;
        for (int i = 0; i < g->n_prompt; i++) eq_sampler_accept(g->s, g->prompt[i]);
        if (g->p.max_tokens == 0) return finish_flush(g, EQ_FINISH_LENGTH);
    }
    g->phase = PH_SAMPLE;
    return EQ_OK;
}

/* The sample phase: pick a token from the logits, keep it and release its text. */
static eq_status sample(eq_gen *g) {
    double t0 = now_s();
    const int greedy = eq_ctx_argmax(g->c);   /* read back without the logits (see eq_gen_start) */
    const float *logits = greedy >= 0 ? NULL : eq_ctx_logits(g->c);
    if (greedy < 0 && !logits) return fail(g, EQ_ERR_ARG, "no logits to sample from");
    if (logits && g->plogits) {
        memcpy(g->plogits, logits, (size_t)g->n_vocab * sizeof *g->plogits);
        for (int i = 0; i < g->n_hist; i++)
            g->plogits[g->hist[i]] -= (float)g->counts[g->hist[i]] * g->p.frequency_penalty + g->p.presence_penalty;
        logits = g->plogits;
    }
    eq_token t = greedy >= 0 ? greedy : eq_sampler_sample(g->s, logits);
    if (t < 0 || t >= g->n_vocab) return fail(g, EQ_ERR_ARG, "sampling failed");
    eq_sampler_accept(g->s, t);
    const int eog = eq_token_is_eog(g->m, t);
    eq_status st = EQ_OK;
    if (eog && !g->p.ignore_eos) {
        st = finish_flush(g, EQ_FINISH_STOP);
    } else {
        g->n_gen++;
        if (g->plogits && g->counts[t]++ == 0) g->hist[g->n_hist++] = t;
        g->last = t;
        g->phase = PH_EVAL;
        int stopped = 0;
        if (!eog) {   /* an end-of-generation token kept for ignore_eos has no text */
            int k = eq_token_to_piece(g->m, t, g->p.special, g->piece, g->pcap);
            if (k > g->pcap) {
                char *nb = realloc(g->piece, (size_t)k);
                if (!nb) { st = fail(g, EQ_ERR_NOMEM, "out of memory"); goto out; }
                g->piece = nb;
                g->pcap = k;
                k = eq_token_to_piece(g->m, t, g->p.special, g->piece, g->pcap);
            }
            if (k < 0) { st = fail(g, EQ_ERR_ARG, "token %d has no text", (int)t); goto out; }
            if (g->p.raw_bytes) {
                if (append(g, g->piece, (size_t)k)) { st = fail(g, EQ_ERR_NOMEM, "out of memory"); goto out; }
            } else {
                /* at most 3 * (k + 3) bytes come out: complete characters, U+FFFD for junk */
                size_t need = 3 * ((size_t)k + 8);
                if (g->len + need > g->cap) {
                    size_t cap = g->cap ? g->cap : 256;
                    while (cap < g->len + need) cap *= 2;
                    char *nb = realloc(g->buf, cap);
                    if (!nb) { st = fail(g, EQ_ERR_NOMEM, "out of memory"); goto out; }
                    g->buf = nb;
                    g->cap = cap;
                }
                int w = eq_detok_push_bytes(&g->dt, g->piece, k, g->buf + g->len, (int)(g->cap - g->len > 1u << 30 ? 1u << 30 : g->cap - g->len));
                if (w < 0 || (size_t)w > g->cap - g->len) { st = fail(g, EQ_ERR_NOMEM, "out of memory"); goto out; }
                g->len += (size_t)w;
            }
            stopped = check_stop(g, 0);
        }
        if (stopped) finish(g, EQ_FINISH_STOP);
        else if (g->p.max_tokens >= 0 && g->n_gen >= g->p.max_tokens) st = finish_flush(g, EQ_FINISH_LENGTH);
    }
out:
    g->t_gen += now_s() - t0;
    return st;
}

eq_status eq_gen_step(eq_gen *g, const char **text, size_t *len, int *done) {
    *text = "";
    *len = 0;
    *done = 1;
    if (!g) return EQ_ERR_ARG;
    if (g->phase == PH_FAILED) return g->failed;
    if (g->phase == PH_DONE) return EQ_OK;
    /* what the last step released is gone; the held-back tail moves to the front */
    if (g->rel) {
        memmove(g->buf, g->buf + g->rel, g->len - g->rel);
        g->len -= g->rel;
        g->rel = 0;
    }
    g->err[0] = 0;
    eq_status st = evaluate(g);
    if (!st && g->phase == PH_SAMPLE && !g->pending) st = sample(g);
    if (st) return st;
    *text = g->buf ? g->buf : "";
    *len = g->rel;
    *done = g->phase == PH_DONE;
    return EQ_OK;
}

int eq_gen_pending(const eq_gen *g) { return g && g->pending && g->phase != PH_FAILED && g->phase != PH_DONE; }

eq_status eq_gen_stop(eq_gen *g, const char **text, size_t *len) {
    *text = "";
    *len = 0;
    if (!g) return EQ_ERR_ARG;
    if (g->phase == PH_DONE) return EQ_OK;
    /* an abort while evaluating the last sampled token loses only that evaluation: the text
     * up to it was released or is held here, so the completion can still end cleanly */
    const int aborted_gen = g->phase == PH_FAILED && g->failed == EQ_ERR_ABORTED && g->next == g->n_prompt;
    if (g->phase != PH_SAMPLE && g->phase != PH_EVAL && !aborted_gen) {
        snprintf(g->err, sizeof g->err, "the generation cannot be stopped here (the prompt is not in, or it failed)");
        return EQ_ERR_ARG;
    }
    if (g->rel) {   /* as eq_gen_step: what the last step released is gone */
        memmove(g->buf, g->buf + g->rel, g->len - g->rel);
        g->len -= g->rel;
        g->rel = 0;
    }
    g->err[0] = 0;
    g->failed = EQ_OK;
    eq_status st = finish_flush(g, EQ_FINISH_LENGTH);
    if (st) return st;
    *text = g->buf ? g->buf : "";
    *len = g->rel;
    return EQ_OK;
}

eq_finish eq_gen_finish_reason(const eq_gen *g) { return g && g->phase == PH_DONE ? g->finish : EQ_FINISH_NONE; }

void eq_gen_stats_get(const eq_gen *g, eq_gen_stats *out) {
    memset(out, 0, sizeof *out);
    if (!g) return;
    out->n_prompt = g->n_prompt;
    out->n_cached = g->n_cached;
    out->n_evaluated = g->next;
    out->n_gen = g->n_gen;
    out->t_prompt = g->t_prompt;
    out->t_gen = g->t_gen;
    out->seed = g->seed;
}

const char *eq_gen_errmsg(const eq_gen *g) { return g ? g->err : "no generation"; }
