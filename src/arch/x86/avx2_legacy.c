/* AVX2 kernels for the 32-value block formats: the dot products of Q4_0, Q4_1, Q5_0, Q5_1
 * and Q8_0 against their activation formats (byte products via maddubs, one FMA per block),
 * the Q8_0/Q8_1 activation quantizers (byte-identical to the refs, including roundf's ties
 * away from zero) and the Q4_0/Q8_0 dequantizers (bit-identical). */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include "arch/x86/avx2.h"
#include "quant/blocks.h"

#define F16(h) _cvtsh_ss(h)

/* ---------------- activation quantizers ---------------- */

/* roundf(): round half away from zero, from an exact truncation and an exact remainder. */
static inline __m256 round_half_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    const __m256 bump = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_or_ps(bump, sign));
}

/* One 32-value block to int8 codes the way the ref does it: d = amax/127, id = 1/d,
 * q = roundf(x*id). Returns d; *sum gets the sum of the codes. */
static inline float quant_block_q8(const float *x, int8_t *qs, int *sum) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(m, _mm256_and_ps(v[j], abs_mask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int j = 0; j < 4; j++) q[j] = _mm256_cvttps_epi32(round_half_away(_mm256_mul_ps(v[j], vid)));
    *sum = eq_avx2_hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    /* The packs interleave 128-bit lanes; one dword permute restores the order. */
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, p8);
    return d;
}

void eq_from_float_q8_0_avx2(const float *x, void *vy, int64_t k) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++) {
        int sum;
        y[i].d = _cvtss_sh(quant_block_q8(x + i * EQ_QK, y[i].qs, &sum), _MM_FROUND_TO_NEAREST_INT);
    }
}

void eq_from_float_q8_1_avx2(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++) {
        int sum;
        const float d = quant_block_q8(x + i * EQ_QK, y[i].qs, &sum);
        y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        y[i].s = _cvtss_sh((float)sum * d, _MM_FROUND_TO_NEAREST_INT);
    }
}

/* ---------------- dequantizers ---------------- */

static inline void store_bytes_scaled(__m256i bytes, float d, float *y) {
    const __m256 vd = _mm256_set1_ps(d);
    const __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
    _mm256_storeu_ps(y + 0, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), vd));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), vd));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), vd));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), vd));
}

void eq_to_float_q4_0_avx2(const void *vx, float *y, int64_t k) {
    const block_q4_0 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++)
        store_bytes_scaled(_mm256_sub_epi8(eq_avx2_nibbles(x[i].qs), _mm256_set1_epi8(8)), F16(x[i].d), y + i * EQ_QK);
}

void eq_to_float_q8_0_avx2(const void *vx, float *y, int64_t k) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++)
        store_bytes_scaled(_mm256_loadu_si256((const __m256i *)x[i].qs), F16(x[i].d), y + i * EQ_QK);
}

/* ---------------- dot products ---------------- */
/* One block: its 8-lane integer dot as floats, scaled by d_x * d_y and accumulated. Two
 * blocks per iteration into two accumulators, so consecutive FMAs do not wait on each
 * other. The scales come from one memory-form conversion per block and row (d sits at the
 * start of every block, followed by m or s in the affine formats). */
#define DOT_LOOP(XT, YT, CODES_DOT)                                                           \
    const XT *x = vx;                                                                         \
    const YT *y = vy;                                                                         \
    const int nb = n / EQ_QK;                                                                 \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                            \
    __m128 accm = _mm_setzero_ps(); /* lane 1: sum of m_x * s_y (affine formats) */           \
    int i = 0;                                                                                \
    for (; i + 1 < nb; i += 2) {                                                              \
        eq_prefetch_stream(x + i, 2 * sizeof *x);                                             \
        const __m128 p0 = _mm_mul_ps(eq_avx2_f16x4(&x[i]), eq_avx2_f16x4(&y[i]));             \
        const __m128 p1 = _mm_mul_ps(eq_avx2_f16x4(&x[i + 1]), eq_avx2_f16x4(&y[i + 1]));     \
        acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(p0), _mm256_cvtepi32_ps(CODES_DOT(i)), acc0);     \
        acc1 = _mm256_fmadd_ps(_mm256_broadcastss_ps(p1), _mm256_cvtepi32_ps(CODES_DOT(i + 1)), acc1); \
        accm = _mm_add_ps(accm, _mm_add_ps(p0, p1));                                          \
    }                                                                                         \
    for (; i < nb; i++) {                                                                     \
        const __m128 p0 = _mm_mul_ps(eq_avx2_f16x4(&x[i]), eq_avx2_f16x4(&y[i]));             \
        acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(p0), _mm256_cvtepi32_ps(CODES_DOT(i)), acc0);     \
        accm = _mm_add_ps(accm, p0);                                                          \
    }                                                                                         \
    const float summs = _mm_cvtss_f32(_mm_movehdup_ps(accm));                                 \
    (void)summs;

#define LOADY(j) _mm256_loadu_si256((const __m256i *)y[j].qs)

#define Q4_0_DOT(j) eq_avx2_dot_i8(_mm256_sub_epi8(eq_avx2_nibbles(x[j].qs), _mm256_set1_epi8(8)), LOADY(j))
void eq_vec_dot_q4_0_q8_0_avx2(int n, float *s, const void *vx, const void *vy) {
    DOT_LOOP(block_q4_0, block_q8_0, Q4_0_DOT)
    *s = eq_avx2_hsum_ps(_mm256_add_ps(acc0, acc1));
}

#define Q4_1_DOT(j) eq_avx2_dot_u8i8(eq_avx2_nibbles(x[j].qs), LOADY(j))
void eq_vec_dot_q4_1_q8_1_avx2(int n, float *s, const void *vx, const void *vy) {
    DOT_LOOP(block_q4_1, block_q8_1, Q4_1_DOT)
    *s = eq_avx2_hsum_ps(_mm256_add_ps(acc0, acc1)) + summs;
}

/* Q5_0 codes minus 16 as signed bytes: with the fifth bit the value is the nibble itself,
 * without it nibble - 16, i.e. the nibble with the upper four bits set. */
static inline __m256i q5_0_signed(const block_q5_0 *b) {
    const __m256i hi = _mm256_andnot_si256(eq_avx2_bits_to_bytes(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(eq_avx2_nibbles(b->qs), hi);
}
#define Q5_0_DOT(j) eq_avx2_dot_i8(q5_0_signed(&x[j]), LOADY(j))
void eq_vec_dot_q5_0_q8_0_avx2(int n, float *s, const void *vx, const void *vy) {
    DOT_LOOP(block_q5_0, block_q8_0, Q5_0_DOT)
    *s = eq_avx2_hsum_ps(_mm256_add_ps(acc0, acc1));
}

static inline __m256i q5_1_codes(const block_q5_1 *b) {
    const __m256i hi = _mm256_and_si256(eq_avx2_bits_to_bytes(b->qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(eq_avx2_nibbles(b->qs), hi);
}
#define Q5_1_DOT(j) eq_avx2_dot_u8i8(q5_1_codes(&x[j]), LOADY(j))
void eq_vec_dot_q5_1_q8_1_avx2(int n, float *s, const void *vx, const void *vy) {
    DOT_LOOP(block_q5_1, block_q8_1, Q5_1_DOT)
    *s = eq_avx2_hsum_ps(_mm256_add_ps(acc0, acc1)) + summs;
}

#define Q8_0_DOT(j) eq_avx2_dot_i8(_mm256_loadu_si256((const __m256i *)x[j].qs), LOADY(j))
void eq_vec_dot_q8_0_q8_0_avx2(int n, float *s, const void *vx, const void *vy) {
    DOT_LOOP(block_q8_0, block_q8_0, Q8_0_DOT)
    *s = eq_avx2_hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* One weight row against four activation rows (see avx2_kquants.c): the codes are unpacked
 * once; per token the arithmetic is the single-row kernel's, in the same order. */
#define DOT_LOOP_X4(XT, YT, CODES)                                                                \
    const XT *x = vx;                                                                             \
    const YT *y[4];                                                                               \
    for (int t = 0; t < 4; t++) y[t] = (const YT *)((const char *)vy + t * by);                   \
    const int nb = n / EQ_QK;                                                                     \
    __m256 acc0[4], acc1[4];                                                                      \
    __m128 accm[4];                                                                               \
    for (int t = 0; t < 4; t++) { acc0[t] = acc1[t] = _mm256_setzero_ps(); accm[t] = _mm_setzero_ps(); } \
    int i = 0;                                                                                    \
    for (; i + 1 < nb; i += 2) {                                                                  \
        eq_prefetch_stream(x + i, 2 * sizeof *x);                                                 \
        const __m128 f0 = eq_avx2_f16x4(&x[i]), f1 = eq_avx2_f16x4(&x[i + 1]);                    \
        const __m256i c0 = CODES(i), c1 = CODES(i + 1);                                           \
        UNROLL                                                                                    \
        for (int t = 0; t < 4; t++) {                                                             \
            const __m128 p0 = _mm_mul_ps(f0, eq_avx2_f16x4(&y[t][i]));                            \
            const __m128 p1 = _mm_mul_ps(f1, eq_avx2_f16x4(&y[t][i + 1]));                        \
            acc0[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(p0), _mm256_cvtepi32_ps(DOTC(c0, y[t][i].qs)), acc0[t]); \
            acc1[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(p1), _mm256_cvtepi32_ps(DOTC(c1, y[t][i + 1].qs)), acc1[t]); \
            accm[t] = _mm_add_ps(accm[t], _mm_add_ps(p0, p1));                                    \
        }                                                                                         \
    }                                                                                             \
    for (; i < nb; i++) {                                                                         \
        const __m128 f0 = eq_avx2_f16x4(&x[i]);                                                   \
        const __m256i c0 = CODES(i);                                                              \
        for (int t = 0; t < 4; t++) {                                                             \
            const __m128 p0 = _mm_mul_ps(f0, eq_avx2_f16x4(&y[t][i]));                            \
            acc0[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(p0), _mm256_cvtepi32_ps(DOTC(c0, y[t][i].qs)), acc0[t]); \
            accm[t] = _mm_add_ps(accm[t], p0);                                                    \
        }                                                                                         \
    }

#define LOADQ(p) _mm256_loadu_si256((const __m256i *)(p))

/* The 4-token kernels, with DOTC the byte dot for the codes' signedness; AFFINE adds the
 * m * s term (lane 1 of accm) as the 1-token kernel does. */
#define X4_KERNEL(name, XT, YT, CODES_OF, AFFINE)                                              \
    void name(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {             \
        DOT_LOOP_X4(XT, YT, CODES_OF)                                                              \
        for (int t = 0; t < 4; t++) {                                                              \
            const float sum = eq_avx2_hsum_ps(_mm256_add_ps(acc0[t], acc1[t]));                     \
            s[t * bs] = AFFINE ? sum + _mm_cvtss_f32(_mm_movehdup_ps(accm[t])) : sum;               \
        }                                                                                          \
    }

#define Q4_0_CODES(j) _mm256_sub_epi8(eq_avx2_nibbles(x[j].qs), _mm256_set1_epi8(8))
#define Q4_1_CODES(j) eq_avx2_nibbles(x[j].qs)
#define Q5_0_CODES(j) q5_0_signed(&x[j])
#define Q5_1_CODES(j) q5_1_codes(&x[j])
#define Q8_0_CODES(j) LOADQ(x[j].qs)

#define DOTC(c, q) eq_avx2_dot_i8(c, LOADQ(q))
X4_KERNEL(eq_vec_dot_x4_q4_0_q8_0_avx2, block_q4_0, block_q8_0, Q4_0_CODES, 0)
X4_KERNEL(eq_vec_dot_x4_q5_0_q8_0_avx2, block_q5_0, block_q8_0, Q5_0_CODES, 0)
X4_KERNEL(eq_vec_dot_x4_q8_0_q8_0_avx2, block_q8_0, block_q8_0, Q8_0_CODES, 0)
#undef DOTC
#define DOTC(c, q) eq_avx2_dot_u8i8(c, LOADQ(q))
X4_KERNEL(eq_vec_dot_x4_q4_1_q8_1_avx2, block_q4_1, block_q8_1, Q4_1_CODES, 1)
X4_KERNEL(eq_vec_dot_x4_q5_1_q8_1_avx2, block_q5_1, block_q8_1, Q5_1_CODES, 1)
#undef DOTC

#else
typedef int eq_avx2_legacy_unused; /* ISO C wants at least one declaration per file */
#endif
