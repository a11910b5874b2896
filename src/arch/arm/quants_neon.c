/* AArch64 NEON kernels: vec_dot for the legacy and K formats, F32/F16 dot, and the Q8
 * activation quantizers. Same signatures as the scalar refs in quant/kernels.h.
 *
 * Integer sums are exact, so a vec_dot differs from its ref only in float summation order.
 * The quantizers use the refs' scale math and rounding mode, so their output is
 * bit-identical. Int8 dot products use SDOT when the target has it (armv8.2-a+dotprod)
 * and widening multiplies otherwise; both give the same integers. */
#include "quant/kernels.h"
#include "quant/blocks.h"

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <string.h>
#include "ops/exp_f64.h"

/* fp16 -> fp32 in one instruction; the conversion is exact, so it matches eq_fp16_to_fp32. */
static inline float eq_h2f(eq_f16 h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* acc + four lane-sums of a*b (each lane sums four adjacent products). */
static inline int32x4_t eq_dot_s8(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    /* A single int8 product fits int16 (|-128*-128| = 16384); widen before adding. */
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, lo), hi);
#endif
}

/* [sum(a), sum(b), sum(c), sum(d)]: one lane per sub-block, ready for a per-lane scale. */
static inline int32x4_t eq_hsum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/* The 32 high bits of a Q5 block as byte masks (0xFF where set): bit j goes with value j,
 * i.e. bits 0..15 with the low nibbles and bits 16..31 with the high nibbles. */
static inline void eq_qh_masks(const uint8_t qh[4], uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t idx_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t idx_hi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint32_t q;
    memcpy(&q, qh, 4);
    const uint8x16_t v = vreinterpretq_u8_u32(vdupq_n_u32(q));
    const uint8x16_t b = vld1q_u8(bits);
    *lo = vtstq_u8(vqtbl1q_u8(v, vld1q_u8(idx_lo)), b);
    *hi = vtstq_u8(vqtbl1q_u8(v, vld1q_u8(idx_hi)), b);
}

/* ---- legacy formats: 32-value blocks ---- */

void eq_vec_dot_q4_0_q8_0_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t s8 = vdupq_n_s8(8);
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    for (int ib = 0; ib < nb; ++ib) {
        const uint8x16_t q = vld1q_u8(x[ib].qs);
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), s8);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), s8);
        int32x4_t p = eq_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y[ib].qs));
        p = eq_dot_s8(p, hi, vld1q_s8(y[ib].qs + 16));
        const float d = eq_h2f(x[ib].d) * eq_h2f(y[ib].d);
        /* Two accumulators hide the float add latency between blocks. */
        if (ib & 1) acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(p), d);
        else        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p), d);
    }
    *s = vaddvq_f32(vaddq_f32(acc0, acc1));
}

void eq_vec_dot_q4_1_q8_1_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    const int nb = n / EQ_QK;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float32x4_t acc = vdupq_n_f32(0.0f);
    float summs = 0.0f;
    for (int ib = 0; ib < nb; ++ib) {
        const uint8x16_t q = vld1q_u8(x[ib].qs);
        const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(q, m4));
        const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        int32x4_t p = eq_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y[ib].qs));
        p = eq_dot_s8(p, hi, vld1q_s8(y[ib].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), eq_h2f(x[ib].d) * eq_h2f(y[ib].d));
        /* The min term: m * sum(y) = m * y.s, with y.s stored by the quantizer. */
        summs += eq_h2f(x[ib].m) * eq_h2f(y[ib].s);
    }
    *s = vaddvq_f32(acc) + summs;
}

void eq_vec_dot_q5_0_q8_0_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    const int8x16_t s16 = vdupq_n_s8(16);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int ib = 0; ib < nb; ++ib) {
        uint8x16_t hlo, hhi;
        eq_qh_masks(x[ib].qh, &hlo, &hhi);
        const uint8x16_t q = vld1q_u8(x[ib].qs);
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q, m4), vandq_u8(hlo, b4))), s16);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q, 4), vandq_u8(hhi, b4))), s16);
        int32x4_t p = eq_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y[ib].qs));
        p = eq_dot_s8(p, hi, vld1q_s8(y[ib].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), eq_h2f(x[ib].d) * eq_h2f(y[ib].d));
    }
    *s = vaddvq_f32(acc);
}

void eq_vec_dot_q5_1_q8_1_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    const int nb = n / EQ_QK;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    float32x4_t acc = vdupq_n_f32(0.0f);
    float summs = 0.0f;
    for (int ib = 0; ib < nb; ++ib) {
        uint8x16_t hlo, hhi;
        eq_qh_masks(x[ib].qh, &hlo, &hhi);
        const uint8x16_t q = vld1q_u8(x[ib].qs);
        const int8x16_t lo = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q, m4), vandq_u8(hlo, b4)));
        const int8x16_t hi = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q, 4), vandq_u8(hhi, b4)));
        int32x4_t p = eq_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y[ib].qs));
        p = eq_dot_s8(p, hi, vld1q_s8(y[ib].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), eq_h2f(x[ib].d) * eq_h2f(y[ib].d));
        summs += eq_h2f(x[ib].m) * eq_h2f(y[ib].s);
    }
    *s = vaddvq_f32(acc) + summs;
}

void eq_vec_dot_q8_0_q8_0_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    for (int ib = 0; ib < nb; ++ib) {
        int32x4_t p = eq_dot_s8(vdupq_n_s32(0), vld1q_s8(x[ib].qs), vld1q_s8(y[ib].qs));
        p = eq_dot_s8(p, vld1q_s8(x[ib].qs + 16), vld1q_s8(y[ib].qs + 16));
        const float d = eq_h2f(x[ib].d) * eq_h2f(y[ib].d);
        if (ib & 1) acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(p), d);
        else        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p), d);
    }
    *s = vaddvq_f32(vaddq_f32(acc0, acc1));
}

/* ---- K formats: 256-value super-blocks ---- */

/* Sixteen int8 sub-block scales widened to four int32x4 (sub-blocks 0-3, 4-7, 8-11, 12-15). */
static inline void eq_widen_scales(int8x16_t sc, int32x4_t out[4]) {
    const int16x8_t a = vmovl_s8(vget_low_s8(sc)), b = vmovl_high_s8(sc);
    out[0] = vmovl_s16(vget_low_s16(a)); out[1] = vmovl_high_s16(a);
    out[2] = vmovl_s16(vget_low_s16(b)); out[3] = vmovl_high_s16(b);
}

void eq_vec_dot_q2_K_q8_K_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(0x0F);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float dall = y[i].d * eq_h2f(x[i].d);
        const float dmin = y[i].d * eq_h2f(x[i].dmin);
        const uint8x16_t sc = vld1q_u8(x[i].scales);

        /* Mins (high nibbles) times the per-16 sums of y: the -dmin*min*sum(y) term. */
        const uint8x16_t mn = vshrq_n_u8(sc, 4);
        const int16x8_t mn0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
        const int16x8_t mn1 = vreinterpretq_s16_u16(vmovl_high_u8(mn));
        const int16x8_t bs0 = vld1q_s16(y[i].bsums), bs1 = vld1q_s16(y[i].bsums + 8);
        int32x4_t ms = vmull_s16(vget_low_s16(bs0), vget_low_s16(mn0));
        ms = vmlal_high_s16(ms, bs0, mn0);
        ms = vmlal_s16(ms, vget_low_s16(bs1), vget_low_s16(mn1));
        ms = vmlal_high_s16(ms, bs1, mn1);
        const int summs = vaddvq_s32(ms);

        int32x4_t scl[4];
        eq_widen_scales(vreinterpretq_s8_u8(vandq_u8(sc, m4)), scl);

        /* Value 128k + 32j + l is bits 2j..2j+1 of qs[32k + l]; sub-block = 8k + 2j + (l >= 16). */
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32x4_t isum = vdupq_n_s32(0);
        for (int k = 0; k < 2; ++k, q2 += 32) {
            const uint8x16_t qa = vld1q_u8(q2), qb = vld1q_u8(q2 + 16);
            for (int jp = 0; jp < 2; ++jp) {
                int32x4_t p[4];
                for (int t = 0; t < 2; ++t, q8 += 32) {
                    const int8x16_t sh = vdupq_n_s8((int8_t)(-2 * (2 * jp + t)));
                    const int8x16_t va = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(qa, sh), m3));
                    const int8x16_t vb = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(qb, sh), m3));
                    p[2 * t] = eq_dot_s8(vdupq_n_s32(0), va, vld1q_s8(q8));
                    p[2 * t + 1] = eq_dot_s8(vdupq_n_s32(0), vb, vld1q_s8(q8 + 16));
                }
                isum = vmlaq_s32(isum, eq_hsum4(p[0], p[1], p[2], p[3]), scl[2 * k + jp]);
            }
        }
        sumf += dall * (float)vaddvq_s32(isum) - dmin * (float)summs;
    }
    *s = sumf;
}

void eq_vec_dot_q3_K_q8_K_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    const uint8x16_t m3 = vdupq_n_u8(3), v4 = vdupq_n_u8(4);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_h2f(x[i].d);

        /* Sixteen 6-bit scales: low 4 bits in bytes 0-7, high 2 bits packed in bytes 8-11. */
        uint32_t aux[4];
        memcpy(aux, x[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int32x4_t scl[4];
        eq_widen_scales(vsubq_s8(vld1q_s8((const int8_t *)aux), vdupq_n_s8(32)), scl);

        /* Value 128k + 32j + l: 2 low bits from qs[32k + l] >> 2j; hmask[l] bit 4k+j clear
         * means subtract 4. Sub-block = 8k + 2j + (l >= 16). */
        const uint8x16_t hm0 = vld1q_u8(x[i].hmask), hm1 = vld1q_u8(x[i].hmask + 16);
        const uint8_t *q3 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32x4_t isum = vdupq_n_s32(0);
        for (int k = 0; k < 2; ++k, q3 += 32) {
            const uint8x16_t qa = vld1q_u8(q3), qb = vld1q_u8(q3 + 16);
            for (int jp = 0; jp < 2; ++jp) {
                int32x4_t p[4];
                for (int t = 0; t < 2; ++t, q8 += 32) {
                    const int j = 2 * jp + t;
                    const int8x16_t sh = vdupq_n_s8((int8_t)(-2 * j));
                    const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * k + j)));
                    const uint8x16_t la = vandq_u8(vshlq_u8(qa, sh), m3);
                    const uint8x16_t lb = vandq_u8(vshlq_u8(qb, sh), m3);
                    const int8x16_t va = vreinterpretq_s8_u8(vsubq_u8(la, vbicq_u8(v4, vtstq_u8(hm0, bit))));
                    const int8x16_t vb = vreinterpretq_s8_u8(vsubq_u8(lb, vbicq_u8(v4, vtstq_u8(hm1, bit))));
                    p[2 * t] = eq_dot_s8(vdupq_n_s32(0), va, vld1q_s8(q8));
                    p[2 * t + 1] = eq_dot_s8(vdupq_n_s32(0), vb, vld1q_s8(q8 + 16));
                }
                isum = vmlaq_s32(isum, eq_hsum4(p[0], p[1], p[2], p[3]), scl[2 * k + jp]);
            }
        }
        sumf += d * (float)vaddvq_s32(isum);
    }
    *s = sumf;
}


/* sum_j bsums[j] * mins[j/2], without narrowing the bsums (they may be any int16). */
static inline int eq_k4_minsum(const int16_t bsums[16], const uint8_t mn[8]) {
    const uint8x8x2_t z = vzip_u8(vld1_u8(mn), vld1_u8(mn)); /* m0 m0 m1 m1 ... */
    const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(z.val[0]));
    const int16x8_t m1 = vreinterpretq_s16_u16(vmovl_u8(z.val[1]));
    const int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
    int32x4_t acc = vmull_s16(vget_low_s16(b0), vget_low_s16(m0));
    acc = vmlal_high_s16(acc, b0, m0);
    acc = vmlal_s16(acc, vget_low_s16(b1), vget_low_s16(m1));
    acc = vmlal_high_s16(acc, b1, m1);
    return vaddvq_s32(acc);
}

/* Eight uint8 scales widened to two int32x4. */
static inline void eq_widen_scales8(const uint8_t sc[8], int32x4_t out[2]) {
    const uint16x8_t w = vmovl_u8(vld1_u8(sc));
    out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(w)));
    out[1] = vreinterpretq_s32_u32(vmovl_high_u16(w));
}

void eq_vec_dot_q4_K_q8_K_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_h2f(x[i].d);
        const float dmin = y[i].d * eq_h2f(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        const int summ = eq_k4_minsum(y[i].bsums, mn);
        int32x4_t scl[2];
        eq_widen_scales8(sc, scl);

        /* Chunk j of 64 values: low nibbles of qs[32j..32j+31] are sub-block 2j, high nibbles 2j+1. */
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32x4_t isum = vdupq_n_s32(0);
        for (int jp = 0; jp < 2; ++jp) {
            int32x4_t p[4];
            for (int t = 0; t < 2; ++t, q4 += 32, q8 += 64) {
                const uint8x16_t qa = vld1q_u8(q4), qb = vld1q_u8(q4 + 16);
                int32x4_t lo = eq_dot_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(qa, m4)), vld1q_s8(q8));
                lo = eq_dot_s8(lo, vreinterpretq_s8_u8(vandq_u8(qb, m4)), vld1q_s8(q8 + 16));
                int32x4_t hi = eq_dot_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(vshrq_n_u8(qa, 4)), vld1q_s8(q8 + 32));
                hi = eq_dot_s8(hi, vreinterpretq_s8_u8(vshrq_n_u8(qb, 4)), vld1q_s8(q8 + 48));
                p[2 * t] = lo;
                p[2 * t + 1] = hi;
            }
            isum = vmlaq_s32(isum, eq_hsum4(p[0], p[1], p[2], p[3]), scl[jp]);
        }
        sumf += d * (float)vaddvq_s32(isum) - dmin * (float)summ;
    }
    *s = sumf;
}

void eq_vec_dot_q5_K_q8_K_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_h2f(x[i].d);
        const float dmin = y[i].d * eq_h2f(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        const int summ = eq_k4_minsum(y[i].bsums, mn);
        int32x4_t scl[2];
        eq_widen_scales8(sc, scl);

        /* As Q4_K, plus a fifth bit: qh[l] bit b (b = sub-block) adds 16 to value l of it. */
        const uint8x16_t h0 = vld1q_u8(x[i].qh), h1 = vld1q_u8(x[i].qh + 16);
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32x4_t isum = vdupq_n_s32(0);
        for (int jp = 0; jp < 2; ++jp) {
            int32x4_t p[4];
            for (int t = 0; t < 2; ++t, q4 += 32, q8 += 64) {
                const int b = 2 * (2 * jp + t);
                /* Move bit b to bit 4 (a negative count shifts right). */
                const int8x16_t shl = vdupq_n_s8((int8_t)(4 - b)), shh = vdupq_n_s8((int8_t)(3 - b));
                const uint8x16_t qa = vld1q_u8(q4), qb = vld1q_u8(q4 + 16);
                const uint8x16_t la = vorrq_u8(vandq_u8(qa, m4), vandq_u8(vshlq_u8(h0, shl), b4));
                const uint8x16_t lb = vorrq_u8(vandq_u8(qb, m4), vandq_u8(vshlq_u8(h1, shl), b4));
                const uint8x16_t ha = vorrq_u8(vshrq_n_u8(qa, 4), vandq_u8(vshlq_u8(h0, shh), b4));
                const uint8x16_t hb = vorrq_u8(vshrq_n_u8(qb, 4), vandq_u8(vshlq_u8(h1, shh), b4));
                int32x4_t lo = eq_dot_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(la), vld1q_s8(q8));
                lo = eq_dot_s8(lo, vreinterpretq_s8_u8(lb), vld1q_s8(q8 + 16));
                int32x4_t hi = eq_dot_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(ha), vld1q_s8(q8 + 32));
                hi = eq_dot_s8(hi, vreinterpretq_s8_u8(hb), vld1q_s8(q8 + 48));
                p[2 * t] = lo;
                p[2 * t + 1] = hi;
            }
            isum = vmlaq_s32(isum, eq_hsum4(p[0], p[1], p[2], p[3]), scl[jp]);
        }
        sumf += d * (float)vaddvq_s32(isum) - dmin * (float)summ;
    }
    *s = sumf;
}

void eq_vec_dot_q6_K_q8_K_neon(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
    const int8x16_t s32 = vdupq_n_s8(32);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_h2f(x[i].d);
        int32x4_t scl[4];
        eq_widen_scales(vld1q_s8(x[i].scales), scl);

        /* Half c (128 values): value 32r + l (r = 0..3, l = 0..31) is the low (r < 2) or high
         * nibble of ql[64c + 32(r&1) + l], with bits 2r..2r+1 of qh[32c + l] as bits 4..5,
         * minus 32. Sub-blocks of 16 go in order. */
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        int32x4_t isum = vdupq_n_s32(0);
        for (int c = 0; c < 2; ++c, ql += 64, qh += 32) {
            const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16);
            const uint8x16_t l2 = vld1q_u8(ql + 32), l3 = vld1q_u8(ql + 48);
            const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
            for (int rp = 0; rp < 2; ++rp) {
                int32x4_t p[4];
                for (int t = 0; t < 2; ++t, q8 += 32) {
                    const int r = 2 * rp + t;
                    const int8x16_t sh = vdupq_n_s8((int8_t)(4 - 2 * r));
                    const uint8x16_t a = (r & 1) ? l2 : l0, b = (r & 1) ? l3 : l1;
                    const uint8x16_t na = r >= 2 ? vshrq_n_u8(a, 4) : vandq_u8(a, m4);
                    const uint8x16_t nb2 = r >= 2 ? vshrq_n_u8(b, 4) : vandq_u8(b, m4);
                    const int8x16_t va = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(na, vandq_u8(vshlq_u8(h0, sh), m30))), s32);
                    const int8x16_t vb = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(nb2, vandq_u8(vshlq_u8(h1, sh), m30))), s32);
                    p[2 * t] = eq_dot_s8(vdupq_n_s32(0), va, vld1q_s8(q8));
                    p[2 * t + 1] = eq_dot_s8(vdupq_n_s32(0), vb, vld1q_s8(q8 + 16));
                }
                isum = vmlaq_s32(isum, eq_hsum4(p[0], p[1], p[2], p[3]), scl[2 * c + rp]);
            }
        }
        sumf += d * (float)vaddvq_s32(isum);
    }
    *s = sumf;
}

/* ---- float formats ---- */

void eq_vec_dot_f32_f32_neon(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; ++i) sum += x[i] * y[i];
    *s = sum;
}

void eq_vec_dot_f16_f16_neon(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint16x8_t hx = vld1q_u16(x + i), hy = vld1q_u16(y + i);
        a0 = vfmaq_f32(a0, vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(hx))),
                           vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(hy))));
        a1 = vfmaq_f32(a1, vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(hx))),
                           vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(hy))));
    }
    float sum = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; ++i) sum += eq_h2f(x[i]) * eq_h2f(y[i]);
    *s = sum;
}

void eq_vec_dot_bf16_bf16_neon(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        /* bf16 is the top half of an f32: widen with a 16-bit left shift. */
        const uint16x8_t hx = vld1q_u16(x + i), hy = vld1q_u16(y + i);
        a0 = vfmaq_f32(a0, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(hx), 16)),
                           vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(hy), 16)));
        a1 = vfmaq_f32(a1, vreinterpretq_f32_u32(vshll_high_n_u16(hx, 16)),
                           vreinterpretq_f32_u32(vshll_high_n_u16(hy, 16)));
    }
    float sum = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; ++i) sum += eq_bf16_to_fp32(x[i]) * eq_bf16_to_fp32(y[i]);
    *s = sum;
}

/* Widening f16/bf16 -> f32 is exact, so these match the refs bit for bit. */
void eq_to_float_f16_neon(const void *vx, float *y, int64_t k) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        const uint16x8_t h = vld1q_u16(x + i);
        vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h))));
        vst1q_f32(y + i + 4, vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h))));
    }
    for (; i < k; ++i) y[i] = eq_h2f(x[i]);
}

void eq_to_float_bf16_neon(const void *vx, float *y, int64_t k) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        const uint16x8_t h = vld1q_u16(x + i);
        vst1q_f32(y + i, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
        vst1q_f32(y + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
    }
    for (; i < k; ++i) y[i] = eq_bf16_to_fp32(x[i]);
}

/* ---- activation quantizers (bit-identical to the refs) ---- */

/* 32 floats scaled by id, rounded half away from zero (roundf, as the ref), as int32. */
static inline void eq_q8_block(const float *x, float id, int8_t *qs, int32x4_t *sum) {
    int32x4_t v[8];
    for (int j = 0; j < 8; ++j) v[j] = vcvtaq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * j), id));
    for (int j = 0; j < 2; ++j) {
        const int16x8_t a = vcombine_s16(vqmovn_s32(v[4 * j]), vqmovn_s32(v[4 * j + 1]));
        const int16x8_t b = vcombine_s16(vqmovn_s32(v[4 * j + 2]), vqmovn_s32(v[4 * j + 3]));
        vst1q_s8(qs + 16 * j, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
    }
    if (sum) {
        int32x4_t t = vaddq_s32(vaddq_s32(v[0], v[1]), vaddq_s32(v[2], v[3]));
        t = vaddq_s32(t, vaddq_s32(vaddq_s32(v[4], v[5]), vaddq_s32(v[6], v[7])));
        *sum = t;
    }
}

static inline float eq_absmax32(const float *x) {
    float32x4_t m = vabsq_f32(vld1q_f32(x));
    for (int j = 1; j < 8; ++j) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + 4 * j)));
    return vmaxvq_f32(m);
}

void eq_from_float_q8_0_neon(const float *x, void *vy, int64_t k) {
    block_q8_0 *y = vy;
    const int64_t nb = k / EQ_QK;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK) {
        const float amax = eq_absmax32(x);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        eq_q8_block(x, id, y[i].qs, NULL);
    }
}

void eq_from_float_q8_1_neon(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    const int64_t nb = k / EQ_QK;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK) {
        const float amax = eq_absmax32(x);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int32x4_t sum;
        y[i].d = eq_fp32_to_fp16(d);
        eq_q8_block(x, id, y[i].qs, &sum);
        y[i].s = eq_fp32_to_fp16((float)vaddvq_s32(sum) * d);
    }
}

void eq_from_float_q8_K_neon(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    const int64_t nb = k / EQ_QK_K;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK_K) {
        float32x4_t vmax = vld1q_f32(x), vmin = vmax;
        for (int j = 4; j < EQ_QK_K; j += 4) {
            const float32x4_t v = vld1q_f32(x + j);
            vmax = vmaxq_f32(vmax, v);
            vmin = vminq_f32(vmin, v);
        }
        const float hi = vmaxvq_f32(vmax), lo = vminvq_f32(vmin);
        const float amax = hi > -lo ? hi : -lo;
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* The ref scales by the first value of largest magnitude, sign included; only a tie
         * between +amax and -amax needs a search for which came first. */
        float max = hi > -lo ? hi : lo;
        if (hi == -lo) {
            for (int j = 0; j < EQ_QK_K; ++j) {
                if (fabsf(x[j]) == amax) { max = x[j]; break; }
            }
        }
        const float iscale = -127.0f / max;
        const float32x4_t vs = vdupq_n_f32(iscale);
        const int32x4_t c127 = vdupq_n_s32(127);
        for (int j = 0; j < EQ_QK_K; j += 16) {
            int32x4_t v[4];
            /* Round half to even, as the ref's nearest_int; clamp to 127 as the ref does. */
            for (int t = 0; t < 4; ++t)
                v[t] = vminq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + j + 4 * t), vs)), c127);
            const int16x8_t a = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
            const int16x8_t b = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
            vst1q_s8(y[i].qs + j, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
            y[i].bsums[j / 16] = (int16_t)vaddvq_s32(vaddq_s32(vaddq_s32(v[0], v[1]), vaddq_s32(v[2], v[3])));
        }
        y[i].d = 1.0f / iscale;
    }
}

/* ---- the attention's F16 helpers (ops/vec.c) ----
 * The multiply-adds fuse (vfmaq, fmaf in the tails), as the AVX2 twins do; the dot of a row and
 * a query is eq_vec_dot_f16_f16_neon's arithmetic, and the many-row forms give the one-row
 * results bit for bit while converting a row once for up to four heads (the heads of one KV
 * head read the same rows). */
void eq_vec_mad_f16_neon(int n, float *y, const uint16_t *x, float v) {
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))), v));
    for (; i < n; i++) y[i] = fmaf(eq_h2f(x[i]), v, y[i]);
}

/* x[i] * v rounded to F16 (nearest even, as eq_fp32_to_fp16 for every finite value) and back */
void eq_vec_round_f16_neon(int n, float *x, float v) {
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vcvt_f32_f16(vcvt_f16_f32(vmulq_n_f32(vld1q_f32(x + i), v))));
    for (; i < n; i++) x[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(x[i] * v));
}

enum { ATT_MAX_Q = 4, ATT_MAX_N = 256 };

void eq_vec_dot_f16_rows_neon(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy) {
    if (n > ATT_MAX_N) {
        for (int q = 0; q < nq; q++)
            for (int r = 0; r < rows; r++) eq_vec_dot_f16_f16_neon(n, &s[q * ld + r], x + (size_t)r * stride, y + q * ldy);
        return;
    }
    const int nv = n & ~7;
    for (int q0 = 0; q0 < nq; q0 += ATT_MAX_Q) {
        const int nb = nq - q0 < ATT_MAX_Q ? nq - q0 : ATT_MAX_Q;
        float32x4_t yv[ATT_MAX_Q][ATT_MAX_N / 4];
        for (int q = 0; q < nb; q++)
            for (int i = 0; i < nv; i += 4) yv[q][i / 4] = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(y + (q0 + q) * ldy + i)));
        for (int r = 0; r < rows; r++) {
            const uint16_t *xr = x + (size_t)r * stride;
            float32x4_t a0[ATT_MAX_Q], a1[ATT_MAX_Q];
            for (int q = 0; q < nb; q++) a0[q] = a1[q] = vdupq_n_f32(0.0f);
            for (int i = 0; i < nv; i += 8) {
                const uint16x8_t h = vld1q_u16(xr + i);
                const float32x4_t lo = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
                const float32x4_t hi = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h)));
                for (int q = 0; q < nb; q++) {
                    a0[q] = vfmaq_f32(a0[q], lo, yv[q][i / 4]);
                    a1[q] = vfmaq_f32(a1[q], hi, yv[q][i / 4 + 1]);
                }
            }
            for (int q = 0; q < nb; q++) {
                const uint16_t *yq = y + (q0 + q) * ldy;
                float sum = vaddvq_f32(vaddq_f32(a0[q], a1[q]));
                for (int i = nv; i < n; ++i) sum += eq_h2f(xr[i]) * eq_h2f(yq[i]);
                s[(q0 + q) * ld + r] = sum;
            }
        }
    }
}

void eq_vec_mad_f16_rows_neon(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw) {
    if (rows <= 0) return;
    for (int q0 = 0; q0 < nq; q0 += ATT_MAX_Q) {
        const int nb = nq - q0 < ATT_MAX_Q ? nq - q0 : ATT_MAX_Q;
        int i = 0;
        /* 16 values of up to four heads in 16 accumulators across all rows */
        for (; i + 16 <= n; i += 16) {
            float32x4_t acc[ATT_MAX_Q][4];
            for (int q = 0; q < nb; q++)
                for (int c = 0; c < 4; c++) acc[q][c] = vld1q_f32(y + (q0 + q) * ldy + i + 4 * c);
            for (int r = 0; r < rows; r++) {
                const uint16_t *xr = x + (size_t)r * stride + i;
                const uint16x8_t h0 = vld1q_u16(xr), h1 = vld1q_u16(xr + 8);
                const float32x4_t xc[4] = {vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h0))),
                                           vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h0))),
                                           vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h1))),
                                           vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h1)))};
                for (int q = 0; q < nb; q++) {
                    const float wq = w[(q0 + q) * ldw + r];
                    for (int c = 0; c < 4; c++) acc[q][c] = vfmaq_n_f32(acc[q][c], xc[c], wq);
                }
            }
            for (int q = 0; q < nb; q++)
                for (int c = 0; c < 4; c++) vst1q_f32(y + (q0 + q) * ldy + i + 4 * c, acc[q][c]);
        }
        /* the last n % 16 values: the one-row kernel, row by row */
        for (int q = q0; q < q0 + nb; q++)
            for (int r = 0; r < rows; r++) eq_vec_mad_f16_neon(n - i, y + q * ldy + i, x + (size_t)r * stride + i, w[q * ldw + r]);
    }
}

/* The softmax (ops/vec.c: eq_vec_softmax_ref) and SwiGLU (ops/activation.c: eq_swiglu_ref),
 * exp as ops/exp_f64.h two doubles per step, multiplies and adds unfused as there; the same
 * arrangement as the wasm twins (four accumulators hold the softmax's eight partial sums).
 * The maximum is a compare and select (s > max), so a NaN never wins, as in the reference;
 * vmaxq_f64/vminq_f64 in the clamp return a NaN z as NaN, as the reference's comparisons do. */
static inline float64x2_t exp_f64x2(float64x2_t z) {
    z = vminq_f64(vmaxq_f64(z, vdupq_n_f64(-EQ_EXP_ZMAX)), vdupq_n_f64(EQ_EXP_ZMAX));
    const float64x2_t shift = vdupq_n_f64(EQ_EXP_SHIFT), t = vaddq_f64(z, shift);
    const float64x2_t f = vsubq_f64(z, vsubq_f64(t, shift));
    float64x2_t p = vdupq_n_f64(eq_exp_c[11]);
    for (int k = 10; k >= 0; k--) p = vaddq_f64(vmulq_f64(p, f), vdupq_n_f64(eq_exp_c[k]));
    const int64x2_t b = vshlq_n_s64(vaddq_s64(vreinterpretq_s64_f64(t), vdupq_n_s64((int64_t)(1023 - EQ_EXP_SHIFT_BITS))), 52);
    return vmulq_f64(p, vreinterpretq_f64_s64(b));
}

/* exp of four floats, each rounded once to float */
static inline float32x4_t exp4(float32x4_t x) {
    const float64x2_t l2e = vdupq_n_f64(EQ_EXP_LOG2E);
    const float32x2_t e0 = vcvt_f32_f64(exp_f64x2(vmulq_f64(vcvt_f64_f32(vget_low_f32(x)), l2e)));
    const float32x2_t e1 = vcvt_f32_f64(exp_f64x2(vmulq_f64(vcvt_high_f64_f32(x), l2e)));
    return vcombine_f32(e0, e1);
}

double eq_vec_softmax_neon(int n, float *x, float scale) {
    float32x4_t mv = vdupq_n_f32(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t s = vmulq_n_f32(vld1q_f32(x + i), scale);
        vst1q_f32(x + i, s);
        mv = vbslq_f32(vcgtq_f32(s, mv), s, mv);
    }
    float m4[4], mx = -INFINITY;
    vst1q_f32(m4, mv);
    for (int k = 0; k < 4; k++)
        if (m4[k] > mx) mx = m4[k];
    mx = eq_vec_softmax_scale_max(i, n, x, scale, mx);
    float64x2_t a[4] = {vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
    for (i = 0; i + 8 <= n; i += 8)
        for (int h = 0; h < 2; h++) {
            const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i + 4 * h), vdupq_n_f32(mx)));
            vst1q_f32(x + i + 4 * h, e);
            a[2 * h] = vaddq_f64(a[2 * h], vcvt_f64_f32(vget_low_f32(e)));
            a[2 * h + 1] = vaddq_f64(a[2 * h + 1], vcvt_high_f64_f32(e));
        }
    double part[8];
    for (int k = 0; k < 4; k++) vst1q_f64(part + 2 * k, a[k]);
    return eq_vec_softmax_finish(i, n, x, mx, part);
}

void eq_swiglu_neon(float *g, const float *u, int n) {
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t x = vld1q_f32(g + i), e = exp4(vnegq_f32(x));
        vst1q_f32(g + i, vmulq_f32(vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0f), e)), vld1q_f32(u + i)));
    }
    eq_swiglu_finish(i, n, g, u);
}

#else
typedef int eq_quants_neon_unused; /* ISO C wants a declaration in every translation unit. */
#endif
