/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests (tests/<layer>/test_*.c): temporary
 * directories, whole-file reads and writes, running a libuv loop until
 * something happens, and a skip that says why.  Every unit test links
 * tests/testutil.c (libtestutil.a).  No cmocka here: each function
 * returns 0 or -errno (or NULL) and the test asserts on it, so a group
 * setup, which must not assert, can use them too.
 */
#ifndef ZWGATE_TESTUTIL_H
#define ZWGATE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct uv_loop_s;

/*
 * Makes $TMPDIR/zwgate-TAG.XXXXXX (TMPDIR unset or empty: /tmp) into
 * buf; 0 or -errno (-ENAMETOOLONG when buf is too small).
 */
int tu_tmpdir(char *buf, size_t len, const char *tag);

/*
 * Removes path and everything under it without following symbolic
 * links; 0 or the first -errno met (a tree it could not remove whole
 * is an error, not a silent leftover).
 */
int tu_rm_rf(const char *path);

/*
 * The whole of path, NUL-terminated (caller frees); its length without
 * the NUL in *len when len is not NULL.  NULL with errno set when it
 * cannot be read.
 */
char *tu_read_all(const char *path, size_t *len);

/*
 * Writes len bytes of data to path (made or truncated), then gives it
 * mode exactly, whatever the umask; 0 or -errno.
 */
int tu_write(const char *path, const void *data, size_t len, mode_t mode);

/* tu_write of a string. */
int tu_write_file(const char *path, const char *text, mode_t mode);

/*
 * Copies the source tree's file (a path under $top_srcdir) to path with
 * mode; 0 or -errno.
 */
int tu_copy_src(const char *src, const char *path, mode_t mode);

/* $top_srcdir as "make check" sets it, else ".". */
const char *tu_srcdir(void);

/*
 * Runs loop (UV_RUN_ONCE at a time) until done(arg) holds or ms
 * milliseconds have passed; returns done(arg).  A timer of its own
 * wakes the loop at the deadline, so a loop with nothing else to do
 * does not sleep past it, and a check just before each poll stops the
 * loop as soon as done(arg) holds, so it does not sleep past that
 * either; both handles are closed before return.
 */
bool tu_run_until(struct uv_loop_s *loop, bool (*done)(void *arg), void *arg,
		  unsigned ms);

/* Runs loop for ms milliseconds, whatever happens. */
void tu_run_for(struct uv_loop_s *loop, unsigned ms);

/*
 * Closes every handle still open on loop, runs it until they are
 * closed, then closes the loop itself; 0 or uv_loop_close()'s error.
 */
int tu_loop_close(struct uv_loop_s *loop);

/*
 * Run the loop until nothing is left on it, at most ms: true then.  A
 * handle or request still active after that is printed to stderr (a test
 * fails with it instead of hanging in uv_run).
 */
bool tu_loop_drain(struct uv_loop_s *loop, unsigned ms);

/* $top_builddir as "make check" sets it, else ".". */
const char *tu_builddir(void);

/*
 * Starts argv[0] (a path; argv NULL-terminated) with standard input
 * from /dev/null and its output and errors appended to log (NULL: kept
 * as the test's); its pid, or -errno when the fork fails.  A program
 * that cannot be executed exits 127.  E.g. the daemon:
 * { tu_daemon_path(buf, len), "-c", conf, "--state-dir", dir, NULL }.
 */
pid_t tu_spawn(const char *const argv[], const char *log);

/* $top_builddir/zwgated into buf; buf. */
char *tu_daemon_path(char *buf, size_t len);

/*
 * Waits at most ms milliseconds for pid to end: 0 with its wait status
 * in *status, -ETIMEDOUT while it still runs, or -errno.
 */
int tu_wait(pid_t pid, unsigned ms, int *status);

/*
 * Sends sig to pid and waits ms milliseconds for it, then SIGKILL;
 * its wait status, or -errno (-ETIMEDOUT when it needed the SIGKILL).
 */
int tu_stop(pid_t pid, int sig, unsigned ms);

/* Until path exists (a socket the spawned program makes), at most ms. */
bool tu_wait_path(const char *path, unsigned ms);

/*
 * Prints "# SKIP: <why>" (tools/check lists it with the skipped count),
 * then skips the cmocka test: use as tu_skip("needs root").
 */
#define tu_skip(...)                         \
	do {                                 \
		tu_skip_reason(__VA_ARGS__); \
		skip();                      \
	} while (0)
void tu_skip_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
