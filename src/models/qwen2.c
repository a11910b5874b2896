/* qwen2 (Qwen2, Qwen2.5): llama's shape with biases on Q/K/V and NEOX-style rope. */
#include "models/weights.h"

eq_status eq_qwen2_bind(eq_model *m, char *err, size_t errlen) {
    eq_status st = eq_read_hparams(m, err, errlen);
    if (st) return st;
    m->hp.rope_type = EQ_ROPE_NEOX;
    return eq_bind_decoder(m, 0, 0, 1, err, errlen);
}
