/* SPDX-License-Identifier: MIT */
/*
 * ctl_backup.c: zwgatectl backup FILE, the controller's NVM into a file.
 *
 * The daemon sends the NVM's bytes in base64 as progress lines ({"data":
 * ..., "offset": N}, in order) before its reply, which says how many
 * characters they make.  zwgatectl, as the user who runs it, writes them
 * to a temporary file next to FILE (mode 0600: the NVM holds the
 * network's keys), made before the request so that a path it cannot
 * write fails at once, not after the backup; the file takes FILE's name
 * only once whole and synced.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "ctl_int.h"
#include "ctl_tmp.h"

/* The most base64 taken (the daemon sends at most 512 KiB). */
#define CTL_DATA_MAX (1024u * 1024u)

static char *data;
static size_t have, cap;
static const char *path;
static char *tmp; /* the temporary file while it is not FILE */
static int fd = -1;

void ctl_data_take(const json_t *p)
{
	const char *s = json_string_value(json_object_get(p, "data"));
	const json_t *off = json_object_get(p, "offset");
	size_t n = s ? strlen(s) : 0;

	if (!s)
		return;
	if (!json_is_integer(off) ||
	    json_integer_value(off) != (json_int_t)have)
		ctl_die(CTL_EXIT_FAILED, "zwgated's data came out of order");
	if (n > CTL_DATA_MAX - have)
		ctl_die(CTL_EXIT_FAILED,
			"zwgated sent more than a backup holds");
	if (have + n > cap) {
		char *d = realloc(data, have + n);

		if (!d)
			ctl_die(CTL_EXIT_FAILED, "out of memory");
		data = d;
		cap = have + n;
	}
	memcpy(data + have, s, n);
	have += n;
}

static void drop_tmp(void)
{
	if (tmp)
		unlink(tmp);
}

json_t *ctl_build_backup(const struct ctl *ctl, char **argv, int argc)
{
	struct stat st;
	json_t *req;

	(void)ctl;
	(void)argc;
	path = argv[0];
	if (!*path)
		ctl_die(CTL_EXIT_USAGE, "backup: the file name is empty");
	/* What rename would refuse, refused before the radio goes off. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		ctl_die(CTL_EXIT_FAILED, "backup: %s is not a file", path);
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	}
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		int e = errno;

		free(tmp);
		tmp = NULL;
		ctl_die(CTL_EXIT_FAILED, "backup: cannot write next to %s: %s",
			path, strerror(e));
	}
	/* Killed while it waits (Ctrl-C, a closed pipe): no part of it
	 * left. */
	atexit(drop_tmp);
	ctl_tmp_guard(tmp);
	req = json_pack("{s:i,s:s}", "id", CTL_REQUEST_ID, "cmd", "backup");
	if (!req)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	return req;
}

static void write_all(const unsigned char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			ctl_die(CTL_EXIT_FAILED, "backup: writing %s: %s", tmp,
				strerror(errno));
		b += w;
		n -= (size_t)w;
	}
}

/* The directory's entry of FILE, on disk. */
static void sync_dir(void)
{
	char *copy = strdup(path);
	int d = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY) : -1;

	if (d >= 0) {
		(void)fsync(d);
		close(d);
	}
	free(copy);
}

void ctl_save_backup(json_t *r)
{
	json_int_t want = json_integer_value(json_object_get(r, "data_length"));
	unsigned char *out;
	long n;

	if (!have || want != (json_int_t)have || have % 4)
		ctl_die(CTL_EXIT_FAILED,
			"backup: the data came incomplete (%zu of %lld "
			"characters)",
			have, (long long)want);
	out = malloc(have / 4 * 3);
	if (!out)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	n = b64_decode(data, have, out);
	if (n < 0)
		ctl_die(CTL_EXIT_FAILED, "backup: the data is not base64");
	write_all(out, (size_t)n);
	/* Copies of the network's keys: gone from memory. */
	explicit_bzero(out, have / 4 * 3);
	explicit_bzero(data, have);
	free(out);
	if (fsync(fd) < 0 || close(fd) < 0)
		ctl_die(CTL_EXIT_FAILED, "backup: writing %s: %s", tmp,
			strerror(errno));
	fd = -1;
	if (rename(tmp, path) < 0)
		ctl_die(CTL_EXIT_FAILED, "backup: %s: %s", path,
			strerror(errno));
	ctl_tmp_release();
	free(tmp);
	tmp = NULL;
	sync_dir();
	if (json_object_set_new(r, "file", json_string(path)) < 0 ||
	    json_object_set_new(r, "bytes", json_integer(n)) < 0)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
}

void ctl_print_backup(const json_t *r)
{
	ctl_print_line(
	    "backup: %lld bytes of the controller's NVM in %s "
	    "(mode 0600: it holds the network's keys)",
	    (long long)json_integer_value(json_object_get(r, "bytes")),
	    json_string_value(json_object_get(r, "file")));
}
