/* Streamed model loading: one GGUF push parser per file part. When a part's header is in,
 * its tensor memory is allocated once and every later byte lands in its final place.
 * Loading for the GPU without a host copy (EQ_DEVICE_WEBGPU, gpu_host_copy 0), a part gets no
 * tensor memory: each tensor streams through one staging block, as large as the part's
 * largest tensor, is uploaded as its last byte comes in, and the block is reused for the next
 * (wasm memory never shrinks: the sum of the tensors is never allocated). */
#include "models/model.h"
#include "models/weights.h"   /* eq_read_hparams, eq_gemma3_hparams */
#include "backend/webgpu/webgpu.h"
#include "quant/quant.h"
#include "quant/repack.h"
#include "runtime/memory.h"
#include "runtime/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eq_status eq_llama_bind(eq_model *m, char *err, size_t errlen);
eq_status eq_qwen2_bind(eq_model *m, char *err, size_t errlen);
eq_status eq_phi3_bind(eq_model *m, char *err, size_t errlen);
eq_status eq_gemma3_bind(eq_model *m, char *err, size_t errlen);

#define ARENA_ALIGN 64

struct eq_loader {
    eq_model_params params;
    int n_parts;
    eq_gguf **g;
    void **arenas;
    void **staging;     /* per part, streaming without a host copy: the reused tensor block */
    uint64_t *size;     /* declared part sizes (0: unknown) */
    int stream;         /* tensors go through staging and keep no host copy */
    int dropped;        /* some tensor's host bytes were not kept */
    eq_upload_fn upload;
    void *upload_user;
    eq_webgpu_upload_state gpu;   /* EQ_DEVICE_WEBGPU: the upload's outcome */
    eq_status failed;
    char err[320];
};

typedef struct { eq_loader *l; int part; } part_ref;

eq_model_params eq_model_default_params(void) {
    eq_model_params p = {0};
    return p;
}

static eq_status lfail(eq_loader *l, eq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    l->failed = st;
    return st;
}

eq_status eq_loader_new(const eq_model_params *params, int n_parts, eq_loader **out, char *errbuf, size_t errlen) {
    if (!out) return eq_errf(errbuf, errlen, EQ_ERR_ARG, "eq_loader_new: out is NULL");
    *out = NULL;
    if (n_parts < 1 || n_parts > 4096)
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad n_parts %d: a model has 1 to 4096 parts", n_parts);
    eq_loader *l = calloc(1, sizeof *l);
    if (!l) return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory");
    l->params = params ? *params : eq_model_default_params();
    if (l->params.device != EQ_DEVICE_CPU && l->params.device != EQ_DEVICE_WEBGPU) {
        const int d = (int)l->params.device;
        free(l);
        return eq_errf(errbuf, errlen, EQ_ERR_ARG, "bad device %d", d);
    }
#ifndef EQ_HAVE_WEBGPU
    if (l->params.device == EQ_DEVICE_WEBGPU) {
        free(l);
        return eq_errf(errbuf, errlen, EQ_ERR_UNSUPPORTED, "this build has no WebGPU (only the browser/Node module has)");
    }
#endif
    if (l->params.device == EQ_DEVICE_WEBGPU && !l->params.vocab_only) {
        l->upload = eq_webgpu_upload;
        l->upload_user = &l->gpu;
        l->stream = !l->params.gpu_host_copy;
    }
    l->n_parts = n_parts;
    l->g = calloc((size_t)n_parts, sizeof *l->g);
    l->arenas = calloc((size_t)n_parts, sizeof *l->arenas);
    l->staging = calloc((size_t)n_parts, sizeof *l->staging);
    l->size = calloc((size_t)n_parts, sizeof *l->size);
    if (!l->g || !l->arenas || !l->staging || !l->size) {
        eq_loader_free(l);
        return eq_errf(errbuf, errlen, EQ_ERR_NOMEM, "out of memory");
    }
    if (errbuf && errlen) errbuf[0] = 0;
    *out = l;
    return EQ_OK;
}

/* Device copies of a part's tensors (EQ_DEVICE_WEBGPU) are freed with it. */
static void release_dev(eq_gguf *g) {
    for (uint64_t i = 0; g && i < g->n_tensors; i++) {
        eq_webgpu_release(g->tensors[i].dev);
        g->tensors[i].dev = NULL;
    }
}

void eq_loader_free(eq_loader *l) {
    if (!l) return;
    for (int i = 0; i < l->n_parts; i++) {
        if (l->g) release_dev(l->g[i]);
        if (l->g && l->g[i]) free(l->g[i]->on_header_user);
        if (l->g) eq_gguf_free(l->g[i]);
        if (l->arenas) free(l->arenas[i]);
        if (l->staging) free(l->staging[i]);
    }
    free(l->g);
    free(l->arenas);
    free(l->staging);
    free(l->size);
    free(l);
}

void eq_loader_set_upload(eq_loader *l, eq_upload_fn fn, void *user) {
    l->upload = fn;
    l->upload_user = user;
}

void eq_loader_set_stream(eq_loader *l, int on) { l->stream = on; }

/* A layer's matrix that only the CPU will read, kept on the host: interleave its rows for the
 * packed kernels where this build has them (quant/repack.h). Out of memory for the 8-row
 * scratch leaves it as it was, which the unpacked kernels read. The token embedding table
 * too where it is also the output matrix (a one-part file with no output.weight: every
 * architecture here ties them then) and the embedding lookup can read its packed rows. And the
 * output matrix: synthetic 1.1B Q4_K_M (its output Q6_K, 8% of the bytes) tg64 34.8 -> 36.7 t/s
 * on the Zen 4 at one thread, Phi-3.5 shape (3%) tg32 9.94 -> 10.08 (A/B medians of three). */
static void maybe_repack(eq_loader *l, int part, eq_gguf_tensor *t) {
    const int tied_embd = !strcmp(t->name, "token_embd.weight") && l->n_parts == 1 &&
                          eq_gguf_find_tensor(l->g[part], "output.weight") < 0 && eq_repack_rows_readable(t->type);
    if (l->upload || l->params.vocab_only || t->data == l->staging[part] || (strncmp(t->name, "blk.", 4) != 0 && strcmp(t->name, "output.weight") != 0 && !tied_embd) ||
        t->n_dims != 2 || !eq_repack_supported(t->type) || t->ne[1] % EQ_PACK_ROWS != 0)
        return;
    t->packed = eq_repack_rows(t->type, t->data, t->ne[0], t->ne[1]) == 0;
}

/* A tensor's last byte is in (the reader routes bytes in file order): hand it to the upload
 * hook; streamed through staging, its host bytes are gone once it is up. */
static eq_status on_tensor(eq_gguf *g, eq_gguf_tensor *t, void *user) {
    part_ref *ref = user;
    eq_loader *l = ref->l;
    if (!t->data) return EQ_OK;   /* not loaded (vocab only) */
    maybe_repack(l, ref->part, t);
    char err[200] = "";
    eq_status st = l->upload ? l->upload(l->upload_user, ref->part, t, err, sizeof err) : EQ_OK;
    if (l->staging[ref->part] && t->data == l->staging[ref->part]) {   /* streamed (this part) */
        t->data = NULL;
        l->dropped = 1;
    }
    if (st) snprintf(g->err, sizeof g->err, "tensor '%s': %s", t->name, err);
    return st;
}

const char *eq_loader_errmsg(const eq_loader *l) { return l ? l->err : "out of memory"; }

/* The part's header is in: allocate its tensor memory and point every tensor there. */
static eq_status on_header(eq_gguf *g, void *user) {
    part_ref *ref = user;
    eq_loader *l = ref->l;
    if (l->params.vocab_only || g->n_tensors == 0) return EQ_OK;
    /* a matrix the GPU has no kernel for: the CPU will run the model, keep it on the host */
    for (uint64_t i = 0; l->stream && l->upload == eq_webgpu_upload && i < g->n_tensors; i++)
        if (g->tensors[i].ne[1] > 1 && !eq_webgpu_has_kernel(g->tensors[i].type)) l->stream = 0;
    if (l->stream) {
        uint64_t big = 0;
        for (uint64_t i = 0; i < g->n_tensors; i++)
            if (g->tensors[i].nbytes > big) big = g->tensors[i].nbytes;
        if ((uint64_t)(size_t)big != big || !(l->staging[ref->part] = eq_aligned_alloc(ARENA_ALIGN, (size_t)big))) {
            snprintf(g->err, sizeof g->err, "cannot allocate %llu bytes to stage tensors", (unsigned long long)big);
            return EQ_ERR_NOMEM;
        }
        /* a tensor of no bytes is never announced: it gets no memory */
        for (uint64_t i = 0; i < g->n_tensors; i++)
            g->tensors[i].data = g->tensors[i].nbytes ? l->staging[ref->part] : NULL;
        return EQ_OK;
    }
    size_t size = (size_t)g->data_size;
    if ((uint64_t)size != g->data_size || size > SIZE_MAX - ARENA_ALIGN) {
        snprintf(g->err, sizeof g->err, "tensor data (%llu bytes) does not fit in this address space",
                 (unsigned long long)g->data_size);
        return EQ_ERR_NOMEM;
    }
    /* in 2 MiB pages where Linux gives them, unless the caller asked for ordinary ones */
    void *arena = l->params.no_huge_pages ? eq_aligned_alloc(ARENA_ALIGN, size) : eq_alloc_streamed(ARENA_ALIGN, size);
    if (!arena) {
        snprintf(g->err, sizeof g->err, "cannot allocate %llu bytes for tensor data", (unsigned long long)g->data_size);
        return EQ_ERR_NOMEM;
    }
    l->arenas[ref->part] = arena;
    for (uint64_t i = 0; i < g->n_tensors; i++) g->tensors[i].data = (char *)arena + g->tensors[i].offset;
    return EQ_OK;
}

static eq_status ensure_part(eq_loader *l, int part) {
    if (part < 0 || part >= l->n_parts) return lfail(l, EQ_ERR_ARG, "part %d out of range (%d parts)", part, l->n_parts);
    if (!l->g[part]) {
        part_ref *ref = malloc(sizeof *ref);
        if (!ref) return lfail(l, EQ_ERR_NOMEM, "out of memory");
        ref->l = l;
        ref->part = part;
        l->g[part] = eq_gguf_new(l->size[part], on_header, ref);
        if (!l->g[part]) { free(ref); return lfail(l, EQ_ERR_NOMEM, "out of memory"); }
        l->g[part]->on_tensor = on_tensor;
    }
    return EQ_OK;
}

eq_status eq_loader_set_part_size(eq_loader *l, int part, uint64_t size) {
    if (part < 0 || part >= l->n_parts) return lfail(l, EQ_ERR_ARG, "part %d out of range", part);
    if (l->g[part]) return lfail(l, EQ_ERR_ARG, "part %d size set after feeding began", part);
    l->size[part] = size;
    return EQ_OK;
}

eq_status eq_loader_feed(eq_loader *l, int part, const void *buf, size_t n) {
    if (l->failed) return l->failed;
    eq_status st = ensure_part(l, part);
    if (st) return st;
    eq_gguf *g = l->g[part];
    st = eq_gguf_feed(g, buf, n);
    if (st) {
        if (l->n_parts > 1) return lfail(l, st, "part %d: %s", part + 1, g->err);
        return lfail(l, st, "%s", g->err);
    }
    if (l->size[part] && g->pos > l->size[part])
        return lfail(l, EQ_ERR_FORMAT, "part %d: more bytes than its declared size", part + 1);
    if (l->params.progress) {
        uint64_t loaded, total;
        eq_loader_progress(l, &loaded, &total);
        if (l->params.progress(l->params.progress_user, loaded, total))
            return lfail(l, EQ_ERR_ABORTED, "loading aborted");
    }
    return EQ_OK;
}

void eq_loader_progress(const eq_loader *l, uint64_t *loaded, uint64_t *total) {
    uint64_t a = 0, b = 0;
    int known = 1;
    for (int i = 0; i < l->n_parts; i++) {
        const eq_gguf *g = l->g[i];
        a += g ? g->pos : 0;
        if (l->size[i]) b += l->size[i];
        else if (g && g->header_ready) b += g->data_offset + g->data_size;
        else known = 0;
    }
    *loaded = a;
    *total = known ? b : 0;
}

static void free_model_parts(eq_model *m) {
    for (int i = 0; i < m->n_parts; i++) {
        if (m->parts) {
            release_dev(m->parts[i]);
            if (m->parts[i]) free(m->parts[i]->on_header_user);
            eq_gguf_free(m->parts[i]);
        }
        if (m->arenas) free(m->arenas[i]);
    }
    free(m->parts);
    free(m->arenas);
}

void eq_model_free(eq_model *m) {
    if (!m) return;
    free_model_parts(m);
    eq_vocab_free(m->vocab);
    free(m->layers);
    free(m->chat_template);
    free(m);
}

static eq_status bind_arch(eq_model *m, char *err, size_t errlen) {
    switch (m->arch) {
    case EQ_ARCH_LLAMA: return eq_llama_bind(m, err, errlen);
    case EQ_ARCH_QWEN2: return eq_qwen2_bind(m, err, errlen);
    case EQ_ARCH_PHI3: return eq_phi3_bind(m, err, errlen);
    case EQ_ARCH_GEMMA3: return eq_gemma3_bind(m, err, errlen);
    }
    return EQ_ERR_UNSUPPORTED;
}

/* Vocabulary-only: the hyperparameters too when the architecture is one we read (`edgeq info`
 * shows them), but a vocabulary file need not have them: on any error they stay zero. */
static void vocab_only_hparams(eq_model *m, int arch_known) {
    char err[256];
    eq_status st = !arch_known ? EQ_ERR_UNSUPPORTED
                 : m->arch == EQ_ARCH_GEMMA3 ? eq_gemma3_hparams(m, err, sizeof err)
                 : eq_read_hparams(m, err, sizeof err);
    if (st) {
        memset(&m->hp, 0, sizeof m->hp);
        m->hp.n_vocab = eq_vocab_n_tokens(m->vocab);
    }
}

eq_status eq_loader_finish(eq_loader *l, eq_model **out) {
    *out = NULL;
    if (l->failed) return l->failed;
    for (int i = 0; i < l->n_parts; i++) {
        if (!l->g[i]) return lfail(l, EQ_ERR_FORMAT, "part %d of %d was never fed", i + 1, l->n_parts);
        eq_status st = eq_gguf_finish(l->g[i]);
        if (st) return l->n_parts > 1 ? lfail(l, st, "part %d: %s", i + 1, l->g[i]->err) : lfail(l, st, "%s", l->g[i]->err);
    }
    const eq_gguf *g0 = l->g[0];
    /* split files: each part says which it is; the count must match what we were given */
    uint64_t split_count = 1;
    if (eq_gguf_get_u64(g0, "split.count", &split_count) && split_count != (uint64_t)l->n_parts)
        return lfail(l, EQ_ERR_FORMAT, "the model is split into %llu files but %d were given",
                     (unsigned long long)split_count, l->n_parts);
    for (int i = 0; i < l->n_parts && l->n_parts > 1; i++) {
        uint64_t no;
        if (!eq_gguf_get_u64(l->g[i], "split.no", &no) || no != (uint64_t)i)
            return lfail(l, EQ_ERR_FORMAT, "part %d is not split number %d (split.no missing or different)", i + 1, i);
    }

    eq_model *m = calloc(1, sizeof *m);
    if (!m) return lfail(l, EQ_ERR_NOMEM, "out of memory");
    /* the model takes over the parsers and the tensor memory */
    m->parts = l->g;
    m->arenas = l->arenas;
    m->n_parts = l->n_parts;
    m->vocab_only = l->params.vocab_only;
    m->device = l->params.device;
    m->host_weights = m->vocab_only || !l->dropped;
    m->dev_bytes = l->gpu.bytes;
    snprintf(m->dev_err, sizeof m->dev_err, "%s", l->gpu.err);
    /* a model that cannot run on the GPU keeps none of it there */
    for (int p = 0; p < m->n_parts && m->dev_err[0]; p++) release_dev(m->parts[p]);
    if (m->dev_err[0]) m->dev_bytes = 0;
    l->g = NULL;
    l->arenas = NULL;
    for (int i = 0; i < l->n_parts; i++) {   /* staging is the loader's: gone with the stream */
        free(l->staging[i]);
        l->staging[i] = NULL;
    }
    int n_parts = l->n_parts;
    l->n_parts = 0;
    (void)n_parts;

    const char *arch = eq_gguf_get_str(g0, "general.architecture");
    char err[256] = "";
    eq_status st = EQ_OK;
    if (!arch) { st = EQ_ERR_FORMAT; snprintf(err, sizeof err, "missing metadata 'general.architecture'"); goto fail; }
    snprintf(m->arch_name, sizeof m->arch_name, "%s", arch);
    int arch_known = 1;
    if (!strcmp(arch, "llama")) m->arch = EQ_ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2")) m->arch = EQ_ARCH_QWEN2;
    else if (!strcmp(arch, "phi3")) m->arch = EQ_ARCH_PHI3;
    else if (!strcmp(arch, "gemma3")) m->arch = EQ_ARCH_GEMMA3;
    else if (!m->vocab_only) {
        st = EQ_ERR_UNSUPPORTED;
        snprintf(err, sizeof err, "unsupported architecture '%s' (llama, qwen2, phi3 and gemma3 are supported)", arch);
        goto fail;
    } else {
        arch_known = 0;
    }
    if ((st = eq_vocab_load(g0, &m->vocab, err, sizeof err))) goto fail;
    const char *tmpl = eq_gguf_get_str(g0, "tokenizer.chat_template");
    if (tmpl && (m->chat_template = malloc(strlen(tmpl) + 1))) strcpy(m->chat_template, tmpl);
    if (tmpl && !m->chat_template) { st = EQ_ERR_NOMEM; snprintf(err, sizeof err, "out of memory"); goto fail; }
    for (int p = 0; p < m->n_parts; p++)
        for (uint64_t i = 0; i < m->parts[p]->n_tensors; i++) {
            const eq_gguf_tensor *t = &m->parts[p]->tensors[i];
            m->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
            m->n_bytes += t->nbytes;
        }
    if (m->vocab_only) vocab_only_hparams(m, arch_known);
    else if ((st = bind_arch(m, err, sizeof err))) goto fail;
    if (!m->vocab_only && m->hp.n_vocab != m->tok_embd.ne1) {
        st = EQ_ERR_FORMAT;
        snprintf(err, sizeof err, "vocabulary has %d tokens but token_embd has %lld rows", m->hp.n_vocab, (long long)m->tok_embd.ne1);
        goto fail;
    }
    *out = m;
    return EQ_OK;
fail:
    eq_model_free(m);
    return lfail(l, st, "%s", err);
}

/* "name-00001-of-00003.gguf": the number of parts and each part's path. */
static int split_count(const char *path) {
    size_t n = strlen(path);
    if (n < 25 || strcmp(path + n - 5, ".gguf")) return 1;
    const char *s = path + n - 5 - 15; /* "-00001-of-00003" */
    int a, b;
    char sep1, sep2;
    if (sscanf(s, "%c%5d-of-%5d%c", &sep1, &a, &b, &sep2) == 4 && sep1 == '-' && sep2 == '.' && a >= 1 && b >= 1 && a <= b)
        return b;
    return 1;
}

static eq_status feed_file(eq_loader *l, int part, const char *path, char *errbuf, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errlen, "%s: cannot open file", path);
        return EQ_ERR_IO;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long long s = ftell(f);
        if (s >= 0) eq_loader_set_part_size(l, part, (uint64_t)s);
        fseek(f, 0, SEEK_SET);
    }
    size_t cap = 1 << 20;  /* small: edge hosts count every MiB of linear memory */
    char *buf = malloc(cap);
    eq_status st = buf ? EQ_OK : EQ_ERR_NOMEM;
    if (!buf) snprintf(errbuf, errlen, "%s: out of memory", path);
    int fed = 0;
    while (st == EQ_OK) {
        size_t got = fread(buf, 1, cap, f);
        if (got == 0) {
            if (ferror(f)) { st = EQ_ERR_IO; snprintf(errbuf, errlen, "%s: read error", path); }
            break;
        }
        fed = 1;
        if ((st = eq_loader_feed(l, part, buf, got))) snprintf(errbuf, errlen, "%s: %s", path, l->err);
    }
    if (st == EQ_OK && !fed) {
        st = EQ_ERR_FORMAT;
        snprintf(errbuf, errlen, "%s: empty file", path);
    }
    free(buf);
    fclose(f);
    return st;
}

eq_status eq_model_load(const char *path, const eq_model_params *params, eq_model **out, char *errbuf, size_t errlen) {
    char dummy[8];
    if (!errbuf) { errbuf = dummy; errlen = sizeof dummy; }
    errbuf[0] = 0;
    *out = NULL;
    if (!path) { snprintf(errbuf, errlen, "no model path given"); return EQ_ERR_ARG; }
    int n = split_count(path);
    eq_loader *l;
    char lerr[128];
    eq_status st = eq_loader_new(params, n, &l, lerr, sizeof lerr);
    if (st) return eq_errf(errbuf, errlen, st, "%s: %s", path, lerr);
    size_t plen = strlen(path);
    char *p = malloc(plen + 1);
    if (!p) st = EQ_ERR_NOMEM;
    for (int i = 0; i < n && st == EQ_OK; i++) {
        memcpy(p, path, plen + 1);
        if (n > 1) {
            char num[16];
            snprintf(num, sizeof num, "%05d", i + 1);
            memcpy(p + plen - 5 - 14, num, 5);  /* rewrite the part number in "-NNNNN-of-" */
        }
        st = feed_file(l, i, p, errbuf, errlen);
    }
    free(p);
    if (st == EQ_OK && (st = eq_loader_finish(l, out))) snprintf(errbuf, errlen, "%s: %s", path, l->err);
    eq_loader_free(l);
    return st;
}
