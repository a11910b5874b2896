/* Pre-tokenizers of byte-level BPE vocabularies: tokenizer.ggml.pre names a list of regexes
 * that split text into words before merging, exactly as llama.cpp applies them. */
#ifndef EQ_TOK_PRETOK_H
#define EQ_TOK_PRETOK_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq.h"

typedef struct eq_pretok eq_pretok;

/* Behaviour a pre-tokenizer name implies for the vocabulary (llama.cpp ties them together). */
typedef struct {
    int ignore_merges;      /* a word that is a whole token is taken as it is */
    int add_bos;            /* default for add_bos_token (-1: keep the model type's default) */
    int escape_whitespace;  /* spaces become U+2581 before merging (SPM-style BPE) */
    int byte_encode;        /* GPT-2 byte-to-unicode mapping of words */
    int no_bos;             /* no BOS token at all */
} eq_pretok_info;

/* name NULL or "" is "default". EQ_ERR_UNSUPPORTED for a name we do not know. */
eq_status eq_pretok_new(const char *name, eq_pretok **out, eq_pretok_info *info);
void      eq_pretok_free(eq_pretok *p);

/* Words as end offsets into one byte buffer. */
typedef struct {
    uint8_t *buf; size_t len, cap;
    size_t *end; size_t n, ncap;
} eq_words;

void eq_words_free(eq_words *w);
/* Split text into words (cleared first), UTF-8 re-encoded (invalid bytes become U+FFFD) and
 * byte-encoded when the pre-tokenizer asks for it. */
eq_status eq_pretok_split(const eq_pretok *p, const char *text, size_t len, eq_words *w);

#endif
