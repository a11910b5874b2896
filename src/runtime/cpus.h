/* How many CPUs this process may really use: the default thread count. */
#ifndef EQ_CPUS_H
#define EQ_CPUS_H

/* Linux: the CPUs in this thread's affinity mask (taskset, cpusets), lowered to the cgroup CPU
 * quota where one is set (cgroup v2 cpu.max, v1 cpu.cfs_quota_us; rounded up), the smallest
 * along the cgroup path. Elsewhere the online CPUs; 1 in single-threaded builds. Never < 1. */
int eq_cpu_count(void);

/* The same with the cgroup files read from other places (tests): proc_cgroup stands for
 * /proc/self/cgroup, cgroup_root for /sys/fs/cgroup. Linux only; elsewhere eq_cpu_count(). */
int eq_cpu_count_at(const char *proc_cgroup, const char *cgroup_root);

#endif
