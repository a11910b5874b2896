/* AVX-512 (VBMI + VNNI) kernels for Q4_K and Q5_K rows repacked eight at a time (quant/repack.h):
 * one 512-bit load holds the same eight bytes of each of eight rows, so every vpdpbusd works
 * for eight rows at once against one broadcast of eight activation bytes, and every 32-bit
 * lane of the integer sums belongs to one row (two lanes a row: its bytes 0-3 and 4-7 of each
 * eight). The sub-block scales are spread over those lanes by one vpermb each, the float
 * steps run for eight rows per instruction, and no sum needs a horizontal reduction until
 * the row's two lanes are added at the very end. eq_q4_Kx8_dot_ref is this procedure in C.
 * Q5_K: each code's fifth bit put in from the qh chunk beside its nibbles. Its codes reach
 * 31, so a quarter-block's products no longer fit the 16 bits the scale multiply (vpdpwssd)
 * reads: two halves of eight products a lane each, scaled apart (eq_q5_Kx8_dot_ref; the
 * integers are exact, so the order is free). */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX512_VBMI)
#include <immintrin.h>
#include <string.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m512i bcast8(const int8_t *p) { return _mm512_set1_epi64(eq_load_i64(p)); }

static inline __attribute__((always_inline))
void k4x8_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT, const int Q5) {
    const block_q8_K *y[4];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30), m16 = _mm512_set1_epi8(0x10);
    /* sh holds the top bits of values k and k + 32 at bits 0-1 and 2-3: the upper copy
     * shifted by 2 lines value k + 32 up with byte k + 32 */
    const __m512i hshift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    /* vpermb controls: byte 8 r (and 8 r + 4) picks value 8 r + sb, the scale of row r's
     * sub-block sb, into both of its lanes; for the mins, bytes 4 r and 4 r + 2 */
    const __m512i sc_base = _mm512_set_epi64(7 * 0x800000008LL, 6 * 0x800000008LL, 5 * 0x800000008LL,
                                             4 * 0x800000008LL, 3 * 0x800000008LL, 2 * 0x800000008LL,
                                             0x800000008LL, 0);
    const __m512i mn_base = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 7 * 0x80008, 6 * 0x80008, 5 * 0x80008,
                                             4 * 0x80008, 3 * 0x80008, 2 * 0x80008, 0x80008, 0);
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    __m512 acc[4];
    __m256 accm[4];
    for (int t = 0; t < NT; t++) { acc[t] = _mm512_setzero_ps(); accm[t] = _mm256_setzero_ps(); }
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const eq_k4x8_view b = eq_k4x8_view_at(vx, i, Q5);
        const size_t bsz = Q5 ? sizeof(block_q5_Kx8) : sizeof(block_q4_Kx8);
        /* the next block into L1, the eighth next into L2 (avx2.h). A Zen 4 streams these rows
         * faster with neither (A/B medians, tg at 1 thread: 1.1B Q4_K_M +4%, Phi-3.5 shape
         * +8%, Q5_K_M +7%; 2 threads alike), though its packed Q6_K kernel loses a quarter of
         * the whole model's speed without its own */
        if (NT == 1) {
            eq_prefetch(b.d, bsz, bsz);
            if (!EQ_PREFETCH_ZEN) eq_prefetch_l2(b.d, 8 * bsz, bsz);
        }
        const __m512 xd = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b.d))));
        const __m256 xdm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)b.dmin));
        const __m512i sl = _mm512_loadu_si512((const void *)b.sl);
        const __m512i sh = _mm512_srlv_epi16(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)b.sh)), hshift);
        const __m512i v0 = _mm512_or_si512(_mm512_and_si512(sl, m4), _mm512_and_si512(_mm512_slli_epi16(sh, 4), m30));
        const __m512i v1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(sl, 4), m4), _mm512_and_si512(sh, m30));
        __m512i sumi[4];
        for (int t = 0; t < NT; t++) sumi[t] = _mm512_setzero_si512();
        __m512i qh[4];
        if (Q5) {
            UNROLL
            for (int h = 0; h < 4; h++) qh[h] = _mm512_loadu_si512((const void *)(b.qh + 64 * h));
        }
        UNROLL
        for (int j = 0; j < 4; j++) {
            /* sub-block 2 j's codes (low nibbles) and 2 j + 1's (high), a quarter at a time */
            __m512i lo[4], hi[4];
            UNROLL
            for (int h = 0; h < 4; h++) {
                const __m512i p = _mm512_loadu_si512((const void *)(b.qs + 64 * (4 * j + h)));
                if (!Q5) {
                    lo[h] = _mm512_and_si512(p, m4);
                    hi[h] = _mm512_and_si512(_mm512_srli_epi16(p, 4), m4);
                    continue;
                }
                /* the fifth bits (bits 2 j and 2 j + 1 of qh) to bit 4: shifts of at most four
                 * within 16-bit lanes, so no bit of the other byte reaches bit 4 */
                const __m512i b0 = 2 * j <= 4 ? _mm512_slli_epi16(qh[h], (4 - 2 * j) & 7) : _mm512_srli_epi16(qh[h], (2 * j - 4) & 7);
                const __m512i b1 = 2 * j + 1 <= 4 ? _mm512_slli_epi16(qh[h], (3 - 2 * j) & 7) : _mm512_srli_epi16(qh[h], (2 * j - 3) & 7);
                /* (p & 0x0F) | (b0 & 0x10), (p >> 4 & 0x0F) | (b1 & 0x10): vpternlogd, m4 ? x : y */
                lo[h] = _mm512_ternarylogic_epi32(m4, p, _mm512_and_si512(b0, m16), 0xCA);
                hi[h] = _mm512_ternarylogic_epi32(m4, _mm512_srli_epi16(p, 4), _mm512_and_si512(b1, m16), 0xCA);
            }
            const __m512i s0 = _mm512_maskz_permutexvar_epi8(0x1111111111111111ULL, _mm512_add_epi8(sc_base, _mm512_set1_epi8((char)(2 * j))), v0);
            const __m512i s1 = _mm512_maskz_permutexvar_epi8(0x1111111111111111ULL, _mm512_add_epi8(sc_base, _mm512_set1_epi8((char)(2 * j + 1))), v0);
            UNROLL
            for (int t = 0; t < NT; t++) {
                const int8_t *q8 = y[t][i].qs + 64 * j;
                /* |pl| <= 16 * 15 * 128 (Q5_K: each half's 8 * 31 * 128) fits in the low 16
                 * bits, and the scale's high word is zero: one vpdpwssd is the exact scale
                 * multiply and add */
                if (!Q5) {
                    __m512i pl = _mm512_setzero_si512(), ph = _mm512_setzero_si512();
                    UNROLL
                    for (int h = 0; h < 4; h++) {
                        pl = _mm512_dpbusd_epi32(pl, lo[h], bcast8(q8 + 8 * h));
                        ph = _mm512_dpbusd_epi32(ph, hi[h], bcast8(q8 + 32 + 8 * h));
                    }
                    sumi[t] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(sumi[t], pl, s0), ph, s1);
                    continue;
                }
                UNROLL
                for (int k = 0; k < 2; k++) {
                    __m512i pl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[2 * k], bcast8(q8 + 16 * k));
                    __m512i ph = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[2 * k], bcast8(q8 + 32 + 16 * k));
                    pl = _mm512_dpbusd_epi32(pl, lo[2 * k + 1], bcast8(q8 + 16 * k + 8));
                    ph = _mm512_dpbusd_epi32(ph, hi[2 * k + 1], bcast8(q8 + 32 + 16 * k + 8));
                    sumi[t] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(sumi[t], pl, s0), ph, s1);
                }
            }
        }
        /* the mins: lane r of mc[q] holds row r's min q in both 16-bit halves, against the
         * two bsums of sub-block q */
        __m256i mc[8];
        UNROLL
        for (int q = 0; q < 8; q++)
            mc[q] = _mm512_castsi512_si256(_mm512_maskz_permutexvar_epi8(0x55555555ULL, _mm512_add_epi8(mn_base, _mm512_set1_epi8((char)q)), v1));
        UNROLL
        for (int t = 0; t < NT; t++) {
            __m256i m = _mm256_setzero_si256();
            UNROLL
            for (int q = 0; q < 8; q++) {
                int32_t pair;
                memcpy(&pair, &y[t][i].bsums[2 * q], 4);
                m = _mm256_dpwssd_epi32(m, mc[q], _mm256_set1_epi32(pair));
            }
            const float d = y[t][i].d;
            /* multiply, then add: the procedure wasm can follow too (it has no fma) */
            const __m512 p = _mm512_mul_ps(_mm512_mul_ps(xd, _mm512_set1_ps(d)), _mm512_cvtepi32_ps(sumi[t]));
            const __m256 pm = _mm256_mul_ps(_mm256_mul_ps(xdm, _mm256_set1_ps(-d)), _mm256_cvtepi32_ps(m));
            acc[t] = _mm512_add_ps(acc[t], p);
            accm[t] = _mm256_add_ps(accm[t], pm);
        }
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int t = 0; t < NT; t++) {
        const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(even, acc[t])),
                                       _mm512_castps512_ps256(_mm512_permutexvar_ps(odd, acc[t])));
        _mm256_storeu_ps(s + t * bs, _mm256_add_ps(a, accm[t]));
    }
}

void eq_vec_dot_p8x1_q4_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_tokens(n, s, bs, vx, vy, by, 1, 0);
}
void eq_vec_dot_p8x4_q4_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_tokens(n, s, bs, vx, vy, by, 4, 0);
}
void eq_vec_dot_p8x1_q5_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_tokens(n, s, bs, vx, vy, by, 1, 1);
}
void eq_vec_dot_p8x4_q5_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_tokens(n, s, bs, vx, vy, by, 4, 1);
}

#else
typedef int eq_avx512_q4k_x8_unused; /* ISO C wants at least one declaration per file */
#endif
