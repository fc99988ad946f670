/* SPDX-License-Identifier: MIT */
/*
 * control.c: the control socket server (see control.h).
 *
 * A client's memory has two kinds of owner: the server, from accept to
 * the handle's close callback, and whoever still owes it a reply
 * (control_client_ref).  It goes when both are done, so a late reply to
 * a client that left meets a closed client (-EPIPE), never freed memory.
 * opts.max_clients 0 means ZWCTL_CLIENTS_MAX; opts.idle_timeout_s 0
 * means that silence never closes a client.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zwgate/control.h"
#include "control.h"
#include "log.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13; older headers lack it */
#endif

/* Bytes queued to a client that does not read before we drop it. */
#define CONTROL_WRITEQ_MAX (1024 * 1024)
/* Connections still owed a refusal line; past this they are just closed. */
#define CONTROL_REFUSING_MAX 16
/* Supplementary groups of a peer we look at (the kernel allows 65536). */
#define CONTROL_PEER_GROUPS_MAX 65536
/* A client's line buffer starts this small and grows to ZWCTL_LINE_MAX. */
#define CONTROL_BUF_MIN 4096
/*
 * A client that broke a rule gets its error line, then we keep reading
 * and discarding what it still sends, for at most this long, before we
 * close: closing at once would make its pending writes fail with EPIPE
 * and it might never read the error (nginx's lingering close).
 */
#define CONTROL_LINGER_MS      1000
#define CONTROL_GROUP_NAME_MAX 64
/*
 * One user holds at most 1/CONTROL_UID_SHARE of max-clients (at least
 * one), so that a single member of the group cannot take every slot for
 * the idle timeout and lock out the others.  Root and the daemon's own
 * user are not counted: they can stop the daemon anyway, and the
 * administrator is who the limit keeps a way in for.
 */
#define CONTROL_UID_SHARE 2

struct control {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	uv_timer_t sweep;
	char *path;
	dev_t dev; /* of our socket file: stop unlinks only that one */
	ino_t ino;
	struct control_opts opts;
	char group_name[CONTROL_GROUP_NAME_MAX];
	struct control_client *clients;
	unsigned handles; /* pipe and sweep, until their close callbacks */
	bool stopping;
};

enum client_state {
	CL_OPEN,     /* reading requests, answering */
	CL_DRAINING, /* refused or broke a rule: closes once its reply is out */
	CL_CLOSING,  /* uv_close called */
	CL_CLOSED,   /* close callback ran; memory lives on for the refs */
};

struct control_client {
	struct control *srv; /* NULL once closed */
	struct control_client *next, **pprev;
	uv_pipe_t pipe;
	enum client_state state;
	unsigned refs;
	unsigned writes; /* uv_write requests in flight */
	bool eof;	 /* the peer shut down its side */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint64_t active_ms; /* uv_now() of the last request or reply */
	char *buf;
	size_t len, cap;
};

struct control_write {
	uv_write_t req;
	struct control_client *cl;
	char *line;
};

static void client_close(struct control_client *cl);
static void sweep_arm(struct control *c);
static void on_sweep(uv_timer_t *t);

bool control_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups,
			  size_t ngroups, uid_t self, gid_t group)
{
	if (uid == 0 || uid == self)
		return true;
	if (group == (gid_t)-1)
		return false;
	if (gid == group)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == group)
			return true;
	return false;
}

/* Resolved once per start/reload: NSS may block, a refusal must not. */
static void group_describe(gid_t g, char *buf, size_t len)
{
	struct group gr, *res = NULL;
	char tmp[1024];

	if (g != (gid_t)-1 && getgrgid_r(g, &gr, tmp, sizeof(tmp), &res) == 0 &&
	    res)
		snprintf(buf, len, "%s", res->gr_name);
	else
		snprintf(buf, len, "%ld", g == (gid_t)-1 ? -1L : (long)g);
}

/*
 * The file mode lets only the socket's group in besides its owner, so
 * the socket belongs to the allowed group.  Not being allowed to give it
 * (an unprivileged test run) leaves SO_PEERCRED the only check: logged,
 * not fatal.
 */
static void socket_set_group(const struct control *c)
{
	struct stat st;

	if (c->opts.group == (gid_t)-1)
		return;
	/* Under the unit the socket is born in the daemon's own group, and
	 * the unit's system call filter refuses chown(): ask only if needed. */
	if (stat(c->path, &st) == 0 && st.st_gid == c->opts.group)
		return;
	if (chown(c->path, (uid_t)-1, c->opts.group) < 0)
		log_warning("control socket %s: cannot give it to group %s: "
			    "%s",
			    c->path, c->group_name, strerror(errno));
}

static void opts_apply(struct control *c, const struct control_opts *opts)
{
	c->opts = *opts;
	if (!c->opts.max_clients || c->opts.max_clients > ZWCTL_CLIENTS_MAX)
		c->opts.max_clients = ZWCTL_CLIENTS_MAX;
	group_describe(c->opts.group, c->group_name, sizeof(c->group_name));
}

/*
 * A socket file left by a daemon that died is replaced; one that answers
 * belongs to a live daemon.  A non-blocking connect also counts a full
 * backlog (EAGAIN) as live instead of waiting on it.
 */
static int path_prepare(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN)
		return -EADDRINUSE;
	if (e != ECONNREFUSED)
		return -e;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * The socket is bound and its mode set before listen(): until then a
 * connect is refused, so the umask-dependent mode bind() gave the file
 * is never usable.  SOCK_CLOEXEC keeps it from any child we run.
 */
static int listen_fd(const char *path, struct stat *st)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = path_prepare(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (chmod(path, 0660) < 0 || stat(path, st) < 0 ||
	    listen(fd, ZWCTL_CLIENTS_MAX) < 0) {
		r = -errno;
		unlink(path);
		close(fd);
		return r;
	}
	return fd;
}

static void srv_maybe_free(struct control *c)
{
	if (!c->stopping || c->handles || c->clients)
		return;
	free(c->path);
	free(c);
}

static void on_srv_close(uv_handle_t *h)
{
	struct control *c = h->data;

	c->handles--;
	srv_maybe_free(c);
}

static void client_free(struct control_client *cl)
{
	free(cl->buf);
	free(cl);
}

static void on_client_close(uv_handle_t *h)
{
	struct control_client *cl = h->data;
	struct control *c = cl->srv;

	cl->state = CL_CLOSED;
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
	srv_maybe_free(c);
}

static void client_close(struct control_client *cl)
{
	if (cl->state >= CL_CLOSING)
		return;
	cl->state = CL_CLOSING;
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
	if ((cl->state == CL_DRAINING && cl->eof) ||
	    (cl->state == CL_OPEN && cl->eof && cl->refs == 1))
		client_close(cl);
}

static void on_write(uv_write_t *req, int status)
{
	struct control_write *w = (struct control_write *)req;
	struct control_client *cl = w->cl;

	free(w->line);
	free(w);
	cl->writes--;
	if (status < 0 && status != UV_ECANCELED)
		client_close(cl);
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
		client_close(cl);
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
		client_close(cl);
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

	if (cl->state >= CL_CLOSING)
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
static int client_error(struct control_client *cl, const json_t *id,
			const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int client_error(struct control_client *cl, const json_t *id,
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

static void client_drain(struct control_client *cl)
{
	if (cl->state != CL_OPEN)
		return;
	cl->state = CL_DRAINING;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
	cl->active_ms = uv_now(cl->srv->loop);
	sweep_arm(cl->srv);
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
		client_error(cl, NULL, "EINVAL", "not a JSON object: %s",
			     err.text);
		return;
	}
	id = json_object_get(req, "id");
	cmd = json_object_get(req, "cmd");
	if (!json_is_object(req))
		client_error(cl, NULL, "EINVAL", "not a JSON object: %s",
			     json_kind(req));
	else if (id && !json_is_integer(id) && !json_is_string(id))
		client_error(cl, NULL, "EINVAL",
			     "\"id\" must be an integer or a string");
	else if (!json_is_string(cmd))
		client_error(cl, id, "EINVAL", "\"cmd\" must be a string");
	else
		c->opts.on_request(c->opts.ctx, cl, req);
	json_decref(req);
}

static void client_too_large(struct control_client *cl)
{
	log_notice("control: client pid %ld (uid %lu) sent a line over %d "
		   "bytes; closing it",
		   (long)cl->pid, (unsigned long)cl->uid, ZWCTL_LINE_MAX);
	client_error(cl, NULL, "E2BIG", "request too large (limit %d bytes)",
		     ZWCTL_LINE_MAX);
	client_drain(cl);
}

/* Hands every complete line to client_line; scans only the new bytes. */
static void client_take_lines(struct control_client *cl, size_t scan)
{
	size_t begin = 0;
	char *nl;

	while (cl->state == CL_OPEN &&
	       (nl = memchr(cl->buf + scan, '\n', cl->len - scan))) {
		size_t end = (size_t)(nl - cl->buf);

		client_line(cl, cl->buf + begin, end - begin);
		begin = scan = end + 1;
	}
	if (cl->state != CL_OPEN)
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

	if (cl->state == CL_DRAINING) {
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
		client_close(cl);
	} else if (nread > 0 && cl->state == CL_OPEN) {
		cl->len += (size_t)nread;
		client_take_lines(cl, old);
	}
}

static bool peer_in_group(int fd, const struct ucred *uc, gid_t group)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool ok = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE ||
		    len > CONTROL_PEER_GROUPS_MAX * sizeof(gid_t))
			return false;
		groups = malloc(len);
		if (!groups)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			goto out;
	}
	ok = control_peer_allowed(uc->uid, uc->gid, groups, len / sizeof(gid_t),
				  getuid(), group);
out:
	if (groups != small)
		free(groups);
	return ok;
}

static unsigned count_state(const struct control *c, enum client_state st)
{
	unsigned n = 0;

	for (const struct control_client *cl = c->clients; cl; cl = cl->next)
		n += cl->state == st;
	return n;
}

static unsigned count_uid(const struct control *c, uid_t uid)
{
	unsigned n = 0;

	for (const struct control_client *cl = c->clients; cl; cl = cl->next)
		n += cl->state == CL_OPEN && cl->uid == uid;
	return n;
}

static unsigned uid_limit(const struct control *c)
{
	unsigned n = c->opts.max_clients / CONTROL_UID_SHARE;

	return n ? n : 1;
}

/*
 * Past the server's limit or its user's share: refused with a line.  The
 * counts include cl itself, which is already open on the list.
 */
static bool client_refuse_busy(struct control_client *cl)
{
	const struct control *c = cl->srv;
	unsigned long uid = cl->uid;
	bool counted = cl->uid != 0 && cl->uid != getuid();

	if (counted && count_uid(c, cl->uid) > uid_limit(c)) {
		log_notice("control: refused pid %ld (uid %lu): too many "
			   "clients of that user",
			   (long)cl->pid, uid);
		client_error(cl, NULL, "EBUSY",
			     "too many control clients of uid %lu (limit %u "
			     "per user)",
			     uid, uid_limit(c));
	} else if (count_state(c, CL_OPEN) > c->opts.max_clients) {
		log_notice("control: refused pid %ld (uid %lu): too many "
			   "clients",
			   (long)cl->pid, uid);
		client_error(cl, NULL, "EBUSY",
			     "too many control clients (limit %u)",
			     c->opts.max_clients);
	} else {
		return false;
	}
	client_drain(cl);
	return true;
}

static bool peer_allowed(const struct control *c, int fd,
			 const struct ucred *uc)
{
	if (control_peer_allowed(uc->uid, uc->gid, NULL, 0, getuid(),
				 c->opts.group))
		return true;
	return c->opts.group != (gid_t)-1 &&
	       peer_in_group(fd, uc, c->opts.group);
}

static void client_refuse_peer(struct control_client *cl)
{
	const struct control *c = cl->srv;
	unsigned long uid = cl->uid;
	char why[128];

	if (c->opts.group == (gid_t)-1)
		snprintf(why, sizeof(why), "uid %lu is not root", uid);
	else
		snprintf(why, sizeof(why),
			 "uid %lu is not root and not in group %s", uid,
			 c->group_name);
	log_notice("control: refused pid %ld: %s", (long)cl->pid, why);
	client_error(cl, NULL, "EACCES", "permission denied: %s", why);
	client_drain(cl);
}

/* Who may talk to us is decided once, on accept, by SO_PEERCRED. */
static void client_admit(struct control_client *cl)
{
	struct control *c = cl->srv;
	socklen_t len = sizeof(struct ucred);
	struct ucred uc;
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		log_error("control: no credentials of a new client: %s",
			  strerror(errno));
		client_close(cl);
		return;
	}
	cl->uid = uc.uid;
	cl->gid = uc.gid;
	cl->pid = uc.pid;
	if (!peer_allowed(c, fd, &uc)) {
		client_refuse_peer(cl);
		return;
	}
	if (client_refuse_busy(cl))
		return;
	if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) < 0) {
		client_close(cl);
		return;
	}
	log_debug("control: client pid %ld (uid %lu) connected", (long)uc.pid,
		  (unsigned long)uc.uid);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct control *c = server->data;
	struct control_client *cl;
	int r;

	if (status < 0) {
		log_error("control: accept: %s", uv_strerror(status));
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		log_error("control: accept: %s", strerror(ENOMEM));
		return;
	}
	uv_pipe_init(c->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	cl->srv = c;
	cl->refs = 1; /* the server's, dropped in on_client_close */
	cl->active_ms = uv_now(c->loop);
	cl->next = c->clients;
	if (cl->next)
		cl->next->pprev = &cl->next;
	cl->pprev = &c->clients;
	c->clients = cl;
	r = uv_accept(server, (uv_stream_t *)&cl->pipe);
	if (r < 0) {
		log_error("control: accept: %s", uv_strerror(r));
		client_close(cl);
		return;
	}
	if (count_state(c, CL_DRAINING) >= CONTROL_REFUSING_MAX)
		client_close(cl);
	else
		client_admit(cl);
	sweep_arm(c);
}

/*
 * Idle clients are found by one timer for the whole server, armed for
 * the earliest deadline among clients owed nothing (refs == 1): one
 * handle less per client to open and close, no wakeups on an idle
 * gateway, and with at most ZWCTL_CLIENTS_MAX clients the scan is cheap.
 * A deadline that moved later just makes the timer fire once for nothing.
 */
static uint64_t client_deadline(const struct control *c,
				const struct control_client *cl)
{
	uint64_t timeout = (uint64_t)c->opts.idle_timeout_s * 1000;

	if (cl->state == CL_DRAINING)
		return cl->active_ms + CONTROL_LINGER_MS;
	if (cl->state != CL_OPEN || cl->refs != 1 || !timeout)
		return UINT64_MAX;
	return cl->active_ms + timeout;
}

static void sweep_arm(struct control *c)
{
	uint64_t now = uv_now(c->loop), due = UINT64_MAX;

	if (c->stopping)
		return;
	for (struct control_client *cl = c->clients; cl; cl = cl->next)
		if (client_deadline(c, cl) < due)
			due = client_deadline(c, cl);
	if (due == UINT64_MAX)
		uv_timer_stop(&c->sweep);
	else
		uv_timer_start(&c->sweep, on_sweep, due > now ? due - now : 0,
			       0);
}

static void on_sweep(uv_timer_t *t)
{
	struct control *c = t->data;
	uint64_t now = uv_now(c->loop);

	/* client_close unlinks nothing until later: safe to walk on. */
	for (struct control_client *cl = c->clients; cl; cl = cl->next)
		if (now >= client_deadline(c, cl)) {
			log_debug("control: closing idle client pid %ld",
				  (long)cl->pid);
			client_close(cl);
		}
	sweep_arm(c);
}

int control_start(uv_loop_t *loop, const char *path,
		  const struct control_opts *opts, struct control **ret)
{
	struct control *c;
	struct stat st;
	int fd, r;

	if (!loop || !path || !*path || !opts || !opts->on_request || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return -ENOMEM;
	}
	fd = listen_fd(path, &st);
	if (fd < 0) {
		free(c->path);
		free(c);
		return fd;
	}
	c->loop = loop;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	opts_apply(c, opts);
	socket_set_group(c);
	uv_pipe_init(loop, &c->pipe, 0);
	uv_timer_init(loop, &c->sweep);
	c->pipe.data = c->sweep.data = c;
	c->handles = 2;
	r = uv_pipe_open(&c->pipe, fd);
	if (r < 0)
		close(fd);
	else
		r = uv_listen((uv_stream_t *)&c->pipe, ZWCTL_CLIENTS_MAX,
			      on_connection);
	if (r < 0) {
		/* Practically never; the memory goes in the loop's next turn.
		 */
		control_stop(c);
		return r;
	}
	*ret = c;
	return 0;
}

void control_stop(struct control *c)
{
	struct stat st;

	if (!c || c->stopping)
		return;
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
	c->stopping = true;
	uv_close((uv_handle_t *)&c->pipe, on_srv_close);
	uv_close((uv_handle_t *)&c->sweep, on_srv_close);
	for (struct control_client *cl = c->clients; cl; cl = cl->next)
		client_close(cl);
}

void control_set_opts(struct control *c, const struct control_opts *opts)
{
	bool regroup;

	if (!c || c->stopping || !opts || !opts->on_request)
		return;
	regroup = opts->group != c->opts.group;
	opts_apply(c, opts);
	if (regroup)
		socket_set_group(c);
	sweep_arm(c);
}

unsigned control_client_count(const struct control *c)
{
	return c ? count_state(c, CL_OPEN) : 0;
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
	if (cl->refs == 1 && cl->state == CL_OPEN) {
		cl->active_ms = uv_now(cl->srv->loop);
		client_maybe_finish(cl);
		if (cl->state == CL_OPEN)
			sweep_arm(cl->srv);
	}
}

bool control_client_alive(const struct control_client *cl)
{
	return cl && cl->state == CL_OPEN;
}

uid_t control_client_uid(const struct control_client *cl)
{
	return cl ? cl->uid : (uid_t)-1;
}
