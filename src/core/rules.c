/* SPDX-License-Identifier: MIT */
/*
 * rules.c: the engine.  Triggers are indexed by the registry's value
 * pointers (stable, see registry.h) and node ids, so the cost of an event
 * does not grow with the number of rules; every timer (schedules,
 * intervals, "for" durations, waits) is one binary heap of monotonic
 * deadlines.  Wall-clock times are planned with sched_next and checked
 * against the wall clock when their timer expires, so a jump in either
 * direction is caught even without a jump notice.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "sched.h"
#include "value.h"

#define RT_BUCKETS_MIN 64  /* value index: a power of two, >= 2 triggers */
#define RT_SHOWN_MAX   128 /* $node, a rule's place */
#define RT_VALUE_MAX   RULES_TEXT_MAX /* $value in JSON */
#define RT_RESULT_MAX  192
#define RT_MSG_MAX     (RULES_TEXT_MAX + 256)

enum rt_timer_type { RT_T_AT, RT_T_EVERY, RT_T_FOR, RT_T_WAIT };

struct rt_timer {
	uint64_t due;
	size_t idx; /* in the heap; SIZE_MAX: not armed */
	enum rt_timer_type type;
	void *owner;
};

struct rt_rule;

struct rt_trig {
	const struct rules_trigger *t;
	struct rt_rule *rule;
	struct rt_timer timer;
	time_t next_wall, last_fired; /* AT */
	char why[RULES_WHY_MAX];      /* AT without a next time; unresolved */
	struct registry_value *val;   /* resolved value, or NULL */
	int node;		      /* resolved node id, or 0 */
	bool known, holds, dead;      /* last state seen */
	struct value last;	      /* CHANGES: the value before */
	bool has_last;
	uint32_t for_chain;   /* FOR: the chain of the report it waits on */
	bool for_feedback;    /* FOR: that report was a feedback */
	struct rt_trig *next; /* in its index bucket */
};

struct rt_frame {
	const struct rules_action *acts;
	size_t n, pc;
};

struct rt_run {
	struct rules_engine *e;
	struct rt_rule *rule; /* NULL: a scene run from outside */
	struct rt_timer timer;
	struct rt_frame stack[RULES_SCENE_DEPTH + 1];
	unsigned depth;
	bool started, failed;
	bool value_long; /* $value did not fit: not substituted */
	uint32_t chain;	 /* of the loop guard; 0: none */
	bool feedback;	 /* fired by a feedback: its writes are counted */
	char value[RT_VALUE_MAX], node[RT_SHOWN_MAX];
	char result[RT_RESULT_MAX];
	struct rt_run *next;
};

struct rt_rule {
	const struct rules_rule *r;
	struct rt_trig *trigs;
	bool enabled;
	struct rt_run *runs; /* started first, then queued */
	unsigned nruns;
	bool loop_paused; /* until enabled again or reloaded */
	char paused_why[RULES_WHY_MAX];
	time_t last_run;
	char last_result[RT_RESULT_MAX + 16]; /* "failed: " and a result */
	unsigned long runs_total, dropped;
};

struct rules_engine {
	const struct rules_set *set;
	struct registry *reg;
	const struct rules_actions *act;
	struct sched_loc loc;
	bool has_loc, cloud_online;
	struct rules_clock now;
	struct rt_rule *rules;
	size_t nrules;
	struct rt_trig **buckets; /* by registry_value pointer */
	size_t nbuckets;	  /* a power of two */
	struct rt_trig *by_node[ZW_NODE_MAX + 1];
	struct rt_trig *other; /* cloud and start triggers */
	struct rt_timer **heap;
	size_t nheap, capheap;
	struct rt_run *scene_runs;
	struct rules_guard *guard;
	char *node_names[ZW_NODE_MAX + 1];	 /* as the index was built */
	const struct registry_value *gone_value; /* being removed */
	const struct registry_node *gone_node;
};

static void rt_log(struct rules_engine *e, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rt_log(struct rules_engine *e, int prio, const char *fmt, ...)
{
	char msg[RT_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->act->log)
		e->act->log(e->act->ctx, prio, msg);
}

/* The timer heap. */

static void heap_swap(struct rules_engine *e, size_t a, size_t b)
{
	struct rt_timer *t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->idx = a;
	e->heap[b]->idx = b;
}

static void heap_up(struct rules_engine *e, size_t i)
{
	while (i > 0 && e->heap[(i - 1) / 2]->due > e->heap[i]->due) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct rules_engine *e, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->nheap && e->heap[l]->due < e->heap[m]->due)
			m = l;
		if (r < e->nheap && e->heap[r]->due < e->heap[m]->due)
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void timer_stop(struct rules_engine *e, struct rt_timer *t)
{
	size_t i = t->idx;

	if (i == SIZE_MAX)
		return;
	t->idx = SIZE_MAX;
	if (i != --e->nheap) {
		e->heap[i] = e->heap[e->nheap];
		e->heap[i]->idx = i;
		heap_up(e, i);
		heap_down(e, e->heap[i]->idx);
	}
}

/* Arms (or moves) t; false only when memory ran out (then logged). */
static bool timer_start(struct rules_engine *e, struct rt_timer *t,
			uint64_t due)
{
	struct rt_timer **n;

	timer_stop(e, t);
	if (e->nheap == e->capheap) {
		size_t cap = e->capheap ? 2 * e->capheap : 64;

		if (!(n = realloc(e->heap, cap * sizeof(*n)))) {
			rt_log(e, LOG_ERR, "rules: out of memory for a timer");
			return false;
		}
		e->heap = n;
		e->capheap = cap;
	}
	t->due = due;
	t->idx = e->nheap;
	e->heap[e->nheap++] = t;
	heap_up(e, t->idx);
	return true;
}

uint64_t rules_engine_next_deadline(const struct rules_engine *e)
{
	return e->nheap ? e->heap[0]->due : RULES_NO_DEADLINE;
}

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
static bool val_show(const struct value *v, const struct value_meta *meta,
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
static struct registry_value *find_value(struct rules_engine *e,
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
			const struct tm *tm, time_t midnight, long *ret)
{
	time_t t;
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

static bool local_now(struct rules_engine *e, struct tm *tm, time_t *midnight,
		      long *sec)
{
	struct tm m;

	if (!e->now.trusted || !localtime_r(&e->now.wall, tm))
		return false;
	m = *tm;
	m.tm_hour = m.tm_min = m.tm_sec = 0;
	m.tm_isdst = -1;
	*midnight = mktime(&m);
	*sec = (long)(e->now.wall - *midnight);
	return true;
}

static bool cond_time(struct rules_engine *e, const struct rules_cond *c)
{
	struct tm tm;
	time_t midnight;
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
	time_t midnight, rise, set;
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

static bool cond_eval(struct rules_engine *e, const struct rules_cond *c)
{
	struct registry_node *n = NULL;
	struct registry_value *v;
	struct tm tm;
	time_t midnight;
	long sec;

	switch (c->type) {
	case RULES_COND_AND:
		return cond_eval(e, c->a) && cond_eval(e, c->b);
	case RULES_COND_OR:
		return cond_eval(e, c->a) || cond_eval(e, c->b);
	case RULES_COND_NOT:
		return !cond_eval(e, c->a);
	case RULES_COND_VALUE:
		v = find_value(e, &c->ref, NULL);
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

/* Runs. */

static const char *run_name(const struct rt_run *run)
{
	return run->rule ? run->rule->r->name : "scene";
}

/*
 * "$value", "$node" and "$rule" of in replaced (see rules_expand): json
 * for a publish payload of JSON, escaped where they land.
 */
static int expand(const struct rt_run *run, const char *in, bool json,
		  char *out, size_t len)
{
	struct rules_subst s = { run->value_long ? NULL : run->value, run->node,
				 run_name(run) };

	return rules_expand(in, &s, json, out, len);
}

static void rule_pause(struct rules_engine *e, const size_t *idx, size_t n,
		       const struct rt_run *keep, const char *what);

/*
 * run, fired by a feedback, is about to write v: false when it may.
 * true: that is one write of v too many (RULES_RATE_MAX): the rules that
 * wrote it are paused, and run ends here, failed, having not written.
 */
static bool rule_rate_check(struct rt_run *run, const struct registry_value *v)
{
	struct rules_engine *e = run->e;
	size_t idx[RULES_GUARD_RULES], n;
	char what[ZW_PROPERTY_MAX + 32];

	if (rules_guard_rate(e->guard, v, (size_t)(run->rule - e->rules),
			     e->now.mono, idx, RULES_GUARD_RULES, &n))
		return false;
	snprintf(what, sizeof(what), "node %u's %s", v->meta.key.node,
		 v->alias ? v->alias : v->meta.key.property);
	rule_pause(e, idx, n, run, what);
	snprintf(run->result, sizeof(run->result), "%s", run->rule->paused_why);
	run->failed = true;
	run->depth = 0;
	run->stack[0].pc = run->stack[0].n;
	return true;
}

/*
 * The value is read after $value, $node and $rule are replaced, as in a
 * publish: "set "b" level $value" copies the value that started the run.
 */
static int act_set(struct rt_run *run, const struct rules_action *a)
{
	struct rules_engine *e = run->e;
	struct registry_node *n = NULL;
	struct registry_value *v = find_value(e, &a->ref, &n);
	char err[128], text[RULES_TEXT_MAX];
	const char *lit = a->text;
	struct value val;
	int r;

	if (!n) {
		snprintf(run->result, sizeof(run->result), "no node \"%s\"",
			 a->ref.node);
		return -ENOENT;
	}
	if (!v) {
		snprintf(run->result, sizeof(run->result),
			 "node \"%s\" has no value \"%s\"", a->ref.node,
			 a->ref.value);
		return -ENOENT;
	}
	if (strchr(lit, '$')) {
		if ((r = expand(run, lit, false, text, sizeof(text))) < 0) {
			snprintf(
			    run->result, sizeof(run->result),
			    "\"%s\" %s: the value is too long after $value, "
			    "$node and $rule",
			    a->ref.node, a->ref.value);
			return r;
		}
		lit = text;
	}
	if (value_from_text(lit, &v->meta, &val, err, sizeof(err)) < 0) {
		snprintf(run->result, sizeof(run->result), "\"%s\" %s: %s",
			 a->ref.node, a->ref.value, err);
		return -EINVAL;
	}
	if (run->feedback && run->rule && rule_rate_check(run, v)) {
		value_clear(&val);
		return 0; /* not written, the run ended, once logged */
	}
	r = e->act->set_value(e->act->ctx, v, &val);
	value_clear(&val);
	if (r < 0)
		snprintf(run->result, sizeof(run->result), "set \"%s\" %s: %s",
			 a->ref.node, a->ref.value, strerror(-r));
	else
		rules_guard_wrote(e->guard, v, v->node, run->chain,
				  e->now.mono);
	return r;
}

static int act_other(struct rt_run *run, const struct rules_action *a)
{
	struct rules_engine *e = run->e;
	struct registry_node *n;
	char text[RULES_TEXT_MAX * 2];
	int r;

	switch (a->type) {
	case RULES_ACT_REFRESH:
		if (registry_find_node(e->reg, a->ref.node, &n) < 0) {
			snprintf(run->result, sizeof(run->result),
				 "no node \"%s\"", a->ref.node);
			return -ENOENT;
		}
		r = e->act->refresh(e->act->ctx, n->id);
		if (r == 0) /* what the node answers may start a loop */
			rules_guard_refreshed(e->guard, n, run->chain,
					      e->now.mono);
		if (r < 0)
			snprintf(run->result, sizeof(run->result),
				 "refresh \"%s\": %s", a->ref.node,
				 strerror(-r));
		return r;
	case RULES_ACT_PUBLISH:
		r = expand(run, a->payload, rules_payload_is_json(a->payload),
			   text, sizeof(text));
		if (r < 0) {
			snprintf(run->result, sizeof(run->result),
				 "publish \"%s\": the payload is too long "
				 "after $value, $node and $rule; not sent",
				 a->text);
			return r;
		}
		r = e->act->publish(e->act->ctx, a->text, text);
		if (r < 0)
			snprintf(run->result, sizeof(run->result),
				 "publish \"%s\": %s", a->text,
				 r == -ENOTCONN ? "no cloud configured"
						: strerror(-r));
		return r;
	case RULES_ACT_LOG:
		expand(run, a->text, false, text, sizeof(text)); /* cut: ok */
		rt_log(e, LOG_INFO, "rule \"%s\": %s", run_name(run), text);
		return 0;
	default:
		return 0;
	}
}

/* One action; true when the run goes on at once (false: it waits). */
static bool run_action(struct rt_run *run, const struct rules_action *a)
{
	struct rules_engine *e = run->e;
	const struct rules_scene *sc;
	int r = 0;

	switch (a->type) {
	case RULES_ACT_WAIT:
		return !timer_start(e, &run->timer,
				    e->now.mono + (uint64_t)a->wait_s * 1000);
	case RULES_ACT_SCENE:
		sc = rules_find_scene(e->set, a->text);
		if (!sc || run->depth >= RULES_SCENE_DEPTH) {
			snprintf(run->result, sizeof(run->result),
				 "cannot run scene \"%s\"", a->text);
			r = -ELOOP;
			break;
		}
		run->stack[++run->depth] =
		    (struct rt_frame){ sc->acts, sc->nacts, 0 };
		return true;
	case RULES_ACT_SET:
		r = act_set(run, a);
		break;
	default:
		r = act_other(run, a);
		break;
	}
	if (r < 0) {
		run->failed = true;
		rt_log(e, LOG_WARNING, "rule \"%s\": %s", run_name(run),
		       run->result);
	}
	return true;
}

static void rule_start_next(struct rt_rule *rr, struct rules_engine *e);

static void run_free(struct rules_engine *e, struct rt_run *run)
{
	struct rt_run **pp;
	struct rt_rule *rr = run->rule;

	timer_stop(e, &run->timer);
	pp = rr ? &rr->runs : &e->scene_runs;
	for (; *pp; pp = &(*pp)->next)
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	if (rr)
		rr->nruns--;
	free(run);
}

/* Goes on until a wait or the end. */
static void run_step(struct rt_run *run)
{
	struct rt_frame *f;
	struct rt_rule *rr = run->rule;
	struct rules_engine *e = run->e;

	for (;;) {
		f = &run->stack[run->depth];
		if (f->pc == f->n) {
			if (run->depth == 0)
				break;
			run->depth--;
			continue;
		}
		if (!run_action(run, &f->acts[f->pc++]))
			return;
	}
	if (rr) {
		snprintf(rr->last_result, sizeof(rr->last_result), "%s%s",
			 run->failed ? "failed: " : "ok",
			 run->failed ? run->result : "");
	}
	run_free(e, run);
	if (rr)
		rule_start_next(rr, e);
}

static struct rt_run *run_new(struct rules_engine *e, struct rt_rule *rr,
			      const struct rules_action *acts, size_t n)
{
	struct rt_run *run = calloc(1, sizeof(*run));

	if (!run) {
		rt_log(e, LOG_ERR, "rules: out of memory for a run");
		return NULL;
	}
	run->e = e;
	run->rule = rr;
	run->timer = (struct rt_timer){ .idx = SIZE_MAX,
					.type = RT_T_WAIT,
					.owner = run };
	run->stack[0] = (struct rt_frame){ acts, n, 0 };
	return run;
}

static void run_begin(struct rt_run *run)
{
	struct rt_rule *rr = run->rule;

	run->started = true;
	if (rr) {
		rr->last_run = run->e->now.wall;
		rr->runs_total++;
	}
	run_step(run);
}

/* queued: the first run not started yet, once none runs. */
static void rule_start_next(struct rt_rule *rr, struct rules_engine *e)
{
	struct rt_run *run;

	for (run = rr->runs; run; run = run->next)
		if (run->started)
			return;
	if (rr->runs)
		run_begin(rr->runs);
}

static void rule_cancel_runs(struct rules_engine *e, struct rt_rule *rr)
{
	while (rr->runs)
		run_free(e, rr->runs);
}

/* Appends a run to the rule's list as its mode says; NULL: dropped. */
static struct rt_run *rule_add_run(struct rules_engine *e, struct rt_rule *rr)
{
	const struct rules_rule *r = rr->r;
	struct rt_run *run, **pp;

	if (r->mode == RULES_MODE_RESTART)
		rule_cancel_runs(e, rr);
	if (rr->nruns >= r->max_runs) {
		rr->dropped++;
		return NULL;
	}
	if (!(run = run_new(e, rr, r->acts, r->nacts)))
		return NULL;
	for (pp = &rr->runs; *pp; pp = &(*pp)->next)
		;
	*pp = run;
	rr->nruns++;
	return run;
}

/* Every run of rr but keep (the one running now, which ends itself). */
static void rule_cancel_runs_but(struct rules_engine *e, struct rt_rule *rr,
				 const struct rt_run *keep)
{
	struct rt_run *run, *next;

	for (run = rr->runs; run; run = next) {
		next = run->next;
		if (run != keep)
			run_free(e, run);
	}
}

/*
 * The loop guard found a loop through the rules idx[n] (the one firing
 * or writing first): each is paused until enabled again or reloaded (a
 * cool-down would only start the same loop again), its runs stopped but
 * keep, once logged.  what: the value the rules write too often; NULL:
 * a chain that loops.
 */
static void rule_pause(struct rules_engine *e, const size_t *idx, size_t n,
		       const struct rt_run *keep, const char *what)
{
	const char *names[RULES_GUARD_RULES];
	char msg[RT_MSG_MAX];

	for (size_t i = 0; i < n; i++)
		names[i] = e->rules[idx[i]].r->name;
	for (size_t i = 0; i < n; i++) {
		struct rt_rule *rr = &e->rules[idx[i]];

		rr->loop_paused = true;
		rule_cancel_runs_but(e, rr, keep);
		if (what)
			rules_guard_rate_why(names, n, i, what, rr->paused_why,
					     sizeof(rr->paused_why));
		else
			rules_guard_why(names, n, i, rr->paused_why,
					sizeof(rr->paused_why));
	}
	if (what)
		rules_guard_rate_message(names, n, what, msg, sizeof(msg));
	else
		rules_guard_message(names, n, msg, sizeof(msg));
	rt_log(e, LOG_WARNING, "%s", msg);
}

/*
 * A trigger fired, for a report of the loop guard's chain cause (0:
 * none), a feedback or not: conditions, the guard, mode, then a run.
 */
static void rule_fire(struct rules_engine *e, struct rt_trig *g, uint32_t cause,
		      bool feedback)
{
	struct rt_rule *rr = g->rule;
	const struct rules_rule *r = rr->r;
	struct rt_run *run;
	size_t loop[RULES_GUARD_RULES], nloop;
	uint32_t chain;
	bool looped;

	if (!rr->enabled || rr->loop_paused)
		return;
	if (r->cond && !cond_eval(e, r->cond))
		return;
	chain = rules_guard_fire(e->guard, cause, (size_t)(rr - e->rules),
				 e->now.mono, &looped, loop, RULES_GUARD_RULES,
				 &nloop);
	if (looped) {
		rule_pause(e, loop, nloop, NULL, NULL);
		return;
	}
	if (!(run = rule_add_run(e, rr)))
		return;
	run->chain = chain;
	run->feedback = feedback;
	if (g->val && g->val->has_val)
		run->value_long = !val_show(&g->val->val, &g->val->meta,
					    run->value, sizeof(run->value));
	if (g->node) {
		struct registry_node *n =
		    registry_node(e->reg, (unsigned)g->node);

		snprintf(run->node, sizeof(run->node), "%s",
			 n && n->name ? n->name : "");
	}
	if (r->mode != RULES_MODE_QUEUED || rr->runs == run)
		run_begin(run);
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

static bool trig_holds(const struct rt_trig *g)
{
	const struct registry_value *v = g->val;

	return v && v->has_val &&
	       val_compare(&v->val, &v->meta, g->t->cmp, g->t->lit);
}

/* A value trigger learns the state without firing (start, new value). */
static void trig_learn(struct rules_engine *e, struct rt_trig *g)
{
	g->known = g->val && g->val->has_val;
	value_clear(&g->last);
	g->has_last = g->known && value_copy(&g->last, &g->val->val) == 0;
	g->holds = trig_holds(g);
	timer_stop(e, &g->timer);
	if (g->holds && g->t->for_s)
		timer_start(e, &g->timer,
			    e->now.mono + (uint64_t)g->t->for_s * 1000);
}

/* Empties the index; the lists are rebuilt by index_build. */
static void index_clear(struct rules_engine *e)
{
	memset(e->buckets, 0, e->nbuckets * sizeof(*e->buckets));
	memset(e->by_node, 0, sizeof(e->by_node));
	e->other = NULL;
}

static void trig_resolve(struct rules_engine *e, struct rt_trig *g)
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
	v = find_value(e, &t->ref, &n);
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
static void index_build(struct rules_engine *e)
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
	struct rt_trig *g, *next;
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
				rule_fire(e, g, cause, fb);
			continue;
		}
		h = trig_holds(g);
		if (h && !g->holds) {
			if (g->t->for_s) {
				g->for_chain = cause;
				g->for_feedback = fb;
				timer_start(e, &g->timer,
					    e->now.mono +
						(uint64_t)g->t->for_s * 1000);
			} else {
				rule_fire(e, g, cause, fb);
			}
		} else if (!h) {
			timer_stop(e, &g->timer);
		}
		g->holds = h;
	}
}

static void node_event(struct rules_engine *e, const struct registry_node *n)
{
	struct rt_trig *g;
	bool dead = n->status == ZW_NODE_DEAD;
	bool fb = rules_guard_feedback(e->guard, n, e->now.mono);

	for (g = e->by_node[n->id]; g; g = g->next) {
		if (g->node != n->id || g->dead == dead)
			continue;
		g->dead = dead;
		if (dead != g->t->up)
			rule_fire(e, g, 0, fb);
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
			struct rt_trig *g = &e->rules[i].trigs[k];

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
	case REG_VALUE_CHANGED:
		value_event(e, ev->value);
		break;
	case REG_NODE_CHANGED:
		node_event(e, ev->node);
		/* A rename: a name in a rule may now mean another node. */
		if (name_changed(e, ev->node))
			index_build(e);
		break;
	case REG_VALUE_REMOVED:
	case REG_NODE_REMOVED:
		rules_guard_forget(e->guard, ev->type == REG_VALUE_REMOVED
						 ? (const void *)ev->value
						 : (const void *)ev->node);
		/* Still readable during the call: not to be found again. */
		e->gone_value = ev->value;
		e->gone_node = ev->node;
		index_build(e);
		e->gone_value = NULL;
		e->gone_node = NULL;
		break;
	case REG_NODE_ADDED:
		name_changed(e, ev->node);
		index_add(e);
		break;
	case REG_VALUE_ADDED:
		index_add(e);
		break;
	default:
		break;
	}
}

/* Schedules. */

/* Arms the AT timer for next_wall, at most RULES_TIMER_MAX_MS ahead. */
static void at_arm(struct rules_engine *e, struct rt_trig *g)
{
	uint64_t ms = (uint64_t)(g->next_wall - e->now.wall) * 1000;

	if (g->next_wall <= e->now.wall)
		ms = 0;
	if (ms > RULES_TIMER_MAX_MS)
		ms = RULES_TIMER_MAX_MS;
	timer_start(e, &g->timer, e->now.mono + ms);
}

/* Plans the next firing after max(now, the last one). */
static void at_plan(struct rules_engine *e, struct rt_trig *g)
{
	time_t after = e->now.wall;
	int r;

	g->next_wall = 0;
	if (!e->now.trusted) {
		snprintf(g->why, sizeof(g->why),
			 "the clock is not trusted yet");
		/* Checked again when it is: see rules_engine_clock_jump. */
		timer_stop(e, &g->timer);
		return;
	}
	if (g->t->at.kind == SCHED_SUN && !e->has_loc) {
		snprintf(g->why, sizeof(g->why), "no location configured");
		return;
	}
	if (g->last_fired > after)
		after = g->last_fired;
	r = sched_next(&g->t->at, e->has_loc ? &e->loc : NULL, after,
		       &g->next_wall, g->why, sizeof(g->why));
	if (r < 0) {
		g->next_wall = 0;
		if (!g->why[0])
			snprintf(g->why, sizeof(g->why), "no next time: %s",
				 strerror(-r));
		/* Polar night ends some day: look again in a while. */
		timer_start(e, &g->timer, e->now.mono + RULES_TIMER_MAX_MS);
		return;
	}
	g->why[0] = '\0';
	at_arm(e, g);
}

/* The AT timer expired: fire when the wall clock says it is time. */
static void at_due(struct rules_engine *e, struct rt_trig *g)
{
	if (!g->next_wall) {
		at_plan(e, g);
		return;
	}
	if (e->now.wall < g->next_wall) {
		at_arm(e, g); /* not yet by the wall clock: wait on */
		return;
	}
	/* Late by more than catch-up: a jump or a suspend; never a
	 * backlog. */
	if (sched_catch_up(g->next_wall, e->now.wall,
			   (unsigned)g->rule->r->catch_up_s)) {
		g->last_fired = g->next_wall;
		rule_fire(e, g, 0, false);
	} else {
		g->last_fired = e->now.wall;
		rt_log(e, LOG_NOTICE,
		       "rule \"%s\": a schedule was missed by %lld s; skipped",
		       g->rule->r->name,
		       (long long)(e->now.wall - g->next_wall));
	}
	at_plan(e, g);
}

static void timer_due(struct rules_engine *e, struct rt_timer *t)
{
	struct rt_trig *g = t->owner;

	switch (t->type) {
	case RT_T_AT:
		at_due(e, g);
		break;
	case RT_T_EVERY:
		timer_start(e, t, e->now.mono + (uint64_t)g->t->every_s * 1000);
		rule_fire(e, g, 0, false);
		break;
	case RT_T_FOR:
		if (trig_holds(g))
			rule_fire(e, g, g->for_chain, g->for_feedback);
		break;
	case RT_T_WAIT:
		run_step(t->owner);
		break;
	}
}

void rules_engine_tick(struct rules_engine *e, const struct rules_clock *now)
{
	struct rt_timer *t;

	e->now = *now;
	while (e->nheap && e->heap[0]->due <= now->mono) {
		t = e->heap[0];
		timer_stop(e, t);
		timer_due(e, t);
	}
}

void rules_engine_clock_jump(struct rules_engine *e,
			     const struct rules_clock *now)
{
	struct rt_trig *g;

	e->now = *now;
	for (size_t i = 0; i < e->nrules; i++)
		for (size_t k = 0; k < e->rules[i].r->ntrigs; k++) {
			g = &e->rules[i].trigs[k];
			if (g->t->type != RULES_TRIG_AT)
				continue;
			if (g->next_wall && g->next_wall <= now->wall &&
			    now->trusted)
				at_due(e, g); /* jumped over it */
			else
				at_plan(e, g);
		}
}

void rules_engine_cloud(struct rules_engine *e, bool online,
			const struct rules_clock *now)
{
	e->now = *now;
	if (e->cloud_online == online)
		return;
	e->cloud_online = online;
	for (struct rt_trig *g = e->other; g; g = g->next)
		if (g->t->type == RULES_TRIG_CLOUD && g->t->up == online)
			rule_fire(e, g, 0, false);
}

void rules_engine_start(struct rules_engine *e, const struct rules_clock *now,
			bool boot)
{
	struct rt_trig *g;

	e->now = *now;
	index_build(e);
	for (size_t i = 0; i < e->nrules; i++)
		for (size_t k = 0; k < e->rules[i].r->ntrigs; k++) {
			g = &e->rules[i].trigs[k];
			if (g->t->type == RULES_TRIG_AT)
				at_plan(e, g);
			else if (g->t->type == RULES_TRIG_EVERY)
				timer_start(e, &g->timer,
					    now->mono +
						(uint64_t)g->t->every_s * 1000);
		}
	for (g = e->other; boot && g; g = g->next)
		if (g->t->type == RULES_TRIG_START)
			rule_fire(e, g, 0, false);
}

/* The engine's life. */

static enum rt_timer_type timer_type_of(const struct rules_trigger *t)
{
	return t->type == RULES_TRIG_AT	     ? RT_T_AT
	       : t->type == RULES_TRIG_EVERY ? RT_T_EVERY
					     : RT_T_FOR;
}

static size_t rules_ntrigs(const struct rules_set *set)
{
	size_t n = 0;

	for (size_t i = 0; set && i < set->nrules; i++)
		n += set->rules[i].ntrigs;
	return n;
}

int rules_engine_new(const struct rules_set *set, struct registry *reg,
		     const struct rules_actions *act,
		     const struct sched_loc *loc, struct rules_engine **ret)
{
	struct rules_engine *e = calloc(1, sizeof(*e));
	size_t n = set ? set->nrules : 0;

	if (!e || (n && !(e->rules = calloc(n, sizeof(*e->rules)))))
		goto oom;
	e->set = set;
	e->reg = reg;
	e->act = act;
	if (loc) {
		e->loc = *loc;
		e->has_loc = true;
	}
	e->nrules = n;
	for (e->nbuckets = RT_BUCKETS_MIN; e->nbuckets < 2 * rules_ntrigs(set);)
		e->nbuckets *= 2;
	if (!(e->buckets = calloc(e->nbuckets, sizeof(*e->buckets))) ||
	    rules_guard_new(&e->guard) < 0)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct rt_rule *rr = &e->rules[i];
		const struct rules_rule *r = &set->rules[i];

		rr->r = r;
		rr->enabled = true;
		if (!(rr->trigs = calloc(r->ntrigs, sizeof(*rr->trigs))))
			goto oom;
		for (size_t k = 0; k < r->ntrigs; k++)
			rr->trigs[k] = (struct rt_trig){
				.t = &r->trigs[k],
				.rule = rr,
				.timer = { .idx = SIZE_MAX,
					   .type = timer_type_of(&r->trigs[k]),
					   .owner = &rr->trigs[k] },
			};
	}
	*ret = e;
	return 0;
oom:
	rules_engine_free(e);
	return -ENOMEM;
}

struct rules_engine *rules_engine_free(struct rules_engine *e)
{
	if (!e)
		return NULL;
	while (e->scene_runs)
		run_free(e, e->scene_runs);
	/* Every run first: stopping a run's timer reorders the heap, which
	 * still holds the trigger timers of every rule's trigs. */
	for (size_t i = 0; i < e->nrules; i++)
		rule_cancel_runs(e, &e->rules[i]);
	for (size_t i = 0; i < e->nrules; i++) {
		struct rt_rule *rr = &e->rules[i];

		for (size_t k = 0; rr->trigs && k < rr->r->ntrigs; k++)
			value_clear(&rr->trigs[k].last);
		free(rr->trigs);
	}
	for (size_t i = 0; i <= ZW_NODE_MAX; i++)
		free(e->node_names[i]);
	free(e->rules);
	free(e->buckets);
	free(e->heap);
	rules_guard_free(e->guard);
	free(e);
	return NULL;
}

static struct rt_rule *rule_by_name(const struct rules_engine *e,
				    const char *name)
{
	for (size_t i = 0; i < e->nrules; i++)
		if (strcmp(e->rules[i].r->name, name) == 0)
			return &e->rules[i];
	return NULL;
}

void rules_engine_adopt(struct rules_engine *e, const struct rules_engine *old)
{
	for (size_t i = 0; old && i < e->nrules; i++) {
		struct rt_rule *rr = &e->rules[i];
		const struct rt_rule *o = rule_by_name(old, rr->r->name);

		if (!o)
			continue;
		rr->enabled = o->enabled;
		rr->last_run = o->last_run;
		memcpy(rr->last_result, o->last_result,
		       sizeof(rr->last_result));
		rr->runs_total = o->runs_total;
		rr->dropped = o->dropped;
		/* Not loop_paused: a reload is a fresh start (and the likely
		 * fix), see zwgate.rules(5). */
		/* The same schedule must not fire twice across a reload. */
		for (size_t k = 0; k < rr->r->ntrigs && k < o->r->ntrigs; k++)
			rr->trigs[k].last_fired = o->trigs[k].last_fired;
	}
	e->cloud_online = old ? old->cloud_online : false;
}

int rules_engine_run(struct rules_engine *e, const char *name,
		     const struct rules_clock *now)
{
	struct rt_rule *rr = rule_by_name(e, name);
	struct rt_run *run;
	size_t loop[1], n;
	bool looped;

	e->now = *now;
	if (!rr)
		return -ENOENT;
	if (!(run = rule_add_run(e, rr)))
		return -EBUSY;
	/* A chain of its own: what it sets may start a loop too. */
	run->chain = rules_guard_fire(e->guard, 0, (size_t)(rr - e->rules),
				      e->now.mono, &looped, loop, 1, &n);
	if (rr->r->mode != RULES_MODE_QUEUED || rr->runs == run)
		run_begin(run);
	return 0;
}

int rules_engine_scene(struct rules_engine *e, const char *name,
		       const struct rules_clock *now)
{
	const struct rules_scene *sc = rules_find_scene(e->set, name);
	struct rt_run *run;

	e->now = *now;
	if (!sc)
		return -ENOENT;
	if (!(run = run_new(e, NULL, sc->acts, sc->nacts)))
		return -ENOMEM;
	run->next = e->scene_runs;
	e->scene_runs = run;
	run_begin(run);
	return 0;
}

int rules_engine_enable(struct rules_engine *e, const char *name, bool on)
{
	struct rt_rule *rr = rule_by_name(e, name);

	if (!rr)
		return -ENOENT;
	rr->enabled = on;
	if (on)
		rr->loop_paused = false; /* the user's word: try again */
	return 0;
}

json_t *rules_engine_state_json(const struct rules_engine *e)
{
	json_t *dis = json_array();

	for (size_t i = 0; dis && i < e->nrules; i++)
		if (!e->rules[i].enabled)
			json_array_append_new(dis,
					      json_string(e->rules[i].r->name));
	return dis ? json_pack("{s:o}", "disabled", dis) : NULL;
}

void rules_engine_load_state(struct rules_engine *e, const json_t *state)
{
	json_t *dis = json_object_get(state, "disabled"), *n;
	size_t i;

	json_array_foreach(dis, i, n) if (json_is_string(n))
	    rules_engine_enable(e, json_string_value(n), false);
}

/* Views for the control socket. */

static json_t *iso_or_null(time_t t)
{
	char buf[SCHED_ISO8601_LEN];

	return t ? json_string(sched_iso8601(t, buf, sizeof(buf)))
		 : json_null();
}

static time_t trig_next(const struct rules_engine *e, const struct rt_trig *g,
			const struct rules_clock *now)
{
	if (g->t->type == RULES_TRIG_AT)
		return g->next_wall;
	if (g->t->type == RULES_TRIG_EVERY && g->timer.idx != SIZE_MAX)
		return now->wall + (time_t)((g->timer.due > now->mono
						 ? g->timer.due - now->mono
						 : 0) /
					    1000);
	return 0;
}

static const char *const trig_words[] = {
	[RULES_TRIG_AT] = "at",		  [RULES_TRIG_EVERY] = "every",
	[RULES_TRIG_BECOMES] = "becomes", [RULES_TRIG_CHANGES] = "changes",
	[RULES_TRIG_CMP] = "compare",	  [RULES_TRIG_NODE] = "node",
	[RULES_TRIG_CLOUD] = "cloud",	  [RULES_TRIG_START] = "start",
};

static json_t *rule_json(const struct rules_engine *e, const struct rt_rule *rr,
			 const struct rules_clock *now, bool detail)
{
	const struct rules_rule *r = rr->r;
	time_t next = 0, t;
	const char *why = NULL;
	json_t *o, *trigs = NULL;
	char where[RT_SHOWN_MAX];

	for (size_t k = 0; k < r->ntrigs; k++) {
		const struct rt_trig *g = &rr->trigs[k];

		t = trig_next(e, g, now);
		if (t && (!next || t < next))
			next = t;
		if (!why && g->why[0])
			why = g->why;
	}
	if (!rr->enabled)
		why = "disabled";
	else if (rr->loop_paused)
		why = rr->paused_why;
	snprintf(where, sizeof(where), "%s:%u", r->pos.file, r->pos.line);
	o = json_pack(
	    "{s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:s}", "name",
	    r->name, "enabled", rr->enabled, "mode", rules_mode_name(r->mode),
	    "next", rr->enabled ? iso_or_null(next) : json_null(), "last_run",
	    iso_or_null(rr->last_run), "last_result",
	    rr->last_result[0] ? json_string(rr->last_result) : json_null(),
	    "waiting", why ? json_string(why) : json_null(), "running",
	    (json_int_t)rr->nruns, "runs", (json_int_t)rr->runs_total,
	    "dropped", (json_int_t)rr->dropped, "file", where);
	if (o)
		json_object_set_new(o, "paused", json_boolean(rr->loop_paused));
	if (!o || !detail)
		return o;
	trigs = json_array();
	for (size_t k = 0; trigs && k < r->ntrigs; k++) {
		const struct rt_trig *g = &rr->trigs[k];
		const struct rules_trigger *tg = g->t;

		json_array_append_new(
		    trigs, json_pack("{s:s, s:s?, s:s?, s:o, s:s?, s:i}",
				     "type", trig_words[tg->type], "node",
				     tg->ref.node, "value", tg->ref.value,
				     "next", iso_or_null(trig_next(e, g, now)),
				     "waiting", g->why[0] ? g->why : NULL,
				     "line", (int)tg->pos.line));
	}
	json_object_set_new(o, "triggers", trigs ? trigs : json_null());
	json_object_set_new(o, "actions", json_integer((json_int_t)r->nacts));
	json_object_set_new(o, "max_runs", json_integer(r->max_runs));
	return o;
}

json_t *rules_engine_json(const struct rules_engine *e,
			  const struct rules_clock *now)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < e->nrules; i++)
		json_array_append_new(a,
				      rule_json(e, &e->rules[i], now, false));
	return a;
}

json_t *rules_engine_rule_json(const struct rules_engine *e, const char *name,
			       const struct rules_clock *now)
{
	const struct rt_rule *rr = rule_by_name(e, name);

	return rr ? rule_json(e, rr, now, true) : NULL;
}

/* Names against a known network. */

static void check_ref(const struct registry *reg, const struct rules_ref *ref,
		      const char *lit, const struct rules_pos *lit_pos,
		      struct diag_list *diags)
{
	struct registry_node *n;
	struct registry_value *v;
	struct value val;
	char err[128];
	int r;

	if (!ref->node)
		return;
	if (registry_find_node(reg, ref->node, &n) < 0) {
		diag_add(diags, ref->pos.file, ref->pos.line, ref->pos.col,
			 true, "no node \"%s\" in the network (yet)",
			 ref->node);
		return;
	}
	if (!ref->value)
		return;
	r = registry_find_value(n, ref->value, &v);
	if (r < 0) {
		diag_add(diags, ref->value_pos.file, ref->value_pos.line,
			 ref->value_pos.col, true,
			 r == -ENOTUNIQ ? "\"%s\" names more than one value of "
					  "node \"%s\""
					: "no value \"%s\" on node \"%s\"",
			 ref->value, ref->node);
		return;
	}
	if (lit && value_from_text(lit, &v->meta, &val, err, sizeof(err)) < 0)
		diag_add(diags, lit_pos->file, lit_pos->line, lit_pos->col,
			 true, "\"%s\" %s: %s", ref->node, ref->value, err);
	else if (lit)
		value_clear(&val);
}

static void check_cond(const struct registry *reg, const struct rules_cond *c,
		       struct diag_list *diags)
{
	if (!c)
		return;
	check_cond(reg, c->a, diags);
	check_cond(reg, c->b, diags);
	if (c->type == RULES_COND_VALUE || c->type == RULES_COND_NODE)
		check_ref(reg, &c->ref,
			  rules_cmp_is_ordered(c->cmp) ? NULL : c->lit,
			  &c->lit_pos, diags);
}

static void check_acts(const struct registry *reg,
		       const struct rules_action *acts, size_t n,
		       struct diag_list *diags)
{
	for (size_t i = 0; i < n; i++) {
		const struct rules_action *a = &acts[i];
		/* A value with $value in it is known only at run time. */
		const char *lit =
		    a->type == RULES_ACT_SET && !strchr(a->text, '$') ? a->text
								      : NULL;

		if (a->type == RULES_ACT_SET || a->type == RULES_ACT_REFRESH)
			check_ref(reg, &a->ref, lit, &a->text_pos, diags);
	}
}

void rules_check_names(const struct rules_set *s, const struct registry *reg,
		       struct diag_list *diags)
{
	for (size_t i = 0; s && i < s->nrules; i++) {
		const struct rules_rule *r = &s->rules[i];

		for (size_t k = 0; k < r->ntrigs; k++) {
			const struct rules_trigger *t = &r->trigs[k];

			check_ref(reg, &t->ref,
				  t->type == RULES_TRIG_BECOMES ? t->lit : NULL,
				  &t->lit_pos, diags);
		}
		check_cond(reg, r->cond, diags);
		check_acts(reg, r->acts, r->nacts, diags);
	}
	for (size_t i = 0; s && i < s->nscenes; i++)
		check_acts(reg, s->scenes[i].acts, s->scenes[i].nacts, diags);
}
