/* SPDX-License-Identifier: MIT */
/*
 * control_io.c: one control client's bytes: reading with a line buffer
 * capped at ZWCTL_LINE_MAX, framing lines into requests, writing reply
 * and error lines with a bounded write queue, draining a client that
 * broke a rule (lingering close), and its memory's references.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zwgate/control.h"
#include "control.h"
#include "control_int.h"
#include "log.h"

/* Bytes queued to a client that does not read before we drop it. */
#define CONTROL_WRITEQ_MAX (1024 * 1024)
/* A client's line buffer starts this small and grows to ZWCTL_LINE_MAX. */
#define CONTROL_BUF_MIN 4096

struct control_write {
	uv_write_t req;
	struct control_client *cl;
	char *line;
};

static void client_free(struct control_client *cl)
{
	free(cl->buf);
	free(cl);
}

static void on_client_close(uv_handle_t *h)
{
	struct control_client *cl = h->data;
	struct control *c = cl->srv;

	cl->state = CONTROL_CLIENT_CLOSED;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	*cl->pprev = cl->next;
	cl->srv = NULL;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
	log_debug("control: client pid %ld closed", (long)cl->pid);
	if (--cl->refs == 0)
		client_free(cl);
	control_srv_maybe_free(c);
}

void control_client_close(struct control_client *cl)
{
	if (cl->state >= CONTROL_CLIENT_CLOSING)
		return;
	cl->state = CONTROL_CLIENT_CLOSING;
	uv_close((uv_handle_t *)&cl->pipe, on_client_close);
}

/*
 * A client closes once nothing more can come of it: a refused one when
 * its error line is written; one that shut down its side when every
 * reply it is owed (outstanding refs, writes in flight) is out.
 */
static void client_maybe_finish(struct control_client *cl)
{
	if (cl->writes)
		return;
	if ((cl->state == CONTROL_CLIENT_DRAINING && cl->eof) ||
	    (cl->state == CONTROL_CLIENT_OPEN && cl->eof && cl->refs == 1))
		control_client_close(cl);
}

static void on_write(uv_write_t *req, int status)
{
	struct control_write *w = (struct control_write *)req;
	struct control_client *cl = w->cl;

	free(w->line);
	free(w);
	cl->writes--;
	if (status < 0 && status != UV_ECANCELED)
		control_client_close(cl);
	else
		client_maybe_finish(cl);
}

static int client_write_line(struct control_client *cl, char *line, size_t len)
{
	static char newline[] = "\n";
	uv_stream_t *s = (uv_stream_t *)&cl->pipe;
	struct control_write *w;
	uv_buf_t bufs[2];
	int r;

	if (uv_stream_get_write_queue_size(s) + len + 1 > CONTROL_WRITEQ_MAX) {
		log_notice("control: dropping client pid %ld (uid %lu): it "
			   "does not read its replies",
			   (long)cl->pid, (unsigned long)cl->uid);
		control_client_close(cl);
		return -ENOBUFS;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cl = cl;
	w->line = line;
	bufs[0] = uv_buf_init(line, len);
	bufs[1] = uv_buf_init(newline, 1);
	r = uv_write(&w->req, s, bufs, 2, on_write);
	if (r < 0) {
		free(w);
		control_client_close(cl);
		return r;
	}
	cl->writes++;
	return 0;
}

static int client_write(struct control_client *cl, const json_t *msg);

/* The client gets an answer even when what it asked for is too large. */
static int client_write_too_large(struct control_client *cl, const json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	json_t *e;
	int r;

	/* An id that alone is too large must not bring us back here. */
	if (json_is_string(id) && json_string_length(id) > 256)
		id = NULL;
	e = json_pack("{s:O?,s:b,s:s,s:s}", "id", id, "ok", 0, "code", "E2BIG",
		      "error", "reply too large");
	r = e ? client_write(cl, e) : -ENOMEM;

	json_decref(e);
	return r < 0 ? r : -E2BIG;
}

static int client_write(struct control_client *cl, const json_t *msg)
{
	char *line;
	size_t len;
	int r;

	if (cl->state >= CONTROL_CLIENT_CLOSING)
		return -EPIPE;
	line = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(15));
	if (!line)
		return json_is_object(msg) ? -ENOMEM : -EINVAL;
	len = strlen(line);
	if (len + 1 > ZWCTL_LINE_MAX) {
		free(line);
		return client_write_too_large(cl, msg);
	}
	r = client_write_line(cl, line, len);
	if (r < 0)
		free(line);
	return r;
}

/* Error texts may quote the client's bytes: keep them printable ASCII. */
int control_client_error(struct control_client *cl, const json_t *id,
			 const char *code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	json_t *e;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	e = json_pack("{s:O?,s:b,s:s,s:s}", "id", id, "ok", 0, "code", code,
		      "error", msg);
	r = e ? client_write(cl, e) : -ENOMEM;
	json_decref(e);
	return r;
}

void control_client_drain(struct control_client *cl)
{
	if (cl->state != CONTROL_CLIENT_OPEN)
		return;
	cl->state = CONTROL_CLIENT_DRAINING;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
	cl->active_ms = uv_now(cl->srv->loop);
	control_sweep_arm(cl->srv);
	client_maybe_finish(cl);
}

static bool line_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static void client_line(struct control_client *cl, const char *s, size_t len)
{
	struct control *c = cl->srv;
	json_error_t err;
	json_t *req, *id, *cmd;

	if (line_blank(s, len))
		return;
	cl->active_ms = uv_now(c->loop);
	req = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
	if (!req) {
		control_client_error(cl, NULL, "EINVAL",
				     "not a JSON object: %s", err.text);
		return;
	}
	id = json_object_get(req, "id");
	cmd = json_object_get(req, "cmd");
	if (!json_is_object(req))
		control_client_error(cl, NULL, "EINVAL",
				     "not a JSON object: %s", json_kind(req));
	else if (id && !json_is_integer(id) && !json_is_string(id))
		control_client_error(cl, NULL, "EINVAL",
				     "\"id\" must be an integer or a string");
	else if (!json_is_string(cmd))
		control_client_error(cl, id, "EINVAL",
				     "\"cmd\" must be a string");
	else
		c->opts.on_request(c->opts.ctx, cl, req);
	json_decref(req);
}

static void client_too_large(struct control_client *cl)
{
	log_notice("control: client pid %ld (uid %lu) sent a line over %d "
		   "bytes; closing it",
		   (long)cl->pid, (unsigned long)cl->uid, ZWCTL_LINE_MAX);
	control_client_error(cl, NULL, "E2BIG",
			     "request too large (limit %d bytes)",
			     ZWCTL_LINE_MAX);
	control_client_drain(cl);
}

/* Hands every complete line to client_line; scans only the new bytes. */
static void client_take_lines(struct control_client *cl, size_t scan)
{
	size_t begin = 0;
	char *nl;

	while (cl->state == CONTROL_CLIENT_OPEN &&
	       (nl = memchr(cl->buf + scan, '\n', cl->len - scan))) {
		size_t end = (size_t)(nl - cl->buf);

		client_line(cl, cl->buf + begin, end - begin);
		begin = scan = end + 1;
	}
	if (cl->state != CONTROL_CLIENT_OPEN)
		return;
	cl->len -= begin;
	memmove(cl->buf, cl->buf + begin, cl->len);
	if (cl->len >= ZWCTL_LINE_MAX) {
		client_too_large(cl);
	} else if (!cl->len && cl->cap > CONTROL_BUF_MIN) {
		/* Idle clients keep no large buffer around. */
		free(cl->buf);
		cl->buf = NULL;
		cl->cap = 0;
	}
}

/*
 * We read straight into the line buffer, growing it by doubling up to
 * ZWCTL_LINE_MAX: the limit caps what a client can make us hold.
 */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char discard[4096];
	struct control_client *cl = h->data;

	if (cl->state == CONTROL_CLIENT_DRAINING) {
		*buf = uv_buf_init(discard, sizeof(discard));
		return;
	}

	if (cl->cap - cl->len < CONTROL_BUF_MIN && cl->cap < ZWCTL_LINE_MAX) {
		size_t cap = cl->cap ? cl->cap * 2 : CONTROL_BUF_MIN;
		char *p;

		if (cap > ZWCTL_LINE_MAX)
			cap = ZWCTL_LINE_MAX;
		p = realloc(cl->buf, cap);
		if (p) {
			cl->buf = p;
			cl->cap = cap;
		}
	}
	if (cl->buf)
		*buf = uv_buf_init(cl->buf + cl->len, cl->cap - cl->len);
	else
		*buf = uv_buf_init(NULL, 0);
}

/*
 * A client may shut down its side after its last request and still wait
 * for the replies (echo ... | nc -U); an unterminated last line counts.
 */
static void client_eof(struct control_client *cl)
{
	uv_read_stop((uv_stream_t *)&cl->pipe);
	if (cl->len) {
		client_line(cl, cl->buf, cl->len);
		cl->len = 0;
	}
	cl->eof = true;
	client_maybe_finish(cl);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct control_client *cl = s->data;
	size_t old = cl->len;

	if (nread == UV_EOF) {
		client_eof(cl);
	} else if (nread < 0) {
		control_client_close(cl);
	} else if (nread > 0 && cl->state == CONTROL_CLIENT_OPEN) {
		cl->len += (size_t)nread;
		client_take_lines(cl, old);
	}
}

int control_client_read_start(struct control_client *cl)
{
	return uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
}

int control_client_send(struct control_client *cl, const json_t *msg)
{
	if (!control_client_alive(cl))
		return -EPIPE;
	return client_write(cl, msg);
}

struct control_client *control_client_ref(struct control_client *cl)
{
	if (cl)
		cl->refs++;
	return cl;
}

/* Idle time counts from the last reply a client was owed. */
void control_client_unref(struct control_client *cl)
{
	if (!cl)
		return;
	if (--cl->refs == 0) {
		client_free(cl);
		return;
	}
	if (cl->refs == 1 && cl->state == CONTROL_CLIENT_OPEN) {
		cl->active_ms = uv_now(cl->srv->loop);
		client_maybe_finish(cl);
		if (cl->state == CONTROL_CLIENT_OPEN)
			control_sweep_arm(cl->srv);
	}
}

bool control_client_alive(const struct control_client *cl)
{
	return cl && cl->state == CONTROL_CLIENT_OPEN;
}

uid_t control_client_uid(const struct control_client *cl)
{
	return cl ? cl->uid : (uid_t)-1;
}
