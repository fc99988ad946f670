/* SPDX-License-Identifier: MIT */
/*
 * cloud.h: the cloud link: the MQTT client, the outbox that makes it
 * durable, and the bridge that decides what is said.  Every message goes
 * into the outbox first and leaves it only when the broker acknowledged
 * it (PUBACK), so an outage or a crash loses nothing that was accepted.
 */
#ifndef ZWGATE_CLOUD_H
#define ZWGATE_CLOUD_H

#include <jansson.h>
#include <uv.h>

#include "bridge.h"
#include "outbox.h"

struct cloud;
struct conf;
struct registry;

/* The link's state as the rules and STATUS= see it. */
enum cloud_state {
	CLOUD_DISCONNECTED, /* not up yet, or lost: the outbox holds on */
	CLOUD_CONNECTED,
};

/* What the cloud link needs from the gateway. */
struct cloud_deps {
	uv_loop_t *loop;
	struct registry *reg;  /* followed by the bridge */
	const char *state_dir; /* the outbox and the trust store live there */
	void *ctx;	       /* for conf and on_state */
	/* The running config; its cloud block must be set. */
	const struct conf *(*conf)(void *ctx);
	/* The link came up or went down (not called by cloud_stop). */
	void (*on_state)(void *ctx, enum cloud_state st);
	struct bridge_ops bridge; /* commands from the cloud */
};

/* Start the link (deps copied).  0 or -errno, logged. */
int cloud_start(const struct cloud_deps *deps, struct cloud **ret);
/* Publish "offline", disconnect, sync the outbox, close.  NULL ok. */
void cloud_stop(struct cloud *c);

/* Queue a message for the broker.  0 or -errno. */
int cloud_publish(struct cloud *c, enum outbox_kind kind, const char *topic,
		  const void *payload, size_t len);

/* {"state":"connected","since":..,"last_error":..,"outbox":{..}} */
json_t *cloud_status_json(const struct cloud *c);
/*
 * The trust commands of the control socket (trust-import, trust-status).
 * Without a trust bundle in use: -ENOTSUP / NULL with why.
 */
int cloud_trust_offer(struct cloud *c, const void *buf, size_t len,
		      json_t **result, char *why, size_t whylen);
json_t *cloud_trust_status(struct cloud *c, char *why, size_t whylen);

/* One word for STATUS=: "connected", "connecting", "offline". */
const char *cloud_state_word(const struct cloud *c);

/* cloud { allow-controller-ops }, changed by a reload. */
void cloud_set_controller_ops(struct cloud *c, bool on);

#endif
