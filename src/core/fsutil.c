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

char *fs_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

const char *fs_base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool name_ok(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

int fs_write_all(int fd, const void *data, size_t len)
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

/* What fs_write_atomic and fs_copy_out write the temp file with. */
typedef int (*fill_fn)(int fd, void *arg);

static int write_temp(const char *tmp, mode_t mode, fill_fn fill, void *arg)
{
	int fd = open_temp(tmp, mode);
	int r;

	if (fd < 0)
		return fd;
	r = fill(fd, arg);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	/* close() reports late write errors on some file systems (NFS). */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* The temp file, filled, becomes dir/name: rename, then fsync dir. */
static int replace_with(const char *dir, const char *name, mode_t mode,
			fill_fn fill, void *arg)
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
	r = write_temp(tmp, mode, fill, arg);
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

struct bytes {
	const void *data;
	size_t len;
};

static int fill_bytes(int fd, void *arg)
{
	const struct bytes *b = arg;

	return fs_write_all(fd, b->data, b->len);
}

int fs_write_atomic(const char *dir, const char *name, const void *data,
		    size_t len, mode_t mode)
{
	struct bytes b = { data, len };

	return replace_with(dir, name, mode, fill_bytes, &b);
}

struct range {
	int fd;
	uint64_t from, to;
	void *buf;
	size_t bufsize;
};

static int fill_range(int fd, void *arg)
{
	struct range *g = arg;

	while (g->from < g->to) {
		size_t want = g->to - g->from < g->bufsize
				  ? (size_t)(g->to - g->from)
				  : g->bufsize;
		ssize_t n = pread(g->fd, g->buf, want, (off_t)g->from);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* shorter than said */
		r = fs_write_all(fd, g->buf, (size_t)n);
		if (r < 0)
			return r;
		g->from += (uint64_t)n;
	}
	return 0;
}

int fs_copy_out(int fd, uint64_t from, uint64_t to, void *buf, size_t bufsize,
		const char *dir, const char *name, mode_t mode)
{
	struct range g = { fd, from, to, buf, bufsize };

	if (from > to || bufsize == 0)
		return -EINVAL;
	return replace_with(dir, name, mode, fill_range, &g);
}

int fs_probe_dir(const char *dir)
{
	char name[64], *path;
	int fd, r = 0;

	snprintf(name, sizeof(name), ".probe.%ld", (long)getpid());
	path = fs_join(dir, name);
	if (!path)
		return -ENOMEM;
	fd = open_temp(path, 0600);
	if (fd < 0) {
		r = fd;
	} else {
		close(fd);
		if (unlink(path) < 0)
			r = -errno;
	}
	free(path);
	return r;
}

/* rename without replacing; file systems that cannot say so are asked
 * first (one writer: the daemon). */
static int rename_new(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (lstat(to, &st) == 0)
		return -EEXIST;
	return rename(from, to) < 0 ? -errno : 0;
}

int fs_set_aside(const char *dir, const char *name, char **ret_aside)
{
	char *path = fs_join(dir, name), *aside = NULL;
	int r = path ? -EEXIST : -ENOMEM;

	for (int i = 0; i < 10 && r == -EEXIST; i++) {
		free(aside);
		if ((i ? asprintf(&aside, "%s.damaged.%d", path, i)
		       : asprintf(&aside, "%s.damaged", path)) < 0) {
			aside = NULL;
			r = -ENOMEM;
			break;
		}
		r = rename_new(path, aside);
	}
	free(path);
	if (r < 0) {
		free(aside);
		return r;
	}
	/* Renamed: a failed directory sync only risks the old name after a
	 * crash, which the next start sets aside again. */
	fs_fsync_dir(dir);
	*ret_aside = aside;
	return 0;
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

int fs_read_checked(const char *path, size_t max, fs_check_fn check, void *arg,
		    char **ret, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	if (max >= SIZE_MAX - 2)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO put in our way must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else
		r = check ? check(&st, arg) : 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (r == 0)
		r = read_fd(fd, st.st_size > 0 ? (size_t)st.st_size : 0, max,
			    ret, ret_len);
	close(fd);
	return r;
}

int fs_check_secret_mode(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return -EACCES;
	return 0;
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return fs_read_checked(path, max, NULL, NULL, ret, ret_len);
}

void fs_free_secret(char *buf, size_t len)
{
	if (!buf)
		return;
	explicit_bzero(buf, len);
	free(buf);
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
