/* GGUF reader: header buffered and parsed with every length checked against the bytes that
 * are really there; tensor data routed to its destination as it streams past. */
#include "gguf/gguf.h"
#include "quant/quant.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define MAX_KEY_LEN 65535
#define MAX_NAME_LEN 256
#define HEADER_LIMIT (1ull << 31) /* a header over 2 GiB is not a model we can hold anyway */

static eq_status fail(eq_gguf *g, eq_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- a cursor over the buffered header ---- */

typedef struct {
    const uint8_t *b;
    size_t n, pos;
} rd;

/* 0: ok; 1: the buffer ends before n more bytes */
static int need(const rd *r, uint64_t n) { return n > r->n - r->pos; }

static uint32_t rd_u32(rd *r) {
    const uint8_t *p = r->b + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd_u64(rd *r) {
    uint64_t lo = rd_u32(r), hi = rd_u32(r);
    return lo | hi << 32;
}

size_t eq_gguf_value_size(int t) {
    switch (t) {
    case EQ_GGUF_U8: case EQ_GGUF_I8: case EQ_GGUF_BOOL: return 1;
    case EQ_GGUF_U16: case EQ_GGUF_I16: return 2;
    case EQ_GGUF_U32: case EQ_GGUF_I32: case EQ_GGUF_F32: return 4;
    case EQ_GGUF_U64: case EQ_GGUF_I64: case EQ_GGUF_F64: return 8;
    default: return 0;
    }
}

const char *eq_gguf_type_name(int t) {
    static const char *names[EQ_GGUF_NTYPES] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                                "bool", "string", "array", "u64", "i64", "f64"};
    return t >= 0 && t < EQ_GGUF_NTYPES ? names[t] : "?";
}

/* Read a length-prefixed string into a fresh NUL-terminated copy. */
static eq_status rd_str(eq_gguf *g, rd *r, uint64_t max_len, const char *what, char **out, uint64_t *len_out) {
    if (need(r, 8)) return EQ_ERR_NEED_MORE;
    uint64_t len = rd_u64(r);
    if (len > max_len) return fail(g, EQ_ERR_FORMAT, "%s: string length %llu is too long", what, (unsigned long long)len);
    if (need(r, len)) return EQ_ERR_NEED_MORE;
    char *s = malloc(len + 1);
    if (!s) return fail(g, EQ_ERR_NOMEM, "out of memory reading %s", what);
    memcpy(s, r->b + r->pos, len);
    s[len] = 0;
    r->pos += len;
    *out = s;
    if (len_out) *len_out = len;
    return EQ_OK;
}

static double scalar_as_f64(const uint8_t *p, int t) {
    switch (t) {
    case EQ_GGUF_U8: return p[0];
    case EQ_GGUF_I8: return (int8_t)p[0];
    case EQ_GGUF_BOOL: return p[0] != 0;
    case EQ_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case EQ_GGUF_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case EQ_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case EQ_GGUF_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case EQ_GGUF_F32: { float v; memcpy(&v, p, 4); return v; }
    case EQ_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    case EQ_GGUF_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case EQ_GGUF_F64: { double v; memcpy(&v, p, 8); return v; }
    }
    return 0;
}

static int is_int_type(int t) {
    return t == EQ_GGUF_U8 || t == EQ_GGUF_I8 || t == EQ_GGUF_U16 || t == EQ_GGUF_I16 ||
           t == EQ_GGUF_U32 || t == EQ_GGUF_I32 || t == EQ_GGUF_U64 || t == EQ_GGUF_I64 || t == EQ_GGUF_BOOL;
}
static int is_signed_type(int t) {
    return t == EQ_GGUF_I8 || t == EQ_GGUF_I16 || t == EQ_GGUF_I32 || t == EQ_GGUF_I64;
}

static void set_scalar(eq_gguf_kv *kv, const uint8_t *p) {
    int t = kv->type;
    if (t == EQ_GGUF_F32 || t == EQ_GGUF_F64) {
        kv->v.f = scalar_as_f64(p, t);
    } else if (t == EQ_GGUF_U64) {
        memcpy(&kv->v.u, p, 8);
    } else if (t == EQ_GGUF_I64) {
        memcpy(&kv->v.i, p, 8);
    } else if (is_signed_type(t)) {
        kv->v.i = (int64_t)scalar_as_f64(p, t);
    } else {
        kv->v.u = (uint64_t)scalar_as_f64(p, t);
    }
}

static void kv_clear(eq_gguf_kv *kv) {
    free(kv->key);
    free(kv->str);
    free(kv->arr);
    if (kv->arr_str) {
        for (uint64_t i = 0; i < kv->n; i++) free(kv->arr_str[i]);
        free(kv->arr_str);
    }
    free(kv->arr_str_len);
    memset(kv, 0, sizeof *kv);
}

static void header_clear(eq_gguf *g) {
    if (g->kv) for (uint64_t i = 0; i < g->n_kv; i++) kv_clear(&g->kv[i]);
    free(g->kv);
    free(g->kv_sorted);
    if (g->tensors) for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
    free(g->tensors);
    free(g->order);
    g->kv = NULL; g->kv_sorted = NULL; g->tensors = NULL; g->order = NULL;
    g->n_kv = g->n_tensors = 0;
}

static eq_status parse_kv(eq_gguf *g, rd *r, eq_gguf_kv *kv) {
    eq_status st = rd_str(g, r, MAX_KEY_LEN, "metadata key", &kv->key, NULL);
    if (st) return st;
    if (need(r, 4)) return EQ_ERR_NEED_MORE;
    kv->type = (int)rd_u32(r);
    kv->n = 1;
    if (kv->type == EQ_GGUF_STRING) {
        return rd_str(g, r, UINT64_MAX - 1, kv->key, &kv->str, &kv->str_len);
    }
    if (kv->type == EQ_GGUF_ARRAY) {
        if (need(r, 12)) return EQ_ERR_NEED_MORE;
        kv->arr_type = (int)rd_u32(r);
        kv->n = rd_u64(r);
        if (kv->arr_type == EQ_GGUF_STRING) {
            /* each string needs at least its 8-byte length: never allocate more than the bytes justify */
            if (kv->n > (r->n - r->pos) / 8) {
                if (g->total_size && kv->n > g->total_size / 8)
                    return fail(g, EQ_ERR_FORMAT, "metadata '%s': array of %llu strings cannot fit in the file",
                                kv->key, (unsigned long long)kv->n);
                return EQ_ERR_NEED_MORE;
            }
            uint64_t n = kv->n;
            kv->n = 0; /* count only what was allocated, for kv_clear */
            kv->arr_str = calloc(n ? n : 1, sizeof(char *));
            kv->arr_str_len = calloc(n ? n : 1, sizeof(uint32_t));
            if (!kv->arr_str || !kv->arr_str_len) return fail(g, EQ_ERR_NOMEM, "out of memory reading '%s'", kv->key);
            for (uint64_t i = 0; i < n; i++) {
                uint64_t len;
                st = rd_str(g, r, UINT32_MAX, kv->key, &kv->arr_str[i], &len);
                if (st) return st;
                kv->arr_str_len[i] = (uint32_t)len;
                kv->n = i + 1;
            }
            kv->n = n;
            return EQ_OK;
        }
        size_t es = eq_gguf_value_size(kv->arr_type);
        if (!es) {
            if (kv->arr_type == EQ_GGUF_ARRAY)
                return fail(g, EQ_ERR_UNSUPPORTED, "metadata '%s': nested arrays are not supported", kv->key);
            return fail(g, EQ_ERR_FORMAT, "metadata '%s': unknown array element type %d", kv->key, kv->arr_type);
        }
        if (kv->n > (UINT64_MAX / es) || need(r, kv->n * es)) {
            if (g->total_size && (kv->n > UINT64_MAX / es || kv->n * es > g->total_size))
                return fail(g, EQ_ERR_FORMAT, "metadata '%s': array of %llu values cannot fit in the file",
                            kv->key, (unsigned long long)kv->n);
            return EQ_ERR_NEED_MORE;
        }
        kv->arr = malloc(kv->n * es + 1);
        if (!kv->arr) return fail(g, EQ_ERR_NOMEM, "out of memory reading '%s'", kv->key);
        memcpy(kv->arr, r->b + r->pos, kv->n * es); /* GGUF is little-endian, as are all our targets */
        r->pos += kv->n * es;
        return EQ_OK;
    }
    size_t es = eq_gguf_value_size(kv->type);
    if (!es) return fail(g, EQ_ERR_FORMAT, "metadata '%s': unknown value type %d", kv->key, kv->type);
    if (need(r, es)) return EQ_ERR_NEED_MORE;
    set_scalar(kv, r->b + r->pos);
    r->pos += es;
    return EQ_OK;
}

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(eq_gguf_kv *const *)a)->key, (*(eq_gguf_kv *const *)b)->key);
}

static int cmp_offset(const void *a, const void *b) {
    const eq_gguf_tensor *x = *(eq_gguf_tensor *const *)a, *y = *(eq_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(eq_gguf_tensor *const *)a)->name, (*(eq_gguf_tensor *const *)b)->name);
}

static eq_status parse_tensor_info(eq_gguf *g, rd *r, eq_gguf_tensor *t) {
    eq_status st = rd_str(g, r, MAX_NAME_LEN, "tensor name", &t->name, NULL);
    if (st) return st;
    if (need(r, 4)) return EQ_ERR_NEED_MORE;
    uint32_t nd = rd_u32(r);
    if (nd < 1 || nd > EQ_GGUF_MAX_DIMS)
        return fail(g, EQ_ERR_FORMAT, "tensor '%s' has %u dimensions (1..4 allowed)", t->name, nd);
    t->n_dims = (int)nd;
    if (need(r, 8ull * nd + 4 + 8)) return EQ_ERR_NEED_MORE;
    for (int i = 0; i < EQ_GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < nd; i++) {
        uint64_t v = rd_u64(r);
        if (v == 0 || v > (1ull << 40))
            return fail(g, EQ_ERR_FORMAT, "tensor '%s' has an absurd dimension %u of %llu", t->name, i, (unsigned long long)v);
        t->ne[i] = (int64_t)v;
    }
    t->type = (int)rd_u32(r);
    t->offset = rd_u64(r);
    if (!eq_type_traits_get(t->type))
        return fail(g, EQ_ERR_UNSUPPORTED, "tensor '%s' has unknown or unsupported type %d", t->name, t->type);
    size_t row = eq_row_size(t->type, t->ne[0]);
    if (!row)
        return fail(g, EQ_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of the %s block size",
                    t->name, (long long)t->ne[0], eq_type_name(t->type));
    uint64_t nb = row, rows = 1;
    for (int i = 1; i < EQ_GGUF_MAX_DIMS; i++) {
        if (rows > (1ull << 62) / (uint64_t)t->ne[i]) goto too_big;
        rows *= (uint64_t)t->ne[i];
    }
    if (rows > (1ull << 62) / nb) goto too_big;
    t->nbytes = nb * rows;
    return EQ_OK;
too_big:
    return fail(g, EQ_ERR_FORMAT, "tensor '%s' is absurdly large", t->name);
}

/* Parse the whole header from the buffer; EQ_ERR_NEED_MORE if it is not all there yet. */
static eq_status parse_header(eq_gguf *g) {
    rd r = {g->hbuf, g->hlen, 0};
    if (need(&r, 24)) return EQ_ERR_NEED_MORE;
    uint32_t magic = rd_u32(&r);
    if (magic != GGUF_MAGIC) return fail(g, EQ_ERR_FORMAT, "not a GGUF file (bad magic 0x%08x)", magic);
    g->version = rd_u32(&r);
    if (g->version == 1) return fail(g, EQ_ERR_UNSUPPORTED, "GGUF version 1 is not supported (v2 and v3 are)");
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0)
            return fail(g, EQ_ERR_UNSUPPORTED, "big-endian GGUF files are not supported");
        return fail(g, EQ_ERR_UNSUPPORTED, "unknown GGUF version %u", g->version);
    }
    uint64_t n_tensors = rd_u64(&r), n_kv = rd_u64(&r);
    /* a tensor info takes >= 28 bytes, a kv >= 13: counts the bytes cannot hold are lies */
    if (n_tensors > HEADER_LIMIT / 28) return fail(g, EQ_ERR_FORMAT, "absurd tensor count %llu", (unsigned long long)n_tensors);
    if (n_kv > HEADER_LIMIT / 13) return fail(g, EQ_ERR_FORMAT, "absurd metadata count %llu", (unsigned long long)n_kv);
    if (g->total_size && (n_tensors > g->total_size / 28 || n_kv > g->total_size / 13))
        return fail(g, EQ_ERR_FORMAT, "truncated or corrupt: %llu tensors and %llu metadata entries cannot fit in %llu bytes",
                    (unsigned long long)n_tensors, (unsigned long long)n_kv, (unsigned long long)g->total_size);
    if (n_kv > (r.n - r.pos) / 13 || n_tensors > (r.n - r.pos) / 28) return EQ_ERR_NEED_MORE;

    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return fail(g, EQ_ERR_NOMEM, "out of memory reading the GGUF header");
    eq_status st;
    for (uint64_t i = 0; i < n_kv; i++) {
        g->n_kv = i + 1;
        if ((st = parse_kv(g, &r, &g->kv[i]))) return st;
    }
    /* keys sorted once (O(n log n): a header may hold millions): duplicates are neighbours,
     * and every later lookup is a binary search */
    g->kv_sorted = malloc((n_kv ? n_kv : 1) * sizeof *g->kv_sorted);
    if (!g->kv_sorted) return fail(g, EQ_ERR_NOMEM, "out of memory reading the GGUF header");
    for (uint64_t i = 0; i < n_kv; i++) g->kv_sorted[i] = &g->kv[i];
    qsort(g->kv_sorted, n_kv, sizeof *g->kv_sorted, cmp_key);
    for (uint64_t i = 1; i < n_kv; i++)
        if (!strcmp(g->kv_sorted[i]->key, g->kv_sorted[i - 1]->key))
            return fail(g, EQ_ERR_FORMAT, "duplicate metadata key '%s'", g->kv_sorted[i]->key);
    g->alignment = EQ_GGUF_DEFAULT_ALIGNMENT;
    const eq_gguf_kv *al = eq_gguf_get(g, "general.alignment");
    if (al) {
        if (al->type != EQ_GGUF_U32 || al->v.u == 0 || (al->v.u & (al->v.u - 1)) || al->v.u > (1u << 20))
            return fail(g, EQ_ERR_FORMAT, "general.alignment must be a power-of-two u32");
        g->alignment = (uint32_t)al->v.u;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        g->n_tensors = i + 1;
        if ((st = parse_tensor_info(g, &r, &g->tensors[i]))) return st;
    }
    g->data_offset = (r.pos + g->alignment - 1) / g->alignment * g->alignment;

    /* order by offset; check alignment, overlap and (when known) the file size */
    g->order = malloc((n_tensors ? n_tensors : 1) * sizeof *g->order);
    if (!g->order) return fail(g, EQ_ERR_NOMEM, "out of memory reading the GGUF header");
    for (uint64_t i = 0; i < n_tensors; i++) g->order[i] = &g->tensors[i];
    qsort(g->order, n_tensors, sizeof *g->order, cmp_offset);
    uint64_t end = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        eq_gguf_tensor *t = g->order[i];
        if (t->offset % g->alignment)
            return fail(g, EQ_ERR_FORMAT, "tensor '%s' data offset %llu is not aligned to %u", t->name,
                        (unsigned long long)t->offset, g->alignment);
        if (t->offset < end)
            return fail(g, EQ_ERR_FORMAT, "tensor '%s' data overlaps the previous tensor's", t->name);
        if (t->offset > (1ull << 62) || t->nbytes > (1ull << 62) - t->offset)
            return fail(g, EQ_ERR_FORMAT, "tensor '%s' has an absurd offset", t->name);
        end = t->offset + t->nbytes;
        if (g->total_size && g->data_offset + end > g->total_size)
            return fail(g, EQ_ERR_FORMAT, "tensor '%s' data ends at byte %llu, past the end of the file (%llu bytes)",
                        t->name, (unsigned long long)(g->data_offset + end), (unsigned long long)g->total_size);
    }
    /* duplicate names: sort a copy by name and compare neighbours */
    eq_gguf_tensor **byname = malloc((n_tensors ? n_tensors : 1) * sizeof *byname);
    if (!byname) return fail(g, EQ_ERR_NOMEM, "out of memory reading the GGUF header");
    memcpy(byname, g->order, n_tensors * sizeof *byname);
    qsort(byname, n_tensors, sizeof *byname, cmp_name);
    for (uint64_t i = 1; i < n_tensors; i++)
        if (!strcmp(byname[i]->name, byname[i - 1]->name)) {
            st = fail(g, EQ_ERR_FORMAT, "duplicate tensor name '%s'", byname[i]->name);
            free(byname);
            return st;
        }
    free(byname);
    g->data_size = end;
    return EQ_OK;
}

eq_gguf *eq_gguf_new(uint64_t total_size, eq_gguf_header_cb on_header, void *user) {
    eq_gguf *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->total_size = total_size;
    g->on_header = on_header;
    g->on_header_user = user;
    g->next_try = 24;
    return g;
}

void eq_gguf_free(eq_gguf *g) {
    if (!g) return;
    header_clear(g);
    free(g->hbuf);
    free(g);
}

/* Copy bytes at absolute offset `at` to the tensors they belong to; on_tensor as each ends. */
static eq_status route(eq_gguf *g, const uint8_t *p, size_t n, uint64_t at) {
    while (n && g->cursor < g->n_tensors) {
        eq_gguf_tensor *t = g->order[g->cursor];
        uint64_t t0 = g->data_offset + t->offset, t1 = t0 + t->nbytes;
        if (at >= t1) { g->cursor++; continue; }
        if (at + n <= t0) return EQ_OK;           /* all padding before the next tensor */
        if (at < t0) { size_t skip = (size_t)(t0 - at); p += skip; n -= skip; at = t0; }
        size_t take = (size_t)((t1 - at) < n ? (t1 - at) : n);
        if (t->data) memcpy((uint8_t *)t->data + (at - t0), p, take);
        p += take; n -= take; at += take;
        if (at == t1) {
            g->cursor++;
            eq_status st = g->on_tensor ? g->on_tensor(g, t, g->on_header_user) : EQ_OK;
            if (st) {
                if (!g->err[0]) fail(g, st, "%s", eq_status_str(st));
                return st;
            }
        }
    }
    return EQ_OK;
}

static eq_status try_header(eq_gguf *g) {
    header_clear(g);
    eq_status st = parse_header(g);
    if (st == EQ_ERR_NEED_MORE) {
        header_clear(g);
        if (g->hlen >= HEADER_LIMIT) return fail(g, EQ_ERR_FORMAT, "GGUF header larger than 2 GiB");
        /* grow geometrically between attempts so re-parsing stays linear overall */
        g->next_try = g->hlen + (g->hlen / 2 > 65536 ? g->hlen / 2 : 65536);
        return EQ_ERR_NEED_MORE;
    }
    if (st) return st;
    g->header_ready = 1;
    if (g->on_header && (st = g->on_header(g, g->on_header_user))) {
        if (!g->err[0]) fail(g, st, "%s", eq_status_str(st));
        return st;
    }
    /* bytes buffered past the header belong to the data section */
    if (g->hlen > g->data_offset &&
        (st = route(g, g->hbuf + g->data_offset, g->hlen - (size_t)g->data_offset, g->data_offset)))
        return st;
    free(g->hbuf);
    g->hbuf = NULL;
    g->hlen = g->hcap = 0;
    return EQ_OK;
}

eq_status eq_gguf_feed(eq_gguf *g, const void *buf, size_t n) {
    const uint8_t *p = buf;
    if (g->err[0]) return EQ_ERR_FORMAT;
    if (g->header_ready) {
        eq_status st = route(g, p, n, g->pos);
        g->pos += n;
        return st;
    }
    if (n > HEADER_LIMIT - g->hlen) return fail(g, EQ_ERR_FORMAT, "GGUF header larger than 2 GiB");
    if (g->hlen + n > g->hcap) {
        size_t cap = g->hcap ? g->hcap : 65536;
        while (cap < g->hlen + n) cap *= 2;
        uint8_t *nb = realloc(g->hbuf, cap);
        if (!nb) return fail(g, EQ_ERR_NOMEM, "out of memory buffering the GGUF header");
        g->hbuf = nb;
        g->hcap = cap;
    }
    memcpy(g->hbuf + g->hlen, p, n);
    g->hlen += n;
    g->pos += n;
    /* the magic is checked as soon as it is there, so a wrong file fails at once */
    if (g->hlen >= 4 && memcmp(g->hbuf, "GGUF", 4))
        return fail(g, EQ_ERR_FORMAT, "not a GGUF file (bad magic)");
    if (g->hlen < g->next_try && !(g->total_size && g->pos >= g->total_size)) return EQ_OK;
    eq_status st = try_header(g);
    return st == EQ_ERR_NEED_MORE ? EQ_OK : st;
}

eq_status eq_gguf_finish(eq_gguf *g) {
    if (g->err[0]) return EQ_ERR_FORMAT;
    if (!g->header_ready) {
        eq_status st = try_header(g);
        if (st == EQ_ERR_NEED_MORE)
            return fail(g, EQ_ERR_FORMAT, "truncated: the file ends inside the GGUF header (%llu bytes)",
                        (unsigned long long)g->pos);
        if (st) return st;
    }
    uint64_t need_bytes = g->data_offset + g->data_size;
    if (g->n_tensors && g->pos < need_bytes) {
        const char *name = "?";
        for (uint64_t i = 0; i < g->n_tensors; i++)
            if (g->data_offset + g->order[i]->offset + g->order[i]->nbytes > g->pos) { name = g->order[i]->name; break; }
        return fail(g, EQ_ERR_FORMAT, "truncated: tensor '%s' data is incomplete (file has %llu bytes, needs %llu)",
                    name, (unsigned long long)g->pos, (unsigned long long)need_bytes);
    }
    return EQ_OK;
}

eq_status eq_gguf_read_file(const char *path, eq_gguf_header_cb on_header, void *user, eq_gguf **out,
                            char *errbuf, size_t errlen) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errbuf) snprintf(errbuf, errlen, "%s: cannot open file", path);
        return EQ_ERR_IO;
    }
    uint64_t size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long long s = ftell(f);
        if (s > 0) size = (uint64_t)s;
        fseek(f, 0, SEEK_SET);
    }
    eq_gguf *g = eq_gguf_new(size, on_header, user);
    if (!g) { fclose(f); if (errbuf) snprintf(errbuf, errlen, "%s: out of memory", path); return EQ_ERR_NOMEM; }
    size_t cap = 1 << 22;
    uint8_t *buf = malloc(cap);
    eq_status st = buf ? EQ_OK : EQ_ERR_NOMEM;
    while (st == EQ_OK) {
        size_t got = fread(buf, 1, cap, f);
        if (got == 0) {
            if (ferror(f)) { st = EQ_ERR_IO; snprintf(g->err, sizeof g->err, "read error"); }
            break;
        }
        st = eq_gguf_feed(g, buf, got);
    }
    free(buf);
    fclose(f);
    if (st == EQ_OK) st = eq_gguf_finish(g);
    if (st) {
        if (errbuf) snprintf(errbuf, errlen, "%s: %s", path, g->err[0] ? g->err : eq_status_str(st));
        eq_gguf_free(g);
        return st;
    }
    *out = g;
    return EQ_OK;
}

/* ---- lookups ---- */

int eq_gguf_find_key(const eq_gguf *g, const char *key) {
    if (!g->kv_sorted) {
        for (uint64_t i = 0; i < g->n_kv; i++)
            if (g->kv[i].key && !strcmp(g->kv[i].key, key)) return (int)i;
        return -1;
    }
    uint64_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->kv_sorted[mid]->key, key);
        if (!c) return (int)(g->kv_sorted[mid] - g->kv);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const eq_gguf_kv *eq_gguf_get(const eq_gguf *g, const char *key) {
    int i = eq_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kv[i];
}

int eq_gguf_find_tensor(const eq_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return (int)i;
    return -1;
}

int eq_gguf_get_u64(const eq_gguf *g, const char *key, uint64_t *out) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    if (!kv || !is_int_type(kv->type)) return 0;
    if (is_signed_type(kv->type) && kv->v.i < 0) return 0;
    *out = kv->v.u;
    return 1;
}

int eq_gguf_get_i64(const eq_gguf *g, const char *key, int64_t *out) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    if (!kv || !is_int_type(kv->type)) return 0;
    if (kv->type == EQ_GGUF_U64 && kv->v.u > (uint64_t)INT64_MAX) return 0;
    *out = kv->v.i;
    return 1;
}

int eq_gguf_get_f64(const eq_gguf *g, const char *key, double *out) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    if (!kv) return 0;
    if (kv->type == EQ_GGUF_F32 || kv->type == EQ_GGUF_F64) *out = kv->v.f;
    else if (is_signed_type(kv->type)) *out = (double)kv->v.i;
    else if (is_int_type(kv->type)) *out = (double)kv->v.u;
    else return 0;
    return 1;
}

int eq_gguf_get_bool(const eq_gguf *g, const char *key, int *out) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    if (!kv || !is_int_type(kv->type)) return 0;
    *out = kv->v.u != 0;
    return 1;
}

const char *eq_gguf_get_str(const eq_gguf *g, const char *key) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    return kv && kv->type == EQ_GGUF_STRING ? kv->str : NULL;
}

int eq_gguf_arr_f64(const eq_gguf_kv *kv, uint64_t i, double *out) {
    if (!kv || kv->type != EQ_GGUF_ARRAY || !kv->arr || i >= kv->n) return 0;
    size_t es = eq_gguf_value_size(kv->arr_type);
    if (!es) return 0;
    *out = scalar_as_f64((const uint8_t *)kv->arr + i * es, kv->arr_type);
    return 1;
}

int eq_gguf_arr_i64(const eq_gguf_kv *kv, uint64_t i, int64_t *out) {
    if (!kv || kv->type != EQ_GGUF_ARRAY || !kv->arr || i >= kv->n || !is_int_type(kv->arr_type)) return 0;
    size_t es = eq_gguf_value_size(kv->arr_type);
    const uint8_t *p = (const uint8_t *)kv->arr + i * es;
    if (kv->arr_type == EQ_GGUF_U64) { uint64_t v; memcpy(&v, p, 8); *out = (int64_t)v; }
    else if (kv->arr_type == EQ_GGUF_I64) memcpy(out, p, 8);
    else *out = (int64_t)scalar_as_f64(p, kv->arr_type);
    return 1;
}
