/* Streamed detokenization: token pieces are byte strings that may split a UTF-8 character
 * (byte-fallback and byte-level tokens), so complete characters are released and an
 * unfinished tail is held in the eq_detok until the next token completes it. Bytes that can
 * never become valid UTF-8 are released as U+FFFD right away. */
#include "edgeq.h"
#include "tokenizer/vocab.h"
#include "tokenizer/detok.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s[0..n): > 0 complete, 0 a valid but unfinished
 * prefix (needs more bytes), -k an invalid sequence whose first k bytes are to be replaced. */
static int utf8_seq(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    int need;
    uint8_t lo = 0x80, hi = 0xBF;   /* bounds of the second byte (no overlongs, surrogates) */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return -1;
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= n) return 0;
        uint8_t b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -k;
    }
    return need + 1;
}

/* Convert src into out (NULL: only count); returns bytes produced and sets *used to the bytes
 * consumed. Unless final, an unfinished sequence at the end is left unconsumed. */
static size_t convert(const uint8_t *src, size_t n, int final, char *out, size_t *used) {
    size_t i = 0, o = 0;
    while (i < n) {
        int r = utf8_seq(src + i, n - i);
        if (r > 0) {
            if (out) memcpy(out + o, src + i, (size_t)r);
            o += (size_t)r;
            i += (size_t)r;
        } else if (r == 0 && !final) {
            break;
        } else {
            if (out) memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i += r == 0 ? n - i : (size_t)-r;
        }
    }
    *used = i;
    return o;
}

size_t eq_utf8_valid_prefix(const void *s, size_t n) {
    const uint8_t *p = s;
    size_t i = 0;
    for (int r; i < n && (r = utf8_seq(p + i, n - i)) > 0;) i += (size_t)r;
    return i;
}

size_t eq_utf8_repair(const void *src, size_t n, char *out) {
    size_t used;
    return convert((const uint8_t *)src, n, 1, out, &used);
}

int eq_detok_push_vocab(eq_detok *d, const eq_vocab *v, eq_token t, char *buf, int cap) {
    if (!d || cap < 0 || (!buf && cap > 0) || !v) return -1;
    /* control tokens (end of turn, ...) render as nothing: this is text for people */
    int plen = eq_vocab_piece(v, t, 0, NULL, 0);
    if (plen < 0) return -1;
    char small[256];
    char *piece = plen <= (int)sizeof small ? small : malloc((size_t)plen);
    if (!piece) return -1;
    eq_vocab_piece(v, t, 0, piece, plen);
    int ret = eq_detok_push_bytes(d, piece, plen, buf, cap);
    if (piece != small) free(piece);
    return ret;
}

int eq_detok_push_bytes(eq_detok *d, const char *piece, int plen, char *buf, int cap) {
    if (!d || cap < 0 || (!buf && cap > 0) || plen < 0 || (!piece && plen > 0)) return -1;
    if (d->n_pending < 0 || d->n_pending > (int)sizeof d->pending) d->n_pending = 0;
    size_t n = (size_t)d->n_pending + (size_t)plen;
    uint8_t small[256];
    uint8_t *all = n <= sizeof small ? small : malloc(n);
    if (!all) return -1;
    memcpy(all, d->pending, (size_t)d->n_pending);
    if (plen) memcpy(all + d->n_pending, piece, (size_t)plen);
    size_t used;
    size_t need = convert(all, n, 0, NULL, &used);
    int ret = need > (size_t)INT_MAX ? -1 : (int)need;
    if (ret >= 0 && need <= (size_t)cap) {
        convert(all, n, 0, (char *)buf, &used);
        d->n_pending = (int)(n - used);   /* at most 3 bytes: an unfinished sequence */
        memcpy(d->pending, all + used, (size_t)d->n_pending);
    }
    /* too small a buffer changes nothing: the caller grows it to `need` and pushes again */
    if (all != small) free(all);
    return ret;
}

int eq_detok_flush(eq_detok *d, char *buf, size_t cap) {
    if (!d || (!buf && cap > 0)) return -1;
    if (d->n_pending < 0 || d->n_pending > (int)sizeof d->pending) d->n_pending = 0;
    size_t used;
    size_t need = convert((const uint8_t *)d->pending, (size_t)d->n_pending, 1, NULL, &used);
    if (need > cap) return (int)need;
    convert((const uint8_t *)d->pending, (size_t)d->n_pending, 1, buf, &used);
    d->n_pending = 0;
    return (int)need;
}
