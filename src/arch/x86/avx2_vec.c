/* AVX2 twins of the attention's multiply-adds and softmax (ops/vec.c) and of SwiGLU
 * (ops/activation.c): F16C conversions (exact) and FMA, with a scalar tail. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include <math.h>
#include "arch/x86/avx2.h"
#include "quant/fp16.h"
#include "ops/exp_f64.h"

void eq_vec_mad_f16_avx2(int n, float *y, const uint16_t *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        __m256 xf = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(xf, vv, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = fmaf(eq_fp16_to_fp32(x[i]), v, y[i]);
}

/* x[i] = x[i] * v rounded to F16 and back: F16C rounds to nearest even, as eq_fp32_to_fp16
 * does, for every finite value (attention probabilities: 0..1). */
void eq_vec_round_f16_avx2(int n, float *x, float v) {
    int i = 0;
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(x + i), vv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) x[i] = eq_fp16_to_fp32(eq_fp32_to_fp16(x[i] * v));
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
 * accumulators kept in registers across rows; where several heads read the same rows (one KV
 * head's group), a row is converted once per pass for two to four of them. Rows lie `stride`
 * apart: the CPU backend keeps one head's positions contiguous (backend/cpu/attention.c), a
 * caller may pass a whole cache row (6 KB in Phi-3.5: a page apart, where the hardware
 * prefetchers do not follow), so each row asks for the one AHEAD rows on. At 1024 positions of context the two
 * one-row kernels took a third of a 1.1B model's generation time; Phi-3.5 shape tg768 at 2
 * threads 7.4 -> 8.7 t/s. */

/* rows ahead to ask for: 1.1B tg64 @ d1024 at 2 threads 31.0 t/s with 8 (four runs), 32.0-33.0
 * with 16, 24 and 40 (two to four runs each); the Phi shape's 7.74 with 8 and with 24 */
enum { AHEAD = 24 };

/* Queries per pass over a row: each needs four accumulators beside the row's four converted
 * chunks, so four fit AVX-512VL's 32 vector registers, two AVX2's 16. */
#if defined(__AVX512VL__)
enum { QB_MAX = 4 };
#else
enum { QB_MAX = 2 };
#endif

/* Row x's dots with QB converted queries (n % 8 == 0) up to the last horizontal sum, as
 * eq_vec_dot_f16_f16_avx2 computes each (avx2_float.c: four accumulators over 32 values per
 * step, then eight at a time into the first); x is converted once for all QB. */
static inline __attribute__((always_inline))
void dot_f16_part(const int QB, int n, const uint16_t *x, const __m256 *yv, int ldv, __m256 *out) {
    __m256 a[QB_MAX][4];
    UNROLL
    for (int q = 0; q < QB; q++) a[q][0] = a[q][1] = a[q][2] = a[q][3] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        UNROLL
        for (int k = 0; k < 4; k++) {
            const __m256 xc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i + 8 * k)));
            UNROLL
            for (int q = 0; q < QB; q++) a[q][k] = _mm256_fmadd_ps(xc, yv[q * ldv + i / 8 + k], a[q][k]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 xc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        UNROLL
        for (int q = 0; q < QB; q++) a[q][0] = _mm256_fmadd_ps(xc, yv[q * ldv + i / 8], a[q][0]);
    }
    UNROLL
    for (int q = 0; q < QB; q++) out[q] = _mm256_add_ps(_mm256_add_ps(a[q][0], a[q][1]), _mm256_add_ps(a[q][2], a[q][3]));
}

/* Eight eq_avx2_hsum_ps at once: lane k is ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))
 * of v[k], the same additions (float addition commutes, so only the pairing counts). */
static inline __m256 hsum8(const __m256 v[8]) {
    /* [lo + hi of v[k] | lo + hi of v[k + 1]]: s_j = v_j + v_(j+4) */
    __m256 w[4];
    UNROLL
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

/* Queries q0 .. q0 + QB against every row. */
static inline __attribute__((always_inline))
void dot_rows_qb(const int QB, int n, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                 const __m256 *yv, int ldv, int prefetch) {
    int r = 0;
    for (; r + 8 <= rows; r += 8) {
        __m256 v[QB_MAX][8], part[QB_MAX];
        UNROLL
        for (int k = 0; k < 8; k++) {
            const uint16_t *xr = x + (size_t)(r + k) * stride;
            if (prefetch) eq_prefetch(xr, AHEAD * stride * sizeof *x, (size_t)n * sizeof *x);
            dot_f16_part(QB, n, xr, yv, ldv, part);
            UNROLL
            for (int q = 0; q < QB; q++) v[q][k] = part[q];
        }
        UNROLL
        for (int q = 0; q < QB; q++) _mm256_storeu_ps(s + q * ld + r, hsum8(v[q]));
    }
    for (; r < rows; r++) {
        __m256 part[QB_MAX];
        dot_f16_part(QB, n, x + (size_t)r * stride, yv, ldv, part);
        UNROLL
        for (int q = 0; q < QB; q++) s[q * ld + r] = eq_avx2_hsum_ps(part[q]);
    }
}

void eq_vec_dot_f16_rows_avx2(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy) {
    enum { MAX_N = 512, MAX_Q = 8 };
    if (rows <= 0 || nq <= 0) return;   /* nothing to do: convert no query */
    if (n % 8 || n > MAX_N) {   /* no head is shaped so; the one-row kernel then */
        for (int q = 0; q < nq; q++)
            for (int r = 0; r < rows; r++) eq_vec_dot_f16_f16_avx2(n, &s[q * ld + r], x + (size_t)r * stride, y + q * ldy);
        return;
    }
    for (int q0 = 0; q0 < nq; q0 += MAX_Q) {
        const int nb = nq - q0 < MAX_Q ? nq - q0 : MAX_Q;
        __m256 yv[MAX_Q * (MAX_N / 8)];
        const int ldv = n / 8;
        for (int q = 0; q < nb; q++)
            for (int i = 0; i < n; i += 8)
                yv[q * ldv + i / 8] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + (q0 + q) * ldy + i)));
        /* the first pass asks for the rows ahead; the later ones find them in cache */
        int q = 0;
        for (; q + QB_MAX <= nb; q += QB_MAX)
            dot_rows_qb(QB_MAX, n, rows, s + (q0 + q) * ld, ld, x, stride, yv + q * ldv, ldv, q0 + q == 0);
        if (QB_MAX > 2) for (; q + 2 <= nb; q += 2)
            dot_rows_qb(2, n, rows, s + (q0 + q) * ld, ld, x, stride, yv + q * ldv, ldv, q0 + q == 0);
        for (; q < nb; q++)
            dot_rows_qb(1, n, rows, s + (q0 + q) * ld, ld, x, stride, yv + q * ldv, ldv, q0 + q == 0);
    }
}

/* y_q[0 .. 8 C) += w_q[r] * row r for every row, in row order, for QB queries, the sums held in
 * registers: per value the fused multiply-adds of eq_vec_mad_f16_avx2, in the same order; each
 * row's values are converted once for all QB. */
static inline __attribute__((always_inline))
void mad_f16_cols(const int C, const int QB, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                  const float *w, size_t ldw, int prefetch) {
    __m256 acc[4][8];
    UNROLL
    for (int q = 0; q < QB; q++)
        UNROLL
        for (int c = 0; c < C; c++) acc[q][c] = _mm256_loadu_ps(y + q * ldy + 8 * c);
    for (int r = 0; r < rows; r++) {
        const uint16_t *xr = x + (size_t)r * stride;
        if (prefetch) eq_prefetch(xr, AHEAD * stride * sizeof *x, (size_t)C * 8 * sizeof *x);
        UNROLL
        for (int c = 0; c < C; c++) {
            const __m256 xc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(xr + 8 * c)));
            UNROLL
            for (int q = 0; q < QB; q++) acc[q][c] = _mm256_fmadd_ps(xc, _mm256_set1_ps(w[q * ldw + r]), acc[q][c]);
        }
    }
    UNROLL
    for (int q = 0; q < QB; q++)
        UNROLL
        for (int c = 0; c < C; c++) _mm256_storeu_ps(y + q * ldy + 8 * c, acc[q][c]);
}

void eq_vec_mad_f16_rows_avx2(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw) {
    if (rows <= 0) return;   /* y would only be loaded and stored back */
    int q = 0;
#if defined(__AVX512VL__)
    /* two queries at a time over 64 values: 16 accumulators, each row read in one pass */
    for (; q + 2 <= nq && n % 64 == 0; q += 2)
        for (int i = 0; i < n; i += 64) mad_f16_cols(8, 2, rows, y + q * ldy + i, ldy, x + i, stride, w + q * ldw, ldw, q == 0);
#endif
    /* four queries at a time over 16 values (8 accumulators: FMA latency hidden); one query
     * over 64 as before */
    for (; q + 4 <= nq; q += 4) {
        float *yq = y + q * ldy;
        const float *wq = w + q * ldw;
        int i = 0;
        for (; i + 16 <= n; i += 16) mad_f16_cols(2, 4, rows, yq + i, ldy, x + i, stride, wq, ldw, q == 0);
        for (; i + 8 <= n; i += 8) mad_f16_cols(1, 4, rows, yq + i, ldy, x + i, stride, wq, ldw, q == 0);
        for (int k = 0; k < 4; k++)
            for (int j = i; j < n; j++)
                for (int r = 0; r < rows; r++)
                    yq[k * ldy + j] = fmaf(eq_fp16_to_fp32(x[(size_t)r * stride + j]), wq[k * ldw + r], yq[k * ldy + j]);
    }
    for (; q < nq; q++) {
        float *yq = y + q * ldy;
        const float *wq = w + q * ldw;
        int i = 0;
        for (; i + 64 <= n; i += 64) mad_f16_cols(8, 1, rows, yq + i, ldy, x + i, stride, wq, ldw, q == 0);
        for (; i + 32 <= n; i += 32) mad_f16_cols(4, 1, rows, yq + i, ldy, x + i, stride, wq, ldw, q == 0);
        for (; i + 8 <= n; i += 8) mad_f16_cols(1, 1, rows, yq + i, ldy, x + i, stride, wq, ldw, q == 0);
        for (; i < n; i++)
            for (int r = 0; r < rows; r++) yq[i] = fmaf(eq_fp16_to_fp32(x[(size_t)r * stride + i]), wq[r], yq[i]);
    }
}

/* The softmax (ops/vec.c: eq_vec_softmax_ref, exp as ops/exp_f64.h), its double steps 4 or 8
 * values per instruction: 3.7 -> 1.3 ns a score against libm's expf and the scalar loops (1900
 * scores, AVX-512). max_pd(lo, z) and min_pd(hi, z) return z when it is NaN, as the
 * reference's comparisons do; the partial sums are its eight, one per lane. */
#if defined(__AVX512F__)
static inline __m512d exp_pd(__m512d z) {
    z = _mm512_min_pd(_mm512_set1_pd(EQ_EXP_ZMAX), _mm512_max_pd(_mm512_set1_pd(-EQ_EXP_ZMAX), z));
    const __m512d shift = _mm512_set1_pd(EQ_EXP_SHIFT), t = _mm512_add_pd(z, shift);
    const __m512d f = _mm512_sub_pd(z, _mm512_sub_pd(t, shift));
    __m512d p = _mm512_set1_pd(eq_exp_c[11]);
    UNROLL
    for (int k = 10; k >= 0; k--) p = _mm512_add_pd(_mm512_mul_pd(p, f), _mm512_set1_pd(eq_exp_c[k]));
    const __m512i b = _mm512_slli_epi64(_mm512_add_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64((long long)(1023 - EQ_EXP_SHIFT_BITS))), 52);
    return _mm512_mul_pd(p, _mm512_castsi512_pd(b));
}
#else
static inline __m256d exp_pd(__m256d z) {
    z = _mm256_min_pd(_mm256_set1_pd(EQ_EXP_ZMAX), _mm256_max_pd(_mm256_set1_pd(-EQ_EXP_ZMAX), z));
    const __m256d shift = _mm256_set1_pd(EQ_EXP_SHIFT), t = _mm256_add_pd(z, shift);
    const __m256d f = _mm256_sub_pd(z, _mm256_sub_pd(t, shift));
    __m256d p = _mm256_set1_pd(eq_exp_c[11]);
    UNROLL
    for (int k = 10; k >= 0; k--) p = _mm256_add_pd(_mm256_mul_pd(p, f), _mm256_set1_pd(eq_exp_c[k]));
    const __m256i b = _mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x((long long)(1023 - EQ_EXP_SHIFT_BITS))), 52);
    return _mm256_mul_pd(p, _mm256_castsi256_pd(b));
}
#endif

double eq_vec_softmax_avx2(int n, float *x, float scale) {
    const __m256 sv = _mm256_set1_ps(scale);
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 s = _mm256_mul_ps(_mm256_loadu_ps(x + i), sv);
        _mm256_storeu_ps(x + i, s);
        mv = _mm256_max_ps(s, mv);   /* s > max ? s : max: a NaN never wins */
    }
    float m8[8], mx = -INFINITY;
    _mm256_storeu_ps(m8, mv);
    for (int k = 0; k < 8; k++)
        if (m8[k] > mx) mx = m8[k];
    mx = eq_vec_softmax_scale_max(i, n, x, scale, mx);
    const __m256 mxv = _mm256_set1_ps(mx);
    double part[8];
#if defined(__AVX512F__)
    const __m512d l2e = _mm512_set1_pd(EQ_EXP_LOG2E);
    __m512d acc = _mm512_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mxv);
        const __m256 e = _mm512_cvtpd_ps(exp_pd(_mm512_mul_pd(_mm512_cvtps_pd(d), l2e)));
        _mm256_storeu_ps(x + i, e);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(e));
    }
    _mm512_storeu_pd(part, acc);
#else
    const __m256d l2e = _mm256_set1_pd(EQ_EXP_LOG2E);
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mxv);
        const __m128 e0 = _mm256_cvtpd_ps(exp_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(d)), l2e)));
        const __m128 e1 = _mm256_cvtpd_ps(exp_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(d, 1)), l2e)));
        _mm256_storeu_ps(x + i, _mm256_set_m128(e1, e0));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(e0));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(e1));
    }
    _mm256_storeu_pd(part, lo);
    _mm256_storeu_pd(part + 4, hi);
#endif
    return eq_vec_softmax_finish(i, n, x, mx, part);
}

/* SwiGLU (ops/activation.c: eq_swiglu_ref): exp(-g) in double as above, then float steps */
void eq_swiglu_avx2(float *g, const float *u, int n) {
    const __m256 neg = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    int i = 0;
#if defined(__AVX512F__)
    const __m512d l2e = _mm512_set1_pd(EQ_EXP_LOG2E);
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = _mm512_cvtpd_ps(exp_pd(_mm512_mul_pd(_mm512_cvtps_pd(_mm256_xor_ps(x, neg)), l2e)));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
#else
    const __m256d l2e = _mm256_set1_pd(EQ_EXP_LOG2E);
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i), nx = _mm256_xor_ps(x, neg);
        const __m128 e0 = _mm256_cvtpd_ps(exp_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(nx)), l2e)));
        const __m128 e1 = _mm256_cvtpd_ps(exp_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(nx, 1)), l2e)));
        const __m256 e = _mm256_set_m128(e1, e0);
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
#endif
    eq_swiglu_finish(i, n, g, u);
}
#endif
