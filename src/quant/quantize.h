/* Weight quantization as llama-quantize does it: whole rows, optionally guided by an
 * importance matrix (per-column weights from llama-imatrix), with output byte-identical to
 * ggml_quantize_chunk. Without an importance matrix every type uses the table's scalar
 * reference quantizer (ggml's quantize_row_*_ref); with one, ggml's quant_weights-aware
 * quantize_row_*_impl searches are reproduced float operation for float operation
 * (src/quant/quantize.c). Q8_0, F16, BF16 and F32 ignore the importance matrix, as ggml does.
 *
 * Also here: the per-tensor type choice of llama-quantize (src/quant/qplan.c). */
#ifndef EQ_QUANTIZE_H
#define EQ_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>
#include "edgeq_quantize.h"   /* EQ_FTYPE_*, eq_quantize_supported, eq_ftype_from_name/_name */

/* Quantize nrows rows of n_per_row floats from src into dst (nrows * eq_row_size(type,
 * n_per_row) bytes). imatrix: n_per_row importance weights shared by all rows, or NULL.
 * Returns the bytes written; 0 for an unsupported type or a row length that is not a whole
 * number of blocks. Rows are independent, so any split of rows across threads gives the
 * same bytes. */
size_t eq_quantize_rows(int type, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                        const float *imatrix);

/* ---- file types and the per-tensor type choice (llama-quant.cpp's rules) ---- */

int         eq_ftype_default_type(int ftype);  /* EQ_TYPE_* of the mixture's base, -1 when unknown */

typedef struct {
    int ftype;            /* EQ_FTYPE_* */
    int output_type;      /* EQ_TYPE_* forced for output.weight, -1: the rules decide */
    int token_embd_type;  /* EQ_TYPE_* forced for token_embd.weight, -1: the rules decide */
    int pure;             /* every quantizable tensor gets the base type (no k-quant mixture) */
    int has_imatrix;      /* changes a few Q4_0/Q5_0 ffn_down choices */
    /* model hyper-parameters the rules look at */
    const char *arch;     /* general.architecture */
    int n_layer;          /* <arch>.block_count */
    int n_head, n_head_kv;/* layer 0's; n_head_kv 0 when unknown */
    int n_expert;         /* <arch>.expert_count, 0 when absent */
} eq_qplan_params;

typedef struct {
    const char *name;
    int64_t ne[4];        /* unused dims 1 */
    int type;             /* the input's EQ_TYPE_* */
} eq_qplan_tensor;

/* Choose the output type of every tensor, in the order given (which must be llama's order:
 * see eq_qplan_sort), into out_types. n_fallback (may be NULL) counts tensors whose row
 * length forced a fallback type. Returns 0, or -1 with a one-line message in err naming the
 * tensor (a forced type that cannot hold the row length, a bad layer number). */
int eq_qplan(const eq_qplan_params *p, const eq_qplan_tensor *t, int n, int *out_types,
             int *n_fallback, char *err, size_t errlen);

/* 1 when llama-quantize would quantize this tensor at all (2-D+ weights, not norms, ...). */
int eq_qplan_allows(const char *name, const int64_t ne[4]);

/* The order llama's model loader keeps tensors in (and llama-quantize writes them in): by
 * the block number of "blk.N." names (tensors without one first), then by name. idx, a
 * permutation of 0..n-1, is sorted in place. */
void eq_qplan_sort(const eq_qplan_tensor *t, int *idx, int n);

#endif
