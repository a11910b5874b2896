/* Row quantizers guided by an importance matrix: ggml's quantize_row_*_impl (ggml-quants.c)
 * reproduced float operation for float operation, so the bytes equal ggml_quantize_chunk's.
 * Expressions keep ggml's order of evaluation on purpose: reassociating or fusing any of
 * them changes which candidate scale wins a search. Without an importance matrix, ggml
 * (and so this file) uses the scalar reference quantizers of the type table. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off") /* a fused a*b+c would round differently from ggml */
#endif

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include "quant/quantize.h"
#include "quant/qsearch.h"
#include "quant/kernels.h"
#include "quant/blocks.h"

#define QK_K EQ_QK_K
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static inline eq_f16 to_f16(float f) { return eq_fp32_to_fp16(f); }
static inline float from_f16(eq_f16 h) { return eq_fp16_to_fp32(h); }

/* Non-negative quants in [0, nmax] of the sub-block scales, weighted by quant_weights. */
static float make_qp_quants(int n, int nmax, const float *x, uint8_t *L, const float *quant_weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = MAX(max, x[i]);
    if (max < EQ_GROUP_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)eq_nearest_int(iscale * x[i]);
    float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        float diff = x[i] - scale * L[i];
        float w = quant_weights[i];
        best_mse += w * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        float iscale_is = (0.1f * is + nmax) / max;
        float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = eq_nearest_int(iscale_is * x[i]);
            l = MIN(nmax, l);
            float diff = x[i] - scale_is * l;
            float w = quant_weights[i];
            mse += w * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = eq_nearest_int(iscale * x[i]);
        l = MIN(nmax, l);
        L[i] = (uint8_t)l;
        float w = quant_weights[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = quant_weights[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = eq_nearest_int(x[i] * sl2 / slx);
                new_l = MIN(nmax, new_l);
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* ---- K formats ---- */

static void q2_K_impl(const float *x, block_q2_K *y, int64_t k, const float *quant_weights) {
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    uint8_t Laux[16];
    float mins[QK_K / 16];
    float scales[QK_K / 16];
    float sw[QK_K / 16];
    float weight[16];
    uint8_t Ls[QK_K / 16], Lm[QK_K / 16];

    for (int64_t i = 0; i < nb; i++) {
        memset(sw, 0, sizeof sw);
        float sumx2 = 0;
        for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
        float sigma2 = sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            const float *qw = quant_weights + QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            for (int l = 0; l < QK_K / 16; ++l) sw[j] += weight[l];
            scales[j] = eq_make_qkx_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
        }

        float dm = make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
        float mm = make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
        y[i].d = to_f16(dm);
        y[i].dmin = to_f16(mm);
        dm = from_f16(y[i].d);
        mm = from_f16(y[i].dmin);
        for (int j = 0; j < QK_K / 16; ++j) y[i].scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));

        /* requantize with the rounded scales */
        for (int j = 0; j < QK_K / 16; ++j) {
            const float d = dm * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float m = mm * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = eq_nearest_int((x[16 * j + ii] + m) / d);
                l = MAX(0, MIN(3, l));
                L[16 * j + ii] = (uint8_t)l;
            }
        }
        for (int j = 0; j < QK_K; j += 128)
            for (int l = 0; l < 32; ++l)
                y[i].qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        x += QK_K;
    }
}

static void q3_K_impl(const float *x, block_q3_K *y, int64_t n_per_row, const float *quant_weights) {
    const int64_t nb = n_per_row / QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float weight[16];
    float sw[QK_K / 16];
    int8_t Ls[QK_K / 16];

    for (int64_t i = 0; i < nb; i++) {
        float sumx2 = 0;
        for (int j = 0; j < QK_K; ++j) sumx2 += x[j] * x[j];
        float sigma2 = 2 * sumx2 / QK_K;
        for (int j = 0; j < QK_K / 16; ++j) {
            const float *qw = quant_weights + QK_K * i + 16 * j;
            for (int l = 0; l < 16; ++l) weight[l] = qw[l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
            float sumw = 0;
            for (int l = 0; l < 16; ++l) sumw += weight[l];
            sw[j] = sumw;
            scales[j] = eq_make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
        }

        memset(y[i].scales, 0, 12);
        float d_block = eq_make_qx_quants(QK_K / 16, 32, scales, Ls, 1, sw);
        for (int j = 0; j < QK_K / 16; ++j) {
            int l = Ls[j];
            if (j < 8) y[i].scales[j] = (uint8_t)(l & 0xF);
            else y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
            l >>= 4;
            y[i].scales[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
        }
        y[i].d = to_f16(d_block);

        int8_t sc;
        for (int j = 0; j < QK_K / 16; ++j) {
            sc = (int8_t)(j < 8 ? y[i].scales[j] & 0xF : y[i].scales[j - 8] >> 4);
            sc = (int8_t)((sc | (((y[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
            float d = from_f16(y[i].d) * sc;
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = eq_nearest_int(x[16 * j + ii] / d);
                l = MAX(-4, MIN(3, l));
                L[16 * j + ii] = (int8_t)(l + 4);
            }
        }

        /* high bit of the first 8 quants in bit 0 of hmask, the next 8 in bit 1, ... */
        memset(y[i].hmask, 0, QK_K / 8);
        int m = 0;
        uint8_t hm = 1;
        for (int j = 0; j < QK_K; ++j) {
            if (L[j] > 3) {
                y[i].hmask[m] |= hm;
                L[j] -= 4;
            }
            if (++m == QK_K / 8) { m = 0; hm <<= 1; }
        }
        for (int j = 0; j < QK_K; j += 128)
            for (int l = 0; l < 32; ++l)
                y[i].qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        x += QK_K;
    }
}

/* Q4_K and Q5_K share everything but nmax and the bit packing. */
static void k_affine_impl(const float *x, int nmax, int clamp63, const float *quant_weights, eq_f16 *yd,
                          eq_f16 *ydmin, uint8_t *yscales, uint8_t *L) {
    uint8_t Laux[32];
    uint8_t Ls[QK_K / 32];
    uint8_t Lm[QK_K / 32];
    float weights[32];
    float sw[QK_K / 32];
    float mins[QK_K / 32];
    float scales[QK_K / 32];

    float sum_x2 = 0;
    for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
    float sigma2 = 2 * sum_x2 / QK_K;
    for (int j = 0; j < QK_K / 32; ++j) {
        const float *qw = quant_weights + 32 * j;
        for (int l = 0; l < 32; ++l) weights[l] = qw[l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = eq_make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }

    float d_block = make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
    float m_block = make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = Ls[j];
        uint8_t lm = Lm[j];
        if (clamp63) { /* ggml's Q5_K clamps (a wrapped negative code), its Q4_K does not */
            ls = MIN(63, ls);
            lm = MIN(63, lm);
        }
        if (j < 4) {
            yscales[j] = ls;
            yscales[j + 4] = lm;
        } else {
            yscales[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            yscales[j - 4] |= (uint8_t)((ls >> 4) << 6);
            yscales[j - 0] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *yd = to_f16(d_block);
    *ydmin = to_f16(m_block);

    uint8_t sc, m;
    for (int j = 0; j < QK_K / 32; ++j) {
        get_scale_min_k4(j, yscales, &sc, &m);
        const float d = from_f16(*yd) * sc;
        if (!d) continue;
        const float dm = from_f16(*ydmin) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = eq_nearest_int((x[32 * j + ii] + dm) / d);
            l = MAX(0, MIN(nmax, l));
            L[32 * j + ii] = (uint8_t)l;
        }
    }
}

static void q4_K_impl(const float *x, block_q4_K *y, int64_t n_per_row, const float *quant_weights) {
    const int64_t nb = n_per_row / QK_K;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; i++) {
        k_affine_impl(x, 15, 0, quant_weights + QK_K * i, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
            q += 32;
        }
        x += QK_K;
    }
}

static void q5_K_impl(const float *x, block_q5_K *y, int64_t n_per_row, const float *quant_weights) {
    const int64_t nb = n_per_row / QK_K;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; i++) {
        k_affine_impl(x, 31, 1, quant_weights + QK_K * i, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *qh = y[i].qh;
        uint8_t *ql = y[i].qs;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                int l2 = L[n + j + 32];
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
        x += QK_K;
    }
}

static void q6_K_impl(const float *x, block_q6_K *y, int64_t n_per_row, const float *quant_weights) {
    const int64_t nb = n_per_row / QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];

    for (int64_t i = 0; i < nb; i++) {
        float max_scale = 0;
        float max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            /* ggml passes the raw importance weights here (no sigma2 term) */
            const float *qw = quant_weights + QK_K * i + 16 * ib;
            float scale = eq_make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, qw);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < EQ_GROUP_EPS) {
            memset(&y[i], 0, sizeof(block_q6_K));
            y[i].d = to_f16(0.f);
            x += QK_K;
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = to_f16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) y[i].scales[ib] = (int8_t)MIN(127, eq_nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = from_f16(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = eq_nearest_int(x[16 * j + ii] / d);
                l = MAX(-32, MIN(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql;
        uint8_t *qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
            ql += 64;
            qh += 32;
        }
        x += QK_K;
    }
}

/* ---- legacy 32-value formats ---- */

static float row_sigma2(const float *x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

static void q4_0_impl(const float *x, block_q4_0 *y, int64_t n_per_row, const float *quant_weights) {
    float weight[EQ_QK];
    int8_t L[EQ_QK];
    const float sigma2 = row_sigma2(x, n_per_row);
    const int64_t nb = n_per_row / EQ_QK;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float *xb = x + EQ_QK * ib;
        const float *qw = quant_weights + EQ_QK * ib;
        for (int j = 0; j < EQ_QK; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float d = eq_make_qx_quants(EQ_QK, 8, xb, L, 1, weight);
        y[ib].d = to_f16(d);
        for (int j = 0; j < 16; ++j) y[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}

static void q4_1_impl(const float *x, block_q4_1 *y, int64_t n_per_row, const float *quant_weights) {
    float weight[EQ_QK];
    uint8_t L[EQ_QK], Laux[EQ_QK];
    const float sigma2 = row_sigma2(x, n_per_row);
    const int64_t nb = n_per_row / EQ_QK;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float *xb = x + EQ_QK * ib;
        const float *qw = quant_weights + EQ_QK * ib;
        for (int j = 0; j < EQ_QK; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float min;
        float d = eq_make_qkx_quants(EQ_QK, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = to_f16(d);
        y[ib].m = to_f16(-min);
        for (int j = 0; j < 16; ++j) y[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
    }
}

/* 5-bit codes: low nibbles in qs, the fifth bits gathered into the 32-bit qh */
static void pack_q5(const uint8_t *L, uint8_t *qs, uint8_t *qh_out) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const uint8_t xi0 = L[j];
        const uint8_t xi1 = L[j + 16];
        qs[j] = (uint8_t)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
        qh |= ((xi1 & 0x10u) >> 4) << (j + EQ_QK / 2);
    }
    memcpy(qh_out, &qh, sizeof qh);
}

static void q5_0_impl(const float *x, block_q5_0 *y, int64_t n_per_row, const float *quant_weights) {
    float weight[EQ_QK];
    int8_t L[EQ_QK];
    const float sigma2 = row_sigma2(x, n_per_row);
    const int64_t nb = n_per_row / EQ_QK;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float *xb = x + EQ_QK * ib;
        const float *qw = quant_weights + EQ_QK * ib;
        for (int j = 0; j < EQ_QK; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float d = eq_make_qx_quants(EQ_QK, 16, xb, L, 1, weight);
        y[ib].d = to_f16(d);
        pack_q5((const uint8_t *)L, y[ib].qs, y[ib].qh);
    }
}

static void q5_1_impl(const float *x, block_q5_1 *y, int64_t n_per_row, const float *quant_weights) {
    float weight[EQ_QK];
    uint8_t L[EQ_QK], Laux[EQ_QK];
    const float sigma2 = row_sigma2(x, n_per_row);
    const int64_t nb = n_per_row / EQ_QK;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float *xb = x + EQ_QK * ib;
        const float *qw = quant_weights + EQ_QK * ib;
        for (int j = 0; j < EQ_QK; ++j) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
        float min;
        float d = eq_make_qkx_quants(EQ_QK, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = to_f16(d);
        y[ib].m = to_f16(-min);
        pack_q5(L, y[ib].qs, y[ib].qh);
    }
}

/* ---- dispatch ---- */

int eq_quantize_supported(int type) {
    switch (type) {
    case EQ_TYPE_F32: case EQ_TYPE_F16: case EQ_TYPE_BF16:
    case EQ_TYPE_Q4_0: case EQ_TYPE_Q4_1: case EQ_TYPE_Q5_0: case EQ_TYPE_Q5_1: case EQ_TYPE_Q8_0:
    case EQ_TYPE_Q2_K: case EQ_TYPE_Q3_K: case EQ_TYPE_Q4_K: case EQ_TYPE_Q5_K: case EQ_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

typedef void (*row_impl_fn)(const float *x, void *y, int64_t n_per_row, const float *qw);

static void w_q4_0(const float *x, void *y, int64_t n, const float *qw) { q4_0_impl(x, y, n, qw); }
static void w_q4_1(const float *x, void *y, int64_t n, const float *qw) { q4_1_impl(x, y, n, qw); }
static void w_q5_0(const float *x, void *y, int64_t n, const float *qw) { q5_0_impl(x, y, n, qw); }
static void w_q5_1(const float *x, void *y, int64_t n, const float *qw) { q5_1_impl(x, y, n, qw); }
static void w_q2_K(const float *x, void *y, int64_t n, const float *qw) { q2_K_impl(x, y, n, qw); }
static void w_q3_K(const float *x, void *y, int64_t n, const float *qw) { q3_K_impl(x, y, n, qw); }
static void w_q4_K(const float *x, void *y, int64_t n, const float *qw) { q4_K_impl(x, y, n, qw); }
static void w_q5_K(const float *x, void *y, int64_t n, const float *qw) { q5_K_impl(x, y, n, qw); }
static void w_q6_K(const float *x, void *y, int64_t n, const float *qw) { q6_K_impl(x, y, n, qw); }

size_t eq_quantize_rows(int type, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                        const float *imatrix) {
    if (!eq_quantize_supported(type) || nrows < 0 || n_per_row <= 0) return 0;
    const size_t row_size = eq_row_size(type, n_per_row);
    if (!row_size) return 0;
    row_impl_fn impl = NULL;
    switch (type) {
    case EQ_TYPE_Q4_0: impl = w_q4_0; break;
    case EQ_TYPE_Q4_1: impl = w_q4_1; break;
    case EQ_TYPE_Q5_0: impl = w_q5_0; break;
    case EQ_TYPE_Q5_1: impl = w_q5_1; break;
    case EQ_TYPE_Q2_K: impl = w_q2_K; break;
    case EQ_TYPE_Q3_K: impl = w_q3_K; break;
    case EQ_TYPE_Q4_K: impl = w_q4_K; break;
    case EQ_TYPE_Q5_K: impl = w_q5_K; break;
    case EQ_TYPE_Q6_K: impl = w_q6_K; break;
    default: break; /* F32, F16, BF16 and Q8_0 take no importance weights in ggml */
    }
    uint8_t *out = dst;
    if (impl && imatrix) {
        for (int64_t r = 0; r < nrows; r++) impl(src + r * n_per_row, out + (size_t)r * row_size, n_per_row, imatrix);
    } else {
        /* the reference quantizers are what ggml_quantize_chunk uses without weights; rows are
         * whole blocks, so one call per row equals ggml's one call for all rows */
        const eq_type_traits *tr = eq_type_traits_ref(type);
        for (int64_t r = 0; r < nrows; r++) tr->from_float(src + r * n_per_row, out + (size_t)r * row_size, n_per_row);
    }
    return (size_t)nrows * row_size;
}
