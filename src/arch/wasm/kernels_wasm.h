/* WASM SIMD128 kernels (src/arch/wasm/quants_wasm.c), plugged into the type table through
 * the slot macros described in quant/kernels.h. Included by kernels.h only. */
#ifndef EQ_KERNELS_WASM_H
#define EQ_KERNELS_WASM_H
#if defined(__wasm_simd128__)
#define EQ_HAVE_WASM_SIMD 1

EQ_DECL_VEC_DOT(eq_vec_dot_f32_f32_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_f16_f16_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_bf16_bf16_wasm);
EQ_DECL_TO_FLOAT(eq_to_float_bf16_wasm);

EQ_DECL_FROM_FLOAT(eq_from_float_q8_0_wasm);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_1_wasm);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_K_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_0_q8_0_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_1_q8_1_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_0_q8_0_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_1_q8_1_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q8_0_q8_0_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q2_K_q8_K_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q3_K_q8_K_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_K_q8_K_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_K_q8_K_wasm);
EQ_DECL_VEC_DOT(eq_vec_dot_q6_K_q8_K_wasm);

/* One weight row against four activation rows (see eq_vec_dot_x4_get in quant/quant.h). */
#define EQ_DECL_VEC_DOT_X4(name) void name(int n, float *s, size_t bs, const void *x, const void *y, size_t by)
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_1_q8_1_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q5_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q5_1_q8_1_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q8_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q2_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q3_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q5_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q6_K_q8_K_wasm);
/* Q4_K, Q4_0, Q4_1, Q5_0 and Q8_0 rows repacked eight at a time (quant/repack.h), against 1 and 4
 * activation rows. */
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_K_q8_K_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_1_q8_1_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_1_q8_1_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q8_0_q8_0_wasm);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q8_0_q8_0_wasm);

/* The attention's multiply-adds (ops/vec.c calls them in wasm builds): y[i] += x[i] * v,
 * bit-identical to the scalar loops there. */
void eq_vec_mad_f16_wasm(int n, float *y, const uint16_t *x, float v);
void eq_vec_mad_f32_wasm(int n, float *y, const float *x, float v);
void eq_vec_round_f16_wasm(int n, float *x, float v);
double eq_vec_softmax_wasm(int n, float *x, float scale);
void eq_swiglu_wasm(float *g, const float *u, int n);
void eq_vec_dot_f16_rows_wasm(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy);
void eq_vec_mad_f16_rows_wasm(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw);

#define EQ_QUANT_ISA_NAME "wasm-simd128"
#define EQ_K_VEC_DOT_F32        eq_vec_dot_f32_f32_wasm
#define EQ_K_VEC_DOT_F16        eq_vec_dot_f16_f16_wasm
#define EQ_K_VEC_DOT_BF16       eq_vec_dot_bf16_bf16_wasm
#define EQ_K_TO_FLOAT_BF16      eq_to_float_bf16_wasm
#define EQ_K_FROM_FLOAT_Q8_0    eq_from_float_q8_0_wasm
#define EQ_K_FROM_FLOAT_Q8_1    eq_from_float_q8_1_wasm
#define EQ_K_FROM_FLOAT_Q8_K    eq_from_float_q8_K_wasm
#define EQ_K_VEC_DOT_Q4_0       eq_vec_dot_q4_0_q8_0_wasm
#define EQ_K_VEC_DOT_Q4_1       eq_vec_dot_q4_1_q8_1_wasm
#define EQ_K_VEC_DOT_Q5_0       eq_vec_dot_q5_0_q8_0_wasm
#define EQ_K_VEC_DOT_Q5_1       eq_vec_dot_q5_1_q8_1_wasm
#define EQ_K_VEC_DOT_Q8_0       eq_vec_dot_q8_0_q8_0_wasm
#define EQ_K_VEC_DOT_Q2_K       eq_vec_dot_q2_K_q8_K_wasm
#define EQ_K_VEC_DOT_Q3_K       eq_vec_dot_q3_K_q8_K_wasm
#define EQ_K_VEC_DOT_Q4_K       eq_vec_dot_q4_K_q8_K_wasm
#define EQ_K_VEC_DOT_Q5_K       eq_vec_dot_q5_K_q8_K_wasm
#define EQ_K_VEC_DOT_Q6_K       eq_vec_dot_q6_K_q8_K_wasm
#define EQ_K_VEC_DOT_X4_Q4_0    eq_vec_dot_x4_q4_0_q8_0_wasm
#define EQ_K_VEC_DOT_X4_Q4_1    eq_vec_dot_x4_q4_1_q8_1_wasm
#define EQ_K_VEC_DOT_X4_Q5_0    eq_vec_dot_x4_q5_0_q8_0_wasm
#define EQ_K_VEC_DOT_X4_Q5_1    eq_vec_dot_x4_q5_1_q8_1_wasm
#define EQ_K_VEC_DOT_X4_Q8_0    eq_vec_dot_x4_q8_0_q8_0_wasm
#define EQ_K_VEC_DOT_X4_Q2_K    eq_vec_dot_x4_q2_K_q8_K_wasm
#define EQ_K_VEC_DOT_X4_Q3_K    eq_vec_dot_x4_q3_K_q8_K_wasm
#define EQ_K_VEC_DOT_X4_Q4_K    eq_vec_dot_x4_q4_K_q8_K_wasm
#define EQ_K_VEC_DOT_X4_Q5_K    eq_vec_dot_x4_q5_K_q8_K_wasm
#define EQ_K_VEC_DOT_X4_Q6_K    eq_vec_dot_x4_q6_K_q8_K_wasm
#define EQ_K_VEC_DOT_P8X1_Q4_K  eq_vec_dot_p8x1_q4_K_q8_K_wasm
#define EQ_K_VEC_DOT_P8X1_Q5_K  eq_vec_dot_p8x1_q5_K_q8_K_wasm
#define EQ_K_VEC_DOT_P8X4_Q5_K  eq_vec_dot_p8x4_q5_K_q8_K_wasm
#define EQ_K_VEC_DOT_P8X4_Q4_K  eq_vec_dot_p8x4_q4_K_q8_K_wasm
#define EQ_K_VEC_DOT_P8X1_Q4_0  eq_vec_dot_p8x1_q4_0_q8_0_wasm
#define EQ_K_VEC_DOT_P8X4_Q4_0  eq_vec_dot_p8x4_q4_0_q8_0_wasm
#define EQ_K_VEC_DOT_P8X1_Q4_1  eq_vec_dot_p8x1_q4_1_q8_1_wasm
#define EQ_K_VEC_DOT_P8X4_Q4_1  eq_vec_dot_p8x4_q4_1_q8_1_wasm
#define EQ_K_VEC_DOT_P8X1_Q5_0  eq_vec_dot_p8x1_q5_0_q8_0_wasm
#define EQ_K_VEC_DOT_P8X4_Q5_0  eq_vec_dot_p8x4_q5_0_q8_0_wasm
#define EQ_K_VEC_DOT_P8X1_Q8_0  eq_vec_dot_p8x1_q8_0_q8_0_wasm
#define EQ_K_VEC_DOT_P8X4_Q8_0  eq_vec_dot_p8x4_q8_0_q8_0_wasm

#endif
#endif
