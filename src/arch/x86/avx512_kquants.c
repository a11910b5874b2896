/* AVX-512 (BW + VNNI) 4-token kernels for Q4_K and Q6_K against Q8_K: prompt processing's hot
 * loops, where a build for a CPU that has them (EQ_NATIVE on such a machine) spends most of
 * its time. The single-row (generation) kernels stay the AVX2 ones.
 *
 * Same plan as avx2_kquants.c, twice as wide: one 512-bit register holds two consecutive
 * sub-blocks' codes, lining up with 64 contiguous Q8_K bytes, so one maddubs and one vpdpwssd
 * (the 16-bit scale multiply and the add, fused) do what the AVX2 loop does with two maddubs,
 * two madd and two adds. The two 256-bit halves of the integer sum are added before the
 * conversion to float: per 32-bit lane the super-block's integer total is then exactly the
 * AVX2 kernel's (integer sums do not depend on order), and the float steps after it are the
 * same instructions on the same values, so results are bit-identical to the AVX2 vec_dot. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX512)
#include "arch/x86/avx2.h"
#include "arch/x86/kquants_x86.h"
#include "quant/blocks.h"


/* vpermw controls. k_q4p[a]: the 16-bit lanes alternate scales 2a and 2a + 4 in the low 256
 * bits, 2a + 1 and 2a + 5 in the high (sub-block pairs j = a and a + 2 share a 32-bit lane,
 * see below); k_q6p[h]: scales 8h + q and 8h + q + 4 alternate in 128-bit quarter q (16-value
 * sub-blocks, the same pairing). */
#define A16(u, v) u, v, u, v, u, v, u, v, u, v, u, v, u, v, u, v
#define A8(u, v) u, v, u, v, u, v, u, v
static const int16_t k_q4p[2][32] = { { A16(0, 4), A16(1, 5) }, { A16(2, 6), A16(3, 7) } };
static const int16_t k_mins2[16] = { 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15 };
static const int16_t k_q6p[2][32] = { { A8(0, 4), A8(1, 5), A8(2, 6), A8(3, 7) },
                                      { A8(8, 12), A8(9, 13), A8(10, 14), A8(11, 15) } };
#undef A8
#undef A16
static inline __m512i ctl(const int16_t *c) { return _mm512_loadu_si512((const void *)c); }

static inline __m256i fold(__m512i v) {
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* NT tokens at once (a constant after inlining): the weight codes and scales are unpacked
 * once for all of them. */
static inline __attribute__((always_inline))
void q4_K_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q4_K *x = vx;
    const block_q8_K *y[8];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m512i m4 = _mm512_set1_epi8(0xF);
    __m256 acc[8];
    /* the minimum terms: lane 2l holds k4_min_term's lane l (odd lanes are unused) */
    __m256 acc_m[8];
    for (int t = 0; t < NT; t++) { acc[t] = _mm256_setzero_ps(); acc_m[t] = _mm256_setzero_ps(); }
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const float xd = F16(x[i].d), xdmin = F16(x[i].dmin);
        const __m256i sm = k4_scales_mins(x[i].scales);
        const __m512i sm512 = _mm512_zextsi256_si512(sm);
        const __m256i mins2 = _mm256_permutexvar_epi16(_mm256_loadu_si256((const __m256i *)k_mins2), sm);
        /* codes of values 0..63 (low nibbles, then high) and of 64..127; 128..191 and 192..255 */
        __m512i w[4];
        UNROLL
        for (int j = 0; j < 4; j++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * j));
            w[j] = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(bits), _mm256_srli_epi16(bits, 4), 1), m4);
        }
        const __m512i sc02 = _mm512_permutexvar_epi16(ctl(k_q4p[0]), sm512);
        const __m512i sc13 = _mm512_permutexvar_epi16(ctl(k_q4p[1]), sm512);
        __m512i sumi[8];
        UNROLL
        for (int t = 0; t < NT; t++) {
            const int8_t *q8 = y[t][i].qs;
            __m512i p[4];
            UNROLL
            for (int j = 0; j < 4; j++)
                p[j] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[j], _mm512_loadu_si512((const void *)(q8 + 64 * j)));
            /* each 32-bit sum of four products fits in 16 bits (|sum| <= 4 * 15 * 127): pair
             * j with j + 2 in one 32-bit lane, so one vpdpwssd scales and adds both */
            const __m512i p02 = _mm512_mask_blend_epi16(0xAAAAAAAAu, p[0], _mm512_slli_epi32(p[2], 16));
            const __m512i p13 = _mm512_mask_blend_epi16(0xAAAAAAAAu, p[1], _mm512_slli_epi32(p[3], 16));
            sumi[t] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_setzero_si512(), p02, sc02), p13, sc13);
        }
        UNROLL
        for (int t = 0; t < NT; t++) {
            const float d = y[t][i].d * xd;
            const float dmin = -y[t][i].d * xdmin;
            /* k4_min_term's integers without its hadd: min[q] * (bsums[2q] + bsums[2q+1]) in lane
             * q, then lanes 2l and 2l + 1 added into lane 2l */
            const __m256i mq = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[t][i].bsums), mins2);
            const __m256i ml = _mm256_add_epi32(mq, _mm256_srli_epi64(mq, 32));
            acc_m[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(ml), acc_m[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(fold(sumi[t])), acc[t]);
        }
    }
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    for (int t = 0; t < NT; t++)
        s[t * bs] = eq_avx2_hsum_ps(acc[t]) + hsum_ps4(_mm256_castps256_ps128(_mm256_permutevar8x32_ps(acc_m[t], even)));
}

static inline __attribute__((always_inline))
void q6_K_tokens(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int NT) {
    const block_q6_K *x = vx;
    const block_q8_K *y[8];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m512i m4 = _mm512_set1_epi8(0xF);
    /* the high 2-bit pairs of the first 32-value group sit at bits 0-1 of qh, the second's at
     * 2-3: shift the upper copy of qh by 2 so both groups' pairs line up */
    const __m512i hshift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m256 acc[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const float xd = F16(x[i].d);
        const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m512i sc512 = _mm512_zextsi256_si512(scales);
        __m512i sumi[8];
        for (int t = 0; t < NT; t++) sumi[t] = _mm512_setzero_si512();
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        UNROLL
        for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
            /* values 128h + [0, 64): low nibbles of ql[0..63]; [64, 128): their high nibbles */
            const __m512i l = _mm512_loadu_si512((const void *)ql);
            const __m512i hb = _mm512_srlv_epi16(_mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh)), hshift);
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(l, m4),
                                                _mm512_slli_epi16(_mm512_and_si512(hb, _mm512_set1_epi8(0x03)), 4));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                                _mm512_and_si512(hb, _mm512_set1_epi8(0x30)));
            const __m512i sc = _mm512_permutexvar_epi16(ctl(k_q6p[h]), sc512);
            UNROLL
            for (int t = 0; t < NT; t++) {
                const int8_t *q8 = y[t][i].qs + 128 * h;
                /* |sum of four products| <= 4 * 63 * 128 fits in 16 bits: pair the two halves */
                const __m512i p01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q01, _mm512_loadu_si512((const void *)q8));
                const __m512i p23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q23, _mm512_loadu_si512((const void *)(q8 + 64)));
                const __m512i pp = _mm512_mask_blend_epi16(0xAAAAAAAAu, p01, _mm512_slli_epi32(p23, 16));
                sumi[t] = _mm512_dpwssd_epi32(sumi[t], pp, sc);
            }
        }
        UNROLL
        for (int t = 0; t < NT; t++) {
            const float d = y[t][i].d * xd;
            const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales, _mm256_loadu_si256((const __m256i *)y[t][i].bsums)), 5);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(fold(sumi[t]), offset)), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) s[t * bs] = eq_avx2_hsum_ps(acc[t]);
}

void eq_vec_dot_x4_q4_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_K_tokens(n, s, bs, vx, vy, by, 4);
}
void eq_vec_dot_x8_q4_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q4_K_tokens(n, s, bs, vx, vy, by, 8);
}
void eq_vec_dot_x4_q6_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q6_K_tokens(n, s, bs, vx, vy, by, 4);
}
void eq_vec_dot_x8_q6_K_q8_K_avx512(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    q6_K_tokens(n, s, bs, vx, vy, by, 8);
}

#else
typedef int eq_avx512_kquants_unused; /* ISO C wants at least one declaration per file */
#endif
