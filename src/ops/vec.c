/* Small vector helpers of the attention: the SIMD twin where one is compiled in (src/arch/),
 * else the scalar loop with the same result (conversions are exact; the sums run in the same
 * order). EQ_NO_SIMD picks the scalar loops (quant/kernels.h then declares no SIMD twin). */
#include "ops/ops.h"
#include "quant/fp16.h"
#include "quant/kernels.h"   /* eq_vec_mad_*_<isa> */
#include "ops/exp_f64.h"

#include <math.h>

void eq_vec_mad_f16(int n, float *y, const uint16_t *x, float v) {
#if defined(EQ_HAVE_AVX2)
    eq_vec_mad_f16_avx2(n, y, x, v);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_vec_mad_f16_wasm(n, y, x, v);
#elif defined(EQ_HAVE_NEON)
    eq_vec_mad_f16_neon(n, y, x, v);
#else
    for (int i = 0; i < n; i++) y[i] += eq_fp16_to_fp32(x[i]) * v;
#endif
}

void eq_vec_dot_f16_rows(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                         const uint16_t *y, size_t ldy) {
#if defined(EQ_HAVE_AVX2)
    eq_vec_dot_f16_rows_avx2(n, nq, rows, s, ld, x, stride, y, ldy);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_vec_dot_f16_rows_wasm(n, nq, rows, s, ld, x, stride, y, ldy);
#elif defined(EQ_HAVE_NEON)
    eq_vec_dot_f16_rows_neon(n, nq, rows, s, ld, x, stride, y, ldy);
#else
    const eq_vec_dot_fn dot = eq_type_traits_get(EQ_TYPE_F16)->vec_dot;
    for (int q = 0; q < nq; q++)
        for (int r = 0; r < rows; r++) dot(n, &s[q * ld + r], x + (size_t)r * stride, y + q * ldy);
#endif
}

void eq_vec_mad_f16_rows(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                         const float *w, size_t ldw) {
#if defined(EQ_HAVE_AVX2)
    eq_vec_mad_f16_rows_avx2(n, nq, rows, y, ldy, x, stride, w, ldw);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_vec_mad_f16_rows_wasm(n, nq, rows, y, ldy, x, stride, w, ldw);
#elif defined(EQ_HAVE_NEON)
    eq_vec_mad_f16_rows_neon(n, nq, rows, y, ldy, x, stride, w, ldw);
#else
    for (int q = 0; q < nq; q++)
        for (int r = 0; r < rows; r++) eq_vec_mad_f16(n, y + q * ldy, x + (size_t)r * stride, w[q * ldw + r]);
#endif
}

void eq_vec_round_f16(int n, float *x, float v) {
#if defined(EQ_HAVE_AVX2)
    eq_vec_round_f16_avx2(n, x, v);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_vec_round_f16_wasm(n, x, v);
#elif defined(EQ_HAVE_NEON)
    eq_vec_round_f16_neon(n, x, v);
#else
    for (int i = 0; i < n; i++) x[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(x[i] * v));
#endif
}

void eq_vec_mad_f32(int n, float *y, const float *x, float v) {
#if defined(EQ_HAVE_AVX2)
    eq_vec_mad_f32_avx2(n, y, x, v);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_vec_mad_f32_wasm(n, y, x, v);
#else
    for (int i = 0; i < n; i++) y[i] += x[i] * v;
#endif
}

double eq_vec_softmax_ref(int n, float *x, float scale) {
    const float mx = eq_vec_softmax_scale_max(0, n, x, scale, -INFINITY);
    double part[8] = {0};
    return eq_vec_softmax_finish(0, n, x, mx, part);
}

double eq_vec_softmax(int n, float *x, float scale) {
#if defined(EQ_HAVE_AVX2)
    return eq_vec_softmax_avx2(n, x, scale);
#elif defined(EQ_HAVE_WASM_SIMD)
    return eq_vec_softmax_wasm(n, x, scale);
#elif defined(EQ_HAVE_NEON)
    return eq_vec_softmax_neon(n, x, scale);
#else
    return eq_vec_softmax_ref(n, x, scale);
#endif
}
