/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rules.c: zwgate.rules(5), read the way a rules.d file is (its
 * statements after a config's), and what parsed run by the rules engine
 * against the simulated network's registry: names checked, schedules
 * planned across a DST change, every value reported, time run forward,
 * the clock jumped, the cloud up and down, every rule and scene run by
 * hand and described as zwgatectl rules shows it.
 *
 * The load keeps conf.h's promise (0 and rules, or -EINVAL with an
 * error, or -ENOMEM); the engine's actions, which go nowhere here, must
 * only ever carry a topic and payload within the language's limits.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "conf_rules.h"
#include "fuzz.h"
#include "registry.h"
#include "rules.h"

#define FUZZ_TICKS   64
#define FUZZ_PAYLOAD (RULES_TEXT_MAX * 8) /* $value and the rest grown */
/* 2026-03-29T00:30:00Z: Paris moves to summer time in 30 minutes. */
#define FUZZ_WALL 1774744200

static struct fuzz_daemon fuzz_net; /* only its registry is used */
static char fuzz_head[PATH_MAX + 256];
static char fuzz_name[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char sim[PATH_MAX];

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	fuzz_daemon_start(&fuzz_net);
	snprintf(fuzz_head, sizeof(fuzz_head),
		 "gateway-id fuzz\nzwave { sim-network \"%s\" }\n"
		 "location { latitude 64.1 longitude -21.9 }\n",
		 fuzz_path(sim, fuzz_dir(), "sim.json"));
	fuzz_path(fuzz_name, fuzz_dir(), "rules.d/fuzz.rules");
	return 0;
}

static int act_set(void *ctx, const struct registry_value *v,
		   const struct value *val)
{
	fuzz_check(v && val, "a set without a value");
	return 0;
}

static int act_publish(void *ctx, const char *topic, const char *payload)
{
	fuzz_check(topic && strlen(topic) <= RULES_TOPIC_MAX, "bad topic");
	fuzz_check(payload && strlen(payload) <= FUZZ_PAYLOAD, "payload %zu",
		   strlen(payload));
	return 0;
}

static int act_refresh(void *ctx, unsigned node)
{
	return 0;
}

static void act_log(void *ctx, int prio, const char *msg)
{
	fuzz_check(msg, "a log line without text");
}

/* Every value reported again, and every node seen: the triggers' food. */
static void report_all(struct rules_engine *e, const struct rules_clock *now)
{
	struct registry_node *n = NULL;
	struct registry_event ev;

	while ((n = registry_next_node(daemon_registry(fuzz_net.d), n))) {
		ev = (struct registry_event){ .type = REGISTRY_NODE_CHANGED,
					      .node = n };
		rules_engine_event(e, &ev, now);
		for (size_t i = 0; i < n->nvalues; i++) {
			ev.type = REGISTRY_VALUE_CHANGED;
			ev.value = n->values[i];
			rules_engine_event(e, &ev, now);
		}
	}
}

static void describe(struct rules_engine *e, const struct rules_set *s,
		     const struct rules_clock *now)
{
	json_t *j = rules_engine_json(e, now);

	fuzz_check(j, "no rules json");
	json_decref(j);
	for (size_t i = 0; i < s->nrules; i++) {
		j = rules_engine_rule_json(e, s->rules[i].name, now);
		fuzz_check(j, "no json for rule %zu", i);
		json_decref(j);
	}
	j = rules_engine_state_json(e);
	rules_engine_load_state(e, j);
	json_decref(j);
}

/* Time goes on to each deadline in turn, an hour at the most. */
static void run_time(struct rules_engine *e, struct rules_clock *now)
{
	uint64_t next, step;

	for (int i = 0; i < FUZZ_TICKS; i++) {
		next = rules_engine_next_deadline(e);
		step = next > now->mono ? next - now->mono : 0;
		if (step > 3600 * 1000)
			step = 3600 * 1000;
		now->mono += step;
		now->wall += (zwtime_t)(step / 1000);
		rules_engine_tick(e, now);
	}
}

static void run_engine(const struct rules_set *s)
{
	struct rules_actions act = { act_set, act_publish, act_refresh, act_log,
				     NULL };
	struct sched_loc loc = { 64.1, -21.9 };
	struct rules_clock now = { FUZZ_WALL, 1000, true };
	struct rules_engine *e;
	struct diag_list diags;

	diag_init(&diags);
	rules_check_names(s, daemon_registry(fuzz_net.d), &diags);
	diag_clear(&diags);
	if (rules_engine_new(s, daemon_registry(fuzz_net.d), &act, &loc, &e) <
	    0)
		return;
	rules_engine_start(e, &now, true);
	report_all(e, &now);
	run_time(e, &now);
	rules_engine_cloud(e, false, &now);
	now.wall -= 7200;
	rules_engine_clock_jump(e, &now);
	report_all(e, &now);
	for (size_t i = 0; i < s->nrules; i++) {
		rules_engine_run(e, s->rules[i].name, &now);
		rules_engine_enable(e, s->rules[i].name, i % 2);
	}
	for (size_t i = 0; i < s->nscenes; i++)
		rules_engine_scene(e, s->scenes[i].name, &now);
	rules_engine_cloud(e, true, &now);
	run_time(e, &now);
	describe(e, s, &now);
	rules_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t hlen = strlen(fuzz_head);
	char *text = malloc(hlen + size);
	struct diag_list diags;
	struct conf *c = NULL;
	int r;

	fuzz_check(text, "out of memory");
	memcpy(text, fuzz_head, hlen);
	memcpy(text + hlen, data, size);
	diag_init(&diags);
	r = conf_load_buffer(fuzz_name, text, hlen + size,
			     &conf_rules_load_opts, &diags, &c);
	fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM, "conf_load: %d", r);
	fuzz_check((r == 0) == (c != NULL), "a config with %d", r);
	fuzz_check(r != -EINVAL || diags.errors > 0, "-EINVAL without error");
	if (c && c->rules)
		run_engine(c->rules);
	conf_free(c);
	diag_clear(&diags);
	free(text);
	return 0;
}
