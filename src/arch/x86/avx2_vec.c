/* AVX2 twins of the attention's multiply-adds (ops/vec.c): F16C conversions (exact) and FMA,
 * with a scalar tail. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include <math.h>
#include "arch/x86/avx2.h"
#include "quant/fp16.h"

void eq_vec_mad_f16_avx2(int n, float *y, const uint16_t *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        __m256 xf = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(xf, vv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = fmaf(eq_fp16_to_fp32(x[i]), v, y[i]);
}

void eq_vec_mad_f32_avx2(int n, float *y, const float *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), vv, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(x[i], v, y[i]);
}

/* Attention over many cached rows (ops/vec.c): the one-row kernels' exact arithmetic, without a
 * call, a conversion of the query, or a horizontal sum per row, and with the weighted sum's
 * accumulators kept in registers across rows. A head's rows lie a whole cache row apart (6 KB
 * in Phi-3.5: a page apart, where the hardware prefetchers do not follow), so each row asks
 * for the one AHEAD rows on. At 1024 positions of context the two one-row kernels took a third
 * of a 1.1B model's generation time; Phi-3.5 shape tg768 at 2 threads 7.4 -> 8.7 t/s. */

/* rows ahead to ask for: 1.1B tg64 @ d1024 at 2 threads 31.0 t/s with 8 (four runs), 32.0-33.0
 * with 16, 24 and 40 (two to four runs each); the Phi shape's 7.74 with 8 and with 24 */
enum { AHEAD = 24 };

/* Row x's dot with the converted y (n % 8 == 0) up to the last horizontal sum, as
 * eq_vec_dot_f16_f16_avx2 computes it (avx2_float.c: four accumulators over 32 values per
 * step, then eight at a time into the first). */
static inline __m256 dot_f16_part(int n, const uint16_t *x, const __m256 *yv) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), yv[i / 8], a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8))), yv[i / 8 + 1], a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 16))), yv[i / 8 + 2], a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 24))), yv[i / 8 + 3], a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), yv[i / 8], a0);
    return _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
}

/* Eight eq_avx2_hsum_ps at once: lane k is ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))
 * of v[k], the same additions (float addition commutes, so only the pairing counts). */
static inline __m256 hsum8(const __m256 v[8]) {
    /* [lo + hi of v[k] | lo + hi of v[k + 1]]: s_j = v_j + v_(j+4) */
    __m256 w[4];
    for (int k = 0; k < 4; k++)
        w[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    /* s_0 + s_2 and s_1 + s_3: rows 0, 2 (4, 6) in the low half, 1, 3 (5, 7) in the high one */
    const __m256 x0 = _mm256_add_ps(_mm256_shuffle_ps(w[0], w[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(w[0], w[1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 x1 = _mm256_add_ps(_mm256_shuffle_ps(w[2], w[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(w[2], w[3], _MM_SHUFFLE(3, 2, 3, 2)));
    /* the two halves of each: lanes hold rows 0 2 4 6 1 3 5 7 */
    const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(x0, x1, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(x0, x1, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void eq_vec_dot_f16_rows_avx2(int n, int rows, float *s, const uint16_t *x, size_t stride, const uint16_t *y) {
    enum { MAX_N = 512 };
    if (rows <= 0) return;   /* the ring's second run is mostly empty: no query to convert */
    if (n % 8 || n > MAX_N) {   /* no head is shaped so; the one-row kernel then */
        for (int r = 0; r < rows; r++) eq_vec_dot_f16_f16_avx2(n, &s[r], x + (size_t)r * stride, y);
        return;
    }
    __m256 yv[MAX_N / 8];
    for (int i = 0; i < n; i += 8) yv[i / 8] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i)));
    int r = 0;
    for (; r + 8 <= rows; r += 8) {
        __m256 v[8];
        for (int k = 0; k < 8; k++) {
            const uint16_t *xr = x + (size_t)(r + k) * stride;
            eq_prefetch(xr, AHEAD * stride * sizeof *x, (size_t)n * sizeof *x);
            v[k] = dot_f16_part(n, xr, yv);
        }
        _mm256_storeu_ps(s + r, hsum8(v));
    }
    for (; r < rows; r++) s[r] = eq_avx2_hsum_ps(dot_f16_part(n, x + (size_t)r * stride, yv));
}

/* y[0 .. 8 C) += w[r] * row r for every row, in row order, the sums held in registers: per
 * value the fused multiply-adds of eq_vec_mad_f16_avx2, in the same order. */
static inline __attribute__((always_inline))
void mad_f16_cols(const int C, int rows, float *y, const uint16_t *x, size_t stride, const float *w) {
    __m256 acc[8];
    for (int c = 0; c < C; c++) acc[c] = _mm256_loadu_ps(y + 8 * c);
    for (int r = 0; r < rows; r++) {
        const __m256 wv = _mm256_set1_ps(w[r]);
        const uint16_t *xr = x + (size_t)r * stride;
        eq_prefetch(xr, AHEAD * stride * sizeof *x, (size_t)C * 8 * sizeof *x);
        for (int c = 0; c < C; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(xr + 8 * c))), wv, acc[c]);
    }
    for (int c = 0; c < C; c++) _mm256_storeu_ps(y + 8 * c, acc[c]);
}

void eq_vec_mad_f16_rows_avx2(int n, int rows, float *y, const uint16_t *x, size_t stride, const float *w) {
    if (rows <= 0) return;   /* y would only be loaded and stored back */
    int i = 0;
    for (; i + 64 <= n; i += 64) mad_f16_cols(8, rows, y + i, x + i, stride, w);   /* eight chains: FMA latency hidden */
    for (; i + 32 <= n; i += 32) mad_f16_cols(4, rows, y + i, x + i, stride, w);
    for (; i + 8 <= n; i += 8) mad_f16_cols(1, rows, y + i, x + i, stride, w);
    for (; i < n; i++)
        for (int r = 0; r < rows; r++) y[i] = fmaf(eq_fp16_to_fp32(x[(size_t)r * stride + i]), w[r], y[i]);
}
#endif
