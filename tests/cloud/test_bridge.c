/* SPDX-License-Identifier: MIT */
/*
 * test_bridge.c: the bridge on a real daemon core: the sim backend
 * (tests/sim/basic.json) on a libuv loop feeding a registry, the API
 * (which the bridge reaches through its api_call op), and a bridge whose
 * out functions record every message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "bridge.h"
#include "conf.h"
#include "diag.h"
#include "discovery.h"
#include "log.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

#define P  "zwgate/test-gw"
#define GW "test-gw"
/* How long to wait for what must come: generous, for qemu on a busy
 * machine; it costs nothing when it comes. */
#define WAIT_MS	  10000
#define SETTLE_MS 60 /* several report delays of basic.json (10 ms) */
#define NVALUES	  18 /* values of basic.json */
#define NNODES	  7
#define BIRTH_MS  300 /* the bridge's birth window, shortened */

struct msg {
	enum outbox_kind kind;
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
};

struct fx {
	uv_loop_t loop;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct api *api;
	char *names_path;
	struct bridge_deps deps;
	struct bridge *b;
	struct msg *msgs;
	size_t n, cap;
	bool queried;
	int fail; /* what publish returns */
	char dir[64];
	char conf_path[128];
	char sim_path[PATH_MAX];
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int rec_publish(void *ctx, enum outbox_kind kind, const char *topic,
		       const void *payload, size_t len)
{
	struct fx *f = ctx;
	struct msg *m;

	assert_non_null(topic);
	assert_true(strlen(topic) < OUTBOX_TOPIC_MAX);
	assert_true(len <= OUTBOX_PAYLOAD_MAX);
	if (f->fail)
		return f->fail;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->msgs = realloc(f->msgs, f->cap * sizeof(*f->msgs));
		assert_non_null(f->msgs);
	}
	m = &f->msgs[f->n++];
	m->kind = kind;
	m->topic = strdup(topic);
	m->payload = malloc(len + 1);
	assert_non_null(m->topic);
	assert_non_null(m->payload);
	memcpy(m->payload, payload, len);
	m->payload[len] = '\0';
	m->len = len;
	return 0;
}

static void fx_clear(struct fx *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->msgs[i].topic);
		free(f->msgs[i].payload);
	}
	f->n = 0;
}

/* Every message, "kind topic payload" a line (free it). */
static char *fx_dump(const struct fx *f)
{
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);

	assert_non_null(m);
	for (size_t i = 0; i < f->n; i++)
		fprintf(m, "%d %s %s\n", (int)f->msgs[i].kind, f->msgs[i].topic,
			f->msgs[i].payload);
	assert_int_equal(fclose(m), 0);
	return s;
}

static size_t fx_count(const struct fx *f, const char *topic)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		k += strcmp(f->msgs[i].topic, topic) == 0;
	return k;
}

/* The last message on topic, or NULL. */
static const struct msg *fx_find(const struct fx *f, const char *topic)
{
	for (size_t i = f->n; i-- > 0;)
		if (strcmp(f->msgs[i].topic, topic) == 0)
			return &f->msgs[i];
	return NULL;
}

static size_t fx_count_prefix(const struct fx *f, const char *prefix)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++)
		k += strncmp(f->msgs[i].topic, prefix, strlen(prefix)) == 0;
	return k;
}

static json_t *msg_json(const struct msg *m)
{
	json_error_t e;
	json_t *j;

	assert_non_null(m);
	j = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("%s: not JSON: %s (%s)", m->topic, e.text, m->payload);
	return j;
}

static void on_zw(void *ctx, const struct zw_event *ev)
{
	struct fx *f = ctx;

	registry_apply(f->reg, ev, wall_ms());
	if (ev->type == ZW_EV_ALL_QUERIED)
		f->queried = true;
}

/* What the daemon gives the API: this fixture's parts. */
static const struct conf *fx_conf(void *ctx)
{
	return ((struct fx *)ctx)->conf;
}

static struct zw *fx_zw(void *ctx)
{
	return ((struct fx *)ctx)->zw;
}

static int fx_api(struct fx *f)
{
	struct api_deps deps = {
		.loop = &f->loop,
		.reg = f->reg,
		.config_path = f->conf_path,
		.names_path = f->names_path,
		.ctx = f,
		.conf = fx_conf,
		.zw = fx_zw,
	};

	return api_new(&deps, &f->api);
}

/* The bridge's commands go to this fixture's API. */
static void fx_api_call(void *ctx, const json_t *req, bridge_reply_fn reply,
			void *reply_ctx)
{
	struct fx *f = ctx;

	api_request(f->api, req, reply, reply_ctx);
}

/* Errors that name the fixture's directory stay home. */
static bool fx_names_a_path(void *ctx, const char *text)
{
	struct fx *f = ctx;

	return strstr(text, f->dir) != NULL;
}

static struct bridge_deps *fx_deps(struct fx *f)
{
	f->deps = (struct bridge_deps){
		.loop = &f->loop,
		.reg = f->reg,
		.ops = { .api_call = fx_api_call,
			 .errno_name = api_errno_name,
			 .names_a_path = fx_names_a_path,
			 .ctx = f },
	};
	return &f->deps;
}

/* The predicates for tu_run_until take the fixture as their arg. */
static bool is_queried(void *arg)
{
	return ((struct fx *)arg)->queried;
}

static void fx_settle(struct fx *f)
{
	tu_run_for(&f->loop, SETTLE_MS);
}

static int fx_bridge(struct fx *f, bool discovery)
{
	struct bridge_opts o = { .prefix = P,
				 .discovery = discovery,
				 .discovery_prefix = "homeassistant",
				 .birth_window_ms = BIRTH_MS };
	struct bridge_out out = { .publish = rec_publish, .ctx = f };

	return bridge_start(fx_deps(f), &o, &out, &f->b);
}

static void fx_core(struct fx *f)
{
	struct diag_list diags;
	char text[PATH_MAX + 128];
	char path[PATH_MAX + 64];

	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "bridge"), 0);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/zwgate.conf", f->dir);
	snprintf(path, sizeof(path), "%s/tests/sim/basic.json", tu_srcdir());
	assert_non_null(realpath(path, f->sim_path));
	snprintf(text, sizeof(text),
		 "gateway-id \"%s\"\nzwave {\n backend sim\n"
		 " sim-network \"%s\"\n}\n",
		 GW, f->sim_path);
	diag_init(&diags);
	assert_int_equal(conf_load_buffer(f->conf_path, text, strlen(text),
					  NULL, &diags, &f->conf),
			 0);
	diag_clear(&diags);
	assert_true(asprintf(&f->names_path, "%s/names.json", f->dir) > 0);
	f->reg = registry_new();
	assert_non_null(f->reg);
	assert_int_equal(fx_api(f), 0);
	struct zw_opts zo = { .state_dir = f->dir,
			      .sim_network = f->conf->zwave.sim_network };
	assert_int_equal(zw_sim_ops.open(&f->loop, &zo, on_zw, f, &f->zw), 0);
	tu_run_until(&f->loop, is_queried, f, WAIT_MS);
	assert_true(f->queried);
	assert_int_equal(registry_node_count(f->reg), NNODES);
}

static int setup_discovery(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_core(f);
	assert_int_equal(fx_bridge(f, true), 0);
	*state = f;
	return 0;
}

static int setup_plain(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_core(f);
	assert_int_equal(fx_bridge(f, false), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	f->b = bridge_stop(f->b);
	api_shutdown(f->api);
	zw_close(f->zw);
	/* Bounded: a handle left running fails here, named, and does not
	 * hang the suite (a CI run once waited out its 900 s here). */
	if (!tu_loop_drain(&f->loop, WAIT_MS))
		fail_msg("the loop did not empty after the stop");
	assert_int_equal(uv_loop_close(&f->loop), 0);
	api_free(f->api);
	registry_free(f->reg);
	conf_free(f->conf);
	free(f->names_path);
	r = tu_rm_rf(f->dir);
	fx_clear(f);
	free(f->msgs);
	free(f);
	return r;
}

static struct registry_value *fx_value(struct fx *f, unsigned node,
				       const char *path)
{
	struct registry_node *n = registry_node(f->reg, node);
	struct registry_value *v = NULL;

	assert_non_null(n);
	assert_int_equal(registry_find_value(n, path, &v), 0);
	return v;
}

/* The value as JSON text, to compare before and after. */
static char *fx_value_text(struct fx *f, unsigned node, const char *path)
{
	struct registry_value *v = fx_value(f, node, path);
	json_t *j = v->has_val ? value_to_json(&v->val, &v->meta) : json_null();
	char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

	json_decref(j);
	assert_non_null(s);
	return s;
}

static void fx_send(struct fx *f, const char *topic, const void *payload,
		    size_t len)
{
	bridge_message(f->b, topic, payload, len, false);
}

/* As the broker sends a retained message at a (re)subscription. */
static void fx_send_retained(struct fx *f, const char *topic,
			     const char *payload)
{
	bridge_message(f->b, topic, payload, strlen(payload), true);
}

static void fx_sends(struct fx *f, const char *topic, const char *payload)
{
	fx_send(f, topic, payload, strlen(payload));
}

static void fx_inject(struct fx *f, const char *fmt, ...)
{
	char err[256] = "", buf[512];
	json_t *req, *res = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	req = json_loads(buf, 0, NULL);
	assert_non_null(req);
	if (zw_inject(f->zw, req, &res, err, sizeof(err)) < 0)
		fail_msg("inject %s: %s", buf, err);
	json_decref(res);
	json_decref(req);
}

/* The state message of (node, path) says value; ts is the registry's. */
static void check_state(struct fx *f, unsigned node, const char *path,
			const char *value)
{
	struct registry_value *v = fx_value(f, node, path);
	char topic[256];
	const struct msg *m;
	json_t *j, *want;

	snprintf(topic, sizeof(topic), P "/node/%u/%s", node, path);
	m = fx_find(f, topic);
	if (!m)
		fail_msg("no state on %s", topic);
	assert_int_equal(m->kind, OUTBOX_STATE);
	j = msg_json(m);
	want = json_loads(value, JSON_DECODE_ANY, NULL);
	assert_non_null(want);
	if (!json_equal(json_object_get(j, "value"), want))
		fail_msg("%s: %s, not %s", topic, m->payload, value);
	assert_int_equal(json_integer_value(json_object_get(j, "ts")),
			 v->updated_ms);
	assert_int_equal(json_object_size(j), 2);
	json_decref(want);
	json_decref(j);
}

static void test_initial_publish(void **state)
{
	struct fx *f = *state;
	struct registry_node *n = NULL;
	size_t expected = 0;
	char topic[256], path[128];

	while ((n = registry_next_node(f->reg, n))) {
		snprintf(topic, sizeof(topic), P "/node/%u/status", n->id);
		assert_int_equal(fx_count(f, topic), 1);
		assert_string_equal(fx_find(f, topic)->payload,
				    n->id == 6 ? "dead" : "alive");
		expected++;
		for (size_t i = 0; i < n->nvalues; i++) {
			struct registry_value *v = n->values[i];
			json_t *j;
			char *s;

			value_key_path(&v->meta.key, path, sizeof(path));
			snprintf(topic, sizeof(topic), P "/node/%u/%s", n->id,
				 path);
			if (!v->has_val) {
				assert_int_equal(fx_count(f, topic), 0);
				continue;
			}
			assert_int_equal(fx_count(f, topic), 1);
			j = value_to_json(&v->val, &v->meta);
			s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
			check_state(f, n->id, path, s);
			free(s);
			json_decref(j);
			expected++;
		}
	}
	/* 7 statuses and 15 values with a value. */
	assert_int_equal(expected, 22);
	assert_int_equal(f->n, expected);
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(f->msgs[i].kind, OUTBOX_STATE);
	/* Discovery waits for the link. */
	assert_int_equal(fx_count_prefix(f, "homeassistant/"), 0);
}

static void test_value_change(void **state)
{
	struct fx *f = *state;

	fx_clear(f);
	fx_inject(f, "{\"op\":\"emit\",\"node\":7,\"value\":\"humidity\","
		     "\"data\":55.5}");
	assert_int_equal(f->n, 1);
	assert_string_equal(f->msgs[0].topic,
			    P "/node/7/sensor_multilevel/0/humidity");
	check_state(f, 7, "sensor_multilevel/0/humidity", "55.5");

	/* The same report again is news too. */
	fx_inject(f, "{\"op\":\"emit\",\"node\":7,\"value\":\"humidity\","
		     "\"data\":55.5}");
	assert_int_equal(f->n, 2);
}

static bool has_error(struct fx *f)
{
	return fx_find(f, P "/error") != NULL;
}

struct want_state {
	struct fx *f;
	const char *topic, *value;
};

static struct want_state wanted;

static bool state_seen(void *arg)
{
	struct fx *f = arg;
	const struct msg *m = fx_find(f, wanted.topic);
	json_t *j, *v;
	bool ok;

	if (!m)
		return false;
	j = msg_json(m);
	v = json_loads(wanted.value, JSON_DECODE_ANY, NULL);
	ok = json_equal(json_object_get(j, "value"), v);
	json_decref(j);
	json_decref(v);
	return ok;
}

/* A /set round trip: the sim reports the value after its delay. */
static void set_roundtrip(struct fx *f, const char *set_topic,
			  const char *payload, size_t len,
			  const char *state_topic, const char *value)
{
	fx_clear(f);
	fx_send(f, set_topic, payload, len);
	assert_false(has_error(f));
	/* Nothing until the device answers. */
	assert_int_equal(fx_count(f, state_topic), 0);
	wanted = (struct want_state){ f, state_topic, value };
	tu_run_until(&f->loop, state_seen, f, WAIT_MS);
	if (!state_seen(f))
		fail_msg("%s: no state %s after setting %s", state_topic, value,
			 set_topic);
	assert_false(has_error(f));
}

static void test_set_roundtrip(void **state)
{
	struct fx *f = *state;

	set_roundtrip(f, P "/node/2/switch_binary/0/currentValue/set", "true",
		      4, P "/node/2/switch_binary/0/currentValue", "true");
	check_state(f, 2, "switch_binary/0/currentValue", "true");
	set_roundtrip(
	    f, P "/node/lounge lamp/switch_multilevel/0/currentValue/set",
	    "{\"value\":40}", 12, P "/node/3/switch_multilevel/0/currentValue",
	    "40");
	check_state(f, 3, "switch_multilevel/0/currentValue", "40");
	/* A bare word, a name in other case, white space around. */
	set_roundtrip(f, P "/node/PORCH/switch_binary/0/currentValue/set",
		      " off\n", 5, P "/node/2/switch_binary/0/currentValue",
		      "false");
	set_roundtrip(f, P "/node/7/configuration/0/melody/set", "\"big ben\"",
		      9, P "/node/7/configuration/0/melody", "\"big ben\"");
	set_roundtrip(f, P "/node/custom/configuration/0/melody/set", "chimes",
		      6, P "/node/7/configuration/0/melody", "\"chimes\"");
	set_roundtrip(f, P "/node/7/notification/0/mode/set", "armed", 5,
		      P "/node/7/notification/0/mode", "\"armed\"");
	set_roundtrip(f, P "/node/8/thermostat_setpoint/0/heating/set", "22.5",
		      4, P "/node/8/thermostat_setpoint/0/heating", "22.5");
}

static bool button_seen(void *arg)
{
	struct fx *f = arg;

	return fx_find(f, P "/event/7/basic/0/button") != NULL;
}

static void test_button_and_events(void **state)
{
	struct fx *f = *state;
	const struct msg *m;
	json_t *j;

	fx_clear(f);
	fx_sends(f, P "/node/7/basic/0/ring/set", "true");
	assert_false(has_error(f));
	tu_run_until(&f->loop, button_seen, f, WAIT_MS);
	m = fx_find(f, P "/event/7/basic/0/button");
	assert_non_null(m);
	assert_int_equal(m->kind, OUTBOX_EVENT);

	fx_clear(f);
	fx_inject(f, "{\"op\":\"event\",\"node\":7,\"kind\":\"scene\","
		     "\"code\":3,\"text\":\"Evening\"}");
	assert_int_equal(f->n, 1);
	m = fx_find(f, P "/event/7/scene_activation/0/scene");
	assert_non_null(m);
	assert_int_equal(m->kind, OUTBOX_EVENT);
	j = msg_json(m);
	assert_int_equal(json_integer_value(json_object_get(j, "code")), 3);
	assert_string_equal(json_string_value(json_object_get(j, "text")),
			    "Evening");
	assert_true(json_integer_value(json_object_get(j, "ts")) >
		    1600000000000LL);
	json_decref(j);

	fx_inject(f, "{\"op\":\"event\",\"node\":2,\"kind\":\"button\","
		     "\"code\":1,\"endpoint\":2}");
	m = fx_find(f, P "/event/2/central_scene/2/button");
	assert_non_null(m);
	j = msg_json(m);
	assert_null(json_object_get(j, "text"));
	assert_int_equal(json_integer_value(json_object_get(j, "code")), 1);
	json_decref(j);
}

static void test_status_changes(void **state)
{
	struct fx *f = *state;

	fx_clear(f);
	fx_inject(f, "{\"op\":\"dead\",\"node\":2}");
	assert_int_equal(fx_count(f, P "/node/2/status"), 1);
	assert_string_equal(fx_find(f, P "/node/2/status")->payload, "dead");
	fx_inject(f, "{\"op\":\"dead\",\"node\":2}");
	assert_int_equal(fx_count(f, P "/node/2/status"), 1);
	fx_inject(f, "{\"op\":\"alive\",\"node\":2}");
	assert_int_equal(fx_count(f, P "/node/2/status"), 2);
	assert_string_equal(fx_find(f, P "/node/2/status")->payload, "alive");
}

struct bad_set {
	const char *topic;
	const char *payload;
	size_t len;
	const char *code;
	unsigned node;
	const char *path; /* value that must not change, or NULL */
};

static void check_refused(struct fx *f, const struct bad_set *c)
{
	char *before = c->path ? fx_value_text(f, c->node, c->path) : NULL;
	char topic[256];
	const struct msg *m;
	json_t *j;

	fx_clear(f);
	fx_send(f, c->topic, c->payload, c->len);
	m = fx_find(f, P "/error");
	if (!m)
		fail_msg("%s: no error for a payload of %zu bytes", c->topic,
			 c->len);
	assert_int_equal(f->n, 1);
	assert_int_equal(m->kind, OUTBOX_EVENT);
	j = msg_json(m);
	assert_string_equal(json_string_value(json_object_get(j, "topic")),
			    c->topic);
	assert_true(strlen(json_string_value(json_object_get(j, "error"))) > 0);
	if (strcmp(json_string_value(json_object_get(j, "code")), c->code))
		fail_msg("%s %.20s: %s", c->topic, c->payload, m->payload);
	assert_true(json_integer_value(json_object_get(j, "ts")) >
		    1600000000000LL);
	json_decref(j);
	fx_settle(f);
	assert_int_equal(f->n, 1);
	if (c->path) {
		char *after = fx_value_text(f, c->node, c->path);

		snprintf(topic, sizeof(topic), P "/node/%u/%s", c->node,
			 c->path);
		assert_int_equal(fx_count(f, topic), 0);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
}

#define SW2	P "/node/2/switch_binary/0/currentValue/set"
#define MELODY	P "/node/7/configuration/0/melody/set"
#define B(s)	s, sizeof(s) - 1
#define SWV	2, "switch_binary/0/currentValue"
#define MELODYV 7, "configuration/0/melody"
#define LEVEL	P "/node/3/switch_multilevel/0/currentValue/set"
#define LEVELV	3, "switch_multilevel/0/currentValue"

static void test_bad_sets(void **state)
{
	static const char long_name[] = P
	    "/node/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaa/switch_binary/0/currentValue/set";
	const struct bad_set cases[] = {
		{ SW2, B("\"hello\""), "EINVAL", SWV },
		{ SW2, B("2"), "EINVAL", SWV },
		{ SW2, B("[true]"), "EINVAL", SWV },
		{ SW2, B("null"), "EINVAL", SWV },
		{ SW2, B("{\"value\":"), "EINVAL", SWV },
		{ SW2, B("{\"v\":true}"), "EINVAL", SWV },
		{ SW2, B("{\"value\":1,\"value\":0}"), "EINVAL", SWV },
		{ SW2, B("\x01\x02"), "EINVAL", SWV },
		{ LEVEL, B("150"), "EINVAL", LEVELV },
		{ LEVEL, B("-1"), "EINVAL", LEVELV },
		{ LEVEL, B("40.5"), "EINVAL", LEVELV },
		{ LEVEL, B("on"), "EINVAL", LEVELV },
		{ P "/node/99/switch_binary/0/currentValue/set", B("true"),
		  "ENOENT", 0, NULL },
		{ P "/node/nobody/switch_binary/0/currentValue/set", B("true"),
		  "ENOENT", 0, NULL },
		{ long_name, B("true"), "ENOENT", 0, NULL },
		{ P "/node/2/switch_binary/0/nothing/set", B("true"), "ENOENT",
		  SWV },
		{ P "/node/2/switch_binary/1/currentValue/set", B("true"),
		  "ENOENT", SWV },
		{ P "/node/2/bogus/0/currentValue/set", B("true"), "ENOENT",
		  SWV },
		{ P "/node/4/sensor_binary/0/motion/set", B("true"), "EACCES",
		  4, "sensor_binary/0/motion" },
		{ P "/node/6/door_lock/0/locked/set", B("false"), "EHOSTDOWN",
		  6, "door_lock/0/locked" },
		{ MELODY, B("\xff\xfe"), "EINVAL", MELODYV },
		{ MELODY, B("\xc0\xaf"), "EINVAL", MELODYV },
		{ MELODY, B("ab\0cd"), "EINVAL", MELODYV },
		{ MELODY, B("\"a\\u0000b\""), "EINVAL", MELODYV },
		{ MELODY, B("\"tab\\there\""), "EINVAL", MELODYV },
		{ MELODY, B("[\"x\""), "EINVAL", MELODYV },
	};
	struct fx *f = *state;
	struct bad_set big = { MELODY, NULL, 1024 * 1024, "E2BIG", MELODYV };
	struct bad_set edge = { MELODY, NULL, BRIDGE_IN_MAX + 1, "E2BIG",
				MELODYV };
	char *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_refused(f, &cases[i]);
	s = malloc(big.len);
	assert_non_null(s);
	memset(s, 'a', big.len);
	big.payload = s;
	check_refused(f, &big);
	edge.payload = s;
	check_refused(f, &edge);
	/* Just under the limit: the size is fine, the string too long. */
	edge.len = BRIDGE_IN_MAX;
	edge.code = "EINVAL";
	check_refused(f, &edge);
	free(s);
}

/* A refusal is logged at notice level with its topic, never the payload. */
static void test_refusal_log(void **state)
{
	struct fx *f = *state;
	char path[128], buf[4096], payload[301];
	int fd, saved;
	ssize_t n;

	memset(payload, 'z', 300);
	payload[300] = '\0';
	snprintf(path, sizeof(path), "%s/log", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fx_sends(f, MELODY, payload);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, MELODY));
	assert_null(strstr(buf,
			   "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
			   "zzzzzzzzzzzzzzz"));
	assert_true(has_error(f));
}

static const char *awaited; /* reply_seen's topic */

static bool reply_seen(void *arg)
{
	return fx_find(arg, awaited) != NULL;
}

/* Send to the command's topic; wait for its reply (a rename waits for
 * names.json). */
static void fx_sends_wait(struct fx *f, const char *cmd, const char *payload)
{
	char topic[128], reply[128];

	snprintf(topic, sizeof(topic), P "/api/%s/set", cmd);
	snprintf(reply, sizeof(reply), P "/api/%s", cmd);
	fx_sends(f, topic, payload);
	awaited = reply;
	tu_run_until(&f->loop, reply_seen, f, WAIT_MS);
}

static json_t *api_reply(struct fx *f, const char *cmd, const char *payload)
{
	char reply[128];
	const struct msg *m;

	snprintf(reply, sizeof(reply), P "/api/%s", cmd);
	fx_clear(f);
	fx_sends_wait(f, cmd, payload);
	m = fx_find(f, reply);
	if (!m)
		return NULL;
	assert_int_equal(m->kind, OUTBOX_EVENT);
	return msg_json(m);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void assert_no_text(struct fx *f, const char *text)
{
	for (size_t i = 0; i < f->n; i++)
		if (strstr(f->msgs[i].payload, text))
			fail_msg("%s carries '%s': %s", f->msgs[i].topic, text,
				 f->msgs[i].payload);
}

/* The errors on P/error about topic. */
static size_t errors_about(struct fx *f, const char *topic)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++) {
		json_t *j;

		if (strcmp(f->msgs[i].topic, P "/error") != 0)
			continue;
		j = msg_json(&f->msgs[i]);
		k += strcmp(jstr(j, "topic"), topic) == 0;
		json_decref(j);
	}
	return k;
}

/*
 * A retained command comes back at every connect: it is never carried
 * out, and said once on P/error; the empty message that clears it is
 * neither a command nor an error.
 */
static void test_retained_commands(void **state)
{
	struct fx *f = *state;
	char *before, *after;
	const struct msg *m;
	json_t *j;

	set_roundtrip(f, SW2, B("true"),
		      P "/node/2/switch_binary/0/currentValue", "true");
	before = fx_value_text(f, SWV);
	fx_clear(f);
	fx_send_retained(f, SW2, "false");
	fx_settle(f);
	after = fx_value_text(f, SWV);
	assert_string_equal(before, after);
	free(after);
	assert_int_equal(fx_count(f, P "/node/2/switch_binary/0/currentValue"),
			 0);
	m = fx_find(f, P "/error");
	if (!m)
		fail_msg("a retained command was not answered on P/error");
	assert_int_equal(f->n, 1);
	j = msg_json(m);
	assert_string_equal(jstr(j, "topic"), SW2);
	assert_string_equal(jstr(j, "code"), "EINVAL");
	assert_non_null(strstr(jstr(j, "error"), "retained"));
	assert_non_null(strstr(jstr(j, "error"), "without retain"));
	json_decref(j);

	/* Every reconnect sends it again: answered once only. */
	for (int i = 0; i < 5; i++)
		fx_send_retained(f, SW2, "false");
	fx_settle(f);
	assert_int_equal(errors_about(f, SW2), 1);
	after = fx_value_text(f, SWV);
	assert_string_equal(before, after);
	free(after);
	/* Another retained command on the topic is news. */
	fx_send_retained(f, SW2, "{\"value\":false}");
	fx_settle(f);
	assert_int_equal(errors_about(f, SW2), 2);

	/* A retained API request is not carried out either. */
	fx_clear(f);
	fx_send_retained(f, P "/api/rename/set",
			 "{\"id\":1,\"node\":2,\"name\":\"taken over\"}");
	fx_settle(f);
	assert_int_equal(fx_count(f, P "/api/rename"), 0);
	assert_int_equal(errors_about(f, P "/api/rename/set"), 1);
	assert_string_not_equal(registry_node(f->reg, 2)->name, "taken over");

	/* Clearing them (an empty message, retained or live, with or
	 * without a payload pointer) says nothing and changes nothing. */
	fx_clear(f);
	fx_send(f, SW2, "", 0);
	fx_send(f, SW2, NULL, 0);
	bridge_message(f->b, SW2, NULL, 0, true);
	fx_send(f, P "/api/rename/set", NULL, 0);
	fx_send(f, LEVEL, "", 0);
	fx_settle(f);
	assert_int_equal(f->n, 0);
	after = fx_value_text(f, SWV);
	assert_string_equal(before, after);
	free(after);
	free(before);

	/* The same command, published now, is carried out. */
	set_roundtrip(f, SW2, B("false"),
		      P "/node/2/switch_binary/0/currentValue", "false");
}

static void test_api(void **state)
{
	struct fx *f = *state;
	json_t *j, *res;

	j = api_reply(f, "nodes", "{\"id\":7}");
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
	assert_true(json_is_true(json_object_get(j, "ok")));
	res = json_object_get(j, "result");
	assert_int_equal(json_array_size(res), NNODES);
	assert_null(json_object_get(json_array_get(res, 0), "location"));
	assert_no_text(f, "outside");
	json_decref(j);

	j = api_reply(f, "node", "{\"id\":\"a\",\"node\":\"porch\"}");
	assert_non_null(j);
	assert_string_equal(jstr(j, "id"), "a");
	res = json_object_get(j, "result");
	assert_int_equal(json_integer_value(json_object_get(res, "id")), 2);
	assert_string_equal(jstr(res, "name"), "porch");
	assert_null(json_object_get(res, "location"));
	assert_int_equal(json_array_size(json_object_get(res, "values")), 1);
	assert_no_text(f, "outside");
	json_decref(j);

	/* "cmd" is the topic's, whatever the payload says. */
	j = api_reply(f, "status", "{\"id\":1,\"cmd\":\"reload\"}");
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "ok")));
	res = json_object_get(j, "result");
	assert_string_equal(jstr(res, "gateway_id"), GW);
	assert_null(json_object_get(res, "config"));
	assert_no_text(f, f->dir);
	json_decref(j);

	j = api_reply(f, "get", "{\"id\":3,\"node\":2,\"value\":\"switch\"}");
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
	res = json_object_get(j, "result");
	assert_true(json_is_false(json_object_get(res, "value")));
	json_decref(j);

	j = api_reply(f, "get", "{\"id\":4,\"node\":2,\"value\":\"nope\"}");
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(jstr(j, "code"), "ENOENT");
	json_decref(j);

	j = api_reply(f, "rename",
		      "{\"id\":5,\"node\":3,\"name\":\"reading lamp\"}");
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(jstr(json_object_get(j, "result"), "name"),
			    "reading lamp");
	assert_string_equal(registry_node(f->reg, 3)->name, "reading lamp");
	json_decref(j);

	j = api_reply(f, "rename", "{\"id\":6,\"node\":3,\"name\":\"a/b\"}");
	assert_non_null(j);
	assert_string_equal(jstr(j, "code"), "EINVAL");
	json_decref(j);
}

static bool set_reply_seen(void *arg)
{
	struct fx *f = arg;

	return fx_find(f, P "/api/set") != NULL;
}

static void test_api_set_waits(void **state)
{
	struct fx *f = *state;
	const struct msg *m;
	json_t *j;

	fx_clear(f);
	fx_sends(f, P "/api/set/set",
		 "{\"id\":9,\"node\":\"porch\",\"value\":\"switch\","
		 "\"data\":true}");
	assert_null(fx_find(f, P "/api/set"));
	tu_run_until(&f->loop, set_reply_seen, f, WAIT_MS);
	m = fx_find(f, P "/api/set");
	assert_non_null(m);
	j = msg_json(m);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
	assert_true(json_is_true(
	    json_object_get(json_object_get(j, "result"), "confirmed")));
	json_decref(j);
	check_state(f, 2, "switch_binary/0/currentValue", "true");
}

static void check_api_refused(struct fx *f, const char *cmd,
			      const char *payload, const char *id,
			      const char *code)
{
	json_t *j = api_reply(f, cmd, payload), *want;

	if (!j)
		fail_msg("%s: no reply", cmd);
	assert_int_equal(f->n, 1);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(jstr(j, "code"), code);
	assert_non_null(jstr(j, "error"));
	want = json_loads(id, JSON_DECODE_ANY, NULL);
	assert_non_null(want);
	assert_true(json_equal(json_object_get(j, "id"), want));
	json_decref(want);
	json_decref(j);
}

static void test_api_refused(void **state)
{
	struct fx *f = *state;
	int level = log_get_level();
	char *big;

	check_api_refused(f, "reload", "{\"id\":1}", "1", "EACCES");
	check_api_refused(f, "sim", "{\"id\":2,\"op\":\"dead\",\"node\":2}",
			  "2", "EACCES");
	assert_int_equal(registry_node(f->reg, 2)->status, ZW_NODE_ALIVE);
	check_api_refused(f, "log-level", "{\"id\":3,\"level\":\"debug\"}", "3",
			  "EACCES");
	assert_int_equal(log_get_level(), level);
	check_api_refused(f, "frobnicate", "{\"id\":[4]}", "[4]", "ENOENT");
	check_api_refused(f, "status", "[1,2]", "null", "EINVAL");
	check_api_refused(f, "status", "garbage", "null", "EINVAL");
	check_api_refused(f, "status", "\"id\"", "null", "EINVAL");
	check_api_refused(f, "nodes", "{\"id\":1,\"id\":2}", "null", "EINVAL");
	big = malloc(1024 * 1024);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024);
	big[0] = '{';
	big[1024 * 1024 - 1] = '}';
	fx_clear(f);
	fx_send(f, P "/api/status/set", big, 1024 * 1024);
	free(big);
	assert_int_equal(f->n, 1);
	assert_non_null(strstr(f->msgs[0].payload, "E2BIG"));

	/* Not a command name, not our topics: no answer at all. */
	fx_clear(f);
	fx_sends(f, P "/api/BAD CMD/set", "{}");
	fx_sends(f,
		 P "/api/"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/set",
		 "{}");
	fx_sends(f, P "/api/status", "{}");
	fx_sends(f, P "/node/2/switch_binary/0/currentValue", "true");
	fx_sends(f, P "/node/2/switch_binary/0/currentValue/set/x", "true");
	fx_sends(f, "zwgate/other/node/2/switch_binary/0/currentValue/set",
		 "true");
	fx_sends(f, P "x/node/2/switch_binary/0/currentValue/set", "true");
	fx_sends(f, P "/node/2/switch_binary/0/curr\xffValue/set", "true");
	fx_settle(f);
	assert_int_equal(f->n, 0);
}

/* Too many waiting requests: the rest are refused, and nothing leaks. */
static void test_api_pending_limit(void **state)
{
	struct fx *f = *state;
	size_t busy = 0;

	fx_clear(f);
	for (int i = 0; i < 80; i++)
		fx_sends(f, P "/api/set/set",
			 "{\"id\":1,\"node\":2,\"value\":\"switch\","
			 "\"data\":true}");
	for (size_t i = 0; i < f->n; i++)
		busy += strstr(f->msgs[i].payload, "\"EBUSY\"") != NULL;
	assert_int_equal(busy, 80 - 64);

	/* A value's /set never waits, so it never counts against that. */
	api_shutdown(f->api);
	api_free(f->api);
	assert_int_equal(fx_api(f), 0);
	fx_clear(f);
	for (int i = 0; i < 80; i++)
		fx_sends(f, SW2, i % 2 ? "on" : "off");
	assert_int_equal(f->n, 0);
}

static bool nothing_pending(void *arg)
{
	return api_pending(((struct fx *)arg)->api) == 0;
}

/*
 * The bridge stops with two "set" requests waiting; their replies come
 * later (the device reports, or api_shutdown cancels them) and must find
 * a bridge that is still there, says nothing, and then goes.
 */
static void stop_pending(struct fx *f, bool cancel)
{
	fx_clear(f);
	fx_sends(f, P "/api/set/set",
		 "{\"id\":1,\"node\":5,\"value\":\"switch\",\"data\":true}");
	fx_sends(f, P "/api/set/set",
		 "{\"id\":2,\"node\":2,\"value\":\"switch\",\"data\":true}");
	assert_int_equal(f->n, 0);
	f->b = bridge_stop(f->b);
	assert_null(f->b);
	if (cancel)
		api_shutdown(f->api);
	tu_run_until(&f->loop, nothing_pending, f, WAIT_MS);
	assert_int_equal(api_pending(f->api), 0);
	assert_int_equal(f->n, 0);
}

static void test_stop_with_pending(void **state)
{
	stop_pending(*state, false);
}

static void test_stop_with_pending_cancel(void **state)
{
	stop_pending(*state, true);
}

struct expect_config {
	unsigned node;
	const char *path, *component;
	const char *device_class, *state_class, *unit;
};

static const struct expect_config expected_configs[] = {
	{ 2, "switch_binary/0/currentValue", "switch", NULL, NULL, NULL },
	{ 3, "switch_multilevel/0/currentValue", "light", NULL, NULL, NULL },
	{ 4, "sensor_binary/0/motion", "binary_sensor", "motion", NULL, NULL },
	{ 4, "battery/0/level", "sensor", "battery", "measurement", "%" },
	{ 5, "switch_binary/0/currentValue", "switch", NULL, NULL, NULL },
	{ 5, "meter/0/power", "sensor", "power", "measurement", "W" },
	{ 5, "meter/0/energy", "sensor", "energy", "total_increasing", "kWh" },
	{ 6, "door_lock/0/locked", "lock", NULL, NULL, NULL },
	{ 7, "switch_binary/1/currentValue", "switch", NULL, NULL, NULL },
	{ 7, "switch_binary/2/currentValue", "switch", NULL, NULL, NULL },
	{ 7, "sensor_multilevel/0/humidity", "sensor", "humidity",
	  "measurement", "%" },
	{ 7, "notification/0/mode", "select", NULL, NULL, NULL },
	{ 7, "basic/0/ring", "button", NULL, NULL, NULL },
	{ 7, "configuration/0/melody", "text", NULL, NULL, NULL },
	{ 7, "configuration/0/volume", "number", NULL, NULL, NULL },
	{ 7, "meter/3/power", "sensor", "power", "measurement", "W" },
	{ 8, "thermostat_setpoint/0/heating", "number", "temperature", NULL,
	  "°C" },
	{ 8, "sensor_multilevel/0/temperature", "sensor", "temperature",
	  "measurement", "°C" },
};

static void check_opt(const json_t *o, const char *key, const char *want)
{
	if (!want) {
		if (json_object_get(o, key))
			fail_msg("unexpected %s", key);
		return;
	}
	assert_non_null(jstr(o, key));
	assert_string_equal(jstr(o, key), want);
}

static void check_availability(const json_t *c, unsigned node)
{
	const json_t *a = json_object_get(c, "availability");
	char topic[128];

	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(jstr(json_array_get(a, 0), "topic"), P "/status");
	snprintf(topic, sizeof(topic), P "/node/%u/status", node);
	assert_string_equal(jstr(json_array_get(a, 1), "topic"), topic);
	assert_string_equal(jstr(json_array_get(a, 1), "payload_available"),
			    "alive");
	assert_string_equal(jstr(json_array_get(a, 1), "payload_not_available"),
			    "dead");
	assert_string_equal(jstr(c, "availability_mode"), "all");
}

static void check_device(struct fx *f, const json_t *c, unsigned node)
{
	const json_t *dev = json_object_get(c, "device");
	struct registry_node *n = registry_node(f->reg, node);
	char id[64];

	snprintf(id, sizeof(id), "zwgate_" GW "_%u", node);
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(dev, "identifiers"), 0)),
			    id);
	assert_string_equal(jstr(dev, "name"), n->name);
	assert_string_equal(jstr(dev, "via_device"), "zwgate_" GW);
	check_opt(dev, "manufacturer", n->manufacturer);
	check_opt(dev, "model", n->product);
	assert_null(json_object_get(dev, "location"));
	assert_null(json_object_get(dev, "suggested_area"));
}

/* What every config has, and the topics that go with the value. */
static void check_config_common(struct fx *f, const struct msg *m,
				const json_t *c, const struct expect_config *e)
{
	struct registry_value *v = fx_value(f, e->node, e->path);
	char topic[512], uid[DISCOVERY_UID_MAX];
	const char *st = jstr(c, "state_topic"), *ct = jstr(c, "command_topic");

	assert_int_equal(m->kind, OUTBOX_STATE);
	assert_non_null(jstr(c, "unique_id"));
	snprintf(uid, sizeof(uid), "zwgate_" GW "_%u_%s", e->node, e->path);
	for (char *p = uid; *p; p++)
		if (*p == '/')
			*p = '_';
	assert_string_equal(jstr(c, "unique_id"), uid);
	assert_string_equal(jstr(c, "object_id"), uid);
	snprintf(topic, sizeof(topic), "homeassistant/%s/%s/config",
		 e->component, uid);
	assert_string_equal(m->topic, topic);
	assert_true(strlen(jstr(c, "name")) > 0);
	assert_int_equal(json_integer_value(json_object_get(c, "qos")), 1);
	check_availability(c, e->node);
	check_device(f, c, e->node);
	snprintf(topic, sizeof(topic), P "/node/%u/%s", e->node, e->path);
	if (v->meta.readable) {
		assert_non_null(st);
		assert_string_equal(st, topic);
	} else {
		assert_null(st);
	}
	strcat(topic, "/set");
	if (v->meta.writable) {
		assert_non_null(ct);
		assert_string_equal(ct, topic);
	} else {
		assert_null(ct);
	}
}

static void check_config_kind(const json_t *c, const struct expect_config *e)
{
	check_opt(c, "device_class", e->device_class);
	check_opt(c, "state_class", e->state_class);
	check_opt(c, "unit_of_measurement", e->unit);
	if (strcmp(e->component, "light") == 0) {
		assert_int_equal(
		    json_integer_value(json_object_get(c, "brightness_scale")),
		    99);
		assert_string_equal(jstr(c, "on_command_type"), "brightness");
		assert_string_equal(jstr(c, "payload_off"), "0");
		assert_string_equal(jstr(c, "brightness_command_topic"),
				    jstr(c, "command_topic"));
		assert_string_equal(jstr(c, "brightness_state_topic"),
				    jstr(c, "state_topic"));
		assert_non_null(jstr(c, "state_value_template"));
	} else if (strcmp(e->component, "button") != 0) {
		assert_non_null(jstr(c, "value_template"));
	}
	if (strcmp(e->component, "select") == 0) {
		json_t *want = json_pack("[s,s,s]", "idle", "armed", "alarm");

		assert_true(json_equal(json_object_get(c, "options"), want));
		json_decref(want);
	}
	if (strcmp(e->path, "thermostat_setpoint/0/heating") == 0) {
		assert_true(json_real_value(json_object_get(c, "min")) == 5);
		assert_true(json_real_value(json_object_get(c, "max")) == 25);
		assert_true(json_real_value(json_object_get(c, "step")) == 0.1);
	}
	if (strcmp(e->component, "switch") == 0) {
		assert_string_equal(jstr(c, "payload_on"), "true");
		assert_string_equal(jstr(c, "payload_off"), "false");
	}
	if (strcmp(e->component, "lock") == 0) {
		assert_string_equal(jstr(c, "payload_lock"), "true");
		assert_string_equal(jstr(c, "payload_unlock"), "false");
	}
}

static const struct msg *config_of(struct fx *f, const struct expect_config *e)
{
	char uid[DISCOVERY_UID_MAX], topic[512];

	snprintf(uid, sizeof(uid), "zwgate_" GW "_%u_%s", e->node, e->path);
	for (char *p = uid; *p; p++)
		if (*p == '/')
			*p = '_';
	snprintf(topic, sizeof(topic), "homeassistant/%s/%s/config",
		 e->component, uid);
	return fx_find(f, topic);
}

static void check_all_configs(struct fx *f)
{
	const size_t n = sizeof(expected_configs) / sizeof(expected_configs[0]);

	assert_int_equal(n, NVALUES);
	assert_int_equal(fx_count_prefix(f, "homeassistant/"), NVALUES);
	for (size_t i = 0; i < n; i++) {
		const struct expect_config *e = &expected_configs[i];
		const struct msg *m = config_of(f, e);
		json_t *c;

		if (!m)
			fail_msg("no %s config for node %u %s", e->component,
				 e->node, e->path);
		assert_int_equal(fx_count(f, m->topic), 1);
		c = msg_json(m);
		check_config_common(f, m, c, e);
		check_config_kind(c, e);
		json_decref(c);
	}
}

static void test_discovery(void **state)
{
	struct fx *f = *state;

	fx_clear(f);
	bridge_connected(f->b);
	assert_int_equal(f->n, NVALUES);
	check_all_configs(f);
	assert_no_text(f, "outside");

	/* Home Assistant restarted: everything again. */
	fx_clear(f);
	fx_sends(f, "homeassistant/status", "offline");
	assert_int_equal(f->n, 0);
	fx_sends(f, "homeassistant/status", "online");
	assert_int_equal(f->n, NVALUES);
	check_all_configs(f);
}

/* Several brokers: the states again at a connect, the same ones. */
static void test_republish(void **state)
{
	struct fx *f = *state;
	char *before, *after;

	assert_int_equal(f->n, 22); /* at start: 7 statuses, 15 states */
	before = fx_dump(f);
	fx_clear(f);
	bridge_republish(f->b);
	assert_int_equal(f->n, 22);
	after = fx_dump(f);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

static size_t configs(const struct fx *f)
{
	return fx_count_prefix(f, "homeassistant/");
}

static bool configs_resent(void *arg)
{
	return configs(arg) > NVALUES;
}

/*
 * Anyone on the broker may publish "online" on homeassistant/status, as
 * often as they like: one round of configs, then at most one more at the
 * end of the window, however many came in it.
 */
static void test_birth_coalesced(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	fx_clear(f);
	/* As in the daemon, where a message comes just after the loop's
	 * poll: the window starts at the first "online", not at the loop's
	 * last look at the clock. */
	t0 = uv_hrtime();
	uv_update_time(&f->loop);
	for (int i = 0; i < 50; i++)
		fx_sends(f, "homeassistant/status", "online");
	assert_int_equal(configs(f), NVALUES);
	/* The end of the window, and not before it: one more round, for
	 * the "online"s in it (the loop's clock may lag a few ms). */
	tu_run_until(&f->loop, configs_resent, f, WAIT_MS);
	assert_int_equal(configs(f), 2 * NVALUES);
	assert_true((uv_hrtime() - t0) / 1000000u >= BIRTH_MS - 10);
	/* That round opened a window too; nothing came in it. */
	tu_run_for(&f->loop, BIRTH_MS + BIRTH_MS / 2);
	assert_int_equal(configs(f), 2 * NVALUES);
	/* A quiet while later, Home Assistant restarts: at once. */
	fx_sends(f, "homeassistant/status", "online");
	assert_int_equal(configs(f), 3 * NVALUES);
	/* One "online" in the window gives one round at its end. */
	fx_sends(f, "homeassistant/status", "online");
	assert_int_equal(configs(f), 3 * NVALUES);
	tu_run_for(&f->loop, BIRTH_MS + BIRTH_MS / 2);
	assert_int_equal(configs(f), 4 * NVALUES);
	/* A retained "online" comes with every connect, which sends the
	 * configs itself: it is no restart of Home Assistant. */
	tu_run_for(&f->loop, BIRTH_MS + BIRTH_MS / 2);
	bridge_message(f->b, "homeassistant/status", "online", 6, true);
	assert_int_equal(configs(f), 4 * NVALUES);
}

/*
 * Two gateways with one gateway id under different topic prefixes on one
 * broker: their entities and config topics must not collide.
 */
static void test_unique_id_prefix(void **state)
{
	struct fx *f = *state;
	struct bridge_opts o = { .prefix = "site-b/" GW,
				 .discovery = true,
				 .discovery_prefix = "homeassistant" };
	struct bridge_out out = { .publish = rec_publish, .ctx = f };
	static const char ours[] =
	    "homeassistant/lock/zwgate_" GW "_6_door_lock_0_locked/config";
	/* P with '/' as '_', then FNV-1a of P, worked out apart (Python:
	 * h = 2166136261; h = ((h ^ c) * 16777619) % 2**32 per byte). */
#define SITE_B "site-b_" GW "_9ea44a43"
	static const char theirs[] =
	    "homeassistant/lock/" SITE_B "_6_door_lock_0_locked/config";
	struct bridge *b2 = NULL;
	const json_t *dev;
	json_t *c;

	assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b2), 0);
	fx_clear(f);
	bridge_connected(f->b);
	bridge_connected(b2);
	assert_int_equal(configs(f), 2 * NVALUES);
	assert_int_equal(fx_count(f, ours), 1);
	if (fx_count(f, theirs) != 1)
		fail_msg("no config on %s", theirs);
	c = msg_json(fx_find(f, theirs));
	assert_string_equal(jstr(c, "unique_id"),
			    SITE_B "_6_door_lock_0_locked");
	assert_string_equal(jstr(c, "command_topic"),
			    "site-b/" GW "/node/6/door_lock/0/locked/set");
	dev = json_object_get(c, "device");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(dev, "identifiers"), 0)),
			    SITE_B "_6");
	assert_string_equal(jstr(dev, "via_device"), SITE_B);
	json_decref(c);
	c = msg_json(fx_find(f, ours));
	assert_string_equal(jstr(c, "unique_id"),
			    "zwgate_" GW "_6_door_lock_0_locked");
	json_decref(c);
	bridge_stop(b2);
}

/*
 * '/' becomes '_' in ids, and both the prefix and the gateway id may
 * hold '_': P that differ only there must still give different ids.
 * The default prefix keeps the ids of earlier versions.
 */
static void test_id_prefixes_distinct(void **state)
{
	static const char *const ps[] = { "zwgate/a_x", "zwgate/a/x",
					  "zwgate_a/x", "site/a/b",
					  "site/a_b",	"site_a/b" };
	char ids[6][DISCOVERY_UID_MAX];

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		struct discovery_names dn = { .prefix = ps[i],
					      .discovery_prefix = "ha" };

		assert_int_equal(
		    discovery_id_prefix(&dn, ids[i], sizeof(ids[i])), 0);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0)
				fail_msg("%s and %s both give %s", ps[i], ps[j],
					 ids[i]);
	}
	assert_string_equal(ids[0], "zwgate_a_x_");
}

static void check_empty(struct fx *f, const char *topic)
{
	const struct msg *m = fx_find(f, topic);

	if (!m)
		fail_msg("nothing on %s", topic);
	assert_int_equal(m->kind, OUTBOX_STATE);
	assert_int_equal(m->len, 0);
}

static void test_node_removed(void **state)
{
	struct fx *f = *state;

	fx_clear(f);
	fx_inject(f, "{\"op\":\"remove\",\"node\":4}");
	check_empty(f, P "/node/4/status");
	check_empty(f, P "/node/4/sensor_binary/0/motion");
	check_empty(f, P "/node/4/battery/0/level");
	check_empty(f, "homeassistant/binary_sensor/zwgate_" GW
		       "_4_sensor_binary_0_motion/config");
	check_empty(f, "homeassistant/sensor/zwgate_" GW
		       "_4_battery_0_level/config");
	assert_int_equal(f->n, 5);

	/* Back again: status, states and configs. */
	fx_clear(f);
	fx_inject(f, "{\"op\":\"add\",\"node\":{\"id\":4,\"name\":\"hall "
		     "sensor\",\"device\":\"motion-sensor\"}}");
	assert_string_equal(fx_find(f, P "/node/4/status")->payload, "alive");
	check_state(f, 4, "sensor_binary/0/motion", "false");
	assert_non_null(config_of(f, &expected_configs[2]));
	assert_non_null(config_of(f, &expected_configs[3]));
}

static void test_value_removed(void **state)
{
	struct fx *f = *state;
	struct registry_value *v = fx_value(f, 7, "configuration/0/melody");
	struct value_meta meta = v->meta;
	struct zw_event ev = { .type = ZW_EV_VALUE_REMOVED, .node = 7 };

	ev.u.value.meta = &meta;
	fx_clear(f);
	assert_int_equal(registry_apply(f->reg, &ev, wall_ms()), 0);
	check_empty(f, P "/node/7/configuration/0/melody");
	check_empty(f, "homeassistant/text/zwgate_" GW
		       "_7_configuration_0_melody/config");
	assert_int_equal(f->n, 2);
}

static void test_rename(void **state)
{
	struct fx *f = *state;
	const struct msg *m;
	json_t *c;

	fx_clear(f);
	fx_sends_wait(f, "rename",
		      "{\"id\":1,\"node\":3,\"name\":\"reading lamp\"}");
	assert_non_null(fx_find(f, P "/api/rename"));
	/* The dimmer's one config, and nothing else. */
	assert_int_equal(fx_count_prefix(f, "homeassistant/"), 1);
	assert_int_equal(f->n, 2);
	m = config_of(f, &expected_configs[1]);
	assert_non_null(m);
	c = msg_json(m);
	assert_string_equal(jstr(json_object_get(c, "device"), "name"),
			    "reading lamp");
	json_decref(c);

	/* The same name again changes nothing. */
	fx_clear(f);
	fx_sends_wait(f, "rename",
		      "{\"id\":2,\"node\":3,\"name\":\"reading lamp\"}");
	assert_int_equal(f->n, 1);

	set_roundtrip(
	    f, P "/node/reading lamp/switch_multilevel/0/currentValue/set",
	    "10", 2, P "/node/3/switch_multilevel/0/currentValue", "10");
}

static void test_privacy(void **state)
{
	struct fx *f = *state;
	json_t *j;

	bridge_connected(f->b);
	j = api_reply(f, "nodes", "{}");
	json_decref(j);
	assert_no_text(f, "outside");
	j = api_reply(f, "node", "{\"node\":2}");
	json_decref(j);
	assert_no_text(f, "outside");
	j = api_reply(f, "status", "{}");
	json_decref(j);
	assert_no_text(f, f->dir);
	assert_no_text(f, f->sim_path);
	assert_no_text(f, "basic.json");
}

/* A value of node 9, made by hand, for the mapping alone. */
static struct registry_value hand_value(struct registry_node *n, uint8_t cc,
					const char *property,
					enum value_type type, const char *unit,
					bool readable, bool writable)
{
	struct registry_value v = { .node = n };

	v.meta.key.node = n->id;
	v.meta.key.cc = cc;
	snprintf(v.meta.key.property, sizeof(v.meta.key.property), "%s",
		 property);
	v.meta.type = type;
	snprintf(v.meta.unit, sizeof(v.meta.unit), "%s", unit);
	v.meta.min = 1;
	v.meta.max = 0;
	v.meta.readable = readable;
	v.meta.writable = writable;
	return v;
}

static json_t *hand_config(const struct registry_value *v,
			   const char *component)
{
	const struct discovery_names dn = { P, "homeassistant" };
	char topic[512], want[512], uid[DISCOVERY_UID_MAX];
	json_t *c = discovery_config(&dn, v);

	assert_non_null(c);
	assert_string_equal(discovery_component(v), component);
	assert_int_equal(discovery_unique_id(&dn, v, uid, sizeof(uid)), 0);
	assert_int_equal(discovery_topic(&dn, v, topic, sizeof(topic)), 0);
	snprintf(want, sizeof(want), "homeassistant/%s/%s/config", component,
		 uid);
	assert_string_equal(topic, want);
	return c;
}

static void test_discovery_mapping(void **state)
{
	const struct discovery_names dn = { P, "homeassistant" };
	struct registry_node n = { .id = 9 };
	struct registry_value v;
	char buf[512];
	json_t *c;

	v = hand_value(&n, 0x31, "illuminance", VALUE_FLOAT, "lux", 1, 0);
	c = hand_config(&v, "sensor");
	check_opt(c, "device_class", "illuminance");
	check_opt(c, "unit_of_measurement", "lx");
	assert_string_equal(jstr(json_object_get(c, "device"), "name"),
			    "Node 9");
	assert_null(
	    json_object_get(json_object_get(c, "device"), "manufacturer"));
	json_decref(c);

	/* A unit Home Assistant would refuse for the class: no class. */
	v = hand_value(&n, 0x31, "temperature", VALUE_FLOAT, "degrees", 1, 0);
	c = hand_config(&v, "sensor");
	check_opt(c, "device_class", NULL);
	check_opt(c, "state_class", "measurement");
	check_opt(c, "unit_of_measurement", "degrees");
	json_decref(c);

	/* A setting is no measurement. */
	v = hand_value(&n, 0x70, "threshold", VALUE_INT, "", 1, 0);
	c = hand_config(&v, "sensor");
	check_opt(c, "state_class", NULL);
	check_opt(c, "unit_of_measurement", NULL);
	json_decref(c);

	v = hand_value(&n, 0x25, "currentValue", VALUE_BOOL, "", 1, 0);
	c = hand_config(&v, "binary_sensor");
	check_opt(c, "device_class", NULL);
	assert_null(json_object_get(c, "command_topic"));
	json_decref(c);

	v = hand_value(&n, 0x30, "water", VALUE_BOOL, "", 1, 0);
	c = hand_config(&v, "binary_sensor");
	check_opt(c, "device_class", "moisture");
	json_decref(c);

	/* Write-only: a command and no state. */
	v = hand_value(&n, 0x70, "level", VALUE_FLOAT, "", 0, 1);
	c = hand_config(&v, "number");
	assert_null(json_object_get(c, "state_topic"));
	assert_non_null(json_object_get(c, "command_topic"));
	check_opt(c, "mode", "box");
	json_decref(c);

	/* A dimmer with a 0..255 range. */
	v = hand_value(&n, 0x26, "currentValue", VALUE_INT, "", 1, 1);
	v.meta.min = 0;
	v.meta.max = 255;
	c = hand_config(&v, "light");
	assert_int_equal(
	    json_integer_value(json_object_get(c, "brightness_scale")), 255);
	json_decref(c);

	/* A class without a name keeps its number, in topics and ids. */
	v = hand_value(&n, 0x99, "x", VALUE_INT, "", 1, 0);
	assert_int_equal(discovery_unique_id(&dn, &v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "zwgate_" GW "_9_cc_0x99_0_x");
	c = hand_config(&v, "sensor");
	assert_string_equal(jstr(c, "state_topic"), P "/node/9/cc_0x99/0/x");
	json_decref(c);

	/* A Long Range node: its id, 256 to 4000, in ids and topics. */
	{
		struct registry_node lr = { .id = 4000 };
		const json_t *dev;

		v = hand_value(&lr, 0x25, "currentValue", VALUE_BOOL, "", 1, 1);
		assert_int_equal(discovery_unique_id(&dn, &v, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, "zwgate_" GW
					 "_4000_switch_binary_0_currentValue");
		c = hand_config(&v, "switch");
		assert_string_equal(jstr(c, "state_topic"), P
				    "/node/4000/switch_binary/0/currentValue");
		assert_string_equal(
		    jstr(c, "command_topic"),
		    P "/node/4000/switch_binary/0/currentValue/set");
		dev = json_object_get(c, "device");
		assert_string_equal(
		    json_string_value(
			json_array_get(json_object_get(dev, "identifiers"), 0)),
		    "zwgate_" GW "_4000");
		assert_string_equal(jstr(dev, "name"), "Node 4000");
		check_availability(c, 4000);
		json_decref(c);
	}

	/* Neither readable nor writable: no entity. */
	v = hand_value(&n, 0x70, "x", VALUE_INT, "", 0, 0);
	assert_null(discovery_component(&v));
	assert_null(discovery_config(&dn, &v));
	assert_int_equal(discovery_topic(&dn, &v, buf, sizeof(buf)), -ENOENT);
	/* Too small a buffer says so. */
	v.meta.readable = true;
	assert_int_equal(discovery_topic(&dn, &v, buf, 16), -ENAMETOOLONG);
	(void)state;
}

/* Discovery off: no configs, no birth topic. */
static void test_plain(void **state)
{
	struct fx *f = *state;
	const char *const *subs = bridge_subscriptions(f->b);

	assert_string_equal(subs[0], P "/node/+/+/+/+/set");
	assert_string_equal(subs[1], P "/api/+/set");
	assert_null(subs[2]);
	fx_clear(f);
	bridge_connected(f->b);
	fx_sends(f, "homeassistant/status", "online");
	fx_inject(f, "{\"op\":\"remove\",\"node\":4}");
	assert_int_equal(fx_count_prefix(f, "homeassistant/"), 0);
	assert_int_equal(f->n, 3);
}

static void test_subscriptions(void **state)
{
	struct fx *f = *state;
	const char *const *subs = bridge_subscriptions(f->b);

	assert_string_equal(subs[0], P "/node/+/+/+/+/set");
	assert_string_equal(subs[1], P "/api/+/set");
	assert_string_equal(subs[2], "homeassistant/status");
	assert_null(subs[3]);
}

static void test_bad_opts(void **state)
{
	static const char *const bad[] = { "",
					   "a/+/b",
					   "a/",
					   "#",
					   "a/#",
					   "a\x01"
					   "b",
					   "\xff" };
	struct fx *f = *state;
	struct bridge_out out = { .publish = rec_publish, .ctx = f };
	struct bridge_opts o = { .discovery_prefix = "homeassistant" };
	struct bridge *b = NULL;
	char longp[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.prefix = bad[i];
		assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b),
				 -EINVAL);
	}
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	o.prefix = longp;
	assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b), -EINVAL);
	o.prefix = P;
	o.discovery = true;
	o.discovery_prefix = "";
	assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b), -EINVAL);
	o.discovery_prefix = NULL;
	assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b), -EINVAL);
	out.publish = NULL;
	o.discovery = false;
	assert_int_equal(bridge_start(fx_deps(f), &o, &out, &b), -EINVAL);
	assert_null(b);
}

/* A full outbox is logged, not fatal; later messages still go out. */
static void test_publish_failure(void **state)
{
	struct fx *f = *state;

	fx_clear(f);
	f->fail = -ENOSPC;
	fx_inject(f, "{\"op\":\"emit\",\"node\":7,\"value\":\"humidity\","
		     "\"data\":60}");
	bridge_connected(f->b);
	assert_int_equal(f->n, 0);
	f->fail = 0;
	fx_inject(f, "{\"op\":\"emit\",\"node\":7,\"value\":\"humidity\","
		     "\"data\":61}");
	check_state(f, 7, "sensor_multilevel/0/humidity", "61.0");
}

int main(void)
{
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup_discovery, teardown)
#define TP(fn) cmocka_unit_test_setup_teardown(fn, setup_plain, teardown)
	const struct CMUnitTest tests[] = {
		T(test_initial_publish),
		T(test_republish),
		T(test_value_change),
		T(test_set_roundtrip),
		T(test_button_and_events),
		T(test_status_changes),
		T(test_bad_sets),
		T(test_refusal_log),
		T(test_retained_commands),
		T(test_api),
		T(test_api_set_waits),
		T(test_api_refused),
		T(test_api_pending_limit),
		T(test_stop_with_pending),
		T(test_stop_with_pending_cancel),
		T(test_discovery),
		T(test_birth_coalesced),
		T(test_unique_id_prefix),
		T(test_node_removed),
		T(test_value_removed),
		T(test_rename),
		T(test_privacy),
		cmocka_unit_test(test_discovery_mapping),
		cmocka_unit_test(test_id_prefixes_distinct),
		T(test_subscriptions),
		TP(test_plain),
		T(test_bad_opts),
		T(test_publish_failure),
	};

	/* Notices of refused commands are expected: keep the output short. */
	log_set_level(LOG_NOTICE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
