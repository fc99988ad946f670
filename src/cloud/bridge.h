/* SPDX-License-Identifier: MIT */
/*
 * bridge.h: between the registry and the MQTT topic contract
 * (docs/DESIGN.md, "The MQTT contract"; zwgate.conf(5), MQTT TOPICS),
 * with P = <topic-prefix>/<gateway-id>:
 *
 *   P/node/<n>/status                     out, retained: alive|asleep|dead
 *   P/node/<n>/<cc>/<endpoint>/<property> out, retained: {"value":V,"ts":ms}
 *   .../<property>/set                    in: raw value or {"value":V}
 *   P/event/<n>/<cc>/<endpoint>/<kind>    out: {"code":K,"text":..,"ts":ms}
 *   P/api/<command>/set -> P/api/<command> in -> out, JSON with "id"
 *   P/error                               out: {"topic":..,"error":..,"ts":ms}
 *   homeassistant/<component>/<unique>/config  out, retained (discovery)
 *
 * The bridge knows topics and payloads; it sends through the out
 * functions it is given (cloud.c puts them in the outbox), is handed
 * incoming messages, and hands commands to the gateway's API through the
 * ops it is given.  It never blocks and never trusts a payload.
 */
#ifndef ZWGATE_BRIDGE_H
#define ZWGATE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "outbox.h"

#define BRIDGE_IN_MAX (64 * 1024) /* bytes of an incoming command */
/*
 * Anyone on the broker can publish "online" on the discovery status
 * topic, and each would make the gateway send every config again: after
 * one round, more "online"s in this window make one more round at its
 * end, so a real Home Assistant restart is never missed.
 */
#define BRIDGE_BIRTH_WINDOW_MS 10000
/* The command topics the bridge subscribes to, with P for "%s"; the
 * outbox refuses to hold them (outbox_opts.refused). */
#define BRIDGE_SUB_VALUE_SET "%s/node/+/+/+/+/set"
#define BRIDGE_SUB_API_SET   "%s/api/+/set"

struct registry;

struct bridge_out {
	/* Queue a message (STATE: retained and coalesced; EVENT: not). */
	int (*publish)(void *ctx, enum outbox_kind kind, const char *topic,
		       const void *payload, size_t len);
	void *ctx;
};

struct bridge_opts {
	const char *prefix; /* "zwgate/home-42": P without a trailing '/' */
	bool discovery;	    /* Home Assistant discovery on */
	const char *discovery_prefix; /* "homeassistant" */
	unsigned birth_window_ms;     /* tests shorten it; 0: the default */
	bool controller_ops; /* take include, exclude, ... from the cloud */
};

/* Receives the API's reply (borrowed: copy it).  Called once. */
typedef void (*bridge_reply_fn)(void *ctx, const json_t *reply);

/* What the bridge asks of the gateway. */
struct bridge_ops {
	/*
	 * Carry out req (borrowed), a request of the API (zwgate/control.h);
	 * reply(reply_ctx, ..) exactly once, at once or later, even when
	 * the gateway stops first.
	 */
	void (*api_call)(void *ctx, const json_t *req, bridge_reply_fn reply,
			 void *reply_ctx);
	/* The API's code of an -errno: "ENOENT", ...; "EIO" if unknown. */
	const char *(*errno_name)(int err);
	/* Does text name one of the gateway's files (an error that stays
	 * in the local log)?  NULL: nothing does. */
	bool (*names_a_path)(void *ctx, const char *text);
	void *ctx;
};

struct bridge_deps {
	uv_loop_t *loop;
	struct registry *reg; /* must outlive the bridge */
	struct bridge_ops ops;
};

struct bridge;

/*
 * Follow deps->reg (as a listener), send through out, carry out commands
 * through deps->ops.  Publishes the state of what the registry already
 * holds.  0 or -errno.
 */
int bridge_start(const struct bridge_deps *deps, const struct bridge_opts *opts,
		 const struct bridge_out *out, struct bridge **ret);
struct bridge *bridge_stop(struct bridge *b);

/* Take controller operations (include, exclude, provision, health...)
 * from the cloud from now on, or refuse them (a reload). */
void bridge_set_controller_ops(struct bridge *b, bool on);

/* The topic filters the bridge wants subscribed (NULL-terminated). */
const char *const *bridge_subscriptions(const struct bridge *b);

/*
 * An incoming message (borrowed).  retained: the broker kept it and
 * sends it again for a new subscription.  A command (a value's /set,
 * P/api/<command>/set) is an event: retained, it is not carried out and
 * answered once on P/error; empty, it is what clears a retained message
 * and is ignored.
 */
void bridge_message(struct bridge *b, const char *topic, const void *payload,
		    size_t len, bool retained);

/* The link is up: (re)send discovery when it is on. */
void bridge_connected(struct bridge *b);
/*
 * The link is up on one of several brokers, which may not share their
 * retained messages (RabbitMQ keeps them per node): send every node's
 * status and every value's state again, as at start.
 */
void bridge_republish(struct bridge *b);

#endif
