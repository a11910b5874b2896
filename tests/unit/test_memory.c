/* runtime/memory: aligned blocks, refusals, and the weights' block in 2 MiB pages where Linux
 * gives them (generation streams it once per token: the pages set its read bandwidth), unless
 * the load asks for ordinary pages (eq_model_params.no_huge_pages). */
#define _DEFAULT_SOURCE
#include "eqtest.h"
#include "models/model.h"
#include "runtime/memory.h"
#include "tiny_model.h"

#include <stdint.h>
#include <string.h>

/* AnonHugePages (kB) of the mapping that holds p, from /proc/self/smaps; -1 where unknown */
static long huge_kb(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int inside = 0;
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)   /* a mapping's first line */
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}

/* the system's transparent huge page mode: "always", "madvise", "never" or "" */
static const char *thp_mode(void) {
    static char mode[16];
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char buf[128] = "";
    if (f) { if (!fgets(buf, sizeof buf, f)) buf[0] = 0; fclose(f); }
    const char *a = strchr(buf, '['), *b = a ? strchr(a, ']') : NULL;
    mode[0] = 0;
    if (a && b && b - a - 1 < (long)sizeof mode) { memcpy(mode, a + 1, (size_t)(b - a - 1)); mode[b - a - 1] = 0; }
    return mode;
}

int main(void) {
    /* refusals: nothing asked, or more than the address space */
    CHECK(eq_aligned_alloc(64, 0) == NULL);
    CHECK(eq_alloc_streamed(64, 0) == NULL);
    CHECK(eq_aligned_alloc(64, SIZE_MAX - 8) == NULL);
    CHECK(eq_alloc_streamed(64, SIZE_MAX - 8) == NULL);

    /* a small block: the alignment asked for */
    char *s = eq_alloc_streamed(64, 1000);
    CHECK(s && (uintptr_t)s % 64 == 0);
    if (s) { memset(s, 1, 1000); free(s); }

    /* a big one: every byte usable; on Linux 2 MiB aligned, and backed by huge pages where the
     * kernel's mode allows them (this process touches it right away, as the loader does) */
    const size_t big = (size_t)8 << 20;
    unsigned char *p = eq_alloc_streamed(64, big + 100);
    CHECK(p && (uintptr_t)p % 64 == 0);
    if (p) {
        for (size_t i = 0; i < big + 100; i++) p[i] = (unsigned char)i;
        size_t bad = 0;
        for (size_t i = 0; i < big + 100; i++) bad += p[i] != (unsigned char)i;
        CHECK(bad == 0);
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
        CHECKF((uintptr_t)p % ((size_t)2 << 20) == 0, "block at %p is not 2 MiB aligned", (void *)p);
        const char *mode = thp_mode();
        const long kb = huge_kb(p);
        printf("transparent huge pages: '%s'; the 8 MiB block holds %ld kB of them\n", mode, kb);
        /* one 2 MiB page of four is the bound: a fragmented machine may not give them all */
        if (!strcmp(mode, "always") || !strcmp(mode, "madvise"))
            CHECKF(kb >= 2048, "THP mode '%s' but the block holds %ld kB in huge pages", mode, kb);
#endif
        free(p);
    }

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
    /* the loader's tensor block, by default and with no_huge_pages; gemma3's wide heads make
     * the tiny F32 model's weights more than two 2 MiB pages */
    weights w;
    weights_make(&w, &(arch_case){"gemma3", "gemma3", 4, 1, 0, 1, 0, 0, 1, 1000000.0f, 0.0f, 0, 0, 1}, 5);
    eq_model_params mp = eq_model_default_params();
    eq_model *dflt = model_make_with(&w, EQ_TYPE_F32, NULL, 0, -1, &mp);
    mp.no_huge_pages = 1;
    eq_model *small = model_make_with(&w, EQ_TYPE_F32, NULL, 0, -1, &mp);
    CHECK(dflt && small);
    if (dflt && small) {
        const uint64_t bytes = eq_model_size_bytes(dflt);
        const long kd = huge_kb(dflt->arenas[0]), ks = huge_kb(small->arenas[0]);
        printf("a %.1f MiB model's weights: %ld kB in huge pages by default, %ld kB with no_huge_pages\n",
               bytes / 1048576.0, kd, ks);
        CHECKF(bytes >= ((uint64_t)4 << 20), "the model has %llu bytes: too few to ask for huge pages",
               (unsigned long long)bytes);
        CHECKF((uintptr_t)dflt->arenas[0] % ((size_t)2 << 20) == 0, "the weights are not 2 MiB aligned");
        /* under "always" the kernel gives every large block huge pages: only "madvise" tells */
        if (!strcmp(thp_mode(), "madvise")) {
            CHECKF(kd >= 2048, "THP mode 'madvise' but the weights hold %ld kB in huge pages", kd);
            CHECKF(ks == 0, "no_huge_pages, yet the weights hold %ld kB in huge pages", ks);
        }
    }
    eq_model_free(dflt);
    eq_model_free(small);
    weights_free(&w);
#endif
    return eqt_done();
}
