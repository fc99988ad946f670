/* SPDX-License-Identifier: MIT */
/*
 * test_state_save.c: a state file written off the loop with the calls
 * that wait for it (state_save.h): which completed write answers which
 * waiter when writes coalesce, newest first; a failed write; a free.
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
#include <uv.h>

#include "state_save.h"
#include "testutil.h"

#define WAIT_MS	 10000 /* for what must come: generous, for qemu */
#define DONE_MAX 8

struct waiter {
	struct state_save_wait wait; /* first: the list's entry */
	char tag;
};

struct fixture {
	uv_loop_t loop;
	char dir[256];
	char path[300];
	struct state_save *s;
	char done[DONE_MAX][8]; /* each done(): its waiters' tags in order */
	int results[DONE_MAX];
	size_t ndone;
	char waiting[DONE_MAX][8]; /* state_save_waiting at each done() */
};

static void tags(struct state_save_wait *w, char *buf, size_t len)
{
	size_t n = 0;

	for (; w && n + 1 < len; w = w->next)
		buf[n++] = ((struct waiter *)w)->tag;
	buf[n] = '\0';
}

static void on_done(void *ctx, struct state_save_wait *list, int result)
{
	struct fixture *f = ctx;

	assert_true(f->ndone < DONE_MAX);
	tags(list, f->done[f->ndone], sizeof(f->done[0]));
	tags(state_save_waiting(f->s), f->waiting[f->ndone],
	     sizeof(f->waiting[0]));
	f->results[f->ndone++] = result;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "statesave"), 0);
	snprintf(f->path, sizeof(f->path), "%s/state", f->dir);
	f->s = state_save_new(&f->loop, f->dir, "state", 0600, on_done, f);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	state_save_free(f->s);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(tu_loop_close(&f->loop), 0);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *text, struct waiter *w)
{
	assert_int_equal(
	    state_save_write(f->s, text, strlen(text), w ? &w->wait : NULL), 0);
}

static bool idle(void *arg)
{
	return !state_save_busy(((struct fixture *)arg)->s);
}

static void check_file(struct fixture *f, const char *want)
{
	char *text = tu_read_all(f->path, NULL);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

/* A waiter is answered on the loop, after its write, never before. */
static void test_one(void **state)
{
	struct fixture *f = *state;
	struct waiter a = { .tag = 'a' };

	put(f, "one", &a);
	assert_int_equal(f->ndone, 0);
	assert_true(tu_run_until(&f->loop, idle, f, WAIT_MS));
	assert_int_equal(f->ndone, 1);
	assert_string_equal(f->done[0], "a");
	assert_int_equal(f->results[0], 0);
	check_file(f, "one");
}

/*
 * Asked while one is out, writes wait for the next, which the newest
 * replaced: it answers them all, newest first.
 */
static void test_coalesced(void **state)
{
	struct fixture *f = *state;
	struct waiter a = { .tag = 'a' }, b = { .tag = 'b' },
		      c = { .tag = 'c' };

	put(f, "1", &a);
	put(f, "2", &b);
	put(f, "3", &c);
	tags(state_save_waiting(f->s), f->waiting[7], sizeof(f->waiting[7]));
	assert_string_equal(f->waiting[7], "abc");
	assert_true(tu_run_until(&f->loop, idle, f, WAIT_MS));
	assert_int_equal(f->ndone, 2);
	assert_string_equal(f->done[0], "a");
	assert_string_equal(f->waiting[0], "bc");
	assert_string_equal(f->done[1], "cb");
	assert_string_equal(f->waiting[1], "");
	check_file(f, "3");
}

/* A write without a waiter answers nobody; the next one does. */
static void test_unwaited(void **state)
{
	struct fixture *f = *state;
	struct waiter a = { .tag = 'a' };

	put(f, "1", NULL);
	put(f, "2", &a);
	assert_true(tu_run_until(&f->loop, idle, f, WAIT_MS));
	assert_int_equal(f->ndone, 1);
	assert_string_equal(f->done[0], "a");
	check_file(f, "2");
}

/* A failed write answers its waiters with its error. */
static void test_failed(void **state)
{
	struct fixture *f = *state;
	struct waiter a = { .tag = 'a' }, b = { .tag = 'b' };

	assert_int_equal(tu_rm_rf(f->dir), 0);
	put(f, "1", &a);
	put(f, "2", &b);
	assert_true(tu_run_until(&f->loop, idle, f, WAIT_MS));
	assert_int_equal(f->ndone, 2);
	assert_string_equal(f->done[0], "a");
	assert_int_equal(f->results[0], -ENOENT);
	assert_string_equal(f->done[1], "b");
	assert_int_equal(f->results[1], -ENOENT);
}

/* Freed, it answers every waiter at once (cancelled); the write out ends. */
static void test_freed(void **state)
{
	struct fixture *f = *state;
	struct waiter a = { .tag = 'a' }, b = { .tag = 'b' };

	put(f, "1", &a);
	put(f, "2", &b);
	state_save_free(f->s);
	f->s = NULL;
	assert_int_equal(f->ndone, 1);
	assert_string_equal(f->done[0], "ba");
	assert_int_equal(f->results[0], -ECANCELED);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->ndone, 1);
	check_file(f, "1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_one),	T(test_coalesced), T(test_unwaited),
		T(test_failed), T(test_freed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
