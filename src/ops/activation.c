/* Gated activations: SwiGLU silu(gate) * up, GeGLU gelu(gate) * up. */
#include "ops/ops.h"
#include "quant/fp16.h"
#include <math.h>

void eq_swiglu(float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* ggml's CPU computes gelu through a 64k-entry F16 table; rounding in and out of F16 here
 * gives the same numbers without a table. */
void eq_geglu(float *g, const float *u, int n) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
    for (int i = 0; i < n; i++) {
        const float x = g[i];
        if (x <= -10.0f) { g[i] = 0.0f; continue; }
        if (x >= 10.0f) { g[i] = x * u[i]; continue; }
        const float h = eq_fp16_to_fp32(eq_fp32_to_fp16(x));
        const float y = 0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * (1.0f + coef_a * h * h)));
        g[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(y)) * u[i];
    }
}
