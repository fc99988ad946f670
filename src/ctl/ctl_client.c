/* SPDX-License-Identifier: MIT */
/*
 * ctl_client.c: one exchange with zwgated on its control socket: connect
 * (with the reasons it may fail), send the request line, read lines until
 * our reply (printing progress meanwhile) within the timeout, and turn
 * the reply into output and an exit code.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <libgen.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_int.h"
#include "zwgate/control.h"

static void die_timeout(const struct ctl *ctl) __attribute__((noreturn));

static void die_timeout(const struct ctl *ctl)
{
	ctl_die(CTL_EXIT_TIMEOUT, "no answer from zwgated within %g s",
		ctl->timeout_s);
}

/*
 * The group that would let us in, for the hint of a refused connect: the
 * socket's own (the daemon gives it the group of control { group }), or,
 * when we cannot even look at it, that of its directory, which is then
 * what refused us.  The configured name is not ours to read: only the
 * file system says which group it is.
 */
static void ctl_denied_group(const char *path, char *buf, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct group *gr;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(path, &st) < 0 && stat(dirname(dir), &st) < 0) {
		snprintf(buf, len,
			 "the group of control { group } in "
			 "zwgate.conf");
		return;
	}
	gr = getgrgid(st.st_gid);
	if (gr)
		snprintf(buf, len, "group %s", gr->gr_name);
	else
		snprintf(buf, len, "group %lu", (unsigned long)st.st_gid);
}

/*
 * SO_SNDTIMEO bounds connect() too: with the daemon's backlog full a
 * connect to a Unix socket sleeps until there is room.
 */
int ctl_connect(const struct ctl *ctl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = ctl->socket;
	char group[128];
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		ctl_die(CTL_EXIT_USAGE, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		ctl_die(CTL_EXIT_FAILED, "socket: %s", strerror(errno));
	if (ctl->timeout_s > 0) {
		time_t sec = (time_t)ctl->timeout_s;
		struct timeval tv = {
			.tv_sec = sec,
			.tv_usec = (suseconds_t)((ctl->timeout_s - sec) * 1e6),
		};

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		ctl_die(CTL_EXIT_NOT_RUNNING,
			"zwgated is not running: no socket at %s", path);
	case ECONNREFUSED:
		ctl_die(CTL_EXIT_NOT_RUNNING,
			"zwgated is not running: nothing listens on %s", path);
	case EACCES:
	case EPERM:
		e = errno;
		ctl_denied_group(path, group, sizeof(group));
		ctl_die(CTL_EXIT_DENIED,
			"cannot connect to %s: %s (are you root or in %s?)",
			path, strerror(e), group);
	case EAGAIN:
	case EINPROGRESS:
		die_timeout(ctl);
	default:
		ctl_die(CTL_EXIT_FAILED, "cannot connect to %s: %s", path,
			strerror(errno));
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A refused client may find the socket closed before its request is
 * out; the daemon's reason is still waiting to be read, so a failed
 * send is not fatal here.
 */
void ctl_send_request(const struct ctl *ctl, int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die_timeout(ctl);
		if (n < 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void print_progress(const json_t *p)
{
	const json_t *text = json_object_get(p, "text");
	char buf[CTL_CELL_MAX * 2];

	if (!text)
		text = json_object_get(p, "message");
	ctl_fmt_json(json_is_string(text) ? text : p, buf, sizeof(buf));
	ctl_sanitize(buf);
	fprintf(stderr, "%s\n", buf);
}

/*
 * One line from the daemon: our reply (returned), our progress (printed;
 * *alive set), or something else (ignored).  A reply with "id": null
 * is ours too: it answers a request the daemon could not read, or the
 * connection itself (refused, too many clients).
 */
static json_t *take_line(const char *line, size_t len, bool *alive)
{
	json_t *m = json_loadb(line, len, 0, NULL);
	const json_t *id = json_object_get(m, "id");
	bool ours =
	    json_is_integer(id) && json_integer_value(id) == CTL_REQUEST_ID;

	if (ours && json_object_get(m, "progress")) {
		const json_t *p = json_object_get(m, "progress");

		if (json_object_get(p, "data"))
			ctl_data_take(p);
		else
			print_progress(p);
		*alive = true;
	} else if (json_object_get(m, "ok") &&
		   (ours || !id || json_is_null(id))) {
		return m;
	}
	json_decref(m);
	return NULL;
}

json_t *ctl_await_reply(const struct ctl *ctl, int fd)
{
	static char buf[ZWCTL_LINE_MAX];
	int64_t wait = (int64_t)(ctl->timeout_s * 1000);
	int64_t end = now_ms() + wait;
	size_t have = 0;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		bool alive = false;
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - buf);
			json_t *r = take_line(buf, len, &alive);

			if (r)
				return r;
			have -= len + 1;
			memmove(buf, nl + 1, have);
			if (alive)
				end = now_ms() + wait;
			continue;
		}
		if (have == sizeof(buf))
			ctl_die(CTL_EXIT_FAILED,
				"a line from zwgated is over %d bytes",
				ZWCTL_LINE_MAX);
		n = wait ? end - now_ms() : -1;
		if (wait && n <= 0)
			die_timeout(ctl);
		n = poll(&p, 1, n > INT32_MAX ? INT32_MAX : (int)n);
		if (n < 0 && errno != EINTR)
			ctl_die(CTL_EXIT_FAILED, "poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			ctl_die(
			    CTL_EXIT_FAILED,
			    "zwgated closed the connection without an answer");
		if (n < 0 && errno != EINTR)
			ctl_die(CTL_EXIT_FAILED, "reading from %s: %s",
				ctl->socket, strerror(errno));
		if (n > 0)
			have += (size_t)n;
	}
}

static bool field_is(const json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v && strcmp(v, want) == 0;
}

static int report_error(const struct ctl *ctl, json_t *reply)
{
	const json_t *err = json_object_get(reply, "error");
	/* An "id": null EACCES is the daemon's peer check (SO_PEERCRED). */
	bool denied = json_is_null(json_object_get(reply, "id")) &&
		      field_is(reply, "code", "EACCES");
	char buf[CTL_CELL_MAX * 4];

	if (json_is_string(err))
		snprintf(buf, sizeof(buf), "%s", json_string_value(err));
	else
		snprintf(buf, sizeof(buf), "zwgated sent a malformed reply");
	ctl_sanitize(buf);
	fprintf(stderr, "%s: %s\n", ctl_prog, buf);
	ctl_print_lines(stderr, json_object_get(reply, "details"));
	if (ctl->json) {
		json_object_del(reply, "id");
		ctl_print_json(reply);
	}
	return denied ? CTL_EXIT_DENIED : CTL_EXIT_FAILED;
}

int ctl_report(const struct ctl *ctl, const struct ctl_command *c,
	       json_t *reply)
{
	json_t *result = json_object_get(reply, "result");

	if (!json_is_true(json_object_get(reply, "ok")))
		return report_error(ctl, reply);
	if (c->save && !json_is_object(result))
		ctl_die(CTL_EXIT_FAILED, "zwgated's answer has no result");
	if (c->save)
		c->save(result);
	if (ctl->json || !result ||
	    (json_typeof(result) != c->result && !c->any_result))
		ctl_print_json(result);
	else
		c->print(result);
	return CTL_EXIT_OK;
}

/* The request as one protocol line, newline included. */
char *ctl_request_line(const json_t *req, size_t *len)
{
	char *s = json_dumps(req, JSON_COMPACT), *line;

	if (!s)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	*len = strlen(s) + 1;
	if (*len > ZWCTL_LINE_MAX)
		ctl_die(CTL_EXIT_USAGE, "request too large (limit %d bytes)",
			ZWCTL_LINE_MAX);
	line = realloc(s, *len + 1);
	if (!line)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	memcpy(line + *len - 1, "\n", 2);
	return line;
}
