/* The forward pass with nothing downloaded. Tiny random models of every architecture and
 * variant the loader binds (llama with GQA and Llama 3 rope factors; llama with tied output,
 * Q/K/V biases and linear rope scaling; qwen2 with biases, NEOX rope and one KV head; phi3 with
 * fused QKV and gate|up, partial rotary, LongRoPE long and short factors and Q pre-scaling;
 * gemma3 with heads wider than n_embd / n_head, QK-norm, post-norms, GeGLU, a sliding window of
 * 4 on layer 0 with its own rope base, scaled embeddings and softcapped logits), in
 * every tensor type, are written with the GGUF writer into memory and streamed into the loader.
 * Then eq_decode's logits are checked:
 *   - against a naive double-precision forward pass written out below (F32 weights and cache):
 *     the absolute check that the layers compute what they should;
 *   - against the scalar twin: this program linked with the kernel table and the vector helpers
 *     compiled with EQ_NO_SIMD (CMakeLists.txt builds it as forward_scalar and names it in
 *     EQ_FORWARD_TWIN; or pass its path as argv[1]). `forward_scalar --dump` writes its logits
 *     to a pipe; they must agree within the tolerances below. A later backend is one more
 *     column to compare against the twin;
 *   - for self-consistency, bit for bit: decoding twice; the prompt in one call, token by token
 *     or in steps of n_batch = 3 (the 4-token kernels against the 1-token ones); 1, 2 or 3
 *     threads; truncating the cache and decoding again. A bad token, a full context or an
 *     abort leaves the cache as it was;
 *   - gemma3's sliding-window ring (check_window): as small as the window, the trace's logits
 *     bit for bit; truncating into an overwritten window refused, eq_gen's prefix reuse then
 *     evaluating again.
 * Without a twin, that comparison is skipped. */
#define _POSIX_C_SOURCE 200809L  /* popen */
#include "eqtest.h"
#include "tiny_model.h"
#include "edgeq.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quant/quant.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_TOK = 10, N_PROMPT = 7 };
static const eq_token k_toks[N_TOK] = {1, 17, 255, 3, 42, 299, 128, 7, 64, 200};

/* Tolerances, as max |diff| over a row relative to its largest logit, and cosine.
 * The SIMD kernels sum in another order (lanes, FMA) than the scalar ones: a few float ulps per
 * dot product, which is all F32 weights with an F32 cache see (TOL_F32; measured ~1e-6). But
 * wherever activations are rounded (to F16 for an F16 cache or F16 weights, BF16 for BF16
 * weights, 8-bit blocks for quantized weights) a value that sits on a rounding boundary can go
 * either way, and one such step moves the logits by about the format's precision: TOL_F16 and
 * TOL_BF16 are 4 units of it (measured: 6e-4 and 5e-3 at worst), and for quantized weights,
 * where one 8-bit step is ~1% of a block's range, the top token must agree (unless the twin's
 * top two are within TIE) and the cosine reach MIN_COS (measured: most traces agree to ~1e-7,
 * the ones with a step to 0.9996). Against the naive pass (F32 weights and cache): TOL_NAIVE. */
#define TOL_F32   1e-5
#define TOL_F16   (4.0 / 2048)
#define TOL_BF16  (4.0 / 256)
#define MIN_COS   0.998
#define TIE       5e-2
#define TOL_NAIVE 1e-5
/* gemma3's gelu is rounded through F16 as ggml's is (the naive pass does not): measured 2e-4 */
#define TOL_NAIVE_GELU 1e-3

static const int k_types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0,
                              EQ_TYPE_Q5_1, EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K,
                              EQ_TYPE_Q6_K};
#define N_TYPES (int)(sizeof k_types / sizeof *k_types)

static const arch_case k_archs[] = {
    {"llama",      "llama",  4, 2, 0,  0, 0, 0, 0, 10000.0f,   0.0f, 1, 0, 0},
    {"llama-tied", "llama",  4, 4, 0,  1, 1, 0, 0, 500000.0f,  2.0f, 0, 0, 0},
    {"qwen2",      "qwen2",  4, 1, 0,  0, 1, 0, 1, 1000000.0f, 0.0f, 0, 0, 0},
    {"phi3",       "phi3",   4, 4, 32, 0, 0, 1, 1, 10000.0f,   0.0f, 0, 1, 0},
    {"gemma3",     "gemma3", 4, 1, 0,  1, 0, 0, 1, 1000000.0f, 0.0f, 0, 0, 1},
};
#define N_ARCHS (int)(sizeof k_archs / sizeof *k_archs)
/* ---- decoding --------------------------------------------------------------------------------- */

static eq_ctx *ctx_make(eq_model *m, int n_ctx, int n_threads, int n_batch, eq_kv_type kv) {
    eq_ctx_params p = eq_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_threads = n_threads;
    p.n_batch = n_batch;
    p.kv_type = kv;
    eq_ctx *c = NULL;
    char err[256];
    eq_status st = eq_ctx_new(m, &p, &c, err, sizeof err);
    CHECKF(!st, "eq_ctx_new: %s", err);
    return c;
}

/* The logits of every position of k_toks: the first N_PROMPT in one call, then one at a time. */
static int trace(eq_model *m, int n_ctx, int n_threads, int n_batch, eq_kv_type kv, float *rows) {
    eq_ctx *c = ctx_make(m, n_ctx, n_threads, n_batch, kv);
    if (!c) return 0;
    int ok = eq_decode_logits(c, k_toks, N_PROMPT, N_PROMPT, rows) == EQ_OK;
    for (int t = N_PROMPT; t < N_TOK && ok; t++) {
        ok = eq_decode(c, &k_toks[t], 1) == EQ_OK && eq_ctx_logits(c);
        if (ok) memcpy(rows + (size_t)t * V, eq_ctx_logits(c), V * sizeof(float));
    }
    CHECKF(ok, "decode: %s", eq_ctx_errmsg(c));
    eq_ctx_free(c);
    return ok;
}

/* ---- the naive reference: one token at a time, in double, straight from the formulas ------- */

static void naive_rmsnorm_n(double *out, const double *x, const float *w, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    const double r = 1.0 / sqrt(ss / n + 1e-5);
    for (int i = 0; i < n; i++) out[i] = x[i] * r * w[i];
}
static void naive_rmsnorm(double *out, const double *x, const float *w) { naive_rmsnorm_n(out, x, w, E); }

static void naive_matvec(double *out, const float *W, const double *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int i = 0; i < cols; i++) s += (double)W[(size_t)r * cols + i] * x[i];
        out[r] = s;
    }
}

/* rotate the first n_rot dims of one head: pairs (2i, 2i+1), or (i, i + n_rot/2) for NEOX */
static void naive_rope(const weights *w, double *v, int pos, const float *factors, double freq_scale, double base) {
    const int half = w->n_rot / 2;
    const double mscale = w->a->longrope ? w->attn_factor : 1.0;
    for (int i = 0; i < half; i++) {
        double theta = pos * pow(base, -2.0 * i / w->n_rot) * freq_scale / (factors ? factors[i] : 1.0);
        double c = cos(theta) * mscale, s = sin(theta) * mscale;
        int i0 = w->a->neox ? i : 2 * i, i1 = w->a->neox ? i + half : 2 * i + 1;
        double x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * c - x1 * s;
        v[i1] = x0 * s + x1 * c;
    }
}

static void naive_forward(const weights *w, int n_ctx, double *logits /* N_TOK x V */) {
    const arch_case *a = w->a;
    const int hd = w->hd, Q = w->Q, KV = w->KV, group = a->n_head / a->n_head_kv;
    const float *factors = w->rope_freqs ? w->rope_freqs : a->longrope ? (n_ctx > N_CTX_ORIG ? w->rope_long : w->rope_short) : NULL;
    const double freq_scale = a->rope_linear ? 1.0 / a->rope_linear : 1.0;
    double *kc = malloc(sizeof(double) * NL * N_TOK * KV), *vc = malloc(sizeof(double) * NL * N_TOK * KV);
    double x[E], xn[E], q[4 * GEMMA_HD], att[4 * GEMMA_HD], tmp[E], g[F], u[F], sc[N_TOK];
    for (int p = 0; p < N_TOK; p++) {
        for (int i = 0; i < E; i++) x[i] = w->tok_embd[(size_t)k_toks[p] * E + i] * (a->gemma ? sqrt((double)E) : 1.0);
        for (int l = 0; l < NL; l++) {
            /* gemma3: layer 0 (l % GEMMA_PATTERN < GEMMA_PATTERN - 1) slides, with its own base */
            const int swa = a->gemma && l % GEMMA_PATTERN < GEMMA_PATTERN - 1;
            const double base = swa ? GEMMA_ROPE_SWA : a->rope_base;
            double *k = kc + ((size_t)l * N_TOK + p) * KV, *v = vc + ((size_t)l * N_TOK + p) * KV;
            naive_rmsnorm(xn, x, w->attn_norm[l]);
            naive_matvec(q, w->wq[l], xn, Q, E);
            naive_matvec(k, w->wk[l], xn, KV, E);
            naive_matvec(v, w->wv[l], xn, KV, E);
            if (a->biases) {
                for (int i = 0; i < Q; i++) q[i] += w->bq[l][i];
                for (int i = 0; i < KV; i++) { k[i] += w->bk[l][i]; v[i] += w->bv[l][i]; }
            }
            if (a->gemma) {
                for (int h = 0; h < a->n_head; h++) naive_rmsnorm_n(q + h * hd, q + h * hd, w->q_norm[l], hd);
                for (int h = 0; h < a->n_head_kv; h++) naive_rmsnorm_n(k + h * hd, k + h * hd, w->k_norm[l], hd);
            }
            for (int h = 0; h < a->n_head; h++) naive_rope(w, q + h * hd, p, factors, freq_scale, base);
            for (int h = 0; h < a->n_head_kv; h++) naive_rope(w, k + h * hd, p, factors, freq_scale, base);
            const int j0 = swa && p - GEMMA_WINDOW + 1 > 0 ? p - GEMMA_WINDOW + 1 : 0;
            for (int h = 0; h < a->n_head; h++) {
                const int kvh = h / group;
                double mx = -INFINITY, sum = 0;
                for (int j = j0; j <= p; j++) {
                    const double *kj = kc + ((size_t)l * N_TOK + j) * KV + kvh * hd;
                    double s = 0;
                    for (int i = 0; i < hd; i++) s += q[h * hd + i] * kj[i];
                    sc[j] = s / sqrt((double)hd);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = j0; j <= p; j++) sum += (sc[j] = exp(sc[j] - mx));
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int j = j0; j <= p; j++) o += sc[j] / sum * vc[((size_t)l * N_TOK + j) * KV + kvh * hd + i];
                    att[h * hd + i] = o;
                }
            }
            naive_matvec(tmp, w->wo[l], att, E, Q);
            if (a->gemma) naive_rmsnorm(tmp, tmp, w->post_attn[l]);
            for (int i = 0; i < E; i++) x[i] += tmp[i];
            naive_rmsnorm(xn, x, w->ffn_norm[l]);
            naive_matvec(g, w->wg[l], xn, F, E);
            naive_matvec(u, w->wu[l], xn, F, E);
            for (int i = 0; i < F; i++)
                g[i] = a->gemma ? 0.5 * g[i] * (1.0 + tanh(0.7978845608028654 * (g[i] + 0.044715 * g[i] * g[i] * g[i]))) * u[i]
                                : g[i] / (1.0 + exp(-g[i])) * u[i];
            naive_matvec(tmp, w->wd[l], g, E, F);
            if (a->gemma) naive_rmsnorm(tmp, tmp, w->post_ffn[l]);
            for (int i = 0; i < E; i++) x[i] += tmp[i];
        }
        naive_rmsnorm(xn, x, w->out_norm);
        double *lg = logits + (size_t)p * V;
        naive_matvec(lg, w->output ? w->output : w->tok_embd, xn, V, E);
        if (a->gemma) for (int i = 0; i < V; i++) lg[i] = GEMMA_SOFTCAP * tanh(lg[i] / GEMMA_SOFTCAP);
    }
    free(kc);
    free(vc);
}

/* ---- comparisons --------------------------------------------------------------------------------- */

typedef struct { double max_rel, min_cos; int top1_miss; } agreement;

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* ours against ref, row by row: max |diff| / max |ref|, cosine, top-1 (near ties excused) */
static agreement agree(const float *ours, const float *ref, int rows) {
    agreement g = {0, 1, 0};
    for (int r = 0; r < rows; r++) {
        const float *a = ours + (size_t)r * V, *b = ref + (size_t)r * V;
        double scale = 0, diff = 0, ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < V; i++) {
            if (fabs(b[i]) > scale) scale = fabs(b[i]);
            if (!(fabs((double)a[i] - b[i]) <= diff)) diff = fabs((double)a[i] - b[i]);  /* NaN counts */
            ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i];
        }
        double rel = scale > 0 ? diff / scale : diff, cs = ab / sqrt(aa * bb);
        if (!(rel <= g.max_rel)) g.max_rel = rel;
        if (!(cs >= g.min_cos)) g.min_cos = cs;
        int ta = argmax(a, V), tb = argmax(b, V);
        if (ta != tb && b[tb] - b[ta] > TIE * scale) g.top1_miss++;
    }
    return g;
}

static int same_bits(const float *a, const float *b, int rows) { return !memcmp(a, b, sizeof(float) * V * rows); }

/* ---- the checks --------------------------------------------------------------------------------- */

/* Self-consistency of one model against its own trace, bit for bit (one thread: see main). */
static void check_consistency(eq_model *m, const char *what, eq_kv_type kv, const float *rows) {
    float *again = malloc(sizeof(float) * V * N_TOK);
    /* the same trace twice, in a fresh context */
    CHECKF(trace(m, 64, 1, 8, kv, again) && same_bits(again, rows, N_TOK), "%s: decoding is not deterministic", what);
    /* everything in one call, in steps of 3 tokens */
    eq_ctx *c = ctx_make(m, 64, 1, 3, kv);
    memset(again, 0, sizeof(float) * V * N_TOK);
    CHECKF(c && !eq_decode_logits(c, k_toks, N_TOK, N_TOK, again) && same_bits(again, rows, N_TOK),
           "%s: n_batch 3: logits differ from the trace", what);
    eq_ctx_free(c);
    /* one token at a time; then the cache cut back to 4 tokens and the rest again in one call */
    c = ctx_make(m, 64, 1, 8, kv);
    int ok = c != NULL;
    for (int t = 0; t < N_TOK && ok; t++)
        ok = !eq_decode(c, &k_toks[t], 1) && eq_ctx_logits(c) && same_bits(eq_ctx_logits(c), rows + (size_t)t * V, 1);
    CHECKF(ok, "%s: token by token: logits differ from the trace", what);
    ok = ok && !eq_ctx_truncate(c, 4) && eq_ctx_n_past(c) == 4 &&
         !eq_decode_logits(c, k_toks + 4, N_TOK - 4, N_TOK - 4, again) && same_bits(again, rows + 4 * V, N_TOK - 4);
    CHECKF(ok, "%s: after truncating the cache to 4 tokens, decoding again differs", what);
    eq_ctx_free(c);
    free(again);
}

static int abort_after;
static int abort_cb(void *user) { (void)user; return abort_after-- <= 0; }

/* Errors leave the cache as it was: the next decode gives the trace's logits. */
static void check_errors(eq_model *m, const float *rows) {
    eq_ctx *c = ctx_make(m, N_TOK + 2, 1, 4, EQ_KV_F16);
    if (!c) return;
    CHECK(eq_ctx_logits(c) == NULL);
    CHECK(!eq_decode(c, k_toks, 4));
    eq_token bad[2] = {5, V};
    CHECK(eq_decode(c, bad, 2) == EQ_ERR_ARG && eq_ctx_n_past(c) == 4 && strstr(eq_ctx_errmsg(c), "out of range"));
    CHECK(eq_decode(c, bad, 0) == EQ_ERR_ARG && eq_ctx_n_past(c) == 4);
    CHECK(eq_decode(c, k_toks, N_TOK) == EQ_ERR_CONTEXT_FULL && eq_ctx_n_past(c) == 4);
    abort_after = 1;  /* the second layer of the first step */
    eq_ctx_set_abort(c, abort_cb, NULL);
    CHECK(eq_decode(c, k_toks + 4, 5) == EQ_ERR_ABORTED && eq_ctx_n_past(c) == 4);
    eq_ctx_set_abort(c, NULL, NULL);
    CHECK(!eq_decode(c, k_toks + 4, 1) && same_bits(eq_ctx_logits(c), rows + 4 * V, 1));
    CHECK(eq_ctx_truncate(c, 6) == EQ_ERR_ARG && eq_ctx_n_past(c) == 5);
    eq_ctx_free(c);
}

/* eq_gen greedily over prompt in c (prefix reuse on), max 2 tokens: the tokens' text and the
 * prompt tokens it reused from the cache. */
static int gen_reuse(eq_ctx *c, const eq_token *prompt, int n, char *text, size_t cap) {
    eq_gen_params p = eq_gen_default_params();
    p.sp.temp = 0;
    p.max_tokens = 2;
    p.reuse_prefix = 1;
    eq_gen *g = NULL;
    size_t used = 0;
    if (eq_gen_start(c, prompt, n, &p, &g, NULL, 0)) return -1;
    int done = 0;
    while (!done) {
        const char *t;
        size_t l;
        if (eq_gen_step(g, &t, &l, &done)) { eq_gen_free(g); return -1; }
        if (used + l < cap) { memcpy(text + used, t, l); used += l; }
    }
    text[used] = 0;
    eq_gen_stats st;
    eq_gen_stats_get(g, &st);
    eq_gen_free(g);
    return st.n_cached;
}

/* gemma3's sliding layer (window 4) keeps only window + n_batch - 1 positions, a ring: with
 * n_batch 1 exactly the window, with 3 six (the trace's n_batch 8 keeps 11: all 10). The
 * logits stay those of the trace bit for bit; going back before a window it overwrote is
 * refused, and decoding from 0 again (what eq_gen's prefix reuse then does) gives the trace. */
static void check_window(eq_model *m, const char *what, eq_kv_type kv, const float *rows) {
    float *again = malloc(sizeof(float) * V * N_TOK);
    eq_ctx *c = ctx_make(m, 64, 1, 1, kv);
    int ok = c != NULL;
    for (int t = 0; t < N_TOK && ok; t++)
        ok = !eq_decode(c, &k_toks[t], 1) && same_bits(eq_ctx_logits(c), rows + (size_t)t * V, 1);
    CHECKF(ok, "%s: ring of 4 positions, token by token: logits differ from the trace", what);
    /* 10 positions stored in a ring of 4: 6..9 remain; position 8 attends to 5..8 */
    CHECKF(ok && eq_ctx_truncate(c, 8) == EQ_ERR_UNSUPPORTED && eq_ctx_n_past(c) == N_TOK &&
           strstr(eq_ctx_errmsg(c), "sliding-window"), "%s: truncating into an overwritten window is not refused", what);
    CHECKF(ok && eq_ctx_truncate(c, 4) == EQ_ERR_UNSUPPORTED && eq_ctx_n_past(c) == N_TOK, "%s: truncate to 4 not refused", what);
    /* position 9 attends to 6..9: still there */
    ok = ok && !eq_ctx_truncate(c, 9) && !eq_decode(c, &k_toks[9], 1) && same_bits(eq_ctx_logits(c), rows + 9 * V, 1);
    CHECKF(ok, "%s: truncating to 9 (its window intact) and decoding again differs", what);
    ok = ok && !eq_ctx_truncate(c, 0) && !eq_decode_logits(c, k_toks, N_TOK, N_TOK, again) && same_bits(again, rows, N_TOK);
    CHECKF(ok, "%s: after truncating to 0, the whole sequence again differs", what);

    /* an abort in the 4th one-token step of a call from position 4: positions 4..6 went in and
     * overwrote 1..3, which position 4 needs: the context is cleared, and says so */
    ok = ok && !eq_ctx_truncate(c, 0) && !eq_decode(c, k_toks, 4);
    abort_after = 6;   /* 2 layers a step */
    eq_ctx_set_abort(c, abort_cb, NULL);
    ok = ok && eq_decode(c, k_toks + 4, 5) == EQ_ERR_ABORTED && eq_ctx_n_past(c) == 0 && strstr(eq_ctx_errmsg(c), "cleared");
    eq_ctx_set_abort(c, NULL, NULL);
    CHECKF(ok, "%s: a failed multi-step decode that overwrote the window does not clear the context", what);
    ok = ok && !eq_decode_logits(c, k_toks, N_TOK, N_TOK, again) && same_bits(again, rows, N_TOK);
    CHECKF(ok, "%s: decoding after the cleared context differs from the trace", what);
    eq_ctx_free(c);

    /* eq_gen's prefix reuse: a prompt sharing 7 tokens with the 10 held falls back to evaluating
     * all of it (the window before position 7 is gone) and gives a fresh context's text */
    char fresh[256], reused[256];
    eq_token p2[N_TOK];
    memcpy(p2, k_toks, sizeof p2);
    p2[7] = 5; p2[8] = 9; p2[9] = 11;
    eq_ctx *f = ctx_make(m, 64, 1, 8, kv);
    ok = f && gen_reuse(f, p2, N_TOK, fresh, sizeof fresh) == 0;
    for (int nb = 1; nb <= 3 && ok; nb += 2) {
        c = ctx_make(m, 64, 1, nb, kv);
        ok = c && gen_reuse(c, k_toks, N_TOK, reused, sizeof reused) == 0;
        ok = ok && gen_reuse(c, p2, N_TOK, reused, sizeof reused) == 0 && !strcmp(fresh, reused);
        CHECKF(ok, "%s: n_batch %d: eq_gen's prefix reuse into an overwritten window does not fall back to evaluating "
               "again", what, nb);
        /* the same prompt again: 11 held (the first generated token too), 9 wanted; position 9
         * attends to 6..9: a ring of 6 (n_batch 3) still holds them, one of 4 does not */
        ok = ok && gen_reuse(c, p2, N_TOK, reused, sizeof reused) == (nb == 3 ? N_TOK - 1 : 0) && !strcmp(fresh, reused);
        CHECKF(ok, "%s: n_batch %d: eq_gen's prefix reuse of 9 tokens: wrong reuse or text", what, nb);
        eq_ctx_free(c);
    }
    eq_ctx_free(f);
    free(again);
}

/* Every (architecture, type, cache type) the twin is compared on, in one fixed order. */
typedef struct { int arch, type; eq_kv_type kv; } tcase;
static int cases(tcase *out) {
    int n = 0;
    for (int a = 0; a < N_ARCHS; a++)
        for (int t = 0; t < N_TYPES; t++) {
            out[n++] = (tcase){a, k_types[t], EQ_KV_F16};
            if (k_types[t] == EQ_TYPE_F32) out[n++] = (tcase){a, k_types[t], EQ_KV_F32};
        }
    return n;
}

static int is_float_type(int t) { return t == EQ_TYPE_F32 || t == EQ_TYPE_F16 || t == EQ_TYPE_BF16; }

/* The twin: write every case's trace to stdout. */
static int dump(void) {
    tcase cs[N_ARCHS * (N_TYPES + 1)];
    const int n = cases(cs);
    float *rows = malloc(sizeof(float) * V * N_TOK);
    weights w = {0};
    int cur = -1, ok = 1;
    for (int i = 0; i < n && ok; i++) {
        if (cs[i].arch != cur) {
            if (cur >= 0) weights_free(&w);
            weights_make(&w, &k_archs[cs[i].arch], 1000 + cs[i].arch);
            cur = cs[i].arch;
        }
        eq_model *m = model_make(&w, cs[i].type);
        ok = m && trace(m, 64, 1, 8, cs[i].kv, rows) && fwrite(rows, sizeof(float) * V, N_TOK, stdout) == N_TOK;
        eq_model_free(m);
    }
    if (cur >= 0) weights_free(&w);
    free(rows);
    fprintf(stderr, "forward_scalar: %d traces, kernels %s\n", n, eq_quant_isa());
    return ok ? 0 : 1;
}

static double now(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int type_index(int type) {
    for (int t = 0; t < N_TYPES; t++) if (k_types[t] == type) return t;
    return -1;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--dump")) return dump();
    const char *twin_path = argc > 1 ? argv[1] : getenv("EQ_FORWARD_TWIN");
    FILE *twin = NULL;
    if (twin_path && *twin_path) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' --dump", twin_path);
        twin = popen(cmd, "r");
        CHECKF(twin != NULL, "cannot run the scalar twin %s", twin_path);
    } else {
        printf("no scalar twin (EQ_FORWARD_TWIN or argv[1]): that comparison is skipped\n");
    }
    printf("kernels: %s (the twin: scalar)\n", eq_quant_isa());
    const int verbose = getenv("EQ_FORWARD_VERBOSE") != NULL;
    const double t0 = now();

    tcase cs[N_ARCHS * (N_TYPES + 1)];
    const int n = cases(cs);
    eq_model *models[N_ARCHS * (N_TYPES + 1)] = {0};
    float *traces = calloc((size_t)n * N_TOK * V, sizeof(float)), *ref = malloc(sizeof(float) * V * N_TOK);
    double *nv = malloc(sizeof(double) * V * N_TOK);
    agreement worst[N_TYPES + 1];   /* per type; the last: F32 weights with an F32 cache */
    for (int t = 0; t <= N_TYPES; t++) worst[t] = (agreement){0, 1, 0};
    weights w = {0};
    int cur = -1, twin_ok = twin != NULL;
    char what[N_ARCHS * (N_TYPES + 1)][64];

    /* 1. one thread while the twin runs beside us (the pool's threads spin: no oversubscription) */
    for (int i = 0; i < n; i++) {
        const arch_case *a = &k_archs[cs[i].arch];
        const int f32cache = cs[i].kv == EQ_KV_F32;
        float *rows = traces + (size_t)i * N_TOK * V;
        snprintf(what[i], sizeof what[i], "%s %s (KV %s)", a->name, eq_type_name(cs[i].type), f32cache ? "F32" : "F16");
        if (cs[i].arch != cur) {
            if (cur >= 0) weights_free(&w);
            weights_make(&w, a, 1000 + cs[i].arch);
            cur = cs[i].arch;
        }
        eq_model *m = models[i] = model_make(&w, cs[i].type);
        int ok = m && trace(m, 64, 1, 8, cs[i].kv, rows);
        if (twin_ok) twin_ok = fread(ref, sizeof(float) * V, N_TOK, twin) == N_TOK;
        if (!ok) continue;

        if (twin_ok) {
            agreement g = agree(rows, ref, N_TOK);
            if (verbose) printf("  %-26s max |diff| %.3g, cosine %.7f, top-1 misses %d\n", what[i], g.max_rel, g.min_cos, g.top1_miss);
            agreement *wt = &worst[f32cache ? N_TYPES : type_index(cs[i].type)];
            if (g.max_rel > wt->max_rel) wt->max_rel = g.max_rel;
            if (g.min_cos < wt->min_cos) wt->min_cos = g.min_cos;
            wt->top1_miss += g.top1_miss;
            const double tol = cs[i].type == EQ_TYPE_F32 && f32cache ? TOL_F32 : cs[i].type == EQ_TYPE_BF16 ? TOL_BF16 : TOL_F16;
            if (is_float_type(cs[i].type))
                CHECKF(g.max_rel <= tol && g.top1_miss == 0, "%s: max |diff| %.3g of the largest logit against the scalar twin",
                       what[i], g.max_rel);
            else
                CHECKF(g.top1_miss == 0 && g.min_cos >= MIN_COS, "%s: against the scalar twin: %d top-1 misses, cosine %.6f",
                       what[i], g.top1_miss, g.min_cos);
        }
        check_consistency(m, what[i], cs[i].kv, rows);
        if (a->gemma) check_window(m, what[i], cs[i].kv, rows);
        if (cs[i].type == EQ_TYPE_F32 && f32cache) {
            /* the absolute check; phi3 also with a context that picks the short rope factors */
            for (int n_ctx = 64; n_ctx >= N_CTX_ORIG; n_ctx -= 32) {
                if (n_ctx != 64 && !a->longrope) break;
                CHECK(trace(m, n_ctx, 1, 8, EQ_KV_F32, ref));
                naive_forward(&w, n_ctx, nv);
                float *naive = malloc(sizeof(float) * V * N_TOK);
                for (int k = 0; k < V * N_TOK; k++) naive[k] = (float)nv[k];
                agreement g = agree(ref, naive, N_TOK);
                free(naive);
                printf("%-10s n_ctx %2d: against the naive double-precision pass: max |diff| %.2g of the largest logit\n",
                       a->name, n_ctx, g.max_rel);
                CHECKF(g.max_rel <= (a->gemma ? TOL_NAIVE_GELU : TOL_NAIVE) && g.top1_miss == 0, "%s n_ctx %d: max |diff| %.3g against the naive pass",
                       what[i], n_ctx, g.max_rel);
            }
        }
    }
    if (cur >= 0) weights_free(&w);
    if (twin) {
        CHECKF(twin_ok && fgetc(twin) == EOF, "the scalar twin's output does not match this program's cases");
        CHECKF(pclose(twin) == 0, "the scalar twin failed");
        printf("against the scalar twin, worst over the %d architectures:\n", N_ARCHS);
        for (int t = 0; t <= N_TYPES; t++)
            printf("  %-12s max |diff| %.2g of the largest logit, min cosine %.7f, top-1 misses %d\n",
                   t < N_TYPES ? eq_type_name(k_types[t]) : "F32, KV F32", worst[t].max_rel, worst[t].min_cos,
                   worst[t].top1_miss);
    }

    const double t1 = now();
    /* 2. the twin is done: 2 threads on a few types, 3 (rows split unevenly) on one; few, as the
     * pool's threads spin while they wait, which costs seconds on a loaded 2-core machine */
    for (int i = 0; i < n; i++) {
        if (!models[i]) continue;
        const float *rows = traces + (size_t)i * N_TOK * V;
        const int th = cs[i].type == EQ_TYPE_F16 ? 2 : cs[i].type == EQ_TYPE_Q4_K ? (cs[i].arch ? 2 : 3) : 0;
        if (th)
            CHECKF(trace(models[i], 64, th, 8, cs[i].kv, ref) && same_bits(ref, rows, N_TOK),
                   "%s: %d threads: logits differ from 1 thread's", what[i], th);
        if (cs[i].arch == 0 && cs[i].type == EQ_TYPE_F32 && cs[i].kv == EQ_KV_F16) check_errors(models[i], rows);
        eq_model_free(models[i]);
    }
    printf("%d models, %.1f s with one thread (the twin beside), %.1f s with more\n", n, t1 - t0, now() - t1);
    free(traces); free(ref); free(nv);
    return eqt_done();
}
