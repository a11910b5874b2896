/* GGUF writer: metadata and tensor infos kept serialized in memory, data streamed to a
 * temporary file that is renamed over the target only once complete (runtime/outfile.h), or
 * to a caller's sink, which then decides what an incomplete output means. */
#include "gguf/writer.h"
#include "quant/quant.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;       /* NULL once removed (the slot stays, so later indices keep their order) */
    uint8_t *blob;   /* everything after the key: type, [elem type, count], payload */
    size_t blob_len;
} wkv;

/* Names to indices (open addressing, linear probing): a quantize copies every key of its
 * input and adds every tensor, each after a duplicate check, so a linear search made a
 * crafted file with a million keys or tensors quadratic. Slots: -1 empty, -2 removed. */
typedef struct {
    int *slot;
    size_t cap;      /* a power of two, or 0 */
    size_t used;     /* slots not empty (removed ones included) */
} nameidx;

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The slot holding name (names[i] for an index i), or the first empty one after the probe. */
static size_t idx_probe(const nameidx *x, char *const *names, size_t stride, const char *name, int *found) {
    size_t mask = x->cap - 1, i = (size_t)name_hash(name) & mask;
    for (;; i = (i + 1) & mask) {
        int e = x->slot[i];
        if (e == -1) { *found = 0; return i; }
        if (e >= 0 && !strcmp(*(char *const *)((const char *)names + (size_t)e * stride), name)) { *found = 1; return i; }
    }
}

static int idx_find(const nameidx *x, char *const *names, size_t stride, const char *name) {
    if (!x->cap) return -1;
    int found;
    size_t i = idx_probe(x, names, stride, name, &found);
    return found ? x->slot[i] : -1;
}

/* Adds index k (whose name is not in x yet), growing the table to at most half full. */
static int idx_add(nameidx *x, char *const *names, size_t stride, int k) {
    if ((x->used + 1) * 2 > x->cap) {
        size_t cap = x->cap ? x->cap : 64;
        while ((x->used + 1) * 2 > cap) cap *= 2;   /* removed slots are dropped below: used only shrinks */
        int *ns = malloc(cap * sizeof *ns);
        if (!ns) return -1;
        nameidx nx = {ns, cap, 0};
        for (size_t i = 0; i < cap; i++) ns[i] = -1;
        for (size_t i = 0; i < x->cap; i++) {
            int e = x->slot[i];
            if (e < 0) continue;
            int found;
            nx.slot[idx_probe(&nx, names, stride, *(char *const *)((const char *)names + (size_t)e * stride), &found)] = e;
            nx.used++;
        }
        free(x->slot);
        *x = nx;
    }
    int found;
    x->slot[idx_probe(x, names, stride, *(char *const *)((const char *)names + (size_t)k * stride), &found)] = k;
    x->used++;
    return 0;
}

static void idx_remove(nameidx *x, char *const *names, size_t stride, const char *name) {
    if (!x->cap) return;
    int found;
    size_t i = idx_probe(x, names, stride, name, &found);
    if (found) x->slot[i] = -2;
}

typedef struct {
    char *name;
    int n_dims, type;
    int64_t ne[EQ_GGUF_MAX_DIMS];
    uint64_t nbytes, offset;
} wtensor;

struct eq_gguf_writer {
    wkv *kv;
    int n_kv, cap_kv;   /* slots, removed ones included */
    int n_live;         /* keys set */
    nameidx kv_idx;
    wtensor *t;
    int n_t, cap_t;
    nameidx t_idx;
    uint32_t alignment;
    /* output state */
    eq_outfile *out;    /* the file being written (temporary until finish) */
    FILE *f;            /* its stream */
    int (*sink)(void *user, const void *data, size_t n);   /* instead of f, when set */
    void *sink_user;
    char *path;
    int cur;            /* tensor receiving data */
    uint64_t cur_done;  /* its bytes written so far */
    int finished;
    char err[512];
};

static eq_status fail(eq_gguf_writer *w, eq_status st, const char *fmt, ...) {
    if (!w->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err, sizeof w->err, fmt, ap);
        va_end(ap);
    }
    return st;
}

eq_gguf_writer *eq_gguf_writer_new(void) {
    eq_gguf_writer *w = calloc(1, sizeof *w);
    if (w) w->alignment = EQ_GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void eq_gguf_writer_abort(eq_gguf_writer *w) {
    if (!w) return;
    eq_outfile_abort(w->out);   /* closes and removes the temporary file */
    w->out = NULL;
    w->f = NULL;
    w->sink = NULL;
}

void eq_gguf_writer_free(eq_gguf_writer *w) {
    if (!w) return;
    eq_gguf_writer_abort(w);
    for (int i = 0; i < w->n_kv; i++) { free(w->kv[i].key); free(w->kv[i].blob); }
    free(w->kv);
    free(w->kv_idx.slot);
    free(w->t_idx.slot);
    for (int i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->path);
    free(w);
}

const char *eq_gguf_writer_errmsg(const eq_gguf_writer *w) { return w ? w->err : "out of memory"; }

/* ---- a growable byte buffer for building blobs ---- */

typedef struct { uint8_t *b; size_t n, cap; int oom; } bbuf;

static void bput(bbuf *o, const void *p, size_t n) {
    if (o->oom) return;
    if (n > SIZE_MAX - o->n) { o->oom = 1; return; }
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->n + n) {
            if (cap > SIZE_MAX / 2) { cap = o->n + n; break; }
            cap *= 2;
        }
        uint8_t *nb = realloc(o->b, cap);
        if (!nb) { o->oom = 1; return; }
        o->b = nb;
        o->cap = cap;
    }
    if (n) memcpy(o->b + o->n, p, n);
    o->n += n;
}
/* GGUF is little-endian; so is every target edgeq builds for (asserted by the reader too) */
static void bu32(bbuf *o, uint32_t v) { bput(o, &v, 4); }
static void bu64(bbuf *o, uint64_t v) { bput(o, &v, 8); }
static void bstr(bbuf *o, const char *s, uint64_t len) { bu64(o, len); bput(o, s, (size_t)len); }

#define KV_NAMES(w) (&(w)->kv[0].key), sizeof(wkv)
#define T_NAMES(w) (&(w)->t[0].name), sizeof(wtensor)

static int find_kv(const eq_gguf_writer *w, const char *key) {
    return w->n_kv ? idx_find(&w->kv_idx, KV_NAMES(w), key) : -1;
}

int eq_gguf_writer_remove(eq_gguf_writer *w, const char *key) {
    int i = find_kv(w, key);
    if (i < 0) return 0;
    idx_remove(&w->kv_idx, KV_NAMES(w), key);
    free(w->kv[i].key);
    free(w->kv[i].blob);
    w->kv[i].key = NULL;
    w->kv[i].blob = NULL;
    w->n_live--;
    return 1;
}

int eq_gguf_writer_n_kv(const eq_gguf_writer *w) { return w->n_live; }

static eq_status check_open(eq_gguf_writer *w, const char *what) {
    if (w->err[0]) return EQ_ERR_ARG;
    if (w->f || w->sink || w->finished) return fail(w, EQ_ERR_ARG, "GGUF writer: %s after the file was opened", what);
    return EQ_OK;
}

/* Take ownership of blob as key's value: remove any old one, append (gguf_set_val_* order). */
static eq_status put_kv(eq_gguf_writer *w, const char *key, bbuf *blob) {
    eq_status st = check_open(w, "setting metadata");
    if (st) { free(blob->b); return st; }
    if (!key || !*key) { free(blob->b); return fail(w, EQ_ERR_ARG, "GGUF writer: empty metadata key"); }
    if (blob->oom) { free(blob->b); return fail(w, EQ_ERR_NOMEM, "out of memory setting '%s'", key); }
    size_t klen = strlen(key);
    if (klen > 65535) { free(blob->b); return fail(w, EQ_ERR_ARG, "metadata key of %zu bytes is too long", klen); }
    char *k = malloc(klen + 1);
    if (!k) { free(blob->b); return fail(w, EQ_ERR_NOMEM, "out of memory setting '%s'", key); }
    memcpy(k, key, klen + 1);
    eq_gguf_writer_remove(w, key);
    if (w->n_kv == w->cap_kv) {
        int cap = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv *nk = realloc(w->kv, (size_t)cap * sizeof *nk);
        if (!nk) { free(k); free(blob->b); return fail(w, EQ_ERR_NOMEM, "out of memory setting '%s'", key); }
        w->kv = nk;
        w->cap_kv = cap;
    }
    w->kv[w->n_kv].key = k;
    w->kv[w->n_kv].blob = blob->b;
    w->kv[w->n_kv].blob_len = blob->n;
    if (idx_add(&w->kv_idx, KV_NAMES(w), w->n_kv)) {
        free(k);
        free(blob->b);
        return fail(w, EQ_ERR_NOMEM, "out of memory setting '%s'", key);
    }
    w->n_kv++;
    w->n_live++;
    return EQ_OK;
}

static eq_status set_scalar(eq_gguf_writer *w, const char *key, int type, const void *v) {
    bbuf o = {0};
    bu32(&o, (uint32_t)type);
    bput(&o, v, eq_gguf_value_size(type));
    return put_kv(w, key, &o);
}

eq_status eq_gguf_writer_set_u8(eq_gguf_writer *w, const char *k, uint8_t v) { return set_scalar(w, k, EQ_GGUF_U8, &v); }
eq_status eq_gguf_writer_set_i8(eq_gguf_writer *w, const char *k, int8_t v) { return set_scalar(w, k, EQ_GGUF_I8, &v); }
eq_status eq_gguf_writer_set_u16(eq_gguf_writer *w, const char *k, uint16_t v) { return set_scalar(w, k, EQ_GGUF_U16, &v); }
eq_status eq_gguf_writer_set_i16(eq_gguf_writer *w, const char *k, int16_t v) { return set_scalar(w, k, EQ_GGUF_I16, &v); }
eq_status eq_gguf_writer_set_u32(eq_gguf_writer *w, const char *k, uint32_t v) { return set_scalar(w, k, EQ_GGUF_U32, &v); }
eq_status eq_gguf_writer_set_i32(eq_gguf_writer *w, const char *k, int32_t v) { return set_scalar(w, k, EQ_GGUF_I32, &v); }
eq_status eq_gguf_writer_set_u64(eq_gguf_writer *w, const char *k, uint64_t v) { return set_scalar(w, k, EQ_GGUF_U64, &v); }
eq_status eq_gguf_writer_set_i64(eq_gguf_writer *w, const char *k, int64_t v) { return set_scalar(w, k, EQ_GGUF_I64, &v); }
eq_status eq_gguf_writer_set_f32(eq_gguf_writer *w, const char *k, float v) { return set_scalar(w, k, EQ_GGUF_F32, &v); }
eq_status eq_gguf_writer_set_f64(eq_gguf_writer *w, const char *k, double v) { return set_scalar(w, k, EQ_GGUF_F64, &v); }
eq_status eq_gguf_writer_set_bool(eq_gguf_writer *w, const char *k, int v) {
    uint8_t b = v != 0; /* ggml writes bools as 0/1 */
    return set_scalar(w, k, EQ_GGUF_BOOL, &b);
}

eq_status eq_gguf_writer_set_strn(eq_gguf_writer *w, const char *key, const char *v, size_t len) {
    bbuf o = {0};
    bu32(&o, EQ_GGUF_STRING);
    bstr(&o, v ? v : "", v ? len : 0);
    return put_kv(w, key, &o);
}

eq_status eq_gguf_writer_set_str(eq_gguf_writer *w, const char *key, const char *v) {
    return eq_gguf_writer_set_strn(w, key, v, v ? strlen(v) : 0);
}

eq_status eq_gguf_writer_set_arr(eq_gguf_writer *w, const char *key, int elem_type, const void *data, uint64_t n) {
    size_t es = eq_gguf_value_size(elem_type);
    if (w->err[0]) return EQ_ERR_ARG;
    if (!es) return fail(w, EQ_ERR_ARG, "metadata '%s': bad array element type %d", key ? key : "?", elem_type);
    if (n > SIZE_MAX / es) return fail(w, EQ_ERR_NOMEM, "metadata '%s': array too large", key ? key : "?");
    bbuf o = {0};
    bu32(&o, EQ_GGUF_ARRAY);
    bu32(&o, (uint32_t)elem_type);
    bu64(&o, n);
    if (elem_type == EQ_GGUF_BOOL) {
        for (uint64_t i = 0; i < n; i++) {
            uint8_t b = ((const uint8_t *)data)[i] != 0;
            bput(&o, &b, 1);
        }
    } else {
        bput(&o, data, (size_t)n * es);
    }
    return put_kv(w, key, &o);
}

eq_status eq_gguf_writer_set_arr_str(eq_gguf_writer *w, const char *key, const char *const *v, const uint64_t *lens,
                                     uint64_t n) {
    bbuf o = {0};
    bu32(&o, EQ_GGUF_ARRAY);
    bu32(&o, EQ_GGUF_STRING);
    bu64(&o, n);
    for (uint64_t i = 0; i < n && !o.oom; i++) {
        const char *s = v[i] ? v[i] : "";
        bstr(&o, s, lens && v[i] ? lens[i] : strlen(s));
    }
    return put_kv(w, key, &o);
}

eq_status eq_gguf_writer_set_kv(eq_gguf_writer *w, const eq_gguf_kv *kv) {
    const char *k = kv->key;
    switch (kv->type) {
    case EQ_GGUF_U8: return eq_gguf_writer_set_u8(w, k, (uint8_t)kv->v.u);
    case EQ_GGUF_I8: return eq_gguf_writer_set_i8(w, k, (int8_t)kv->v.i);
    case EQ_GGUF_U16: return eq_gguf_writer_set_u16(w, k, (uint16_t)kv->v.u);
    case EQ_GGUF_I16: return eq_gguf_writer_set_i16(w, k, (int16_t)kv->v.i);
    case EQ_GGUF_U32: return eq_gguf_writer_set_u32(w, k, (uint32_t)kv->v.u);
    case EQ_GGUF_I32: return eq_gguf_writer_set_i32(w, k, (int32_t)kv->v.i);
    case EQ_GGUF_U64: return eq_gguf_writer_set_u64(w, k, kv->v.u);
    case EQ_GGUF_I64: return eq_gguf_writer_set_i64(w, k, kv->v.i);
    case EQ_GGUF_F32: return eq_gguf_writer_set_f32(w, k, (float)kv->v.f); /* exact: widened from f32 */
    case EQ_GGUF_F64: return eq_gguf_writer_set_f64(w, k, kv->v.f);
    case EQ_GGUF_BOOL: return eq_gguf_writer_set_bool(w, k, kv->v.u != 0);
    case EQ_GGUF_STRING: return eq_gguf_writer_set_strn(w, k, kv->str, (size_t)kv->str_len);
    case EQ_GGUF_ARRAY:
        if (kv->arr_type == EQ_GGUF_STRING) {
            bbuf o = {0};
            bu32(&o, EQ_GGUF_ARRAY);
            bu32(&o, EQ_GGUF_STRING);
            bu64(&o, kv->n);
            for (uint64_t i = 0; i < kv->n && !o.oom; i++) bstr(&o, kv->arr_str[i], kv->arr_str_len[i]);
            return put_kv(w, k, &o);
        }
        return eq_gguf_writer_set_arr(w, k, kv->arr_type, kv->arr, kv->n);
    default:
        return fail(w, EQ_ERR_ARG, "metadata '%s': unknown value type %d", k, kv->type);
    }
}

eq_status eq_gguf_writer_copy_kvs(eq_gguf_writer *w, const eq_gguf *g) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        eq_status st = eq_gguf_writer_set_kv(w, &g->kv[i]);
        if (st) return st;
    }
    return EQ_OK;
}

/* ---- tensors ---- */

eq_status eq_gguf_writer_add_tensor(eq_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne) {
    eq_status st = check_open(w, "adding a tensor");
    if (st) return st;
    if (!name || !*name) return fail(w, EQ_ERR_ARG, "GGUF writer: tensor without a name");
    if (strlen(name) >= 64) /* GGML_MAX_NAME: llama.cpp cannot load longer names */
        return fail(w, EQ_ERR_ARG, "tensor name '%s' is longer than 63 bytes", name);
    if (n_dims < 1 || n_dims > EQ_GGUF_MAX_DIMS) return fail(w, EQ_ERR_ARG, "tensor '%s': %d dimensions", name, n_dims);
    if (w->n_t && idx_find(&w->t_idx, T_NAMES(w), name) >= 0) return fail(w, EQ_ERR_ARG, "duplicate tensor name '%s'", name);
    wtensor t;
    memset(&t, 0, sizeof t);
    t.type = type;
    for (int i = 0; i < EQ_GGUF_MAX_DIMS; i++) t.ne[i] = i < n_dims ? ne[i] : 1;
    uint64_t rows = 1;
    for (int i = 0; i < EQ_GGUF_MAX_DIMS; i++) {
        if (t.ne[i] <= 0 || t.ne[i] > (1ll << 40)) return fail(w, EQ_ERR_ARG, "tensor '%s': bad dimension %d", name, i);
        if (i && rows > (1ull << 62) / (uint64_t)t.ne[i]) return fail(w, EQ_ERR_ARG, "tensor '%s' is too large", name);
        if (i) rows *= (uint64_t)t.ne[i];
    }
    size_t row = eq_row_size(type, t.ne[0]);
    if (!row)
        return fail(w, EQ_ERR_ARG, "tensor '%s': row length %lld is not a whole number of %s blocks", name,
                    (long long)t.ne[0], eq_type_name(type));
    if (rows > (1ull << 62) / row) return fail(w, EQ_ERR_ARG, "tensor '%s' is too large", name);
    t.nbytes = rows * row;
    /* ggml_n_dims: trailing 1s are not written */
    t.n_dims = 1;
    for (int i = EQ_GGUF_MAX_DIMS - 1; i >= 1; i--)
        if (t.ne[i] > 1) { t.n_dims = i + 1; break; }
    size_t nl = strlen(name);
    t.name = malloc(nl + 1);
    if (!t.name) return fail(w, EQ_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    memcpy(t.name, name, nl + 1);
    if (w->n_t == w->cap_t) {
        int cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *nt = realloc(w->t, (size_t)cap * sizeof *nt);
        if (!nt) { free(t.name); return fail(w, EQ_ERR_NOMEM, "out of memory adding tensor '%s'", name); }
        w->t = nt;
        w->cap_t = cap;
    }
    w->t[w->n_t] = t;
    if (idx_add(&w->t_idx, T_NAMES(w), w->n_t)) { free(t.name); return fail(w, EQ_ERR_NOMEM, "out of memory adding tensor '%s'", name); }
    w->n_t++;
    return EQ_OK;
}

uint64_t eq_gguf_writer_tensor_size(const eq_gguf_writer *w, int i) {
    return i >= 0 && i < w->n_t ? w->t[i].nbytes : 0;
}

/* ---- output ---- */

static eq_status put_bytes(eq_gguf_writer *w, const void *p, size_t n) {
    if (w->sink) {
        if (n && w->sink(w->sink_user, p, n)) return fail(w, EQ_ERR_IO, "%s: write failed", w->path);
        return EQ_OK;
    }
    errno = 0;
    if (n && fwrite(p, 1, n, w->f) != n)
        return fail(w, EQ_ERR_IO, "%s: write failed (%s)", w->path, errno == ENOSPC ? "disk full" : errno ? strerror(errno) : "I/O error");
    return EQ_OK;
}

static eq_status put_zeros(eq_gguf_writer *w, uint64_t n) {
    static const uint8_t zeros[64]; /* const: not mutable state */
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        eq_status st = put_bytes(w, zeros, k);
        if (st) return st;
        n -= k;
    }
    return EQ_OK;
}

static uint64_t pad_to(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static char *dup_cat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) { memcpy(s, a, la); memcpy(s + la, b, lb + 1); }
    return s;
}

/* Offsets by the alignment in force (general.alignment when set). */
static eq_status layout(eq_gguf_writer *w) {
    int ai = find_kv(w, "general.alignment");
    w->alignment = EQ_GGUF_DEFAULT_ALIGNMENT;
    if (ai >= 0) {
        const wkv *k = &w->kv[ai];
        uint32_t type, v = 0;
        memcpy(&type, k->blob, 4);
        if (type == EQ_GGUF_U32 && k->blob_len == 8) memcpy(&v, k->blob + 4, 4);
        if (type != EQ_GGUF_U32 || v == 0 || (v & (v - 1)) || v > (1u << 20))
            return fail(w, EQ_ERR_ARG, "general.alignment must be a power-of-two u32");
        w->alignment = v;
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        off = pad_to(off + w->t[i].nbytes, w->alignment);
    }
    return EQ_OK;
}

/* Header, metadata, tensor infos and the padding up to the data. */
static eq_status put_header(eq_gguf_writer *w) {
    bbuf h = {0};
    bput(&h, "GGUF", 4);
    bu32(&h, 3);
    bu64(&h, (uint64_t)w->n_t);
    bu64(&h, (uint64_t)w->n_live);
    for (int i = 0; i < w->n_kv; i++) {
        if (!w->kv[i].key) continue;   /* removed */
        bstr(&h, w->kv[i].key, strlen(w->kv[i].key));
        bput(&h, w->kv[i].blob, w->kv[i].blob_len);
    }
    for (int i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        bstr(&h, t->name, strlen(t->name));
        bu32(&h, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) bu64(&h, (uint64_t)t->ne[d]);
        bu32(&h, (uint32_t)t->type);
        bu64(&h, t->offset);
    }
    if (h.oom) { free(h.b); eq_gguf_writer_abort(w); return fail(w, EQ_ERR_NOMEM, "out of memory building the GGUF header"); }
    eq_status st = put_bytes(w, h.b, h.n);
    if (!st) st = put_zeros(w, pad_to(h.n, w->alignment) - h.n);
    free(h.b);
    if (st) { eq_gguf_writer_abort(w); return st; }
    w->cur = 0;
    w->cur_done = 0;
    return EQ_OK;
}

eq_status eq_gguf_writer_open_ex(eq_gguf_writer *w, const char *path, const eq_outfile_opts *o) {
    eq_status st = check_open(w, "open");
    if (st || (st = layout(w))) return st;
    if (!path) return fail(w, EQ_ERR_ARG, "GGUF writer: no output file given");
    w->path = dup_cat(path, "");
    if (!w->path) return fail(w, EQ_ERR_NOMEM, "out of memory");
    char msg[sizeof w->err];
    if ((st = eq_outfile_open(path, o, &w->out, msg, sizeof msg))) return fail(w, st, "%s", msg);
    w->f = eq_outfile_stream(w->out);
    return put_header(w);
}

eq_status eq_gguf_writer_open(eq_gguf_writer *w, const char *path) { return eq_gguf_writer_open_ex(w, path, NULL); }

const char *eq_gguf_writer_temp_path(const eq_gguf_writer *w) { return w ? eq_outfile_temp_path(w->out) : NULL; }

eq_status eq_gguf_writer_open_sink(eq_gguf_writer *w, const char *name,
                                   int (*sink)(void *user, const void *data, size_t n), void *user) {
    eq_status st = check_open(w, "open");
    if (st || (st = layout(w))) return st;
    if (!sink) return fail(w, EQ_ERR_ARG, "GGUF writer: no sink");
    w->path = dup_cat(name ? name : "output", "");
    if (!w->path) return fail(w, EQ_ERR_NOMEM, "out of memory");
    w->sink = sink;
    w->sink_user = user;
    return put_header(w);
}

eq_status eq_gguf_writer_write(eq_gguf_writer *w, const void *data, size_t n) {
    if (w->err[0]) return EQ_ERR_ARG;
    if (!w->f && !w->sink) return fail(w, EQ_ERR_ARG, "GGUF writer: write before open");
    const uint8_t *p = data;
    while (n) {
        if (w->cur >= w->n_t) {
            eq_gguf_writer_abort(w);
            return fail(w, EQ_ERR_ARG, "%s: more tensor data than the tensors hold", w->path);
        }
        wtensor *t = &w->t[w->cur];
        uint64_t left = t->nbytes - w->cur_done;
        size_t k = n < left ? n : (size_t)left;
        eq_status st = put_bytes(w, p, k);
        if (st) { eq_gguf_writer_abort(w); return st; }
        p += k;
        n -= k;
        w->cur_done += k;
        if (w->cur_done == t->nbytes) {
            st = put_zeros(w, pad_to(t->nbytes, w->alignment) - t->nbytes);
            if (st) { eq_gguf_writer_abort(w); return st; }
            w->cur++;
            w->cur_done = 0;
        }
    }
    return EQ_OK;
}

eq_status eq_gguf_writer_finish(eq_gguf_writer *w) {
    if (w->err[0]) return EQ_ERR_ARG;
    if (!w->f && !w->sink) return fail(w, EQ_ERR_ARG, "GGUF writer: finish before open");
    if (w->cur < w->n_t) {
        eq_gguf_writer_abort(w);
        return fail(w, EQ_ERR_ARG, "%s: tensor '%s' data is incomplete", w->path, w->t[w->cur].name);
    }
    if (w->sink) {
        w->sink = NULL;   /* a finished writer takes no more bytes */
        w->finished = 1;
        return EQ_OK;
    }
    char msg[sizeof w->err];
    eq_outfile *out = w->out;
    w->out = NULL;   /* the commit frees it, whatever happens */
    w->f = NULL;
    eq_status st = eq_outfile_commit(out, msg, sizeof msg);
    if (st) return fail(w, st, "%s", msg);
    w->finished = 1;
    return EQ_OK;
}
