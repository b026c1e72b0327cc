/* bn_bench — what the benchmarks share (header-only: each bench is one file). */
#ifndef BN_BENCH_H
#define BN_BENCH_H
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The fields of /proc/PID/stat after the command name (state, ppid, …) in buf, or NULL. */
static inline const char *bn_bench_proc_stat(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] ? p + 2 : NULL;
}

/* CPU seconds (user + system, every thread) process pid has used so far, from /proc/PID/stat;
 * 0 when it cannot be read. Shows where a configuration's time goes on a machine with fewer
 * cores than processes. */
static inline double bn_bench_proc_cpu(pid_t pid)
{
    char buf[1024];
    const char *p = bn_bench_proc_stat(pid, buf, sizeof buf);
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

#endif
