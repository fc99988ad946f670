/* SPDX-License-Identifier: MIT */
/*
 * rules_run.c: runs of a rule's (or a scene's) actions: a trigger fired,
 * conditions, the loop guard and the rule's mode decide on a run, which
 * goes on action by action until a wait or its end.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "value.h"

#define RT_MSG_MAX (RULES_TEXT_MAX + 256)

void rules_rt_log(struct rules_engine *e, int prio, const char *fmt, ...)
{
	char msg[RT_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->act->log)
		e->act->log(e->act->ctx, prio, msg);
}

/* Runs. */

static const char *run_name(const struct rules_rt_run *run)
{
	return run->rule ? run->rule->r->name : "scene";
}

/*
 * "$value", "$node" and "$rule" of in replaced (see rules_expand): json
 * for a publish payload of JSON, escaped where they land.
 */
static int expand(const struct rules_rt_run *run, const char *in, bool json,
		  char *out, size_t len)
{
	struct rules_subst s = { run->value_long ? NULL : run->value, run->node,
				 run_name(run) };

	return rules_expand(in, &s, json, out, len);
}

static void rule_pause(struct rules_engine *e, const size_t *idx, size_t n,
		       const struct rules_rt_run *keep, const char *what);

/*
 * run, fired by a feedback, is about to write v: false when it may.
 * true: that is one write of v too many (RULES_RATE_MAX): the rules that
 * wrote it are paused, and run ends here, failed, having not written.
 */
static bool rule_rate_check(struct rules_rt_run *run,
			    const struct registry_value *v)
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
static int act_set(struct rules_rt_run *run, const struct rules_action *a)
{
	struct rules_engine *e = run->e;
	struct registry_node *n = NULL;
	struct registry_value *v = rules_find_value(e, &a->ref, &n);
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

static int act_other(struct rules_rt_run *run, const struct rules_action *a)
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
		rules_rt_log(e, LOG_INFO, "rule \"%s\": %s", run_name(run),
			     text);
		return 0;
	default:
		return 0;
	}
}

/* One action; true when the run goes on at once (false: it waits). */
static bool run_action(struct rules_rt_run *run, const struct rules_action *a)
{
	struct rules_engine *e = run->e;
	const struct rules_scene *sc;
	int r = 0;

	switch (a->type) {
	case RULES_ACT_WAIT:
		return !rules_timer_start(
		    e, &run->timer, e->now.mono + (uint64_t)a->wait_s * 1000);
	case RULES_ACT_SCENE:
		sc = rules_find_scene(e->set, a->text);
		if (!sc || run->depth >= RULES_SCENE_DEPTH) {
			snprintf(run->result, sizeof(run->result),
				 "cannot run scene \"%s\"", a->text);
			r = -ELOOP;
			break;
		}
		run->stack[++run->depth] =
		    (struct rules_rt_frame){ sc->acts, sc->nacts, 0 };
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
		rules_rt_log(e, LOG_WARNING, "rule \"%s\": %s", run_name(run),
			     run->result);
	}
	return true;
}

static void rule_start_next(struct rules_rt_rule *rr, struct rules_engine *e);

void rules_run_free(struct rules_engine *e, struct rules_rt_run *run)
{
	struct rules_rt_run **pp;
	struct rules_rt_rule *rr = run->rule;

	rules_timer_stop(e, &run->timer);
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
void rules_run_step(struct rules_rt_run *run)
{
	struct rules_rt_frame *f;
	struct rules_rt_rule *rr = run->rule;
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
	rules_run_free(e, run);
	if (rr)
		rule_start_next(rr, e);
}

struct rules_rt_run *rules_run_new(struct rules_engine *e,
				   struct rules_rt_rule *rr,
				   const struct rules_action *acts, size_t n)
{
	struct rules_rt_run *run = calloc(1, sizeof(*run));

	if (!run) {
		rules_rt_log(e, LOG_ERR, "rules: out of memory for a run");
		return NULL;
	}
	run->e = e;
	run->rule = rr;
	run->timer = (struct rules_rt_timer){ .idx = SIZE_MAX,
					      .type = RULES_RT_T_WAIT,
					      .owner = run };
	run->stack[0] = (struct rules_rt_frame){ acts, n, 0 };
	return run;
}

void rules_run_begin(struct rules_rt_run *run)
{
	struct rules_rt_rule *rr = run->rule;

	run->started = true;
	if (rr) {
		rr->last_run = run->e->now.wall;
		rr->runs_total++;
	}
	rules_run_step(run);
}

/* queued: the first run not started yet, once none runs. */
static void rule_start_next(struct rules_rt_rule *rr, struct rules_engine *e)
{
	struct rules_rt_run *run;

	for (run = rr->runs; run; run = run->next)
		if (run->started)
			return;
	if (rr->runs)
		rules_run_begin(rr->runs);
}

void rules_rule_cancel_runs(struct rules_engine *e, struct rules_rt_rule *rr)
{
	while (rr->runs)
		rules_run_free(e, rr->runs);
}

/* Appends a run to the rule's list as its mode says; NULL: dropped. */
struct rules_rt_run *rules_rule_add_run(struct rules_engine *e,
					struct rules_rt_rule *rr)
{
	const struct rules_rule *r = rr->r;
	struct rules_rt_run *run, **pp;

	if (r->mode == RULES_MODE_RESTART)
		rules_rule_cancel_runs(e, rr);
	if (rr->nruns >= r->max_runs) {
		rr->dropped++;
		return NULL;
	}
	if (!(run = rules_run_new(e, rr, r->acts, r->nacts)))
		return NULL;
	for (pp = &rr->runs; *pp; pp = &(*pp)->next)
		;
	*pp = run;
	rr->nruns++;
	return run;
}

/* Every run of rr but keep (the one running now, which ends itself). */
static void rule_cancel_runs_but(struct rules_engine *e,
				 struct rules_rt_rule *rr,
				 const struct rules_rt_run *keep)
{
	struct rules_rt_run *run, *next;

	for (run = rr->runs; run; run = next) {
		next = run->next;
		if (run != keep)
			rules_run_free(e, run);
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
		       const struct rules_rt_run *keep, const char *what)
{
	const char *names[RULES_GUARD_RULES];
	char msg[RT_MSG_MAX];

	for (size_t i = 0; i < n; i++)
		names[i] = e->rules[idx[i]].r->name;
	for (size_t i = 0; i < n; i++) {
		struct rules_rt_rule *rr = &e->rules[idx[i]];

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
	rules_rt_log(e, LOG_WARNING, "%s", msg);
}

/*
 * A trigger fired, for a report of the loop guard's chain cause (0:
 * none), a feedback or not: conditions, the guard, mode, then a run.
 */
void rules_rule_fire(struct rules_engine *e, struct rules_rt_trig *g,
		     uint32_t cause, bool feedback)
{
	struct rules_rt_rule *rr = g->rule;
	const struct rules_rule *r = rr->r;
	struct rules_rt_run *run;
	size_t loop[RULES_GUARD_RULES], nloop;
	uint32_t chain;
	bool looped;

	if (!rr->enabled || rr->loop_paused)
		return;
	if (r->cond && !rules_cond_eval(e, r->cond))
		return;
	chain = rules_guard_fire(e->guard, cause, (size_t)(rr - e->rules),
				 e->now.mono, &looped, loop, RULES_GUARD_RULES,
				 &nloop);
	if (looped) {
		rule_pause(e, loop, nloop, NULL, NULL);
		return;
	}
	if (!(run = rules_rule_add_run(e, rr)))
		return;
	run->chain = chain;
	run->feedback = feedback;
	if (g->val && g->val->has_val)
		run->value_long =
		    !rules_val_show(&g->val->val, &g->val->meta, run->value,
				    sizeof(run->value));
	if (g->node) {
		struct registry_node *n =
		    registry_node(e->reg, (unsigned)g->node);

		snprintf(run->node, sizeof(run->node), "%s",
			 n && n->name ? n->name : "");
	}
	if (r->mode != RULES_MODE_QUEUED || rr->runs == run)
		rules_run_begin(run);
}
