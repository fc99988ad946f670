/* SPDX-License-Identifier: MIT */
/*
 * test_api.c: the API on its own deps, without a daemon (api_fixture.h):
 * its commands and the calls that wait.  The commands that wait for a
 * state file are in test_api_save.c.
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
#include "api_fixture.h"
#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

static void test_status(void **state)
{
	struct fx *f = *state;
	const json_t *res;

	assert_int_equal(api_fx_req(f, "{\"id\":1,\"cmd\":\"status\"}"), 1);
	assert_true(json_is_true(json_object_get(api_fx_last(f), "ok")));
	assert_int_equal(
	    json_integer_value(json_object_get(api_fx_last(f), "id")), 1);
	res = json_object_get(api_fx_last(f), "result");
	assert_string_equal(
	    json_string_value(json_object_get(res, "gateway_id")), API_FX_GW);
	assert_string_equal(json_string_value(json_object_get(res, "backend")),
			    "sim");
	assert_int_equal(json_integer_value(json_object_get(res, "nodes")),
			 API_FX_NNODES);
	assert_string_equal(json_string_value(json_object_get(res, "config")),
			    f->conf_path);
	/* No cloud getter: no cloud block in the status. */
	assert_null(json_object_get(res, "cloud"));
}

static void test_errors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(api_fx_req(f, "{\"id\":1}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_int_equal(api_fx_req(f, "{\"id\":2,\"cmd\":\"frobnicate\"}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_int_equal(api_fx_req(f, "{\"id\":3,\"cmd\":\"get\",\"node\":99,"
				       "\"value\":\"switch\"}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	/* No cloud: the trust commands have nothing to work on. */
	assert_int_equal(api_fx_req(f, "{\"id\":4,\"cmd\":\"trust-status\"}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOTSUP");
	/* No rules engine: no rules, and none to run. */
	assert_int_equal(api_fx_req(f, "{\"id\":5,\"cmd\":\"rules\"}"), 1);
	assert_int_equal(
	    json_array_size(json_object_get(api_fx_last(f), "result")), 0);
	assert_int_equal(
	    api_fx_req(f, "{\"id\":6,\"cmd\":\"rules-run\",\"name\":\"x\"}"),
	    1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
}

/* The error of the last reply. */
static const char *last_error(struct fx *f)
{
	return json_string_value(json_object_get(api_fx_last(f), "error"));
}

#define DSK "54321-23456-34567-45678-56789-01234-11111-33333"

/*
 * What the sim backend lacks (S2, SmartStart, the health check) is
 * refused with the backend that has it; bad arguments are refused before
 * any backend is asked.
 */
static void test_zwavejs_only(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
	    api_fx_req(f, "{\"id\":1,\"cmd\":\"health\",\"node\":2}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOTSUP");
	assert_string_equal(last_error(f),
			    "the sim backend cannot check a node's health "
			    "(backend zwavejs can)");
	assert_int_equal(
	    api_fx_req(f, "{\"id\":2,\"cmd\":\"provision\",\"op\":\"list\"}"),
	    1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOTSUP");
	assert_non_null(strstr(last_error(f), "backend zwavejs has"));
	assert_int_equal(api_fx_req(f, "{\"id\":3,\"cmd\":\"include-pin\","
				       "\"pin\":\"12345\"}"),
			 1);
	assert_string_equal(last_error(f), "the sim backend has no S2");
	assert_int_equal(api_fx_req(f, "{\"id\":9,\"cmd\":\"backup\"}"), 1);
	assert_string_equal(last_error(f),
			    "the sim backend cannot back up the controller "
			    "(backend zwavejs can)");

	assert_int_equal(api_fx_req(f, "{\"id\":4,\"cmd\":\"health\","
				       "\"node\":2,\"rounds\":11}"),
			 1);
	assert_string_equal(last_error(f), "'rounds' must be 1 to 10");
	assert_int_equal(api_fx_req(f, "{\"id\":5,\"cmd\":\"health\","
				       "\"node\":2,\"rounds\":\"3\"}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_int_equal(api_fx_req(f, "{\"id\":6,\"cmd\":\"health\","
				       "\"node\":2,\"timeout\":0}"),
			 1);
	assert_non_null(strstr(last_error(f), "'timeout' must be 1 to"));
	assert_int_equal(
	    api_fx_req(f, "{\"id\":7,\"cmd\":\"health\",\"node\":99}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	assert_int_equal(api_fx_req(f, "{\"id\":8,\"cmd\":\"health\"}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");

	/* Long Range joins: add only, and with a class it has. */
	assert_int_equal(api_fx_req(f, "{\"id\":10,\"cmd\":\"provision\","
				       "\"op\":\"remove\",\"code\":\"300\","
				       "\"long_range\":true}"),
			 1);
	assert_string_equal(last_error(f), "'long_range' is true or false, "
					   "for provision add");
	assert_int_equal(api_fx_req(f, "{\"id\":11,\"cmd\":\"provision\","
				       "\"op\":\"add\",\"code\":\"" DSK "\","
				       "\"long_range\":1}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_int_equal(api_fx_req(f, "{\"id\":12,\"cmd\":\"provision\","
				       "\"op\":\"add\",\"code\":\"" DSK "\","
				       "\"long_range\":true,"
				       "\"grant\":[\"unauthenticated\"]}"),
			 1);
	assert_string_equal(last_error(f),
			    "Long Range is S2 authenticated or access control: "
			    "grant one of them");
	assert_int_equal(api_fx_req(f, "{\"id\":13,\"cmd\":\"provision\","
				       "\"op\":\"add\",\"code\":\"" DSK "\","
				       "\"long_range\":true}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOTSUP");
}

static bool none_pending(void *arg)
{
	return api_pending(((struct fx *)arg)->api) == 0;
}

/* A "set" waits on the API's own list until the device reports. */
static void test_set_waits(void **state)
{
	struct fx *f = *state;
	const json_t *res;

	assert_int_equal(api_fx_req(f, "{\"id\":7,\"cmd\":\"set\",\"node\":2,"
				       "\"value\":\"switch\",\"data\":true}"),
			 0);
	assert_int_equal(api_pending(f->api), 1);
	assert_true(tu_run_until(&f->loop, none_pending, f, API_FX_WAIT_MS));
	assert_int_equal(json_array_size(f->replies), 1);
	res = json_object_get(api_fx_last(f), "result");
	assert_true(json_is_true(json_object_get(res, "confirmed")));
	assert_true(json_is_true(json_object_get(res, "value")));
}

/* Shut down, the API answers what waits and refuses what comes. */
static void test_shutdown_cancels(void **state)
{
	struct fx *f = *state;

	assert_int_equal(api_fx_req(f, "{\"id\":8,\"cmd\":\"set\",\"node\":5,"
				       "\"value\":\"switch\",\"data\":true}"),
			 0);
	assert_int_equal(api_pending(f->api), 1);
	api_shutdown(f->api);
	assert_int_equal(api_pending(f->api), 0);
	assert_int_equal(json_array_size(f->replies), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ECANCELED");
	assert_int_equal(api_fx_req(f, "{\"id\":9,\"cmd\":\"status\"}"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ECANCELED");
}

/* "reload" is the daemon's: the API calls it and reports its diags. */
static void test_reload(void **state)
{
	struct fx *f = *state;
	const json_t *r;

	f->reload_result = -EINVAL;
	assert_int_equal(api_fx_req(f, "{\"id\":1,\"cmd\":\"reload\"}"), 1);
	assert_int_equal(f->reloads, 1);
	r = api_fx_last(f);
	assert_string_equal(api_fx_code(r), "EINVAL");
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
			       f->conf_path));
	assert_int_equal(json_array_size(json_object_get(r, "details")), 1);

	f->reload_result = 0;
	assert_int_equal(api_fx_req(f, "{\"id\":2,\"cmd\":\"reload\"}"), 1);
	assert_int_equal(f->reloads, 2);
	r = json_object_get(api_fx_last(f), "result");
	assert_true(json_is_true(json_object_get(r, "reloaded")));
	assert_int_equal(json_array_size(json_object_get(r, "warnings")), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, api_fx_setup, api_fx_teardown)
		T(test_status),		  T(test_errors), T(test_set_waits),
		T(test_shutdown_cancels), T(test_reload), T(test_zwavejs_only),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
