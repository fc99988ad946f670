/* SPDX-License-Identifier: MIT */
/*
 * test_zw_sim.c: the backend table and the simulated network, on a real
 * libuv loop.  Networks come from $top_srcdir/etc and tests/sim, or are
 * written into a temporary directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "zw.h"

#define REC_TEXT 128
#define LOG_MAX	 4096

struct rec_ev {
	enum zw_event_type type;
	uint16_t node;
	enum zw_node_status status;
	char text[REC_TEXT];  /* message, value path, kind, node name */
	char data[REC_TEXT];  /* value as JSON or "none", product, text */
	char extra[REC_TEXT]; /* manufacturer */
	uint8_t cc, endpoint;
	int64_t code;
	uint64_t at; /* loop time */
};

struct fx {
	uv_loop_t loop;
	struct zw *z;
	struct rec_ev *ev;
	size_t n, cap;
	void (*hook)(struct fx *f, const struct zw_event *ev);
	char dir[256];
	char path[512];
	int saved_stderr;
};

static void copy_text(char *dst, const char *src)
{
	snprintf(dst, REC_TEXT, "%s", src ? src : "");
}

static void rec_value(struct rec_ev *r, const struct zw_event *ev)
{
	const struct value_meta *m = ev->u.value.meta;
	json_t *j;
	char *s;

	assert_int_equal(m->key.node, ev->node);
	/* Items are allocated for enums only, and never empty there. */
	if (m->type == VALUE_ENUM)
		assert_true(m->items && m->nitems > 0 &&
			    m->nitems <= ZW_ENUM_MAX);
	else
		assert_true(!m->items && m->nitems == 0);
	value_key_path(&m->key, r->text, sizeof(r->text));
	if (!ev->u.value.val) {
		copy_text(r->data, "none");
		return;
	}
	j = value_to_json(ev->u.value.val, m);
	assert_non_null(j);
	s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	assert_non_null(s);
	copy_text(r->data, s);
	free(s);
	json_decref(j);
}

static void on_event(void *ctx, const struct zw_event *ev)
{
	struct fx *f = ctx;
	struct rec_ev *r;

	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->ev = realloc(f->ev, f->cap * sizeof(*f->ev));
		assert_non_null(f->ev);
	}
	r = &f->ev[f->n++];
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->node = ev->node;
	r->at = uv_now(&f->loop);
	switch (ev->type) {
	case ZW_EV_READY:
	case ZW_EV_FAILED:
	case ZW_EV_CONTROLLER:
		copy_text(r->text, ev->u.message);
		break;
	case ZW_EV_NODE_ADDED:
		copy_text(r->text, ev->u.node.name);
		copy_text(r->data, ev->u.node.product);
		copy_text(r->extra, ev->u.node.manufacturer);
		r->status = ev->u.node.status;
		break;
	case ZW_EV_NODE_STATUS:
		r->status = ev->u.status;
		break;
	case ZW_EV_VALUE_ADDED:
	case ZW_EV_VALUE_CHANGED:
	case ZW_EV_VALUE_REMOVED:
		rec_value(r, ev);
		break;
	case ZW_EV_NOTIFICATION:
		r->cc = ev->u.notification.cc;
		r->endpoint = ev->u.notification.endpoint;
		r->code = ev->u.notification.code;
		copy_text(r->text, ev->u.notification.kind);
		copy_text(r->data, ev->u.notification.text);
		break;
	case ZW_EV_NODE_REMOVED:
	case ZW_EV_ALL_QUERIED:
		break;
	}
	if (f->hook)
		f->hook(f, ev);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->saved_stderr = -1;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "zw_sim"), 0);
}

/*
 * Close the backend, let its handles close, and demand an empty loop.
 * rmdir, not tu_rm_rf: the directory must be empty by now, as the sim
 * backend writes nothing into its state directory and each test removes
 * the files it wrote there.
 */
static void fx_done(struct fx *f)
{
	zw_close(f->z);
	f->z = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f->ev);
	assert_int_equal(rmdir(f->dir), 0);
}

static int fx_open(struct fx *f, const char *path)
{
	struct zw_opts o = { .state_dir = f->dir, .sim_network = path };

	return zw_sim_ops.open(&f->loop, &o, on_event, f, &f->z);
}

static int fx_open_src(struct fx *f, const char *rel)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", tu_srcdir(), rel);
	return fx_open(f, f->path);
}

/* Open a network given as text (written to a file and removed again). */
static int fx_open_text(struct fx *f, const char *json)
{
	int r;

	snprintf(f->path, sizeof(f->path), "%s/net.json", f->dir);
	assert_int_equal(tu_write_file(f->path, json, 0644), 0);
	r = fx_open(f, f->path);
	assert_int_equal(unlink(f->path), 0);
	return r;
}

static void stop_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Run the loop for about ms milliseconds. */
static void spin(struct fx *f, unsigned ms)
{
	uv_timer_t t;

	assert_int_equal(uv_timer_init(&f->loop, &t), 0);
	assert_int_equal(uv_timer_start(&t, stop_cb, ms, 0), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* Open a file of tests/sim and let its startup events pass. */
static void fx_start(struct fx *f, const char *rel)
{
	assert_int_equal(fx_open_src(f, rel), 0);
	spin(f, 1);
	assert_true(f->n > 0);
	assert_int_equal(f->ev[f->n - 1].type, ZW_EV_ALL_QUERIED);
	f->n = 0;
}

/* The fixture of the tests that start from basic.json. */
static int setup_basic(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_init(f);
	fx_start(f, "tests/sim/basic.json");
	*state = f;
	return 0;
}

static int teardown_fx(void **state)
{
	struct fx *f = *state;

	fx_done(f);
	free(f);
	return 0;
}

static size_t count(const struct fx *f, enum zw_event_type type)
{
	size_t c = 0;

	for (size_t i = 0; i < f->n; i++)
		c += f->ev[i].type == type;
	return c;
}

static void capture_begin(struct fx *f)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/stderr", f->dir);
	fflush(stderr);
	f->saved_stderr = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && f->saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static void capture_end(struct fx *f, char *buf, size_t len)
{
	char path[300];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "%s/stderr", f->dir);
	fflush(stderr);
	assert_true(dup2(f->saved_stderr, STDERR_FILENO) >= 0);
	close(f->saved_stderr);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	k = read(fd, buf, len - 1);
	assert_true(k >= 0);
	buf[k] = '\0';
	close(fd);
	assert_int_equal(unlink(path), 0);
}

static struct value_key key_of(uint16_t node, const char *cc, unsigned ep,
			       const char *prop)
{
	struct value_key k;
	int c = cc_from_name(cc);

	assert_true(c >= 0);
	memset(&k, 0, sizeof(k));
	k.node = node;
	k.cc = (uint8_t)c;
	k.endpoint = (uint8_t)ep;
	snprintf(k.property, sizeof(k.property), "%s", prop);
	return k;
}

static struct value bool_val(bool b)
{
	struct value v = { .type = VALUE_BOOL };

	v.u.b = b;
	return v;
}

static struct value int_val(int64_t i)
{
	struct value v = { .type = VALUE_INT };

	v.u.i = i;
	return v;
}

/* Inject a request written as JSON; *res (may be NULL) gets the result. */
static int inject(struct fx *f, const char *req, json_t **res, char *err,
		  size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loads(req, 0, &jerr), *out = NULL;
	int r;

	if (!j)
		fail_msg("bad test JSON %s: %s", req, jerr.text);
	err[0] = '\0';
	r = zw_inject(f->z, j, &out, err, errlen);
	json_decref(j);
	if (r == 0)
		assert_non_null(out);
	if (res)
		*res = out;
	else
		json_decref(out);
	if (r < 0)
		assert_true(err[0] != '\0');
	return r;
}

static void check_value(const struct rec_ev *r, enum zw_event_type type,
			unsigned node, const char *path, const char *data)
{
	assert_int_equal(r->type, type);
	assert_int_equal(r->node, node);
	assert_string_equal(r->text, path);
	assert_string_equal(r->data, data);
}

static void test_backend_table(void **state)
{
	const char *const *names = zw_backend_names();
	bool sim = false;
	size_t i, want = 1;

	assert_ptr_equal(zw_backend("sim"), &zw_sim_ops);
	assert_null(zw_backend("simulator"));
	assert_null(zw_backend(""));
	assert_null(zw_backend(NULL));
	for (i = 0; names[i]; i++) {
		assert_non_null(zw_backend(names[i]));
		assert_string_equal(zw_backend(names[i])->name, names[i]);
		sim |= strcmp(names[i], "sim") == 0;
	}
	assert_true(sim);
#ifdef HAVE_OPENZWAVE
	want++;
	assert_ptr_equal(zw_backend("openzwave"), &zw_ozw_ops);
#else
	assert_null(zw_backend("openzwave"));
#endif
#ifdef HAVE_ZWAVEJS
	want++;
	assert_ptr_equal(zw_backend("zwavejs"), &zw_zjs_ops);
#else
	assert_null(zw_backend("zwavejs"));
#endif
	assert_int_equal(i, want);
	assert_string_equal(zw_node_status_name(ZW_NODE_UNKNOWN), "unknown");
	assert_string_equal(zw_node_status_name(ZW_NODE_ALIVE), "alive");
	assert_string_equal(zw_node_status_name(ZW_NODE_ASLEEP), "asleep");
	assert_string_equal(zw_node_status_name(ZW_NODE_DEAD), "dead");
	assert_string_equal(zw_node_status_name((enum zw_node_status)42),
			    "unknown");
}

/* The demo network: every node, in id order, each value, then READY. */
static void test_startup_demo(void **state)
{
	static const struct {
		unsigned id, nvalues;
		const char *name, *product;
	} want[] = {
		{ 2, 1, "porch", "Binary Switch" },
		{ 3, 1, "lounge lamp", "Dimmer" },
		{ 4, 2, "hall sensor", "Motion Sensor" },
		{ 5, 1, "hall light", "Dimmer" },
		{ 6, 4, "freezer", "Multisensor" },
		{ 7, 4, "garden sensor", "Multisensor" },
		{ 8, 3, "washer plug", "Metering Plug" },
		{ 9, 2, "front door", "Door Sensor" },
		{ 10, 1, "front door lock", "Door Lock" },
		{ 11, 2, "bedroom", "Thermostat" },
		{ 12, 3, "doorbell", "Chime" },
	};
	struct fx f;
	size_t i = 0;

	fx_init(&f);
	assert_int_equal(fx_open_src(&f, "etc/sim-network.json"), 0);
	assert_string_equal(zw_name(f.z), "sim");
	/* Nothing from inside open: the caller may not be ready. */
	assert_int_equal(f.n, 0);
	spin(&f, 1);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		assert_true(i < f.n);
		assert_int_equal(f.ev[i].type, ZW_EV_NODE_ADDED);
		assert_int_equal(f.ev[i].node, want[k].id);
		assert_string_equal(f.ev[i].text, want[k].name);
		assert_string_equal(f.ev[i].data, want[k].product);
		assert_string_equal(f.ev[i].extra,
				    want[k].id == 12 ? "Acme" : "zwgate sim");
		i++;
		for (unsigned v = 0; v < want[k].nvalues; v++, i++) {
			assert_int_equal(f.ev[i].type, ZW_EV_VALUE_ADDED);
			assert_int_equal(f.ev[i].node, want[k].id);
		}
		assert_int_equal(f.ev[i].type, ZW_EV_NODE_STATUS);
		assert_int_equal(f.ev[i].status, ZW_NODE_ALIVE);
		i++;
	}
	assert_int_equal(f.ev[i].type, ZW_EV_READY);
	assert_string_equal(f.ev[i].text, "Simulated controller");
	assert_int_equal(f.ev[i + 1].type, ZW_EV_ALL_QUERIED);
	assert_int_equal(f.n, i + 2);
	assert_int_equal(count(&f, ZW_EV_VALUE_ADDED), 24);
	/* Template values with the file's overrides, in template order. */
	check_value(&f.ev[1], ZW_EV_VALUE_ADDED, 2,
		    "switch_binary/0/currentValue", "false");
	for (i = 0; f.ev[i].node != 6; i++)
		;
	check_value(&f.ev[i + 1], ZW_EV_VALUE_ADDED, 6,
		    "sensor_multilevel/0/temperature", "-18.5");
	check_value(&f.ev[i + 2], ZW_EV_VALUE_ADDED, 6,
		    "sensor_multilevel/0/humidity", "35.0");
	check_value(&f.ev[i + 4], ZW_EV_VALUE_ADDED, 6, "battery/0/level",
		    "100");
	for (i = 0; f.ev[i].node != 12; i++)
		;
	check_value(&f.ev[i + 2], ZW_EV_VALUE_ADDED, 12, "basic/0/ring",
		    "none");
	/* Same file, same events: the network is deterministic. */
	{
		struct fx g;

		fx_init(&g);
		assert_int_equal(fx_open_src(&g, "etc/sim-network.json"), 0);
		spin(&g, 1);
		assert_int_equal(g.n, f.n);
		for (i = 0; i < f.n; i++) {
			assert_int_equal(g.ev[i].type, f.ev[i].type);
			assert_string_equal(g.ev[i].text, f.ev[i].text);
			assert_string_equal(g.ev[i].data, f.ev[i].data);
		}
		fx_done(&g);
	}
	fx_done(&f);
}

/* basic.json lists node 5 first and node 6 dead: order is by id. */
static void test_startup_order(void **state)
{
	unsigned last = 0;
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_src(&f, "tests/sim/basic.json"), 0);
	spin(&f, 1);
	assert_int_equal(count(&f, ZW_EV_NODE_ADDED), 7);
	for (size_t i = 0; i < f.n; i++) {
		if (f.ev[i].type != ZW_EV_NODE_ADDED)
			continue;
		assert_true(f.ev[i].node > last);
		last = f.ev[i].node;
		if (f.ev[i].node == 6)
			assert_int_equal(f.ev[i].status, ZW_NODE_DEAD);
	}
	for (size_t i = 0; i < f.n; i++)
		if (f.ev[i].type == ZW_EV_NODE_STATUS)
			assert_int_equal(f.ev[i].status, f.ev[i].node == 6
							     ? ZW_NODE_DEAD
							     : ZW_NODE_ALIVE);
	assert_string_equal(f.ev[f.n - 2].text, "Test controller");
	fx_done(&f);
}

static void test_set_delay(void **state)
{
	struct fx *f = *state;
	struct value_key sw = key_of(2, "switch_binary", 0, "currentValue");
	struct value_key lvl =
	    key_of(3, "switch_multilevel", 0, "currentValue");
	struct value v = bool_val(true);
	uint64_t t0;

	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	assert_int_equal(zw_set_value(f->z, &sw, &v), 0);
	assert_int_equal(f->n, 0);
	spin(f, 200);
	assert_int_equal(f->n, 1);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 2,
		    "switch_binary/0/currentValue", "true");
	/* report-delay-ms is 10: not before, and not much after. */
	assert_true(f->ev[0].at >= t0 + 10);
	assert_true(f->ev[0].at < t0 + 200);

	/* Several writes arrive in the order they were made. */
	f->n = 0;
	for (int i = 1; i <= 3; i++) {
		struct value l = int_val(10 * i);

		assert_int_equal(zw_set_value(f->z, &lvl, &l), 0);
	}
	v = bool_val(false);
	assert_int_equal(zw_set_value(f->z, &sw, &v), 0);
	assert_int_equal(f->n, 0);
	spin(f, 100);
	assert_int_equal(f->n, 4);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 3,
		    "switch_multilevel/0/currentValue", "10");
	check_value(&f->ev[1], ZW_EV_VALUE_CHANGED, 3,
		    "switch_multilevel/0/currentValue", "20");
	check_value(&f->ev[2], ZW_EV_VALUE_CHANGED, 3,
		    "switch_multilevel/0/currentValue", "30");
	check_value(&f->ev[3], ZW_EV_VALUE_CHANGED, 2,
		    "switch_binary/0/currentValue", "false");
}

/* A STRING write is copied: the caller's buffer is its own again. */
static void test_set_string_copied(void **state)
{
	struct fx *f = *state;
	struct value_key k = key_of(7, "configuration", 0, "melody");
	struct value v = { .type = VALUE_STRING };
	char buf[32] = "big ben";

	v.u.s = buf;
	assert_int_equal(zw_set_value(f->z, &k, &v), 0);
	strcpy(buf, "XXXXXXX");
	spin(f, 100);
	assert_int_equal(f->n, 1);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 7, "configuration/0/melody",
		    "\"big ben\"");
}

static void test_set_errors(void **state)
{
	struct fx *f = *state;
	static const struct value v = { .type = VALUE_BOOL, .u.b = true };
	static const struct value i50 = { .type = VALUE_INT, .u.i = 50 };
	static const struct value i100 = { .type = VALUE_INT, .u.i = 100 };
	static const struct value im1 = { .type = VALUE_INT, .u.i = -1 };
	static const struct value e3 = { .type = VALUE_INT, .u.i = 3 };
	static const struct value e3enum = { .type = VALUE_ENUM, .u.i = 3 };
	/* basic.json lowers the max to 25 */
	static const struct value f255 = { .type = VALUE_FLOAT, .u.f = 25.5 };
	static const struct value f25 = { .type = VALUE_FLOAT, .u.f = 25 };
	static const struct value e2 = { .type = VALUE_ENUM, .u.i = 2 };
	static const struct {
		unsigned node;
		const char *cc;
		unsigned ep;
		const char *property;
		const struct value *val;
		int code;
	} cases[] = {
		{ 99, "switch_binary", 0, "currentValue", &v, -ENOENT },
		{ 0, "switch_binary", 0, "currentValue", &v, -ENOENT },
		{ 2, "switch_binary", 1, "currentValue", &v, -ENOENT },
		{ 2, "switch_binary", 0, "targetValue", &v, -ENOENT },
		{ 4, "sensor_binary", 0, "motion", &v, -EACCES },
		{ 4, "battery", 0, "level", &i50, -EACCES },
		{ 6, "door_lock", 0, "locked", &v, -EHOSTDOWN },
		{ 2, "switch_binary", 0, "currentValue", &i50, -EINVAL },
		{ 2, "switch_binary", 0, "currentValue", NULL, -EINVAL },
		{ 3, "switch_multilevel", 0, "currentValue", &i100, -EINVAL },
		{ 3, "switch_multilevel", 0, "currentValue", &im1, -EINVAL },
		{ 7, "notification", 0, "mode", &e3, -EINVAL },
		{ 7, "notification", 0, "mode", &e3enum, -EINVAL },
		{ 8, "thermostat_setpoint", 0, "heating", &f255, -EINVAL },
		{ 8, "thermostat_setpoint", 0, "heating", &f25, 0 },
		{ 7, "notification", 0, "mode", &e2, 0 },
	};
	struct value_key k;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		k = key_of((uint8_t)cases[i].node, cases[i].cc, cases[i].ep,
			   cases[i].property);
		r = zw_set_value(f->z, &k, cases[i].val);
		if (r != cases[i].code)
			fail_msg("case %zu: node %u %s/%u/%s: got %d, want %d",
				 i, cases[i].node, cases[i].cc, cases[i].ep,
				 cases[i].property, r, cases[i].code);
	}
	assert_int_equal(zw_include(f->z, false, 30), -ENOTSUP);
	assert_int_equal(zw_exclude(f->z, 30), -ENOTSUP);
	assert_int_equal(zw_cancel(f->z), -ENOTSUP);
	assert_int_equal(f->n, 0);
	spin(f, 100);
	assert_int_equal(f->n, 2);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 8,
		    "thermostat_setpoint/0/heating", "25.0");
	check_value(&f->ev[1], ZW_EV_VALUE_CHANGED, 7, "notification/0/mode",
		    "\"alarm\"");
}

/* The queue is bounded; closing with reports pending frees them. */
static void test_queue_bound_and_close(void **state)
{
	struct value_key k = key_of(7, "configuration", 0, "melody");
	struct value v = { .type = VALUE_STRING };
	char buf[32];
	struct fx f;
	int i;

	fx_init(&f);
	fx_start(&f, "tests/sim/basic.json");
	v.u.s = buf;
	for (i = 0; i < 1024; i++) {
		snprintf(buf, sizeof(buf), "tune %d", i);
		assert_int_equal(zw_set_value(f.z, &k, &v), 0);
	}
	assert_int_equal(zw_set_value(f.z, &k, &v), -EBUSY);
	assert_int_equal(zw_refresh(f.z, 2), -EBUSY);
	assert_int_equal(zw_heal(f.z), -EBUSY);
	assert_int_equal(f.n, 0);
	fx_done(&f);
	assert_int_equal(f.n, 0);
}

static void test_button_and_plug(void **state)
{
	struct fx *f = *state;
	struct value_key ring = key_of(7, "basic", 0, "ring");
	struct value_key plug = key_of(5, "switch_binary", 0, "currentValue");
	struct value_key porch = key_of(2, "switch_binary", 0, "currentValue");
	struct value press = { .type = VALUE_BUTTON };
	struct value off = bool_val(false), on = bool_val(true);
	char err[256];

	assert_int_equal(zw_set_value(f->z, &ring, &press), 0);
	spin(f, 100);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->ev[0].type, ZW_EV_NOTIFICATION);
	assert_int_equal(f->ev[0].node, 7);
	assert_string_equal(f->ev[0].text, "button");
	assert_string_equal(f->ev[0].data, "ring");
	assert_int_equal(f->ev[0].cc, cc_from_name("basic"));

	/* The plug draws 150 W; switched off, it reports 0 W as well. */
	f->n = 0;
	assert_int_equal(inject(f,
				"{\"op\":\"emit\",\"node\":5,\"value\":"
				"\"power\",\"data\":150}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(zw_set_value(f->z, &plug, &on), 0);
	spin(f, 100);
	assert_int_equal(f->n, 2);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 5, "meter/0/power",
		    "150.0");
	check_value(&f->ev[1], ZW_EV_VALUE_CHANGED, 5,
		    "switch_binary/0/currentValue", "true");
	f->n = 0;
	assert_int_equal(zw_set_value(f->z, &plug, &off), 0);
	assert_int_equal(zw_set_value(f->z, &porch, &off), 0);
	spin(f, 100);
	assert_int_equal(f->n, 3);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 5,
		    "switch_binary/0/currentValue", "false");
	check_value(&f->ev[1], ZW_EV_VALUE_CHANGED, 5, "meter/0/power", "0.0");
	check_value(&f->ev[2], ZW_EV_VALUE_CHANGED, 2,
		    "switch_binary/0/currentValue", "false");
}

static void test_refresh_and_heal(void **state)
{
	struct fx *f = *state;

	assert_int_equal(zw_refresh(f->z, 4), 0);
	assert_int_equal(zw_refresh(f->z, 7), 0);
	assert_int_equal(zw_heal(f->z), 0);
	assert_int_equal(zw_refresh(f->z, 6), -EHOSTDOWN);
	assert_int_equal(zw_refresh(f->z, 99), -ENOENT);
	assert_int_equal(zw_refresh(f->z, 0), -ENOENT);
	assert_int_equal(zw_refresh(f->z, 233), -ENOENT);
	assert_int_equal(zw_refresh(f->z, 256), -ENOENT);
	assert_int_equal(f->n, 0);
	spin(f, 100);
	/* Readable values that have one: not the button, not unset ones. */
	assert_int_equal(f->n, 2 + 5 + 1);
	check_value(&f->ev[0], ZW_EV_VALUE_CHANGED, 4, "sensor_binary/0/motion",
		    "false");
	check_value(&f->ev[1], ZW_EV_VALUE_CHANGED, 4, "battery/0/level",
		    "100");
	check_value(&f->ev[2], ZW_EV_VALUE_CHANGED, 7,
		    "switch_binary/1/currentValue", "false");
	check_value(&f->ev[3], ZW_EV_VALUE_CHANGED, 7,
		    "switch_binary/2/currentValue", "true");
	check_value(&f->ev[4], ZW_EV_VALUE_CHANGED, 7,
		    "sensor_multilevel/0/humidity", "40.5");
	check_value(&f->ev[5], ZW_EV_VALUE_CHANGED, 7, "notification/0/mode",
		    "\"idle\"");
	check_value(&f->ev[6], ZW_EV_VALUE_CHANGED, 7, "configuration/0/melody",
		    "\"westminster\"");
	assert_int_equal(f->ev[7].type, ZW_EV_CONTROLLER);
	assert_string_equal(f->ev[7].text, "heal done");
}

static void test_inject_emit(void **state)
{
	char err[256];
	json_t *res;
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_src(&f, "tests/sim/basic.json"), 0);
	/* Before the network has announced itself, nothing is injected. */
	assert_int_equal(
	    inject(&f, "{\"op\":\"dead\",\"node\":2}", NULL, err, sizeof(err)),
	    -EAGAIN);
	spin(&f, 1);
	f.n = 0;

	/* A read-only sensor, by name (any case) and alias; synchronous. */
	assert_int_equal(inject(&f,
				"{\"op\":\"emit\",\"node\":\"HALL sensor\","
				"\"value\":\"motion\",\"data\":true}",
				&res, err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 1);
	check_value(&f.ev[0], ZW_EV_VALUE_CHANGED, 4, "sensor_binary/0/motion",
		    "true");
	assert_int_equal(json_integer_value(json_object_get(res, "node")), 4);
	assert_string_equal(json_string_value(json_object_get(res, "value")),
			    "sensor_binary/0/motion");
	assert_true(json_is_true(json_object_get(res, "data")));
	json_decref(res);

	/* Full path, node as digits, lenient data; unique property; cc. */
	assert_int_equal(inject(&f,
				"{\"op\":\"emit\",\"node\":\"7\",\"value\":"
				"\"switch_binary/2/currentValue\",\"data\":"
				"\"off\"}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(inject(&f,
				"{\"op\":\"emit\",\"node\":7,\"value\":"
				"\"melody\",\"data\":\"fur elise\"}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(inject(&f,
				"{\"op\":\"emit\",\"node\":7,\"value\":"
				"\"notification\",\"data\":\"armed\"}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(inject(&f,
				"{\"op\":\"emit\",\"node\":7,\"value\":"
				"\"meter/3/power\",\"data\":12.25}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(f.n, 5);
	check_value(&f.ev[1], ZW_EV_VALUE_CHANGED, 7,
		    "switch_binary/2/currentValue", "false");
	check_value(&f.ev[2], ZW_EV_VALUE_CHANGED, 7, "configuration/0/melody",
		    "\"fur elise\"");
	check_value(&f.ev[3], ZW_EV_VALUE_CHANGED, 7, "notification/0/mode",
		    "\"armed\"");
	check_value(&f.ev[4], ZW_EV_VALUE_CHANGED, 7, "meter/3/power", "12.25");

	/* The sim keeps what was emitted: a refresh reports it. */
	f.n = 0;
	assert_int_equal(zw_refresh(f.z, 4), 0);
	spin(&f, 100);
	assert_int_equal(f.n, 2);
	check_value(&f.ev[0], ZW_EV_VALUE_CHANGED, 4, "sensor_binary/0/motion",
		    "true");
	fx_done(&f);
}

static void test_inject_errors(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *req;
		int code;
		const char *msg;
	} cases[] = {
		{ "{}", -EINVAL, "needs an op" },
		{ "{\"op\":7}", -EINVAL, "needs an op" },
		{ "{\"op\":\"explode\",\"node\":2}", -EINVAL, "unknown op" },
		{ "{\"op\":\"emit\",\"value\":\"switch\",\"data\":1}", -EINVAL,
		  "missing node" },
		{ "{\"op\":\"emit\",\"node\":true,\"value\":\"switch\"}",
		  -EINVAL, "number or a name" },
		{ "{\"op\":\"emit\",\"node\":99,\"value\":\"switch\","
		  "\"data\":1}",
		  -ENOENT, "no node 99" },
		{ "{\"op\":\"emit\",\"node\":\"patio\",\"value\":\"switch\","
		  "\"data\":1}",
		  -ENOENT, "no node called 'patio'" },
		{ "{\"op\":\"emit\",\"node\":2,\"value\":\"level\","
		  "\"data\":1}",
		  -ENOENT, "node 2 has no value 'level'" },
		{ "{\"op\":\"emit\",\"node\":2,\"value\":"
		  "\"switch_binary/x/currentValue\",\"data\":1}",
		  -ENOENT, "no value" },
		{ "{\"op\":\"emit\",\"node\":2,\"data\":1}", -EINVAL,
		  "value must be" },
		{ "{\"op\":\"emit\",\"node\":7,\"value\":\"switch\","
		  "\"data\":1}",
		  -ENOTUNIQ, "several values 'switch'" },
		{ "{\"op\":\"emit\",\"node\":7,\"value\":\"configuration\","
		  "\"data\":1}",
		  -ENOTUNIQ, "several" },
		{ "{\"op\":\"emit\",\"node\":2,\"value\":\"switch\"}", -EINVAL,
		  "missing data" },
		{ "{\"op\":\"emit\",\"node\":3,\"value\":\"level\","
		  "\"data\":150}",
		  -EINVAL, "node 3: switch_multilevel/0/currentValue: " },
		{ "{\"op\":\"emit\",\"node\":2,\"value\":\"switch\","
		  "\"data\":[1]}",
		  -EINVAL, "node 2: " },
		{ "{\"op\":\"emit\",\"node\":7,\"value\":\"ring\","
		  "\"data\":1}",
		  -EINVAL, "button" },
		{ "{\"op\":\"emit\",\"node\":6,\"value\":\"lock\","
		  "\"data\":false}",
		  -EHOSTDOWN, "node 6 is dead" },
		{ "{\"op\":\"dead\",\"node\":42}", -ENOENT, "no node 42" },
		{ "{\"op\":\"event\",\"node\":2,\"kind\":\"alarm\","
		  "\"code\":1}",
		  -EINVAL, "kind must be" },
		{ "{\"op\":\"event\",\"node\":2,\"kind\":\"scene\"}", -EINVAL,
		  "missing code" },
		{ "{\"op\":\"event\",\"node\":2,\"kind\":\"scene\","
		  "\"code\":-1}",
		  -EINVAL, "code must be" },
		{ "{\"op\":\"event\",\"node\":2,\"kind\":\"scene\","
		  "\"code\":\"1\"}",
		  -EINVAL, "code must be" },
		{ "{\"op\":\"event\",\"node\":2,\"kind\":\"scene\","
		  "\"code\":1,\"endpoint\":500}",
		  -EINVAL, "endpoint" },
		{ "{\"op\":\"event\",\"node\":6,\"kind\":\"scene\","
		  "\"code\":1}",
		  -EHOSTDOWN, "dead" },
		{ "{\"op\":\"event\",\"node\":88,\"kind\":\"scene\","
		  "\"code\":1}",
		  -ENOENT, "no node 88" },
		{ "{\"op\":\"add\"}", -EINVAL, "node: not an object" },
		{ "{\"op\":\"add\",\"node\":{\"name\":\"x\"}}", -EINVAL,
		  "needs an id" },
		{ "{\"op\":\"add\",\"node\":{\"id\":20,\"device\":\"lamp\"}}",
		  -EINVAL, "node 20: unknown device 'lamp' (known: switch, " },
		{ "{\"op\":\"add\",\"node\":{\"id\":2,\"device\":\"switch\"}}",
		  -EEXIST, "node 2: duplicate id" },
		{ "{\"op\":\"add\",\"node\":{\"id\":21,\"name\":\"PORCH\"}}",
		  -EEXIST, "name 'PORCH' is already used by node 2" },
		{ "{\"op\":\"remove\",\"node\":\"nobody\"}", -ENOENT,
		  "no node called 'nobody'" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = inject(f, cases[i].req, NULL, err, sizeof(err));

		if (r != cases[i].code || !strstr(err, cases[i].msg))
			fail_msg("%s: got %d '%s', want %d '%s'", cases[i].req,
				 r, err, cases[i].code, cases[i].msg);
	}
	assert_int_equal(f->n, 0);
}

static void test_inject_status_event(void **state)
{
	struct fx *f = *state;
	struct value_key sw = key_of(2, "switch_binary", 0, "currentValue");
	struct value on = bool_val(true);
	char err[256];
	json_t *res;

	/* A write accepted before the node died is never answered. */
	assert_int_equal(zw_set_value(f->z, &sw, &on), 0);
	assert_int_equal(inject(f, "{\"op\":\"dead\",\"node\":\"porch\"}", &res,
				err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(json_object_get(res, "status")),
			    "dead");
	json_decref(res);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->ev[0].type, ZW_EV_NODE_STATUS);
	assert_int_equal(f->ev[0].node, 2);
	assert_int_equal(f->ev[0].status, ZW_NODE_DEAD);
	assert_int_equal(zw_set_value(f->z, &sw, &on), -EHOSTDOWN);
	assert_int_equal(zw_refresh(f->z, 2), -EHOSTDOWN);
	spin(f, 100);
	assert_int_equal(f->n, 1);
	assert_int_equal(
	    inject(f, "{\"op\":\"alive\",\"node\":2}", NULL, err, sizeof(err)),
	    0);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->ev[1].status, ZW_NODE_ALIVE);
	assert_int_equal(zw_set_value(f->z, &sw, &on), 0);
	spin(f, 100);
	assert_int_equal(f->n, 3);
	check_value(&f->ev[2], ZW_EV_VALUE_CHANGED, 2,
		    "switch_binary/0/currentValue", "true");

	f->n = 0;
	assert_int_equal(inject(f,
				"{\"op\":\"event\",\"node\":\"porch\","
				"\"kind\":\"scene\",\"code\":3}",
				&res, err, sizeof(err)),
			 0);
	assert_int_equal(json_integer_value(json_object_get(res, "code")), 3);
	json_decref(res);
	assert_int_equal(inject(f,
				"{\"op\":\"event\",\"node\":7,\"kind\":"
				"\"button\",\"code\":1,\"endpoint\":2,"
				"\"text\":\"double\"}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(inject(f,
				"{\"op\":\"event\",\"node\":4,\"kind\":"
				"\"notification\",\"code\":22}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(f->n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(f->ev[i].type, ZW_EV_NOTIFICATION);
	assert_string_equal(f->ev[0].text, "scene");
	assert_int_equal(f->ev[0].cc, cc_from_name("scene_activation"));
	assert_int_equal(f->ev[0].code, 3);
	assert_int_equal(f->ev[0].node, 2);
	assert_string_equal(f->ev[1].text, "button");
	assert_int_equal(f->ev[1].cc, cc_from_name("central_scene"));
	assert_int_equal(f->ev[1].endpoint, 2);
	assert_string_equal(f->ev[1].data, "double");
	assert_string_equal(f->ev[2].text, "notification");
	assert_int_equal(f->ev[2].cc, cc_from_name("notification"));
	assert_int_equal(f->ev[2].code, 22);
}

static void test_inject_add_remove(void **state)
{
	struct fx *f = *state;
	struct value_key sw = key_of(2, "switch_binary", 0, "currentValue");
	struct value on = bool_val(true);
	char err[256];
	json_t *res;

	assert_int_equal(inject(f,
				"{\"op\":\"add\",\"node\":{\"id\":20,"
				"\"name\":\"shed\",\"device\":\"door-sensor\","
				"\"values\":[{\"cc\":\"battery\",\"property\":"
				"\"level\",\"value\":7}]}}",
				&res, err, sizeof(err)),
			 0);
	assert_int_equal(json_integer_value(json_object_get(res, "node")), 20);
	json_decref(res);
	assert_int_equal(f->n, 4);
	assert_int_equal(f->ev[0].type, ZW_EV_NODE_ADDED);
	assert_string_equal(f->ev[0].text, "shed");
	assert_string_equal(f->ev[0].data, "Door Sensor");
	check_value(&f->ev[1], ZW_EV_VALUE_ADDED, 20, "sensor_binary/0/door",
		    "false");
	check_value(&f->ev[2], ZW_EV_VALUE_ADDED, 20, "battery/0/level", "7");
	assert_int_equal(f->ev[3].type, ZW_EV_NODE_STATUS);
	assert_int_equal(f->ev[3].status, ZW_NODE_ALIVE);
	assert_int_equal(inject(f,
				"{\"op\":\"emit\",\"node\":\"shed\",\"value\":"
				"\"door\",\"data\":true}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(inject(f, "{\"op\":\"remove\",\"node\":\"shed\"}",
				NULL, err, sizeof(err)),
			 0);
	assert_int_equal(f->n, 6);
	assert_int_equal(f->ev[5].type, ZW_EV_NODE_REMOVED);
	assert_int_equal(f->ev[5].node, 20);
	assert_int_equal(inject(f, "{\"op\":\"remove\",\"node\":20}", NULL, err,
				sizeof(err)),
			 -ENOENT);
	assert_int_equal(zw_refresh(f->z, 20), -ENOENT);

	/* A write to a node that leaves and comes back is not answered. */
	f->n = 0;
	assert_int_equal(zw_set_value(f->z, &sw, &on), 0);
	assert_int_equal(
	    inject(f, "{\"op\":\"remove\",\"node\":2}", NULL, err, sizeof(err)),
	    0);
	assert_int_equal(zw_set_value(f->z, &sw, &on), -ENOENT);
	assert_int_equal(inject(f,
				"{\"op\":\"add\",\"node\":{\"id\":2,\"name\":"
				"\"porch\",\"device\":\"switch\"}}",
				NULL, err, sizeof(err)),
			 0);
	spin(f, 100);
	assert_int_equal(count(f, ZW_EV_VALUE_CHANGED), 0);
	assert_int_equal(count(f, ZW_EV_NODE_ADDED), 1);
}

static void close_on_first(struct fx *f, const struct zw_event *ev)
{
	zw_close(f->z);
	f->z = NULL;
	f->hook = NULL;
}

static void test_close_in_callback(void **state)
{
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_src(&f, "etc/sim-network.json"), 0);
	f.hook = close_on_first;
	spin(&f, 1);
	assert_int_equal(f.n, 1);
	fx_done(&f);
	assert_int_equal(f.n, 1);
}

static void remove_on_first(struct fx *f, const struct zw_event *ev)
{
	char err[256];

	f->hook = NULL;
	assert_int_equal(
	    inject(f, "{\"op\":\"remove\",\"node\":7}", NULL, err, sizeof(err)),
	    0);
}

/* A node removed while its values are being reported stops at once. */
static void test_remove_in_callback(void **state)
{
	struct fx *f = *state;

	assert_int_equal(zw_refresh(f->z, 7), 0);
	assert_int_equal(zw_refresh(f->z, 4), 0);
	f->hook = remove_on_first;
	spin(f, 100);
	assert_int_equal(f->n, 4);
	assert_int_equal(f->ev[0].type, ZW_EV_VALUE_CHANGED);
	assert_int_equal(f->ev[1].type, ZW_EV_NODE_REMOVED);
	assert_int_equal(f->ev[1].node, 7);
	assert_int_equal(f->ev[2].node, 4);
	assert_int_equal(f->ev[3].node, 4);
}

/* n switches with ids 1..232 then 256.. (Long Range), as JSON. */
static char *many_nodes(unsigned n)
{
	size_t len = 64 + 80 * (size_t)n, off;
	char *s = malloc(len);

	assert_non_null(s);
	off = (size_t)snprintf(s, len, "{\"report-delay-ms\":0,\"nodes\":[");
	for (unsigned i = 1; i <= n; i++)
		off +=
		    (size_t)snprintf(s + off, len - off,
				     "%s{\"id\":%u,\"name\":\"node %u\","
				     "\"device\":\"switch\"}",
				     i > 1 ? "," : "", i > 232 ? i + 23 : i, i);
	snprintf(s + off, len - off, "]}");
	return s;
}

static void test_max_nodes(void **state)
{
	/* Every mesh id and the first Long Range ones. */
	char *json = many_nodes(240), log[LOG_MAX];
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_text(&f, json), 0);
	free(json);
	spin(&f, 1);
	assert_int_equal(count(&f, ZW_EV_NODE_ADDED), 240);
	assert_int_equal(count(&f, ZW_EV_VALUE_ADDED), 240);
	assert_int_equal(count(&f, ZW_EV_READY), 1);
	assert_int_equal(f.ev[0].node, 1);
	assert_int_equal(zw_refresh(f.z, 263), 0);
	assert_int_equal(zw_refresh(f.z, 264), -ENOENT);
	fx_done(&f);

	json = many_nodes(ZW_NODE_MAX + 1);
	fx_init(&f);
	capture_begin(&f);
	assert_int_equal(fx_open_text(&f, json), -EINVAL);
	capture_end(&f, log, sizeof(log));
	free(json);
	assert_null(f.z);
	assert_non_null(strstr(log, "more than 4000 nodes"));
	fx_done(&f);
}

/* Open text (or a file of the tree when rel is set) and expect failure. */
static void expect_bad(const char *json, const char *rel, int code,
		       const char *msg)
{
	char log[LOG_MAX], *nl;
	struct fx f;
	int r;

	fx_init(&f);
	capture_begin(&f);
	r = rel ? fx_open_src(&f, rel) : fx_open_text(&f, json);
	capture_end(&f, log, sizeof(log));
	if (r != code || !strstr(log, msg))
		fail_msg("%s: got %d, log '%s'; want %d '%s'", rel ? rel : json,
			 r, log, code, msg);
	assert_null(f.z);
	/* Logged once, on one line. */
	nl = strchr(log, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	fx_done(&f);
}

static void test_bad_files(void **state)
{
	static const struct {
		const char *rel;
		int code;
		const char *msg;
	} cases[] = {
		{ "tests/sim/bad-device.json", -EINVAL,
		  "bad-device.json: node 3: unknown device 'dimer' (known: "
		  "switch, dimmer, motion-sensor, door-sensor, multisensor, "
		  "meter-plug, lock, thermostat)" },
		{ "tests/sim/bad-dup-id.json", -EINVAL,
		  "node 2: duplicate id" },
		{ "tests/sim/bad-type.json", -EINVAL,
		  "node 9: values[0] (switch_binary/0/currentValue): bad "
		  "type 'boolean'" },
		{ "tests/sim/bad-range.json", -EINVAL,
		  "node 3: values[0] (switch_multilevel/0/currentValue): "
		  "value: " },
		{ "tests/sim/bad-json.json", -EINVAL, "line " },
		{ "tests/sim/no-such-file.json", -ENOENT,
		  "no-such-file.json: " },
		{ "tests/sim", -EINVAL, "not a regular file" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad(NULL, cases[i].rel, cases[i].code, cases[i].msg);
}

/* What the file checks, one rule at a time. */
static void test_bad_texts(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "[]", "not a JSON object" },
		{ "{\"nodez\":[]}", "unknown field 'nodez'" },
		{ "{\"nodes\":[],\"nodes\":[]}", "duplicate" },
		{ "{\"nodes\":{}}", "nodes must be an array" },
		{ "{\"controller\":\"\"}", "controller is empty" },
		{ "{\"controller\":5}", "controller must be a string" },
		{ "{\"report-delay-ms\":60001}", "report-delay-ms must be" },
		{ "{\"report-delay-ms\":1.5}", "report-delay-ms must be" },
		{ "{\"nodes\":[7]}", "nodes[0]: not an object" },
		{ "{\"nodes\":[{\"id\":0}]}", "nodes[0]: needs an id" },
		{ "{\"nodes\":[{\"id\":233}]}",
		  "needs an id 1..232 or 256..4000 (256 and up: Long Range)" },
		{ "{\"nodes\":[{\"id\":4001}]}", "needs an id 1..232 or" },
		{ "{\"nodes\":[{\"id\":\"2\"}]}", "needs an id" },
		{ "{\"nodes\":[{\"id\":2,\"devise\":\"switch\"}]}",
		  "node 2: unknown field 'devise'" },
		{ "{\"nodes\":[{\"id\":2,\"name\":\"a\"},{\"id\":3,"
		  "\"name\":\"A\"}]}",
		  "node 3: name 'A' is already used by node 2" },
		{ "{\"nodes\":[{\"id\":2,\"name\":\"123\"}]}",
		  "is all digits" },
		{ "{\"nodes\":[{\"id\":2,\"name\":\"a/b\"}]}", "'/'" },
		{ "{\"nodes\":[{\"id\":2,\"name\":\"a\\nb\"}]}",
		  "control character" },
		{ "{\"nodes\":[{\"id\":2,\"dead\":1}]}", "dead must be true" },
		{ "{\"nodes\":[{\"id\":2,\"values\":{}}]}",
		  "values must be an array" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"switch_binry\","
		  "\"property\":\"x\",\"type\":\"bool\"}]}]}",
		  "node 2: values[0]: unknown command class 'switch_binry'" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"property\":\"x\"}]}]}",
		  "needs a cc" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\"}]}]}",
		  "needs a property" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"a b\",\"type\":\"int\"}]}]}",
		  "bad property 'a b'" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"endpoint\":128,\"property\":\"x\"}]}]}",
		  "endpoint must be" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\"}]}]}",
		  "values[0] (basic/0/x): needs a type" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\",\"colour\":1}]}]}",
		  "unknown field 'colour'" },
		{ "{\"nodes\":[{\"id\":2,\"device\":\"switch\",\"values\":[{"
		  "\"cc\":\"switch_binary\",\"property\":\"currentValue\","
		  "\"type\":\"int\"}]}]}",
		  "type of a template value is bool, not int" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\"},{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\"}]}]}",
		  "values[1] (basic/0/x): listed twice" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"enum\"}]}]}",
		  "an enum needs items" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"enum\",\"items\":[\"a\","
		  "\"a\"]}]}]}",
		  "item 'a' is listed twice" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\",\"items\":[\"a\"]}]}]}",
		  "items need an enum" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"button\",\"value\":1}]}]}",
		  "a button has no value" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"button\",\"readable\":true}]}"
		  "]}",
		  "a button cannot be readable" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\",\"min\":5}]}]}",
		  "give both min and max" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\",\"min\":5,\"max\":1}]}"
		  "]}",
		  "min 5 is above max 1" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"bool\",\"min\":0,\"max\":1}]}"
		  "]}",
		  "min and max need an int or float" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"float\",\"precision\":7}]}]}",
		  "precision must be" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"string\",\"value\":true}]}]}",
		  "values[0] (basic/0/x): value: " },
		{ "{\"nodes\":[{\"id\":8,\"device\":\"thermostat\",\"values\":"
		  "[{\"cc\":\"thermostat_setpoint\",\"property\":\"heating\","
		  "\"min\":25,\"max\":30}]}]}",
		  "value out of range" },
		{ "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":\"basic\","
		  "\"property\":\"x\",\"type\":\"int\",\"unit\":"
		  "\"0123456789abcdef\"}]}]}",
		  "unit is longer than 15 bytes" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad(cases[i].json, NULL, -EINVAL, cases[i].msg);
}

/* n values of one node, as JSON; dimmer adds one of its own. */
static char *many_values(unsigned n, bool dimmer)
{
	size_t len = 128 + 96 * (size_t)n, off;
	char *s = malloc(len);

	assert_non_null(s);
	off = (size_t)snprintf(s, len, "{\"nodes\":[{\"id\":2,%s\"values\":[",
			       dimmer ? "\"device\":\"dimmer\"," : "");
	for (unsigned i = 0; i < n; i++)
		off +=
		    (size_t)snprintf(s + off, len - off,
				     "%s{\"cc\":\"configuration\","
				     "\"property\":\"p%u\",\"type\":\"int\"}",
				     i ? "," : "", i);
	snprintf(s + off, len - off, "]}]}");
	return s;
}

static void test_value_limit(void **state)
{
	char *json = many_values(256, false);
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_text(&f, json), 0);
	free(json);
	spin(&f, 1);
	assert_int_equal(count(&f, ZW_EV_VALUE_ADDED), 256);
	/* Values without an initial value come with val NULL. */
	assert_string_equal(f.ev[1].data, "none");
	fx_done(&f);

	json = many_values(257, false);
	expect_bad(json, NULL, -EINVAL, "node 2: more than 256 values");
	free(json);
	json = many_values(256, true);
	expect_bad(json, NULL, -EINVAL,
		   "node 2: values[255] (configuration/0/p255): more than 256 "
		   "values");
	free(json);
}

/*
 * An enum of n items of len bytes each ("00xxx", "01xxx"...) as JSON,
 * its value the last item, and what follows after the items.
 */
static char *enum_items(unsigned n, size_t len, const char *after)
{
	size_t cap = 256 + (len + 4) * (size_t)n, off;
	char *s = malloc(cap);

	assert_non_null(s);
	off = (size_t)snprintf(s, cap,
			       "{\"nodes\":[{\"id\":2,\"values\":[{\"cc\":"
			       "\"basic\",\"property\":\"x\",\"type\":"
			       "\"enum\",\"items\":[");
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s\"%02u%.*s\"",
					i ? "," : "", i, (int)(len - 2),
					"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	snprintf(s + off, cap - off, "]%s}]}]}", after);
	return s;
}

/* ZW_ENUM_MAX items of ZW_ENUM_ITEM_MAX - 1 bytes, and not one more. */
static void test_enum_limit(void **state)
{
	char want[ZW_ENUM_ITEM_MAX + 2];
	char *json =
	    enum_items(ZW_ENUM_MAX, ZW_ENUM_ITEM_MAX - 1, ",\"value\":31");
	struct fx f;

	fx_init(&f);
	assert_int_equal(fx_open_text(&f, json), 0);
	free(json);
	spin(&f, 1);
	assert_int_equal(count(&f, ZW_EV_VALUE_ADDED), 1);
	snprintf(want, sizeof(want), "\"31%.*s\"", ZW_ENUM_ITEM_MAX - 3,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	assert_string_equal(f.ev[1].data, want);
	fx_done(&f);

	json = enum_items(ZW_ENUM_MAX + 1, 4, "");
	expect_bad(json, NULL, -EINVAL, "items must be an array of 1 to 32 ");
	free(json);
	json = enum_items(2, ZW_ENUM_ITEM_MAX, "");
	expect_bad(json, NULL, -EINVAL,
		   "items[0] must be a string of 1 to 31 bytes");
	free(json);
	/* Refused after its items were taken: they are freed with it. */
	json = enum_items(3, 4, ",\"value\":\"nope\"");
	expect_bad(json, NULL, -EINVAL, "value: ");
	free(json);
}

/* The size limit is 1 MiB: exactly that loads, one byte more does not. */
static void test_file_size(void **state)
{
	size_t max = 1024 * 1024;
	char *buf = malloc(max + 2);
	struct fx f;

	assert_non_null(buf);
	memset(buf, ' ', max + 1);
	memcpy(buf, "{\"nodes\":[]}", 12);
	fx_init(&f);
	snprintf(f.path, sizeof(f.path), "%s/big.json", f.dir);
	assert_int_equal(tu_write(f.path, buf, max, 0644), 0);
	assert_int_equal(fx_open(&f, f.path), 0);
	spin(&f, 1);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.ev[0].type, ZW_EV_READY);
	zw_close(f.z);
	f.z = NULL;

	assert_int_equal(tu_write(f.path, buf, max + 1, 0644), 0);
	capture_begin(&f);
	assert_int_equal(fx_open(&f, f.path), -EINVAL);
	{
		char log[LOG_MAX];

		capture_end(&f, log, sizeof(log));
		assert_non_null(strstr(log, "larger than 1048576 bytes"));
	}
	assert_null(f.z);
	assert_int_equal(unlink(f.path), 0);
	free(buf);
	fx_done(&f);
}

static void test_no_file_configured(void **state)
{
	char log[LOG_MAX];
	struct fx f;

	fx_init(&f);
	capture_begin(&f);
	assert_int_equal(fx_open(&f, NULL), -EINVAL);
	capture_end(&f, log, sizeof(log));
	assert_non_null(strstr(log, "sim-network"));
	assert_null(f.z);
	fx_done(&f);
}

/* The benchmarks' network: values that take stamps, and one that does not. */
static const char stream_net[] =
    "{\"report-delay-ms\":0,\"nodes\":["
    "{\"id\":2,\"name\":\"src\",\"values\":[{\"cc\":\"sensor_multilevel\","
    "\"property\":\"stamp\",\"type\":\"int\",\"value\":0}]},"
    "{\"id\":3,\"name\":\"dst\",\"values\":[{\"cc\":\"sensor_multilevel\","
    "\"property\":\"stamp\",\"type\":\"int\",\"writable\":true,"
    "\"value\":0}]},"
    "{\"id\":4,\"name\":\"dim\",\"device\":\"dimmer\"}]}";

/* The benchmarks' network, started, its start-up events dropped. */
static void stream_start(struct fx *f)
{
	fx_init(f);
	assert_int_equal(fx_open_text(f, stream_net), 0);
	spin(f, 1);
	f->n = 0;
}

/* The stats of the stream, as "stats" returns them. */
static json_t *stream_stats(struct fx *f)
{
	char err[256];
	json_t *res;

	assert_int_equal(
	    inject(f, "{\"op\":\"stats\"}", &res, err, sizeof(err)), 0);
	return res;
}

static json_int_t stat_int(const json_t *st, const char *key)
{
	const json_t *j = json_object_get(st, key);

	assert_true(json_is_integer(j));
	return json_integer_value(j);
}

/* Run the loop until the stream is over (at most about ms). */
static void stream_wait(struct fx *f, unsigned ms)
{
	json_t *st;
	bool running = true;

	for (unsigned i = 0; i < ms && running; i++) {
		spin(f, 1);
		st = stream_stats(f);
		running = json_is_true(json_object_get(st, "running"));
		json_decref(st);
	}
	assert_false(running);
}

static void test_stream_errors(void **state)
{
	static const struct {
		const char *req;
		int code;
		const char *msg;
	} cases[] = {
		{ "{\"op\":\"stream\",\"node\":\"dim\",\"value\":\"level\","
		  "\"count\":1}",
		  -EINVAL,
		  "node 4: switch_multilevel/0/currentValue cannot take "
		  "stamps" },
		{ "{\"op\":\"stream\",\"node\":2,\"value\":\"stamp\"}", -EINVAL,
		  "missing count" },
		{ "{\"op\":\"stream\",\"node\":2,\"value\":\"stamp\","
		  "\"count\":0}",
		  -EINVAL, "count must be an integer from 1 to 10000000" },
		{ "{\"op\":\"stream\",\"node\":2,\"value\":\"stamp\","
		  "\"count\":10000001}",
		  -EINVAL, "count must be an integer from 1 to 10000000" },
		{ "{\"op\":\"stream\",\"node\":2,\"value\":\"stamp\","
		  "\"count\":5,\"rate\":1000001}",
		  -EINVAL, "rate must be an integer from 0 to 1000000" },
		{ "{\"op\":\"stream\",\"node\":2,\"value\":\"nosuch\","
		  "\"count\":5}",
		  -ENOENT, "node 2 has no value 'nosuch'" },
		{ "{\"op\":\"stream-event\",\"node\":2,\"kind\":\"bell\","
		  "\"count\":5}",
		  -EINVAL, "kind must be scene, button or notification" },
		{ "{\"op\":\"stream\",\"node\":9,\"value\":\"stamp\","
		  "\"count\":5}",
		  -ENOENT, "no node 9" },
	};
	char err[256];
	json_t *st;
	struct fx f;

	stream_start(&f);
	/* Before any stream: nothing sent, no writes counted. */
	st = stream_stats(&f);
	assert_false(json_is_true(json_object_get(st, "running")));
	assert_int_equal(stat_int(st, "sent"), 0);
	assert_null(json_object_get(st, "writes"));
	json_decref(st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    inject(&f, cases[i].req, NULL, err, sizeof(err)),
		    cases[i].code);
		if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("%s: got '%s'", cases[i].req, err);
	}
	/* A dead node streams nothing. */
	assert_int_equal(
	    inject(&f, "{\"op\":\"dead\",\"node\":2}", NULL, err, sizeof(err)),
	    0);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream\",\"node\":2,\"value\":"
				"\"stamp\",\"count\":5}",
				NULL, err, sizeof(err)),
			 -EHOSTDOWN);
	fx_done(&f);
}

/* Flat out: every report a larger stamp, in batches, one at a time. */
static void test_stream_flat_out(void **state)
{
	char err[256];
	int64_t prev = 0;
	json_t *res, *st;
	struct fx f;

	stream_start(&f);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream\",\"node\":\"src\",\"value\":"
				"\"stamp\",\"count\":200,\"rate\":0}",
				&res, err, sizeof(err)),
			 0);
	assert_string_equal(json_string_value(json_object_get(res, "value")),
			    "sensor_multilevel/0/stamp");
	assert_int_equal(stat_int(res, "count"), 200);
	json_decref(res);
	/* Nothing from inside the request; then at most a batch a turn. */
	assert_int_equal(f.n, 0);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream-event\",\"node\":2,\"kind\":"
				"\"scene\",\"count\":1}",
				NULL, err, sizeof(err)),
			 -EBUSY);
	uv_run(&f.loop, UV_RUN_NOWAIT);
	assert_true(f.n > 0 && f.n <= 64);
	stream_wait(&f, 1000);
	assert_int_equal(f.n, 200);
	for (size_t i = 0; i < f.n; i++) {
		int64_t v = strtoll(f.ev[i].data, NULL, 10);

		assert_int_equal(f.ev[i].type, ZW_EV_VALUE_CHANGED);
		assert_int_equal(f.ev[i].node, 2);
		assert_true(v > prev);
		prev = v;
	}
	st = stream_stats(&f);
	assert_int_equal(stat_int(st, "sent"), 200);
	assert_true(stat_int(st, "elapsed_us") > 0);
	assert_int_equal(stat_int(st, "writes"), 0);
	assert_null(json_object_get(st, "stopped"));
	json_decref(st);
	fx_done(&f);
}

/* At a rate: events whose codes are stamps; writes of stamps counted. */
static void test_stream_rate_and_writes(void **state)
{
	struct value_key dst = key_of(3, "sensor_multilevel", 0, "stamp");
	struct value v;
	char err[256];
	json_t *st;
	struct fx f;

	stream_start(&f);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream-event\",\"node\":2,\"kind\":"
				"\"scene\",\"count\":20,\"rate\":1000}",
				NULL, err, sizeof(err)),
			 0);
	stream_wait(&f, 1000);
	assert_int_equal(count(&f, ZW_EV_NOTIFICATION), 20);
	assert_string_equal(f.ev[0].text, "scene");
	assert_true(f.ev[19].code > f.ev[0].code);
	/* 20 at 1000/s: the first at once, the last 19 ms later. */
	st = stream_stats(&f);
	assert_true(stat_int(st, "elapsed_us") >= 18000);
	assert_string_equal(json_string_value(json_object_get(st, "kind")),
			    "scene");
	json_decref(st);
	/* A stamp of this stream written back is timed; other ints not. */
	v = int_val(f.ev[19].code);
	assert_int_equal(zw_set_value(f.z, &dst, &v), 0);
	v = int_val(5);
	assert_int_equal(zw_set_value(f.z, &dst, &v), 0);
	st = stream_stats(&f);
	assert_int_equal(stat_int(st, "writes"), 1);
	assert_true(stat_int(st, "write_p50_us") >= 0);
	assert_true(stat_int(st, "write_max_us") >=
		    stat_int(st, "write_p99_us"));
	json_decref(st);
	fx_done(&f);
}

/* A node removed or gone dead ends the stream; close in the middle. */
static void test_stream_ends(void **state)
{
	char err[256];
	json_t *st;
	struct fx f;

	stream_start(&f);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream\",\"node\":2,\"value\":"
				"\"stamp\",\"count\":1000000,\"rate\":1000}",
				NULL, err, sizeof(err)),
			 0);
	spin(&f, 5);
	assert_int_equal(inject(&f, "{\"op\":\"remove\",\"node\":2}", NULL, err,
				sizeof(err)),
			 0);
	spin(&f, 5);
	st = stream_stats(&f);
	assert_false(json_is_true(json_object_get(st, "running")));
	assert_string_equal(json_string_value(json_object_get(st, "stopped")),
			    "the node was removed");
	json_decref(st);
	assert_int_equal(inject(&f,
				"{\"op\":\"stream\",\"node\":3,\"value\":"
				"\"stamp\",\"count\":1000000,\"rate\":0}",
				NULL, err, sizeof(err)),
			 0);
	spin(&f, 2);
	/* fx_done closes the backend with the stream running. */
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_table),
		cmocka_unit_test(test_startup_demo),
		cmocka_unit_test(test_startup_order),
		cmocka_unit_test_setup_teardown(test_set_delay, setup_basic,
						teardown_fx),
		cmocka_unit_test_setup_teardown(test_set_string_copied,
						setup_basic, teardown_fx),
		cmocka_unit_test_setup_teardown(test_set_errors, setup_basic,
						teardown_fx),
		cmocka_unit_test(test_queue_bound_and_close),
		cmocka_unit_test_setup_teardown(test_button_and_plug,
						setup_basic, teardown_fx),
		cmocka_unit_test_setup_teardown(test_refresh_and_heal,
						setup_basic, teardown_fx),
		cmocka_unit_test(test_inject_emit),
		cmocka_unit_test_setup_teardown(test_inject_errors, setup_basic,
						teardown_fx),
		cmocka_unit_test_setup_teardown(test_inject_status_event,
						setup_basic, teardown_fx),
		cmocka_unit_test_setup_teardown(test_inject_add_remove,
						setup_basic, teardown_fx),
		cmocka_unit_test(test_close_in_callback),
		cmocka_unit_test_setup_teardown(test_remove_in_callback,
						setup_basic, teardown_fx),
		cmocka_unit_test(test_max_nodes),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_texts),
		cmocka_unit_test(test_value_limit),
		cmocka_unit_test(test_enum_limit),
		cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_no_file_configured),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_stream_flat_out),
		cmocka_unit_test(test_stream_rate_and_writes),
		cmocka_unit_test(test_stream_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
