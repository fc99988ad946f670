/* SPDX-License-Identifier: MIT */
/*
 * control.c: the control socket server (see control.h): the listening
 * socket, its file and group, accepting clients, start, stop, reload.
 * A client's lines and replies are in control_io.c, who gets in and for
 * how long in control_admit.c.
 *
 * opts.max_clients 0 means ZWCTL_CLIENTS_MAX; opts.idle_timeout_s 0
 * means that silence never closes a client.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zwgate/control.h"
#include "control.h"
#include "control_int.h"
#include "log.h"

/* Connections still owed a refusal line; past this they are just closed. */
#define CONTROL_REFUSING_MAX 16

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

void control_srv_maybe_free(struct control *c)
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
	control_srv_maybe_free(c);
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
		control_client_close(cl);
		return;
	}
	if (control_count_state(c, CONTROL_CLIENT_DRAINING) >=
	    CONTROL_REFUSING_MAX)
		control_client_close(cl);
	else
		control_client_admit(cl);
	control_sweep_arm(c);
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
		control_client_close(cl);
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
	control_sweep_arm(c);
}

unsigned control_client_count(const struct control *c)
{
	return c ? control_count_state(c, CONTROL_CLIENT_OPEN) : 0;
}
