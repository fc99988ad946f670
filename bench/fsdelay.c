/* SPDX-License-Identifier: MIT */
/*
 * fsdelay.c: an LD_PRELOAD shim for the "slowdisk" benchmark (bench/run):
 * every fsync and fdatasync of the process sleeps FSDELAY_MS milliseconds
 * (0 or unset: none) before the real system call, as an SD card's would
 * take tens to hundreds of ms.  The sleep is in the calling thread, so a
 * sync on the loop thread stalls the loop and one in libuv's thread pool
 * stalls only that worker.  With FSDELAY_LOG=FILE, each call appends a
 * line "fsync|fdatasync main|thread" to FILE: whether the loop (the
 * process's main thread) made it.  Built by bench/run, not by make.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void fslog(const char *call)
{
	const char *path = getenv("FSDELAY_LOG");
	char line[64];
	int fd, n;

	if (!path)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", call,
		     gettid() == getpid() ? "main" : "thread");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

static void fsdelay(void)
{
	static long ms = -1;
	struct timespec ts;
	const char *s;

	if (ms < 0) {
		s = getenv("FSDELAY_MS");
		ms = s ? strtol(s, NULL, 10) : 0;
		if (ms < 0)
			ms = 0;
	}
	if (ms == 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int fsync(int fd)
{
	fslog("fsync");
	fsdelay();
	return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	fslog("fdatasync");
	fsdelay();
	return (int)syscall(SYS_fdatasync, fd);
}
