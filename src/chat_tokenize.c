/* Chat prompts to tokens without role spoofing: the template's text may hold control tokens,
 * message contents may not. The prompt is rendered once with the spans its contents occupy
 * (eq_chat_format_spans) and tokenized in one piece, special-token text being recognised only
 * outside those spans (eq_vocab_tokenize_spans). Cutting the text at the content edges instead
 * would change the tokens of ordinary text (BPE merges "\n" with what follows), and the prompt
 * must stay token for token what llama.cpp makes of it. */
#include "chat.h"
#include "models/model.h"

#include <stdlib.h>
#include <string.h>

eq_status eq_chat_tokenize(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n,
                           int add_assistant, int flags, eq_token *out, int cap, int *n_out) {
    return eq_chat_tokenize_marked(m, tmpl_name, msgs, n, add_assistant, flags, -1, out, cap, n_out);
}

eq_status eq_chat_tokenize_marked(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n,
                                  int add_assistant, int flags, int nul_mark, eq_token *out, int cap, int *n_out) {
    if (n_out) *n_out = 0;
    if (!m || !n_out || n < 0 || (n > 0 && !msgs) || cap < 0 || (!out && cap > 0)
        || (flags & ~EQ_CHAT_SPECIAL_IN_CONTENT)) return EQ_ERR_ARG;
    const char *family = tmpl_name ? tmpl_name : eq_chat_template_name(m);
    if (!family) family = "chatml";   /* as eq_chat_apply: llama.cpp's fallback */
    if (!eq_chat_known(family)) return EQ_ERR_UNSUPPORTED;

    /* a first guess from the texts' sizes (capped: the exact size comes back when it is short) */
    const size_t guess_max = (size_t)1 << 24;
    size_t cap_text = 256, cap_spans = (size_t)n + 1;
    for (int i = 0; i < n && cap_text < guess_max; i++) {
        if (!msgs[i].content || !msgs[i].role) continue;   /* refused by the formatter */
        size_t a = strlen(msgs[i].content) + strlen(msgs[i].role) + 64;
        cap_text = a < guess_max - cap_text ? cap_text + a : guess_max;
    }
    char *text = NULL;
    eq_text_span *spans = NULL;
    size_t len = 0, n_spans = 0;
    eq_status st = EQ_ERR_ARG;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(text);
        free(spans);
        text = malloc(cap_text);
        spans = malloc(cap_spans * sizeof *spans);
        if (!text || !spans) { st = EQ_ERR_NOMEM; break; }
        st = eq_chat_format_spans(family, msgs, n, add_assistant, text, cap_text, &len, spans, cap_spans, &n_spans);
        if (st != EQ_ERR_ARG || (len < cap_text && n_spans <= cap_spans)) break;   /* done, or a real error */
        if (len >= cap_text) cap_text = len + 1;
        if (n_spans > cap_spans) cap_spans = n_spans;
    }
    if (st == EQ_OK && nul_mark >= 0)   /* the contents' NUL characters, back from C strings */
        for (size_t k = 0; k < n_spans; k++)
            for (size_t i = spans[k].off; i < spans[k].off + spans[k].len && i < len; i++)
                if ((unsigned char)text[i] == (unsigned char)nul_mark) text[i] = 0;
    if (st == EQ_OK) {
        int keep_plain = !(flags & EQ_CHAT_SPECIAL_IN_CONTENT);
        st = eq_vocab_tokenize_spans(m->vocab, text, len, 1, 1, keep_plain ? spans : NULL,
                                     keep_plain ? n_spans : 0, out, cap, n_out);
    }
    free(text);
    free(spans);
    return st;
}
