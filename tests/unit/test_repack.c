/* Q4_K rows repacked eight at a time (quant/repack.h): the packed kernels against their scalar
 * procedure on the unpacked rows, bit for bit, on random blocks; that procedure against the
 * ordinary Q4_K dot; the matmul over packed weights for every batch size and thread count. */
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

/* R rows of random Q4_K bytes (every code, scale and min pattern), sane d and dmin */
static block_q4_K *random_rows(void) {
    block_q4_K *w = malloc(sizeof(block_q4_K) * (K / EQ_QK_K) * R);
    unsigned char *p = (unsigned char *)w;
    for (size_t i = 0; i < sizeof(block_q4_K) * (K / EQ_QK_K) * R; i++) p[i] = (unsigned char)next();
    for (int i = 0; i < (K / EQ_QK_K) * R; i++) {
        w[i].d = eq_fp32_to_fp16(frand() * 0.01f);
        w[i].dmin = eq_fp32_to_fp16(frand() * 0.01f);
    }
    return w;
}

int main(void) {
    const size_t rs = eq_row_size(EQ_TYPE_Q4_K, K), qs = eq_row_size(EQ_TYPE_Q8_K, K);
    block_q4_K *w = random_rows();
    float *x = malloc(sizeof(float) * K * T);
    char *xq = malloc(qs * T);
    for (int i = 0; i < K * T; i++) x[i] = frand() * (i % 97 == 0 ? 50.0f : 2.0f);
    for (int t = 0; t < T; t++) eq_type_traits_get(EQ_TYPE_Q8_K)->from_float(x + (size_t)t * K, xq + t * qs, K);

    /* the procedure on the original rows: every row and token, to compare everything against */
    float ref[T * R];
    for (int g = 0; g < R / 8; g++)
        eq_q4_Kx8_dot_ref(K, ref + 8 * g, R, (const char *)w + (size_t)8 * g * rs, rs, xq, qs, T);
    /* ... which is the Q4_K dot up to float rounding (same integers, other float steps) */
    double worst = 0, big = 0;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) {
            float plain;
            eq_vec_dot_q4_K_q8_K_ref(K, &plain, (const char *)w + r * rs, xq + t * qs);
            worst = fmax(worst, fabs((double)plain - ref[t * R + r]));
            big = fmax(big, fabs((double)plain));
        }
    CHECKF(worst <= 1e-5 * big, "the packed procedure is the Q4_K dot up to rounding (worst difference %.3g of %.3g)", worst, big);

    /* refused without a change: another type, rows not in eights */
    block_q4_K *copy = malloc(rs * R);
    memcpy(copy, w, rs * R);
    CHECK(eq_repack_rows(EQ_TYPE_Q6_K, copy, K, R) == -2);
    CHECK(eq_repack_rows(EQ_TYPE_Q4_K, copy, K, R - 1) == -2);
    CHECK(eq_repack_rows(EQ_TYPE_Q4_K, copy, K + 1, R) == -2);
    CHECK(!memcmp(copy, w, rs * R));

    if (!eq_repack_supported(EQ_TYPE_Q4_K)) {
        CHECK(eq_repack_rows(EQ_TYPE_Q4_K, copy, K, R) == -2 && !memcmp(copy, w, rs * R));
        CHECK(eq_vec_dot_packed_get(EQ_TYPE_Q4_K, 1) == NULL && eq_vec_dot_packed_get(EQ_TYPE_Q4_K, 4) == NULL);
        printf("no packed kernels in this build (%s)\n", eq_quant_isa());
        free(w); free(copy); free(x); free(xq);
        return eqt_done();
    }
    CHECK(eq_repack_rows(EQ_TYPE_Q4_K, copy, K, R) == 0);
    CHECK(memcmp(copy, w, rs * R) != 0);

    /* the kernels, 1 and 4 tokens at a time, each bit-identical to the procedure */
    CHECK(!eq_vec_dot_packed_get(EQ_TYPE_Q4_K, 8) && !eq_vec_dot_packed_get(EQ_TYPE_Q6_K, 1));
    struct { const char *name; eq_vec_dot_x4_fn x1, x4; } k[] = {
        {eq_quant_isa(), eq_vec_dot_packed_get(EQ_TYPE_Q4_K, 1), eq_vec_dot_packed_get(EQ_TYPE_Q4_K, 4)},
#if defined(EQ_HAVE_AVX512_VBMI)
        /* what a CPU without AVX-512 VBMI runs */
        {"avx2", eq_vec_dot_p8x1_q4_K_q8_K_avx2, eq_vec_dot_p8x4_q4_K_q8_K_avx2},
#endif
    };
    for (size_t ki = 0; ki < sizeof k / sizeof *k; ki++) {
        float got[T * R];
        CHECK(k[ki].x1 && k[ki].x4);
        if (!k[ki].x1 || !k[ki].x4) continue;
        memset(got, 0xff, sizeof got);
        for (int g = 0; g < R / 8; g++)
            for (int t = 0; t < T; t++) k[ki].x1(K, got + t * R + 8 * g, R, (const char *)copy + (size_t)8 * g * rs, xq + t * qs, qs);
        CHECKF(!memcmp(got, ref, sizeof got), "%s: the 1-token packed kernel is the procedure, bit for bit", k[ki].name);
        memset(got, 0xff, sizeof got);
        for (int g = 0; g < R / 8; g++)
            for (int t = 0; t + 4 <= 8; t += 4) k[ki].x4(K, got + t * R + 8 * g, R, (const char *)copy + (size_t)8 * g * rs, xq + t * qs, qs);
        CHECKF(!memcmp(got, ref, sizeof(float) * 8 * R), "%s: the 4-token packed kernel is the procedure, bit for bit", k[ki].name);
    }

    /* the matmul over the packed weight: batch sizes 1..11, 1-3 threads, all equal the procedure */
    eq_weight W = {copy, EQ_TYPE_Q4_K, K, R, rs, NULL, 1};
    float *out = malloc(sizeof(float) * R * T);
    char *qbuf = malloc(eq_matmul_qbuf_size(EQ_TYPE_Q4_K, K, T) + 64);
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
    CHECKF(ok, "the packed matmul equals the procedure for batch sizes 1..%d, 1-3 threads", T);
    printf("packed Q4_K kernels in this build (%s)\n", eq_quant_isa());
    free(w); free(copy); free(x); free(xq); free(out); free(qbuf);
    return eqt_done();
}
