/* SPDX-License-Identifier: MIT */
/*
 * test_fs_job.c: a state file written in libuv's thread pool (fs_job.h):
 * the content, the order, the results, a free with a write out, and two
 * jobs of one file.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <uv.h>

#include "fs_job.h"
#include "testutil.h"

#define RESULTS_MAX 8

struct fixture {
	uv_loop_t loop;
	char dir[256];
	char path[300];
	int results[RESULTS_MAX];
	size_t nresults;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "fsjob"), 0);
	snprintf(f->path, sizeof(f->path), "%s/state", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tu_loop_close(&f->loop), 0);
	tu_rm_rf(f->dir);
	free(f);
	return 0;
}

static void on_done(void *ctx, int r)
{
	struct fixture *f = ctx;

	assert_true(f->nresults < RESULTS_MAX);
	f->results[f->nresults++] = r;
}

/* The file's content, "" when there is none; caller frees. */
static char *content(const char *path)
{
	size_t len;
	char *t = tu_read_all(path, &len);

	return t ? t : strdup("");
}

static void assert_content(const char *path, const char *want)
{
	char *t = content(path);

	assert_string_equal(t, want);
	free(t);
}

static struct fs_job *job(struct fixture *f)
{
	struct fs_job *j =
	    fs_job_new(&f->loop, f->dir, "state", 0600, on_done, f);

	assert_non_null(j);
	return j;
}

static void written_off_the_loop(void **state)
{
	struct fixture *f = *state;
	struct fs_job *j = job(f);
	struct stat st;

	assert_false(fs_job_busy(j));
	assert_int_equal(fs_job_write(j, "one", 3), 0);
	assert_true(fs_job_busy(j));
	/* Not written by the call: by the pool, the loop running. */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_false(fs_job_busy(j));
	assert_int_equal(f->nresults, 1);
	assert_int_equal(f->results[0], 0);
	assert_content(f->path, "one");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fs_job_free(j);
}

/* While one write is out, only the newest of those asked for waits. */
static void newest_waits_older_replaced(void **state)
{
	struct fixture *f = *state;
	struct fs_job *j = job(f);

	assert_int_equal(fs_job_write(j, "a", 1), 0);
	assert_int_equal(fs_job_write(j, "b", 1), 0);
	assert_int_equal(fs_job_write(j, "c", 1), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 2); /* a, then c; b never ran */
	assert_int_equal(f->results[0], 0);
	assert_int_equal(f->results[1], 0);
	assert_content(f->path, "c");
	fs_job_free(j);
}

static void failure_reported(void **state)
{
	struct fixture *f = *state;
	char missing[300];
	struct fs_job *j;

	snprintf(missing, sizeof(missing), "%s/no/such/dir", f->dir);
	j = fs_job_new(&f->loop, missing, "state", 0600, on_done, f);
	assert_non_null(j);
	assert_int_equal(fs_job_write(j, "x", 1), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 1);
	assert_int_equal(f->results[0], -ENOENT);
	fs_job_free(j);
}

/* Freed with a write out: it lands, without done(); a waiting one not. */
static void free_with_a_write_out(void **state)
{
	struct fixture *f = *state;
	struct fs_job *j = job(f);

	assert_int_equal(fs_job_write(j, "out", 3), 0);
	assert_int_equal(fs_job_write(j, "waits", 5), 0);
	fs_job_free(j);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 0);
	assert_content(f->path, "out");
}

/*
 * Two jobs of one file (a reload makes the new one while the old one's
 * write is out): the new one's write waits for the old one's, then
 * lands.  The old one is large, so that it is still out when the new one
 * would start: at once, they would share the temp file, and one of them
 * would fail or put the other's half-written file in place.
 */
#define OLD_LEN (16u << 20)
static void two_jobs_of_one_file(void **state)
{
	struct fixture *f = *state;
	struct fs_job *old = job(f), *new = job(f);
	char *big = malloc(OLD_LEN);
	size_t len;
	char *t;

	assert_non_null(big);
	memset(big, 'o', OLD_LEN);
	assert_int_equal(fs_job_write(old, big, OLD_LEN), 0);
	free(big);
	assert_int_equal(fs_job_write(new, "new", 3), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 2);
	assert_int_equal(f->results[0], 0);
	assert_int_equal(f->results[1], 0);
	t = tu_read_all(f->path, &len);
	assert_non_null(t);
	assert_int_equal(len, 3);
	assert_memory_equal(t, "new", 3);
	free(t);
	/* Freed with its write out, the old one still holds the new back. */
	f->nresults = 0;
	big = malloc(OLD_LEN);
	assert_non_null(big);
	memset(big, 'p', OLD_LEN);
	assert_int_equal(fs_job_write(old, big, OLD_LEN), 0);
	free(big);
	fs_job_free(old);
	assert_int_equal(fs_job_write(new, "newer", 5), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 1); /* new's; old's done is gone */
	assert_int_equal(f->results[0], 0);
	assert_content(f->path, "newer");
	fs_job_free(new);
}

/* done() may write again: that write runs after it. */
static struct fs_job *again_job;

static void on_done_again(void *ctx, int r)
{
	struct fixture *f = ctx;

	on_done(ctx, r);
	if (f->nresults == 1)
		assert_int_equal(fs_job_write(again_job, "second", 6), 0);
}

static void write_from_done(void **state)
{
	struct fixture *f = *state;

	again_job =
	    fs_job_new(&f->loop, f->dir, "state", 0600, on_done_again, f);
	assert_non_null(again_job);
	assert_int_equal(fs_job_write(again_job, "first", 5), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nresults, 2);
	assert_content(f->path, "second");
	fs_job_free(again_job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(written_off_the_loop), T(newest_waits_older_replaced),
		T(failure_reported),	 T(free_with_a_write_out),
		T(two_jobs_of_one_file), T(write_from_done),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
