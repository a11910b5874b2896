/* AVX-512 rows x 4 tokens for the float formats (F32, F16, BF16 weights): the prompt's matrix
 * products, bit-identical to the one-row AVX2 kernel (avx2_float.c).
 *
 * That kernel keeps four eight-wide accumulators a0..a3 and gives a0 values 0-7 of each
 * 32-value step, a1 8-15, a2 16-23, a3 24-31. One 512-bit register holds a0 and a1 side by
 * side, another a2 and a3, and a 16-value load feeds exactly those lanes: the same fused
 * multiply-adds, lane for lane, in the same order. The 256-bit rows x 4 kernel needs four
 * passes to keep its 64 accumulators to 16 live ones (each reads a quarter of every cache
 * line, so the rows and activations come from L2 four times); three rows x four tokens here
 * are 24 registers of 32, and one pass reads every line once.
 *
 * The activations come widened to F32 (quant.h: eq_vec_dot_rx4_get's *wide): a conversion
 * costs the FMA pipes about what a multiply-add does, and converted here each activation
 * chunk would be converted again for every group of three rows. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX512)
#include "arch/x86/avx2.h"
#include "quant/fp16.h"

#define NR EQ_RX4_ROWS_AVX512

#define LOADZ_F32(p) _mm512_loadu_ps(p)
#define LOADZ_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define LOADZ_BF16(p) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define LOADY_F32(p) _mm256_loadu_ps(p)
#define LOADY_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOADY_BF16(p) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
#define SCALAR_F32(v) (v)

/* One activation chunk into a register. The empty asm keeps it there: GCC otherwise folds the
 * load into each row's multiply-add, three loads where one does (in cache 86-90 GFLOPS with
 * one, 53-65 with three: the loads, not the FMAs, were the limit). */
static inline __m512 act16(const float *p) {
    __m512 v = _mm512_loadu_ps(p);
    __asm__("" : "+v"(v));
    return v;
}

/* After the 32-value steps: the one-row kernel's tail (eight-value steps into a0, then the
 * accumulators' sum, then single values), from the two registers split back into a0..a3. */
#define FINISH(LOADY, SCALAR, x, y, lo, hi, out)                                          \
    do {                                                                                  \
        __m256 a0 = _mm512_castps512_ps256(lo);                                           \
        const __m256 a1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lo), 1)); \
        const __m256 a2 = _mm512_castps512_ps256(hi);                                     \
        const __m256 a3 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(hi), 1)); \
        int i = n32;                                                                      \
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(LOADY(x + i), _mm256_loadu_ps(y + i), a0); \
        float sum = eq_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))); \
        for (; i < n; i++) sum += SCALAR(x[i]) * y[i];                                    \
        out = sum;                                                                        \
    } while (0)

#define BODY(LOADZ, LOADY, XT, SCALAR)                                                    \
    const XT *x[NR];                                                                      \
    for (int r = 0; r < NR; r++) x[r] = (const XT *)((const char *)vx + r * bx);          \
    const float *y[4];                                                                    \
    for (int t = 0; t < 4; t++) y[t] = (const float *)((const char *)vy + t * by);        \
    const int n32 = n / 32 * 32;                                                          \
    __m512 lo[NR][4], hi[NR][4];   /* [row][token]: a0|a1 and a2|a3 */                    \
    for (int r = 0; r < NR; r++)                                                          \
        for (int t = 0; t < 4; t++) lo[r][t] = hi[r][t] = _mm512_setzero_ps();            \
    for (int i = 0; i < n32; i += 32) {                                                   \
        __m512 w[NR];                                                                     \
        UNROLL                                                                            \
        for (int r = 0; r < NR; r++) {                                                    \
            eq_prefetch_stream(x[r] + i, 32 * sizeof(XT));                                \
            w[r] = LOADZ(x[r] + i);                                                       \
        }                                                                                 \
        UNROLL                                                                            \
        for (int t = 0; t < 4; t++) {                                                     \
            const __m512 v = act16(y[t] + i);                                             \
            UNROLL                                                                        \
            for (int r = 0; r < NR; r++) lo[r][t] = _mm512_fmadd_ps(w[r], v, lo[r][t]);   \
        }                                                                                 \
        UNROLL                                                                            \
        for (int r = 0; r < NR; r++) w[r] = LOADZ(x[r] + i + 16);                         \
        UNROLL                                                                            \
        for (int t = 0; t < 4; t++) {                                                     \
            const __m512 v = act16(y[t] + i + 16);                                        \
            UNROLL                                                                        \
            for (int r = 0; r < NR; r++) hi[r][t] = _mm512_fmadd_ps(w[r], v, hi[r][t]);   \
        }                                                                                 \
    }                                                                                     \
    for (int r = 0; r < NR; r++)                                                          \
        for (int t = 0; t < 4; t++) FINISH(LOADY, SCALAR, x[r], y[t], lo[r][t], hi[r][t], s[t * bs + r]);

void eq_vec_dot_rx4_f32_f32_avx512(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    BODY(LOADZ_F32, LOADY_F32, float, SCALAR_F32)
}
void eq_vec_dot_rx4_f16_f16_avx512(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    BODY(LOADZ_F16, LOADY_F16, eq_f16, eq_fp16_to_fp32)
}
void eq_vec_dot_rx4_bf16_bf16_avx512(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by) {
    BODY(LOADZ_BF16, LOADY_BF16, eq_bf16, eq_bf16_to_fp32)
}

#else
typedef int eq_avx512_float_unused; /* ISO C wants at least one declaration per file */
#endif
