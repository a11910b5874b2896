/* libFuzzer target: the GGUF reader and the model loader on arbitrary bytes, fed whole and in
 * chunks. Any crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stddef.h>
#include "edgeq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int mode = 0; mode < 2; mode++) {
        eq_model_params mp = eq_model_default_params();
        mp.vocab_only = mode;  /* vocab-only skips tensor allocation: exercise both paths */
        eq_loader *l;
        if (eq_loader_new(&mp, 1, &l, NULL, 0)) return 0;
        if (mode == 0) eq_loader_set_part_size(l, 0, size);
        size_t chunk = mode ? 17 : size;
        eq_status st = EQ_OK;
        for (size_t i = 0; i < size && st == EQ_OK; i += chunk)
            st = eq_loader_feed(l, 0, data + i, size - i < chunk ? size - i : chunk);
        eq_model *m = NULL;
        if (st == EQ_OK && eq_loader_finish(l, &m) == EQ_OK) {
            eq_token ids[64];
            int n;
            eq_tokenize(m, "Hello world <s> é", 19, 1, 1, ids, 64, &n);
            eq_model_free(m);
        }
        eq_loader_free(l);
    }
    return 0;
}
