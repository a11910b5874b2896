/* Scale and minimum helpers shared by the x86 Q4_K/Q5_K kernels (avx2_kquants.c and
 * avx512_kquants.c): both must do these steps identically, since the 4-token kernels have to
 * reproduce the single-row kernel bit for bit. Included only where __AVX2__ is on. */
#ifndef EQ_ARCH_X86_KQUANTS_X86_H
#define EQ_ARCH_X86_KQUANTS_X86_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define F16(h) _cvtsh_ss(h)

/* The 8 scales (low 128 bits) and 8 mins (high) of a Q4_K/Q5_K block as int16. */
static inline __m256i k4_scales_mins(const uint8_t *packed) {
    uint32_t u[4];
    memcpy(u, packed, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    const uint32_t sc_lo = u[0] & k1;                                     /* scales 0..3 */
    const uint32_t sc_hi = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);       /* scales 4..7 */
    const uint32_t mn_lo = u[1] & k1;                                     /* mins 0..3 */
    const uint32_t mn_hi = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4); /* mins 4..7 */
    return _mm256_cvtepu8_epi16(_mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi));
}

/* dmin * sum_j min[j] * (bsums[2j] + bsums[2j+1]) as 4 float lanes to accumulate. */
static inline __m128 k4_min_term(__m256i scales_mins, const int16_t *bsums) {
    const __m256i b = _mm256_loadu_si256((const __m256i *)bsums);
    const __m128i pairs = _mm_hadd_epi16(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    return _mm_cvtepi32_ps(_mm_madd_epi16(_mm256_extracti128_si256(scales_mins, 1), pairs));
}

static inline float hsum_ps4(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

#endif
