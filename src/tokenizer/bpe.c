/* Byte-level BPE ("gpt2" vocabularies), as llama.cpp runs it: the pre-tokenizer splits text
 * into words; within each word adjacent pieces merge by lowest merge rank (leftmost on ties)
 * until none applies; pieces that are not tokens fall back to single-byte tokens. */
#include "tokenizer/vocab_impl.h"
#include "tokenizer/unicode.h"

#include <stdlib.h>
#include <string.h>

static void try_pair(const eq_vocab *v, const char *w, const eq_sym *s, int l, int r, eq_bigram_heap *h) {
    if (l < 0 || r < 0) return;
    int rank = eq_vocab_merge_rank(v, w + s[l].start, s[l].n, w + s[r].start, s[r].n);
    if (rank < 0) return;
    eq_bigram b = { -(float)rank, l, r, s[l].n + s[r].n };  /* lower rank first */
    eq_bigram_push(h, b);
}

static void emit_piece(const eq_vocab *v, const char *p, size_t n, eq_tokbuf *out) {
    eq_token t = eq_vocab_find(v, p, n);
    if (t >= 0) { eq_tokbuf_push(out, t); return; }
    for (size_t j = 0; j < n; j++) {
        eq_token bt;
        if (v->byte_encode) {
            /* llama.cpp looks up each byte of the encoded piece as a one-byte token: only
             * printable ASCII can match, anything else is dropped */
            bt = eq_vocab_find(v, p + j, 1);
        } else {
            bt = eq_vocab_byte_token(v, (uint8_t)p[j]);
        }
        if (bt >= 0) eq_tokbuf_push(out, bt);
    }
}

static void merge_word(const eq_vocab *v, const char *w, size_t n, eq_sym *s, eq_bigram_heap *h, eq_tokbuf *out) {
    if (n == 0) return;
    if (v->ignore_merges && eq_vocab_find(v, w, n) >= 0) { emit_piece(v, w, n, out); return; }
    int ns = 0;
    for (size_t off = 0; off < n;) {
        size_t l = eq_utf8_len((uint8_t)w[off]);
        if (l > n - off) l = n - off;
        s[ns].start = off;
        s[ns].n = l;
        s[ns].prev = ns - 1;
        off += l;
        s[ns].next = off == n ? -1 : ns + 1;
        ns++;
    }
    h->n = 0;
    for (int i = 1; i < ns; i++) try_pair(v, w, s, i - 1, i, h);
    while (h->n > 0 && !h->oom) {
        eq_bigram b = eq_bigram_pop(h);
        eq_sym *l = &s[b.left], *r = &s[b.right];
        /* stale: one side was merged away or grew since the pair was queued */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s[r->next].prev = b.left;
        try_pair(v, w, s, l->prev, b.left, h);
        try_pair(v, w, s, b.left, l->next, h);
    }
    if (h->oom) { out->oom = 1; return; }
    for (int i = 0; i != -1; i = s[i].next) emit_piece(v, w + s[i].start, s[i].n, out);
}

eq_status eq_bpe_tokenize(const eq_vocab *v, const char *text, size_t n, eq_tokbuf *out) {
    eq_words w = { 0 };
    char *esc = NULL;
    if (v->escape_whitespace) {   /* SPM-style BPE: ' ' -> U+2581 */
        size_t k = 0;
        esc = malloc(n * 3 + 1);
        if (!esc) return EQ_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            if (text[i] == ' ') { memcpy(esc + k, "\xe2\x96\x81", 3); k += 3; }
            else esc[k++] = text[i];
        }
        text = esc;
        n = k;
    }
    eq_status st = eq_pretok_split(v->pre, text, n, &w);
    if (st == EQ_OK) {
        size_t maxw = 0, start = 0;
        for (size_t i = 0; i < w.n; i++) {
            if (w.end[i] - start > maxw) maxw = w.end[i] - start;
            start = w.end[i];
        }
        eq_sym *s = malloc((maxw + 1) * sizeof *s);
        eq_bigram_heap h = { 0 };
        if (!s) st = EQ_ERR_NOMEM;
        start = 0;
        for (size_t i = 0; s && i < w.n && !out->oom; i++) {
            merge_word(v, (const char *)w.buf + start, w.end[i] - start, s, &h, out);
            start = w.end[i];
        }
        free(s);
        free(h.v);
        if (out->oom) st = EQ_ERR_NOMEM;
    }
    eq_words_free(&w);
    free(esc);
    return st;
}
