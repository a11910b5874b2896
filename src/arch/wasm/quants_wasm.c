/* WASM SIMD128 kernels: vec_dot for the legacy and K formats, F32/BF16 dot, and the Q8
 * activation quantizers. Same signatures as the scalar refs in quant/kernels.h.
 *
 * SIMD128 has no 8-bit multiply, so int8 products are formed with the widening
 * i16x8.extmul, summed in 16 bits while that cannot overflow (each format's weight range
 * bounds it; see the notes per kernel), and then widened to 32 bits either pairwise or by
 * i32x4.dot_i16x8 against the sub-block scale, which folds the scale multiply into the
 * widening. Integer sums are exact; only the float summation order differs from the refs.
 * The quantizers reproduce the refs bit for bit. */
#include "quant/kernels.h"
#include "quant/blocks.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#include <math.h>
#include <string.h>

static inline float eq_hsum_f32(v128_t v) {
    return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
           (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static inline int eq_hsum_i32(v128_t v) {
    return (wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1)) +
           (wasm_i32x4_extract_lane(v, 2) + wasm_i32x4_extract_lane(v, 3));
}

/* Per lane i: a[i]*b[i] + a[i+8]*b[i+8], in 16 bits. Exact when |a| <= 64 (|b| <= 128). */
static inline v128_t eq_mul_i8(v128_t a, v128_t b) {
    return wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, b), wasm_i16x8_extmul_high_i8x16(a, b));
}

/* ---- legacy formats: 32-value blocks ----
 * Per block the integer work is a dozen SIMD ops, so the per-block scalar tail (two or four
 * f16 conversions, a float multiply-add) would dominate. The kernels therefore take four
 * blocks at a time: their int32 partials are reduced into one vector (a lane per block),
 * their f16 scales converted four at once, and one multiply-add covers all four. */

/* Four f16 bit patterns (one per 32-bit lane) to f32, exactly: the magnitude shifted into
 * f32 position and scaled by 2^112 is right for normals and subnormals alike; inf/NaN get
 * the all-ones exponent back. */
static inline v128_t eq_h2f_x4(v128_t h) {
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    const v128_t mag = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t f = wasm_f32x4_mul(mag, wasm_f32x4_splat(0x1p112f));
    const v128_t infnan = wasm_i32x4_eq(wasm_v128_and(h, wasm_i32x4_splat(0x7c00)), wasm_i32x4_splat(0x7c00));
    return wasm_v128_or(wasm_v128_or(f, wasm_v128_and(infnan, wasm_i32x4_splat(0x7f800000))), sign);
}

/* The f16 at p, p + stride, p + 2*stride, p + 3*stride (one field of four blocks) as f32. */
static inline v128_t eq_h2f_strided(const void *p, size_t stride) {
    const uint8_t *b = p;
    uint16_t h[4];
    for (int t = 0; t < 4; ++t) memcpy(&h[t], b + t * stride, 2);
    return eq_h2f_x4(wasm_i32x4_make(h[0], h[1], h[2], h[3]));
}

/* [sum(a), sum(b), sum(c), sum(d)]. */
static inline v128_t eq_hsum4_i32(v128_t a, v128_t b, v128_t c, v128_t d) {
    const v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    const v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* One block's sum of x*y for weights with |x| <= 32: four 16-bit partials of at most
 * 4*32*128 = 16384 per lane, then widened pairwise. */
static inline v128_t eq_block_dot_small(v128_t lo, v128_t hi, const int8_t *q8) {
    const v128_t p = wasm_i16x8_add(eq_mul_i8(lo, wasm_v128_load(q8)), eq_mul_i8(hi, wasm_v128_load(q8 + 16)));
    return wasm_i32x4_extadd_pairwise_i16x8(p);
}

static inline v128_t eq_blk_q4_0(const block_q4_0 *x, const block_q8_0 *y) {
    const v128_t q = wasm_v128_load(x->qs), s8 = wasm_i8x16_splat(8);
    const v128_t lo = wasm_i8x16_sub(wasm_v128_and(q, wasm_i8x16_splat(0x0F)), s8);
    const v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(q, 4), s8);
    return eq_block_dot_small(lo, hi, y->qs);
}

static inline v128_t eq_blk_q4_1(const block_q4_1 *x, const block_q8_1 *y) {
    const v128_t q = wasm_v128_load(x->qs);
    return eq_block_dot_small(wasm_v128_and(q, wasm_i8x16_splat(0x0F)), wasm_u8x16_shr(q, 4), y->qs);
}

/* The 32 high bits of a Q5 block as byte masks (0xFF where set); bits 0..15 go with the
 * low nibbles (values 0..15), bits 16..31 with the high nibbles (values 16..31). */
static inline void eq_qh_masks(const uint8_t qh[4], v128_t *lo, v128_t *hi) {
    uint32_t q;
    memcpy(&q, qh, 4);
    const v128_t v = wasm_i32x4_splat((int32_t)q);
    const v128_t bits = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const v128_t ilo = wasm_u8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const v128_t ihi = wasm_u8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    *lo = wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(v, ilo), bits), bits);
    *hi = wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(v, ihi), bits), bits);
}

/* Q5 weights: nibble | fifth bit << 4, minus 16 for Q5_0 (sub = 16) or not for Q5_1. The
 * 16-bit partials stay below 4*31*128 = 15872 either way. */
static inline v128_t eq_blk_q5(const uint8_t *qs, const uint8_t *qh, const int8_t *q8, int sub) {
    v128_t hlo, hhi;
    eq_qh_masks(qh, &hlo, &hhi);
    const v128_t q = wasm_v128_load(qs), b4 = wasm_i8x16_splat(0x10), s = wasm_i8x16_splat((int8_t)sub);
    const v128_t lo = wasm_i8x16_sub(wasm_v128_or(wasm_v128_and(q, wasm_i8x16_splat(0x0F)), wasm_v128_and(hlo, b4)), s);
    const v128_t hi = wasm_i8x16_sub(wasm_v128_or(wasm_u8x16_shr(q, 4), wasm_v128_and(hhi, b4)), s);
    return eq_block_dot_small(lo, hi, q8);
}

static inline v128_t eq_blk_q8_0(const block_q8_0 *x, const block_q8_0 *y) {
    /* Full int8 range: two products can reach 32768, so widen each product vector alone. */
    const v128_t x0 = wasm_v128_load(x->qs), x1 = wasm_v128_load(x->qs + 16);
    const v128_t y0 = wasm_v128_load(y->qs), y1 = wasm_v128_load(y->qs + 16);
    v128_t p = wasm_i32x4_add(wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_low_i8x16(x0, y0)),
                              wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_high_i8x16(x0, y0)));
    p = wasm_i32x4_add(p, wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_low_i8x16(x1, y1)));
    return wasm_i32x4_add(p, wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extmul_high_i8x16(x1, y1)));
}

/* The loop shared by the legacy kernels. BLK(i) is block i's int32 partials; x and y must
 * be the block arrays; WITH_MIN adds m_x * s_y per block (Q4_1/Q5_1). */
#define EQ_LEGACY_DOT(BLK, WITH_MIN)                                                           \
    do {                                                                                       \
        v128_t acc = wasm_f32x4_splat(0.0f), accm = wasm_f32x4_splat(0.0f);                    \
        int ib = 0;                                                                            \
        for (; ib + 4 <= nb; ib += 4) {                                                        \
            const v128_t p = eq_hsum4_i32(BLK(ib), BLK(ib + 1), BLK(ib + 2), BLK(ib + 3));     \
            const v128_t d = wasm_f32x4_mul(eq_h2f_strided(&x[ib].d, sizeof x[0]),             \
                                            eq_h2f_strided(&y[ib].d, sizeof y[0]));            \
            acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(p), d));         \
            if (WITH_MIN) /* m * d_y * sum(q_y), the quantizer stored d_y * sum(q_y) as s */    \
                accm = wasm_f32x4_add(accm, wasm_f32x4_mul(eq_h2f_strided(&x[ib].d + 1, sizeof x[0]), \
                                                           eq_h2f_strided(&y[ib].d + 1, sizeof y[0]))); \
        }                                                                                      \
        float sum = eq_hsum_f32(wasm_f32x4_add(acc, accm));                                   \
        for (; ib < nb; ++ib) {                                                                \
            const float d = eq_fp16_to_fp32(x[ib].d) * eq_fp16_to_fp32(y[ib].d);               \
            sum += d * (float)eq_hsum_i32(BLK(ib));                                            \
            if (WITH_MIN) sum += eq_fp16_to_fp32((&x[ib].d)[1]) * eq_fp16_to_fp32((&y[ib].d)[1]); \
        }                                                                                      \
        *s = sum;                                                                              \
    } while (0)

void eq_vec_dot_q4_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
#define BLK(i) eq_blk_q4_0(&x[i], &y[i])
    EQ_LEGACY_DOT(BLK, 0);
#undef BLK
}

void eq_vec_dot_q4_1_q8_1_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    const int nb = n / EQ_QK;
#define BLK(i) eq_blk_q4_1(&x[i], &y[i])
    EQ_LEGACY_DOT(BLK, 1);
#undef BLK
}

void eq_vec_dot_q5_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
#define BLK(i) eq_blk_q5(x[i].qs, x[i].qh, y[i].qs, 16)
    EQ_LEGACY_DOT(BLK, 0);
#undef BLK
}

void eq_vec_dot_q5_1_q8_1_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    const int nb = n / EQ_QK;
#define BLK(i) eq_blk_q5(x[i].qs, x[i].qh, y[i].qs, 0)
    EQ_LEGACY_DOT(BLK, 1);
#undef BLK
}

void eq_vec_dot_q8_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx;
    const block_q8_0 *y = vy;
    const int nb = n / EQ_QK;
#define BLK(i) eq_blk_q8_0(&x[i], &y[i])
    EQ_LEGACY_DOT(BLK, 0);
#undef BLK
}

/* ---- K formats: 256-value super-blocks ---- */

/* scale * (sum over a 16-value sub-block of x*y), as four int32 partials; |x| <= 64. */
static inline v128_t eq_sub16(v128_t q, const int8_t *q8, int scale) {
    return wasm_i32x4_dot_i16x8(eq_mul_i8(q, wasm_v128_load(q8)), wasm_i16x8_splat((int16_t)scale));
}

void eq_vec_dot_q2_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const v128_t m3 = wasm_i8x16_splat(3);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float dall = y[i].d * eq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * eq_fp16_to_fp32(x[i].dmin);
        const uint8_t *sc = x[i].scales;

        /* Mins (high nibbles of the scales) dotted with the per-16 sums of y. */
        const v128_t mn = wasm_u8x16_shr(wasm_v128_load(sc), 4);
        const v128_t ms = wasm_i32x4_add(
            wasm_i32x4_dot_i16x8(wasm_v128_load(y[i].bsums), wasm_u16x8_extend_low_u8x16(mn)),
            wasm_i32x4_dot_i16x8(wasm_v128_load(y[i].bsums + 8), wasm_u16x8_extend_high_u8x16(mn)));
        const int summs = eq_hsum_i32(ms);

        /* Value 128k + 32j + l is bits 2j..2j+1 of qs[32k + l]; sub-block = 8k + 2j + (l >= 16). */
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        for (int k = 0; k < 2; ++k, q2 += 32) {
            const v128_t qa = wasm_v128_load(q2), qb = wasm_v128_load(q2 + 16);
            for (int j = 0; j < 4; ++j, q8 += 32, sc += 2) {
                const v128_t va = wasm_v128_and(wasm_u8x16_shr(qa, 2 * j), m3);
                const v128_t vb = wasm_v128_and(wasm_u8x16_shr(qb, 2 * j), m3);
                isum = wasm_i32x4_add(isum, eq_sub16(va, q8, sc[0] & 0xF));
                isum = wasm_i32x4_add(isum, eq_sub16(vb, q8 + 16, sc[1] & 0xF));
            }
        }
        sumf += dall * (float)eq_hsum_i32(isum) - dmin * (float)summs;
    }
    *s = sumf;
}

void eq_vec_dot_q3_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    const v128_t m3 = wasm_i8x16_splat(3), v4 = wasm_i8x16_splat(4), zero = wasm_i32x4_splat(0);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_fp16_to_fp32(x[i].d);

        /* Sixteen 6-bit scales: low 4 bits in bytes 0-7, high 2 bits packed in bytes 8-11. */
        uint32_t aux[4];
        memcpy(aux, x[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        const int8_t *sc = (const int8_t *)aux;

        /* Value 128k + 32j + l: 2 low bits from qs[32k + l] >> 2j; hmask[l] bit 4k+j clear
         * means subtract 4. Weights -4..3. Sub-block = 8k + 2j + (l >= 16). */
        const v128_t hm0 = wasm_v128_load(x[i].hmask), hm1 = wasm_v128_load(x[i].hmask + 16);
        const uint8_t *q3 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        for (int k = 0; k < 2; ++k, q3 += 32) {
            const v128_t qa = wasm_v128_load(q3), qb = wasm_v128_load(q3 + 16);
            for (int j = 0; j < 4; ++j, q8 += 32, sc += 2) {
                const v128_t bit = wasm_i8x16_splat((int8_t)(1u << (4 * k + j)));
                const v128_t na = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hm0, bit), zero), v4);
                const v128_t nb4 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hm1, bit), zero), v4);
                const v128_t va = wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(qa, 2 * j), m3), na);
                const v128_t vb = wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(qb, 2 * j), m3), nb4);
                isum = wasm_i32x4_add(isum, eq_sub16(va, q8, sc[0] - 32));
                isum = wasm_i32x4_add(isum, eq_sub16(vb, q8 + 16, sc[1] - 32));
            }
        }
        sumf += d * (float)eq_hsum_i32(isum);
    }
    *s = sumf;
}


/* sum_j bsums[j] * mins[j/2], in 32 bits whatever the bsums hold. */
static inline int eq_k4_minsum(const int16_t bsums[16], const uint8_t mn[8]) {
    const v128_t m = wasm_v128_load64_zero(mn);
    const v128_t dup = wasm_i8x16_swizzle(m, wasm_u8x16_make(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    const v128_t a = wasm_i32x4_dot_i16x8(wasm_v128_load(bsums), wasm_u16x8_extend_low_u8x16(dup));
    const v128_t b = wasm_i32x4_dot_i16x8(wasm_v128_load(bsums + 8), wasm_u16x8_extend_high_u8x16(dup));
    return eq_hsum_i32(wasm_i32x4_add(a, b));
}

/* scale * (sum over a 32-value sub-block of x*y), as four int32 partials; 0 <= x <= 31, so
 * the 16-bit partial per lane stays below 4*31*128 = 15872. */
static inline v128_t eq_sub32(v128_t qa, v128_t qb, const int8_t *q8, int scale) {
    const v128_t p = wasm_i16x8_add(eq_mul_i8(qa, wasm_v128_load(q8)), eq_mul_i8(qb, wasm_v128_load(q8 + 16)));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat((int16_t)scale));
}

void eq_vec_dot_q4_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i8x16_splat(0x0F);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        const int summ = eq_k4_minsum(y[i].bsums, mn);

        /* Chunk j of 64 values: low nibbles of qs[32j..32j+31] are sub-block 2j, high 2j+1. */
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64) {
            const v128_t qa = wasm_v128_load(q4), qb = wasm_v128_load(q4 + 16);
            isum = wasm_i32x4_add(isum, eq_sub32(wasm_v128_and(qa, m4), wasm_v128_and(qb, m4), q8, sc[2 * j]));
            isum = wasm_i32x4_add(isum, eq_sub32(wasm_u8x16_shr(qa, 4), wasm_u8x16_shr(qb, 4), q8 + 32, sc[2 * j + 1]));
        }
        sumf += d * (float)eq_hsum_i32(isum) - dmin * (float)summ;
    }
    *s = sumf;
}

void eq_vec_dot_q5_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i8x16_splat(0x0F), b4 = wasm_i8x16_splat(0x10);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        const int summ = eq_k4_minsum(y[i].bsums, mn);

        /* As Q4_K, plus a fifth bit: qh[l] bit b (b = sub-block) adds 16 to value l of it.
         * Each chunk j moves bits 2j and 2j+1 of qh to bit 4 with a constant shift. */
        const v128_t g0 = wasm_v128_load(x[i].qh), g1 = wasm_v128_load(x[i].qh + 16);
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64) {
            v128_t la, lb, ha, hb;
            if (j == 0) {
                la = wasm_i8x16_shl(g0, 4); lb = wasm_i8x16_shl(g1, 4);
                ha = wasm_i8x16_shl(g0, 3); hb = wasm_i8x16_shl(g1, 3);
            } else if (j == 1) {
                la = wasm_i8x16_shl(g0, 2); lb = wasm_i8x16_shl(g1, 2);
                ha = wasm_i8x16_shl(g0, 1); hb = wasm_i8x16_shl(g1, 1);
            } else {
                la = wasm_u8x16_shr(g0, 2 * j - 4); lb = wasm_u8x16_shr(g1, 2 * j - 4);
                ha = wasm_u8x16_shr(g0, 2 * j - 3); hb = wasm_u8x16_shr(g1, 2 * j - 3);
            }
            const v128_t qa = wasm_v128_load(q4), qb = wasm_v128_load(q4 + 16);
            const v128_t xa = wasm_v128_or(wasm_v128_and(qa, m4), wasm_v128_and(la, b4));
            const v128_t xb = wasm_v128_or(wasm_v128_and(qb, m4), wasm_v128_and(lb, b4));
            const v128_t ya = wasm_v128_or(wasm_u8x16_shr(qa, 4), wasm_v128_and(ha, b4));
            const v128_t yb = wasm_v128_or(wasm_u8x16_shr(qb, 4), wasm_v128_and(hb, b4));
            isum = wasm_i32x4_add(isum, eq_sub32(xa, xb, q8, sc[2 * j]));
            isum = wasm_i32x4_add(isum, eq_sub32(ya, yb, q8 + 32, sc[2 * j + 1]));
        }
        sumf += d * (float)eq_hsum_i32(isum) - dmin * (float)summ;
    }
    *s = sumf;
}

void eq_vec_dot_q6_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i8x16_splat(0x0F), m30 = wasm_i8x16_splat(0x30), s32 = wasm_i8x16_splat(32);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_fp16_to_fp32(x[i].d);
        const int8_t *sc = x[i].scales;

        /* Half c (128 values): value 32r + l (r = 0..3, l = 0..31) is the low (r < 2) or high
         * nibble of ql[64c + 32(r&1) + l], with bits 2r..2r+1 of qh[32c + l] as bits 4..5,
         * minus 32: weights -32..31. Sub-blocks of 16 go in order. */
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        for (int c = 0; c < 2; ++c, ql += 64, qh += 32) {
            const v128_t l0 = wasm_v128_load(ql), l1 = wasm_v128_load(ql + 16);
            const v128_t l2 = wasm_v128_load(ql + 32), l3 = wasm_v128_load(ql + 48);
            const v128_t h0 = wasm_v128_load(qh), h1 = wasm_v128_load(qh + 16);
            const v128_t hs0[4] = {wasm_i8x16_shl(h0, 4), wasm_i8x16_shl(h0, 2), h0, wasm_u8x16_shr(h0, 2)};
            const v128_t hs1[4] = {wasm_i8x16_shl(h1, 4), wasm_i8x16_shl(h1, 2), h1, wasm_u8x16_shr(h1, 2)};
            for (int r = 0; r < 4; ++r, q8 += 32, sc += 2) {
                const v128_t a = (r & 1) ? l2 : l0, b = (r & 1) ? l3 : l1;
                const v128_t na = r >= 2 ? wasm_u8x16_shr(a, 4) : wasm_v128_and(a, m4);
                const v128_t nb2 = r >= 2 ? wasm_u8x16_shr(b, 4) : wasm_v128_and(b, m4);
                const v128_t va = wasm_i8x16_sub(wasm_v128_or(na, wasm_v128_and(hs0[r], m30)), s32);
                const v128_t vb = wasm_i8x16_sub(wasm_v128_or(nb2, wasm_v128_and(hs1[r], m30)), s32);
                isum = wasm_i32x4_add(isum, eq_sub16(va, q8, sc[0]));
                isum = wasm_i32x4_add(isum, eq_sub16(vb, q8 + 16, sc[1]));
            }
        }
        sumf += d * (float)eq_hsum_i32(isum);
    }
    *s = sumf;
}

/* ---- float formats ---- */

void eq_vec_dot_f32_f32_wasm(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x + i + 4), wasm_v128_load(y + i + 4)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x + i + 8), wasm_v128_load(y + i + 8)));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x + i + 12), wasm_v128_load(y + i + 12)));
    }
    for (; i + 4 <= n; i += 4) a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)));
    float sum = eq_hsum_f32(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)));
    for (; i < n; ++i) sum += x[i] * y[i];
    *s = sum;
}

void eq_vec_dot_bf16_bf16_wasm(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        /* bf16 is the top half of an f32: interleaving a zero below each value widens it. */
        const v128_t hx = wasm_v128_load(x + i), hy = wasm_v128_load(y + i), z = wasm_i16x8_splat(0);
        const v128_t xl = wasm_i16x8_shuffle(z, hx, 0, 8, 1, 9, 2, 10, 3, 11);
        const v128_t xh = wasm_i16x8_shuffle(z, hx, 4, 12, 5, 13, 6, 14, 7, 15);
        const v128_t yl = wasm_i16x8_shuffle(z, hy, 0, 8, 1, 9, 2, 10, 3, 11);
        const v128_t yh = wasm_i16x8_shuffle(z, hy, 4, 12, 5, 13, 6, 14, 7, 15);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xl, yl));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xh, yh));
    }
    float sum = eq_hsum_f32(wasm_f32x4_add(a0, a1));
    for (; i < n; ++i) sum += eq_bf16_to_fp32(x[i]) * eq_bf16_to_fp32(y[i]);
    *s = sum;
}

void eq_to_float_bf16_wasm(const void *vx, float *y, int64_t k) {
    const uint16_t *x = vx;
    const v128_t z = wasm_i16x8_splat(0);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        const v128_t h = wasm_v128_load(x + i);
        wasm_v128_store(y + i, wasm_i16x8_shuffle(z, h, 0, 8, 1, 9, 2, 10, 3, 11));
        wasm_v128_store(y + i + 4, wasm_i16x8_shuffle(z, h, 4, 12, 5, 13, 6, 14, 7, 15));
    }
    for (; i < k; ++i) y[i] = eq_bf16_to_fp32(x[i]); /* exact either way */
}

/* ---- activation quantizers (bit-identical to the refs) ---- */

/* roundf: round half away from zero. SIMD128 only rounds half to even, so take trunc and
 * step away from zero when the (exact) remainder is at least one half. */
static inline v128_t eq_round_away(v128_t v) {
    const v128_t t = wasm_f32x4_trunc(v);
    const v128_t frac = wasm_f32x4_abs(wasm_f32x4_sub(v, t));
    const v128_t one = wasm_v128_or(wasm_v128_and(v, wasm_i32x4_splat((int32_t)0x80000000u)), wasm_f32x4_splat(1.0f));
    return wasm_f32x4_add(t, wasm_v128_and(wasm_f32x4_ge(frac, wasm_f32x4_splat(0.5f)), one));
}

/* Round half to even to int32 for |v| < 2^22, the way the ref's round_even does: adding
 * 1.5*2^23 leaves the integer in the low mantissa bits. Much cheaper in V8 than
 * f32x4.nearest + i32x4.trunc_sat_f32x4, and bit-identical to the ref by construction. */
static inline v128_t eq_round_even_i32(v128_t v) {
    return wasm_i32x4_sub(wasm_f32x4_add(v, wasm_f32x4_splat(12582912.0f)), wasm_i32x4_splat(0x4B400000));
}

/* Eight i32x4 -> 32 saturated int8. */
static inline void eq_store_i8x32(const v128_t v[8], int8_t *qs) {
    for (int j = 0; j < 2; ++j) {
        const v128_t a = wasm_i16x8_narrow_i32x4(v[4 * j], v[4 * j + 1]);
        const v128_t b = wasm_i16x8_narrow_i32x4(v[4 * j + 2], v[4 * j + 3]);
        wasm_v128_store(qs + 16 * j, wasm_i8x16_narrow_i16x8(a, b));
    }
}

/* pmax/pmin (a < b ? b : a) map to one x86 maxps/minps in V8, unlike f32x4.max/min with
 * their NaN rules; for the finite inputs the quantizers are defined on they agree. */
static inline float eq_absmax32(const float *x) {
    v128_t m = wasm_f32x4_abs(wasm_v128_load(x));
    for (int j = 1; j < 8; ++j) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + 4 * j)));
    const float a = fmaxf(wasm_f32x4_extract_lane(m, 0), wasm_f32x4_extract_lane(m, 1));
    const float b = fmaxf(wasm_f32x4_extract_lane(m, 2), wasm_f32x4_extract_lane(m, 3));
    return fmaxf(a, b);
}

static inline void eq_q8_block(const float *x, float id, int8_t *qs, int *sum) {
    const v128_t vid = wasm_f32x4_splat(id);
    v128_t v[8];
    for (int j = 0; j < 8; ++j)
        /* The rounded value is integral and at most 127.x in magnitude: the cheap exact
         * float->int applies. */
        v[j] = eq_round_even_i32(eq_round_away(wasm_f32x4_mul(wasm_v128_load(x + 4 * j), vid)));
    eq_store_i8x32(v, qs);
    if (sum) {
        v128_t t = wasm_i32x4_add(wasm_i32x4_add(v[0], v[1]), wasm_i32x4_add(v[2], v[3]));
        t = wasm_i32x4_add(t, wasm_i32x4_add(wasm_i32x4_add(v[4], v[5]), wasm_i32x4_add(v[6], v[7])));
        *sum = eq_hsum_i32(t);
    }
}

void eq_from_float_q8_0_wasm(const float *x, void *vy, int64_t k) {
    block_q8_0 *y = vy;
    const int64_t nb = k / EQ_QK;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK) {
        const float d = eq_absmax32(x) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        eq_q8_block(x, id, y[i].qs, NULL);
    }
}

void eq_from_float_q8_1_wasm(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    const int64_t nb = k / EQ_QK;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK) {
        const float d = eq_absmax32(x) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum;
        y[i].d = eq_fp32_to_fp16(d);
        eq_q8_block(x, id, y[i].qs, &sum);
        y[i].s = eq_fp32_to_fp16((float)sum * d);
    }
}

void eq_from_float_q8_K_wasm(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    const int64_t nb = k / EQ_QK_K;
    for (int64_t i = 0; i < nb; ++i, x += EQ_QK_K) {
        v128_t vmax = wasm_v128_load(x), vmin = vmax;
        for (int j = 4; j < EQ_QK_K; j += 4) {
            const v128_t v = wasm_v128_load(x + j);
            vmax = wasm_f32x4_pmax(vmax, v);
            vmin = wasm_f32x4_pmin(vmin, v);
        }
        const float hi = fmaxf(fmaxf(wasm_f32x4_extract_lane(vmax, 0), wasm_f32x4_extract_lane(vmax, 1)),
                               fmaxf(wasm_f32x4_extract_lane(vmax, 2), wasm_f32x4_extract_lane(vmax, 3)));
        const float lo = fminf(fminf(wasm_f32x4_extract_lane(vmin, 0), wasm_f32x4_extract_lane(vmin, 1)),
                               fminf(wasm_f32x4_extract_lane(vmin, 2), wasm_f32x4_extract_lane(vmin, 3)));
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
        const v128_t vs = wasm_f32x4_splat(iscale), c127 = wasm_i32x4_splat(127);
        for (int j = 0; j < EQ_QK_K; j += 32) {
            v128_t v[8];
            /* |iscale * x| <= 127: round as the ref does, then clamp to 127 as it does. */
            for (int t = 0; t < 8; ++t)
                v[t] = wasm_i32x4_min(eq_round_even_i32(wasm_f32x4_mul(wasm_v128_load(x + j + 4 * t), vs)), c127);
            eq_store_i8x32(v, y[i].qs + j);
            const v128_t s0 = wasm_i32x4_add(wasm_i32x4_add(v[0], v[1]), wasm_i32x4_add(v[2], v[3]));
            const v128_t s1 = wasm_i32x4_add(wasm_i32x4_add(v[4], v[5]), wasm_i32x4_add(v[6], v[7]));
            y[i].bsums[j / 16] = (int16_t)eq_hsum_i32(s0);
            y[i].bsums[j / 16 + 1] = (int16_t)eq_hsum_i32(s1);
        }
        y[i].d = 1.0f / iscale;
    }
}

#else
typedef int eq_quants_wasm_unused; /* ISO C wants a declaration in every translation unit. */
#endif
