/* SPDX-License-Identifier: MIT */
/*
 * rules_view.c: the engine's rules as JSON, for the control socket
 * (zwgatectl rules, rules show).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "sched.h"

/* Views for the control socket. */

static json_t *iso_or_null(zwtime_t t)
{
	char buf[SCHED_ISO8601_LEN];

	return t ? json_string(sched_iso8601(t, buf, sizeof(buf)))
		 : json_null();
}

static zwtime_t trig_next(const struct rules_engine *e,
			  const struct rules_rt_trig *g,
			  const struct rules_clock *now)
{
	if (g->t->type == RULES_TRIG_AT)
		return g->next_wall;
	if (g->t->type == RULES_TRIG_EVERY && g->timer.idx != SIZE_MAX)
		return now->wall + (zwtime_t)((g->timer.due > now->mono
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

/*
 * json_object_set_new and json_array_append_new, checked: false when
 * val is NULL or memory ran out (val is then freed).  A view with a key
 * or an entry left out would tell wrong (a rule without "paused" is not
 * paused), so a view that cannot be made whole is not made: NULL, as
 * when json_pack fails.
 */
static bool set_new(json_t *o, const char *key, json_t *val)
{
	return json_object_set_new(o, key, val) == 0;
}

static bool append_new(json_t *a, json_t *val)
{
	return json_array_append_new(a, val) == 0;
}

static json_t *rule_json(const struct rules_engine *e,
			 const struct rules_rt_rule *rr,
			 const struct rules_clock *now, bool detail)
{
	const struct rules_rule *r = rr->r;
	zwtime_t next = 0, t;
	const char *why = NULL;
	json_t *o, *trigs = NULL;
	char where[RULES_RT_SHOWN_MAX];

	for (size_t k = 0; k < r->ntrigs; k++) {
		const struct rules_rt_trig *g = &rr->trigs[k];

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
	if (!o || !set_new(o, "paused", json_boolean(rr->loop_paused)))
		goto fail;
	if (!detail)
		return o;
	trigs = json_array();
	for (size_t k = 0; trigs && k < r->ntrigs; k++) {
		const struct rules_rt_trig *g = &rr->trigs[k];
		const struct rules_trigger *tg = g->t;

		if (!append_new(trigs,
				json_pack("{s:s, s:s?, s:s?, s:o, s:s?, s:i}",
					  "type", trig_words[tg->type], "node",
					  tg->ref.node, "value", tg->ref.value,
					  "next",
					  iso_or_null(trig_next(e, g, now)),
					  "waiting", g->why[0] ? g->why : NULL,
					  "line", (int)tg->pos.line))) {
			json_decref(trigs);
			trigs = NULL;
		}
	}
	if (!set_new(o, "triggers", trigs) ||
	    !set_new(o, "actions", json_integer((json_int_t)r->nacts)) ||
	    !set_new(o, "max_runs", json_integer(r->max_runs)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *rules_engine_json(const struct rules_engine *e,
			  const struct rules_clock *now)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < e->nrules; i++)
		if (!append_new(a, rule_json(e, &e->rules[i], now, false))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *rules_engine_rule_json(const struct rules_engine *e, const char *name,
			       const struct rules_clock *now)
{
	const struct rules_rt_rule *rr = rules_rule_by_name(e, name);

	return rr ? rule_json(e, rr, now, true) : NULL;
}
