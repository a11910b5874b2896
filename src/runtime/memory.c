/* Large aligned allocations. On wasm32 (Emscripten) a request that cannot fit below the 4 GiB
 * address space is refused here, before the allocator sees it: Emscripten 3.1's emmalloc, when
 * the heap end plus the request wraps past 2^32, returns a non-NULL pointer into memory that is
 * already in use instead of NULL. */
#include "runtime/memory.h"

#include <stdint.h>
#include <stdlib.h>

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#endif

void *eq_aligned_alloc(size_t align, size_t n) {
    if (!n || align == 0 || n > SIZE_MAX - align) return NULL;
    const size_t rounded = (n + align - 1) / align * align;
#ifdef __EMSCRIPTEN__
    const uintptr_t brk = *emscripten_get_sbrk_ptr(), max = (uintptr_t)emscripten_get_heap_max();
    /* room for the request, its alignment and the allocator's headers above the heap end */
    if (brk >= max || rounded > max - brk - 4 * align - 256) return NULL;
    /* A large block gets malloc's own 8-byte alignment here: wasm loads need none, and emmalloc,
     * finding no free region for a request, claims only its size plus 48 bytes from sbrk; when the
     * new block's start leaves no room to align the payload it claims the whole size again (a
     * 1.2 GB part of a split model cost 2.3 GB of wasm memory, depending on where the heap end
     * happened to fall). */
    if (rounded >= ((size_t)1 << 20)) return malloc(rounded);
#endif
    return aligned_alloc(align, rounded);
}
