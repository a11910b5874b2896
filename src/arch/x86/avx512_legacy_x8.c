/* AVX-512 (BW + VNNI) kernels for Q4_0, Q4_1, Q5_0 and Q8_0 rows repacked eight at a time
 * (quant/repack.h): one 512-bit load holds eight bytes of each of eight rows, each vpdpbusd works for eight rows
 * against one broadcast of eight activation bytes, and every 32-bit lane of the sums belongs to
 * one row (two lanes a row; Q4_1's m_x * s_y goes to another accumulator, a lane a row). The
 * unpacked kernels spend most of their time on each block's float step (two scale conversions,
 * a multiply, a conversion and an add per row and block); here one of each serves eight rows. eq_q4_0x8_dot_ref, eq_q4_1x8_dot_ref and eq_q8_0x8_dot_ref
 * are this procedure in C.
 *
 * vpdpbusd multiplies unsigned by signed bytes: the codes go in unsigned (Q4_0's nibbles as
 * they are, Q5_0's with the fifth bit, Q8_0's plus 128) and the offset times the activations' sum, the same for all eight
 * rows, comes off the integer sum: exact. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX512)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m512i bcast8(const int8_t *p) { return _mm512_set1_epi64(eq_load_i64(p)); }

/* Four chunks of codes (repack.h) of block b, unsigned; SHIFT: log2 of the offset (0: none);
 * MIN: Q4_1's m_x * s_y per row, in accm. */
#define LEGACY_X8_BODY(XT, YT, SHIFT, CODES, MIN)                                                  \
    const XT *x = vx;                                                                              \
    const YT *y[4];                                                                                \
    for (int t = 0; t < NT; t++) y[t] = (const YT *)((const char *)vy + t * by);                   \
    const __m512i ones = _mm512_set1_epi8(1);                                                      \
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);         \
    __m512 acc[4];                                                                                 \
    __m256 accm[4];                                                                                \
    for (int t = 0; t < NT; t++) { acc[t] = _mm512_setzero_ps(); accm[t] = _mm256_setzero_ps(); }  \
    for (int i = 0; i < n / EQ_QK; i++) {                                                          \
        const XT *b = x + i;                                                                       \
        if (NT == 1) eq_prefetch_stream(b, sizeof *b);                                             \
        const __m512 xd = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d)))); \
        __m512i c[4];                                                                              \
        CODES                                                                                      \
        UNROLL                                                                                     \
        for (int t = 0; t < NT; t++) {                                                             \
            const int8_t *q8 = y[t][i].qs;                                                         \
            __m512i dot = _mm512_setzero_si512(), sum = _mm512_setzero_si512();                    \
            UNROLL                                                                                 \
            for (int k = 0; k < 4; k++) {                                                          \
                const __m512i a = bcast8(q8 + 8 * k);                                              \
                dot = _mm512_dpbusd_epi32(dot, c[k], a);                                           \
                if (SHIFT) sum = _mm512_dpbusd_epi32(sum, ones, a);                                \
            }                                                                                      \
            const __m512i isum = SHIFT ? _mm512_sub_epi32(dot, _mm512_slli_epi32(sum, SHIFT)) : dot; \
            /* multiply, then add, as the procedure in C */                                        \
            const __m512 p = _mm512_mul_ps(_mm512_mul_ps(xd, _mm512_set1_ps(_cvtsh_ss(y[t][i].d))), _mm512_cvtepi32_ps(isum)); \
            acc[t] = _mm512_add_ps(acc[t], p);                                                     \
            MIN                                                                                    \
        }                                                                                          \
    }                                                                                              \
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);  \
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);   \
    for (int t = 0; t < NT; t++) {                                                                 \
        const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(even, acc[t])), \
                                       _mm512_castps512_ps256(_mm512_permutexvar_ps(odd, acc[t]))); \
        _mm256_storeu_ps(s + t * bs, _mm256_add_ps(a, accm[t]));                                   \
    }

/* Q4_0 and Q4_1: the low nibbles of the two chunks are values 0-7 and 8-15, the high ones 16-31 */
#define Q4_0_CODES                                                                                 \
    {                                                                                              \
        const __m512i m4 = _mm512_set1_epi8(0x0F);                                                 \
        const __m512i p0 = _mm512_loadu_si512((const void *)b->qs[0]);                             \
        const __m512i p1 = _mm512_loadu_si512((const void *)b->qs[1]);                             \
        c[0] = _mm512_and_si512(p0, m4);                                                           \
        c[1] = _mm512_and_si512(p1, m4);                                                           \
        c[2] = _mm512_and_si512(_mm512_srli_epi16(p0, 4), m4);                                     \
        c[3] = _mm512_and_si512(_mm512_srli_epi16(p1, 4), m4);                                     \
    }
/* Q5_0: Q4_0's nibbles plus 16 where the fifth bit is set (one mask a chunk, repack.h) */
#define Q5_0_CODES                                                                                 \
    Q4_0_CODES                                                                                     \
    UNROLL                                                                                         \
    for (int k = 0; k < 4; k++)                                                                    \
        c[k] = _mm512_mask_add_epi8(c[k], (__mmask64)eq_load_i64(b->qh[k]), c[k], _mm512_set1_epi8(16));
/* Q8_0: the codes plus 128, their sign bit flipped */
#define Q8_0_CODES                                                                                 \
    UNROLL                                                                                         \
    for (int k = 0; k < 4; k++)                                                                    \
        c[k] = _mm512_xor_si512(_mm512_loadu_si512((const void *)b->qs[k]), _mm512_set1_epi8((char)0x80));

/* m_x * s_y, then added: the procedure's order */
#define Q4_1_MIN                                                                                   \
    accm[t] = _mm256_add_ps(accm[t], _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->m)), \
                                                   _mm256_set1_ps(_cvtsh_ss(y[t][i].s))));

static inline __attribute__((always_inline))
void q4_0x8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    LEGACY_X8_BODY(block_q4_0x8, block_q8_0, 3, Q4_0_CODES, )
}
static inline __attribute__((always_inline))
void q4_1x8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    LEGACY_X8_BODY(block_q4_1x8, block_q8_1, 0, Q4_0_CODES, Q4_1_MIN)
}
static inline __attribute__((always_inline))
void q5_0x8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    LEGACY_X8_BODY(block_q5_0x8, block_q8_0, 4, Q5_0_CODES, )
}
static inline __attribute__((always_inline))
void q8_0x8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    LEGACY_X8_BODY(block_q8_0x8, block_q8_0, 7, Q8_0_CODES, )
}

void eq_vec_dot_p8x1_q4_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_0x8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q4_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_0x8_tokens(n, s, bs, vx, vy, by, 4);
}
void eq_vec_dot_p8x1_q4_1_q8_1_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_1x8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q4_1_q8_1_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_1x8_tokens(n, s, bs, vx, vy, by, 4);
}
void eq_vec_dot_p8x1_q5_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q5_0x8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q5_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q5_0x8_tokens(n, s, bs, vx, vy, by, 4);
}
void eq_vec_dot_p8x1_q8_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q8_0x8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q8_0_q8_0_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q8_0x8_tokens(n, s, bs, vx, vy, by, 4);
}

#else
typedef int eq_avx512_legacy_x8_unused; /* ISO C wants at least one declaration per file */
#endif
