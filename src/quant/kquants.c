/* Scalar reference kernels for the K formats (256-value super-blocks): Q2_K..Q6_K and the
 * activation format Q8_K. The quantizers are ggml's quantize_row_q*_K_ref (no importance
 * matrix) reproduced float operation for float operation, so their output is byte-identical;
 * the dot products follow ggml's scalar vec_dot. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off") /* a fused a*b+c would round differently from ggml */
#endif

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include "quant/kernels.h"
#include "quant/blocks.h"
#include "quant/qsearch.h"


static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* Round to nearest, ties to even, through the float adder: adding 1.5*2^23 leaves the
 * rounded integer in the low mantissa bits. Valid for |v| < 2^22. */
/* 6-bit scale and min of sub-block j from the 12-byte packed table of Q4_K/Q5_K. */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q3_K's variant: start from nmax/max, then move single values while that improves the
 * x^2-weighted fit (at most 5 sweeps). L gets l + nmax. */
static float quant_q3(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < EQ_GROUP_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = imax(-nmax, imin(nmax - 1, eq_nearest_int(iscale * x[i])));
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int nl = imax(-nmax, imin(nmax - 1, eq_nearest_int(x[i] * sl2 / slx)));
                if (nl != L[i]) {
                    slx += w * x[i] * nl;
                    sl2 += w * nl * nl;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)nl; sumlx = slx; suml2 = sl2;
                        changed++;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Pack 2-bit values: byte l of each 32-byte group holds L[l], L[l+32], L[l+64], L[l+96]. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < EQ_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* ================= Q2_K: 16 sub-blocks of 16, 4-bit scale and min each ================= */

void eq_from_float_q2_K_ref(const float *x, void *vy, int64_t k) {
    block_q2_K *y = vy;
    uint8_t L[EQ_QK_K], Laux[16];
    float weights[16], mins[EQ_QK_K / 16], scales[EQ_QK_K / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = eq_make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < EQ_QK_K / 16; j++) y[i].scales[j] = (uint8_t)eq_nearest_int(iscale * scales[j]);
            y[i].d = eq_fp32_to_fp16(max_scale / q4scale);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = eq_fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < EQ_QK_K / 16; j++) y[i].scales[j] |= (uint8_t)(eq_nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = eq_fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = eq_fp32_to_fp16(0.f);
        }
        /* Requantize against the rounded scales that will actually be stored. */
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            const float d = eq_fp16_to_fp32(y[i].d) * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = eq_fp16_to_fp32(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (uint8_t)imax(0, imin(3, eq_nearest_int((x[16 * j + ii] + dm) / d)));
        }
        pack_2bit(L, y[i].qs);
    }
}

void eq_to_float_q2_K_ref(const void *vx, float *y, int64_t k) {
    const block_q2_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++) {
        const float d = eq_fp16_to_fp32(x[i].d), dmin = eq_fp16_to_fp32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int n = 0; n < EQ_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void eq_vec_dot_q2_K_q8_K_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sum = 0;
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const uint8_t *q2 = x[i].qs, *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        /* The min term needs only the activation's 16-value sums. */
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += y[i].bsums[j] * (sc[j] >> 4);
        const float dall = y[i].d * eq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * eq_fp16_to_fp32(x[i].dmin);
        int isum = 0, is = 0;
        for (int blk = 0; blk < EQ_QK_K / 128; blk++, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
                for (int half = 0; half < 2; half++) {
                    int acc = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++) acc += q8[l] * ((q2[l] >> shift) & 3);
                    isum += (sc[is++] & 0xF) * acc;
                }
            }
        }
        sum += dall * isum - dmin * summs;
    }
    *s = sum;
}

/* ================= Q3_K: 16 sub-blocks of 16, signed 6-bit scales ================= */

/* Unpack the 16 6-bit Q3_K scales (low 4 bits in bytes 0..7, high 2 bits in 8..11), minus 32. */
static void q3_K_scales(const uint8_t *packed, int8_t *out) {
    for (int j = 0; j < 16; j++) {
        const int lo = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        const int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

void eq_from_float_q3_K_ref(const float *x, void *vy, int64_t k) {
    block_q3_K *y = vy;
    int8_t L[EQ_QK_K];
    float scales[EQ_QK_K / 16];
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            scales[j] = quant_q3(16, 4, x + 16 * j, L + 16 * j);
            const float a = fabsf(scales[j]);
            if (a > amax) { amax = a; max_scale = scales[j]; }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < EQ_QK_K / 16; j++) {
                int8_t l = (int8_t)eq_nearest_int(iscale * scales[j]);
                l = (int8_t)(imax(-32, imin(31, l)) + 32);
                if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
                else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                l = (int8_t)(l >> 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
            }
            y[i].d = eq_fp32_to_fp16(1 / iscale);
        } else {
            y[i].d = eq_fp32_to_fp16(0.f);
        }
        int8_t sc[16];
        q3_K_scales(y[i].scales, sc);
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            const float d = eq_fp16_to_fp32(y[i].d) * sc[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(imax(-4, imin(3, eq_nearest_int(x[16 * j + ii] / d))) + 4);
        }
        /* High bit of value j goes to bit (j / 32) of hmask[j % 32]. */
        memset(y[i].hmask, 0, EQ_QK_K / 8);
        for (int j = 0; j < EQ_QK_K; j++) {
            if (L[j] > 3) {
                y[i].hmask[j % 32] |= (uint8_t)(1u << (j / 32));
                L[j] -= 4;
            }
        }
        pack_2bit((const uint8_t *)L, y[i].qs);
    }
}

void eq_to_float_q3_K_ref(const void *vx, float *y, int64_t k) {
    const block_q3_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++) {
        const float d_all = eq_fp16_to_fp32(x[i].d);
        int8_t sc[16];
        q3_K_scales(x[i].scales, sc);
        const uint8_t *q = x[i].qs, *hm = x[i].hmask;
        int is = 0;
        unsigned m = 1;
        for (int n = 0; n < EQ_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; half++) {
                    const float dl = d_all * sc[is++];
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        *y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                }
            }
        }
    }
}

void eq_vec_dot_q3_K_q8_K_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0};
    for (int i = 0; i < n / EQ_QK_K; i++) {
        int8_t a[EQ_QK_K], sc[16];
        const uint8_t *q3 = x[i].qs, *hm = x[i].hmask;
        int8_t *pa = a;
        unsigned m = 1;
        for (int j = 0; j < EQ_QK_K; j += 128, q3 += 32)
            for (int shift = 0; shift < 8; shift += 2, m <<= 1, pa += 32)
                for (int l = 0; l < 32; l++) pa[l] = (int8_t)(((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
        q3_K_scales(x[i].scales, sc);
        /* Eight interleaved integer lanes, as ggml's scalar code, then one float per lane. */
        int32_t acc[8] = {0};
        for (int j = 0; j < EQ_QK_K; j++) acc[j % 8] += sc[j / 16] * (y[i].qs[j] * a[j]);
        const float d = eq_fp16_to_fp32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * acc[l];
    }
    float sum = 0;
    for (int l = 0; l < 8; l++) sum += sums[l];
    *s = sum;
}

/* ================= Q4_K / Q5_K: 8 sub-blocks of 32, 6-bit scale and min ================= */

/* The shared scale search of Q4_K and Q5_K: sub-block scales and mins (nmax = 15 or 31),
 * quantized to 6 bits into scales[12] with super-block d and dmin; L gets the final codes. */
static void quant_k_affine(const float *x, int nmax, float rmin, int nstep, uint8_t *L,
                           uint8_t *packed, eq_f16 *d_out, eq_f16 *dmin_out) {
    uint8_t Laux[32];
    float weights[32], mins[EQ_QK_K / 32], scales[EQ_QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < EQ_QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = eq_make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < EQ_QK_K / 32; j++) {
        uint8_t ls = (uint8_t)eq_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)eq_nearest_int(inv_min * mins[j]);
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = eq_fp32_to_fp16(max_scale / 63.f);
    *dmin_out = eq_fp32_to_fp16(max_min / 63.f);
    for (int j = 0; j < EQ_QK_K / 32; j++) {
        uint8_t sc, m;
        scale_min_k4(j, packed, &sc, &m);
        const float d = eq_fp16_to_fp32(*d_out) * sc;
        if (!d) continue;
        const float dm = eq_fp16_to_fp32(*dmin_out) * m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)imax(0, imin(nmax, eq_nearest_int((x[32 * j + ii] + dm) / d)));
    }
}

void eq_from_float_q4_K_ref(const float *x, void *vy, int64_t k) {
    block_q4_K *y = vy;
    uint8_t L[EQ_QK_K];
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        quant_k_affine(x, 15, -1.f, 20, L, y[i].scales, &y[i].d, &y[i].dmin);
        for (int j = 0; j < EQ_QK_K / 64; j++)
            for (int l = 0; l < 32; l++) y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | (L[64 * j + l + 32] << 4));
    }
}

void eq_to_float_q4_K_ref(const void *vx, float *y, int64_t k) {
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++) {
        const float d = eq_fp16_to_fp32(x[i].d), dmin = eq_fp16_to_fp32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int j = 0; j < EQ_QK_K / 64; j++, q += 32) {
            uint8_t sc, m;
            scale_min_k4(2 * j, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(2 * j + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Shared tail of the Q4_K/Q5_K dots: a[] holds the 256 unsigned codes. */
static void dot_k_affine(const int8_t *a, const uint8_t *packed, eq_f16 xd, eq_f16 xdmin,
                         const block_q8_K *y, float sums[8], float *sumf) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) scale_min_k4(j, packed, &sc[j], &mn[j]);
    int summ = 0;
    for (int j = 0; j < EQ_QK_K / 16; j++) summ += y->bsums[j] * mn[j / 2];
    int32_t acc[8] = {0};
    for (int j = 0; j < EQ_QK_K; j++) acc[j % 8] += sc[j / 32] * (y->qs[j] * a[j]);
    const float d = eq_fp16_to_fp32(xd) * y->d;
    for (int l = 0; l < 8; l++) sums[l] += d * acc[l];
    const float dmin = eq_fp16_to_fp32(xdmin) * y->d;
    *sumf -= dmin * summ;
}

void eq_vec_dot_q4_K_q8_K_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sum = 0;
    for (int i = 0; i < n / EQ_QK_K; i++) {
        int8_t a[EQ_QK_K];
        for (int j = 0; j < EQ_QK_K / 64; j++)
            for (int l = 0; l < 32; l++) {
                a[64 * j + l] = (int8_t)(x[i].qs[32 * j + l] & 0xF);
                a[64 * j + l + 32] = (int8_t)(x[i].qs[32 * j + l] >> 4);
            }
        dot_k_affine(a, x[i].scales, x[i].d, x[i].dmin, &y[i], sums, &sum);
    }
    for (int l = 0; l < 8; l++) sum += sums[l];
    *s = sum;
}

void eq_from_float_q5_K_ref(const float *x, void *vy, int64_t k) {
    block_q5_K *y = vy;
    uint8_t L[EQ_QK_K];
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        quant_k_affine(x, 31, -0.5f, 15, L, y[i].scales, &y[i].d, &y[i].dmin);
        /* Values 64j..64j+31 put their fifth bit in bit 2j of qh[l], the next 32 in bit 2j+1. */
        memset(y[i].qh, 0, EQ_QK_K / 8);
        for (int j = 0; j < EQ_QK_K / 64; j++) {
            for (int l = 0; l < 32; l++) {
                int l1 = L[64 * j + l], l2 = L[64 * j + l + 32];
                if (l1 > 15) { l1 -= 16; y[i].qh[l] |= (uint8_t)(1u << (2 * j)); }
                if (l2 > 15) { l2 -= 16; y[i].qh[l] |= (uint8_t)(2u << (2 * j)); }
                y[i].qs[32 * j + l] = (uint8_t)(l1 | (l2 << 4));
            }
        }
    }
}

void eq_to_float_q5_K_ref(const void *vx, float *y, int64_t k) {
    const block_q5_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++) {
        const float d = eq_fp16_to_fp32(x[i].d), dmin = eq_fp16_to_fp32(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        for (int j = 0; j < EQ_QK_K / 64; j++, ql += 32) {
            uint8_t sc, m;
            scale_min_k4(2 * j, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(2 * j + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const unsigned u1 = 1u << (2 * j), u2 = 2u << (2 * j);
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void eq_vec_dot_q5_K_q8_K_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sum = 0;
    for (int i = 0; i < n / EQ_QK_K; i++) {
        int8_t a[EQ_QK_K];
        for (int j = 0; j < EQ_QK_K / 64; j++)
            for (int l = 0; l < 32; l++) {
                const uint8_t q = x[i].qs[32 * j + l], h = x[i].qh[l];
                a[64 * j + l] = (int8_t)((q & 0xF) + ((h >> (2 * j)) & 1) * 16);
                a[64 * j + l + 32] = (int8_t)((q >> 4) + ((h >> (2 * j + 1)) & 1) * 16);
            }
        dot_k_affine(a, x[i].scales, x[i].d, x[i].dmin, &y[i], sums, &sum);
    }
    for (int l = 0; l < 8; l++) sum += sums[l];
    *s = sum;
}

/* ================= Q6_K: 16 sub-blocks of 16, signed 8-bit scales ================= */

void eq_from_float_q6_K_ref(const float *x, void *vy, int64_t k) {
    block_q6_K *y = vy;
    int8_t L[EQ_QK_K];
    float scales[EQ_QK_K / 16];
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < EQ_QK_K / 16; ib++) {
            scales[ib] = eq_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, NULL);
            const float a = fabsf(scales[ib]);
            if (a > max_abs_scale) { max_abs_scale = a; max_scale = scales[ib]; }
        }
        if (max_abs_scale < EQ_GROUP_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = eq_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < EQ_QK_K / 16; ib++) y[i].scales[ib] = (int8_t)imin(127, eq_nearest_int(iscale * scales[ib]));
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            const float d = eq_fp16_to_fp32(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(imax(-32, imin(31, eq_nearest_int(x[16 * j + ii] / d))) + 32);
        }
        /* Per 128 values: low nibbles of 0..31|64..95 and 32..63|96..127 in ql, 2 high bits
         * of each of the four 32-value quarters in qh. */
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < EQ_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

/* The 256 signed 6-bit codes (-32..31) of a Q6_K block. */
static void q6_K_codes(const block_q6_K *b, int8_t *a) {
    const uint8_t *ql = b->ql, *qh = b->qh;
    for (int n = 0; n < EQ_QK_K; n += 128, ql += 64, qh += 32, a += 128) {
        for (int l = 0; l < 32; l++) {
            a[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            a[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            a[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            a[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

void eq_to_float_q6_K_ref(const void *vx, float *y, int64_t k) {
    const block_q6_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++, y += EQ_QK_K) {
        const float d = eq_fp16_to_fp32(x[i].d);
        int8_t a[EQ_QK_K];
        q6_K_codes(&x[i], a);
        for (int j = 0; j < EQ_QK_K; j++) y[j] = d * x[i].scales[j / 16] * (float)a[j];
    }
}

void eq_vec_dot_q6_K_q8_K_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0};
    for (int i = 0; i < n / EQ_QK_K; i++) {
        int8_t a[EQ_QK_K];
        q6_K_codes(&x[i], a);
        int32_t acc[8] = {0};
        for (int j = 0; j < EQ_QK_K; j++) acc[j % 8] += x[i].scales[j / 16] * (y[i].qs[j] * a[j]);
        const float d = eq_fp16_to_fp32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; l++) sums[l] += d * acc[l];
    }
    float sum = 0;
    for (int l = 0; l < 8; l++) sum += sums[l];
    *s = sum;
}

/* ================= Q8_K: activations, float scale, 16-value sums ================= */

void eq_from_float_q8_K_ref(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < EQ_QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (!amax) {
            /* ggml leaves bsums untouched here; zero is what they sum to. */
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* -127 (not -128) keeps every code in [-127, 127], which the SIMD dots rely on. */
        const float iscale = -127.f / max;
        for (int j = 0; j < EQ_QK_K; j++) y[i].qs[j] = (int8_t)imin(127, eq_nearest_int(iscale * x[j]));
        for (int j = 0; j < EQ_QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * j + l];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

void eq_to_float_q8_K_ref(const void *vx, float *y, int64_t k) {
    const block_q8_K *x = vx;
    for (int64_t i = 0; i < k / EQ_QK_K; i++)
        for (int j = 0; j < EQ_QK_K; j++) *y++ = x[i].d * (float)x[i].qs[j];
}
