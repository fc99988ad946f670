/* SPDX-License-Identifier: MIT */
/*
 * zwtime.h: zwgate's own times, 64 bits on every architecture.
 *
 * On Debian 12 armhf, time_t and long are 32 bits and the C library,
 * OpenSSL and libuv are built that way: timegm() of 2042-01-01 fails,
 * gmtime_r() and localtime_r() cannot take a time past
 * 2038-01-19T03:14:07Z, and a millisecond timestamp does not fit a long.
 * zwgate keeps every time it computes with in a zwtime_t (seconds) or an
 * int64_t (milliseconds) and converts calendar dates with the arithmetic
 * here; a library is handed a time_t only where zwtime_fits_time_t()
 * says the value fits (docs/DESIGN.md, "Time").
 */
#ifndef ZWGATE_ZWTIME_H
#define ZWGATE_ZWTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds since 1970-01-01T00:00:00Z (negative before). */
typedef int64_t zwtime_t;

_Static_assert(sizeof(zwtime_t) == 8, "zwtime_t must be 64 bits");

#define ZWTIME_DAY     86400
#define ZWTIME_MIN     INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define ZWTIME_MAX     INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ZWTIME_ISO_LEN 20		     /* "YYYY-MM-DDTHH:MM:SSZ" */

/* The largest time_t of this build: INT32_MAX where time_t is 32 bits. */
#define ZWTIME_TIME_T_MAX \
	(sizeof(time_t) >= 8 ? (zwtime_t)INT64_MAX : (zwtime_t)INT32_MAX)

/* Whether t can be handed to a library as a time_t. */
bool zwtime_fits_time_t(zwtime_t t);

/*
 * Day numbers: days since 1970-01-01 in the proleptic Gregorian calendar
 * (Howard Hinnant's algorithms, exact for every date).
 */
int64_t zwtime_days_from_civil(int64_t y, int m, int d);
void zwtime_civil_from_days(int64_t day, int64_t *y, int *m, int *d);

/* 0 Sunday ... 6 Saturday. */
int zwtime_weekday(int64_t day);

/* Whether y-m-d is a real day of a year from 1 to 9999. */
bool zwtime_valid_date(int64_t y, int m, int d);

/*
 * timegm() on 64 bits, without its normalising: tm's year (1 to 9999),
 * month, day, hour, minute and second must name a time that exists
 * (2026-02-30 and 24:00:00 are -EINVAL; a leap second 60 is too).
 * tm_wday, tm_yday and tm_isdst are ignored.  0 or -EINVAL.
 */
int zwtime_from_utc(const struct tm *tm, zwtime_t *ret);

/* gmtime_r() on 64 bits: t from ZWTIME_MIN to ZWTIME_MAX; else
 * -EOVERFLOW.  Sets tm_gmtoff to 0 and tm_isdst to 0. */
int zwtime_to_utc(zwtime_t t, struct tm *tm);

/*
 * t as "YYYY-MM-DDTHH:MM:SSZ" in out (ZWTIME_ISO_LEN + 1 bytes).  0, or
 * -EOVERFLOW for a t before 1970 or after 9999 (out is then "").
 */
int zwtime_format_utc(zwtime_t t, char *out);

/*
 * localtime_r() on 64 bits: t in the zone of TZ, with tm_gmtoff and
 * tm_isdst.  Where t does not fit a time_t (a 32-bit time_t past
 * 2038-01-19), the offset is the zone's on the same day of a year from
 * 2009 to 2036 that has the same length and starts on the same weekday:
 * for a zone whose rules do not change after 2036 (every zone whose
 * future tzdata knows today, as their rules repeat), that is exact.
 * 0 or -EOVERFLOW.
 */
int zwtime_to_local(zwtime_t t, struct tm *tm);

/*
 * zwtime_to_local as if a time_t could hold at most `limit`: the tests
 * run the 32-bit path on a 64-bit build with limit INT32_MAX.
 */
int zwtime_to_local_within(zwtime_t t, zwtime_t limit, struct tm *tm);

/*
 * The wall clock, in seconds, milliseconds and microseconds
 * (zwtime_clock.c, built with a 64-bit time_t: they work past 2038 on a
 * 32-bit build too).  0 if the clock cannot be read (a time the trust
 * policy and the schedules treat as an unknown clock).
 */
zwtime_t zwtime_now(void);
int64_t zwtime_now_ms(void);
int64_t zwtime_now_us(void);

/*
 * Arm a timerfd of CLOCK_REALTIME to expire at `at` (seconds since
 * 1970), cancelled when the clock is set (TFD_TIMER_ABSTIME |
 * TFD_TIMER_CANCEL_ON_SET); on 64 bits on every build.  0 or -errno;
 * -EINVAL for a time not after 1970.
 */
int zwtime_timerfd_at(int fd, zwtime_t at);

#endif
