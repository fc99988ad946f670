/* SPDX-License-Identifier: MIT */
/*
 * rules_match.c: what makes a rule fire: values compared to what a rule
 * names, its conditions, the trigger index and the registry's events.
 * Triggers are indexed by the registry's value pointers (stable, see
 * registry.h) and node ids, so the cost of an event does not grow with
 * the number of rules.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "sched.h"
#include "value.h"

/* Values and comparisons. */

static bool val_number(const struct value *v, double *ret)
{
	switch (v->type) {
	case VALUE_BOOL:
		*ret = v->u.b;
		return true;
	case VALUE_INT:
	case VALUE_ENUM:
		*ret = (double)v->u.i;
		return true;
	case VALUE_FLOAT:
		*ret = v->u.f;
		return true;
	default:
		return false;
	}
}

/* Does v (of meta) compare to the literal lit as cmp says? */
static bool val_compare(const struct value *v, const struct value_meta *meta,
			enum rules_cmp cmp, const char *lit)
{
	struct value want;
	char err[128];
	double a, b;
	bool eq;

	if (cmp != RULES_EQ && cmp != RULES_NE) {
		if (!val_number(v, &a))
			return false;
		b = strtod(lit, NULL);
		switch (cmp) {
		case RULES_LT:
			return a < b;
		case RULES_LE:
			return a <= b;
		case RULES_GT:
			return a > b;
		default:
			return a >= b;
		}
	}
	if (value_from_text(lit, meta, &want, err, sizeof(err)) < 0) {
		/* Not a value of this type: equal to nothing. */
		return cmp == RULES_NE;
	}
	if (val_number(v, &a) && val_number(&want, &b))
		eq = a == b;
	else
		eq = value_equal(v, &want);
	value_clear(&want);
	return cmp == RULES_EQ ? eq : !eq;
}

/* v in JSON; false when it did not fit (cut JSON is no value). */
bool rules_val_show(const struct value *v, const struct value_meta *meta,
		    char *buf, size_t len)
{
	json_t *j = value_to_json(v, meta);
	char *s = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	int n = snprintf(buf, len, "%s", s ? s : "null");

	free(s);
	json_decref(j);
	return n >= 0 && (size_t)n < len;
}

/* A node and value by name, as written in a rule. */
struct registry_value *rules_find_value(struct rules_engine *e,
					const struct rules_ref *ref,
					struct registry_node **node)
{
	struct registry_node *n;
	struct registry_value *v;

	if (registry_find_node(e->reg, ref->node, &n) < 0)
		return NULL;
	if (node)
		*node = n;
	if (!ref->value || registry_find_value(n, ref->value, &v) < 0)
		return NULL;
	return v;
}

/* Conditions. */

/* Seconds after local midnight of now for point p, today; false: none. */
static bool point_today(struct rules_engine *e, const struct sched_spec *p,
			const struct tm *tm, zwtime_t midnight, long *ret)
{
	zwtime_t t;
	char why[RULES_WHY_MAX];

	if (p->kind == SCHED_TIME) {
		*ret = p->seconds;
		return true;
	}
	if (!e->has_loc ||
	    sched_sun_time(p->sun, &e->loc, tm->tm_year + 1900, tm->tm_mon + 1,
			   tm->tm_mday, &t, why, sizeof(why)) < 0)
		return false;
	*ret = (long)(t - midnight) + p->offset_s;
	return true;
}

static bool local_now(struct rules_engine *e, struct tm *tm, zwtime_t *midnight,
		      long *sec)
{
	if (!e->now.trusted || zwtime_to_local(e->now.wall, tm) < 0 ||
	    sched_local_midnight(e->now.wall, midnight) < 0)
		return false;
	*sec = (long)(e->now.wall - *midnight);
	return true;
}

static bool cond_time(struct rules_engine *e, const struct rules_cond *c)
{
	struct tm tm;
	zwtime_t midnight;
	long now, from = 0, to = 0;

	if (!local_now(e, &tm, &midnight, &now))
		return false;
	if (c->has_from && !point_today(e, &c->from, &tm, midnight, &from))
		return false;
	if (c->has_to && !point_today(e, &c->to, &tm, midnight, &to))
		return false;
	if (!c->has_to)
		return now >= from;
	if (!c->has_from)
		return now < to;
	if (from <= to)
		return now >= from && now < to;
	return now >= from || now < to; /* across midnight */
}

static bool cond_sun_up(struct rules_engine *e)
{
	struct tm tm;
	zwtime_t midnight, rise, set;
	long now;
	char why[RULES_WHY_MAX] = "";
	int y, m, d;

	if (!e->has_loc || !local_now(e, &tm, &midnight, &now))
		return false;
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	d = tm.tm_mday;
	if (sched_sun_time(SCHED_SUNRISE, &e->loc, y, m, d, &rise, why,
			   sizeof(why)) < 0 ||
	    sched_sun_time(SCHED_SUNSET, &e->loc, y, m, d, &set, why,
			   sizeof(why)) < 0)
		return strstr(why, "polar day") != NULL;
	return e->now.wall >= rise && e->now.wall < set;
}

bool rules_cond_eval(struct rules_engine *e, const struct rules_cond *c)
{
	struct registry_node *n = NULL;
	struct registry_value *v;
	struct tm tm;
	zwtime_t midnight;
	long sec;

	switch (c->type) {
	case RULES_COND_AND:
		return rules_cond_eval(e, c->a) && rules_cond_eval(e, c->b);
	case RULES_COND_OR:
		return rules_cond_eval(e, c->a) || rules_cond_eval(e, c->b);
	case RULES_COND_NOT:
		return !rules_cond_eval(e, c->a);
	case RULES_COND_VALUE:
		v = rules_find_value(e, &c->ref, NULL);
		return v && v->has_val &&
		       val_compare(&v->val, &v->meta, c->cmp, c->lit);
	case RULES_COND_NODE:
		if (registry_find_node(e->reg, c->ref.node, &n) < 0)
			return !c->up;
		return (n->status != ZW_NODE_DEAD) == c->up;
	case RULES_COND_TIME:
		return cond_time(e, c);
	case RULES_COND_DAY:
		return local_now(e, &tm, &midnight, &sec) &&
		       (c->weekdays & (1u << tm.tm_wday));
	case RULES_COND_SUN:
		if (!e->now.trusted || !e->has_loc)
			return false;
		return cond_sun_up(e) == c->up;
	case RULES_COND_CLOUD:
		return e->cloud_online == c->up;
	}
	return false;
}

/* The trigger index. */

static size_t bucket_of(const struct rules_engine *e,
			const struct registry_value *v)
{
	uint64_t p = (uint64_t)(uintptr_t)v;

	/* Fibonacci hashing: allocations share their low bits. */
	return (size_t)((p * 0x9e3779b97f4a7c15ULL) >> 32) & (e->nbuckets - 1);
}

static bool trig_is_value(const struct rules_trigger *t)
{
	return t->type == RULES_TRIG_BECOMES || t->type == RULES_TRIG_CHANGES ||
	       t->type == RULES_TRIG_CMP;
}

bool rules_trig_holds(const struct rules_rt_trig *g)
{
	const struct registry_value *v = g->val;

	return v && v->has_val &&
	       val_compare(&v->val, &v->meta, g->t->cmp, g->t->lit);
}

/* A value trigger learns the state without firing (start, new value). */
static void trig_learn(struct rules_engine *e, struct rules_rt_trig *g)
{
	g->known = g->val && g->val->has_val;
	value_clear(&g->last);
	g->has_last = g->known && value_copy(&g->last, &g->val->val) == 0;
	g->holds = rules_trig_holds(g);
	rules_timer_stop(e, &g->timer);
	if (g->holds && g->t->for_s)
		rules_timer_start(e, &g->timer,
				  e->now.mono + (uint64_t)g->t->for_s * 1000);
}

/* Empties the index; the lists are rebuilt by rules_index_build. */
static void index_clear(struct rules_engine *e)
{
	memset(e->buckets, 0, e->nbuckets * sizeof(*e->buckets));
	memset(e->by_node, 0, sizeof(e->by_node));
	e->other = NULL;
}

static void trig_resolve(struct rules_engine *e, struct rules_rt_trig *g)
{
	const struct rules_trigger *t = g->t;
	struct registry_node *n = NULL;
	struct registry_value *v;

	if (t->type == RULES_TRIG_CLOUD || t->type == RULES_TRIG_START) {
		g->next = e->other;
		e->other = g;
		return;
	}
	if (t->type == RULES_TRIG_AT || t->type == RULES_TRIG_EVERY)
		return;
	v = rules_find_value(e, &t->ref, &n);
	if (n && n == e->gone_node) {
		n = NULL;
		v = NULL;
	}
	if (v && v == e->gone_value)
		v = NULL;
	g->node = n ? n->id : 0;
	if (!n) {
		snprintf(g->why, sizeof(g->why), "no node \"%s\" yet",
			 t->ref.node);
	} else if (t->type == RULES_TRIG_NODE) {
		g->why[0] = '\0';
		g->next = e->by_node[n->id];
		e->by_node[n->id] = g;
		if (!g->known)
			g->dead = n->status == ZW_NODE_DEAD;
		g->known = true;
		return;
	} else if (!v) {
		snprintf(g->why, sizeof(g->why),
			 "node \"%s\" has no value \"%s\"", t->ref.node,
			 t->ref.value);
	} else {
		g->why[0] = '\0';
		g->next = e->buckets[bucket_of(e, v)];
		e->buckets[bucket_of(e, v)] = g;
	}
	if (v != g->val) {
		g->val = v;
		trig_learn(e, g);
	}
}

/*
 * Resolves every name again: at start and when nodes or values come, go
 * or are renamed (rare), never for a value's report.
 */
void rules_index_build(struct rules_engine *e)
{
	index_clear(e);
	for (size_t i = 0; i < e->nrules; i++)
		for (size_t k = 0; k < e->rules[i].r->ntrigs; k++)
			trig_resolve(e, &e->rules[i].trigs[k]);
}

/*
 * A report of value v: the triggers on it, and only those, for the loop
 * guard's chain of the report.
 */
static void value_event(struct rules_engine *e, struct registry_value *v)
{
	struct rules_rt_trig *g, *next;
	bool h, changed;
	uint32_t cause = rules_guard_report(e->guard, v, v->node, e->now.mono);
	bool fb = rules_guard_feedback(e->guard, v->node, e->now.mono);

	for (g = e->buckets[bucket_of(e, v)]; g; g = next) {
		next = g->next;
		if (g->val != v)
			continue;
		if (!g->known) {
			trig_learn(e, g);
			continue;
		}
		if (g->t->type == RULES_TRIG_CHANGES) {
			changed =
			    !g->has_last || !value_equal(&g->last, &v->val);
			value_clear(&g->last);
			g->has_last = value_copy(&g->last, &v->val) == 0;
			if (changed)
				rules_rule_fire(e, g, cause, fb);
			continue;
		}
		h = rules_trig_holds(g);
		if (h && !g->holds) {
			if (g->t->for_s) {
				g->for_chain = cause;
				g->for_feedback = fb;
				rules_timer_start(
				    e, &g->timer,
				    e->now.mono + (uint64_t)g->t->for_s * 1000);
			} else {
				rules_rule_fire(e, g, cause, fb);
			}
		} else if (!h) {
			rules_timer_stop(e, &g->timer);
		}
		g->holds = h;
	}
}

static void node_event(struct rules_engine *e, const struct registry_node *n)
{
	struct rules_rt_trig *g;
	bool dead = n->status == ZW_NODE_DEAD;
	bool fb = rules_guard_feedback(e->guard, n, e->now.mono);

	for (g = e->by_node[n->id]; g; g = g->next) {
		if (g->node != n->id || g->dead == dead)
			continue;
		g->dead = dead;
		if (dead != g->t->up)
			rules_rule_fire(e, g, 0, fb);
	}
}

/* Has node n a name other than the one the index was built with? */
static bool name_changed(struct rules_engine *e, const struct registry_node *n)
{
	char **seen = &e->node_names[n->id];

	if (*seen && n->name && strcmp(*seen, n->name) == 0)
		return false;
	if (!*seen && !n->name)
		return false;
	free(*seen);
	*seen = n->name ? strdup(n->name) : NULL;
	return true;
}

/* Triggers not resolved yet try again (a node or value came). */
static void index_add(struct rules_engine *e)
{
	for (size_t i = 0; i < e->nrules; i++)
		for (size_t k = 0; k < e->rules[i].r->ntrigs; k++) {
			struct rules_rt_trig *g = &e->rules[i].trigs[k];

			if ((trig_is_value(g->t) && !g->val) ||
			    (g->t->type == RULES_TRIG_NODE && !g->node))
				trig_resolve(e, g);
		}
}

void rules_engine_event(struct rules_engine *e, const struct registry_event *ev,
			const struct rules_clock *now)
{
	e->now = *now;
	switch (ev->type) {
	case REGISTRY_VALUE_CHANGED:
		value_event(e, ev->value);
		break;
	case REGISTRY_NODE_CHANGED:
		node_event(e, ev->node);
		/* A rename: a name in a rule may now mean another node. */
		if (name_changed(e, ev->node))
			rules_index_build(e);
		break;
	case REGISTRY_VALUE_REMOVED:
	case REGISTRY_NODE_REMOVED:
		rules_guard_forget(e->guard, ev->type == REGISTRY_VALUE_REMOVED
						 ? (const void *)ev->value
						 : (const void *)ev->node);
		/* Still readable during the call: not to be found again. */
		e->gone_value = ev->value;
		e->gone_node = ev->node;
		rules_index_build(e);
		e->gone_value = NULL;
		e->gone_node = NULL;
		break;
	case REGISTRY_NODE_ADDED:
		name_changed(e, ev->node);
		index_add(e);
		break;
	case REGISTRY_VALUE_ADDED:
		index_add(e);
		break;
	default:
		break;
	}
}

void rules_engine_cloud(struct rules_engine *e, bool online,
			const struct rules_clock *now)
{
	e->now = *now;
	if (e->cloud_online == online)
		return;
	e->cloud_online = online;
	for (struct rules_rt_trig *g = e->other; g; g = g->next)
		if (g->t->type == RULES_TRIG_CLOUD && g->t->up == online)
			rules_rule_fire(e, g, 0, false);
}
