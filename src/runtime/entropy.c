#define _DEFAULT_SOURCE   /* getentropy in glibc's <unistd.h> */
#include "runtime/entropy.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__) || defined(__wasi__)
#include <sys/random.h>
#define EQ_HAVE_GETENTROPY 1
#endif

uint64_t eq_mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t eq_entropy64(void) {
    uint64_t x = 0;
#ifdef EQ_HAVE_GETENTROPY
    if (getentropy(&x, sizeof x) != 0) x = 0;
#endif
    if (!x) {
        FILE *u = fopen("/dev/urandom", "rb");
        if (u) {
            if (fread(&x, 1, sizeof x, u) != sizeof x) x = 0;
            fclose(u);
        }
    }
    struct timespec a, b;
    timespec_get(&a, TIME_UTC);
    clock_gettime(CLOCK_MONOTONIC, &b);
    return eq_mix64(x ^ ((uint64_t)a.tv_sec * 1000000007ull + (uint64_t)a.tv_nsec)
                    ^ eq_mix64((uint64_t)b.tv_sec * 1000000007ull + (uint64_t)b.tv_nsec) ^ (uint64_t)(uintptr_t)&a);
}
