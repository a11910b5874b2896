/* edgeq's llama-quantize: plan every tensor's type, write the header, then stream tensor by
 * tensor (a slab of rows at a time) through dequantize -> quantize -> writer. Everything
 * that can be checked before writing (types, requantization, the importance matrix) is
 * checked before the output file is created. */
#include "edgeq_quantize.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "quant/quant.h"
#include "quant/quantize.h"
#include "quant/fp16.h"
#include "quant/blocks.h"
#include "runtime/threadpool.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_BYTES (64u << 20) /* input bytes per slab: bounds memory whatever the tensor size */
#define QNT_VERSION 2          /* GGML_QNT_VERSION, written as general.quantization_version */

eq_quantize_params eq_quantize_default_params(void) {
    eq_quantize_params p;
    memset(&p, 0, sizeof p);
    p.ftype = EQ_FTYPE_MOSTLY_Q4_K_M;
    p.output_type = -1;
    p.token_embd_type = -1;
    return p;
}

typedef struct {
    const eq_quantize_params *p;
    char *err;
    size_t errlen;
} qctx;

static eq_status qfail(qctx *q, eq_status st, const char *fmt, ...) {
    if (q->err && q->errlen && !q->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->err, q->errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

static void qlog(qctx *q, const char *fmt, ...) {
    if (!q->p->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    q->p->log(q->p->log_user, line);
}

/* ---- file access: positioned reads that also work where long is 32 bits (wasm32) ---- */

static int seek_to(FILE *f, uint64_t pos) {
    if (fseek(f, 0, SEEK_SET)) return -1;
    while (pos) {
        long step = pos > (uint64_t)LONG_MAX ? LONG_MAX : (long)pos;
        if (fseek(f, step, SEEK_CUR)) return -1;
        pos -= (uint64_t)step;
    }
    return 0;
}

static int read_at(FILE *f, uint64_t *cur, uint64_t pos, void *buf, size_t n) {
    if (*cur != pos) {
        /* forward seeks stay relative, so no absolute offset has to fit in a long */
        if (pos > *cur && pos - *cur <= (uint64_t)LONG_MAX) {
            if (fseek(f, (long)(pos - *cur), SEEK_CUR)) return -1;
        } else if (seek_to(f, pos)) {
            return -1;
        }
        *cur = pos;
    }
    if (n && fread(buf, 1, n, f) != n) return -1;
    *cur += n;
    return 0;
}

/* ---- the importance matrix ---- */

typedef struct { char *name; float *v; int64_t n; } imx_entry;
typedef struct {
    imx_entry *e;
    int n;
    char *dataset;        /* the first dataset name, or NULL */
    int64_t chunk_count;
} imatrix;

static void imatrix_free(imatrix *m) {
    for (int i = 0; i < m->n; i++) { free(m->e[i].name); free(m->e[i].v); }
    free(m->e);
    free(m->dataset);
    memset(m, 0, sizeof *m);
}

static imx_entry *imatrix_add(imatrix *m, const char *name, size_t name_len, int64_t n) {
    imx_entry *ne = realloc(m->e, (size_t)(m->n + 1) * sizeof *ne);
    if (!ne) return NULL;
    m->e = ne;
    imx_entry *e = &m->e[m->n];
    e->name = malloc(name_len + 1);
    e->v = malloc((size_t)(n ? n : 1) * sizeof(float));
    e->n = n;
    if (!e->name || !e->v) { free(e->name); free(e->v); return NULL; }
    memcpy(e->name, name, name_len);
    e->name[name_len] = 0;
    m->n++;
    return e;
}

static const imx_entry *imatrix_find(const imatrix *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].name, name)) return &m->e[i];
    return NULL;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* llama-imatrix's GGUF: "<name>.in_sum2" (F32 sums of squared activations, per expert) and
 * "<name>.counts" (F32, tokens seen per expert); the weights are sums / count. */
static eq_status imx_alloc_tensors(eq_gguf *g, void *user) {
    (void)user;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        eq_gguf_tensor *t = &g->tensors[i];
        size_t nl = strlen(t->name);
        int want = (nl > 8 && !strcmp(t->name + nl - 8, ".in_sum2")) || (nl > 7 && !strcmp(t->name + nl - 7, ".counts"));
        if (!want) continue;
        if (t->type != EQ_TYPE_F32) {
            snprintf(g->err, sizeof g->err, "tensor '%s' must be F32 (it is %s)", t->name, eq_type_name(t->type));
            return EQ_ERR_FORMAT;
        }
        t->data = malloc(t->nbytes ? (size_t)t->nbytes : 1);
        if (!t->data) { snprintf(g->err, sizeof g->err, "out of memory"); return EQ_ERR_NOMEM; }
    }
    return EQ_OK;
}

static void imx_free_tensors(eq_gguf *g) {
    if (!g) return;
    for (uint64_t i = 0; i < g->n_tensors; i++) { free(g->tensors[i].data); g->tensors[i].data = NULL; }
}

static eq_status load_imatrix_gguf(qctx *q, const char *path, imatrix *m) {
    eq_gguf *g = NULL;
    char e[512];
    /* eq_gguf_read_file frees the parser on error, so tensor buffers from on_header would
     * leak; parse by hand instead to free them on every path */
    FILE *f = fopen(path, "rb");
    if (!f) return qfail(q, EQ_ERR_IO, "%s: cannot open the importance matrix", path);
    uint64_t size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long s = ftell(f);
        if (s > 0) size = (uint64_t)s;
        fseek(f, 0, SEEK_SET);
    }
    g = eq_gguf_new(size, imx_alloc_tensors, NULL);
    uint8_t *buf = malloc(1 << 20);
    eq_status st = g && buf ? EQ_OK : EQ_ERR_NOMEM;
    while (st == EQ_OK) {
        size_t got = fread(buf, 1, 1 << 20, f);
        if (!got) break;
        st = eq_gguf_feed(g, buf, got);
    }
    if (st == EQ_OK && ferror(f)) st = EQ_ERR_IO;
    if (st == EQ_OK) st = eq_gguf_finish(g);
    free(buf);
    fclose(f);
    if (st) {
        snprintf(e, sizeof e, "%s: %s", path, g && g->err[0] ? g->err : eq_status_str(st));
        imx_free_tensors(g);
        eq_gguf_free(g);
        return qfail(q, st, "%s", e);
    }
    /* the metadata llama-quantize insists on */
    const eq_gguf_kv *ds = eq_gguf_get(g, "imatrix.datasets");
    if (!ds || !eq_gguf_get(g, "imatrix.chunk_count") || !eq_gguf_get(g, "imatrix.chunk_size")) {
        st = qfail(q, EQ_ERR_FORMAT, "%s: missing imatrix metadata (imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size)", path);
        goto done;
    }
    if (ds->type == EQ_GGUF_ARRAY && ds->arr_type == EQ_GGUF_STRING && ds->n > 0) {
        m->dataset = dup_n(ds->arr_str[0], ds->arr_str_len[0]);
        if (!m->dataset) { st = qfail(q, EQ_ERR_NOMEM, "out of memory"); goto done; }
    }
    uint64_t cc = 0;
    if (eq_gguf_get_u64(g, "imatrix.chunk_count", &cc)) m->chunk_count = (int64_t)(uint32_t)cc;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const eq_gguf_tensor *ts = &g->tensors[i];
        size_t nl = strlen(ts->name);
        if (!(nl > 8 && !strcmp(ts->name + nl - 8, ".in_sum2"))) continue;
        char cname[300];
        snprintf(cname, sizeof cname, "%.*s.counts", (int)(nl - 8), ts->name);
        int ci = eq_gguf_find_tensor(g, cname);
        if (ci < 0) { st = qfail(q, EQ_ERR_FORMAT, "%s: mismatched sums and counts for '%.*s'", path, (int)(nl - 8), ts->name); goto done; }
        const eq_gguf_tensor *tc = &g->tensors[ci];
        const int64_t nval = (int64_t)(ts->nbytes / 4), ncounts = (int64_t)(tc->nbytes / 4);
        if (ncounts < 1 || nval % ncounts) {
            st = qfail(q, EQ_ERR_FORMAT, "%s: '%.*s' has %lld sums for %lld counts", path, (int)(nl - 8), ts->name,
                       (long long)nval, (long long)ncounts);
            goto done;
        }
        imx_entry *en = imatrix_add(m, ts->name, nl - 8, nval);
        if (!en) { st = qfail(q, EQ_ERR_NOMEM, "out of memory"); goto done; }
        const float *sums = ts->data, *counts = tc->data;
        const int64_t ne0 = nval / ncounts;
        for (int64_t j = 0; j < ncounts; j++) {
            /* llama rounds the stored float count to an integer first (std::lround) */
            const float cf = counts[j];
            double r = floor(fabs((double)cf) + 0.5); /* half away from zero, like lround */
            if (cf < 0) r = -r;
            if (!(r > -9e18 && r < 9e18)) r = 0;      /* NaN, inf: no usable count */
            const float count = (float)(int64_t)r;
            for (int64_t k = 0; k < ne0; k++) en->v[j * ne0 + k] = count > 0.0f ? sums[j * ne0 + k] / count : 1;
        }
    }
    /* also the pairs whose in_sum2 is missing */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const char *nm = g->tensors[i].name;
        size_t nl = strlen(nm);
        if (nl > 7 && !strcmp(nm + nl - 7, ".counts")) {
            char sname[300];
            snprintf(sname, sizeof sname, "%.*s.in_sum2", (int)(nl - 7), nm);
            if (eq_gguf_find_tensor(g, sname) < 0) {
                st = qfail(q, EQ_ERR_FORMAT, "%s: mismatched sums and counts for '%.*s'", path, (int)(nl - 7), nm);
                goto done;
            }
        }
    }
    if (m->n < 1) st = qfail(q, EQ_ERR_FORMAT, "%s: no data in the importance matrix", path);
done:
    imx_free_tensors(g);
    eq_gguf_free(g);
    return st;
}

/* The legacy .dat format: i32 n; n x (i32 len, name, i32 ncall, i32 nval, f32[nval]);
 * optionally i32 chunk count, i32 len, dataset name. */
static eq_status load_imatrix_legacy(qctx *q, const char *path, const uint8_t *b, size_t n, imatrix *m) {
    size_t pos = 0;
#define NEED(k) do { if ((k) > n - pos) return qfail(q, EQ_ERR_FORMAT, "%s: truncated importance matrix", path); } while (0)
    int32_t n_entries;
    NEED(4);
    memcpy(&n_entries, b, 4);
    pos = 4;
    if (n_entries < 1) return qfail(q, EQ_ERR_FORMAT, "%s: no data in the importance matrix", path);
    for (int32_t i = 0; i < n_entries; i++) {
        int32_t len, ncall, nval;
        NEED(4);
        memcpy(&len, b + pos, 4);
        pos += 4;
        if (len < 0) return qfail(q, EQ_ERR_FORMAT, "%s: bad name length in entry %d", path, i + 1);
        NEED((size_t)len + 8);
        const char *name = (const char *)b + pos;
        pos += (size_t)len;
        memcpy(&ncall, b + pos, 4);
        memcpy(&nval, b + pos + 4, 4);
        pos += 8;
        if (nval < 1) return qfail(q, EQ_ERR_FORMAT, "%s: bad value count in entry %d", path, i + 1);
        NEED((size_t)nval * 4);
        /* the name ends at its first NUL, as std::string{char *} reads it */
        size_t nlen = 0;
        while (nlen < (size_t)len && name[nlen]) nlen++;
        for (int k = 0; k < m->n; k++)
            if (strlen(m->e[k].name) == nlen && !memcmp(m->e[k].name, name, nlen))
                return qfail(q, EQ_ERR_FORMAT, "%s: duplicate entry '%.*s'", path, (int)nlen, name);
        imx_entry *en = imatrix_add(m, name, nlen, nval);
        if (!en) return qfail(q, EQ_ERR_NOMEM, "out of memory");
        const float *sums = (const float *)(const void *)(b + pos);
        for (int32_t k = 0; k < nval; k++) {
            float s;
            memcpy(&s, sums + k, 4);
            en->v[k] = ncall > 0 ? s / (int64_t)ncall : s;
        }
        pos += (size_t)nval * 4;
    }
    if (n - pos >= 4) {
        int32_t calls, len;
        memcpy(&calls, b + pos, 4);
        pos += 4;
        m->chunk_count = calls;
        if (n - pos >= 4) {
            memcpy(&len, b + pos, 4);
            pos += 4;
            if (len > 0 && (size_t)len <= n - pos) {
                size_t dl = 0;
                while (dl < (size_t)len && b[pos + dl]) dl++;
                m->dataset = dup_n((const char *)b + pos, dl);
            }
        }
    }
#undef NEED
    return EQ_OK;
}

static eq_status load_imatrix(qctx *q, const char *path, imatrix *m) {
    FILE *f = fopen(path, "rb");
    if (!f) return qfail(q, EQ_ERR_IO, "%s: cannot open the importance matrix", path);
    char magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    eq_status st;
    if (got == 4 && !memcmp(magic, "GGUF", 4)) {
        fclose(f);
        st = load_imatrix_gguf(q, path, m);
    } else {
        /* legacy files are small (one float per weight column): read it whole */
        uint8_t *b = NULL;
        size_t n = 0, cap = 0;
        fseek(f, 0, SEEK_SET);
        st = EQ_OK;
        for (;;) {
            if (n == cap) {
                if (cap >= (1u << 30)) { st = qfail(q, EQ_ERR_FORMAT, "%s: importance matrix over 1 GiB", path); break; }
                cap = cap ? cap * 2 : 1 << 16;
                uint8_t *nb = realloc(b, cap);
                if (!nb) { st = qfail(q, EQ_ERR_NOMEM, "out of memory"); break; }
                b = nb;
            }
            size_t r = fread(b + n, 1, cap - n, f);
            if (!r) break;
            n += r;
        }
        fclose(f);
        if (!st) st = load_imatrix_legacy(q, path, b, n, m);
        free(b);
    }
    if (st) { imatrix_free(m); return st; }
    /* llama-quantize refuses non-finite weights */
    for (int i = 0; i < m->n; i++)
        for (int64_t k = 0; k < m->e[i].n; k++)
            if (!isfinite(m->e[i].v[k])) {
                st = qfail(q, EQ_ERR_FORMAT, "%s: importance matrix for '%s' contains a non-finite value", path, m->e[i].name);
                imatrix_free(m);
                return st;
            }
    return EQ_OK;
}

/* ---- slabs of rows across the pool ---- */

typedef struct {
    const uint8_t *src;
    int in_type, out_type;
    size_t in_row, out_row;
    float *f32;                 /* converted rows; NULL when the input is F32 */
    uint8_t *dst;
    int64_t n_per_row, nrows, first_row, nrows_per_expert;
    const float *imatrix;       /* ne[0] * ne[2] weights, or NULL */
    int *bad;                   /* per thread: the quantized data failed validation */
} slab_job;

static int f16_bad(eq_f16 h) { return (h & 0x7c00) == 0x7c00; }

/* ggml_validate_row_data: no inf/NaN in any stored float or scale */
static int rows_valid(int type, const uint8_t *p, size_t nbytes) {
    size_t bs = 0, d_off = 0, m_off = 0;
    int has_m = 0;
    switch (type) {
    case EQ_TYPE_F32:
        for (size_t i = 0; i < nbytes; i += 4) { float v; memcpy(&v, p + i, 4); if (!isfinite(v)) return 0; }
        return 1;
    case EQ_TYPE_F16:
        for (size_t i = 0; i < nbytes; i += 2) { eq_f16 h; memcpy(&h, p + i, 2); if (f16_bad(h)) return 0; }
        return 1;
    case EQ_TYPE_BF16:
        for (size_t i = 0; i < nbytes; i += 2) { uint16_t h; memcpy(&h, p + i, 2); if ((h & 0x7f80) == 0x7f80) return 0; }
        return 1;
    case EQ_TYPE_Q4_0: bs = sizeof(block_q4_0); d_off = offsetof(block_q4_0, d); break;
    case EQ_TYPE_Q4_1: bs = sizeof(block_q4_1); d_off = offsetof(block_q4_1, d); m_off = offsetof(block_q4_1, m); has_m = 1; break;
    case EQ_TYPE_Q5_0: bs = sizeof(block_q5_0); d_off = offsetof(block_q5_0, d); break;
    case EQ_TYPE_Q5_1: bs = sizeof(block_q5_1); d_off = offsetof(block_q5_1, d); m_off = offsetof(block_q5_1, m); has_m = 1; break;
    case EQ_TYPE_Q8_0: bs = sizeof(block_q8_0); d_off = offsetof(block_q8_0, d); break;
    case EQ_TYPE_Q2_K: bs = sizeof(block_q2_K); d_off = offsetof(block_q2_K, d); m_off = offsetof(block_q2_K, dmin); has_m = 1; break;
    case EQ_TYPE_Q3_K: bs = sizeof(block_q3_K); d_off = offsetof(block_q3_K, d); break;
    case EQ_TYPE_Q4_K: bs = sizeof(block_q4_K); d_off = offsetof(block_q4_K, d); m_off = offsetof(block_q4_K, dmin); has_m = 1; break;
    case EQ_TYPE_Q5_K: bs = sizeof(block_q5_K); d_off = offsetof(block_q5_K, d); m_off = offsetof(block_q5_K, dmin); has_m = 1; break;
    case EQ_TYPE_Q6_K: bs = sizeof(block_q6_K); d_off = offsetof(block_q6_K, d); break;
    default: return 1;
    }
    for (size_t o = 0; o + bs <= nbytes; o += bs) {
        eq_f16 d, m = 0;
        memcpy(&d, p + o + d_off, 2);
        if (has_m) memcpy(&m, p + o + m_off, 2);
        if (f16_bad(d) || (has_m && f16_bad(m))) return 0;
    }
    return 1;
}

static void slab_worker(void *arg, int ith, int nth) {
    slab_job *j = arg;
    int lo, hi;
    eq_split((int)j->nrows, ith, nth, &lo, &hi);
    if (lo >= hi) return;
    const float *x;
    if (j->f32) {
        /* ggml's row converters are exact; the _ref ones are what ggml-base runs */
        eq_type_traits_ref(j->in_type)->to_float(j->src + (size_t)lo * j->in_row, j->f32 + (size_t)lo * j->n_per_row,
                                                 (int64_t)(hi - lo) * j->n_per_row);
        x = j->f32;
    } else {
        x = (const float *)(const void *)j->src;
    }
    for (int64_t r = lo; r < hi;) {
        /* rows of one expert share its slice of the importance matrix */
        const int64_t g = j->first_row + r;
        const int64_t run = (hi - r) < (j->nrows_per_expert - g % j->nrows_per_expert)
                                ? (hi - r) : (j->nrows_per_expert - g % j->nrows_per_expert);
        const float *im = j->imatrix ? j->imatrix + (g / j->nrows_per_expert) * j->n_per_row : NULL;
        eq_quantize_rows(j->out_type, x + (size_t)r * j->n_per_row, j->dst + (size_t)r * j->out_row, run, j->n_per_row, im);
        r += run;
    }
    if (!rows_valid(j->out_type, j->dst + (size_t)lo * j->out_row, (size_t)(hi - lo) * j->out_row)) j->bad[ith] = 1;
}

/* ---- the driver ---- */

static int is_quantized(int type) { return type != EQ_TYPE_F32 && type != EQ_TYPE_F16 && type != EQ_TYPE_BF16; }

/* ggml's spelling of a type name, as llama-quantize prints it: "q4_K", "f16" */
static const char *gg_name(int type, char *b, size_t n) {
    snprintf(b, n, "%s", eq_type_name(type));
    for (char *c = b; *c; c++)
        if (*c >= 'A' && *c <= 'Z' && *c != 'K') *c = (char)(*c - 'A' + 'a');
    return b;
}

static void shape_str(char *b, size_t n, const int64_t ne[4]) {
    snprintf(b, n, "%6lld, %6lld, %6lld, %6lld", (long long)ne[0], (long long)ne[1], (long long)ne[2], (long long)ne[3]);
}

static int get_count(const eq_gguf *g, const char *key, int *out) {
    const eq_gguf_kv *kv = eq_gguf_get(g, key);
    if (!kv) return 0;
    int64_t v;
    if (kv->type == EQ_GGUF_ARRAY) {
        if (!eq_gguf_arr_i64(kv, 0, &v)) return 0; /* per-layer array: layer 0's, as n_head() */
    } else if (!eq_gguf_get_i64(g, key, &v)) {
        return 0;
    }
    if (v < 0 || v > INT_MAX) return 0;
    *out = (int)v;
    return 1;
}

/* the input as positioned reads: a file, or the caller's callback */
typedef struct {
    const char *name;
    uint64_t size;
    FILE *f;
    uint64_t cur;       /* the file's position */
    const eq_quantize_io *io;
} qinput;

static int in_read(qinput *in, uint64_t pos, void *buf, size_t n) {
    if (pos > in->size || n > in->size - pos) return -1;
    if (in->io) return in->io->read(in->io->user, pos, buf, n);
    return read_at(in->f, &in->cur, pos, buf, n);
}

/* One run's state, shared by the phases below; run_free releases it whichever phase failed. */
typedef struct {
    qctx q;
    const eq_quantize_params *p;
    qinput *in;
    eq_gguf *g;
    imatrix im;
    eq_qplan_params qp;
    int n;                      /* tensors */
    eq_qplan_tensor *pt;
    int *order, *types;         /* llama's tensor order; each one's output type, in that order */
    eq_gguf_writer *w;
    eq_pool *pool;
    int *bad;                   /* per thread: a slab failed validation */
    uint8_t *src, *dst;         /* slab buffers: they grow to the largest slab seen */
    float *f32;
} qrun;

static void run_free(qrun *r) {
    eq_gguf_writer_free(r->w); /* removes the temporary file unless finished */
    eq_pool_free(r->pool);
    eq_gguf_free(r->g);
    imatrix_free(&r->im);
    free(r->pt);
    free(r->order);
    free(r->types);
    free(r->bad);
    free(r->src);
    free(r->dst);
    free(r->f32);
}

/* A writer call failed: its message, unless an earlier one was recorded. */
static eq_status wfail(qrun *r, eq_status st) {
    qfail(&r->q, st, "%s", eq_gguf_writer_errmsg(r->w));
    return st;
}

/* Phase 1: the header only; tensor data is read later, slab by slab, in llama's tensor order. */
static eq_status read_header(qrun *r) {
    qinput *in = r->in;
    const uint64_t fsize = in->size;
    eq_gguf *g = r->g = eq_gguf_new(fsize, NULL, NULL);
    if (!g) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    enum { CHUNK = 1 << 16 };
    uint8_t *chunk = malloc(CHUNK); /* not on the stack: wasm stacks are small */
    if (!chunk) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    eq_status st = EQ_OK;
    for (uint64_t pos = 0; !g->header_ready && pos < fsize;) {
        size_t got = fsize - pos < CHUNK ? (size_t)(fsize - pos) : CHUNK;
        if (in_read(in, pos, chunk, got)) { free(chunk); return qfail(&r->q, EQ_ERR_IO, "%s: read error", in->name); }
        pos += got;
        if ((st = eq_gguf_feed(g, chunk, got))) break;
    }
    free(chunk);
    if (!st && !g->header_ready) st = eq_gguf_finish(g);
    if (st) return qfail(&r->q, st, "%s: %s", in->name, g->err[0] ? g->err : eq_status_str(st));
    /* eq_gguf_new checked every offset against the file size; without one, check here */
    if (!fsize || g->data_offset + g->data_size > fsize)
        return qfail(&r->q, EQ_ERR_FORMAT, "%s: truncated: tensor data ends past the end of the file", in->name);
    return EQ_OK;
}

/* Phase 2: every tensor's output type, from the hyper-parameters the rules look at (llama's
 * loader requires block_count) and the importance matrix. */
static eq_status plan(qrun *r) {
    const eq_quantize_params *p = r->p;
    const eq_gguf *g = r->g;
    const char *in_path = r->in->name;
    eq_qplan_params *qp = &r->qp;
    memset(qp, 0, sizeof *qp);
    qp->ftype = p->ftype;
    qp->output_type = p->output_type;
    qp->token_embd_type = p->token_embd_type;
    qp->pure = p->pure;
    qp->arch = eq_gguf_get_str(g, "general.architecture");
    if (!qp->arch) return qfail(&r->q, EQ_ERR_FORMAT, "%s: no general.architecture", in_path);
    char key[256];
    snprintf(key, sizeof key, "%s.block_count", qp->arch);
    if (!get_count(g, key, &qp->n_layer) || qp->n_layer < 1)
        return qfail(&r->q, EQ_ERR_FORMAT, "%s: missing or bad %s", in_path, key);
    snprintf(key, sizeof key, "%s.attention.head_count", qp->arch);
    get_count(g, key, &qp->n_head);
    qp->n_head_kv = qp->n_head;
    snprintf(key, sizeof key, "%s.attention.head_count_kv", qp->arch);
    get_count(g, key, &qp->n_head_kv);
    snprintf(key, sizeof key, "%s.expert_count", qp->arch);
    get_count(g, key, &qp->n_expert);

    if (p->imatrix) {
        eq_status st = load_imatrix(&r->q, p->imatrix, &r->im);
        if (st) return st;
        qp->has_imatrix = 1;
        qlog(&r->q, "imatrix: %d entries from %s%s%s, %lld chunks", r->im.n, p->imatrix, r->im.dataset ? ", dataset " : "",
             r->im.dataset ? r->im.dataset : "", (long long)r->im.chunk_count);
    }

    if (g->n_tensors > (uint64_t)INT_MAX / 2) return qfail(&r->q, EQ_ERR_FORMAT, "%s: too many tensors", in_path);
    const int n = r->n = (int)g->n_tensors;
    r->pt = calloc((size_t)(n ? n : 1), sizeof *r->pt);
    r->order = malloc((size_t)(n ? n : 1) * sizeof *r->order);
    r->types = malloc((size_t)(n ? n : 1) * sizeof *r->types);
    if (!r->pt || !r->order || !r->types) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        r->order[i] = i;
        r->pt[i].name = g->tensors[i].name;
        memcpy(r->pt[i].ne, g->tensors[i].ne, sizeof r->pt[i].ne);
        r->pt[i].type = g->tensors[i].type;
    }
    eq_qplan_sort(r->pt, r->order, n);
    /* the plan runs over the tensors in llama's order (its counters depend on it) */
    eq_qplan_tensor *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) sorted[i] = r->pt[r->order[i]];
    char perr[512];
    int n_fallback = 0;
    int rc = eq_qplan(qp, sorted, n, r->types, &n_fallback, perr, sizeof perr);
    free(sorted);
    if (rc) return qfail(&r->q, EQ_ERR_UNSUPPORTED, "%s: %s", in_path, perr);
    if (n_fallback) qlog(&r->q, "%d of %d tensor(s) need a fallback type (row length not a multiple of 256)", n_fallback, n);
    return EQ_OK;
}

/* Phase 3: everything that can fail on the input is checked before the output exists. */
static eq_status validate(qrun *r) {
    const eq_quantize_params *p = r->p;
    const eq_gguf *g = r->g;
    const char *in_path = r->in->name;
    const int n = r->n;
    if (r->im.n) {
        /* llama-quantize only warns per tensor; an imatrix for another model is surely a mistake */
        int matched = 0;
        for (int k = 0; k < n && !matched; k++) matched = imatrix_find(&r->im, g->tensors[k].name) != NULL;
        if (!matched)
            return qfail(&r->q, EQ_ERR_FORMAT, "%s: the importance matrix names none of the tensors of %s", p->imatrix, in_path);
    }
    for (int k = 0; k < n; k++) {
        const eq_gguf_tensor *t = &g->tensors[r->order[k]];
        const int type = r->types[k];
        if (type == t->type) continue;
        if (!eq_quantize_supported(type))
            return qfail(&r->q, EQ_ERR_UNSUPPORTED, "tensor '%s': cannot quantize to %s", t->name, eq_type_name(type));
        if (t->ne[3] > 1) /* llama's slabs (and its imatrix per expert) assume at most 3 dims */
            return qfail(&r->q, EQ_ERR_UNSUPPORTED, "%s: tensor '%s' has 4 dimensions; only 2-D and 3-D weights can be quantized",
                         in_path, t->name);
        if (is_quantized(t->type) && !p->allow_requantize)
            return qfail(&r->q, EQ_ERR_ARG, "%s: tensor '%s' is already quantized (%s); requantizing is disabled (--allow-requantize)",
                         in_path, t->name, eq_type_name(t->type));
        if (r->im.n) {
            const imx_entry *e = imatrix_find(&r->im, t->name);
            if (e && e->n != t->ne[0] * t->ne[2] && strcmp(t->name, "token_embd.weight") &&
                strcmp(t->name, "per_layer_token_embd.weight"))
                return qfail(&r->q, EQ_ERR_FORMAT, "%s: importance matrix for '%s' has %lld values, the tensor needs %lld",
                             p->imatrix, t->name, (long long)e->n, (long long)(t->ne[0] * t->ne[2]));
        }
    }
    return EQ_OK;
}

/* Phase 4: the output header (the input's metadata and llama-quantize's edits, in its order),
 * and the output opened: out_path under a temporary name, or io's sink. */
static eq_status write_header(qrun *r, const char *out_path, const eq_quantize_io *io) {
    const eq_quantize_params *p = r->p;
    const eq_gguf *g = r->g;
    const imatrix *im = &r->im;
    eq_status st;
    eq_gguf_writer *w = r->w = eq_gguf_writer_new();
    if (!w) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    if ((st = eq_gguf_writer_copy_kvs(w, g))) return wfail(r, st);
    if ((st = eq_gguf_writer_set_u32(w, "general.quantization_version", QNT_VERSION))) return wfail(r, st);
    if ((st = eq_gguf_writer_set_u32(w, "general.file_type", (uint32_t)p->ftype))) return wfail(r, st);
    eq_gguf_writer_remove(w, "split.no");
    eq_gguf_writer_remove(w, "split.count");
    eq_gguf_writer_remove(w, "split.tensors.count");
    if (im->n) {
        /* llama-quantize passes these as 128-byte overrides: strings are cut at 127 bytes */
        if ((st = eq_gguf_writer_set_strn(w, "quantize.imatrix.file", p->imatrix, strlen(p->imatrix) > 127 ? 127 : strlen(p->imatrix)))) return wfail(r, st);
        if (im->dataset && (st = eq_gguf_writer_set_strn(w, "quantize.imatrix.dataset", im->dataset,
                                                         strlen(im->dataset) > 127 ? 127 : strlen(im->dataset)))) return wfail(r, st);
        if ((st = eq_gguf_writer_set_u32(w, "quantize.imatrix.entries_count", (uint32_t)im->n))) return wfail(r, st);
        if (im->chunk_count > 0 && (st = eq_gguf_writer_set_u32(w, "quantize.imatrix.chunks_count", (uint32_t)im->chunk_count))) return wfail(r, st);
    }
    for (int k = 0; k < r->n; k++) {
        const eq_gguf_tensor *t = &g->tensors[r->order[k]];
        if ((st = eq_gguf_writer_add_tensor(w, t->name, r->types[k], EQ_GGUF_MAX_DIMS, t->ne))) return wfail(r, st);
    }
    if (io) {
        if ((st = eq_gguf_writer_open_sink(w, io->name, io->write, io->user))) return wfail(r, st);
    } else {
        const char *inputs[2] = {r->in->name, p->imatrix};
        const eq_outfile_opts oo = {inputs, 2, p->on_temp, p->log_user};
        if ((st = eq_gguf_writer_open_ex(w, out_path, &oo))) return wfail(r, st);
    }
    return EQ_OK;
}

/* Phase 5, for one tensor (k-th in llama's order): read it a slab of rows at a time, quantize
 * each slab across the pool (or copy it when the type stays), write it. */
static eq_status stream_tensor(qrun *r, int k, uint64_t *total_in, uint64_t *total_out, uint64_t *n_elements) {
    const eq_quantize_params *p = r->p;
    const eq_gguf *g = r->g;
    const char *in_path = r->in->name;
    eq_status st;
    const eq_gguf_tensor *t = &g->tensors[r->order[k]];
    const int out_type = r->types[k];
    const int64_t n_per_row = t->ne[0];
    const int64_t nrows = t->ne[1] * t->ne[2] * t->ne[3];
    const size_t in_row = eq_row_size(t->type, n_per_row), out_row = eq_row_size(out_type, n_per_row);
    const uint64_t base = g->data_offset + t->offset;
    char shape[96];
    shape_str(shape, sizeof shape, t->ne);
    *n_elements += (uint64_t)n_per_row * (uint64_t)nrows;
    int64_t slab = (int64_t)(SLAB_BYTES / in_row);
    if (slab < 1) slab = 1;
    if (slab > nrows) slab = nrows;
    if (slab > INT_MAX / 2) slab = INT_MAX / 2;
    /* buffers grow to the largest slab seen; freed at the end */
    uint8_t *ns = realloc(r->src, (size_t)slab * in_row);
    if (!ns) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory reading '%s'", t->name);
    r->src = ns;
    const float *imx = NULL;
    if (out_type != t->type) {
        uint8_t *nd = realloc(r->dst, (size_t)slab * out_row);
        if (!nd) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory quantizing '%s'", t->name);
        r->dst = nd;
        if (t->type != EQ_TYPE_F32) {
            float *nf = realloc(r->f32, (size_t)slab * (size_t)n_per_row * sizeof(float));
            if (!nf) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory quantizing '%s'", t->name);
            r->f32 = nf;
        }
        if (r->im.n) {
            const imx_entry *e = imatrix_find(&r->im, t->name);
            if (e && e->n == t->ne[0] * t->ne[2]) imx = e->v;
            else if (!e) qlog(&r->q, "no importance matrix for %s", t->name);
        }
    }
    for (int64_t r0 = 0; r0 < nrows; r0 += slab) {
        if (p->cancel && p->cancel(p->log_user)) return qfail(&r->q, EQ_ERR_ABORTED, "cancelled");
        const int64_t nr = nrows - r0 < slab ? nrows - r0 : slab;
        if (in_read(r->in, base + (uint64_t)r0 * in_row, r->src, (size_t)nr * in_row))
            return qfail(&r->q, EQ_ERR_IO, "%s: read error in tensor '%s' (truncated?)", in_path, t->name);
        if (out_type == t->type) {
            if ((st = eq_gguf_writer_write(r->w, r->src, (size_t)nr * in_row))) return wfail(r, st);
            continue;
        }
        slab_job j = {r->src, t->type, out_type, in_row, out_row, t->type == EQ_TYPE_F32 ? NULL : r->f32, r->dst,
                      n_per_row, nr, r0, t->ne[1], imx, r->bad};
        eq_pool_run(r->pool, slab_worker, &j);
        for (int i = 0; i < eq_pool_size(r->pool); i++)
            if (r->bad[i])
                return qfail(&r->q, EQ_ERR_FORMAT, "%s: tensor '%s': quantized data is not finite (inf/NaN or values too large in the input)",
                             in_path, t->name);
        if ((st = eq_gguf_writer_write(r->w, r->dst, (size_t)nr * out_row))) return wfail(r, st);
    }
    const uint64_t sz_in = t->nbytes, sz_out = eq_gguf_writer_tensor_size(r->w, k);
    *total_in += sz_in;
    *total_out += sz_out;
    char tn_in[16], tn_out[16];
    gg_name(t->type, tn_in, sizeof tn_in);
    gg_name(out_type, tn_out, sizeof tn_out);
    if (out_type == t->type)
        qlog(&r->q, "[%4d/%4d] %-36s - [%s], type = %6s, size = %8.3f MiB", k + 1, r->n, t->name, shape, tn_in,
             sz_in / 1048576.0);
    else
        qlog(&r->q, "[%4d/%4d] %-36s - [%s], type = %6s, converting to %s .. size = %8.2f MiB -> %8.2f MiB", k + 1, r->n,
             t->name, shape, tn_in, tn_out, sz_in / 1048576.0, sz_out / 1048576.0);
    return EQ_OK;
}

/* Phase 5: the tensors in llama's order through the thread pool, then the writer's finish. */
static eq_status stream(qrun *r) {
    const eq_quantize_params *p = r->p;
    eq_status st;
    int nth = p->n_threads > 0 ? p->n_threads : eq_cpu_count();
    r->pool = eq_pool_new(nth);
    if (!r->pool) return qfail(&r->q, EQ_ERR_NOMEM, "cannot start %d threads", nth);
    r->bad = calloc((size_t)eq_pool_size(r->pool), sizeof *r->bad);
    if (!r->bad) return qfail(&r->q, EQ_ERR_NOMEM, "out of memory");
    uint64_t total_in = 0, total_out = 0, n_elements = 0;
    for (int k = 0; k < r->n; k++)
        if ((st = stream_tensor(r, k, &total_in, &total_out, &n_elements))) return st;
    if ((st = eq_gguf_writer_finish(r->w))) return wfail(r, st);
    qlog(&r->q, "model size  = %8.2f MiB (%.2f BPW)", total_in / 1048576.0, n_elements ? total_in * 8.0 / n_elements : 0.0);
    qlog(&r->q, "quant size  = %8.2f MiB (%.2f BPW)", total_out / 1048576.0, n_elements ? total_out * 8.0 / n_elements : 0.0);
    return EQ_OK;
}

/* Quantize in; the output goes to out_path (temporary name, renamed when complete) or to io. */
static eq_status quantize(qinput *in, const char *out_path, const eq_quantize_io *io, const eq_quantize_params *p,
                          char *err, size_t errlen) {
    qrun r;
    memset(&r, 0, sizeof r);
    r.q = (qctx){p, err, errlen};
    r.p = p;
    r.in = in;
    if (err && errlen) err[0] = 0;
    if (eq_ftype_default_type(p->ftype) < 0) return qfail(&r.q, EQ_ERR_ARG, "unsupported file type %d", p->ftype);
    eq_status st = read_header(&r);
    if (!st) st = plan(&r);
    if (!st) st = validate(&r);
    if (!st) st = write_header(&r, out_path, io);
    if (!st) st = stream(&r);
    run_free(&r);
    return st;
}

eq_status eq_quantize_model(const char *in_path, const char *out_path, const eq_quantize_params *p,
                            char *err, size_t errlen) {
    qctx q = {p, err, errlen};
    if (err && errlen) err[0] = 0;
    /* before any work: the output may be neither a folder nor one of the inputs, by any name */
    const char *inputs[2] = {in_path, p->imatrix};
    const eq_outfile_opts oo = {inputs, 2, NULL, NULL};
    char msg[512];
    if (eq_outfile_check(out_path, &oo, msg, sizeof msg)) return qfail(&q, EQ_ERR_ARG, "%s", msg);
    qinput in = {in_path, 0, fopen(in_path, "rb"), 0, NULL};
    if (!in.f) return qfail(&q, EQ_ERR_IO, "%s: cannot open file", in_path);
    if (fseek(in.f, 0, SEEK_END) == 0) {
        long s = ftell(in.f);
        if (s > 0) in.size = (uint64_t)s;   /* a long too small for the size (wasm32) reads as 0: */
    }
    if (!in.size) {                          /* count the bytes instead */
        uint8_t buf[4096];
        size_t got;
        rewind(in.f);
        while ((got = fread(buf, 1, sizeof buf, in.f)) > 0) in.size += got;
    }
    eq_status st = seek_to(in.f, 0) ? qfail(&q, EQ_ERR_IO, "%s: cannot seek", in_path) : quantize(&in, out_path, NULL, p, err, errlen);
    fclose(in.f);
    return st;
}

eq_status eq_quantize_model_io(const eq_quantize_io *io, const eq_quantize_params *p, char *err, size_t errlen) {
    qctx q = {p, err, errlen};
    if (err && errlen) err[0] = 0;
    if (!io || !io->read || !io->write) return qfail(&q, EQ_ERR_ARG, "quantize: no input or output");
    qinput in = {io->name ? io->name : "input", io->size, NULL, 0, io};
    return quantize(&in, NULL, io, p, err, errlen);
}
