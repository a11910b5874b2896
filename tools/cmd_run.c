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

/* Generate after the prompt, printing each token's bytes as they are, like llama.cpp's tools
 * (a terminal joins split UTF-8 itself). Returns 0 or 1 (error printed). */
static int generate(const cli_args *a, eq_model *m, eq_ctx *c, const eq_token *ids, int n) {
    eq_gen_params gp = eq_gen_default_params();
    gp.sp = a->sp;
    gp.max_tokens = a->n_predict;
    gp.special = a->special;
    gp.raw_bytes = 1;
    eq_gen *g = NULL;
    char err[256];
    if (eq_gen_start(c, ids, n, &gp, &g, err, sizeof err)) return cli_error("%s", err);
    int rc = 0, done = 0, logits_done = !a->logits_out;
    eq_gen_stats gs;
    while (!done && !rc) {
        const char *text;
        size_t len;
        eq_status st = eq_gen_step(g, &text, &len, &done);
        eq_gen_stats_get(g, &gs);
        if (st) {
            rc = gs.n_evaluated < gs.n_prompt ? cli_error("%s: %s", a->model, eq_gen_errmsg(g))
                                              : cli_error("decode failed: %s", eq_gen_errmsg(g));
            break;
        }
        /* the prompt's logits, still in the context until the first sampled token is evaluated */
        if (!logits_done && gs.n_evaluated == gs.n_prompt) {
            logits_done = 1;
            if ((rc = write_logits(a, eq_ctx_logits(c), eq_model_n_vocab(m)))) break;
        }
        if (len && cli_write_text(stdout, text, len)) rc = 1;
    }
    if (!rc && eq_gen_finish_reason(g) == EQ_FINISH_LENGTH && eq_ctx_n_past(c) >= eq_ctx_n_ctx(c))
        fprintf(stderr, "\nedgeq: context full (%d tokens), stopping\n", eq_ctx_n_ctx(c));
    if (!rc)
        fprintf(stderr, "\nedgeq: prompt %d tokens in %.3f s (%.1f t/s), generated %d tokens in %.3f s (%.1f t/s)\n", n,
                gs.t_prompt, n / (gs.t_prompt > 0 ? gs.t_prompt : 1e-9), gs.n_gen, gs.t_gen,
                gs.n_gen / (gs.t_gen > 0 ? gs.t_gen : 1e-9));
    eq_gen_free(g);
    return rc;
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
    eq_token *ids = NULL;
    int rc = 1, n = c ? cli_tokenize(m, prompt, !a->no_bos, !a->no_parse_special, &ids) : -1;
    if (n == 0) cli_error("the prompt is empty");
    if (n > 0 && n >= eq_ctx_n_ctx(c))
        cli_error("%s: the prompt is %d tokens, the context only %d (use -c)", a->model, n, eq_ctx_n_ctx(c));
    else if (n > 0)
        rc = generate(a, m, c, ids, n);
    free(ids);
    free(prompt);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
