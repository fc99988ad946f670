/* SPDX-License-Identifier: MIT */
/*
 * rules_timer.c: the engine's timers, one binary heap of monotonic
 * deadlines (schedules, intervals, "for" durations, waits), and the
 * schedules ("at"): planned with sched_next, checked against the wall
 * clock when their timer expires, so a jump in either direction is
 * caught even without a jump notice.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "rules.h"
#include "rules_int.h"
#include "sched.h"

/* The timer heap. */

static void heap_swap(struct rules_engine *e, size_t a, size_t b)
{
	struct rules_rt_timer *t = e->heap[a];

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

void rules_timer_stop(struct rules_engine *e, struct rules_rt_timer *t)
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
bool rules_timer_start(struct rules_engine *e, struct rules_rt_timer *t,
		       uint64_t due)
{
	struct rules_rt_timer **n;

	rules_timer_stop(e, t);
	if (e->nheap == e->capheap) {
		size_t cap = e->capheap ? 2 * e->capheap : 64;

		if (!(n = realloc(e->heap, cap * sizeof(*n)))) {
			rules_rt_log(e, LOG_ERR,
				     "rules: out of memory for a timer");
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

/* Schedules. */

/* Arms the AT timer for next_wall, at most RULES_TIMER_MAX_MS ahead. */
static void at_arm(struct rules_engine *e, struct rules_rt_trig *g)
{
	uint64_t ms = (uint64_t)(g->next_wall - e->now.wall) * 1000;

	if (g->next_wall <= e->now.wall)
		ms = 0;
	if (ms > RULES_TIMER_MAX_MS)
		ms = RULES_TIMER_MAX_MS;
	rules_timer_start(e, &g->timer, e->now.mono + ms);
}

/* Plans the next firing after max(now, the last one). */
void rules_at_plan(struct rules_engine *e, struct rules_rt_trig *g)
{
	zwtime_t after = e->now.wall;
	int r;

	g->next_wall = 0;
	if (!e->now.trusted) {
		snprintf(g->why, sizeof(g->why),
			 "the clock is not trusted yet");
		/* Checked again when it is: see rules_engine_clock_jump. */
		rules_timer_stop(e, &g->timer);
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
		rules_timer_start(e, &g->timer,
				  e->now.mono + RULES_TIMER_MAX_MS);
		return;
	}
	g->why[0] = '\0';
	at_arm(e, g);
}

/* The AT timer expired: fire when the wall clock says it is time. */
static void at_due(struct rules_engine *e, struct rules_rt_trig *g)
{
	if (!g->next_wall) {
		rules_at_plan(e, g);
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
		rules_rule_fire(e, g, 0, false);
	} else {
		g->last_fired = e->now.wall;
		rules_rt_log(
		    e, LOG_NOTICE,
		    "rule \"%s\": a schedule was missed by %lld s; skipped",
		    g->rule->r->name, (long long)(e->now.wall - g->next_wall));
	}
	rules_at_plan(e, g);
}

static void timer_due(struct rules_engine *e, struct rules_rt_timer *t)
{
	struct rules_rt_trig *g = t->owner;

	switch (t->type) {
	case RULES_RT_T_AT:
		at_due(e, g);
		break;
	case RULES_RT_T_EVERY:
		rules_timer_start(e, t,
				  e->now.mono + (uint64_t)g->t->every_s * 1000);
		rules_rule_fire(e, g, 0, false);
		break;
	case RULES_RT_T_FOR:
		if (rules_trig_holds(g))
			rules_rule_fire(e, g, g->for_chain, g->for_feedback);
		break;
	case RULES_RT_T_WAIT:
		rules_run_step(t->owner);
		break;
	}
}

void rules_engine_tick(struct rules_engine *e, const struct rules_clock *now)
{
	struct rules_rt_timer *t;

	e->now = *now;
	while (e->nheap && e->heap[0]->due <= now->mono) {
		t = e->heap[0];
		rules_timer_stop(e, t);
		timer_due(e, t);
	}
}

void rules_engine_clock_jump(struct rules_engine *e,
			     const struct rules_clock *now)
{
	struct rules_rt_trig *g;

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
				rules_at_plan(e, g);
		}
}
