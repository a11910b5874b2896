/* Chat templates: the family is recognised from tokenizer.chat_template (a Jinja string we do
 * not execute); each family's format is written out in C, as llama_chat_apply_template does. */
#ifndef EQ_CHAT_H
#define EQ_CHAT_H

#include "edgeq.h"
#include "text_span.h"

/* Family name ("chatml", "llama3", "phi3", "gemma", "zephyr", "llama2", ...) or NULL. */
const char *eq_chat_detect(const char *jinja_template);
/* 1 if name is a family eq_chat_format knows. */
int eq_chat_known(const char *family);
/* Same buffer contract as eq_chat_apply in edgeq.h. */
eq_status eq_chat_format(const char *family, const eq_chat_msg *msgs, int n, int add_assistant,
                         char *buf, size_t cap, size_t *n_out);
/* eq_chat_format that also lists which bytes of the prompt are message contents (in order, not
 * overlapping, never empty; contents written back to back make one span): at most span_cap go
 * to spans, *n_spans gets the count (at most n). EQ_ERR_ARG, as for the buffer, when either
 * is too small. Roles are template text: a template may build control tokens from them
 * ("<|" + role + "|>"), and a role is the caller's choice, not user text. */
eq_status eq_chat_format_spans(const char *family, const eq_chat_msg *msgs, int n, int add_assistant,
                               char *buf, size_t cap, size_t *n_out,
                               eq_text_span *spans, size_t span_cap, size_t *n_spans);

/* eq_chat_tokenize for callers whose contents carry NUL characters through C strings as the
 * byte nul_mark (the edge mode: 0xFF, never in valid UTF-8): inside content spans that byte is
 * tokenized as NUL. nul_mark -1: none. */
eq_status eq_chat_tokenize_marked(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n,
                                  int add_assistant, int flags, int nul_mark, eq_token *out, int cap, int *n_out);

#endif
