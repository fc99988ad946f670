/* SPDX-License-Identifier: MIT */
/*
 * zwtime_clock.c: the wall clock on 64 bits (zwtime.h), and the one
 * timerfd zwgate arms by the wall clock.
 *
 * This file alone is built with a 64-bit time_t (_TIME_BITS 64, glibc
 * 2.34 on): where the build's time_t is 32 bits (Debian 12 armhf), its
 * clock_gettime() and timerfd_settime() are glibc's __clock_gettime64
 * and __timerfd_settime64, which work past 2038-01-19T03:14:07Z, where
 * the 32-bit ones fail with EOVERFLOW.  No time_t crosses its interface:
 * every other file, and every library, keeps the ABI it was built with.
 */
#include "config.h"

#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#define _TIME_BITS 64

#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>

#include "zwtime.h"

_Static_assert(sizeof(time_t) == 8, "zwtime_clock.c needs a 64-bit time_t");

/* The wall clock as seconds and nanoseconds, or -errno. */
static int now_parts(int64_t *sec, int64_t *nsec)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
	return 0;
}

zwtime_t zwtime_now(void)
{
	int64_t sec = 0, nsec = 0;

	return now_parts(&sec, &nsec) < 0 ? 0 : sec;
}

int64_t zwtime_now_ms(void)
{
	int64_t sec = 0, nsec = 0;

	return now_parts(&sec, &nsec) < 0 ? 0 : sec * 1000 + nsec / 1000000;
}

int64_t zwtime_now_us(void)
{
	int64_t sec = 0, nsec = 0;

	return now_parts(&sec, &nsec) < 0 ? 0 : sec * 1000000 + nsec / 1000;
}

int zwtime_timerfd_at(int fd, zwtime_t at)
{
	struct itimerspec its = { .it_value.tv_sec = at };

	if (at <= 0)
		return -EINVAL;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
			    &its, NULL) < 0)
		return -errno;
	return 0;
}
