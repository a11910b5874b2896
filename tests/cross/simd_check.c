/* Cross-target companion to tests/unit/test_quant.c: compares the kernels this build picked
 * (eq_type_traits_get: NEON, WASM SIMD128, AVX2 or scalar) against the scalar refs
 * (eq_type_traits_ref) on inputs chosen to reach the SIMD corner cases: rounding ties in
 * the quantizers, +max/-max ties in Q8_K, all-zero blocks, and weight blocks of random
 * bytes (every bit pattern of qs/qh/scales, not only what the quantizers emit).
 * Quantizers and dequantizers must match bit for bit; dot products up to float
 * summation order. The 4-token kernels (eq_vec_dot_x4_get) must give exactly the floats of
 * four 1-token calls, and the SIMD128 attention helpers exactly those of their scalar loops.
 * Prints "N passed, N failed" like the unit tests. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/kernels.h" /* EQ_HAVE_WASM_SIMD and the SIMD128 attention helpers */
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

/* The weight row of a dot check: random bytes with sane scales, or quantized floats. */
static void fill_weights(int type, uint8_t *qx, int n, int random_bytes) {
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    static float x[NMAX];
    if (random_bytes && t->blck_size > 1) {
        const size_t bs = t->type_size;
        for (int i = 0; i < n / t->blck_size; i++) {
            for (size_t j = 0; j < bs; j++) qx[i * bs + j] = (uint8_t)rnd();
            sane_scales(type, qx + i * bs);
        }
    } else {
        fill_floats(x, n, 0);
        r->from_float(x, qx, n);
    }
}

static void check_vec_dot(int type, const char *what, int random_bytes, int n, int ymode) {
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    const eq_type_traits *vt = eq_type_traits_ref(t->vec_dot_type);
    static float y[NMAX], dx[NMAX], dy[NMAX];
    static uint8_t qx[NMAX * 4], qy[NMAX * 4];
    fill_weights(type, qx, n, random_bytes);
    fill_floats(y, n, ymode);
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
    CHECKF(fabs((double)sa - sb) <= tol, "%s vec_dot n=%d%s y mode %d: simd %.9g ref %.9g (tol %.3g)",
           what, n, random_bytes ? " (random bytes)" : "", ymode, sa, sb, tol);
}

static int same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
/* Both NaN, or equal (the same infinity included). */
static int same_class(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

/* The offset of the f16 scale d in a block of `type` (every quantized weight format has one). */
static size_t d_offset(int type) {
    switch (type) {
    case EQ_TYPE_Q2_K: return offsetof(block_q2_K, d);
    case EQ_TYPE_Q3_K: return offsetof(block_q3_K, d);
    case EQ_TYPE_Q6_K: return offsetof(block_q6_K, d);
    default: return 0; /* Q4_0..Q8_0, Q4_K, Q5_K start with d */
    }
}

/* The 4-token kernel (when the build has one) against four calls of the 1-token one, bit for
 * bit: activation rows `by` bytes apart (more than a row, so the stride is exercised),
 * results bs floats apart. bad_scale: one weight block gets an inf (1: the last block) or a
 * NaN (2: a random one) scale; the 1-token kernel must then give a non-finite result as the
 * ref does (which one may differ: inf * 0 terms make NaNs in one summation order and not in
 * another) and the 4-token one the same bits. */
static void check_vec_dot_x4(int type, const char *what, int random_bytes, int n, int ymode, int bad_scale) {
    const eq_vec_dot_x4_fn x4 = eq_vec_dot_x4_get(type);
    const eq_type_traits *t = eq_type_traits_get(type), *r = eq_type_traits_ref(type);
    const eq_type_traits *vt = eq_type_traits_get(t->vec_dot_type);
    static float f[NMAX];
    static uint8_t qx[NMAX * 4], qy[4 * (NMAX * 2 + 64)];
    const size_t by = eq_row_size(t->vec_dot_type, n) + 13, bs = 3;
    fill_weights(type, qx, n, random_bytes);
    if (bad_scale) {
        const int nb = n / t->blck_size, blk = bad_scale == 1 ? nb - 1 : (int)(rnd() % nb);
        const eq_f16 h = bad_scale == 1 ? 0x7C00 : (rnd() & 1) ? 0xFE01 : 0x7E00; /* inf, NaNs */
        memcpy(qx + (size_t)blk * t->type_size + d_offset(type), &h, 2);
    }
    for (int k = 0; k < 4; k++) {
        fill_floats(f, n, k == 3 ? 4 : ymode); /* the last token all zeros (d = 0) */
        vt->from_float(f, qy + k * by, n);
    }
    float got[4 * 3], want[4];
    for (int k = 0; k < 4 * 3; k++) got[k] = -1234.5f;
    if (x4) x4(n, got, bs, qx, qy, by);
    int same = 1;
    for (int k = 0; k < 4; k++) {
        t->vec_dot(n, &want[k], qx, qy + k * by);
        same &= same_float(got[k * bs], want[k]);
        if (bad_scale) {
            float ref;
            r->vec_dot(n, &ref, qx, qy + k * by);
            CHECKF(!isfinite(want[k]) && !isfinite(ref), "%s vec_dot n=%d, non-finite scale: simd %g ref %g", what, n, want[k], ref);
        }
    }
    for (int k = 0; k < 4 * 3; k++) if (k % bs) same &= got[k] == -1234.5f; /* nothing else written */
    if (x4) CHECKF(same, "%s vec_dot_x4 n=%d%s y mode %d%s: %.9g %.9g %.9g %.9g, 1-token %.9g %.9g %.9g %.9g", what, n,
           random_bytes ? " (random bytes)" : "", ymode, bad_scale ? " (non-finite scale)" : "",
           got[0], got[bs], got[2 * bs], got[3 * bs], want[0], want[1], want[2], want[3]);
}

/* F16 dot with an inf or NaN in either row: a non-finite result of the ref's kind. */
static void check_f16_nonfinite(void) {
    const eq_type_traits *t = eq_type_traits_get(EQ_TYPE_F16), *r = eq_type_traits_ref(EQ_TYPE_F16);
    static eq_f16 x[256], y[256];
    static const eq_f16 bad[] = {0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE00};
    for (int rep = 0; rep < 40; rep++) {
        const int n = 1 + (int)(rnd() % 256);
        for (int i = 0; i < n; i++) { x[i] = eq_fp32_to_fp16(frand()); y[i] = eq_fp32_to_fp16(frand()); }
        (rep & 1 ? x : y)[rnd() % n] = bad[rnd() % 5];
        float a, b;
        t->vec_dot(n, &a, x, y);
        r->vec_dot(n, &b, x, y);
        CHECKF(same_class(a, b) && !isfinite(b), "F16 vec_dot n=%d with inf/NaN: simd %g ref %g", n, a, b);
    }
}

#if defined(EQ_HAVE_WASM_SIMD)
/* The SIMD128 multiply-adds of the attention (ops/vec.c) against the scalar loops they
 * replace there, bit for bit: every f16 bit pattern (subnormals, inf, NaN), odd lengths. */
static void check_wasm_mad(void) {
    static eq_f16 h[65536 + 8];
    static float y0[65536 + 8], ya[65536 + 8], yb[65536 + 8], xf[65536 + 8];
    for (int i = 0; i < 65536 + 8; i++) { h[i] = (eq_f16)(i * 40503u); y0[i] = frand() * 4; xf[i] = frand() * 3; }
    static const float vs[] = {0.37f, -1.5f, 0.0f, 1e-30f, 3e4f};
    static const int ns[] = {65536 + 8, 64, 7, 1, 37};
    for (int vi = 0; vi < 5; vi++) {
        for (int ni = 0; ni < 5; ni++) {
            const int n = ns[ni];
            const float v = vs[vi];
            memcpy(ya, y0, sizeof(float) * n); memcpy(yb, y0, sizeof(float) * n);
            eq_vec_mad_f16_wasm(n, ya, h, v);
            for (int i = 0; i < n; i++) yb[i] += eq_fp16_to_fp32(h[i]) * v;
            CHECKF(same_bytes(ya, yb, sizeof(float) * n), "eq_vec_mad_f16_wasm n=%d v=%g differs from the scalar loop", n, v);
            memcpy(ya, y0, sizeof(float) * n); memcpy(yb, y0, sizeof(float) * n);
            eq_vec_mad_f32_wasm(n, ya, xf, v);
            for (int i = 0; i < n; i++) yb[i] += xf[i] * v;
            CHECKF(same_bytes(ya, yb, sizeof(float) * n), "eq_vec_mad_f32_wasm n=%d v=%g differs from the scalar loop", n, v);
        }
    }
}
#endif

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
            check_vec_dot(type, t->name, 0, sizes[s], 0);
            check_vec_dot(type, t->name, 1, sizes[s], 0);
            check_vec_dot(type, t->name, 1, sizes[s], 2); /* tiny activations: subnormal f16 scales */
        }
        /* 4-token kernels: every tail length of a 4-block group (legacy formats), all modes;
         * non-finite scales for every block format */
        if (t->blck_size > 1) {
            const int xs[] = {bs, 2 * bs, 3 * bs, 4 * bs, 5 * bs, 7 * bs, 18 * bs, NMAX};
            for (int s = 0; s < 8; s++) {
                if (xs[s] > NMAX) continue;
                for (int ymode = 0; ymode < 4; ymode++) check_vec_dot_x4(type, t->name, ymode & 1, xs[s], ymode, 0);
                check_vec_dot_x4(type, t->name, 1, xs[s], 0, 1);
                check_vec_dot_x4(type, t->name, 0, xs[s], 2, 2);
            }
        }
    }
    check_f16_nonfinite();
#if defined(EQ_HAVE_WASM_SIMD)
    check_wasm_mad();
#endif
    return eqt_done();
}
