/* SPDX-License-Identifier: MIT */
/*
 * sched.c: when a schedule fires, in the gateway's local time.
 *
 * Dates are handled as day numbers (days since 1970-01-01 in the proleptic
 * Gregorian calendar) and wall-clock times as "local seconds": the day
 * number times 86400 plus the seconds after midnight, as if the zone were
 * UTC.  An instant t shows the local seconds t + gmtoff(t); turning local
 * seconds back into an instant is done here rather than by mktime(),
 * whose handling of a time in a DST gap or overlap depends on tm_isdst
 * guesses and differs between C libraries.
 *
 * Sun events belong to the solar day of the local date: the one whose
 * transit (solar noon) falls on that date.  Sunrise and dawn are the ones
 * before that transit, sunset and dusk the ones after it, even when they
 * fall after midnight: Reykjavik's sunset of June 21 is at 00:04 on June
 * 22, as almanacs print it, and a "sunset" schedule then fires once per
 * sunset with no day missed or doubled.
 *
 * Sun times are found here from libnova's ephemeris (the sun's position,
 * apparent sidereal time, precession) rather than taken from
 * ln_get_solar_rst_horizon(), which in libnova 0.16 is wrong twice:
 * - ln_get_solar_equ_coords() gives the sun's position referred to the
 *   mean equinox of J2000, while the rise/set code compares it with the
 *   sidereal time of date; the missing precession puts every event about
 *   95 s early in 2026, some 3.5 s more each year.  The position is
 *   precessed to the date here.
 * - Its single correction step (Meeus ch. 15) goes far off when the sun
 *   barely crosses the horizon: for civil dawn at 78.2N on 2027-01-30
 *   (the sun peaks at -5.86 degrees) it says there is none, and 85 min
 *   early with the position fixed.  Here the event is bracketed between
 *   solar noon and the lower culmination and found by bisection on the
 *   altitude, so it is as good as the ephemeris, and the bracket itself
 *   says whether the day has the event at all (polar day or night).
 * Against NOAA's solar calculator this agrees within about 10 s for
 * latitudes up to 65 degrees.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libnova/precession.h>
#include <libnova/sidereal_time.h>
#include <libnova/solar.h>

#include "sched.h"

#define DAY_S	      86400L
#define HALF_DAY_S    43200L
#define JD_UNIX_EPOCH 2440587.5
#define DEG	      (M_PI / 180.0)
#define YEAR_MIN      1
#define YEAR_MAX      9999

__attribute__((format(printf, 3, 4))) static void
sched_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	return zwtime_days_from_civil(y, m, d);
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t yy;

	zwtime_civil_from_days(z, &yy, m, d);
	*y = (int)yy; /* within YEAR_MIN..YEAR_MAX (+1): see sched_next */
}

static bool valid_date(int y, int m, int d)
{
	return y >= YEAR_MIN && y <= YEAR_MAX && zwtime_valid_date(y, m, d);
}

static int gmtoff_at(zwtime_t t, long *ret)
{
	struct tm tm;

	if (zwtime_to_local(t, &tm) < 0)
		return -EOVERFLOW;
	*ret = tm.tm_gmtoff;
	return 0;
}

static int local_day_of(zwtime_t t, int64_t *ret)
{
	struct tm tm;

	if (zwtime_to_local(t, &tm) < 0)
		return -EOVERFLOW;
	*ret = days_from_civil(tm.tm_year + 1900L, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

/*
 * For a wall time in a spring-forward gap: lo (still at the old offset)
 * and hi (already at the new one) bracket the transition, and the
 * transition is the answer, the first valid local time after the gap.
 */
static int gap_end(zwtime_t lo, zwtime_t hi, zwtime_t *ret)
{
	long off_lo, off;
	int r;

	r = gmtoff_at(lo, &off_lo);
	while (r == 0 && hi - lo > 1) {
		zwtime_t mid = lo + (hi - lo) / 2;

		r = gmtoff_at(mid, &off);
		if (r == 0 && off == off_lo)
			lo = mid;
		else
			hi = mid;
	}
	*ret = hi;
	return r;
}

/*
 * The instant at which the local clock shows `sec` seconds after midnight
 * of day number `day`: the first of two in a fall-back overlap, the end of
 * the gap for a time skipped by a spring-forward.  The offsets a day
 * before and after cover every zone (|offset| < 1 day) as long as a zone
 * changes offset at most once in two days.
 */
static int local_instant(int64_t day, long sec, zwtime_t *ret)
{
	zwtime_t wall = day * DAY_S + sec, best = 0;
	long off[3], lo_off, hi_off, o;
	bool found = false;
	int i, r;

	for (i = 0; i < 3; i++) {
		r = gmtoff_at(wall + (i - 1) * DAY_S, &off[i]);
		if (r < 0)
			return r;
	}
	lo_off = hi_off = off[0];
	for (i = 0; i < 3; i++) {
		zwtime_t t = wall - off[i];

		lo_off = off[i] < lo_off ? off[i] : lo_off;
		hi_off = off[i] > hi_off ? off[i] : hi_off;
		r = gmtoff_at(t, &o);
		if (r < 0)
			return r;
		if (o == off[i] && (!found || t < best)) {
			best = t;
			found = true;
		}
	}
	if (found) {
		*ret = best;
		return 0;
	}
	return gap_end(wall - hi_off, wall - lo_off, ret);
}

static double jd_of(zwtime_t t)
{
	return (double)t / DAY_S + JD_UNIX_EPOCH;
}

/* libnova gives the sun's position for J2000; the sky turns with the date. */
static void sun_equ_of_date(double jd, struct ln_equ_posn *pos)
{
	struct ln_equ_posn j2000;

	ln_get_solar_equ_coords(jd, &j2000);
	ln_get_equ_prec(&j2000, jd, pos);
}

/* The sun's hour angle (degrees, -180..180, 0 at transit) and altitude. */
static void sun_at(const struct sched_loc *loc, zwtime_t t, double *ha,
		   double *alt)
{
	double jd = jd_of(t), lat = loc->latitude * DEG, dec, s;
	struct ln_equ_posn e;

	sun_equ_of_date(jd, &e);
	*ha = remainder(ln_get_apparent_sidereal_time(jd) * 15.0 +
			    loc->longitude - e.ra,
			360.0);
	dec = e.dec * DEG;
	s = sin(lat) * sin(dec) + cos(lat) * cos(dec) * cos(*ha * DEG);
	/* Rounding must not take asin() out of its domain at a pole. */
	*alt = asin(fmax(-1.0, fmin(1.0, s))) / DEG;
}

/* The transit nearest `guess`: the hour angle grows 360 degrees a day. */
static zwtime_t sun_transit(const struct sched_loc *loc, zwtime_t guess)
{
	double ha, alt;
	int i;

	for (i = 0; i < 4; i++) {
		sun_at(loc, guess, &ha, &alt);
		guess -= (zwtime_t)llround(ha / 360.0 * DAY_S);
	}
	return guess;
}

/*
 * The second at which the altitude crosses `horizon` in [lo, hi], the sun
 * being below it at lo if rising (above if setting) and on the other side
 * at hi.  Between a lower and an upper culmination the altitude only
 * climbs, so bisection cannot miss.
 */
static zwtime_t sun_cross(const struct sched_loc *loc, zwtime_t lo, zwtime_t hi,
			  double horizon, bool rising)
{
	double ha, alt;

	while (hi - lo > 1) {
		zwtime_t mid = lo + (hi - lo) / 2;

		sun_at(loc, mid, &ha, &alt);
		if ((alt < horizon) == rising)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static bool valid_loc(const struct sched_loc *loc)
{
	return loc && isfinite(loc->latitude) && isfinite(loc->longitude) &&
	       fabs(loc->latitude) <= 90 && fabs(loc->longitude) <= 180;
}

static void sun_why(char *why, size_t len, enum sched_sun ev,
		    const struct sched_loc *loc, int64_t day, int polar)
{
	static const char *const what[] = {
		[SCHED_SUNRISE] = "the sun does not rise",
		[SCHED_SUNSET] = "the sun does not set",
		[SCHED_DAWN] = "there is no civil dawn",
		[SCHED_DUSK] = "there is no civil dusk",
	};
	bool civil = ev == SCHED_DAWN || ev == SCHED_DUSK;
	const char *because = "";
	int y, m, d;

	if (polar > 0)
		because = civil ? " (white night: the sun stays above -6 "
				  "degrees)"
				: " (polar day)";
	else if (polar < 0)
		because = civil ? " (polar night: the sun stays below -6 "
				  "degrees)"
				: " (polar night)";
	civil_from_days(day, &y, &m, &d);
	sched_why(why, len, "%s on %04d-%02d-%02d at %.1f%c%s", what[ev], y, m,
		  d, fabs(loc->latitude), loc->latitude < 0 ? 'S' : 'N',
		  because);
}

/*
 * sched_sun_time on a day number, once its arguments are checked.  The
 * solar noon of the day and the lower culmination 12 h before it (for a
 * rise) or after it (for a set) bracket the event; when the sun is on the
 * same side of the horizon at both, there is none: polar night when it is
 * below even at noon, polar day when it is above even at midnight.
 * Within a fraction of a degree of a pole, where the altitude hardly
 * changes in a day, the one sunset of the year can fall in the half day
 * that is not searched and be missed.
 */
static int sun_time_day(enum sched_sun ev, const struct sched_loc *loc,
			int64_t day, zwtime_t *ret, char *why, size_t whylen)
{
	bool rising = ev == SCHED_SUNRISE || ev == SCHED_DAWN;
	double horizon = ev == SCHED_SUNRISE || ev == SCHED_SUNSET
			     ? LN_SOLAR_STANDART_HORIZON
			     : LN_SOLAR_CIVIL_HORIZON;
	double ha, alt_noon, alt_far;
	zwtime_t t0, t1, noon, far;
	int r, polar = 0;

	r = local_instant(day, 0, &t0);
	if (r == 0)
		r = local_instant(day + 1, 0, &t1);
	if (r == 0)
		r = local_instant(day, HALF_DAY_S, &noon);
	if (r < 0)
		return r;
	noon = sun_transit(loc, noon);
	if (noon < t0 || noon >= t1) {
		sun_why(why, whylen, ev, loc, day, 0);
		return -ENOENT;
	}
	far = rising ? noon - HALF_DAY_S : noon + HALF_DAY_S;
	sun_at(loc, noon, &ha, &alt_noon);
	sun_at(loc, far, &ha, &alt_far);
	if (alt_noon < horizon)
		polar = -1;
	else if (alt_far >= horizon)
		polar = 1;
	if (polar) {
		sun_why(why, whylen, ev, loc, day, polar);
		return -ENOENT;
	}
	*ret = rising ? sun_cross(loc, far, noon, horizon, true)
		      : sun_cross(loc, noon, far, horizon, false);
	return 0;
}

int sched_sun_time(enum sched_sun ev, const struct sched_loc *loc, int y, int m,
		   int d, zwtime_t *ret, char *why, size_t whylen)
{
	if (ev < SCHED_SUNRISE || ev > SCHED_DUSK || !valid_loc(loc) ||
	    !valid_date(y, m, d) || !ret)
		return -EINVAL;
	return sun_time_day(ev, loc, days_from_civil(y, m, d), ret, why,
			    whylen);
}

static bool valid_spec(const struct sched_spec *s, const struct sched_loc *loc)
{
	if (!s || !s->weekdays || (s->weekdays & ~SCHED_ALL_DAYS))
		return false;
	if (s->kind == SCHED_TIME)
		return s->seconds >= 0 && s->seconds < DAY_S;
	if (s->kind != SCHED_SUN)
		return false;
	return s->sun >= SCHED_SUNRISE && s->sun <= SCHED_DUSK &&
	       s->offset_s >= -HALF_DAY_S && s->offset_s <= HALF_DAY_S &&
	       valid_loc(loc);
}

/* The firing of s for day number `day`; -ENOENT for a sunless day. */
static int firing_of_day(const struct sched_spec *s,
			 const struct sched_loc *loc, int64_t day,
			 zwtime_t *ret, char *why, size_t whylen)
{
	zwtime_t t;
	int r;

	if (s->kind == SCHED_TIME)
		return local_instant(day, s->seconds, ret);
	r = sun_time_day(s->sun, loc, day, &t, why, whylen);
	if (r == 0)
		*ret = t + s->offset_s;
	return r;
}

/*
 * Days are tried in order from the day before the local date of `after`:
 * a firing that belongs to one day can fall on the next (a sunset after
 * midnight, then up to 12 h of offset: by mid-afternoon at the latest),
 * never later, and the firings of successive days come in order, so the
 * first one past `after` is the answer.
 */
int sched_next(const struct sched_spec *s, const struct sched_loc *loc,
	       zwtime_t after, zwtime_t *ret, char *why, size_t whylen)
{
	char first_why[128] = "";
	int64_t day, today;
	zwtime_t t;
	int r;

	if (!valid_spec(s, loc) || !ret)
		return -EINVAL;
	r = local_day_of(after, &today);
	if (r < 0)
		return r;
	day = today - 1;
	for (; day <= today + SCHED_SEARCH_DAYS; day++) {
		bool first = day >= today && !first_why[0];

		if (!(s->weekdays & 1u << zwtime_weekday(day)))
			continue;
		r = firing_of_day(s, loc, day, &t, first ? first_why : NULL,
				  sizeof(first_why));
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (t > after) {
			*ret = t;
			return 0;
		}
	}
	sched_why(why, whylen, "none in the next %d days: %s",
		  SCHED_SEARCH_DAYS, first_why);
	return -ENOENT;
}

int sched_local_midnight(zwtime_t t, zwtime_t *ret)
{
	int64_t day;
	int r;

	r = local_day_of(t, &day);
	return r < 0 ? r : local_instant(day, 0, ret);
}

bool sched_catch_up(zwtime_t due, zwtime_t now, unsigned catch_up_s)
{
	if (due > now)
		return false;
	/* Unsigned, so that no pair of times can overflow. */
	return (uintmax_t)now - (uintmax_t)due <= catch_up_s;
}

/* synchronised: > 0 yes, 0 no, < 0 unknown (then the floor decides). */
bool sched_clock_trusted(zwtime_t now, zwtime_t floor, int synchronised)
{
	return now >= floor && synchronised != 0;
}

char *sched_iso8601(zwtime_t t, char *buf, size_t len)
{
	struct tm tm;
	long off;
	int n;

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	if (zwtime_to_local(t, &tm) < 0)
		return buf;
	off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, tm.tm_gmtoff < 0 ? '-' : '+',
		     off / 3600, off / 60 % 60);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly two digits at p, as a number, or -1. */
static int two_digits(const char *p)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

int sched_parse_clock(const char *s, int *ret)
{
	int h, m, sec = 0;
	const char *p = s;

	if (!s || !ret || !is_digit(*p))
		return -EINVAL;
	h = *p++ - '0';
	if (is_digit(*p))
		h = h * 10 + (*p++ - '0');
	if (*p++ != ':' || (m = two_digits(p)) < 0)
		return -EINVAL;
	p += 2;
	if (*p == ':') {
		if ((sec = two_digits(++p)) < 0)
			return -EINVAL;
		p += 2;
	}
	if (*p || h > 23 || m > 59 || sec > 59)
		return -EINVAL;
	*ret = h * 3600 + m * 60 + sec;
	return 0;
}

/*
 * Units in decreasing order, each at most once: "1h30m", not "30m1h" nor
 * "1h1h".  "500ms" fails because "m" must be followed by digits or the
 * end, and a schedule has no use for less than a second.
 */
int sched_parse_duration(const char *s, long *ret)
{
	static const struct {
		char unit;
		long secs;
	} units[] = { { 'd', DAY_S }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t next = 0, u;
	const char *p = s;
	long total = 0;

	if (!s || !ret || !*s)
		return -EINVAL;
	while (*p) {
		long n = 0;

		if (!is_digit(*p))
			return -EINVAL;
		for (; is_digit(*p); p++) {
			if (n > SCHED_DURATION_MAX_S)
				return -EINVAL;
			n = n * 10 + (*p - '0');
		}
		for (u = next; u < 4 && units[u].unit != *p; u++)
			;
		if (u == 4 || n > SCHED_DURATION_MAX_S / units[u].secs)
			return -EINVAL;
		total += n * units[u].secs;
		if (total > SCHED_DURATION_MAX_S)
			return -EINVAL;
		next = u + 1;
		p++;
	}
	if (total <= 0)
		return -EINVAL;
	*ret = total;
	return 0;
}

/* "mon" or "monday", any case, as 0 (Sunday) .. 6, or -1. */
static int weekday_name(const char *s, size_t n)
{
	static const char *const names[] = { "sunday",	  "monday",   "tuesday",
					     "wednesday", "thursday", "friday",
					     "saturday" };
	int i;

	for (i = 0; i < 7; i++) {
		if ((n == 3 || n == strlen(names[i])) &&
		    strncasecmp(s, names[i], n) == 0)
			return i;
	}
	return -1;
}

/* One day or one range "a..b" (wrapping past Saturday), of n bytes. */
static int weekday_item(const char *s, size_t n, uint8_t *bits)
{
	const char *dots = memchr(s, '.', n);
	int a, b;

	if (!dots) {
		a = b = weekday_name(s, n);
	} else {
		if ((size_t)(dots - s) + 2 > n || dots[1] != '.')
			return -EINVAL;
		a = weekday_name(s, (size_t)(dots - s));
		b = weekday_name(dots + 2, n - (size_t)(dots - s) - 2);
	}
	if (a < 0 || b < 0)
		return -EINVAL;
	for (;; a = (a + 1) % 7) {
		*bits |= 1u << a;
		if (a == b)
			break;
	}
	return 0;
}

/*
 * The rules parser hands one item at a time, but a comma list within the
 * word ("mon,wed") is taken too; an empty item is an error.
 */
int sched_parse_weekdays(const char *s, uint8_t *ret)
{
	uint8_t bits = 0;
	const char *p = s;

	if (!s || !ret)
		return -EINVAL;
	for (;;) {
		size_t n = strcspn(p, ",");

		if (weekday_item(p, n, &bits) < 0)
			return -EINVAL;
		if (!p[n])
			break;
		p += n + 1;
	}
	*ret = bits;
	return 0;
}
