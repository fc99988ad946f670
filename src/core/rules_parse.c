/* SPDX-License-Identifier: MIT */
/*
 * rules_parse.c: zwgate.rules(5) statements into struct rules_set.
 *
 * One function a construct, each returning false after it reported an
 * error; the clause (or the statement, outside a rule's braces) is then
 * skipped, so one load reports every bad clause of every file.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "value.h"

#define RP_SHOW_MAX 128 /* a token as shown in a message */
#define RP_HOUR_S   3600
#define RP_DAY_S    86400

struct rp {
	struct rules_set *s;
	struct lexer *lx;
	struct diag_list *diags;
	const char *file; /* interned in s->files */
	int err;	  /* -ENOMEM */
	unsigned depth;	  /* of conditions */
	unsigned nconds;
	unsigned group; /* inside { } of conditions: newlines are blanks */
	bool in_braces;
	unsigned last_line, last_end; /* just after the last token read */
	struct token eol;	      /* what rp_next gives at a newline */
};

static const char *const rp_actions[] = { "set",     "run", "wait", "refresh",
					  "publish", "log", NULL };
static const char *const rp_days[] = { "sun", "mon", "tue", "wed",
				       "thu", "fri", "sat", NULL };
static const char *const rp_days_long[] = { "sunday",	 "monday",   "tuesday",
					    "wednesday", "thursday", "friday",
					    "saturday",	 NULL };
static const char *const rp_suns[] = { "sunrise", "sunset", "dawn", "dusk",
				       NULL };
static const char *const rp_modes[] = { "single", "restart", "queued",
					"parallel", NULL };
static const char *const rp_cmps[] = { "==", "!=", "<", "<=", ">", ">=", NULL };
static const char *const rp_cmps_q[] = { "'=='", "'!='", "'<'",
					 "'<='", "'>'",	 "'>='" };

static int rp_word_index(const char *const *words, const char *w)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], w) == 0)
			return i;
	return -1;
}

static bool rp_is(const struct token *t, const char *w)
{
	return t->type == TOK_WORD && strcmp(t->text, w) == 0;
}

static bool rp_in(const struct token *t, const char *const *words)
{
	return t->type == TOK_WORD && rp_word_index(words, t->text) >= 0;
}

/* A statement or clause ends here. */
static bool rp_at_end(const struct token *t)
{
	return t->nl_before || t->type == TOK_EOF || t->type == TOK_RBRACE ||
	       t->type == TOK_SEMI;
}

static const struct token *rp_take(struct rp *p)
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
static const struct token *rp_peek(struct rp *p)
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

static const struct token *rp_next(struct rp *p)
{
	return rp_peek(p) == &p->eol ? &p->eol : rp_take(p);
}

static void rp_error(struct rp *p, unsigned line, unsigned col, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

static void rp_error(struct rp *p, unsigned line, unsigned col, const char *fmt,
		     ...)
{
	char msg[RP_SHOW_MAX * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(p->diags, p->file, line, col, false, "%s", msg);
}

/* "expected WHAT after AFTER, not TOKEN" at t. */
static bool rp_expected(struct rp *p, const struct token *t, const char *what,
			const char *after)
{
	char shown[RP_SHOW_MAX];

	rp_error(p, t->line, t->col, "expected %s after %s, not %s", what,
		 after,
		 t == &p->eol ? "end of line"
			      : lex_tok_describe(t, shown, sizeof(shown)));
	return false;
}

static bool rp_oom(struct rp *p)
{
	p->err = -ENOMEM;
	return false;
}

static struct rules_pos rp_pos(const struct rp *p, const struct token *t)
{
	return (struct rules_pos){ p->file, t->line, t->col };
}

static bool rp_dup(struct rp *p, const struct token *t, char **ret)
{
	if (!(*ret = strdup(t->text)))
		return rp_oom(p);
	return true;
}

/* Skips what is left of a clause, with the { } blocks in it. */
static void rp_skip(struct rp *p)
{
	const struct token *t;
	size_t depth = 0;

	for (;;) {
		t = lex_peek(p->lx);
		if (t->type == TOK_EOF)
			return;
		if (depth == 0 && (t->nl_before || t->type == TOK_RBRACE))
			return;
		rp_take(p);
		if (t->type == TOK_LBRACE)
			depth++;
		else if (t->type == TOK_RBRACE)
			depth--;
	}
}

/* After a '{' was read: through its matching '}'. */
static void rp_skip_block(struct rp *p)
{
	const struct token *t;
	size_t depth = 1;

	while (depth) {
		t = rp_take(p);
		if (t->type == TOK_LBRACE)
			depth++;
		else if (t->type == TOK_RBRACE)
			depth--;
		else if (t->type == TOK_EOF)
			return;
	}
}

/* "12", "-12.5": decimal only, as in zwgate.conf. */
static bool rp_number(const char *s, double *ret)
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
static bool rp_duration(struct rp *p, const char *after, long *ret)
{
	const struct token *t = rp_next(p);

	if (t->type != TOK_WORD || !rp_parse_duration(t->text, ret) ||
	    *ret == 0)
		return rp_expected(p, t,
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
	int d = rp_word_index(rp_days, w);

	return d >= 0 ? d : rp_word_index(rp_days_long, w);
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
static bool rp_days_list(struct rp *p, const char *after, uint8_t *ret)
{
	const struct token *t;

	*ret = 0;
	for (;;) {
		t = rp_next(p);
		if (t->type != TOK_WORD || !rp_parse_days(t->text, ret))
			return rp_expected(p, t,
					   "days such as mon..fri, sat,sun "
					   "or weekends",
					   after);
		if (lex_peek(p->lx)->type != TOK_COMMA)
			return true;
		rp_take(p);
		after = "','";
	}
}

/* 23:30, sunset, sunset -15m, dawn + 1h */
static bool rp_timepoint(struct rp *p, const char *after,
			 struct sched_spec *ret)
{
	const struct token *t = rp_next(p);
	int sign = 0, sun;
	long off;

	memset(ret, 0, sizeof(*ret));
	ret->weekdays = SCHED_ALL_DAYS;
	if (t->type == TOK_WORD && rp_parse_clock(t->text, &ret->seconds)) {
		ret->kind = SCHED_TIME;
		return true;
	}
	if (t->type != TOK_WORD || (sun = rp_word_index(rp_suns, t->text)) < 0)
		return rp_expected(p, t,
				   "a time such as 7:30 or 23:30, or sunrise, "
				   "sunset, dawn or dusk",
				   after);
	ret->kind = SCHED_SUN;
	ret->sun = (enum sched_sun)sun;
	t = lex_peek(p->lx);
	if (t->type != TOK_WORD || t->nl_before ||
	    (t->text[0] != '+' && t->text[0] != '-'))
		return true;
	t = rp_take(p);
	sign = t->text[0] == '-' ? -1 : 1;
	if (t->text[1] == '\0') {
		t = rp_next(p);
		if (t->type != TOK_WORD || !rp_parse_duration(t->text, &off))
			return rp_expected(p, t, "an offset such as 15m",
					   sign < 0 ? "'-'" : "'+'");
	} else if (!rp_parse_duration(t->text + 1, &off)) {
		return rp_expected(p, t, "an offset such as -15m or +1h",
				   rp_suns[sun]);
	}
	if (off > 12 * RP_HOUR_S) {
		rp_error(p, t->line, t->col, "an offset from %s is at most 12h",
			 rp_suns[sun]);
		return false;
	}
	ret->offset_s = sign * (int)off;
	return true;
}

static bool rp_node_name(struct rp *p, const struct token *t, const char *after,
			 struct rules_ref *ref)
{
	if (t->type != TOK_STRING && t->type != TOK_WORD)
		return rp_expected(p, t, "a node name in quotes", after);
	if (t->len == 0 || t->len > REG_NAME_MAX) {
		rp_error(p, t->line, t->col, "a node name has 1 to %d bytes",
			 REG_NAME_MAX);
		return false;
	}
	ref->pos = rp_pos(p, t);
	return rp_dup(p, t, &ref->node);
}

/* The value name after a node: "switch", "level", "currentValue". */
static bool rp_value_name(struct rp *p, struct rules_ref *ref)
{
	const struct token *t = rp_next(p);
	char after[RP_SHOW_MAX];

	snprintf(after, sizeof(after), "node \"%s\"", ref->node);
	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return rp_expected(p, t, "a value name such as switch or level",
				   after);
	if (t->len == 0 || t->len > LEX_TOKEN_MAX / 4) {
		rp_error(p, t->line, t->col, "a value name has 1 to %d bytes",
			 LEX_TOKEN_MAX / 4);
		return false;
	}
	ref->value_pos = rp_pos(p, t);
	return rp_dup(p, t, &ref->value);
}

/* A value as written: a word or a string ("on", "40", "-12", "text"). */
static bool rp_literal(struct rp *p, const char *after, bool numeric,
		       char **ret, struct rules_pos *pos)
{
	const struct token *t = rp_next(p);
	double d;

	if (t->type != TOK_WORD && t->type != TOK_STRING)
		return rp_expected(p, t, "a value", after);
	if (numeric && (t->type != TOK_WORD || !rp_number(t->text, &d)))
		return rp_expected(p, t, "a number", after);
	*pos = rp_pos(p, t);
	return rp_dup(p, t, ret);
}

/* is, is not, ==, !=, <, <=, >, >= */
static bool rp_cmp(struct rp *p, const struct token *t, enum rules_cmp *ret)
{
	int i;

	if (rp_is(t, "is")) {
		*ret = RULES_EQ;
		if (rp_is(rp_peek(p), "not")) {
			rp_take(p);
			*ret = RULES_NE;
		}
		return true;
	}
	if (t->type != TOK_WORD || (i = rp_word_index(rp_cmps, t->text)) < 0)
		return false;
	*ret = (enum rules_cmp)i;
	return true;
}

static const char *rp_lit_after(enum rules_cmp c)
{
	return rules_cmp_is_ordered(c) ? rp_cmps_q[c] : "the comparison";
}

/* Both a word pair: "goes dead", "is online" into *up. */
static bool rp_updown(struct rp *p, const char *after, const char *up,
		      const char *down, bool *ret)
{
	const struct token *t = rp_next(p);
	char what[RP_SHOW_MAX];

	if (rp_is(t, up) || rp_is(t, down)) {
		*ret = rp_is(t, up);
		return true;
	}
	snprintf(what, sizeof(what), "'%s' or '%s'", up, down);
	return rp_expected(p, t, what, after);
}

/* Conditions. */

static struct rules_cond *rp_or(struct rp *p);

static struct rules_cond *rp_cond_new(struct rp *p, enum rules_cond_type type,
				      const struct token *t)
{
	struct rules_cond *c = calloc(1, sizeof(*c));

	if (!c) {
		rp_oom(p);
		return NULL;
	}
	c->type = type;
	c->pos = rp_pos(p, t);
	return c;
}

static void rp_cond_free(struct rules_cond *c)
{
	if (!c)
		return;
	rp_cond_free(c->a);
	rp_cond_free(c->b);
	free(c->ref.node);
	free(c->ref.value);
	free(c->lit);
	free(c);
}

/* time between A and B | time after A | time before B */
static bool rp_cond_time(struct rp *p, struct rules_cond *c)
{
	const struct token *t = rp_next(p);

	if (rp_is(t, "between")) {
		c->has_from = c->has_to = true;
		if (!rp_timepoint(p, "'between'", &c->from))
			return false;
		t = rp_next(p);
		if (!rp_is(t, "and"))
			return rp_expected(p, t, "'and'",
					   "the start of 'between'");
		return rp_timepoint(p, "'and'", &c->to);
	} else if (rp_is(t, "after")) {
		c->has_from = true;
		return rp_timepoint(p, "'after'", &c->from);
	} else if (rp_is(t, "before")) {
		c->has_to = true;
		return rp_timepoint(p, "'before'", &c->to);
	}
	return rp_expected(p, t, "'between', 'after' or 'before'", "'time'");
}

/* "node" is alive | "node" value is [not] X | "node" value > 12 */
static bool rp_cond_node(struct rp *p, const struct token *t,
			 struct rules_cond *c)
{
	char after[RP_SHOW_MAX];

	if (!rp_node_name(p, t, "'if'", &c->ref))
		return false;
	if (rp_is(rp_peek(p), "is")) {
		rp_take(p);
		c->type = RULES_COND_NODE;
		return rp_updown(p, "'is'", "alive", "dead", &c->up);
	}
	if (!rp_value_name(p, &c->ref))
		return false;
	snprintf(after, sizeof(after), "\"%s\" %s", c->ref.node, c->ref.value);
	t = rp_next(p);
	if (!rp_cmp(p, t, &c->cmp))
		return rp_expected(
		    p, t, "'is', 'is not', ==, !=, <, <=, > or >=", after);
	return rp_literal(p, rp_lit_after(c->cmp), rules_cmp_is_ordered(c->cmp),
			  &c->lit, &c->lit_pos);
}

static bool rp_cond_atom(struct rp *p, const struct token *t,
			 struct rules_cond *c)
{
	if (rp_is(t, "time")) {
		c->type = RULES_COND_TIME;
		return rp_cond_time(p, c);
	} else if (rp_is(t, "day") || rp_is(t, "weekday")) {
		c->type = RULES_COND_DAY;
		t = rp_next(p);
		if (!rp_is(t, "is"))
			return rp_expected(p, t, "'is'", "'day'");
		return rp_days_list(p, "'is'", &c->weekdays);
	} else if (rp_is(t, "sun")) {
		c->type = RULES_COND_SUN;
		t = rp_next(p);
		if (!rp_is(t, "is"))
			return rp_expected(p, t, "'is'", "'sun'");
		return rp_updown(p, "'is'", "up", "down", &c->up);
	} else if (rp_is(t, "cloud")) {
		c->type = RULES_COND_CLOUD;
		t = rp_next(p);
		if (!rp_is(t, "is"))
			return rp_expected(p, t, "'is'", "'cloud'");
		return rp_updown(p, "'is'", "online", "offline", &c->up);
	} else if (t->type == TOK_STRING) {
		c->type = RULES_COND_VALUE;
		return rp_cond_node(p, t, c);
	}
	return rp_expected(
	    p, t,
	    "a condition (\"node\" value is ..., time, day, sun, "
	    "cloud, not or '{')",
	    "'if'");
}

/* not X | { X } | atom */
static struct rules_cond *rp_unary(struct rp *p)
{
	const struct token *t = rp_next(p);
	struct rules_cond *c;
	unsigned line = t->line, col = t->col;

	if (++p->depth > RULES_COND_DEPTH) {
		rp_error(p, line, col, "conditions nest at most %d deep",
			 RULES_COND_DEPTH);
		return NULL;
	}
	if (rp_is(t, "not")) {
		if (!(c = rp_cond_new(p, RULES_COND_NOT, t)))
			return NULL;
		if (!(c->a = rp_unary(p)))
			goto fail;
	} else if (t->type == TOK_LBRACE) {
		p->group++;
		c = rp_or(p);
		p->group--;
		if (!c)
			return NULL;
		t = rp_take(p);
		if (t->type != TOK_RBRACE) {
			rp_expected(p, t, "'}' or a condition", "a condition");
			goto fail;
		}
	} else {
		if (++p->nconds > RULES_COND_MAX) {
			rp_error(p, line, col,
				 "a rule has at most %d comparisons",
				 RULES_COND_MAX);
			return NULL;
		}
		if (!(c = rp_cond_new(p, RULES_COND_VALUE, t)))
			return NULL;
		if (!rp_cond_atom(p, t, c))
			goto fail;
	}
	p->depth--;
	return c;
fail:
	rp_cond_free(c);
	return NULL;
}

static struct rules_cond *rp_binary(struct rp *p, const char *op,
				    enum rules_cond_type type,
				    struct rules_cond *(*sub)(struct rp *))
{
	struct rules_cond *c = sub(p), *n;
	const struct token *t;

	while (c && rp_is(lex_peek(p->lx), op)) {
		t = rp_take(p);
		if (!(n = rp_cond_new(p, type, t))) {
			rp_cond_free(c);
			return NULL;
		}
		n->a = c;
		c = n;
		if (!(c->b = sub(p))) {
			rp_cond_free(c);
			return NULL;
		}
	}
	return c;
}

static struct rules_cond *rp_and(struct rp *p)
{
	return rp_binary(p, "and", RULES_COND_AND, rp_unary);
}

static struct rules_cond *rp_or(struct rp *p)
{
	return rp_binary(p, "or", RULES_COND_OR, rp_and);
}

/* Triggers. */

/* after when "node": goes dead | value becomes X | changes | > X */
static bool rp_trig_value(struct rp *p, struct rules_trigger *g)
{
	const struct token *t;
	char after[RP_SHOW_MAX];

	if (rp_is(rp_peek(p), "goes")) {
		rp_take(p);
		g->type = RULES_TRIG_NODE;
		return rp_updown(p, "'goes'", "alive", "dead", &g->up);
	}
	if (!rp_value_name(p, &g->ref))
		return false;
	snprintf(after, sizeof(after), "\"%s\" %s", g->ref.node, g->ref.value);
	t = rp_next(p);
	if (rp_is(t, "changes")) {
		g->type = RULES_TRIG_CHANGES;
		return true;
	} else if (rp_is(t, "becomes")) {
		g->type = RULES_TRIG_BECOMES;
		g->cmp = RULES_EQ;
		if (!rp_literal(p, "'becomes'", false, &g->lit, &g->lit_pos))
			return false;
	} else if (rp_cmp(p, t, &g->cmp)) {
		g->type =
		    g->cmp == RULES_EQ ? RULES_TRIG_BECOMES : RULES_TRIG_CMP;
		if (!rp_literal(p, rp_lit_after(g->cmp),
				rules_cmp_is_ordered(g->cmp), &g->lit,
				&g->lit_pos))
			return false;
	} else {
		return rp_expected(p, t,
				   "'becomes', 'changes', 'is', ==, !=, <, <=, "
				   "> or >=",
				   after);
	}
	if (!rp_is(rp_peek(p), "for"))
		return true;
	rp_take(p);
	return rp_duration(p, "'for'", &g->for_s);
}

static bool rp_trig_when(struct rp *p, struct rules_trigger *g)
{
	const struct token *t = rp_next(p);

	g->pos = rp_pos(p, t);
	if (rp_is(t, "gateway")) {
		g->type = RULES_TRIG_START;
		t = rp_next(p);
		if (!rp_is(t, "starts"))
			return rp_expected(p, t, "'starts'", "'gateway'");
		return true;
	} else if (rp_is(t, "cloud")) {
		g->type = RULES_TRIG_CLOUD;
		t = rp_next(p);
		if (!rp_is(t, "goes"))
			return rp_expected(p, t, "'goes'", "'cloud'");
		return rp_updown(p, "'goes'", "online", "offline", &g->up);
	} else if (t->type == TOK_STRING) {
		return rp_node_name(p, t, "'when'", &g->ref) &&
		       rp_trig_value(p, g);
	}
	return rp_expected(p, t, "a node name in quotes, 'cloud' or 'gateway'",
			   "'when'");
}

static bool rp_trig_at(struct rp *p, const struct token *kw,
		       struct rules_trigger *g)
{
	g->type = RULES_TRIG_AT;
	g->pos = rp_pos(p, kw);
	if (!rp_timepoint(p, "'at'", &g->at))
		return false;
	if (!rp_is(rp_peek(p), "on"))
		return true;
	rp_take(p);
	return rp_days_list(p, "'on'", &g->at.weekdays);
}

static bool rp_trig_every(struct rp *p, const struct token *kw,
			  struct rules_trigger *g)
{
	g->type = RULES_TRIG_EVERY;
	g->pos = rp_pos(p, kw);
	return rp_duration(p, "'every'", &g->every_s);
}

static void rp_trig_clear(struct rules_trigger *g)
{
	free(g->ref.node);
	free(g->ref.value);
	free(g->lit);
}

/* Actions. */

static void rp_act_clear(struct rules_action *a)
{
	free(a->ref.node);
	free(a->ref.value);
	free(a->text);
	free(a->payload);
}

static bool rp_string(struct rp *p, const char *what, const char *after,
		      size_t max, char **ret, struct rules_pos *pos)
{
	const struct token *t = rp_next(p);

	if (t->type != TOK_STRING)
		return rp_expected(p, t, what, after);
	if (t->len == 0 || t->len > max) {
		rp_error(p, t->line, t->col, "%s has 1 to %zu bytes", what,
			 max);
		return false;
	}
	if (pos)
		*pos = rp_pos(p, t);
	return rp_dup(p, t, ret);
}

static bool rp_act_publish(struct rp *p, struct rules_action *a)
{
	char why[RP_SHOW_MAX * 2];

	if (!rp_string(p, "a topic in quotes", "'publish'", RULES_TOPIC_MAX,
		       &a->text, &a->text_pos))
		return false;
	if (rules_topic_check(a->text, why, sizeof(why)) < 0) {
		rp_error(p, a->text_pos.line, a->text_pos.col, "%s", why);
		return false;
	}
	return rp_string(p, "a payload in quotes", "the topic", RULES_TEXT_MAX,
			 &a->payload, NULL);
}

/* nl: the action may start a line (in braces, or first in a scene). */
static bool rp_action(struct rp *p, struct rules_action *a, bool nl)
{
	const struct token *t = nl ? rp_take(p) : rp_next(p);
	int i = t->type == TOK_WORD ? rp_word_index(rp_actions, t->text) : -1;

	a->pos = rp_pos(p, t);
	switch (i) {
	case 0:
		a->type = RULES_ACT_SET;
		return rp_node_name(p, rp_next(p), "'set'", &a->ref) &&
		       rp_value_name(p, &a->ref) &&
		       rp_literal(p, "the value name", false, &a->text,
				  &a->text_pos);
	case 1:
		a->type = RULES_ACT_SCENE;
		if (rp_is(rp_peek(p), "scene"))
			rp_take(p);
		return rp_string(p, "a scene name in quotes", "'run'",
				 RULES_NAME_MAX, &a->text, &a->text_pos);
	case 2:
		a->type = RULES_ACT_WAIT;
		return rp_duration(p, "'wait'", &a->wait_s);
	case 3:
		a->type = RULES_ACT_REFRESH;
		return rp_node_name(p, rp_next(p), "'refresh'", &a->ref);
	case 4:
		a->type = RULES_ACT_PUBLISH;
		return rp_act_publish(p, a);
	case 5:
		a->type = RULES_ACT_LOG;
		return rp_string(p, "a message in quotes", "'log'",
				 RULES_TEXT_MAX, &a->text, &a->text_pos);
	}
	return rp_expected(
	    p, t, "an action (set, run, wait, refresh, publish or log)",
	    "'do'");
}

static bool rp_add_action(struct rp *p, struct rules_action **acts, size_t *n,
			  bool nl)
{
	struct rules_action *na;
	const struct token *t = lex_peek(p->lx);

	if (*n >= RULES_ACTIONS_MAX) {
		rp_error(p, t->line, t->col,
			 "at most %d actions a rule or scene",
			 RULES_ACTIONS_MAX);
		return false;
	}
	if (!(na = realloc(*acts, (*n + 1) * sizeof(*na))))
		return rp_oom(p);
	*acts = na;
	memset(&na[*n], 0, sizeof(*na));
	if (!rp_action(p, &na[*n], nl)) {
		rp_act_clear(&na[*n]);
		return false;
	}
	(*n)++;
	return true;
}

/*
 * Actions separated by ';' or newlines.  In braces, a new line that starts
 * with an action word goes on; anything else ends the list (a clause
 * keyword, '}', or the end of an every-statement's line).
 */
static bool rp_actions_list(struct rp *p, struct rules_action **acts, size_t *n,
			    bool nl)
{
	const struct token *t;

	for (;;) {
		if (!rp_add_action(p, acts, n, nl))
			return false;
		nl = p->in_braces;
		t = lex_peek(p->lx);
		if (t->type == TOK_SEMI) {
			rp_take(p);
			t = lex_peek(p->lx);
			if (t->type == TOK_RBRACE || t->type == TOK_EOF ||
			    (t->nl_before && !rp_in(t, rp_actions)))
				return true;
			continue;
		}
		if (!(t->nl_before && p->in_braces && rp_in(t, rp_actions)))
			return true;
	}
}

/* Rules, scenes and every-statements. */

static void rp_rule_clear(struct rules_rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->ntrigs; i++)
		rp_trig_clear(&r->trigs[i]);
	free(r->trigs);
	rp_cond_free(r->cond);
	for (size_t i = 0; i < r->nacts; i++)
		rp_act_clear(&r->acts[i]);
	free(r->acts);
}

static void rp_scene_clear(struct rules_scene *sc)
{
	free(sc->name);
	for (size_t i = 0; i < sc->nacts; i++)
		rp_act_clear(&sc->acts[i]);
	free(sc->acts);
}

static struct rules_trigger *rp_add_trig(struct rp *p, struct rules_rule *r,
					 const struct token *kw)
{
	struct rules_trigger *n;

	if (r->ntrigs >= RULES_TRIGGERS_MAX) {
		rp_error(p, kw->line, kw->col,
			 "a rule has at most %d at, every and when clauses",
			 RULES_TRIGGERS_MAX);
		return NULL;
	}
	if (!(n = realloc(r->trigs, (r->ntrigs + 1) * sizeof(*n)))) {
		rp_oom(p);
		return NULL;
	}
	r->trigs = n;
	memset(&n[r->ntrigs], 0, sizeof(*n));
	return &n[r->ntrigs++];
}

/* if: several are joined by "and". */
static bool rp_clause_if(struct rp *p, struct rules_rule *r,
			 const struct token *kw)
{
	struct rules_cond *c, *both;

	p->depth = 0;
	p->group = 0;
	if (!(c = rp_or(p)))
		return false;
	if (!r->cond) {
		r->cond = c;
		return true;
	}
	if (!(both = rp_cond_new(p, RULES_COND_AND, kw))) {
		rp_cond_free(c);
		return false;
	}
	both->a = r->cond;
	both->b = c;
	r->cond = both;
	return true;
}

/* mode single | restart | queued [max N] | parallel [max N] */
static bool rp_clause_mode(struct rp *p, struct rules_rule *r)
{
	const struct token *t = rp_next(p);
	int m = t->type == TOK_WORD ? rp_word_index(rp_modes, t->text) : -1;
	double d;

	if (m < 0)
		return rp_expected(p, t, "single, restart, queued or parallel",
				   "'mode'");
	r->mode = (enum rules_mode)m;
	if (!rp_is(rp_peek(p), "max"))
		return true;
	t = rp_next(p);
	if (r->mode != RULES_MODE_QUEUED && r->mode != RULES_MODE_PARALLEL) {
		rp_error(p, t->line, t->col,
			 "'max' goes with queued and parallel only");
		return false;
	}
	t = rp_next(p);
	if (t->type != TOK_WORD || !rp_number(t->text, &d) || d != floor(d) ||
	    d < 1 || d > RULES_RUNS_MAX) {
		rp_error(p, t->line, t->col,
			 "expected 1 to %d runs after 'max'", RULES_RUNS_MAX);
		return false;
	}
	r->max_runs = (unsigned)d;
	return true;
}

/* catch-up DURATION | catch-up off */
static bool rp_clause_catch_up(struct rp *p, struct rules_rule *r)
{
	const struct token *t = rp_peek(p);
	unsigned line = t->line, col = t->col;

	if (rp_is(t, "off")) {
		rp_take(p);
		r->catch_up_s = 0;
		return true;
	}
	if (!rp_duration(p, "'catch-up'", &r->catch_up_s))
		return false;
	if (r->catch_up_s > RULES_CATCH_UP_MAX_S) {
		rp_error(p, line, col, "catch-up is at most 1d");
		return false;
	}
	return true;
}

static bool rp_clause(struct rp *p, struct rules_rule *r,
		      const struct token *kw)
{
	struct rules_trigger *g;
	char shown[RP_SHOW_MAX];

	if (rp_is(kw, "at") || rp_is(kw, "every") || rp_is(kw, "when")) {
		if (!(g = rp_add_trig(p, r, kw)))
			return false;
		if (rp_is(kw, "at"))
			return rp_trig_at(p, kw, g);
		if (rp_is(kw, "every"))
			return rp_trig_every(p, kw, g);
		return rp_trig_when(p, g);
	} else if (rp_is(kw, "if")) {
		return rp_clause_if(p, r, kw);
	} else if (rp_is(kw, "do")) {
		return rp_actions_list(p, &r->acts, &r->nacts, false);
	} else if (rp_is(kw, "mode")) {
		return rp_clause_mode(p, r);
	} else if (rp_is(kw, "catch-up")) {
		return rp_clause_catch_up(p, r);
	}
	rp_error(p, kw->line, kw->col,
		 "expected at, every, when, if, do, mode or catch-up in a "
		 "rule, not %s",
		 lex_tok_describe(kw, shown, sizeof(shown)));
	return false;
}

/* A clause ends at a newline, ';' or '}'. */
static bool rp_clause_end(struct rp *p, const char *what)
{
	const struct token *t = lex_peek(p->lx);
	char shown[RP_SHOW_MAX];

	if (t->type == TOK_SEMI) {
		rp_take(p);
		return true;
	}
	if (rp_at_end(t))
		return true;
	rp_error(p, t->line, t->col, "unexpected %s after %s",
		 lex_tok_describe(t, shown, sizeof(shown)), what);
	return false;
}

/* The clauses up to '}'; false when the file ended first. */
static bool rp_rule_body(struct rp *p, struct rules_rule *r,
			 const struct token *open)
{
	unsigned bline = open->line, bcol = open->col;
	const struct token *t;
	struct token kw;
	char kwtext[16];

	for (;;) {
		t = rp_take(p);
		if (t->type == TOK_RBRACE)
			return true;
		if (t->type == TOK_EOF) {
			rp_error(p, t->line, t->col,
				 "'{' at %u:%u is never closed", bline, bcol);
			return false;
		}
		if (t->type == TOK_SEMI)
			continue;
		kw = *t;
		snprintf(kwtext, sizeof(kwtext), "'%s'",
			 t->type == TOK_WORD ? t->text : "?");
		if (!rp_clause(p, r, &kw) || !rp_clause_end(p, kwtext))
			rp_skip(p);
		if (p->err)
			return false;
	}
}

/* After a bad name: the rest of the statement, with its { } block. */
static void rp_skip_statement(struct rp *p, const struct token *t)
{
	if (t->type != TOK_LBRACE) {
		rp_skip(p);
		if (lex_peek(p->lx)->type != TOK_LBRACE)
			return;
		rp_take(p);
	}
	rp_skip_block(p);
}

static bool rp_name_ok(struct rp *p, const struct token *t, const char *what)
{
	if (t->type != TOK_STRING && t->type != TOK_WORD) {
		char after[RP_SHOW_MAX];

		snprintf(after, sizeof(after), "'%s'", what);
		return rp_expected(p, t, "a name in quotes", after);
	}
	if (t->len == 0 || t->len > RULES_NAME_MAX ||
	    !value_text_valid(t->text, t->len)) {
		rp_error(p, t->line, t->col,
			 "a %s name has 1 to %d bytes of printable text", what,
			 RULES_NAME_MAX);
		return false;
	}
	return true;
}

static bool rp_rule_check(struct rp *p, struct rules_rule *r)
{
	const struct rules_rule *o;

	if (!r->ntrigs)
		rp_error(p, r->pos.line, r->pos.col,
			 "rule \"%s\" has no at, every or when clause",
			 r->name);
	else if (!r->nacts)
		rp_error(p, r->pos.line, r->pos.col,
			 "rule \"%s\" has no do clause", r->name);
	else if ((o = rules_find_rule(p->s, r->name)))
		rp_error(p, r->pos.line, r->pos.col,
			 "rule \"%s\" is already defined at %s:%u:%u", r->name,
			 o->pos.file, o->pos.line, o->pos.col);
	else if (p->s->nrules >= RULES_MAX)
		rp_error(p, r->pos.line, r->pos.col, "at most %d rules",
			 RULES_MAX);
	else
		return true;
	return false;
}

static bool rp_add_rule(struct rp *p, struct rules_rule *r)
{
	struct rules_set *s = p->s;
	struct rules_rule *n;

	if (!rp_rule_check(p, r))
		return false;
	if (s->nrules == s->caprules) {
		size_t cap = s->caprules ? 2 * s->caprules : 16;

		if (!(n = realloc(s->rules, cap * sizeof(*n))))
			return rp_oom(p);
		s->rules = n;
		s->caprules = cap;
	}
	if (!r->max_runs)
		r->max_runs = r->mode == RULES_MODE_QUEUED ||
				      r->mode == RULES_MODE_PARALLEL
				  ? RULES_RUNS_DEFAULT
				  : 1;
	s->rules[s->nrules++] = *r;
	memset(r, 0, sizeof(*r));
	return true;
}

static void rp_rule(struct rp *p, const struct token *kw)
{
	struct rules_rule r = { .pos = rp_pos(p, kw),
				.catch_up_s = SCHED_CATCH_UP_DEFAULT_S };
	const struct token *t = rp_next(p);
	unsigned before = (unsigned)p->diags->errors;

	if (!rp_name_ok(p, t, "rule")) {
		rp_skip_statement(p, t);
		return;
	}
	if (!rp_dup(p, t, &r.name))
		return;
	t = rp_take(p);
	if (t->type != TOK_LBRACE) {
		rp_expected(p, t, "'{'", "the rule's name");
		rp_skip(p);
	} else if (rp_rule_body(p, &r, t) && p->diags->errors == before) {
		rp_add_rule(p, &r);
	}
	rp_rule_clear(&r);
}

static bool rp_add_scene(struct rp *p, struct rules_scene *sc)
{
	struct rules_set *s = p->s;
	const struct rules_scene *o = rules_find_scene(s, sc->name);
	struct rules_scene *n;

	if (o) {
		rp_error(p, sc->pos.line, sc->pos.col,
			 "scene \"%s\" is already defined at %s:%u:%u",
			 sc->name, o->pos.file, o->pos.line, o->pos.col);
		return false;
	}
	if (s->nscenes >= RULES_SCENES_MAX) {
		rp_error(p, sc->pos.line, sc->pos.col, "at most %d scenes",
			 RULES_SCENES_MAX);
		return false;
	}
	if (s->nscenes == s->capscenes) {
		size_t cap = s->capscenes ? 2 * s->capscenes : 8;

		if (!(n = realloc(s->scenes, cap * sizeof(*n))))
			return rp_oom(p);
		s->scenes = n;
		s->capscenes = cap;
	}
	s->scenes[s->nscenes++] = *sc;
	memset(sc, 0, sizeof(*sc));
	return true;
}

/* scene "name" { action; action } */
static void rp_scene(struct rp *p, const struct token *kw)
{
	struct rules_scene sc = { .pos = rp_pos(p, kw) };
	const struct token *t = rp_next(p);
	unsigned before = (unsigned)p->diags->errors;
	unsigned bline, bcol;

	if (!rp_name_ok(p, t, "scene")) {
		rp_skip_statement(p, t);
		return;
	}
	if (!rp_dup(p, t, &sc.name))
		return;
	t = rp_take(p);
	if (t->type != TOK_LBRACE) {
		rp_expected(p, t, "'{'", "the scene's name");
		rp_skip(p);
		goto out;
	}
	bline = t->line;
	bcol = t->col;
	while (!p->err) {
		t = lex_peek(p->lx);
		if (t->type == TOK_RBRACE || t->type == TOK_EOF)
			break;
		if (t->type == TOK_SEMI)
			rp_take(p);
		else if (!rp_actions_list(p, &sc.acts, &sc.nacts, true))
			rp_skip(p);
		else if (!rp_clause_end(p, "an action"))
			rp_skip(p);
	}
	t = rp_take(p);
	if (t->type == TOK_EOF) {
		rp_error(p, t->line, t->col, "'{' at %u:%u is never closed",
			 bline, bcol);
	} else if (!sc.nacts) {
		rp_error(p, sc.pos.line, sc.pos.col,
			 "scene \"%s\" has no action", sc.name);
	} else if (p->diags->errors == before) {
		rp_add_scene(p, &sc);
	}
out:
	rp_scene_clear(&sc);
}

/* every 15m [on DAYS] [if COND] do ACTIONS, to the end of the line */
static void rp_every(struct rp *p, const struct token *kw)
{
	struct rules_rule r = { .pos = rp_pos(p, kw),
				.catch_up_s = SCHED_CATCH_UP_DEFAULT_S,
				.anonymous = true };
	struct rules_trigger *g = rp_add_trig(p, &r, kw);
	const struct token *t;
	const char *base;
	char name[RULES_NAME_MAX + 1];

	if (!g || !rp_trig_every(p, kw, g))
		goto skip;
	t = rp_next(p);
	if (rp_is(t, "if")) {
		if (!rp_clause_if(p, &r, t))
			goto skip;
		t = rp_next(p);
	}
	if (!rp_is(t, "do")) {
		rp_expected(p, t, "'do' or 'if'", "the interval");
		goto skip;
	}
	if (!rp_actions_list(p, &r.acts, &r.nacts, false) ||
	    !rp_clause_end(p, "the actions"))
		goto skip;
	base = strrchr(p->file, '/');
	snprintf(name, sizeof(name), "every@%s:%u", base ? base + 1 : p->file,
		 kw->line);
	if (!(r.name = strdup(name)))
		rp_oom(p);
	else
		rp_add_rule(p, &r);
	rp_rule_clear(&r);
	return;
skip:
	rp_skip(p);
	rp_rule_clear(&r);
}

/* The file's name, kept once in s->files for the positions. */
static const char *rp_intern(struct rules_set *s, const char *file)
{
	char **n;

	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], file) == 0)
			return s->files[i];
	if (!(n = realloc(s->files, (s->nfiles + 1) * sizeof(*n))))
		return NULL;
	s->files = n;
	if (!(n[s->nfiles] = strdup(file)))
		return NULL;
	return n[s->nfiles++];
}

int rules_parse_statement(struct conf *c, struct lexer *lx,
			  const struct token *kw, const char *dir,
			  struct diag_list *diags)
{
	struct rp p = { .lx = lx, .diags = diags };
	struct token k = *kw;
	char word[8];

	if (!c->rules && !(c->rules = calloc(1, sizeof(*c->rules))))
		return -ENOMEM;
	p.s = c->rules;
	if (!(p.file = rp_intern(p.s, lex_file(lx))))
		return -ENOMEM;
	snprintf(word, sizeof(word), "%s", kw->text);
	k.text = word;
	if (strcmp(word, "rule") == 0) {
		p.in_braces = true;
		rp_rule(&p, &k);
	} else if (strcmp(word, "scene") == 0) {
		p.in_braces = true;
		rp_scene(&p, &k);
	} else {
		rp_every(&p, &k);
	}
	return p.err;
}

/* The set as a whole. */

/* How deep scene sc runs scenes: memo[i] 0 unknown, -1 being looked at. */
static int rp_scene_depth(const struct rules_set *s, size_t i, int *memo)
{
	const struct rules_scene *sc = &s->scenes[i];
	const struct rules_scene *sub;
	int d, deepest = 1;

	if (memo[i])
		return memo[i];
	memo[i] = -1;
	for (size_t k = 0; k < sc->nacts; k++) {
		if (sc->acts[k].type != RULES_ACT_SCENE ||
		    !(sub = rules_find_scene(s, sc->acts[k].text)))
			continue;
		d = rp_scene_depth(s, (size_t)(sub - s->scenes), memo);
		if (d < 0 || d + 1 > RULES_SCENE_DEPTH) {
			deepest = -1;
			break;
		}
		if (d + 1 > deepest)
			deepest = d + 1;
	}
	memo[i] = deepest;
	return deepest;
}

static void rp_check_runs(const struct rules_set *s,
			  const struct rules_action *acts, size_t n,
			  struct diag_list *diags)
{
	for (size_t k = 0; k < n; k++) {
		const struct rules_action *a = &acts[k];

		if (a->type == RULES_ACT_SCENE && !rules_find_scene(s, a->text))
			diag_add(diags, a->text_pos.file, a->text_pos.line,
				 a->text_pos.col, false, "no scene \"%s\"",
				 a->text);
	}
}

int rules_validate(const struct rules_set *s, struct diag_list *diags)
{
	int *memo;

	if (!s)
		return 0;
	for (size_t i = 0; i < s->nrules; i++)
		rp_check_runs(s, s->rules[i].acts, s->rules[i].nacts, diags);
	for (size_t i = 0; i < s->nscenes; i++)
		rp_check_runs(s, s->scenes[i].acts, s->scenes[i].nacts, diags);
	if (!s->nscenes)
		return 0;
	if (!(memo = calloc(s->nscenes, sizeof(*memo))))
		return -ENOMEM;
	for (size_t i = 0; i < s->nscenes; i++)
		if (rp_scene_depth(s, i, memo) < 0 && memo[i] != -2) {
			const struct rules_scene *sc = &s->scenes[i];

			diag_add(diags, sc->pos.file, sc->pos.line, sc->pos.col,
				 false,
				 "scene \"%s\" runs itself, or scenes more "
				 "than %d deep",
				 sc->name, RULES_SCENE_DEPTH);
			memo[i] = -2;
		}
	free(memo);
	return 0;
}

struct rules_set *rules_set_free(struct rules_set *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->nrules; i++)
		rp_rule_clear(&s->rules[i]);
	free(s->rules);
	for (size_t i = 0; i < s->nscenes; i++)
		rp_scene_clear(&s->scenes[i]);
	free(s->scenes);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
	return NULL;
}

const struct rules_rule *rules_find_rule(const struct rules_set *s,
					 const char *name)
{
	for (size_t i = 0; s && i < s->nrules; i++)
		if (strcmp(s->rules[i].name, name) == 0)
			return &s->rules[i];
	return NULL;
}

const struct rules_scene *rules_find_scene(const struct rules_set *s,
					   const char *name)
{
	for (size_t i = 0; s && i < s->nscenes; i++)
		if (strcmp(s->scenes[i].name, name) == 0)
			return &s->scenes[i];
	return NULL;
}

const char *rules_mode_name(enum rules_mode m)
{
	return (unsigned)m < 4 ? rp_modes[m] : "?";
}

const char *rules_cmp_name(enum rules_cmp c)
{
	return (unsigned)c < 6 ? rp_cmps[c] : "?";
}
