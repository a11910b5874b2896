/* Streamed detokenization on a vocabulary, and the strict UTF-8 checking it shares with the
 * targets that must hand out valid UTF-8 (the edge mode's JSON): no overlong forms, surrogates
 * or code points past U+10FFFF. */
#ifndef EQ_DETOK_H
#define EQ_DETOK_H

#include <stddef.h>
#include "edgeq.h"
#include "tokenizer/vocab.h"

/* Bytes of s[0..n) before its first invalid or unfinished sequence: n when all is valid. */
size_t eq_utf8_valid_prefix(const void *s, size_t n);

/* Copy n bytes of src into out (NULL: only count), each invalid sequence replaced by U+FFFD
 * (EF BF BD); returns the bytes produced, at most 3 * n. The result is valid UTF-8. */
size_t eq_utf8_repair(const void *src, size_t n, char *out);

/* eq_detok_push (the public entry, in models/model.c) on a vocabulary: the same contract. */
int eq_detok_push_vocab(eq_detok *d, const eq_vocab *v, eq_token t, char *buf, int cap);
/* The same on a piece's bytes (plen of them), e.g. eq_token_to_piece's with special on. */
int eq_detok_push_bytes(eq_detok *d, const char *piece, int plen, char *buf, int cap);

#endif
