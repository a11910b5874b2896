/* edgeq for the browser (and Node) through Emscripten: thin exports over include/edgeq.h.
 *
 * The JavaScript side (js/src/engine.js) calls these with plain numbers: pointers are wasm32
 * offsets, 64-bit sizes travel as doubles (exact below 2^53) so no BigInt / i64 legalisation
 * is involved. Everything that can fail returns an eq_status (or NULL) and leaves its message
 * where eqw_errmsg / eq_loader_errmsg / eq_ctx_errmsg can read it. Nothing here prints,
 * aborts or exits. Whoever allocates frees: every *_new has its *_free.
 */
#include <edgeq.h>
#include <edgeq_quantize.h>

#include <emscripten/emscripten.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT EMSCRIPTEN_KEEPALIVE

static char g_err[512];

EXPORT const char *eqw_errmsg(void) { return g_err; }
EXPORT const char *eqw_status_str(int s) { return eq_status_str((eq_status)s); }
EXPORT const char *eqw_version(void) { return EQ_VERSION; }

EXPORT int eqw_threaded(void) {
#ifdef __EMSCRIPTEN_PTHREADS__
    return 1;
#else
    return 0;
#endif
}

EXPORT void *eqw_malloc(size_t n) { return malloc(n ? n : 1); }
EXPORT void eqw_free(void *p) { free(p); }
/* Bytes in use on the heap (emmalloc's mallinfo): lets tests check that a failed load freed all. */
EXPORT double eqw_heap_used(void) { return (double)mallinfo().uordblks; }

/* ---- streamed loading ------------------------------------------------------------------- */

/* Returns the loader or NULL (the status in *st, the message in eqw_errmsg). webgpu: copy the
 * tensors to the GPU as they arrive instead (2: and keep the host copy; Module.eqGpu must be
 * set: js/src/engine.js). */
EXPORT eq_loader *eqw_loader_new(int n_parts, int vocab_only, int webgpu, int *st) {
    eq_model_params p = eq_model_default_params();
    p.vocab_only = vocab_only;
    p.device = webgpu ? EQ_DEVICE_WEBGPU : EQ_DEVICE_CPU;
    p.gpu_host_copy = webgpu == 2;   /* 2: the GPU and a host copy (the CPU's instant fallback) */
    eq_loader *l = NULL;
    *st = eq_loader_new(&p, n_parts, &l, g_err, sizeof g_err);
    return l;
}

EXPORT int eqw_loader_set_part_size(eq_loader *l, int part, double size) {
    if (!(size >= 0) || size > 9007199254740992.0) return EQ_ERR_ARG;
    return eq_loader_set_part_size(l, part, (uint64_t)size);
}

EXPORT int eqw_loader_feed(eq_loader *l, int part, const void *buf, size_t n) { return eq_loader_feed(l, part, buf, n); }

EXPORT double eqw_loader_loaded(const eq_loader *l) {
    uint64_t a, b;
    eq_loader_progress(l, &a, &b);
    return (double)a;
}

EXPORT double eqw_loader_total(const eq_loader *l) {
    uint64_t a, b;
    eq_loader_progress(l, &a, &b);
    return (double)b;
}

/* Returns the model or NULL (the message is in eq_loader_errmsg, the status in *st). */
EXPORT eq_model *eqw_loader_finish(eq_loader *l, int *st) {
    eq_model *m = NULL;
    *st = eq_loader_finish(l, &m);
    return m;
}

EXPORT const char *eqw_loader_errmsg(const eq_loader *l) { return eq_loader_errmsg(l); }
EXPORT void eqw_loader_free(eq_loader *l) { eq_loader_free(l); }
EXPORT void eqw_model_free(eq_model *m) { eq_model_free(m); }

/* ---- model information -------------------------------------------------------------------- */

EXPORT const char *eqw_model_arch(const eq_model *m) { return eq_model_arch(m); }
EXPORT int eqw_model_n_vocab(const eq_model *m) { return eq_model_n_vocab(m); }
EXPORT int eqw_model_n_ctx_train(const eq_model *m) { return eq_model_n_ctx_train(m); }
EXPORT int eqw_model_n_embd(const eq_model *m) { return eq_model_n_embd(m); }
EXPORT int eqw_model_n_layer(const eq_model *m) { return eq_model_n_layer(m); }
EXPORT double eqw_model_n_params(const eq_model *m) { return (double)eq_model_n_params(m); }
EXPORT double eqw_model_size_bytes(const eq_model *m) { return (double)eq_model_size_bytes(m); }
EXPORT int eqw_model_host_weights(const eq_model *m) { return eq_model_host_weights(m); }
EXPORT int eqw_model_meta_count(const eq_model *m) { return eq_model_meta_count(m); }
EXPORT const char *eqw_model_meta_key(const eq_model *m, int i) { return eq_model_meta_key(m, i); }
EXPORT int eqw_model_meta_str(const eq_model *m, const char *key, char *buf, int cap) { return eq_model_meta_str(m, key, buf, cap > 0 ? (size_t)cap : 0); }
EXPORT int eqw_model_tensor_count(const eq_model *m) { return eq_model_tensor_count(m); }

/* One tensor: name and type through out pointers, dims as doubles into ne (4 entries). */
EXPORT int eqw_model_tensor_info(const eq_model *m, int i, const char **name, const char **type, double *ne) {
    int64_t d[4] = {1, 1, 1, 1};
    int n_dims = 0;
    eq_status st = eq_model_tensor_info(m, i, name, type, d, &n_dims);
    if (st) return -1;
    for (int k = 0; k < 4; k++) ne[k] = (double)d[k];
    return n_dims;
}

EXPORT int eqw_token_bos(const eq_model *m) { return eq_token_bos(m); }
EXPORT int eqw_token_eos(const eq_model *m) { return eq_token_eos(m); }
EXPORT int eqw_token_eot(const eq_model *m) { return eq_token_eot(m); }
EXPORT const char *eqw_chat_template_name(const eq_model *m) { return eq_chat_template_name(m); }

/* ---- tokenizer ---------------------------------------------------------------------------- */

EXPORT int eqw_tokenize(const eq_model *m, const char *text, size_t len, int add_special, int parse_special,
                        eq_token *out, int cap, int *n_out) {
    return eq_tokenize(m, text, len, add_special, parse_special, out, cap, n_out);
}

EXPORT int eqw_token_to_piece(const eq_model *m, int t, int special, char *buf, size_t cap) {
    return eq_token_to_piece(m, t, special, buf, cap);
}

/* ---- chat templates ----------------------------------------------------------------------- */

/* roles/contents: arrays of n NUL-terminated strings -> a message array (NULL: no memory) */
static eq_chat_msg *chat_msgs(const char *const *roles, const char *const *contents, int n) {
    eq_chat_msg *msgs = malloc((size_t)(n > 0 ? n : 1) * sizeof *msgs);
    if (!msgs) return NULL;
    for (int i = 0; i < n; i++) {
        msgs[i].role = roles[i];
        msgs[i].content = contents[i];
    }
    return msgs;
}

/* tmpl may be NULL (the model's template). */
EXPORT int eqw_chat_apply(const eq_model *m, const char *tmpl, const char *const *roles,
                          const char *const *contents, int n, int add_assistant, char *buf, size_t cap,
                          size_t *n_out) {
    if (n < 0) return EQ_ERR_ARG;
    eq_chat_msg *msgs = chat_msgs(roles, contents, n);
    if (!msgs) return EQ_ERR_NOMEM;
    eq_status st = eq_chat_apply(m, tmpl, msgs, n, add_assistant, buf, cap, n_out);
    free(msgs);
    return st;
}

/* The prompt's tokens, special tokens parsed only in the template's text (eq_chat_tokenize;
 * flags: EQ_CHAT_SPECIAL_IN_CONTENT). Same buffer contract as eqw_tokenize. */
EXPORT int eqw_chat_tokenize(const eq_model *m, const char *tmpl, const char *const *roles,
                             const char *const *contents, int n, int add_assistant, int flags,
                             eq_token *out, int cap, int *n_out) {
    if (n < 0) return EQ_ERR_ARG;
    eq_chat_msg *msgs = chat_msgs(roles, contents, n);
    if (!msgs) return EQ_ERR_NOMEM;
    eq_status st = eq_chat_tokenize(m, tmpl, msgs, n, add_assistant, flags, out, cap, n_out);
    free(msgs);
    return st;
}

/* ---- inference context -------------------------------------------------------------------- */

/* The abort flag: JS (or, with shared memory, another thread) stores non-zero to make the
 * running eq_decode return EQ_ERR_ABORTED at the next layer boundary. */
typedef struct {
    eq_ctx *ctx;
    atomic_int abort;
} eqw_ctx;

static int ctx_abort_cb(void *user) { return atomic_load((atomic_int *)user); }

EXPORT eqw_ctx *eqw_ctx_new(eq_model *m, int n_ctx, int n_threads, int n_batch, int kv_f32, int webgpu, int *st) {
    eq_ctx_params p = eq_ctx_default_params();
    p.device = webgpu ? EQ_DEVICE_WEBGPU : EQ_DEVICE_CPU;
    p.n_ctx = n_ctx;
    p.n_threads = n_threads > 0 ? n_threads : 1;
    if (n_batch > 0) p.n_batch = n_batch;
    p.kv_type = kv_f32 ? EQ_KV_F32 : EQ_KV_F16;
    eqw_ctx *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(g_err, sizeof g_err, "out of memory");
        *st = EQ_ERR_NOMEM;
        return NULL;
    }
    *st = eq_ctx_new(m, &p, &w->ctx, g_err, sizeof g_err);
    if (*st) {
        free(w);
        return NULL;
    }
    atomic_init(&w->abort, 0);
    eq_ctx_set_abort(w->ctx, ctx_abort_cb, &w->abort);
    return w;
}

EXPORT void eqw_ctx_free(eqw_ctx *w) {
    if (!w) return;
    eq_ctx_free(w->ctx);
    free(w);
}

EXPORT atomic_int *eqw_ctx_abort_flag(eqw_ctx *w) { return &w->abort; }
EXPORT const char *eqw_ctx_errmsg(const eqw_ctx *w) { return eq_ctx_errmsg(w->ctx); }
EXPORT int eqw_ctx_n_ctx(const eqw_ctx *w) { return eq_ctx_n_ctx(w->ctx); }
EXPORT int eqw_ctx_truncate(eqw_ctx *w, int n_past) { return eq_ctx_truncate(w->ctx, n_past); }
EXPORT const float *eqw_ctx_logits(const eqw_ctx *w) { return eq_ctx_logits(w->ctx); }
EXPORT int eqw_ctx_logits_on_device(const eqw_ctx *w) { return eq_ctx_logits_on_device(w->ctx); }

/* ---- sampling ----------------------------------------------------------------------------- */

/* An integral double in [-2^63, 2^64) as a 64-bit seed (negative ones wrap, as OpenAI's signed
 * seeds do in `serve`); returns 0 for anything else (NaN, fractions, out of range: checked before any
 * cast, which would be undefined there). */
static int seed_of(double d, uint64_t *out) {
    if (d >= 0 && d < 18446744073709551616.0 && (double)(uint64_t)d == d) { *out = (uint64_t)d; return 1; }
    if (d < 0 && d >= -9223372036854775808.0 && (double)(int64_t)d == d) { *out = (uint64_t)(int64_t)d; return 1; }
    return 0;
}

/* ---- generation (eq_gen) -------------------------------------------------------------------
 * js/src/engine.js drives one eq_gen per context with eqw_gen_step, returning to the event loop
 * between steps. Stop strings travel as one buffer of bytes (UTF-8) and their lengths. */

/* Returns the generation or NULL: the status in *st, the message in eqw_errmsg. max_tokens < 0:
 * no limit. */
EXPORT eq_gen *eqw_gen_start(eqw_ctx *w, const eq_token *prompt, int n, float temp, int top_k, float top_p,
                             float min_p, float repeat_penalty, int repeat_last_n, double seed, int max_tokens,
                             const char *stops, const int *stop_lens, int n_stop, int n_batch, int reuse_prefix,
                             int ignore_eos, int *st) {
    eq_gen_params p = eq_gen_default_params();
    if (!seed_of(seed, &p.sp.seed)) {
        snprintf(g_err, sizeof g_err, "bad seed %g: an integer is needed", seed);
        *st = EQ_ERR_ARG;
        return NULL;
    }
    p.sp.temp = temp;
    p.sp.top_k = top_k;
    p.sp.top_p = top_p;
    p.sp.min_p = min_p;
    p.sp.repeat_penalty = repeat_penalty;
    p.sp.repeat_last_n = repeat_last_n;
    p.max_tokens = max_tokens;
    p.n_batch = n_batch > 0 ? n_batch : 0;
    p.reuse_prefix = reuse_prefix;
    p.ignore_eos = ignore_eos;
    const char *sv[64];
    size_t sl[64];
    if (n_stop < 0 || n_stop > 64) {
        snprintf(g_err, sizeof g_err, "%d stop strings: at most 64 are allowed", n_stop);
        *st = EQ_ERR_ARG;
        return NULL;
    }
    for (int i = 0, off = 0; i < n_stop; i++) {
        sv[i] = stops + off;
        sl[i] = stop_lens[i] > 0 ? (size_t)stop_lens[i] : 0;
        off += stop_lens[i] > 0 ? stop_lens[i] : 0;
    }
    p.stop = sv;
    p.stop_len = sl;
    p.n_stop = n_stop;
    eq_gen *g = NULL;
    *st = eq_gen_start(w->ctx, prompt, n, &p, &g, g_err, sizeof g_err);
    return g;
}

/* One step: out[0] the released text's address, out[1] its length (complete UTF-8), out[2]
 * done, out[3] pending (a GPU step is in flight: await Module.eqGpu.wait(), then step again).
 * A decode in the step can be aborted through the context's flag, cleared first. */
EXPORT int eqw_gen_step(eq_gen *g, eqw_ctx *w, int *out) {
    const char *text;
    size_t len;
    int done;
    atomic_store(&w->abort, 0);
    eq_status st = eq_gen_step(g, &text, &len, &done);
    out[0] = (int)(intptr_t)text;
    out[1] = (int)len;
    out[2] = done;
    out[3] = eq_gen_pending(g);
    return st;
}

/* 1 stop, 2 length, 0 not finished */
EXPORT int eqw_gen_finish_reason(const eq_gen *g) { return eq_gen_finish_reason(g); }
/* out: prompt tokens, cached tokens, generated tokens */
EXPORT void eqw_gen_stats(const eq_gen *g, int *out) {
    eq_gen_stats s;
    eq_gen_stats_get(g, &s);
    out[0] = s.n_prompt;
    out[1] = s.n_cached;
    out[2] = s.n_gen;
}
EXPORT const char *eqw_gen_errmsg(const eq_gen *g) { return eq_gen_errmsg(g); }
EXPORT void eqw_gen_free(eq_gen *g) { eq_gen_free(g); }

/* ---- quantization, client-side ------------------------------------------------------------
 * The same quantizer as `edgeq quantize` (llama-quantize's bytes), over callbacks instead of
 * files: the input is read in slabs through Module.eqwQuantize.read(pos, ptr, n) (a Blob with
 * FileReaderSync in a worker, a buffer, a Node file descriptor), the output handed out in
 * order through .write(ptr, n), progress lines through .log(line). Each returns 0 on success. */

EM_JS(int, eqw_js_qread, (double pos, void *buf, size_t n), {
    return Module.eqwQuantize.read(pos, buf >>> 0, n >>> 0) | 0;
});
EM_JS(int, eqw_js_qwrite, (const void *buf, size_t n), {
    return Module.eqwQuantize.write(buf >>> 0, n >>> 0) | 0;
});
EM_JS(void, eqw_js_qlog, (const char *line), {
    Module.eqwQuantize.log(UTF8ToString(line));
});

static int q_read(void *user, uint64_t pos, void *buf, size_t n) { (void)user; return eqw_js_qread((double)pos, buf, n); }
static int q_write(void *user, const void *buf, size_t n) { (void)user; return eqw_js_qwrite(buf, n); }
static void q_log(void *user, const char *line) { (void)user; eqw_js_qlog(line); }

/* type: a llama-quantize type name ("Q4_K_M"); out_type / embd_type: tensor type names for
 * output.weight / token_embd.weight, or "" for the rules' choice. */
EXPORT int eqw_quantize(double size, const char *name, const char *type, int n_threads, int pure, int allow_requantize,
                        const char *out_type, const char *embd_type) {
    eq_quantize_params p = eq_quantize_default_params();
    p.ftype = eq_ftype_from_name(type);
    if (p.ftype < 0) {
        snprintf(g_err, sizeof g_err, "unknown quantization type '%s'", type);
        return EQ_ERR_ARG;
    }
    const char *tn[2] = {out_type, embd_type};
    int *dst[2] = {&p.output_type, &p.token_embd_type};
    for (int i = 0; i < 2; i++) {
        if (!tn[i] || !*tn[i]) continue;
        int t = eq_type_from_name(tn[i]);
        if (t < 0 || !eq_quantize_supported(t)) {
            snprintf(g_err, sizeof g_err, "unknown or unsupported tensor type '%s'", tn[i]);
            return EQ_ERR_ARG;
        }
        *dst[i] = t;
    }
    if (!(size >= 0) || size > 9007199254740992.0) {
        snprintf(g_err, sizeof g_err, "bad input size");
        return EQ_ERR_ARG;
    }
    p.n_threads = n_threads > 0 ? n_threads : 1;
    p.pure = pure;
    p.allow_requantize = allow_requantize;
    p.log = q_log;
    eq_quantize_io io = {name && *name ? name : "model", (uint64_t)size, q_read, q_write, NULL};
    return eq_quantize_model_io(&io, &p, g_err, sizeof g_err);
}
