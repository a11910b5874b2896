/* Scalar reference kernels for the legacy 32-value block formats Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0 and Q8_1. The quantizers reproduce ggml's quantize_row_*_ref byte for byte (the same
 * float operations in the same order), so files we write load identically in llama.cpp;
 * the dot products follow ggml's scalar vec_dot term for term. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off") /* a fused a*b+c would round differently from ggml */
#endif

#include <float.h>
#include <math.h>
#include <string.h>
#include "quant/kernels.h"
#include "quant/blocks.h"

/* The value of largest magnitude (first one on ties), sign kept: the symmetric formats map
 * it to the most negative code so that it is represented exactly. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo; *mx = hi;
}

static float absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) { const float a = fabsf(x[j]); amax = amax > a ? amax : a; }
    return amax;
}

static uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ---------------- Q4_0: q in 0..15, value = (q - 8) * d ---------------- */

void eq_from_float_q4_0_ref(const float *x, void *vy, int64_t k) {
    block_q4_0 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        const float d = signed_absmax(x, EQ_QK) / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        for (int j = 0; j < EQ_QK / 2; j++) {
            int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + EQ_QK / 2] * id + 8.5f);
            if (lo > 15) lo = 15;
            if (hi > 15) hi = 15;
            y[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

void eq_to_float_q4_0_ref(const void *vx, float *y, int64_t k) {
    const block_q4_0 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < EQ_QK / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + EQ_QK / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void eq_vec_dot_q4_0_q8_0_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q4_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / EQ_QK; i++) {
        /* sum((q - 8) * y) as sum(q * y) - 8 * sum(y): the same integer, but GCC 12 at -O2 with
         * AVX512-VNNI turns the (q - 8) * y form into vpdpbusd as if q - 8 were unsigned
         * (wrong sums on Zen 4 / Ice Lake); this form vectorizes correctly. */
        int lo = 0, hi = 0, ysum = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            lo += (x[i].qs[j] & 0x0F) * y[i].qs[j];
            hi += (x[i].qs[j] >> 4) * y[i].qs[j + EQ_QK / 2];
            ysum += y[i].qs[j] + y[i].qs[j + EQ_QK / 2];
        }
        sum += (float)(lo + hi - 8 * ysum) * eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d);
    }
    *s = sum;
}

/* ---------------- Q4_1: value = q * d + m ---------------- */

void eq_from_float_q4_1_ref(const float *x, void *vy, int64_t k) {
    block_q4_1 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        float mn, mx;
        min_max(x, EQ_QK, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        y[i].m = eq_fp32_to_fp16(mn);
        for (int j = 0; j < EQ_QK / 2; j++) {
            int lo = (int)((x[j] - mn) * id + 0.5f), hi = (int)((x[j + EQ_QK / 2] - mn) * id + 0.5f);
            if (lo > 15) lo = 15;
            if (hi > 15) hi = 15;
            y[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

void eq_to_float_q4_1_ref(const void *vx, float *y, int64_t k) {
    const block_q4_1 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d), m = eq_fp16_to_fp32(x[i].m);
        for (int j = 0; j < EQ_QK / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 0x0F) * d + m;
            y[j + EQ_QK / 2] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void eq_vec_dot_q4_1_q8_1_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q4_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / EQ_QK; i++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            lo += (x[i].qs[j] & 0x0F) * y[i].qs[j];
            hi += (x[i].qs[j] >> 4) * y[i].qs[j + EQ_QK / 2];
        }
        /* The m term uses the activation's stored d*sum(q): no integer pass over it needed. */
        sum += (eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d)) * (float)(lo + hi)
             + eq_fp16_to_fp32(x[i].m) * eq_fp16_to_fp32(y[i].s);
    }
    *s = sum;
}

/* ---------------- Q5_0: 5-bit q, fifth bits packed in qh; value = (q - 16) * d ---------------- */

void eq_from_float_q5_0_ref(const float *x, void *vy, int64_t k) {
    block_q5_0 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        const float d = signed_absmax(x, EQ_QK) / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            int lo = (int)(x[j] * id + 16.5f), hi = (int)(x[j + EQ_QK / 2] * id + 16.5f);
            if (lo > 31) lo = 31;
            if (hi > 31) hi = 31;
            y[i].qs[j] = (uint8_t)((lo & 0x0F) | ((hi & 0x0F) << 4));
            qh |= (uint32_t)((lo >> 4) & 1) << j;
            qh |= (uint32_t)((hi >> 4) & 1) << (j + EQ_QK / 2);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void eq_to_float_q5_0_ref(const void *vx, float *y, int64_t k) {
    const block_q5_0 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < EQ_QK / 2; j++) {
            const int lo = (x[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            const int hi = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)(lo - 16) * d;
            y[j + EQ_QK / 2] = (float)(hi - 16) * d;
        }
    }
}

void eq_vec_dot_q5_0_q8_0_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q5_0 *x = vx;
    const block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / EQ_QK; i++) {
        const uint32_t qh = load_u32(x[i].qh);
        int slo = 0, shi = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            const int lo = ((x[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4)) - 16;
            const int hi = ((x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
            slo += lo * y[i].qs[j];
            shi += hi * y[i].qs[j + EQ_QK / 2];
        }
        sum += (eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d)) * (float)(slo + shi);
    }
    *s = sum;
}

/* ---------------- Q5_1: value = q * d + m ---------------- */

void eq_from_float_q5_1_ref(const float *x, void *vy, int64_t k) {
    block_q5_1 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        float mn, mx;
        min_max(x, EQ_QK, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        y[i].m = eq_fp32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            /* No clamp, as in ggml: (x - min) * id + 0.5 stays below 32. */
            const int lo = (int)((x[j] - mn) * id + 0.5f), hi = (int)((x[j + EQ_QK / 2] - mn) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((lo & 0x0F) | ((hi & 0x0F) << 4));
            qh |= (uint32_t)((lo >> 4) & 1) << j;
            qh |= (uint32_t)((hi >> 4) & 1) << (j + EQ_QK / 2);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void eq_to_float_q5_1_ref(const void *vx, float *y, int64_t k) {
    const block_q5_1 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d), m = eq_fp16_to_fp32(x[i].m);
        const uint32_t qh = load_u32(x[i].qh);
        for (int j = 0; j < EQ_QK / 2; j++) {
            const int lo = (x[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            const int hi = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)lo * d + m;
            y[j + EQ_QK / 2] = (float)hi * d + m;
        }
    }
}

void eq_vec_dot_q5_1_q8_1_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q5_1 *x = vx;
    const block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / EQ_QK; i++) {
        const uint32_t qh = load_u32(x[i].qh);
        int slo = 0, shi = 0;
        for (int j = 0; j < EQ_QK / 2; j++) {
            const int lo = (x[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            const int hi = (x[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            slo += lo * y[i].qs[j];
            shi += hi * y[i].qs[j + EQ_QK / 2];
        }
        sum += (eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d)) * (float)(slo + shi)
             + eq_fp16_to_fp32(x[i].m) * eq_fp16_to_fp32(y[i].s);
    }
    *s = sum;
}

/* ---------------- Q8_0 / Q8_1: value = q * d; Q8_1 also stores s = d * sum(q) ---------------- */

void eq_from_float_q8_0_ref(const float *x, void *vy, int64_t k) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        const float d = absmax(x, EQ_QK) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = eq_fp32_to_fp16(d);
        for (int j = 0; j < EQ_QK; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id); /* ties away from 0 */
    }
}

void eq_from_float_q8_1_ref(const float *x, void *vy, int64_t k) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / EQ_QK; i++, x += EQ_QK) {
        const float d = absmax(x, EQ_QK) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        int sum = 0;
        y[i].d = eq_fp32_to_fp16(d);
        for (int j = 0; j < EQ_QK; j++) {
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = eq_fp32_to_fp16((float)sum * d);
    }
}

void eq_to_float_q8_0_ref(const void *vx, float *y, int64_t k) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < EQ_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

void eq_to_float_q8_1_ref(const void *vx, float *y, int64_t k) {
    const block_q8_1 *x = vx;
    for (int64_t i = 0; i < k / EQ_QK; i++, y += EQ_QK) {
        const float d = eq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < EQ_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

void eq_vec_dot_q8_0_q8_0_ref(int n, float *s, const void *vx, const void *vy) {
    const block_q8_0 *x = vx, *y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / EQ_QK; i++) {
        int si = 0;
        for (int j = 0; j < EQ_QK; j++) si += x[i].qs[j] * y[i].qs[j];
        sum += (float)si * (eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d));
    }
    *s = sum;
}
