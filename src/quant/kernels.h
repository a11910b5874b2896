/* Every kernel behind the type table, by one naming rule:
 *
 *   eq_to_float_<type>_<isa>     (const void *x, float *y, int64_t k)      dequantize k values
 *   eq_from_float_<type>_<isa>   (const float *x, void *y, int64_t k)      quantize k values
 *   eq_vec_dot_<type>_<vdt>_<isa>(int n, float *s, const void *x, const void *y)
 *
 * <type> is spelled as ggml spells it (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q8_1 q2_K..q6_K q8_K),
 * <vdt> is the type's vec_dot_type, <isa> is ref | avx2 | avx512 | neon | wasm.
 * The _ref functions are portable scalar C and are the oracle: every SIMD variant has the
 * same signature and must match its ref (to_float/from_float bit for bit, vec_dot up to
 * float summation order).
 *
 * Plugging in SIMD kernels: an ISA's header declares its functions and, for each one it
 * provides, defines the slot macro EQ_K_<OP>_<TYPE> (OP = TO_FLOAT | FROM_FLOAT | VEC_DOT,
 * TYPE upper-case as in the EQ_TYPE_ enum) to the function's name, e.g.
 *     #define EQ_K_VEC_DOT_Q4_K eq_vec_dot_q4_K_q8_K_neon
 * and EQ_QUANT_ISA_NAME to its name for eq_quant_isa(). types.c takes the slot macro when
 * defined and the _ref otherwise, so an ISA can provide any subset. The ISA headers
 * live with their code (src/arch/x86/kernels_x86.h, src/arch/arm/kernels_neon.h,
 * src/arch/wasm/kernels_wasm.h) and are picked up here when present.
 *
 * EQ_NO_SIMD leaves every slot to the _ref whatever the compiler targets. types.c and
 * ops/vec.c are the only files outside src/arch whose code depends on the ISA; compiled with
 * it they make a scalar build (tests/unit/test_forward's twin), so keep ISA switches there. */
#ifndef EQ_KERNELS_H
#define EQ_KERNELS_H

#include <stdint.h>
#include "quant/quant.h"

#define EQ_DECL_TO_FLOAT(name)   void name(const void *x, float *y, int64_t k)
#define EQ_DECL_FROM_FLOAT(name) void name(const float *x, void *y, int64_t k)
#define EQ_DECL_VEC_DOT(name)    void name(int n, float *s, const void *x, const void *y)

/* ---- scalar references (src/quant/float.c, legacy.c, kquants.c) ---- */
EQ_DECL_TO_FLOAT(eq_to_float_f32_ref);   EQ_DECL_FROM_FLOAT(eq_from_float_f32_ref);
EQ_DECL_TO_FLOAT(eq_to_float_f16_ref);   EQ_DECL_FROM_FLOAT(eq_from_float_f16_ref);
EQ_DECL_TO_FLOAT(eq_to_float_bf16_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_bf16_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_f32_f32_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_f16_f16_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_bf16_bf16_ref);

EQ_DECL_TO_FLOAT(eq_to_float_q4_0_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q4_0_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q4_1_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q4_1_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q5_0_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q5_0_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q5_1_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q5_1_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q8_0_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q8_0_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q8_1_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q8_1_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_0_q8_0_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_1_q8_1_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_0_q8_0_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_1_q8_1_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q8_0_q8_0_ref);

EQ_DECL_TO_FLOAT(eq_to_float_q2_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q2_K_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q3_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q3_K_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q4_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q4_K_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q5_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q5_K_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q6_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q6_K_ref);
EQ_DECL_TO_FLOAT(eq_to_float_q8_K_ref);  EQ_DECL_FROM_FLOAT(eq_from_float_q8_K_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q2_K_q8_K_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q3_K_q8_K_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q4_K_q8_K_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q5_K_q8_K_ref);
EQ_DECL_VEC_DOT(eq_vec_dot_q6_K_q8_K_ref);

/* ---- SIMD kernels: each ISA declares its own beside its code, picked up when present ---- */
#if !defined(EQ_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && defined(__has_include)
#  if __has_include("arch/x86/kernels_x86.h")
#    include "arch/x86/kernels_x86.h"
#  endif
#endif
#if !defined(EQ_NO_SIMD) && defined(__ARM_NEON) && defined(__has_include)
#  if __has_include("arch/arm/kernels_neon.h")
#    include "arch/arm/kernels_neon.h"
#  endif
#endif
#if !defined(EQ_NO_SIMD) && defined(__wasm_simd128__) && defined(__has_include)
#  if __has_include("arch/wasm/kernels_wasm.h")
#    include "arch/wasm/kernels_wasm.h"
#  endif
#endif

#endif
