/* Small AVX2 helpers shared by the x86 kernel files (included only where __AVX2__ is on). */
#ifndef EQ_ARCH_X86_AVX2_H
#define EQ_ARCH_X86_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

static inline float eq_avx2_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int eq_avx2_hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* 16 bytes of nibbles -> 32 bytes: low nibbles first (values 0..15 of a block), then high. */
static inline __m256i eq_avx2_nibbles(const uint8_t *p) {
    const __m128i b = _mm_loadu_si128((const __m128i *)p);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/* The kernels' inner loops must be unrolled so that shuffle controls and shift counts become
 * constants (immediates) instead of being rebuilt at run time. */
#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

/* 32 bits -> 32 bytes, 0xFF where the bit is set. */
static inline __m256i eq_avx2_bits_to_bytes(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)w),
        _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL));
    const __m256i probe = _mm256_set1_epi64x(0x8040201008040201LL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, probe), probe);
}

/* 256-bit VNNI, from AVX-512 VNNI + VL or from AVX-VNNI (Intel's client CPUs since Alder
 * Lake, which have no AVX-512): acc + the sums of four products of unsigned bytes u and
 * signed bytes s per int32 lane (vpdpbusd), or of two products of int16 lanes (vpdpwssd). */
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define EQ_AVX2_VNNI 1
static inline __m256i eq_avx2_dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
static inline __m256i eq_avx2_dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
#elif defined(__AVXVNNI__)
#define EQ_AVX2_VNNI 1
static inline __m256i eq_avx2_dpbusd(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_avx_epi32(acc, u, s); }
static inline __m256i eq_avx2_dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
#endif

/* Sum of products of signed bytes, in 8 int32 lanes. x may hold -128; y must not (the
 * sign trick negates y), which every activation quantizer guarantees. */
static inline __m256i eq_avx2_dot_u8i8(__m256i x, __m256i y);
static inline __m256i eq_avx2_dot_i8(__m256i x, __m256i y) {
    return eq_avx2_dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* Sum of products of unsigned bytes x (<= 128) and signed bytes y (> -128), in 8 int32
 * lanes. With VNNI one vpdpbusd; otherwise pairs summed in 16 bits first, which
 * cannot saturate in these ranges (2 * 128 * 127 < 2^15), so both give the same sums. */
static inline __m256i eq_avx2_dot_u8i8(__m256i x, __m256i y) {
#if defined(EQ_AVX2_VNNI)
    return eq_avx2_dpbusd(_mm256_setzero_si256(), x, y);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
#endif
}

/* fp16 at p (with 6 more readable bytes after it) to float in lane 0, and the following
 * halves in lanes 1..3. The memory form of vcvtph2ps needs no port-5 shuffle, unlike
 * _cvtsh_ss, which matters when it runs once per 32-value block. */
static inline __m128 eq_avx2_f16x4(const void *p) { return _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)p)); }

/* Eight unaligned bytes as one 64-bit value: the packed kernels broadcast eight activation
 * bytes (or four bsums) to every row's slot. */
static inline int64_t eq_load_i64(const void *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Builds for an AMD Zen (-march=native there defines __znverN__; -DEQ_PREFETCH_ZEN=0/1
 * overrides) prefetch less: on a Zen 4 (EPYC VM, AVX-512) the near requests below cost more
 * than they bring, and so do the legacy / float kernels' far ones (EQ_STREAM_AHEAD). The packed
 * Q4_K tg kernel alone, in cache: 28-29 GB/s with the near requests, 50-54 without; synthetic
 * 1.1B Q4_K_M tg64 at one thread: 27.3 t/s with both kinds of request, 32.6 with the far ones
 * alone, 29.5 with none (A/B medians of five). The Xeons they were tuned on keep them. */
#if !defined(EQ_PREFETCH_ZEN)
#if defined(__znver1__) || defined(__znver2__) || defined(__znver3__) || defined(__znver4__) || defined(__znver5__)
#define EQ_PREFETCH_ZEN 1
#else
#define EQ_PREFETCH_ZEN 0
#endif
#endif

/* Ask for the cache lines of [p + ahead, p + ahead + n) before they are used. Generation
 * reads every weight row once per token, straight from memory; asking for the lines about 1 KB
 * ahead while this block is worked on keeps more reads in flight than the hardware prefetcher
 * does alone (tg +7-20% on the 1.1B and Phi-3.5 shapes, AVX2 and AVX-512 builds). A prefetch
 * past the end of the weights is harmless: it never faults (the address is formed as an
 * integer: C allows no pointer past its object's end). always_inline: GCC 12 dropped the
 * call (it has no side effects) where it was not inlined early. */
static inline __attribute__((always_inline)) void eq_prefetch(const void *p, size_t ahead, size_t n) {
#if !EQ_PREFETCH_ZEN
    for (size_t l = 0; l < n; l += 64) _mm_prefetch((const char *)((uintptr_t)p + ahead + l), _MM_HINT_T0);
#else
    (void)p; (void)ahead; (void)n;
#endif
}

/* The same into L2 only, for lines farther ahead (3-9 KB: the best distance differs per kernel,
 * measured). One core reads at its full rate only with more lines in flight than L1 can
 * track; the far request starts each line's trip from memory early, the near one (above) then
 * brings it from L2 into L1 in time. The two together beat either alone: on a Xeon whose one
 * core reads 17.8 GB/s at best, the packed Q4_K tg kernel streams 13.4-13.9 GB/s with the near
 * one and 15.0-16.2 with both (packed Q6_K 12.6-13.2 -> 14.6-15.6, unpacked 13.3-13.9 -> 15.1). */
static inline __attribute__((always_inline)) void eq_prefetch_l2(const void *p, size_t ahead, size_t n) {
    for (size_t l = 0; l < n; l += 64) _mm_prefetch((const char *)((uintptr_t)p + ahead + l), _MM_HINT_T2);
}

/* How far ahead the legacy-format (Q4_0 ... Q8_0) and float kernels ask for their weights
 * into L2. Without it the hardware prefetcher alone fed the Q4_0 kernel 3.1 GB/s on a
 * machine that reads 17 (2 KB ahead: 9.7-9.9, 4 KB: 10.2-10.6, 8 KB: 10.0; the kernel then
 * runs at its in-cache rate, 12.5). The K-quant ones have their own (avx2_kquants.c). */
#if !EQ_PREFETCH_ZEN
enum { EQ_STREAM_AHEAD = 4096 };
#else
/* On the Zen 4 the far requests slow these kernels down instead: the lines asked for are the
 * ones being read (a no-op hint). Synthetic 1.1B tg32 at one thread (A/B medians of three):
 * Q8_0 17.1 -> 23.5 t/s, Q4_0 32.6 -> 42.3, F16 9.9 / 10.4 (8 and 16 KB ahead: Q8_0 18.6, 20.1). */
enum { EQ_STREAM_AHEAD = 0 };
#endif

/* The legacy and float kernels' far request: none where the distance is 0 (it would ask for the
 * lines being read). */
static inline __attribute__((always_inline)) void eq_prefetch_stream(const void *p, size_t n) {
    if (EQ_STREAM_AHEAD) eq_prefetch_l2(p, EQ_STREAM_AHEAD, n);
}

#endif
