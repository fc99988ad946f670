/* SPDX-License-Identifier: MIT */
/*
 * Tests of the rules language (the tree rules_parse_statement builds,
 * through conf_load_buffer like the daemon) and of the engine with an
 * injected clock and injected actions.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "rules.h"
#include "sched.h"
#include "value.h"

#define TEST_BUF_MAX (256 * 1024)

/* A config of the given rules text; NULL with diags when it failed. */
static struct conf *load(const char *rules, struct diag_list *diags)
{
	const char *top = getenv("top_srcdir");
	char *buf = malloc(TEST_BUF_MAX);
	struct conf *c = NULL;
	int n;

	assert_non_null(buf);
	n = snprintf(buf, TEST_BUF_MAX,
		     "gateway-id t\nzwave { sim-network "
		     "\"%s/etc/sim-network.json\" }\n%s",
		     top && *top ? top : ".", rules);
	assert_true(n > 0 && n < TEST_BUF_MAX);
	diag_init(diags);
	conf_load_buffer("t.conf", buf, (size_t)n, &conf_rules_load_opts, diags,
			 &c);
	free(buf);
	return c;
}

static struct conf *load_ok(const char *rules)
{
	struct diag_list d;
	struct conf *c = load(rules, &d);

	if (!c)
		diag_print(&d, stderr);
	assert_non_null(c);
	assert_int_equal(d.errors, 0);
	diag_clear(&d);
	return c;
}

/* The first error of a failing load, "line:col: message". */
static void load_fails(const char *rules, const char *want)
{
	struct diag_list d;
	struct conf *c = load(rules, &d);
	char got[512];

	assert_null(c);
	assert_true(d.n > 0);
	snprintf(got, sizeof(got), "%u:%u: %s", d.items[0].line, d.items[0].col,
		 d.items[0].msg);
	assert_string_equal(got, want);
	diag_clear(&d);
}

static const char example[] =
    "scene \"evening\" { set \"lounge lamp\" level 40; "
    "set \"porch\" switch on }\n"
    "rule \"porch light at dusk\" {\n"
    "	at sunset -15m on mon..fri\n"
    "	at sunset on sat,sun\n"
    "	if \"porch\" switch is off\n"
    "	do set \"porch\" switch on\n"
    "}\n"
    "rule \"hall motion\" {\n"
    "	when \"hall sensor\" motion becomes true\n"
    "	if time between sunset and 23:30\n"
    "	do set \"hall light\" level 80; wait 5m; "
    "set \"hall light\" level 0\n"
    "	mode restart            # single | restart | queued\n"
    "}\n"
    "rule \"freezer warm\" {\n"
    "	when \"freezer\" temperature > -12 for 10m\n"
    "	do publish \"alerts/freezer\" \"{\\\"temp\\\": $value}\"\n"
    "}\n"
    "every 15m do refresh \"garden sensor\"\n";

static void test_parse_example(void **state)
{
	struct conf *c = load_ok(example);
	const struct rules_set *s = c->rules;
	const struct rules_rule *r;
	const struct rules_scene *sc;

	assert_non_null(s);
	assert_int_equal(s->nrules, 4);
	assert_int_equal(s->nscenes, 1);

	sc = rules_find_scene(s, "evening");
	assert_non_null(sc);
	assert_int_equal(sc->nacts, 2);
	assert_int_equal(sc->acts[0].type, RULES_ACT_SET);
	assert_string_equal(sc->acts[0].ref.node, "lounge lamp");
	assert_string_equal(sc->acts[0].ref.value, "level");
	assert_string_equal(sc->acts[0].text, "40");
	assert_int_equal(sc->acts[0].pos.line, 3);

	r = rules_find_rule(s, "porch light at dusk");
	assert_non_null(r);
	assert_int_equal(r->ntrigs, 2);
	assert_int_equal(r->trigs[0].type, RULES_TRIG_AT);
	assert_int_equal(r->trigs[0].at.kind, SCHED_SUN);
	assert_int_equal(r->trigs[0].at.sun, SCHED_SUNSET);
	assert_int_equal(r->trigs[0].at.offset_s, -900);
	assert_int_equal(r->trigs[0].at.weekdays, 0x3e);
	assert_int_equal(r->trigs[1].at.offset_s, 0);
	assert_int_equal(r->trigs[1].at.weekdays, 0x41);
	assert_non_null(r->cond);
	assert_int_equal(r->cond->type, RULES_COND_VALUE);
	assert_int_equal(r->cond->cmp, RULES_EQ);
	assert_string_equal(r->cond->ref.node, "porch");
	assert_string_equal(r->cond->lit, "off");
	assert_int_equal(r->mode, RULES_MODE_SINGLE);
	assert_int_equal(r->max_runs, 1);

	r = rules_find_rule(s, "hall motion");
	assert_non_null(r);
	assert_int_equal(r->trigs[0].type, RULES_TRIG_BECOMES);
	assert_string_equal(r->trigs[0].ref.value, "motion");
	assert_string_equal(r->trigs[0].lit, "true");
	assert_int_equal(r->cond->type, RULES_COND_TIME);
	assert_int_equal(r->cond->from.kind, SCHED_SUN);
	assert_int_equal(r->cond->to.kind, SCHED_TIME);
	assert_int_equal(r->cond->to.seconds, 23 * 3600 + 30 * 60);
	assert_int_equal(r->nacts, 3);
	assert_int_equal(r->acts[1].type, RULES_ACT_WAIT);
	assert_int_equal(r->acts[1].wait_s, 300);
	assert_string_equal(r->acts[2].text, "0");
	assert_int_equal(r->mode, RULES_MODE_RESTART);

	r = rules_find_rule(s, "freezer warm");
	assert_non_null(r);
	assert_int_equal(r->trigs[0].type, RULES_TRIG_CMP);
	assert_int_equal(r->trigs[0].cmp, RULES_GT);
	assert_string_equal(r->trigs[0].lit, "-12");
	assert_int_equal(r->trigs[0].for_s, 600);
	assert_int_equal(r->acts[0].type, RULES_ACT_PUBLISH);
	assert_string_equal(r->acts[0].text, "alerts/freezer");
	assert_string_equal(r->acts[0].payload, "{\"temp\": $value}");

	r = &s->rules[3];
	assert_true(r->anonymous);
	assert_string_equal(r->name, "every@t.conf:20");
	assert_int_equal(r->trigs[0].type, RULES_TRIG_EVERY);
	assert_int_equal(r->trigs[0].every_s, 900);
	assert_int_equal(r->acts[0].type, RULES_ACT_REFRESH);
	assert_string_equal(r->acts[0].ref.node, "garden sensor");
	assert_null(r->acts[0].ref.value);
	conf_free(c);
}

/* not binds closer than and, and closer than or; { } groups. */
static void test_parse_precedence(void **state)
{
	struct conf *c = load_ok("rule \"p\" {\n"
				 " when gateway starts\n"
				 " if sun is up or cloud is online and not "
				 "day is sat\n"
				 " if { sun is up or \"porch\" is dead }\n"
				 " do log \"x\"\n"
				 "}\n");
	const struct rules_cond *k = c->rules->rules[0].cond, *a;

	/* Two ifs are joined by and. */
	assert_int_equal(k->type, RULES_COND_AND);
	a = k->a;
	assert_int_equal(a->type, RULES_COND_OR);
	assert_int_equal(a->a->type, RULES_COND_SUN);
	assert_true(a->a->up);
	assert_int_equal(a->b->type, RULES_COND_AND);
	assert_int_equal(a->b->a->type, RULES_COND_CLOUD);
	assert_int_equal(a->b->b->type, RULES_COND_NOT);
	assert_int_equal(a->b->b->a->type, RULES_COND_DAY);
	assert_int_equal(a->b->b->a->weekdays, 0x40);
	assert_int_equal(k->b->type, RULES_COND_OR);
	assert_int_equal(k->b->b->type, RULES_COND_NODE);
	assert_false(k->b->b->up);
	conf_free(c);
}

static void test_parse_times(void **state)
{
	struct conf *c = load_ok("rule \"t\" {\n"
				 " at 7:05:09 on fri..mon\n"
				 " at dawn + 1h30m on wednesday, sun\n"
				 " every 1d2h\n"
				 " do log \"x\"; wait 90s\n"
				 "    run scene \"s\"\n"
				 " mode parallel max 7\n"
				 "}\n"
				 "scene \"s\" { log \"s\" }\n");
	const struct rules_rule *r = &c->rules->rules[0];

	assert_int_equal(r->trigs[0].at.kind, SCHED_TIME);
	assert_int_equal(r->trigs[0].at.seconds, 7 * 3600 + 5 * 60 + 9);
	assert_int_equal(r->trigs[0].at.weekdays, 0x63); /* fri sat sun mon */
	assert_int_equal(r->trigs[1].at.sun, SCHED_DAWN);
	assert_int_equal(r->trigs[1].at.offset_s, 5400);
	assert_int_equal(r->trigs[1].at.weekdays, 0x09);
	assert_int_equal(r->trigs[2].every_s, 26 * 3600);
	assert_int_equal(r->nacts, 3);
	assert_int_equal(r->acts[2].type, RULES_ACT_SCENE);
	assert_string_equal(r->acts[2].text, "s");
	assert_int_equal(r->mode, RULES_MODE_PARALLEL);
	assert_int_equal(r->max_runs, 7);
	conf_free(c);
}

static void test_parse_errors(void **state)
{
	/* The rules start at line 3 of the buffer. */
	load_fails("rule \"a\" { every 1m; do log \"x\" }\n"
		   "rule \"a\" { every 2m; do log \"y\" }\n",
		   "4:1: rule \"a\" is already defined at t.conf:3:1");
	load_fails("rule \"a\" {\n when \"porch\" switch becomes\n"
		   " do log \"x\"\n}\n",
		   "4:29: expected a value after 'becomes', not end of line");
	load_fails("every 15m do refresh \"x\" now\n",
		   "3:26: unexpected 'now' after the actions");
	load_fails("rule \"r\" { every 1m; do run \"nope\" }\n",
		   "3:29: no scene \"nope\"");
	load_fails("scene \"a\" { run \"a\" }\n",
		   "3:1: scene \"a\" runs itself, or scenes more than 8 deep");
	load_fails("rule \"r\" { when \"x\" level >= high; do log \"x\" }\n",
		   "3:30: expected a number after '>=', not 'high'");
}

/* Every input-decided size has a limit with a clear message. */
static void test_parse_limits(void **state)
{
	char *buf = malloc(TEST_BUF_MAX);
	char want[64];
	size_t o = 0, at = 0;

	assert_non_null(buf);
	o += (size_t)snprintf(buf + o, TEST_BUF_MAX - o,
			      "rule \"many\" { every 1m; do log \"0\"");
	for (int i = 1; i <= RULES_ACTIONS_MAX; i++) {
		at = o + 2; /* the 65th action, one too many */
		o += (size_t)snprintf(buf + o, TEST_BUF_MAX - o, "; log \"%d\"",
				      i);
	}
	snprintf(buf + o, TEST_BUF_MAX - o, " }\n");
	snprintf(want, sizeof(want),
		 "3:%zu: at most %d actions a rule or scene", at + 1,
		 RULES_ACTIONS_MAX);
	load_fails(buf, want);

	o = (size_t)snprintf(buf, TEST_BUF_MAX,
			     "rule \"deep\" { every 1m\n if ");
	for (int i = 0; i <= RULES_COND_DEPTH; i++)
		o += (size_t)snprintf(buf + o, TEST_BUF_MAX - o, "{ ");
	snprintf(buf + o, TEST_BUF_MAX - o, "sun is up }\n do log \"x\" }\n");
	load_fails(buf, "4:37: conditions nest at most 16 deep");
	free(buf);
}

/* The engine, with a registry fed by hand and recorded actions. */

#define T_MAX_CALLS 256
#define T_WALL0	    1795417140 /* 2026-11-23 06:59:00 UTC */

struct world {
	struct registry *reg;
	struct conf *conf;
	struct rules_engine *e;
	struct rules_actions act;
	struct rules_clock now;
	char calls[T_MAX_CALLS][160]; /* "set 2 currentValue true" ... */
	size_t ncalls;
	unsigned loops_logged;
	/* sets reported back into the registry at the next tick */
	struct value_key pend_key[T_MAX_CALLS];
	struct value pend_val[T_MAX_CALLS];
	size_t npend;
	bool echo;
	int publish_result;
	size_t nsets; /* every set, though calls is emptied */
	/* The echo: first a stale report of the value as it was (a verify
	 * read, a dimmer on its way); a set of map_from reported as a
	 * change of map_to (a lock's door state), not of itself. */
	bool stale;
	bool map;
	struct value_key map_from, map_to;
};

static void call(struct world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void call(struct world *w, const char *fmt, ...)
{
	va_list ap;

	assert_true(w->ncalls < T_MAX_CALLS);
	va_start(ap, fmt);
	vsnprintf(w->calls[w->ncalls++], sizeof(w->calls[0]), fmt, ap);
	va_end(ap);
}

static int t_set(void *ctx, const struct registry_value *v,
		 const struct value *val)
{
	struct world *w = ctx;
	json_t *j = value_to_json(val, &v->meta);
	char *s = json_dumps(j, JSON_ENCODE_ANY);

	call(w, "set %u %s %s", v->meta.key.node, v->meta.key.property, s);
	w->nsets++;
	free(s);
	json_decref(j);
	if (w->echo && w->npend < T_MAX_CALLS) {
		w->pend_key[w->npend] = v->meta.key;
		assert_int_equal(value_copy(&w->pend_val[w->npend], val), 0);
		w->npend++;
	}
	return 0;
}

static int t_publish(void *ctx, const char *topic, const char *payload)
{
	struct world *w = ctx;

	call(w, "publish %s %s", topic, payload);
	return w->publish_result;
}

static int t_refresh(void *ctx, unsigned node)
{
	call(ctx, "refresh %u", node);
	return 0;
}

static void t_log(void *ctx, int prio, const char *msg)
{
	struct world *w = ctx;

	if (strstr(msg, "triggers itself") || strstr(msg, "in a loop") ||
	    strstr(msg, "too often"))
		w->loops_logged++;
	else if (prio == LOG_INFO)
		call(w, "log %s", msg);
}

static struct value_meta meta_of(uint16_t node, uint8_t cc, const char *prop,
				 enum value_type type)
{
	struct value_meta m = { .type = type,
				.readable = true,
				.writable = true };

	m.key.node = node;
	m.key.cc = cc;
	snprintf(m.key.property, sizeof(m.key.property), "%s", prop);
	m.min = -100;
	m.max = 100;
	return m;
}

static void world_node(struct world *w, uint16_t id, const char *name)
{
	struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = id };

	ev.u.node.name = name;
	ev.u.node.status = ZW_NODE_ALIVE;
	assert_int_equal(registry_apply(w->reg, &ev, 1), 0);
}

static void world_value(struct world *w, enum zw_event_type type,
			const struct value_meta *m, const struct value *val)
{
	struct zw_event ev = { .type = type, .node = m->key.node };

	ev.u.value.meta = m;
	ev.u.value.val = val;
	assert_int_equal(registry_apply(w->reg, &ev, 1), 0);
}

static void on_reg(void *ctx, const struct registry_event *ev)
{
	struct world *w = ctx;

	if (w->e)
		rules_engine_event(w->e, ev, &w->now);
}

static const struct value_meta *m_switch(void)
{
	static struct value_meta m;

	m = meta_of(2, 0x25, "currentValue", VALUE_BOOL);
	return &m;
}

static const struct value_meta *m_level(void)
{
	static struct value_meta m;

	m = meta_of(3, 0x26, "currentValue", VALUE_INT);
	return &m;
}

static const struct value_meta *m_motion(void)
{
	static struct value_meta m;

	m = meta_of(4, 0x30, "motion", VALUE_BOOL);
	return &m;
}

static const struct value_meta *m_temp(void)
{
	static struct value_meta m;

	m = meta_of(6, 0x31, "temperature", VALUE_FLOAT);
	return &m;
}

static void set_bool(struct world *w, const struct value_meta *m, bool b)
{
	struct value v = { .type = VALUE_BOOL, .u.b = b };

	world_value(w, ZW_EV_VALUE_CHANGED, m, &v);
}

static void set_num(struct world *w, const struct value_meta *m, double d)
{
	struct value v = { .type = m->type };

	if (m->type == VALUE_FLOAT)
		v.u.f = d;
	else
		v.u.i = (int64_t)d;
	world_value(w, ZW_EV_VALUE_CHANGED, m, &v);
}

/* A world of four nodes and the rules text; the engine started. */
static struct world *world_new(const char *rules, zwtime_t wall, bool trusted)
{
	struct world *w = calloc(1, sizeof(*w));
	struct value off = { .type = VALUE_BOOL };
	struct value zero = { .type = VALUE_INT };
	struct value cold = { .type = VALUE_FLOAT, .u.f = -20 };
	struct sched_loc loc = { 48.8566, 2.3522 };

	assert_non_null(w);
	w->conf = load_ok(rules);
	w->reg = registry_new();
	assert_non_null(w->reg);
	world_node(w, 2, "porch");
	world_value(w, ZW_EV_VALUE_ADDED, m_switch(), &off);
	world_node(w, 3, "lounge lamp");
	world_value(w, ZW_EV_VALUE_ADDED, m_level(), &zero);
	world_node(w, 4, "hall sensor");
	world_value(w, ZW_EV_VALUE_ADDED, m_motion(), &off);
	world_node(w, 6, "freezer");
	world_value(w, ZW_EV_VALUE_ADDED, m_temp(), &cold);
	w->act =
	    (struct rules_actions){ t_set, t_publish, t_refresh, t_log, w };
	w->now = (struct rules_clock){ wall, 1000000, trusted };
	assert_int_equal(
	    rules_engine_new(w->conf->rules, w->reg, &w->act, &loc, &w->e), 0);
	assert_int_equal(registry_listen(w->reg, on_reg, w), 0);
	rules_engine_start(w->e, &w->now, true);
	return w;
}

static void world_free(struct world *w)
{
	rules_engine_free(w->e);
	registry_free(w->reg);
	conf_free(w->conf);
	for (size_t i = 0; i < w->npend; i++)
		value_clear(&w->pend_val[i]);
	free(w);
}

/* Time passes by ms on both clocks; due timers run; echoes arrive. */
static void advance(struct world *w, uint64_t ms)
{
	uint64_t end = w->now.mono + ms, next;

	for (;;) {
		next = rules_engine_next_deadline(w->e);
		if (next > end)
			break;
		if (next > w->now.mono) {
			w->now.wall += (zwtime_t)((next - w->now.mono) / 1000);
			w->now.mono = next;
		}
		rules_engine_tick(w->e, &w->now);
	}
	w->now.wall += (zwtime_t)((end - w->now.mono) / 1000);
	w->now.mono = end;
	rules_engine_tick(w->e, &w->now);
}

/* Sets reported back by the "network", as a backend would later. */
static void echo(struct world *w)
{
	static struct value_key keys[T_MAX_CALLS];
	static struct value vals[T_MAX_CALLS];
	size_t n = w->npend;
	struct registry_value *v;
	struct value_meta m;

	memcpy(keys, w->pend_key, n * sizeof(keys[0]));
	memcpy(vals, w->pend_val, n * sizeof(vals[0]));
	w->npend = 0;
	for (size_t i = 0; i < n; i++) {
		if (w->map && value_key_equal(&keys[i], &w->map_from))
			keys[i] = w->map_to;
		v = registry_value(w->reg, &keys[i]);
		assert_non_null(v);
		m = v->meta;
		if (w->stale && v->has_val) {
			struct value old;

			assert_int_equal(value_copy(&old, &v->val), 0);
			world_value(w, ZW_EV_VALUE_CHANGED, &m, &old);
			value_clear(&old);
		}
		world_value(w, ZW_EV_VALUE_CHANGED, &m, &vals[i]);
		value_clear(&vals[i]);
	}
}

static void test_engine_trigger(void **state)
{
	struct world *w = world_new(example, T_WALL0, true);

	assert_int_equal(w->ncalls, 0);
	/* Sunset and 23:30 bound the hall rule: 06:59 is outside. */
	set_bool(w, m_motion(), true);
	assert_int_equal(w->ncalls, 0);
	set_bool(w, m_motion(), false);

	/* A trigger without a condition: the porch rule's when. */
	rules_engine_free(w->e);
	conf_free(w->conf);
	w->conf = load_ok("rule \"m\" {\n"
			  " when \"hall sensor\" motion becomes true\n"
			  " do set \"porch\" switch on; refresh \"freezer\"\n"
			  "}\n");
	assert_int_equal(
	    rules_engine_new(w->conf->rules, w->reg, &w->act, NULL, &w->e), 0);
	rules_engine_start(w->e, &w->now, false);
	set_bool(w, m_motion(), false); /* no change: nothing */
	assert_int_equal(w->ncalls, 0);
	set_bool(w, m_motion(), true);
	assert_int_equal(w->ncalls, 2);
	assert_string_equal(w->calls[0], "set 2 currentValue true");
	assert_string_equal(w->calls[1], "refresh 6");
	set_bool(w, m_motion(), true); /* still true: no new edge */
	assert_int_equal(w->ncalls, 2);
	set_bool(w, m_motion(), false);
	set_bool(w, m_motion(), true);
	assert_int_equal(w->ncalls, 4);
	world_free(w);
}

/* A Long Range node (ids from 256) triggers and is acted on alike. */
static void test_engine_long_range(void **state)
{
	struct world *w = world_new(example, T_WALL0, true);
	struct value off = { .type = VALUE_BOOL };
	struct value_meta gate =
	    meta_of(4000, 0x25, "currentValue", VALUE_BOOL);

	world_node(w, 4000, "gate");
	world_value(w, ZW_EV_VALUE_ADDED, &gate, &off);
	rules_engine_free(w->e);
	conf_free(w->conf);
	w->conf = load_ok("rule \"lr\" {\n"
			  " when \"gate\" switch becomes true\n"
			  " do set \"porch\" switch on; refresh \"gate\"\n"
			  "}\n"
			  "rule \"to-lr\" {\n"
			  " when \"hall sensor\" motion becomes true\n"
			  " do set \"gate\" switch on\n"
			  "}\n");
	assert_int_equal(
	    rules_engine_new(w->conf->rules, w->reg, &w->act, NULL, &w->e), 0);
	rules_engine_start(w->e, &w->now, false);
	set_bool(w, &gate, true);
	assert_int_equal(w->ncalls, 2);
	assert_string_equal(w->calls[0], "set 2 currentValue true");
	assert_string_equal(w->calls[1], "refresh 4000");
	set_bool(w, m_motion(), true);
	assert_int_equal(w->ncalls, 3);
	assert_string_equal(w->calls[2], "set 4000 currentValue true");
	world_free(w);
	(void)state;
}

static void test_engine_for(void **state)
{
	struct world *w = world_new(example, T_WALL0, true);

	set_num(w, m_temp(), -11.5); /* crosses -12 */
	advance(w, 9 * 60000);
	assert_int_equal(w->ncalls, 0);
	advance(w, 60000);
	assert_int_equal(w->ncalls, 1);
	assert_string_equal(w->calls[0],
			    "publish alerts/freezer {\"temp\": -11.5}");
	/* Holding on does not fire again. */
	set_num(w, m_temp(), -11);
	advance(w, 20 * 60000);
	assert_int_equal(w->ncalls, 1);

	/* Stops holding before the 10 minutes: cancelled. */
	set_num(w, m_temp(), -15);
	set_num(w, m_temp(), -10);
	advance(w, 5 * 60000);
	set_num(w, m_temp(), -13);
	advance(w, 30 * 60000);
	assert_int_equal(w->ncalls, 1);
	world_free(w);
}

static const char modes[] =
    "rule \"r\" { when \"lounge lamp\" level > 50\n"
    "  do set \"porch\" switch on; wait 5m; set \"porch\" switch off\n"
    "  mode MODE }\n";

static struct world *mode_world(const char *mode)
{
	char text[512], *p;

	snprintf(text, sizeof(text), "%s", modes);
	p = strstr(text, "MODE");
	memmove(p + strlen(mode), p + 4, strlen(p + 4) + 1);
	memcpy(p, mode, strlen(mode));
	return world_new(text, T_WALL0, true);
}

/* n triggers one minute apart, then an hour. */
static void pulse(struct world *w, int n)
{
	for (int i = 0; i < n; i++) {
		set_num(w, m_level(), 60);
		set_num(w, m_level(), 10);
		advance(w, 60000);
	}
	advance(w, 3600000);
}

static size_t count(const struct world *w, const char *what)
{
	size_t n = 0;

	for (size_t i = 0; i < w->ncalls; i++)
		n += strcmp(w->calls[i], what) == 0;
	return n;
}

static void test_engine_modes(void **state)
{
	struct world *w = mode_world("single");

	pulse(w, 3); /* the 2nd and 3rd come while the 1st waits */
	assert_int_equal(count(w, "set 2 currentValue true"), 1);
	assert_int_equal(count(w, "set 2 currentValue false"), 1);
	world_free(w);

	w = mode_world("restart");
	pulse(w, 3); /* each restarts: one "off", at the very end */
	assert_int_equal(count(w, "set 2 currentValue true"), 3);
	assert_int_equal(count(w, "set 2 currentValue false"), 1);
	assert_string_equal(w->calls[w->ncalls - 1],
			    "set 2 currentValue false");
	world_free(w);

	w = mode_world("queued max 2");
	pulse(w, 3); /* the third is dropped; the runs follow each other */
	assert_int_equal(w->ncalls, 4);
	assert_string_equal(w->calls[0], "set 2 currentValue true");
	assert_string_equal(w->calls[1], "set 2 currentValue false");
	assert_string_equal(w->calls[2], "set 2 currentValue true");
	assert_string_equal(w->calls[3], "set 2 currentValue false");
	world_free(w);

	w = mode_world("parallel max 2");
	pulse(w, 3); /* two side by side; the third is dropped */
	assert_int_equal(w->ncalls, 4);
	assert_string_equal(w->calls[1], "set 2 currentValue true");
	assert_string_equal(w->calls[2], "set 2 currentValue false");
	world_free(w);
}

/* A rule's "waiting" as the API shows it; NULL: null. */
static const char *waiting(struct world *w, const char *name)
{
	static char buf[256];
	json_t *j = rules_engine_rule_json(w->e, name, &w->now);
	const char *s;

	assert_non_null(j);
	s = json_string_value(json_object_get(j, "waiting"));
	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	json_decref(j);
	return s ? buf : NULL;
}

static void test_engine_self_trigger(void **state)
{
	struct world *w =
	    world_new("rule \"loop\" { when \"lounge lamp\" level changes\n"
		      "  do set \"lounge lamp\" level 10; wait 1s\n"
		      "     set \"lounge lamp\" level 20\n"
		      "  mode parallel max 5 }\n",
		      T_WALL0, true);
	size_t n;

	w->echo = true;
	set_num(w, m_level(), 5);
	for (int i = 0; i < 200; i++) {
		echo(w);
		advance(w, 1000);
	}
	/* Paused after 10 echoes: a handful of sets, not hundreds. */
	assert_true(w->ncalls < 40);
	assert_int_equal(w->loops_logged, 1);
	assert_string_equal(waiting(w, "loop"), "paused: it triggers itself");
	/* Until the user says so: a cool-down would loop again. */
	advance(w, 3600000);
	n = w->ncalls;
	set_num(w, m_level(), 50);
	assert_int_equal(w->ncalls, n);
	assert_int_equal(rules_engine_enable(w->e, "loop", true), 0);
	set_num(w, m_level(), 51);
	assert_int_equal(w->ncalls, n + 1);
	world_free(w);
}

/* The washer plug of the example network, a switch as the porch. */
static const struct value_meta *m_plug(void)
{
	static struct value_meta m;

	m = meta_of(8, 0x25, "currentValue", VALUE_BOOL);
	return &m;
}

static void add_plug(struct world *w)
{
	struct value on = { .type = VALUE_BOOL, .u.b = true };

	world_node(w, 8, "washer plug");
	world_value(w, ZW_EV_VALUE_ADDED, m_plug(), &on);
}

/* Echoes of the network every 100 ms, n times. */
static void echoes(struct world *w, int n)
{
	for (int i = 0; i < n; i++) {
		echo(w);
		advance(w, 100);
	}
}

/* The rules on the example network with the washer plug, whose nodes
 * echo what the rules set (echoes): where a loop shows. */
static struct world *echo_world(const char *rules)
{
	struct world *w = world_new(rules, T_WALL0, true);

	add_plug(w);
	w->echo = true;
	return w;
}

/* No loop was logged, and none of the n rules named is paused. */
static void assert_no_loop(struct world *w, const char *const *names, size_t n)
{
	assert_int_equal(w->loops_logged, 0);
	for (size_t i = 0; i < n; i++)
		assert_null(waiting(w, names[i]));
}

/* The two rules: each sets what starts the other. */
static const char loop2[] =
    "rule \"A\" { when \"porch\" switch becomes on\n"
    "  do set \"washer plug\" switch off; set \"washer plug\" switch on }\n"
    "rule \"B\" { when \"washer plug\" switch becomes on\n"
    "  do set \"porch\" switch off; set \"porch\" switch on }\n";

static void test_engine_loop_two_rules(void **state)
{
	struct world *w = echo_world(loop2);
	struct rules_engine *old;
	json_t *j;
	size_t n;

	set_bool(w, m_switch(), true);
	echoes(w, 100);
	/* A and B ran 10 times or so each, then stopped; not 100. */
	assert_true(w->ncalls >= 20);
	assert_true(w->ncalls <= 50);
	assert_int_equal(w->loops_logged, 1);
	n = w->ncalls;
	echoes(w, 100);
	assert_int_equal(w->ncalls, n);
	/* What zwgatectl rules shows. */
	assert_string_equal(waiting(w, "A"), "paused: loop with rule \"B\"");
	assert_string_equal(waiting(w, "B"), "paused: loop with rule \"A\"");
	j = rules_engine_json(w->e, &w->now);
	assert_true(
	    json_is_true(json_object_get(json_array_get(j, 0), "paused")));
	assert_true(
	    json_is_true(json_object_get(json_array_get(j, 1), "paused")));
	assert_true(
	    json_is_true(json_object_get(json_array_get(j, 0), "enabled")));
	json_decref(j);
	/* An hour on: still paused, still quiet. */
	advance(w, 3600000);
	set_bool(w, m_switch(), false);
	set_bool(w, m_switch(), true);
	echoes(w, 50);
	assert_int_equal(w->ncalls, n);
	assert_int_equal(w->loops_logged, 1);
	/* Enabling A alone: A runs, B still paused, so no loop. */
	assert_int_equal(rules_engine_enable(w->e, "A", true), 0);
	assert_null(waiting(w, "A"));
	set_bool(w, m_switch(), false);
	set_bool(w, m_switch(), true);
	echoes(w, 50);
	assert_int_equal(w->ncalls, n + 2);
	/* A reload is a fresh start: the loop comes back, and is caught. */
	old = w->e;
	assert_int_equal(
	    rules_engine_new(w->conf->rules, w->reg, &w->act, NULL, &w->e), 0);
	rules_engine_adopt(w->e, old);
	rules_engine_free(old);
	rules_engine_start(w->e, &w->now, false);
	assert_null(waiting(w, "B"));
	set_bool(w, m_switch(), false);
	set_bool(w, m_switch(), true);
	echoes(w, 100);
	assert_true(w->ncalls <= n + 2 + 50);
	assert_int_equal(w->loops_logged, 2);
	assert_string_equal(waiting(w, "B"), "paused: loop with rule \"A\"");
	world_free(w);
}

static void test_engine_loop_three_rules(void **state)
{
	struct world *w = echo_world(
	    "rule \"A\" { when \"porch\" switch becomes on\n"
	    "  do set \"washer plug\" switch off; set \"washer plug\" switch "
	    "on }\n"
	    "rule \"B\" { when \"washer plug\" switch becomes on\n"
	    "  do set \"lounge lamp\" level 0; wait 1s\n"
	    "     set \"lounge lamp\" level 50 }\n"
	    "rule \"C\" { when \"lounge lamp\" level > 40\n"
	    "  do set \"porch\" switch off; set \"porch\" switch on }\n");

	set_bool(w, m_switch(), true);
	echoes(w, 300);
	assert_true(w->ncalls <= 70);
	assert_int_equal(w->loops_logged, 1);
	assert_string_equal(waiting(w, "A"),
			    "paused: loop with rules \"B\", \"C\"");
	assert_non_null(strstr(waiting(w, "B"), "paused: loop with rules"));
	assert_non_null(strstr(waiting(w, "C"), "paused: loop with rules"));
	world_free(w);
}

/* A refresh that asks again at every answer loops too. */
static void test_engine_loop_refresh(void **state)
{
	struct world *w =
	    world_new("rule \"ask\" { when \"freezer\" temperature changes\n"
		      "  do refresh \"freezer\" }\n",
		      T_WALL0, true);
	size_t asked = 0;

	set_num(w, m_temp(), -19);
	for (int i = 0; i < 60; i++) {
		advance(w, 100);
		/* The node answers a refresh with a new reading. */
		if (w->ncalls > asked) {
			asked = w->ncalls;
			set_num(w, m_temp(), -18 + i * 0.1);
		}
	}
	assert_true(w->ncalls <= 12);
	assert_int_equal(w->loops_logged, 1);
	assert_string_equal(waiting(w, "ask"), "paused: it triggers itself");
	/* A reading of its own, later, is no loop: the rule is paused
	 * until enabled, and then runs. */
	assert_int_equal(rules_engine_enable(w->e, "ask", true), 0);
	advance(w, 10000);
	set_num(w, m_temp(), -5);
	assert_int_equal(w->ncalls, asked + 1);
	world_free(w);
}

/*
 * The loops that the chains lose, caught by the write rate of a value
 * (RULES_RATE_MAX).  Each runs n rounds of the network's echoes, ms
 * apart, and returns how many sets the rules made.
 */
static size_t loop_rounds(struct world *w, int n, uint64_t ms)
{
	for (int i = 0; i < n; i++) {
		echo(w);
		advance(w, ms);
		w->ncalls = 0; /* only nsets counts: calls would fill up */
	}
	return w->nsets;
}

/* The first report after a write is stale: it answers the write. */
static void test_engine_loop_stale_echo(void **state)
{
	struct world *w = world_new(loop2, T_WALL0, true);
	size_t n;

	add_plug(w);
	w->echo = true;
	w->stale = true;
	set_bool(w, m_switch(), true);
	n = loop_rounds(w, 600, 100);
	/* More than 30 writes of one value in 10 s: a handful of rounds. */
	assert_int_equal(w->loops_logged, 1);
	assert_true(n <= 2 * 2 * (RULES_RATE_SHORT_MAX + 1));
	/* Only B writes the porch: B is paused, and the loop ends. */
	assert_string_equal(waiting(w, "B"),
			    "paused: writes node 2's switch too often");
	assert_null(waiting(w, "A"));
	/* Quiet then, for an hour. */
	assert_int_equal(loop_rounds(w, 36, 100000), n);
	/* The same resume as the chains' guard: enable, or reload. */
	assert_int_equal(rules_engine_enable(w->e, "A", true), 0);
	assert_int_equal(rules_engine_enable(w->e, "B", true), 0);
	assert_null(waiting(w, "B"));
	set_bool(w, m_switch(), false);
	set_bool(w, m_switch(), true);
	loop_rounds(w, 600, 100);
	assert_int_equal(w->loops_logged, 2);
	world_free(w);
}

/* A lock: "locked" is written, its door state answers. */
static const struct value_meta *m_locked(void)
{
	static struct value_meta m;

	m = meta_of(9, 0x62, "locked", VALUE_BOOL);
	return &m;
}

static const struct value_meta *m_door(void)
{
	static struct value_meta m;

	m = meta_of(9, 0x62, "door", VALUE_BOOL);
	m.writable = false;
	return &m;
}

/* The trigger watches another value of the node the other rule wrote. */
static void test_engine_loop_other_value(void **state)
{
	struct world *w = world_new(
	    "rule \"lock\" { when \"porch\" switch becomes on\n"
	    "  do set \"front lock\" locked false; set \"front lock\" locked "
	    "true\n"
	    "     set \"porch\" switch on }\n"
	    "rule \"light\" { when \"front lock\" door becomes true\n"
	    "  do set \"porch\" switch off; set \"porch\" switch on }\n",
	    T_WALL0, true);
	struct value off = { .type = VALUE_BOOL };
	size_t n;

	world_node(w, 9, "front lock");
	world_value(w, ZW_EV_VALUE_ADDED, m_locked(), &off);
	world_value(w, ZW_EV_VALUE_ADDED, m_door(), &off);
	w->echo = true;
	w->map = true;
	w->map_from = m_locked()->key;
	w->map_to = m_door()->key;
	set_bool(w, m_switch(), true);
	n = loop_rounds(w, 600, 100);
	assert_int_equal(w->loops_logged, 1);
	assert_true(n <= 2 * 2 * (RULES_RATE_SHORT_MAX + 1));
	/* Both write the porch: both are paused, each naming the other. */
	assert_string_equal(waiting(w, "lock"),
			    "paused: writes node 2's switch too often, with "
			    "rule \"light\"");
	assert_string_equal(waiting(w, "light"),
			    "paused: writes node 2's switch too often, with "
			    "rule \"lock\"");
	world_free(w);
}

/* An echo later than RULES_ECHO_MS: 6 s, a slow mesh. */
static void test_engine_loop_slow_echo(void **state)
{
	struct world *w = world_new(loop2, T_WALL0, true);
	struct rules_engine *old;
	size_t n;

	add_plug(w);
	w->echo = true;
	set_bool(w, m_switch(), true);
	/* An hour and a half of rounds 6 s apart: caught within 10 min. */
	n = loop_rounds(w, 900, 6000);
	assert_int_equal(w->loops_logged, 1);
	assert_true(n <= 2 * (RULES_RATE_MAX + 1) + 4);
	assert_string_equal(waiting(w, "B"),
			    "paused: writes node 2's switch too often");
	/* A reload is a fresh start: the loop comes back, and is caught. */
	old = w->e;
	assert_int_equal(
	    rules_engine_new(w->conf->rules, w->reg, &w->act, NULL, &w->e), 0);
	rules_engine_adopt(w->e, old);
	rules_engine_free(old);
	rules_engine_start(w->e, &w->now, false);
	assert_null(waiting(w, "A"));
	set_bool(w, m_switch(), false);
	set_bool(w, m_switch(), true);
	loop_rounds(w, 900, 6000);
	assert_int_equal(w->loops_logged, 2);
	world_free(w);
}

/*
 * More chains at once than the guard follows, each round: the chain of
 * the loop is not the one forgotten, and its count goes on.
 */
static void test_engine_loop_many_chains(void **state)
{
	char rules[4096];
	struct world *w;

	snprintf(rules, sizeof(rules),
		 "%srule \"note\" { when \"freezer\" temperature changes\n"
		 "  do log \"t\"\n  mode parallel max 100 }\n",
		 loop2);
	w = world_new(rules, T_WALL0, true);
	add_plug(w);
	w->echo = true;
	set_bool(w, m_switch(), true);
	for (int i = 0; i < 100; i++) {
		for (int k = 0; k < 40; k++)
			set_num(w, m_temp(), -20 + i + k * 0.01);
		echo(w);
		advance(w, 100);
		w->ncalls = 0;
	}
	/* Caught by the chains' guard, in about 10 rounds. */
	assert_int_equal(w->loops_logged, 1);
	assert_true(w->nsets <= 50);
	assert_string_equal(waiting(w, "A"), "paused: loop with rule \"B\"");
	assert_null(waiting(w, "note"));
	world_free(w);
}

/* A thermostat's setpoint. */
static const struct value_meta *m_setpoint(void)
{
	static struct value_meta m;

	m = meta_of(10, 0x43, "setpoint", VALUE_FLOAT);
	return &m;
}

/*
 * Busy automations, for an hour: a motion light toggled every 20 s, a
 * thermostat that follows a sensor reporting every 10 s, a lamp that a
 * rule keeps bright against a user who dims it every 20 s (a rule that
 * writes the node it watches: it counts), two switches kept alike
 * against a user toggling one every 20 s.  Never a loop.
 */
static void test_engine_no_loop_busy(void **state)
{
	struct world *w = world_new(
	    "rule \"on\" { when \"hall sensor\" motion becomes true\n"
	    "  do set \"porch\" switch on }\n"
	    "rule \"off\" { when \"hall sensor\" motion becomes false\n"
	    "  do set \"porch\" switch off }\n"
	    "rule \"heat\" { when \"freezer\" temperature changes\n"
	    "  do set \"thermostat\" setpoint $value }\n"
	    "rule \"bright\" { when \"lounge lamp\" level < 10\n"
	    "  do set \"lounge lamp\" level 80 }\n"
	    "rule \"to plug\" { when \"washer plug\" switch changes\n"
	    "  do set \"front lock\" locked $value }\n"
	    "rule \"to lock\" { when \"front lock\" locked changes\n"
	    "  do set \"washer plug\" switch $value }\n",
	    T_WALL0, true);
	const char *const names[] = { "on",	"off",	   "heat",
				      "bright", "to plug", "to lock" };
	struct value zero = { .type = VALUE_FLOAT, .u.f = 18 };
	size_t sets[16] = { 0 };
	struct value off = { .type = VALUE_BOOL };

	add_plug(w);
	world_node(w, 9, "front lock");
	world_value(w, ZW_EV_VALUE_ADDED, m_locked(), &off);
	world_node(w, 10, "thermostat");
	world_value(w, ZW_EV_VALUE_ADDED, m_setpoint(), &zero);
	set_num(w, m_level(), 50);
	w->echo = true;
	for (int i = 0; i < 360; i++) { /* 10 s each */
		if (i % 2 == 0) {
			set_bool(w, m_motion(), true);
			set_num(w, m_level(), 5);
			set_bool(w, m_plug(), i % 4 == 0);
		} else {
			set_bool(w, m_motion(), false);
		}
		set_num(w, m_temp(), 18 + (i % 7) * 0.5);
		echoes(w, 3);
		echoes(w, 3);
		advance(w, 10000 - 600);
		for (size_t k = 0; k < w->ncalls; k++)
			sets[strtoul(w->calls[k] + 4, NULL, 10) % 16] +=
			    strncmp(w->calls[k], "set ", 4) == 0;
		w->ncalls = 0;
	}
	assert_no_loop(w, names, sizeof(names) / sizeof(names[0]));
	/* Every one of them ran all along. */
	assert_int_equal(sets[2], 360);		       /* porch: on, off */
	assert_int_equal(sets[10], 360);	       /* thermostat */
	assert_int_equal(sets[3], 180);		       /* lamp kept bright */
	assert_true(sets[8] >= 170 && sets[9] >= 170); /* kept alike */
	world_free(w);
}

/*
 * Two rules that keep two switches alike, and a user who toggles one
 * every second: each toggle is a chain of its own, never a loop, though
 * it comes less than RULES_ECHO_MS after the rules' last write.
 */
static void test_engine_no_loop_sync(void **state)
{
	struct world *w = echo_world(
	    "rule \"to plug\" { when \"porch\" switch changes\n"
	    "  do set \"washer plug\" switch $value }\n"
	    "rule \"to porch\" { when \"washer plug\" switch changes\n"
	    "  do set \"porch\" switch $value }\n");
	const char *const names[] = { "to plug", "to porch" };

	for (int i = 0; i < 30; i++) {
		set_bool(w, m_switch(), i % 2 == 0);
		echoes(w, 10);
	}
	assert_no_loop(w, names, sizeof(names) / sizeof(names[0]));
	assert_int_equal(count(w, "set 8 currentValue true"), 15);
	world_free(w);
}

/* Busy but straight: nothing of this is a loop. */
static void test_engine_no_loop(void **state)
{
	struct world *w = echo_world(
	    /* A chain A -> B -> C, and a pair that agrees at once. */
	    "rule \"A\" { when \"porch\" switch becomes on\n"
	    "  do set \"washer plug\" switch on }\n"
	    "rule \"B\" { when \"washer plug\" switch becomes on\n"
	    "  do set \"lounge lamp\" level 50; set \"porch\" switch on }\n"
	    "rule \"C\" { when \"lounge lamp\" level > 40; do log \"c\" }\n"
	    /* A motion sensor turns a light on and off. */
	    "rule \"on\" { when \"hall sensor\" motion becomes true\n"
	    "  do set \"porch\" switch on }\n"
	    "rule \"off\" { when \"hall sensor\" motion becomes false\n"
	    "  do set \"porch\" switch off }\n"
	    /* A schedule, often. */
	    "every 1s do set \"lounge lamp\" level 60\n");
	const char *const names[] = { "A",  "B",   "C",
				      "on", "off", "every@t.conf:12" };
	int fired = 0;

	for (int i = 0; i < 30; i++) {
		set_bool(w, m_plug(), false);
		set_num(w, m_level(), 0);
		set_bool(w, m_motion(), true);
		echoes(w, 2);
		set_bool(w, m_motion(), false);
		echoes(w, 2);
		fired += count(w, "log rule \"C\": c") > 0;
		w->ncalls = 0;
	}
	/* The chain ran every time, 30 times in 12 s. */
	assert_int_equal(fired, 30);
	assert_no_loop(w, names, sizeof(names) / sizeof(names[0]));
	world_free(w);
}

static const char at7[] = "rule \"seven\" { at 7:00; do log \"seven\" }\n";

static void test_engine_clock(void **state)
{
	struct world *w;

	setenv("TZ", "UTC", 1);
	tzset();
	/* On time. */
	w = world_new(at7, T_WALL0, true);
	advance(w, 59000);
	assert_int_equal(w->ncalls, 0);
	advance(w, 1000);
	assert_int_equal(w->ncalls, 1);
	assert_string_equal(w->calls[0], "log rule \"seven\": seven");
	/* The clock steps back over it: not twice. */
	w->now.wall -= 120;
	rules_engine_clock_jump(w->e, &w->now);
	advance(w, 10 * 60000);
	assert_int_equal(w->ncalls, 1);
	world_free(w);

	/* A jump forward by more than catch-up: skipped, no backlog. */
	w = world_new(at7, T_WALL0 - 3600, true);
	w->now.wall += 3 * 3600;
	rules_engine_clock_jump(w->e, &w->now);
	advance(w, 60000);
	assert_int_equal(w->ncalls, 0);
	/* The next day it runs. */
	advance(w, 86400000);
	assert_int_equal(w->ncalls, 1);
	world_free(w);

	/* Missed by 90 s, within the 2 min catch-up: runs once. */
	w = world_new(at7, T_WALL0, true);
	w->now.wall += 150;
	rules_engine_clock_jump(w->e, &w->now);
	assert_int_equal(w->ncalls, 1);
	advance(w, 3600000);
	assert_int_equal(w->ncalls, 1);
	world_free(w);

	/* Untrusted (a Pi at 1970): schedules wait, intervals run. */
	w = world_new("rule \"seven\" { at 7:00; do log \"seven\" }\n"
		      "every 1m do log \"tick\"\n",
		      6 * 3600, false);
	advance(w, 3 * 3600000);
	assert_int_equal(count(w, "log rule \"seven\": seven"), 0);
	assert_true(count(w, "log rule \"every@t.conf:4\": tick") >= 180);
	/* NTP: 2026, trusted.  No replay of the missed 7:00s. */
	w->now.wall = T_WALL0 - 60;
	w->now.trusted = true;
	rules_engine_clock_jump(w->e, &w->now);
	assert_int_equal(count(w, "log rule \"seven\": seven"), 0);
	advance(w, 2 * 60000);
	assert_int_equal(count(w, "log rule \"seven\": seven"), 1);
	world_free(w);
}

static void test_engine_conditions(void **state)
{
	struct world *w;

	setenv("TZ", "UTC", 1);
	tzset();
	w = world_new(
	    "rule \"night\" { when \"hall sensor\" motion becomes "
	    "true\n"
	    "  if time between 22:00 and 7:00 and day is mon\n"
	    "  if not \"porch\" switch is on or cloud is online\n"
	    "  do log \"night\" }\n"
	    "rule \"cloud\" { when cloud goes offline; do log \"off\" "
	    "}\n"
	    "rule \"boot\" { when gateway starts; do log \"boot\" }\n",
	    T_WALL0, true); /* Monday 06:59 */
	assert_int_equal(count(w, "log rule \"boot\": boot"), 1);
	set_bool(w, m_motion(), true);
	assert_int_equal(count(w, "log rule \"night\": night"), 1);
	set_bool(w, m_motion(), false);
	set_bool(w, m_switch(), true); /* porch on, cloud offline */
	set_bool(w, m_motion(), true);
	assert_int_equal(count(w, "log rule \"night\": night"), 1);
	rules_engine_cloud(w->e, true, &w->now);
	set_bool(w, m_motion(), false);
	set_bool(w, m_motion(), true);
	assert_int_equal(count(w, "log rule \"night\": night"), 2);
	advance(w, 2 * 60000); /* 07:01: outside the window */
	set_bool(w, m_motion(), false);
	set_bool(w, m_motion(), true);
	assert_int_equal(count(w, "log rule \"night\": night"), 2);
	assert_int_equal(count(w, "log rule \"cloud\": off"), 0);
	rules_engine_cloud(w->e, false, &w->now);
	assert_int_equal(count(w, "log rule \"cloud\": off"), 1);
	world_free(w);
}

static void test_engine_control(void **state)
{
	struct world *w = world_new(example, T_WALL0, true);
	json_t *j, *st;

	assert_int_equal(rules_engine_scene(w->e, "evening", &w->now), 0);
	assert_int_equal(w->ncalls, 2);
	assert_string_equal(w->calls[0], "set 3 currentValue 40");
	assert_int_equal(rules_engine_scene(w->e, "nope", &w->now), -ENOENT);
	assert_int_equal(rules_engine_run(w->e, "porch light at dusk", &w->now),
			 0);
	assert_int_equal(w->ncalls, 3);
	assert_string_equal(w->calls[2], "set 2 currentValue true");
	/* No "hall light" here: the run fails, says why, goes on. */
	assert_int_equal(rules_engine_run(w->e, "hall motion", &w->now), 0);
	advance(w, 5 * 60000);
	j = rules_engine_rule_json(w->e, "hall motion", &w->now);
	assert_string_equal(
	    json_string_value(json_object_get(j, "last_result")),
	    "failed: no node \"hall light\"");
	assert_int_equal(json_integer_value(json_object_get(j, "runs")), 1);
	json_decref(j);

	assert_int_equal(rules_engine_enable(w->e, "freezer warm", false), 0);
	assert_int_equal(rules_engine_enable(w->e, "x", false), -ENOENT);
	set_num(w, m_temp(), -1);
	advance(w, 3600000);
	assert_int_equal(count(w, "publish alerts/freezer {\"temp\": -1}"), 0);

	st = rules_engine_state_json(w->e);
	assert_int_equal(json_array_size(json_object_get(st, "disabled")), 1);
	j = rules_engine_json(w->e, &w->now);
	assert_int_equal(json_array_size(j), 4);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(j, 0), "name")),
	    "porch light at dusk");
	assert_true(
	    json_is_string(json_object_get(json_array_get(j, 0), "next")));
	assert_true(
	    json_is_false(json_object_get(json_array_get(j, 2), "enabled")));
	json_decref(j);

	/* A reload keeps enabled flags by name. */
	{
		struct rules_engine *old = w->e;

		assert_int_equal(rules_engine_new(w->conf->rules, w->reg,
						  &w->act, NULL, &w->e),
				 0);
		rules_engine_adopt(w->e, old);
		rules_engine_free(old);
		rules_engine_start(w->e, &w->now, false);
		j = rules_engine_state_json(w->e);
		assert_true(json_equal(j, st));
		json_decref(j);
	}
	json_decref(st);
	j = rules_engine_rule_json(w->e, "porch light at dusk", &w->now);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "triggers")), 2);
	json_decref(j);
	world_free(w);
}

/*
 * The views are whole or not at all: whichever allocation fails, a view
 * made is the view made with memory enough (a rule without "paused", a
 * state without a disabled name, would tell wrong).  One allocation
 * fails, the n-th, and the others do not, so a loss cannot hide behind
 * a later failure.
 */
static size_t alloc_n, alloc_fail_at;

static void *alloc_one_fails(size_t n)
{
	return alloc_n++ == alloc_fail_at ? NULL : malloc(n);
}

static void test_engine_views_whole(void **state)
{
	struct world *w = world_new(example, T_WALL0, true);
	json_t *want[3], *got[3];
	bool whole = false;
	size_t n;

	assert_int_equal(rules_engine_enable(w->e, "freezer warm", false), 0);
	assert_int_equal(rules_engine_enable(w->e, "hall motion", false), 0);
	want[0] = rules_engine_state_json(w->e);
	want[1] = rules_engine_json(w->e, &w->now);
	want[2] = rules_engine_rule_json(w->e, "porch light at dusk", &w->now);
	assert_int_equal(json_array_size(json_object_get(want[0], "disabled")),
			 2);
	assert_non_null(want[1]);
	assert_non_null(want[2]);
	for (n = 0; !whole && n < 100000; n++) {
		alloc_n = 0;
		alloc_fail_at = n;
		json_set_alloc_funcs(alloc_one_fails, free);
		got[0] = rules_engine_state_json(w->e);
		got[1] = rules_engine_json(w->e, &w->now);
		got[2] = rules_engine_rule_json(w->e, "porch light at dusk",
						&w->now);
		json_set_alloc_funcs(malloc, free);
		whole = alloc_n <= n; /* none failed */
		for (size_t i = 0; i < 3; i++) {
			if (got[i])
				assert_true(json_equal(got[i], want[i]));
			else
				assert_false(whole);
			json_decref(got[i]);
		}
	}
	assert_true(whole);
	assert_true(n > 10);
	for (size_t i = 0; i < 3; i++)
		json_decref(want[i]);
	world_free(w);
}

/* Against a known network, names that are not there are warned about. */
static void test_engine_check_names(void **state)
{
	struct world *w = world_new(
	    "rule \"n\" { when \"nosuch\" switch changes\n"
	    "  if \"porch\" nosuch is on\n"
	    "  do set \"porch\" switch banana; refresh \"freezer\" }\n",
	    T_WALL0, true);
	struct diag_list d;
	char buf[256];

	diag_init(&d);
	rules_check_names(w->conf->rules, w->reg, &d);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 3);
	assert_string_equal(diag_format(&d.items[0], buf, sizeof(buf)),
			    "t.conf:3:17: warning: no node \"nosuch\" in the "
			    "network (yet)");
	assert_string_equal(diag_format(&d.items[1], buf, sizeof(buf)),
			    "t.conf:4:14: warning: no value \"nosuch\" on node "
			    "\"porch\"");
	assert_true(strncmp(diag_format(&d.items[2], buf, sizeof(buf)),
			    "t.conf:5:25: warning: \"porch\" switch: ", 38) ==
		    0);
	diag_clear(&d);
	world_free(w);
}

/* set takes $value: the value that started the run, copied. */
static void test_engine_set_copies_value(void **state)
{
	struct world *w = world_new(
	    "rule \"copy\" { when \"lounge lamp\" level changes\n"
	    "  do set \"porch\" switch on; set \"hall light\" level $value }\n"
	    "rule \"bad\" { when \"porch\" switch changes\n"
	    "  do set \"lounge lamp\" level x$value }\n",
	    T_WALL0, true);
	struct value_meta hall = meta_of(5, 0x26, "currentValue", VALUE_INT);
	struct value zero = { .type = VALUE_INT };
	struct diag_list d;
	json_t *j;

	world_node(w, 5, "hall light");
	world_value(w, ZW_EV_VALUE_ADDED, &hall, &zero);
	/* Known only at run time: no warning for the $value. */
	diag_init(&d);
	rules_check_names(w->conf->rules, w->reg, &d);
	assert_int_equal(d.warnings, 0);
	diag_clear(&d);

	set_num(w, m_level(), 42);
	assert_int_equal(w->ncalls, 2);
	assert_string_equal(w->calls[0], "set 2 currentValue true");
	assert_string_equal(w->calls[1], "set 5 currentValue 42");
	set_num(w, m_level(), -7);
	assert_int_equal(w->ncalls, 4);
	assert_string_equal(w->calls[3], "set 5 currentValue -7");

	/* A value that does not read after the copy: the run says why. */
	set_bool(w, m_switch(), true);
	assert_int_equal(w->ncalls, 4);
	j = rules_engine_rule_json(w->e, "bad", &w->now);
	assert_non_null(j);
	assert_non_null(strstr(
	    json_string_value(json_object_get(j, "last_result")), "failed"));
	json_decref(j);
	world_free(w);
}

/* A name the cloud gave cannot add keys to a rule's JSON payload. */
static void test_engine_publish_escapes(void **state)
{
	static const char evil[] = "x\",\"admin\":true,\"z\":\"\\";
	struct world *w =
	    world_new("rule \"r\\\"q\" { when \"9\" motion becomes true\n"
		      "  do publish \"alerts/who\" \"{\\\"admin\\\": false, "
		      "\\\"node\\\": \\\"$node\\\", \\\"n\\\": $node, "
		      "\\\"rule\\\": $rule, \\\"v\\\": \\\"$value\\\", "
		      "\\\"w\\\": $value}\"\n"
		      "  publish \"alerts/text\" \"node $node\" }\n",
		      T_WALL0, true);
	struct value_meta m = meta_of(9, 0x30, "motion", VALUE_BOOL);
	struct value off = { .type = VALUE_BOOL };
	const char *payload;
	json_error_t err;
	json_t *j;

	world_node(w, 9, evil);
	world_value(w, ZW_EV_VALUE_ADDED, &m, &off);
	set_bool(w, &m, true);
	assert_int_equal(w->ncalls, 2);
	assert_true(strncmp(w->calls[0], "publish alerts/who ", 19) == 0);
	payload = w->calls[0] + 19;
	j = json_loads(payload, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fprintf(stderr, "not JSON: %s: %s\n", payload, err.text);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 6);
	assert_true(json_is_false(json_object_get(j, "admin")));
	assert_string_equal(json_string_value(json_object_get(j, "node")),
			    evil);
	assert_string_equal(json_string_value(json_object_get(j, "n")), evil);
	assert_string_equal(json_string_value(json_object_get(j, "rule")),
			    "r\"q");
	assert_string_equal(json_string_value(json_object_get(j, "v")), "true");
	assert_true(json_is_true(json_object_get(j, "w")));
	json_decref(j);
	/* Plain text: no structure to break, the name as it is. */
	assert_string_equal(w->calls[1],
			    "publish alerts/text node x\",\"admin\""
			    ":true,\"z\":\"\\");
	world_free(w);
}

/* A publish topic stays a clean topic of the rule's own. */
static void test_parse_topics(void **state)
{
	static const struct {
		const char *topic, *want;
	} bad[] = {
		{ "node/2/switch_binary/0/currentValue/set",
		  "\"node\" and the topics under it" },
		{ "alerts/set", "a topic ending in \"/set\"" },
		{ "api/rename/set", "\"api\" and the topics under it" },
		{ "api/status", "\"api\" and the topics under it" },
		{ "trust/bundle/set", "\"trust\" and the topics under it" },
		{ "status", "\"status\" and the topics under it" },
		{ "/x", "a topic is relative" },
		{ "x/", "a topic is relative" },
		{ "a//b", "a topic has no empty" },
		{ "../victim/node/2/x/0/y", "a topic has no empty, '.'" },
		{ "a/./b", "a topic has no empty, '.'" },
		{ "a/+/b", "a topic has no '+'" },
		{ "a/$node", "a topic has no '$'" },
	};
	char rules[512], want[256];
	struct diag_list d;
	struct conf *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rules, sizeof(rules),
			 "rule \"p\" { every 1m; do publish \"%s\" \"x\" }\n",
			 bad[i].topic);
		c = load(rules, &d);
		assert_null(c);
		assert_int_equal(d.n, 1);
		snprintf(want, sizeof(want), "3:33: %s", bad[i].want);
		snprintf(rules, sizeof(rules), "%u:%u: %s", d.items[0].line,
			 d.items[0].col, d.items[0].msg);
		if (strncmp(rules, want, strlen(want)) != 0)
			fail_msg("%s: %s", bad[i].topic, rules);
		diag_clear(&d);
	}
	conf_free(
	    load_ok("rule \"p\" { every 1m\n"
		    "  do publish \"alerts/set-point/x.y/..z\" \"x\" }\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_example),
		cmocka_unit_test(test_parse_precedence),
		cmocka_unit_test(test_parse_times),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_engine_trigger),
		cmocka_unit_test(test_engine_long_range),
		cmocka_unit_test(test_engine_for),
		cmocka_unit_test(test_engine_modes),
		cmocka_unit_test(test_engine_self_trigger),
		cmocka_unit_test(test_engine_loop_two_rules),
		cmocka_unit_test(test_engine_loop_three_rules),
		cmocka_unit_test(test_engine_loop_refresh),
		cmocka_unit_test(test_engine_no_loop),
		cmocka_unit_test(test_engine_no_loop_sync),
		cmocka_unit_test(test_engine_loop_stale_echo),
		cmocka_unit_test(test_engine_loop_other_value),
		cmocka_unit_test(test_engine_loop_slow_echo),
		cmocka_unit_test(test_engine_loop_many_chains),
		cmocka_unit_test(test_engine_no_loop_busy),
		cmocka_unit_test(test_engine_publish_escapes),
		cmocka_unit_test(test_parse_topics),
		cmocka_unit_test(test_engine_clock),
		cmocka_unit_test(test_engine_conditions),
		cmocka_unit_test(test_engine_control),
		cmocka_unit_test(test_engine_views_whole),
		cmocka_unit_test(test_engine_check_names),
		cmocka_unit_test(test_engine_set_copies_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
