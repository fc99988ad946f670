/* SPDX-License-Identifier: MIT */
/*
 * mqtt_poll.c: the MQTT socket on the libuv loop: one uv_poll per
 * socket with write interest only when needed, the TCP connect's and
 * the TLS handshake's readiness, calls into libmosquitto's loop_read,
 * loop_write and loop_misc (the keepalive timer) and what they leave
 * behind, and the lingering close after a DISCONNECT.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/ssl.h>

#include "log.h"
#include "mqtt.h"
#include "mqtt_int.h"

#define MQTT_MISC_MIN_MS 1000
#define MQTT_LINGER_MS	 2000

/* strerror() starts with a capital; our sentences go mid-line. */
void mqtt_errno_words(char *buf, size_t len, int e)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static void mqtt_on_poll_closed(uv_handle_t *h)
{
	struct mqtt *m = h->data;

	free(h);
	mqtt_unref(m);
}

void mqtt_poll_close(struct mqtt *m)
{
	if (!m->poll)
		return;
	uv_close((uv_handle_t *)m->poll, mqtt_on_poll_closed);
	m->poll = NULL;
	m->poll_fd = -1;
	m->poll_events = 0;
}

/*
 * A lingering close.  libmosquitto closes the socket right after writing
 * DISCONNECT; if the broker's next messages are unread by then, the
 * kernel answers with a reset, and the broker may drop our last packets,
 * DISCONNECT included, and send the will.  So mqtt_stop() keeps a
 * duplicate of the socket, and after libmosquitto's close we send FIN
 * and read (and throw away: never acknowledged, the session keeps them)
 * until the broker closes, for MQTT_LINGER_MS at most.
 */
struct mqtt_linger {
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	unsigned open;
};

static void mqtt_linger_closed(uv_handle_t *h)
{
	struct mqtt_linger *l = h->data;

	if (--l->open == 0)
		free(l);
}

static void mqtt_linger_end(struct mqtt_linger *l)
{
	if (uv_is_closing((uv_handle_t *)&l->timer))
		return;
	uv_close((uv_handle_t *)&l->poll, mqtt_linger_closed);
	uv_close((uv_handle_t *)&l->timer, mqtt_linger_closed);
	close(l->fd);
}

static void mqtt_linger_read(uv_poll_t *p, int status, int events)
{
	struct mqtt_linger *l = p->data;
	char buf[4096];
	ssize_t n;

	(void)events;
	while ((n = read(l->fd, buf, sizeof(buf))) > 0)
		;
	if (status < 0 || n == 0 || (errno != EAGAIN && errno != EINTR))
		mqtt_linger_end(l);
}

static void mqtt_linger_timeout(uv_timer_t *t)
{
	mqtt_linger_end(t->data);
}

void mqtt_linger(uv_loop_t *loop, int fd)
{
	struct mqtt_linger *l = calloc(1, sizeof(*l));

	if (!l || uv_poll_init(loop, &l->poll, fd) < 0) {
		free(l);
		close(fd);
		return;
	}
	l->fd = fd;
	l->open = 2;
	l->poll.data = l->timer.data = l;
	uv_timer_init(loop, &l->timer);
	shutdown(fd, SHUT_WR);
	uv_poll_start(&l->poll, UV_READABLE, mqtt_linger_read);
	uv_timer_start(&l->timer, mqtt_linger_timeout, MQTT_LINGER_MS, 0);
}

/* libmosquitto's want_connect, which it does not export. */
bool mqtt_handshaking(struct mqtt *m)
{
	SSL *ssl = mosquitto_ssl_get(m->mosq);

	return m->state == MQTT_CONNECTING && ssl && !SSL_is_init_finished(ssl);
}

/*
 * Write interest only while there is something to write: the TCP
 * connect, a handshake step that wants to write, or queued packets.
 * A failure here is not fatal: the connect timeout or the keepalive
 * notices a link that stopped moving.
 */
static void mqtt_on_poll(uv_poll_t *p, int status, int events);

void mqtt_update_poll(struct mqtt *m)
{
	SSL *ssl = mosquitto_ssl_get(m->mosq);
	int ev, r;

	if (!m->poll)
		return;
	if (m->tcp_pending)
		ev = UV_WRITABLE;
	else if (mqtt_handshaking(m))
		ev = UV_READABLE | (SSL_want_write(ssl) ? UV_WRITABLE : 0);
	else
		ev = UV_READABLE |
		     (mosquitto_want_write(m->mosq) ? UV_WRITABLE : 0);
	if (ev == m->poll_events)
		return;
	r = uv_poll_start(m->poll, ev, mqtt_on_poll);
	if (r < 0)
		log_error("mqtt: cannot poll the socket: %s", uv_strerror(r));
	else
		m->poll_events = ev;
}

/*
 * libmosquitto takes an error of the socket during the TLS handshake for
 * "try again" (SSL_ERROR_SYSCALL), so a dead socket would be polled until
 * the timeout: look at it.  0 while it lives, else an errno, or -1 for
 * end of file.
 */
static int mqtt_socket_gone(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	ssize_t n;
	char b;

	n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
				errno == EINTR)))
		return 0;
	if (n < 0)
		return errno;
	/* Never connected: the handshake's first write ate the error. */
	if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
		return ENOTCONN;
	return -1;
}

/* A connect error taken by the handshake's first write, if errno kept it. */
bool mqtt_connect_errno(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH ||
	       e == ECONNRESET || e == ETIMEDOUT;
}

static void mqtt_handshake_gone(struct mqtt *m, int gone)
{
	char why[MQTT_WHY_MAX];

	if (gone == ENOTCONN && m->dial_errno)
		gone = m->dial_errno;
	if (gone == ENOTCONN) {
		mqtt_down(m, "TCP connect failed (%s port %u)", m->addr,
			  m->port);
	} else if (gone > 0) {
		mqtt_errno_words(why, sizeof(why), gone);
		mqtt_down(m, "%s (%s port %u)", why, m->addr, m->port);
	} else {
		mqtt_down(m, "TLS: connection closed during the handshake");
	}
}

/* After every call into libmosquitto that may read, write or close. */
static void mqtt_after_io(struct mqtt *m, int rc, int e)
{
	char why[MQTT_WHY_MAX];
	int fd = mosquitto_socket(m->mosq), gone;

	/*
	 * A callback already took the link down (mqtt_reconnect from a
	 * message handler): the poll is gone and the next try is armed,
	 * the read's failure on the shut socket is not news.
	 */
	if (m->state != MQTT_CONNECTING && m->state != MQTT_CONNECTED)
		return;
	if (fd != m->poll_fd || rc != MOSQ_ERR_SUCCESS) {
		mqtt_words(m, rc, e, why, sizeof(why));
		mqtt_down(m, "%s", why);
		return;
	}
	if (mqtt_handshaking(m)) {
		gone = mqtt_socket_gone(fd);
		if (gone) {
			mqtt_handshake_gone(m, gone);
			return;
		}
	}
	mqtt_update_poll(m);
}

static int mqtt_socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void mqtt_on_poll(uv_poll_t *p, int status, int events)
{
	struct mqtt *m = p->data;
	char why[MQTT_WHY_MAX];
	int rc = MOSQ_ERR_SUCCESS, e, err;

	if (status < 0) {
		/*
		 * POLLERR, which libuv calls EBADF after stopping the handle:
		 * the reads below find the real error.
		 */
		m->poll_events = 0;
		events = UV_READABLE | UV_WRITABLE;
	}
	if (m->tcp_pending) {
		err = mqtt_socket_error(m->poll_fd);
		if (err) {
			mqtt_errno_words(why, sizeof(why), err);
			mqtt_down(m, "%s (%s port %u)", why, m->addr, m->port);
			return;
		}
		m->tcp_pending = false;
	}
	mqtt_enter(m);
	errno = 0;
	if (mqtt_handshaking(m)) {
		rc = mosquitto_loop_read(m->mosq, 1);
	} else {
		if (events & UV_READABLE)
			rc = mosquitto_loop_read(m->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && (events & UV_WRITABLE) &&
		    mosquitto_socket(m->mosq) == m->poll_fd)
			rc = mosquitto_loop_write(m->mosq, 1);
	}
	e = errno;
	if (mqtt_leave(m))
		mqtt_after_io(m, rc, e);
}

/* How often the keepalive is checked: see the top of mqtt.c. */
uint64_t mqtt_misc_ms(const struct mqtt *m)
{
	uint64_t ms = (uint64_t)m->keepalive_s * 1000 / 4;

	return ms > MQTT_MISC_MIN_MS ? ms : MQTT_MISC_MIN_MS;
}

/* Keepalive: PINGREQ when due, and a dead link noticed. */
void mqtt_on_misc(uv_timer_t *t)
{
	struct mqtt *m = t->data;
	int rc, e;

	mqtt_enter(m);
	errno = 0;
	rc = mosquitto_loop_misc(m->mosq);
	e = errno;
	if (mqtt_leave(m))
		mqtt_after_io(m, rc, e);
}
