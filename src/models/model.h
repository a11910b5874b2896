/* The model: hyperparameters, weights (pointers into tensor memory allocated once per file
 * part) and the vocabulary; and the inference context (KV cache, scratch, thread pool). */
#ifndef EQ_MODEL_H
#define EQ_MODEL_H

#include "edgeq.h"
#include "gguf/gguf.h"
#include "tokenizer/vocab.h"
#include "backend/backend.h"  /* eq_backend, eq_weight, eq_rope_type */

typedef enum { EQ_ARCH_LLAMA, EQ_ARCH_QWEN2, EQ_ARCH_PHI3, EQ_ARCH_GEMMA3 } eq_arch;

typedef struct {
    eq_weight attn_norm, wq, wk, wv, wqkv, bq, bk, bv, bqkv, wo;
    eq_weight ffn_norm, w_gate, w_up, w_down;   /* phi3: w_up holds gate and up, stacked */
    eq_weight rope_freqs, rope_long, rope_short;
    eq_weight q_norm, k_norm;               /* gemma3: RMS norm of each Q and K head */
    eq_weight attn_post_norm, ffn_post_norm; /* gemma3: norms of the attention and FFN outputs */
    int swa;                   /* gemma3: this layer attends to the last n_swa positions only */
} eq_layer;

typedef struct {
    int n_vocab, n_ctx_train, n_embd, n_layer, n_ff;
    int n_head, n_head_kv, head_dim, n_rot;
    float norm_eps;
    float rope_base, rope_freq_scale, rope_attn_factor;
    int rope_type;             /* EQ_ROPE_NORM / EQ_ROPE_NEOX */
    int rope_yarn;             /* YaRN scaling: extrapolation mix with ext_factor 1 */
    float yarn_beta_fast, yarn_beta_slow;
    int n_ctx_orig;            /* rope.scaling.original_context_length (LongRoPE / YaRN) */
    int q_prescale;            /* phi3 scales Q by 1/sqrt(head_dim) before attention */
    /* gemma3 (gemma3.c; the others leave them 0) */
    int n_swa;                 /* sliding window of the layers marked swa; 0: none */
    float rope_base_swa;       /* rope base of those layers (rope.freq_base_swa, else 10000) */
    float final_logit_softcap; /* logits = c * tanh(logits / c); 0: none */
    float embd_scale;          /* token embeddings are multiplied by it (sqrt(n_embd)) */
    float attn_scale;          /* Q is multiplied by it before attention (0: 1/sqrt(head_dim)) */
    int gelu;                  /* GeGLU feed-forward instead of SwiGLU */
} eq_hparams;

struct eq_model {
    eq_arch arch;
    char arch_name[32];
    eq_hparams hp;
    eq_weight tok_embd, output_norm, output;
    eq_layer *layers;
    eq_vocab *vocab;
    eq_gguf **parts;           /* metadata and tensor infos of each file part */
    int n_parts;
    void **arenas;             /* tensor memory, one block per part */
    uint64_t n_params, n_bytes;
    int vocab_only;
    char *chat_template;       /* copy of tokenizer.chat_template, or NULL */
    eq_device device;          /* EQ_DEVICE_WEBGPU: the tensors' device copies (t->dev) are the
                                  model's, freed with it */
    uint64_t dev_bytes;        /* bytes placed on the device */
    int host_weights;          /* every tensor's bytes are in host memory (the CPU can run it);
                                  0: loaded for the GPU without a host copy */
    char dev_err[160];         /* why the model is not on the device ("" when it is) */
};

const eq_vocab *eq_model_vocab(const eq_model *m);

/* Per-architecture binding: read hyperparameters and point the weights at tensor memory.
 * Errors name the key or tensor at fault. */
eq_status eq_model_bind(eq_model *m, char *err, size_t errlen);

struct eq_ctx {
    eq_model *m;
    int n_ctx, n_batch, n_past;
    eq_kv_type kv_type;
    eq_backend *be;              /* activations, KV cache, scratch, threads: backend/backend.h */
    float *logits;               /* host copy of the last token's logits, n_vocab */
    const eq_weight *rope_factors;  /* per-dimension divisors (LongRoPE / Llama 3 rope_freqs) */
    int n_logit_rows;            /* rows of the backend's LOGITS the last eq_forward filled */
    int n_pending;               /* tokens submitted (eq_decode_submit) and not yet completed */
    int has_logits;
    int greedy;                  /* eq_gen samples greedily: a backend with read_argmax reads back
                                    only the argmax (eq_ctx_set_greedy) */
    int step_argmax;             /* the step in flight reads back only its argmax */
    int argmax;                  /* >= 0: the last step's greedy token; c->logits is stale */
    eq_token *tokens;            /* [n_ctx]: what the cache holds, n_past of them */
    /* sliding-window layers (gemma3) keep only their last kv_keep positions (eq_kv_keep):
     * n_swa is their window (0: no such layer), and positions below kv_lo may be gone from
     * them (raised as positions are stored; see window_intact in context.c) */
    int n_swa, kv_keep, kv_lo;
    int (*abort_cb)(void *);
    void *abort_user;
    char err[256];
};

/* The forward pass of the pre-norm decoder (llama, qwen2, phi3, gemma3): n tokens at n_past, asked of
 * the context's backend and submitted; the logits of the last max(n_out, 1) tokens stay in
 * the backend's LOGITS slot. n_past is not advanced (the caller does, on success). */
eq_status eq_forward(eq_ctx *c, const eq_token *tokens, int n, int n_out);
/* After eq_forward (for a GPU, once its readback is done, in a later call): the logits of the
 * last token to c->logits and, with out, those of the last n_out tokens there (n_vocab floats
 * each). EQ_ERR_FORMAT names the layer when a backend reports not-finite numbers here. */
eq_status eq_forward_read(eq_ctx *c, int n_out, float *out);

/* Step-wise decoding of one batch (n <= n_batch), for a deferred backend (a GPU, which a
 * browser cannot block on): submit runs the forward pass and starts the work; complete, in a
 * later call once the host awaited the device, reads the logits and advances n_past. On the
 * CPU complete follows at once. eq_gen (generate.c) is the caller. */
eq_status eq_decode_submit(eq_ctx *c, const eq_token *tokens, int n);
eq_status eq_decode_complete(eq_ctx *c);
int eq_ctx_deferred(const eq_ctx *c);
/* Greedy sampling (eq_gen): later steps may read back the argmax only (eq_ctx_argmax). */
void eq_ctx_set_greedy(eq_ctx *c, int on);
/* The last step's greedy token when it read back only that, else -1. */
int eq_ctx_argmax(const eq_ctx *c);

/* Streamed upload (backend/backend.h): fn sees each tensor once, as soon as its bytes are in. */
void eq_loader_set_upload(eq_loader *l, eq_upload_fn fn, void *user);
/* Before feeding: stream every tensor through one reused block per part, keeping no host copy
 * (what EQ_DEVICE_WEBGPU without gpu_host_copy does; the model's host_weights is then 0). */
void eq_loader_set_stream(eq_loader *l, int on);

#endif
