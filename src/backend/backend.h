/* The device seam: what the forward pass asks of the hardware that runs it.
 *
 * eq_forward (models/decoder.c) stays one function read top to bottom; every step of it is one
 * call below. It never touches an activation or the KV cache itself: activations live in
 * named slots (eq_act) that the backend owns and places where it likes (host arrays on the
 * CPU, storage buffers on a GPU), and weights are eq_weights, whose `dev` handle says where a
 * backend placed them. This is not a graph: a backend either runs each op as it is called (the
 * CPU) or records it into the one submission of this step (WebGPU), in call order.
 *
 * A step is: ops..., submit, then read (the logits). A GPU backend cannot block on a readback
 * inside a wasm call, so submit only starts the work (and the copy of LOGITS to a mappable
 * buffer); the caller returns to JavaScript, which awaits the mapping, and calls read in a
 * later C call. Greedy decoding asks for the argmax alone (want_argmax, read_argmax): one token
 * comes back instead of the logits.
 *
 * What a backend must guarantee:
 *   - Ops take effect in call order; a read after submit sees every op before it.
 *   - Shapes are trusted: the forward pass checks token ids and sizes before calling, and never
 *     asks for more than n_batch rows, n_ctx positions or a slot's width.
 *   - Ops return nothing: a backend that fails (a GPU out of memory, a lost device) remembers
 *     the first failure, turns the remaining ops of the step into no-ops, and submit returns
 *     it with a message in `err`.
 *   - The CPU backend's results do not depend on the thread count (see runtime/threadpool.h);
 *     another backend may differ from it by float rounding, never more.
 *
 * Not-finite numbers (a corrupt file): the forward pass calls check_finite after the ops that
 * feed a matmul (a NaN quantized to Q8 turns into finite garbage, so the logits need not show
 * it). A synchronous backend (CPU) checks at once and returns the first bad token, and the
 * forward pass stops and names the layer. A deferred backend (GPU) cannot answer yet: it
 * returns -1 and records the check in the step, as a kernel that folds "site, token" of the
 * first bad row into one device word (atomicMin); read copies that word back with the logits
 * and, when set, returns EQ_ERR_FORMAT with *fault filled, which the forward pass words the
 * same way. Only the first fault of a step is reported, as on the CPU.
 *
 * Abort: the forward pass polls the abort callback between layers while it calls the ops; on
 * the CPU that is between layers' work, on a GPU only between their encoding (a submitted step
 * runs to its end).
 *
 * Ownership: the backend owns its slots, KV cache, scratch and threads (freed by free). The
 * model owns the weights' host bytes; device copies of weights belong to whoever placed them
 * (the eq_upload_fn's owner, which outlives the model). The context owns the backend. */
#ifndef EQ_BACKEND_H
#define EQ_BACKEND_H

#include <stddef.h>
#include "edgeq.h"          /* eq_status, eq_token, eq_kv_type */
#include "gguf/gguf.h"      /* eq_gguf_tensor, for the upload hook */
#include "ops/weight.h"
#include "ops/ops.h"        /* eq_rope (parameters only: backends pick their own kernels) */

/* Activation slots: n_batch rows each, floats, a row as wide as the op that writes it says
 * (up to the slot's width). LOGITS holds up to n_batch rows of n_vocab; a backend may allocate
 * rows past the first when first asked for (only perplexity asks for many). */
typedef enum {
    EQ_ACT_X,       /* the residual stream, n_embd */
    EQ_ACT_XB,      /* a normed or projected copy of it, n_embd */
    EQ_ACT_Q, EQ_ACT_K, EQ_ACT_V,   /* the step's queries, keys, values */
    EQ_ACT_ATT,     /* attention output, n_head * head_dim */
    EQ_ACT_HB, EQ_ACT_HB2,          /* wide scratch: fused QKV, gate, up (the widest of them) */
    EQ_ACT_LOGITS,
    EQ_ACT_COUNT
} eq_act;

typedef struct {
    int n_ctx, n_batch, n_threads;  /* n_threads: CPU only; >= 1 */
    eq_kv_type kv_type;
    int n_layer, n_head, n_head_kv, head_dim;
    int width[EQ_ACT_COUNT];        /* floats per row */
    const eq_weight *const *mm;     /* every weight matmul will be given: the CPU sizes its
                                       scratch by them; a backend without a kernel for one's
                                       type fails its creation with EQ_ERR_UNSUPPORTED */
    int n_mm;
    /* per layer (n_layer entries, read only during creation; NULL: all 0): 0 for a layer that
     * attends to every position, w > 0 for a sliding-window layer whose attention is always
     * called with window w. Such a layer may keep only its last eq_kv_keep(w, ...) positions
     * (the CPU: a ring indexed pos % keep); the context relies on no fewer being kept. */
    const int *window;
} eq_backend_params;

/* The positions a sliding-window layer must keep: a step of n <= n_batch tokens at pos0 stores
 * all its keys before attending, and its first token still needs the w - 1 positions before
 * pos0, so w + n_batch - 1 (never more than n_ctx). Storing position p may then drop every
 * position <= p - keep; eq_ctx_truncate refuses a cut that would need one of them. */
static inline int eq_kv_keep(int window, int n_batch, int n_ctx) {
    const long long k = (long long)window + n_batch - 1;
    return window <= 0 || k >= n_ctx ? n_ctx : (int)k;
}

/* Backends are created by eq_ctx_new (models/context.c) from these parameters, as
 * eq_ctx_params.device asks: the CPU one (backend/cpu/cpu.h) or WebGPU (backend/webgpu/). */

/* Where check_finite found the first bad row: the caller's site number and token index. */
typedef struct { int site, token; } eq_fault;

typedef struct eq_backend eq_backend;

typedef struct {
    void (*free)(eq_backend *b);
    /* dst rows t < n = w's row ids[t] as floats (w may be quantized: tok_embd) */
    void (*get_rows)(eq_backend *b, eq_act dst, const eq_weight *w, const eq_token *ids, int n);
    /* dst rows t < n = rmsnorm(src row src_row0 + t) * w, rows of len. Slot rows are packed,
     * so n rows of n_head * head_dim may be normed as n * n_head rows of head_dim (QK-norm). */
    void (*rmsnorm)(eq_backend *b, eq_act dst, eq_act src, int src_row0, int n, int len, const eq_weight *w, float eps);
    /* dst row t = W · src row t (+ bias) for t < n: src rows w->ne0 long, dst rows w->ne1.
     * bias: NULL or absent (data NULL) for none. */
    void (*matmul)(eq_backend *b, eq_act dst, const eq_weight *w, const eq_weight *bias, eq_act src, int n);
    /* dst rows of len = columns [col0, col0 + len) of src rows of src_len (splits fused QKV) */
    void (*copy_cols)(eq_backend *b, eq_act dst, eq_act src, int n, int col0, int len, int src_len);
    /* rotate rows of n_head heads in place, row t at position pos0 + t. r->freq_factors is
     * ignored: the divisors come from `factors` (NULL or absent: none), an F32 weight. */
    void (*rope)(eq_backend *b, eq_act a, int n, int n_head, int pos0, const eq_rope *r, const eq_weight *factors);
    /* a *= s over n rows of len */
    void (*scale)(eq_backend *b, eq_act a, int n, int len, float s);
    /* keys and values of n tokens (the K and V slots) into the layer's cache at pos0.. (a
     * sliding-window layer may overwrite positions older than its keep: see eq_kv_keep) */
    void (*store_kv)(eq_backend *b, int layer, int n, int pos0);
    /* ATT row t = causal attention of Q row t over the layer's cache [0, pos0 + t], or with a
     * sliding window (window > 0, the layer's params.window) over its last `window` positions
     * only, (pos0 + t - window, pos0 + t] */
    void (*attention)(eq_backend *b, int layer, int n, int pos0, float scale, int window);
    /* dst[t][i] = silu(gate[t][i]) * up[t][up_col0 + i], i < len; gate and up rows ld long
     * (fused gate/up: one slot, up_col0 = len). dst may be gate when ld == len. */
    void (*swiglu)(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0);
    /* the same with gelu (tanh approximation, rounded through F16 as ggml's CPU does): gemma3 */
    void (*geglu)(eq_backend *b, eq_act dst, eq_act gate, eq_act up, int n, int len, int ld, int up_col0);
    /* a = cap * tanh(a / cap) over n rows of len (gemma3's final logit softcapping) */
    void (*softcap)(eq_backend *b, eq_act a, int n, int len, float cap);
    /* dst += src over n rows of len (the residual) */
    void (*add)(eq_backend *b, eq_act dst, eq_act src, int n, int len);
    /* rows 0..n of len in a: the token (first + row) of the first row holding a NaN or an
     * infinity, or -1; a deferred backend records the check (site, first) and returns -1 */
    int (*check_finite)(eq_backend *b, eq_act a, int n, int len, int site, int first);
    /* end of the step's ops: start (GPU) or finish (CPU) the work. EQ_OK or the first failure. */
    eq_status (*submit)(eq_backend *b);
    /* rows [row0, row0 + n) of len from a into host memory; after submit only. A deferred
     * check that failed: EQ_ERR_FORMAT and *fault. */
    eq_status (*read)(eq_backend *b, eq_act a, int row0, int n, int len, float *dst, eq_fault *fault);
    /* optional (NULL: none): after a step submitted with want_argmax, the index of the largest
     * value of LOGITS row 0 (the lowest on ties, as the greedy sampler), the only readback */
    eq_status (*read_argmax)(eq_backend *b, int *id, eq_fault *fault);
} eq_backend_ops;

struct eq_backend {
    const eq_backend_ops *op;
    const char *name;       /* "cpu", "webgpu" */
    int n_threads;          /* CPU threads the ops use */
    int deferred;           /* submit only starts the work: read must wait for a later call,
                               after the host awaited the device (eq_gen_pending) */
    char err[160];          /* why submit or read failed */
    int want_argmax;        /* set before a step's ops (read_argmax backends only): read back
                               only LOGITS row 0's argmax, not the logits */
};

/* The streamed-upload hook (eq_loader_set_upload in models/model.h): called once per tensor,
 * in stream order, as soon as all its bytes are in host memory (t->data, t->nbytes), also
 * across the parts of a split file. A backend that keeps weights elsewhere copies the bytes
 * now and stores its handle in t->dev; binding copies it to eq_weight.dev. Loading for the
 * GPU without a host copy, t->data is a staging block reused for the next tensor: the bytes
 * are gone after the call (t->data is then NULL). A non-OK status fails the load with the
 * message in err. */
typedef eq_status (*eq_upload_fn)(void *user, int part, eq_gguf_tensor *t, char *err, size_t errlen);

#endif
