#define _POSIX_C_SOURCE 200809L
#include "runtime/threadpool.h"
#include "edgeq.h"

#include <stdint.h>
#include <stdlib.h>

/* A share's whole run at once, where shares run one after another */
static int claim_own(eq_claim *c, int *lo, int *hi) {
    if (c->k) return 0;
    c->k = 1;
    eq_split(c->n, c->ith, c->nth, lo, hi);
    return *lo < *hi;
}

#if defined(EQ_THREADS) && !defined(__wasi__) || defined(__EMSCRIPTEN_PTHREADS__)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a thread with nothing to do spins before it sleeps. Long enough to bridge the gaps
 * between the jobs of one token (microseconds of serial work), short enough that a pool left
 * idle, or one sharing its CPUs, soon stops burning them. */
#define SPIN_NS       300000u
#define SPIN_NS_OVER   20000u   /* more threads than CPUs: a spinner takes a CPU from a worker */

static int clamp_shares(int n) { return n < 1 ? 1 : n > EQ_MAX_THREADS ? EQ_MAX_THREADS : n; }

struct eq_pool {
    int n;                  /* shares per job */
    int n_threads;          /* OS threads, the caller included */
    uint32_t spin_ns;
    uint32_t gen;           /* the caller's job counter (only the caller touches it) */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* workers sleep here between jobs */
    pthread_cond_t done_cv; /* the caller sleeps here until the last share is done */
    /* (generation << 32) | next share to claim: one word, so a claim can never land in a
     * later job than the one the claimer saw */
    _Atomic uint64_t job;
    atomic_int done;        /* shares finished in the current job */
    atomic_int sleepers;    /* workers waiting on `wake` */
    atomic_int waiting;     /* the caller is waiting on `done_cv` */
    atomic_int stop;
    eq_pool_fn fn;          /* written by the caller before a job is published */
    void *arg;
    struct claim_line { _Alignas(64) atomic_int next; } *claim;  /* items taken of each share's run */
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin until cond(p, x) holds or the spin time is over; returns whether it holds. The clock
 * is read every 64 rounds; an oversubscribed pool also yields its CPU while it spins. */
static int spin_until(eq_pool *p, int (*cond)(eq_pool *, uint32_t), uint32_t x) {
    uint64_t deadline = 0;
    const int over = p->spin_ns < SPIN_NS;
    for (unsigned i = 1;; i++) {
        if (cond(p, x)) return 1;
        CPU_RELAX();
        if (i % 64) continue;
        uint64_t t = now_ns();
        if (!deadline) deadline = t + p->spin_ns;
        else if (t >= deadline) return 0;
        if (over) sched_yield();
    }
}

/* Both checks load seq_cst: before sleeping, a thread announces it (sleepers, waiting) and then
 * re-checks, while the other side publishes and then reads the announcement; with one total
 * order over the four accesses at least one of the two sees the other, so no wake-up is lost. */
static uint32_t job_gen(uint64_t j) { return (uint32_t)(j >> 32); }
static int new_job(eq_pool *p, uint32_t seen) {
    return job_gen(atomic_load(&p->job)) != seen || atomic_load(&p->stop);
}
static int all_done(eq_pool *p, uint32_t unused) {
    (void)unused;
    return atomic_load(&p->done) >= p->n;
}

/* Claim and run shares of job generation g until none is left. */
static void run_shares(eq_pool *p, uint32_t g) {
    for (;;) {
        uint64_t j = atomic_load_explicit(&p->job, memory_order_acquire);
        do {
            if (job_gen(j) != g || (uint32_t)j >= (uint32_t)p->n) return;
        } while (!atomic_compare_exchange_weak_explicit(&p->job, &j, j + 1, memory_order_acq_rel, memory_order_acquire));
        /* the claim succeeded while job g was open, so fn/arg are job g's until its last share ends */
        p->fn(p->arg, (int)(uint32_t)j, p->n);
        if (atomic_fetch_add(&p->done, 1) + 1 == p->n && atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *worker(void *v) {
    eq_pool *p = v;
    uint32_t seen = 0;
    for (;;) {
        if (!spin_until(p, new_job, seen)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (!new_job(p, seen)) pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = job_gen(atomic_load_explicit(&p->job, memory_order_acquire));
        run_shares(p, seen);
    }
}

eq_pool *eq_pool_new_threads(int n, int n_threads) {
    eq_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = clamp_shares(n);
    p->n_threads = n_threads < 1 ? 1 : n_threads > p->n ? p->n : n_threads;
    p->spin_ns = p->n_threads > eq_cpu_count() ? SPIN_NS_OVER : SPIN_NS;
    if (!(p->claim = aligned_alloc(64, (size_t)p->n * sizeof *p->claim))) { free(p); return NULL; }
    for (int i = 0; i < p->n; i++) atomic_init(&p->claim[i].next, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (p->n_threads > 1) {
        p->threads = calloc((size_t)p->n_threads, sizeof *p->threads);
        if (!p->threads) { eq_pool_free(p); return NULL; }
        for (int i = 1; i < p->n_threads; i++) {
            if (pthread_create(&p->threads[i], NULL, worker, p)) {
                p->n_threads = i; /* run with the threads we got */
                break;
            }
        }
    }
    return p;
}

eq_pool *eq_pool_new(int n) {
    n = clamp_shares(n);
#ifndef __EMSCRIPTEN__
    /* more threads than CPUs only adds waiting: since results do not depend on the split, a
     * pool asked for more runs one share per CPU (as MKL_DYNAMIC does). The page sizes its
     * Emscripten worker pool itself, so there the count is taken as given. */
    int cpus = eq_cpu_count();
    if (n > cpus) n = cpus;
#endif
    return eq_pool_new_threads(n, n);
}

void eq_pool_free(eq_pool *p) {
    if (!p) return;
    if (p->n_threads > 1 && p->threads) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        atomic_store(&p->job, (uint64_t)(p->gen + 1) << 32);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p->claim);
    free(p);
}

void eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg) {
    if (!p || p->n <= 1) { fn(arg, 0, 1); return; }
    if (p->n_threads <= 1) {  /* no workers: every share here, in order */
        for (int i = 0; i < p->n; i++) fn(arg, i, p->n);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    /* published to the workers by the job store below */
    for (int i = 0; i < p->n; i++) atomic_store_explicit(&p->claim[i].next, 0, memory_order_relaxed);
    atomic_store(&p->done, 0);
    if (++p->gen == 0) p->gen = 1;  /* 0 is what a fresh worker has seen */
    atomic_store(&p->job, (uint64_t)p->gen << 32);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    run_shares(p, p->gen);
    if (spin_until(p, all_done, 0)) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->waiting, 1);
    while (!all_done(p, 0)) pthread_cond_wait(&p->done_cv, &p->mu);
    atomic_store(&p->waiting, 0);
    pthread_mutex_unlock(&p->mu);
}

int eq_pool_size(const eq_pool *p) { return p ? p->n : 1; }
int eq_pool_threads(const eq_pool *p) { return p ? p->n_threads : 1; }

int eq_claim_next(eq_pool *p, eq_claim *c, int *lo, int *hi) {
    if (!p || c->nth <= 1 || p->n_threads <= 1) return claim_own(c, lo, hi);   /* no one to help */
    /* relaxed: the items' results reach the caller through the job's `done` count */
    for (; c->k < c->nth; c->k++) {
        const int s = (c->ith + c->k) % c->nth, g = c->k ? 1 : c->grain;
        int a, b;
        eq_split(c->n, s, c->nth, &a, &b);
        if (a >= b) continue;
        const int off = atomic_fetch_add_explicit(&p->claim[s].next, g, memory_order_relaxed);
        if (off < b - a) {
            *lo = a + off;
            *hi = a + off + g < b ? a + off + g : b;
            return 1;
        }
    }
    return 0;
}

#else /* single-threaded build (WASI without threads): one share, run inline */
struct eq_pool { int n; };
eq_pool *eq_pool_new(int n) { eq_pool *p = calloc(1, sizeof *p); if (p) p->n = 1; return p; }
eq_pool *eq_pool_new_threads(int n, int n_threads) { (void)n_threads; return eq_pool_new(n); }
void eq_pool_free(eq_pool *p) { free(p); }
void eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg) { fn(arg, 0, 1); }
int eq_pool_size(const eq_pool *p) { return 1; }
int eq_pool_threads(const eq_pool *p) { return 1; }
int eq_claim_next(eq_pool *p, eq_claim *c, int *lo, int *hi) { (void)p; return claim_own(c, lo, hi); }
#endif
