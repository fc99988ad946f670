/* SPDX-License-Identifier: MIT */
/*
 * slowsync.so: fsync() that first sleeps ZWGATE_TEST_FSYNC_S seconds,
 * as a slow SD card may (preloaded by tests/integration/keys.sh, which
 * kills zwgatectl meanwhile).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsync(int fd)
{
	const char *s = getenv("ZWGATE_TEST_FSYNC_S");

	if (s)
		sleep((unsigned)atoi(s));
	return (int)syscall(SYS_fsync, fd);
}
