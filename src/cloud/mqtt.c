/* SPDX-License-Identifier: MIT */
/*
 * mqtt.c: libmosquitto (2.0.11) driven by the daemon's libuv loop.
 *
 * The state machine (every arrow not to IDLE goes through mqtt__down(),
 * which always arms the timer, so the link can never latch shut):
 *
 *   IDLE --start--> RESOLVING --resolved--> CONNECTING --CONNACK--> CONNECTED
 *                     |                       |                       |
 *                     | error                 | error, refusal,       | error,
 *                     v                       v timeout               v EOF
 *                   BACKOFF <-----------------+-----------------------+
 *                     | timer (full jitter, 1 s doubling to 5 min)
 *                     +--------------> RESOLVING
 *   any state --mqtt_stop()--> IDLE (handles closed, nothing called back)
 *
 * CONNECTING has three phases, all under one timeout: the TCP connect
 * (write interest only; its result read with SO_ERROR, because inside a
 * TLS handshake libmosquitto reports a refused connect as "try again",
 * see mqtt__socket_gone()),
 * the TLS handshake (libmosquitto runs SSL_connect() from
 * mosquitto_loop_read() while it wants to connect, so every readiness
 * goes there, and write interest follows SSL_want_write()), and the
 * CONNECT/CONNACK exchange.
 *
 * libmosquitto closes the socket itself on some errors, from inside
 * loop_read/loop_write/loop_misc.  After every such call we compare
 * mosquitto_socket() with the polled descriptor and close the poll at
 * once, before anything else runs on this thread (epoll drops a closed
 * descriptor by itself, so the stale registration does no harm).  When we
 * give up on a socket that libmosquitto still holds (timeout, a failed
 * TCP connect), we shut it down and it is closed by the next
 * mosquitto_connect_bind_async() or by mosquitto_destroy().  The process
 * must ignore SIGPIPE (daemon.c does), as libmosquitto writes with write().
 *
 * The keepalive (mosquitto_loop_misc(), PINGREQ and the dead-link check,
 * in whole seconds) runs from a timer, only while CONNECTED, every
 * quarter keepalive (at least 1 s): a PINGREQ goes out at most that late,
 * well within the broker's 1.5 keepalives, and a dead link is seen within
 * 2.5 keepalives; an idle gateway wakes every 15 s for it with the default
 * keepalive instead of every second (bench/run, "idle").  In BACKOFF only
 * the one-shot retry timer is armed.
 * Name resolution is not under the connect timeout: it runs in libuv's
 * thread pool and ends by the resolver's own timeouts.
 *
 * Callbacks from libmosquitto only note facts or call the user; they
 * never reconnect or destroy.  A user callback may call mqtt_stop(): the
 * depth counter defers mosquitto_destroy() until we are out of
 * libmosquitto's stack.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"
#include "mqtt.h"
#include "tls.h"

#define MQTT_MISC_MIN_MS 1000
#define MQTT_HOST_MAX	 253
#define MQTT_ID_MAX	 256
#define MQTT_WHY_MAX	 160
#define MQTT_LINGER_MS	 2000

struct mqtt {
	uv_loop_t *loop;
	struct mosquitto *mosq;
	struct mqtt_cbs cbs;
	char *host;
	char *connect_to;
	char *client_id;
	char *subs[MQTT_SUBS_MAX];
	unsigned nsubs;
	unsigned port;
	int protocol;
	unsigned keepalive_s;
	unsigned max_payload;
	unsigned backoff_max_ms;
	unsigned connect_timeout_ms;
	bool tls;

	enum mqtt_state state;
	uv_timer_t timer; /* BACKOFF: the next try; CONNECTING: timeout */
	uv_timer_t misc;  /* CONNECTED: mosquitto_loop_misc() */
	uv_getaddrinfo_t gai;
	uv_poll_t *poll; /* CONNECTING and CONNECTED; a new one per socket */
	int poll_fd;
	int poll_events;
	bool tcp_pending;
	int dial_errno;	       /* see mqtt__socket_gone() */
	int linger_fd;	       /* see mqtt__linger() */
	char addr[NI_MAXHOST]; /* the numeric address dialled */

	/* Why the current try or link failed, noted by callbacks. */
	char why[MQTT_WHY_MAX];
	char tls_detail[MQTT_WHY_MAX - 40];

	unsigned attempt;
	uint64_t connects;
	uint64_t connected_since_ms;
	unsigned inflight;
	bool trim_due; /* connected, queue not yet empty: mqtt__trim() */
	char last_error[MQTT_WHY_MAX];
	uint64_t rng;

	bool retry_now; /* mqtt_reconnect: the next try without backoff */
	unsigned depth; /* nested calls into libmosquitto or the user */
	unsigned refs;	/* open handles, the pending resolution, the mosq */
	bool stopping;
};

static pthread_once_t mqtt_lib_once = PTHREAD_ONCE_INIT;

static void mqtt__lib_init(void)
{
	/*
	 * Once per process and never cleaned up: mosquitto_lib_cleanup()
	 * unloads OpenSSL's config modules, which a TLS context still in use
	 * elsewhere may need.
	 */
	mosquitto_lib_init();
}

const char *mqtt_state_name(enum mqtt_state s)
{
	static const char *const names[] = {
		[MQTT_IDLE] = "idle",
		[MQTT_RESOLVING] = "resolving",
		[MQTT_CONNECTING] = "connecting",
		[MQTT_CONNECTED] = "connected",
		[MQTT_BACKOFF] = "backoff",
	};

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[s];
}

static uint64_t mqtt__backoff(unsigned attempt, uint32_t random, uint64_t cap)
{
	uint64_t ceiling = cap, lo;

	if (attempt < 32 && ((uint64_t)MQTT_BACKOFF_MIN_MS << attempt) < cap)
		ceiling = (uint64_t)MQTT_BACKOFF_MIN_MS << attempt;
	lo = MQTT_BACKOFF_MIN_MS / 2;
	if (lo > ceiling)
		lo = ceiling;
	return lo + random % (ceiling - lo + 1);
}

uint64_t mqtt_backoff_ms(unsigned attempt, uint32_t random)
{
	return mqtt__backoff(attempt, random, MQTT_BACKOFF_MAX_MS);
}

/* splitmix64: jitter only needs to differ between gateways. */
static uint32_t mqtt__random(struct mqtt *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint64_t mqtt__wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* strerror() starts with a capital; our sentences go mid-line. */
static void mqtt__errno_words(char *buf, size_t len, int e)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

static int mqtt__to_errno(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_NO_CONN:
		return -ENOTCONN;
	case MOSQ_ERR_OVERSIZE_PACKET:
	case MOSQ_ERR_PAYLOAD_SIZE:
		return -E2BIG;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
		return -EINVAL;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Frees m once nothing refers to it any more. */
static void mqtt__unref(struct mqtt *m)
{
	if (--m->refs > 0)
		return;
	free(m->host);
	free(m->connect_to);
	free(m->client_id);
	for (unsigned i = 0; i < m->nsubs; i++)
		free(m->subs[i]);
	free(m);
}

static void mqtt__on_handle_closed(uv_handle_t *h)
{
	mqtt__unref(h->data);
}

static void mqtt__on_poll_closed(uv_handle_t *h)
{
	struct mqtt *m = h->data;

	free(h);
	mqtt__unref(m);
}

static void mqtt__poll_close(struct mqtt *m)
{
	if (!m->poll)
		return;
	uv_close((uv_handle_t *)m->poll, mqtt__on_poll_closed);
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

static void mqtt__linger_closed(uv_handle_t *h)
{
	struct mqtt_linger *l = h->data;

	if (--l->open == 0)
		free(l);
}

static void mqtt__linger_end(struct mqtt_linger *l)
{
	if (uv_is_closing((uv_handle_t *)&l->timer))
		return;
	uv_close((uv_handle_t *)&l->poll, mqtt__linger_closed);
	uv_close((uv_handle_t *)&l->timer, mqtt__linger_closed);
	close(l->fd);
}

static void mqtt__linger_read(uv_poll_t *p, int status, int events)
{
	struct mqtt_linger *l = p->data;
	char buf[4096];
	ssize_t n;

	(void)events;
	while ((n = read(l->fd, buf, sizeof(buf))) > 0)
		;
	if (status < 0 || n == 0 || (errno != EAGAIN && errno != EINTR))
		mqtt__linger_end(l);
}

static void mqtt__linger_timeout(uv_timer_t *t)
{
	mqtt__linger_end(t->data);
}

static void mqtt__linger(uv_loop_t *loop, int fd)
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
	uv_poll_start(&l->poll, UV_READABLE, mqtt__linger_read);
	uv_timer_start(&l->timer, mqtt__linger_timeout, MQTT_LINGER_MS, 0);
}

/*
 * The last step of mqtt_stop(), once out of libmosquitto's stack: there
 * DISCONNECT goes out at once, while from inside a callback it would wait
 * in the queue and libmosquitto, already "disconnected", would take the
 * next PUBACK it reads for a protocol error and drop the link unclean.
 */
static void mqtt__release(struct mqtt *m)
{
	if (m->linger_fd >= 0 && mosquitto_socket(m->mosq) >= 0)
		mosquitto_disconnect(m->mosq);
	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	if (m->linger_fd >= 0)
		mqtt__linger(m->loop, m->linger_fd);
	mqtt__unref(m);
}

static void mqtt__enter(struct mqtt *m)
{
	m->depth++;
}

/* false: mqtt_stop() was called meanwhile; the caller must return. */
static bool mqtt__leave(struct mqtt *m)
{
	if (--m->depth == 0 && m->stopping && m->mosq) {
		mqtt__release(m);
		return false;
	}
	return !m->stopping;
}

static void mqtt__try(struct mqtt *m);

static void mqtt__on_backoff(uv_timer_t *t)
{
	mqtt__try(t->data);
}

/*
 * Every failure and every lost link ends here: close the poll, stop the
 * timers, note why, arm the backoff timer, tell the user if the link had
 * been up.  A link lost after a CONNACK retries after backoff(0); each
 * failed try doubles the ceiling.
 */
static void mqtt__down(struct mqtt *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mqtt__down(struct mqtt *m, const char *fmt, ...)
{
	bool was_up = m->state == MQTT_CONNECTED;
	int fd = mosquitto_socket(m->mosq);
	uint64_t delay;
	va_list ap;

	mqtt__poll_close(m);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	uv_timer_stop(&m->misc);
	va_start(ap, fmt);
	vsnprintf(m->last_error, sizeof(m->last_error), fmt, ap);
	va_end(ap);
	if (!was_up && m->attempt < UINT_MAX)
		m->attempt++;
	delay = m->retry_now ? 0
			     : mqtt__backoff(m->attempt, mqtt__random(m),
					     m->backoff_max_ms);
	m->retry_now = false;
	m->state = MQTT_BACKOFF;
	m->connected_since_ms = 0;
	uv_timer_start(&m->timer, mqtt__on_backoff, delay, 0);
	log_notice("mqtt: %s %s: %s; next try in %.1f s",
		   was_up ? "lost the link to" : "cannot connect to", m->host,
		   m->last_error, (double)delay / 1000);
	if (was_up && m->cbs.disconnected) {
		mqtt__enter(m);
		m->cbs.disconnected(m->cbs.ctx, m->last_error);
		mqtt__leave(m);
	} else if (!was_up && m->cbs.failed) {
		mqtt__enter(m);
		m->cbs.failed(m->cbs.ctx, m->last_error);
		mqtt__leave(m);
	}
}

void mqtt_reconnect(struct mqtt *m, const char *why)
{
	if (!m || m->stopping || m->state == MQTT_IDLE ||
	    m->state == MQTT_RESOLVING)
		return;
	if (m->state != MQTT_BACKOFF) {
		m->retry_now = true;
		mqtt__down(m, "%s", why);
		return;
	}
	log_notice("mqtt: %s; trying %s now", why, m->host);
	uv_timer_start(&m->timer, mqtt__on_backoff, 0, 0);
}

/*
 * Words for a libmosquitto failure, preferring what callbacks noted.  A
 * link that was up is "connection lost", with the detail in brackets.
 */
static void mqtt__words(struct mqtt *m, int rc, int e, char *buf, size_t len)
{
	char detail[MQTT_WHY_MAX] = "";

	if (m->why[0]) {
		snprintf(buf, len, "%s", m->why);
		return;
	}
	if (m->tls && m->state == MQTT_CONNECTING && tls_last_error()[0]) {
		snprintf(buf, len, "TLS: %s", tls_last_error());
		return;
	}
	if (rc == MOSQ_ERR_KEEPALIVE) {
		snprintf(buf, len, "no answer from the broker (keepalive)");
		return;
	}
	if (m->tls_detail[0])
		snprintf(detail, sizeof(detail), "TLS: %s", m->tls_detail);
	else if (rc == MOSQ_ERR_ERRNO && e == EPROTO && m->tls)
		/* libmosquitto's EPROTO for any TLS failure, here a reset. */
		snprintf(detail, sizeof(detail), "TLS: connection closed");
	else if (rc == MOSQ_ERR_ERRNO && e)
		mqtt__errno_words(detail, sizeof(detail), e);
	else if (rc == MOSQ_ERR_TLS)
		snprintf(detail, sizeof(detail), "TLS handshake failed");
	else if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_LOST &&
		 rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_NO_CONN)
		snprintf(detail, sizeof(detail), "%s", mosquitto_strerror(rc));
	if (m->state == MQTT_CONNECTED || !detail[0])
		snprintf(buf, len, "connection lost%s%s%s",
			 detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	else
		snprintf(buf, len, "%s", detail);
}

/* libmosquitto's want_connect, which it does not export. */
static bool mqtt__handshaking(struct mqtt *m)
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
static void mqtt__on_poll(uv_poll_t *p, int status, int events);

static void mqtt__update_poll(struct mqtt *m)
{
	SSL *ssl = mosquitto_ssl_get(m->mosq);
	int ev, r;

	if (!m->poll)
		return;
	if (m->tcp_pending)
		ev = UV_WRITABLE;
	else if (mqtt__handshaking(m))
		ev = UV_READABLE | (SSL_want_write(ssl) ? UV_WRITABLE : 0);
	else
		ev = UV_READABLE |
		     (mosquitto_want_write(m->mosq) ? UV_WRITABLE : 0);
	if (ev == m->poll_events)
		return;
	r = uv_poll_start(m->poll, ev, mqtt__on_poll);
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
static int mqtt__socket_gone(int fd)
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
static bool mqtt__connect_errno(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH ||
	       e == ECONNRESET || e == ETIMEDOUT;
}

static void mqtt__handshake_gone(struct mqtt *m, int gone)
{
	char why[MQTT_WHY_MAX];

	if (gone == ENOTCONN && m->dial_errno)
		gone = m->dial_errno;
	if (gone == ENOTCONN) {
		mqtt__down(m, "TCP connect failed (%s port %u)", m->addr,
			   m->port);
	} else if (gone > 0) {
		mqtt__errno_words(why, sizeof(why), gone);
		mqtt__down(m, "%s (%s port %u)", why, m->addr, m->port);
	} else {
		mqtt__down(m, "TLS: connection closed during the handshake");
	}
}

/* After every call into libmosquitto that may read, write or close. */
static void mqtt__after_io(struct mqtt *m, int rc, int e)
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
		mqtt__words(m, rc, e, why, sizeof(why));
		mqtt__down(m, "%s", why);
		return;
	}
	if (mqtt__handshaking(m)) {
		gone = mqtt__socket_gone(fd);
		if (gone) {
			mqtt__handshake_gone(m, gone);
			return;
		}
	}
	mqtt__update_poll(m);
}

static int mqtt__socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void mqtt__on_poll(uv_poll_t *p, int status, int events)
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
		err = mqtt__socket_error(m->poll_fd);
		if (err) {
			mqtt__errno_words(why, sizeof(why), err);
			mqtt__down(m, "%s (%s port %u)", why, m->addr, m->port);
			return;
		}
		m->tcp_pending = false;
	}
	mqtt__enter(m);
	errno = 0;
	if (mqtt__handshaking(m)) {
		rc = mosquitto_loop_read(m->mosq, 1);
	} else {
		if (events & UV_READABLE)
			rc = mosquitto_loop_read(m->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && (events & UV_WRITABLE) &&
		    mosquitto_socket(m->mosq) == m->poll_fd)
			rc = mosquitto_loop_write(m->mosq, 1);
	}
	e = errno;
	if (mqtt__leave(m))
		mqtt__after_io(m, rc, e);
}

static void mqtt__on_timeout(uv_timer_t *t)
{
	struct mqtt *m = t->data;

	mqtt__down(m, "timed out (%s)",
		   m->tcp_pending	  ? "TCP connect"
		   : mqtt__handshaking(m) ? "TLS handshake"
					  : "waiting for CONNACK");
}

/* How often the keepalive is checked: see the top of the file. */
static uint64_t mqtt__misc_ms(const struct mqtt *m)
{
	uint64_t ms = (uint64_t)m->keepalive_s * 1000 / 4;

	return ms > MQTT_MISC_MIN_MS ? ms : MQTT_MISC_MIN_MS;
}

/* Keepalive: PINGREQ when due, and a dead link noticed. */
static void mqtt__on_misc(uv_timer_t *t)
{
	struct mqtt *m = t->data;
	int rc, e;

	mqtt__enter(m);
	errno = 0;
	rc = mosquitto_loop_misc(m->mosq);
	e = errno;
	if (mqtt__leave(m))
		mqtt__after_io(m, rc, e);
}

/* Dial the numeric address: libmosquitto resolves nothing then. */
static void mqtt__dial(struct mqtt *m)
{
	int rc, e, r;

	m->state = MQTT_CONNECTING;
	m->why[0] = m->tls_detail[0] = '\0';
	uv_timer_start(&m->timer, mqtt__on_timeout, m->connect_timeout_ms, 0);
	log_info("mqtt: connecting to %s (%s port %u)", m->host, m->addr,
		 m->port);
	mqtt__enter(m);
	errno = 0;
	rc = mosquitto_connect_bind_async(m->mosq, m->addr, (int)m->port,
					  (int)m->keepalive_s, NULL);
	e = errno;
	if (!mqtt__leave(m))
		return;
	m->dial_errno =
	    rc == MOSQ_ERR_SUCCESS && mqtt__connect_errno(e) ? e : 0;
	if (rc != MOSQ_ERR_SUCCESS) {
		char why[MQTT_WHY_MAX];

		mqtt__words(m, rc, e, why, sizeof(why));
		mqtt__down(m, "%s (%s port %u)", why, m->addr, m->port);
		return;
	}
	m->poll = malloc(sizeof(*m->poll));
	if (!m->poll) {
		mqtt__down(m, "out of memory");
		return;
	}
	r = uv_poll_init_socket(m->loop, m->poll, mosquitto_socket(m->mosq));
	if (r < 0) {
		free(m->poll);
		m->poll = NULL;
		mqtt__down(m, "cannot poll the socket: %s", uv_strerror(r));
		return;
	}
	m->poll->data = m;
	m->refs++;
	m->poll_fd = mosquitto_socket(m->mosq);
	m->poll_events = 0;
	m->tcp_pending = true;
	mqtt__update_poll(m);
}

/*
 * Several addresses: each failed try moves to the next one, so a dead
 * first address cannot hold the link down.
 */
static void mqtt__on_resolved(uv_getaddrinfo_t *req, int status,
			      struct addrinfo *res)
{
	struct mqtt *m = req->data;
	struct addrinfo *ai;
	unsigned n = 0, i;
	int r;

	if (m->stopping) {
		uv_freeaddrinfo(res);
		mqtt__unref(m);
		return;
	}
	m->refs--; /* not the last: the mosq's reference stays */
	if (status < 0) {
		mqtt__down(m, "cannot resolve %s: %s",
			   m->connect_to ? m->connect_to : m->host,
			   uv_strerror(status));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	if (n == 0) {
		mqtt__down(m, "no address for %s", m->host);
		return;
	}
	for (ai = res, i = 0; ai && i < m->attempt % n; ai = ai->ai_next)
		i++;
	r = getnameinfo(ai->ai_addr, ai->ai_addrlen, m->addr, sizeof(m->addr),
			NULL, 0, NI_NUMERICHOST);
	uv_freeaddrinfo(res);
	if (r != 0) {
		mqtt__down(m, "cannot use the address of %s: %s", m->host,
			   gai_strerror(r));
		return;
	}
	mqtt__dial(m);
}

/* Resolution runs in libuv's thread pool, never on the loop. */
static void mqtt__try(struct mqtt *m)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	const char *name = m->connect_to ? m->connect_to : m->host;
	int r;

	m->state = MQTT_RESOLVING;
	m->gai.data = m;
	r = uv_getaddrinfo(m->loop, &m->gai, mqtt__on_resolved, name, NULL,
			   &hints);
	if (r < 0) {
		mqtt__down(m, "cannot resolve %s: %s", name, uv_strerror(r));
		return;
	}
	m->refs++;
}

static const char *mqtt__connack_words(int protocol, int rc)
{
	static const char *const v311[] = {
		"accepted",
		"unacceptable protocol version",
		"client identifier rejected",
		"server unavailable",
		"bad user name or password",
		"not authorised",
	};

	if (protocol == MQTT_PROTOCOL_V5)
		return mosquitto_reason_string(rc);
	if (rc >= 0 && rc < (int)(sizeof(v311) / sizeof(v311[0])))
		return v311[rc];
	return "unknown reason";
}

/*
 * CONNACK.  Subscriptions are queued before the user hears of it, so
 * that whatever the user publishes goes after them.
 */
static void mqtt__on_connect(struct mosquitto *mosq, void *obj, int rc,
			     int flags, const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->stopping)
		return;
	if (rc != 0) {
		snprintf(m->why, sizeof(m->why), "broker refused: %s",
			 mqtt__connack_words(m->protocol, rc));
		errno = saved;
		return;
	}
	uv_timer_stop(&m->timer);
	m->state = MQTT_CONNECTED;
	m->attempt = 0;
	m->connects++;
	m->connected_since_ms = mqtt__wall_ms();
	m->trim_due = true;
	for (unsigned i = 0; i < m->nsubs; i++) {
		int r = mosquitto_subscribe(m->mosq, NULL, m->subs[i], 1);

		if (r != MOSQ_ERR_SUCCESS)
			log_warning("mqtt: cannot subscribe to %s: %s",
				    m->subs[i], mosquitto_strerror(r));
	}
	uv_timer_start(&m->misc, mqtt__on_misc, mqtt__misc_ms(m),
		       mqtt__misc_ms(m));
	log_notice("mqtt: connected to %s (%s)", m->host,
		   flags & 1 ? "session present" : "new session");
	if (m->cbs.connected) {
		mqtt__enter(m);
		m->cbs.connected(m->cbs.ctx, flags & 1);
		mqtt__leave(m);
	}
	errno = saved;
}

/* Only a broker's DISCONNECT (MQTT 5) carries words we would not have. */
static void mqtt__on_disconnect(struct mosquitto *mosq, void *obj, int rc,
				const mosquitto_property *props)
{
	struct mqtt *m = obj;

	(void)mosq;
	(void)props;
	if (rc >= 0x80 && !m->why[0])
		snprintf(m->why, sizeof(m->why), "broker disconnected: %s",
			 mosquitto_reason_string(rc));
}

static void mqtt__on_message(struct mosquitto *mosq, void *obj,
			     const struct mosquitto_message *msg,
			     const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->stopping || !m->cbs.message)
		return;
	if (msg->payloadlen < 0 || (unsigned)msg->payloadlen > m->max_payload) {
		log_debug("mqtt: dropped a %d-byte message on %s (limit %u)",
			  msg->payloadlen, msg->topic, m->max_payload);
	} else {
		mqtt__enter(m);
		m->cbs.message(m->cbs.ctx, msg->topic, msg->payload,
			       (size_t)msg->payloadlen, msg->retain);
		mqtt__leave(m);
	}
	errno = saved;
}

/*
 * The first time the queue is empty after a CONNACK, what the link had
 * to catch up on has all been acknowledged: at start-up some 1500
 * retained states and discovery configs (0.8 MB at 232 nodes, half in
 * libmosquitto's queue, half in the outbox, which frees its copies in
 * the published() callback just returned from), after an outage its
 * replay.  glibc keeps such a burst of small blocks for the process, as
 * later blocks pin the heap's top; malloc_trim(0) gives its free pages
 * back.  Once per connect, off the steady path: its walk of the heap
 * (0.1 ms at 232 nodes) costs nothing per message.
 */
static void mqtt__trim(struct mqtt *m)
{
	if (!m->trim_due || m->inflight > 0)
		return;
	m->trim_due = false;
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

/*
 * PUBACK.  libmosquitto forgets the message whatever the reason code; a
 * MQTT 5 refusal (not authorised, quota) will not go better when sent
 * again, so it counts as done, with a warning.
 */
static void mqtt__on_publish(struct mosquitto *mosq, void *obj, int mid,
			     int reason, const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->inflight > 0)
		m->inflight--;
	if (reason >= 0x80)
		log_warning("mqtt: broker refused message %d: %s", mid,
			    mosquitto_reason_string(reason));
	if (!m->stopping && m->cbs.published) {
		mqtt__enter(m);
		m->cbs.published(m->cbs.ctx, mid);
		if (mqtt__leave(m))
			mqtt__trim(m);
	}
	errno = saved;
}

/*
 * libmosquitto logs OpenSSL's error queue before clearing it; the first
 * line of a failure is its cause ("tlsv13 alert certificate required").
 * Nothing else is taken from its log: it names topics and sizes.
 */
static void mqtt__on_log(struct mosquitto *mosq, void *obj, int level,
			 const char *str)
{
	struct mqtt *m = obj;
	const char *reason;

	(void)mosq;
	if (level != MOSQ_LOG_ERR || strncmp(str, "OpenSSL Error", 13) != 0 ||
	    m->tls_detail[0])
		return;
	reason = strrchr(str, ':');
	reason = reason ? reason + 1 : str;
	snprintf(m->tls_detail, sizeof(m->tls_detail), "%s", reason);
}

static int mqtt__check_opts(const struct mqtt_opts *o)
{
	unsigned n = 0;

	if (!o->host || !o->host[0] || strlen(o->host) > MQTT_HOST_MAX ||
	    (o->connect_to && strlen(o->connect_to) > MQTT_HOST_MAX))
		return -EINVAL;
	if (o->port == 0 || o->port > 65535)
		return -EINVAL;
	if (o->protocol != 0 && o->protocol != 4 && o->protocol != 5)
		return -EINVAL;
	if (!o->client_id || !o->client_id[0] ||
	    strlen(o->client_id) > MQTT_ID_MAX)
		return -EINVAL;
	if (o->keepalive_s != 0 &&
	    (o->keepalive_s < 5 || o->keepalive_s > 65535))
		return -EINVAL;
	if (o->will_topic &&
	    (!o->will_payload ||
	     mosquitto_pub_topic_check(o->will_topic) != MOSQ_ERR_SUCCESS))
		return -EINVAL;
	for (n = 0; o->subs[n]; n++)
		if (n == MQTT_SUBS_MAX ||
		    mosquitto_sub_topic_check(o->subs[n]) != MOSQ_ERR_SUCCESS)
			return -EINVAL;
	return 0;
}

static int mqtt__copy_opts(struct mqtt *m, const struct mqtt_opts *o)
{
	m->host = strdup(o->host);
	m->connect_to = o->connect_to ? strdup(o->connect_to) : NULL;
	m->client_id = strdup(o->client_id);
	if (!m->host || (o->connect_to && !m->connect_to) || !m->client_id)
		return -ENOMEM;
	for (m->nsubs = 0; o->subs[m->nsubs]; m->nsubs++) {
		m->subs[m->nsubs] = strdup(o->subs[m->nsubs]);
		if (!m->subs[m->nsubs])
			return -ENOMEM;
	}
	m->port = o->port;
	m->protocol = o->protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
	m->keepalive_s = o->keepalive_s;
	m->max_payload =
	    o->max_payload ? o->max_payload : MQTT_MAX_PAYLOAD_DEFAULT;
	m->backoff_max_ms =
	    o->backoff_max_ms ? o->backoff_max_ms : MQTT_BACKOFF_MAX_MS;
	m->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms
						      : MQTT_CONNECT_TIMEOUT_MS;
	m->tls = o->ssl_ctx != NULL;
	return 0;
}

/*
 * MQTT 5 ends a session when the link drops unless CONNECT asks for an
 * expiry, and mosquitto_connect_bind_async() takes no properties.
 * mosquitto_connect_bind_v5() stores them in the client for every later
 * connect before it looks at the host (2.0.11 lib/connect.c), so a call
 * with no host stores them and connects nowhere.  The expiry is "never",
 * like clean session off in 3.1.1.
 */
static int mqtt__v5_session(struct mosquitto *mosq)
{
	mosquitto_property *props = NULL;
	int rc;

	rc = mosquitto_property_add_int32(
	    &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX);
	if (rc != MOSQ_ERR_SUCCESS)
		return mqtt__to_errno(rc);
	rc = mosquitto_connect_bind_v5(mosq, NULL, 0, 0, NULL, props);
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? 0 : -EIO;
}

static int mqtt__setup_mosq(struct mqtt *m, const struct mqtt_opts *o)
{
	struct mosquitto *mosq;
	int rc;

	mosq = m->mosq = mosquitto_new(m->client_id, false, m);
	if (!mosq)
		return errno == EINVAL ? -EINVAL : -ENOMEM;
	rc = mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, m->protocol);
	if (rc == MOSQ_ERR_SUCCESS && o->ssl_ctx) {
		rc = mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS,
					  0);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX,
						   o->ssl_ctx);
	}
	if (rc == MOSQ_ERR_SUCCESS && o->will_topic)
		rc = mosquitto_will_set(mosq, o->will_topic,
					(int)strlen(o->will_payload),
					o->will_payload, 1, true);
	if (rc != MOSQ_ERR_SUCCESS)
		return mqtt__to_errno(rc);
	if (m->protocol == MQTT_PROTOCOL_V5) {
		int r = mqtt__v5_session(mosq);

		if (r < 0)
			return r;
	}
	mosquitto_connect_v5_callback_set(mosq, mqtt__on_connect);
	mosquitto_disconnect_v5_callback_set(mosq, mqtt__on_disconnect);
	mosquitto_message_v5_callback_set(mosq, mqtt__on_message);
	mosquitto_publish_v5_callback_set(mosq, mqtt__on_publish);
	mosquitto_log_callback_set(mosq, mqtt__on_log);
	return 0;
}

static uint64_t mqtt__seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return uv_hrtime() ^ ((uint64_t)getpid() << 32);
}

int mqtt_start(uv_loop_t *loop, const struct mqtt_opts *opts,
	       const struct mqtt_cbs *cbs, struct mqtt **ret)
{
	struct mqtt *m;
	int r;

	r = mqtt__check_opts(opts);
	if (r < 0)
		return r;
	pthread_once(&mqtt_lib_once, mqtt__lib_init);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->refs = 1;
	r = mqtt__copy_opts(m, opts);
	if (r == 0)
		r = mqtt__setup_mosq(m, opts);
	if (r < 0) {
		mosquitto_destroy(m->mosq);
		mqtt__unref(m);
		return r;
	}
	m->loop = loop;
	m->cbs = *cbs;
	m->rng = mqtt__seed();
	m->poll_fd = -1;
	m->linger_fd = -1;
	uv_timer_init(loop, &m->timer);
	uv_timer_init(loop, &m->misc);
	m->timer.data = m->misc.data = m;
	m->refs += 2;
	mqtt__try(m);
	*ret = m;
	return 0;
}

void mqtt_stop(struct mqtt *m)
{
	if (!m || m->stopping)
		return;
	m->stopping = true;
	/* The poll goes before the socket that a DISCONNECT may close. */
	mqtt__poll_close(m);
	if (m->state == MQTT_CONNECTED)
		m->linger_fd =
		    fcntl(mosquitto_socket(m->mosq), F_DUPFD_CLOEXEC, 0);
	if (m->state == MQTT_RESOLVING)
		uv_cancel((uv_req_t *)&m->gai);
	m->state = MQTT_IDLE;
	uv_close((uv_handle_t *)&m->timer, mqtt__on_handle_closed);
	uv_close((uv_handle_t *)&m->misc, mqtt__on_handle_closed);
	if (m->depth == 0)
		mqtt__release(m);
}

/*
 * QoS 1.  Once libmosquitto has queued the message it keeps it until
 * the PUBACK, through any number of reconnects of this client:
 * mosquitto_connect_bind_async() marks every unacknowledged QoS 1 message
 * for sending again (message__reconnect_reset()), and after the next
 * CONNACK it sends them again with DUP set and the same mid
 * (message__retry_check()); the PUBACK then calls published() once, as
 * for any message.  So a write that fails after the message was queued
 * (ERRNO, CONN_LOST) is a success here: the message is on its way, the
 * broken socket shows up on the poll.  Beyond the broker's receive
 * maximum (20 unless it says otherwise) messages wait in libmosquitto
 * and still count as in flight.  (-ENOMEM can come after the queueing
 * too; published() may then name a mid the caller never got, which it
 * must ignore.)
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
		 size_t len, bool retain, int *ret_mid)
{
	int rc, mid = 0;

	if (!m || m->stopping || m->state != MQTT_CONNECTED)
		return -ENOTCONN;
	if (!topic || (len && !payload))
		return -EINVAL;
	if (len > INT_MAX)
		return -E2BIG;
	rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, 1,
			       retain);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO &&
	    rc != MOSQ_ERR_CONN_LOST)
		return mqtt__to_errno(rc);
	m->inflight++;
	if (ret_mid)
		*ret_mid = mid;
	mqtt__update_poll(m);
	return 0;
}

unsigned mqtt_inflight(const struct mqtt *m)
{
	return m ? m->inflight : 0;
}

void mqtt_get_info(const struct mqtt *m, struct mqtt_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!m)
		return;
	ret->state = m->stopping ? MQTT_IDLE : m->state;
	ret->connected_since_ms = m->connected_since_ms;
	ret->attempt = m->attempt;
	if (m->state == MQTT_BACKOFF && !m->stopping)
		ret->next_try_in_ms = uv_timer_get_due_in(&m->timer);
	snprintf(ret->last_error, sizeof(ret->last_error), "%s", m->last_error);
	ret->connects = m->connects;
}
