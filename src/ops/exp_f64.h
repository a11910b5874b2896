/* exp(x) for the attention's softmax and for SwiGLU, computed in double precision and rounded
 * once to float. z = x log2(e) is split into an integer k and a fraction f in [-0.5, 0.5]
 * (adding and taking away 1.5 * 2^52 rounds to nearest); 2^f is a degree-11 Taylor polynomial
 * in f (Horner), 2^k is built in the exponent bits. Before the final rounding the value is
 * within 3e-14 of exp(x), so the float is exp(x) correctly rounded for all but 2 of the 1.12e9
 * floats in [-120, 0] (glibc's expf misses 97054 of them), and a SIMD twin doing the same
 * double multiplies and adds in the same order (no fused multiply-add: the files that use this
 * are built with -ffp-contract=off) gives it bit for bit, 2 to 8 values per instruction instead
 * of one libm call each. z is clamped to [-160, 160] (2^k stays a normal double; the float then
 * is 0 or inf), a NaN passes through. */
#ifndef EQ_OPS_EXP_F64_H
#define EQ_OPS_EXP_F64_H

#include <stdint.h>
#include <string.h>

#define EQ_EXP_LOG2E 0x1.71547652b82fep+0
#define EQ_EXP_SHIFT 0x1.8p52
#define EQ_EXP_SHIFT_BITS 0x4338000000000000ULL   /* EQ_EXP_SHIFT's bits */
#define EQ_EXP_ZMAX 160.0

/* ln(2)^i / i!, rounded to double: the Taylor coefficients of 2^f */
static const double eq_exp_c[12] = {
    0x1.0000000000000p+0,  0x1.62e42fefa39efp-1,  0x1.ebfbdff82c58fp-3,  0x1.c6b08d704a0c0p-5,
    0x1.3b2ab6fba4e77p-7,  0x1.5d87fe78a6731p-10, 0x1.430912f86c787p-13, 0x1.ffcbfc588b0c7p-17,
    0x1.62c0223a5c824p-20, 0x1.b5253d395e7c4p-24, 0x1.e4cf5158b8ecap-28, 0x1.e8cac7351bb25p-32,
};

static inline float eq_exp_f64(float x) {
    double z = (double)x * EQ_EXP_LOG2E;
    if (z < -EQ_EXP_ZMAX) z = -EQ_EXP_ZMAX;   /* false for a NaN, as in the SIMD twins */
    if (z > EQ_EXP_ZMAX) z = EQ_EXP_ZMAX;
    const double t = z + EQ_EXP_SHIFT, kd = t - EQ_EXP_SHIFT, f = z - kd;
    double p = eq_exp_c[11];
    for (int i = 10; i >= 0; i--) p = p * f + eq_exp_c[i];
    uint64_t b;
    memcpy(&b, &t, sizeof b);
    b = (b - EQ_EXP_SHIFT_BITS + 1023) << 52;   /* t's low bits hold k; 2^k */
    double s;
    memcpy(&s, &b, sizeof s);
    return (float)(p * s);
}

/* The softmax's eight partial sums, added pairwise: lanes i and i + 4 first (eq_vec_softmax) */
static inline double eq_vec_softmax_sum(const double p[8]) {
    return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
}

/* The softmax's first pass over values i..n-1, one at a time (the reference's whole loop, the
 * twins' tail): scale them in place; the largest of them and mx (a NaN never wins) */
static inline float eq_vec_softmax_scale_max(int i, int n, float *x, float scale, float mx) {
    for (; i < n; i++) {
        const float s = x[i] * scale;
        x[i] = s;
        if (s > mx) mx = s;
    }
    return mx;
}

/* The softmax's values i..n-1, one at a time (the reference's whole loop, the twins' tail),
 * then the sum of all */
static inline double eq_vec_softmax_finish(int i, int n, float *x, float mx, double part[8]) {
    for (; i < n; i++) {
        const float e = eq_exp_f64(x[i] - mx);
        x[i] = e;
        part[i & 7] += e;
    }
    return eq_vec_softmax_sum(part);
}

/* SwiGLU's values i..n-1, one at a time (eq_swiglu_ref's whole loop, the twins' tail): here,
 * beside exp, so that the SIMD files need nothing from src/ops */
static inline void eq_swiglu_finish(int i, int n, float *g, const float *u) {
    for (; i < n; i++) g[i] = g[i] / (1.0f + eq_exp_f64(-g[i])) * u[i];
}

#endif
