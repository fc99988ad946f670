/* SPDX-License-Identifier: MIT */
/*
 * rules_parse_cond.c: the conditions of a rule ("if"): comparisons of
 * values, node, time, day, sun and cloud, with and, or, not and { }.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "rules.h"
#include "rules_int.h"

/* Conditions. */

static struct rules_cond *rp_or(struct rules_rp *p);

static struct rules_cond *rp_cond_new(struct rules_rp *p,
				      enum rules_cond_type type,
				      const struct token *t)
{
	struct rules_cond *c = calloc(1, sizeof(*c));

	if (!c) {
		rules_rp_oom(p);
		return NULL;
	}
	c->type = type;
	c->pos = rules_rp_pos(p, t);
	return c;
}

/* time between A and B | time after A | time before B */
static bool rp_cond_time(struct rules_rp *p, struct rules_cond *c)
{
	const struct token *t = rules_rp_next(p);

	if (rules_rp_is(t, "between")) {
		c->has_from = c->has_to = true;
		if (!rules_rp_timepoint(p, "'between'", &c->from))
			return false;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "and"))
			return rules_rp_expected(p, t, "'and'",
						 "the start of 'between'");
		return rules_rp_timepoint(p, "'and'", &c->to);
	} else if (rules_rp_is(t, "after")) {
		c->has_from = true;
		return rules_rp_timepoint(p, "'after'", &c->from);
	} else if (rules_rp_is(t, "before")) {
		c->has_to = true;
		return rules_rp_timepoint(p, "'before'", &c->to);
	}
	return rules_rp_expected(p, t, "'between', 'after' or 'before'",
				 "'time'");
}

/* "node" is alive | "node" value is [not] X | "node" value > 12 */
static bool rp_cond_node(struct rules_rp *p, const struct token *t,
			 struct rules_cond *c)
{
	char after[RULES_RP_SHOW_MAX];

	if (!rules_rp_node_name(p, t, "'if'", &c->ref))
		return false;
	if (rules_rp_is(rules_rp_peek(p), "is")) {
		rules_rp_take(p);
		c->type = RULES_COND_NODE;
		return rules_rp_updown(p, "'is'", "alive", "dead", &c->up);
	}
	if (!rules_rp_value_name(p, &c->ref))
		return false;
	snprintf(after, sizeof(after), "\"%s\" %s", c->ref.node, c->ref.value);
	t = rules_rp_next(p);
	if (!rules_rp_cmp(p, t, &c->cmp))
		return rules_rp_expected(
		    p, t, "'is', 'is not', ==, !=, <, <=, > or >=", after);
	return rules_rp_literal(p, rules_rp_lit_after(c->cmp),
				rules_cmp_is_ordered(c->cmp), &c->lit,
				&c->lit_pos);
}

static bool rp_cond_atom(struct rules_rp *p, const struct token *t,
			 struct rules_cond *c)
{
	if (rules_rp_is(t, "time")) {
		c->type = RULES_COND_TIME;
		return rp_cond_time(p, c);
	} else if (rules_rp_is(t, "day") || rules_rp_is(t, "weekday")) {
		c->type = RULES_COND_DAY;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "is"))
			return rules_rp_expected(p, t, "'is'", "'day'");
		return rules_rp_days_list(p, "'is'", &c->weekdays);
	} else if (rules_rp_is(t, "sun")) {
		c->type = RULES_COND_SUN;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "is"))
			return rules_rp_expected(p, t, "'is'", "'sun'");
		return rules_rp_updown(p, "'is'", "up", "down", &c->up);
	} else if (rules_rp_is(t, "cloud")) {
		c->type = RULES_COND_CLOUD;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "is"))
			return rules_rp_expected(p, t, "'is'", "'cloud'");
		return rules_rp_updown(p, "'is'", "online", "offline", &c->up);
	} else if (t->type == TOK_STRING) {
		c->type = RULES_COND_VALUE;
		return rp_cond_node(p, t, c);
	}
	return rules_rp_expected(
	    p, t,
	    "a condition (\"node\" value is ..., time, day, sun, "
	    "cloud, not or '{')",
	    "'if'");
}

/* not X | { X } | atom */
static struct rules_cond *rp_unary(struct rules_rp *p)
{
	const struct token *t = rules_rp_next(p);
	struct rules_cond *c;
	unsigned line = t->line, col = t->col;

	if (++p->depth > RULES_COND_DEPTH) {
		rules_rp_error(p, line, col, "conditions nest at most %d deep",
			       RULES_COND_DEPTH);
		return NULL;
	}
	if (rules_rp_is(t, "not")) {
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
		t = rules_rp_take(p);
		if (t->type != TOK_RBRACE) {
			rules_rp_expected(p, t, "'}' or a condition",
					  "a condition");
			goto fail;
		}
	} else {
		if (++p->nconds > RULES_COND_MAX) {
			rules_rp_error(p, line, col,
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
	rules_rp_cond_free(c);
	return NULL;
}

static struct rules_cond *
rp_binary(struct rules_rp *p, const char *op, enum rules_cond_type type,
	  struct rules_cond *(*sub)(struct rules_rp *))
{
	struct rules_cond *c = sub(p), *n;
	const struct token *t;

	while (c && rules_rp_is(lex_peek(p->lx), op)) {
		t = rules_rp_take(p);
		if (!(n = rp_cond_new(p, type, t))) {
			rules_rp_cond_free(c);
			return NULL;
		}
		n->a = c;
		c = n;
		if (!(c->b = sub(p))) {
			rules_rp_cond_free(c);
			return NULL;
		}
	}
	return c;
}

static struct rules_cond *rp_and(struct rules_rp *p)
{
	return rp_binary(p, "and", RULES_COND_AND, rp_unary);
}

static struct rules_cond *rp_or(struct rules_rp *p)
{
	return rp_binary(p, "or", RULES_COND_OR, rp_and);
}

/* if: several are joined by "and". */
bool rules_rp_clause_if(struct rules_rp *p, struct rules_rule *r,
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
		rules_rp_cond_free(c);
		return false;
	}
	both->a = r->cond;
	both->b = c;
	r->cond = both;
	return true;
}
