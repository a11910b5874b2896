/* Text -> tokens (eq_vocab_tokenize): special-token text is cut out first (llama.cpp's
 * tokenizer_st_partition), the fragments between go to the model's tokenizer (spm.c, bpe.c).
 * Apart from vocab.c so that the tokenizers, which look tokens up there, are not called
 * back from it. */
#include "tokenizer/vocab_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct { size_t off, len; eq_token tok; } frag;   /* tok -1: raw text */
typedef struct { frag *v; size_t n, cap; } frags;

static int frag_push(frags *f, size_t off, size_t len, eq_token tok) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *nv = realloc(f->v, cap * sizeof *nv);
        if (!nv) return -1;
        f->v = nv;
        f->cap = cap;
    }
    f->v[f->n].off = off;
    f->v[f->n].len = len;
    f->v[f->n].tok = tok;
    f->n++;
    return 0;
}

static int is_space_c(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0 || nn > hn) return NULL;
    const char *end = h + hn - nn + 1;
    for (const char *p = h; p < end;) {
        p = memchr(p, (unsigned char)nd[0], (size_t)(end - p));
        if (!p) return NULL;
        if (!memcmp(p, nd, nn)) return p;
        p++;
    }
    return NULL;
}

/* 1 if [off, off + n) overlaps one of the sorted, disjoint spans (empty ones overlap nothing) */
static int hits_span(const eq_text_span *sp, size_t n_sp, size_t off, size_t n) {
    size_t lo = 0, hi = n_sp;   /* the first span ending after off */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp[mid].off + sp[mid].len <= off) lo = mid + 1; else hi = mid;
    }
    for (; lo < n_sp && sp[lo].off < off + n; lo++)
        if (sp[lo].len > 0) return 1;
    return 0;
}

/* Cut special-token text out of the raw fragments, one special token at a time, longest
 * first (llama.cpp's tokenizer_st_partition). Control and unknown tokens are only matched when
 * parse_special, and never where they would overlap a `plain` span; user-defined ones always
 * are (as with parse_special off). */
static int partition(const eq_vocab *v, const char *text, size_t len, int parse_special,
                     const eq_text_span *plain, size_t n_plain, frags *f) {
    frags g = { 0 };
    if (frag_push(f, 0, len, -1)) return -1;
    for (int s = 0; s < v->n_special; s++) {
        eq_token id = v->special[s];
        uint16_t a = v->attr[id];
        if (!parse_special && (a & (EQ_ATTR_CONTROL | EQ_ATTR_UNKNOWN))) continue;
        const char *st = v->text + v->off[id];
        size_t sl = v->len[id];
        int guarded = n_plain > 0 && (a & (EQ_ATTR_CONTROL | EQ_ATTR_UNKNOWN));
        g.n = 0;
        for (size_t i = 0; i < f->n; i++) {
            frag fr = f->v[i];
            if (fr.tok >= 0) { if (frag_push(&g, fr.off, fr.len, fr.tok)) goto oom; continue; }
            size_t base = fr.off, blen = fr.len, from = base;   /* from: where the search goes on */
            for (;;) {
                const char *m = find_bytes(text + from, base + blen - from, st, sl);
                if (!m) {
                    if (blen > 0 && frag_push(&g, base, blen, -1)) goto oom;
                    break;
                }
                size_t mo = (size_t)(m - text);
                if (guarded && hits_span(plain, n_plain, mo, sl)) { from = mo + 1; continue; }
                size_t left = mo - base;
                if (a & EQ_ATTR_LSTRIP)
                    while (left > 0 && is_space_c(text[base + left - 1])) left--;
                if (left > 0 && frag_push(&g, base, left, -1)) goto oom;
                if (frag_push(&g, mo, sl, id)) goto oom;
                size_t roff = mo + sl, rlen = base + blen - roff;
                if (a & EQ_ATTR_RSTRIP)
                    while (rlen > 0 && is_space_c(text[roff])) { roff++; rlen--; }
                base = from = roff;
                blen = rlen;
                if (blen == 0) break;
            }
        }
        frags t = *f; *f = g; g = t;
    }
    free(g.v);
    return 0;
oom:
    free(g.v);
    return -1;
}

eq_status eq_vocab_tokenize(const eq_vocab *v, const char *text, size_t len, int add_special,
                            int parse_special, eq_token *out, int cap, int *n_out) {
    return eq_vocab_tokenize_spans(v, text, len, add_special, parse_special, NULL, 0, out, cap, n_out);
}

eq_status eq_vocab_tokenize_spans(const eq_vocab *v, const char *text, size_t len, int add_special,
                                  int parse_special, const eq_text_span *plain, size_t n_plain,
                                  eq_token *out, int cap, int *n_out) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (!text && len) || cap < 0 || (!out && cap > 0) || (n_plain && !plain)) return EQ_ERR_ARG;
    for (size_t i = 0; i < n_plain; i++)   /* sorted, disjoint, inside the text */
        if (plain[i].off > len || plain[i].len > len - plain[i].off
            || (i > 0 && plain[i].off < plain[i - 1].off + plain[i - 1].len)) return EQ_ERR_ARG;
    eq_tokbuf b = { 0 };
    frags f = { 0 };
    eq_status st = EQ_OK;
    if (len > 0 && partition(v, text, len, parse_special, plain, n_plain, &f)) { st = EQ_ERR_NOMEM; goto done; }
    if (add_special && v->add_bos && v->bos >= 0) eq_tokbuf_push(&b, v->bos);
    if (v->type == EQ_VOCAB_SPM) {
        int prev_special = 1;   /* the first fragment gets the space prefix */
        char *buf = NULL;
        size_t bcap = 0;
        for (size_t i = 0; i < f.n && !b.oom; i++) {
            if (f.v[i].tok >= 0) { eq_tokbuf_push(&b, f.v[i].tok); prev_special = 1; continue; }
            /* ' ' -> U+2581, with a leading one when asked */
            size_t need = f.v[i].len * 3 + 3;
            if (need > bcap) {
                char *nb = realloc(buf, need);
                if (!nb) { b.oom = 1; break; }
                buf = nb;
                bcap = need;
            }
            size_t k = 0;
            if (v->add_space_prefix && prev_special) { memcpy(buf, "\xe2\x96\x81", 3); k = 3; }
            const char *p = text + f.v[i].off;
            for (size_t j = 0; j < f.v[i].len; j++) {
                if (p[j] == ' ') { memcpy(buf + k, "\xe2\x96\x81", 3); k += 3; }
                else buf[k++] = p[j];
            }
            eq_spm_tokenize(v, buf, k, &b);
            prev_special = 0;
        }
        free(buf);
    } else {
        for (size_t i = 0; i < f.n && !b.oom; i++) {
            if (f.v[i].tok >= 0) { eq_tokbuf_push(&b, f.v[i].tok); continue; }
            if ((st = eq_bpe_tokenize(v, text + f.v[i].off, f.v[i].len, &b))) goto done;
        }
    }
    if (add_special && v->add_eos && v->eos >= 0) eq_tokbuf_push(&b, v->eos);
    if (b.oom) { st = EQ_ERR_NOMEM; goto done; }
    if (b.n > (size_t)INT32_MAX) { st = EQ_ERR_ARG; goto done; }
    *n_out = (int)b.n;
    if (b.n > (size_t)cap) {
        if (cap > 0) memcpy(out, b.v, (size_t)cap * sizeof *out);
        st = EQ_ERR_ARG;
    } else if (b.n) {
        memcpy(out, b.v, b.n * sizeof *out);
    }
done:
    free(b.v);
    free(f.v);
    return st;
}
