/* The default thread count: the CPUs this process may run on, not the CPUs the machine has.
 * Under `taskset -c 1`, a cpuset or a container CPU quota, one thread per online CPU would put
 * several busy threads on each CPU we get, and a data-parallel loop is only as fast as its
 * slowest share. */
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#define _GNU_SOURCE  /* sched_getaffinity, CPU_COUNT_S */
#include <sched.h>
#endif
#include "runtime/cpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(__wasi__)
#include <unistd.h>
#endif

#if defined(__linux__) && !defined(__EMSCRIPTEN__)

static int affinity_count(void) {
    /* machines with more CPUs than a cpu_set_t holds need a bigger mask: grow until it fits */
    for (int n = 1024; n <= (1 << 16); n *= 2) {
        cpu_set_t *set = CPU_ALLOC(n);
        if (!set) break;
        size_t sz = CPU_ALLOC_SIZE(n);
        CPU_ZERO_S(sz, set);
        int ok = sched_getaffinity(0, sz, set) == 0;
        int c = ok ? CPU_COUNT_S(sz, set) : 0;
        CPU_FREE(set);
        if (ok) return c;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The first line of a small file, or 0 when it cannot be read. */
static int read_line(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    return ok;
}

/* CPUs a quota of `quota` µs per `period` µs allows, rounded up; 0 for no limit or nonsense. */
static int quota_cpus(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n > (1 << 20) ? 0 : (int)n;
}

/* cgroup v2: "max 100000" or "150000 100000" */
static int v2_limit(const char *dir) {
    char path[4200], line[128];
    if ((size_t)snprintf(path, sizeof path, "%s/cpu.max", dir) >= sizeof path || !read_line(path, line, sizeof line))
        return 0;
    if (!strncmp(line, "max", 3)) return 0;
    char *end;
    long long q = strtoll(line, &end, 10);
    long long p = strtoll(end, NULL, 10);
    return quota_cpus(q, p);
}

/* cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us */
static int v1_limit(const char *dir) {
    char path[4200], line[64];
    if ((size_t)snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir) >= sizeof path || !read_line(path, line, sizeof line))
        return 0;
    long long q = strtoll(line, NULL, 10);
    if ((size_t)snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir) >= sizeof path || !read_line(path, line, sizeof line))
        return 0;
    return quota_cpus(q, strtoll(line, NULL, 10));
}

/* The tightest limit from base+path up to base (a limit on any ancestor caps us too; inside a
 * container the listed path may not exist below the mount, whose root is then our cgroup). */
static int walk_limit(const char *base, const char *cg_path, int (*limit)(const char *)) {
    char dir[4200];
    size_t bl = strlen(base), pl = strlen(cg_path);
    if (bl + pl + 1 > sizeof dir) return 0;
    memcpy(dir, base, bl);
    memcpy(dir + bl, cg_path, pl + 1);
    int best = 0;
    for (;;) {
        int n = limit(dir);
        if (n > 0 && (best == 0 || n < best)) best = n;
        char *slash = strrchr(dir + bl, '/');
        if (!slash) break;
        *slash = 0;
    }
    return best;
}

static int cgroup_limit(const char *proc_cgroup, const char *root) {
    FILE *f = fopen(proc_cgroup, "r");
    if (!f) return 0;
    char line[4096], base[4200];
    int best = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *ctrl = c1 + 1, *path = c2 + 1;
        if (*path != '/') continue;
        if (!strcmp(path, "/")) path = "";
        int lim = 0;
        if (!strcmp(line, "0:")) {  /* v2: "0::/path" */
            static const char *const sub[] = {"", "/unified"};
            for (int i = 0; i < 2; i++) {
                snprintf(base, sizeof base, "%s%s", root, sub[i]);
                int l = walk_limit(base, path, v2_limit);
                if (l > 0 && (lim == 0 || l < lim)) lim = l;
            }
        } else {  /* v1: a hierarchy whose controller list names "cpu" */
            int has_cpu = 0;
            for (const char *s = ctrl; *s;) {
                size_t len = strcspn(s, ",");
                if (len == 3 && !strncmp(s, "cpu", 3)) has_cpu = 1;
                s += len + (s[len] == ',');
            }
            if (!has_cpu) continue;
            static const char *const mnt[] = {"/cpu,cpuacct", "/cpu", "/cpuacct,cpu"};
            for (int i = 0; i < 3; i++) {
                snprintf(base, sizeof base, "%s%s", root, mnt[i]);
                int l = walk_limit(base, path, v1_limit);
                if (l > 0 && (lim == 0 || l < lim)) lim = l;
            }
        }
        if (lim > 0 && (best == 0 || lim < best)) best = lim;
    }
    fclose(f);
    return best;
}

int eq_cpu_count_at(const char *proc_cgroup, const char *cgroup_root) {
    int n = affinity_count();
    int q = cgroup_limit(proc_cgroup, cgroup_root);
    if (q > 0 && q < n) n = q;
    return n > 0 ? n : 1;
}

int eq_cpu_count(void) { return eq_cpu_count_at("/proc/self/cgroup", "/sys/fs/cgroup"); }

#else

int eq_cpu_count(void) {
#if (defined(EQ_THREADS) && !defined(__wasi__) || defined(__EMSCRIPTEN_PTHREADS__)) && defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;  /* no threads in this build */
#endif
}

int eq_cpu_count_at(const char *proc_cgroup, const char *cgroup_root) {
    (void)proc_cgroup; (void)cgroup_root;
    return eq_cpu_count();
}

#endif
