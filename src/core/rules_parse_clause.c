/* SPDX-License-Identifier: MIT */
/*
 * rules_parse_clause.c: the clauses of a rule: triggers (at, every,
 * when), actions (do, and a scene's), mode and catch-up.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

static const char *const rp_actions[] = { "set",     "run", "wait", "refresh",
					  "publish", "log", NULL };

/* Triggers. */

/* after when "node": goes dead | value becomes X | changes | > X */
static bool rp_trig_value(struct rules_rp *p, struct rules_trigger *g)
{
	const struct token *t;
	char after[RULES_RP_SHOW_MAX];

	if (rules_rp_is(rules_rp_peek(p), "goes")) {
		rules_rp_take(p);
		g->type = RULES_TRIG_NODE;
		return rules_rp_updown(p, "'goes'", "alive", "dead", &g->up);
	}
	if (!rules_rp_value_name(p, &g->ref))
		return false;
	snprintf(after, sizeof(after), "\"%s\" %s", g->ref.node, g->ref.value);
	t = rules_rp_next(p);
	if (rules_rp_is(t, "changes")) {
		g->type = RULES_TRIG_CHANGES;
		return true;
	} else if (rules_rp_is(t, "becomes")) {
		g->type = RULES_TRIG_BECOMES;
		g->cmp = RULES_EQ;
		if (!rules_rp_literal(p, "'becomes'", false, &g->lit,
				      &g->lit_pos))
			return false;
	} else if (rules_rp_cmp(p, t, &g->cmp)) {
		g->type =
		    g->cmp == RULES_EQ ? RULES_TRIG_BECOMES : RULES_TRIG_CMP;
		if (!rules_rp_literal(p, rules_rp_lit_after(g->cmp),
				      rules_cmp_is_ordered(g->cmp), &g->lit,
				      &g->lit_pos))
			return false;
	} else {
		return rules_rp_expected(
		    p, t,
		    "'becomes', 'changes', 'is', ==, !=, <, <=, "
		    "> or >=",
		    after);
	}
	if (!rules_rp_is(rules_rp_peek(p), "for"))
		return true;
	rules_rp_take(p);
	return rules_rp_duration(p, "'for'", &g->for_s);
}

static bool rp_trig_when(struct rules_rp *p, struct rules_trigger *g)
{
	const struct token *t = rules_rp_next(p);

	g->pos = rules_rp_pos(p, t);
	if (rules_rp_is(t, "gateway")) {
		g->type = RULES_TRIG_START;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "starts"))
			return rules_rp_expected(p, t, "'starts'", "'gateway'");
		return true;
	} else if (rules_rp_is(t, "cloud")) {
		g->type = RULES_TRIG_CLOUD;
		t = rules_rp_next(p);
		if (!rules_rp_is(t, "goes"))
			return rules_rp_expected(p, t, "'goes'", "'cloud'");
		return rules_rp_updown(p, "'goes'", "online", "offline",
				       &g->up);
	} else if (t->type == TOK_STRING) {
		return rules_rp_node_name(p, t, "'when'", &g->ref) &&
		       rp_trig_value(p, g);
	}
	return rules_rp_expected(
	    p, t, "a node name in quotes, 'cloud' or 'gateway'", "'when'");
}

static bool rp_trig_at(struct rules_rp *p, const struct token *kw,
		       struct rules_trigger *g)
{
	g->type = RULES_TRIG_AT;
	g->pos = rules_rp_pos(p, kw);
	if (!rules_rp_timepoint(p, "'at'", &g->at))
		return false;
	if (!rules_rp_is(rules_rp_peek(p), "on"))
		return true;
	rules_rp_take(p);
	return rules_rp_days_list(p, "'on'", &g->at.weekdays);
}

bool rules_rp_trig_every(struct rules_rp *p, const struct token *kw,
			 struct rules_trigger *g)
{
	g->type = RULES_TRIG_EVERY;
	g->pos = rules_rp_pos(p, kw);
	return rules_rp_duration(p, "'every'", &g->every_s);
}

/* Actions. */

static bool rp_string(struct rules_rp *p, const char *what, const char *after,
		      size_t max, char **ret, struct rules_pos *pos)
{
	const struct token *t = rules_rp_next(p);

	if (t->type != TOK_STRING)
		return rules_rp_expected(p, t, what, after);
	if (t->len == 0 || t->len > max) {
		rules_rp_error(p, t->line, t->col, "%s has 1 to %zu bytes",
			       what, max);
		return false;
	}
	if (pos)
		*pos = rules_rp_pos(p, t);
	return rules_rp_dup(p, t, ret);
}

static bool rp_act_publish(struct rules_rp *p, struct rules_action *a)
{
	char why[RULES_RP_SHOW_MAX * 2];

	if (!rp_string(p, "a topic in quotes", "'publish'", RULES_TOPIC_MAX,
		       &a->text, &a->text_pos))
		return false;
	if (rules_topic_check(a->text, why, sizeof(why)) < 0) {
		rules_rp_error(p, a->text_pos.line, a->text_pos.col, "%s", why);
		return false;
	}
	return rp_string(p, "a payload in quotes", "the topic", RULES_TEXT_MAX,
			 &a->payload, NULL);
}

/* nl: the action may start a line (in braces, or first in a scene). */
static bool rp_action(struct rules_rp *p, struct rules_action *a, bool nl)
{
	const struct token *t = nl ? rules_rp_take(p) : rules_rp_next(p);
	int i =
	    t->type == TOK_WORD ? rules_rp_word_index(rp_actions, t->text) : -1;

	a->pos = rules_rp_pos(p, t);
	switch (i) {
	case 0:
		a->type = RULES_ACT_SET;
		return rules_rp_node_name(p, rules_rp_next(p), "'set'",
					  &a->ref) &&
		       rules_rp_value_name(p, &a->ref) &&
		       rules_rp_literal(p, "the value name", false, &a->text,
					&a->text_pos);
	case 1:
		a->type = RULES_ACT_SCENE;
		if (rules_rp_is(rules_rp_peek(p), "scene"))
			rules_rp_take(p);
		return rp_string(p, "a scene name in quotes", "'run'",
				 RULES_NAME_MAX, &a->text, &a->text_pos);
	case 2:
		a->type = RULES_ACT_WAIT;
		return rules_rp_duration(p, "'wait'", &a->wait_s);
	case 3:
		a->type = RULES_ACT_REFRESH;
		return rules_rp_node_name(p, rules_rp_next(p), "'refresh'",
					  &a->ref);
	case 4:
		a->type = RULES_ACT_PUBLISH;
		return rp_act_publish(p, a);
	case 5:
		a->type = RULES_ACT_LOG;
		return rp_string(p, "a message in quotes", "'log'",
				 RULES_TEXT_MAX, &a->text, &a->text_pos);
	}
	return rules_rp_expected(
	    p, t, "an action (set, run, wait, refresh, publish or log)",
	    "'do'");
}

static bool rp_add_action(struct rules_rp *p, struct rules_action **acts,
			  size_t *n, bool nl)
{
	struct rules_action *na;
	const struct token *t = lex_peek(p->lx);

	if (*n >= RULES_ACTIONS_MAX) {
		rules_rp_error(p, t->line, t->col,
			       "at most %d actions a rule or scene",
			       RULES_ACTIONS_MAX);
		return false;
	}
	if (!(na = realloc(*acts, (*n + 1) * sizeof(*na))))
		return rules_rp_oom(p);
	*acts = na;
	memset(&na[*n], 0, sizeof(*na));
	if (!rp_action(p, &na[*n], nl)) {
		rules_rp_act_clear(&na[*n]);
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
bool rules_rp_actions_list(struct rules_rp *p, struct rules_action **acts,
			   size_t *n, bool nl)
{
	const struct token *t;

	for (;;) {
		if (!rp_add_action(p, acts, n, nl))
			return false;
		nl = p->in_braces;
		t = lex_peek(p->lx);
		if (t->type == TOK_SEMI) {
			rules_rp_take(p);
			t = lex_peek(p->lx);
			if (t->type == TOK_RBRACE || t->type == TOK_EOF ||
			    (t->nl_before && !rules_rp_in(t, rp_actions)))
				return true;
			continue;
		}
		if (!(t->nl_before && p->in_braces &&
		      rules_rp_in(t, rp_actions)))
			return true;
	}
}

/* Clauses of a rule. */

struct rules_trigger *rules_rp_add_trig(struct rules_rp *p,
					struct rules_rule *r,
					const struct token *kw)
{
	struct rules_trigger *n;

	if (r->ntrigs >= RULES_TRIGGERS_MAX) {
		rules_rp_error(
		    p, kw->line, kw->col,
		    "a rule has at most %d at, every and when clauses",
		    RULES_TRIGGERS_MAX);
		return NULL;
	}
	if (!(n = realloc(r->trigs, (r->ntrigs + 1) * sizeof(*n)))) {
		rules_rp_oom(p);
		return NULL;
	}
	r->trigs = n;
	memset(&n[r->ntrigs], 0, sizeof(*n));
	return &n[r->ntrigs++];
}

/* mode single | restart | queued [max N] | parallel [max N] */
static bool rp_clause_mode(struct rules_rp *p, struct rules_rule *r)
{
	const struct token *t = rules_rp_next(p);
	int m = t->type == TOK_WORD
		    ? rules_rp_word_index(rules_mode_words, t->text)
		    : -1;
	double d;

	if (m < 0)
		return rules_rp_expected(
		    p, t, "single, restart, queued or parallel", "'mode'");
	r->mode = (enum rules_mode)m;
	if (!rules_rp_is(rules_rp_peek(p), "max"))
		return true;
	t = rules_rp_next(p);
	if (r->mode != RULES_MODE_QUEUED && r->mode != RULES_MODE_PARALLEL) {
		rules_rp_error(p, t->line, t->col,
			       "'max' goes with queued and parallel only");
		return false;
	}
	t = rules_rp_next(p);
	if (t->type != TOK_WORD || !rules_rp_number(t->text, &d) ||
	    d != floor(d) || d < 1 || d > RULES_RUNS_MAX) {
		rules_rp_error(p, t->line, t->col,
			       "expected 1 to %d runs after 'max'",
			       RULES_RUNS_MAX);
		return false;
	}
	r->max_runs = (unsigned)d;
	return true;
}

/* catch-up DURATION | catch-up off */
static bool rp_clause_catch_up(struct rules_rp *p, struct rules_rule *r)
{
	const struct token *t = rules_rp_peek(p);
	unsigned line = t->line, col = t->col;

	if (rules_rp_is(t, "off")) {
		rules_rp_take(p);
		r->catch_up_s = 0;
		return true;
	}
	if (!rules_rp_duration(p, "'catch-up'", &r->catch_up_s))
		return false;
	if (r->catch_up_s > RULES_CATCH_UP_MAX_S) {
		rules_rp_error(p, line, col, "catch-up is at most 1d");
		return false;
	}
	return true;
}

bool rules_rp_clause(struct rules_rp *p, struct rules_rule *r,
		     const struct token *kw)
{
	struct rules_trigger *g;
	char shown[RULES_RP_SHOW_MAX];

	if (rules_rp_is(kw, "at") || rules_rp_is(kw, "every") ||
	    rules_rp_is(kw, "when")) {
		if (!(g = rules_rp_add_trig(p, r, kw)))
			return false;
		if (rules_rp_is(kw, "at"))
			return rp_trig_at(p, kw, g);
		if (rules_rp_is(kw, "every"))
			return rules_rp_trig_every(p, kw, g);
		return rp_trig_when(p, g);
	} else if (rules_rp_is(kw, "if")) {
		return rules_rp_clause_if(p, r, kw);
	} else if (rules_rp_is(kw, "do")) {
		return rules_rp_actions_list(p, &r->acts, &r->nacts, false);
	} else if (rules_rp_is(kw, "mode")) {
		return rp_clause_mode(p, r);
	} else if (rules_rp_is(kw, "catch-up")) {
		return rp_clause_catch_up(p, r);
	}
	rules_rp_error(
	    p, kw->line, kw->col,
	    "expected at, every, when, if, do, mode or catch-up in a "
	    "rule, not %s",
	    lex_tok_describe(kw, shown, sizeof(shown)));
	return false;
}

/* A clause ends at a newline, ';' or '}'. */
bool rules_rp_clause_end(struct rules_rp *p, const char *what)
{
	const struct token *t = lex_peek(p->lx);
	char shown[RULES_RP_SHOW_MAX];

	if (t->type == TOK_SEMI) {
		rules_rp_take(p);
		return true;
	}
	if (rules_rp_at_end(t))
		return true;
	rules_rp_error(p, t->line, t->col, "unexpected %s after %s",
		       lex_tok_describe(t, shown, sizeof(shown)), what);
	return false;
}
