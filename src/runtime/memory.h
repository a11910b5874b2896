/* Large aligned allocations (tensor data, KV cache, scratch), NULL when they cannot be had. */
#ifndef EQ_MEMORY_H
#define EQ_MEMORY_H

#include <stddef.h>

/* aligned_alloc(align, n rounded up to align); free() releases it. */
void *eq_aligned_alloc(size_t align, size_t n);

#endif
