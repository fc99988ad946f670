/* SPDX-License-Identifier: MIT */
/*
 * test_automation.c: the rules engine on a libuv loop, on its own deps,
 * without a daemon: the sim backend (tests/sim/basic.json) feeding a
 * registry, a publish function that records what the rules publish, and
 * the cloud link's state told through automation_cloud.
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

#include <cmocka.h>

#include "automation.h"
#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

#define WAIT_MS	  10000 /* for what must come: generous, for qemu */
#define SETTLE_MS 60	/* several report delays of basic.json (10 ms) */

#define RULES                                                             \
	"rule \"up\" { when cloud goes online; do publish \"alerts/up\" " \
	"\"yes\" }\n"                                                     \
	"rule \"down\" { when cloud goes offline; do publish "            \
	"\"alerts/down\" \"no\" }\n"                                      \
	"scene \"porch on\" { set \"porch\" switch on }\n"

struct fx {
	uv_loop_t loop;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct automation *a;
	bool queried;
	char dir[64];
	char conf_path[128];
	char sim_path[PATH_MAX];
	char published[8][64]; /* "topic=payload" */
	size_t npublished;
	const char *state_dir; /* NULL: dir */
	int saved[8];	       /* automation_enable's results, in order */
	size_t nsaved;
};

static void on_zw(void *ctx, const struct zw_event *ev)
{
	struct fx *f = ctx;

	registry_apply(f->reg, ev, 1000);
	if (ev->type == ZW_EV_ALL_QUERIED)
		f->queried = true;
}

/* tu_run_until's predicate: the backend has queried every node. */
static bool is_queried(void *arg)
{
	return ((struct fx *)arg)->queried;
}

static struct zw *fx_zw(void *ctx)
{
	return ((struct fx *)ctx)->zw;
}

static int fx_publish(void *ctx, const char *topic, const char *payload)
{
	struct fx *f = ctx;

	assert_true(f->npublished < 8);
	snprintf(f->published[f->npublished++], sizeof(f->published[0]),
		 "%s=%s", topic, payload);
	return 0;
}

static int fx_start(struct fx *f)
{
	struct automation_deps deps = {
		.loop = &f->loop,
		.reg = f->reg,
		.state_dir = f->state_dir ? f->state_dir : f->dir,
		.ctx = f,
		.zw = fx_zw,
		.publish = fx_publish,
	};

	return automation_start(&deps, f->conf, &f->a);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag_list diags;
	char text[PATH_MAX + 512], path[PATH_MAX + 64];

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "automation"), 0);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/zwgate.conf", f->dir);
	snprintf(path, sizeof(path), "%s/tests/sim/basic.json", tu_srcdir());
	assert_non_null(realpath(path, f->sim_path));
	snprintf(text, sizeof(text),
		 "gateway-id \"gw\"\nzwave {\n backend sim\n"
		 " sim-network \"%s\"\n}\n" RULES,
		 f->sim_path);
	diag_init(&diags);
	assert_int_equal(conf_load_buffer(f->conf_path, text, strlen(text),
					  &conf_rules_load_opts, &diags,
					  &f->conf),
			 0);
	diag_clear(&diags);
	f->reg = registry_new();
	assert_non_null(f->reg);
	struct zw_opts zo = { .state_dir = f->dir,
			      .sim_network = f->conf->zwave.sim_network };
	assert_int_equal(zw_sim_ops.open(&f->loop, &zo, on_zw, f, &f->zw), 0);
	tu_run_until(&f->loop, is_queried, f, WAIT_MS);
	assert_true(f->queried);
	assert_int_equal(fx_start(f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	automation_stop(f->a);
	zw_close(f->zw);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	registry_free(f->reg);
	conf_free(f->conf);
	r = tu_rm_rf(f->dir);
	free(f);
	return r;
}

/*
 * The cloud's state reaches the rules when it is told, at once: no loop
 * turn, no poll.  Only a change fires a rule.
 */
static void test_cloud_state(void **state)
{
	struct fx *f = *state;

	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 1);
	assert_string_equal(f->published[0], "alerts/up=yes");
	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 1);
	automation_cloud(f->a, false);
	assert_int_equal(f->npublished, 2);
	assert_string_equal(f->published[1], "alerts/down=no");
	automation_cloud(NULL, true); /* no engine: nothing, no crash */
}

/* Nothing is polled: a loop that runs tells the rules nothing. */
static void test_no_poll(void **state)
{
	struct fx *f = *state;

	tu_run_for(&f->loop, AUTOMATION_POLL_MS + 500);
	assert_int_equal(f->npublished, 0);
}

static void on_saved(void *ctx, int result)
{
	struct fx *f = ctx;

	assert_true(f->nsaved < 8);
	f->saved[f->nsaved++] = result;
}

/* tu_run_until's predicate: every change asked for is answered. */
static size_t want_saved;
static bool all_saved(void *arg)
{
	return ((struct fx *)arg)->nsaved >= want_saved;
}

static void enable(struct fx *f, const char *name, bool on)
{
	assert_int_equal(automation_enable(f->a, name, on, on_saved, f), 0);
}

static void wait_saved(struct fx *f, size_t n)
{
	want_saved = n;
	assert_true(tu_run_until(&f->loop, all_saved, f, WAIT_MS));
}

/* The rule's "enabled" as automation_rule_json says. */
static bool enabled(struct fx *f, const char *name)
{
	json_t *j = automation_rule_json(f->a, name);
	bool on;

	assert_non_null(j);
	on = json_is_true(json_object_get(j, "enabled"));
	json_decref(j);
	return on;
}

/* The rules state file's text ("" when there is none). */
static char *state_text(struct fx *f)
{
	char path[128];
	char *text;

	snprintf(path, sizeof(path), "%s/" AUTOMATION_STATE_FILE, f->dir);
	text = tu_read_all(path, NULL);
	return text ? text : strdup("");
}

/* A disabled rule stays disabled in <state-dir>/rules.json. */
static void test_enable_saved(void **state)
{
	struct fx *f = *state;

	enable(f, "up", false);
	assert_int_equal(automation_enable(f->a, "nope", false, on_saved, f),
			 -ENOENT);
	wait_saved(f, 1);
	automation_stop(f->a);
	assert_int_equal(fx_start(f), 0);
	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 0);
	enable(f, "up", true);
	automation_cloud(f->a, false);
	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 2);
	assert_string_equal(f->published[1], "alerts/up=yes");
	wait_saved(f, 2);
	assert_int_equal(f->saved[0], 0);
	assert_int_equal(f->saved[1], 0);
}

/* The answer comes once the file holds the change, not before. */
static void test_enable_answered_when_saved(void **state)
{
	struct fx *f = *state;
	char *text;

	enable(f, "up", false);
	assert_int_equal(f->nsaved, 0); /* the write is in the pool */
	wait_saved(f, 1);
	assert_int_equal(f->saved[0], 0);
	text = state_text(f);
	assert_non_null(strstr(text, "\"up\""));
	free(text);
}

/* Changes in a row are each answered; the file has the last. */
static void test_enable_in_a_row(void **state)
{
	struct fx *f = *state;
	char *text;

	enable(f, "up", false);
	enable(f, "down", false);
	enable(f, "up", true);
	wait_saved(f, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(f->saved[i], 0);
	tu_run_for(&f->loop, SETTLE_MS); /* no stray write after them */
	assert_int_equal(f->nsaved, 3);
	text = state_text(f);
	assert_null(strstr(text, "\"up\""));
	assert_non_null(strstr(text, "\"down\""));
	free(text);
	assert_true(enabled(f, "up"));
	assert_false(enabled(f, "down"));
}

/* Restart the automation on a state directory that is not there. */
static void start_without_dir(struct fx *f, char *path, size_t len)
{
	automation_stop(f->a);
	snprintf(path, len, "%s/missing", f->dir);
	f->state_dir = path;
	assert_int_equal(fx_start(f), 0);
}

/* Unsaved, a change is undone and answered with the error. */
static void test_enable_fails(void **state)
{
	struct fx *f = *state;
	char path[128];

	start_without_dir(f, path, sizeof(path));
	enable(f, "up", false);
	assert_false(enabled(f, "up"));
	wait_saved(f, 1);
	assert_int_equal(f->saved[0], -ENOENT);
	assert_true(enabled(f, "up"));
}

/*
 * Failing writes in a row: each change is answered with the error, and
 * the rules end as they began, whichever write held which change.
 */
static void test_enable_fails_in_a_row(void **state)
{
	struct fx *f = *state;
	char path[128];

	start_without_dir(f, path, sizeof(path));
	enable(f, "up", false);
	enable(f, "down", false);
	enable(f, "up", true);
	enable(f, "up", false);
	wait_saved(f, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(f->saved[i], -ENOENT);
	tu_run_for(&f->loop, SETTLE_MS);
	assert_true(enabled(f, "up"));
	assert_true(enabled(f, "down"));
}

/* Stopped, the automation answers what waits: cancelled. */
static void test_enable_stop(void **state)
{
	struct fx *f = *state;

	enable(f, "up", false);
	enable(f, "down", false); /* waits for the first write */
	automation_stop(f->a);
	f->a = NULL;
	assert_int_equal(f->nsaved, 2);
	assert_int_equal(f->saved[0], -ECANCELED);
	assert_int_equal(f->saved[1], -ECANCELED);
}

static bool is_on(void *arg)
{
	const struct registry_value *v = arg;

	return v->has_val && v->val.u.b;
}

/* A scene sets values through the backend the deps give. */
static void test_scene(void **state)
{
	struct fx *f = *state;
	struct registry_node *n;
	struct registry_value *v;

	assert_int_equal(registry_find_node(f->reg, "porch", &n), 0);
	assert_int_equal(registry_find_value(n, "switch", &v), 0);
	assert_true(v->has_val);
	assert_false(v->val.u.b);
	assert_int_equal(automation_scene(f->a, "nope"), -ENOENT);
	assert_int_equal(automation_scene(f->a, "porch on"), 0);
	assert_true(tu_run_until(&f->loop, is_on, v, WAIT_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_cloud_state),
		T(test_no_poll),
		T(test_enable_saved),
		T(test_enable_answered_when_saved),
		T(test_enable_in_a_row),
		T(test_enable_fails),
		T(test_enable_fails_in_a_row),
		T(test_enable_stop),
		T(test_scene),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
