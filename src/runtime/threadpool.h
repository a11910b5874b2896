/* A small thread pool for data-parallel loops. A job is split into n shares (fn(arg, ith, n)
 * for ith in [0, n)); the caller and the workers claim shares one at a time, so a worker the
 * OS has not scheduled yet never holds up the others. Results never depend on the split:
 * callers arrange that each output element is computed by exactly one share, in the same
 * order, whichever thread runs it and however many shares there are.
 *
 * Workers spin briefly between jobs (a decode step dispatches hundreds of short jobs per
 * token, too many for condvar wake-ups alone), then sleep on a condvar; the caller waits for
 * the last share the same way. With more threads than CPUs the spin is cut short and yields,
 * and on native builds eq_pool_new never starts more threads than the CPUs this process may
 * use (eq_cpu_count): past that, threads only wait for each other. */
#ifndef EQ_THREADPOOL_H
#define EQ_THREADPOOL_H

#include "runtime/cpus.h"

typedef struct eq_pool eq_pool;
/* fn runs once per share: ith in [0, nth). */
typedef void (*eq_pool_fn)(void *arg, int ith, int nth);

/* n threads (clamped to [1, EQ_MAX_THREADS], and natively to eq_cpu_count()), one share
 * each; NULL when out of memory. One thread runs inline. Threads that cannot be started are
 * done without: their shares run on the others. */
eq_pool *eq_pool_new(int n);
/* n shares per job run by n_threads threads (<= n), CPUs not considered (tests: more shares
 * than threads, more threads than CPUs). */
eq_pool *eq_pool_new_threads(int n, int n_threads);
void     eq_pool_free(eq_pool *p);
int      eq_pool_size(const eq_pool *p);     /* shares per job: size per-share scratch by it */
int      eq_pool_threads(const eq_pool *p);  /* OS threads running them, the caller included */
/* Run fn over all shares (the caller takes part) and wait until every share is done. */
void     eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg);
/* Split [0, n) evenly: the range of share ith. */
static inline void eq_split(int n, int ith, int nth, int *lo, int *hi) {
    int per = (n + nth - 1) / nth;
    *lo = ith * per < n ? ith * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* A job's n items, claimed rather than split: share ith takes its own eq_split run front to
 * back, `grain` items at a time, then helps the others, one item at a time from the front of
 * what is left of theirs. A share that runs slow (a busier memory channel, a CPU the OS gave
 * away for a while, a worker that woke late) is thus helped by the ones done early, while each
 * thread still streams one contiguous run for most of the job. Which share computes an item
 * changes from run to run, so a caller must make each item's result independent of that.
 * Counters are per share and reset by eq_pool_run; use one claim loop per job. */
typedef struct { int n, grain, ith, nth, k; } eq_claim;
static inline eq_claim eq_claim_start(int n, int grain, int ith, int nth) {
    eq_claim c = {n, grain < 1 ? 1 : grain, ith, nth, 0};
    return c;
}
/* The next items [*lo, *hi) for this share; 0 once every item of the job is claimed. */
int eq_claim_next(eq_pool *p, eq_claim *c, int *lo, int *hi);

#endif
