/* SPDX-License-Identifier: MIT */
/*
 * rules_parse_words.c: the parser's reading: tokens (a clause ends at a
 * newline), errors at their places, skipping what is bad, and the words
 * of zwgate.rules(5): numbers, durations, clock times, days, time
 * points, node and value names, literals and comparisons.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"

#define RP_HOUR_S 3600
#define RP_DAY_S  86400

static const char *const rp_days[] = { "sun", "mon", "tue", "wed",
				       "thu", "fri", "sat", NULL };
static const char *const rp_days_long[] = { "sunday",	 "monday",   "tuesday",
					    "wednesday", "thursday", "friday",
					    "saturday",	 NULL };
static const char *const rp_suns[] = { "sunrise", "sunset", "dawn", "dusk",
				       NULL };
static const char *const rp_cmps_q[] = { "'=='", "'!='", "'<'",
					 "'<='", "'>'",	 "'>='" };

int rules_rp_word_index(const char *const *words, const char *w)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], w) == 0)
			return i;
	return -1;
}

bool rules_rp_is(const struct token *t, const char *w)
{
	return t->type == TOK_WORD && strcmp(t->text, w) == 0;
}

bool rules_rp_in(const struct token *t, const char *const *words)
{
	return t->type == TOK_WORD && rules_rp_word_index(words, t->text) >= 0;
}

/* A statement or clause ends here. */
bool rules_rp_at_end(const struct token *t)
{
	return t->nl_before || t->type == TOK_EOF || t->type == TOK_RBRACE ||
	       t->type == TOK_SEMI;
}

const struct token *rules_rp_take(struct rules_rp *p)
{
	const struct token *t = lex_next(p->lx);

	p->last_line = t->line;
	p->last_end =
	    t->col + (unsigned)t->len + (t->type == TOK_STRING ? 2 : 0);
	return t;
}

/*
 * The next token of a clause, which ends at a newline (outside { } of
 * conditions): there, an end-of-line token is given, not consumed.
 */
const struct token *rules_rp_peek(struct rules_rp *p)
{
	const struct token *t = lex_peek(p->lx);

	if ((t->nl_before && !p->group) || t->type == TOK_EOF) {
		p->eol = (struct token){ .type = TOK_EOF,
					 .text = (char *)"",
					 .line = p->last_line,
					 .col = p->last_end };
		return &p->eol;
	}
	return t;
}

const struct token *rules_rp_next(struct rules_rp *p)
{
	return rules_rp_peek(p) == &p->eol ? &p->eol : rules_rp_take(p);
}

void rules_rp_error(struct rules_rp *p, unsigned line, unsigned col,
		    const char *fmt, ...)
{
	char msg[RULES_RP_SHOW_MAX * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(p->diags, p->file, line, col, false, "%s", msg);
}

/* "expected WHAT after AFTER, not TOKEN" at t. */
bool rules_rp_expected(struct rules_rp *p, const struct token *t,
		       const char *what, const char *after)
{
	char shown[RULES_RP_SHOW_MAX];

	rules_rp_error(
	    p, t->line, t->col, "expected %s after %s, not %s", what, after,
	    t == &p->eol ? "end of line"
			 : lex_tok_describe(t, shown, sizeof(shown)));
	return false;
}

bool rules_rp_oom(struct rules_rp *p)
{
	p->err = -ENOMEM;
	return false;
}

struct rules_pos rules_rp_pos(const struct rules_rp *p, const struct token *t)
{
	return (struct rules_pos){ p->file, t->line, t->col };
}

bool rules_rp_dup(struct rules_rp *p, const struct token *t, char **ret)
{
	if (!(*ret = strdup(t->text)))
		return rules_rp_oom(p);
	return true;
}

/* Skips what is left of a clause, with the { } blocks in it. */
void rules_rp_skip(struct rules_rp *p)
{
	const struct token *t;
	size_t depth = 0;

	for (;;) {
		t = lex_peek(p->lx);
		if (t->type == TOK_EOF)
			return;
		if (depth == 0 && (t->nl_before || t->type == TOK_RBRACE))
			return;
		rules_rp_take(p);
		if (t->type == TOK_LBRACE)
			depth++;
		else if (t->type == TOK_RBRACE)
			depth--;
	}
}

/* After a '{' was read: through its matching '}'. */
void rules_rp_skip_block(struct rules_rp *p)
{
	const struct token *t;
	size_t depth = 1;

	while (depth) {
		t = rules_rp_take(p);
		if (t->type == TOK_LBRACE)
			depth++;
		else if (t->type == TOK_RBRACE)
			depth--;
		else if (t->type == TOK_EOF)
			return;
	}
}

/* "12", "-12.5": decimal only, as in zwgate.conf. */
bool rules_rp_number(const char *s, double *ret)
{
	const char *q = s;
	char *end;

	if (*q == '-' || *q == '+')
		q++;
	if (!(*q >= '0' && *q <= '9'))
		return false;
	for (; *q; q++)
		if (!strchr("0123456789.", *q))
			return false;
	*ret = strtod(s, &end);
	return *end == '\0' && isfinite(*ret);
}

/*
 * "15m", "90s", "1h30m", "2d" into seconds; false when malformed.  The
 * bound is checked before multiplying: "604800d" would overflow a 32-bit
 * long (armhf), which is undefined behaviour, not a big number.
 */
static bool rp_parse_duration(const char *s, long *ret)
{
	long total = 0, n, unit;
	char *end;

	if (!*s)
		return false;
	while (*s) {
		if (!(*s >= '0' && *s <= '9'))
			return false;
		n = strtol(s, &end, 10);
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = RP_HOUR_S;
			break;
		case 'd':
			unit = RP_DAY_S;
			break;
		default:
			return false;
		}
		if (n > RULES_DURATION_MAX_S / unit)
			return false;
		n *= unit;
		total += n;
		if (total > RULES_DURATION_MAX_S)
			return false;
		s = end + 1;
	}
	*ret = total;
	return true;
}

/* A duration token after `after`: 1 s to RULES_DURATION_MAX_S. */
bool rules_rp_duration(struct rules_rp *p, const char *after, long *ret)
{
	const struct token *t = rules_rp_next(p);

	if (t->type != TOK_WORD || !rp_parse_duration(t->text, ret) ||
	    *ret == 0)
		return rules_rp_expected(
		    p, t,
		    "a duration such as 90s, 15m, 1h30m or 2d "
		    "(at most 7d)",
		    after);
	return true;
}

/* "7:05", "23:30", "23:30:15" */
static bool rp_parse_clock(const char *s, int *ret)
{
	unsigned h, m, sec = 0;
	int n = 0;

	if (sscanf(s, "%2u:%2u%n", &h, &m, &n) == 2 && s[n] == '\0')
		goto check;
	n = 0;
	if (sscanf(s, "%2u:%2u:%2u%n", &h, &m, &sec, &n) != 3 || s[n] != '\0')
		return false;
check:
	if (!strchr("0123456789", s[0]) || h > 23 || m > 59 || sec > 59 ||
	    strlen(s) < 4 || s[strlen(s) - 3] != ':')
		return false;
	*ret = (int)(h * RP_HOUR_S + m * 60 + sec);
	return true;
}

static int rp_day(const char *w)
{
	int d = rules_rp_word_index(rp_days, w);

	return d >= 0 ? d : rules_rp_word_index(rp_days_long, w);
}

/* "mon", "mon..fri" (fri..mon wraps), "weekdays", "weekends", "daily" */
static bool rp_parse_days(const char *w, uint8_t *bits)
{
	char a[16];
	const char *dots = strstr(w, "..");
	int from, to;

	if (strcmp(w, "daily") == 0) {
		*bits |= SCHED_ALL_DAYS;
		return true;
	} else if (strcmp(w, "weekdays") == 0) {
		*bits |= 0x3e;
		return true;
	} else if (strcmp(w, "weekends") == 0) {
		*bits |= 0x41;
		return true;
	}
	if (!dots)
		from = to = rp_day(w);
	else if ((size_t)(dots - w) >= sizeof(a))
		return false;
	else {
		memcpy(a, w, (size_t)(dots - w));
		a[dots - w] = '\0';
		from = rp_day(a);
		to = rp_day(dots + 2);
	}
	if (from < 0 || to < 0)
		return false;
	for (int d = from;; d = (d + 1) % 7) {
		*bits |= (uint8_t)(1u << d);
		if (d == to)
			break;
	}
	return true;
}

/* A day list after `after`: "mon..fri", "sat,sun", "mon, wed". */
bool rules_rp_days_list(struct rules_rp *p, const char *after, uint8_t *ret)
{
	const struct token *t;

	*ret = 0;
	for (;;) {
		t = rules_rp_next(p);
		if (t->type != TOK_WORD || !rp_parse_days(t->text, ret))
			return rules_rp_expected(
			    p, t,
			    "days such as mon..fri, sat,sun "
			    "or weekends",
			    after);
		if (lex_peek(p->lx)->type != TOK_COMMA)
			return true;
		rules_rp_take(p);
		after = "','";
	}
}

/* 23:30, sunset, sunset -15m, dawn + 1h */
bool rules_rp_timepoint(struct rules_rp *p, const char *after,
			struct sched_spec *ret)
{
	const struct token *t = rules_rp_next(p);
	int sign = 0, sun;
	long off;

	memset(ret, 0, sizeof(*ret));
	ret->weekdays = SCHED_ALL_DAYS;
	if (t->type == TOK_WORD && rp_parse_clock(t->text, &ret->seconds)) {
		ret->kind = SCHED_TIME;
		return true;
	}
	if (t->type != TOK_WORD ||
	    (sun = rules_rp_word_index(rp_suns, t->text)) < 0)
		return rules_rp_expected(
		    p, t,
		    "a time such as 7:30 or 23:30, or sunrise, "
		    "sunset, dawn or dusk",
		    after);
	ret->kind = SCHED_SUN;
	ret->sun = (enum sched_sun)sun;
	t = lex_peek(p->lx);
	if (t->type != TOK_WORD || t->nl_before ||
	    (t->text[0] != '+' && t->text[0] != '-'))
		return true;
	t = rules_rp_take(p);
	sign = t->text[0] == '-' ? -1 : 1;
	if (t->text[1] == '\0') {
		t = rules_rp_next(p);
		if (t->type != TOK_WORD || !rp_parse_duration(t->text, &off))
			return rules_rp_expected(p, t, "an offset such as 15m",
						 sign < 0 ? "'-'" : "'+'");
	} else if (!rp_parse_duration(t->text + 1, &off)) {
		return rules_rp_expected(p, t, "an offset such as -15m or +1h",
					 rp_suns[sun]);
	}
	if (off > 12 * RP_HOUR_S) {
		rules_rp_error(p, t->line, t->col,
			       "an offset from %s is at most 12h",
			       rp_suns[sun]);
		return false;
	}
	ret->offset_s = sign * (int)off;
	return true;
}

bool rules_rp_node_name(struct rules_rp *p, const struct token *t,
			const char *after, struct rules_ref *ref)
{
	if (t->type != TOK_STRING && t->type != TOK_WORD)
		return rules_rp_expected(p, t, "a node name in quotes", after);
	if (t->len == 0 || t->len > REGISTRY_NAME_MAX) {
		rules_rp_error(p, t->line, t->col,
			       "a node name has 1 to %d bytes",
			       REGISTRY_NAME_MAX);
		return false;
	}
	ref->pos = rules_rp_pos(p, t);
	return rules_rp_dup(p, t, &ref->node);
}

/* The value name after a node: "switch", "level", "currentValue". */
bool rules_rp_value_name(struct rules_rp *p, struct rules_ref *ref)
{
	const struct token *t = rules_rp_next(p);
	char after[RULES_RP_SHOW_MAX];

	snprintf(after, sizeof(after), "node \"%s\"", ref->node);
	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return rules_rp_expected(
		    p, t, "a value name such as switch or level", after);
	if (t->len == 0 || t->len > LEX_TOKEN_MAX / 4) {
		rules_rp_error(p, t->line, t->col,
			       "a value name has 1 to %d bytes",
			       LEX_TOKEN_MAX / 4);
		return false;
	}
	ref->value_pos = rules_rp_pos(p, t);
	return rules_rp_dup(p, t, &ref->value);
}

/* A value as written: a word or a string ("on", "40", "-12", "text"). */
bool rules_rp_literal(struct rules_rp *p, const char *after, bool numeric,
		      char **ret, struct rules_pos *pos)
{
	const struct token *t = rules_rp_next(p);
	double d;

	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return rules_rp_expected(p, t, "a value", after);
	if (numeric && (t->type != TOK_WORD || !rules_rp_number(t->text, &d)))
		return rules_rp_expected(p, t, "a number", after);
	*pos = rules_rp_pos(p, t);
	return rules_rp_dup(p, t, ret);
}

/* is, is not, ==, !=, <, <=, >, >= */
bool rules_rp_cmp(struct rules_rp *p, const struct token *t,
		  enum rules_cmp *ret)
{
	int i;

	if (rules_rp_is(t, "is")) {
		*ret = RULES_EQ;
		if (rules_rp_is(rules_rp_peek(p), "not")) {
			rules_rp_take(p);
			*ret = RULES_NE;
		}
		return true;
	}
	if (t->type != TOK_WORD ||
	    (i = rules_rp_word_index(rules_cmp_words, t->text)) < 0)
		return false;
	*ret = (enum rules_cmp)i;
	return true;
}

const char *rules_rp_lit_after(enum rules_cmp c)
{
	return rules_cmp_is_ordered(c) ? rp_cmps_q[c] : "the comparison";
}

/* Both a word pair: "goes dead", "is online" into *up. */
bool rules_rp_updown(struct rules_rp *p, const char *after, const char *up,
		     const char *down, bool *ret)
{
	const struct token *t = rules_rp_next(p);
	char what[RULES_RP_SHOW_MAX];

	if (rules_rp_is(t, up) || rules_rp_is(t, down)) {
		*ret = rules_rp_is(t, up);
		return true;
	}
	snprintf(what, sizeof(what), "'%s' or '%s'", up, down);
	return rules_rp_expected(p, t, what, after);
}
