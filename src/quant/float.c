/* Scalar reference kernels for the float formats F32, F16 and BF16.
 * Dot products accumulate in double, as ggml's scalar path does, so the refs are the
 * accurate side of every comparison. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off") /* ggml's reference build does not fuse a*b+c */
#endif

#include <string.h>
#include "quant/kernels.h"
#include "quant/fp16.h"

void eq_to_float_f32_ref(const void *x, float *y, int64_t k) {
    if (k > 0 && (const void *)y != x) memmove(y, x, (size_t)k * sizeof(float));
}

void eq_from_float_f32_ref(const float *x, void *y, int64_t k) {
    if (k > 0 && y != (const void *)x) memmove(y, x, (size_t)k * sizeof(float));
}

void eq_to_float_f16_ref(const void *vx, float *y, int64_t k) {
    const eq_f16 *x = vx;
    for (int64_t i = 0; i < k; i++) y[i] = eq_fp16_to_fp32(x[i]);
}

void eq_from_float_f16_ref(const float *x, void *vy, int64_t k) {
    eq_f16 *y = vy;
    for (int64_t i = 0; i < k; i++) y[i] = eq_fp32_to_fp16(x[i]);
}

void eq_to_float_bf16_ref(const void *vx, float *y, int64_t k) {
    const eq_bf16 *x = vx;
    for (int64_t i = 0; i < k; i++) y[i] = eq_bf16_to_fp32(x[i]);
}

void eq_from_float_bf16_ref(const float *x, void *vy, int64_t k) {
    eq_bf16 *y = vy;
    for (int64_t i = 0; i < k; i++) y[i] = eq_fp32_to_bf16(x[i]);
}

void eq_vec_dot_f32_f32_ref(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void eq_vec_dot_f16_f16_ref(int n, float *s, const void *vx, const void *vy) {
    const eq_f16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(eq_fp16_to_fp32(x[i]) * eq_fp16_to_fp32(y[i]));
    *s = (float)sum;
}

void eq_vec_dot_bf16_bf16_ref(int n, float *s, const void *vx, const void *vy) {
    const eq_bf16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(eq_bf16_to_fp32(x[i]) * eq_bf16_to_fp32(y[i]));
    *s = (float)sum;
}
