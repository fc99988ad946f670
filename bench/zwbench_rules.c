/* SPDX-License-Identifier: MIT */
/*
 * zwbench rules: what one value report costs the rules engine with N
 * rules loaded, in process (rules.c is pure C with an injected clock).
 *
 * Rule i watches its own value: "when "nK" pJ > 50 do set "out" level 1",
 * 50 values a node, in a network of 10000 such values whatever N is.
 * The events go through the registry as the daemon's
 * do: "hit" reports cycle over the watched values, each turning its
 * comparison true or false (half of them fire their rule); "miss" reports
 * go to the values of a node no rule watches.  The registry's own cost is
 * timed alone and taken off, so that what is left is the engine's.
 * With --callgrind, under valgrind --tool=callgrind --instr-atstart=no
 * --collect-atstart=no --toggle-collect=bench_engine_hit
 * --toggle-collect=bench_engine_miss, only the engine's instructions are
 * counted, hit then miss, each in a dump of its own (totals: Ir).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "rules.h"
#include "value.h"

#include "zwbench.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_DUMP_STATS_AT(what)
#endif

#define BR_VALUES_PER_NODE 50
#define BR_FIRST_NODE	   2
#define BR_QUIET_NODE	   231 /* values no rule watches */
#define BR_OUT_NODE	   232 /* what the rules set */
#define BR_EVENTS_MAX	   100000000
#define BR_RULE_TEXT	   96 /* bytes of one generated rule, at most */
#define BR_CC_SENSOR	   0x31
#define BR_CC_LEVEL	   0x26
#define BR_ROUNDS	   5 /* of wall-time runs; the fastest counts */

_Static_assert(RULES_MAX / BR_VALUES_PER_NODE + BR_FIRST_NODE < BR_QUIET_NODE,
	       "the watched values fit below the quiet node");

struct br {
	struct registry *reg;
	struct conf *conf;
	struct rules_engine *e;
	struct rules_clock now;
	struct value_meta *metas; /* watched values, then the quiet node's */
	size_t nrules, nmetas;
	bool engine_on, hit;
	unsigned long sets, hits, misses;
};

static int br_set(void *ctx, const struct registry_value *v,
		  const struct value *val)
{
	struct br *b = ctx;

	(void)v;
	(void)val;
	b->sets++;
	return 0;
}

static int br_publish(void *ctx, const char *topic, const char *payload)
{
	(void)ctx;
	(void)topic;
	(void)payload;
	return 0;
}

static int br_refresh(void *ctx, unsigned node)
{
	(void)ctx;
	(void)node;
	return 0;
}

static void br_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	(void)prio;
	fprintf(stderr, "%s: %s\n", bench_prog, msg);
}

/*
 * The engine's share of an event, apart for callgrind; each counts its
 * calls, which also keeps the compiler from folding the two into one.
 */
__attribute__((noinline)) static void
bench_engine_hit(struct br *b, const struct registry_event *ev)
{
	b->hits++;
	rules_engine_event(b->e, ev, &b->now);
}

__attribute__((noinline)) static void
bench_engine_miss(struct br *b, const struct registry_event *ev)
{
	b->misses++;
	rules_engine_event(b->e, ev, &b->now);
}

static void br_on_registry(void *ctx, const struct registry_event *ev)
{
	struct br *b = ctx;

	if (!b->engine_on || !b->e)
		return;
	if (b->hit)
		bench_engine_hit(b, ev);
	else
		bench_engine_miss(b, ev);
}

static void br_apply(struct br *b, const struct zw_event *ev)
{
	if (registry_apply(b->reg, ev, b->now.wall * 1000ULL) < 0)
		bench_die(1, "the registry refused an event of node %u",
			  ev->node);
}

static void br_node(struct br *b, uint8_t id, const char *name)
{
	struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = id };

	ev.u.node.name = name;
	ev.u.node.status = ZW_NODE_ALIVE;
	br_apply(b, &ev);
}

static void br_value(struct br *b, const struct value_meta *m, int64_t i)
{
	struct zw_event ev = { .type = ZW_EV_VALUE_ADDED, .node = m->key.node };
	struct value v = { .type = VALUE_INT };

	v.u.i = i;
	ev.u.value.meta = m;
	ev.u.value.val = &v;
	br_apply(b, &ev);
}

static struct value_meta br_meta(uint8_t node, uint8_t cc, const char *prop)
{
	struct value_meta m = { .type = VALUE_INT, .readable = true };

	m.key.node = node;
	m.key.cc = cc;
	snprintf(m.key.property, sizeof(m.key.property), "%s", prop);
	m.min = -1000;
	m.max = 1000;
	return m;
}

/*
 * Nodes n2.. with values for RULES_MAX rules whatever N is (so that what
 * the network's size costs, such as finding "out" by its name for each
 * action, is the same for every N), the quiet node, and "out".
 */
static void br_network(struct br *b)
{
	size_t nodes = RULES_MAX / BR_VALUES_PER_NODE;
	char name[16], prop[16];
	struct value_meta out;

	b->nmetas = nodes * BR_VALUES_PER_NODE + BR_VALUES_PER_NODE;
	b->metas = calloc(b->nmetas, sizeof(*b->metas));
	if (!b->metas)
		bench_die(1, "out of memory");
	for (size_t i = 0; i < b->nmetas; i++) {
		bool quiet = i >= nodes * BR_VALUES_PER_NODE;
		uint8_t id =
		    quiet ? BR_QUIET_NODE
			  : (uint8_t)(BR_FIRST_NODE + i / BR_VALUES_PER_NODE);

		if (i % BR_VALUES_PER_NODE == 0) {
			snprintf(name, sizeof(name), "n%u", id);
			br_node(b, id, quiet ? "quiet" : name);
		}
		snprintf(prop, sizeof(prop), "p%zu", i % BR_VALUES_PER_NODE);
		b->metas[i] = br_meta(id, BR_CC_SENSOR, prop);
		br_value(b, &b->metas[i], 0);
	}
	br_node(b, BR_OUT_NODE, "out");
	out = br_meta(BR_OUT_NODE, BR_CC_LEVEL, "currentValue");
	out.min = 0;
	out.max = 99;
	out.writable = true;
	br_value(b, &out, 0);
}

/* The config text: a zwave block and N rules. */
static char *br_rules_text(size_t n, const char *net)
{
	size_t cap = 256 + strlen(net) + n * BR_RULE_TEXT, len;
	char *buf = malloc(cap);

	if (!buf)
		bench_die(1, "out of memory");
	len = (size_t)snprintf(
	    buf, cap, "gateway-id bench\nzwave { sim-network \"%s\" }\n", net);
	for (size_t i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(buf + len, cap - len,
				     "rule \"r%zu\" {\n when \"n%zu\" p%zu > "
				     "50\n do set \"out\" "
				     "level 1 }\n",
				     i, BR_FIRST_NODE + i / BR_VALUES_PER_NODE,
				     i % BR_VALUES_PER_NODE);
	return buf;
}

/* Parse and start N rules; the time it took, in ms. */
static double br_load(struct br *b, const char *net)
{
	static const struct rules_actions act = { br_set, br_publish,
						  br_refresh, br_log, NULL };
	static struct rules_actions a;
	char *text = br_rules_text(b->nrules, net);
	uint64_t t0 = bench_now_us(CLOCK_MONOTONIC);
	struct diag_list d;

	diag_init(&d);
	if (conf_load_buffer("bench.rules", text, strlen(text),
			     &conf_rules_load_opts, &d, &b->conf) < 0) {
		diag_print(&d, stderr);
		bench_die(1, "the generated rules did not load");
	}
	diag_clear(&d);
	a = act;
	a.ctx = b;
	if (rules_engine_new(b->conf->rules, b->reg, &a, NULL, &b->e) < 0)
		bench_die(1, "rules_engine_new: out of memory");
	rules_engine_start(b->e, &b->now, false);
	free(text);
	return (double)(bench_now_us(CLOCK_MONOTONIC) - t0) / 1e3;
}

/*
 * n reports, ns per report: hit cycles over the watched values, each
 * alternately 60 and 40 from one round to the next; miss over the quiet
 * node's.
 */
static double br_run(struct br *b, bool hit, uint64_t n)
{
	size_t first = hit ? 0 : b->nmetas - BR_VALUES_PER_NODE;
	size_t span = hit ? b->nrules : BR_VALUES_PER_NODE;
	struct zw_event ev = { .type = ZW_EV_VALUE_CHANGED };
	struct value v = { .type = VALUE_INT };
	uint64_t t0 = bench_now_us(CLOCK_MONOTONIC);

	b->hit = hit;
	ev.u.value.val = &v;
	for (uint64_t i = 0; i < n; i++) {
		const struct value_meta *m = &b->metas[first + i % span];

		v.u.i = (i / span) % 2 ? 40 : 60;
		ev.node = m->key.node;
		ev.u.value.meta = m;
		b->now.mono++;
		br_apply(b, &ev);
	}
	return (double)(bench_now_us(CLOCK_MONOTONIC) - t0) * 1e3 / (double)n;
}

/* A sim-network file for the config to name (it must be readable). */
static void br_net_file(char *path, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/zwbench-rules.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, "{}\n", 3) != 3 || close(fd) < 0)
		bench_die(1, "%s: %s", path, strerror(errno));
}

static void br_usage(void)
{
	bench_die(2, "usage: zwbench rules --rules N [--events M] "
		     "[--callgrind]");
}

/* The fastest of BR_ROUNDS runs of n/BR_ROUNDS events, engine on or off. */
static double br_best(struct br *b, bool hit, bool engine, uint64_t n)
{
	double best = 0, t;

	b->engine_on = engine;
	for (int i = 0; i < BR_ROUNDS; i++) {
		t = br_run(b, hit, n / BR_ROUNDS ? n / BR_ROUNDS : 1);
		if (i == 0 || t < best)
			best = t;
	}
	return best;
}

/*
 * Wall time: the registry alone, then with the engine; the difference.
 * The fastest of a few rounds, as the machine may be busy with others; a
 * difference below zero is noise and shows as 0.
 */
static void br_wall(struct br *b, uint64_t events, double load_ms)
{
	double registry_hit = br_best(b, true, false, events);
	double registry_miss = br_best(b, false, false, events);
	double hit = br_best(b, true, true, events);
	double miss = br_best(b, false, true, events);

	printf("{\"rules\":%zu,\"events\":%llu,\"load_ms\":%.1f,"
	       "\"registry_ns\":%.1f,\"hit_ns\":%.1f,\"miss_ns\":%.1f,"
	       "\"fired\":%lu}\n",
	       b->nrules, (unsigned long long)events, load_ms,
	       (registry_hit + registry_miss) / 2, fmax(hit - registry_hit, 0),
	       fmax(miss - registry_miss, 0), b->sets);
}

/* The engine's instructions: a dump for hit, one for miss. */
static void br_callgrind(struct br *b, uint64_t events)
{
	b->engine_on = true;
	CALLGRIND_START_INSTRUMENTATION;
	br_run(b, true, events);
	CALLGRIND_DUMP_STATS_AT("hit");
	br_run(b, false, events);
	CALLGRIND_DUMP_STATS_AT("miss");
	printf("{\"rules\":%zu,\"events\":%llu,\"hits\":%lu,"
	       "\"misses\":%lu}\n",
	       b->nrules, (unsigned long long)events, b->hits, b->misses);
}

int bench_rules(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "events", required_argument, NULL, 'e' },
		{ "callgrind", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct br b = { .now = { 1800000000, 1000000, true } };
	uint64_t events = 1000000;
	bool callgrind = false;
	double load_ms;
	char net[256];
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'r')
			b.nrules =
			    (size_t)bench_num("--rules", optarg, 1, RULES_MAX);
		else if (c == 'e')
			events = (uint64_t)bench_num("--events", optarg, 1,
						     BR_EVENTS_MAX);
		else if (c == 'c')
			callgrind = true;
		else
			br_usage();
	}
	if (!b.nrules || optind != argc)
		br_usage();
	b.reg = registry_new();
	if (!b.reg || registry_listen(b.reg, br_on_registry, &b) < 0)
		bench_die(1, "out of memory");
	br_network(&b);
	br_net_file(net, sizeof(net));
	load_ms = br_load(&b, net);
	unlink(net);
	if (callgrind)
		br_callgrind(&b, events);
	else
		br_wall(&b, events, load_ms);
	rules_engine_free(b.e);
	conf_free(b.conf);
	registry_free(b.reg);
	free(b.metas);
	return 0;
}
