/* The vocabulary and its tokenizers: SentencePiece-style (tokenizer.ggml.model = "llama") and
 * byte-level BPE ("gpt2") with the pre-tokenizer named by tokenizer.ggml.pre. */
#ifndef EQ_VOCAB_H
#define EQ_VOCAB_H

#include "edgeq.h"
#include "gguf/gguf.h"
#include "text_span.h"

typedef struct eq_vocab eq_vocab;

/* Build from a parsed GGUF (metadata only is needed). Errors name the key at fault. */
eq_status eq_vocab_load(const eq_gguf *g, eq_vocab **out, char *errbuf, size_t errlen);
void      eq_vocab_free(eq_vocab *v);

int      eq_vocab_n_tokens(const eq_vocab *v);
eq_token eq_vocab_bos(const eq_vocab *v);
eq_token eq_vocab_eos(const eq_vocab *v);
eq_token eq_vocab_eot(const eq_vocab *v);
int      eq_vocab_is_eog(const eq_vocab *v, eq_token t);
int      eq_vocab_add_bos(const eq_vocab *v);

/* Same contract as eq_tokenize in edgeq.h. */
eq_status eq_vocab_tokenize(const eq_vocab *v, const char *text, size_t len, int add_special,
                            int parse_special, eq_token *out, int cap, int *n_out);
/* eq_vocab_tokenize where control (and unknown) token text is not parsed where it would
 * overlap one of the n_plain `plain` spans (sorted, disjoint, inside the text; EQ_ERR_ARG
 * otherwise): there it is plain text, as with parse_special off. The text is cut only at the
 * special tokens found, so text without any tokenizes exactly as eq_vocab_tokenize does. */
eq_status eq_vocab_tokenize_spans(const eq_vocab *v, const char *text, size_t len, int add_special,
                                  int parse_special, const eq_text_span *plain, size_t n_plain,
                                  eq_token *out, int cap, int *n_out);
/* Same contract as eq_token_to_piece in edgeq.h. */
int eq_vocab_token_to_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap);
/* The piece's full length, writing its first min(length, cap) bytes (a building block:
 * eq_vocab_token_to_piece never hands out a cut piece); -1 for an invalid token. */
int eq_vocab_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap);
/* Swap in the pre-tokenizer of that name (its splitting rules only; BOS settings stay), for the
 * converter, which tries each one it knows; an error leaves v as it was. */
eq_status eq_vocab_set_pretok(eq_vocab *v, const char *name);

#endif
