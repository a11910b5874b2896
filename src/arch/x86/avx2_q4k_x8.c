/* AVX2 kernels for Q4_K rows repacked eight at a time (quant/repack.h), for CPUs without the
 * AVX-512 VBMI ones (avx512_q4k_x8.c): a 256-bit half of each 64-byte chunk holds the same
 * eight bytes of four rows, one vpmaddubsw per half works for four rows against a broadcast
 * of eight activation bytes, and every 32-bit lane of the sums belongs to one row (its
 * bytes 0-3 or 4-7 of each eight). Within a 128-bit lane the rows' scales are at hand, so a
 * vpshufb spreads them (no cross-lane permute). Rows 0-3 and 4-7 are two passes over the
 * block (the registers hold no more). Same integers and float steps as eq_q4_Kx8_dot_ref. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m256i bcast8(const void *p) { return _mm256_set1_epi64x(eq_load_i64(p)); }

static inline __attribute__((always_inline))
void q4_Kx8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q4_Kx8 *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    /* vpshufb controls: in each 128-bit lane (two rows, their eight scales each), bytes
     * 0-1 and 2-3 of 32-bit lane 2 r + a take scale sb of row r (the high byte zero: 0x80);
     * for the mins, value 2 p + a of row r */
    const __m256i sc_base = _mm256_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128,
                                             0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128);
    const __m256i mn_base = _mm256_setr_epi8(0, -128, 0, -128, 1, -127, 1, -127, 8, -128, 8, -128, 9, -119, 9, -119,
                                             0, -128, 0, -128, 1, -127, 1, -127, 8, -128, 8, -128, 9, -119, 9, -119);
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    for (int g = 0; g < 2; g++) {   /* rows 4 g .. 4 g + 3: bytes 32 g .. 32 g + 31 of every chunk */
        __m256 acc[4], accm[4];
        for (int t = 0; t < NT; t++) { acc[t] = _mm256_setzero_ps(); accm[t] = _mm256_setzero_ps(); }
        for (int i = 0; i < n / EQ_QK_K; i++) {
            const block_q4_Kx8 *b = x + i;
            if (NT == 1 && g == 0) {   /* pass 1 brings the lines in: L1 one block ahead, L2 eight */
                eq_prefetch(b, sizeof *b, sizeof *b);
                eq_prefetch_l2(b, 8 * sizeof *b, sizeof *b);
            }
            const __m256 xd = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(b->d + 4 * g)))), dup);
            const __m256 xdm = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(b->dmin + 4 * g)))), dup);
            /* the four rows' scales (v0) and mins (v1) as bytes 8 r + s */
            const __m256i sl = _mm256_loadu_si256((const __m256i *)(b->sl + 32 * g));
            const __m256i sh = _mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)b->sh), 2 * g);
            const __m256i v0 = _mm256_or_si256(_mm256_and_si256(sl, m4), _mm256_and_si256(_mm256_slli_epi16(sh, 4), m30));
            const __m256i v1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(sl, 4), m4), _mm256_and_si256(sh, m30));
            __m256i sumi[4];
            for (int t = 0; t < NT; t++) sumi[t] = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i s0 = _mm256_shuffle_epi8(v0, _mm256_add_epi8(sc_base, _mm256_set1_epi8((char)(2 * j))));
                const __m256i s1 = _mm256_shuffle_epi8(v0, _mm256_add_epi8(sc_base, _mm256_set1_epi8((char)(2 * j + 1))));
                __m256i lo[4], hi[4];
                UNROLL
                for (int h = 0; h < 4; h++) {
                    const __m256i p = _mm256_loadu_si256((const __m256i *)(b->qs[4 * j + h] + 32 * g));
                    lo[h] = _mm256_and_si256(p, m4);
                    hi[h] = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
                }
                UNROLL
                for (int t = 0; t < NT; t++) {
                    const int8_t *q8 = y[t][i].qs + 64 * j;
                    /* 16-bit pair sums, four of them per lane over h: |.| <= 8 * 15 * 128 */
                    __m256i pl = _mm256_maddubs_epi16(lo[0], bcast8(q8)), ph = _mm256_maddubs_epi16(hi[0], bcast8(q8 + 32));
                    UNROLL
                    for (int h = 1; h < 4; h++) {
                        pl = _mm256_add_epi16(pl, _mm256_maddubs_epi16(lo[h], bcast8(q8 + 8 * h)));
                        ph = _mm256_add_epi16(ph, _mm256_maddubs_epi16(hi[h], bcast8(q8 + 32 + 8 * h)));
                    }
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(_mm256_madd_epi16(pl, s0), _mm256_madd_epi16(ph, s1)));
                }
            }
            /* the mins: lane 2 r + a of mc[p] holds row r's min 2 p + a in both 16-bit halves */
            __m256i mc[4];
            UNROLL
            for (int p = 0; p < 4; p++) mc[p] = _mm256_shuffle_epi8(v1, _mm256_add_epi8(mn_base, _mm256_set1_epi8((char)(2 * p))));
            for (int t = 0; t < NT; t++) {
                /* against the bsums of sub-blocks 2 p and 2 p + 1; then a row's two lanes add */
                __m256i m = _mm256_setzero_si256();
                UNROLL
                for (int p = 0; p < 4; p++) m = _mm256_add_epi32(m, _mm256_madd_epi16(mc[p], bcast8(&y[t][i].bsums[4 * p])));
                m = _mm256_add_epi32(m, _mm256_srli_epi64(m, 32));
                const float d = y[t][i].d;
                const __m256 pd = _mm256_mul_ps(_mm256_mul_ps(xd, _mm256_set1_ps(d)), _mm256_cvtepi32_ps(sumi[t]));
                const __m256 pm = _mm256_mul_ps(_mm256_mul_ps(xdm, _mm256_set1_ps(-d)), _mm256_cvtepi32_ps(m));
                acc[t] = _mm256_add_ps(acc[t], pd);
                accm[t] = _mm256_add_ps(accm[t], pm);
            }
        }
        for (int t = 0; t < NT; t++) {
            /* lane 2 r: (A0 + A1) + Mm */
            const __m256 r = _mm256_add_ps(_mm256_add_ps(acc[t], _mm256_permute_ps(acc[t], 0xB1)), accm[t]);
            _mm_storeu_ps(s + t * bs + 4 * g, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(r, even)));
        }
    }
}

void eq_vec_dot_p8x1_q4_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_Kx8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q4_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_Kx8_tokens(n, s, bs, vx, vy, by, 4);
}

#else
typedef int eq_avx2_q4k_x8_unused; /* ISO C wants at least one declaration per file */
#endif
