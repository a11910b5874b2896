/* AVX2 kernels for Q6_K rows repacked eight at a time (quant/repack.h), for CPUs without the
 * AVX-512 ones (avx512_q6k_x8.c): a 256-bit half of each 64-byte ql or qh chunk holds the
 * same eight bytes of four rows (half g: rows 4 g .. 4 g + 3), so one vpmaddubsw works for
 * four rows against a broadcast of eight activation bytes, and 16-bit lanes 4 r .. 4 r + 3 of
 * its sums belong to row 4 g + r. The codes stay unsigned (0..63): a sub-block's two steps,
 * added in 16 bits, are at most 4 * 63 * 128; one vpmaddwd by the rows' scales takes them to
 * 32 bits (two lanes a row), and the offset 32 comes off the same way, as a vpmaddwd of the
 * scales by -8 * bsum in every lane. A row's two lanes are added as integers, so the integer
 * and the float steps are eq_q6_Kx8_dot_ref's: one product d * T a row and block. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m256i bcast8(const void *p) { return _mm256_set1_epi64x(eq_load_i64(p)); }

/* Half g of step (h, c): the codes of values 128 h + 8 c + 32 k + [0, 8), k = 0..3: the low
 * (k < 2) or high nibble of ql chunk 8 h + c (k even) or 8 h + c + 4 (k odd), qh chunk
 * 4 h + c's bits 2 k, 2 k + 1 on top as bits 4-5 (16-bit shifts: the mask keeps no bit of the
 * neighbouring byte). */
static inline __attribute__((always_inline))
void half_codes(const block_q6_Kx8 *b, int h, int c, int g, __m256i v[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i q = _mm256_loadu_si256((const __m256i *)(b->qh[4 * h + c] + 32 * g));
    const __m256i la = _mm256_loadu_si256((const __m256i *)(b->ql[8 * h + c] + 32 * g));
    const __m256i lb = _mm256_loadu_si256((const __m256i *)(b->ql[8 * h + c + 4] + 32 * g));
    v[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_and_si256(_mm256_slli_epi16(q, 4), m30));
    v[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_and_si256(_mm256_slli_epi16(q, 2), m30));
    v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(q, m30));
    v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4), _mm256_and_si256(_mm256_srli_epi16(q, 2), m30));
}

/* Half g's scales of sub-block sub, sign-extended into 16-bit lanes 4 r .. 4 r + 3 (row 4 g + r):
 * sc[p] holds the eight rows' scales of sub-blocks A(p) and A(p) + 2 (repack.h), so sub is in
 * sc[4 (sub / 8) + 2 (sub & 1) + (sub >> 2 & 1)] at byte 8 ((sub >> 1) & 1) + row; a vpshufb
 * puts it in each lane's high byte (the low one zero: 0x80), an arithmetic shift brings it down. */
static inline __m256i sub_scale(const block_q6_Kx8 *b, int sub, int g) {
    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b->sc[4 * (sub / 8) + 2 * (sub & 1) + ((sub >> 2) & 1)]));
    const char o = (char)(8 * ((sub >> 1) & 1) + 4 * g), z = -128;
    const __m256i idx = _mm256_setr_epi8(z, o, z, o, z, o, z, o, z, (char)(o + 1), z, (char)(o + 1), z, (char)(o + 1), z, (char)(o + 1),
                                         z, (char)(o + 2), z, (char)(o + 2), z, (char)(o + 2), z, (char)(o + 2),
                                         z, (char)(o + 3), z, (char)(o + 3), z, (char)(o + 3), z, (char)(o + 3));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(v, idx), 8);
}

/* Block i's integer sums of halves g0 .. g1 - 1 for NT tokens: sumi[t][g], two 32-bit lanes a row. */
static inline __attribute__((always_inline))
void q6_sums(__m256i sumi[4][2], const block_q6_Kx8 *b, const block_q8_K *const *y, int i, const int NT, const int g0, const int g1) {
    for (int t = 0; t < NT; t++)
        for (int g = g0; g < g1; g++) sumi[t][g] = _mm256_setzero_si256();
    UNROLL
    for (int h = 0; h < 2; h++) {
        UNROLL
        for (int c2 = 0; c2 < 2; c2++) {   /* steps 2 c2 and 2 c2 + 1: the same sub-blocks */
            UNROLL
            for (int g = g0; g < g1; g++) {
                __m256i v0[4], v1[4];
                half_codes(b, h, 2 * c2, g, v0);
                half_codes(b, h, 2 * c2 + 1, g, v1);
                UNROLL
                for (int k = 0; k < 4; k++) {
                    const int sub = 8 * h + 2 * k + c2;
                    const __m256i sc = sub_scale(b, sub, g);
                    UNROLL
                    for (int t = 0; t < NT; t++) {
                        const int8_t *q8 = y[t][i].qs + 128 * h + 32 * k + 16 * c2;
                        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(v0[k], bcast8(q8)), _mm256_maddubs_epi16(v1[k], bcast8(q8 + 8)));
                        /* the codes' offset: -8 * bsum in each of a row's four 16-bit lanes */
                        const __m256i o = _mm256_set1_epi16((short)(-8 * y[t][i].bsums[sub]));
                        sumi[t][g] = _mm256_add_epi32(sumi[t][g], _mm256_add_epi32(_mm256_madd_epi16(p, sc), _mm256_madd_epi16(o, sc)));
                    }
                }
            }
        }
    }
}

/* acc (lane 2 r: row 4 g + r) += d_row d_y T_row, T_row the row's two lanes added */
static inline void q6_step(__m256 *acc, const block_q6_Kx8 *b, int g, __m256i sumi, float yd) {
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 xd = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(b->d + 4 * g)))), dup);
    const __m256i T = _mm256_add_epi32(sumi, _mm256_srli_epi64(sumi, 32));
    *acc = _mm256_add_ps(*acc, _mm256_mul_ps(_mm256_mul_ps(xd, _mm256_set1_ps(yd)), _mm256_cvtepi32_ps(T)));
}

static inline void q6_store(float *s, __m256 acc) {
    _mm_storeu_ps(s, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(acc, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6))));
}

/* One token: both halves in one pass over the row (each activation broadcast serves both). */
void eq_vec_dot_p8x1_q6_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    (void)bs, (void)by;
    const block_q6_Kx8 *x = vx;
    const block_q8_K *y[1] = {vy};
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const block_q6_Kx8 *b = x + i;
        eq_prefetch(b, sizeof *b, sizeof *b);   /* L1 one block ahead, L2 five (avx2.h) */
        eq_prefetch_l2(b, 5 * sizeof *b, sizeof *b);
        __m256i sumi[4][2];
        q6_sums(sumi, b, y, i, 1, 0, 2);
        q6_step(&acc[0], b, 0, sumi[0][0], y[0][i].d);
        q6_step(&acc[1], b, 1, sumi[0][1], y[0][i].d);
    }
    q6_store(s, acc[0]);
    q6_store(s + 4, acc[1]);
}

/* Four tokens: rows 0-3, then 4-7 (a pass over the row each: the registers hold no more). */
void eq_vec_dot_p8x4_q6_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    enum { NT = 4 };
    const block_q6_Kx8 *x = vx;
    const block_q8_K *y[NT];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    for (int g = 0; g < 2; g++) {
        __m256 acc[NT];
        for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_ps();
        for (int i = 0; i < n / EQ_QK_K; i++) {
            const block_q6_Kx8 *b = x + i;
            __m256i sumi[4][2];
            if (g == 0) q6_sums(sumi, b, y, i, NT, 0, 1);
            else q6_sums(sumi, b, y, i, NT, 1, 2);
            for (int t = 0; t < NT; t++) q6_step(&acc[t], b, g, sumi[t][g], y[t][i].d);
        }
        for (int t = 0; t < NT; t++) q6_store(s + t * bs + 4 * g, acc[t]);
    }
}

#else
typedef int eq_avx2_q6k_x8_unused; /* ISO C wants at least one declaration per file */
#endif
