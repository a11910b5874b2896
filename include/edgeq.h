/* edgeq — quantized LLM inference from one portable C core.
 *
 * The public C API. Small and stable: every call that can fail returns an eq_status, and the
 * object involved keeps a human-readable message (SQLite's errmsg model). The library never
 * prints, never aborts, never exits. Whoever allocates frees. Constructors return an eq_status
 * and hand the object over through an out pointer (NULL on failure), with a one-line message
 * naming the bad parameter in the caller's errbuf (errlen bytes; NULL/0 when not wanted).
 * Writing GGUF files (the quantizer, the Hugging Face converter) is in edgeq_quantize.h.
 *
 * Sizes: byte lengths and buffer capacities in bytes are size_t; counts of tokens, layers,
 * parts and threads are int (a context holds far fewer than INT_MAX tokens). Calls that fill a
 * caller's buffer say what they return when it is too small: the length needed, never a cut.
 *
 * Threads. A loaded eq_model is read-only after eq_model_load / eq_loader_finish returns:
 * any number of threads may use it at once (tokenize, detokenize, read its metadata, format
 * chats) and each may run its own eq_ctx over it; it must outlive them, and eq_model_free is
 * called once none is in use. An eq_ctx, eq_sampler, eq_loader and eq_detok belong to one
 * thread at a time: no call on one object may overlap another call on the same object
 * (handing an object to another thread between calls is fine). The library keeps no global
 * mutable state, so calls on different objects never interfere. A context starts its own
 * worker threads (eq_ctx_params.n_threads, on builds with threads) that only run the matrix
 * and attention work of its eq_decode calls; they never call back into the caller: the abort
 * callback (eq_ctx_set_abort) and the load progress callback run on the thread that made the
 * call (eq_decode*, eq_model_load / eq_loader_feed), so they need no locking of their own; the
 * abort callback may read a flag that another thread sets (make that flag atomic). The
 * quantizer runs a pool of its own the same way (see edgeq_quantize.h).
 */
#ifndef EDGEQ_H
#define EDGEQ_H

#include <stddef.h>
#include <stdint.h>

/* EQ_API marks the exported entry points. The library is compiled with hidden visibility
 * (CMake's C_VISIBILITY_PRESET), so a shared build (libedgeq.so, the EQ_SHARED option)
 * exports these and nothing else. (A Windows DLL would need dllexport/dllimport here; edgeq
 * is not built for Windows.) */
#ifndef EQ_API
#  if defined(__GNUC__) && __GNUC__ >= 4
#    define EQ_API __attribute__((visibility("default")))
#  else
#    define EQ_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The one place the version is written: CMake reads these three numbers for project(VERSION),
 * tests/api/check.sh holds js/package.json and `edgeq --version` to them. */
#define EQ_VERSION_MAJOR 0
#define EQ_VERSION_MINOR 1
#define EQ_VERSION_PATCH 0
#define EQ_VERSION_STR_(a, b, c) #a "." #b "." #c
#define EQ_VERSION_XSTR_(a, b, c) EQ_VERSION_STR_(a, b, c)
#define EQ_VERSION EQ_VERSION_XSTR_(EQ_VERSION_MAJOR, EQ_VERSION_MINOR, EQ_VERSION_PATCH)  /* "0.1.0" */
/* The library's own EQ_VERSION: differs from the header's when a program was compiled against
 * another version than the one it runs with (SQLite's sqlite3_libversion). */
EQ_API const char *eq_version(void);

#define EQ_MAX_THREADS 512   /* the most threads (work shares) a context or quantization takes */

typedef enum {
    EQ_OK = 0,
    EQ_ERR_IO,            /* file could not be opened or read */
    EQ_ERR_FORMAT,        /* malformed or truncated input (GGUF, JSON, ...) */
    EQ_ERR_UNSUPPORTED,   /* well-formed but not something we run (type, architecture) */
    EQ_ERR_NOMEM,         /* allocation failed or a size would overflow */
    EQ_ERR_ARG,           /* bad argument from the caller */
    EQ_ERR_CONTEXT_FULL,  /* more tokens than the context holds */
    EQ_ERR_ABORTED,       /* the caller asked to stop */
    EQ_ERR_NEED_MORE,     /* streamed input is not complete yet (not an error while feeding) */
    EQ_ERR_DEVICE         /* the GPU failed or was lost (the CPU path still works) */
} eq_status;

EQ_API const char *eq_status_str(eq_status s);

typedef int32_t eq_token;

typedef struct eq_model  eq_model;
typedef struct eq_ctx    eq_ctx;
typedef struct eq_loader eq_loader;

/* Where a model's weights and a context's work live. EQ_DEVICE_WEBGPU exists only in the
 * browser/Node module (wasm/web), whose JavaScript runtime owns the GPU (the npm package's
 * `device` option); other builds answer EQ_ERR_UNSUPPORTED. */
typedef enum { EQ_DEVICE_CPU = 0, EQ_DEVICE_WEBGPU = 1 } eq_device;

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct {
    /* Called as bytes arrive; return non-zero to abort the load. May be NULL. */
    int (*progress)(void *user, uint64_t loaded, uint64_t total);
    void *progress_user;
    int vocab_only;          /* load the tokenizer and metadata only (tensors are skipped) */
    eq_device device;        /* EQ_DEVICE_WEBGPU: each tensor goes to the GPU as soon as its
                                bytes are in, streamed through one reused host block (host
                                memory: the largest tensor, not the model), so CPU contexts on
                                the model fail (load it again for the CPU). A tensor the GPU
                                cannot take does not fail the load: it makes WebGPU contexts
                                fail with the reason (and, without a host copy, CPU ones). */
    int gpu_host_copy;       /* with EQ_DEVICE_WEBGPU: keep the host copy too (memory is then
                                the model twice; CPU contexts work on the same model) */
    int no_huge_pages;       /* 1: keep the weights in ordinary pages. By default (Linux) they
                                are asked to be backed by 2 MiB pages, which generation reads
                                faster (tg +3-10% measured), but in a VM that hands free memory
                                back to its host the first touch of such pages can cost more at
                                load (a 2.4 GB model after 15 s idle, on one: 6.8-10.9 s with
                                them, 6.2-7.6 s without) */
} eq_model_params;

EQ_API eq_model_params eq_model_default_params(void);

/* Load from a path. A split file (`name-00001-of-0000N.gguf`) pulls in its siblings.
 * On failure *out is NULL and errbuf (if given) holds a one-line message naming the problem. */
EQ_API eq_status eq_model_load(const char *path, const eq_model_params *params, eq_model **out,
                        char *errbuf, size_t errlen);

/* Streamed loading: bytes are pushed in as they arrive (fetch body, WASI fd, Blob).
 * For split models, each part is fed on its own part index (0-based) in any interleaving;
 * n_parts is 1 for a single file. Tensor memory is allocated once per part, as soon as that
 * part's header is in, and every later byte is copied straight to its final place. The
 * loader's own failures (feed, finish) are then read with eq_loader_errmsg. */
EQ_API eq_status   eq_loader_new(const eq_model_params *params, int n_parts, eq_loader **out,
                              char *errbuf, size_t errlen);   /* n_parts in [1, 4096] */
EQ_API eq_status   eq_loader_feed(eq_loader *l, int part, const void *buf, size_t n);
/* Optional, before feeding: the part's byte size (file size, Content-Length). Lets bad
 * offsets and truncation be reported before any tensor memory is allocated. */
EQ_API eq_status   eq_loader_set_part_size(eq_loader *l, int part, uint64_t size);
/* Bytes consumed so far and expected in all (0 when not yet known). */
EQ_API void        eq_loader_progress(const eq_loader *l, uint64_t *loaded, uint64_t *total);
/* All parts fed: build the model. On success the model is handed over in *out. */
EQ_API eq_status   eq_loader_finish(eq_loader *l, eq_model **out);
EQ_API const char *eq_loader_errmsg(const eq_loader *l);
EQ_API void        eq_loader_free(eq_loader *l);

EQ_API void eq_model_free(eq_model *m);

/* ---- model information -------------------------------------------------------------------- */

EQ_API const char *eq_model_arch(const eq_model *m);          /* "llama", "phi3", "qwen2" */
EQ_API int         eq_model_n_vocab(const eq_model *m);
EQ_API int         eq_model_n_ctx_train(const eq_model *m);
EQ_API int         eq_model_n_embd(const eq_model *m);
EQ_API int         eq_model_n_layer(const eq_model *m);
EQ_API uint64_t    eq_model_n_params(const eq_model *m);
EQ_API uint64_t    eq_model_size_bytes(const eq_model *m);      /* bytes of tensor data */
/* 1 when every tensor's bytes are in host memory (CPU contexts can run); 0 for a model loaded
 * for the GPU without a host copy (eq_model_params.gpu_host_copy). */
EQ_API int         eq_model_host_weights(const eq_model *m);
/* Metadata as text (numbers formatted; arrays summarised: type, count, first four entries).
 * eq_model_meta_str has snprintf's contract: it returns the text's full length (strings whole,
 * whatever their size) and writes at most cap bytes, NUL included, into the caller's buffer
 * (so threads sharing a model do not share a result); -1 if the key is absent. */
EQ_API int         eq_model_meta_count(const eq_model *m);
EQ_API const char *eq_model_meta_key(const eq_model *m, int i);
EQ_API int         eq_model_meta_str(const eq_model *m, const char *key, char *buf, size_t cap);
EQ_API int         eq_model_tensor_count(const eq_model *m);
/* name, type name ("Q4_K"), dims (up to 4, ne[0] first) */
EQ_API eq_status   eq_model_tensor_info(const eq_model *m, int i, const char **name, const char **type,
                                 int64_t ne[4], int *n_dims);

/* ---- tokenizer ---------------------------------------------------------------------------- */

EQ_API eq_token eq_token_bos(const eq_model *m);  /* -1 when the vocabulary has none */
EQ_API eq_token eq_token_eos(const eq_model *m);
EQ_API eq_token eq_token_eot(const eq_model *m);
EQ_API int      eq_token_is_eog(const eq_model *m, eq_token t);   /* end of generation (EOS, EOT, ...) */
EQ_API int      eq_add_bos(const eq_model *m);

/* Tokenize like llama_tokenize: add_special adds BOS/EOS as the vocabulary asks, parse_special
 * turns special-token text (e.g. "<|im_end|>") into its token. text is len bytes (need not be
 * NUL-terminated). Writes at most cap tokens (a count, not bytes) and sets *n_out to the number
 * needed; EQ_ERR_ARG if cap was too small. */
EQ_API eq_status eq_tokenize(const eq_model *m, const char *text, size_t len, int add_special,
                      int parse_special, eq_token *out, int cap, int *n_out);

/* The raw bytes a token stands for (byte-fallback and byte-level tokens decoded). For
 * streaming text use eq_detok, which holds back incomplete UTF-8. special: render control
 * tokens' text. Returns the piece's length n, or -1 for an invalid token. The piece is written
 * only when it fits (n <= cap); otherwise buf is untouched and the caller grows it to n bytes
 * and asks again (a piece has no size limit and is never cut). cap 0 asks for the length. */
EQ_API int eq_token_to_piece(const eq_model *m, eq_token t, int special, char *buf, size_t cap);

/* ---- inference context -------------------------------------------------------------------- */

typedef enum { EQ_KV_F16 = 0, EQ_KV_F32 = 1 } eq_kv_type;

typedef struct {
    int n_ctx;            /* 0: the model's training context */
    int n_threads;        /* 0: one per CPU this process may use (affinity mask, cgroup CPU
                             quota); at most EQ_MAX_THREADS. Work is split n_threads ways; on
                             native builds no more OS threads than those CPUs run it */
    int n_batch;          /* prompt tokens evaluated per step (default 256) */
    eq_kv_type kv_type;
    eq_device device;     /* EQ_DEVICE_WEBGPU: the whole forward pass on the GPU (a model
                             loaded with that device, F16 KV cache). Such a context decodes
                             step-wise only: through eq_gen, see eq_gen_pending */
} eq_ctx_params;

EQ_API eq_ctx_params eq_ctx_default_params(void);
EQ_API eq_status  eq_ctx_new(eq_model *m, const eq_ctx_params *p, eq_ctx **out, char *errbuf, size_t errlen);
EQ_API void       eq_ctx_free(eq_ctx *c);
/* What eq_ctx_new(m, p) would allocate, without allocating it: the KV cache, and the
 * scratch (activations, matmul conversion buffers, attention scores, logits, token list).
 * For refusing a context that would not fit a memory budget before trying. Same parameter
 * errors as eq_ctx_new. */
typedef struct {
    int n_ctx;                /* the context size p resolves to (0: the model's) */
    uint64_t kv_bytes;
    uint64_t scratch_bytes;
    uint64_t total_bytes;     /* kv_bytes + scratch_bytes */
} eq_ctx_mem;
EQ_API eq_status  eq_ctx_estimate(const eq_model *m, const eq_ctx_params *p, eq_ctx_mem *out,
                                  char *errbuf, size_t errlen);

EQ_API const char *eq_ctx_errmsg(const eq_ctx *c);
EQ_API int        eq_ctx_n_ctx(const eq_ctx *c);
EQ_API int        eq_ctx_n_past(const eq_ctx *c);
EQ_API int        eq_ctx_n_threads(const eq_ctx *c);   /* the thread count chosen (n_threads, or the default) */
/* Drop the cache back to n_past tokens (0 clears it). Sliding-window layers (Gemma 3) keep
 * only their last window + n_batch - 1 positions: cutting back to a point whose window they
 * have overwritten fails with EQ_ERR_UNSUPPORTED and changes nothing (truncate to 0 and
 * evaluate again; eq_gen_start's prefix reuse does that itself). */
EQ_API eq_status  eq_ctx_truncate(eq_ctx *c, int n_past);

/* Evaluate n tokens at the current position; afterwards eq_ctx_logits gives the logits of the
 * last one. EQ_ERR_CONTEXT_FULL (nothing evaluated) when they do not fit; EQ_ERR_FORMAT (the
 * cache left as it was) when the model's numbers turn NaN or infinite: a corrupt file. A
 * failure after more than n_batch tokens went in may leave a sliding-window cache (Gemma 3)
 * unable to return to the old position: the context is then cleared (eq_ctx_n_past 0) and
 * the message says so. */
EQ_API eq_status  eq_decode(eq_ctx *c, const eq_token *tokens, int n);
EQ_API const float *eq_ctx_logits(const eq_ctx *c);    /* n_vocab floats, NULL before any decode */
/* 1 when the last step read back only its greedy token (a GPU context in a greedy eq_gen):
 * eq_ctx_logits is then NULL and the logits are still in the device's LOGITS buffer. */
EQ_API int          eq_ctx_logits_on_device(const eq_ctx *c);
/* eq_decode that also writes the logits of the last n_out of the n tokens to out (n_out rows
 * of n_vocab floats): what perplexity and scoring need. n_out = 0 is eq_decode. */
EQ_API eq_status  eq_decode_logits(eq_ctx *c, const eq_token *tokens, int n, int n_out, float *out);

/* Optional: called between layers during decode; non-zero aborts with EQ_ERR_ABORTED. */
EQ_API void eq_ctx_set_abort(eq_ctx *c, int (*abort_cb)(void *user), void *user);
/* The tokens the cache holds, in order (eq_decode appends, eq_ctx_truncate cuts): *n is
 * eq_ctx_n_past. Valid until the next decode or truncate. */
EQ_API const eq_token *eq_ctx_tokens(const eq_ctx *c, int *n);

/* ---- sampling ----------------------------------------------------------------------------- */

typedef struct {
    float temp;            /* <= 0: greedy */
    int   top_k;           /* <= 0: off */
    float top_p;           /* >= 1: off */
    float min_p;           /* <= 0: off */
    float repeat_penalty;  /* 1: off */
    int   repeat_last_n;   /* how many recent tokens the penalty looks at */
    uint64_t seed;
} eq_sampler_params;

typedef struct eq_sampler eq_sampler;
EQ_API eq_sampler_params eq_sampler_default_params(void);
/* EQ_ERR_ARG on bad parameters (n_vocab <= 0, NaN/inf temp, NaN top_p/min_p, repeat_penalty
 * <= 0 or not finite, repeat_last_n < 0), EQ_ERR_NOMEM when out of memory; *out is then NULL
 * and errbuf names the parameter. NULL p means the defaults. */
EQ_API eq_status   eq_sampler_new(const eq_sampler_params *p, int n_vocab, eq_sampler **out,
                                  char *errbuf, size_t errlen);
/* Pick the next token from logits; the sampler remembers accepted tokens for the penalty. */
EQ_API eq_token    eq_sampler_sample(eq_sampler *s, const float *logits);
EQ_API void        eq_sampler_accept(eq_sampler *s, eq_token t);
EQ_API void        eq_sampler_reset(eq_sampler *s);
EQ_API void        eq_sampler_free(eq_sampler *s);

/* ---- streamed detokenization -------------------------------------------------------------- */

/* Collects token bytes and releases only complete UTF-8 sequences. */
typedef struct { char pending[8]; int n_pending; } eq_detok;
/* Append token t's text and write the complete UTF-8 it releases to buf. Returns that length
 * n, or -1 for an invalid token. Like eq_token_to_piece, when n > cap nothing is written and
 * nothing changes: grow buf to n bytes and push the same token again. */
EQ_API int eq_detok_push(eq_detok *d, const eq_model *m, eq_token t, char *buf, size_t cap);
/* Flush whatever remains (invalid sequences become U+FFFD; at most 24 bytes); same return. */
EQ_API int eq_detok_flush(eq_detok *d, char *buf, size_t cap);

/* ---- generation ---------------------------------------------------------------------------- */

/* The one generation loop (the CLI, `serve` and the npm package all run it): prompt-prefix
 * reuse, prompt batches, sampling, end of generation, max tokens, a full context, stop strings,
 * finish reasons, counts and timings. It is step-wise: each eq_gen_step evaluates (the next
 * prompt batch, or the last sampled token) and then samples, so a caller can return to its
 * event loop between steps. One generation per context at a time; the context is the
 * caller's and must outlive the generation. */
typedef struct eq_gen eq_gen;

typedef enum {
    EQ_FINISH_NONE = 0,   /* still running, or ended by an error */
    EQ_FINISH_STOP,       /* an end-of-generation token or a stop string */
    EQ_FINISH_LENGTH      /* max_tokens reached, or the context is full */
} eq_finish;

/* sp.seed == EQ_SEED_RANDOM (-1 as a signed number) asks for a fresh random seed. */
#define EQ_SEED_RANDOM UINT64_MAX

typedef struct {
    eq_sampler_params sp;      /* default: eq_sampler_default_params() with EQ_SEED_RANDOM */
    int max_tokens;            /* < 0: until end of generation or a full context; 0: none */
    /* stop strings, by length (they may hold NUL): the text ends before the first one met.
     * Each is 1 to 65536 bytes, at most 64 of them; copied by eq_gen_start. */
    const char *const *stop;
    const size_t *stop_len;
    int n_stop;
    float frequency_penalty;   /* OpenAI's additive penalties over the completion so far: */
    float presence_penalty;    /* logit -= count * frequency + (count > 0) * presence */
    int n_batch;               /* prompt tokens per step (0: the context's n_batch) */
    int reuse_prefix;          /* keep the cache's longest common prefix with the prompt */
    int ignore_eos;            /* go on past end-of-generation tokens (counted, no text) */
    int special;               /* render control tokens' text */
    int raw_bytes;             /* release each token's bytes as they are (a terminal joins
                                  split UTF-8, as llama.cpp's tools print) instead of whole
                                  UTF-8 characters (invalid bytes as U+FFFD) */
} eq_gen_params;

EQ_API eq_gen_params eq_gen_default_params(void);

/* Start generating after prompt (n tokens, n >= 1, each in the vocabulary). The cache is
 * cleared, or with reuse_prefix cut to its longest common prefix with the prompt (at most
 * n - 1 tokens: the last prompt token is always evaluated, for its logits). Nothing is
 * evaluated yet. EQ_ERR_CONTEXT_FULL when the prompt does not leave room for one token;
 * EQ_ERR_ARG for bad parameters (errbuf names the problem). */
EQ_API eq_status eq_gen_start(eq_ctx *c, const eq_token *prompt, int n, const eq_gen_params *p,
                              eq_gen **out, char *errbuf, size_t errlen);
/* One step. The text it releases (stop strings cut, a tail that could still become one held
 * back; whole UTF-8 characters unless raw_bytes) is in *text / *len, valid until the next call
 * on g; it may hold NUL. *done turns 1 on the step that ends the generation (then
 * eq_gen_finish_reason tells why; later steps release nothing). On an error (a decode failure,
 * EQ_ERR_ABORTED from the context's abort callback) the generation is over: free it. The
 * cache then holds what was evaluated before the failing step. */
EQ_API eq_status eq_gen_step(eq_gen *g, const char **text, size_t *len, int *done);
/* 1 when the last eq_gen_step submitted work to a GPU and returned before its results (a
 * browser cannot block on them): the host awaits the device (the JavaScript runtime's
 * readback), then steps again, which reads the results and samples. Never on the CPU. */
EQ_API int       eq_gen_pending(const eq_gen *g);
EQ_API eq_finish eq_gen_finish_reason(const eq_gen *g);
/* End the generation now, as max_tokens would (EQ_FINISH_LENGTH, or EQ_FINISH_STOP when the
 * held-back text completes a stop string): what was held back (an incomplete UTF-8 character,
 * the start of a possible stop string) is released in *text / *len, valid until eq_gen_free.
 * For deadlines: call it between steps once the prompt is in, or after a step failed with
 * EQ_ERR_ABORTED while generating. EQ_ERR_ARG before the prompt is in or after other errors;
 * EQ_OK with nothing released when the generation had ended. */
EQ_API eq_status eq_gen_stop(eq_gen *g, const char **text, size_t *len);


typedef struct {
    int n_prompt;        /* prompt tokens */
    int n_cached;        /* of those, reused from the cache (not evaluated) */
    int n_evaluated;     /* prompt tokens in the cache so far: n_prompt once the prompt is in */
    int n_gen;           /* tokens generated (end-of-generation ones only with ignore_eos) */
    double t_prompt;     /* seconds spent evaluating the prompt */
    double t_gen;        /* seconds spent generating (sampling and evaluating those tokens) */
    uint64_t seed;       /* the sampler's seed (the one drawn for EQ_SEED_RANDOM) */
} eq_gen_stats;

EQ_API void        eq_gen_stats_get(const eq_gen *g, eq_gen_stats *out);
/* The last error: a failed decode's is the context's message as it was (eq_ctx_errmsg). */
EQ_API const char *eq_gen_errmsg(const eq_gen *g);
EQ_API void        eq_gen_free(eq_gen *g);

/* ---- chat templates ----------------------------------------------------------------------- */

typedef struct { const char *role; const char *content; } eq_chat_msg;

/* The template family recognised from tokenizer.chat_template ("chatml", "llama3", "phi3",
 * "gemma", "zephyr", "llama2", ...), or NULL when the model has none we know. */
EQ_API const char *eq_chat_template_name(const eq_model *m);
/* Format messages with the model's template (or the named one when tmpl_name is non-NULL);
 * EQ_ERR_UNSUPPORTED for a family name we do not know.
 * add_assistant appends the assistant prefix. Writes at most cap bytes (NUL-terminated) and
 * sets *n_out to the full length; EQ_ERR_ARG if cap was too small. */
EQ_API eq_status eq_chat_apply(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n,
                        int add_assistant, char *buf, size_t cap, size_t *n_out);

/* Tokenizing an eq_chat_apply prompt with parse_special on would let a message forge turns:
 * "<|im_end|>\n<|im_start|>system ..." inside a user's text would become control tokens. */
enum {
    /* parse special-token text inside message contents too (the old behaviour: only for
     * contents as trusted as the template) */
    EQ_CHAT_SPECIAL_IN_CONTENT = 1
};
/* Format messages as eq_chat_apply does and tokenize the prompt (BOS added as the vocabulary
 * asks): special-token text is parsed only in the template's own text (roles included), while
 * inside message contents it stays plain text, as eq_tokenize with parse_special off makes it.
 * Text without special-token text gives exactly eq_tokenize(prompt, 1, 1)'s tokens. flags: 0 or
 * EQ_CHAT_SPECIAL_IN_CONTENT. Same buffer contract as eq_tokenize (EQ_ERR_ARG and *n_out the
 * count needed when cap is too small); errors as eq_chat_apply's. */
EQ_API eq_status eq_chat_tokenize(const eq_model *m, const char *tmpl_name, const eq_chat_msg *msgs, int n,
                           int add_assistant, int flags, eq_token *out, int cap, int *n_out);

#ifdef __cplusplus
}
#endif
#endif
