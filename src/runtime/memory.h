/* Large aligned allocations (tensor data, KV cache, scratch), NULL when they cannot be had. */
#ifndef EQ_MEMORY_H
#define EQ_MEMORY_H

#include <stddef.h>

/* aligned_alloc(align, n rounded up to align); free() releases it. On wasm32 a block of 1 MiB
 * or more is only 8-byte aligned (see memory.c): wasm loads have no alignment requirement. */
void *eq_aligned_alloc(size_t align, size_t n);

/* eq_aligned_alloc for a large block that is read end to end for every token (model weights):
 * where the system allows it, backed by 2 MiB pages, which streams faster (fewer TLB misses);
 * elsewhere the same as eq_aligned_alloc(align, n). free() releases it. */
void *eq_alloc_streamed(size_t align, size_t n);

#endif
