/* SPDX-License-Identifier: MIT */
/*
 * mqtt.h: an MQTT client (libmosquitto) driven by the daemon's libuv loop
 * instead of libmosquitto's own thread.
 *
 * - uv_poll on mosquitto_socket(), write interest only while
 *   mosquitto_want_write(); mosquitto_loop_read/write on readiness;
 *   mosquitto_loop_misc from a timer.  The poll is stopped before the
 *   socket closes and made anew after every connect.
 * - The host is resolved off the loop (uv_getaddrinfo) and the TCP
 *   connect is non-blocking and bounded by a timeout.
 * - Its own reconnect: exponential backoff from 1 s to a 5 min cap with
 *   full jitter; every failure path schedules the next try, so it can
 *   never latch shut.  Subscriptions are made again on every connect.
 * - Persistent session (clean session off), QoS 1, keepalive, a retained
 *   last will; MQTT 3.1.1 or 5.
 * - The first time no message is in flight after a connect, the burst
 *   that caught up is over: malloc_trim(0) gives its heap back.
 * libmosquitto's error codes are translated to -errno here, once.
 */
#ifndef ZWGATE_MQTT_H
#define ZWGATE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#define MQTT_BACKOFF_MIN_MS	 1000
#define MQTT_BACKOFF_MAX_MS	 (5 * 60 * 1000)
#define MQTT_CONNECT_TIMEOUT_MS	 10000
#define MQTT_SUBS_MAX		 8
#define MQTT_HOSTS_MAX		 8
#define MQTT_MAX_PAYLOAD_DEFAULT (256 * 1024) /* max_payload 0 */

enum mqtt_state {
	MQTT_IDLE,	 /* not started, or stopped */
	MQTT_RESOLVING,	 /* uv_getaddrinfo running */
	MQTT_CONNECTING, /* TCP/TLS/CONNECT sent, waiting for CONNACK */
	MQTT_CONNECTED,
	MQTT_BACKOFF, /* waiting for the next try */
};

struct mqtt_opts {
	/* Broker names (also for TLS verification), NULL-ended, 1 to
	 * MQTT_HOSTS_MAX, tried in an order shuffled at start, the next
	 * after each failed try or lost link. */
	const char *hosts[MQTT_HOSTS_MAX + 1];
	/* Addresses to dial instead, one for each host, or all NULL. */
	const char *connect_to[MQTT_HOSTS_MAX + 1];
	unsigned port;
	int protocol; /* 4: MQTT 3.1.1, 5: MQTT 5 */
	const char *client_id;
	unsigned keepalive_s;
	SSL_CTX *ssl_ctx;	/* borrowed; NULL: plaintext (loopback only) */
	const char *will_topic; /* retained last will, or NULL */
	const char *will_payload;	     /* e.g. "offline" */
	const char *subs[MQTT_SUBS_MAX + 1]; /* QoS 1 filters, NULL-ended */
	unsigned max_payload; /* larger incoming messages are dropped */
	/* Tests shorten these; 0: the defaults above. */
	unsigned backoff_max_ms;     /* 0: MQTT_BACKOFF_MAX_MS */
	unsigned connect_timeout_ms; /* 0: MQTT_CONNECT_TIMEOUT_MS */
};

struct mqtt_cbs {
	/* CONNACK accepted; subscriptions already requested. */
	void (*connected)(void *ctx, bool session_present);
	/* The link went down (why: words, e.g. "connection refused"). */
	void (*disconnected)(void *ctx, const char *why);
	/* A try failed before its CONNACK (resolving, TCP, TLS, CONNACK
	 * refused, timeout); may be NULL. */
	void (*failed)(void *ctx, const char *why);
	/*
	 * An incoming message on a subscribed topic (borrowed).  retained:
	 * the broker kept it and sends it because a subscription was just
	 * made (at every connect), not because someone published it now.
	 */
	void (*message)(void *ctx, const char *topic, const void *payload,
			size_t len, bool retained);
	/* The broker acknowledged the QoS 1 message with this mid. */
	void (*published)(void *ctx, int mid);
	void *ctx;
};

struct mqtt_info {
	enum mqtt_state state;
	const char *host;	     /* the broker in use or being tried */
	uint64_t connected_since_ms; /* wall clock; 0 when not connected */
	unsigned attempt;	     /* failed tries since the last success */
	uint64_t next_try_in_ms;     /* in BACKOFF */
	char last_error[160];	     /* words, "" if none yet */
	uint64_t connects;	     /* successful connects, ever */
};

struct mqtt;

/* Copy opts (strings too) and start connecting.  0 or -errno. */
int mqtt_start(uv_loop_t *loop, const struct mqtt_opts *opts,
	       const struct mqtt_cbs *cbs, struct mqtt **ret);
/*
 * Disconnect cleanly (no last will is sent by the broker after a clean
 * DISCONNECT, so publish "offline" first), close every handle; memory is
 * freed once they are closed.  NULL is fine.  No callback after this.
 * Called from inside a callback, the messages libmosquitto has already
 * read in the same go are acknowledged by it (it acknowledges QoS 1
 * before delivering) but no longer delivered.
 */
void mqtt_stop(struct mqtt *m);

/*
 * Publish at QoS 1.  0 with *ret_mid set, -ENOTCONN when not connected,
 * -EINVAL, -E2BIG (over the broker's limit), -errno.
 * A message accepted here stays in libmosquitto until its PUBACK, across
 * reconnects: after a reconnect it is sent again (same mid, DUP set) and
 * published() is still called for it, once.  Only mqtt_stop() forgets
 * the messages still in flight (published() is never called for them).
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
		 size_t len, bool retain, int *ret_mid);

/*
 * Drop the link or the try under way (why goes to the log and
 * last_error) and try again at once, e.g. because what a handshake
 * trusts has changed.  A resolution still running is left alone: its
 * handshake has not started.  Messages in flight are kept as for any
 * lost link.  No effect when stopped.
 */
void mqtt_reconnect(struct mqtt *m, const char *why);

/* Messages handed to mqtt_publish and not yet acknowledged. */
unsigned mqtt_inflight(const struct mqtt *m);
void mqtt_get_info(const struct mqtt *m, struct mqtt_info *ret);
const char *mqtt_state_name(enum mqtt_state s);

/* Full-jitter backoff: a random delay in [0, min(cap, base * 2^attempt)]
 * but at least MQTT_BACKOFF_MIN_MS / 2.  Exposed for tests. */
uint64_t mqtt_backoff_ms(unsigned attempt, uint32_t random);

#endif
