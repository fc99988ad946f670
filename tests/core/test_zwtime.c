/* SPDX-License-Identifier: MIT */
/*
 * Tests for zwtime.c: dates past 2038 with a time_t of any width.  Every
 * expected value is a constant worked out outside zwgate (Python's
 * datetime and zoneinfo, IANA tzdata), never by the C library of the
 * machine running the test: on Debian 12 armhf timegm() and localtime_r()
 * stop at 2038-01-19T03:14:07Z, and these tests must pass there too.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "zwtime.h"

_Static_assert(sizeof(zwtime_t) == 8, "zwtime_t must be 64 bits");

struct utc_case {
	const char *iso;
	zwtime_t t;
	int64_t day;
	int wday, yday;
};

/* Instants around the 32-bit limit and far past it. */
static const struct utc_case utc_cases[] = {
	{ "1970-01-01T00:00:00Z", 0, 0, 4, 0 },
	{ "1969-12-31T23:59:59Z", -1, -1, 3, 364 },
	{ "1901-12-13T20:45:52Z", INT64_C(-2147483648), -24856, 5, 346 },
	{ "2000-02-29T12:00:00Z", 951825600, 11016, 2, 59 },
	{ "2038-01-19T03:14:07Z", INT64_C(2147483647), 24855, 2, 18 },
	{ "2038-01-19T03:14:08Z", INT64_C(2147483648), 24855, 2, 18 },
	{ "2040-01-01T00:00:00Z", INT64_C(2208988800), 25567, 0, 0 },
	{ "2049-12-31T23:59:59Z", INT64_C(2524607999), 29219, 5, 364 },
	{ "2100-02-28T23:59:59Z", INT64_C(4107542399), 47540, 0, 58 },
	{ "2100-03-01T00:00:00Z", INT64_C(4107542400), 47541, 1, 59 },
	{ "9999-12-31T23:59:59Z", INT64_C(253402300799), 2932896, 5, 364 },
};

static void parse_iso(const char *iso, struct tm *tm)
{
	memset(tm, 0, sizeof(*tm));
	assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm->tm_year,
				&tm->tm_mon, &tm->tm_mday, &tm->tm_hour,
				&tm->tm_min, &tm->tm_sec),
			 6);
	tm->tm_year -= 1900;
	tm->tm_mon -= 1;
}

static void test_from_utc(void **state)
{
	struct tm tm;
	zwtime_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(utc_cases) / sizeof(utc_cases[0]); i++) {
		parse_iso(utc_cases[i].iso, &tm);
		t = 42;
		assert_int_equal(zwtime_from_utc(&tm, &t), 0);
		if (t != utc_cases[i].t)
			fail_msg("%s: %lld, want %lld", utc_cases[i].iso,
				 (long long)t, (long long)utc_cases[i].t);
		assert_int_equal(zwtime_days_from_civil(tm.tm_year + 1900,
							tm.tm_mon + 1,
							tm.tm_mday),
				 utc_cases[i].day);
	}
}

static void test_to_utc(void **state)
{
	char iso[ZWTIME_ISO_LEN + 1];
	struct tm tm, want;

	(void)state;
	for (size_t i = 0; i < sizeof(utc_cases) / sizeof(utc_cases[0]); i++) {
		parse_iso(utc_cases[i].iso, &want);
		assert_int_equal(zwtime_to_utc(utc_cases[i].t, &tm), 0);
		assert_int_equal(tm.tm_year, want.tm_year);
		assert_int_equal(tm.tm_mon, want.tm_mon);
		assert_int_equal(tm.tm_mday, want.tm_mday);
		assert_int_equal(tm.tm_hour, want.tm_hour);
		assert_int_equal(tm.tm_min, want.tm_min);
		assert_int_equal(tm.tm_sec, want.tm_sec);
		assert_int_equal(tm.tm_wday, utc_cases[i].wday);
		assert_int_equal(tm.tm_yday, utc_cases[i].yday);
		if (utc_cases[i].t < 0) {
			assert_int_equal(zwtime_format_utc(utc_cases[i].t, iso),
					 -EOVERFLOW);
			assert_string_equal(iso, "");
		} else {
			assert_int_equal(zwtime_format_utc(utc_cases[i].t, iso),
					 0);
			assert_string_equal(iso, utc_cases[i].iso);
		}
	}
	assert_int_equal(zwtime_to_utc(ZWTIME_MAX + 1, &tm), -EOVERFLOW);
	assert_int_equal(zwtime_to_utc(ZWTIME_MIN - 1, &tm), -EOVERFLOW);
	assert_int_equal(zwtime_to_utc(ZWTIME_MIN, &tm), 0);
	assert_int_equal(tm.tm_year, 1 - 1900);
}

/* What does not exist is refused, never carried into the next month. */
static void test_from_utc_refuses(void **state)
{
	static const char *const bad[] = {
		"2100-02-29T00:00:00Z", /* 2100 is not a leap year */
		"2023-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
		"2040-04-31T00:00:00Z", "2040-13-01T00:00:00Z",
		"2040-00-10T00:00:00Z", "2040-01-00T00:00:00Z",
		"2040-01-01T24:00:00Z", "2040-01-01T23:60:00Z",
		"2040-01-01T23:59:60Z", /* a leap second: not a unix time */
		"0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
	};
	static const char *const good[] = { "2040-02-29T00:00:00Z",
					    "2400-02-29T00:00:00Z",
					    "0001-01-01T00:00:00Z" };
	struct tm tm;
	zwtime_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_iso(bad[i], &tm);
		t = 42;
		if (zwtime_from_utc(&tm, &t) != -EINVAL)
			fail_msg("%s accepted as %lld", bad[i], (long long)t);
		assert_int_equal(t, 42);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		parse_iso(good[i], &tm);
		assert_int_equal(zwtime_from_utc(&tm, &t), 0);
	}
	assert_false(zwtime_valid_date(2100, 2, 29));
	assert_true(zwtime_valid_date(2000, 2, 29));
	assert_true(zwtime_valid_date(2040, 2, 29));
}

/* Every day from 1900 to 2500 there and back, one after the other. */
static void test_days_round_trip(void **state)
{
	int64_t first = zwtime_days_from_civil(1900, 1, 1);
	int64_t last = zwtime_days_from_civil(2500, 12, 31), y;
	int m, d, wday = zwtime_weekday(first);

	(void)state;
	assert_int_equal(wday, 1); /* 1900-01-01 was a Monday */
	for (int64_t day = first; day <= last; day++) {
		zwtime_civil_from_days(day, &y, &m, &d);
		assert_true(zwtime_valid_date(y, m, d));
		assert_int_equal(zwtime_days_from_civil(y, m, d), day);
		assert_int_equal(zwtime_weekday(day), wday);
		wday = (wday + 1) % 7;
	}
	assert_int_equal(last - first + 1, 219511); /* 601 years */
}

struct local_case {
	const char *tz;
	zwtime_t t;
	const char *local; /* "YYYY-MM-DDTHH:MM:SS" */
	long gmtoff;
	int wday, yday;
};

/* Python's zoneinfo on IANA tzdata: DST switches past 2038 included. */
static const struct local_case local_cases[] = {
	{ "Europe/Berlin", INT64_C(2147483648), "2038-01-19T04:14:08", 3600, 2,
	  18 },
	{ "Europe/Berlin", INT64_C(2216249999), "2040-03-25T01:59:59", 3600, 0,
	  84 },
	{ "Europe/Berlin", INT64_C(2216250000), "2040-03-25T03:00:00", 7200, 0,
	  84 },
	{ "Europe/Berlin", INT64_C(2214171000), "2040-03-01T00:30:00", 3600, 4,
	  60 },
	{ "Europe/Berlin", INT64_C(2519254799), "2049-10-31T02:59:59", 7200, 0,
	  303 },
	{ "Europe/Berlin", INT64_C(2519254800), "2049-10-31T02:00:00", 3600, 0,
	  303 },
	{ "America/New_York", INT64_C(2277961199), "2042-03-09T01:59:59",
	  -18000, 0, 67 },
	{ "America/New_York", INT64_C(2277961200), "2042-03-09T03:00:00",
	  -14400, 0, 67 },
	{ "America/New_York", INT64_C(2240609400), "2040-12-31T18:30:00",
	  -18000, 1, 365 },
	{ "Australia/Sydney", INT64_C(2358950399), "2044-10-02T01:59:59", 36000,
	  0, 275 },
	{ "Australia/Sydney", INT64_C(2358950400), "2044-10-02T03:00:00", 39600,
	  0, 275 },
	{ "Australia/Sydney", INT64_C(4102405200), "2100-01-01T00:00:00", 39600,
	  5, 0 },
	{ "Asia/Kolkata", INT64_C(2147483648), "2038-01-19T08:44:08", 19800, 2,
	  18 },
	{ "UTC", INT64_C(4107542399), "2100-02-28T23:59:59", 0, 0, 58 },
};

static void check_local(const struct local_case *c, const struct tm *tm,
			const char *how)
{
	char got[64];

	snprintf(got, sizeof(got), "%04d-%02d-%02dT%02d:%02d:%02d",
		 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
		 tm->tm_min, tm->tm_sec);
	if (strcmp(got, c->local) != 0 || tm->tm_gmtoff != c->gmtoff ||
	    tm->tm_wday != c->wday || tm->tm_yday != c->yday)
		fail_msg("%s %s %lld: got %s %+ld wday %d yday %d, want %s "
			 "%+ld wday %d yday %d",
			 how, c->tz, (long long)c->t, got, (long)tm->tm_gmtoff,
			 tm->tm_wday, tm->tm_yday, c->local, c->gmtoff, c->wday,
			 c->yday);
}

/*
 * zwtime_to_local as the machine runs it, and as a 32-bit time_t runs it
 * (limit INT32_MAX: the borrowed year's offset), both against tzdata.
 */
static void test_to_local(void **state)
{
	struct tm tm;

	(void)state;
	for (size_t i = 0; i < sizeof(local_cases) / sizeof(local_cases[0]);
	     i++) {
		const struct local_case *c = &local_cases[i];

		assert_int_equal(setenv("TZ", c->tz, 1), 0);
		tzset();
		memset(&tm, 0, sizeof(tm));
		assert_int_equal(zwtime_to_local(c->t, &tm), 0);
		check_local(c, &tm, "native");
		memset(&tm, 0, sizeof(tm));
		assert_int_equal(zwtime_to_local_within(c->t, INT32_MAX, &tm),
				 0);
		check_local(c, &tm, "32-bit");
	}
	assert_int_equal(zwtime_to_local(ZWTIME_MAX, &tm), -EOVERFLOW);
}

/* Below the limit, the C library is asked directly; 1901 borrows too. */
static void test_to_local_before_1901(void **state)
{
	struct tm tm;

	(void)state;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	/* 1900-03-01T12:00:00Z: before a 32-bit time_t's first second. */
	assert_int_equal(
	    zwtime_to_local_within(INT64_C(-2203848000), INT32_MAX, &tm), 0);
	assert_int_equal(tm.tm_year, 0);
	assert_int_equal(tm.tm_mon, 2);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_hour, 12);
	assert_int_equal(tm.tm_wday, 4);
}

static void test_fits_time_t(void **state)
{
	(void)state;
	assert_true(zwtime_fits_time_t(0));
	assert_true(zwtime_fits_time_t(INT32_MAX));
	assert_true(zwtime_fits_time_t(INT32_MIN));
	assert_int_equal(zwtime_fits_time_t(INT64_C(2147483648)),
			 sizeof(time_t) >= 8);
	assert_int_equal(ZWTIME_TIME_T_MAX,
			 sizeof(time_t) >= 8 ? INT64_MAX : INT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_utc),
		cmocka_unit_test(test_to_utc),
		cmocka_unit_test(test_from_utc_refuses),
		cmocka_unit_test(test_days_round_trip),
		cmocka_unit_test(test_to_local),
		cmocka_unit_test(test_to_local_before_1901),
		cmocka_unit_test(test_fits_time_t),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
