/* The vocabulary's insides, shared by vocab.c and the tokenizers (spm.c, bpe.c). */
#ifndef EQ_VOCAB_IMPL_H
#define EQ_VOCAB_IMPL_H

#include "tokenizer/vocab.h"
#include "tokenizer/pretok.h"

enum { EQ_VOCAB_SPM = 1, EQ_VOCAB_BPE = 2 };

/* token attributes (llama.cpp's LLAMA_TOKEN_ATTR_* bits) */
enum {
    EQ_ATTR_UNKNOWN = 1 << 0, EQ_ATTR_UNUSED = 1 << 1, EQ_ATTR_NORMAL = 1 << 2,
    EQ_ATTR_CONTROL = 1 << 3, EQ_ATTR_USER_DEFINED = 1 << 4, EQ_ATTR_BYTE = 1 << 5,
    EQ_ATTR_LSTRIP = 1 << 7, EQ_ATTR_RSTRIP = 1 << 8
};

typedef struct { eq_token *v; size_t n, cap; int oom; } eq_tokbuf;

struct eq_vocab {
    int type;
    int n;
    char *text;           /* all token texts, NUL-separated */
    size_t *off;          /* token i's text: text + off[i], len[i] bytes */
    uint32_t *len;
    float *score;
    uint16_t *attr;
    uint32_t *map;        /* text -> id + 1, open addressing; 0 is empty */
    size_t map_mask;

    /* BPE merges: (left, right) -> rank */
    char *mtext;          /* merge strings, NUL-separated */
    size_t *moff;
    uint32_t *mleft, *mright;   /* lengths of the halves; right starts at mleft + 1 */
    uint32_t *mmap;       /* merge index + 1 */
    size_t mmap_mask;
    int n_merges;

    eq_token *special;    /* control / user-defined / unknown tokens, longest text first */
    int n_special;
    eq_token *eog;        /* sorted */
    int n_eog;

    eq_token bos, eos, eot, eom, unk, sep, pad;
    int add_bos, add_eos, add_space_prefix;
    int ignore_merges, escape_whitespace, byte_encode;
    eq_pretok *pre;
};

void eq_tokbuf_push(eq_tokbuf *b, eq_token t);
/* text -> id, -1 when absent */
eq_token eq_vocab_find(const eq_vocab *v, const char *s, size_t n);
/* merge rank of (a, b), -1 when there is none */
int eq_vocab_merge_rank(const eq_vocab *v, const char *a, size_t na, const char *b, size_t nb);
/* SPM byte fallback: <0xNN>, else the byte itself as a token; -1 when neither exists */
eq_token eq_vocab_byte_token(const eq_vocab *v, uint8_t c);

void eq_spm_tokenize(const eq_vocab *v, const char *text, size_t n, eq_tokbuf *out);
eq_status eq_bpe_tokenize(const eq_vocab *v, const char *text, size_t n, eq_tokbuf *out);


/* Symbols and the merge queue shared by the SPM and byte-level BPE tokenizers (merge_heap.c). */
typedef struct { int prev, next; size_t start, n; } eq_sym;
typedef struct { float key; int left, right; size_t size; } eq_bigram;
typedef struct { eq_bigram *v; size_t n, cap; int oom; } eq_bigram_heap;
void      eq_bigram_push(eq_bigram_heap *h, eq_bigram b);
eq_bigram eq_bigram_pop(eq_bigram_heap *h);

#endif
