/* Block layouts, byte for byte as GGUF stores them (GGML's formats). */
#ifndef EQ_BLOCKS_H
#define EQ_BLOCKS_H

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include "quant/quant.h"
#include "quant/fp16.h"

typedef struct { eq_f16 d; uint8_t qs[EQ_QK / 2]; } block_q4_0;                   /* 18 */
typedef struct { eq_f16 d, m; uint8_t qs[EQ_QK / 2]; } block_q4_1;                /* 20 */
typedef struct { eq_f16 d; uint8_t qh[4]; uint8_t qs[EQ_QK / 2]; } block_q5_0;    /* 22 */
typedef struct { eq_f16 d, m; uint8_t qh[4]; uint8_t qs[EQ_QK / 2]; } block_q5_1; /* 24 */
typedef struct { eq_f16 d; int8_t qs[EQ_QK]; } block_q8_0;                        /* 34 */
typedef struct { eq_f16 d, s; int8_t qs[EQ_QK]; } block_q8_1;                     /* 36: s = d * sum(qs) */

/* K formats: 256-value super-blocks with 6- or 4-bit sub-block scales. */
typedef struct { uint8_t scales[EQ_QK_K / 16]; uint8_t qs[EQ_QK_K / 4]; eq_f16 d, dmin; } block_q2_K;   /* 84 */
typedef struct { uint8_t hmask[EQ_QK_K / 8]; uint8_t qs[EQ_QK_K / 4]; uint8_t scales[12]; eq_f16 d; } block_q3_K; /* 110 */
typedef struct { eq_f16 d, dmin; uint8_t scales[12]; uint8_t qs[EQ_QK_K / 2]; } block_q4_K;            /* 144 */
typedef struct { eq_f16 d, dmin; uint8_t scales[12]; uint8_t qh[EQ_QK_K / 8]; uint8_t qs[EQ_QK_K / 2]; } block_q5_K; /* 176 */
typedef struct { uint8_t ql[EQ_QK_K / 2]; uint8_t qh[EQ_QK_K / 4]; int8_t scales[EQ_QK_K / 16]; eq_f16 d; } block_q6_K; /* 210 */
typedef struct { float d; int8_t qs[EQ_QK_K]; int16_t bsums[EQ_QK_K / 16]; } block_q8_K;                /* 292 */

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");

/* Q4_K/Q5_K: eight 6-bit scales and eight 6-bit mins packed in 12 bytes (shared by the SIMD
 * kernels that want them as bytes). */
static inline void eq_k4_scales(const uint8_t packed[12], uint8_t sc[8], uint8_t mn[8]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u[4];
    memcpy(u, packed, 12);
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = uaux;
    u[0] &= kmask1;
    memcpy(sc, u, 8);
    memcpy(mn, u + 2, 8);
}

#endif
