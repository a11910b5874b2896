/* Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, Q5_0 and Q8_0 rows repacked eight at a time (quant/repack.h): the packed kernels against
 * their scalar procedure on the unpacked rows, bit for bit, on random blocks; that procedure
 * against the ordinary dot; the matmul over packed weights for every batch size and thread
 * count. */
#include "eqtest.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
#include "quant/kernels.h"
#include "quant/repack.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }
static float frand(void) { return (float)(next() % 20001) / 10000.0f - 1.0f; }

enum { K = 1024, R = 40, T = 11 };

typedef void (*proc_fn)(int, float *, size_t, const void *, size_t, const void *, size_t, int);
typedef void (*dot_fn)(int, float *, const void *, const void *);

/* R rows of random bytes (every code, scale and min pattern), sane super-block scales */
static void *random_rows(int type) {
    const size_t n = eq_row_size(type, K) * R;
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)next();
    if (type == EQ_TYPE_Q4_0 || type == EQ_TYPE_Q4_1 || type == EQ_TYPE_Q5_0 || type == EQ_TYPE_Q8_0) {   /* d (and m) lead every 32-value block */
        for (int i = 0; i < (K / EQ_QK) * R; i++) {
            const eq_f16 d[2] = {eq_fp32_to_fp16(frand() * 0.01f), eq_fp32_to_fp16(frand() * 0.01f)};
            memcpy(p + (size_t)i * eq_row_size(type, EQ_QK), d, type == EQ_TYPE_Q4_1 ? 4 : 2);
        }
        return p;
    }
    for (int i = 0; i < (K / EQ_QK_K) * R; i++) {
        if (type == EQ_TYPE_Q4_K || type == EQ_TYPE_Q5_K) {   /* d, dmin lead both */
            eq_f16 *d = (eq_f16 *)(p + (size_t)i * eq_row_size(type, EQ_QK_K));
            d[0] = eq_fp32_to_fp16(frand() * 0.01f);
            d[1] = eq_fp32_to_fp16(frand() * 0.01f);
        } else {
            ((block_q6_K *)p + i)->d = eq_fp32_to_fp16(frand() * 0.01f);
        }
    }
    return p;
}

static void check_type(int type, const char *tname, proc_fn proc, dot_fn plain_dot, const float *x) {
    /* the activations in the weight's partner format, converted as the matmul does */
    const int yt = eq_type_traits_get(type)->vec_dot_type;
    const size_t rs = eq_row_size(type, K), qs = eq_row_size(yt, K);
    char *xq = malloc(qs * T);
    for (int t = 0; t < T; t++) eq_type_traits_get(yt)->from_float(x + (size_t)t * K, xq + t * qs, K);
    char *w = random_rows(type);

    /* the procedure on the original rows: every row and token, to compare everything against */
    float ref[T * R];
    for (int g = 0; g < R / 8; g++) proc(K, ref + 8 * g, R, w + (size_t)8 * g * rs, rs, xq, qs, T);
    /* ... which is the plain dot up to float rounding (same integers, other float steps) */
    double worst = 0, big = 0;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) {
            float plain;
            plain_dot(K, &plain, w + r * rs, xq + t * qs);
            worst = fmax(worst, fabs((double)plain - ref[t * R + r]));
            big = fmax(big, fabs((double)plain));
        }
    CHECKF(worst <= 1e-5 * big, "%s: the packed procedure is the plain dot up to rounding (worst difference %.3g of %.3g)", tname, worst, big);

    /* refused without a change: a type with no layout, rows not in eights, a partial block */
    char *copy = malloc(rs * R);
    memcpy(copy, w, rs * R);
    CHECK(eq_repack_rows(EQ_TYPE_Q3_K, copy, K, R) == -2);
    CHECK(eq_repack_rows(type, copy, K, R - 1) == -2);
    CHECK(eq_repack_rows(type, copy, K + 1, R) == -2);
    CHECK(!memcmp(copy, w, rs * R));

    if (!eq_repack_supported(type)) {
        CHECK(eq_repack_rows(type, copy, K, R) == -2 && !memcmp(copy, w, rs * R));
        CHECK(eq_vec_dot_packed_get(type, 1) == NULL && eq_vec_dot_packed_get(type, 4) == NULL);
        printf("no packed %s kernels in this build (%s)\n", tname, eq_quant_isa());
        free(w); free(copy); free(xq);
        return;
    }
    CHECK(eq_repack_rows(type, copy, K, R) == 0);
    CHECK(memcmp(copy, w, rs * R) != 0);

    /* each packed row read back as floats (tied embeddings' lookup) is the original row's */
    if (eq_repack_rows_readable(type)) {
        float *a = malloc(sizeof(float) * K), *b = malloc(sizeof(float) * K);
        int same = 1;
        for (int r = 0; r < R; r++) {
            eq_type_traits_get(type)->to_float(w + (size_t)r * rs, a, K);
            same &= eq_packed_row_to_float(type, copy + (size_t)(r / 8) * 8 * rs, K, r % 8, b) == 0 && !memcmp(a, b, sizeof(float) * K);
        }
        CHECKF(same, "%s: every packed row reads back as the original row's floats", tname);
        CHECK(eq_packed_row_to_float(type, copy, K, 8, b) == -2 && eq_packed_row_to_float(type, copy, K + 1, 0, b) == -2);
        free(a); free(b);
    } else {
        CHECK(eq_packed_row_to_float(type, copy, K, 0, NULL) == -2);
    }

    /* the kernels, 1 and 4 tokens at a time, each bit-identical to the procedure */
    CHECK(!eq_vec_dot_packed_get(type, 8) && !eq_vec_dot_packed_get(EQ_TYPE_Q3_K, 1));
    struct { const char *name; eq_vec_dot_x4_fn x1, x4; } k[3] = {
        {eq_quant_isa(), eq_vec_dot_packed_get(type, 1), eq_vec_dot_packed_get(type, 4)},
    };
    size_t nk = 1;
#if defined(EQ_HAVE_AVX512_VBMI)
    /* what a CPU without AVX-512 VBMI runs */
    if (type == EQ_TYPE_Q4_K) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q4_K_q8_K_avx2, eq_vec_dot_p8x4_q4_K_q8_K_avx2};
    if (type == EQ_TYPE_Q5_K) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q5_K_q8_K_avx2, eq_vec_dot_p8x4_q5_K_q8_K_avx2};
#endif
#if defined(EQ_HAVE_AVX512)
    /* what a CPU without AVX-512 runs (with VNNI here: tests/cross/x86-avx2.sh builds the rest) */
    if (type == EQ_TYPE_Q4_0) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q4_0_q8_0_avx2, eq_vec_dot_p8x4_q4_0_q8_0_avx2};
    if (type == EQ_TYPE_Q4_1) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q4_1_q8_1_avx2, eq_vec_dot_p8x4_q4_1_q8_1_avx2};
    if (type == EQ_TYPE_Q5_0) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q5_0_q8_0_avx2, eq_vec_dot_p8x4_q5_0_q8_0_avx2};
    if (type == EQ_TYPE_Q8_0) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q8_0_q8_0_avx2, eq_vec_dot_p8x4_q8_0_q8_0_avx2};
    if (type == EQ_TYPE_Q6_K) k[nk++] = (__typeof__(k[0])){"avx2", eq_vec_dot_p8x1_q6_K_q8_K_avx2, eq_vec_dot_p8x4_q6_K_q8_K_avx2};
#endif
    for (size_t ki = 0; ki < nk; ki++) {
        float got[T * R];
        CHECK(k[ki].x1 && k[ki].x4);
        if (!k[ki].x1 || !k[ki].x4) continue;
        memset(got, 0xff, sizeof got);
        for (int g = 0; g < R / 8; g++)
            for (int t = 0; t < T; t++) k[ki].x1(K, got + t * R + 8 * g, R, copy + (size_t)8 * g * rs, xq + t * qs, qs);
        CHECKF(!memcmp(got, ref, sizeof got), "%s %s: the 1-token packed kernel is the procedure, bit for bit", tname, k[ki].name);
        memset(got, 0xff, sizeof got);
        for (int g = 0; g < R / 8; g++)
            for (int t = 0; t + 4 <= 8; t += 4) k[ki].x4(K, got + t * R + 8 * g, R, copy + (size_t)8 * g * rs, xq + t * qs, qs);
        CHECKF(!memcmp(got, ref, sizeof(float) * 8 * R), "%s %s: the 4-token packed kernel is the procedure, bit for bit", tname, k[ki].name);
    }

    /* the matmul over the packed weight: batch sizes 1..11, 1-3 threads, all equal the procedure */
    eq_weight W = {copy, type, K, R, rs, NULL, 1};
    float *out = malloc(sizeof(float) * R * T);
    char *qbuf = malloc(eq_matmul_qbuf_size(type, K, T) + 64);
    int ok = 1;
    for (int p = 1; p <= 3; p++) {
        eq_pool *pool = eq_pool_new(p);
        for (int n = 1; n <= T; n++) {
            memset(out, 0xff, sizeof(float) * R * T);
            eq_matmul(pool, &W, x, n, out, R, qbuf);
            ok &= !memcmp(out, ref, sizeof(float) * R * n);
        }
        eq_pool_free(pool);
    }
    CHECKF(ok, "%s: the packed matmul equals the procedure for batch sizes 1..%d, 1-3 threads", tname, T);
    printf("packed %s kernels in this build (%s)\n", tname, eq_quant_isa());
    free(w); free(copy); free(out); free(qbuf); free(xq);
}

int main(void) {
    float *x = malloc(sizeof(float) * K * T);
    for (int i = 0; i < K * T; i++) x[i] = frand() * (i % 97 == 0 ? 50.0f : 2.0f);
    check_type(EQ_TYPE_Q4_K, "Q4_K", eq_q4_Kx8_dot_ref, eq_vec_dot_q4_K_q8_K_ref, x);
    check_type(EQ_TYPE_Q5_K, "Q5_K", eq_q5_Kx8_dot_ref, eq_vec_dot_q5_K_q8_K_ref, x);
    check_type(EQ_TYPE_Q6_K, "Q6_K", eq_q6_Kx8_dot_ref, eq_vec_dot_q6_K_q8_K_ref, x);
    check_type(EQ_TYPE_Q4_0, "Q4_0", eq_q4_0x8_dot_ref, eq_vec_dot_q4_0_q8_0_ref, x);
    check_type(EQ_TYPE_Q4_1, "Q4_1", eq_q4_1x8_dot_ref, eq_vec_dot_q4_1_q8_1_ref, x);
    check_type(EQ_TYPE_Q5_0, "Q5_0", eq_q5_0x8_dot_ref, eq_vec_dot_q5_0_q8_0_ref, x);
    check_type(EQ_TYPE_Q8_0, "Q8_0", eq_q8_0x8_dot_ref, eq_vec_dot_q8_0_q8_0_ref, x);
    free(x);
    return eqt_done();
}
