/* The vocabulary and its tokenizers: SentencePiece-style (tokenizer.ggml.model = "llama") and
 * byte-level BPE ("gpt2") with the pre-tokenizer named by tokenizer.ggml.pre. */
#ifndef EQ_VOCAB_H
#define EQ_VOCAB_H

#include "edgeq.h"
#include "gguf/gguf.h"

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
/* Same contract as eq_token_to_piece in edgeq.h. */
int eq_vocab_token_to_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap);
/* Like eq_vocab_token_to_piece but returns the piece's full length (writing at most cap
 * bytes), so callers can size a buffer; -1 for an invalid token. */
int eq_vocab_piece(const eq_vocab *v, eq_token t, int special, char *buf, int cap);

#endif
