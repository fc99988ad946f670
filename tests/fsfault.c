/* SPDX-License-Identifier: MIT */
/*
 * fsfault.so: file-system faults for tests/integration/keys.sh, which
 * preloads it into zwgatectl:
 *   ZWGATE_TEST_FSYNC_S=N      fsync() first sleeps N seconds, as a slow
 *                              SD card may (the test kills it meanwhile);
 *   ZWGATE_TEST_FCHMOD_ERRNO=N fchmod() fails with errno N, as on a FAT
 *                              file system (a Raspberry Pi's boot
 *                              partition), which keeps no modes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int fsync(int fd)
{
	const char *s = getenv("ZWGATE_TEST_FSYNC_S");

	if (s)
		sleep((unsigned)atoi(s));
	return (int)syscall(SYS_fsync, fd);
}

int fchmod(int fd, mode_t mode)
{
	const char *s = getenv("ZWGATE_TEST_FCHMOD_ERRNO");

	if (s) {
		errno = atoi(s);
		return -1;
	}
	return (int)syscall(SYS_fchmod, fd, mode);
}
