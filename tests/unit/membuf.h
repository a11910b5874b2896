/* A growing byte buffer that the GGUF writer's sink writes a model file into, so the tests
 * build models in memory and feed them to the loader without touching the disk. */
#ifndef EQ_TEST_MEMBUF_H
#define EQ_TEST_MEMBUF_H

#include <stdlib.h>
#include <string.h>

typedef struct { unsigned char *p; size_t n, cap; } membuf;

/* An eq_gguf_writer sink: appends n bytes; non-zero when out of memory. */
static int mem_sink(void *user, const void *data, size_t n) {
    membuf *b = user;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) return 1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

#endif
