/* Shared helpers for the per-architecture binding files. */
#ifndef EQ_WEIGHTS_H
#define EQ_WEIGHTS_H

#include "models/model.h"

/* Find tensor `name` in any part and check its shape: ne0 x ne1 (ne1 = 1 for vectors).
 * required: a missing tensor is an error; otherwise w->data stays NULL. */
eq_status eq_bind_weight(eq_model *m, eq_weight *w, const char *name, int64_t ne0, int64_t ne1, int required,
                         char *err, size_t errlen);
/* Same with the name built from a printf pattern with the layer index. */
eq_status eq_bind_layer_weight(eq_model *m, eq_weight *w, const char *pattern, int layer, int64_t ne0, int64_t ne1,
                               int required, char *err, size_t errlen);

/* The common hyperparameters under "<arch>.": errors name the missing key. */
eq_status eq_read_hparams(eq_model *m, char *err, size_t errlen);
/* One of them for the per-architecture files: "<arch>.<suffix>" as an integer (a per-layer
 * array must be uniform) or a number; 1 read, 0 absent, -1 (integer) the wrong type. */
int eq_hparam_int(const eq_model *m, const char *suffix, int64_t *out);
int eq_hparam_float(const eq_model *m, const char *suffix, float *out);

/* gemma3.c: its hyperparameters (also read for vocabulary-only loads, for `edgeq info`) */
eq_status eq_gemma3_hparams(eq_model *m, char *err, size_t errlen);

/* Bind token_embd, output_norm, output (tied to token_embd when absent) and, per layer, the
 * norms, attention and FFN weights with llama.cpp's names. Fused phi3 tensors when fused. */
eq_status eq_bind_decoder(eq_model *m, int fused_qkv, int fused_gate_up, int biases, char *err, size_t errlen);

#endif
