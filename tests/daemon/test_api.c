/* SPDX-License-Identifier: MIT */
/*
 * test_api.c: the API on its own deps, without a daemon: the sim backend
 * (tests/sim/basic.json) on a libuv loop feeding a registry, and an API
 * whose getters and reload callback are this test's.  Replies are
 * recorded as they come.
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

#include "api.h"
#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

#define GW	  "test-gw"
#define WAIT_MS	  2000
#define SETTLE_MS 60 /* several report delays of basic.json (10 ms) */
#define NNODES	  7

struct fx {
	uv_loop_t loop;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct api *api;
	char dir[64];
	char conf_path[128];
	char names_path[128];
	char sim_path[PATH_MAX];
	bool queried;
	json_t *replies; /* every reply, in order */
	unsigned reloads;
	int reload_result; /* what the reload callback returns */
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

static const struct conf *fx_conf(void *ctx)
{
	return ((struct fx *)ctx)->conf;
}

static struct zw *fx_zw(void *ctx)
{
	return ((struct fx *)ctx)->zw;
}

/* A reload that fails says why in diags, as conf_load would. */
static int fx_reload(void *ctx, struct diag_list *diags)
{
	struct fx *f = ctx;

	f->reloads++;
	if (f->reload_result < 0)
		diag_add(diags, f->conf_path, 3, 1, false, "%s",
			 "no such key 'frobnicate'");
	else
		diag_add(diags, f->conf_path, 4, 1, true, "%s", "a warning");
	return f->reload_result;
}

static void on_reply(void *ctx, const json_t *reply)
{
	struct fx *f = ctx;

	assert_int_equal(
	    json_array_append_new(f->replies, json_deep_copy(reply)), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag_list diags;
	char text[PATH_MAX + 128], path[PATH_MAX + 64];
	struct api_deps deps;

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "api"), 0);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/zwgate.conf", f->dir);
	snprintf(f->names_path, sizeof(f->names_path), "%s/names.json", f->dir);
	snprintf(path, sizeof(path), "%s/tests/sim/basic.json", tu_srcdir());
	assert_non_null(realpath(path, f->sim_path));
	snprintf(text, sizeof(text),
		 "gateway-id \"%s\"\nzwave {\n backend sim\n"
		 " sim-network \"%s\"\n}\n",
		 GW, f->sim_path);
	diag_init(&diags);
	assert_int_equal(conf_load_buffer(f->conf_path, text, strlen(text),
					  &conf_rules_load_opts, &diags,
					  &f->conf),
			 0);
	diag_clear(&diags);
	f->reg = registry_new();
	assert_non_null(f->reg);
	deps = (struct api_deps){
		.loop = &f->loop,
		.reg = f->reg,
		.config_path = f->conf_path,
		.names_path = f->names_path,
		.ctx = f,
		.conf = fx_conf,
		.zw = fx_zw,
		.reload = fx_reload,
	};
	assert_int_equal(api_new(&deps, &f->api), 0);
	struct zw_opts zo = { .state_dir = f->dir,
			      .sim_network = f->conf->zwave.sim_network };
	assert_int_equal(zw_sim_ops.open(&f->loop, &zo, on_zw, f, &f->zw), 0);
	tu_run_until(&f->loop, is_queried, f, WAIT_MS);
	assert_true(f->queried);
	assert_int_equal(registry_node_count(f->reg), NNODES);
	f->replies = json_array();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	api_shutdown(f->api);
	zw_close(f->zw);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	api_free(f->api);
	registry_free(f->reg);
	conf_free(f->conf);
	json_decref(f->replies);
	r = tu_rm_rf(f->dir);
	free(f);
	return r;
}

/* Send a request (JSON text); the number of replies it got at once. */
static size_t req(struct fx *f, const char *text)
{
	json_t *req = json_loads(text, 0, NULL);
	size_t before = json_array_size(f->replies);

	assert_non_null(req);
	api_request(f->api, req, on_reply, f);
	json_decref(req);
	return json_array_size(f->replies) - before;
}

static const json_t *last(struct fx *f)
{
	size_t n = json_array_size(f->replies);

	assert_true(n > 0);
	return json_array_get(f->replies, n - 1);
}

static const char *code_of(const json_t *reply)
{
	return json_string_value(json_object_get(reply, "code"));
}

static void test_status(void **state)
{
	struct fx *f = *state;
	const json_t *res;

	assert_int_equal(req(f, "{\"id\":1,\"cmd\":\"status\"}"), 1);
	assert_true(json_is_true(json_object_get(last(f), "ok")));
	assert_int_equal(json_integer_value(json_object_get(last(f), "id")), 1);
	res = json_object_get(last(f), "result");
	assert_string_equal(
	    json_string_value(json_object_get(res, "gateway_id")), GW);
	assert_string_equal(json_string_value(json_object_get(res, "backend")),
			    "sim");
	assert_int_equal(json_integer_value(json_object_get(res, "nodes")),
			 NNODES);
	assert_string_equal(json_string_value(json_object_get(res, "config")),
			    f->conf_path);
	/* No cloud getter: no cloud block in the status. */
	assert_null(json_object_get(res, "cloud"));
}

static void test_errors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(req(f, "{\"id\":1}"), 1);
	assert_string_equal(code_of(last(f)), "EINVAL");
	assert_int_equal(req(f, "{\"id\":2,\"cmd\":\"frobnicate\"}"), 1);
	assert_string_equal(code_of(last(f)), "EINVAL");
	assert_int_equal(req(f, "{\"id\":3,\"cmd\":\"get\",\"node\":99,"
				"\"value\":\"switch\"}"),
			 1);
	assert_string_equal(code_of(last(f)), "ENOENT");
	/* No cloud: the trust commands have nothing to work on. */
	assert_int_equal(req(f, "{\"id\":4,\"cmd\":\"trust-status\"}"), 1);
	assert_string_equal(code_of(last(f)), "ENOTSUP");
	/* No rules engine: no rules, and none to run. */
	assert_int_equal(req(f, "{\"id\":5,\"cmd\":\"rules\"}"), 1);
	assert_int_equal(json_array_size(json_object_get(last(f), "result")),
			 0);
	assert_int_equal(
	    req(f, "{\"id\":6,\"cmd\":\"rules-run\",\"name\":\"x\"}"), 1);
	assert_string_equal(code_of(last(f)), "ENOENT");
}

/* A "set" waits on the API's own list until the device reports. */
static void test_set_waits(void **state)
{
	struct fx *f = *state;
	const json_t *res;

	assert_int_equal(req(f, "{\"id\":7,\"cmd\":\"set\",\"node\":2,"
				"\"value\":\"switch\",\"data\":true}"),
			 0);
	assert_int_equal(api_pending(f->api), 1);
	tu_run_for(&f->loop, SETTLE_MS);
	assert_int_equal(api_pending(f->api), 0);
	assert_int_equal(json_array_size(f->replies), 1);
	res = json_object_get(last(f), "result");
	assert_true(json_is_true(json_object_get(res, "confirmed")));
	assert_true(json_is_true(json_object_get(res, "value")));
}

/* Shut down, the API answers what waits and refuses what comes. */
static void test_shutdown_cancels(void **state)
{
	struct fx *f = *state;

	assert_int_equal(req(f, "{\"id\":8,\"cmd\":\"set\",\"node\":5,"
				"\"value\":\"switch\",\"data\":true}"),
			 0);
	assert_int_equal(api_pending(f->api), 1);
	api_shutdown(f->api);
	assert_int_equal(api_pending(f->api), 0);
	assert_int_equal(json_array_size(f->replies), 1);
	assert_string_equal(code_of(last(f)), "ECANCELED");
	assert_int_equal(req(f, "{\"id\":9,\"cmd\":\"status\"}"), 1);
	assert_string_equal(code_of(last(f)), "ECANCELED");
}

/* "reload" is the daemon's: the API calls it and reports its diags. */
static void test_reload(void **state)
{
	struct fx *f = *state;
	const json_t *r;

	f->reload_result = -EINVAL;
	assert_int_equal(req(f, "{\"id\":1,\"cmd\":\"reload\"}"), 1);
	assert_int_equal(f->reloads, 1);
	r = last(f);
	assert_string_equal(code_of(r), "EINVAL");
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
			       f->conf_path));
	assert_int_equal(json_array_size(json_object_get(r, "details")), 1);

	f->reload_result = 0;
	assert_int_equal(req(f, "{\"id\":2,\"cmd\":\"reload\"}"), 1);
	assert_int_equal(f->reloads, 2);
	r = json_object_get(last(f), "result");
	assert_true(json_is_true(json_object_get(r, "reloaded")));
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), 1);
}

/* "rename" saves the names where the deps say. */
static void test_rename_saves(void **state)
{
	struct fx *f = *state;
	json_t *saved;
	char *text;

	assert_int_equal(req(f, "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				"\"name\":\"reading lamp\"}"),
			 1);
	assert_true(json_is_true(json_object_get(last(f), "ok")));
	saved = json_load_file(f->names_path, 0, NULL);
	assert_non_null(saved);
	text = json_dumps(saved, JSON_COMPACT);
	assert_non_null(text);
	assert_non_null(strstr(text, "reading lamp"));
	free(text);
	json_decref(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_status),		  T(test_errors), T(test_set_waits),
		T(test_shutdown_cancels), T(test_reload), T(test_rename_saves),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
