/* SPDX-License-Identifier: MIT */
/*
 * mqtt.c: libmosquitto (2.0.11) driven by the daemon's libuv loop: the
 * client's life (options, start, stop, the libmosquitto handle).
 * The link (resolve, dial, CONNACK, backoff) is in mqtt_link.c, the
 * socket on the loop (poll, keepalive timer, lingering close) in
 * mqtt_poll.c, messages (publish, PUBACK, incoming) in mqtt_pub.c.
 *
 * The state machine (every arrow not to IDLE goes through mqtt_down(),
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
 * see mqtt_socket_gone()),
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"
#include "mqtt.h"
#include "mqtt_int.h"

#define MQTT_HOST_MAX 253
#define MQTT_ID_MAX   256

static pthread_once_t mqtt_lib_once = PTHREAD_ONCE_INIT;

static void mqtt_lib_init(void)
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

int mqtt_to_errno(int rc)
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
void mqtt_unref(struct mqtt *m)
{
	if (--m->refs > 0)
		return;
	for (unsigned i = 0; i < m->nhosts; i++) {
		free(m->hosts[i]);
		free(m->connect_tos[i]);
	}
	free(m->client_id);
	for (unsigned i = 0; i < m->nsubs; i++)
		free(m->subs[i]);
	free(m);
}

static void mqtt_on_handle_closed(uv_handle_t *h)
{
	mqtt_unref(h->data);
}

/*
 * The last step of mqtt_stop(), once out of libmosquitto's stack: there
 * DISCONNECT goes out at once, while from inside a callback it would wait
 * in the queue and libmosquitto, already "disconnected", would take the
 * next PUBACK it reads for a protocol error and drop the link unclean.
 */
static void mqtt_release(struct mqtt *m)
{
	if (m->linger_fd >= 0 && mosquitto_socket(m->mosq) >= 0)
		mosquitto_disconnect(m->mosq);
	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	if (m->linger_fd >= 0)
		mqtt_linger(m->loop, m->linger_fd);
	mqtt_unref(m);
}

void mqtt_enter(struct mqtt *m)
{
	m->depth++;
}

/* false: mqtt_stop() was called meanwhile; the caller must return. */
bool mqtt_leave(struct mqtt *m)
{
	if (--m->depth == 0 && m->stopping && m->mosq) {
		mqtt_release(m);
		return false;
	}
	return !m->stopping;
}

static int mqtt_check_opts(const struct mqtt_opts *o)
{
	unsigned n = 0;

	if (!o->hosts[0])
		return -EINVAL;
	for (n = 0; o->hosts[n]; n++)
		if (n == MQTT_HOSTS_MAX || !o->hosts[n][0] ||
		    strlen(o->hosts[n]) > MQTT_HOST_MAX ||
		    (o->connect_to[0] &&
		     (!o->connect_to[n] ||
		      strlen(o->connect_to[n]) > MQTT_HOST_MAX)))
			return -EINVAL;
	if (o->connect_to[0] && o->connect_to[n])
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

static int mqtt_copy_opts(struct mqtt *m, const struct mqtt_opts *o)
{
	for (m->nhosts = 0; o->hosts[m->nhosts]; m->nhosts++) {
		unsigned i = m->nhosts;

		m->hosts[i] = strdup(o->hosts[i]);
		m->connect_tos[i] =
		    o->connect_to[i] ? strdup(o->connect_to[i]) : NULL;
		m->order[i] = i;
		if (!m->hosts[i] || (o->connect_to[i] && !m->connect_tos[i])) {
			m->nhosts++; /* mqtt_unref frees what is there */
			return -ENOMEM;
		}
	}
	m->client_id = strdup(o->client_id);
	if (!m->client_id)
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
	m->ssl_ctx = o->ssl_ctx;
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
static int mqtt_v5_session(struct mosquitto *mosq)
{
	mosquitto_property *props = NULL;
	int rc;

	rc = mosquitto_property_add_int32(
	    &props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX);
	if (rc != MOSQ_ERR_SUCCESS)
		return mqtt_to_errno(rc);
	rc = mosquitto_connect_bind_v5(mosq, NULL, 0, 0, NULL, props);
	mosquitto_property_free_all(&props);
	return rc == MOSQ_ERR_INVAL ? 0 : -EIO;
}

static int mqtt_setup_mosq(struct mqtt *m, const struct mqtt_opts *o)
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
		return mqtt_to_errno(rc);
	if (m->protocol == MQTT_PROTOCOL_V5) {
		int r = mqtt_v5_session(mosq);

		if (r < 0)
			return r;
	}
	mosquitto_connect_v5_callback_set(mosq, mqtt_on_connect);
	mosquitto_disconnect_v5_callback_set(mosq, mqtt_on_disconnect);
	mosquitto_message_v5_callback_set(mosq, mqtt_on_message);
	mosquitto_publish_v5_callback_set(mosq, mqtt_on_publish);
	mosquitto_log_callback_set(mosq, mqtt_on_log);
	return 0;
}

static uint64_t mqtt_seed(void)
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

	r = mqtt_check_opts(opts);
	if (r < 0)
		return r;
	pthread_once(&mqtt_lib_once, mqtt_lib_init);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->refs = 1;
	r = mqtt_copy_opts(m, opts);
	if (r == 0)
		r = mqtt_setup_mosq(m, opts);
	if (r < 0) {
		mosquitto_destroy(m->mosq);
		mqtt_unref(m);
		return r;
	}
	m->loop = loop;
	m->cbs = *cbs;
	m->rng = mqtt_seed();
	mqtt_shuffle(m);
	m->poll_fd = -1;
	m->linger_fd = -1;
	uv_timer_init(loop, &m->timer);
	uv_timer_init(loop, &m->misc);
	m->timer.data = m->misc.data = m;
	m->refs += 2;
	mqtt_try(m);
	*ret = m;
	return 0;
}

void mqtt_stop(struct mqtt *m)
{
	if (!m || m->stopping)
		return;
	m->stopping = true;
	/* The poll goes before the socket that a DISCONNECT may close. */
	mqtt_poll_close(m);
	if (m->state == MQTT_CONNECTED)
		m->linger_fd =
		    fcntl(mosquitto_socket(m->mosq), F_DUPFD_CLOEXEC, 0);
	if (m->state == MQTT_RESOLVING)
		uv_cancel((uv_req_t *)&m->gai);
	m->state = MQTT_IDLE;
	uv_close((uv_handle_t *)&m->timer, mqtt_on_handle_closed);
	uv_close((uv_handle_t *)&m->misc, mqtt_on_handle_closed);
	if (m->depth == 0)
		mqtt_release(m);
}

void mqtt_get_info(const struct mqtt *m, struct mqtt_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!m)
		return;
	ret->state = m->stopping ? MQTT_IDLE : m->state;
	ret->host = m->host;
	ret->connected_since_ms = m->connected_since_ms;
	ret->attempt = m->attempt;
	if (m->state == MQTT_BACKOFF && !m->stopping)
		ret->next_try_in_ms = uv_timer_get_due_in(&m->timer);
	snprintf(ret->last_error, sizeof(ret->last_error), "%s", m->last_error);
	ret->connects = m->connects;
}
