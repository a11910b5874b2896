/* SwiGLU: silu(gate) * up. */
#include "ops/ops.h"
#include <math.h>

void eq_swiglu(float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
