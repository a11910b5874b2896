/* WASM SIMD128 kernels: vec_dot for the legacy and K formats (one activation row, and four
 * at once for prompt processing: eq_vec_dot_x4_*), F32/F16/BF16 dot, the attention's F16/F32
 * multiply-adds, and the Q8 activation quantizers. Same signatures as the scalar refs in
 * quant/kernels.h.
 *
 * SIMD128 has no 8-bit multiply; its only widening multiply-add is i32x4.dot_i16x8
 * (pmaddwd), so codes and activations are taken to 16-bit lanes (or multiplied with the
 * widening i16x8.extmul and summed in 16 bits while that cannot overflow) and widened to
 * 32 bits by a dot, against the sub-block scale where there is one. Integer sums are exact;
 * only the float summation order differs from the refs. The 4-token kernels give exactly
 * the floats of four 1-token calls. The quantizers reproduce the refs bit for bit.
 *
 * Written for what V8 and Cranelift make of it on x64 (16 vector registers, shifts on fewer
 * ports than logic ops): loops over blocks are kept rolled where unrolling lets V8
 * interleave iterations and spill. */
#include "quant/kernels.h"
#include "quant/blocks.h"
#include "quant/repack.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#include <math.h>
#include <string.h>
#include "ops/exp_f64.h"

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
 * The codes are taken to 16-bit lanes by masks and shifts on the block viewed as i16x8:
 * lane k of a 16-byte vector holds bytes 2k and 2k+1, which separate without any shuffle.
 * A block then is four i16x8 vectors (values 2k, 2k+1, 16+2k and 17+2k in lane k), the
 * activation bytes are split the same way, and four dots give the block's sum in int32
 * lanes. Scales are loaded and converted four blocks at a time (scalar f16 conversions
 * would cost as much as the integer work). The 4-token kernels decode a weight block once
 * and run the 1-token kernel's per-block float operations, in the same order, per token. */

/* A block's 32 weight codes in 16-bit lanes: e0 and e1 hold values 2k and 16+2k (k = lane),
 * o0 and o1 256 times values 2k+1 and 17+2k. The factor 256 is what a mask leaves of an odd
 * byte in place; the activations get the same factor on their even bytes (a shift up), so
 * every product is 256 x y and no arithmetic shift is needed to sign-extend a byte. Shifts
 * run on fewer ports than logic ops, and without this they would be a third of the work. */
typedef struct { v128_t e0, o0, e1, o1; } eq_xq;

/* Signed bytes to 16-bit lanes: even bytes (shifted up and back down) and odd bytes. */
#define EQ_EVEN_I8(v) wasm_i16x8_shr(wasm_i16x8_shl((v), 8), 8)
#define EQ_ODD_I8(v) wasm_i16x8_shr((v), 8)

/* Q4_1 codes 0..15: byte 2k holds values 2k (low nibble) and 16+2k (high), byte 2k+1 values
 * 2k+1 and 17+2k. */
static inline eq_xq eq_dec_q4_1(const uint8_t *qs) {
    const v128_t q = wasm_v128_load(qs), q4 = wasm_u16x8_shr(q, 4);
    const v128_t me = wasm_i16x8_splat(0x000F), mo = wasm_i16x8_splat(0x0F00);
    eq_xq r = {wasm_v128_and(q, me), wasm_v128_and(q, mo), wasm_v128_and(q4, me), wasm_v128_and(q4, mo)};
    return r;
}

/* Q4_0: the Q4_1 codes minus 8. */
static inline eq_xq eq_dec_q4_0(const uint8_t *qs) {
    eq_xq r = eq_dec_q4_1(qs);
    const v128_t e8 = wasm_i16x8_splat(8), o8 = wasm_i16x8_splat(8 * 256);
    r.e0 = wasm_i16x8_sub(r.e0, e8); r.o0 = wasm_i16x8_sub(r.o0, o8);
    r.e1 = wasm_i16x8_sub(r.e1, e8); r.o1 = wasm_i16x8_sub(r.o1, o8);
    return r;
}

/* Signed code bytes a (values 0..15) and b (16..31). */
static inline eq_xq eq_dec_i8(v128_t a, v128_t b) {
    const v128_t mo = wasm_i16x8_splat((int16_t)0xFF00);
    eq_xq r = {EQ_EVEN_I8(a), wasm_v128_and(a, mo), EQ_EVEN_I8(b), wasm_v128_and(b, mo)};
    return r;
}

static inline eq_xq eq_dec_q8_0(const int8_t *qs) { return eq_dec_i8(wasm_v128_load(qs), wasm_v128_load(qs + 16)); }

/* Q5: nibble | fifth bit << 4 as bytes (the qh bits spread to byte masks by one swizzle
 * per half), minus 16 for Q5_0 (sub = 1). */
static inline eq_xq eq_dec_q5(const uint8_t *qs, const uint8_t *qh, int sub) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const v128_t v = wasm_i32x4_splat((int32_t)h);
    const v128_t bits = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const v128_t hlo = wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(v, wasm_u8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)), bits), bits);
    const v128_t hhi = wasm_i8x16_eq(wasm_v128_and(wasm_i8x16_swizzle(v, wasm_u8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)), bits), bits);
    const v128_t q = wasm_v128_load(qs), b4 = wasm_i8x16_splat(0x10);
    v128_t lo = wasm_v128_or(wasm_v128_and(q, wasm_i8x16_splat(0x0F)), wasm_v128_and(hlo, b4));
    v128_t hi = wasm_v128_or(wasm_u8x16_shr(q, 4), wasm_v128_and(hhi, b4));
    if (sub) return eq_dec_i8(wasm_i8x16_sub(lo, b4), wasm_i8x16_sub(hi, b4));
    /* Q5_1: 0..31, no sign to extend */
    const v128_t me = wasm_i16x8_splat(0x00FF), mo = wasm_i16x8_splat((int16_t)0xFF00);
    eq_xq r = {wasm_v128_and(lo, me), wasm_v128_and(lo, mo), wasm_v128_and(hi, me), wasm_v128_and(hi, mo)};
    return r;
}

/* 256 * sum(x * y) over a block, in four int32 lanes: |x| <= 128, |y| <= 127, so each dot
 * lane is at most 2 * 128 * 127 * 256 and the four add up without overflow. */
static inline v128_t eq_dot_xq(const eq_xq *x, const int8_t *y) {
    const v128_t y0 = wasm_v128_load(y), y1 = wasm_v128_load(y + 16);
    const v128_t a = wasm_i32x4_add(wasm_i32x4_dot_i16x8(x->e0, wasm_i16x8_shl(y0, 8)), wasm_i32x4_dot_i16x8(x->o0, EQ_ODD_I8(y0)));
    const v128_t b = wasm_i32x4_add(wasm_i32x4_dot_i16x8(x->e1, wasm_i16x8_shl(y1, 8)), wasm_i32x4_dot_i16x8(x->o1, EQ_ODD_I8(y1)));
    return wasm_i32x4_add(a, b);
}

/* The f16 in the high half of each 32-bit lane to f32, exactly for every finite value: an
 * arithmetic shift by 3 leaves the sign at bit 31 and puts exponent and mantissa at bits
 * 13..27 (the mask drops the sign copies and the low half), where scaling by 2^112 rebiases
 * the exponent of normals and normalizes subnormals. inf/NaN would come out finite: the
 * kernels check for them separately (eq_nonfinite_acc). A power-of-two scale folds into
 * that multiply exactly. */
static inline v128_t eq_h2f_hi_scaled(v128_t v, float scale) {
    return wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(v, 3), wasm_i32x4_splat((int32_t)0x8FFFE000u)),
                          wasm_f32x4_splat(0x1p112f * scale));
}
static inline v128_t eq_h2f_hi(v128_t v) { return eq_h2f_hi_scaled(v, 1.0f); }
static inline v128_t eq_h2f_lo(v128_t v) { return eq_h2f_hi(wasm_i32x4_shl(v, 16)); }

/* Tracks the largest f16 magnitude seen (per 16-bit lane); exponent 31 means inf or NaN. A
 * row with such a scale is left to the scalar reference, which propagates it exactly. */
static inline v128_t eq_nonfinite_acc(v128_t acc, v128_t h, int both) {
    return wasm_u16x8_max(acc, wasm_v128_and(h, wasm_i32x4_splat(both ? 0x7FFF7FFF : 0x7FFF)));
}
static inline int eq_nonfinite(v128_t acc) { return wasm_v128_any_true(wasm_u16x8_ge(acc, wasm_i16x8_splat(0x7C00))); }

/* The 32 bits at p + t * stride in lane t, for t < r (r <= 4); zero in the other lanes. Every
 * legacy block starts with d and then m or s: one load takes both f16. */
static inline v128_t eq_gather32(const void *p, size_t stride, int r) {
    const uint8_t *b = p;
    v128_t v = wasm_v128_load32_zero(b);
    if (r > 1) v = wasm_v128_load32_lane(b + stride, v, 1);
    if (r > 2) v = wasm_v128_load32_lane(b + 2 * stride, v, 2);
    if (r > 3) v = wasm_v128_load32_lane(b + 3 * stride, v, 3);
    return v;
}

/* One weight row against one activation row (T = 1) or four (T = 4; y_t = y + t * by), into
 * s[t * bs]. DEC decodes a weight block. Blocks go in groups of four: the scales of a group
 * are loaded and converted together (lane k: block k), then each block's int32 lanes are
 * converted and multiply-added with its d_x * d_y; the affine formats add m_x * s_y per
 * block (s = d_y * sum(q_y), stored by the quantizer) in a second accumulator. Per token the
 * operations are the same for T = 1 and T = 4.
 * The loop over the blocks of a group is kept rolled on purpose: unrolled, V8 interleaves
 * the four blocks and spills most of the registers (x64 has 16).
 * REF is the scalar kernel for non-finite scales; ONE the 1-token kernel the 4-token one
 * falls back to for such a token. */
#define EQ_LEGACY_KERNEL(XT, YT, DEC, WITH_MIN, T, REF, ONE)                                    \
    const XT *x = vx;                                                                           \
    /* eq_dot_xq gives 256 times the block sums: exact in float below 2^24, when the 1/256     \
     * can go into d_x (into the f16 conversion); otherwise it is shifted out of the ints */   \
    const int fold = EQ_SUM_BITS(DEC) <= 24;                                                    \
    const int nb = n / EQ_QK;                                                                   \
    v128_t acc[T], accm[T], fy[T], fx = wasm_i32x4_splat(0);                                    \
    float dxy[T][4];                                                                            \
    for (int t = 0; t < T; ++t) acc[t] = accm[t] = fy[t] = wasm_f32x4_splat(0.0f);              \
    for (int ib = 0; ib < nb; ib += 4) {                                                        \
        const int r = nb - ib < 4 ? nb - ib : 4;                                                \
        const v128_t sx = eq_gather32(&x[ib].d, sizeof(XT), r);                                 \
        fx = eq_nonfinite_acc(fx, sx, WITH_MIN);                                                \
        const v128_t dx = eq_h2f_hi_scaled(wasm_i32x4_shl(sx, 16), fold ? 0x1p-8f : 1.0f);       \
        for (int t = 0; t < T; ++t) {                                                           \
            const YT *y = (const YT *)((const char *)vy + t * by);                              \
            const v128_t sy = eq_gather32(&y[ib].d, sizeof(YT), r);                             \
            fy[t] = eq_nonfinite_acc(fy[t], sy, WITH_MIN);                                      \
            wasm_v128_store(dxy[t], wasm_f32x4_mul(dx, eq_h2f_lo(sy)));                         \
            if (WITH_MIN) accm[t] = wasm_f32x4_add(accm[t], wasm_f32x4_mul(eq_h2f_hi(sx), eq_h2f_hi(sy))); \
        }                                                                                       \
        _Pragma("clang loop unroll(disable)")                                                   \
        for (int k = 0; k < r; ++k) {                                                           \
            const eq_xq xq = DEC(&x[ib + k]);                                                   \
            for (int t = 0; t < T; ++t) {                                                       \
                const YT *y = (const YT *)((const char *)vy + t * by);                          \
                const v128_t p256 = eq_dot_xq(&xq, y[ib + k].qs);                               \
                const v128_t p = wasm_f32x4_convert_i32x4(fold ? p256 : wasm_i32x4_shr(p256, 8)); \
                acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_mul(p, wasm_v128_load32_splat(&dxy[t][k]))); \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int t = 0; t < T; ++t) {                                                               \
        const void *yt = (const char *)vy + t * by;                                             \
        if (eq_nonfinite(wasm_u16x8_max(fx, fy[t])))                                            \
            (T == 1 ? REF : ONE)(n, &s[t * bs], vx, yt);                                        \
        else                                                                                    \
            s[t * bs] = eq_hsum_f32(wasm_f32x4_add(acc[t], accm[t]));                           \
    }

/* Bits of 256 * |block sum| at most: 256 * 32 * max|x| * 127. */
#define EQ_SUM_BITS(DEC) EQ_SUM_BITS_##DEC
#define EQ_SUM_BITS_DEC_Q4_0 24 /* 8.3e6 */
#define EQ_SUM_BITS_DEC_Q4_1 24 /* 15.6e6 */
#define EQ_SUM_BITS_DEC_Q5_0 24 /* 16.6e6 < 2^24 = 16.8e6 */
#define EQ_SUM_BITS_DEC_Q5_1 25
#define EQ_SUM_BITS_DEC_Q8_0 28
#define DEC_Q4_0(b) eq_dec_q4_0((b)->qs)
#define DEC_Q4_1(b) eq_dec_q4_1((b)->qs)
#define DEC_Q5_0(b) eq_dec_q5((b)->qs, (b)->qh, 1)
#define DEC_Q5_1(b) eq_dec_q5((b)->qs, (b)->qh, 0)
#define DEC_Q8_0(b) eq_dec_q8_0((b)->qs)

void eq_vec_dot_q4_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const size_t bs = 0, by = 0;
    EQ_LEGACY_KERNEL(block_q4_0, block_q8_0, DEC_Q4_0, 0, 1, eq_vec_dot_q4_0_q8_0_ref, eq_vec_dot_q4_0_q8_0_wasm)
}
void eq_vec_dot_x4_q4_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    EQ_LEGACY_KERNEL(block_q4_0, block_q8_0, DEC_Q4_0, 0, 4, eq_vec_dot_q4_0_q8_0_ref, eq_vec_dot_q4_0_q8_0_wasm)
}

void eq_vec_dot_q4_1_q8_1_wasm(int n, float *s, const void *vx, const void *vy) {
    const size_t bs = 0, by = 0;
    EQ_LEGACY_KERNEL(block_q4_1, block_q8_1, DEC_Q4_1, 1, 1, eq_vec_dot_q4_1_q8_1_ref, eq_vec_dot_q4_1_q8_1_wasm)
}
void eq_vec_dot_x4_q4_1_q8_1_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    EQ_LEGACY_KERNEL(block_q4_1, block_q8_1, DEC_Q4_1, 1, 4, eq_vec_dot_q4_1_q8_1_ref, eq_vec_dot_q4_1_q8_1_wasm)
}

void eq_vec_dot_q5_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const size_t bs = 0, by = 0;
    EQ_LEGACY_KERNEL(block_q5_0, block_q8_0, DEC_Q5_0, 0, 1, eq_vec_dot_q5_0_q8_0_ref, eq_vec_dot_q5_0_q8_0_wasm)
}
void eq_vec_dot_x4_q5_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    EQ_LEGACY_KERNEL(block_q5_0, block_q8_0, DEC_Q5_0, 0, 4, eq_vec_dot_q5_0_q8_0_ref, eq_vec_dot_q5_0_q8_0_wasm)
}

void eq_vec_dot_q5_1_q8_1_wasm(int n, float *s, const void *vx, const void *vy) {
    const size_t bs = 0, by = 0;
    EQ_LEGACY_KERNEL(block_q5_1, block_q8_1, DEC_Q5_1, 1, 1, eq_vec_dot_q5_1_q8_1_ref, eq_vec_dot_q5_1_q8_1_wasm)
}
void eq_vec_dot_x4_q5_1_q8_1_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    EQ_LEGACY_KERNEL(block_q5_1, block_q8_1, DEC_Q5_1, 1, 4, eq_vec_dot_q5_1_q8_1_ref, eq_vec_dot_q5_1_q8_1_wasm)
}

void eq_vec_dot_q8_0_q8_0_wasm(int n, float *s, const void *vx, const void *vy) {
    const size_t bs = 0, by = 0;
    EQ_LEGACY_KERNEL(block_q8_0, block_q8_0, DEC_Q8_0, 0, 1, eq_vec_dot_q8_0_q8_0_ref, eq_vec_dot_q8_0_q8_0_wasm)
}
void eq_vec_dot_x4_q8_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    EQ_LEGACY_KERNEL(block_q8_0, block_q8_0, DEC_Q8_0, 0, 4, eq_vec_dot_q8_0_q8_0_ref, eq_vec_dot_q8_0_q8_0_wasm)
}

/* ---- K formats: 256-value super-blocks ----
 * Per super-block the integer sums (sub-block scales applied) are exact, so the 1- and
 * 4-token kernels may form them differently; the float step that folds them into the result
 * is eq_k_step in both, which makes the 4-token kernels bit-identical to the 1-token ones.
 * The 4-token kernels decode a weight sub-block once to 16-bit lanes (values 2k and 2k+1 of
 * each 16 in lane k, as in the legacy kernels), multiply the scale in (the products still
 * fit in 16 bits), and per token only split the activation bytes and take i32x4 dots. */

/* sumf + (d * isum - dmin * summ): d = d_y * d_x, dmin = d_y * dmin_x. */
static inline float eq_k_step(float sumf, float d, int isum, float dmin, int summ) {
    return sumf + (d * (float)isum - dmin * (float)summ);
}

/* The four activation rows of a 4-token kernel. */
#define EQ_Y4(YT) const YT *y4[4] = {(const YT *)vy, (const YT *)((const char *)vy + by), \
                                     (const YT *)((const char *)vy + 2 * by), (const YT *)((const char *)vy + 3 * by)}

/* sum(x * y) over 16 values, x decoded (e: values 2k, o: values 2k+1, as i16), y bytes. */
static inline v128_t eq_dot16(v128_t e, v128_t o, const int8_t *q8) {
    const v128_t y = wasm_v128_load(q8);
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(e, EQ_EVEN_I8(y)), wasm_i32x4_dot_i16x8(o, EQ_ODD_I8(y)));
}

/* 16 weight codes as signed bytes (|v * scale| < 2^15) times scale, dotted with the 16
 * activation bytes at offset off of super-block i of each of the four rows. */
static inline void eq_x4_sub16(v128_t isum[4], v128_t v, int scale, const block_q8_K *const y4[4], int i, int off) {
    const v128_t c = wasm_i16x8_splat((int16_t)scale);
    const v128_t e = wasm_i16x8_mul(EQ_EVEN_I8(v), c), o = wasm_i16x8_mul(EQ_ODD_I8(v), c);
    for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_add(isum[t], eq_dot16(e, o, y4[t][i].qs + off));
}

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
        sumf = eq_k_step(sumf, dall, eq_hsum_i32(isum), dmin, summs);
    }
    *s = sumf;
}

void eq_vec_dot_x4_q2_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q2_K *x = vx;
    EQ_Y4(block_q8_K);
    const int nb = n / EQ_QK_K;
    const v128_t m3 = wasm_i8x16_splat(3);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d), xdmin = eq_fp16_to_fp32(x[i].dmin);
        const uint8_t *sc = x[i].scales;
        const v128_t mn = wasm_u8x16_shr(wasm_v128_load(sc), 4);
        const v128_t mn0 = wasm_u16x8_extend_low_u8x16(mn), mn1 = wasm_u16x8_extend_high_u8x16(mn);
        v128_t isum[4];
        for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_splat(0);
        for (int k = 0; k < 2; ++k) {
            const v128_t qa = wasm_v128_load(x[i].qs + 32 * k), qb = wasm_v128_load(x[i].qs + 32 * k + 16);
            for (int j = 0; j < 4; ++j) {
                const int sub = 8 * k + 2 * j;
                eq_x4_sub16(isum, wasm_v128_and(wasm_u8x16_shr(qa, 2 * j), m3), sc[sub] & 0xF, y4, i, 16 * sub);
                eq_x4_sub16(isum, wasm_v128_and(wasm_u8x16_shr(qb, 2 * j), m3), sc[sub + 1] & 0xF, y4, i, 16 * sub + 16);
            }
        }
        for (int t = 0; t < 4; ++t) {
            const block_q8_K *yt = &y4[t][i];
            const v128_t ms = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(yt->bsums), mn0),
                                             wasm_i32x4_dot_i16x8(wasm_v128_load(yt->bsums + 8), mn1));
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]), yt->d * xdmin, eq_hsum_i32(ms));
        }
    }
    for (int t = 0; t < 4; ++t) s[t * bs] = sumf[t];
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
        sumf = eq_k_step(sumf, d, eq_hsum_i32(isum), 0.0f, 0);
    }
    *s = sumf;
}


void eq_vec_dot_x4_q3_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q3_K *x = vx;
    EQ_Y4(block_q8_K);
    const int nb = n / EQ_QK_K;
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    const v128_t m3 = wasm_i8x16_splat(3), v4 = wasm_i8x16_splat(4), zero = wasm_i32x4_splat(0);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d);
        /* the scales as in the 1-token kernel */
        uint32_t aux[4];
        memcpy(aux, x[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        const int8_t *sc = (const int8_t *)aux;
        const v128_t hm0 = wasm_v128_load(x[i].hmask), hm1 = wasm_v128_load(x[i].hmask + 16);
        v128_t isum[4];
        for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_splat(0);
        for (int k = 0; k < 2; ++k) {
            const v128_t qa = wasm_v128_load(x[i].qs + 32 * k), qb = wasm_v128_load(x[i].qs + 32 * k + 16);
            for (int j = 0; j < 4; ++j) {
                const int sub = 8 * k + 2 * j;
                const v128_t bit = wasm_i8x16_splat((int8_t)(1u << (4 * k + j)));
                const v128_t na = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hm0, bit), zero), v4);
                const v128_t nb4 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hm1, bit), zero), v4);
                eq_x4_sub16(isum, wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(qa, 2 * j), m3), na), sc[sub] - 32, y4, i, 16 * sub);
                eq_x4_sub16(isum, wasm_i8x16_sub(wasm_v128_and(wasm_u8x16_shr(qb, 2 * j), m3), nb4), sc[sub + 1] - 32, y4, i, 16 * sub + 16);
            }
        }
        for (int t = 0; t < 4; ++t) sumf[t] = eq_k_step(sumf[t], y4[t][i].d * xd, eq_hsum_i32(isum[t]), 0.0f, 0);
    }
    for (int t = 0; t < 4; ++t) s[t * bs] = sumf[t];
}

/* sum_j bsums[j] * mins[j/2], in 32 bits whatever the bsums hold. */
static inline int eq_k4_minsum(const int16_t bsums[16], const uint8_t mn[8]) {
    const v128_t m = wasm_v128_load64_zero(mn);
    const v128_t dup = wasm_i8x16_swizzle(m, wasm_u8x16_make(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    const v128_t a = wasm_i32x4_dot_i16x8(wasm_v128_load(bsums), wasm_u16x8_extend_low_u8x16(dup));
    const v128_t b = wasm_i32x4_dot_i16x8(wasm_v128_load(bsums + 8), wasm_u16x8_extend_high_u8x16(dup));
    return eq_hsum_i32(wasm_i32x4_add(a, b));
}

#if !defined(__wasm_relaxed_simd__) /* the SIMD128 Q4_K, Q5_K, Q6_K kernels */
/* scale * (sum over a 32-value sub-block of x*y), as four int32 partials; 0 <= x <= 31, so
 * the 16-bit partial per lane stays below 4*31*128 = 15872. */
static inline v128_t eq_sub32(v128_t qa, v128_t qb, const int8_t *q8, int scale) {
    const v128_t p = wasm_i16x8_add(eq_mul_i8(qa, wasm_v128_load(q8)), eq_mul_i8(qb, wasm_v128_load(q8 + 16)));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat((int16_t)scale));
}

/* Q4_K, chunk j of 64 values: the 32 bytes qs[32j..] hold sub-block 2j in their low nibbles
 * and 2j+1 in their high ones. In 16-bit lanes (bytes 2k, 2k+1 of a 16-byte half) a mask or
 * a shift takes each nibble out. 1-token: the four 16-bit products of a lane (<= 4*15*128)
 * are summed in 16 bits and widened by a dot with the scale. */
void eq_vec_dot_q4_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i16x8_splat(0x0F);
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        const float d = y[i].d * eq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        const int summ = eq_k4_minsum(y[i].bsums, mn);
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        v128_t isum = wasm_i32x4_splat(0);
        _Pragma("clang loop unroll(disable)") /* unrolled, V8 interleaves the chunks and spills */
        for (int j = 0; j < 4; ++j, q4 += 32, q8 += 64) {
            const v128_t qa = wasm_v128_load(q4), qb = wasm_v128_load(q4 + 16);
            const v128_t ya = wasm_v128_load(q8), yb = wasm_v128_load(q8 + 16);
            const v128_t yc = wasm_v128_load(q8 + 32), yd = wasm_v128_load(q8 + 48);
            v128_t lo = wasm_i16x8_add(wasm_i16x8_mul(wasm_v128_and(qa, m4), EQ_EVEN_I8(ya)),
                                       wasm_i16x8_mul(wasm_v128_and(wasm_u16x8_shr(qa, 8), m4), EQ_ODD_I8(ya)));
            lo = wasm_i16x8_add(lo, wasm_i16x8_add(wasm_i16x8_mul(wasm_v128_and(qb, m4), EQ_EVEN_I8(yb)),
                                                   wasm_i16x8_mul(wasm_v128_and(wasm_u16x8_shr(qb, 8), m4), EQ_ODD_I8(yb))));
            v128_t hi = wasm_i16x8_add(wasm_i16x8_mul(wasm_v128_and(wasm_u16x8_shr(qa, 4), m4), EQ_EVEN_I8(yc)),
                                       wasm_i16x8_mul(wasm_u16x8_shr(qa, 12), EQ_ODD_I8(yc)));
            hi = wasm_i16x8_add(hi, wasm_i16x8_add(wasm_i16x8_mul(wasm_v128_and(wasm_u16x8_shr(qb, 4), m4), EQ_EVEN_I8(yd)),
                                                   wasm_i16x8_mul(wasm_u16x8_shr(qb, 12), EQ_ODD_I8(yd))));
            isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(lo, wasm_i16x8_splat(sc[2 * j])));
            isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(hi, wasm_i16x8_splat(sc[2 * j + 1])));
        }
        sumf = eq_k_step(sumf, d, eq_hsum_i32(isum), dmin, summ);
    }
    *s = sumf;
}

/* 4 tokens: the codes times their scale (<= 15 * 63) in 16-bit lanes, once per sub-block. */
void eq_vec_dot_x4_q4_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q4_K *x = vx;
    EQ_Y4(block_q8_K);
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i16x8_splat(0x0F);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d), xdmin = eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        v128_t isum[4];
        for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_splat(0);
        const uint8_t *q4 = x[i].qs;
        for (int j = 0; j < 8; ++j) {
            /* sub-block j: the low (j even) or high nibbles of qs[32 (j / 2) ..] */
            const v128_t qa = wasm_v128_load(q4 + 32 * (j / 2)), qb = wasm_v128_load(q4 + 32 * (j / 2) + 16);
            const v128_t c = wasm_i16x8_splat(sc[j]);
            v128_t e0, o0, e1, o1;
            if (j % 2 == 0) {
                e0 = wasm_v128_and(qa, m4); o0 = wasm_v128_and(wasm_u16x8_shr(qa, 8), m4);
                e1 = wasm_v128_and(qb, m4); o1 = wasm_v128_and(wasm_u16x8_shr(qb, 8), m4);
            } else {
                e0 = wasm_v128_and(wasm_u16x8_shr(qa, 4), m4); o0 = wasm_u16x8_shr(qa, 12);
                e1 = wasm_v128_and(wasm_u16x8_shr(qb, 4), m4); o1 = wasm_u16x8_shr(qb, 12);
            }
            e0 = wasm_i16x8_mul(e0, c); o0 = wasm_i16x8_mul(o0, c);
            e1 = wasm_i16x8_mul(e1, c); o1 = wasm_i16x8_mul(o1, c);
            for (int t = 0; t < 4; ++t) {
                const int8_t *q8 = y4[t][i].qs + 32 * j;
                isum[t] = wasm_i32x4_add(isum[t], wasm_i32x4_add(eq_dot16(e0, o0, q8), eq_dot16(e1, o1, q8 + 16)));
            }
        }
        for (int t = 0; t < 4; ++t) {
            const block_q8_K *yt = &y4[t][i];
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]), yt->d * xdmin, eq_k4_minsum(yt->bsums, mn));
        }
    }
    for (int t = 0; t < 4; ++t) s[t * bs] = sumf[t];
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
        sumf = eq_k_step(sumf, d, eq_hsum_i32(isum), dmin, summ);
    }
    *s = sumf;
}

void eq_vec_dot_x4_q5_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q5_K *x = vx;
    EQ_Y4(block_q8_K);
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i8x16_splat(0x0F), b4 = wasm_i8x16_splat(0x10);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d), xdmin = eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        /* the codes as bytes as in the 1-token kernel; 0..31 are valid signed bytes too */
        const v128_t g0 = wasm_v128_load(x[i].qh), g1 = wasm_v128_load(x[i].qh + 16);
        v128_t isum[4];
        for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_splat(0);
        for (int j = 0; j < 4; ++j) {
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
            const v128_t qa = wasm_v128_load(x[i].qs + 32 * j), qb = wasm_v128_load(x[i].qs + 32 * j + 16);
            eq_x4_sub16(isum, wasm_v128_or(wasm_v128_and(qa, m4), wasm_v128_and(la, b4)), sc[2 * j], y4, i, 64 * j);
            eq_x4_sub16(isum, wasm_v128_or(wasm_v128_and(qb, m4), wasm_v128_and(lb, b4)), sc[2 * j], y4, i, 64 * j + 16);
            eq_x4_sub16(isum, wasm_v128_or(wasm_u8x16_shr(qa, 4), wasm_v128_and(ha, b4)), sc[2 * j + 1], y4, i, 64 * j + 32);
            eq_x4_sub16(isum, wasm_v128_or(wasm_u8x16_shr(qb, 4), wasm_v128_and(hb, b4)), sc[2 * j + 1], y4, i, 64 * j + 48);
        }
        for (int t = 0; t < 4; ++t) {
            const block_q8_K *yt = &y4[t][i];
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]), yt->d * xdmin, eq_k4_minsum(yt->bsums, mn));
        }
    }
    for (int t = 0; t < 4; ++t) s[t * bs] = sumf[t];
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
        sumf = eq_k_step(sumf, d, eq_hsum_i32(isum), 0.0f, 0);
    }
    *s = sumf;
}

/* Q6_K, 4 tokens. Half c (128 values) of a super-block: value 32r + l (r = 0..3) is the low
 * (r < 2) or high nibble of ql[64c + 32(r & 1) + l] with bits 2r, 2r+1 of qh[32c + l] on top,
 * minus 32; 16-value sub-block 8c + 2r + l/16. The codes are taken unsigned (0..63) times
 * the scale (|.| <= 63 * 128 fits 16 bits); 32 * sum(scale * bsum) takes the offset back. */
void eq_vec_dot_x4_q6_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q6_K *x = vx;
    EQ_Y4(block_q8_K);
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i16x8_splat(0x0F), m30 = wasm_i16x8_splat(0x30);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d);
        const int8_t *sc = x[i].scales;
        v128_t isum[4];
        for (int t = 0; t < 4; ++t) isum[t] = wasm_i32x4_splat(0);
        for (int c = 0; c < 2; ++c) {
            for (int r = 0; r < 4; ++r) {
                for (int part = 0; part < 2; ++part) {
                    const v128_t l = wasm_v128_load(x[i].ql + 64 * c + 32 * (r & 1) + 16 * part);
                    const v128_t h = wasm_v128_load(x[i].qh + 32 * c + 16 * part);
                    v128_t e, o, he;
                    if (r < 2) {
                        e = wasm_v128_and(l, m4);
                        o = wasm_v128_and(wasm_u16x8_shr(l, 8), m4);
                    } else {
                        e = wasm_v128_and(wasm_u16x8_shr(l, 4), m4);
                        o = wasm_u16x8_shr(l, 12);
                    }
                    /* qh bits 2r, 2r+1 to bits 4, 5: of the even (low) byte by a shift of
                     * 4 - 2r, of the odd one by >> (4 + 2r); the rest is masked off */
                    switch (r) {
                    case 0: he = wasm_i16x8_shl(h, 4); break;
                    case 1: he = wasm_i16x8_shl(h, 2); break;
                    case 2: he = h; break;
                    default: he = wasm_u16x8_shr(h, 2); break;
                    }
                    const v128_t c16 = wasm_i16x8_splat(sc[8 * c + 2 * r + part]);
                    e = wasm_i16x8_mul(wasm_v128_or(e, wasm_v128_and(he, m30)), c16);
                    o = wasm_i16x8_mul(wasm_v128_or(o, wasm_v128_and(wasm_u16x8_shr(h, 4 + 2 * r), m30)), c16);
                    for (int t = 0; t < 4; ++t)
                        isum[t] = wasm_i32x4_add(isum[t], eq_dot16(e, o, y4[t][i].qs + 128 * c + 32 * r + 16 * part));
                }
            }
        }
        const v128_t sc0 = wasm_i16x8_load8x8(sc), sc1 = wasm_i16x8_load8x8(sc + 8);
        for (int t = 0; t < 4; ++t) {
            const block_q8_K *yt = &y4[t][i];
            const v128_t off = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc0, wasm_v128_load(yt->bsums)),
                                              wasm_i32x4_dot_i16x8(sc1, wasm_v128_load(yt->bsums + 8)));
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]) - 32 * eq_hsum_i32(off), 0.0f, 0);
        }
    }
    for (int t = 0; t < 4; ++t) s[t * bs] = sumf[t];
}

#else /* __wasm_relaxed_simd__ */

/* Relaxed SIMD build (the browser's second module, picked by the JS loader where the engine
 * validates relaxed SIMD): i32x4.relaxed_dot_i8x16_i7x16_add_s sums four byte products per
 * int32 lane onto an accumulator. Its result is only fixed when the second operand's bytes
 * are 0..127 (with the top bit set an engine may read them signed or unsigned), and x64
 * engines form the pairwise sums in 16 bits (pmaddubsw, saturating), which stays exact while
 * |2 * 127 * -128| <= 32767. So the weight codes, taken unsigned (Q4_K 0..15, Q5_K 0..31,
 * Q6_K 0..63; Q6_K's offset 32 comes back from the bsums), are the 7-bit operand and the
 * signed activations the other: every integer sum equals the SIMD128 kernels', and so do
 * the floats (same eq_k_step). No byte is split to 16-bit lanes. */

/* Per int32 lane, the dot of four weight codes (0..127) with four activation bytes. */
static inline v128_t eq_rdot(v128_t x, const int8_t *q8, v128_t acc) {
    return wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wasm_v128_load(q8), x, acc);
}

/* The sums over two sub-blocks, pa and pb (four int32 lanes each), times their scales: s2
 * holds sa in 16-bit lanes 0..3 and sb in 4..7. Every lane of pa and pb is at most
 * 8 * 31 * 128 (Q5_K, 32 values) or 4 * 63 * 128 (Q6_K, 16 values) in magnitude, so it
 * narrows to 16 bits exactly, and one i32x4.dot_i16x8 does both multiplies (two i32x4.mul
 * cost more on x64). */
static inline v128_t eq_rscale2(v128_t isum, v128_t pa, v128_t pb, v128_t s2) {
    return wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(wasm_i16x8_narrow_i32x4(pa, pb), s2));
}

/* Scales k and k+1 of the eight 16-bit ones in s16 as eq_rscale2's s2 (k even). */
static inline v128_t eq_rscales(v128_t s16, int k) {
    const v128_t idx = wasm_i8x16_add(wasm_i8x16_make(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3), wasm_i8x16_splat((int8_t)(2 * k)));
    return wasm_i8x16_swizzle(s16, idx);
}

/* Chunk of 64 values: sub-block a (codes xa, xb: 32 values at q8) and b (ya, yb at q8 + 32). */
static inline v128_t eq_rchunk(v128_t isum, v128_t xa, v128_t xb, v128_t ya, v128_t yb, const int8_t *q8, v128_t s2) {
    const v128_t z = wasm_i32x4_splat(0);
    return eq_rscale2(isum, eq_rdot(xb, q8 + 16, eq_rdot(xa, q8, z)), eq_rdot(yb, q8 + 48, eq_rdot(ya, q8 + 32, z)), s2);
}

/* NT tokens (1 or 4, a constant after inlining) share each block's unpacked codes and scales;
 * y[t] is token t's Q8_K row (by bytes apart). One body for the 1- and 4-token kernels, so
 * their integer sums and float steps are the same by construction. */
#define EQ_RTOKENS_Y const block_q8_K *y[4]; \
    for (int t = 0; t < NT; ++t) y[t] = (const block_q8_K *)((const char *)vy + t * by)

/* Q4_K: chunk j of 64 values is the low (sub-block 2j) and high (2j+1) nibbles of qs[32j..]. */
static inline __attribute__((always_inline))
void eq_r4_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q4_K *x = vx;
    EQ_RTOKENS_Y;
    const int nb = n / EQ_QK_K;
    const v128_t m4 = wasm_i8x16_splat(0x0F);
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d), xdmin = eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        v128_t isum[4];
        for (int t = 0; t < NT; ++t) isum[t] = wasm_i32x4_splat(0);
        const uint8_t *q4 = x[i].qs;
        const v128_t s16 = wasm_u16x8_load8x8(sc);
        for (int j = 0; j < 4; ++j, q4 += 32) {
            const v128_t qa = wasm_v128_load(q4), qb = wasm_v128_load(q4 + 16);
            const v128_t la = wasm_v128_and(qa, m4), lb = wasm_v128_and(qb, m4);
            const v128_t ha = wasm_u8x16_shr(qa, 4), hb = wasm_u8x16_shr(qb, 4);
            const v128_t s2 = eq_rscales(s16, 2 * j);
            for (int t = 0; t < NT; ++t) isum[t] = eq_rchunk(isum[t], la, lb, ha, hb, y[t][i].qs + 64 * j, s2);
        }
        for (int t = 0; t < NT; ++t) {
            const block_q8_K *yt = &y[t][i];
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]), yt->d * xdmin, eq_k4_minsum(yt->bsums, mn));
        }
    }
    for (int t = 0; t < NT; ++t) s[t * bs] = sumf[t];
}

void eq_vec_dot_q4_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    eq_r4_tokens(n, s, 0, vx, vy, 0, 1);
}
void eq_vec_dot_x4_q4_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_r4_tokens(n, s, bs, vx, vy, by, 4);
}

/* Q5_K codes as bytes 0..31 (Q4_K's nibbles, qh bit 2j or 2j+1 moved to bit 4): chunk j's
 * low-nibble codes in *xa, *xb, its high-nibble ones in *ya, *yb. */
static inline void eq_r5_chunk(const block_q5_K *x, int j, v128_t *xa, v128_t *xb, v128_t *ya, v128_t *yb) {
    const v128_t m4 = wasm_i8x16_splat(0x0F), b4 = wasm_i8x16_splat(0x10);
    const v128_t g0 = wasm_v128_load(x->qh), g1 = wasm_v128_load(x->qh + 16);
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
    const v128_t qa = wasm_v128_load(x->qs + 32 * j), qb = wasm_v128_load(x->qs + 32 * j + 16);
    *xa = wasm_v128_or(wasm_v128_and(qa, m4), wasm_v128_and(la, b4));
    *xb = wasm_v128_or(wasm_v128_and(qb, m4), wasm_v128_and(lb, b4));
    *ya = wasm_v128_or(wasm_u8x16_shr(qa, 4), wasm_v128_and(ha, b4));
    *yb = wasm_v128_or(wasm_u8x16_shr(qb, 4), wasm_v128_and(hb, b4));
}

static inline __attribute__((always_inline))
void eq_r5_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q5_K *x = vx;
    EQ_RTOKENS_Y;
    const int nb = n / EQ_QK_K;
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d), xdmin = eq_fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        eq_k4_scales(x[i].scales, sc, mn);
        v128_t isum[4];
        for (int t = 0; t < NT; ++t) isum[t] = wasm_i32x4_splat(0);
        const v128_t s16 = wasm_u16x8_load8x8(sc);
        for (int j = 0; j < 4; ++j) {
            v128_t xa, xb, ya, yb;
            eq_r5_chunk(&x[i], j, &xa, &xb, &ya, &yb);
            const v128_t s2 = eq_rscales(s16, 2 * j);
            for (int t = 0; t < NT; ++t) isum[t] = eq_rchunk(isum[t], xa, xb, ya, yb, y[t][i].qs + 64 * j, s2);
        }
        for (int t = 0; t < NT; ++t) {
            const block_q8_K *yt = &y[t][i];
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]), yt->d * xdmin, eq_k4_minsum(yt->bsums, mn));
        }
    }
    for (int t = 0; t < NT; ++t) s[t * bs] = sumf[t];
}

void eq_vec_dot_q5_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    eq_r5_tokens(n, s, 0, vx, vy, 0, 1);
}
void eq_vec_dot_x4_q5_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_r5_tokens(n, s, bs, vx, vy, by, 4);
}

/* Q6_K: value 32r + l (r = 0..3) of half c is the low (r < 2) or high nibble of
 * ql[64c + 32(r & 1) + l], bits 2r, 2r+1 of qh[32c + l] on top (0..63), minus 32; 16-value
 * sub-block 8c + 2r + l/16. Codes 0..63 are dotted; 32 * sum(scale * bsum) takes the offset. */
typedef struct { v128_t l[4], h0[4], h1[4]; } eq_r6_half;

/* Half c's low bytes, and qh with bits 2r, 2r+1 moved to bits 4, 5 for r = 0..3 (constant
 * shifts: with a variable count clang scalarizes the byte shifts). */
static inline eq_r6_half eq_r6_load(const block_q6_K *x, int c) {
    eq_r6_half h;
    for (int k = 0; k < 4; ++k) h.l[k] = wasm_v128_load(x->ql + 64 * c + 16 * k);
    const v128_t h0 = wasm_v128_load(x->qh + 32 * c), h1 = wasm_v128_load(x->qh + 32 * c + 16);
    h.h0[0] = wasm_i8x16_shl(h0, 4); h.h0[1] = wasm_i8x16_shl(h0, 2); h.h0[2] = h0; h.h0[3] = wasm_u8x16_shr(h0, 2);
    h.h1[0] = wasm_i8x16_shl(h1, 4); h.h1[1] = wasm_i8x16_shl(h1, 2); h.h1[2] = h1; h.h1[3] = wasm_u8x16_shr(h1, 2);
    return h;
}

/* Codes 0..63 of row r of a half: values 32r..32r+15 in *va, 32r+16..32r+31 in *vb. */
static inline void eq_r6_pair(const eq_r6_half *h, int r, v128_t *va, v128_t *vb) {
    const v128_t m4 = wasm_i8x16_splat(0x0F), m30 = wasm_i8x16_splat(0x30);
    const v128_t a = h->l[2 * (r & 1)], b = h->l[2 * (r & 1) + 1];
    const v128_t na = r >= 2 ? wasm_u8x16_shr(a, 4) : wasm_v128_and(a, m4);
    const v128_t nb = r >= 2 ? wasm_u8x16_shr(b, 4) : wasm_v128_and(b, m4);
    *va = wasm_v128_or(na, wasm_v128_and(h->h0[r], m30));
    *vb = wasm_v128_or(nb, wasm_v128_and(h->h1[r], m30));
}

/* 32 * sum over the 16 sub-blocks of scale * bsum. */
static inline int eq_r6_offset(const int8_t *sc, const int16_t *bsums) {
    const v128_t o = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(sc), wasm_v128_load(bsums)),
                                    wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8(sc + 8), wasm_v128_load(bsums + 8)));
    return 32 * eq_hsum_i32(o);
}

static inline __attribute__((always_inline))
void eq_r6_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q6_K *x = vx;
    EQ_RTOKENS_Y;
    const int nb = n / EQ_QK_K;
    float sumf[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < nb; ++i) {
        const float xd = eq_fp16_to_fp32(x[i].d);
        const int8_t *sc = x[i].scales;
        v128_t isum[4];
        for (int t = 0; t < NT; ++t) isum[t] = wasm_i32x4_splat(0);
        for (int c = 0; c < 2; ++c) {
            const eq_r6_half h = eq_r6_load(&x[i], c);
            const v128_t s16 = wasm_i16x8_load8x8(sc + 8 * c), z = wasm_i32x4_splat(0);
            _Pragma("clang loop unroll(full)")
            for (int r = 0; r < 4; ++r) {
                v128_t va, vb;
                eq_r6_pair(&h, r, &va, &vb);
                const v128_t s2 = eq_rscales(s16, 2 * r);
                for (int t = 0; t < NT; ++t) {
                    const int8_t *q8 = y[t][i].qs + 128 * c + 32 * r;
                    isum[t] = eq_rscale2(isum[t], eq_rdot(va, q8, z), eq_rdot(vb, q8 + 16, z), s2);
                }
            }
        }
        for (int t = 0; t < NT; ++t) {
            const block_q8_K *yt = &y[t][i];
            sumf[t] = eq_k_step(sumf[t], yt->d * xd, eq_hsum_i32(isum[t]) - eq_r6_offset(sc, yt->bsums), 0.0f, 0);
        }
    }
    for (int t = 0; t < NT; ++t) s[t * bs] = sumf[t];
}

void eq_vec_dot_q6_K_q8_K_wasm(int n, float *s, const void *vx, const void *vy) {
    eq_r6_tokens(n, s, 0, vx, vy, 0, 1);
}
void eq_vec_dot_x4_q6_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_r6_tokens(n, s, bs, vx, vy, by, 4);
}
#undef EQ_RTOKENS_Y
#endif /* __wasm_relaxed_simd__ */

/* ---- float formats ---- */

/* Lanes where one of the eight f16 in h is inf or NaN (exponent all ones). */
static inline v128_t eq_f16_nonfinite(v128_t h) {
    return wasm_i16x8_eq(wasm_v128_and(h, wasm_i16x8_splat(0x7C00)), wasm_i16x8_splat(0x7C00));
}
/* Running maximum of the f16 magnitudes of a and b (see eq_nonfinite). */
static inline v128_t eq_f16_maxmag(v128_t acc, v128_t a, v128_t b) {
    const v128_t m = wasm_i16x8_splat(0x7FFF);
    return wasm_u16x8_max(acc, wasm_u16x8_max(wasm_v128_and(a, m), wasm_v128_and(b, m)));
}

/* F16 dot: eight halves per vector, split into the even ones (moved to the high half of each
 * 32-bit lane) and the odd ones (already there), converted by eq_h2f_hi, which is exact for
 * finite values. inf/NaN are only tracked; a row holding one is left to the scalar ref.
 * Four accumulators of four lanes: the sum runs in another order than the ref's. */
void eq_vec_dot_f16_f16_wasm(int n, float *s, const void *vx, const void *vy) {
    const uint16_t *x = vx, *y = vy;
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, bad = wasm_i16x8_splat(0);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const v128_t x0 = wasm_v128_load(x + i), x1 = wasm_v128_load(x + i + 8);
        const v128_t y0 = wasm_v128_load(y + i), y1 = wasm_v128_load(y + i + 8);
        bad = eq_f16_maxmag(eq_f16_maxmag(bad, x0, y0), x1, y1);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(eq_h2f_hi(wasm_i32x4_shl(x0, 16)), eq_h2f_hi(wasm_i32x4_shl(y0, 16))));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(eq_h2f_hi(x0), eq_h2f_hi(y0)));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(eq_h2f_hi(wasm_i32x4_shl(x1, 16)), eq_h2f_hi(wasm_i32x4_shl(y1, 16))));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(eq_h2f_hi(x1), eq_h2f_hi(y1)));
    }
    for (; i + 8 <= n; i += 8) {
        const v128_t x0 = wasm_v128_load(x + i), y0 = wasm_v128_load(y + i);
        bad = eq_f16_maxmag(bad, x0, y0);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(eq_h2f_hi(wasm_i32x4_shl(x0, 16)), eq_h2f_hi(wasm_i32x4_shl(y0, 16))));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(eq_h2f_hi(x0), eq_h2f_hi(y0)));
    }
    if (eq_nonfinite(bad)) {
        eq_vec_dot_f16_f16_ref(n, s, vx, vy);
        return;
    }
    float sum = eq_hsum_f32(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)));
    for (; i < n; ++i) sum += eq_fp16_to_fp32(x[i]) * eq_fp16_to_fp32(y[i]);
    *s = sum;
}

/* y[i] += f16(x[i]) * v, bit for bit what the scalar loop in ops/vec.c computes (one rounded
 * multiply, one rounded add, exact conversions). Halves go to the high half of the 32-bit
 * lanes in order by interleaving the vector with itself; a chunk holding inf/NaN takes the
 * scalar conversion, which also sets the NaN quiet bit the same way. */
void eq_vec_mad_f16_wasm(int n, float *y, const uint16_t *x, float v) {
    const v128_t vv = wasm_f32x4_splat(v);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t h = wasm_v128_load(x + i);
        if (wasm_v128_any_true(eq_f16_nonfinite(h))) {
            for (int j = i; j < i + 8; ++j) y[j] += eq_fp16_to_fp32(x[j]) * v;
            continue;
        }
        const v128_t lo = eq_h2f_hi(wasm_i16x8_shuffle(h, h, 0, 0, 1, 1, 2, 2, 3, 3));
        const v128_t hi = eq_h2f_hi(wasm_i16x8_shuffle(h, h, 4, 4, 5, 5, 6, 6, 7, 7));
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(lo, vv)));
        wasm_v128_store(y + i + 4, wasm_f32x4_add(wasm_v128_load(y + i + 4), wasm_f32x4_mul(hi, vv)));
    }
    for (; i < n; ++i) y[i] += eq_fp16_to_fp32(x[i]) * v;
}

/* Attention over many cached rows for nq queries (ops/vec.c): per (row, query) exactly what
 * eq_vec_dot_f16_f16_wasm and eq_vec_mad_f16_wasm compute, with each row's halves converted
 * once for all the queries (the heads of one KV head's group) and each query's once per call.
 * A row or query holding inf/NaN takes the one-row path's fallback for that pair. */
void eq_vec_dot_f16_rows_wasm(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy) {
    enum { MAX_N = 256, MAX_Q = 4 };
    if (rows <= 0 || nq <= 0) return;
    if (n > MAX_N) {
        for (int q = 0; q < nq; q++)
            for (int r = 0; r < rows; r++) eq_vec_dot_f16_f16_wasm(n, &s[q * ld + r], x + (size_t)r * stride, y + q * ldy);
        return;
    }
    const int nv = n / 8 * 8;   /* the vector part; the rest is the scalar tail */
    const v128_t zero = wasm_i16x8_splat(0);
    for (int q0 = 0; q0 < nq; q0 += MAX_Q) {
        const int nb = nq - q0 < MAX_Q ? nq - q0 : MAX_Q;
        /* per 8 halves: the even ones, then the odd ones, as the one-row kernel splits them */
        v128_t yv[MAX_Q][MAX_N / 4], xv[MAX_N / 4];
        int ybad[MAX_Q];
        for (int q = 0; q < nb; q++) {
            const uint16_t *yq = y + (q0 + q) * ldy;
            v128_t bad = zero;
            for (int i = 0; i < nv; i += 8) {
                const v128_t h = wasm_v128_load(yq + i);
                bad = eq_f16_maxmag(bad, h, zero);
                yv[q][i / 4] = eq_h2f_hi(wasm_i32x4_shl(h, 16));
                yv[q][i / 4 + 1] = eq_h2f_hi(h);
            }
            ybad[q] = eq_nonfinite(bad);
        }
        for (int r = 0; r < rows; r++) {
            const uint16_t *xr = x + (size_t)r * stride;
            v128_t bad = zero;
            for (int i = 0; i < nv; i += 8) {
                const v128_t h = wasm_v128_load(xr + i);
                bad = eq_f16_maxmag(bad, h, zero);
                xv[i / 4] = eq_h2f_hi(wasm_i32x4_shl(h, 16));
                xv[i / 4 + 1] = eq_h2f_hi(h);
            }
            const int xbad = eq_nonfinite(bad);
            for (int q = 0; q < nb; q++) {
                const uint16_t *yq = y + (q0 + q) * ldy;
                float *out = &s[(q0 + q) * ld + r];
                if (xbad || ybad[q]) {
                    eq_vec_dot_f16_f16_ref(n, out, xr, yq);
                    continue;
                }
                v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
                int i = 0;
                for (; i + 16 <= nv; i += 16) {
                    const int k = i / 4;
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xv[k], yv[q][k]));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xv[k + 1], yv[q][k + 1]));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xv[k + 2], yv[q][k + 2]));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xv[k + 3], yv[q][k + 3]));
                }
                for (; i + 8 <= nv; i += 8) {
                    const int k = i / 4;
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xv[k], yv[q][k]));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xv[k + 1], yv[q][k + 1]));
                }
                float sum = eq_hsum_f32(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)));
                for (; i < n; ++i) sum += eq_fp16_to_fp32(xr[i]) * eq_fp16_to_fp32(yq[i]);
                *out = sum;
            }
        }
    }
}

void eq_vec_mad_f16_rows_wasm(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw) {
    for (int r = 0; r < rows; r++) {
        const uint16_t *xr = x + (size_t)r * stride;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            const v128_t h = wasm_v128_load(xr + i);
            if (wasm_v128_any_true(eq_f16_nonfinite(h))) {
                for (int q = 0; q < nq; q++)
                    for (int j = i; j < i + 8; ++j) y[q * ldy + j] += eq_fp16_to_fp32(xr[j]) * w[q * ldw + r];
                continue;
            }
            const v128_t lo = eq_h2f_hi(wasm_i16x8_shuffle(h, h, 0, 0, 1, 1, 2, 2, 3, 3));
            const v128_t hi = eq_h2f_hi(wasm_i16x8_shuffle(h, h, 4, 4, 5, 5, 6, 6, 7, 7));
            for (int q = 0; q < nq; q++) {
                float *yq = y + q * ldy + i;
                const v128_t vv = wasm_f32x4_splat(w[q * ldw + r]);
                wasm_v128_store(yq, wasm_f32x4_add(wasm_v128_load(yq), wasm_f32x4_mul(lo, vv)));
                wasm_v128_store(yq + 4, wasm_f32x4_add(wasm_v128_load(yq + 4), wasm_f32x4_mul(hi, vv)));
            }
        }
        for (int q = 0; q < nq; q++)
            for (int j = i; j < n; ++j) y[q * ldy + j] += eq_fp16_to_fp32(xr[j]) * w[q * ldw + r];
    }
}

/* y[i] += x[i] * v, as the scalar loop (separate multiply and add). */
void eq_vec_mad_f32_wasm(int n, float *y, const float *x, float v) {
    const v128_t vv = wasm_f32x4_splat(v);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(wasm_v128_load(x + i), vv)));
        wasm_v128_store(y + i + 4, wasm_f32x4_add(wasm_v128_load(y + i + 4), wasm_f32x4_mul(wasm_v128_load(x + i + 4), vv)));
    }
    for (; i < n; ++i) y[i] += x[i] * v;
}

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

/* roundf: round half away from zero. SIMD128 only rounds half to even; adding the largest
 * float below one half, sign of v, and truncating gives roundf's result for every |v| <= 128
 * (checked exhaustively; the quantizers stay within 127 * (1 + 2^-23)): a sum that rounds
 * up to the next integer only does so from an exact half or more. */
static inline v128_t eq_round_away(v128_t v) {
    const v128_t h = wasm_v128_or(wasm_v128_and(v, wasm_i32x4_splat((int32_t)0x80000000u)), wasm_f32x4_splat(0x1.fffffep-2f));
    return wasm_f32x4_trunc(wasm_f32x4_add(v, h));
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

/* ---- Q4_K and Q5_K rows repacked eight at a time (quant/repack.h) ----
 * A 16-byte load from one of the block's 64-byte chunks holds the same eight code bytes of
 * two rows (a row pair), against one eight-byte activation load for all of them; an int32
 * lane belongs to one row (its bytes 0-3 or 4-7 of each eight), so no sum is reduced across
 * rows, the scale and float steps run on four lanes at once, and the minimum terms of eight
 * rows come out of eight dots and one 4x4 transpose. The integers are the procedure's
 * (eq_q4_Kx8_dot_ref), and so are its float steps: a multiply, then an add, per block. Q5_K
 * (eq_q5_Kx8_dot_ref): the same, each code's fifth bit put in from the qh chunk. */

#if defined(__wasm_relaxed_simd__)
/* one int32 lane sums the four products of a row's four bytes */
typedef struct { v128_t a; } eq_p8acc;
static inline void eq_p8_dot(eq_p8acc *p, v128_t codes, const int8_t *q8) {
    p->a = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wasm_v128_load64_splat(q8), codes, p->a);
}
/* times the sub-block scales: v0 holds the pair's scales as bytes (row 2k: 0..7, 2k+1: 8..15);
 * a zero high half beside each 16-bit scale makes the dot one exact multiply, as the lane
 * (at most 16 * 15 * 128; Q5_K: two sums of at most 8 * 31 * 128, EQ_P8_SPLIT) fits in 16 bits */
static inline void eq_p8_scale(eq_p8acc *s, eq_p8acc p, v128_t v0, int sb) {
    const v128_t idx = wasm_i8x16_add(wasm_i8x16_make(0, -128, -128, -128, 0, -128, -128, -128,
                                                      8, -128, -128, -128, 8, -128, -128, -128), wasm_i8x16_splat((int8_t)sb));
    s->a = wasm_i32x4_add(s->a, wasm_i32x4_dot_i16x8(p.a, wasm_i8x16_swizzle(v0, idx)));
}
/* the pair's four integers: row 2k bytes 0-3, 4-7, row 2k + 1 bytes 0-3, 4-7 */
static inline v128_t eq_p8_ints(eq_p8acc s) { return s.a; }
#define EQ_P8_SPLIT(q5) ((q5) ? 2 : 1)
#else
/* No byte multiply: 16-bit lanes, each int32 lane the sum of two products, one row a vector
 * (a: row 2k, b: row 2k + 1). One token: the products, then their sum times the sub-block
 * scale. Four tokens: the codes are widened and multiplied by their scale (at most 15 * 63, a
 * 16-bit lane) once for all four, so a token's step is two dots per row pair (V8: 1.3x the
 * unpacked 4-token kernel, against 0.97x for the one-token scheme run four times). Either way
 * the integers are the procedure's (exact: no lane overflows). */
typedef struct { v128_t a, b; } eq_p8acc;
static inline void eq_p8_dot(eq_p8acc *p, v128_t codes, const int8_t *q8) {
    const v128_t y = wasm_i16x8_load8x8(q8);
    p->a = wasm_i32x4_add(p->a, wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(codes), y));
    p->b = wasm_i32x4_add(p->b, wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(codes), y));
}
static inline void eq_p8_scale(eq_p8acc *s, eq_p8acc p, v128_t v0, int sb) {
    const v128_t idx = wasm_i8x16_add(wasm_i8x16_make(0, -128, -128, -128, 0, -128, -128, -128,
                                                      0, -128, -128, -128, 0, -128, -128, -128), wasm_i8x16_splat((int8_t)sb));
    s->a = wasm_i32x4_add(s->a, wasm_i32x4_dot_i16x8(p.a, wasm_i8x16_swizzle(v0, idx)));
    s->b = wasm_i32x4_add(s->b, wasm_i32x4_dot_i16x8(p.b, wasm_i8x16_swizzle(v0, wasm_i8x16_add(idx, wasm_i8x16_splat(8)))));
}
/* the pair's 16-bit scales for sub-block sb: row 2k's (a) or 2k + 1's (b), zero high bytes */
static inline v128_t eq_p8_scale16(v128_t v0, int byte) {
    const v128_t idx = wasm_i8x16_add(wasm_i8x16_make(0, -128, 0, -128, 0, -128, 0, -128,
                                                      0, -128, 0, -128, 0, -128, 0, -128), wasm_i8x16_splat((int8_t)byte));
    return wasm_i8x16_swizzle(v0, idx);
}
/* lanes hold bytes 0-1, 2-3, 4-5, 6-7: add them pairwise */
static inline v128_t eq_p8_ints(eq_p8acc s) {
    return wasm_i32x4_add(wasm_i32x4_shuffle(s.a, s.b, 0, 2, 4, 6), wasm_i32x4_shuffle(s.a, s.b, 1, 3, 5, 7));
}
/* a lane sums eight products: at most 8 * 31 * 128 with Q5_K's codes, within 16 bits */
#define EQ_P8_SPLIT(q5) 1
#endif

/* Row pair k's codes of chunk 4 j + h: sub-block 2 j's (low nibbles) and 2 j + 1's (high),
 * with their fifth bits (bits 2 j and 2 j + 1 of qh, moved to bit 4) for Q5_K. */
static inline __attribute__((always_inline))
void eq_p8_codes(const eq_k4x8_view *b, int j, int h, int k, v128_t *lo, v128_t *hi) {
    const v128_t p = wasm_v128_load(b->qs + 64 * (4 * j + h) + 16 * k);
    *lo = wasm_v128_and(p, wasm_i8x16_splat(0x0F));
    *hi = wasm_u8x16_shr(p, 4);
    if (b->qh) {
        const v128_t q = wasm_v128_load(b->qh + 64 * h + 16 * k), m16 = wasm_i8x16_splat(0x10);
        const v128_t b0 = 2 * j <= 4 ? wasm_i8x16_shl(q, 4 - 2 * j) : wasm_u8x16_shr(q, 2 * j - 4);
        const v128_t b1 = 2 * j + 1 <= 4 ? wasm_i8x16_shl(q, 3 - 2 * j) : wasm_u8x16_shr(q, 2 * j - 3);
        *lo = wasm_v128_or(*lo, wasm_v128_and(b0, m16));
        *hi = wasm_v128_or(*hi, wasm_v128_and(b1, m16));
    }
}

/* Per-row totals of four rows' partial sums (a 4x4 transpose and add). */
static inline v128_t eq_sum4x4(v128_t d0, v128_t d1, v128_t d2, v128_t d3) {
    const v128_t e01 = wasm_i32x4_add(wasm_i32x4_shuffle(d0, d1, 0, 1, 4, 5), wasm_i32x4_shuffle(d0, d1, 2, 3, 6, 7));
    const v128_t e23 = wasm_i32x4_add(wasm_i32x4_shuffle(d2, d3, 0, 1, 4, 5), wasm_i32x4_shuffle(d2, d3, 2, 3, 6, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(e01, e23, 0, 2, 4, 6), wasm_i32x4_shuffle(e01, e23, 1, 3, 5, 7));
}

/* Row pair k's integer sums (eq_p8_ints order) of one block for NT tokens: the codes of
 * sub-blocks 2j (low nibbles) and 2j + 1 (high) against their activations, times the scales. */
static inline __attribute__((always_inline))
void eq_p8_sums(eq_p8acc *sum, const eq_k4x8_view *b, const block_q8_K *const *y, int i, int k, v128_t v0, const int NT) {
    const int split = EQ_P8_SPLIT(b->qh != NULL);
    for (int t = 0; t < NT; ++t) memset(&sum[t], 0, sizeof sum[t]);
    for (int j = 0; j < 4; ++j) {
        v128_t lo[4], hi[4];
        for (int h = 0; h < 4; ++h) eq_p8_codes(b, j, h, k, &lo[h], &hi[h]);
        for (int t = 0; t < NT; ++t) {
            const int8_t *q8 = y[t][i].qs + 64 * j;
            for (int part = 0; part < split; ++part) {
                eq_p8acc pl, ph;
                memset(&pl, 0, sizeof pl);
                memset(&ph, 0, sizeof ph);
                for (int h = 4 / split * part; h < 4 / split * (part + 1); ++h) {
                    eq_p8_dot(&pl, lo[h], q8 + 8 * h);
                    eq_p8_dot(&ph, hi[h], q8 + 32 + 8 * h);
                }
                eq_p8_scale(&sum[t], pl, v0, 2 * j);
                eq_p8_scale(&sum[t], ph, v0, 2 * j + 1);
            }
        }
    }
}

#if !defined(__wasm_relaxed_simd__)
/* the same sums, the codes multiplied by their scales first (see eq_p8acc) */
static inline __attribute__((always_inline))
void eq_p8_sums_prescaled(eq_p8acc *sum, const eq_k4x8_view *b, const block_q8_K *const *y, int i, int k, v128_t v0, const int NT) {
    for (int t = 0; t < NT; ++t) memset(&sum[t], 0, sizeof sum[t]);
    for (int j = 0; j < 4; ++j) {
        const v128_t sla = eq_p8_scale16(v0, 2 * j), slb = eq_p8_scale16(v0, 8 + 2 * j);
        const v128_t sha = eq_p8_scale16(v0, 2 * j + 1), shb = eq_p8_scale16(v0, 9 + 2 * j);
        for (int h = 0; h < 4; ++h) {
            v128_t lo, hi;   /* codes times scales: at most 31 * 63, a 16-bit lane */
            eq_p8_codes(b, j, h, k, &lo, &hi);
            const v128_t la = wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(lo), sla);
            const v128_t lb = wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(lo), slb);
            const v128_t ha = wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(hi), sha);
            const v128_t hb = wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(hi), shb);
            for (int t = 0; t < NT; ++t) {
                const int8_t *q8 = y[t][i].qs + 64 * j + 8 * h;
                const v128_t yl = wasm_i16x8_load8x8(q8), yh = wasm_i16x8_load8x8(q8 + 32);
                sum[t].a = wasm_i32x4_add(sum[t].a, wasm_i32x4_add(wasm_i32x4_dot_i16x8(la, yl), wasm_i32x4_dot_i16x8(ha, yh)));
                sum[t].b = wasm_i32x4_add(sum[t].b, wasm_i32x4_add(wasm_i32x4_dot_i16x8(lb, yl), wasm_i32x4_dot_i16x8(hb, yh)));
            }
        }
    }
}
#endif

/* The eight rows' sums of NT tokens: each row's two lanes (acc[t][k]: rows 2k, 2k + 1, two
 * lanes each) added, then the rows' third term (accm[t][h]: rows 4h .. 4h + 3). */
static inline void eq_p8_store(float *s, size_t bs, v128_t acc[][4], v128_t accm[][2], int NT) {
    for (int t = 0; t < NT; ++t)
        for (int h = 0; h < 2; ++h) {
            const v128_t a = acc[t][2 * h], c = acc[t][2 * h + 1];
            const v128_t rows = wasm_f32x4_add(wasm_i32x4_shuffle(a, c, 0, 2, 4, 6), wasm_i32x4_shuffle(a, c, 1, 3, 5, 7));
            wasm_v128_store(s + t * bs + 4 * h, wasm_f32x4_add(rows, accm[t][h]));
        }
}

static inline __attribute__((always_inline))
void eq_p8_k4_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT, const int Q5) {
    const block_q8_K *y[4];
    for (int t = 0; t < NT; ++t) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const v128_t m4 = wasm_i8x16_splat(0x0F), m3 = wasm_i8x16_splat(0x03);
    v128_t acc[4][4], accm[4][2];   /* acc[t][k]: as eq_p8_ints; accm[t][h]: rows 4h..4h+3 */
    for (int t = 0; t < NT; ++t) {
        for (int k = 0; k < 4; ++k) acc[t][k] = wasm_f32x4_splat(0.0f);
        accm[t][0] = accm[t][1] = wasm_f32x4_splat(0.0f);
    }
    for (int i = 0; i < n / EQ_QK_K; ++i) {
        const eq_k4x8_view bv = eq_k4x8_view_at(vx, i, Q5), *b = &bv;
        float xd[8], xm[8];
        for (int r = 0; r < 8; ++r) { xd[r] = eq_fp16_to_fp32(b->d[r]); xm[r] = eq_fp16_to_fp32(b->dmin[r]); }
        /* scales and mins as bytes, v0[k] / v1[k] holding row 2k's then row 2k + 1's */
        v128_t v0[4], v1[4];
        const v128_t sh0 = wasm_v128_load(b->sh), sh1 = wasm_v128_load(b->sh + 16);
        for (int k = 0; k < 4; ++k) {
            const v128_t sl = wasm_v128_load(b->sl + 16 * k), sh = k % 2 ? sh1 : sh0;
            const v128_t h0 = k < 2 ? sh : wasm_u8x16_shr(sh, 2), h1 = wasm_u8x16_shr(sh, k < 2 ? 4 : 6);
            v0[k] = wasm_v128_or(wasm_v128_and(sl, m4), wasm_i8x16_shl(wasm_v128_and(h0, m3), 4));
            v1[k] = wasm_v128_or(wasm_u8x16_shr(sl, 4), wasm_i8x16_shl(wasm_v128_and(h1, m3), 4));
        }
        /* sub-block sums of the bsums, the mins' partner: 16-bit lane q = sub-block q */
        v128_t bsq[4], isum[4][4];
        for (int t = 0; t < NT; ++t) {
            const v128_t b0 = wasm_v128_load(y[t][i].bsums), b1 = wasm_v128_load(y[t][i].bsums + 8);
            bsq[t] = wasm_i16x8_narrow_i32x4(wasm_i32x4_extadd_pairwise_i16x8(b0), wasm_i32x4_extadd_pairwise_i16x8(b1));
        }
        _Pragma("clang loop unroll(disable)")
        for (int k = 0; k < 4; ++k) {
            eq_p8acc sum[4];
#if !defined(__wasm_relaxed_simd__)
            if (NT > 1) eq_p8_sums_prescaled(sum, b, y, i, k, v0[k], NT);
            else
#endif
                eq_p8_sums(sum, b, y, i, k, v0[k], NT);
            for (int t = 0; t < NT; ++t) isum[t][k] = eq_p8_ints(sum[t]);
        }
        const v128_t d01 = wasm_f32x4_make(xd[0], xd[0], xd[1], xd[1]), d23 = wasm_f32x4_make(xd[2], xd[2], xd[3], xd[3]);
        const v128_t d45 = wasm_f32x4_make(xd[4], xd[4], xd[5], xd[5]), d67 = wasm_f32x4_make(xd[6], xd[6], xd[7], xd[7]);
        const v128_t dk[4] = {d01, d23, d45, d67};
        const v128_t m03 = wasm_f32x4_make(xm[0], xm[1], xm[2], xm[3]), m47 = wasm_f32x4_make(xm[4], xm[5], xm[6], xm[7]);
        v128_t mins[8];   /* row r's eight mins in 16-bit lanes */
        for (int k = 0; k < 4; ++k) {
            mins[2 * k] = wasm_u16x8_extend_low_u8x16(v1[k]);
            mins[2 * k + 1] = wasm_u16x8_extend_high_u8x16(v1[k]);
        }
        for (int t = 0; t < NT; ++t) {
            const v128_t dt = wasm_f32x4_splat(y[t][i].d), mdt = wasm_f32x4_splat(-y[t][i].d);
            for (int k = 0; k < 4; ++k) {
                const v128_t p = wasm_f32x4_mul(wasm_f32x4_mul(dk[k], dt), wasm_f32x4_convert_i32x4(isum[t][k]));
                acc[t][k] = wasm_f32x4_add(acc[t][k], p);
            }
            /* the mins: row r's eight against the eight sub-block bsums, one dot per row */
            v128_t mr[8];
            for (int r = 0; r < 8; ++r) mr[r] = wasm_i32x4_dot_i16x8(mins[r], bsq[t]);
            const v128_t p0 = wasm_f32x4_mul(wasm_f32x4_mul(m03, mdt), wasm_f32x4_convert_i32x4(eq_sum4x4(mr[0], mr[1], mr[2], mr[3])));
            const v128_t p1 = wasm_f32x4_mul(wasm_f32x4_mul(m47, mdt), wasm_f32x4_convert_i32x4(eq_sum4x4(mr[4], mr[5], mr[6], mr[7])));
            accm[t][0] = wasm_f32x4_add(accm[t][0], p0);
            accm[t][1] = wasm_f32x4_add(accm[t][1], p1);
        }
    }
    eq_p8_store(s, bs, acc, accm, NT);
}

void eq_vec_dot_p8x1_q4_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_p8_k4_tokens(n, s, bs, vx, vy, by, 1, 0);
}
void eq_vec_dot_p8x4_q4_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_p8_k4_tokens(n, s, bs, vx, vy, by, 4, 0);
}
void eq_vec_dot_p8x1_q5_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_p8_k4_tokens(n, s, bs, vx, vy, by, 1, 1);
}
void eq_vec_dot_p8x4_q5_K_q8_K_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_p8_k4_tokens(n, s, bs, vx, vy, by, 4, 1);
}

/* ---- Q4_0, Q4_1, Q5_0 and Q8_0 rows repacked eight at a time (quant/repack.h) ----
 * A 16-byte vector of a 64-byte chunk holds eight codes of each of two rows (pair p: rows 2p
 * and 2p + 1), so every int32 lane of the sums belongs to one row: row 2p's values 8 k + 0..3
 * and 8 k + 4..7, then row 2p + 1's (the procedure's two lanes a row). For one token with
 * relaxed SIMD the codes (0..15, Q5_0's 0..31: Q4_0's offset 8, Q5_0's 16, comes off as that
 * times the activations' sum)
 * are the 7-bit operand of one dot per vector against eight activation bytes in both halves
 * (V8: 12.7-13.8 GMAC/s against 11.6-12.1). Otherwise, and for Q8_0 (its codes do not fit 7
 * bits), the codes are widened to 16 bits once for all tokens (less Q4_0's 8 or Q5_0's 16
 * first) and a token takes two i32x4.dot_i16x8 per vector, whose pair sums are added at the end
 * of the block: for four tokens that beats the relaxed dots (V8: 19-21 GMAC/s against 17),
 * which V8 lowers to three instructions without VNNI. One float step per token serves a row
 * pair, not a row and a block: eq_q4_0x8_dot_ref, eq_q4_1x8_dot_ref, eq_q5_0x8_dot_ref and
 * eq_q8_0x8_dot_ref, bit for bit. */

/* Four f16 to f32, exactly for every value (inf and NaN too): finite ones by the rebias
 * multiply of eq_h2f_hi, inf/NaN by setting the exponent. */
static inline v128_t eq_h2f4(const eq_f16 *p) {
    const v128_t h = wasm_u32x4_load16x4(p);
    const v128_t em = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7FFF)), 13);
    const v128_t fin = wasm_f32x4_mul(em, wasm_f32x4_splat(0x1p112f));
    const v128_t inf = wasm_v128_or(em, wasm_i32x4_splat(0x7F800000));
    const v128_t big = wasm_i32x4_ge(em, wasm_i32x4_splat(0x7C00 << 13));
    return wasm_v128_or(wasm_v128_bitselect(inf, fin, big), wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

enum { EQ_L8_Q4_0, EQ_L8_Q8_0, EQ_L8_Q4_1, EQ_L8_Q5_0 };

/* Q5_0's fifth bits of pair p for values 8 k .. 8 k + 7 (bytes 2p, 2p + 1 of mask k, repack.h)
 * as 16 in the bytes where they are set. */
static inline v128_t eq_l8_bit5(const uint8_t *qh, int k, int p) {
    uint16_t h;
    memcpy(&h, qh + 8 * k + 2 * p, 2);
    const v128_t bits = wasm_u8x16_make(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const v128_t v = wasm_i8x16_swizzle(wasm_i16x8_splat((int16_t)h), wasm_u8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(v, bits), bits), wasm_i8x16_splat(16));
}

/* Row pair p's four integers (rows 2p, 2p + 1; bytes 0-3 and 4-7 of each eight) for NT tokens. */
static inline __attribute__((always_inline))
void eq_l8_pair(v128_t *isum, const uint8_t *qs, int p, const char *const *yb, size_t yqs, const int NT, const int fmt) {
    v128_t c[4];   /* values 8 k .. 8 k + 7 of both rows */
    if (fmt == EQ_L8_Q8_0) {
        for (int k = 0; k < 4; ++k) c[k] = wasm_v128_load(qs + 64 * k + 16 * p);
    } else {
        const v128_t m4 = wasm_i8x16_splat(0x0F);
        const v128_t p0 = wasm_v128_load(qs + 16 * p), p1 = wasm_v128_load(qs + 64 + 16 * p);
        c[0] = wasm_v128_and(p0, m4);
        c[1] = wasm_v128_and(p1, m4);
        c[2] = wasm_u8x16_shr(p0, 4);
        c[3] = wasm_u8x16_shr(p1, 4);
        if (fmt == EQ_L8_Q5_0)
            for (int k = 0; k < 4; ++k) c[k] = wasm_v128_or(c[k], eq_l8_bit5(qs - 32, k, p));
    }
#if defined(__wasm_relaxed_simd__)
    if (fmt != EQ_L8_Q8_0 && NT == 1) {
        for (int t = 0; t < NT; ++t) {
            const int8_t *q8 = (const int8_t *)(yb[t] + yqs);
            v128_t acc = wasm_i32x4_splat(0), sum = wasm_i32x4_splat(0);
            for (int k = 0; k < 4; ++k) {
                const v128_t a = wasm_v128_load64_splat(q8 + 8 * k);
                acc = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a, c[k], acc);
                if (fmt != EQ_L8_Q4_1) sum = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(a, wasm_i8x16_splat(1), sum);
            }
            isum[t] = fmt == EQ_L8_Q4_1 ? acc : wasm_i32x4_sub(acc, wasm_i32x4_shl(sum, fmt == EQ_L8_Q5_0 ? 4 : 3));
        }
        return;
    }
#endif
    v128_t lo[4], hi[4];
    for (int k = 0; k < 4; ++k) {
        const v128_t ck = fmt == EQ_L8_Q4_0 ? wasm_i8x16_sub(c[k], wasm_i8x16_splat(8))
                        : fmt == EQ_L8_Q5_0 ? wasm_i8x16_sub(c[k], wasm_i8x16_splat(16)) : c[k];
        lo[k] = wasm_i16x8_extend_low_i8x16(ck);
        hi[k] = wasm_i16x8_extend_high_i8x16(ck);
    }
    for (int t = 0; t < NT; ++t) {
        const int8_t *q8 = (const int8_t *)(yb[t] + yqs);
        v128_t a = wasm_i32x4_splat(0), b = wasm_i32x4_splat(0);
        for (int k = 0; k < 4; ++k) {
            const v128_t y = wasm_i16x8_load8x8(q8 + 8 * k);
            a = wasm_i32x4_add(a, wasm_i32x4_dot_i16x8(lo[k], y));
            b = wasm_i32x4_add(b, wasm_i32x4_dot_i16x8(hi[k], y));
        }
        isum[t] = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
    }
}

static inline __attribute__((always_inline))
void eq_l8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT, const int fmt) {
    const size_t bsz = fmt == EQ_L8_Q8_0 ? sizeof(block_q8_0x8) : fmt == EQ_L8_Q4_1 ? sizeof(block_q4_1x8)
                     : fmt == EQ_L8_Q5_0 ? sizeof(block_q5_0x8) : sizeof(block_q4_0x8);
    const size_t ysz = fmt == EQ_L8_Q4_1 ? sizeof(block_q8_1) : sizeof(block_q8_0), yqs = fmt == EQ_L8_Q4_1 ? 4 : 2;
    v128_t acc[4][4], accm[4][2];   /* acc[t][p]: pair p's four lanes; accm[t][h]: rows 4h..4h+3 */
    for (int t = 0; t < NT; ++t) {
        for (int p = 0; p < 4; ++p) acc[t][p] = wasm_f32x4_splat(0.0f);
        accm[t][0] = accm[t][1] = wasm_f32x4_splat(0.0f);
    }
    for (int i = 0; i < n / EQ_QK; ++i) {
        const char *b = (const char *)vx + (size_t)i * bsz;
        /* the codes, after d (and m, or Q5_0's fifth bits) */
        const uint8_t *qs = (const uint8_t *)b + (fmt == EQ_L8_Q4_1 ? 16 : 8) * sizeof(eq_f16) + (fmt == EQ_L8_Q5_0 ? 32 : 0);
        const char *yb[4];
        float dy[4];
        for (int t = 0; t < NT; ++t) {
            yb[t] = (const char *)vy + t * by + (size_t)i * ysz;
            eq_f16 h;
            memcpy(&h, yb[t], sizeof h);
            dy[t] = eq_fp16_to_fp32(h);
        }
        const v128_t d03 = eq_h2f4((const eq_f16 *)b), d47 = eq_h2f4((const eq_f16 *)b + 4);
        const v128_t dk[4] = {wasm_i32x4_shuffle(d03, d03, 0, 0, 1, 1), wasm_i32x4_shuffle(d03, d03, 2, 2, 3, 3),
                              wasm_i32x4_shuffle(d47, d47, 0, 0, 1, 1), wasm_i32x4_shuffle(d47, d47, 2, 2, 3, 3)};
        _Pragma("clang loop unroll(disable)")
        for (int p = 0; p < 4; ++p) {
            v128_t isum[4];
            eq_l8_pair(isum, qs, p, yb, yqs, NT, fmt);
            /* multiply, then add, as the procedure in C */
            for (int t = 0; t < NT; ++t)
                acc[t][p] = wasm_f32x4_add(acc[t][p], wasm_f32x4_mul(wasm_f32x4_mul(dk[p], wasm_f32x4_splat(dy[t])),
                                                                     wasm_f32x4_convert_i32x4(isum[t])));
        }
        if (fmt == EQ_L8_Q4_1) {
            const v128_t m03 = eq_h2f4((const eq_f16 *)b + 8), m47 = eq_h2f4((const eq_f16 *)b + 12);
            for (int t = 0; t < NT; ++t) {
                eq_f16 h;
                memcpy(&h, yb[t] + sizeof(eq_f16), sizeof h);
                const v128_t sy = wasm_f32x4_splat(eq_fp16_to_fp32(h));
                accm[t][0] = wasm_f32x4_add(accm[t][0], wasm_f32x4_mul(m03, sy));
                accm[t][1] = wasm_f32x4_add(accm[t][1], wasm_f32x4_mul(m47, sy));
            }
        }
    }
    eq_p8_store(s, bs, acc, accm, NT);
}

void eq_vec_dot_p8x1_q4_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 1, EQ_L8_Q4_0);
}
void eq_vec_dot_p8x4_q4_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 4, EQ_L8_Q4_0);
}
void eq_vec_dot_p8x1_q4_1_q8_1_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 1, EQ_L8_Q4_1);
}
void eq_vec_dot_p8x4_q4_1_q8_1_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 4, EQ_L8_Q4_1);
}
void eq_vec_dot_p8x1_q5_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 1, EQ_L8_Q5_0);
}
void eq_vec_dot_p8x4_q5_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 4, EQ_L8_Q5_0);
}
void eq_vec_dot_p8x1_q8_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 1, EQ_L8_Q8_0);
}
void eq_vec_dot_p8x4_q8_0_q8_0_wasm(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    eq_l8_tokens(n, s, bs, vx, vy, by, 4, EQ_L8_Q8_0);
}

/* x[i] = x[i] * v rounded to F16 and back (the attention's probabilities against an F16 V
 * cache): eq_fp32_to_fp16 and eq_fp16_to_fp32 step for step, four values at a time (2.2 -> 1.9
 * ns a value in V8). */
void eq_vec_round_f16_wasm(int n, float *x, float v) {
    const v128_t vv = wasm_f32x4_splat(v);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t f = wasm_f32x4_mul(wasm_v128_load(x + i), vv);
        /* to F16 (quant/fp16.h) */
        v128_t base = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_abs(f), wasm_i32x4_splat(0x77800000)), wasm_i32x4_splat(0x08800000));
        const v128_t shl1 = wasm_i32x4_add(f, f);
        const v128_t sign = wasm_v128_and(f, wasm_i32x4_splat((int32_t)0x80000000u));
        const v128_t bias = wasm_u32x4_max(wasm_v128_and(shl1, wasm_i32x4_splat((int32_t)0xFF000000u)), wasm_i32x4_splat(0x71000000));
        base = wasm_f32x4_add(wasm_i32x4_add(wasm_u32x4_shr(bias, 1), wasm_i32x4_splat(0x07800000)), base);
        const v128_t nonsign = wasm_i32x4_add(wasm_v128_and(wasm_u32x4_shr(base, 13), wasm_i32x4_splat(0x7C00)), wasm_v128_and(base, wasm_i32x4_splat(0xFFF)));
        const v128_t nan = wasm_u32x4_gt(shl1, wasm_i32x4_splat((int32_t)0xFF000000u));
        const v128_t h = wasm_v128_or(wasm_u32x4_shr(sign, 16), wasm_v128_bitselect(wasm_i32x4_splat(0x7E00), nonsign, nan));
        /* and back */
        const v128_t w = wasm_i32x4_shl(h, 16), two_w = wasm_i32x4_add(w, w);
        const v128_t norm = wasm_f32x4_mul(wasm_i32x4_add(wasm_u32x4_shr(two_w, 4), wasm_i32x4_splat(0xE0 << 23)), wasm_i32x4_splat(0x7800000));
        const v128_t denorm = wasm_f32x4_sub(wasm_v128_or(wasm_u32x4_shr(two_w, 17), wasm_i32x4_splat(126 << 23)), wasm_f32x4_splat(0.5f));
        const v128_t small = wasm_u32x4_lt(two_w, wasm_i32x4_splat(1 << 27));
        wasm_v128_store(x + i, wasm_v128_or(wasm_v128_and(w, wasm_i32x4_splat((int32_t)0x80000000u)), wasm_v128_bitselect(denorm, norm, small)));
    }
    for (; i < n; i++) x[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(x[i] * v));
}

/* The softmax (ops/vec.c: eq_vec_softmax_ref, exp as ops/exp_f64.h), two doubles per step: four
 * accumulators hold the reference's eight partial sums. Two lanes of degree-11 double steps
 * gain little over musl's scalar expf (6.3 -> 5.2 ns a score in V8); it is here so that wasm
 * gives the native build's bits. pmax(z, lo) and pmin(z, hi) keep a NaN z, as the reference's
 * comparisons do. */
static inline v128_t eq_exp_f64x2(v128_t z) {
    z = wasm_f64x2_pmin(wasm_f64x2_pmax(z, wasm_f64x2_splat(-EQ_EXP_ZMAX)), wasm_f64x2_splat(EQ_EXP_ZMAX));
    const v128_t shift = wasm_f64x2_splat(EQ_EXP_SHIFT), t = wasm_f64x2_add(z, shift);
    const v128_t f = wasm_f64x2_sub(z, wasm_f64x2_sub(t, shift));
    v128_t p = wasm_f64x2_splat(eq_exp_c[11]);
    for (int k = 10; k >= 0; k--) p = wasm_f64x2_add(wasm_f64x2_mul(p, f), wasm_f64x2_splat(eq_exp_c[k]));
    const v128_t b = wasm_i64x2_shl(wasm_i64x2_add(t, wasm_i64x2_splat((int64_t)(1023 - EQ_EXP_SHIFT_BITS))), 52);
    return wasm_f64x2_mul(p, b);
}

/* exp of four floats' (x - mx) as floats, their doubles added into a0 (values 0, 1), a1 (2, 3) */
static inline v128_t eq_softmax4(v128_t d, v128_t *a0, v128_t *a1) {
    const v128_t l2e = wasm_f64x2_splat(EQ_EXP_LOG2E);
    const v128_t e0 = wasm_f32x4_demote_f64x2_zero(eq_exp_f64x2(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(d), l2e)));
    const v128_t e1 = wasm_f32x4_demote_f64x2_zero(eq_exp_f64x2(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(d, d, 2, 3, 0, 1)), l2e)));
    *a0 = wasm_f64x2_add(*a0, wasm_f64x2_promote_low_f32x4(e0));
    *a1 = wasm_f64x2_add(*a1, wasm_f64x2_promote_low_f32x4(e1));
    return wasm_i32x4_shuffle(e0, e1, 0, 1, 4, 5);
}

double eq_vec_softmax_wasm(int n, float *x, float scale) {
    const v128_t sv = wasm_f32x4_splat(scale);
    v128_t mv = wasm_f32x4_splat(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t s = wasm_f32x4_mul(wasm_v128_load(x + i), sv);
        wasm_v128_store(x + i, s);
        mv = wasm_f32x4_pmax(mv, s);   /* max < s ? s : max: a NaN never wins */
    }
    float mx = -INFINITY;
    for (int k = 0; k < 4; k++) {
        const float m = wasm_f32x4_extract_lane(mv, 0);
        if (m > mx) mx = m;
        mv = wasm_i32x4_shuffle(mv, mv, 1, 2, 3, 0);
    }
    mx = eq_vec_softmax_scale_max(i, n, x, scale, mx);
    const v128_t mxv = wasm_f32x4_splat(mx);
    v128_t a0 = wasm_f64x2_splat(0.0), a1 = a0, a2 = a0, a3 = a0;
    for (i = 0; i + 8 <= n; i += 8) {
        wasm_v128_store(x + i, eq_softmax4(wasm_f32x4_sub(wasm_v128_load(x + i), mxv), &a0, &a1));
        wasm_v128_store(x + i + 4, eq_softmax4(wasm_f32x4_sub(wasm_v128_load(x + i + 4), mxv), &a2, &a3));
    }
    double part[8];
    wasm_v128_store(part, a0);
    wasm_v128_store(part + 2, a1);
    wasm_v128_store(part + 4, a2);
    wasm_v128_store(part + 6, a3);
    return eq_vec_softmax_finish(i, n, x, mx, part);
}

/* SwiGLU (ops/activation.c: eq_swiglu_ref): exp(-g) in double as above, then float steps */
void eq_swiglu_wasm(float *g, const float *u, int n) {
    const v128_t l2e = wasm_f64x2_splat(EQ_EXP_LOG2E), one = wasm_f32x4_splat(1.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t x = wasm_v128_load(g + i), nx = wasm_f32x4_neg(x);
        const v128_t e0 = wasm_f32x4_demote_f64x2_zero(eq_exp_f64x2(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(nx), l2e)));
        const v128_t e1 = wasm_f32x4_demote_f64x2_zero(eq_exp_f64x2(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(nx, nx, 2, 3, 0, 1)), l2e)));
        const v128_t e = wasm_i32x4_shuffle(e0, e1, 0, 1, 4, 5);
        wasm_v128_store(g + i, wasm_f32x4_mul(wasm_f32x4_div(x, wasm_f32x4_add(one, e)), wasm_v128_load(u + i)));
    }
    eq_swiglu_finish(i, n, g, u);
}

#else
typedef int eq_quants_wasm_unused; /* ISO C wants a declaration in every translation unit. */
#endif
