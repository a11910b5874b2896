/* edgeq perplexity: perplexity over a text, as llama-perplexity computes it, and the KL divergence
 * of a model's next-token distributions against those saved from a base model (llama.cpp's
 * --kl-divergence-base file format, so files move freely between the two tools).
 *
 * The text is tokenized once (BOS added as the vocabulary asks) and cut into chunks of n_ctx
 * tokens; each chunk is evaluated on an empty cache with its first token replaced by BOS, and
 * only the second half is scored, so every scored token has at least n_ctx/2 tokens of context.
 *
 * Saved-logits file (little-endian): "_logits_", int32 n_ctx, int32 n_vocab, int32 n_chunk,
 * int32 tokens[n_chunk * n_ctx], then per chunk n_ctx - 1 - n_ctx/2 rows of nv = 2*ceil(n_vocab/2)
 * + 4 uint16: float scale, float min_log_prob, then log p(i) = min_log_prob + scale * q[i] (16-bit
 * quantized log-probabilities; anything below max - 16 stored as 0). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "runtime/outfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double nll, nll2;           /* -log p(token) of the model under test */
    double nll_base, nll_base2, nll_nll_base;
    double kld, kld2;
    double p_diff, p_diff2, p_diff4;
    double max_p_diff;
    long same_top, count;
    float *kld_values, *p_diff_values;   /* per token, for percentiles */
} stats;

/* log-sum-exp of a row and its argmax, in llama-perplexity's precision: float max, double sum */
static double row_lse(const float *l, int n, float *max_out, int *imax_out) {
    float mx = l[0];
    int im = 0;
    for (int i = 1; i < n; i++) if (l[i] > mx) { mx = l[i]; im = i; }
    double s = 0;
    for (int i = 0; i < n; i++) s += expf(l[i] - mx);
    *max_out = mx;
    if (imax_out) *imax_out = im;
    return log(s);
}

/* -log p(tok) */
static double row_nll(const float *l, int n, int tok) {
    float mx;
    double lse = row_lse(l, n, &mx, NULL);
    return lse - (double)(l[tok] - mx);
}

/* 16-bit log-probabilities of one row, the saved-logits encoding; returns -log p(tok) */
static double row_encode(const float *l, int n, int tok, uint16_t *dst) {
    float mx, mn = l[0];
    for (int i = 1; i < n; i++) if (l[i] < mn) mn = l[i];
    const float lse = (float)row_lse(l, n, &mx, NULL);
    if (mn < mx - 16) mn = mx - 16;   /* e^-16 of the top probability is noise: clamp the range */
    const float scale = (mx - mn) / 65535.f;
    const float min_log_prob = mn - mx - lse;
    memcpy(dst, &scale, 4);
    memcpy(dst + 2, &min_log_prob, 4);
    uint16_t *q = dst + 4;
    if (scale > 0) {
        const float inv = 1 / scale;
        for (int i = 0; i < n; i++) q[i] = l[i] > mn ? (uint16_t)lrintf(inv * (l[i] - mn)) : 0;
    } else {
        memset(q, 0, (size_t)n * sizeof *q);
    }
    return mx + lse - l[tok];
}

/* One row against the base row: KL(base || model), top-1 agreement, probability of the token. */
static void row_compare(const float *l, int n, const uint16_t *base, int tok, stats *s) {
    float mx;
    int imax;
    const float lse = (float)row_lse(l, n, &mx, &imax);
    float scale, min_log_prob;
    memcpy(&scale, base, 4);
    memcpy(&min_log_prob, base + 2, 4);
    const uint16_t *q = base + 4;

    const float nll = mx + lse - l[tok];
    const float nll_base = -(scale * q[tok] + min_log_prob);
    s->nll += nll;
    s->nll2 += (double)nll * nll;
    s->nll_base += nll_base;
    s->nll_base2 += (double)nll_base * nll_base;
    s->nll_nll_base += (double)nll * nll_base;

    const float log_z = mx + lse;
    double kld = 0;
    int imax_base = 0;
    float best = 0;
    for (int i = 0; i < n; i++) {
        const float lp_base = scale * q[i] + min_log_prob;
        if (i == 0 || lp_base > best) { best = lp_base; imax_base = i; }
        if (lp_base > -16.f) kld += expf(lp_base) * (lp_base - (l[i] - log_z));
    }
    const float p_diff = expf(-nll) - expf(-nll_base);
    s->kld_values[s->count] = (float)kld;
    s->p_diff_values[s->count] = p_diff;
    s->kld += kld;
    s->kld2 += kld * kld;
    s->p_diff += p_diff;
    s->p_diff2 += (double)p_diff * p_diff;
    s->p_diff4 += (double)p_diff * p_diff * p_diff * p_diff;
    if (fabs(p_diff) > s->max_p_diff) s->max_p_diff = fabs(p_diff);
    s->same_top += imax == imax_base;
    s->count++;
}

/* mean of a per-token quantity and the uncertainty of that mean */
static void mean_unc(double sum, double sum2, long n, double *mean, double *unc) {
    *mean = n > 0 ? sum / n : 0;
    double var = n > 0 ? sum2 / n - *mean * *mean : 0;
    *unc = var > 0 && n > 10 ? sqrt(var / (n - 1)) : 0;
}

static double covariance(double sa, double sb, double sab, long n) {
    if (n < 10) return 0;
    return (sab / n - (sa / n) * (sb / n)) / (n - 1);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* linear interpolation between the neighbouring sorted values */
static float percentile(const float *v, long n, float f) {
    if (f <= 0) return v[0];
    if (f >= 1) return v[n - 1];
    float p = f * (float)(n - 1);
    long i = (long)p;
    p -= (float)i;
    return (1 - p) * v[i] + p * v[i + 1 < n ? i + 1 : n - 1];
}

static float median(const float *v, long n) {
    return n % 2 == 0 ? 0.5f * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
}

/* The KL-divergence summary, in llama-perplexity's words, so the two outputs diff cleanly. */
static void print_kl_summary(FILE *o, stats *s) {
    qsort(s->kld_values, (size_t)s->count, sizeof(float), cmp_float);
    qsort(s->p_diff_values, (size_t)s->count, sizeof(float), cmp_float);
    double lp, lp_unc, lb, lb_unc;
    mean_unc(s->nll, s->nll2, s->count, &lp, &lp_unc);
    mean_unc(s->nll_base, s->nll_base2, s->count, &lb, &lb_unc);
    const double ppl = exp(lp), ppl_unc = ppl * lp_unc, ppl_b = exp(lb), ppl_b_unc = ppl_b * lb_unc;
    const double cov = covariance(s->nll, s->nll_base, s->nll_nll_base, s->count);
    const double ratio_unc = sqrt(lp_unc * lp_unc + lb_unc * lb_unc - 2.0 * cov);
    fprintf(o, "====== Perplexity statistics ======\n");
    fprintf(o, "Mean PPL(Q)                   : %10.6f ± %10.6f\n", ppl, ppl_unc);
    fprintf(o, "Mean PPL(base)                : %10.6f ± %10.6f\n", ppl_b, ppl_b_unc);
    fprintf(o, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * cov / (lp_unc * lb_unc));
    fprintf(o, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", lp - lb, ratio_unc);
    fprintf(o, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", exp(lp - lb), exp(lp - lb) * ratio_unc);
    fprintf(o, "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", ppl - ppl_b,
            sqrt(ppl_unc * ppl_unc + ppl_b_unc * ppl_b_unc - 2.0 * ppl * ppl_b * cov));
    fprintf(o, "\n====== KL divergence statistics ======\n");
    double kl, kl_unc;
    mean_unc(s->kld, s->kld2, s->count, &kl, &kl_unc);
    const float *k = s->kld_values;
    const long n = s->count;
    fprintf(o, "Mean    KLD: %10.6f ± %10.6f\n", kl, kl_unc);
    fprintf(o, "Maximum KLD: %10.6f\n", k[n - 1]);
    static const float kq[] = {0.999f, 0.99f, 0.95f, 0.90f};
    static const char *kqn[] = {"99.9%", "99.0%", "95.0%", "90.0%"};
    for (int i = 0; i < 4; i++) fprintf(o, "%-6s  KLD: %10.6f\n", kqn[i], percentile(k, n, kq[i]));
    fprintf(o, "Median  KLD: %10.6f\n", median(k, n));
    static const float kl_lo[] = {0.10f, 0.05f, 0.01f, 0.001f};
    static const char *kl_lon[] = {"10.0%", " 5.0%", " 1.0%", " 0.1%"};
    for (int i = 0; i < 4; i++) fprintf(o, "%-6s  KLD: %10.6f\n", kl_lon[i], percentile(k, n, kl_lo[i]));
    fprintf(o, "Minimum KLD: %10.6f\n", k[0]);
    fprintf(o, "\n====== Token probability statistics ======\n");
    double pd, pd_unc;
    mean_unc(s->p_diff, s->p_diff2, s->count, &pd, &pd_unc);
    const float *p = s->p_diff_values;
    fprintf(o, "Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * pd, 100.0 * pd_unc);
    fprintf(o, "Maximum Δp: %6.3f%%\n", 100.0 * p[n - 1]);
    static const float pq[] = {0.999f, 0.99f, 0.95f, 0.90f, 0.75f};
    static const char *pqn[] = {"99.9%", "99.0%", "95.0%", "90.0%", "75.0%"};
    for (int i = 0; i < 5; i++) fprintf(o, "%-6s  Δp: %6.3f%%\n", pqn[i], 100.0 * percentile(p, n, pq[i]));
    fprintf(o, "Median  Δp: %6.3f%%\n", 100.0 * median(p, n));
    static const float plo[] = {0.25f, 0.10f, 0.05f, 0.01f, 0.001f};
    static const char *plon[] = {"25.0%", "10.0%", " 5.0%", " 1.0%", " 0.1%"};
    for (int i = 0; i < 5; i++) fprintf(o, "%-6s  Δp: %6.3f%%\n", plon[i], 100.0 * percentile(p, n, plo[i]));
    fprintf(o, "Minimum Δp: %6.3f%%\n", 100.0 * p[0]);
    double mse, mse_unc;
    mean_unc(s->p_diff2, s->p_diff4, s->count, &mse, &mse_unc);
    fprintf(o, "RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * sqrt(mse), 100.0 * 0.5 / sqrt(mse) * mse_unc);
    const double top = (double)s->same_top / s->count;
    fprintf(o, "Same top p: %6.3f ± %5.3f %%\n", 100.0 * top, 100.0 * sqrt(top * (1 - top) / (s->count - 1)));
}

/* ---- the saved-logits file ------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    int32_t n_ctx, n_vocab, n_chunk;
    eq_token *tokens;     /* n_chunk * n_ctx */
    size_t nv;            /* uint16 per row */
} base_file;

static int read_i32(FILE *f, int32_t *v) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 1;
    *v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    return 0;
}

/* Open and check a base file against the model: header, sizes, token ids, file length. */
static int base_open(const char *path, int n_vocab, base_file *b) {
    memset(b, 0, sizeof *b);
    b->f = fopen(path, "rb");
    if (!b->f) return cli_error("%s: cannot open the base logits file", path);
    char magic[8];
    if (fread(magic, 1, 8, b->f) != 8 || memcmp(magic, "_logits_", 8))
        return cli_error("%s: not a saved-logits file (no \"_logits_\" header)", path);
    if (read_i32(b->f, &b->n_ctx) || read_i32(b->f, &b->n_vocab) || read_i32(b->f, &b->n_chunk))
        return cli_error("%s: truncated header", path);
    if (b->n_ctx < 4 || b->n_ctx > (1 << 22) || b->n_chunk < 1 || b->n_chunk > (1 << 24))
        return cli_error("%s: implausible header (n_ctx %d, %d chunks)", path, b->n_ctx, b->n_chunk);
    if (b->n_vocab != n_vocab)
        return cli_error("%s: saved with a vocabulary of %d tokens, the model has %d", path, b->n_vocab, n_vocab);
    b->nv = 2 * (((size_t)n_vocab + 1) / 2) + 4;
    const size_t n_tok = (size_t)b->n_ctx * (size_t)b->n_chunk;
    const size_t rows = (size_t)(b->n_ctx - 1 - b->n_ctx / 2) * (size_t)b->n_chunk;
    const double want = 20.0 + 4.0 * n_tok + 2.0 * rows * b->nv;
    if (fseek(b->f, 0, SEEK_END)) return cli_error("%s: cannot seek", path);
    const double have = (double)ftell(b->f);
    if (have != want)
        return cli_error("%s: %.0f bytes, but its header (n_ctx %d, n_vocab %d, %d chunks) needs %.0f",
                         path, have, b->n_ctx, b->n_vocab, b->n_chunk, want);
    fseek(b->f, 20, SEEK_SET);
    b->tokens = malloc(n_tok * sizeof *b->tokens);
    if (!b->tokens) return cli_error("%s: out of memory for %zu tokens", path, n_tok);
    for (size_t i = 0; i < n_tok; i++) {
        if (read_i32(b->f, &b->tokens[i])) return cli_error("%s: truncated token list", path);
        if (b->tokens[i] < 0 || b->tokens[i] >= n_vocab)
            return cli_error("%s: token %zu has id %d, outside the vocabulary", path, i, b->tokens[i]);
    }
    return 0;
}

static int write_i32(eq_outfile *f, int32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    return eq_outfile_write(f, b, 4) != 0;
}

/* ---- the command ---------------------------------------------------------------------------- */

int cmd_perplexity(const cli_args *a) {
    const int compare = a->kl_base != NULL;
    if (compare && a->save_logits) return cli_error("perplexity: --kl-base and --save-logits exclude each other");
    if (a->save_logits) {   /* a bad output fails before the work */
        const char *inputs[2] = {a->model, a->prompt_file};
        const eq_outfile_opts oo = {inputs, 2, NULL, NULL};
        char msg[1024];
        if (eq_outfile_check(a->save_logits, &oo, msg, sizeof msg)) return cli_error("%s", msg);
    }
    eq_model *m = cli_load(a, 0);
    if (!m) return 1;
    const int n_vocab = eq_model_n_vocab(m);
    int rc = 1;
    eq_token *tokens = NULL, *chunk = NULL;
    float *logits = NULL;
    uint16_t *rows = NULL;
    char *text = NULL;
    eq_outfile *save = NULL;
    char err[1024];
    eq_ctx *c = NULL;
    base_file base = {0};
    stats st = {0};
    int n_ctx = a->n_ctx ? a->n_ctx : 512, n_chunk = 0;
    size_t n_tok = 0;

    if (compare) {
        if (base_open(a->kl_base, n_vocab, &base)) goto done;
        if (a->n_ctx && a->n_ctx != base.n_ctx)
            fprintf(stderr, "edgeq: %s was saved with -c %d; using that\n", cli_esc(err, sizeof err, a->kl_base), base.n_ctx);
        n_ctx = base.n_ctx;
        n_chunk = base.n_chunk;
        if (a->n_chunks > 0 && a->n_chunks < n_chunk) n_chunk = a->n_chunks;
        tokens = base.tokens;
        base.tokens = NULL;
    } else {
        if (n_ctx < 4) { cli_error("perplexity: -c must be at least 4"); goto done; }
        if (!(text = cli_prompt(a))) goto done;
        size_t len = strlen(text);
        if (a->prompt_file && len && text[len - 1] == '\n') text[--len] = 0;  /* as llama.cpp's -f does */
        int n = 0;
        eq_status s = eq_tokenize(m, text, len, 1, 0, NULL, 0, &n);
        if (s != EQ_OK && s != EQ_ERR_ARG) { cli_error("%s: cannot tokenize the text", a->prompt_file ? a->prompt_file : "prompt"); goto done; }
        tokens = malloc((size_t)(n > 0 ? n : 1) * sizeof *tokens);
        if (!tokens || eq_tokenize(m, text, len, 1, 0, tokens, n, &n)) { cli_error("perplexity: out of memory tokenizing"); goto done; }
        n_tok = (size_t)n;
        if (n_tok < 2 * (size_t)n_ctx) {
            cli_error("perplexity: the text is %zu tokens; at least %d (2 x -c %d) are needed", n_tok, 2 * n_ctx, n_ctx);
            goto done;
        }
        n_chunk = (int)(n_tok / (size_t)n_ctx);
        if (a->n_chunks > 0 && a->n_chunks < n_chunk) n_chunk = a->n_chunks;
    }
    if (n_ctx > eq_model_n_ctx_train(m))
        fprintf(stderr, "edgeq: the model was trained on %d tokens of context (-c %d asked)\n", eq_model_n_ctx_train(m), n_ctx);

    cli_args ca = *a;
    ca.n_ctx = n_ctx;
    if (!ca.n_batch) ca.n_batch = n_ctx < 512 ? n_ctx : 512;
    if (!(c = cli_context(&ca, m))) goto done;

    const int first = n_ctx / 2, n_score = n_ctx - 1 - first;
    chunk = malloc((size_t)n_ctx * sizeof *chunk);
    logits = malloc((size_t)(n_ctx - first) * n_vocab * sizeof *logits);
    const size_t nv = 2 * (((size_t)n_vocab + 1) / 2) + 4;
    if (compare || a->save_logits) rows = malloc((size_t)n_score * nv * sizeof *rows);
    if (compare) {
        st.kld_values = malloc((size_t)n_score * n_chunk * sizeof(float));
        st.p_diff_values = malloc((size_t)n_score * n_chunk * sizeof(float));
    }
    if (!chunk || !logits || ((compare || a->save_logits) && !rows) || (compare && (!st.kld_values || !st.p_diff_values))) {
        cli_error("perplexity: out of memory for %d x %d logits", n_ctx - first, n_vocab);
        goto done;
    }
    if (a->save_logits) {
        /* written under a temporary name, renamed when complete: never a half-written file, and
         * never over the model or the text */
        const char *inputs[2] = {a->model, a->prompt_file};
        const eq_outfile_opts oo = {inputs, 2, cli_on_temp, NULL};
        if (eq_outfile_open(a->save_logits, &oo, &save, err, sizeof err)) { cli_error("%s", err); goto done; }
        int bad = eq_outfile_write(save, "_logits_", 8) || write_i32(save, n_ctx) || write_i32(save, n_vocab) || write_i32(save, n_chunk);
        for (size_t i = 0; !bad && i < (size_t)n_chunk * n_ctx; i++) bad = write_i32(save, tokens[i]);
        if (bad) goto save_failed;
    }

    const eq_token bos = eq_token_bos(m);
    const int add_bos = eq_add_bos(m) && bos >= 0;
    if (!a->json) {
        fprintf(stderr, "perplexity: %d chunks of %d tokens, scoring the last %d of each%s\n", n_chunk, n_ctx, n_score,
                compare ? " against the base logits" : "");
        if (compare)
            printf("chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS            Same top p\n");
    }
    double nll = 0, nll2 = 0, t_start = cli_now();
    long count = 0;
    for (int ch = 0; ch < n_chunk; ch++) {
        memcpy(chunk, tokens + (size_t)ch * n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (add_bos) chunk[0] = bos;
        eq_ctx_truncate(c, 0);
        if (eq_decode_logits(c, chunk, n_ctx, n_ctx - first, logits)) {
            cli_error("%s: decode failed: %s", a->model, eq_ctx_errmsg(c));
            goto done;
        }
        const eq_token *next = tokens + (size_t)ch * n_ctx + first + 1;
        if (compare && fread(rows, sizeof *rows, (size_t)n_score * nv, base.f) != (size_t)n_score * nv) {
            cli_error("%s: truncated at chunk %d", a->kl_base, ch + 1);
            goto done;
        }
        for (int j = 0; j < n_score; j++) {
            const float *l = logits + (size_t)j * n_vocab;
            double v;
            if (compare) {
                row_compare(l, n_vocab, rows + (size_t)j * nv, next[j], &st);
                continue;
            }
            v = save ? row_encode(l, n_vocab, next[j], rows + (size_t)j * nv) : row_nll(l, n_vocab, next[j]);
            nll += v;
            nll2 += v * v;
        }
        if (save && eq_outfile_write(save, rows, (size_t)n_score * nv * sizeof *rows)) goto save_failed;
        count += n_score;
        if (ch == 0 && !a->json)
            fprintf(stderr, "perplexity: %.2f seconds per chunk, about %.1f minutes in all\n", cli_now() - t_start,
                    (cli_now() - t_start) * n_chunk / 60.0);
        if (a->json) continue;
        if (compare) {
            double lp, lpu, lb, lbu, kl, klu, mse, mseu;
            mean_unc(st.nll, st.nll2, st.count, &lp, &lpu);
            mean_unc(st.nll_base, st.nll_base2, st.count, &lb, &lbu);
            mean_unc(st.kld, st.kld2, st.count, &kl, &klu);
            mean_unc(st.p_diff2, st.p_diff4, st.count, &mse, &mseu);
            const double cov = covariance(st.nll, st.nll_base, st.nll_nll_base, st.count);
            const double top = (double)st.same_top / st.count;
            printf("%4d    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%    %6.3f ± %6.3f %%\n",
                   ch + 1, exp(lp), exp(lp) * lpu, lp - lb, sqrt(lpu * lpu + lbu * lbu - 2 * cov), kl, klu,
                   100 * sqrt(mse), 100 * 0.5 / sqrt(mse) * mseu, 100 * top, 100 * sqrt(top * (1 - top) / (st.count - 1)));
        } else {
            printf("[%d]%.4f,", ch + 1, exp(nll / count));
        }
        if (cli_check_stdout()) goto done;
    }
    if (save) {
        eq_outfile *s = save;
        save = NULL;
        if (eq_outfile_commit(s, err, sizeof err)) { cli_error("%s", err); goto done; }
    }

    if (compare) {
        double lp, lpu, lb, lbu, kl, klu, mse, mseu;
        mean_unc(st.nll, st.nll2, st.count, &lp, &lpu);
        mean_unc(st.nll_base, st.nll_base2, st.count, &lb, &lbu);
        mean_unc(st.kld, st.kld2, st.count, &kl, &klu);
        mean_unc(st.p_diff2, st.p_diff4, st.count, &mse, &mseu);
        const double top = (double)st.same_top / st.count;
        if (a->json) {
            printf("{\"n_ctx\": %d, \"chunks\": %d, \"tokens\": %ld, \"ppl\": %.6f, \"ppl_unc\": %.6f, \"ppl_base\": %.6f, "
                   "\"ln_ppl_ratio\": %.6f, \"kld\": %.6f, \"kld_unc\": %.6f, \"same_top\": %.6f, \"rms_dp\": %.6f}\n",
                   n_ctx, n_chunk, st.count, exp(lp), exp(lp) * lpu, exp(lb), lp - lb, kl, klu, top, sqrt(mse));
        } else {
            printf("\n");
            if (st.count >= 100) print_kl_summary(stdout, &st);
            else fprintf(stderr, "edgeq: %ld tokens are too few for the summary statistics (100 needed)\n", st.count);
        }
    } else {
        const double mean = nll / count;
        const double var = nll2 / count - mean * mean;
        const double ppl = exp(mean), unc = var > 0 ? sqrt(var / (count - 1)) * ppl : 0;
        if (a->json)
            printf("{\"n_ctx\": %d, \"chunks\": %d, \"tokens\": %ld, \"ppl\": %.6f, \"ppl_unc\": %.6f}\n", n_ctx, n_chunk, count, ppl, unc);
        else
            printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, unc);
    }
    rc = 0;
    goto done;
save_failed:   /* the commit says why (disk full, ...) and removes the temporary file */
    eq_outfile_commit(save, err, sizeof err);
    save = NULL;
    cli_error("%s", err);
done:
    eq_outfile_abort(save);
    if (base.f) fclose(base.f);
    free(base.tokens);
    free(st.kld_values);
    free(st.p_diff_values);
    free(rows);
    free(logits);
    free(chunk);
    free(tokens);
    free(text);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
