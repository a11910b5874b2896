/* Matrix-vector and matrix-matrix products on quantized weights, as ggml does them: each
 * activation row is converted once to the weight's partner format, then every output is one
 * vec_dot over integer blocks. Rows are tiled so a weight row is read once per tile of tokens. */
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/repack.h"

#include <string.h>

/* Where the rows x 4 kernel takes F32 activations (a prompt of F16 / BF16 weights), qbuf holds
 * the converted rows, then (from a 64-byte boundary) the same rows widened to F32: 1 in *wide. */
static size_t wide_offset(int type, int64_t ne0, int T, int *wide) {
    const eq_type_traits *tt = eq_type_traits_get(type);
    int rows, rx4_wide;
    *wide = T >= 4 && tt->vec_dot_type != EQ_TYPE_F32 && eq_vec_dot_rx4_get(type, &rows, &rx4_wide) && rx4_wide;
    return (eq_row_size(tt->vec_dot_type, ne0) * (size_t)T + 63) / 64 * 64;
}

size_t eq_matmul_qbuf_size(int type, int64_t ne0, int T) {
    const eq_type_traits *tt = eq_type_traits_get(type);
    if (!tt) return 0;
    int wide;
    const size_t off = wide_offset(type, ne0, T, &wide);
    return wide ? off + sizeof(float) * (size_t)ne0 * (size_t)T : eq_row_size(tt->vec_dot_type, ne0) * (size_t)T;
}

typedef struct {
    eq_pool *pool;
    const eq_weight *w;
    const float *x;
    int T, ld_out;
    float *out;
    void *qbuf;
    size_t qrow;
    eq_vec_dot_fn vec_dot;
    eq_vec_dot_x4_fn vec_dot_x4, vec_dot_x8;
    eq_vec_dot_x4_fn packed_x1, packed_x4;   /* w->packed: eight interleaved rows at a time */
    eq_vec_dot_rx4_fn rx4;                   /* rx4_rows rows against four tokens */
    int rx4_rows, tile_rows;
    float *wide;                             /* rx4's F32 activations, or NULL: it takes qbuf's */
    eq_from_float_fn from_float;
    eq_to_float_fn widen;
} mm_job;

static void convert_rows(void *arg, int ith, int nth) {
    mm_job *j = arg;
    int lo, hi;
    eq_split(j->T, ith, nth, &lo, &hi);
    for (int t = lo; t < hi; t++) {
        char *q = (char *)j->qbuf + (size_t)t * j->qrow;
        j->from_float(j->x + (size_t)t * j->w->ne0, q, j->w->ne0);
        if (j->wide) j->widen(q, j->wide + (size_t)t * j->w->ne0, j->w->ne0);
    }
}

#define TILE_ROWS 16
#define TILE_TOKENS 8
_Static_assert(TILE_ROWS % EQ_PACK_ROWS == 0, "a tile holds whole groups of packed rows");

/* Rows [tile_rows tile, tile_rows (tile + 1)) against every token, TILE_TOKENS at a time. */
static void dot_tile(const mm_job *j, int tile) {
    const eq_weight *w = j->w;
    const int n = (int)w->ne0, r0 = tile * j->tile_rows;
    const int r1 = r0 + j->tile_rows < w->ne1 ? r0 + j->tile_rows : (int)w->ne1;
    for (int t0 = 0; t0 < j->T; t0 += TILE_TOKENS) {
        int t1 = t0 + TILE_TOKENS < j->T ? t0 + TILE_TOKENS : j->T;
        if (w->packed) {   /* ne1 % 8 == 0 (the loader's rule), and so is every r0 */
            for (int r = r0; r < r1; r += EQ_PACK_ROWS) {
                const char *rows = (const char *)w->data + (size_t)r * w->nb1;
                int t = t0;
                for (; t + 4 <= t1; t += 4)
                    j->packed_x4(n, &j->out[(size_t)t * j->ld_out + r], (size_t)j->ld_out, rows,
                                 (const char *)j->qbuf + (size_t)t * j->qrow, j->qrow);
                for (; t < t1; t++)
                    j->packed_x1(n, &j->out[(size_t)t * j->ld_out + r], (size_t)j->ld_out, rows,
                                 (const char *)j->qbuf + (size_t)t * j->qrow, j->qrow);
            }
            continue;
        }
        int r = r0;
        if (j->rx4 && t1 - t0 >= 4)   /* rows several at a time against four tokens, the rest below */
            for (; r + j->rx4_rows <= r1; r += j->rx4_rows) {
                const char *rows = (const char *)w->data + (size_t)r * w->nb1;
                int t = t0;
                for (; t + 4 <= t1; t += 4)
                    j->rx4(n, &j->out[(size_t)t * j->ld_out + r], (size_t)j->ld_out, rows, w->nb1,
                           j->wide ? (const void *)(j->wide + (size_t)t * n) : (const char *)j->qbuf + (size_t)t * j->qrow,
                           j->wide ? sizeof(float) * (size_t)n : j->qrow);
                for (int rr = r; rr < r + j->rx4_rows; rr++)
                    for (int tt = t; tt < t1; tt++)
                        j->vec_dot(n, &j->out[(size_t)tt * j->ld_out + rr], (const char *)w->data + (size_t)rr * w->nb1,
                                   (const char *)j->qbuf + (size_t)tt * j->qrow);
            }
        for (; r < r1; r++) {
            const char *row = (const char *)w->data + (size_t)r * w->nb1;
            int t = t0;
            if (j->vec_dot_x8)
                for (; t + 8 <= t1; t += 8)
                    j->vec_dot_x8(n, &j->out[(size_t)t * j->ld_out + r], (size_t)j->ld_out, row,
                                  (const char *)j->qbuf + (size_t)t * j->qrow, j->qrow);
            if (j->vec_dot_x4)
                for (; t + 4 <= t1; t += 4)
                    j->vec_dot_x4(n, &j->out[(size_t)t * j->ld_out + r], (size_t)j->ld_out, row,
                                  (const char *)j->qbuf + (size_t)t * j->qrow, j->qrow);
            for (; t < t1; t++)
                j->vec_dot(n, &j->out[(size_t)t * j->ld_out + r], row, (const char *)j->qbuf + (size_t)t * j->qrow);
        }
    }
}

/* Tiles are claimed (runtime/threadpool.h): a share's own run first, at least 64 KiB of
 * weights a claim when generating (a tile of one token is about a microsecond of streaming,
 * a claim a few nanoseconds), then what is left of the others'. A tile's outputs come from the
 * same kernel calls whichever thread runs it. */
static void dot_rows(void *arg, int ith, int nth) {
    const mm_job *j = arg;
    const eq_weight *w = j->w;
    const size_t tile_bytes = (size_t)j->tile_rows * w->nb1 * (size_t)j->T;
    eq_claim claim = eq_claim_start((int)((w->ne1 + j->tile_rows - 1) / j->tile_rows),
                                    (int)((65536 + tile_bytes - 1) / tile_bytes), ith, nth);
    int lo, hi;
    while (eq_claim_next(j->pool, &claim, &lo, &hi))
        for (int tile = lo; tile < hi; tile++) dot_tile(j, tile);
}

void eq_matmul(eq_pool *pool, const eq_weight *w, const float *x, int T, float *out, int ld_out, void *qbuf) {
    const eq_type_traits *tt = eq_type_traits_get(w->type);
    const eq_type_traits *xt = eq_type_traits_get(tt->vec_dot_type);
    mm_job j = {pool, w, x, T, ld_out, out, qbuf, eq_row_size(tt->vec_dot_type, w->ne0), tt->vec_dot,
                eq_vec_dot_x4_get(w->type), eq_vec_dot_x8_get(w->type),
                eq_vec_dot_packed_get(w->type, 1), eq_vec_dot_packed_get(w->type, 4), NULL, 0, TILE_ROWS, NULL,
                xt->from_float, xt->to_float};
    int wide;
    j.rx4 = eq_vec_dot_rx4_get(w->type, &j.rx4_rows, &wide);
    /* Tiles of whole groups of rx4 rows (three rows: 24) where the prompt runs through them, so
     * that no row is left to the one-row kernels. Generation keeps 16-row tiles: more of them
     * to share between threads. */
    if (j.rx4 && T >= 4)
        while (j.tile_rows % j.rx4_rows) j.tile_rows += EQ_PACK_ROWS;
    const size_t wide_at = wide_offset(w->type, w->ne0, T, &wide);
    if (j.rx4 && wide) j.wide = (float *)(void *)((char *)qbuf + wide_at);
    if (tt->vec_dot_type == 0 /* F32: use x as it is */) {
        j.qbuf = (void *)x;
    } else if (T == 1) {
        convert_rows(&j, 0, 1);
    } else {
        eq_pool_run(pool, convert_rows, &j);
    }
    eq_pool_run(pool, dot_rows, &j);
}
