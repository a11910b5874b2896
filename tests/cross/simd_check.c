/* Cross-target companion to tests/unit/test_quant.c: compares the kernels this build picked
 * (eq_type_traits_get: NEON, WASM SIMD128, AVX2 or scalar) against the scalar refs
 * (eq_type_traits_ref) on inputs chosen to reach the SIMD corner cases: rounding ties in
 * the quantizers, +max/-max ties in Q8_K, all-zero blocks, and weight blocks of random
 * bytes (every bit pattern of qs/qh/scales, not only what the quantizers emit).
 * Quantizers and dequantizers must match bit for bit; dot products up to float
 * summation order. Prints "N passed, N failed" like the unit tests. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant/blocks.h"
#include "quant/quant.h"
#include "eqtest.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)(rnd() & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f; }

#define NMAX 4096

/* Random floats, and within them some exact halves of the Q8 grid to hit rounding ties. */
static void fill_floats(float *x, int n, int mode) {
    for (int i = 0; i < n; i++) x[i] = frand() * (mode == 2 ? 1e-3f : 3.0f);
    if (mode == 1) {
        /* Blocks of 32 with absmax exactly 127 so id = 1: k + 0.5 values are ties for roundf. */
        for (int b = 0; b < n; b += 32) {
            x[b] = 127.0f;
            for (int j = 1; j < 32; j++) x[b + j] = (float)((int)(rnd() % 254) - 127) + ((rnd() & 1) ? 0.5f : 0.0f);
        }
    }
    if (mode == 3) {
        /* Q8_K: both +amax and -amax present, negative first half the time. */
        for (int b = 0; b < n; b += 256) {
            const int p = rnd() % 256, q = (p + 1 + rnd() % 255) % 256;
            x[b + p] = 4.0f; x[b + q] = -4.0f;
        }
    }
    if (mode == 4) memset(x, 0, sizeof(float) * (size_t)n);
}

static int same_bytes(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static void check_from_float(int type, const char *what, int mode) {
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    static float x[NMAX];
    static uint8_t a[NMAX * 2], b[NMAX * 2];
    const int n = NMAX;
    fill_floats(x, n, mode);
    memset(a, 0xAB, sizeof a); memset(b, 0xAB, sizeof b);
    t->from_float(x, a, n);
    r->from_float(x, b, n);
    const size_t bytes = eq_row_size(type, n);
    CHECKF(same_bytes(a, b, bytes), "%s from_float mode %d differs from ref", what, mode);
}

static void check_to_float(int type, const char *what) {
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    static float x[NMAX], ya[NMAX], yb[NMAX];
    static uint8_t q[NMAX * 4];
    const int n = NMAX;
    fill_floats(x, n, 0);
    r->from_float(x, q, n);
    t->to_float(q, ya, n);
    r->to_float(q, yb, n);
    CHECKF(same_bytes(ya, yb, sizeof(float) * n), "%s to_float differs from ref", what);
}

/* Overwrite the f16 scale fields of a block with sane values after filling it randomly. */
static void sane_scales(int type, uint8_t *blk) {
    const eq_f16 d = eq_fp32_to_fp16(0.01f + 0.02f * fabsf(frand()));
    const eq_f16 m = eq_fp32_to_fp16(-0.05f * fabsf(frand()));
    switch (type) {
    case EQ_TYPE_Q4_0: case EQ_TYPE_Q5_0: case EQ_TYPE_Q8_0: memcpy(blk, &d, 2); break;
    case EQ_TYPE_Q4_1: case EQ_TYPE_Q5_1: memcpy(blk, &d, 2); memcpy(blk + 2, &m, 2); break;
    case EQ_TYPE_Q2_K: memcpy(blk + 80, &d, 2); memcpy(blk + 82, &d, 2); break;
    case EQ_TYPE_Q3_K: memcpy(blk + 108, &d, 2); break;
    case EQ_TYPE_Q4_K: case EQ_TYPE_Q5_K: memcpy(blk, &d, 2); memcpy(blk + 2, &d, 2); break;
    case EQ_TYPE_Q6_K: memcpy(blk + 208, &d, 2); break;
    default: break;
    }
}

static void check_vec_dot(int type, const char *what, int random_bytes, int n) {
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    const eq_type_traits *vt = eq_type_traits_ref(t->vec_dot_type);
    static float x[NMAX], y[NMAX], dx[NMAX], dy[NMAX];
    static uint8_t qx[NMAX * 4], qy[NMAX * 4];
    fill_floats(x, n, 0);
    fill_floats(y, n, 0);
    if (random_bytes && t->blck_size > 1) {
        const size_t bs = t->type_size;
        for (int i = 0; i < n / t->blck_size; i++) {
            for (size_t j = 0; j < bs; j++) qx[i * bs + j] = (uint8_t)rnd();
            sane_scales(type, qx + i * bs);
        }
    } else {
        r->from_float(x, qx, n);
    }
    vt->from_float(y, qy, n);
    float sa = NAN, sb = NAN;
    t->vec_dot(n, &sa, qx, qy);
    r->vec_dot(n, &sb, qx, qy);
    /* Tolerance from the magnitude of the terms: the sums differ only in order. */
    r->to_float(qx, dx, n);
    vt->to_float(qy, dy, n);
    double mag = 0;
    for (int i = 0; i < n; i++) mag += fabs((double)dx[i] * dy[i]);
    const double tol = 1e-5 * mag + 1e-6;
    CHECKF(fabs((double)sa - sb) <= tol, "%s vec_dot n=%d%s: simd %.9g ref %.9g (tol %.3g)",
           what, n, random_bytes ? " (random bytes)" : "", sa, sb, tol);
}

int main(void) {
    printf("edgeq simd_check: isa %s\n", eq_quant_isa());
    static const int act[] = {EQ_TYPE_Q8_0, EQ_TYPE_Q8_1, EQ_TYPE_Q8_K, EQ_TYPE_F16, EQ_TYPE_BF16};
    for (size_t i = 0; i < sizeof act / sizeof act[0]; i++)
        for (int mode = 0; mode < 5; mode++) check_from_float(act[i], eq_type_name(act[i]), mode);

    static const int all[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1,
                              EQ_TYPE_Q5_0, EQ_TYPE_Q5_1, EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K,
                              EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const int type = all[i];
        const eq_type_traits *t = eq_type_traits_get(type);
        check_to_float(type, t->name);
        const int bs = t->blck_size > 1 ? t->blck_size : 1;
        const int sizes[] = {bs, 2 * bs, 8 * bs, NMAX, t->blck_size == 1 ? 37 : NMAX};
        for (int s = 0; s < 5; s++) {
            if (sizes[s] > NMAX) continue;
            check_vec_dot(type, t->name, 0, sizes[s]);
            check_vec_dot(type, t->name, 1, sizes[s]);
        }
    }
    return eqt_done();
}
