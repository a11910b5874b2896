/* Rotary position embedding with GGML's conventions: NORM rotates adjacent pairs (llama's
 * permuted Q/K), NEOX rotates halves; angles advance by repeated multiplication in float, as
 * ggml does, so the results agree to the last bit where the math allows. */
#include "ops/ops.h"
#include <math.h>

static float yarn_ramp(float low, float high, int i0) {
    float y = (i0 / 2 - low) / fmaxf(0.001f, high - low);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

static float corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
    return n_dims * logf(n_ctx_orig / (n_rot * 2 * 3.14159265358979323846f)) / (2 * logf(base));
}

void eq_rope_yarn_corr_dims(int n_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]) {
    float start = floorf(corr_dim(n_dims, n_ctx_orig, beta_fast, freq_base));
    float end = ceilf(corr_dim(n_dims, n_ctx_orig, beta_slow, freq_base));
    dims[0] = fmaxf(0, start);
    dims[1] = fminf(n_dims - 1, end);
}

void eq_rope_apply(const eq_rope *r, float *x, int n_head, int pos) {
    float cs[512];  /* cos/sin pairs for n_rot <= 512 */
    const int n_rot = r->n_rot > 512 ? 512 : r->n_rot;
    const float theta_scale = powf(r->freq_base, -2.0f / n_rot);
    float theta = (float)pos;
    for (int i0 = 0; i0 < n_rot; i0 += 2) {
        const float ff = r->freq_factors ? r->freq_factors[i0 / 2] : 1.0f;
        const float extrap = theta / ff;
        float t = r->freq_scale * extrap, mscale = r->attn_factor;
        if (r->ext_factor != 0.0f) {
            float mix = yarn_ramp(r->corr_dims[0], r->corr_dims[1], i0) * r->ext_factor;
            t = t * (1 - mix) + extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / r->freq_scale);
        }
        cs[i0] = cosf(t) * mscale;
        cs[i0 + 1] = sinf(t) * mscale;
        theta *= theta_scale;
    }
    for (int h = 0; h < n_head; h++) {
        float *v = x + (size_t)h * r->head_dim;
        if (r->mode == EQ_ROPE_NEOX) {
            const int half = n_rot / 2;
            for (int i = 0; i < half; i++) {
                float c = cs[2 * i], s = cs[2 * i + 1];
                float x0 = v[i], x1 = v[i + half];
                v[i] = x0 * c - x1 * s;
                v[i + half] = x0 * s + x1 * c;
            }
        } else {
            for (int i0 = 0; i0 < n_rot; i0 += 2) {
                float c = cs[i0], s = cs[i0 + 1];
                float x0 = v[i0], x1 = v[i0 + 1];
                v[i0] = x0 * c - x1 * s;
                v[i0 + 1] = x0 * s + x1 * c;
            }
        }
    }
}
