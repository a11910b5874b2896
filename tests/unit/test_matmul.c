/* The threaded matmul: every output equals the single vec_dot of its row and token, bit for
 * bit, for any batch size and any thread count (the 4-token kernels included). */
#include "eqtest.h"
#include "ops/ops.h"
#include "quant/quant.h"
#include "quant/blocks.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }
static float frand(void) { return (float)(next() % 20001) / 10000.0f - 1.0f; }

int main(void) {
    const int types[] = {EQ_TYPE_F32, EQ_TYPE_F16, EQ_TYPE_BF16, EQ_TYPE_Q4_0, EQ_TYPE_Q4_1, EQ_TYPE_Q5_0, EQ_TYPE_Q5_1,
                         EQ_TYPE_Q8_0, EQ_TYPE_Q2_K, EQ_TYPE_Q3_K, EQ_TYPE_Q4_K, EQ_TYPE_Q5_K, EQ_TYPE_Q6_K};
    const int K = 512, R = 37, TMAX = 11;
    float *wf = malloc(sizeof(float) * K * R), *x = malloc(sizeof(float) * K * TMAX);
    float *out = malloc(sizeof(float) * R * TMAX), *ref = malloc(sizeof(float) * R * TMAX);
    for (int i = 0; i < K * R; i++) wf[i] = frand() * 0.5f;
    for (int i = 0; i < K * TMAX; i++) x[i] = frand() * 3.0f;
    eq_pool *pools[3] = {eq_pool_new(1), eq_pool_new(2), eq_pool_new(3)};
    int n_x4 = 0;
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const int type = types[ti];
        const eq_type_traits *tt = eq_type_traits_get(type), *at = eq_type_traits_get(tt->vec_dot_type);
        const size_t rs = eq_row_size(type, K), qs = eq_row_size(tt->vec_dot_type, K);
        char *w = malloc(rs * R), *xq = malloc(qs * TMAX), *qbuf = malloc(eq_matmul_qbuf_size(type, K, TMAX) + 64);
        for (int r = 0; r < R; r++) eq_type_traits_ref(type)->from_float(wf + (size_t)r * K, w + r * rs, K);
        for (int t = 0; t < TMAX; t++) at->from_float(x + (size_t)t * K, xq + t * qs, K);
        /* the oracle: one vec_dot per output */
        for (int t = 0; t < TMAX; t++)
            for (int r = 0; r < R; r++) tt->vec_dot(K, &ref[t * R + r], w + r * rs, xq + t * qs);
        eq_weight W = {w, type, K, R, rs, NULL};
        int ok = 1;
        for (int p = 0; p < 3; p++)
            for (int T = 1; T <= TMAX; T += (T < 5 ? 1 : 3)) {
                memset(out, 0xff, sizeof(float) * R * TMAX);
                eq_matmul(pools[p], &W, x, T, out, R, qbuf);
                for (int i = 0; i < T * R; i++)
                    if (memcmp(&out[i], &ref[i], sizeof(float))) { ok = 0; break; }
            }
        CHECKF(ok, "%s: matmul differs from vec_dot (batch sizes 1..11, 1-3 threads)", eq_type_name(type));
        eq_vec_dot_x4_fn x4 = eq_vec_dot_x4_get(type);
        if (x4) {
            n_x4++;
            float s4[4 * 3];
            x4(K, s4, 3, w + 5 * rs, xq + 2 * qs, qs);
            int same = 1;
            for (int t = 0; t < 4; t++) same &= !memcmp(&s4[t * 3], &ref[(2 + t) * R + 5], sizeof(float));
            CHECKF(same, "%s: 4-token kernel is not bit-identical to vec_dot", eq_type_name(type));
        }
        free(w); free(xq); free(qbuf);
    }
    printf("4-token kernels in this build (%s): %d\n", eq_quant_isa(), n_x4);
    for (int p = 0; p < 3; p++) eq_pool_free(pools[p]);
    free(wf); free(x); free(out); free(ref);
    return eqt_done();
}
