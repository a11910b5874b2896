/* AArch64 NEON kernels (src/arch/arm/quants_neon.c), plugged into the type table through
 * the slot macros described in quant/kernels.h. Included by kernels.h only. 32-bit ARM
 * keeps the scalar refs: the kernels rely on AArch64-only reductions (vaddvq, vpaddq). */
#ifndef EQ_KERNELS_NEON_H
#define EQ_KERNELS_NEON_H
#if defined(__ARM_NEON) && defined(__aarch64__)
#define EQ_HAVE_NEON 1

EQ_DECL_VEC_DOT(eq_vec_dot_f32_f32_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_f16_f16_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_bf16_bf16_neon);
EQ_DECL_TO_FLOAT(eq_to_float_f16_neon);
EQ_DECL_TO_FLOAT(eq_to_float_bf16_neon);

EQ_DECL_FROM_FLOAT(eq_from_float_q8_0_neon);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_1_neon);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_K_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_0_q8_0_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_1_q8_1_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_0_q8_0_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_1_q8_1_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q8_0_q8_0_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q2_K_q8_K_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q3_K_q8_K_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_K_q8_K_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_K_q8_K_neon);
EQ_DECL_VEC_DOT(eq_vec_dot_q6_K_q8_K_neon);

/* The attention's F16 helpers (ops/vec.c calls them in NEON builds). */
void eq_vec_mad_f16_neon(int n, float *y, const uint16_t *x, float v);
void eq_vec_round_f16_neon(int n, float *x, float v);
double eq_vec_softmax_neon(int n, float *x, float scale);
void eq_swiglu_neon(float *g, const float *u, int n);
void eq_vec_dot_f16_rows_neon(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy);
void eq_vec_mad_f16_rows_neon(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw);

#define EQ_QUANT_ISA_NAME "neon"
#define EQ_K_VEC_DOT_F32        eq_vec_dot_f32_f32_neon
#define EQ_K_VEC_DOT_F16        eq_vec_dot_f16_f16_neon
#define EQ_K_VEC_DOT_BF16       eq_vec_dot_bf16_bf16_neon
#define EQ_K_TO_FLOAT_F16       eq_to_float_f16_neon
#define EQ_K_TO_FLOAT_BF16      eq_to_float_bf16_neon
#define EQ_K_FROM_FLOAT_Q8_0    eq_from_float_q8_0_neon
#define EQ_K_FROM_FLOAT_Q8_1    eq_from_float_q8_1_neon
#define EQ_K_FROM_FLOAT_Q8_K    eq_from_float_q8_K_neon
#define EQ_K_VEC_DOT_Q4_0       eq_vec_dot_q4_0_q8_0_neon
#define EQ_K_VEC_DOT_Q4_1       eq_vec_dot_q4_1_q8_1_neon
#define EQ_K_VEC_DOT_Q5_0       eq_vec_dot_q5_0_q8_0_neon
#define EQ_K_VEC_DOT_Q5_1       eq_vec_dot_q5_1_q8_1_neon
#define EQ_K_VEC_DOT_Q8_0       eq_vec_dot_q8_0_q8_0_neon
#define EQ_K_VEC_DOT_Q2_K       eq_vec_dot_q2_K_q8_K_neon
#define EQ_K_VEC_DOT_Q3_K       eq_vec_dot_q3_K_q8_K_neon
#define EQ_K_VEC_DOT_Q4_K       eq_vec_dot_q4_K_q8_K_neon
#define EQ_K_VEC_DOT_Q5_K       eq_vec_dot_q5_K_q8_K_neon
#define EQ_K_VEC_DOT_Q6_K       eq_vec_dot_q6_K_q8_K_neon

#endif
#endif
