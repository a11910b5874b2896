/* AVX-512 (BW + VNNI) kernels for Q6_K rows repacked eight at a time (quant/repack.h): one
 * 512-bit load holds the same eight ql (or qh) bytes of each of eight rows, so a vpdpbusd
 * works for eight rows against one broadcast of eight activation bytes and every 32-bit lane
 * belongs to one row (two lanes a row). Two sub-blocks' sums, each at most 4 * 63 * 127 in a
 * lane, share a lane as 16-bit halves and one vpdpwssd multiplies both by their scales; the
 * codes' offset of 32 comes in the same way, as -16 * bsum per lane (two lanes a row). The
 * float steps run for eight rows per instruction. eq_q6_Kx8_dot_ref is the procedure in C:
 * the same integer per row and block, the same multiplies and add. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX512)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m512i bcast8(const int8_t *p) { return _mm512_set1_epi64(eq_load_i64(p)); }

/* (a & m) | b, one vpternlogd */
static inline __m512i and_or(__m512i a, __m512i m, __m512i b) { return _mm512_ternarylogic_epi32(a, m, b, 0xEA); }

static inline __attribute__((always_inline))
void q6_Kx8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q6_Kx8 *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    /* vpermw: 16-bit lanes 2 L and 2 L + 1 (32-bit lane L, row L / 2) take the row's scales of
     * the pair's two sub-blocks (bytes r and 8 + r of a scale pair) */
    const __m512i spread = _mm512_set_epi16(15, 7, 15, 7, 14, 6, 14, 6, 13, 5, 13, 5, 12, 4, 12, 4,
                                            11, 3, 11, 3, 10, 2, 10, 2, 9, 1, 9, 1, 8, 0, 8, 0);
    /* bsums into scale-pair order: 16-bit lane 2 p is sub-block A(p), 2 p + 1 is A(p) + 2 */
    const __m256i pairs = _mm256_setr_epi16(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
    __m256 acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const block_q6_Kx8 *b = x + i;
        if (NT == 1) {   /* the next block into L1, the fifth next into L2 (avx2.h) */
            eq_prefetch(b, sizeof *b, sizeof *b);
            eq_prefetch_l2(b, 5 * sizeof *b, sizeof *b);
        }
        const __m256 xd = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b->d));
        __m512i sc[8];
        UNROLL
        for (int p = 0; p < 8; p++)
            sc[p] = _mm512_permutexvar_epi16(spread, _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->sc[p]))));
        __m512i sumi[4];
        for (int t = 0; t < NT; t++) sumi[t] = _mm512_setzero_si512();
        UNROLL
        for (int h = 0; h < 2; h++) {
            UNROLL
            for (int g = 0; g < 4; g++) {
                /* values 128 h + 8 g + 32 k + [0, 8) of each row, k = 0..3, as codes 0..63 */
                const __m512i q = _mm512_loadu_si512((const void *)b->qh[4 * h + g]);
                const __m512i la = _mm512_loadu_si512((const void *)b->ql[8 * h + g]);
                const __m512i lb = _mm512_loadu_si512((const void *)b->ql[8 * h + g + 4]);
                const __m512i v0 = and_or(la, m4, _mm512_and_si512(_mm512_slli_epi16(q, 4), m30));
                const __m512i v1 = and_or(lb, m4, _mm512_and_si512(_mm512_slli_epi16(q, 2), m30));
                const __m512i v2 = and_or(_mm512_srli_epi16(la, 4), m4, _mm512_and_si512(q, m30));
                const __m512i v3 = and_or(_mm512_srli_epi16(lb, 4), m4, _mm512_and_si512(_mm512_srli_epi16(q, 2), m30));
                const int p = 4 * h + 2 * (g / 2);
                UNROLL
                for (int t = 0; t < NT; t++) {
                    const int8_t *q8 = y[t][i].qs + 128 * h + 8 * g;
                    const __m512i z = _mm512_setzero_si512();
                    const __m512i p0 = _mm512_dpbusd_epi32(z, v0, bcast8(q8));
                    const __m512i p1 = _mm512_dpbusd_epi32(z, v1, bcast8(q8 + 32));
                    const __m512i p2 = _mm512_dpbusd_epi32(z, v2, bcast8(q8 + 64));
                    const __m512i p3 = _mm512_dpbusd_epi32(z, v3, bcast8(q8 + 96));
                    sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_mask_blend_epi16(0xAAAAAAAAu, p0, _mm512_slli_epi32(p1, 16)), sc[p]);
                    sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_mask_blend_epi16(0xAAAAAAAAu, p2, _mm512_slli_epi32(p3, 16)), sc[p + 1]);
                }
            }
        }
        UNROLL
        for (int t = 0; t < NT; t++) {
            /* the offset: -16 * bsum in each of a row's two lanes, -32 * sum(scale * bsum) */
            const __m256i bsum = _mm256_loadu_si256((const __m256i *)y[t][i].bsums);
            int32_t mp[8];
            _mm256_storeu_si256((__m256i *)mp, _mm256_permutexvar_epi16(pairs, _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(bsum, 4))));
            __m512i si = sumi[t];
            UNROLL
            for (int p = 0; p < 8; p++) si = _mm512_dpwssd_epi32(si, sc[p], _mm512_set1_epi32(mp[p]));
            /* row r's two lanes added: one integer per row */
            const __m256i T = _mm512_cvtepi64_epi32(_mm512_add_epi32(si, _mm512_srli_epi64(si, 32)));
            const __m256 d = _mm256_mul_ps(xd, _mm256_set1_ps(y[t][i].d));
            acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(d, _mm256_cvtepi32_ps(T)));
        }
    }
    for (int t = 0; t < NT; t++) _mm256_storeu_ps(s + t * bs, acc[t]);
}

void eq_vec_dot_p8x1_q6_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q6_Kx8_tokens(n, s, bs, vx, vy, by, 1);
}
void eq_vec_dot_p8x4_q6_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q6_Kx8_tokens(n, s, bs, vx, vy, by, 4);
}

#else
typedef int eq_avx512_q6k_x8_unused; /* ISO C wants at least one declaration per file */
#endif
