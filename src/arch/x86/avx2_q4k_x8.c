/* AVX2 kernels for Q4_K and Q5_K rows repacked eight at a time (quant/repack.h), for CPUs
 * without the AVX-512 VBMI ones (avx512_q4k_x8.c): a 256-bit half of each 64-byte chunk holds the same
 * eight bytes of four rows, one vpmaddubsw (vpdpbusd where the CPU has VNNI) per half works
 * for four rows against a broadcast of eight activation bytes, and every 32-bit lane of the
 * sums belongs to one row (its bytes 0-3 or 4-7 of each eight). Within a 128-bit lane the
 * rows' scales are at hand, so a vpshufb spreads them (no cross-lane permute). Rows 0-3 are
 * one half of each chunk, rows 4-7 the other. Same integers and float steps as
 * eq_q4_Kx8_dot_ref (Q5_K: eq_q5_Kx8_dot_ref, the fifth bits put in from the qh chunks), with
 * VNNI or without. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include <immintrin.h>
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "quant/repack.h"

static inline __m256i bcast8(const void *p) { return _mm256_set1_epi64x(eq_load_i64(p)); }

/* Half g of chunk 4 j + h: the codes of sub-blocks 2 j (lo, the low nibbles) and 2 j + 1 (hi),
 * with their fifth bits for Q5_K (bits 2 j and 2 j + 1 of qh moved to bit 4: shifts of at
 * most four within 16-bit lanes, so no bit of the other byte reaches bit 4). */
static inline __attribute__((always_inline))
void half_codes(const eq_k4x8_view *b, int j, int h, int g, __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m16 = _mm256_set1_epi8(0x10);
    const __m256i p = _mm256_loadu_si256((const __m256i *)(b->qs + 64 * (4 * j + h) + 32 * g));
    *lo = _mm256_and_si256(p, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), m4);
    if (b->qh) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(b->qh + 64 * h + 32 * g));
        const __m256i b0 = 2 * j <= 4 ? _mm256_slli_epi16(q, (4 - 2 * j) & 7) : _mm256_srli_epi16(q, (2 * j - 4) & 7);
        const __m256i b1 = 2 * j + 1 <= 4 ? _mm256_slli_epi16(q, (3 - 2 * j) & 7) : _mm256_srli_epi16(q, (2 * j - 3) & 7);
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(b0, m16));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(b1, m16));
    }
}

/* Half g's four rows (4 g .. 4 g + 3) of block b: their six-bit scales (v0) or mins (v1) as
 * bytes 8 r + s. */
static inline __m256i half_bytes(const eq_k4x8_view *b, int g, int mins) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i sl = _mm256_loadu_si256((const __m256i *)(b->sl + 32 * g));
    const __m256i sh = _mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)b->sh), 2 * g);
    return mins ? _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(sl, 4), m4), _mm256_and_si256(sh, m30))
                : _mm256_or_si256(_mm256_and_si256(sl, m4), _mm256_and_si256(_mm256_slli_epi16(sh, 4), m30));
}

/* The codes' products with the activations, accumulated: with vnni (a VNNI build, avx2.h)
 * int32 lanes of four products (vpdpbusd), without it int16 lanes of two (vpmaddubsw; four
 * of them added stay within 8 * 15 * 128). first: acc is ignored. */
static inline __m256i dot_add(__m256i acc, __m256i u, __m256i s, int first, int vnni) {
#if defined(EQ_AVX2_VNNI)
    if (vnni) return eq_avx2_dpbusd(first ? _mm256_setzero_si256() : acc, u, s);
#endif
    (void)vnni;
    const __m256i p = _mm256_maddubs_epi16(u, s);
    return first ? p : _mm256_add_epi16(acc, p);
}

/* sumi + dot_add's sums times their sub-block scales (sub_scale), exactly: with vnni one
 * vpdpwssd (a sum, at most 16 * 15 * 128, fits the low 16 bits; the scale's high word is
 * zero), without it a vpmaddwd of both 16-bit sums by the scale and an add. */
static inline __m256i scale_add(__m256i sumi, __m256i p, __m256i sc, int vnni) {
#if defined(EQ_AVX2_VNNI)
    if (vnni) return eq_avx2_dpwssd(sumi, p, sc);
#endif
    (void)vnni;
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(p, sc));
}

/* Sub-block sb's scale of each row, spread by a vpshufb within each 128-bit lane (two rows):
 * 32-bit lane 2 r + a takes row r's in its low 16-bit half (vnni) or in both (the high bytes
 * zero: 0x80). */
static inline __m256i sub_scale(__m256i v0, int sb, int vnni) {
    const __m256i both = _mm256_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128,
                                          0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128);
    const __m256i low = _mm256_setr_epi8(0, -128, -128, -128, 0, -128, -128, -128, 8, -128, -128, -128, 8, -128, -128, -128,
                                         0, -128, -128, -128, 0, -128, -128, -128, 8, -128, -128, -128, 8, -128, -128, -128);
    return _mm256_shuffle_epi8(v0, _mm256_add_epi8(vnni ? low : both, _mm256_set1_epi8((char)sb)));
}

/* What the float step of half g needs from block b (taken after the integer sums, so that
 * it holds no registers during them): lane 2 r + a of mc[p] holds row r's min 2 p + a in
 * both 16-bit halves; d and dmin in lanes 2 r and 2 r + 1. */
typedef struct { __m256i mc[4]; __m256 xd, xdm; } q4_mins;
static inline __attribute__((always_inline)) q4_mins half_mins(const eq_k4x8_view *b, int g) {
    const __m256i mn_base = _mm256_setr_epi8(0, -128, 0, -128, 1, -127, 1, -127, 8, -128, 8, -128, 9, -119, 9, -119,
                                             0, -128, 0, -128, 1, -127, 1, -127, 8, -128, 8, -128, 9, -119, 9, -119);
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256i v1 = half_bytes(b, g, 1);
    q4_mins q;
    UNROLL
    for (int p = 0; p < 4; p++) q.mc[p] = _mm256_shuffle_epi8(v1, _mm256_add_epi8(mn_base, _mm256_set1_epi8((char)(2 * p))));
    q.xd = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(b->d + 4 * g)))), dup);
    q.xdm = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(b->dmin + 4 * g)))), dup);
    return q;
}

/* A block's float step for one half and one token: the integer sums (lanes 2 r + a) times
 * d d_y into acc; the mins against the bsums of sub-blocks 2 p and 2 p + 1 (a row's two
 * lanes then add) times -dmin d_y into accm. */
static inline __attribute__((always_inline))
void half_step(__m256 *acc, __m256 *accm, const q4_mins *q, __m256i sumi, const block_q8_K *y) {
    __m256i m = _mm256_setzero_si256();
    UNROLL
    for (int p = 0; p < 4; p++) m = _mm256_add_epi32(m, _mm256_madd_epi16(q->mc[p], bcast8(&y->bsums[4 * p])));
    m = _mm256_add_epi32(m, _mm256_srli_epi64(m, 32));
    *acc = _mm256_add_ps(*acc, _mm256_mul_ps(_mm256_mul_ps(q->xd, _mm256_set1_ps(y->d)), _mm256_cvtepi32_ps(sumi)));
    *accm = _mm256_add_ps(*accm, _mm256_mul_ps(_mm256_mul_ps(q->xdm, _mm256_set1_ps(-y->d)), _mm256_cvtepi32_ps(m)));
}

/* Four rows' results, lane 2 r: (A0 + A1) + Mm. */
static inline void half_store(float *s, __m256 acc, __m256 accm) {
    const __m256 r = _mm256_add_ps(_mm256_add_ps(acc, _mm256_permute_ps(acc, 0xB1)), accm);
    _mm_storeu_ps(s, _mm256_castps256_ps128(_mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6))));
}

/* One token (generation): both halves in one pass over the row, each activation broadcast
 * used twice. Two passes (as the four-token kernel makes) left memory idle during the second
 * one, the rows then being in L1: 13.9 against 16.7 GB/s streaming 640 MB of 3072-wide rows
 * on an Intel AVX-512 machine running this AVX2 build. No VNNI here even where the CPU has
 * it: vpdpbusd ran this kernel faster from cache (35 against 27.5 GB/s) but streamed
 * 14.0-15.0 GB/s against 16.7-17.1, the prefetch distances tried (4-24 blocks) alike. */
static inline __attribute__((always_inline))
void k4x8_x1(int n, float *s, const void *vx, const void *vy, const int q5) {
    const block_q8_K *y = vy;
    const size_t bsz = q5 ? sizeof(block_q5_Kx8) : sizeof(block_q4_Kx8);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()}, accm[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const eq_k4x8_view bv = eq_k4x8_view_at(vx, i, q5), *b = &bv;
        eq_prefetch(b->d, bsz, bsz);   /* L1 one block ahead, L2 eight */
        eq_prefetch_l2(b->d, 8 * bsz, bsz);
        const __m256i v0[2] = {half_bytes(b, 0, 0), half_bytes(b, 1, 0)};
        __m256i sumi[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        UNROLL
        for (int j = 0; j < 4; j++) {
            __m256i pl[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, ph[2] = {pl[0], pl[0]};
            UNROLL
            for (int h = 0; h < 4; h++) {
                const int8_t *q8 = y[i].qs + 64 * j + 8 * h;
                const __m256i yl = bcast8(q8), yh = bcast8(q8 + 32);
                UNROLL
                for (int g = 0; g < 2; g++) {
                    __m256i lo, hi;
                    half_codes(b, j, h, g, &lo, &hi);
                    pl[g] = dot_add(pl[g], lo, yl, h == 0, 0);
                    ph[g] = dot_add(ph[g], hi, yh, h == 0, 0);
                }
            }
            UNROLL
            for (int g = 0; g < 2; g++)
                sumi[g] = scale_add(scale_add(sumi[g], pl[g], sub_scale(v0[g], 2 * j, 0), 0), ph[g], sub_scale(v0[g], 2 * j + 1, 0), 0);
        }
        UNROLL
        for (int g = 0; g < 2; g++) {
            const q4_mins q = half_mins(b, g);
            half_step(&acc[g], &accm[g], &q, sumi[g], &y[i]);
        }
    }
    half_store(s, acc[0], accm[0]);
    half_store(s + 4, acc[1], accm[1]);
}
void eq_vec_dot_p8x1_q4_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    (void)bs, (void)by;
    k4x8_x1(n, s, vx, vy, 0);
}
void eq_vec_dot_p8x1_q5_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    (void)bs, (void)by;
    k4x8_x1(n, s, vx, vy, 1);
}

/* Four tokens (prompts): rows 0-3, then 4-7 (a pass over the row each: the registers hold no
 * more); the four rows' codes split once for the four tokens. VNNI where the CPU has it
 * (10.5 -> 14.0 GB/s from cache, pp128 on the 1.1B +17%). */
static inline __attribute__((always_inline))
void k4x8_x4(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by, const int q5) {
    enum { NT = 4 };
#if defined(EQ_AVX2_VNNI)
    const int vnni = 1;
#else
    const int vnni = 0;
#endif
    const block_q8_K *y[NT];
    for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    for (int g = 0; g < 2; g++) {   /* rows 4 g .. 4 g + 3: bytes 32 g .. 32 g + 31 of every chunk */
        __m256 acc[NT], accm[NT];
        for (int t = 0; t < NT; t++) { acc[t] = _mm256_setzero_ps(); accm[t] = _mm256_setzero_ps(); }
        for (int i = 0; i < n / EQ_QK_K; i++) {
            const eq_k4x8_view bv = eq_k4x8_view_at(vx, i, q5), *b = &bv;
            const __m256i v0 = half_bytes(b, g, 0);
            __m256i sumi[NT];
            for (int t = 0; t < NT; t++) sumi[t] = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i s0 = sub_scale(v0, 2 * j, vnni), s1 = sub_scale(v0, 2 * j + 1, vnni);
                __m256i lo[4], hi[4];
                UNROLL
                for (int h = 0; h < 4; h++) half_codes(b, j, h, g, &lo[h], &hi[h]);
                UNROLL
                for (int t = 0; t < NT; t++) {
                    const int8_t *q8 = y[t][i].qs + 64 * j;
                    /* VNNI's 32-bit sums of sixteen Q5_K products (up to 16 * 31 * 128) would
                     * not fit the 16 bits scale_add reads: two sums of eight then */
                    const int split = q5 && vnni ? 2 : 1;
                    UNROLL
                    for (int k = 0; k < split; k++) {
                        __m256i pl = _mm256_setzero_si256(), ph = _mm256_setzero_si256();
                        UNROLL
                        for (int h = 4 / split * k; h < 4 / split * (k + 1); h++) {
                            pl = dot_add(pl, lo[h], bcast8(q8 + 8 * h), h == 4 / split * k, vnni);
                            ph = dot_add(ph, hi[h], bcast8(q8 + 32 + 8 * h), h == 4 / split * k, vnni);
                        }
                        sumi[t] = scale_add(scale_add(sumi[t], pl, s0, vnni), ph, s1, vnni);
                    }
                }
            }
            const q4_mins q = half_mins(b, g);
            for (int t = 0; t < NT; t++) half_step(&acc[t], &accm[t], &q, sumi[t], &y[t][i]);
        }
        for (int t = 0; t < NT; t++) half_store(s + t * bs + 4 * g, acc[t], accm[t]);
    }
}
void eq_vec_dot_p8x4_q4_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_x4(n, s, bs, vx, vy, by, 0);
}
void eq_vec_dot_p8x4_q5_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    k4x8_x4(n, s, bs, vx, vy, by, 1);
}

#else
typedef int eq_avx2_q4k_x8_unused; /* ISO C wants at least one declaration per file */
#endif
