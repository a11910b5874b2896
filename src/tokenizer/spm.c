/* SentencePiece-style BPE ("llama" vocabularies), as llama.cpp runs it: start from UTF-8
 * characters, repeatedly merge the adjacent pair whose concatenation is the highest-scoring
 * token (leftmost on ties), then emit tokens, falling back to bytes for unknown pieces. */
#include "tokenizer/vocab_impl.h"
#include "tokenizer/unicode.h"

#include <stdlib.h>

static void try_pair(const eq_vocab *v, const char *text, const eq_sym *s, int l, int r, eq_bigram_heap *h) {
    if (l < 0 || r < 0) return;
    size_t n = s[l].n + s[r].n;
    eq_token t = eq_vocab_find(v, text + s[l].start, n);
    if (t < 0) return;
    eq_bigram b = { v->score[t], l, r, n };
    eq_bigram_push(h, b);
}

void eq_spm_tokenize(const eq_vocab *v, const char *text, size_t n, eq_tokbuf *out) {
    if (n == 0) return;
    eq_sym *s = malloc(n * sizeof *s);
    eq_bigram_heap h = { 0 };
    if (!s) { out->oom = 1; return; }
    int ns = 0;
    for (size_t off = 0; off < n;) {
        size_t l = eq_utf8_len((uint8_t)text[off]);
        if (l > n - off) l = n - off;
        s[ns].start = off;
        s[ns].n = l;
        s[ns].prev = ns - 1;
        off += l;
        s[ns].next = off == n ? -1 : ns + 1;
        ns++;
    }
    for (int i = 1; i < ns; i++) try_pair(v, text, s, i - 1, i, &h);
    while (h.n > 0 && !h.oom) {
        eq_bigram b = eq_bigram_pop(&h);
        eq_sym *l = &s[b.left], *r = &s[b.right];
        /* stale: one side was merged away or grew since the pair was queued */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        try_pair(v, text, s, l->prev, b.left, &h);
        try_pair(v, text, s, b.left, l->next, &h);
    }
    if (h.oom) out->oom = 1;
    for (int i = 0; i != -1 && !out->oom; i = s[i].next) {
        eq_token t = eq_vocab_find(v, text + s[i].start, s[i].n);
        if (t >= 0) { eq_tokbuf_push(out, t); continue; }
        /* merged pieces are always tokens, so this is an unknown single character */
        for (size_t j = 0; j < s[i].n; j++) {
            eq_token bt = eq_vocab_byte_token(v, (uint8_t)text[s[i].start + j]);
            if (bt < 0) bt = v->unk;
            if (bt >= 0) eq_tokbuf_push(out, bt);
        }
    }
    free(h.v);
    free(s);
}
