/* Whole small files into memory (see readfile.h). */
#include "runtime/readfile.h"

#include <stdio.h>
#include <stdlib.h>

eq_status eq_read_file(const char *path, size_t max_size, char **out, size_t *len,
                       char *err, size_t errlen) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open file", path); return EQ_ERR_IO; }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (!b) { fclose(f); snprintf(err, errlen, "%s: out of memory", path); return EQ_ERR_NOMEM; }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) { free(b); fclose(f); snprintf(err, errlen, "%s: read error", path); return EQ_ERR_IO; }
            break;
        }
        if (cap >= max_size) {
            free(b); fclose(f);
            snprintf(err, errlen, "%s: file too large (over %zu bytes)", path, max_size);
            return EQ_ERR_FORMAT;
        }
        cap = cap * 2 > max_size ? max_size : cap * 2;
        char *nb = realloc(b, cap + 1);
        if (!nb) free(b);
        b = nb;
    }
    fclose(f);
    b[n] = 0;
    *out = b;
    *len = n;
    return EQ_OK;
}
