/* SPDX-License-Identifier: MIT */
/*
 * clock2038.so: the wall clock of a program set to a given time, the way
 * glibc gives it on a 32-bit time_t past 2038, for the tests that set
 * zwgate's clock on a 32-bit build (fake_clock, tests/lib.sh).
 *
 *   LD_PRELOAD=tests/clock2038.so ZWGATE_TEST_CLOCK=<seconds since 1970>
 *   LD_PRELOAD=tests/clock2038.so ZWGATE_TEST_CLOCK=<+/-seconds from now>
 *
 * The clock starts at that time and runs on from there (clock_value of
 * tests/lib.sh turns libfaketime's FAKETIME into these).  Debian 12's
 * armhf libfaketime has a 32-bit time_t, intercepts only the 32-bit
 * calls and cannot give a time past 2038-01-19T03:14:07Z to anyone; this
 * can, and as glibc does:
 *
 *  - the calls of a 32-bit time_t (clock_gettime, time, gettimeofday of
 *    a program built without _TIME_BITS=64) fail with EOVERFLOW past
 *    2038, as glibc's do there;
 *  - their 64-bit forms (__clock_gettime64, __time64, __gettimeofday64,
 *    what _TIME_BITS=64 calls, glibc 2.34 on) give the time;
 *  - a timerfd armed by the wall clock (timerfd_settime and its 64-bit
 *    form, TFD_TIMER_ABSTIME) is armed at the real time it stands for.
 *
 * On a 64-bit time_t only the first kind exists, and never overflows.
 * Only CLOCK_REALTIME and CLOCK_REALTIME_COARSE are moved; the monotonic
 * clocks run untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#define TIME_T_MAX (sizeof(time_t) == 8 ? INT64_MAX : (int64_t)INT32_MAX)

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*settime_fn)(int, int, const struct itimerspec *,
			  struct itimerspec *);

static gettime_fn real_gettime;
static settime_fn real_settime;
static int64_t shift; /* wanted - real, seconds */
static int ready;

static void init(void)
{
	const char *s = getenv("ZWGATE_TEST_CLOCK");
	struct timespec now;

	if (ready)
		return;
	real_gettime = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	real_settime = (settime_fn)dlsym(RTLD_NEXT, "timerfd_settime");
	if (s && (*s == '+' || *s == '-'))
		shift = strtoll(s, NULL, 10);
	else if (s && real_gettime && real_gettime(CLOCK_REALTIME, &now) == 0)
		shift = strtoll(s, NULL, 10) - (int64_t)now.tv_sec;
	ready = 1;
}

static int moved(clockid_t c)
{
	return c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE;
}

/* The clock c, moved, in 64 bits; 0 or -1 with errno. */
static int now64(clockid_t c, int64_t *sec, long *nsec)
{
	struct timespec ts;

	init();
	if (!real_gettime) {
		errno = ENOSYS;
		return -1;
	}
	if (real_gettime(c, &ts) < 0)
		return -1;
	*sec = (int64_t)ts.tv_sec + (moved(c) ? shift : 0);
	*nsec = ts.tv_nsec;
	return 0;
}

/* The forms of the build's time_t. */

int clock_gettime(clockid_t c, struct timespec *ts)
{
	int64_t sec;
	long nsec;

	if (now64(c, &sec, &nsec) < 0)
		return -1;
	if (sec > TIME_T_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = nsec;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec; /* glibc declares it nonnull */
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new,
		    struct itimerspec *old)
{
	struct itimerspec its = *new;

	init();
	if (!real_settime) {
		errno = ENOSYS;
		return -1;
	}
	/* The clock id is the timerfd's; zwgate's is CLOCK_REALTIME. */
	if ((flags & TFD_TIMER_ABSTIME) &&
	    (its.it_value.tv_sec || its.it_value.tv_nsec))
		its.it_value.tv_sec =
		    (time_t)((int64_t)its.it_value.tv_sec - shift);
	return real_settime(fd, flags, &its, old);
}

#if __TIMESIZE == 32
/* The 64-bit forms, glibc's own layouts (little-endian). */
struct ts64 {
	int64_t tv_sec;
	int32_t tv_nsec;
	int32_t pad;
};
struct tv64 {
	int64_t tv_sec;
	int64_t tv_usec;
};
struct its64 {
	struct ts64 it_interval;
	struct ts64 it_value;
};

/* glibc declares them only for its own redirects: here, for -Wall. */
int __clock_gettime64(clockid_t c, struct ts64 *ts);
int64_t __time64(int64_t *t);
int __gettimeofday64(struct tv64 *tv, void *tz);
int __timerfd_settime64(int fd, int flags, const struct its64 *new,
			struct its64 *old);

int __clock_gettime64(clockid_t c, struct ts64 *ts)
{
	int64_t sec;
	long nsec;

	if (now64(c, &sec, &nsec) < 0)
		return -1;
	ts->tv_sec = sec;
	ts->tv_nsec = (int32_t)nsec;
	ts->pad = 0;
	return 0;
}

int64_t __time64(int64_t *t)
{
	int64_t sec;
	long nsec;

	if (now64(CLOCK_REALTIME, &sec, &nsec) < 0)
		return -1;
	if (t)
		*t = sec;
	return sec;
}

int __gettimeofday64(struct tv64 *tv, void *tz)
{
	int64_t sec;
	long nsec;

	(void)tz;
	if (now64(CLOCK_REALTIME, &sec, &nsec) < 0)
		return -1;
	if (tv) {
		tv->tv_sec = sec;
		tv->tv_usec = nsec / 1000;
	}
	return 0;
}

/* Armed at the real time `at` stands for: that fits 32 bits (2026). */
int __timerfd_settime64(int fd, int flags, const struct its64 *new,
			struct its64 *old)
{
	struct itimerspec its = { 0 };

	init();
	if (!real_settime) {
		errno = ENOSYS;
		return -1;
	}
	its.it_interval.tv_sec = (time_t) new->it_interval.tv_sec;
	its.it_interval.tv_nsec = new->it_interval.tv_nsec;
	its.it_value.tv_sec = (time_t) new->it_value.tv_sec;
	its.it_value.tv_nsec = new->it_value.tv_nsec;
	if ((flags & TFD_TIMER_ABSTIME) &&
	    (new->it_value.tv_sec || new->it_value.tv_nsec)) {
		int64_t real = new->it_value.tv_sec - shift;

		if (real > INT32_MAX) {
			errno = EOVERFLOW; /* not with 2026's real clock */
			return -1;
		}
		its.it_value.tv_sec = (time_t)real;
	}
	(void)old; /* zwgate asks no old value */
	return real_settime(fd, flags, &its, NULL);
}
#endif
