/* Gated activations: SwiGLU silu(gate) * up, GeGLU gelu(gate) * up. */
#include "ops/ops.h"
#include "ops/exp_f64.h"
#include "quant/fp16.h"
#include "quant/kernels.h"   /* eq_swiglu_<isa> */
#include <math.h>
#include <stdint.h>

void eq_swiglu_ref(float *g, const float *u, int n) {
    eq_swiglu_finish(0, n, g, u);
}

/* 8 (AVX-512), 4 (AVX2, wasm, NEON) values a step instead of a libm expf call and a division each:
 * pp128 on the 1.1B spent 5% of its time here */
void eq_swiglu(float *g, const float *u, int n) {
#if defined(EQ_HAVE_AVX2)
    eq_swiglu_avx2(g, u, n);
#elif defined(EQ_HAVE_WASM_SIMD)
    eq_swiglu_wasm(g, u, n);
#elif defined(EQ_HAVE_NEON)
    eq_swiglu_neon(g, u, n);
#else
    eq_swiglu_ref(g, u, n);
#endif
}

/* gelu's tanh form on an F16 input, rounded to F16: ggml's CPU reads it from a 64k-entry F16
 * table, and so does eq_geglu when given one (eq_gelu_table fills it; the numbers are the same
 * either way, the table only saves the tanh). */
static uint16_t gelu_f16(uint16_t h16) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
    const float h = eq_fp16_to_fp32(h16);
    return eq_fp32_to_fp16(0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * (1.0f + coef_a * h * h))));
}

void eq_gelu_table(uint16_t table[65536]) {
    for (uint32_t i = 0; i < 65536; i++) table[i] = gelu_f16((uint16_t)i);
}

void eq_geglu(float *g, const float *u, int n, const uint16_t *table) {
    for (int i = 0; i < n; i++) {
        const float x = g[i];
        if (x <= -10.0f) { g[i] = 0.0f; continue; }
        if (x >= 10.0f) { g[i] = x * u[i]; continue; }
        const uint16_t h16 = eq_fp32_to_fp16(x);
        g[i] = eq_fp16_to_fp32(table ? table[h16] : gelu_f16(h16)) * u[i];
    }
}
