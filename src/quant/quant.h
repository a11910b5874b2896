/* One table of tensor types, as ggml has it: block size, bytes per block, and the kernels.
 * Type ids are GGML's, because that is what GGUF files store. */
#ifndef EQ_QUANT_H
#define EQ_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq_quantize.h"   /* the EQ_TYPE_* ids, eq_type_name, eq_type_from_name */

enum { EQ_TYPE_COUNT = 40 };  /* bound of the ids (the table's size) */

#define EQ_QK 32    /* block size of the legacy formats */
#define EQ_QK_K 256 /* super-block size of the K formats */

typedef void (*eq_to_float_fn)(const void *x, float *y, int64_t k);
typedef void (*eq_from_float_fn)(const float *x, void *y, int64_t k);
/* s = dot(x, y) over n values; x in this type, y in its vec_dot_type. */
typedef void (*eq_vec_dot_fn)(int n, float *s, const void *x, const void *y);

typedef struct {
    const char      *name;          /* "Q4_K" */
    int              blck_size;     /* values per block */
    size_t           type_size;     /* bytes per block */
    int              vec_dot_type;  /* the format activations are converted to for vec_dot */
    eq_to_float_fn   to_float;
    eq_from_float_fn from_float;    /* activation formats at least (F32, F16, BF16, Q8_0, Q8_1, Q8_K) */
    eq_vec_dot_fn    vec_dot;
} eq_type_traits;

/* Kernels are named eq_<op>_<type>_<isa> (vec_dot: eq_vec_dot_<type>_<vec_dot_type>_<isa>),
 * isa = ref | avx2 | avx512 | neon | wasm; the scalar _ref ones are the oracle. They are
 * declared in quant/kernels.h, which also says how a SIMD file plugs into the table
 * (slot macros EQ_K_<OP>_<TYPE>, chosen at compile time, falling back to _ref). */

/* One weight row x against four activation rows at y, y + by, ...: s[t * bs] = dot(x, y_t).
 * Bit-identical to four vec_dot calls; NULL when this build has no such kernel for the type. */
typedef void (*eq_vec_dot_x4_fn)(int n, float *s, size_t bs, const void *x, const void *y, size_t by);
eq_vec_dot_x4_fn eq_vec_dot_x4_get(int type);
/* The same against eight activation rows (same signature; s[t * bs] for t < 8), where a build
 * has one: NULL otherwise, and the caller goes four at a time. */
eq_vec_dot_x4_fn eq_vec_dot_x8_get(int type);
/* Several weight rows (*rows of them, from x on, bx bytes apart) against four activation rows:
 * s[t * bs + r] for r < *rows, t < 4, each bit-identical to a vec_dot call. The rows share
 * each activation chunk's conversion (F32, F16, BF16 weights). Where *wide is 1 the activation
 * rows are F32: the vec_dot_type rows widened (exactly), so that no kernel converts them once
 * per group of rows. NULL where a build has none. */
typedef void (*eq_vec_dot_rx4_fn)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by);
eq_vec_dot_rx4_fn eq_vec_dot_rx4_get(int type, int *rows, int *wide);
/* Eight weight rows in the interleaved layout of quant/repack.h (one group of 8 packed rows at
 * x) against nt = 1 or 4 activation rows: s[t * bs + r] for r < 8, t < nt. NULL when this
 * build has no kernel for that layout; the loader then leaves the weights as they are. */
eq_vec_dot_x4_fn eq_vec_dot_packed_get(int type, int nt);

/* The kernels this build uses (SIMD where compiled in); NULL for an unknown type id. */
const eq_type_traits *eq_type_traits_get(int type);
/* The scalar reference: the oracle the tests compare every SIMD kernel against. */
const eq_type_traits *eq_type_traits_ref(int type);

/* Bytes of one row of ne0 values; 0 when the type is unknown or ne0 is not a whole number of blocks. */
size_t      eq_row_size(int type, int64_t ne0);
/* The SIMD flavour compiled in: "avx2", "avx512", "neon", "wasm-simd128" or "scalar". */
const char *eq_quant_isa(void);

#endif
