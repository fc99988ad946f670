/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h: what the fuzz harnesses share.
 *
 * Each tests/fuzz/fuzz_<name>.c is one libFuzzer target: it defines
 * LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize when it needs a fixed
 * world first) and nothing else that could be run.  Built with clang and
 * -fsanitize=fuzzer it is a fuzzer (make fuzz); built with replay.c's
 * main() by the regular compiler it replays the committed inputs of
 * tests/fuzz/<name>/ once each, as a test of make check.
 *
 * A harness fails by crashing: a sanitizer report, or fuzz_check() when
 * a property the code promises does not hold, so that libFuzzer keeps
 * and minimises the input in both cases.
 */
#ifndef ZWGATE_FUZZ_H
#define ZWGATE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "daemon.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code failed: say which, and abort (a crash). */
#define fuzz_check(cond, ...)                                       \
	do {                                                        \
		if (!(cond))                                        \
			fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * This process's private directory (under $TMPDIR, else /dev/shm or
 * /tmp), made on first use and removed at exit.  Also quietens the log:
 * a fuzzer that prints every notice runs at the speed of its terminal.
 */
const char *fuzz_dir(void);
/* dir/name into buf[PATH_MAX]; returns buf. */
char *fuzz_path(char *buf, const char *dir, const char *name);
/* Writes a file whole with mode, or aborts: the harness's world, not
 * the code under test, failed. */
void fuzz_write(const char *path, const void *data, size_t len, mode_t mode);
void fuzz_mkdir(const char *path);
/* Removes path and everything below it. */
void fuzz_rm_rf(const char *path);

/* Is s[0..len) valid JSON whose top level is an object?  For replies. */
bool fuzz_json_object(const char *s, size_t len);

/*
 * A whole zwgated (daemon_start: config, rules, the simulated network of
 * tests/sim/basic.json answering at once, the control socket, the rules
 * engine; no cloud) in a fresh state directory, its loop turned until
 * the network is known.  stop ends it and checks that every handle was
 * closed (uv_loop_close), so one input never leaks into the next.
 */
struct fuzz_daemon {
	uv_loop_t loop;
	struct daemon *d;
	char state[4096];
};

void fuzz_daemon_start(struct fuzz_daemon *f);
/* Turns the loop without blocking, at most turns times. */
void fuzz_daemon_turn(struct fuzz_daemon *f, unsigned turns);
void fuzz_daemon_stop(struct fuzz_daemon *f);

#endif
