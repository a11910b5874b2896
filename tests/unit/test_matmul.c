/* The threaded matmul: every output equals the single vec_dot of its row and token, bit for
 * bit, for any batch size and any thread count (the 4-token kernels included). And the
 * attention's many-row F16 helpers against their one-row kernels, bit for bit, and its softmax
 * and SwiGLU against their scalar procedures. */
#include "eqtest.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/kernels.h"
#include "ops/exp_f64.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }
static float frand(void) { return (float)(next() % 20001) / 10000.0f - 1.0f; }

/* The multi-token K-quant kernels against vec_dot on blocks of random bytes (every code, scale
 * and minimum pattern, not only what the quantizer makes), activations at full range. */
static void random_blocks(void) {
    const int types[] = {EQ_TYPE_Q4_K, EQ_TYPE_Q6_K};
    const int K = 1024, R = 64, T = 8;
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const int type = types[ti];
        const eq_type_traits *tt = eq_type_traits_get(type), *at = eq_type_traits_get(EQ_TYPE_Q8_K);
        const size_t rs = eq_row_size(type, K), qs = eq_row_size(EQ_TYPE_Q8_K, K);
        unsigned char *w = malloc(rs * R);
        char *xq = malloc(qs * T);
        float *x = malloc(sizeof(float) * K * T), ref[64 * 8], got[64 * 8];
        for (size_t i = 0; i < rs * R; i++) w[i] = (unsigned char)next();
        for (int r = 0; r < R; r++)
            for (int b = 0; b < K / EQ_QK_K; b++) {
                unsigned char *blk = w + r * rs + b * (rs / (K / EQ_QK_K));
                const eq_f16 d = eq_fp32_to_fp16(frand() * 0.01f), dmin = eq_fp32_to_fp16(frand() * 0.01f);
                if (type == EQ_TYPE_Q4_K) { ((block_q4_K *)blk)->d = d; ((block_q4_K *)blk)->dmin = dmin; }
                else ((block_q6_K *)blk)->d = d;
            }
        for (int i = 0; i < K * T; i++) x[i] = frand() * (i % 97 == 0 ? 50.0f : 2.0f);
        for (int t = 0; t < T; t++) at->from_float(x + (size_t)t * K, xq + t * qs, K);
        for (int t = 0; t < T; t++)
            for (int r = 0; r < R; r++) tt->vec_dot(K, &ref[t * R + r], w + r * rs, xq + t * qs);
        struct { const char *name; eq_vec_dot_x4_fn f; int nt; } k[] = {
            {"4-token", eq_vec_dot_x4_get(type), 4}, {"8-token", eq_vec_dot_x8_get(type), 8},
#if defined(EQ_HAVE_AVX512)
            /* the AVX2 kernels are what a build without AVX-512 runs */
            {"AVX2 4-token", type == EQ_TYPE_Q4_K ? eq_vec_dot_x4_q4_K_q8_K_avx2 : eq_vec_dot_x4_q6_K_q8_K_avx2, 4},
#endif
        };
        for (size_t ki = 0; ki < sizeof k / sizeof *k; ki++) {
            if (!k[ki].f) continue;
            memset(got, 0xff, sizeof got);
            for (int r = 0; r < R; r++)
                for (int t = 0; t + k[ki].nt <= T; t += k[ki].nt) k[ki].f(K, &got[t * R + r], R, w + r * rs, xq + t * qs, qs);
            CHECKF(!memcmp(got, ref, sizeof(float) * R * T), "%s: %s kernel is not bit-identical to vec_dot on random blocks",
                   eq_type_name(type), k[ki].name);
        }
        free(w); free(xq); free(x);
    }
}

/* The float formats' 4-token kernels against vec_dot, bit for bit, at lengths that take
 * every tail (no 32-value step, a partial one, eights, single values). */
static void float_x4(void) {
    const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16};
    const int ns[] = {1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 100, 1000, 2048};
    enum { NMAX = 2048 };
    float *x = malloc(sizeof(float) * NMAX * 5);
    char *q = malloc(sizeof(float) * NMAX * 5);
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const eq_vec_dot_x4_fn x4 = eq_vec_dot_x4_get(types[ti]);
        if (!x4) continue;
        const eq_type_traits *tt = eq_type_traits_get(types[ti]);
        int bad = 0;
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int n = ns[ni];
            const size_t rs = eq_row_size(types[ti], n);
            for (int i = 0; i < n * 5; i++) x[i] = frand() * (i % 13 == 0 ? 30.0f : 1.0f);
            for (int r = 0; r < 5; r++) tt->from_float(x + (size_t)r * n, q + r * rs, n);
            float got[4 * 2], want[4];
            memset(got, 0xff, sizeof got);
            x4(n, got, 2, q, q + rs, rs);   /* row 0 against rows 1-4, outputs 2 apart */
            for (int t = 0; t < 4; t++) {
                tt->vec_dot(n, &want[t], q, q + (t + 1) * rs);
                bad += memcmp(&got[2 * t], &want[t], sizeof(float)) != 0;
            }
        }
        CHECKF(!bad, "%s: %d of %d 4-token sums differ from vec_dot", eq_type_name(types[ti]), bad,
               (int)(4 * sizeof ns / sizeof *ns));
    }
    free(x); free(q);
}

/* The float formats' rows x 4-token kernels the same way: every row against every token. */
static void float_rx4(void) {
    const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16};
    const int ns[] = {1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 100, 1000, 2048};
    enum { NMAX = 2048, RMAX = 8, LD = RMAX + 3 };
    float *x = malloc(sizeof(float) * NMAX * (RMAX + 4));
    char *q = malloc(sizeof(float) * NMAX * (RMAX + 4));
    float *xw = malloc(sizeof(float) * NMAX * 4);
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        int rows, wide;
        const eq_vec_dot_rx4_fn rx4 = eq_vec_dot_rx4_get(types[ti], &rows, &wide);
        if (!rx4) continue;
        CHECK(rows >= 2 && rows <= RMAX);
        if (rows < 2 || rows > RMAX) continue;
        const eq_type_traits *tt = eq_type_traits_get(types[ti]);
        int bad = 0, total = 0;
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int n = ns[ni];
            const size_t rs = eq_row_size(types[ti], n);
            for (int i = 0; i < n * (rows + 4); i++) x[i] = frand() * (i % 13 == 0 ? 30.0f : 1.0f);
            for (int r = 0; r < rows + 4; r++) tt->from_float(x + (size_t)r * n, q + r * rs, n);
            float got[4 * LD];
            memset(got, 0xff, sizeof got);
            /* rows 0.. against the four after them, widened to F32 where the kernel takes them so */
            if (wide) {
                for (int t = 0; t < 4; t++) tt->to_float(q + (rows + t) * rs, xw + (size_t)t * n, n);
                rx4(n, got, LD, q, rs, xw, sizeof(float) * n);
            } else {
                rx4(n, got, LD, q, rs, q + rows * rs, rs);
            }
            for (int t = 0; t < 4; t++)
                for (int r = 0; r < rows; r++) {
                    float want;
                    tt->vec_dot(n, &want, q + r * rs, q + (rows + t) * rs);
                    bad += memcmp(&got[t * LD + r], &want, sizeof(float)) != 0;
                    total++;
                }
        }
        CHECKF(!bad, "%s: %d of %d rows x 4-token sums differ from vec_dot", eq_type_name(types[ti]), bad, total);
        printf("%s: rows x 4-token kernel, %d rows%s\n", eq_type_name(types[ti]), rows, wide ? ", F32 activations" : "");
    }
    free(x); free(q); free(xw);
}

/* eq_vec_dot_f16_rows / eq_vec_mad_f16_rows against the F16 vec_dot and eq_vec_mad_f16 row by
 * row: head sizes with and without a 32-value step, a tail of eight, none the fast path takes
 * (n % 8, n > 512), row counts around the eight-row groups, rows apart by a stride. */
static void attention_rows(void) {
    const int ns[] = {8, 24, 40, 64, 72, 96, 128, 256, 512, 12, 520};
    const int rows_list[] = {0, 1, 7, 8, 9, 17, 64};
    const int nq_list[] = {1, 2, 3, 4, 5, 8, 9};
    const eq_vec_dot_fn dot = eq_type_traits_get(EQ_TYPE_F16)->vec_dot;
    enum { NMAX = 520, RMAX = 64, QMAX = 9, STRIDE = NMAX + 24, LD = RMAX + 3, LDY = NMAX + 8 };
    uint16_t *x = malloc(sizeof(uint16_t) * STRIDE * RMAX), *y = malloc(sizeof(uint16_t) * LDY * QMAX);
    float *got = malloc(sizeof(float) * LD * QMAX), *ref = malloc(sizeof(float) * LD * QMAX);
    float *w = malloc(sizeof(float) * LD * QMAX), *ya = malloc(sizeof(float) * LDY * QMAX), *yb = malloc(sizeof(float) * LDY * QMAX);
    for (size_t i = 0; i < (size_t)STRIDE * RMAX; i++) x[i] = eq_fp32_to_fp16(frand() * 4.0f);
    for (int i = 0; i < LDY * QMAX; i++) y[i] = eq_fp32_to_fp16(frand() * 2.0f);
    for (int i = 0; i < LD * QMAX; i++) w[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(fabsf(frand())));
    int bad_dot = 0, bad_mad = 0;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof rows_list / sizeof *rows_list; b++)
            for (size_t c = 0; c < sizeof nq_list / sizeof *nq_list; c++) {
                const int n = ns[a], rows = rows_list[b], nq = nq_list[c];
                for (int q = 0; q < nq; q++)
                    for (int r = 0; r < rows; r++) dot(n, &ref[q * LD + r], x + (size_t)r * STRIDE, y + q * LDY);
                eq_vec_dot_f16_rows(n, nq, rows, got, LD, x, STRIDE, y, LDY);
                for (int q = 0; q < nq; q++)
                    if (rows && memcmp(got + q * LD, ref + q * LD, sizeof(float) * rows)) {
                        if (!bad_dot++) printf("eq_vec_dot_f16_rows n=%d nq=%d rows=%d differs from the F16 vec_dot (query %d)\n", n, nq, rows, q);
                    }
                for (int i = 0; i < LDY * nq; i++) ya[i] = yb[i] = frand();
                for (int q = 0; q < nq; q++)
                    for (int r = 0; r < rows; r++) eq_vec_mad_f16(n, yb + q * LDY, x + (size_t)r * STRIDE, w[q * LD + r]);
                eq_vec_mad_f16_rows(n, nq, rows, ya, LDY, x, STRIDE, w, LD);
                if (memcmp(ya, yb, sizeof(float) * LDY * nq)) {
                    if (!bad_mad++) printf("eq_vec_mad_f16_rows n=%d nq=%d rows=%d differs from eq_vec_mad_f16\n", n, nq, rows);
                }
            }
    /* inf and NaN: a row and a query holding one take the one-row kernels' path for those pairs */
    x[3 * STRIDE + 5] = 0x7C00;                 /* row 3: +inf */
    y[1 * LDY + 17] = 0x7E01;                   /* query 1: NaN */
    for (int q = 0; q < 3; q++)
        for (int r = 0; r < 9; r++) dot(64, &ref[q * LD + r], x + (size_t)r * STRIDE, y + q * LDY);
    eq_vec_dot_f16_rows(64, 3, 9, got, LD, x, STRIDE, y, LDY);
    int same = 1;
    for (int q = 0; q < 3; q++) same &= !memcmp(got + q * LD, ref + q * LD, sizeof(float) * 9);
    CHECKF(same, "eq_vec_dot_f16_rows differs from the F16 vec_dot with inf/NaN in a row and a query");
    for (int i = 0; i < LDY * 3; i++) ya[i] = yb[i] = frand();
    for (int q = 0; q < 3; q++)
        for (int r = 0; r < 9; r++) eq_vec_mad_f16(64, yb + q * LDY, x + (size_t)r * STRIDE, w[q * LD + r]);
    eq_vec_mad_f16_rows(64, 3, 9, ya, LDY, x, STRIDE, w, LD);
    CHECKF(!memcmp(ya, yb, sizeof(float) * LDY * 3), "eq_vec_mad_f16_rows differs from eq_vec_mad_f16 with inf in a row");
    /* the probabilities' rounding to F16: tiny (subnormal in F16), ordinary, ties, past the
     * largest F16 (to inf) */
    enum { NR = 1027 };
    float *pa = malloc(sizeof(float) * NR), *pb = malloc(sizeof(float) * NR);
    for (int i = 0; i < NR; i++) {
        const float u = fabsf(frand());
        pa[i] = i % 4 == 0 ? u * 1e-6f : i % 4 == 1 ? u : i % 4 == 2 ? eq_fp16_to_fp32((uint16_t)(i * 37 % 0x7800)) * (1.0f + ldexpf(1.0f, -11)) : u * 1e5f;
        pb[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(pa[i] * 0.75f));
    }
    eq_vec_round_f16(NR, pa, 0.75f);
    CHECKF(!memcmp(pa, pb, sizeof(float) * NR), "eq_vec_round_f16 differs from eq_fp32_to_fp16");
    free(pa); free(pb);
    CHECKF(!bad_dot, "%d F16 dot cases differ", bad_dot);
    CHECKF(!bad_mad, "%d F16 multiply-add cases differ", bad_mad);
    free(x); free(y); free(got); free(ref); free(w); free(ya); free(yb);
}

static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof a); }

/* eq_vec_softmax (the SIMD twin where there is one) against eq_vec_softmax_ref bit for bit: every
 * length 1..72 (tails of 0-7 after the eight-value steps) and longer ones, scores whose
 * exponentials span the whole float range down to 0, -inf scores, a NaN score, all scores -inf.
 * And exp itself (ops/exp_f64.h) against exp in double rounded to float, so that a reference and
 * twin wrong in the same way still fail. */
static void softmax(void) {
    enum { NMAX = 4099 };
    float *a = malloc(sizeof(float) * NMAX), *b = malloc(sizeof(float) * NMAX), *src = malloc(sizeof(float) * NMAX);
    int bad = 0, cases = 0;
    const int longer[] = {127, 128, 129, 1000, 1031, 4096, 4099};
    for (int pass = 0; pass < 5; pass++)
        for (int c = 0; c < 72 + (int)(sizeof longer / sizeof *longer); c++) {
            const int n = c < 72 ? c + 1 : longer[c - 72];
            const float spread = pass == 0 ? 4.0f : pass == 1 ? 60.0f : 400.0f;   /* exp down to 0 */
            for (int i = 0; i < n; i++) src[i] = frand() * spread;
            if (pass == 3) src[next() % n] = -INFINITY, src[next() % n] = -INFINITY;
            if (pass == 4) src[next() % n] = NAN;
            if (pass == 2 && c % 5 == 0)
                for (int i = 0; i < n; i++) src[i] = -INFINITY;
            memcpy(a, src, sizeof(float) * n);
            memcpy(b, src, sizeof(float) * n);
            const float scale = c % 3 ? 0.125f : 0.0883883476f;
            const double sa = eq_vec_softmax(n, a, scale), sb = eq_vec_softmax_ref(n, b, scale);
            int same = (isnan(sa) && isnan(sb)) || !memcmp(&sa, &sb, sizeof sa);
            for (int i = 0; i < n; i++) same &= same_float(a[i], b[i]);
            cases++;
            if (!same && !bad++) printf("eq_vec_softmax n=%d pass %d differs from eq_vec_softmax_ref\n", n, pass);
            if (pass == 0) {   /* the probabilities sum to 1 */
                double sum = 0;
                for (int i = 0; i < n; i++) sum += b[i] / sb;
                if (fabs(sum - 1.0) > 1e-6 && !bad++) printf("softmax n=%d sums to %.9f\n", n, sum);
            }
        }
    CHECKF(!bad, "%d of %d softmax cases differ", bad, cases);
    /* exp: a million values from -120 to 90, a hundred thousand within 0.001 of 0 */
    int off = 0, far = 0, n = 0;
    for (; n < 1100000; n++) {
        const float u = (float)(next() >> 11) / 2097152.0f;   /* [0, 1) */
        const float x = n < 1000000 ? -120.0f + 210.0f * u : (u - 0.5f) * ldexpf(1.0f, -(int)(next() % 30) - 10);
        const float e = eq_exp_f64(x), r = (float)exp((double)x);
        if (e != r) off++;
        if (e != r && e != nextafterf(r, 0.0f) && e != nextafterf(r, INFINITY)) far++;
    }
    CHECKF(!far && off < 3, "eq_exp_f64: %d of %d values differ from exp rounded to float (%d by more than 1 ulp)", off, n, far);
    CHECKF(eq_exp_f64(-INFINITY) == 0.0f && eq_exp_f64(INFINITY) == INFINITY && isnan(eq_exp_f64(NAN)) &&
               eq_exp_f64(0.0f) == 1.0f && eq_exp_f64(-104.0f) == 0.0f && eq_exp_f64(-103.0f) > 0.0f && eq_exp_f64(89.0f) == INFINITY,
           "eq_exp_f64 at the edges");
    free(a); free(b); free(src);
}

/* SwiGLU: the SIMD twin against eq_swiglu_ref bit for bit (every length to 40 and longer ones,
 * so every tail; gates of every size, a few special values), and the reference against
 * silu * u in double within float rounding */
static void swiglu(void) {
    enum { NMAX = 1031 };
    float *a = malloc(sizeof(float) * NMAX), *b = malloc(sizeof(float) * NMAX), *g = malloc(sizeof(float) * NMAX),
          *u = malloc(sizeof(float) * NMAX);
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.0f, -88.0f, 89.0f, -104.0f, 1e-40f, -1e-40f, 200.0f, -200.0f};
    int bad = 0, cases = 0, inexact = 0;
    double worst = 0;
    const int longer[] = {63, 64, 65, 1000, 1031};
    for (int pass = 0; pass < 4; pass++)
        for (int c = 0; c < 40 + (int)(sizeof longer / sizeof *longer); c++) {
            const int n = c < 40 ? c + 1 : longer[c - 40];
            const float spread = pass == 0 ? 1.0f : pass == 1 ? 8.0f : 120.0f;
            for (int i = 0; i < n; i++) {
                g[i] = frand() * spread;
                u[i] = frand() * 4.0f;
                if (pass == 3 && next() % 4 == 0) g[i] = special[next() % (sizeof special / sizeof *special)];
            }
            memcpy(a, g, sizeof(float) * n);
            memcpy(b, g, sizeof(float) * n);
            eq_swiglu(a, u, n);
            eq_swiglu_ref(b, u, n);
            int same = 1;
            for (int i = 0; i < n; i++) same &= same_float(a[i], b[i]);
            cases++;
            if (!same && !bad++) printf("eq_swiglu n=%d pass %d differs from eq_swiglu_ref\n", n, pass);
            for (int i = 0; i < n && pass < 3; i++) {   /* three float roundings after exp: a few ulp at most */
                const double x = g[i], want = x / (1.0 + exp(-x)) * u[i];
                const double err = fabs(b[i] - want) / (fabs(want) > 1e-30 ? fabs(want) : 1.0);
                if (err > worst) worst = err;
                if (err > 4e-7) inexact++;
            }
        }
    CHECKF(!bad, "%d of %d swiglu cases differ", bad, cases);
    CHECKF(!inexact, "eq_swiglu_ref: %d values off silu(g) * u by more than 4e-7 (worst %.3g)", inexact, worst);
    /* what libm's silu gives at the edges: -inf is NaN (-inf / inf), inf is u times inf */
    float e[6] = {-INFINITY, INFINITY, NAN, -200.0f, 0.0f, 20.0f}, one[6] = {1, 1, 1, 1, 1, 1};
    eq_swiglu(e, one, 6);
    CHECKF(isnan(e[0]) && e[1] == INFINITY && isnan(e[2]) && e[3] == 0.0f && e[4] == 0.0f && fabsf(e[5] - 20.0f) < 1e-5f,
           "eq_swiglu at the edges: %g %g %g %g %g %g", e[0], e[1], e[2], e[3], e[4], e[5]);
    free(a); free(b); free(g); free(u);
}

int main(void) {
    float_x4();
    float_rx4();
    attention_rows();
    softmax();
    swiglu();
    random_blocks();
    const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0, EQ_TYPE_Q5_1,
                         EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K};
    const int K = 512, R = 37, TMAX = 11;
    float *wf = malloc(sizeof(float) * K * R), *x = malloc(sizeof(float) * K * TMAX);
    float *out = malloc(sizeof(float) * R * TMAX), *ref = malloc(sizeof(float) * R * TMAX);
    for (int i = 0; i < K * R; i++) wf[i] = frand() * 0.5f;
    for (int i = 0; i < K * TMAX; i++) x[i] = frand() * 3.0f;
    eq_pool *pools[3] = {eq_pool_new(1), eq_pool_new(2), eq_pool_new(3)};
    int n_x4 = 0, n_x8 = 0;
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const int type = types[ti];
        const eq_type_traits *tt = eq_type_traits_get(type), *at = eq_type_traits_get(tt->vec_dot_type);
        const size_t rs = eq_row_size(type, K), qs = eq_row_size(tt->vec_dot_type, K);
        char *w = malloc(rs * R), *xq = malloc(qs * TMAX), *qbuf = malloc(eq_matmul_qbuf_size(type, K, TMAX));   /* exact: a sanitizer build sees an overrun */
        for (int r = 0; r < R; r++) eq_type_traits_ref(type)->from_float(wf + (size_t)r * K, w + r * rs, K);
        for (int t = 0; t < TMAX; t++) at->from_float(x + (size_t)t * K, xq + t * qs, K);
        /* the oracle: one vec_dot per output */
        for (int t = 0; t < TMAX; t++)
            for (int r = 0; r < R; r++) tt->vec_dot(K, &ref[t * R + r], w + r * rs, xq + t * qs);
        eq_weight W = {w, type, K, R, rs, NULL, 0};
        int ok = 1;
        for (int p = 0; p < 3; p++)
            for (int T = 1; T <= TMAX; T += (T < 5 ? 1 : 3)) {
                memset(out, 0xff, sizeof(float) * R * TMAX);
                eq_matmul(pools[p], &W, x, T, out, R, qbuf);
                for (int i = 0; i < T * R; i++)
                    if (memcmp(&out[i], &ref[i], sizeof(float))) { ok = 0; break; }
            }
        CHECKF(ok, "%s: matmul differs from vec_dot (batch sizes 1..11, 1-3 threads)", eq_type_name(type));
        eq_vec_dot_x4_fn x4 = eq_vec_dot_x4_get(type);
        if (x4) {
            n_x4++;
            float s4[4 * 3];
            x4(K, s4, 3, w + 5 * rs, xq + 2 * qs, qs);
            int same = 1;
            for (int t = 0; t < 4; t++) same &= !memcmp(&s4[t * 3], &ref[(2 + t) * R + 5], sizeof(float));
            CHECKF(same, "%s: 4-token kernel is not bit-identical to vec_dot", eq_type_name(type));
        }
        eq_vec_dot_x4_fn x8 = eq_vec_dot_x8_get(type);
        if (x8) {
            n_x8++;
            float s8[8 * 3];
            x8(K, s8, 3, w + 7 * rs, xq + 1 * qs, qs);
            int same = 1;
            for (int t = 0; t < 8; t++) same &= !memcmp(&s8[t * 3], &ref[(1 + t) * R + 7], sizeof(float));
            CHECKF(same, "%s: 8-token kernel is not bit-identical to vec_dot", eq_type_name(type));
        }
        free(w); free(xq); free(qbuf);
    }
    printf("4-token kernels in this build (%s): %d, 8-token: %d\n", eq_quant_isa(), n_x4, n_x8);
    for (int p = 0; p < 3; p++) eq_pool_free(pools[p]);
    free(wf); free(x); free(out); free(ref);
    return eqt_done();
}
