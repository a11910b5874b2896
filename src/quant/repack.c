/* The row-interleaved Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, Q5_0 and Q8_0 layouts (repack.h): the in-place
 * packer, packed rows read back, and the packed dot's procedure on the original layout as the
 * packed kernels' scalar oracle. */
#include "quant/repack.h"
#include "quant/blocks.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(block_q4_Kx8) == 8 * sizeof(block_q4_K), "q4_Kx8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q5_Kx8) == 8 * sizeof(block_q5_K), "q5_Kx8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q6_Kx8) == 8 * sizeof(block_q6_K), "q6_Kx8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q4_0x8) == 8 * sizeof(block_q4_0), "q4_0x8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q8_0x8) == 8 * sizeof(block_q8_0), "q8_0x8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q4_1x8) == 8 * sizeof(block_q4_1), "q4_1x8 takes the bytes of eight blocks");
_Static_assert(sizeof(block_q5_0x8) == 8 * sizeof(block_q5_0), "q5_0x8 takes the bytes of eight blocks");

int eq_repack_supported(int type) { return eq_vec_dot_packed_get(type, 1) != NULL; }

/* Eight blocks, one per row, into one interleaved block: the scales and mins (Q4_K and Q5_K
 * alike) into sl and sh, the codes into 64-byte chunks. */
static void pack_k4_scales(uint8_t sl[64], uint8_t sh[32], const uint8_t *const scales[8]) {
    uint8_t v[128];   /* scales: v[8 r + s]; mins: v[64 + 8 r + s] */
    for (int r = 0; r < 8; r++) eq_k4_scales(scales[r], v + 8 * r, v + 64 + 8 * r);
    for (int k = 0; k < 64; k++) sl[k] = (uint8_t)((v[k] & 15) | (v[k + 64] & 15) << 4);
    for (int k = 0; k < 32; k++)
        sh[k] = (uint8_t)(v[k] >> 4 | (v[k + 32] >> 4) << 2 | (v[k + 64] >> 4) << 4 | (v[k + 96] >> 4) << 6);
}

static void pack_q4_K(block_q4_Kx8 *o, const block_q4_K *const b[8]) {
    const uint8_t *scales[8];
    for (int r = 0; r < 8; r++) {
        o->d[r] = b[r]->d;
        o->dmin[r] = b[r]->dmin;
        scales[r] = b[r]->scales;
        for (int c = 0; c < 16; c++) memcpy(&o->qs[c][8 * r], b[r]->qs + 32 * (c / 4) + 8 * (c % 4), 8);
    }
    pack_k4_scales(o->sl, o->sh, scales);
}

static void pack_q5_K(block_q5_Kx8 *o, const block_q5_K *const b[8]) {
    const uint8_t *scales[8];
    for (int r = 0; r < 8; r++) {
        o->d[r] = b[r]->d;
        o->dmin[r] = b[r]->dmin;
        scales[r] = b[r]->scales;
        for (int h = 0; h < 4; h++) memcpy(&o->qh[h][8 * r], b[r]->qh + 8 * h, 8);
        for (int c = 0; c < 16; c++) memcpy(&o->qs[c][8 * r], b[r]->qs + 32 * (c / 4) + 8 * (c % 4), 8);
    }
    pack_k4_scales(o->sl, o->sh, scales);
}

/* Sub-block A(p) of scale pair p (repack.h). */
static int q6_pair_sb(int p) { return 8 * (p / 4) + 4 * (p % 2) + (p / 2) % 2; }

static void pack_q6_K(block_q6_Kx8 *o, const block_q6_K *const b[8]) {
    for (int r = 0; r < 8; r++) {
        o->d[r] = b[r]->d;
        for (int p = 0; p < 8; p++) {
            o->sc[p][r] = b[r]->scales[q6_pair_sb(p)];
            o->sc[p][8 + r] = b[r]->scales[q6_pair_sb(p) + 2];
        }
        for (int c = 0; c < 16; c++) memcpy(&o->ql[c][8 * r], b[r]->ql + 8 * c, 8);
        for (int c = 0; c < 8; c++) memcpy(&o->qh[c][8 * r], b[r]->qh + 8 * c, 8);
    }
}

/* Q4_0, Q4_1 and Q8_0: the eight d (and m), then the codes eight bytes a row at a time
 * (repack.h). nh: the f16 values that lead each block. */
static void pack_legacy(char *o, size_t bsz, int nh, const char *const b[8]) {
    uint8_t *qs = (uint8_t *)o + 8 * nh * sizeof(eq_f16);
    const size_t nqs = bsz - nh * sizeof(eq_f16);
    for (int r = 0; r < 8; r++) {
        for (int h = 0; h < nh; h++) memcpy(o + (8 * h + r) * sizeof(eq_f16), b[r] + h * sizeof(eq_f16), sizeof(eq_f16));
        for (size_t c = 0; c < nqs / 8; c++) memcpy(qs + 64 * c + 8 * r, b[r] + nh * sizeof(eq_f16) + 8 * c, 8);
    }
}

/* Q5_0: d, the fifth bits transposed (repack.h), then the nibbles as Q4_0's. */
static void pack_q5_0(block_q5_0x8 *o, const char *const b[8]) {
    for (int r = 0; r < 8; r++) {
        const block_q5_0 *x = (const block_q5_0 *)b[r];
        o->d[r] = x->d;
        for (int k = 0; k < 4; k++) o->qh[k][r] = x->qh[k];
        for (int c = 0; c < 2; c++) memcpy(&o->qs[c][8 * r], x->qs + 8 * c, 8);
    }
}

int eq_repack_rows(int type, void *data, int64_t ne0, int64_t ne1) {
    const int legacy = type == EQ_TYPE_Q4_0 || type == EQ_TYPE_Q4_1 || type == EQ_TYPE_Q5_0 || type == EQ_TYPE_Q8_0;
    const int64_t qk = legacy ? EQ_QK : EQ_QK_K;
    if ((!legacy && type != EQ_TYPE_Q4_K && type != EQ_TYPE_Q5_K && type != EQ_TYPE_Q6_K) || !eq_repack_supported(type) || ne0 <= 0 ||
        ne0 % qk || ne1 % EQ_PACK_ROWS)
        return -2;
    const size_t bsz = eq_row_size(type, qk);   /* one block */
    const size_t nb = (size_t)(ne0 / qk), group = nb * 8 * bsz;
    char *tmp = malloc(group);
    if (!tmp) return -1;
    for (int64_t g = 0; g < ne1 / EQ_PACK_ROWS; g++) {
        char *base = (char *)data + (size_t)g * group;
        memcpy(tmp, base, group);
        for (size_t i = 0; i < nb; i++) {
            if (legacy) {
                const char *b[8];
                for (int r = 0; r < 8; r++) b[r] = tmp + ((size_t)r * nb + i) * bsz;
                if (type == EQ_TYPE_Q5_0) pack_q5_0((block_q5_0x8 *)base + i, b);
                else pack_legacy(base + i * 8 * bsz, bsz, type == EQ_TYPE_Q4_1 ? 2 : 1, b);
            } else if (type == EQ_TYPE_Q4_K) {
                const block_q4_K *b[8];
                for (int r = 0; r < 8; r++) b[r] = (const block_q4_K *)tmp + (size_t)r * nb + i;
                pack_q4_K((block_q4_Kx8 *)base + i, b);
            } else if (type == EQ_TYPE_Q5_K) {
                const block_q5_K *b[8];
                for (int r = 0; r < 8; r++) b[r] = (const block_q5_K *)tmp + (size_t)r * nb + i;
                pack_q5_K((block_q5_Kx8 *)base + i, b);
            } else {
                const block_q6_K *b[8];
                for (int r = 0; r < 8; r++) b[r] = (const block_q6_K *)tmp + (size_t)r * nb + i;
                pack_q6_K((block_q6_Kx8 *)base + i, b);
            }
        }
    }
    free(tmp);
    return 0;
}

int eq_repack_rows_readable(int type) {
    return eq_repack_supported(type) &&
           (type == EQ_TYPE_Q4_0 || type == EQ_TYPE_Q4_1 || type == EQ_TYPE_Q8_0 || type == EQ_TYPE_Q6_K);
}

/* Row r's block i back from a packed block: the inverse of pack_legacy / pack_q6_K. */
static void unpack_legacy(char *b, size_t bsz, int nh, const char *o, int r) {
    const uint8_t *qs = (const uint8_t *)o + 8 * nh * sizeof(eq_f16);
    for (int h = 0; h < nh; h++) memcpy(b + h * sizeof(eq_f16), o + (8 * h + r) * sizeof(eq_f16), sizeof(eq_f16));
    for (size_t c = 0; c < (bsz - nh * sizeof(eq_f16)) / 8; c++) memcpy(b + nh * sizeof(eq_f16) + 8 * c, qs + 64 * c + 8 * r, 8);
}

static void unpack_q6_K(block_q6_K *b, const block_q6_Kx8 *o, int r) {
    b->d = o->d[r];
    for (int p = 0; p < 8; p++) {
        b->scales[q6_pair_sb(p)] = o->sc[p][r];
        b->scales[q6_pair_sb(p) + 2] = o->sc[p][8 + r];
    }
    for (int c = 0; c < 16; c++) memcpy(b->ql + 8 * c, &o->ql[c][8 * r], 8);
    for (int c = 0; c < 8; c++) memcpy(b->qh + 8 * c, &o->qh[c][8 * r], 8);
}

int eq_packed_row_to_float(int type, const void *rows, int64_t ne0, int r, float *out) {
    if (!eq_repack_rows_readable(type) || r < 0 || r >= EQ_PACK_ROWS) return -2;
    const eq_type_traits *tt = eq_type_traits_get(type);
    const int qk = type == EQ_TYPE_Q6_K ? EQ_QK_K : EQ_QK;
    const size_t bsz = eq_row_size(type, qk);
    if (ne0 <= 0 || ne0 % qk) return -2;
    union { block_q6_K k6; block_q8_0 q8; block_q4_1 q41; } blk;   /* one original block */
    for (int64_t i = 0; i < ne0 / qk; i++) {
        const char *o = (const char *)rows + (size_t)i * 8 * bsz;
        if (type == EQ_TYPE_Q6_K) unpack_q6_K(&blk.k6, (const block_q6_Kx8 *)o, r);
        else unpack_legacy((char *)&blk, bsz, type == EQ_TYPE_Q4_1 ? 2 : 1, o, r);
        tt->to_float(&blk, out + i * qk, qk);
    }
    return 0;
}

/* Per row and block, the integer sums of the codes at positions p % 8 < 4 of every sub-block
 * (I[0]) and at p % 8 >= 4 (I[1]), each times its sub-block's scale: the two 32-bit lanes a
 * row owns in the kernel. Their float steps are the kernel's, in its order. */
static void k4x8_dot_ref(int q5, int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    const size_t bsz = q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    for (int t = 0; t < nt; t++) {
        const block_q8_K *y = (const block_q8_K *)((const char *)vy + (size_t)t * by);
        for (int r = 0; r < 8; r++) {
            float A[2] = {0, 0}, Am = 0;
            for (int i = 0; i < n / EQ_QK_K; i++) {
                /* Q4_K and Q5_K blocks begin alike: d, dmin, scales */
                const block_q4_K *x = (const block_q4_K *)((const char *)vx + (size_t)r * xs + (size_t)i * bsz);
                const block_q5_K *x5 = (const block_q5_K *)x;
                const uint8_t *qs = q5 ? x5->qs : x->qs;
                uint8_t sc[8], mn[8];
                eq_k4_scales(x->scales, sc, mn);
                int32_t I[2] = {0, 0}, M = 0;
                for (int sb = 0; sb < 8; sb++) {
                    int32_t part[2] = {0, 0};
                    for (int p = 0; p < 32; p++) {
                        const uint8_t q = qs[32 * (sb / 2) + p];
                        const int hi = q5 ? (x5->qh[p] >> sb & 1) << 4 : 0;
                        part[p % 8 >= 4] += ((sb % 2 ? q >> 4 : q & 15) + hi) * y[i].qs[32 * sb + p];
                    }
                    I[0] += sc[sb] * part[0];
                    I[1] += sc[sb] * part[1];
                    M += mn[sb] * (y[i].bsums[2 * sb] + y[i].bsums[2 * sb + 1]);
                }
                /* a multiply, then an add (no fused multiply-add: wasm has none) */
                const float d = eq_fp16_to_fp32(x->d) * y[i].d;
                const float dm = eq_fp16_to_fp32(x->dmin) * -y[i].d;
                const float p0 = d * (float)I[0], p1 = d * (float)I[1], pm = dm * (float)M;
                A[0] += p0;
                A[1] += p1;
                Am += pm;
            }
            s[(size_t)t * bs + r] = (A[0] + A[1]) + Am;
        }
    }
}

void eq_q4_Kx8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt) {
    k4x8_dot_ref(0, n, s, bs, x, xs, y, by, nt);
}
void eq_q5_Kx8_dot_ref(int n, float *s, size_t bs, const void *x, size_t xs, const void *y, size_t by, int nt) {
    k4x8_dot_ref(1, n, s, bs, x, xs, y, by, nt);
}

/* Per row and block one integer, exact in 32 bits (|sum| <= 256 * 128 * 32 * 127): the signed
 * codes times the activations times their sub-block scales. The kernels get it as the
 * unsigned codes' sums minus 32 times the scaled bsums. */
void eq_q6_Kx8_dot_ref(int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    for (int t = 0; t < nt; t++) {
        const block_q8_K *y = (const block_q8_K *)((const char *)vy + (size_t)t * by);
        for (int r = 0; r < 8; r++) {
            const block_q6_K *x = (const block_q6_K *)((const char *)vx + (size_t)r * xs);
            float A = 0;
            for (int i = 0; i < n / EQ_QK_K; i++) {
                int32_t T = 0;
                for (int h = 0; h < 2; h++) {
                    const uint8_t *ql = x[i].ql + 64 * h, *qh = x[i].qh + 32 * h;
                    for (int l = 0; l < 32; l++) {
                        const int e = 128 * h + l;
                        const int q[4] = {(ql[l] & 15) | (qh[l] & 3) << 4, (ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4,
                                          (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4, (ql[l + 32] >> 4) | (qh[l] >> 6) << 4};
                        for (int k = 0; k < 4; k++)
                            T += x[i].scales[(e + 32 * k) / 16] * ((q[k] - 32) * y[i].qs[e + 32 * k]);
                    }
                }
                const float d = eq_fp16_to_fp32(x[i].d) * y[i].d;
                const float p = d * (float)T;
                A += p;
            }
            s[(size_t)t * bs + r] = A;
        }
    }
}

/* The legacy formats' two lanes a row (repack.h); code(x, v) is value v's code, minus its
 * offset (Q4_0: the nibble minus 8). Sums as codes times activations minus offset times the
 * activations' sum, the form the kernels compute (and one GCC vectorizes correctly: see
 * eq_vec_dot_q4_0_q8_0_ref). */
#define LEGACY_X8_REF(XT, YT, CODE, OFFSET, MIN)                                                  \
    for (int t = 0; t < nt; t++) {                                                                \
        const YT *y = (const YT *)((const char *)vy + (size_t)t * by);                            \
        for (int r = 0; r < 8; r++) {                                                             \
            const XT *x = (const XT *)((const char *)vx + (size_t)r * xs);                        \
            float A[2] = {0, 0}, M = 0;                                                           \
            for (int i = 0; i < n / EQ_QK; i++) {                                                 \
                int32_t I[2] = {0, 0}, Y[2] = {0, 0};                                             \
                for (int v = 0; v < EQ_QK; v++) {                                                 \
                    I[v % 8 >= 4] += CODE(x[i], v) * y[i].qs[v];                                  \
                    Y[v % 8 >= 4] += y[i].qs[v];                                                  \
                }                                                                                 \
                const float d = eq_fp16_to_fp32(x[i].d) * eq_fp16_to_fp32(y[i].d);                \
                const float p0 = d * (float)(I[0] - (OFFSET) * Y[0]), p1 = d * (float)(I[1] - (OFFSET) * Y[1]); \
                A[0] += p0;                                                                       \
                A[1] += p1;                                                                       \
                MIN                                                                               \
            }                                                                                     \
            s[(size_t)t * bs + r] = (A[0] + A[1]) + M;                                            \
        }                                                                                         \
    }

#define Q4_0_CODE(b, v) ((v) < 16 ? (b).qs[v] & 15 : (b).qs[(v) - 16] >> 4)
#define Q8_0_CODE(b, v) ((b).qs[v])
/* Q4_1's m_x * s_y per block (s_y = d_y * the activations' sum, stored by the quantizer) */
#define Q4_1_MIN                                                                                  \
    {                                                                                             \
        const float pm = eq_fp16_to_fp32(x[i].m) * eq_fp16_to_fp32(y[i].s);                       \
        M += pm;                                                                                  \
    }
void eq_q4_0x8_dot_ref(int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    LEGACY_X8_REF(block_q4_0, block_q8_0, Q4_0_CODE, 8, )
}
void eq_q4_1x8_dot_ref(int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    LEGACY_X8_REF(block_q4_1, block_q8_1, Q4_0_CODE, 0, Q4_1_MIN)
}
#define Q5_0_CODE(b, v) (Q4_0_CODE(b, v) | ((b).qh[(v) / 8] >> ((v) % 8) & 1) << 4)
void eq_q5_0x8_dot_ref(int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    LEGACY_X8_REF(block_q5_0, block_q8_0, Q5_0_CODE, 16, )
}
void eq_q8_0x8_dot_ref(int n, float *s, size_t bs, const void *vx, size_t xs, const void *vy, size_t by, int nt) {
    LEGACY_X8_REF(block_q8_0, block_q8_0, Q8_0_CODE, 0, )
}
