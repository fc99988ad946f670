/* SPDX-License-Identifier: MIT */
/*
 * mqtt_int.h: what the files of the MQTT client share: struct mqtt and
 * the functions one file calls in another (overview at the top of mqtt.c).
 */
#ifndef ZWGATE_MQTT_INT_H
#define ZWGATE_MQTT_INT_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosquitto.h>
#include <uv.h>

#include "mqtt.h"

#define MQTT_WHY_MAX 160

struct mqtt {
	uv_loop_t *loop;
	struct mosquitto *mosq;
	struct mqtt_cbs cbs;
	char *hosts[MQTT_HOSTS_MAX];
	char *connect_tos[MQTT_HOSTS_MAX]; /* all NULL: dial the names */
	unsigned nhosts;
	unsigned order[MQTT_HOSTS_MAX]; /* shuffled at start */
	unsigned turn;			/* order[turn] is tried next */
	const char *host;		/* the one in use or being tried */
	const char *connect_to;		/* ... and its address, or NULL */
	SSL_CTX *ssl_ctx;		/* borrowed; its host is host's */
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
	int dial_errno;	       /* see mqtt_socket_gone() */
	int linger_fd;	       /* see mqtt_linger() */
	char addr[NI_MAXHOST]; /* the numeric address dialled */

	/* Why the current try or link failed, noted by callbacks. */
	char why[MQTT_WHY_MAX];
	char tls_detail[MQTT_WHY_MAX - 40];

	unsigned attempt;
	uint64_t connects;
	uint64_t connected_since_ms;
	unsigned inflight;
	bool trim_due; /* connected, queue not yet empty: mqtt_trim() */
	char last_error[MQTT_WHY_MAX];
	uint64_t rng;

	bool retry_now; /* mqtt_reconnect: the next try without backoff */
	unsigned depth; /* nested calls into libmosquitto or the user */
	unsigned refs;	/* open handles, the pending resolution, the mosq */
	bool stopping;
};

/* mqtt.c: the client's life. */
int mqtt_to_errno(int rc);
/* Frees m once nothing refers to it any more. */
void mqtt_unref(struct mqtt *m);
/* Around every call into libmosquitto or the user. */
void mqtt_enter(struct mqtt *m);
/* false: mqtt_stop() was called meanwhile; the caller must return. */
bool mqtt_leave(struct mqtt *m);

/* mqtt_link.c: resolve, dial, CONNACK, backoff. */
void mqtt_shuffle(struct mqtt *m); /* the order of the hosts */
void mqtt_try(struct mqtt *m);
/* Every failure and every lost link ends here. */
void mqtt_down(struct mqtt *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mqtt_words(struct mqtt *m, int rc, int e, char *buf, size_t len);
void mqtt_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		     const mosquitto_property *props);
void mqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			const mosquitto_property *props);
void mqtt_on_log(struct mosquitto *mosq, void *obj, int level, const char *str);

/* mqtt_poll.c: the socket on the loop. */
void mqtt_errno_words(char *buf, size_t len, int e);
void mqtt_poll_close(struct mqtt *m);
void mqtt_update_poll(struct mqtt *m);
bool mqtt_handshaking(struct mqtt *m);
bool mqtt_connect_errno(int e);
uint64_t mqtt_misc_ms(const struct mqtt *m);
void mqtt_on_misc(uv_timer_t *t);
/* Takes fd: the lingering close of a socket after DISCONNECT. */
void mqtt_linger(uv_loop_t *loop, int fd);

/* mqtt_pub.c: messages. */
void mqtt_on_message(struct mosquitto *mosq, void *obj,
		     const struct mosquitto_message *msg,
		     const mosquitto_property *props);
void mqtt_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
		     const mosquitto_property *props);

#endif
