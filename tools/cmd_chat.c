/* edgeq chat: interactive multi-turn chat with the model's template. Each turn formats the
 * whole conversation, keeps the cached prefix that still matches and decodes only the rest. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static char *read_line(FILE *f) {
    size_t cap = 256, n = 0;
    char *b = malloc(cap);
    int ch;
    if (!b) return NULL;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); return NULL; }
            b = nb;
            cap *= 2;
        }
        b[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) { free(b); return NULL; }
    if (n && b[n - 1] == '\r') n--;
    b[n] = 0;
    return b;
}

/* The conversation's prompt tokens (special tokens parsed only in the template's text, so a
 * typed "<|im_end|>" stays text); the count, or -1 after printing the error. */
static int chat_tokens(eq_model *m, const eq_chat_msg *msgs, int n, eq_token **out) {
    int cap = 1024, need = 0;
    eq_token *ids = malloc((size_t)cap * sizeof *ids);
    eq_status st = ids ? eq_chat_tokenize(m, NULL, msgs, n, 1, 0, ids, cap, &need) : EQ_ERR_NOMEM;
    if (st == EQ_ERR_ARG && need > cap) {
        free(ids);
        cap = need;
        ids = malloc((size_t)cap * sizeof *ids);
        st = ids ? eq_chat_tokenize(m, NULL, msgs, n, 1, 0, ids, cap, &need) : EQ_ERR_NOMEM;
    }
    if (st) { free(ids); cli_error("cannot build the chat prompt: %s", eq_status_str(st)); return -1; }
    *out = ids;
    return need;
}

/* Generate a reply after the conversation's tokens, keeping the cache's prefix that still
 * matches: each token's bytes go to stdout as they are and into *reply (malloc'd). Returns 0 or
 * 1 (error printed). */
static int reply_to(const cli_args *a, eq_ctx *c, const eq_token *ids, int n, char **reply) {
    eq_gen_params gp = eq_gen_default_params();
    gp.sp = a->sp;
    gp.max_tokens = a->n_predict;
    gp.reuse_prefix = 1;
    gp.raw_bytes = 1;
    eq_gen *g = NULL;
    char err[256];
    if (eq_gen_start(c, ids, n, &gp, &g, err, sizeof err)) return cli_error("%s", err);
    size_t rlen = 0;
    int rc = 0, done = 0;
    while (!done && !rc) {
        const char *text;
        size_t len;
        if (eq_gen_step(g, &text, &len, &done)) { rc = cli_error("decode failed: %s", eq_gen_errmsg(g)); break; }
        if (!len) continue;
        if (cli_write_text(stdout, text, len)) { rc = 1; break; }
        char *nb = realloc(*reply, rlen + len + 1);
        if (!nb) { rc = cli_error("out of memory"); break; }
        memcpy(nb + rlen, text, len);
        rlen += len;
        nb[rlen] = 0;
        *reply = nb;
    }
    if (!rc && eq_gen_finish_reason(g) == EQ_FINISH_LENGTH && eq_ctx_n_past(c) >= eq_ctx_n_ctx(c))
        fprintf(stderr, "\nedgeq: context full (%d tokens), stopping\n", eq_ctx_n_ctx(c));
    eq_gen_free(g);
    return rc;
}

int cmd_chat(const cli_args *a) {
    eq_model *m = cli_load(a, 0);
    if (!m) return 1;
    eq_ctx *c = cli_context(a, m);
    eq_sampler *probe = NULL;   /* bad options fail up front */
    char err[256];
    if (c && eq_sampler_new(&a->sp, eq_model_n_vocab(m), &probe, err, sizeof err)) cli_error("sampling: %s", err);
    if (!probe) { eq_ctx_free(c); eq_model_free(m); return 1; }
    eq_sampler_free(probe);
    const char *tmpl = eq_chat_template_name(m);
    char path[1024];
    fprintf(stderr, "edgeq: chatting with %s (template: %s). Empty line or Ctrl-D ends.\n", cli_esc(path, sizeof path, a->model),
            tmpl ? tmpl : "chatml (default)");
    eq_chat_msg *msgs = NULL;
    char **owned = NULL;  /* message texts we allocated */
    int n_msgs = 0, rc = 0;
    if (a->system) {
        msgs = malloc(sizeof *msgs);
        if (!msgs) { eq_ctx_free(c); eq_model_free(m); return cli_error("out of memory"); }
        msgs[n_msgs++] = (eq_chat_msg){"system", a->system};
    }
    for (;;) {
        fprintf(stderr, "> ");
        fflush(stderr);
        char *line = read_line(stdin);
        if (!line || !line[0]) { free(line); break; }
        eq_chat_msg *nm = realloc(msgs, (size_t)(n_msgs + 2) * sizeof *msgs);
        if (nm) msgs = nm;
        char **no = nm ? realloc(owned, (size_t)(n_msgs + 2) * sizeof *owned) : NULL;
        if (!nm || !no) { free(line); rc = cli_error("out of memory"); break; }
        owned = no;
        owned[n_msgs] = line;
        msgs[n_msgs++] = (eq_chat_msg){"user", line};
        eq_token *ids = NULL;
        int n = chat_tokens(m, msgs, n_msgs, &ids);
        if (n < 0) { rc = 1; break; }
        if (n >= eq_ctx_n_ctx(c)) {
            free(ids);
            rc = cli_error("the conversation (%d tokens) no longer fits the context (%d); start again with a larger -c", n, eq_ctx_n_ctx(c));
            break;
        }
        /* the next turn re-tokenizes the whole conversation; the cache keeps what still matches */
        char *reply = NULL;
        int g = reply_to(a, c, ids, n, &reply);
        free(ids);
        printf("\n");
        if (g || cli_check_stdout()) { free(reply); rc = 1; break; }
        char *r = reply ? reply : calloc(1, 1);
        owned[n_msgs] = r;
        msgs[n_msgs] = (eq_chat_msg){"assistant", r ? r : ""};
        n_msgs++;
    }
    for (int i = 0; i < n_msgs; i++) if (!(a->system && i == 0)) free(owned[i]);
    free(owned);
    free(msgs);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
