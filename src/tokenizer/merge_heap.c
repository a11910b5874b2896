/* The priority queue both BPE flavours merge with: highest key first, the leftmost pair on
 * ties (SPM keys are token scores, byte-level BPE keys are negated merge ranks). */
#include "tokenizer/vocab_impl.h"

#include <stdlib.h>

static int before(const eq_bigram *a, const eq_bigram *b) {
    return a->key > b->key || (a->key == b->key && a->left < b->left);
}

void eq_bigram_push(eq_bigram_heap *h, eq_bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        eq_bigram *nv = realloc(h->v, cap * sizeof *nv);
        if (!nv) { h->oom = 1; return; }
        h->v = nv;
        h->cap = cap;
    }
    size_t i = h->n++;
    h->v[i] = b;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&h->v[i], &h->v[p])) break;
        eq_bigram t = h->v[i]; h->v[i] = h->v[p]; h->v[p] = t;
        i = p;
    }
}

eq_bigram eq_bigram_pop(eq_bigram_heap *h) {
    eq_bigram top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && before(&h->v[l], &h->v[m])) m = l;
        if (r < h->n && before(&h->v[r], &h->v[m])) m = r;
        if (m == i) break;
        eq_bigram t = h->v[i]; h->v[i] = h->v[m]; h->v[m] = t;
        i = m;
    }
    return top;
}

