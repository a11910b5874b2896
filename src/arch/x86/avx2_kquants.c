/* AVX2 kernels for the K formats: Q2_K..Q6_K dot products against Q8_K, and the Q8_K
 * activation quantizer (byte-identical to the ref).
 *
 * The dots share one plan: expand the weight codes to unsigned bytes, multiply with the
 * Q8_K bytes by maddubs (16-bit pair sums, which cannot saturate: codes < 64), scale the
 * 16-bit sums by the sub-block scales with madd (32-bit), keep the super-block total in
 * integer lanes, and convert to float once per super-block. Offsets and minimums go
 * through Q8_K's precomputed 16-value sums (bsums) instead of the bytes. */
#include "quant/kernels.h"

#if defined(EQ_HAVE_AVX2)
#include "arch/x86/avx2.h"
#include "quant/blocks.h"
#include "arch/x86/kquants_x86.h"


/* Shuffle controls (loaded from memory, so they cost no registers or port-5 work):
 * k_pair[v] broadcasts int16 element 2v to the low 128-bit lane and 2v+1 to the high lane
 * (16-value sub-blocks); k_same[k] broadcasts element k to both lanes (32-value ones). */
#define W(k) (2 * (k)), (2 * (k) + 1)
#define LANE(k) W(k), W(k), W(k), W(k), W(k), W(k), W(k), W(k)
static const uint8_t k_pair[4][32] = { { LANE(0), LANE(1) }, { LANE(2), LANE(3) }, { LANE(4), LANE(5) }, { LANE(6), LANE(7) } };
static const uint8_t k_same[8][32] = { { LANE(0), LANE(0) }, { LANE(1), LANE(1) }, { LANE(2), LANE(2) }, { LANE(3), LANE(3) },
                                       { LANE(4), LANE(4) }, { LANE(5), LANE(5) }, { LANE(6), LANE(6) }, { LANE(7), LANE(7) } };
#undef LANE
#undef W
static inline __m256i pick_pair(int v) { return _mm256_loadu_si256((const __m256i *)k_pair[v]); }
static inline __m256i pick_same(int k) { return _mm256_loadu_si256((const __m256i *)k_same[k]); }

static inline __m256i bcast128(__m128i v) { return _mm256_broadcastsi128_si256(v); }

/* Generation streams the one-row kernels' weights: 5 blocks ahead into L1 and 15 into L2
 * (avx2.h), about 1 and 3 KB (Q6_K: 2 and 8 KB were slower). Q5_K, 640 MB of 2048-wide rows
 * in a harness: 13.2-13.4 GB/s, against 12.8 at 2 KB ahead into L2 alone, 11.4 at 4 KB (the
 * legacy kernels' EQ_STREAM_AHEAD) and 5.4-5.7 with no prefetch. */
static inline __attribute__((always_inline)) void k_prefetch(const void *b, size_t bsz) {
    eq_prefetch(b, 5 * bsz, bsz);
    eq_prefetch_l2(b, 15 * bsz, bsz);
}

/* ---------------- Q8_K quantizer ---------------- */

void eq_from_float_q8_K_avx2(const float *x, void *vy, int64_t k) {
    block_q8_K *y = vy;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < k / EQ_QK_K; i++, x += EQ_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < EQ_QK_K; j += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* The sign comes from the first value of largest magnitude, as in the ref. */
        float max = amax;
        const __m256 vamax = _mm256_set1_ps(amax);
        for (int j = 0; j < EQ_QK_K; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask), vamax, _CMP_EQ_OQ));
            if (hit) { max = x[j + __builtin_ctz((unsigned)hit)]; break; }
        }
        const float iscale = -127.f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        const __m256i v127 = _mm256_set1_epi32(127);
        for (int g = 0; g < EQ_QK_K / 64; g++) {
            __m256i q[8];
            for (int j = 0; j < 8; j++) {
                const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + 64 * g + 8 * j), vis);
                q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), v127);
            }
            for (int j = 0; j < 8; j += 4) {
                const __m256i a = _mm256_packs_epi16(_mm256_packs_epi32(q[j], q[j + 1]), _mm256_packs_epi32(q[j + 2], q[j + 3]));
                _mm256_storeu_si256((__m256i *)(y[i].qs + 64 * g + 8 * j),
                                    _mm256_permutevar8x32_epi32(a, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
            }
            /* Four 16-value sums: pairs of vectors, then two rounds of horizontal adds. */
            const __m256i s0 = _mm256_add_epi32(q[0], q[1]), s1 = _mm256_add_epi32(q[2], q[3]);
            const __m256i s2 = _mm256_add_epi32(q[4], q[5]), s3 = _mm256_add_epi32(q[6], q[7]);
            const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3));
            const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            _mm_storel_epi64((__m128i *)(y[i].bsums + 4 * g), _mm_packs_epi32(sums, sums));
        }
        y[i].d = 1 / iscale;
    }
}

/* ---------------- Q2_K ---------------- */

void eq_vec_dot_q2_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy) {
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        k_prefetch(x + i, sizeof *x);
        const float d = y[i].d * F16(x[i].d);
        const float dmin = -y[i].d * F16(x[i].dmin);
        const __m128i packed = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i scales = _mm256_cvtepu8_epi16(_mm_and_si128(packed, m4));
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
        /* min term: sum over sub-blocks of min * bsum */
        const __m256i pm = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(pm), acc);

        const __m256i sc[2] = { bcast128(_mm256_castsi256_si128(scales)), bcast128(_mm256_extracti128_si256(scales, 1)) };
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        UNROLL
        for (int h = 0; h < 2; h++, q2 += 32) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q2);
            UNROLL
            for (int v = 0; v < 4; v++, q8 += 32) {
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * v), m3);
                const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)q8));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(sc[h], pick_pair(v)), p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = eq_avx2_hsum_ps(acc);
}

/* ---------------- Q3_K ---------------- */

void eq_vec_dot_q3_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy) {
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        k_prefetch(x + i, sizeof *x);
        const float d = y[i].d * F16(x[i].d);
        /* 16 six-bit scales: low nibbles in bytes 0..7, high pairs of bits in bytes 8..11. */
        uint32_t a[3];
        memcpy(a, x[i].scales, 12);
        const uint32_t k2 = 0x0f0f0f0f, k1 = 0x03030303;
        const __m128i sc8 = _mm_sub_epi8(_mm_setr_epi32((int)((a[0] & k2) | (((a[2] >> 0) & k1) << 4)),
                                                        (int)((a[1] & k2) | (((a[2] >> 2) & k1) << 4)),
                                                        (int)(((a[0] >> 4) & k2) | (((a[2] >> 4) & k1) << 4)),
                                                        (int)(((a[1] >> 4) & k2) | (((a[2] >> 6) & k1) << 4))),
                                         _mm_set1_epi8(32));
        const __m256i scales = _mm256_cvtepi8_epi16(sc8);
        const __m256i sc[2] = { bcast128(_mm256_castsi256_si128(scales)), bcast128(_mm256_extracti128_si256(scales, 1)) };
        const __m256i hbits = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        const uint8_t *q3 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        UNROLL
        for (int h = 0; h < 2; h++, q3 += 32) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q3);
            UNROLL
            for (int v = 0; v < 4; v++, q8 += 32) {
                const int bit = 4 * h + v;
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * v), m3);
                /* 4 where the high bit is clear (the code is then lo - 4), else 0. */
                const __m256i clear = _mm256_andnot_si256(hbits, _mm256_set1_epi8((char)(1 << bit)));
                const __m256i four = bit >= 2 ? _mm256_srli_epi16(clear, bit - 2) : _mm256_slli_epi16(clear, 2 - bit);
                const __m256i qy = _mm256_loadu_si256((const __m256i *)q8);
                const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, qy), _mm256_maddubs_epi16(four, qy));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(sc[h], pick_pair(v)), p));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = eq_avx2_hsum_ps(acc);
}

/* ---------------- Q4_K / Q5_K ---------------- */

void eq_vec_dot_q4_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy) {
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        k_prefetch(x + i, sizeof *x);
        const float d = y[i].d * F16(x[i].d);
        const float dmin = -y[i].d * F16(x[i].dmin);
        const __m256i sm = k4_scales_mins(x[i].scales);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), k4_min_term(sm, y[i].bsums), acc_m);
        const __m256i scales = bcast128(_mm256_castsi256_si128(sm));
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        UNROLL
        for (int j = 0; j < EQ_QK_K / 64; j++, q4 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q4);
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
            const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick_same(2 * j)), pl));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick_same(2 * j + 1)), ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = eq_avx2_hsum_ps(acc) + hsum_ps4(acc_m);
}

void eq_vec_dot_q5_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy) {
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m16 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        k_prefetch(x + i, sizeof *x);
        const float d = y[i].d * F16(x[i].d);
        const float dmin = -y[i].d * F16(x[i].dmin);
        const __m256i sm = k4_scales_mins(x[i].scales);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), k4_min_term(sm, y[i].bsums), acc_m);
        const __m256i scales = bcast128(_mm256_castsi256_si128(sm));
        const __m256i hbits = _mm256_loadu_si256((const __m256i *)x[i].qh);
        const uint8_t *q5 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        UNROLL
        for (int j = 0; j < EQ_QK_K / 64; j++, q5 += 32, q8 += 64) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q5);
            /* Bit 2j of qh (then 2j+1) moved to bit 4 of the byte; the 16-bit shifts are
             * safe because only bit 4 of each byte is kept. */
            const int b0 = 2 * j, b1 = 2 * j + 1;
            const __m256i h0 = _mm256_and_si256(b0 <= 4 ? _mm256_slli_epi16(hbits, 4 - b0) : _mm256_srli_epi16(hbits, b0 - 4), m16);
            const __m256i h1 = _mm256_and_si256(b1 <= 4 ? _mm256_slli_epi16(hbits, 4 - b1) : _mm256_srli_epi16(hbits, b1 - 4), m16);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4), h0);
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), h1);
            const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
            const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick_same(b0)), pl));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(scales, pick_same(b1)), ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = eq_avx2_hsum_ps(acc) + hsum_ps4(acc_m);
}

/* ---------------- Q6_K ---------------- */

void eq_vec_dot_q6_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy) {
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        k_prefetch(x + i, sizeof *x);
        const float d = y[i].d * F16(x[i].d);
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i scales = _mm256_cvtepi8_epi16(sc8);
        /* Codes are stored +32 so they are unsigned; take 32 * sum(scale * bsum) back off. */
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales, _mm256_loadu_si256((const __m256i *)y[i].bsums)), 5);
        const __m256i sc[2] = { bcast128(_mm256_castsi256_si128(scales)), bcast128(_mm256_extracti128_si256(scales, 1)) };
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        UNROLL
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, q8 += 128) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2));
            UNROLL
            for (int v = 0; v < 4; v++) {
                const __m256i p = _mm256_maddubs_epi16(q[v], _mm256_loadu_si256((const __m256i *)(q8 + 32 * v)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_shuffle_epi8(sc[h], pick_pair(v)), p));
            }
        }
        sumi = _mm256_sub_epi32(sumi, offset);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = eq_avx2_hsum_ps(acc);
}

/* ---------------- one weight row against four activation rows ----------------
 * Prompt processing multiplies each weight row with many tokens: unpacking the row's codes and
 * scales once for four tokens saves most of the non-multiply work. Per token the arithmetic is
 * exactly the single-row kernel's, in the same order, so results do not depend on batching. */

void eq_vec_dot_x4_q4_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q4_K *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[4];
    __m128 acc_m[4];
    for (int t = 0; t < 4; t++) { acc[t] = _mm256_setzero_ps(); acc_m[t] = _mm_setzero_ps(); }
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const float xd = F16(x[i].d), xdmin = F16(x[i].dmin);
        const __m256i sm = k4_scales_mins(x[i].scales);
        const __m256i scales = bcast128(_mm256_castsi256_si128(sm));
        __m256i sumi[4];
        for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();
        const uint8_t *q4 = x[i].qs;
        UNROLL
        for (int j = 0; j < EQ_QK_K / 64; j++, q4 += 32) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q4);
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i s0 = _mm256_shuffle_epi8(scales, pick_same(2 * j));
            const __m256i s1 = _mm256_shuffle_epi8(scales, pick_same(2 * j + 1));
            UNROLL
            for (int t = 0; t < 4; t++) {
                const int8_t *q8 = y[t][i].qs + 64 * j;
                const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8));
                const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32)));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(s0, pl));
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(s1, ph));
            }
        }
        UNROLL
        for (int t = 0; t < 4; t++) {
            const float d = y[t][i].d * xd;
            const float dmin = -y[t][i].d * xdmin;
            acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), k4_min_term(sm, y[t][i].bsums), acc_m[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        }
    }
    for (int t = 0; t < 4; t++) s[t * bs] = eq_avx2_hsum_ps(acc[t]) + hsum_ps4(acc_m[t]);
}

void eq_vec_dot_x4_q6_K_q8_K_avx2(int n, float *s, size_t bs, const void *vx, const void *vy, size_t by) {
    const block_q6_K *x = vx;
    const block_q8_K *y[4];
    for (int t = 0; t < 4; t++) y[t] = (const block_q8_K *)((const char *)vy + t * by);
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[4];
    for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();
    for (int i = 0; i < n / EQ_QK_K; i++) {
        const float xd = F16(x[i].d);
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i scales = _mm256_cvtepi8_epi16(sc8);
        const __m256i sc[2] = { bcast128(_mm256_castsi256_si128(scales)), bcast128(_mm256_extracti128_si256(scales, 1)) };
        __m256i sumi[4];
        for (int t = 0; t < 4; t++) sumi[t] = _mm256_setzero_si256();
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        UNROLL
        for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x03)), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)), 2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, _mm256_set1_epi8(0x30)));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_srli_epi16(_mm256_and_si256(hb, _mm256_set1_epi8((char)0xC0)), 2));
            UNROLL
            for (int v = 0; v < 4; v++) {
                const __m256i scv = _mm256_shuffle_epi8(sc[h], pick_pair(v));
                UNROLL
                for (int t = 0; t < 4; t++) {
                    const __m256i p = _mm256_maddubs_epi16(q[v], _mm256_loadu_si256((const __m256i *)(y[t][i].qs + 128 * h + 32 * v)));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(scv, p));
                }
            }
        }
        UNROLL
        for (int t = 0; t < 4; t++) {
            const float d = y[t][i].d * xd;
            const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(scales, _mm256_loadu_si256((const __m256i *)y[t][i].bsums)), 5);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[t], offset)), acc[t]);
        }
    }
    for (int t = 0; t < 4; t++) s[t * bs] = eq_avx2_hsum_ps(acc[t]);
}

#else
typedef int eq_avx2_kquants_unused; /* ISO C wants at least one declaration per file */
#endif
