/* edgeq — writing GGUF files: whole-model quantization (llama-quantize's bytes out) and the
 * Hugging Face -> GGUF converter (convert_hf_to_gguf.py's bytes out).
 *
 * A header of its own, beside edgeq.h, because it is a different job with a different audience:
 * edgeq.h is what every target runs models with (browser, WASI edge function, an embedding
 * program) and stays small; this is what a tool that produces model files needs, with the
 * tensor-type and file-type tables that come with it (SQLite keeps its optional extension
 * interfaces out of sqlite3.h the same way). Same library, same conventions: every call that
 * can fail returns an eq_status and writes a one-line message into the caller's err buffer;
 * nothing prints. The parameter structs come from their *_default_params() function: start
 * from it and set what you need, so that fields added later get their defaults.
 *
 * Threads: each call runs on the calling thread (the quantizer also on a pool of its own that
 * it starts and joins within the call); its callbacks (log, cancel, on_temp, warn) are called
 * on the calling thread, never from the pool. Calls with different parameters and files may
 * run at once on different threads.
 */
#ifndef EDGEQ_QUANTIZE_H
#define EDGEQ_QUANTIZE_H

#include "edgeq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tensor types and file types ----------------------------------------------------------- */

/* Tensor types: the numbers GGUF files store (ggml_type). */
enum {
    EQ_TYPE_F32  = 0,  EQ_TYPE_F16  = 1,  EQ_TYPE_Q4_0 = 2,  EQ_TYPE_Q4_1 = 3,
    EQ_TYPE_Q5_0 = 6,  EQ_TYPE_Q5_1 = 7,  EQ_TYPE_Q8_0 = 8,  EQ_TYPE_Q8_1 = 9,
    EQ_TYPE_Q2_K = 10, EQ_TYPE_Q3_K = 11, EQ_TYPE_Q4_K = 12, EQ_TYPE_Q5_K = 13,
    EQ_TYPE_Q6_K = 14, EQ_TYPE_Q8_K = 15, EQ_TYPE_BF16 = 30
};
/* "Q4_K" for EQ_TYPE_Q4_K ("?" when unknown); the reverse, case-insensitive (-1 when unknown). */
EQ_API const char *eq_type_name(int type);
EQ_API int         eq_type_from_name(const char *name);
/* 1 when the quantizer can write tensors of this type (F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
 * Q2_K..Q6_K), else 0. */
EQ_API int         eq_quantize_supported(int type);

/* File types: llama_ftype's numbers, as general.file_type stores them. Each names a mixture of
 * tensor types (llama-quant.cpp's rules), e.g. Q4_K_M: mostly Q4_K, some Q6_K. */
enum {
    EQ_FTYPE_ALL_F32 = 0, EQ_FTYPE_MOSTLY_F16 = 1, EQ_FTYPE_MOSTLY_Q4_0 = 2, EQ_FTYPE_MOSTLY_Q4_1 = 3,
    EQ_FTYPE_MOSTLY_Q8_0 = 7, EQ_FTYPE_MOSTLY_Q5_0 = 8, EQ_FTYPE_MOSTLY_Q5_1 = 9,
    EQ_FTYPE_MOSTLY_Q2_K = 10, EQ_FTYPE_MOSTLY_Q3_K_S = 11, EQ_FTYPE_MOSTLY_Q3_K_M = 12,
    EQ_FTYPE_MOSTLY_Q3_K_L = 13, EQ_FTYPE_MOSTLY_Q4_K_S = 14, EQ_FTYPE_MOSTLY_Q4_K_M = 15,
    EQ_FTYPE_MOSTLY_Q5_K_S = 16, EQ_FTYPE_MOSTLY_Q5_K_M = 17, EQ_FTYPE_MOSTLY_Q6_K = 18,
    EQ_FTYPE_MOSTLY_BF16 = 32
};
/* "Q4_K_M" (case-insensitive; also llama-quantize's aliases Q3_K, Q4_K, Q5_K) -> EQ_FTYPE_*,
 * -1 when unknown or not supported; and the canonical name back ("?" when unknown). */
EQ_API int         eq_ftype_from_name(const char *name);
EQ_API const char *eq_ftype_name(int ftype);

/* ---- quantization ------------------------------------------------------------------------
 * As llama-quantize does it and with the same bytes out: its per-tensor types, the same
 * metadata edits, tensors in llama's order, optionally an importance matrix (llama-imatrix's
 * GGUF file or its legacy .dat format). Streams: the input is read a slab of rows at a time
 * (at most ~64 MiB of it plus its float copy and the output rows in memory), quantized across
 * a thread pool, and written out; the output appears under its name only when complete. */

typedef struct {
    int ftype;              /* EQ_FTYPE_* (default EQ_FTYPE_MOSTLY_Q4_K_M) */
    int n_threads;          /* <= 0: one per CPU this process may use; at most EQ_MAX_THREADS */
    int output_type;        /* EQ_TYPE_* for output.weight, -1 (default): the rules decide */
    int token_embd_type;    /* EQ_TYPE_* for token_embd.weight, -1 (default): the rules decide */
    int pure;               /* no k-quant mixture: every quantizable tensor gets the base type */
    int allow_requantize;   /* allow quantized inputs (dequantized first; quality suffers) */
    const char *imatrix;    /* importance matrix file, or NULL */
    /* One line per event (no trailing newline): the plan, a line per tensor, the summary.
     * May be NULL. The library itself never prints. */
    void (*log)(void *user, const char *line);
    void *log_user;
    /* Called with log_user between slabs: non-zero stops (no output is created). May be NULL. */
    int (*cancel)(void *user);
    /* Called with log_user and the temporary output file's path just before it is created,
     * and with NULL once it is renamed over the output or removed: what a signal handler
     * needs to remove it. The path is valid during the call only. Not called by
     * eq_quantize_model_io. May be NULL. */
    void (*on_temp)(void *user, const char *temp_path);
} eq_quantize_params;

EQ_API eq_quantize_params eq_quantize_default_params(void);

/* Quantize in_path into out_path. On failure returns the status, err holds a one-line
 * message naming the file, tensor or key, and no file exists under out_path that was not
 * there before (a previous file of that name is only replaced on success). out_path must not
 * be a directory, nor the input or the importance matrix under any name (compared by file
 * identity). */
EQ_API eq_status eq_quantize_model(const char *in_path, const char *out_path, const eq_quantize_params *p,
                                   char *err, size_t errlen);

/* The same over callbacks, for hosts without files (a browser: Blob slices in, Blob parts
 * out). read fills buf with n bytes at pos, write takes the next n output bytes; both return
 * 0 on success. On failure the output written so far is to be discarded by the caller. */
typedef struct {
    const char *name;     /* for messages */
    uint64_t size;        /* input bytes */
    int (*read)(void *user, uint64_t pos, void *buf, size_t n);
    int (*write)(void *user, const void *buf, size_t n);
    void *user;
} eq_quantize_io;

EQ_API eq_status eq_quantize_model_io(const eq_quantize_io *io, const eq_quantize_params *p, char *err,
                                      size_t errlen);

/* ---- Hugging Face -> GGUF ------------------------------------------------------------------
 * A model folder (config.json, tokenizer files, safetensors shards) to GGUF, the way
 * llama.cpp's convert_hf_to_gguf.py writes it: same tensor names, shapes, types and bytes, same
 * metadata keys and values, for LlamaForCausalLM (SmolLM2, Llama 2/3, TinyLlama),
 * Phi3ForCausalLM and Qwen2ForCausalLM. Weights stream one tensor at a time to the output. */

/* the script's default --outtype: the first 2-D tensor's dtype when BF16 or F16, else F16 */
#define EQ_HF_OUTTYPE_AUTO (-1)

typedef struct {
    int outtype;            /* EQ_TYPE_F32, _F16, _BF16, _Q8_0, or EQ_HF_OUTTYPE_AUTO (default) */
    /* One line for each thing skipped without failing (a model card it cannot read, a card
     * value gguf-py could not store). May be NULL. */
    void (*warn)(void *user, const char *msg);
    /* As eq_quantize_params.on_temp. May be NULL. */
    void (*on_temp)(void *user, const char *temp_path);
    void *user;             /* handed to warn and on_temp */
} eq_hf_convert_params;

EQ_API eq_hf_convert_params eq_hf_convert_default_params(void);

/* Convert hf_dir into out_path (p NULL: the defaults). On any error nothing is left at
 * out_path and err holds one line naming the file, tensor or key. The output is written under
 * a temporary name and renamed when complete; it may not be a directory nor any file of hf_dir
 * the conversion reads (config, tokenizer, card, shards: compared by file identity). */
EQ_API eq_status eq_hf_convert(const char *hf_dir, const char *out_path, const eq_hf_convert_params *p,
                               char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
