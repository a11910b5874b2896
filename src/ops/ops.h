/* The operations of the forward pass, each on plain float rows; matmul on quantized weights. */
#ifndef EQ_OPS_H
#define EQ_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "ops/weight.h"
#include "runtime/threadpool.h"

/* out[t][r] = dot(W row r, x[t]) for t < T, r < W.ne1 (x rows are W.ne0 long, out rows
 * ld_out long). The activations are converted to the weight type's vec_dot_type in qbuf
 * (eq_matmul_qbuf_size bytes). Parallel over rows; the result is the same for any pool size. */
void   eq_matmul(eq_pool *pool, const eq_weight *w, const float *x, int T, float *out, int ld_out, void *qbuf);
size_t eq_matmul_qbuf_size(int type, int64_t ne0, int T);

/* out = x / rms(x) * w  (w may be NULL) */
void eq_rmsnorm(float *out, const float *x, const float *w, int n, float eps);
/* y += b for T rows of n */
void eq_add_bias(float *y, const float *b, int n, int T, int ld);

typedef enum { EQ_ROPE_NORM = 0, EQ_ROPE_NEOX = 2 } eq_rope_type;  /* GGML's mode numbers */

/* Rotate pairs of x (n_head heads of head_dim; first n_rot dims rotated) for position pos.
 * The angles are computed on each call, pos * freq_base^(-2i/n_rot) by repeated
 * multiplication as ggml does (see rope.c). */
typedef struct {
    int n_rot, head_dim, mode;            /* mode: EQ_ROPE_NORM or EQ_ROPE_NEOX */
    float freq_base, freq_scale, attn_factor;
    float ext_factor, corr_dims[2];       /* YaRN */
    const float *freq_factors;            /* n_rot/2 divisors or NULL */
} eq_rope;
void eq_rope_apply(const eq_rope *r, float *x, int n_head, int pos);
void eq_rope_yarn_corr_dims(int n_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]);

/* y[i] += v * x[i] over an F16 row (the attention's weighted sum of cached values) */
void eq_vec_mad_f16(int n, float *y, const uint16_t *x, float v);
void eq_vec_mad_f32(int n, float *y, const float *x, float v);
/* x[i] = x[i] * v, rounded to F16 (nearest, ties to even) and back, as eq_fp32_to_fp16 does */
void eq_vec_round_f16(int n, float *x, float v);
/* The softmax of one head's scores, unnormalised: x[i] = exp(x[i] * scale - max), returning the
 * sum of the x[i] (the caller divides, rounding to F16 where the V cache is F16). exp is
 * ops/exp_f64.h's; the sum runs in double, value i into partial sum i % 8, the partials added as
 * eq_vec_softmax_sum does, so that SIMD twins with 2, 4 or 8 lanes give the same bits.
 * eq_vec_softmax_ref is the procedure in C, the tests' oracle. */
double eq_vec_softmax(int n, float *x, float scale);
double eq_vec_softmax_ref(int n, float *x, float scale);
/* The same over many cached rows at once (row r of n F16 values at x + r * stride) for nq
 * queries that read the same rows (the heads of one KV head), with the results of the one-row
 * functions bit for bit: s[q * ld + r] = the F16 vec_dot (eq_type_traits) of row r and query
 * y + q * ldy, and y + q * ldy += w[q * ldw + r] * row r for r = 0, 1, ... in turn
 * (eq_vec_mad_f16 per row). */
void eq_vec_dot_f16_rows(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                         const uint16_t *y, size_t ldy);
void eq_vec_mad_f16_rows(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                         const float *w, size_t ldw);

/* silu(g) * u, elementwise, into g: g / (1 + exp(-g)) * u with exp as ops/exp_f64.h (double
 * precision, rounded once), in float steps after it. The SIMD twin where one is compiled in
 * gives eq_swiglu_ref's bits (the tests' oracle). */
void eq_swiglu(float *g, const float *u, int n);
void eq_swiglu_ref(float *g, const float *u, int n);
/* gelu(g) * u, elementwise, into g: gelu's tanh form on g rounded to F16 and the result
 * rounded to F16 again, as ggml's CPU reads it from its F16 table (|g| >= 10: 0 or g).
 * table: NULL, or filled by eq_gelu_table (same numbers, no tanh per element). */
void eq_geglu(float *g, const float *u, int n, const uint16_t *table);
void eq_gelu_table(uint16_t table[65536]);

#endif
