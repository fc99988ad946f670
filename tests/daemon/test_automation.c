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

#define WAIT_MS	  2000
#define SETTLE_MS 60 /* several report delays of basic.json (10 ms) */

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
		.state_dir = f->dir,
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

/* A disabled rule stays disabled in <state-dir>/rules.json. */
static void test_enable_saved(void **state)
{
	struct fx *f = *state;

	assert_int_equal(automation_enable(f->a, "up", false), 0);
	assert_int_equal(automation_enable(f->a, "nope", false), -ENOENT);
	automation_stop(f->a);
	assert_int_equal(fx_start(f), 0);
	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 0);
	assert_int_equal(automation_enable(f->a, "up", true), 0);
	automation_cloud(f->a, false);
	automation_cloud(f->a, true);
	assert_int_equal(f->npublished, 2);
	assert_string_equal(f->published[1], "alerts/up=yes");
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
	tu_run_for(&f->loop, SETTLE_MS);
	assert_true(v->val.u.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_cloud_state),
		T(test_no_poll),
		T(test_enable_saved),
		T(test_scene),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
