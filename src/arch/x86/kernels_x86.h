/* x86 AVX2 + FMA + F16C kernels (src/arch/x86/avx2_*.c), plugged into the type table through
 * the slot macros described in quant/kernels.h. Included by kernels.h only. */
#ifndef EQ_KERNELS_X86_H
#define EQ_KERNELS_X86_H
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define EQ_HAVE_AVX2 1
EQ_DECL_TO_FLOAT(eq_to_float_f16_avx2);   EQ_DECL_FROM_FLOAT(eq_from_float_f16_avx2);
EQ_DECL_TO_FLOAT(eq_to_float_bf16_avx2);  EQ_DECL_FROM_FLOAT(eq_from_float_bf16_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_f32_f32_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_f16_f16_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_bf16_bf16_avx2);

EQ_DECL_TO_FLOAT(eq_to_float_q4_0_avx2);
EQ_DECL_TO_FLOAT(eq_to_float_q8_0_avx2);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_0_avx2);
EQ_DECL_FROM_FLOAT(eq_from_float_q8_1_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_0_q8_0_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_1_q8_1_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_0_q8_0_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_1_q8_1_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q8_0_q8_0_avx2);

EQ_DECL_FROM_FLOAT(eq_from_float_q8_K_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q2_K_q8_K_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q3_K_q8_K_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_K_q8_K_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_K_q8_K_avx2);
EQ_DECL_VEC_DOT(eq_vec_dot_q6_K_q8_K_avx2);

#define EQ_DECL_VEC_DOT_X4(name) void name(int n, float *s, size_t bs, const void *x, const void *y, size_t by)
/* Q4_K rows repacked eight at a time (quant/repack.h, src/arch/x86/avx2_q4k_x8.c); the
 * AVX-512 VBMI ones below take their slots where the CPU has them. */
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_f32_f32_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_f16_f16_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_bf16_bf16_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_1_q8_1_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q5_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q5_1_q8_1_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q8_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q6_K_q8_K_avx2);
/* Rows x 4 tokens for the float formats (avx2_float.c): four rows where AVX-512 VL gives the
 * 256-bit code 32 registers (five ran as fast, six slower), three with AVX2's 16 (two: F16
 * pp64 27.8 t/s against 31.3). */
#define EQ_DECL_VEC_DOT_RX4(name) void name(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by)
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_f32_f32_avx2);
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_f16_f16_avx2);
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_bf16_bf16_avx2);
#if defined(__AVX512VL__)
#define EQ_RX4_ROWS 4
#else
#define EQ_RX4_ROWS 3
#endif
#define EQ_K_VEC_DOT_X4_F32     eq_vec_dot_x4_f32_f32_avx2
#define EQ_K_VEC_DOT_X4_F16     eq_vec_dot_x4_f16_f16_avx2
#define EQ_K_VEC_DOT_X4_BF16    eq_vec_dot_x4_bf16_bf16_avx2
#define EQ_K_VEC_DOT_X4_Q4_0    eq_vec_dot_x4_q4_0_q8_0_avx2
#define EQ_K_VEC_DOT_X4_Q4_1    eq_vec_dot_x4_q4_1_q8_1_avx2
#define EQ_K_VEC_DOT_X4_Q5_0    eq_vec_dot_x4_q5_0_q8_0_avx2
#define EQ_K_VEC_DOT_X4_Q5_1    eq_vec_dot_x4_q5_1_q8_1_avx2
#define EQ_K_VEC_DOT_X4_Q8_0    eq_vec_dot_x4_q8_0_q8_0_avx2
/* With AVX-512 BW + VL + VNNI (an EQ_NATIVE build on such a CPU), the prompt's K-quant hot
 * loops use 512-bit kernels (src/arch/x86/avx512_kquants.c), bit-identical to the AVX2 ones. */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define EQ_HAVE_AVX512 1
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q4_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x4_q6_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x8_q4_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_x8_q6_K_q8_K_avx512);
#define EQ_K_VEC_DOT_X4_Q4_K    eq_vec_dot_x4_q4_K_q8_K_avx512
#define EQ_K_VEC_DOT_X4_Q6_K    eq_vec_dot_x4_q6_K_q8_K_avx512
#define EQ_K_VEC_DOT_X8_Q4_K    eq_vec_dot_x8_q4_K_q8_K_avx512
#define EQ_K_VEC_DOT_X8_Q6_K    eq_vec_dot_x8_q6_K_q8_K_avx512
/* The float formats' rows x 4 tokens in 512-bit registers (src/arch/x86/avx512_float.c):
 * three rows, 24 accumulators of 32 registers, one pass over the lines, F32 activations. */
#define EQ_RX4_ROWS_AVX512 3
#define EQ_K_RX4_WIDE 1
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_f32_f32_avx512);
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_f16_f16_avx512);
EQ_DECL_VEC_DOT_RX4(eq_vec_dot_rx4_bf16_bf16_avx512);
#define EQ_K_RX4_ROWS           EQ_RX4_ROWS_AVX512
#define EQ_K_VEC_DOT_RX4_F32    eq_vec_dot_rx4_f32_f32_avx512
#define EQ_K_VEC_DOT_RX4_F16    eq_vec_dot_rx4_f16_f16_avx512
#define EQ_K_VEC_DOT_RX4_BF16   eq_vec_dot_rx4_bf16_bf16_avx512
/* Q6_K matrices are repacked at load too, eight rows interleaved (src/arch/x86/avx512_q6k_x8.c;
 * AVX2 builds: avx2_q6k_x8.c). */
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q6_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q6_K_q8_K_avx512);
#define EQ_K_VEC_DOT_P8X1_Q6_K  eq_vec_dot_p8x1_q6_K_q8_K_avx512
#define EQ_K_VEC_DOT_P8X4_Q6_K  eq_vec_dot_p8x4_q6_K_q8_K_avx512
/* Q4_0, Q4_1, Q5_0 and Q8_0 matrices too (src/arch/x86/avx512_legacy_x8.c; AVX2 builds: avx2_legacy_x8.c). */
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_0_q8_0_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_0_q8_0_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_0_q8_0_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_0_q8_0_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_1_q8_1_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_1_q8_1_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q8_0_q8_0_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q8_0_q8_0_avx512);
#define EQ_K_VEC_DOT_P8X1_Q4_0  eq_vec_dot_p8x1_q4_0_q8_0_avx512
#define EQ_K_VEC_DOT_P8X4_Q4_0  eq_vec_dot_p8x4_q4_0_q8_0_avx512
#define EQ_K_VEC_DOT_P8X1_Q5_0  eq_vec_dot_p8x1_q5_0_q8_0_avx512
#define EQ_K_VEC_DOT_P8X4_Q5_0  eq_vec_dot_p8x4_q5_0_q8_0_avx512
#define EQ_K_VEC_DOT_P8X1_Q4_1  eq_vec_dot_p8x1_q4_1_q8_1_avx512
#define EQ_K_VEC_DOT_P8X4_Q4_1  eq_vec_dot_p8x4_q4_1_q8_1_avx512
#define EQ_K_VEC_DOT_P8X1_Q8_0  eq_vec_dot_p8x1_q8_0_q8_0_avx512
#define EQ_K_VEC_DOT_P8X4_Q8_0  eq_vec_dot_p8x4_q8_0_q8_0_avx512
#define EQ_QUANT_ISA_NAME "avx512"
/* With VBMI too, Q4_K matrices are repacked at load, eight rows interleaved (quant/repack.h),
 * and run through src/arch/x86/avx512_q4k_x8.c. */
#if defined(__AVX512VBMI__)
#define EQ_HAVE_AVX512_VBMI 1
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_K_q8_K_avx512);
#define EQ_K_VEC_DOT_P8X1_Q4_K  eq_vec_dot_p8x1_q4_K_q8_K_avx512
#define EQ_K_VEC_DOT_P8X4_Q4_K  eq_vec_dot_p8x4_q4_K_q8_K_avx512
/* Q5_K matrices too (the same file). */
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_K_q8_K_avx512);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_K_q8_K_avx512);
#define EQ_K_VEC_DOT_P8X1_Q5_K  eq_vec_dot_p8x1_q5_K_q8_K_avx512
#define EQ_K_VEC_DOT_P8X4_Q5_K  eq_vec_dot_p8x4_q5_K_q8_K_avx512
#endif
#endif
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q6_K_q8_K_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q6_K_q8_K_avx2);
#if !defined(EQ_K_VEC_DOT_P8X1_Q4_K)
#define EQ_K_VEC_DOT_P8X1_Q4_K  eq_vec_dot_p8x1_q4_K_q8_K_avx2
#define EQ_K_VEC_DOT_P8X4_Q4_K  eq_vec_dot_p8x4_q4_K_q8_K_avx2
#define EQ_K_VEC_DOT_P8X1_Q5_K  eq_vec_dot_p8x1_q5_K_q8_K_avx2
#define EQ_K_VEC_DOT_P8X4_Q5_K  eq_vec_dot_p8x4_q5_K_q8_K_avx2
#endif
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q5_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q5_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q4_1_q8_1_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q4_1_q8_1_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x1_q8_0_q8_0_avx2);
EQ_DECL_VEC_DOT_X4(eq_vec_dot_p8x4_q8_0_q8_0_avx2);
#if !defined(EQ_HAVE_AVX512)
#define EQ_K_RX4_ROWS           EQ_RX4_ROWS
#define EQ_K_VEC_DOT_RX4_F32    eq_vec_dot_rx4_f32_f32_avx2
#define EQ_K_VEC_DOT_RX4_F16    eq_vec_dot_rx4_f16_f16_avx2
#define EQ_K_VEC_DOT_RX4_BF16   eq_vec_dot_rx4_bf16_bf16_avx2
#define EQ_K_VEC_DOT_P8X1_Q4_0  eq_vec_dot_p8x1_q4_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X4_Q4_0  eq_vec_dot_p8x4_q4_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X1_Q5_0  eq_vec_dot_p8x1_q5_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X4_Q5_0  eq_vec_dot_p8x4_q5_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X1_Q4_1  eq_vec_dot_p8x1_q4_1_q8_1_avx2
#define EQ_K_VEC_DOT_P8X4_Q4_1  eq_vec_dot_p8x4_q4_1_q8_1_avx2
#define EQ_K_VEC_DOT_P8X1_Q8_0  eq_vec_dot_p8x1_q8_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X4_Q8_0  eq_vec_dot_p8x4_q8_0_q8_0_avx2
#define EQ_K_VEC_DOT_P8X1_Q6_K  eq_vec_dot_p8x1_q6_K_q8_K_avx2
#define EQ_K_VEC_DOT_P8X4_Q6_K  eq_vec_dot_p8x4_q6_K_q8_K_avx2
#define EQ_K_VEC_DOT_X4_Q4_K    eq_vec_dot_x4_q4_K_q8_K_avx2
#define EQ_K_VEC_DOT_X4_Q6_K    eq_vec_dot_x4_q6_K_q8_K_avx2
#define EQ_QUANT_ISA_NAME "avx2"
#endif

/* The attention's multiply-adds (ops/vec.c), in src/arch/x86/avx2_vec.c. */
void eq_vec_mad_f16_avx2(int n, float *y, const uint16_t *x, float v);
void eq_vec_mad_f32_avx2(int n, float *y, const float *x, float v);
void eq_vec_round_f16_avx2(int n, float *x, float v);
double eq_vec_softmax_avx2(int n, float *x, float scale);
void eq_swiglu_avx2(float *g, const float *u, int n);
void eq_vec_dot_f16_rows_avx2(int n, int nq, int rows, float *s, size_t ld, const uint16_t *x, size_t stride,
                              const uint16_t *y, size_t ldy);
void eq_vec_mad_f16_rows_avx2(int n, int nq, int rows, float *y, size_t ldy, const uint16_t *x, size_t stride,
                              const float *w, size_t ldw);

#define EQ_K_TO_FLOAT_F16       eq_to_float_f16_avx2
#define EQ_K_FROM_FLOAT_F16     eq_from_float_f16_avx2
#define EQ_K_TO_FLOAT_BF16      eq_to_float_bf16_avx2
#define EQ_K_FROM_FLOAT_BF16    eq_from_float_bf16_avx2
#define EQ_K_VEC_DOT_F32        eq_vec_dot_f32_f32_avx2
#define EQ_K_VEC_DOT_F16        eq_vec_dot_f16_f16_avx2
#define EQ_K_VEC_DOT_BF16       eq_vec_dot_bf16_bf16_avx2
#define EQ_K_TO_FLOAT_Q4_0      eq_to_float_q4_0_avx2
#define EQ_K_TO_FLOAT_Q8_0      eq_to_float_q8_0_avx2
#define EQ_K_FROM_FLOAT_Q8_0    eq_from_float_q8_0_avx2
#define EQ_K_FROM_FLOAT_Q8_1    eq_from_float_q8_1_avx2
#define EQ_K_FROM_FLOAT_Q8_K    eq_from_float_q8_K_avx2
#define EQ_K_VEC_DOT_Q4_0       eq_vec_dot_q4_0_q8_0_avx2
#define EQ_K_VEC_DOT_Q4_1       eq_vec_dot_q4_1_q8_1_avx2
#define EQ_K_VEC_DOT_Q5_0       eq_vec_dot_q5_0_q8_0_avx2
#define EQ_K_VEC_DOT_Q5_1       eq_vec_dot_q5_1_q8_1_avx2
#define EQ_K_VEC_DOT_Q8_0       eq_vec_dot_q8_0_q8_0_avx2
#define EQ_K_VEC_DOT_Q2_K       eq_vec_dot_q2_K_q8_K_avx2
#define EQ_K_VEC_DOT_Q3_K       eq_vec_dot_q3_K_q8_K_avx2
#define EQ_K_VEC_DOT_Q4_K       eq_vec_dot_q4_K_q8_K_avx2
#define EQ_K_VEC_DOT_Q5_K       eq_vec_dot_q5_K_q8_K_avx2
#define EQ_K_VEC_DOT_Q6_K       eq_vec_dot_q6_K_q8_K_avx2
#endif

#endif
