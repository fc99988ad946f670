/* SPDX-License-Identifier: MIT */
/*
 * api_fixture.c: the API on its own deps (api_fixture.h).
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
#include <sys/stat.h>

#include <cmocka.h>

#include "api.h"
#include "api_fixture.h"
#include "automation.h"
#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

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

static struct automation *fx_automation(void *ctx)
{
	return ((struct fx *)ctx)->automation;
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

	if (f->on_reply)
		f->on_reply(f, reply);
	assert_int_equal(
	    json_array_append_new(f->replies, json_deep_copy(reply)), 0);
}

int api_fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag_list diags;
	char text[PATH_MAX + 512], path[PATH_MAX + 64];
	struct api_deps deps;

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "api"), 0);
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/zwgate.conf", f->dir);
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
	assert_int_equal(mkdir(f->state_dir, 0700), 0);
	snprintf(f->names_path, sizeof(f->names_path), "%s/names.json",
		 f->state_dir);
	snprintf(path, sizeof(path), "%s/tests/sim/basic.json", tu_srcdir());
	assert_non_null(realpath(path, f->sim_path));
	snprintf(text, sizeof(text),
		 "gateway-id \"%s\"\nzwave {\n backend sim\n"
		 " sim-network \"%s\"\n}\n" API_FX_RULES,
		 API_FX_GW, f->sim_path);
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
		.automation = fx_automation,
		.reload = fx_reload,
		.upload_idle_ms = API_FX_UPLOAD_IDLE_MS,
	};
	assert_int_equal(api_new(&deps, &f->api), 0);
	struct zw_opts zo = { .state_dir = f->dir,
			      .sim_network = f->conf->zwave.sim_network };
	assert_int_equal(zw_sim_ops.open(&f->loop, &zo, on_zw, f, &f->zw), 0);
	tu_run_until(&f->loop, is_queried, f, API_FX_WAIT_MS);
	assert_true(f->queried);
	assert_int_equal(registry_node_count(f->reg), API_FX_NNODES);
	f->replies = json_array();
	*state = f;
	return 0;
}

int api_fx_teardown(void **state)
{
	struct fx *f = *state;
	int r;

	api_shutdown(f->api);
	automation_stop(f->automation); /* the daemon's order */
	f->automation = NULL;
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

size_t api_fx_req(struct fx *f, const char *text)
{
	json_t *req = json_loads(text, 0, NULL);
	size_t before = json_array_size(f->replies);

	assert_non_null(req);
	api_request(f->api, req, on_reply, f);
	json_decref(req);
	return json_array_size(f->replies) - before;
}

const json_t *api_fx_last(struct fx *f)
{
	size_t n = json_array_size(f->replies);

	assert_true(n > 0);
	return json_array_get(f->replies, n - 1);
}

const char *api_fx_code(const json_t *reply)
{
	return json_string_value(json_object_get(reply, "code"));
}

void api_fx_start_automation(struct fx *f)
{
	struct automation_deps deps = {
		.loop = &f->loop,
		.reg = f->reg,
		.state_dir = f->state_dir,
		.ctx = f,
		.zw = fx_zw,
	};

	assert_int_equal(automation_start(&deps, f->conf, &f->automation), 0);
}

static size_t want_replies;

static bool has_replies(void *arg)
{
	return json_array_size(((struct fx *)arg)->replies) >= want_replies;
}

void api_fx_wait_replies(struct fx *f, size_t n)
{
	want_replies = n;
	assert_true(tu_run_until(&f->loop, has_replies, f, API_FX_WAIT_MS));
	assert_int_equal(json_array_size(f->replies), n);
}
