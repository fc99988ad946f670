/* SPDX-License-Identifier: MIT */
/*
 * The control server on a real loop and a real socket in a temporary
 * directory.  Clients are non-blocking sockets of the same thread; the
 * loop is pumped (UV_RUN_NOWAIT) while a client waits for bytes.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zwgate/control.h"
#include "control.h"
#include "testutil.h"

#define WAIT_MS	   3000
#define CLIENT_BUF (256 * 1024)

struct exchange;

struct fixture {
	uv_loop_t loop;
	char dir[64];
	char path[128];
	struct control *ctl;
	unsigned requests;
	int last_send;
	int first_err; /* first failed send of a flood */
	uid_t last_uid;
	unsigned pending;		 /* delayed replies not sent yet */
	const struct exchange *exchange; /* test_exchange's case */
};

struct client {
	int fd;
	size_t len;
	char buf[CLIENT_BUF];
};

struct delayed {
	uv_timer_t timer;
	struct fixture *f;
	struct control_client *cl;
	json_t *id;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int reply(struct control_client *cl, json_t *id, json_t *result)
{
	json_t *r =
	    json_pack("{s:O?,s:b,s:o}", "id", id, "ok", 1, "result", result);
	int ret = control_client_send(cl, r);

	json_decref(r);
	return ret;
}

static void delayed_free(uv_handle_t *h)
{
	free(h->data);
}

static void delayed_fire(uv_timer_t *t)
{
	struct delayed *d = t->data;

	d->f->last_send = reply(d->cl, d->id, json_string("late"));
	d->f->pending--;
	control_client_unref(d->cl);
	json_decref(d->id);
	uv_close((uv_handle_t *)t, delayed_free);
}

static void start_delayed(struct fixture *f, struct control_client *cl,
			  json_t *req)
{
	struct delayed *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->f = f;
	d->cl = control_client_ref(cl);
	d->id = json_incref(json_object_get(req, "id"));
	d->timer.data = d;
	uv_timer_init(&f->loop, &d->timer);
	uv_timer_start(&d->timer, delayed_fire,
		       json_integer_value(json_object_get(req, "ms")), 0);
	f->pending++;
}

/* Replies fill the socket and then our write queue: nobody reads them. */
static void flood(struct fixture *f, struct control_client *cl)
{
	char *s = malloc(60000);

	assert_non_null(s);
	memset(s, 'f', 59999);
	s[59999] = '\0';
	for (int i = 0; i < 64 && !f->first_err; i++) {
		int r = reply(cl, NULL, json_string(s));

		if (r < 0)
			f->first_err = r;
	}
	free(s);
}

static void big(struct fixture *f, struct control_client *cl, json_t *req)
{
	size_t n = (size_t)json_integer_value(json_object_get(req, "n"));
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'b', n);
	s[n] = '\0';
	f->last_send = reply(cl, json_object_get(req, "id"), json_string(s));
	free(s);
}

static void on_request(void *ctx, struct control_client *cl, json_t *req)
{
	struct fixture *f = ctx;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *id = json_object_get(req, "id");

	f->requests++;
	f->last_uid = control_client_uid(cl);
	if (strcmp(cmd, "delay") == 0)
		start_delayed(f, cl, req);
	else if (strcmp(cmd, "flood") == 0)
		flood(f, cl);
	else if (strcmp(cmd, "big") == 0)
		big(f, cl, req);
	else if (strcmp(cmd, "echo") == 0)
		f->last_send = reply(cl, id, json_deep_copy(req));
	else
		f->last_send = reply(cl, id, json_pack("{s:s}", "cmd", cmd));
}

static int start(struct fixture *f, unsigned max, unsigned idle)
{
	struct control_opts o = {
		.max_clients = max,
		.idle_timeout_s = idle,
		.group = (gid_t)-1,
		.on_request = on_request,
		.ctx = f,
	};

	return control_start(&f->loop, f->path, &o, &f->ctl);
}

/* *state: the case of test_exchange, or NULL. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->exchange = *state;
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "control"), 0);
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, ZWCTL_SOCKET_NAME);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	control_stop(f->ctl);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	assert_int_equal(f->pending, 0);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* rmdir, not tu_rm_rf: the server must leave nothing behind. */
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* One turn of the loop, after waiting a little for it or for fd. */
static void step(struct fixture *f, int fd)
{
	struct pollfd p[2] = {
		{ .fd = uv_backend_fd(&f->loop), .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};
	int t = uv_backend_timeout(&f->loop);

	poll(p, fd >= 0 ? 2 : 1, t < 0 || t > 5 ? 5 : t);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void pump(struct fixture *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		step(f, -1);
}

static struct client *cl_connect(struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	strcpy(sa.sun_path, f->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	return c;
}

static void cl_close(struct client *c)
{
	if (c) {
		close(c->fd);
		free(c);
	}
}

static void cl_send(struct fixture *f, struct client *c, const char *s,
		    size_t n)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

		if (w < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_true(now_ms() < end);
			step(f, -1);
			continue;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void cl_puts(struct fixture *f, struct client *c, const char *s)
{
	cl_send(f, c, s, strlen(s));
}

/*
 * The next line from the server as JSON; NULL when the server closed
 * the connection (*closed set) or nothing came within ms.
 */
static json_t *cl_read(struct fixture *f, struct client *c, unsigned ms,
		       bool *closed)
{
	uint64_t end = now_ms() + ms;

	*closed = false;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - c->buf);
			json_t *j = json_loadb(c->buf, len, 0, NULL);

			assert_non_null(j);
			c->len -= len + 1;
			memmove(c->buf, nl + 1, c->len);
			return j;
		}
		assert_true(c->len < sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			*closed = true;
			return NULL;
		}
		assert_int_equal(errno, EAGAIN);
		if (now_ms() >= end)
			return NULL;
		step(f, c->fd);
	}
}

static json_t *cl_reply(struct fixture *f, struct client *c)
{
	bool closed;
	json_t *j = cl_read(f, c, WAIT_MS, &closed);

	assert_false(closed);
	assert_non_null(j);
	return j;
}

/* Whether the server closes c within ms, whatever it sends first. */
static bool cl_closed(struct fixture *f, struct client *c, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	bool closed = false;
	json_t *j;

	do {
		j = cl_read(f, c, (unsigned)(end - now_ms()), &closed);
		json_decref(j);
	} while (j && now_ms() < end);
	return closed;
}

static void assert_error(json_t *r, const char *code, const char *prefix)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "code")),
			    code);
	assert_non_null(e);
	assert_memory_equal(e, prefix, strlen(prefix));
}

static json_int_t reply_id(json_t *r)
{
	assert_true(json_is_integer(json_object_get(r, "id")));
	return json_integer_value(json_object_get(r, "id"));
}

/* A server with room for 4 clients, idle after 60 s, and one client. */
static struct client *start_one(struct fixture *f)
{
	assert_int_equal(start(f, 4, 60), 0);
	return cl_connect(f);
}

/* The next reply on c answers the request with this id. */
static void expect_id(struct fixture *f, struct client *c, json_int_t id)
{
	json_t *r = cl_reply(f, c);

	assert_int_equal(reply_id(r), id);
	json_decref(r);
}

static void assert_echo_works(struct fixture *f, struct client *c, int id)
{
	char line[64];
	json_t *r;

	snprintf(line, sizeof(line), "{\"id\":%d,\"cmd\":\"ping\"}\n", id);
	cl_puts(f, c, line);
	r = cl_reply(f, c);
	assert_int_equal(reply_id(r), id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

/*
 * The request/reply cases: each runs on a server of its own, as one
 * client that sends its bytes in one write and reads the replies in
 * order; then nothing more comes within 100 ms, the handler was called
 * `requests` times, by us, and the client still gets an answer.
 */
struct want {
	const char *id;	    /* JSON text of the reply's id: "7", "null" */
	const char *code;   /* an error reply's code; NULL: ok */
	const char *error;  /* the error text starts with this */
	bool detail;	    /* and goes on after it */
	const char *result; /* JSON text the ok reply's result equals */
	size_t result_len;  /* or: a string result of this length */
};

struct exchange {
	const char *name;
	const char *send;
	struct want want[3]; /* in order; an id of NULL ends them */
	unsigned requests;   /* calls of the handler */
	bool check_send;     /* then the handler's last send returned */
	int send_rc;
};

/* A reply: ok with this result, or this error. */
#define OK(i, res)                         \
	{                                  \
		.id = (i), .result = (res) \
	}
#define ERR(i, c, e)                                 \
	{                                            \
		.id = (i), .code = (c), .error = (e) \
	}

static const struct exchange exchanges[] = {
	{ .name = "reply_same_id",
	  .send = "{\"id\":7,\"cmd\":\"echo\",\"x\":[1,\"é\"]}\n",
	  .want = { OK("7", "{\"id\":7,\"cmd\":\"echo\",\"x\":[1,\"é\"]}") },
	  .requests = 1 },
	{ .name = "reply_same_string_id",
	  .send = "{\"cmd\":\"echo\",\"id\":\"abc\"}\n",
	  .want = { OK("\"abc\"", "{\"cmd\":\"echo\",\"id\":\"abc\"}") },
	  .requests = 1 },
	{ .name = "two_in_one_write",
	  .send = "{\"id\":1,\"cmd\":\"a\"}\n{\"id\":2,\"cmd\":\"b\"}\n",
	  .want = { OK("1", "{\"cmd\":\"a\"}"), OK("2", "{\"cmd\":\"b\"}") },
	  .requests = 2 },
	{ .name = "bad_json",
	  .send = "{nope\n",
	  .want = { { .id = "null",
		      .code = "EINVAL",
		      .error = "not a JSON object: ",
		      .detail = true } } },
	{ .name = "duplicate_key",
	  .send = "{\"id\":1,\"id\":2,\"cmd\":\"x\"}\n",
	  .want = { ERR("null", "EINVAL", "not a JSON object: ") } },
	/* Bytes that are not UTF-8 are quoted back as printable ASCII. */
	{ .name = "not_utf8",
	  .send = "\"\xff\xfe\x01\"\n",
	  .want = { ERR("null", "EINVAL", "not a JSON object: ") } },
	{ .name = "array",
	  .send = "[1,2]\n",
	  .want = { ERR("null", "EINVAL", "not a JSON object: an array") } },
	{ .name = "number",
	  .send = "42\n",
	  .want = { ERR("null", "EINVAL", "not a JSON object: ") } },
	{ .name = "missing_cmd",
	  .send = "{\"id\":5}\n",
	  .want = { ERR("5", "EINVAL", "\"cmd\"") } },
	{ .name = "cmd_not_string",
	  .send = "{\"id\":\"s\",\"cmd\":3}\n",
	  .want = { ERR("\"s\"", "EINVAL", "\"cmd\"") } },
	{ .name = "id_not_integer_or_string",
	  .send = "{\"id\":[1],\"cmd\":\"x\"}\n{\"id\":1.5,\"cmd\":\"x\"}\n",
	  .want = { ERR("null", "EINVAL", "\"id\""),
		    ERR("null", "EINVAL", "\"id\"") } },
	{ .name = "blank_lines",
	  .send = "\n  \r\n\t\n{\"id\":1,\"cmd\":\"x\"}\r\n\n",
	  .want = { OK("1", "{\"cmd\":\"x\"}") },
	  .requests = 1 },
	{ .name = "reply_too_large",
	  .send = "{\"id\":9,\"cmd\":\"big\",\"n\":70000}\n",
	  .want = { ERR("9", "E2BIG", "reply too large") },
	  .requests = 1,
	  .check_send = true,
	  .send_rc = -E2BIG },
	/* The client goes on after a reply too large for it. */
	{ .name = "too_large_then_fits",
	  .send = "{\"id\":9,\"cmd\":\"big\",\"n\":70000}\n"
		  "{\"id\":10,\"cmd\":\"big\",\"n\":60000}\n",
	  .want = { ERR("9", "E2BIG", "reply too large"),
		    { .id = "10", .result_len = 60000 } },
	  .requests = 2,
	  .check_send = true,
	  .send_rc = 0 },
};

static void check_want(json_t *r, const struct want *w)
{
	json_t *id = json_loads(w->id, JSON_DECODE_ANY, NULL);
	json_t *result = json_object_get(r, "result");

	assert_non_null(id);
	assert_true(json_equal(json_object_get(r, "id"), id));
	json_decref(id);
	if (w->code) {
		assert_error(r, w->code, w->error);
		if (w->detail)
			assert_true(strlen(json_string_value(json_object_get(
					r, "error"))) > strlen(w->error));
		return;
	}
	assert_true(json_is_true(json_object_get(r, "ok")));
	if (w->result) {
		json_t *want = json_loads(w->result, 0, NULL);

		assert_non_null(want);
		assert_true(json_equal(result, want));
		json_decref(want);
	}
	if (w->result_len)
		assert_int_equal(json_string_length(result), w->result_len);
}

static void test_exchange(void **state)
{
	struct fixture *f = *state;
	const struct exchange *x = f->exchange;
	struct client *c;
	bool closed;
	json_t *r;

	c = start_one(f);
	cl_puts(f, c, x->send);
	for (const struct want *w = x->want; w->id; w++) {
		r = cl_reply(f, c);
		check_want(r, w);
		json_decref(r);
	}
	if (x->check_send)
		assert_int_equal(f->last_send, x->send_rc);
	assert_null(cl_read(f, c, 100, &closed));
	assert_false(closed);
	assert_int_equal(f->requests, x->requests);
	assert_int_equal(control_client_count(f->ctl), 1);
	assert_echo_works(f, c, 1000);
	assert_int_equal(f->requests, x->requests + 1);
	assert_int_equal(f->last_uid, getuid());
	cl_close(c);
}

static void test_split_request(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c, "{\"id\":3,\"cm");
	pump(f, 50);
	assert_int_equal(f->requests, 0);
	cl_puts(f, c, "d\":\"echo\"}");
	pump(f, 50);
	assert_int_equal(f->requests, 0);
	cl_puts(f, c, "\n{\"id\":4,");
	expect_id(f, c, 3);
	cl_puts(f, c, "\"cmd\":\"x\"}\n");
	expect_id(f, c, 4);
	assert_int_equal(f->requests, 2);
	cl_close(c);
}

/* A line of exactly n bytes with its newline. */
static char *line_of(size_t n, int id)
{
	char *s = malloc(n + 1);
	int head;

	assert_non_null(s);
	head = sprintf(s, "{\"id\":%d,\"cmd\":\"pad\",\"p\":\"", id);
	memset(s + head, 'p', n - (size_t)head - 3);
	memcpy(s + n - 3, "\"}\n", 4);
	return s;
}

static void test_line_at_limit(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	char *s;
	json_t *r;

	c = start_one(f);
	s = line_of(ZWCTL_LINE_MAX, 1);
	cl_puts(f, c, s);
	free(s);
	r = cl_reply(f, c);
	assert_int_equal(reply_id(r), 1);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_echo_works(f, c, 2);

	s = line_of(ZWCTL_LINE_MAX + 1, 3);
	cl_puts(f, c, s);
	free(s);
	r = cl_reply(f, c);
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_error(r, "E2BIG", "request too large (limit 65536 bytes)");
	json_decref(r);
	assert_true(cl_closed(f, c, WAIT_MS));
	assert_int_equal(f->requests, 2);
	cl_close(c);
}

static void test_oversized_line(void **state)
{
	struct fixture *f = *state;
	struct client *c, *other;
	size_t n = ZWCTL_LINE_MAX + 4000;
	char *s = malloc(n);
	json_t *r;

	assert_int_equal(start(f, 4, 60), 0);
	other = cl_connect(f);
	c = cl_connect(f);
	assert_non_null(s);
	memset(s, 'x', n);
	cl_send(f, c, s, n);
	free(s);
	r = cl_reply(f, c);
	assert_error(r, "E2BIG", "request too large");
	json_decref(r);
	assert_true(cl_closed(f, c, WAIT_MS));
	assert_int_equal(control_client_count(f->ctl), 1);
	assert_echo_works(f, other, 1);
	cl_close(c);
	cl_close(other);
}

static void test_client_limit(void **state)
{
	struct fixture *f = *state;
	struct client *c[4];
	json_t *r;

	assert_int_equal(start(f, 2, 60), 0);
	c[0] = cl_connect(f);
	assert_echo_works(f, c[0], 1);
	c[1] = cl_connect(f);
	assert_echo_works(f, c[1], 2);
	c[2] = cl_connect(f);
	cl_puts(f, c[2], "{\"id\":3,\"cmd\":\"x\"}\n");
	r = cl_reply(f, c[2]);
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_error(r, "EBUSY", "too many control clients (limit 2)");
	json_decref(r);
	assert_true(cl_closed(f, c[2], WAIT_MS));
	assert_int_equal(control_client_count(f->ctl), 2);
	assert_int_equal(f->requests, 2);

	cl_close(c[0]);
	for (uint64_t end = now_ms() + WAIT_MS;
	     control_client_count(f->ctl) > 1 && now_ms() < end;)
		step(f, -1);
	assert_int_equal(control_client_count(f->ctl), 1);
	c[3] = cl_connect(f);
	assert_echo_works(f, c[3], 4);
	assert_echo_works(f, c[1], 5);
	cl_close(c[1]);
	cl_close(c[2]);
	cl_close(c[3]);
}

static void test_set_opts(void **state)
{
	struct fixture *f = *state;
	struct control_opts o = { .max_clients = 1,
				  .idle_timeout_s = 60,
				  .group = (gid_t)-1,
				  .on_request = on_request,
				  .ctx = f };
	struct client *a, *b;
	json_t *r;

	assert_int_equal(start(f, 4, 60), 0);
	a = cl_connect(f);
	assert_echo_works(f, a, 1);
	control_set_opts(f->ctl, &o);
	b = cl_connect(f);
	r = cl_reply(f, b);
	assert_error(r, "EBUSY", "too many control clients (limit 1)");
	json_decref(r);
	assert_echo_works(f, a, 2);
	cl_close(a);
	cl_close(b);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	struct client *idle, *busy;
	uint64_t t0 = now_ms(), t;
	json_t *r;

	assert_int_equal(start(f, 4, 1), 0);
	idle = cl_connect(f);
	busy = cl_connect(f);
	/* Owed a reply past the timeout: stays until it has it. */
	cl_puts(f, busy, "{\"id\":1,\"cmd\":\"delay\",\"ms\":1500}\n");
	assert_true(cl_closed(f, idle, WAIT_MS));
	t = now_ms() - t0;
	assert_true(t >= 900 && t < 1800);
	r = cl_reply(f, busy);
	assert_int_equal(reply_id(r), 1);
	assert_string_equal(json_string_value(json_object_get(r, "result")),
			    "late");
	json_decref(r);
	t = now_ms();
	assert_true(cl_closed(f, busy, WAIT_MS));
	t = now_ms() - t;
	assert_true(t >= 900 && t < 1800);
	assert_int_equal(control_client_count(f->ctl), 0);
	cl_close(idle);
	cl_close(busy);
}

static void test_delayed_reply_order(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c,
		"{\"id\":1,\"cmd\":\"delay\",\"ms\":100}\n"
		"{\"id\":2,\"cmd\":\"x\"}\n");
	expect_id(f, c, 2);
	expect_id(f, c, 1);
	assert_int_equal(f->last_send, 0);
	cl_close(c);
}

static void wait_requests(struct fixture *f, unsigned n)
{
	for (uint64_t end = now_ms() + WAIT_MS;
	     f->requests < n && now_ms() < end;)
		step(f, -1);
	assert_int_equal(f->requests, n);
}

static void wait_idle(struct fixture *f)
{
	for (uint64_t end = now_ms() + WAIT_MS;
	     (f->pending || control_client_count(f->ctl)) && now_ms() < end;)
		step(f, -1);
	assert_int_equal(f->pending, 0);
	assert_int_equal(control_client_count(f->ctl), 0);
}

/*
 * A peer that went away while owed a reply: EOF alone may be a half
 * close, so the reply is written and fails; then the client goes.
 */
static void test_delayed_reply_gone(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c, "{\"id\":1,\"cmd\":\"delay\",\"ms\":150}\n");
	wait_requests(f, 1);
	assert_int_equal(f->pending, 1);
	cl_close(c);
	pump(f, 50);
	assert_int_equal(control_client_count(f->ctl), 1);
	wait_idle(f);
}

/* The server closed the client (after its 1 s linger) before its reply was
 * ready. */
static void test_delayed_reply_closed(void **state)
{
	struct fixture *f = *state;
	size_t n = ZWCTL_LINE_MAX + 10;
	char *s = malloc(n);
	struct client *c;

	assert_non_null(s);
	memset(s, 'x', n);
	c = start_one(f);
	cl_puts(f, c, "{\"id\":1,\"cmd\":\"delay\",\"ms\":2500}\n");
	wait_requests(f, 1);
	cl_send(f, c, s, n);
	free(s);
	assert_true(cl_closed(f, c, WAIT_MS));
	assert_int_equal(f->pending, 1);
	wait_idle(f);
	assert_int_equal(f->last_send, -EPIPE);
	cl_close(c);
}

/* Stopping with a reply still owed: the client memory outlives it. */
static void test_stop_with_pending(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c, "{\"id\":1,\"cmd\":\"delay\",\"ms\":50}\n");
	wait_requests(f, 1);
	assert_int_equal(f->pending, 1);
	control_stop(f->ctl);
	f->ctl = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->pending, 0);
	assert_int_equal(f->last_send, -EPIPE);
	assert_true(cl_closed(f, c, WAIT_MS));
	cl_close(c);
}

static void test_half_close(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c, "{\"id\":1,\"cmd\":\"delay\",\"ms\":100}\n{\"id\":2,");
	cl_puts(f, c, "\"cmd\":\"x\"}");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	expect_id(f, c, 2);
	expect_id(f, c, 1);
	assert_true(cl_closed(f, c, WAIT_MS));
	cl_close(c);
}

static void test_slow_reader_dropped(void **state)
{
	struct fixture *f = *state;
	struct client *c;

	c = start_one(f);
	cl_puts(f, c, "{\"id\":1,\"cmd\":\"flood\"}\n");
	for (uint64_t end = now_ms() + WAIT_MS;
	     !f->first_err && now_ms() < end;)
		step(f, -1);
	assert_int_equal(f->first_err, -ENOBUFS);
	pump(f, 20);
	assert_int_equal(control_client_count(f->ctl), 0);
	assert_true(cl_closed(f, c, WAIT_MS));
	cl_close(c);
}

static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	struct stat st;

	make_stale_socket(f->path);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	c = start_one(f);
	assert_echo_works(f, c, 1);
	cl_close(c);
}

static void test_live_socket(void **state)
{
	struct fixture *f = *state;
	struct control *other = NULL;
	struct control_opts o = { .group = (gid_t)-1,
				  .on_request = on_request,
				  .ctx = f };
	struct client *c;
	char path[256];
	int fd;

	assert_int_equal(start(f, 4, 60), 0);
	assert_int_equal(control_start(&f->loop, f->path, &o, &other),
			 -EADDRINUSE);
	assert_null(other);
	c = cl_connect(f);
	assert_echo_works(f, c, 1);
	cl_close(c);

	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(control_start(&f->loop, path, &o, &other), -EEXIST);
	assert_int_equal(unlink(path), 0);

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(control_start(&f->loop, path, &o, &other),
			 -ENAMETOOLONG);
	o.on_request = NULL;
	assert_int_equal(control_start(&f->loop, f->path, &o, &other), -EINVAL);
	assert_null(other);
}

static void check_mode(struct fixture *f, mode_t mask)
{
	mode_t old = umask(mask);
	struct stat st;

	assert_int_equal(start(f, 4, 60), 0);
	umask(old);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	control_stop(f->ctl);
	f->ctl = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_socket_mode(void **state)
{
	struct fixture *f = *state;

	check_mode(f, 0);
	check_mode(f, 077);
	check_mode(f, 022);
}

/* Nothing the server opened may leak into a child process. */
static void test_cloexec(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	unsigned sockets = 0;

	c = start_one(f);
	assert_echo_works(f, c, 1);
	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		sockets++;
		assert_true(fl & FD_CLOEXEC);
	}
	assert_true(sockets >= 3); /* listener, accepted, client */
	cl_close(c);
}

static void test_stop_unlinks(void **state)
{
	struct fixture *f = *state;
	struct client *c;
	struct stat st;

	c = start_one(f);
	assert_echo_works(f, c, 1);
	control_stop(f->ctl);
	control_stop(NULL);
	f->ctl = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_true(cl_closed(f, c, WAIT_MS));
	cl_close(c);
}

/* A successor's socket at the same path is not ours to unlink. */
static void test_stop_spares_successor(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(start(f, 4, 60), 0);
	assert_int_equal(unlink(f->path), 0);
	make_stale_socket(f->path);
	control_stop(f->ctl);
	f->ctl = NULL;
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(unlink(f->path), 0);
}

struct identity {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[2];
};

/* In a child: become id, ask once, write the reply line to out. */
static void child_ask(const char *path, const struct identity *id, int out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char req[] = "{\"id\":1,\"cmd\":\"x\"}\n";
	char buf[512];
	ssize_t n;
	int fd;

	alarm(5);
	if (setgroups(id->ngroups, id->groups) < 0 || setgid(id->gid) < 0 ||
	    setuid(id->uid) < 0)
		_exit(10);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(11);
	/* A refused client may find the socket closed before it writes. */
	if (write(fd, req, sizeof(req) - 1) < 0 && errno != EPIPE)
		_exit(12);
	n = read(fd, buf, sizeof(buf));
	if (n <= 0 || write(out, buf, (size_t)n) != n)
		_exit(13);
	_exit(0);
}

/*
 * Whether this kernel interface reports a peer's supplementary groups:
 * a child in groups 7 and 4242 asks SO_PEERGROUPS of its own socket
 * pair.  qemu-user (7.2) does not translate it: one group comes back
 * as if it were an int, two fail with ERANGE at any length, so the
 * tests run under it for ARM cannot tell a member from a stranger.
 */
static bool peergroups_work(void)
{
	const gid_t g[2] = { 7, 4242 };
	int status, sv[2];
	pid_t pid = fork();

	if (pid == 0) {
		gid_t got[8];
		socklen_t len = sizeof(got);

		if (setgroups(2, g) < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    getsockopt(sv[0], SOL_SOCKET, SO_PEERGROUPS, got, &len) < 0)
			_exit(1);
		_exit(len == sizeof(g) && got[0] == g[0] && got[1] == g[1] ? 0
									   : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The reply a client running as id gets, pumping the loop meanwhile. */
static json_t *ask_as(struct fixture *f, const struct identity *id)
{
	char buf[512];
	size_t len = 0;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_ask(f->path, id, p[1]);
	}
	close(p[1]);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end;) {
		n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		else
			step(f, p[0]);
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	buf[len] = '\0';
	return json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
}

/*
 * Real peers of other users, when we may become them.  The socket is
 * made world-writable here so that SO_PEERCRED, not the file mode, is
 * what decides.
 */
static void test_peer_refused(void **state)
{
	struct fixture *f = *state;
	const struct identity nobody = { 65534, 65534, 0, { 0 } };
	const struct identity member = { 65534, 65534, 2, { 7, 4242 } };
	const struct identity primary = { 65534, 4242, 0, { 0 } };
	const struct identity other = { 65534, 65534, 2, { 7, 8 } };
	struct control_opts o = { .max_clients = 4,
				  .idle_timeout_s = 60,
				  .group = 4242,
				  .on_request = on_request,
				  .ctx = f };
	struct stat st;
	json_t *r;

	if (geteuid() != 0)
		tu_skip("needs root to run peers as uid 65534");
	if (!peergroups_work())
		tu_skip("SO_PEERGROUPS does not report a peer's groups here "
			"(qemu-user does not translate it)");
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(control_start(&f->loop, f->path, &o, &f->ctl), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(st.st_mode & 07777, 0660);

	/* Members come in through the file mode and SO_PEERCRED. */
	r = ask_as(f, &member);
	assert_non_null(r);
	assert_int_equal(reply_id(r), 1);
	json_decref(r);
	assert_int_equal(f->last_uid, 65534);
	r = ask_as(f, &primary);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_int_equal(f->requests, 2);

	/* Past a too open file mode, SO_PEERCRED still says no. */
	assert_int_equal(chmod(f->path, 0666), 0);
	r = ask_as(f, &other);
	assert_non_null(r);
	assert_true(json_is_null(json_object_get(r, "id")));
	assert_error(r, "EACCES",
		     "permission denied: uid 65534 is not root and not in "
		     "group ");
	json_decref(r);
	o.group = (gid_t)-1;
	control_set_opts(f->ctl, &o);
	r = ask_as(f, &member);
	assert_non_null(r);
	assert_error(r, "EACCES", "permission denied: uid 65534 is not root");
	json_decref(r);
	r = ask_as(f, &nobody);
	assert_non_null(r);
	assert_error(r, "EACCES", "permission denied: uid 65534 is not root");
	json_decref(r);
	assert_int_equal(f->requests, 2);
}

/* control_peer_allowed(uid, gid, groups[:ngroups], self, group). */
static void test_peer_allowed(void **state)
{
	static const gid_t groups[] = { 20, 24, 1001 };
	const gid_t none = (gid_t)-1;
	const struct {
		uid_t uid;
		gid_t gid;
		bool with_groups;
		size_t ngroups;
		uid_t self;
		gid_t group;
		bool allowed;
	} cases[] = {
		{ 0, 0, false, 0, 1000, none, true },
		{ 0, 5, false, 0, 1000, 1001, true },
		{ 1000, 1000, false, 0, 1000, none, true },
		{ 1001, 1001, false, 0, 1000, none, false },
		{ 1001, 1001, true, 3, 1000, none, false },
		{ 1001, 1001, false, 0, 1000, 1001, true },
		{ 1002, 100, true, 3, 1000, 1001, true },
		{ 1002, 100, true, 3, 1000, 20, true },
		{ 1002, 100, true, 2, 1000, 1001, false },
		{ 1002, 100, true, 3, 1000, 999, false },
		{ 1002, 100, false, 0, 1000, 999, false },
		{ 1002, 100, true, 0, 1000, 20, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = control_peer_allowed(
		    cases[i].uid, cases[i].gid,
		    cases[i].with_groups ? groups : NULL, cases[i].ngroups,
		    cases[i].self, cases[i].group);

		if (ok != cases[i].allowed)
			fail_msg("peer_allowed case %zu: %d, want %d", i, ok,
				 cases[i].allowed);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define NX	(sizeof(exchanges) / sizeof(exchanges[0]))

int main(void)
{
	static const struct CMUnitTest special[] = {
		T(test_split_request),
		T(test_line_at_limit),
		T(test_oversized_line),
		T(test_client_limit),
		T(test_set_opts),
		T(test_idle_timeout),
		T(test_delayed_reply_order),
		T(test_delayed_reply_gone),
		T(test_delayed_reply_closed),
		T(test_stop_with_pending),
		T(test_half_close),
		T(test_slow_reader_dropped),
		T(test_stale_socket),
		T(test_live_socket),
		T(test_socket_mode),
		T(test_cloexec),
		T(test_stop_unlinks),
		T(test_stop_spares_successor),
		T(test_peer_refused),
		cmocka_unit_test(test_peer_allowed),
	};
	struct CMUnitTest tests[NX + sizeof(special) / sizeof(special[0])];

	/* One test per exchange, named after it, then the special ones. */
	for (size_t i = 0; i < NX; i++) {
		tests[i] =
		    (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
			test_exchange, setup, teardown, (void *)&exchanges[i]);
		tests[i].name = exchanges[i].name;
	}
	memcpy(tests + NX, special, sizeof(special));

	/* As zwgated does: libuv writes with write(2), not MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
