/* RMS norm, as ggml computes it (sum of squares in double, then one float scale). */
#include "ops/ops.h"
#include <math.h>

void eq_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    if (w) for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
    else   for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

void eq_add_bias(float *y, const float *b, int n, int T, int ld) {
    for (int t = 0; t < T; t++)
        for (int i = 0; i < n; i++) y[(size_t)t * ld + i] += b[i];
}
