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

/* Bind token_embd, output_norm, output (tied to token_embd when absent) and, per layer, the
 * norms, attention and FFN weights with llama.cpp's names. Fused phi3 tensors when fused. */
eq_status eq_bind_decoder(eq_model *m, int fused_qkv, int fused_gate_up, int biases, char *err, size_t errlen);

#endif
