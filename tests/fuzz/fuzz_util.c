/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.c: the temporary world of a harness (fuzz.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fuzz.h"
#include "log.h"

/*
 * Under libFuzzer with -close_fd_mask=2 our stderr is closed, but the
 * sanitizers still report to libFuzzer's copy of it: say the broken
 * property there too.  Absent without a sanitizer runtime.
 */
void __sanitizer_report_error_summary(const char *msg) __attribute__((weak));

void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "fuzz check failed at %s:%d: ", file,
		     line);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", msg);
	if (__sanitizer_report_error_summary)
		__sanitizer_report_error_summary(msg);
	abort();
}

static char fuzz_root[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

void fuzz_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_cleanup(void)
{
	if (fuzz_root[0])
		fuzz_rm_rf(fuzz_root);
}

/* RAM first: the harnesses write and fsync files for every input. */
static const char *fuzz_tmp_base(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (tmp && *tmp)
		return tmp;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

const char *fuzz_dir(void)
{
	if (fuzz_root[0])
		return fuzz_root;
	snprintf(fuzz_root, sizeof(fuzz_root), "%s/zwgate-fuzz.XXXXXX",
		 fuzz_tmp_base());
	fuzz_check(mkdtemp(fuzz_root), "mkdtemp %s: %s", fuzz_root,
		   strerror(errno));
	atexit(fuzz_cleanup);
	/* Config files must not be writable by the group (conf.h). */
	umask(022);
	log_set_level(LOG_ERR);
	return fuzz_root;
}

char *fuzz_path(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	fuzz_check(n > 0 && n < PATH_MAX, "path too long: %s/%s", dir, name);
	return buf;
}

void fuzz_write(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	ssize_t n;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	fuzz_check(fd >= 0, "open %s: %s", path, strerror(errno));
	while (len) {
		n = write(fd, p, len);
		fuzz_check(n > 0, "write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	fuzz_check(fchmod(fd, mode) == 0, "chmod %s", path);
	close(fd);
}

void fuzz_mkdir(const char *path)
{
	fuzz_check(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s",
		   path, strerror(errno));
}

bool fuzz_json_object(const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
	bool ok = json_is_object(j);

	json_decref(j);
	return ok;
}
