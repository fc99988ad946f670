/* SPDX-License-Identifier: MIT */
/*
 * rules.c: the engine's life: it is made for a rules_set, takes over
 * what an engine before it knew, starts, and answers the control
 * socket's run, scene, enable and state.  The engine's parts:
 * rules_match.c (triggers, conditions, events), rules_run.c (runs of
 * actions), rules_timer.c (the timer heap, schedules), rules_view.c
 * (views for the control socket); rules_int.h has what they share.
 * Triggers are indexed by the registry's value pointers (stable, see
 * registry.h) and node ids, so the cost of an event does not grow with
 * the number of rules; every timer (schedules, intervals, "for"
 * durations, waits) is one binary heap of monotonic deadlines.
 * Wall-clock times are planned with sched_next and checked against the
 * wall clock when their timer expires, so a jump in either direction is
 * caught even without a jump notice.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "value.h"

#define RT_BUCKETS_MIN 64 /* value index: a power of two, >= 2 triggers */

/* The engine's life. */

void rules_engine_start(struct rules_engine *e, const struct rules_clock *now,
			bool boot)
{
	struct rules_rt_trig *g;

	e->now = *now;
	rules_index_build(e);
	for (size_t i = 0; i < e->nrules; i++)
		for (size_t k = 0; k < e->rules[i].r->ntrigs; k++) {
			g = &e->rules[i].trigs[k];
			if (g->t->type == RULES_TRIG_AT)
				rules_at_plan(e, g);
			else if (g->t->type == RULES_TRIG_EVERY)
				rules_timer_start(
				    e, &g->timer,
				    now->mono + (uint64_t)g->t->every_s * 1000);
		}
	for (g = e->other; boot && g; g = g->next)
		if (g->t->type == RULES_TRIG_START)
			rules_rule_fire(e, g, 0, false);
}

static enum rules_rt_timer_type timer_type_of(const struct rules_trigger *t)
{
	return t->type == RULES_TRIG_AT	     ? RULES_RT_T_AT
	       : t->type == RULES_TRIG_EVERY ? RULES_RT_T_EVERY
					     : RULES_RT_T_FOR;
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
		struct rules_rt_rule *rr = &e->rules[i];
		const struct rules_rule *r = &set->rules[i];

		rr->r = r;
		rr->enabled = true;
		if (!(rr->trigs = calloc(r->ntrigs, sizeof(*rr->trigs))))
			goto oom;
		for (size_t k = 0; k < r->ntrigs; k++)
			rr->trigs[k] = (struct rules_rt_trig){
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
		rules_run_free(e, e->scene_runs);
	/* Every run first: stopping a run's timer reorders the heap, which
	 * still holds the trigger timers of every rule's trigs. */
	for (size_t i = 0; i < e->nrules; i++)
		rules_rule_cancel_runs(e, &e->rules[i]);
	for (size_t i = 0; i < e->nrules; i++) {
		struct rules_rt_rule *rr = &e->rules[i];

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

struct rules_rt_rule *rules_rule_by_name(const struct rules_engine *e,
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
		struct rules_rt_rule *rr = &e->rules[i];
		const struct rules_rt_rule *o =
		    rules_rule_by_name(old, rr->r->name);

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
	struct rules_rt_rule *rr = rules_rule_by_name(e, name);
	struct rules_rt_run *run;
	size_t loop[1], n;
	bool looped;

	e->now = *now;
	if (!rr)
		return -ENOENT;
	if (!(run = rules_rule_add_run(e, rr)))
		return -EBUSY;
	/* A chain of its own: what it sets may start a loop too. */
	run->chain = rules_guard_fire(e->guard, 0, (size_t)(rr - e->rules),
				      e->now.mono, &looped, loop, 1, &n);
	if (rr->r->mode != RULES_MODE_QUEUED || rr->runs == run)
		rules_run_begin(run);
	return 0;
}

int rules_engine_scene(struct rules_engine *e, const char *name,
		       const struct rules_clock *now)
{
	const struct rules_scene *sc = rules_find_scene(e->set, name);
	struct rules_rt_run *run;

	e->now = *now;
	if (!sc)
		return -ENOENT;
	if (!(run = rules_run_new(e, NULL, sc->acts, sc->nacts)))
		return -ENOMEM;
	run->next = e->scene_runs;
	e->scene_runs = run;
	rules_run_begin(run);
	return 0;
}

int rules_engine_enable(struct rules_engine *e, const char *name, bool on)
{
	struct rules_rt_rule *rr = rules_rule_by_name(e, name);

	if (!rr)
		return -ENOENT;
	rr->enabled = on;
	if (on)
		rr->loop_paused = false; /* the user's word: try again */
	return 0;
}

int rules_engine_enabled(const struct rules_engine *e, const char *name)
{
	struct rules_rt_rule *rr = rules_rule_by_name(e, name);

	return rr ? rr->enabled : -ENOENT;
}

json_t *rules_engine_state_json(const struct rules_engine *e)
{
	json_t *dis = json_array();

	/* A name left out would enable its rule at the next start. */
	for (size_t i = 0; dis && i < e->nrules; i++)
		if (!e->rules[i].enabled &&
		    json_array_append_new(
			dis, json_string(e->rules[i].r->name)) < 0) {
			json_decref(dis);
			return NULL;
		}
	return dis ? json_pack("{s:o}", "disabled", dis) : NULL;
}

void rules_engine_load_state(struct rules_engine *e, const json_t *state)
{
	json_t *dis = json_object_get(state, "disabled"), *n;
	size_t i;

	json_array_foreach(dis, i, n) if (json_is_string(n))
	    rules_engine_enable(e, json_string_value(n), false);
}
