/* The thread pool: every share runs exactly once per job whatever the thread count, every
 * claimed item exactly once and a held-up share's items taken over by the others, the pool
 * survives idle gaps (workers asleep) and more threads than CPUs without collapsing, and the
 * default thread count follows the affinity mask and the cgroup CPU quota. */
#define _POSIX_C_SOURCE 200809L
#include "eqtest.h"
#include "edgeq.h"
#include "runtime/threadpool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    int count[64];     /* runs of each share */
    int nth_seen[64];
    double sum[64];
    int work;          /* inner loop length: a few microseconds, like one matmul of a token */
} job;

static void fn(void *arg, int ith, int nth) {
    job *j = arg;
    j->count[ith]++;
    j->nth_seen[ith] = nth;
    double s = 0;
    for (int i = 0; i < j->work; i++) s += (double)(i ^ ith) * 1e-9;
    j->sum[ith] += s;
}

/* Run `jobs` jobs; 1 if every share ran exactly once each time with the right nth. */
static int run_jobs(eq_pool *p, int jobs, int work, int nap_every) {
    static job j;
    memset(&j, 0, sizeof j);
    j.work = work;
    int n = eq_pool_size(p), ok = 1;
    for (int k = 1; k <= jobs; k++) {
        eq_pool_run(p, fn, &j);
        for (int i = 0; i < n; i++) ok &= j.count[i] == k && j.nth_seen[i] == n;
        /* an idle gap: the workers give up spinning and sleep, the next job must wake them */
        if (nap_every && k % nap_every == 0) { struct timespec ts = {0, 2000000}; nanosleep(&ts, NULL); }
    }
    return ok;
}

static double timed(int n, int threads, int jobs, int work) {
    eq_pool *p = eq_pool_new_threads(n, threads);
    double t0 = now();
    int ok = run_jobs(p, jobs, work, 0);
    double t = now() - t0;
    eq_pool_free(p);
    return ok ? t : -1;
}

/* Claims: items counted as they are claimed; share 0 may be held up before it claims any. */
typedef struct {
    eq_pool *p;
    int n, grain, hold_ms;
    atomic_int hits[1000];
    atomic_int bad;        /* a claim outside [0, n) or empty */
    atomic_int taken;      /* items of share 0's own run done by another share */
} claim_job;

static void claim_fn(void *arg, int ith, int nth) {
    claim_job *j = arg;
    if (ith == 0 && j->hold_ms) { struct timespec ts = {0, j->hold_ms * 1000000L}; nanosleep(&ts, NULL); }
    int a0, b0, lo, hi;
    eq_split(j->n, 0, nth, &a0, &b0);
    eq_claim c = eq_claim_start(j->n, j->grain, ith, nth);
    while (eq_claim_next(j->p, &c, &lo, &hi)) {
        if (lo < 0 || hi > j->n || lo >= hi) { atomic_fetch_add(&j->bad, 1); return; }
        for (int i = lo; i < hi; i++) {
            atomic_fetch_add(&j->hits[i], 1);
            if (ith != 0 && i >= a0 && i < b0) atomic_fetch_add(&j->taken, 1);
        }
    }
}

/* `jobs` jobs of n items; 1 if every item was claimed exactly once in each */
static int run_claims(eq_pool *p, int n, int grain, int jobs, int hold_ms, int *taken) {
    static claim_job j;
    memset(&j, 0, sizeof j);
    j.p = p; j.n = n; j.grain = grain; j.hold_ms = hold_ms;
    int ok = 1;
    for (int k = 1; k <= jobs; k++) {
        eq_pool_run(p, claim_fn, &j);
        for (int i = 0; i < n; i++) ok &= atomic_load(&j.hits[i]) == k;
    }
    if (taken) *taken = atomic_load(&j.taken);
    return ok && !atomic_load(&j.bad);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

int main(void) {
    const int cpus = eq_cpu_count();
    CHECK(cpus >= 1);

    /* every share once per job: shares = threads, more shares than threads, one thread */
    const int shapes[][2] = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {8, 2}, {5, 1}, {16, 16}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        eq_pool *p = eq_pool_new_threads(shapes[s][0], shapes[s][1]);
        CHECK(p && eq_pool_size(p) == shapes[s][0] && eq_pool_threads(p) <= shapes[s][1]);
        if (p) CHECKF(run_jobs(p, 3000, 50, 500), "%d shares on %d threads", shapes[s][0], shapes[s][1]);
        eq_pool_free(p);
    }

    /* claims: each item once per job for every split shape, grain, and count of items (fewer
     * than the shares, too), also through a NULL pool (the caller runs the one share) */
    const int items[] = {0, 1, 2, 3, 7, 64, 1000}, grains[] = {1, 3, 8};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        eq_pool *p = eq_pool_new_threads(shapes[s][0], shapes[s][1]);
        for (size_t n = 0; p && n < sizeof items / sizeof *items; n++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
                CHECKF(run_claims(p, items[n], grains[g], 200, 0, NULL), "%d items, grain %d: %d shares on %d threads",
                       items[n], grains[g], shapes[s][0], shapes[s][1]);
        eq_pool_free(p);
    }
    {
        static claim_job j;
        j.n = 1000; j.grain = 4;
        int lo, hi, sum = 0, calls = 0;
        eq_claim c = eq_claim_start(j.n, j.grain, 0, 1);
        while (eq_claim_next(NULL, &c, &lo, &hi)) { sum += hi - lo; calls++; }
        CHECK(sum == 1000 && calls == 1);
    }
    /* a share held up for 50 ms: the other threads take over its run (an uneven split would
     * have waited for it), and still each item once */
    if (cpus >= 2) {
        const int shapes2[][2] = {{2, 2}, {4, 4}, {8, 2}};
        for (size_t s = 0; s < sizeof shapes2 / sizeof *shapes2; s++) {
            eq_pool *p = eq_pool_new_threads(shapes2[s][0], shapes2[s][1]);
            int taken = 0, lo, hi;
            eq_split(1000, 0, shapes2[s][0], &lo, &hi);
            if (p) CHECKF(run_claims(p, 1000, 4, 3, 50, &taken), "held up: %d shares on %d threads", shapes2[s][0], shapes2[s][1]);
            CHECKF(taken > 0, "%d shares on %d threads: %d of share 0's %d items taken by others", shapes2[s][0],
                   shapes2[s][1], taken, 3 * (hi - lo));
            eq_pool_free(p);
        }
    }

    /* eq_pool_new: never more threads than the CPUs we may use, never more than EQ_MAX_THREADS */
    eq_pool *big = eq_pool_new(100000);
    CHECK(big && eq_pool_size(big) <= EQ_MAX_THREADS && eq_pool_size(big) <= cpus && eq_pool_threads(big) <= cpus);
    if (big) CHECK(run_jobs(big, 100, 10, 0));
    eq_pool_free(big);
    eq_pool *zero = eq_pool_new(0);
    CHECK(zero && eq_pool_size(zero) == 1);
    eq_pool_free(zero);

    /* more threads than CPUs: the pool degrades, it does not collapse. The old pool's caller
     * spun while its workers waited for a CPU: 8 threads on 2 CPUs ran 300x slower. */
    {
        const int jobs = 4000, work = 2000;
        double base = timed(cpus, cpus, jobs, work);
        double over = timed(4 * cpus, 4 * cpus, jobs, work);
        double many = timed(64, 64, jobs / 4, work);
        printf("%d jobs: %d threads %.3f s, %d threads %.3f s; 64 threads %.3f s for %d\n", jobs, cpus, base,
               4 * cpus, over, many, jobs / 4);
        CHECK(base >= 0 && over >= 0 && many >= 0);
        /* generous: a loaded CI box or a sanitizer build must not make this flaky */
        CHECKF(over < 8 * base + 1.0, "4x oversubscribed: %.3f s against %.3f s", over, base);
        CHECKF(many < 8 * base + 1.0, "64 threads: %.3f s against %.3f s for 4x the jobs", many, base);
    }

#ifdef __linux__
    /* the cgroup CPU quota lowers the default; the affinity mask is the ceiling */
    {
        char dir[] = "/tmp/eq-cgroup-XXXXXX";
        if (mkdtemp(dir)) {
            char path[512], pc[512];
            const int aff = eq_cpu_count_at("/nonexistent/cgroup", "/nonexistent");
            CHECK(aff >= 1);
            snprintf(pc, sizeof pc, "%s/proc-cgroup", dir);
            /* v2: 1.5 CPUs at the leaf rounds up to 2; no limit ("max") is no limit */
            write_file(pc, "0::/a/b\n");
            snprintf(path, sizeof path, "%s/a", dir); mkdir(path, 0700);
            snprintf(path, sizeof path, "%s/a/b", dir); mkdir(path, 0700);
            snprintf(path, sizeof path, "%s/a/b/cpu.max", dir); write_file(path, "150000 100000\n");
            CHECK(eq_cpu_count_at(pc, dir) == (aff < 2 ? aff : 2));
            write_file(path, "max 100000\n");
            CHECK(eq_cpu_count_at(pc, dir) == aff);
            /* a parent's quota caps its children */
            snprintf(path, sizeof path, "%s/a/cpu.max", dir); write_file(path, "100000 100000\n");
            CHECK(eq_cpu_count_at(pc, dir) == 1);
            /* v1: cfs quota over period; -1 is none */
            write_file(pc, "12:memory:/x\n4:cpu,cpuacct:/c\n");
            snprintf(path, sizeof path, "%s/cpu,cpuacct", dir); mkdir(path, 0700);
            snprintf(path, sizeof path, "%s/cpu,cpuacct/c", dir); mkdir(path, 0700);
            snprintf(path, sizeof path, "%s/cpu,cpuacct/c/cpu.cfs_period_us", dir); write_file(path, "100000\n");
            snprintf(path, sizeof path, "%s/cpu,cpuacct/c/cpu.cfs_quota_us", dir); write_file(path, "-1\n");
            CHECK(eq_cpu_count_at(pc, dir) == aff);
            write_file(path, "50000\n");
            CHECK(eq_cpu_count_at(pc, dir) == 1);
            /* garbage is ignored, not trusted */
            write_file(path, "nonsense\n");
            CHECK(eq_cpu_count_at(pc, dir) == aff);
            char cmd[600];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            CHECK(system(cmd) == 0);
        }
        /* what this process really may use: never more than the affinity mask allows */
        CHECK(eq_cpu_count() <= eq_cpu_count_at("/nonexistent/cgroup", "/nonexistent"));
    }
#endif
    return eqt_done();
}
