// Shared by the floor programs (scripts/floor.sh): a process's CPU time from /proc, and paced
// waits at random points of their slots (an even pace locks the work in phase with the kernel's
// 250 Hz tick, which then splits user and system time by the run's phase, not by what was done).
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/// CPU time of process `pid`: user and system from /proc/PID/stat (the kernel's tick-based
/// split, in µs), total run time of all its threads from /proc/PID/task/*/schedstat (exact, µs).
typedef struct { double user, system, runtime; } cpu_times;

static inline cpu_times cpu_of(int pid) {
    cpu_times t = {0, 0, 0};
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f && fgets(buf, sizeof buf, f)) {
        char *p = strrchr(buf, ')');  // the command name may hold spaces; fields follow ')'
        unsigned long long ut = 0, st = 0;
        // After ')': state(3) ... utime is field 14, stime 15: skip 11 fields after the state.
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            long hz = sysconf(_SC_CLK_TCK);
            t.user = ut * 1e6 / hz;
            t.system = st * 1e6 / hz;
        }
    }
    if (f) fclose(f);
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p2[320];
        snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *g = fopen(p2, "r");
        unsigned long long ns = 0;
        if (g && fscanf(g, "%llu", &ns) == 1) t.runtime += ns / 1e3;
        if (g) fclose(g);
    }
    if (d) closedir(d);
    return t;
}

static inline void print_per(const char *what, cpu_times a, cpu_times b, double count, const char *unit) {
    printf("%s: %.2f µs per %s (exact run time); user %.2f, system %.2f µs (the kernel's tick split)\n",
           what, (b.runtime - a.runtime) / count, unit, (b.user - a.user) / count, (b.system - a.system) / count);
}

static uint64_t rng_state;
static inline double slot_offset(void) {  // splitmix64 → [0, 1)
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (z >> 11) * (1.0 / 9007199254740992.0);
}

/// Sleeps until slot `k` of a pace of `rate` per second from `start`, at a random point of it.
static inline void wait_slot(const struct timespec *start, long k, double rate) {
    double at = (k + slot_offset()) / rate;
    struct timespec t = *start;
    long long ns = (long long)(at * 1e9) + t.tv_nsec;
    t.tv_sec += ns / 1000000000LL;
    t.tv_nsec = ns % 1000000000LL;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}
