/* Memory read bandwidth: a streaming sum over a buffer much larger than the caches (default
 * 1 GiB), on one thread and on N threads (each sums its own slice), best of a few passes, once
 * in memory of 4 KiB pages and once (Linux) in memory the kernel was asked to back with 2 MiB
 * pages, as edgeq's weights are: fewer TLB misses stream faster (a 2-core Xeon: 13.2 -> 16.0
 * GB/s on one thread, 23.8 -> 31.7 on two). Each pass runs twice, once as plain loads and once
 * asking for the lines 512 bytes ahead (software prefetch, as edgeq's tg kernels do: one core
 * then keeps more reads in flight, 16.3 -> 17.8 GB/s on that Xeon), and the faster counts.
 * bench/compare.sh builds and runs it once per run to put tg speed in proportion, against the
 * larger figure: the machine's read ceiling.
 *   cc -O2 -march=native -pthread bench/bandwidth.c -o bandwidth && ./bandwidth [THREADS] [MiB]
 * Prints (GB = 1e9 bytes), the second line only where 2 MiB pages can be asked for:
 *   read GB/s, 4 KiB pages: 1 thread X, N threads Y
 *   read GB/s, 2 MiB pages: 1 thread X, N threads Y */
#define _DEFAULT_SOURCE   /* madvise */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

typedef struct {
    const uint64_t *p;
    size_t n;
    int prefetch;   /* ask for the line 512 bytes ahead of each one read */
    uint64_t sum;
} eq_slice;

static double eq_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* four independent sums: the loads, not one add chain, set the pace (the compiler vectorizes) */
static void *eq_sum(void *arg) {
    eq_slice *s = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 8 <= s->n; i += 8) {   /* one 64-byte line per step */
#if defined(__GNUC__)
        /* formed as an integer: past the buffer's end it is harmless, but no valid pointer */
        if (s->prefetch) __builtin_prefetch((const void *)((uintptr_t)(s->p + i) + 512), 0, 3);
#endif
        a += s->p[i] + s->p[i + 4]; b += s->p[i + 1] + s->p[i + 5];
        c += s->p[i + 2] + s->p[i + 6]; d += s->p[i + 3] + s->p[i + 7];
    }
    s->sum = a + b + c + d;
    return NULL;
}

static double eq_pass(const uint64_t *buf, size_t n, int threads, int prefetch, uint64_t *sink) {
    pthread_t tid[256];
    eq_slice sl[256];
    size_t per = n / (size_t)threads / 8 * 8;
    double t0 = eq_now();
    for (int t = 0; t < threads; t++) {
        sl[t] = (eq_slice){ buf + (size_t)t * per, per, prefetch, 0 };
        if (pthread_create(&tid[t], NULL, eq_sum, &sl[t]) != 0) {
            fprintf(stderr, "bandwidth: pthread_create failed for thread %d\n", t);
            exit(1);
        }
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        *sink += sl[t].sum;
    }
    return (double)per * threads * sizeof(uint64_t) / (eq_now() - t0) / 1e9;
}

static void measure(size_t n, int threads, const char *what, int huge) {
    const size_t bytes = n * sizeof(uint64_t), align = (size_t)2 << 20;
    const size_t whole = (bytes + align - 1) / align * align;   /* aligned_alloc wants a multiple */
    uint64_t *buf = aligned_alloc(align, whole);
    if (!buf) {
        fprintf(stderr, "bandwidth: cannot allocate %zu bytes\n", bytes);
        exit(1);
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) (void)madvise(buf, whole, MADV_HUGEPAGE);  /* before the first touch */
#else
    (void)huge;
#endif
    for (size_t i = 0; i < n; i++) buf[i] = i; /* touch every page: no zero-page reads */
    uint64_t sink = 0;
    double best1 = 0, bestn = 0;
    for (int k = 0; k < 6; k++) {   /* plain and prefetching passes alternate */
        double g = eq_pass(buf, n, 1, k & 1, &sink);
        if (g > best1) best1 = g;
        g = eq_pass(buf, n, threads, k & 1, &sink);
        if (g > bestn) bestn = g;
    }
    printf("read GB/s, %s: 1 thread %.2f, %d threads %.2f (sum %llu)\n", what, best1, threads, bestn, (unsigned long long)(sink & 0xff));
    free(buf);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    if (threads < 1 || threads > 256 || mib < 64) {
        fprintf(stderr, "bandwidth: THREADS must be 1..256 and MiB >= 64 (got %d, %zu)\n", threads, mib);
        return 2;
    }
    size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
    measure(n, threads, "4 KiB pages", 0);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    measure(n, threads, "2 MiB pages", 1);
#endif
    return 0;
}
