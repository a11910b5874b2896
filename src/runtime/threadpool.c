#define _POSIX_C_SOURCE 200809L
#include "runtime/threadpool.h"

#include <stdlib.h>

#if defined(EQ_THREADS) && !defined(__wasi__) || defined(__EMSCRIPTEN_PTHREADS__)
#define EQ_POOL_THREADS 1
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif
#endif

#ifdef EQ_POOL_THREADS
struct eq_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int gen;         /* bumped for every job */
    atomic_int pending;     /* workers still running the current job */
    atomic_int sleepers;
    int stop;
    eq_pool_fn fn;
    void *arg;
};

typedef struct { eq_pool *p; int ith; } worker_arg;

static void *worker(void *v) {
    worker_arg *wa = v;
    eq_pool *p = wa->p;
    int ith = wa->ith;
    free(wa);
    int seen = 0;
    for (;;) {
        int g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
            if (++spins < 20000) { CPU_RELAX(); continue; }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        seen = g;
        if (p->stop) return NULL;
        p->fn(p->arg, ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

eq_pool *eq_pool_new(int n) {
    eq_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n < 1 ? 1 : n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (p->n > 1) {
        p->threads = calloc((size_t)p->n, sizeof *p->threads);
        if (!p->threads) { free(p); return NULL; }
        for (int i = 1; i < p->n; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa || (wa->p = p, wa->ith = i, pthread_create(&p->threads[i], NULL, worker, wa))) {
                free(wa);
                p->n = i; /* run with the threads we got */
                break;
            }
        }
    }
    return p;
}

void eq_pool_free(eq_pool *p) {
    if (!p) return;
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        atomic_fetch_add(&p->gen, 1);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

void eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg) {
    if (!p || p->n <= 1) { fn(arg, 0, 1); return; }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n);
    while (atomic_load_explicit(&p->pending, memory_order_acquire)) CPU_RELAX();
}

int eq_pool_size(const eq_pool *p) { return p ? p->n : 1; }

int eq_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#else /* single-threaded build (WASI without threads) */
struct eq_pool { int n; };
eq_pool *eq_pool_new(int n) { eq_pool *p = calloc(1, sizeof *p); if (p) p->n = 1; return p; }
void eq_pool_free(eq_pool *p) { free(p); }
void eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg) { fn(arg, 0, 1); }
int eq_pool_size(const eq_pool *p) { return 1; }
int eq_cpu_count(void) { return 1; }
#endif
