/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests: see testutil.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

int tu_tmpdir(char *buf, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(buf, len, "%s/zwgate-%s.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp", tag);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return mkdtemp(buf) ? 0 : -errno;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0) {
		int e = errno;

		fprintf(stderr, "tu_rm_rf: %s: %s\n", path, strerror(e));
		return -e;
	}
	return 0;
}

int tu_rm_rf(const char *path)
{
	int r = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	/* -1 is nftw's own failure (errno set), else rm_one's -errno. */
	if (r == -1)
		return errno ? -errno : -EIO;
	return r;
}

char *tu_read_all(const char *path, size_t *len)
{
	char *buf = NULL, chunk[4096];
	size_t size = 0, n;
	FILE *fp = fopen(path, "r");
	FILE *out;
	int e = 0;

	if (!fp)
		return NULL;
	out = open_memstream(&buf, &size);
	if (!out) {
		e = errno;
		fclose(fp);
		errno = e;
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (fwrite(chunk, 1, n, out) != n)
			e = errno ? errno : EIO;
	if (ferror(fp))
		e = errno ? errno : EIO;
	fclose(fp);
	if (fclose(out) != 0 && !e)
		e = errno ? errno : ENOMEM;
	if (e) {
		free(buf);
		errno = e;
		return NULL;
	}
	if (len)
		*len = size;
	return buf;
}

int tu_write(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int e = 0;

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!e && fchmod(fd, mode) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	return -e;
}

int tu_write_file(const char *path, const char *text, mode_t mode)
{
	return tu_write(path, text, strlen(text), mode);
}

const char *tu_srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : ".";
}

const char *tu_builddir(void)
{
	const char *s = getenv("top_builddir");

	return s && *s ? s : ".";
}

char *tu_daemon_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/zwgated", tu_builddir());
	return buf;
}

pid_t tu_spawn(const char *const argv[], const char *log)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out =
		    log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;

		if (in < 0 || dup2(in, STDIN_FILENO) < 0 ||
		    (log && (out < 0 || dup2(out, STDOUT_FILENO) < 0 ||
			     dup2(out, STDERR_FILENO) < 0)))
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int tu_wait(pid_t pid, unsigned ms, int *status)
{
	for (unsigned waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= ms)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

int tu_stop(pid_t pid, int sig, unsigned ms)
{
	int st, r;

	if (kill(pid, sig) < 0)
		return -errno;
	r = tu_wait(pid, ms, &st);
	if (r == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		r = tu_wait(pid, 5000, &st);
		return r < 0 ? r : -ETIMEDOUT;
	}
	return r < 0 ? r : st;
}

bool tu_wait_path(const char *path, unsigned ms)
{
	for (unsigned waited = 0;; waited += 10) {
		if (access(path, F_OK) == 0)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

int tu_copy_src(const char *src, const char *path, mode_t mode)
{
	char *from, *text;
	size_t len;
	int r;

	if (asprintf(&from, "%s/%s", tu_srcdir(), src) < 0)
		return -ENOMEM;
	text = tu_read_all(from, &len);
	r = text ? 0 : -errno;
	free(from);
	if (r == 0)
		r = tu_write(path, text, len, mode);
	free(text);
	return r;
}

void tu_skip_reason(const char *fmt, ...)
{
	va_list ap;

	fputs("# SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}
