/* AVX2 + FMA + F16C kernels for F32, F16 and BF16: conversions (bit-identical to the refs
 * for every non-NaN value) and dot products (float accumulators, 32 values per step). */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include "arch/x86/avx2.h"
#include "quant/fp16.h"

void eq_to_float_f16_avx2(const void *vx, float *y, int64_t k) {
    const eq_f16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < k; i++) y[i] = eq_fp16_to_fp32(x[i]);
}

void eq_from_float_f16_avx2(const float *x, void *vy, int64_t k) {
    eq_f16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < k; i++) y[i] = eq_fp32_to_fp16(x[i]);
}

static inline __m256 bf16x8_to_ps(const eq_bf16 *p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

void eq_to_float_bf16_avx2(const void *vx, float *y, int64_t k) {
    const eq_bf16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) _mm256_storeu_ps(y + i, bf16x8_to_ps(x + i));
    for (; i < k; i++) y[i] = eq_bf16_to_fp32(x[i]);
}

/* Round to nearest even on the bit pattern; NaN becomes a quiet NaN, as in the ref. */
static inline __m256i ps_to_bf16_bits(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

void eq_from_float_bf16_avx2(const float *x, void *vy, int64_t k) {
    eq_bf16 *y = vy;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256i a = ps_to_bf16_bits(_mm256_loadu_ps(x + i));
        const __m256i b = ps_to_bf16_bits(_mm256_loadu_ps(x + i + 8));
        /* packus works per 128-bit lane: fix the order with a 64-bit permute. */
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < k; i++) y[i] = eq_fp32_to_bf16(x[i]);
}

/* After the 32-value steps from i on: the eight-value steps into a0, the four accumulators'
 * sum, the single values, into out (shared by the one- and four-token kernels). */
#define DOT_FINISH(LOAD, x, y, SCALAR, a0, a1, a2, a3, i, out)                           \
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), a0);       \
    float sum = eq_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
    for (; i < n; i++) sum += SCALAR(x[i]) * SCALAR(y[i]);                               \
    out = sum;

/* Four independent accumulators hide the FMA latency; x (the weights) is asked for ahead. */
#define DOT_BODY(LOAD, x, y, SCALAR)                                                     \
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                          \
    int i = 0;                                                                           \
    for (; i + 32 <= n; i += 32) {                                                       \
        eq_prefetch_stream(x + i, 32 * sizeof *x);                                       \
        a0 = _mm256_fmadd_ps(LOAD(x + i), LOAD(y + i), a0);                              \
        a1 = _mm256_fmadd_ps(LOAD(x + i + 8), LOAD(y + i + 8), a1);                      \
        a2 = _mm256_fmadd_ps(LOAD(x + i + 16), LOAD(y + i + 16), a2);                    \
        a3 = _mm256_fmadd_ps(LOAD(x + i + 24), LOAD(y + i + 24), a3);                    \
    }                                                                                    \
    DOT_FINISH(LOAD, x, y, SCALAR, a0, a1, a2, a3, i, *s)

#define LOAD_F32(p) _mm256_loadu_ps(p)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD_BF16(p) bf16x8_to_ps(p)
#define SCALAR_F32(v) (v)

/* One weight row against four activation rows (prompts): each token's sum is DOT_BODY's,
 * the same FMAs into the same four accumulators in the same order, then the same tails and
 * sum (DOT_FINISH). Only the order between accumulators differs: a0 of all four tokens first (chunks 0, 4,
 * 8, ... of eight values), then a1, and so on, so that each weight chunk is converted once
 * for four tokens with four accumulators live, not sixteen. The first pass streams the row
 * (every 64-byte line of an F16 row holds one chunk of each accumulator) and asks ahead. */
#define DOT_BODY_X4(LOAD, XT, SCALAR)                                                    \
    const XT *x = vx;                                                                    \
    const XT *y[4];                                                                      \
    for (int t = 0; t < 4; t++) y[t] = (const XT *)((const char *)vy + t * by);          \
    const int n32 = n / 32 * 32;                                                         \
    __m256 a[4][4];   /* [accumulator][token] */                                         \
    for (int k = 0; k < 4; k++) {                                                        \
        __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                      \
        for (int i = 8 * k; i < n32; i += 32) {                                          \
            if (k == 0) eq_prefetch_stream(x + i, 32 * sizeof *x);                       \
            const __m256 w = LOAD(x + i);                                                \
            c0 = _mm256_fmadd_ps(w, LOAD(y[0] + i), c0);                                 \
            c1 = _mm256_fmadd_ps(w, LOAD(y[1] + i), c1);                                 \
            c2 = _mm256_fmadd_ps(w, LOAD(y[2] + i), c2);                                 \
            c3 = _mm256_fmadd_ps(w, LOAD(y[3] + i), c3);                                 \
        }                                                                                \
        a[k][0] = c0; a[k][1] = c1; a[k][2] = c2; a[k][3] = c3;                          \
    }                                                                                    \
    for (int t = 0; t < 4; t++) {                                                        \
        const XT *yt = y[t];                                                             \
        int i = n32;                                                                     \
        DOT_FINISH(LOAD, x, yt, SCALAR, a[0][t], a[1][t], a[2][t], a[3][t], i, s[t * bs]) \
    }

/* EQ_RX4_ROWS weight rows against four activation rows: DOT_BODY_X4 for each row, with each
 * activation chunk converted once for all the rows (the conversions are most of the work of
 * the four-token kernel: one per token and chunk against one for the weights). Per row and
 * token the same FMAs into the same accumulators in the same order, the same tails and sum:
 * bit-identical to the one-row kernel. NR * 4 accumulators, NR weight chunks and an activation
 * chunk live: 21 registers for four rows (AVX-512 VL has 32), 16 for three. */
#define NR EQ_RX4_ROWS
#define DOT_BODY_RX4(LOAD, XT, SCALAR)                                                   \
    const XT *x[NR];                                                                     \
    for (int r = 0; r < NR; r++) x[r] = (const XT *)((const char *)vx + r * bx);         \
    const XT *y[4];                                                                      \
    for (int t = 0; t < 4; t++) y[t] = (const XT *)((const char *)vy + t * by);          \
    const int n32 = n / 32 * 32;                                                         \
    __m256 a[4][NR][4];   /* [accumulator][row][token] */                                \
    for (int k = 0; k < 4; k++) {                                                        \
        __m256 c[NR][4];                                                                 \
        for (int r = 0; r < NR; r++)                                                     \
            for (int t = 0; t < 4; t++) c[r][t] = _mm256_setzero_ps();                   \
        for (int i = 8 * k; i < n32; i += 32) {                                          \
            __m256 w[NR];                                                                \
            UNROLL                                                                       \
            for (int r = 0; r < NR; r++) {                                               \
                if (k == 0) eq_prefetch_stream(x[r] + i, 32 * sizeof(XT));               \
                w[r] = LOAD(x[r] + i);                                                   \
            }                                                                            \
            UNROLL                                                                       \
            for (int t = 0; t < 4; t++) {                                                \
                const __m256 v = LOAD(y[t] + i);                                         \
                UNROLL                                                                   \
                for (int r = 0; r < NR; r++) c[r][t] = _mm256_fmadd_ps(w[r], v, c[r][t]); \
            }                                                                            \
        }                                                                                \
        for (int r = 0; r < NR; r++)                                                     \
            for (int t = 0; t < 4; t++) a[k][r][t] = c[r][t];                            \
    }                                                                                    \
    for (int r = 0; r < NR; r++)                                                         \
        for (int t = 0; t < 4; t++) {                                                    \
            const XT *xr = x[r], *yt = y[t];                                             \
            int i = n32;                                                                 \
            DOT_FINISH(LOAD, xr, yt, SCALAR, a[0][r][t], a[1][r][t], a[2][r][t], a[3][r][t], i, s[t * bs + r]) \
        }

void eq_vec_dot_rx4_f32_f32_avx2(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    DOT_BODY_RX4(LOAD_F32, float, SCALAR_F32)
}
void eq_vec_dot_rx4_f16_f16_avx2(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    DOT_BODY_RX4(LOAD_F16, eq_f16, eq_fp16_to_fp32)
}
void eq_vec_dot_rx4_bf16_bf16_avx2(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    DOT_BODY_RX4(LOAD_BF16, eq_bf16, eq_bf16_to_fp32)
}
#undef NR

void eq_vec_dot_x4_f32_f32_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    DOT_BODY_X4(LOAD_F32, float, SCALAR_F32)
}

void eq_vec_dot_x4_f16_f16_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    DOT_BODY_X4(LOAD_F16, eq_f16, eq_fp16_to_fp32)
}

void eq_vec_dot_x4_bf16_bf16_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    DOT_BODY_X4(LOAD_BF16, eq_bf16, eq_bf16_to_fp32)
}

void eq_vec_dot_f32_f32_avx2(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    DOT_BODY(LOAD_F32, x, y, SCALAR_F32)
}

void eq_vec_dot_f16_f16_avx2(int n, float *s, const void *vx, const void *vy) {
    const eq_f16 *x = vx, *y = vy;
    DOT_BODY(LOAD_F16, x, y, eq_fp16_to_fp32)
}

void eq_vec_dot_bf16_bf16_avx2(int n, float *s, const void *vx, const void *vy) {
    const eq_bf16 *x = vx, *y = vy;
    DOT_BODY(LOAD_BF16, x, y, eq_bf16_to_fp32)
}

#else
typedef int eq_avx2_float_unused; /* ISO C wants at least one declaration per file */
#endif
