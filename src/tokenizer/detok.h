/* Strict UTF-8 checking shared by the detokenizer and the targets that must hand out valid
 * UTF-8 (the edge mode's JSON): no overlong forms, surrogates or code points past U+10FFFF. */
#ifndef EQ_DETOK_H
#define EQ_DETOK_H

#include <stddef.h>

/* Bytes of s[0..n) before its first invalid or unfinished sequence: n when all is valid. */
size_t eq_utf8_valid_prefix(const void *s, size_t n);

/* Copy n bytes of src into out (NULL: only count), each invalid sequence replaced by U+FFFD
 * (EF BF BD); returns the bytes produced, at most 3 * n. The result is valid UTF-8. */
size_t eq_utf8_repair(const void *src, size_t n, char *out);

#endif
