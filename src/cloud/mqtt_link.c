/* SPDX-License-Identifier: MIT */
/*
 * mqtt_link.c: the MQTT link's state machine (see the top of mqtt.c):
 * resolving the broker, dialling, the CONNACK with its subscriptions,
 * the connect timeout, and every failure's way to BACKOFF with full
 * jitter; mqtt_reconnect(); libmosquitto's words for what went wrong.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"
#include "mqtt.h"
#include "mqtt_int.h"
#include "tls.h"
#include "zwtime.h"

static uint64_t mqtt_backoff(unsigned attempt, uint32_t random, uint64_t cap)
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
	return mqtt_backoff(attempt, random, MQTT_BACKOFF_MAX_MS);
}

/* splitmix64: jitter only needs to differ between gateways. */
static uint32_t mqtt_random(struct mqtt *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint64_t mqtt_wall_ms(void)
{
	int64_t ms = zwtime_now_ms(); /* past 2038 on a 32-bit time_t too */

	return ms > 0 ? (uint64_t)ms : 0;
}

static void mqtt_on_backoff(uv_timer_t *t)
{
	mqtt_try(t->data);
}

/*
 * Every failure and every lost link ends here: close the poll, stop the
 * timers, note why, arm the backoff timer, tell the user if the link had
 * been up.  A link lost after a CONNACK retries after backoff(0); each
 * failed try doubles the ceiling.
 */
void mqtt_down(struct mqtt *m, const char *fmt, ...)
{
	bool was_up = m->state == MQTT_CONNECTED;
	int fd = mosquitto_socket(m->mosq);
	uint64_t delay;
	va_list ap;

	mqtt_poll_close(m);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	uv_timer_stop(&m->misc);
	va_start(ap, fmt);
	vsnprintf(m->last_error, sizeof(m->last_error), fmt, ap);
	va_end(ap);
	if (!was_up && m->attempt < UINT_MAX)
		m->attempt++;
	m->turn = (m->turn + 1) % m->nhosts;
	delay = m->retry_now ? 0
			     : mqtt_backoff(m->attempt, mqtt_random(m),
					    m->backoff_max_ms);
	m->retry_now = false;
	m->state = MQTT_BACKOFF;
	m->connected_since_ms = 0;
	uv_timer_start(&m->timer, mqtt_on_backoff, delay, 0);
	log_notice("mqtt: %s %s: %s; next try in %.1f s%s%s",
		   was_up ? "lost the link to" : "cannot connect to", m->host,
		   m->last_error, (double)delay / 1000,
		   m->nhosts > 1 ? ", with " : "",
		   m->nhosts > 1 ? m->hosts[m->order[m->turn]] : "");
	if (was_up && m->cbs.disconnected) {
		mqtt_enter(m);
		m->cbs.disconnected(m->cbs.ctx, m->last_error);
		mqtt_leave(m);
	} else if (!was_up && m->cbs.failed) {
		mqtt_enter(m);
		m->cbs.failed(m->cbs.ctx, m->last_error);
		mqtt_leave(m);
	}
}

void mqtt_reconnect(struct mqtt *m, const char *why)
{
	if (!m || m->stopping || m->state == MQTT_IDLE ||
	    m->state == MQTT_RESOLVING)
		return;
	if (m->state != MQTT_BACKOFF) {
		m->retry_now = true;
		mqtt_down(m, "%s", why);
		return;
	}
	log_notice("mqtt: %s; trying %s now", why, m->hosts[m->order[m->turn]]);
	uv_timer_start(&m->timer, mqtt_on_backoff, 0, 0);
}

/*
 * Words for a libmosquitto failure, preferring what callbacks noted.  A
 * link that was up is "connection lost", with the detail in brackets.
 */
void mqtt_words(struct mqtt *m, int rc, int e, char *buf, size_t len)
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
		mqtt_errno_words(detail, sizeof(detail), e);
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

static void mqtt_on_timeout(uv_timer_t *t)
{
	struct mqtt *m = t->data;

	mqtt_down(m, "timed out (%s)",
		  m->tcp_pending	? "TCP connect"
		  : mqtt_handshaking(m) ? "TLS handshake"
					: "waiting for CONNACK");
}

/* Fisher-Yates: gateways that list the same brokers spread over them. */
void mqtt_shuffle(struct mqtt *m)
{
	for (unsigned i = m->nhosts; i > 1; i--) {
		unsigned j = mqtt_random(m) % i, t = m->order[i - 1];

		m->order[i - 1] = m->order[j];
		m->order[j] = t;
	}
}

/* Dial the numeric address: libmosquitto resolves nothing then. */
static void mqtt_dial(struct mqtt *m)
{
	int rc, e, r;

	m->state = MQTT_CONNECTING;
	m->why[0] = m->tls_detail[0] = '\0';
	/* The new SSL takes the name to verify from the context. */
	if (m->ssl_ctx && tls_ctx_set_host(m->ssl_ctx, m->host) < 0) {
		mqtt_down(m, "cannot verify the name %s", m->host);
		return;
	}
	uv_timer_start(&m->timer, mqtt_on_timeout, m->connect_timeout_ms, 0);
	log_info("mqtt: connecting to %s (%s port %u)", m->host, m->addr,
		 m->port);
	mqtt_enter(m);
	errno = 0;
	rc = mosquitto_connect_bind_async(m->mosq, m->addr, (int)m->port,
					  (int)m->keepalive_s, NULL);
	e = errno;
	if (!mqtt_leave(m))
		return;
	m->dial_errno = rc == MOSQ_ERR_SUCCESS && mqtt_connect_errno(e) ? e : 0;
	if (rc != MOSQ_ERR_SUCCESS) {
		char why[MQTT_WHY_MAX];

		mqtt_words(m, rc, e, why, sizeof(why));
		mqtt_down(m, "%s (%s port %u)", why, m->addr, m->port);
		return;
	}
	m->poll = malloc(sizeof(*m->poll));
	if (!m->poll) {
		mqtt_down(m, "out of memory");
		return;
	}
	r = uv_poll_init_socket(m->loop, m->poll, mosquitto_socket(m->mosq));
	if (r < 0) {
		free(m->poll);
		m->poll = NULL;
		mqtt_down(m, "cannot poll the socket: %s", uv_strerror(r));
		return;
	}
	m->poll->data = m;
	m->refs++;
	m->poll_fd = mosquitto_socket(m->mosq);
	m->poll_events = 0;
	m->tcp_pending = true;
	mqtt_update_poll(m);
}

/*
 * Several addresses: each failed try moves to the next one, so a dead
 * first address cannot hold the link down.
 */
static void mqtt_on_resolved(uv_getaddrinfo_t *req, int status,
			     struct addrinfo *res)
{
	struct mqtt *m = req->data;
	struct addrinfo *ai;
	unsigned n = 0, i;
	int r;

	if (m->stopping) {
		uv_freeaddrinfo(res);
		mqtt_unref(m);
		return;
	}
	m->refs--; /* not the last: the mosq's reference stays */
	if (status < 0) {
		mqtt_down(m, "cannot resolve %s: %s",
			  m->connect_to ? m->connect_to : m->host,
			  uv_strerror(status));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	if (n == 0) {
		mqtt_down(m, "no address for %s", m->host);
		return;
	}
	for (ai = res, i = 0; ai && i < m->attempt % n; ai = ai->ai_next)
		i++;
	r = getnameinfo(ai->ai_addr, ai->ai_addrlen, m->addr, sizeof(m->addr),
			NULL, 0, NI_NUMERICHOST);
	uv_freeaddrinfo(res);
	if (r != 0) {
		mqtt_down(m, "cannot use the address of %s: %s", m->host,
			  gai_strerror(r));
		return;
	}
	mqtt_dial(m);
}

/* Resolution runs in libuv's thread pool, never on the loop. */
void mqtt_try(struct mqtt *m)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	const char *name;
	int r;

	m->host = m->hosts[m->order[m->turn]];
	m->connect_to = m->connect_tos[m->order[m->turn]];
	name = m->connect_to ? m->connect_to : m->host;
	m->state = MQTT_RESOLVING;
	m->gai.data = m;
	r = uv_getaddrinfo(m->loop, &m->gai, mqtt_on_resolved, name, NULL,
			   &hints);
	if (r < 0) {
		mqtt_down(m, "cannot resolve %s: %s", name, uv_strerror(r));
		return;
	}
	m->refs++;
}

static const char *mqtt_connack_words(int protocol, int rc)
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
void mqtt_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		     const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->stopping)
		return;
	if (rc != 0) {
		snprintf(m->why, sizeof(m->why), "broker refused: %s",
			 mqtt_connack_words(m->protocol, rc));
		errno = saved;
		return;
	}
	uv_timer_stop(&m->timer);
	m->state = MQTT_CONNECTED;
	m->attempt = 0;
	m->connects++;
	m->connected_since_ms = mqtt_wall_ms();
	m->trim_due = true;
	for (unsigned i = 0; i < m->nsubs; i++) {
		int r = mosquitto_subscribe(m->mosq, NULL, m->subs[i], 1);

		if (r != MOSQ_ERR_SUCCESS)
			log_warning("mqtt: cannot subscribe to %s: %s",
				    m->subs[i], mosquitto_strerror(r));
	}
	uv_timer_start(&m->misc, mqtt_on_misc, mqtt_misc_ms(m),
		       mqtt_misc_ms(m));
	log_notice("mqtt: connected to %s (%s)", m->host,
		   flags & 1 ? "session present" : "new session");
	if (m->cbs.connected) {
		mqtt_enter(m);
		m->cbs.connected(m->cbs.ctx, flags & 1);
		mqtt_leave(m);
	}
	errno = saved;
}

/* Only a broker's DISCONNECT (MQTT 5) carries words we would not have. */
void mqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			const mosquitto_property *props)
{
	struct mqtt *m = obj;

	(void)mosq;
	(void)props;
	if (rc >= 0x80 && !m->why[0])
		snprintf(m->why, sizeof(m->why), "broker disconnected: %s",
			 mosquitto_reason_string(rc));
}

/*
 * libmosquitto logs OpenSSL's error queue before clearing it; the first
 * line of a failure is its cause ("tlsv13 alert certificate required").
 * Nothing else is taken from its log: it names topics and sizes.
 */
void mqtt_on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
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
