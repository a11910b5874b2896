/* AVX2 twins of the attention's multiply-adds (ops/vec.c): F16C conversions (exact) and FMA,
 * with a scalar tail. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include <math.h>
#include "quant/fp16.h"

void eq_vec_mad_f16_avx2(int n, float *y, const uint16_t *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        __m256 xf = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(xf, vv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = fmaf(eq_fp16_to_fp32(x[i]), v, y[i]);
}

void eq_vec_mad_f32_avx2(int n, float *y, const float *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), vv, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(x[i], v, y[i]);
}
#endif
