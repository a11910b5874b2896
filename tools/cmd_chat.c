/* edgeq chat: interactive multi-turn chat with the model's template. Each turn formats the
 * whole conversation, keeps the cached prefix that still matches and decodes only the rest. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_generate(eq_ctx *c, eq_model *m, eq_sampler *s, int n_max, int special, FILE *out, char **collect,
                 double *t_gen, eq_token **toks, int *n_toks);

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

int cmd_chat(const cli_args *a) {
    eq_model *m = cli_load(a, 0);
    if (!m) return 1;
    eq_ctx *c = cli_context(a, m);
    eq_sampler *s = NULL;
    char err[256];
    if (c && eq_sampler_new(&a->sp, eq_model_n_vocab(m), &s, err, sizeof err)) cli_error("sampling: %s", err);
    if (!s) { eq_ctx_free(c); eq_model_free(m); return 1; }
    const char *tmpl = eq_chat_template_name(m);
    char path[1024];
    fprintf(stderr, "edgeq: chatting with %s (template: %s). Empty line or Ctrl-D ends.\n", cli_esc(path, sizeof path, a->model),
            tmpl ? tmpl : "chatml (default)");
    eq_chat_msg *msgs = NULL;
    char **owned = NULL;  /* message texts we allocated */
    int n_msgs = 0;
    eq_token *cached = NULL;  /* tokens in the KV cache */
    int n_cached = 0, rc = 0;
    if (a->system) {
        msgs = malloc(sizeof *msgs);
        msgs[n_msgs++] = (eq_chat_msg){"system", a->system};
    }
    for (;;) {
        fprintf(stderr, "> ");
        fflush(stderr);
        char *line = read_line(stdin);
        if (!line || !line[0]) { free(line); break; }
        eq_chat_msg *nm = realloc(msgs, (size_t)(n_msgs + 2) * sizeof *msgs);
        char **no = realloc(owned, (size_t)(n_msgs + 2) * sizeof *owned);
        if (!nm || !no) { free(line); rc = cli_error("out of memory"); break; }
        msgs = nm; owned = no;
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
        int keep = 0;
        while (keep < n_cached && keep < n - 1 && cached[keep] == ids[keep]) keep++;
        eq_ctx_truncate(c, keep);
        eq_status st = eq_decode(c, ids + keep, n - keep);
        free(cached);
        cached = ids;
        n_cached = n;
        if (st) { rc = cli_error("decode failed: %s", eq_ctx_errmsg(c)); break; }
        char *reply = NULL;
        eq_sampler_reset(s);
        int g = cli_generate(c, m, s, a->n_predict, 0, stdout, &reply, NULL, &cached, &n_cached);
        printf("\n");
        if (g < 0 || cli_check_stdout()) { free(reply); rc = 1; break; }
        /* `cached` now holds prompt + reply, all but the last reply token decoded: the next turn
         * re-tokenizes the whole conversation and decodes only where it differs */
        if (n_cached > eq_ctx_n_past(c)) n_cached = eq_ctx_n_past(c);
        char *r = reply ? reply : calloc(1, 1);
        owned[n_msgs] = r;
        msgs[n_msgs] = (eq_chat_msg){"assistant", r ? r : ""};
        n_msgs++;
    }
    for (int i = 0; i < n_msgs; i++) if (!(a->system && i == 0)) free(owned[i]);
    free(owned);
    free(msgs);
    free(cached);
    eq_sampler_free(s);
    eq_ctx_free(c);
    eq_model_free(m);
    return rc;
}
