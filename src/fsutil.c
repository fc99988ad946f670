/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

char *fs_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl > 0 && dir[dl - 1] == '/';
	char *s = malloc(dl + nl + 2);

	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	if (!slash)
		s[dl++] = '/';
	memcpy(s + dl, name, nl + 1);
	return s;
}

static bool name_ok(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	/* Some file systems cannot sync a directory; they say EINVAL. */
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

/*
 * A temp file of ours left by a crash may carry the pid we have now (pids
 * repeat across boots), so one EEXIST is met by removing it: no other
 * writer uses our pid.
 */
static int open_temp(const char *tmp, mode_t mode)
{
	int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);

	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The umask must not decide who may read a state file. */
	if (fchmod(fd, mode) < 0) {
		int r = -errno;

		close(fd);
		unlink(tmp);
		return r;
	}
	return fd;
}

static int write_temp(const char *tmp, const void *data, size_t len,
		      mode_t mode)
{
	int fd = open_temp(tmp, mode);
	int r;

	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	/* close() reports late write errors on some file systems (NFS). */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int fs_write_atomic(const char *dir, const char *name, const void *data,
		    size_t len, mode_t mode)
{
	char *tmpname = NULL, *tmp = NULL, *dst = NULL;
	int r;

	if (!name_ok(name))
		return -EINVAL;
	if (asprintf(&tmpname, ".%s.tmp.%ld", name, (long)getpid()) < 0) {
		tmpname = NULL;
		r = -ENOMEM;
		goto out;
	}
	tmp = fs_join(dir, tmpname);
	dst = fs_join(dir, name);
	if (!tmp || !dst) {
		r = -ENOMEM;
		goto out;
	}
	r = write_temp(tmp, data, len, mode);
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	r = fs_fsync_dir(dir);
out:
	free(tmpname);
	free(tmp);
	free(dst);
	return r;
}

static int read_fd(int fd, size_t hint, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = (hint < max ? hint : max) + 1, len = 0;
	char *buf = malloc(cap + 1), *nbuf;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			/* Grow to at most max + 1: one byte past max says
			 * the file is too big. */
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if (len == cap)
				break;
			nbuf = realloc(buf, cap + 1);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	if (max >= SIZE_MAX - 2)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO put in our way must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	} else {
		r = read_fd(fd, st.st_size > 0 ? (size_t)st.st_size : 0, max,
			    ret, ret_len);
	}
	close(fd);
	return r;
}

/*
 * A directory we create gets exactly mode despite the umask; one that
 * exists only loses permissions beyond mode, so an administrator's
 * tighter choice stays.
 */
int fs_ensure_dir(const char *dir, mode_t mode)
{
	bool created = true;
	struct stat st;
	mode_t want;
	int fd, r = 0;

	mode &= 07777;
	if (mkdir(dir, mode) < 0) {
		if (errno != EEXIST)
			return -errno;
		created = false;
	}
	/* Opened as a directory, it cannot be swapped between check and
	 * chmod; a non-directory fails here with ENOTDIR. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else {
		want = created ? mode : (st.st_mode & mode & 07777);
		if ((st.st_mode & 07777) != want && fchmod(fd, want) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}
