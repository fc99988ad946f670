/* SPDX-License-Identifier: MIT */
/*
 * test_api_save.c: the commands that change a state file answer once
 * the file holds their change, written off the loop (state_save.h):
 * rename (names.json) and rules-enable, rules-disable (rules.json).
 * Unsaved, the change is undone and the answer is the error; stopped,
 * what waits is cancelled.  The API on its own deps (api_fixture.h).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "api_fixture.h"
#include "automation.h"
#include "registry.h"
#include "testutil.h"

/* What a file held when each reply came (at most 8 replies). */
static char *held[8];
static size_t nheld;
static const char *held_path;

static void record_file(struct fx *f, const json_t *reply)
{
	char *text = tu_read_all(held_path, NULL);

	assert_true(nheld < 8);
	held[nheld++] = text ? text : strdup("");
}

static void watch(struct fx *f, const char *path)
{
	held_path = path;
	nheld = 0;
	f->on_reply = record_file;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < nheld; i++)
		free(held[i]);
	nheld = 0;
	return api_fx_teardown(state);
}

static const json_t *reply(struct fx *f, size_t i)
{
	return json_array_get(f->replies, i);
}

static bool ok(const json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

static const char *error_of(const json_t *reply)
{
	return json_string_value(json_object_get(reply, "error"));
}

/* The state directory becomes a file: every write in it fails. */
static void break_state_dir(struct fx *f)
{
	assert_int_equal(tu_rm_rf(f->state_dir), 0);
	assert_int_equal(tu_write_file(f->state_dir, "not a directory\n", 0600),
			 0);
}

/* Node id's user name, NULL for none. */
static const char *user_name(struct fx *f, unsigned id)
{
	const struct registry_node *n = registry_node(f->reg, id);

	assert_non_null(n);
	return n->user_name ? n->name : NULL;
}

/* "rename" answers once names.json holds the new name. */
static void test_rename_saved(void **state)
{
	struct fx *f = *state;

	watch(f, f->names_path);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"reading lamp\"}"),
			 0);
	assert_int_equal(api_pending(f->api), 1);
	api_fx_wait_replies(f, 1);
	assert_int_equal(api_pending(f->api), 0);
	assert_true(ok(reply(f, 0)));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(reply(f, 0), "result"), "name")),
	    "reading lamp");
	assert_non_null(strstr(held[0], "\"reading lamp\""));
}

/* Renames in a row are each answered; the file has the last. */
static void test_rename_twice(void **state)
{
	struct fx *f = *state;
	char *text;

	watch(f, f->names_path);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"reading lamp\"}"),
			 0);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":2,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"desk lamp\"}"),
			 0);
	api_fx_wait_replies(f, 2);
	assert_true(ok(reply(f, 0)));
	assert_true(ok(reply(f, 1)));
	assert_int_equal(json_integer_value(json_object_get(reply(f, 0), "id")),
			 1);
	/* The first may already see the second's write. */
	assert_true(strstr(held[0], "\"reading lamp\"") ||
		    strstr(held[0], "\"desk lamp\""));
	assert_non_null(strstr(held[1], "\"desk lamp\""));
	tu_run_for(&f->loop, API_FX_SETTLE_MS);
	text = tu_read_all(f->names_path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"desk lamp\""));
	assert_null(strstr(text, "reading lamp"));
	free(text);
	assert_string_equal(user_name(f, 3), "desk lamp");
}

/* Unsaved, the rename is undone and answered with why. */
static void test_rename_fails(void **state)
{
	struct fx *f = *state;
	char want[256];

	break_state_dir(f);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"reading lamp\"}"),
			 0);
	assert_string_equal(user_name(f, 3), "reading lamp");
	api_fx_wait_replies(f, 1);
	assert_false(ok(reply(f, 0)));
	snprintf(want, sizeof(want), "could not save names to %s: %s",
		 f->names_path, strerror(ENOTDIR));
	assert_string_equal(error_of(reply(f, 0)), want);
	assert_null(user_name(f, 3));
	assert_string_equal(registry_node(f->reg, 3)->name, "lounge lamp");
}

/*
 * Failing renames in a row, of one node and of another, whichever write
 * held which: each is answered with the error, and the names end as
 * they began.
 */
static void test_rename_fails_in_a_row(void **state)
{
	struct fx *f = *state;

	break_state_dir(f);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"reading lamp\"}"),
			 0);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":2,\"cmd\":\"rename\",\"node\":4,"
				    "\"name\":\"hall\"}"),
			 0);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":3,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"desk lamp\"}"),
			 0);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":4,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"lamp\"}"),
			 0);
	api_fx_wait_replies(f, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(api_fx_code(reply(f, i)), "EIO");
	tu_run_for(&f->loop, API_FX_SETTLE_MS);
	assert_null(user_name(f, 3));
	assert_null(user_name(f, 4));
	assert_string_equal(registry_node(f->reg, 3)->name, "lounge lamp");
}

/* A rule's "enabled" as rules-show says. */
static bool rule_enabled(struct fx *f, const char *name)
{
	char text[128];

	snprintf(text, sizeof(text),
		 "{\"id\":0,\"cmd\":\"rules-show\",\"name\":\"%s\"}", name);
	assert_int_equal(api_fx_req(f, text), 1);
	return json_is_true(json_object_get(
	    json_object_get(api_fx_last(f), "result"), "enabled"));
}

/* "rules-disable" answers once rules.json holds it. */
static void test_rule_saved(void **state)
{
	struct fx *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/" AUTOMATION_STATE_FILE, f->state_dir);
	api_fx_start_automation(f);
	watch(f, path);
	assert_int_equal(
	    api_fx_req(f,
		       "{\"id\":1,\"cmd\":\"rules-disable\",\"name\":\"up\"}"),
	    0);
	api_fx_wait_replies(f, 1);
	assert_true(ok(reply(f, 0)));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(reply(f, 0), "result"), "done")),
	    "disabled");
	assert_non_null(strstr(held[0], "\"up\""));
	f->on_reply = NULL;
	assert_false(rule_enabled(f, "up"));
}

/* Rule changes in a row are each answered; the file has the last. */
static void test_rule_twice(void **state)
{
	struct fx *f = *state;
	char path[160], *text;

	snprintf(path, sizeof(path), "%s/" AUTOMATION_STATE_FILE, f->state_dir);
	api_fx_start_automation(f);
	watch(f, path);
	assert_int_equal(
	    api_fx_req(f,
		       "{\"id\":1,\"cmd\":\"rules-disable\",\"name\":\"up\"}"),
	    0);
	assert_int_equal(
	    api_fx_req(f,
		       "{\"id\":2,\"cmd\":\"rules-enable\",\"name\":\"up\"}"),
	    0);
	api_fx_wait_replies(f, 2);
	assert_true(ok(reply(f, 0)));
	assert_true(ok(reply(f, 1)));
	assert_null(strstr(held[1], "\"up\""));
	tu_run_for(&f->loop, API_FX_SETTLE_MS);
	text = tu_read_all(path, NULL);
	assert_non_null(text);
	assert_null(strstr(text, "\"up\""));
	free(text);
	f->on_reply = NULL;
	assert_true(rule_enabled(f, "up"));
}

/* Unsaved, the rule change is undone and answered with why. */
static void test_rule_fails(void **state)
{
	struct fx *f = *state;

	api_fx_start_automation(f);
	break_state_dir(f);
	assert_int_equal(
	    api_fx_req(f,
		       "{\"id\":1,\"cmd\":\"rules-disable\",\"name\":\"up\"}"),
	    0);
	assert_int_equal(
	    api_fx_req(
		f, "{\"id\":2,\"cmd\":\"rules-disable\",\"name\":\"down\"}"),
	    0);
	api_fx_wait_replies(f, 2);
	assert_false(ok(reply(f, 0)));
	assert_string_equal(error_of(reply(f, 0)), strerror(ENOTDIR));
	assert_string_equal(error_of(reply(f, 1)), strerror(ENOTDIR));
	tu_run_for(&f->loop, API_FX_SETTLE_MS);
	assert_true(rule_enabled(f, "up"));
	assert_true(rule_enabled(f, "down"));
}

/* Stopped, what waits for a write is answered: cancelled. */
static void test_stop_cancels(void **state)
{
	struct fx *f = *state;

	api_fx_start_automation(f);
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"rename\",\"node\":3,"
				    "\"name\":\"reading lamp\"}"),
			 0);
	assert_int_equal(
	    api_fx_req(f,
		       "{\"id\":2,\"cmd\":\"rules-disable\",\"name\":\"up\"}"),
	    0);
	api_shutdown(f->api);
	automation_stop(f->automation);
	f->automation = NULL;
	assert_int_equal(json_array_size(f->replies), 2);
	assert_string_equal(api_fx_code(reply(f, 0)), "ECANCELED");
	assert_string_equal(api_fx_code(reply(f, 1)), "ECANCELED");
	assert_int_equal(api_pending(f->api), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, api_fx_setup, teardown)
		T(test_rename_saved), T(test_rename_twice),
		T(test_rename_fails), T(test_rename_fails_in_a_row),
		T(test_rule_saved),   T(test_rule_twice),
		T(test_rule_fails),   T(test_stop_cancels),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
