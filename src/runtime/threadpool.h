/* A small thread pool for data-parallel loops. Workers spin briefly between jobs (a decode
 * step dispatches hundreds of short jobs per token, too many for condvar wake-ups alone),
 * then sleep. Results never depend on the thread count: callers split work so that each
 * output element is computed by exactly one thread in the same order. */
#ifndef EQ_THREADPOOL_H
#define EQ_THREADPOOL_H

typedef struct eq_pool eq_pool;
/* fn runs once per thread: ith in [0, nth). */
typedef void (*eq_pool_fn)(void *arg, int ith, int nth);

eq_pool *eq_pool_new(int n_threads);  /* NULL on failure; n_threads <= 1 runs inline */
void     eq_pool_free(eq_pool *p);
int      eq_pool_size(const eq_pool *p);
/* Run fn on all threads (the caller is thread 0) and wait for all of them. */
void     eq_pool_run(eq_pool *p, eq_pool_fn fn, void *arg);
/* Split [0, n) evenly: the range of thread ith. */
static inline void eq_split(int n, int ith, int nth, int *lo, int *hi) {
    int per = (n + nth - 1) / nth;
    *lo = ith * per < n ? ith * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}
int      eq_cpu_count(void);

#endif
