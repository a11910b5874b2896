/* The tensor-type table: sizes and kernels per GGML type id.
 *
 * Kernel naming and dispatch (details in quant/kernels.h):
 *   eq_to_float_<type>_<isa>, eq_from_float_<type>_<isa>, eq_vec_dot_<type>_<vec_dot_type>_<isa>
 *   with <isa> = ref | avx2 | avx512 | neon | wasm, all with the ref's signature.
 * The choice is made at compile time: an ISA header (included by kernels.h under
 * __AVX2__ / __ARM_NEON / __wasm_simd128__) defines a slot macro EQ_K_<OP>_<TYPE> for each
 * kernel it provides; every slot without one falls back to the _ref below. Two tables are
 * built: the one eq_type_traits_get() returns (SIMD where available) and the all-ref one
 * eq_type_traits_ref() returns for the tests. Both are const: no mutable global state. */
#include <stddef.h>
#include <stdint.h>
#include "quant/kernels.h"
#include "quant/blocks.h"

#ifndef EQ_K_TO_FLOAT_F32
#define EQ_K_TO_FLOAT_F32 eq_to_float_f32_ref
#endif
#ifndef EQ_K_FROM_FLOAT_F32
#define EQ_K_FROM_FLOAT_F32 eq_from_float_f32_ref
#endif
#ifndef EQ_K_VEC_DOT_F32
#define EQ_K_VEC_DOT_F32 eq_vec_dot_f32_f32_ref
#endif
#ifndef EQ_K_TO_FLOAT_F16
#define EQ_K_TO_FLOAT_F16 eq_to_float_f16_ref
#endif
#ifndef EQ_K_FROM_FLOAT_F16
#define EQ_K_FROM_FLOAT_F16 eq_from_float_f16_ref
#endif
#ifndef EQ_K_VEC_DOT_F16
#define EQ_K_VEC_DOT_F16 eq_vec_dot_f16_f16_ref
#endif
#ifndef EQ_K_TO_FLOAT_BF16
#define EQ_K_TO_FLOAT_BF16 eq_to_float_bf16_ref
#endif
#ifndef EQ_K_FROM_FLOAT_BF16
#define EQ_K_FROM_FLOAT_BF16 eq_from_float_bf16_ref
#endif
#ifndef EQ_K_VEC_DOT_BF16
#define EQ_K_VEC_DOT_BF16 eq_vec_dot_bf16_bf16_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q4_0
#define EQ_K_TO_FLOAT_Q4_0 eq_to_float_q4_0_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q4_0
#define EQ_K_FROM_FLOAT_Q4_0 eq_from_float_q4_0_ref
#endif
#ifndef EQ_K_VEC_DOT_Q4_0
#define EQ_K_VEC_DOT_Q4_0 eq_vec_dot_q4_0_q8_0_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q4_1
#define EQ_K_TO_FLOAT_Q4_1 eq_to_float_q4_1_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q4_1
#define EQ_K_FROM_FLOAT_Q4_1 eq_from_float_q4_1_ref
#endif
#ifndef EQ_K_VEC_DOT_Q4_1
#define EQ_K_VEC_DOT_Q4_1 eq_vec_dot_q4_1_q8_1_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q5_0
#define EQ_K_TO_FLOAT_Q5_0 eq_to_float_q5_0_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q5_0
#define EQ_K_FROM_FLOAT_Q5_0 eq_from_float_q5_0_ref
#endif
#ifndef EQ_K_VEC_DOT_Q5_0
#define EQ_K_VEC_DOT_Q5_0 eq_vec_dot_q5_0_q8_0_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q5_1
#define EQ_K_TO_FLOAT_Q5_1 eq_to_float_q5_1_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q5_1
#define EQ_K_FROM_FLOAT_Q5_1 eq_from_float_q5_1_ref
#endif
#ifndef EQ_K_VEC_DOT_Q5_1
#define EQ_K_VEC_DOT_Q5_1 eq_vec_dot_q5_1_q8_1_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q8_0
#define EQ_K_TO_FLOAT_Q8_0 eq_to_float_q8_0_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q8_0
#define EQ_K_FROM_FLOAT_Q8_0 eq_from_float_q8_0_ref
#endif
#ifndef EQ_K_VEC_DOT_Q8_0
#define EQ_K_VEC_DOT_Q8_0 eq_vec_dot_q8_0_q8_0_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q8_1
#define EQ_K_TO_FLOAT_Q8_1 eq_to_float_q8_1_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q8_1
#define EQ_K_FROM_FLOAT_Q8_1 eq_from_float_q8_1_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q2_K
#define EQ_K_TO_FLOAT_Q2_K eq_to_float_q2_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q2_K
#define EQ_K_FROM_FLOAT_Q2_K eq_from_float_q2_K_ref
#endif
#ifndef EQ_K_VEC_DOT_Q2_K
#define EQ_K_VEC_DOT_Q2_K eq_vec_dot_q2_K_q8_K_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q3_K
#define EQ_K_TO_FLOAT_Q3_K eq_to_float_q3_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q3_K
#define EQ_K_FROM_FLOAT_Q3_K eq_from_float_q3_K_ref
#endif
#ifndef EQ_K_VEC_DOT_Q3_K
#define EQ_K_VEC_DOT_Q3_K eq_vec_dot_q3_K_q8_K_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q4_K
#define EQ_K_TO_FLOAT_Q4_K eq_to_float_q4_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q4_K
#define EQ_K_FROM_FLOAT_Q4_K eq_from_float_q4_K_ref
#endif
#ifndef EQ_K_VEC_DOT_Q4_K
#define EQ_K_VEC_DOT_Q4_K eq_vec_dot_q4_K_q8_K_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q5_K
#define EQ_K_TO_FLOAT_Q5_K eq_to_float_q5_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q5_K
#define EQ_K_FROM_FLOAT_Q5_K eq_from_float_q5_K_ref
#endif
#ifndef EQ_K_VEC_DOT_Q5_K
#define EQ_K_VEC_DOT_Q5_K eq_vec_dot_q5_K_q8_K_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q6_K
#define EQ_K_TO_FLOAT_Q6_K eq_to_float_q6_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q6_K
#define EQ_K_FROM_FLOAT_Q6_K eq_from_float_q6_K_ref
#endif
#ifndef EQ_K_VEC_DOT_Q6_K
#define EQ_K_VEC_DOT_Q6_K eq_vec_dot_q6_K_q8_K_ref
#endif
#ifndef EQ_K_TO_FLOAT_Q8_K
#define EQ_K_TO_FLOAT_Q8_K eq_to_float_q8_K_ref
#endif
#ifndef EQ_K_FROM_FLOAT_Q8_K
#define EQ_K_FROM_FLOAT_Q8_K eq_from_float_q8_K_ref
#endif
#ifndef EQ_QUANT_ISA_NAME
#define EQ_QUANT_ISA_NAME "scalar"
#endif

/* One row of the table. Q8_1 and Q8_K are activation-only formats: ggml has no dot
 * product with them on the left, and neither do we (vec_dot NULL). */
#define ROW(ID, NAME, BLK, SIZE, VDT, TF, FF, VD) \
    [ID] = { NAME, BLK, SIZE, VDT, TF, FF, VD }

/* The table for a given kernel suffix: SEL(slot, ref) picks either the slot macro or the ref. */
#define TABLE(SEL) { \
    ROW(EQ_TYPE_F32,  "F32",  1, sizeof(float),   EQ_TYPE_F32,  SEL(EQ_K_TO_FLOAT_F32,  eq_to_float_f32_ref),  SEL(EQ_K_FROM_FLOAT_F32,  eq_from_float_f32_ref),  SEL(EQ_K_VEC_DOT_F32,  eq_vec_dot_f32_f32_ref)), \
    ROW(EQ_TYPE_F16,  "F16",  1, sizeof(eq_f16),  EQ_TYPE_F16,  SEL(EQ_K_TO_FLOAT_F16,  eq_to_float_f16_ref),  SEL(EQ_K_FROM_FLOAT_F16,  eq_from_float_f16_ref),  SEL(EQ_K_VEC_DOT_F16,  eq_vec_dot_f16_f16_ref)), \
    ROW(EQ_TYPE_BF16, "BF16", 1, sizeof(eq_bf16), EQ_TYPE_BF16, SEL(EQ_K_TO_FLOAT_BF16, eq_to_float_bf16_ref), SEL(EQ_K_FROM_FLOAT_BF16, eq_from_float_bf16_ref), SEL(EQ_K_VEC_DOT_BF16, eq_vec_dot_bf16_bf16_ref)), \
    ROW(EQ_TYPE_Q4_0, "Q4_0", EQ_QK, sizeof(block_q4_0), EQ_TYPE_Q8_0, SEL(EQ_K_TO_FLOAT_Q4_0, eq_to_float_q4_0_ref), SEL(EQ_K_FROM_FLOAT_Q4_0, eq_from_float_q4_0_ref), SEL(EQ_K_VEC_DOT_Q4_0, eq_vec_dot_q4_0_q8_0_ref)), \
    ROW(EQ_TYPE_Q4_1, "Q4_1", EQ_QK, sizeof(block_q4_1), EQ_TYPE_Q8_1, SEL(EQ_K_TO_FLOAT_Q4_1, eq_to_float_q4_1_ref), SEL(EQ_K_FROM_FLOAT_Q4_1, eq_from_float_q4_1_ref), SEL(EQ_K_VEC_DOT_Q4_1, eq_vec_dot_q4_1_q8_1_ref)), \
    ROW(EQ_TYPE_Q5_0, "Q5_0", EQ_QK, sizeof(block_q5_0), EQ_TYPE_Q8_0, SEL(EQ_K_TO_FLOAT_Q5_0, eq_to_float_q5_0_ref), SEL(EQ_K_FROM_FLOAT_Q5_0, eq_from_float_q5_0_ref), SEL(EQ_K_VEC_DOT_Q5_0, eq_vec_dot_q5_0_q8_0_ref)), \
    ROW(EQ_TYPE_Q5_1, "Q5_1", EQ_QK, sizeof(block_q5_1), EQ_TYPE_Q8_1, SEL(EQ_K_TO_FLOAT_Q5_1, eq_to_float_q5_1_ref), SEL(EQ_K_FROM_FLOAT_Q5_1, eq_from_float_q5_1_ref), SEL(EQ_K_VEC_DOT_Q5_1, eq_vec_dot_q5_1_q8_1_ref)), \
    ROW(EQ_TYPE_Q8_0, "Q8_0", EQ_QK, sizeof(block_q8_0), EQ_TYPE_Q8_0, SEL(EQ_K_TO_FLOAT_Q8_0, eq_to_float_q8_0_ref), SEL(EQ_K_FROM_FLOAT_Q8_0, eq_from_float_q8_0_ref), SEL(EQ_K_VEC_DOT_Q8_0, eq_vec_dot_q8_0_q8_0_ref)), \
    ROW(EQ_TYPE_Q8_1, "Q8_1", EQ_QK, sizeof(block_q8_1), EQ_TYPE_Q8_1, SEL(EQ_K_TO_FLOAT_Q8_1, eq_to_float_q8_1_ref), SEL(EQ_K_FROM_FLOAT_Q8_1, eq_from_float_q8_1_ref), NULL), \
    ROW(EQ_TYPE_Q2_K, "Q2_K", EQ_QK_K, sizeof(block_q2_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q2_K, eq_to_float_q2_K_ref), SEL(EQ_K_FROM_FLOAT_Q2_K, eq_from_float_q2_K_ref), SEL(EQ_K_VEC_DOT_Q2_K, eq_vec_dot_q2_K_q8_K_ref)), \
    ROW(EQ_TYPE_Q3_K, "Q3_K", EQ_QK_K, sizeof(block_q3_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q3_K, eq_to_float_q3_K_ref), SEL(EQ_K_FROM_FLOAT_Q3_K, eq_from_float_q3_K_ref), SEL(EQ_K_VEC_DOT_Q3_K, eq_vec_dot_q3_K_q8_K_ref)), \
    ROW(EQ_TYPE_Q4_K, "Q4_K", EQ_QK_K, sizeof(block_q4_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q4_K, eq_to_float_q4_K_ref), SEL(EQ_K_FROM_FLOAT_Q4_K, eq_from_float_q4_K_ref), SEL(EQ_K_VEC_DOT_Q4_K, eq_vec_dot_q4_K_q8_K_ref)), \
    ROW(EQ_TYPE_Q5_K, "Q5_K", EQ_QK_K, sizeof(block_q5_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q5_K, eq_to_float_q5_K_ref), SEL(EQ_K_FROM_FLOAT_Q5_K, eq_from_float_q5_K_ref), SEL(EQ_K_VEC_DOT_Q5_K, eq_vec_dot_q5_K_q8_K_ref)), \
    ROW(EQ_TYPE_Q6_K, "Q6_K", EQ_QK_K, sizeof(block_q6_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q6_K, eq_to_float_q6_K_ref), SEL(EQ_K_FROM_FLOAT_Q6_K, eq_from_float_q6_K_ref), SEL(EQ_K_VEC_DOT_Q6_K, eq_vec_dot_q6_K_q8_K_ref)), \
    ROW(EQ_TYPE_Q8_K, "Q8_K", EQ_QK_K, sizeof(block_q8_K), EQ_TYPE_Q8_K, SEL(EQ_K_TO_FLOAT_Q8_K, eq_to_float_q8_K_ref), SEL(EQ_K_FROM_FLOAT_Q8_K, eq_from_float_q8_K_ref), NULL), \
}

#define SEL_BEST(slot, ref) slot
#define SEL_REF(slot, ref)  ref

static const eq_type_traits k_traits[EQ_TYPE_COUNT] = TABLE(SEL_BEST);
static const eq_type_traits k_traits_ref[EQ_TYPE_COUNT] = TABLE(SEL_REF);

static int known(int type) { return type >= 0 && type < EQ_TYPE_COUNT && k_traits[type].name != NULL; }

const eq_type_traits *eq_type_traits_get(int type) { return known(type) ? &k_traits[type] : NULL; }

const eq_type_traits *eq_type_traits_ref(int type) { return known(type) ? &k_traits_ref[type] : NULL; }

const char *eq_type_name(int type) { return known(type) ? k_traits[type].name : "?"; }

static int upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

int eq_type_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < EQ_TYPE_COUNT; t++) {
        const char *a = k_traits[t].name, *b = name;
        if (!a) continue;
        while (*a && *b && *a == upper((unsigned char)*b)) { a++; b++; }
        if (*a == '\0' && *b == '\0') return t;
    }
    return -1;
}

size_t eq_row_size(int type, int64_t ne0) {
    if (!known(type) || ne0 < 0) return 0;
    const eq_type_traits *t = &k_traits[type];
    if (ne0 % t->blck_size != 0) return 0;
    const uint64_t blocks = (uint64_t)(ne0 / t->blck_size);
    /* Refuse, rather than wrap, a size that does not fit in size_t. */
    if (t->type_size != 0 && blocks > (uint64_t)SIZE_MAX / t->type_size) return 0;
    return (size_t)blocks * t->type_size;
}

const char *eq_quant_isa(void) { return EQ_QUANT_ISA_NAME; }

eq_vec_dot_x4_fn eq_vec_dot_x4_get(int type) {
    switch (type) {
#ifdef EQ_K_VEC_DOT_X4_F32
    case EQ_TYPE_F32: return EQ_K_VEC_DOT_X4_F32;
#endif
#ifdef EQ_K_VEC_DOT_X4_F16
    case EQ_TYPE_F16: return EQ_K_VEC_DOT_X4_F16;
#endif
#ifdef EQ_K_VEC_DOT_X4_BF16
    case EQ_TYPE_BF16: return EQ_K_VEC_DOT_X4_BF16;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q4_0
    case EQ_TYPE_Q4_0: return EQ_K_VEC_DOT_X4_Q4_0;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q4_1
    case EQ_TYPE_Q4_1: return EQ_K_VEC_DOT_X4_Q4_1;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q5_0
    case EQ_TYPE_Q5_0: return EQ_K_VEC_DOT_X4_Q5_0;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q5_1
    case EQ_TYPE_Q5_1: return EQ_K_VEC_DOT_X4_Q5_1;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q8_0
    case EQ_TYPE_Q8_0: return EQ_K_VEC_DOT_X4_Q8_0;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q2_K
    case EQ_TYPE_Q2_K: return EQ_K_VEC_DOT_X4_Q2_K;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q3_K
    case EQ_TYPE_Q3_K: return EQ_K_VEC_DOT_X4_Q3_K;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q4_K
    case EQ_TYPE_Q4_K: return EQ_K_VEC_DOT_X4_Q4_K;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q5_K
    case EQ_TYPE_Q5_K: return EQ_K_VEC_DOT_X4_Q5_K;
#endif
#ifdef EQ_K_VEC_DOT_X4_Q6_K
    case EQ_TYPE_Q6_K: return EQ_K_VEC_DOT_X4_Q6_K;
#endif
    default: return NULL;
    }
}

eq_vec_dot_x4_fn eq_vec_dot_x8_get(int type) {
    switch (type) {
#ifdef EQ_K_VEC_DOT_X8_Q4_K
    case EQ_TYPE_Q4_K: return EQ_K_VEC_DOT_X8_Q4_K;
#endif
#ifdef EQ_K_VEC_DOT_X8_Q6_K
    case EQ_TYPE_Q6_K: return EQ_K_VEC_DOT_X8_Q6_K;
#endif
    default: (void)type; return NULL;
    }
}

eq_vec_dot_rx4_fn eq_vec_dot_rx4_get(int type, int *rows, int *wide) {
    *rows = 0;
#ifdef EQ_K_RX4_WIDE
    *wide = EQ_K_RX4_WIDE;
#else
    *wide = 0;
#endif
    switch (type) {
#ifdef EQ_K_VEC_DOT_RX4_F32
    case EQ_TYPE_F32: *rows = EQ_K_RX4_ROWS; return EQ_K_VEC_DOT_RX4_F32;
#endif
#ifdef EQ_K_VEC_DOT_RX4_F16
    case EQ_TYPE_F16: *rows = EQ_K_RX4_ROWS; return EQ_K_VEC_DOT_RX4_F16;
#endif
#ifdef EQ_K_VEC_DOT_RX4_BF16
    case EQ_TYPE_BF16: *rows = EQ_K_RX4_ROWS; return EQ_K_VEC_DOT_RX4_BF16;
#endif
    default: return NULL;
    }
}

eq_vec_dot_x4_fn eq_vec_dot_packed_get(int type, int nt) {
    switch (type) {
#if defined(EQ_K_VEC_DOT_P8X1_Q4_K) && defined(EQ_K_VEC_DOT_P8X4_Q4_K)
    case EQ_TYPE_Q4_K: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q4_K : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q4_K : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q4_0) && defined(EQ_K_VEC_DOT_P8X4_Q4_0)
    case EQ_TYPE_Q4_0: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q4_0 : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q4_0 : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q5_0) && defined(EQ_K_VEC_DOT_P8X4_Q5_0)
    case EQ_TYPE_Q5_0: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q5_0 : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q5_0 : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q4_1) && defined(EQ_K_VEC_DOT_P8X4_Q4_1)
    case EQ_TYPE_Q4_1: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q4_1 : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q4_1 : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q8_0) && defined(EQ_K_VEC_DOT_P8X4_Q8_0)
    case EQ_TYPE_Q8_0: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q8_0 : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q8_0 : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q5_K) && defined(EQ_K_VEC_DOT_P8X4_Q5_K)
    case EQ_TYPE_Q5_K: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q5_K : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q5_K : NULL;
#endif
#if defined(EQ_K_VEC_DOT_P8X1_Q6_K) && defined(EQ_K_VEC_DOT_P8X4_Q6_K)
    case EQ_TYPE_Q6_K: return nt == 4 ? EQ_K_VEC_DOT_P8X4_Q6_K : nt == 1 ? EQ_K_VEC_DOT_P8X1_Q6_K : NULL;
#endif
    default: (void)nt; return NULL;
    }
}
