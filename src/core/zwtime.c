/* SPDX-License-Identifier: MIT */
/*
 * zwtime.c: calendar arithmetic and the clock on 64 bits, whatever the
 * width of time_t (zwtime.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zwtime.h"

/* The years zwtime_to_local borrows a zone's offset from: 28 of them,
 * every kind of year (length, weekday of January 1) is among them. */
#define LOCAL_YEAR_FIRST 2009
#define LOCAL_YEARS	 28

_Static_assert(sizeof(int64_t) == 8, "int64_t must be 64 bits");

bool zwtime_fits_time_t(zwtime_t t)
{
	return t <= ZWTIME_TIME_T_MAX && t >= -ZWTIME_TIME_T_MAX - 1;
}

int64_t zwtime_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void zwtime_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int zwtime_weekday(int64_t day)
{
	int64_t w = (day + 4) % 7; /* 1970-01-01 was a Thursday */

	return (int)(w < 0 ? w + 7 : w);
}

bool zwtime_valid_date(int64_t y, int m, int d)
{
	int64_t yy;
	int mm, dd;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	/* A date that does not exist comes back as another one. */
	zwtime_civil_from_days(zwtime_days_from_civil(y, m, d), &yy, &mm, &dd);
	return yy == y && mm == m && dd == d;
}

int zwtime_from_utc(const struct tm *tm, zwtime_t *ret)
{
	int64_t y = (int64_t)tm->tm_year + 1900;

	if (!zwtime_valid_date(y, tm->tm_mon + 1, tm->tm_mday) ||
	    tm->tm_hour < 0 || tm->tm_hour > 23 || tm->tm_min < 0 ||
	    tm->tm_min > 59 || tm->tm_sec < 0 || tm->tm_sec > 59)
		return -EINVAL;
	*ret = zwtime_days_from_civil(y, tm->tm_mon + 1, tm->tm_mday) *
		   ZWTIME_DAY +
	       tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
	return 0;
}

/* tm's date fields from a day number and its time fields from seconds. */
static void fill_tm(int64_t day, int64_t sec, struct tm *tm)
{
	int64_t y;
	int m, d;

	zwtime_civil_from_days(day, &y, &m, &d);
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_hour = (int)(sec / 3600);
	tm->tm_min = (int)(sec / 60 % 60);
	tm->tm_sec = (int)(sec % 60);
	tm->tm_wday = zwtime_weekday(day);
	tm->tm_yday = (int)(day - zwtime_days_from_civil(y, 1, 1));
}

/* Floor division of t by a day: the day number and the seconds in it. */
static void split_day(zwtime_t t, int64_t *day, int64_t *sec)
{
	*day = t / ZWTIME_DAY;
	*sec = t % ZWTIME_DAY;
	if (*sec < 0) {
		*sec += ZWTIME_DAY;
		(*day)--;
	}
}

int zwtime_to_utc(zwtime_t t, struct tm *tm)
{
	int64_t day, sec;

	if (t < ZWTIME_MIN || t > ZWTIME_MAX)
		return -EOVERFLOW;
	memset(tm, 0, sizeof(*tm));
	split_day(t, &day, &sec);
	fill_tm(day, sec, tm);
	return 0;
}

int zwtime_format_utc(zwtime_t t, char *out)
{
	char buf[64]; /* what the compiler thinks ints might need */
	struct tm tm;

	out[0] = '\0';
	if (t < 0 || zwtime_to_utc(t, &tm) < 0)
		return -EOVERFLOW;
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	memcpy(out, buf, ZWTIME_ISO_LEN + 1); /* years 1970..9999: 20 */
	return 0;
}

/*
 * The year from LOCAL_YEAR_FIRST on that has y's length and y's weekday
 * of January 1: the calendar of y, day for day.
 */
static int64_t same_calendar_year(int64_t y)
{
	int64_t jan1 = zwtime_days_from_civil(y, 1, 1);
	bool leap = zwtime_valid_date(y, 2, 29);

	for (int64_t c = LOCAL_YEAR_FIRST; c < LOCAL_YEAR_FIRST + LOCAL_YEARS;
	     c++) {
		if (zwtime_valid_date(c, 2, 29) == leap &&
		    zwtime_weekday(zwtime_days_from_civil(c, 1, 1)) ==
			zwtime_weekday(jan1))
			return c;
	}
	return LOCAL_YEAR_FIRST; /* not reached: all 14 kinds are there */
}

int zwtime_to_local_within(zwtime_t t, zwtime_t limit, struct tm *tm)
{
	int64_t shift = 0, day, sec, y;
	struct tm utc;
	time_t tt;

	if (t < ZWTIME_MIN + ZWTIME_DAY || t > ZWTIME_MAX - ZWTIME_DAY)
		return -EOVERFLOW;
	if (t > limit || t < -limit - 1) {
		/* The same day of a year with the same calendar that a
		 * time_t can hold; the local date is moved back by as many
		 * days as t was moved. */
		zwtime_to_utc(t, &utc);
		y = utc.tm_year + 1900LL;
		shift = zwtime_days_from_civil(y, 1, 1) -
			zwtime_days_from_civil(same_calendar_year(y), 1, 1);
	}
	tt = (time_t)(t - shift * ZWTIME_DAY);
	if (!localtime_r(&tt, tm))
		return -EOVERFLOW;
	if (shift) {
		day = zwtime_days_from_civil(tm->tm_year + 1900LL,
					     tm->tm_mon + 1, tm->tm_mday) +
		      shift;
		sec = tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
		fill_tm(day, sec, tm);
	}
	return 0;
}

int zwtime_to_local(zwtime_t t, struct tm *tm)
{
	return zwtime_to_local_within(t, ZWTIME_TIME_T_MAX, tm);
}
