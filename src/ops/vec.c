/* Small vector helpers of the attention, with the F16C/NEON conversions where compiled in and
 * a scalar twin with the same result (conversions are exact; the sums run in the same order).
 * EQ_NO_SIMD picks the scalar loops (see quant/kernels.h). */
#include "ops/ops.h"
#include "quant/fp16.h"
#include <math.h>

#if !defined(EQ_NO_SIMD) && defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#elif !defined(EQ_NO_SIMD) && defined(__wasm_simd128__)
#include "quant/kernels.h" /* eq_vec_mad_*_wasm: SIMD128 twins of the scalar loops below */
#endif

void eq_vec_mad_f16(int n, float *y, const uint16_t *x, float v) {
    int i = 0;
#if !defined(EQ_NO_SIMD) && defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        __m256 xf = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(xf, vv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = fmaf(eq_fp16_to_fp32(x[i]), v, y[i]);
#elif defined(EQ_HAVE_WASM_SIMD)
    (void)i;
    eq_vec_mad_f16_wasm(n, y, x, v);
#else
    for (; i < n; i++) y[i] += eq_fp16_to_fp32(x[i]) * v;
#endif
}

void eq_vec_mad_f32(int n, float *y, const float *x, float v) {
    int i = 0;
#if !defined(EQ_NO_SIMD) && defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), vv, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(x[i], v, y[i]);
#elif defined(EQ_HAVE_WASM_SIMD)
    (void)i;
    eq_vec_mad_f32_wasm(n, y, x, v);
#else
    for (; i < n; i++) y[i] += x[i] * v;
#endif
}
