/* Kernel micro-benchmark: the matrix-vector products of a decode step (vec_dot per weight row),
 * the 4-token kernels of prompt processing (vec_dot_x4), the activation quantizers and the
 * attention's F16 dot / multiply-add, each timed alone on model-like shapes. Not a test: it
 * prints throughput so kernel changes can be compared on one machine, e.g.
 *   bash tests/cross/wasm.sh --bench          (wasm32-wasi, SIMD128, under Node)
 * Arguments: [filter] [seconds-per-kernel]. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/repack.h"
#include "ops/ops.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)(rnd() & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double g_secs = 0.5;
static volatile float g_sink;

/* Runs fn(arg) until g_secs have passed (at least 3 times); returns the best seconds per call. */
static double best_time(void (*fn)(void *), void *arg) {
    double best = 1e30, start = now();
    int reps = 0;
    while (reps < 3 || now() - start < g_secs) {
        const double t0 = now();
        fn(arg);
        const double t = now() - t0;
        if (t < best) best = t;
        reps++;
    }
    return best;
}

typedef struct {
    const eq_type_traits *t;
    eq_vec_dot_x4_fn x4;
    int rows, n;
    uint8_t *w, *y;
    size_t wrow, yrow;
    float *out;
} mv_job;

static void run_matvec(void *arg) {
    mv_job *j = arg;
    for (int r = 0; r < j->rows; r++) j->t->vec_dot(j->n, &j->out[r], j->w + (size_t)r * j->wrow, j->y);
    g_sink = j->out[0];
}

static void run_matvec_x4(void *arg) {
    mv_job *j = arg;
    for (int r = 0; r < j->rows; r++) j->x4(j->n, &j->out[r], (size_t)j->rows, j->w + (size_t)r * j->wrow, j->y, j->yrow);
    g_sink = j->out[0];
}

static void run_matvec_4x1(void *arg) {
    mv_job *j = arg;
    for (int r = 0; r < j->rows; r++)
        for (int t = 0; t < 4; t++)
            j->t->vec_dot(j->n, &j->out[(size_t)t * j->rows + r], j->w + (size_t)r * j->wrow, j->y + (size_t)t * j->yrow);
    g_sink = j->out[0];
}

/* the same rows repacked eight at a time (quant/repack.h): j->x4 is a packed kernel, 1 or 4 tokens */
static void run_packed(void *arg) {
    mv_job *j = arg;
    for (int r = 0; r < j->rows; r += EQ_PACK_ROWS) j->x4(j->n, &j->out[r], (size_t)j->rows, j->w + (size_t)r * j->wrow, j->y, j->yrow);
    g_sink = j->out[0];
}

static void bench_type(int type, int rows, int n) {
    const eq_type_traits *t = eq_type_traits_get(type), *vt = eq_type_traits_get(t->vec_dot_type);
    n = (n + t->blck_size - 1) / t->blck_size * t->blck_size; /* K formats: 576 -> 768 */
    mv_job j = {t, eq_vec_dot_x4_get(type), rows, n, NULL, NULL, eq_row_size(type, n), eq_row_size(t->vec_dot_type, n), NULL};
    float *f = malloc(sizeof(float) * (size_t)n * 4);
    j.w = malloc(j.wrow * rows);
    j.y = malloc(j.yrow * 4);
    j.out = malloc(sizeof(float) * (size_t)rows * 4);
    for (int r = 0; r < rows; r++) {
        for (int i = 0; i < n; i++) f[i] = frand();
        eq_type_traits_ref(type)->from_float(f, j.w + (size_t)r * j.wrow, n);
    }
    for (int i = 0; i < 4 * n; i++) f[i] = frand();
    for (int tk = 0; tk < 4; tk++) vt->from_float(f + (size_t)tk * n, j.y + (size_t)tk * j.yrow, n);
    const double macs = (double)rows * n;
    const double t1 = best_time(run_matvec, &j);
    printf("%-5s %5dx%-5d vec_dot    %8.1f us  %6.2f GMAC/s\n", t->name, rows, n, t1 * 1e6, macs / t1 * 1e-9);
    const double t4 = best_time(run_matvec_4x1, &j);
    printf("%-5s %5dx%-5d 4 x vec_dot%8.1f us  %6.2f GMAC/s\n", t->name, rows, n, t4 * 1e6, 4 * macs / t4 * 1e-9);
    if (j.x4) {
        const double tx = best_time(run_matvec_x4, &j);
        printf("%-5s %5dx%-5d vec_dot_x4 %8.1f us  %6.2f GMAC/s  (%.2fx)\n", t->name, rows, n, tx * 1e6, 4 * macs / tx * 1e-9, t4 / tx);
    }
    mv_job p1 = j, p4 = j;
    p1.x4 = eq_vec_dot_packed_get(type, 1);
    p4.x4 = eq_vec_dot_packed_get(type, 4);
    if (p1.x4 && p4.x4 && rows % EQ_PACK_ROWS == 0 && eq_repack_rows(type, j.w, n, rows) == 0) {
        const double tp1 = best_time(run_packed, &p1);
        printf("%-5s %5dx%-5d packed x1  %8.1f us  %6.2f GMAC/s  (%.2fx vec_dot)\n", t->name, rows, n, tp1 * 1e6, macs / tp1 * 1e-9, t1 / tp1);
        const double tp4 = best_time(run_packed, &p4);
        printf("%-5s %5dx%-5d packed x4  %8.1f us  %6.2f GMAC/s  (%.2fx 4 x vec_dot)\n", t->name, rows, n, tp4 * 1e6, 4 * macs / tp4 * 1e-9, t4 / tp4);
    }
    free(f); free(j.w); free(j.y); free(j.out);
}

typedef struct { const eq_type_traits *t; const float *x; void *q; int n, reps; } q_job;
static void run_quant(void *arg) {
    q_job *j = arg;
    for (int r = 0; r < j->reps; r++) j->t->from_float(j->x, j->q, j->n);
}

static void bench_quant(int type, int n) {
    const eq_type_traits *t = eq_type_traits_get(type);
    float *x = malloc(sizeof(float) * n);
    void *q = malloc(eq_row_size(type, n));
    for (int i = 0; i < n; i++) x[i] = frand() * 3;
    q_job j = {t, x, q, n, 100};
    const double s = best_time(run_quant, &j) / j.reps;
    printf("%-5s from_float n=%-5d %8.2f us  %6.2f Gvalues/s\n", t->name, n, s * 1e6, n / s * 1e-9);
    free(x); free(q);
}

/* The attention of one head at context length ctx: ctx F16 dots of head_dim, then ctx F16
 * multiply-adds, as decoder.c does them. */
typedef struct { int hd, ctx; uint16_t *k, *v, *q; float *sc, *out; } att_job;
static void run_att_dot(void *arg) {
    att_job *j = arg;
    const eq_type_traits *t = eq_type_traits_get(EQ_TYPE_F16);
    for (int p = 0; p < j->ctx; p++) t->vec_dot(j->hd, &j->sc[p], j->k + (size_t)p * j->hd, j->q);
    g_sink = j->sc[0];
}
static void run_att_mad(void *arg) {
    att_job *j = arg;
    for (int p = 0; p < j->ctx; p++) eq_vec_mad_f16(j->hd, j->out, j->v + (size_t)p * j->hd, j->sc[p]);
    g_sink = j->out[0];
}

static void bench_attention(int hd, int ctx) {
    att_job j = {hd, ctx, malloc(2 * (size_t)hd * ctx), malloc(2 * (size_t)hd * ctx), malloc(2 * (size_t)hd),
                 malloc(sizeof(float) * ctx), calloc((size_t)hd, sizeof(float))};
    for (size_t i = 0; i < (size_t)hd * ctx; i++) { j.k[i] = eq_fp32_to_fp16(frand()); j.v[i] = eq_fp32_to_fp16(frand()); }
    for (int i = 0; i < hd; i++) j.q[i] = eq_fp32_to_fp16(frand());
    for (int p = 0; p < ctx; p++) j.sc[p] = frand() / ctx;
    const double td = best_time(run_att_dot, &j), tm = best_time(run_att_mad, &j);
    const double vals = (double)hd * ctx;
    printf("F16   attention hd=%d ctx=%d: dot %7.1f us (%5.2f Gvalues/s)  mad %7.1f us (%5.2f Gvalues/s)\n", hd, ctx,
           td * 1e6, vals / td * 1e-9, tm * 1e6, vals / tm * 1e-9);
    free(j.k); free(j.v); free(j.q); free(j.sc); free(j.out);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : "";
    if (argc > 2) g_secs = atof(argv[2]);
    printf("edgeq kernel_bench: isa %s\n", eq_quant_isa());
    static const int types[] = {EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0, EQ_TYPE_Q5_1, EQ_TYPE_Q8_0,
                                EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const char *name = eq_type_name(types[i]);
        if (*filter && !strstr(filter, name) && strcmp(filter, "dot")) continue;
        /* SmolLM2-135M's FFN shapes: 1536 rows of 576 (gate/up), 576 rows of 1536 (down) */
        bench_type(types[i], 1536, 576);
        bench_type(types[i], 576, 1536);
    }
    if (!*filter || strstr(filter, "quant")) {
        bench_quant(EQ_TYPE_Q8_0, 576);
        bench_quant(EQ_TYPE_Q8_1, 576);
        bench_quant(EQ_TYPE_Q8_K, 1536);
    }
    if (!*filter || strstr(filter, "att")) {
        bench_attention(64, 128);
        bench_attention(64, 1024);
    }
    return 0;
}
