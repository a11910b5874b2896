/* Internals of the Hugging Face converter, shared by hf_convert.c, hf_vocab.c and hf_meta.c. */
#ifndef EQ_HF_INTERNAL_H
#define EQ_HF_INTERNAL_H

#include "format/hf_convert.h"
#include "cJSON.h"
#include "gguf/writer.h"

/* ---- internals shared by hf_convert.c, hf_vocab.c and hf_meta.c ---- */

enum { EQ_HF_LLAMA = 1, EQ_HF_PHI3, EQ_HF_QWEN2 };

typedef struct {
    const char *dir;
    int arch;
    const char *arch_name;        /* "llama", "phi3", "qwen2" */
    cJSON *config;                /* config.json (required) */
    cJSON *tok_json;              /* tokenizer.json, tokenizer_config.json, */
    cJSON *tok_config;            /* generation_config.json: NULL when absent */
    cJSON *gen_config;
    eq_gguf_writer *w;
    char *err;
    size_t errlen;
} eq_hf;

/* Report an error (formats into h->err) and return st. */
eq_status eq_hf_fail(eq_hf *h, eq_status st, const char *fmt, ...);
/* The writer failed: copy its message. */
eq_status eq_hf_wfail(eq_hf *h, eq_status st);

/* tokenizer.* keys (hf_vocab.c) */
eq_status eq_hf_set_vocab(eq_hf *h);
/* general.* keys from config.json / generation_config.json / the folder name (hf_meta.c) */
eq_status eq_hf_set_meta_model(eq_hf *h, uint64_t total_params);

/* SHA-256 of n bytes as 64 lowercase hex digits + NUL. */
void eq_sha256_hex(const void *data, size_t n, char out[65]);

#endif /* EQ_HF_INTERNAL_H */
