/* edgeq run: complete a prompt. Only the generated text goes to stdout. */
#include "cli.h"
#include "runtime/outfile.h"

#include <stdlib.h>
#include <string.h>

/* Tokenize with a growing buffer; returns the count or -1 (error printed). */
int cli_tokenize(eq_model *m, const char *text, int add_special, int parse_special, eq_token **out) {
    int cap = (int)strlen(text) + 16, n = 0;
    eq_token *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) { cli_error("out of memory"); return -1; }
    eq_status st = eq_tokenize(m, text, strlen(text), add_special, parse_special, ids, cap, &n);
    if (st == EQ_ERR_ARG && n > cap) {
        eq_token *nb = realloc(ids, (size_t)n * sizeof *ids);
        if (!nb) { free(ids); cli_error("out of memory"); return -1; }
        ids = nb;
        cap = n;
        st = eq_tokenize(m, text, strlen(text), add_special, parse_special, ids, cap, &n);
    }
    if (st) { free(ids); cli_error("tokenization failed: %s", eq_status_str(st)); return -1; }
    *out = ids;
    return n;
}

/* Returns non-zero when the text could not be written (reported). */
static int emit(FILE *out, char **collect, size_t *clen, const char *piece, int k) {
    if (k <= 0) return 0;
    if (cli_write_text(out, piece, (size_t)k)) return 1;
    if (!collect) return 0;
    char *nb = realloc(*collect, *clen + (size_t)k + 1);
    if (!nb) return 0;
    memcpy(nb + *clen, piece, (size_t)k);
    *clen += (size_t)k;
    nb[*clen] = 0;
    *collect = nb;
    return 0;
}

/* Sample and print up to n_max tokens after what is in the context. Each token's bytes go out
 * as they are, like llama.cpp's tools print them (a terminal joins split UTF-8 itself; the
 * library's eq_detok is for callers that need whole characters). When collect is non-NULL the
 * text is also appended to *collect (malloc'd). Returns tokens generated or -1. */
int cli_generate(eq_ctx *c, eq_model *m, eq_sampler *s, int n_max, int special, FILE *out, char **collect,
                 double *t_gen, eq_token **toks, int *n_toks) {
    /* a token's text has no size limit: the buffer grows to the longest piece seen */
    int pcap = 256;
    char *piece = malloc((size_t)pcap);
    if (!piece) { cli_error("out of memory"); return -1; }
    size_t clen = 0;
    int n = 0;
    double t0 = cli_now();
    while (n_max < 0 || n < n_max) {
        const float *logits = eq_ctx_logits(c);
        eq_token t = eq_sampler_sample(s, logits);
        eq_sampler_accept(s, t);
        if (eq_token_is_eog(m, t)) break;
        int k = eq_token_to_piece(m, t, special, piece, pcap);
        if (k > pcap) {
            char *nb = realloc(piece, (size_t)k);
            if (!nb) { free(piece); cli_error("out of memory"); return -1; }
            piece = nb;
            pcap = k;
            k = eq_token_to_piece(m, t, special, piece, pcap);
        }
        if (emit(out, collect, &clen, piece, k)) { free(piece); return -1; }
        n++;
        if (toks) {  /* the caller tracks what is in the cache */
            eq_token *nt = realloc(*toks, (size_t)(*n_toks + 1) * sizeof *nt);
            if (nt) { nt[(*n_toks)++] = t; *toks = nt; }
        }
        if (eq_ctx_n_past(c) >= eq_ctx_n_ctx(c)) {
            fprintf(stderr, "\nedgeq: context full (%d tokens), stopping\n", eq_ctx_n_ctx(c));
            break;
        }
        eq_status st = eq_decode(c, &t, 1);
        if (st) { free(piece); cli_error("decode failed: %s", eq_ctx_errmsg(c)); return -1; }
    }
    free(piece);
    if (t_gen) *t_gen = cli_now() - t0;
    return n;
}

/* --logits-out: a temporary file renamed when complete, so never a truncated file, and never
 * written over the model or the prompt file. */
static int write_logits(const cli_args *a, const float *logits, int n_vocab) {
    const char *inputs[2] = {a->model, a->prompt_file};
    const eq_outfile_opts oo = {inputs, 2, cli_on_temp, NULL};
    eq_outfile *f = NULL;
    char err[1024];
    eq_status st = eq_outfile_open(a->logits_out, &oo, &f, err, sizeof err);
    if (!st) {
        eq_outfile_write(f, logits, (size_t)n_vocab * sizeof *logits);   /* a failure is the commit's to report */
        st = eq_outfile_commit(f, err, sizeof err);
    }
    return st ? cli_error("%s", err) : 0;
}

int cmd_run(const cli_args *a) {
    if (a->logits_out) {   /* a bad --logits-out fails before the work */
        const char *inputs[2] = {a->model, a->prompt_file};
        const eq_outfile_opts oo = {inputs, 2, NULL, NULL};
        char err[1024];
        if (eq_outfile_check(a->logits_out, &oo, err, sizeof err)) return cli_error("%s", err);
    }
    char *prompt = cli_prompt(a);
    if (!prompt) return 1;
    eq_model *m = cli_load(a, 0);
    if (!m) { free(prompt); return 1; }
    eq_ctx *c = cli_context(a, m);
    eq_sampler *s = NULL;
    char err[256];
    if (c && eq_sampler_new(&a->sp, eq_model_n_vocab(m), &s, err, sizeof err)) cli_error("sampling: %s", err);
    eq_token *ids = NULL;
    int rc = 1, n = -1;
    if (s) n = cli_tokenize(m, prompt, !a->no_bos, !a->no_parse_special, &ids);
    if (n == 0) cli_error("the prompt is empty");
    if (n > 0 && n >= eq_ctx_n_ctx(c)) {
        cli_error("%s: the prompt is %d tokens, the context only %d (use -c)", a->model, n, eq_ctx_n_ctx(c));
        n = -1;
    }
    if (n > 0) {
        double t0 = cli_now();
        eq_status st = eq_decode(c, ids, n);
        double t_prompt = cli_now() - t0;
        if (st) {
            cli_error("%s: %s", a->model, eq_ctx_errmsg(c));
        } else {
            for (int i = 0; i < n; i++) eq_sampler_accept(s, ids[i]);
            rc = 0;
            if (a->logits_out) rc = write_logits(a, eq_ctx_logits(c), eq_model_n_vocab(m));
            double t_gen = 0;
            int g = rc ? 0 : cli_generate(c, m, s, a->n_predict, a->special, stdout, NULL, &t_gen, NULL, NULL);
            if (g < 0) rc = 1;
            if (!rc)
                fprintf(stderr, "\nedgeq: prompt %d tokens in %.3f s (%.1f t/s), generated %d tokens in %.3f s (%.1f t/s)\n", n,
                        t_prompt, n / (t_prompt > 0 ? t_prompt : 1e-9), g, t_gen, g / (t_gen > 0 ? t_gen : 1e-9));
        }
    }
    free(ids);
    free(prompt);
    eq_sampler_free(s);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
