/* AVX2 + FMA + F16C kernels for F32, F16 and BF16: conversions (bit-identical to the refs
 * for every non-NaN value) and dot products (float accumulators, 32 values per step). */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include "arch/x86/avx2.h"
#include "quant/fp16.h"

void eq_to_float_f16_avx2(const void *vx, float *y, int64_t k) {
    const eq_f16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < k; i++) y[i] = eq_fp16_to_fp32(x[i]);
}

void eq_from_float_f16_avx2(const float *x, void *vy, int64_t k) {
    eq_f16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < k; i++) y[i] = eq_fp32_to_fp16(x[i]);
}

static inline __m256 bf16x8_to_ps(const eq_bf16 *p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

void eq_to_float_bf16_avx2(const void *vx, float *y, int64_t k) {
    const eq_bf16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) _mm256_storeu_ps(y + i, bf16x8_to_ps(x + i));
    for (; i < k; i++) y[i] = eq_bf16_to_fp32(x[i]);
}

/* Round to nearest even on the bit pattern; NaN becomes a quiet NaN, as in the ref. */
static inline __m256i ps_to_bf16_bits(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

void eq_from_float_bf16_avx2(const float *x, void *vy, int64_t k) {
    eq_bf16 *y = vy;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256i a = ps_to_bf16_bits(_mm256_loadu_ps(x + i));
        const __m256i b = ps_to_bf16_bits(_mm256_loadu_ps(x + i + 8));
        /* packus works per 128-bit lane: fix the order with a 64-bit permute. */
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < k; i++) y[i] = eq_fp32_to_bf16(x[i]);
}

/* Four independent accumulators hide the FMA latency; x (the weights) is asked for ahead. */
#define DOT_BODY(LOAD, x, y, SCALAR)                                                     \
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                          \
    int i = 0;                                                                           \
    for (; i + 32 <= n; i += 32) {                                                       \
        eq_prefetch_l2(x + i, EQ_STREAM_AHEAD, 32 * sizeof *x);                          \
        a0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), a0);                              \
        a1 = _mm256_fmadd_ps(LOAD(x + i + 8), LOAD(y + i + 8), a1);                      \
        a2 = _mm256_fmadd_ps(LOAD(x + i + 16), LOAD(y + i + 16), a2);                    \
        a3 = _mm256_fmadd_ps(LOAD(x + i + 24), LOAD(y + i + 24), a3);                    \
    }                                                                                    \
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), a0);       \
    float sum = eq_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
    for (; i < n; i++) sum += SCALAR(x[i]) * SCALAR(y[i]);                               \
    *s = sum;

#define LOAD_F32(p) _mm256_loadu_ps(p)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD_BF16(p) bf16x8_to_ps(p)
#define SCALAR_F32(v) (v)

void eq_vec_dot_f32_f32_avx2(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    DOT_BODY(LOAD_F32, x, y, SCALAR_F32)
}

void eq_vec_dot_f16_f16_avx2(int n, float *s, const void *vx, const void *vy) {
    const eq_f16 *x = vx, *y = vy;
    DOT_BODY(LOAD_F16, x, y, eq_fp16_to_fp32)
}

void eq_vec_dot_bf16_bf16_avx2(int n, float *s, const void *vx, const void *vy) {
    const eq_bf16 *x = vx, *y = vy;
    DOT_BODY(LOAD_BF16, x, y, eq_bf16_to_fp32)
}

#else
typedef int eq_avx2_float_unused; /* ISO C wants at least one declaration per file */
#endif
