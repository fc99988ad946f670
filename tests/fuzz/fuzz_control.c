/* SPDX-License-Identifier: MIT */
/*
 * fuzz_control.c: the bytes a local client sends on the control socket
 * (zwgate/control.h), through control.c's framing, its JSON and every
 * command of api.c, into a real zwgated on the simulated network.
 *
 * The input is written to a connected client socket as it is (the
 * server sees it in whatever pieces the kernel gives), the client shuts
 * down its side, and reads until the server closes.  Beyond not
 * crashing, the server must keep its protocol: each line it sends is a
 * JSON object of at most ZWCTL_LINE_MAX bytes, and each request line
 * gets exactly one reply, unless the server dropped the client for a
 * line over the limit.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "zwgate/control.h"
#include "fuzz.h"

/* Loop turns to wait for the server to finish before giving up on it. */
#define FUZZ_TURNS_MAX 2000

struct client {
	int fd;
	char *in; /* what the server sent */
	size_t len, cap;
	bool eof;
};

static int client_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	fuzz_check(fd >= 0, "socket: %s", strerror(errno));
	fuzz_check(strlen(path) < sizeof(sa.sun_path), "socket path too long");
	strcpy(sa.sun_path, path);
	fuzz_check(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		   "connect %s: %s", path, strerror(errno));
	return fd;
}

/* Whatever the server has sent so far. */
static void client_read(struct client *c)
{
	ssize_t n;

	while (!c->eof) {
		if (c->cap - c->len < 4096) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			c->in = realloc(c->in, c->cap);
			fuzz_check(c->in, "out of memory");
		}
		n = read(c->fd, c->in + c->len, c->cap - c->len);
		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0 || errno != EAGAIN)
			c->eof = true;
		else
			return;
	}
}

/* Requests the server must answer: its non-blank lines (control.c). */
static size_t count_requests(const uint8_t *data, size_t size, bool *too_long)
{
	size_t n = 0, begin = 0;

	*too_long = false;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i - begin + 1 > ZWCTL_LINE_MAX)
			*too_long = true;
		for (size_t k = begin; k < i; k++)
			if (data[k] != ' ' && data[k] != '\t' &&
			    data[k] != '\r') {
				n++;
				break;
			}
		begin = i + 1;
	}
	return n;
}

/*
 * Every line a JSON object; returns the replies (not the progress).  A
 * server stopped while busy may have been cut in the middle of a line.
 */
static size_t check_lines(const struct client *c, bool finished)
{
	size_t replies = 0, begin = 0;
	json_t *j;

	for (size_t i = 0; i < c->len; i++) {
		if (c->in[i] != '\n')
			continue;
		fuzz_check(i - begin + 1 <= ZWCTL_LINE_MAX, "line too long");
		j = json_loadb(c->in + begin, i - begin, JSON_REJECT_DUPLICATES,
			       NULL);
		fuzz_check(json_is_object(j), "not a JSON object: %.*s",
			   (int)(i - begin > 200 ? 200 : i - begin),
			   c->in + begin);
		fuzz_check(json_object_get(j, "id"), "a line without an id");
		if (json_object_get(j, "ok"))
			replies++;
		else
			fuzz_check(json_object_get(j, "progress"),
				   "neither a reply nor progress");
		json_decref(j);
		begin = i + 1;
	}
	fuzz_check(!finished || begin == c->len, "an unterminated line");
	return replies;
}

/* Sends data while turning the loop: the server reads as we write. */
static void client_send(struct fuzz_daemon *f, struct client *c,
			const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	while (off < size && !c->eof) {
		n = send(c->fd, data + off, size - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break; /* the server dropped us */
		fuzz_daemon_turn(f, 1);
		client_read(c);
	}
	shutdown(c->fd, SHUT_WR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_daemon f;
	struct client c = { 0 };
	unsigned turns = 0;
	size_t want, got;
	bool too_long, finished;

	fuzz_daemon_start(&f);
	c.fd = client_connect(daemon_socket_path(f.d));
	client_send(&f, &c, data, size);
	while (!c.eof && turns++ < FUZZ_TURNS_MAX) {
		fuzz_daemon_turn(&f, 1);
		client_read(&c);
	}
	finished = c.eof;
	fuzz_daemon_stop(&f);
	client_read(&c);
	got = check_lines(&c, finished);
	want = count_requests(data, size, &too_long);
	/* A server that was still busy (a set waiting for the device) had
	 * its last replies cut off by the stop. */
	if (finished && !too_long)
		fuzz_check(got == want, "%zu replies to %zu requests", got,
			   want);
	close(c.fd);
	free(c.in);
	return 0;
}
