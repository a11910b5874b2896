/* AVX2 kernels for Q4_0, Q4_1, Q5_0 and Q8_0 rows repacked eight at a time (quant/repack.h), for CPUs
 * without AVX-512 (avx512_legacy_x8.c): a 256-bit half of each 64-byte chunk holds eight bytes
 * of four rows (rows 0-3 in the first half, 4-7 in the second), one byte dot per half works for
 * four rows against a broadcast of eight activation bytes, and every 32-bit lane of the sums
 * belongs to one row (its bytes 0-3 or 4-7 of each eight). One float step serves four rows.
 * Same integers and float steps as eq_q4_0x8_dot_ref, eq_q4_1x8_dot_ref and eq_q8_0x8_dot_ref,
 * with VNNI or without (Q4_1: Q4_0's codes with no offset, and m_x * s_y a lane a row):
 *   Q4_0  the nibbles as unsigned bytes, less 8 times the activations' sum (one sum for all
 *         rows); without VNNI the products are added in 16 bits (at most 8 * 15 * 127 and
 *         8 * 8 * 127) before one vpmaddwd;
 *   Q5_0  Q4_0's with the fifth bit (16) and an offset of 16 (without VNNI: 8 * 31 * 127 and
 *         8 * 16 * 127, their difference exact in 16 bits);
 *   Q8_0  with VNNI the codes plus 128 and 128 times the sum off; without, the sign trick
 *         (|w| times a with w's sign, pairs within 2 * 128 * 127) and a vpmaddwd per chunk. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"
#include <string.h>

static inline __m256i bcast8(const int8_t *p) { return _mm256_set1_epi64x(eq_load_i64(p)); }

enum { Q4_0, Q8_0, Q4_1, Q5_0 };

/* Halves g0 .. g0 + ng - 1 (rows 4 g .. 4 g + 3) of NT tokens: one pass over both halves for
 * one token, a pass per half for four (their codes and sums would not fit the 16 registers). */
static inline __attribute__((always_inline))
void legacy_x8(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT, const int fmt,
               const int g0, const int ng) {
    const int q8 = fmt == Q8_0;
    const size_t bsz = q8 ? sizeof(block_q8_0x8) : fmt == Q4_1 ? sizeof(block_q4_1x8)
                     : fmt == Q5_0 ? sizeof(block_q5_0x8) : sizeof(block_q4_0x8);
    /* activation blocks: Q8_0 (d, qs) or, for Q4_1, Q8_1 (d, s, qs) */
    const size_t ysz = fmt == Q4_1 ? sizeof(block_q8_1) : sizeof(block_q8_0), yqs = fmt == Q4_1 ? 4 : 2;
    const char *y[4];
    for (int t = 0; t < NT; t++) y[t] = (const char *)vy + t * by;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    __m256 acc[4][2];
    __m128 accm[4][2];   /* Q4_1: m_x * s_y, a lane a row */
    for (int t = 0; t < NT; t++) {
        acc[t][0] = acc[t][1] = _mm256_setzero_ps();
        accm[t][0] = accm[t][1] = _mm_setzero_ps();
    }
    for (int i = 0; i < n / EQ_QK; i++) {
        const char *b = (const char *)vx + (size_t)i * bsz;
        const uint8_t *qs = (const uint8_t *)b + (fmt == Q4_1 ? 16 : 8) * sizeof(eq_f16) + (fmt == Q5_0 ? 32 : 0);
        if (g0 == 0) eq_prefetch_stream(b, bsz);
        __m256i c[2][4];   /* per half, values 8 k .. 8 k + 7 of its rows */
        __m256 xd[2];
        __m128 xm[2];
        for (int g = g0; g < g0 + ng; g++) {
            xd[g - g0] = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(eq_avx2_f16x4((const eq_f16 *)b + 4 * g)), dup);
            if (fmt == Q4_1) xm[g - g0] = eq_avx2_f16x4((const eq_f16 *)b + 8 + 4 * g);
            if (q8) {
                UNROLL
                for (int k = 0; k < 4; k++) {
                    const __m256i w = _mm256_loadu_si256((const __m256i *)(qs + 64 * k + 32 * g));
#if defined(EQ_AVX2_VNNI)
                    c[g - g0][k] = _mm256_xor_si256(w, _mm256_set1_epi8((char)0x80));
#else
                    c[g - g0][k] = w;   /* its sign applies to the activations below */
#endif
                }
            } else {
                const __m256i p0 = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
                const __m256i p1 = _mm256_loadu_si256((const __m256i *)(qs + 64 + 32 * g));
                c[g - g0][0] = _mm256_and_si256(p0, m4);
                c[g - g0][1] = _mm256_and_si256(p1, m4);
                c[g - g0][2] = _mm256_and_si256(_mm256_srli_epi16(p0, 4), m4);
                c[g - g0][3] = _mm256_and_si256(_mm256_srli_epi16(p1, 4), m4);
                if (fmt == Q5_0) {   /* plus 16 where the fifth bit is set: the half's 32 bits of each mask */
                    const uint8_t *qh = (const uint8_t *)b + 8 * sizeof(eq_f16);
                    UNROLL
                    for (int k = 0; k < 4; k++)
                        c[g - g0][k] = _mm256_or_si256(c[g - g0][k], _mm256_and_si256(eq_avx2_bits_to_bytes(qh + 8 * k + 4 * g),
                                                                                   _mm256_set1_epi8(16)));
                }
            }
        }
        UNROLL
        for (int t = 0; t < NT; t++) {
            const char *yb = y[t] + (size_t)i * ysz;
            const int8_t *a8 = (const int8_t *)(yb + yqs);
            __m256i a[4];
            UNROLL
            for (int k = 0; k < 4; k++) a[k] = bcast8(a8 + 8 * k);
            __m256i isum[2];
#if defined(EQ_AVX2_VNNI)
            /* the offset times the activations' sum, the same for every row (none for Q4_1) */
            __m256i sum = _mm256_setzero_si256();
            if (fmt != Q4_1) {
                UNROLL
                for (int k = 0; k < 4; k++) sum = eq_avx2_dpbusd(sum, _mm256_set1_epi8(1), a[k]);
            }
            const __m256i off = _mm256_slli_epi32(sum, q8 ? 7 : fmt == Q5_0 ? 4 : 3);
            for (int h = 0; h < ng; h++) {
                __m256i dot = _mm256_setzero_si256();
                UNROLL
                for (int k = 0; k < 4; k++) dot = eq_avx2_dpbusd(dot, c[h][k], a[k]);
                isum[h] = _mm256_sub_epi32(dot, off);
            }
#else
            const __m256i ones16 = _mm256_set1_epi16(1);
            if (q8) {
                for (int h = 0; h < ng; h++) {
                    __m256i dot = _mm256_setzero_si256();
                    UNROLL
                    for (int k = 0; k < 4; k++) {
                        const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(c[h][k]), _mm256_sign_epi8(a[k], c[h][k]));
                        dot = _mm256_add_epi32(dot, _mm256_madd_epi16(p, ones16));
                    }
                    isum[h] = dot;
                }
            } else {
                __m256i off = _mm256_setzero_si256();
                if (fmt != Q4_1) {
                    UNROLL
                    for (int k = 0; k < 4; k++)
                        off = _mm256_add_epi16(off, _mm256_maddubs_epi16(_mm256_set1_epi8(fmt == Q5_0 ? 16 : 8), a[k]));
                }
                for (int h = 0; h < ng; h++) {
                    __m256i dot = _mm256_maddubs_epi16(c[h][0], a[0]);
                    UNROLL
                    for (int k = 1; k < 4; k++) dot = _mm256_add_epi16(dot, _mm256_maddubs_epi16(c[h][k], a[k]));
                    isum[h] = _mm256_madd_epi16(_mm256_sub_epi16(dot, off), ones16);
                }
            }
#endif
            /* multiply, then add, as the procedure in C */
            eq_f16 hd, hs;
            memcpy(&hd, yb, sizeof hd);
            const __m256 dy = _mm256_set1_ps(_cvtsh_ss(hd));
            for (int h = 0; h < ng; h++)
                acc[t][h] = _mm256_add_ps(acc[t][h], _mm256_mul_ps(_mm256_mul_ps(xd[h], dy), _mm256_cvtepi32_ps(isum[h])));
            if (fmt == Q4_1) {
                memcpy(&hs, yb + sizeof(eq_f16), sizeof hs);
                const __m128 sy = _mm_set1_ps(_cvtsh_ss(hs));
                for (int h = 0; h < ng; h++) accm[t][h] = _mm_add_ps(accm[t][h], _mm_mul_ps(xm[h], sy));
            }
        }
    }
    /* row r's two lanes added: lanes 2 r and 2 r + 1 of its half */
    for (int t = 0; t < NT; t++)
        for (int h = 0; h < ng; h++)
            _mm_storeu_ps(s + t * bs + 4 * (g0 + h),
                          _mm_add_ps(_mm_hadd_ps(_mm256_castps256_ps128(acc[t][h]), _mm256_extractf128_ps(acc[t][h], 1)), accm[t][h]));
}

void eq_vec_dot_p8x1_q4_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 1, Q4_0, 0, 2);
}
void eq_vec_dot_p8x4_q4_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 4, Q4_0, 0, 1);
    legacy_x8(n, s, bs, vx, vy, by, 4, Q4_0, 1, 1);
}
void eq_vec_dot_p8x1_q4_1_q8_1_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 1, Q4_1, 0, 2);
}
void eq_vec_dot_p8x4_q4_1_q8_1_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 4, Q4_1, 0, 1);
    legacy_x8(n, s, bs, vx, vy, by, 4, Q4_1, 1, 1);
}
void eq_vec_dot_p8x1_q5_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 1, Q5_0, 0, 2);
}
void eq_vec_dot_p8x4_q5_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 4, Q5_0, 0, 1);
    legacy_x8(n, s, bs, vx, vy, by, 4, Q5_0, 1, 1);
}
void eq_vec_dot_p8x1_q8_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 1, Q8_0, 0, 2);
}
void eq_vec_dot_p8x4_q8_0_q8_0_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    legacy_x8(n, s, bs, vx, vy, by, 4, Q8_0, 0, 1);
    legacy_x8(n, s, bs, vx, vy, by, 4, Q8_0, 1, 1);
}

#else
typedef int eq_avx2_legacy_x8_unused; /* ISO C wants at least one declaration per file */
#endif
