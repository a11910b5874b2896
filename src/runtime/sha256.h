/* SHA-256 of a buffer as lower-case hex: the converter checks a tokenizer's pre-tokenizer by
 * hashing its output, as convert_hf_to_gguf.py does. A runtime helper so no format file has to
 * include another for it. */
#ifndef EQ_SHA256_H
#define EQ_SHA256_H

#include <stddef.h>

/* SHA-256 of n bytes as 64 lowercase hex digits + NUL. */
void eq_sha256_hex(const void *data, size_t n, char out[65]);

#endif
