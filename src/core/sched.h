/* SPDX-License-Identifier: MIT */
/*
 * sched.h: when a schedule fires, in the gateway's local time.
 *
 * Pure C: no libuv, no clock reads.  Every function takes the time it is
 * about ("now", "after") as an argument, so tests inject any instant.
 * Local time is the process's time zone (TZ, set by the daemon from
 * location { timezone } before anything calls these); tests set TZ.
 * Times are zwtime_t, 64 bits everywhere; past 2038 on a 32-bit time_t
 * the zone's offset is found as zwtime_to_local says (zwtime.h).
 *
 * Rules for wall-clock schedules (time of day, sunrise/sunset/dawn/dusk):
 * - A local time that does not exist on a spring-forward day fires once,
 *   at the first valid minute after it; one that occurs twice on a
 *   fall-back day fires once, at its first occurrence.
 * - Sun times come from libnova's ephemeris for the location (not from
 *   ln_get_solar_rst_horizon, which is off in libnova 0.16: see sched.c);
 *   dawn/dusk are civil twilight (-6 degrees).  A day without that sun
 *   event (polar day or night) has no firing, and the reason is said in
 *   words, never a made-up time.
 * - Interval schedules ("every 15m") run on the monotonic clock in the
 *   engine and do not come here.
 */
#ifndef ZWGATE_SCHED_H
#define ZWGATE_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "zwtime.h"

#define SCHED_ALL_DAYS		 0x7f /* bit 0 Sunday ... bit 6 Saturday */
#define SCHED_SEARCH_DAYS	 400  /* how far sched_next looks ahead */
#define SCHED_CATCH_UP_DEFAULT_S 120
#define SCHED_DURATION_MAX_S	 (366L * 86400) /* longest duration parsed */
#define SCHED_ISO8601_LEN	 32 /* room for sched_iso8601's output */

enum sched_sun {
	SCHED_SUNRISE,
	SCHED_SUNSET,
	SCHED_DAWN, /* civil: the sun 6 degrees below the horizon, rising */
	SCHED_DUSK, /* civil, setting */
};

enum sched_kind {
	SCHED_TIME, /* a time of day */
	SCHED_SUN,  /* a sun event plus an offset */
};

struct sched_spec {
	enum sched_kind kind;
	int seconds;	    /* TIME: seconds after local midnight, 0..86399 */
	enum sched_sun sun; /* SUN */
	int offset_s;	    /* SUN: may be negative, |offset| <= 12 h */
	uint8_t weekdays;   /* SCHED_ALL_DAYS, or a subset */
};

struct sched_loc {
	double latitude, longitude; /* degrees, north and east positive */
};

/*
 * The sun event of the local calendar day y-m-d (m 1..12) at loc, as an
 * instant.  The day is the one whose solar noon falls on that date: its
 * sunrise/dawn come before that noon, its sunset/dusk after, so a
 * midsummer sunset at 00:04 in Reykjavik is the previous date's, as in
 * almanacs.  0, or -ENOENT when the sun does not do that on that day
 * (why: "the sun does not set on 2026-06-21 at 78.2N (polar day)");
 * -EINVAL for a bad event, location or date.
 */
int sched_sun_time(enum sched_sun ev, const struct sched_loc *loc, int y, int m,
		   int d, zwtime_t *ret, char *why, size_t whylen);

/*
 * The first firing of s strictly after `after`, looking ahead at most
 * SCHED_SEARCH_DAYS days.  0 with *ret; -ENOENT when there is none in
 * that time (why says the reason, e.g. polar night all winter);
 * -EINVAL for a bad spec.  loc may be NULL for SCHED_TIME.
 */
int sched_next(const struct sched_spec *s, const struct sched_loc *loc,
	       zwtime_t after, zwtime_t *ret, char *why, size_t whylen);

/*
 * What to do with a schedule whose planned firing `due` was not run
 * because the wall clock moved from `before` to `now` (a jump forward,
 * e.g. NTP after a Raspberry Pi booted at 1970, or a suspend): true when
 * it was missed by at most catch_up_s and should run once now; false
 * when it is too old (never replay a backlog).  The caller then plans
 * the next firing with sched_next(s, loc, now, ...).
 */
bool sched_catch_up(zwtime_t due, zwtime_t now, unsigned catch_up_s);

/*
 * Is the wall clock to be trusted for time-of-day schedules: at or past
 * floor (the build time, or a persisted last-good time) and, when the
 * caller knows it, synchronised (synchronised > 0 yes, 0 no, < 0 not
 * known: then the floor alone decides).  Until then wall-clock schedules
 * wait; triggers run.
 */
bool sched_clock_trusted(zwtime_t now, zwtime_t floor, int synchronised);

/*
 * The instant of the local midnight that starts t's local day (the end of
 * the gap where a zone skips midnight).  0 or -EOVERFLOW.
 */
int sched_local_midnight(zwtime_t t, zwtime_t *ret);

/* "2026-11-23T17:05:00+01:00" (local, ISO 8601 with offset) into buf;
 * returns buf, holding "" when len is too short or t out of range. */
char *sched_iso8601(zwtime_t t, char *buf, size_t len);

/* Parse "23:30", "7:05", "23:30:15" into seconds after midnight; -EINVAL. */
int sched_parse_clock(const char *s, int *ret);
/* Parse "15m", "90s", "2h", "1d", "1h30m" into seconds (> 0); -EINVAL. */
int sched_parse_duration(const char *s, long *ret);
/* Parse "mon..fri", "sat", "mon,wed" (one word; lists are joined by the
 * caller) into weekday bits; -EINVAL. */
int sched_parse_weekdays(const char *s, uint8_t *ret);

#endif
