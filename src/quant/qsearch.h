/* Scale searches for block quantizers (src/quant/qsearch.c), shared by the reference and the
 * importance-weighted quantizers. */
#ifndef EQ_QSEARCH_H
#define EQ_QSEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define EQ_GROUP_EPS 1e-15f /* a group whose largest |x| is below this is all zeros */

/* Round half to even through the float adder, as ggml does (valid for |v| < 2^22). */
static inline int eq_nearest_int(float v) {
    const float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

/* Symmetric quants L in [0, 2*nmax) (l + nmax, l in [-nmax, nmax-1]) with a weighted search over
 * 18 scales around nmax/max; weights qw, or by rmse_type when NULL (1: x^2, 2: 1, 3: |x|,
 * else sqrt|x|; 0: no search, negative: early average). Returns the scale. */
float eq_make_qx_quants(int n, int nmax, const float *x, int8_t *L, int rmse_type, const float *qw);

/* Affine quants x ~ scale * L - the_min, L in [0, nmax], with a weighted least-squares search
 * over nstep+1 candidate scales (weights NULL: x^2). Returns the scale. */
float eq_make_qkx_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                         uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad);

#endif
