/* bn_clock — milliseconds, for timers (monotonic: deadlines, leases, backoff) and for records
 * (wall clock: job times, retention). One definition instead of a copy per module. */
#ifndef BN_CLOCK_H
#define BN_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline int64_t bn_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t bn_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
