/* SPDX-License-Identifier: MIT */
/*
 * ctl_firmware.c: zwgatectl firmware update NODE FILE [--target N].
 *
 * zwgatectl reads FILE as the user who runs it (zwgated never opens a
 * path a client names) and sends it in chunks of CTL_FW_CHUNK bytes, as
 * base64, each a firmware-upload request on one connection; the daemon
 * names the upload in its first reply.  The firmware-update request that
 * follows is the command's own: its progress and its end are printed as
 * a health check's are.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "ctl_int.h"
#include "zwgate/control.h"

/* 32 KiB of image: 43,692 characters of base64, well in a line. */
#define CTL_FW_CHUNK (32u * 1024u)
/* What zwgated takes (ZW_FIRMWARE_MAX): refused here before sending. */
#define CTL_FW_MAX (4u * 1024u * 1024u)

_Static_assert((CTL_FW_CHUNK + 2) / 3 * 4 + 512 < ZWCTL_LINE_MAX,
	       "a chunk's request fits one line");

/* FILE whole, as the user who runs us. */
static unsigned char *read_image(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	unsigned char *buf;
	struct stat st;
	size_t have = 0;

	if (fd < 0)
		ctl_die(CTL_EXIT_FAILED, "firmware: %s: %s", path,
			strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		ctl_die(CTL_EXIT_FAILED, "firmware: %s is not a file", path);
	if (st.st_size == 0)
		ctl_die(CTL_EXIT_FAILED, "firmware: %s is empty", path);
	if (st.st_size > CTL_FW_MAX)
		ctl_die(CTL_EXIT_FAILED,
			"firmware: %s is %lld bytes: zwgate takes at most %u "
			"(4 MiB)",
			path, (long long)st.st_size, CTL_FW_MAX);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ctl_die(CTL_EXIT_FAILED, "firmware: reading %s: %s",
				path, n < 0 ? strerror(errno) : "it shrank");
		have += (size_t)n;
	}
	close(fd);
	*len = have;
	return buf;
}

/* One firmware-upload exchange; an error reply ends zwgatectl with it. */
static json_int_t send_chunk(const struct ctl *ctl, int fd, json_t *req,
			     const unsigned char *p, size_t n, size_t off)
{
	const struct ctl_command *c = ctl_command_find("firmware");
	char *b64 = b64_encode(p, n), *line;
	json_t *reply;
	json_int_t id;
	size_t len;

	if (!b64)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	ctl_json_set(req, "offset", json_integer((json_int_t)off));
	ctl_json_set(req, "data", json_string(b64));
	free(b64);
	line = ctl_request_line(req, &len);
	ctl_send_request(ctl, fd, line, len);
	free(line);
	reply = ctl_await_reply(ctl, fd);
	if (!json_is_true(json_object_get(reply, "ok")))
		exit(ctl_report(ctl, c, reply));
	id = json_integer_value(
	    json_object_get(json_object_get(reply, "result"), "upload"));
	json_decref(reply);
	if (id < 1)
		ctl_die(CTL_EXIT_FAILED, "zwgated's answer has no upload id");
	return id;
}

json_t *ctl_build_firmware(const struct ctl *ctl, char **argv, int argc)
{
	const char *node = argv[1], *path = argv[2], *name;
	unsigned char *image;
	json_t *req, *up;
	json_int_t id = 0;
	size_t len;
	int fd;

	(void)argc;
	if (strcmp(argv[0], "update") != 0) {
		fprintf(stderr, "%s: firmware: unknown subcommand '%s'\n",
			ctl_prog, argv[0]);
		ctl_usage("firmware", CTL_FIRMWARE_ARGS);
	}
	name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	image = read_image(path, &len);
	up = json_pack("{s:i,s:s,s:s,s:s,s:I}", "id", CTL_REQUEST_ID, "cmd",
		       "firmware-upload", "node", node, "file", name, "size",
		       (json_int_t)len);
	req = json_pack("{s:i,s:s,s:s,s:s,s:I}", "id", CTL_REQUEST_ID, "cmd",
			"firmware-update", "node", node, "file", name, "size",
			(json_int_t)len);
	if (!up || !req)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	fd = ctl_connect(ctl);
	for (size_t off = 0; off < len; off += CTL_FW_CHUNK) {
		size_t n = len - off < CTL_FW_CHUNK ? len - off : CTL_FW_CHUNK;

		id = send_chunk(ctl, fd, up, image + off, n, off);
		if (off == 0)
			ctl_json_set(up, "upload", json_integer(id));
	}
	close(fd);
	json_decref(up);
	free(image);
	ctl_json_set(req, "upload", json_integer(id));
	if (ctl->target >= 0)
		ctl_json_set(req, "target", json_integer(ctl->target));
	return req;
}
