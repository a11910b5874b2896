/* Row-interleaved weights, as llama.cpp repacks Q4_K and Q4_0 for prompts: eight rows of a
 * matrix are stored block by block side by side, so that one 512-bit register holds eight
 * bytes of each of the eight rows and every lane of the integer sums belongs to one row. The
 * scale multiplies and the float steps are then done for eight rows at once, and no sum needs
 * a horizontal reduction.
 *
 * Only the CPU backend of a build with a kernel for the layout uses it (eq_vec_dot_packed_get:
 * Q4_K and Q5_K on x86 AVX2 or AVX-512 VBMI + VNNI, WASM SIMD128 and relaxed SIMD; Q6_K on x86
 * AVX2 or AVX-512 BW + VNNI; Q4_0, Q4_1, Q5_0 and Q8_0 on x86 AVX2 and AVX-512 BW + VNNI, WASM SIMD128
 * and relaxed SIMD; not NEON or scalar builds yet), only on matrices whose rows come in groups
 * of eight, and only for weights that are never read but through a matmul (the loader repacks
 * the "blk." ones and the output matrix).
 * The repack is in place: the packed rows take exactly the bytes of the original ones.
 *
 * Numerics: a packed row's dot is not bit-identical to the unpacked kernels (its integer lanes
 * are split differently before the conversion to float), but it is the same for every token
 * count, so batch size still changes no result. eq_q4_Kx8_dot_ref computes that procedure on
 * the unpacked rows in portable C: the packed kernels must match it bit for bit, x86 and
 * wasm alike (its float steps are a multiply and an add each, no fused multiply-add). */
#ifndef EQ_REPACK_H
#define EQ_REPACK_H

#include <stddef.h>
#include <stdint.h>
#include "quant/fp16.h"
#include "quant/quant.h"

/* Eight Q4_K blocks (one per row, same column range), 1152 bytes = 8 x 144.
 *   d, dmin  each row's super-block scales
 *   sl, sh   the 64 six-bit sub-block scales (value v = 8 r + s: row r, sub-block s) and the
 *            64 mins (v = 64 + 8 r + s): sl[k] holds the low four bits of value k (low
 *            nibble) and of value k + 64 (high nibble), sh[k] the top two bits of values k,
 *            k + 32, k + 64, k + 96 (bits 0-1, 2-3, 4-5, 6-7)
 *   qs       sixteen 64-byte chunks c = 4 j + h (j: the 32-byte group of the block's qs, h:
 *            its 8-byte quarter): qs[c][8 r + b] = row r's qs[32 j + 8 h + b] */
typedef struct {
    eq_f16 d[8], dmin[8];
    uint8_t sl[64], sh[32];
    uint8_t qs[16][64];
} block_q4_Kx8;

/* Eight Q5_K blocks, 1408 bytes = 8 x 176: Q4_K's layout (d, dmin, sl, sh, qs) with the fifth
 * bits in chunks of eight bytes per row before the codes, qh[h][8 r + b] = row r's qh[8 h + b]
 * (bit s of that byte: the fifth bit of sub-block s's value at 8 h + b, as qs[4 j + h] holds
 * its low four bits, j = s / 2). */
typedef struct {
    eq_f16 d[8], dmin[8];
    uint8_t sl[64], sh[32];
    uint8_t qh[4][64];
    uint8_t qs[16][64];
} block_q5_Kx8;
/* The parts of a packed Q4_K or Q5_K block that kernels read, so that one kernel body serves
 * both (qh NULL for Q4_K; qs and qh as 64-byte chunks). */
typedef struct {
    const eq_f16 *d, *dmin;
    const uint8_t *sl, *sh, *qh, *qs;
} eq_k4x8_view;
static inline eq_k4x8_view eq_k4x8_view_at(const void *blocks, int i, int q5) {
    if (q5) {
        const block_q5_Kx8 *b = (const block_q5_Kx8 *)blocks + i;
        return (eq_k4x8_view){b->d, b->dmin, b->sl, b->sh, b->qh[0], b->qs[0]};
    }
    const block_q4_Kx8 *b = (const block_q4_Kx8 *)blocks + i;
    return (eq_k4x8_view){b->d, b->dmin, b->sl, b->sh, NULL, b->qs[0]};
}
/* Eight Q6_K blocks, 1680 bytes = 8 x 210.
 *   d        each row's scale
 *   sc       the sixteen signed sub-block scales of the eight rows in pairs: sc[p][r] and
 *            sc[p][8 + r] are row r's scales of sub-blocks A(p) and A(p) + 2, where
 *            A(p) = 8 (p / 4) + 4 (p % 2) + (p / 2) % 2 (the two a kernel step scales at once)
 *   ql, qh   the rows' ql (sixteen) and qh (eight) in chunks of eight bytes per row:
 *            ql[c][8 r + b] = row r's ql[8 c + b], qh[c][8 r + b] = row r's qh[8 c + b] */
typedef struct {
    eq_f16 d[8];
    int8_t sc[8][16];
    uint8_t ql[16][64];
    uint8_t qh[8][64];
} block_q6_Kx8;

/* Eight Q4_0 blocks, 144 bytes = 8 x 18, and eight Q8_0 blocks, 272 bytes = 8 x 34: the rows'
 * d side by side, then their codes in chunks of eight bytes per row, qs[c][8 r + b] = row r's
 * qs[8 c + b] (Q4_0: the low nibble is value 8 c + b, the high one 16 + 8 c + b). */
typedef struct {
    eq_f16 d[8];
    uint8_t qs[2][64];
} block_q4_0x8;
typedef struct {
    eq_f16 d[8];
    int8_t qs[4][64];
} block_q8_0x8;
/* Eight Q5_0 blocks, 176 bytes = 8 x 22: Q4_0's layout with the fifth bits between d and qs,
 * transposed: qh[k][r] = row r's qh[k], so that qh[k] read as a 64-bit mask has bit 8 r + b
 * set where row r's value 8 k + b has its fifth bit (the bytes of qs[c] in k's order). */
typedef struct {
    eq_f16 d[8];
    uint8_t qh[4][8];
    uint8_t qs[2][64];
} block_q5_0x8;
/* Eight Q4_1 blocks, 160 bytes = 8 x 20: Q4_0's layout with the rows' m after their d. */
typedef struct {
    eq_f16 d[8], m[8];
    uint8_t qs[2][64];
} block_q4_1x8;

enum { EQ_PACK_ROWS = 8 };

/* Whether this build runs `type` matrices packed (a kernel exists for it). */
int eq_repack_supported(int type);
/* Repack ne1 rows of ne0 values (ne1 % 8 == 0) at data in place. 0 done; -1 out of memory
 * (data unchanged); -2 not supported for this type or shape (data unchanged). */
int eq_repack_rows(int type, void *data, int64_t ne0, int64_t ne1);

/* Row r (0..7) of a packed group of eight rows of ne0 values at `rows`, as floats: what the
 * type's to_float gives for the original row, bit for bit. For a token embedding table that is
 * also the output matrix (tied embeddings): the matmul reads it packed, the embedding lookup
 * through this. 0 done; -2 no such reader for the type (eq_repack_rows_readable). */
int eq_repack_rows_readable(int type);
int eq_packed_row_to_float(int type, const void *rows, int64_t ne0, int r, float *out);

/* The packed dot's numerics on the original layout: rows r0..r0+7 at x (row stride xs) against
 * nt activation rows (Q8_K) at y, y + by, ...: s[t * bs + r] for r < 8, t < nt. */
void eq_q4_Kx8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);
/* The same for Q5_K rows: Q4_K's procedure on the five-bit codes. */
void eq_q5_Kx8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);
/* The same for Q6_K rows: per row and block one exact integer (the codes minus 32, times the
 * activations, times their sub-block scales), then (d * d_y) * integer added to the row's sum. */
void eq_q6_Kx8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);

/* The same for Q4_0, Q5_0 and Q8_0 rows against Q8_0 activations: per row and block two exact
 * integers, I[0] over the values v with v % 8 < 4 and I[1] over v % 8 >= 4 (the row's two
 * lanes), then d = d_x * d_y, A[k] += d * I[k], and A[0] + A[1] at the end. Q4_1 rows against
 * Q8_1 activations also add M += m_x * s_y per block: (A[0] + A[1]) + M. */
void eq_q4_0x8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);
void eq_q4_1x8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);
void eq_q5_0x8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);
void eq_q8_0x8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt);

#endif
