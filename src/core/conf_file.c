/* SPDX-License-Identifier: MIT */
/*
 * conf_file.c: the files of zwgate.conf(5): absolute paths, the modes a
 * config file must have (as sshd's StrictModes), reading one whole, the
 * list of files read (an include cycle, the same file twice), and the
 * entry points of the engine for the main file and for a buffer.  What is
 * in a file is conf_parse.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "lex.h"

/* ".." is kept: it may follow a symbolic link. */
int conf_abs_path(const char *name, char **ret)
{
	char cwd[PATH_MAX], *s, *o;
	const char *in;

	if (name[0] == '/') {
		s = strdup(name);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		s = conf_join(cwd, name);
	}
	if (!s)
		return -ENOMEM;
	for (in = o = s; *in;) {
		if (in[0] == '/' && (in[1] == '/' || in[1] == '\0') && o != s) {
			in++;
		} else if (in[0] == '/' && in[1] == '.' &&
			   (in[2] == '/' || in[2] == '\0')) {
			in += 2;
		} else {
			*o++ = *in++;
		}
	}
	if (o == s)
		*o++ = '/';
	*o = '\0';
	*ret = s;
	return 0;
}

/* The directory part of path, with its '/' ("" when there is none). */
static char *conf_dir_prefix(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash ? (size_t)(slash - path) + 1 : 0);
}

static char *conf_dirname(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	return strndup(abs, slash == abs ? 1 : (size_t)(slash - abs));
}

int conf_check_owner(const struct stat *st, char *err, size_t len)
{
	uid_t me = geteuid();

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, len, "is not a regular file");
		return -EINVAL;
	}
	if (st->st_uid != 0 && st->st_uid != me) {
		if (me == 0)
			snprintf(err, len,
				 "is owned by uid %u, not root; refusing it",
				 (unsigned)st->st_uid);
		else
			snprintf(err, len,
				 "is owned by uid %u, not root or uid %u; "
				 "refusing it",
				 (unsigned)st->st_uid, (unsigned)me);
		return -EPERM;
	}
	return 0;
}

int conf_check_stat(const struct stat *st, char *err, size_t len)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	int r = conf_check_owner(st, err, len);

	if (r < 0)
		return r;
	if (mode & S_IWOTH) {
		snprintf(err, len,
			 "is writable by others (mode %04o); "
			 "refusing it",
			 mode);
		return -EPERM;
	}
	if (mode & S_IWGRP) {
		snprintf(err, len,
			 "is writable by its group (mode %04o); "
			 "refusing it",
			 mode);
		return -EPERM;
	}
	return 0;
}

int conf_check_file_mode(const char *path, char *err, size_t len)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		conf_strerror(-r, err, len);
		return r;
	}
	return conf_check_stat(&st, err, len);
}

/* The whole file, growing past its stat size only up to the limit. */
static int conf_read_fd(int fd, const struct stat *st, char **ret,
			size_t *ret_len)
{
	size_t cap, len = 0;
	char *buf, *nbuf;
	ssize_t n;
	int r;

	*ret_len = (size_t)st->st_size;
	if (st->st_size > CONF_FILE_MAX)
		return -EFBIG;
	cap = (size_t)st->st_size + 1;
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			*ret_len = len;
			if (cap > CONF_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > CONF_FILE_MAX ? CONF_FILE_MAX + 1
						      : cap * 2;
			if (!(nbuf = realloc(buf, cap))) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static ssize_t conf_add_file(struct conf_parser *p, const char *path,
			     const char *name, const struct stat *st)
{
	struct conf_file *f;

	if (conf_reserve(&p->files, &p->capfiles, p->nfiles, sizeof(*f)) < 0) {
		conf_oom(p);
		return -ENOMEM;
	}
	f = &p->files[p->nfiles];
	*f = (struct conf_file){ .is_buffer = !st };
	if (st) {
		f->has_id = true;
		f->dev = st->st_dev;
		f->ino = st->st_ino;
	}
	f->path = strdup(path);
	f->name = strdup(name);
	if (!f->path || !f->name) {
		free(f->path);
		free(f->name);
		conf_oom(p);
		return -ENOMEM;
	}
	return (ssize_t)p->nfiles++;
}

/* dir with its symbolic links resolved, or as it is if that fails. */
static char *conf_realdir(const char *dir)
{
	char *real = dir ? realpath(dir, NULL) : NULL;

	return real ? real : (dir ? strdup(dir) : NULL);
}

/* root: the tree of the includer when included by a relative pattern;
 * NULL: the file's own directory. */
static void conf_parse_data(struct conf_parser *p, size_t fi, const char *data,
			    size_t len, const char *root)
{
	struct conf_src src = { .name = p->files[fi].name, .up = p->src };

	src.depth = p->src ? p->src->depth + 1 : 0;
	src.dir = conf_dirname(p->files[fi].path);
	src.shown_dir = conf_dir_prefix(src.name);
	src.root = root ? strdup(root) : conf_realdir(src.dir);
	src.lx = lex_new(src.name, data, len, p->diags);
	if (src.dir && src.shown_dir && src.root && src.lx) {
		p->files[fi].reading = true;
		p->src = &src;
		conf_parse_statements(p);
		p->src = src.up;
		p->files[fi].reading = false;
	} else {
		conf_oom(p);
	}
	lex_free(src.lx);
	free(src.dir);
	free(src.shown_dir);
	free(src.root);
}

/* A file met before: an include cycle, or the same file twice. */
static bool conf_file_again(struct conf_parser *p, const struct stat *st,
			    const char *name, unsigned line, unsigned col)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct conf_file *f = &p->files[i];

		if (!f->has_id || f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		if (f->reading)
			conf_error(p, line, col,
				   "include cycle: '%s' is already being read",
				   name);
		else
			conf_error(p, line, col, "'%s' is already included",
				   name);
		return true;
	}
	return false;
}

void conf_read_file(struct conf_parser *p, const char *open_path,
		    const char *path, const char *name, const char *root,
		    const struct stat *want, unsigned line, unsigned col)
{
	char msg[CONF_MSG_MAX], *data = NULL;
	struct stat st;
	size_t len;
	ssize_t fi;
	int fd, r;

	fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				 (want ? O_NOFOLLOW : 0));
	if (fd < 0 || fstat(fd, &st) < 0) {
		diag_add(p->diags, name, 0, 0, false, "%s",
			 conf_strerror(errno, msg, sizeof(msg)));
		goto out;
	}
	if (want && !conf_fd_is(fd, &st, open_path, want)) {
		conf_error(p, line, col,
			   "'%s' changed while it was checked; not read", name);
		goto out;
	}
	if (conf_check_stat(&st, msg, sizeof(msg)) < 0) {
		diag_add(p->diags, name, 0, 0, false, "%s", msg);
		goto out;
	}
	if (line && conf_file_again(p, &st, name, line, col))
		goto out;
	r = conf_read_fd(fd, &st, &data, &len);
	if (r == -EFBIG)
		diag_add(p->diags, name, 0, 0, false,
			 "file too large (%zu bytes, limit %d)", len,
			 CONF_FILE_MAX);
	else if (r == -ENOMEM)
		conf_oom(p);
	else if (r < 0)
		diag_add(p->diags, name, 0, 0, false, "read error: %s",
			 conf_strerror(-r, msg, sizeof(msg)));
	if (r < 0)
		goto out;
	fi = conf_add_file(p, path, name, &st);
	if (fi >= 0)
		conf_parse_data(p, (size_t)fi, data, len, root);
out:
	free(data);
	if (fd >= 0)
		close(fd);
}

int conf_take_files(struct conf_parser *p)
{
	size_t n = 0;

	p->c->files = calloc(p->nfiles + 1, sizeof(*p->c->files));
	if (!p->c->files)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfiles; i++) {
		if (p->files[i].is_buffer)
			continue;
		p->c->files[n++] = p->files[i].path;
		p->files[i].path = NULL;
	}
	return 0;
}

void conf_parser_free(struct conf_parser *p)
{
	for (size_t i = 0; i < p->nseen; i++)
		free(p->seen[i].value);
	free(p->seen);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].name);
	}
	free(p->files);
}

void conf_parse_buffer(struct conf_parser *p, const char *name,
		       const char *data, size_t len)
{
	ssize_t fi;

	if (len > CONF_FILE_MAX) {
		diag_add(p->diags, name, 0, 0, false,
			 "file too large (%zu bytes, limit %d)", len,
			 CONF_FILE_MAX);
		return;
	}
	fi = conf_add_file(p, p->c->path, name, NULL);
	if (fi >= 0)
		conf_parse_data(p, (size_t)fi, data, len, NULL);
}

void conf_parse_file(struct conf_parser *p, const char *path, const char *name)
{
	conf_read_file(p, path, path, name, NULL, NULL, 0, 0);
}
