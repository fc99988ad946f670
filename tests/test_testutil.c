/* SPDX-License-Identifier: MIT */
/*
 * Tests of the unit tests' own helpers (tests/testutil.c): a helper that
 * hid an error would let every test that uses it pass for nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "testutil.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return tu_tmpdir(dir, sizeof(dir), "testutil") < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(dir);
}

static char *path_of(const char *name)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void test_tmpdir(void **state)
{
	char small[16];
	struct stat st;

	(void)state;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_non_null(strstr(dir, "/zwgate-testutil."));
	assert_int_equal(tu_tmpdir(small, sizeof(small), "testutil"),
			 -ENAMETOOLONG);
}

/* The mode is the one asked for, whatever the umask (a checkout's 002). */
static void test_write_mode(void **state)
{
	mode_t old = umask(002);
	struct stat st;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(tu_write_file(path_of("a"), "hello\n", 0644), 0);
	assert_int_equal(tu_write(path_of("b"), "x\0y", 3, 0600), 0);
	umask(old);
	assert_int_equal(stat(path_of("a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(path_of("b"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = tu_read_all(path_of("b"), &len);
	assert_non_null(text);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "x\0y", 4); /* and NUL-terminated */
	free(text);
	/* Rewriting truncates. */
	assert_int_equal(tu_write_file(path_of("a"), "hi", 0644), 0);
	text = tu_read_all(path_of("a"), NULL);
	assert_string_equal(text, "hi");
	free(text);
	errno = 0;
	assert_null(tu_read_all(path_of("none"), NULL));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tu_write_file(path_of("no/such/dir"), "", 0644),
			 -ENOENT);
}

static void test_copy_src(void **state)
{
	char *want, *got, src[PATH_MAX];
	struct stat st;

	(void)state;
	assert_int_equal(tu_copy_src("etc/zwgate.conf", path_of("c"), 0640), 0);
	snprintf(src, sizeof(src), "%s/etc/zwgate.conf", tu_srcdir());
	want = tu_read_all(src, NULL);
	got = tu_read_all(path_of("c"), NULL);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(stat(path_of("c"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(want);
	free(got);
	assert_int_equal(tu_copy_src("no/such/file", path_of("d"), 0644),
			 -ENOENT);
}

/* A whole tree goes; a symbolic link goes, not what it points to. */
static void test_rm_rf(void **state)
{
	char outside[PATH_MAX];
	struct stat st;

	(void)state;
	assert_int_equal(tu_tmpdir(outside, sizeof(outside), "testutil-out"),
			 0);
	snprintf(outside + strlen(outside), sizeof(outside) - strlen(outside),
		 "/keep");
	assert_int_equal(tu_write_file(outside, "keep", 0644), 0);
	assert_int_equal(mkdir(path_of("t"), 0755), 0);
	assert_int_equal(mkdir(path_of("t/u"), 0755), 0);
	assert_int_equal(tu_write_file(path_of("t/u/f"), "f", 0644), 0);
	assert_int_equal(symlink(outside, path_of("t/link")), 0);
	assert_int_equal(tu_rm_rf(path_of("t")), 0);
	assert_int_equal(lstat(path_of("t"), &st), -1);
	assert_int_equal(stat(outside, &st), 0);
	*strrchr(outside, '/') = '\0';
	assert_int_equal(tu_rm_rf(outside), 0);
	/* What is not there is an error, not a silent success. */
	assert_int_equal(tu_rm_rf(path_of("t")), -ENOENT);
	assert_int_equal(tu_write_file(path_of("file"), "", 0644), 0);
	assert_int_equal(tu_rm_rf(path_of("file/under")), -ENOTDIR);
}

/* A tree it cannot remove whole is an error (as root, nothing stops it). */
static void test_rm_rf_fails(void **state)
{
	(void)state;
	if (geteuid() == 0)
		tu_skip("root removes files from a read-only directory");
	assert_int_equal(mkdir(path_of("ro"), 0755), 0);
	assert_int_equal(tu_write_file(path_of("ro/f"), "f", 0644), 0);
	assert_int_equal(chmod(path_of("ro"), 0555), 0);
	assert_int_equal(tu_rm_rf(path_of("ro")), -EACCES);
	assert_int_equal(chmod(path_of("ro"), 0755), 0);
}

static void fire(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

static void test_run_until(void **state)
{
	uv_loop_t loop;
	uv_timer_t t, late;
	bool flag = false;
	uint64_t t0;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &t);
	t.data = &flag;
	uv_timer_start(&t, fire, 30, 0);
	assert_true(tu_run_until(&loop, flag_set, &flag, 5000));
	/*
	 * Never true: false at the deadline, not before, and not at the
	 * next event either (a timer 60 s away). The upper bound is far
	 * from the deadline: a loaded machine under valgrind may stall
	 * the test for seconds, which is not what it checks.
	 */
	uv_timer_init(&loop, &late);
	late.data = &flag;
	uv_timer_start(&late, fire, 60000, 0);
	flag = false;
	t0 = uv_hrtime();
	assert_false(tu_run_until(&loop, flag_set, &flag, 100));
	assert_true(uv_hrtime() - t0 >= 100 * 1000000ull);
	assert_true(uv_hrtime() - t0 < 30000 * 1000000ull);
	t0 = uv_hrtime();
	tu_run_for(&loop, 50);
	assert_true(uv_hrtime() - t0 >= 50 * 1000000ull);
	assert_false(flag);
	/* Its own timer is closed: only ours are left. */
	assert_int_equal(tu_loop_close(&loop), 0);
}

/*
 * A condition that a callback makes true before the loop would block (a
 * timer due now, as the simulated network's first events are) ends the
 * wait then, not at the next event: here a timer 3 s away, which would
 * ring first if the loop slept.
 */
static void test_run_until_no_oversleep(void **state)
{
	uv_loop_t loop;
	uv_timer_t now, late;
	bool flag = false, rang_late = false;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &now);
	uv_timer_init(&loop, &late);
	now.data = &flag;
	late.data = &rang_late;
	uv_timer_start(&now, fire, 0, 0);
	uv_timer_start(&late, fire, 3000, 0);
	assert_true(tu_run_until(&loop, flag_set, &flag, 10000));
	assert_false(rang_late);
	assert_int_equal(tu_loop_close(&loop), 0);
}

static void test_spawn(void **state)
{
	const char *const sh[] = { "/bin/sh", "-c",
				   "echo out; echo err >&2; exit 3", NULL };
	const char *const sleeper[] = { "/bin/sh", "-c", "exec sleep 30",
					NULL };
	const char *const none[] = { "/no/such/program", NULL };
	char *log;
	pid_t pid;
	int st;

	(void)state;
	pid = tu_spawn(sh, path_of("log"));
	assert_true(pid > 0);
	assert_int_equal(tu_wait(pid, 5000, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	log = tu_read_all(path_of("log"), NULL);
	assert_string_equal(log, "out\nerr\n");
	free(log);

	pid = tu_spawn(sleeper, NULL);
	assert_true(pid > 0);
	assert_int_equal(tu_wait(pid, 50, &st), -ETIMEDOUT);
	st = tu_stop(pid, SIGTERM, 5000);
	assert_true(st >= 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);

	pid = tu_spawn(none, NULL);
	assert_true(pid > 0);
	assert_int_equal(tu_wait(pid, 5000, &st), 0);
	assert_int_equal(WEXITSTATUS(st), 127);
}

static void test_wait_path(void **state)
{
	(void)state;
	assert_false(tu_wait_path(path_of("later"), 30));
	assert_int_equal(tu_write_file(path_of("later"), "", 0644), 0);
	assert_true(tu_wait_path(path_of("later"), 30));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tmpdir),
		T(test_write_mode),
		T(test_copy_src),
		T(test_rm_rf),
		T(test_rm_rf_fails),
		T(test_run_until),
		T(test_run_until_no_oversleep),
		T(test_spawn),
		T(test_wait_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
