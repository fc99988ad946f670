/* SPDX-License-Identifier: MIT */
/*
 * zw_event.h: what the Z-Wave network tells the gateway, as plain data.
 *
 * The vocabulary shared by the backends (zw.h, which sends these events)
 * and the core (registry_apply(), which takes them in): node status and
 * its names, the event types and struct zw_event.  No libuv here, so that
 * the core can use it without linking a backend.
 */
#ifndef ZWGATE_ZW_EVENT_H
#define ZWGATE_ZW_EVENT_H

#include <stdint.h>

#include "value.h"

enum zw_node_status {
	ZW_NODE_UNKNOWN,
	ZW_NODE_ALIVE,
	ZW_NODE_ASLEEP,
	ZW_NODE_DEAD,
};
const char *zw_node_status_name(enum zw_node_status s); /* "alive" ... */

enum zw_event_type {
	ZW_EV_READY,	     /* the controller is up: u.message is its name */
	ZW_EV_FAILED,	     /* the controller is gone: u.message says why */
	ZW_EV_NODE_ADDED,    /* u.node (also sent again when info changes) */
	ZW_EV_NODE_REMOVED,  /* node */
	ZW_EV_NODE_STATUS,   /* node, u.status */
	ZW_EV_VALUE_ADDED,   /* u.value.meta, u.value.val (may be NULL) */
	ZW_EV_VALUE_CHANGED, /* u.value.meta (key is what matters), .val */
	ZW_EV_VALUE_REMOVED, /* u.value.meta (key) */
	ZW_EV_NOTIFICATION,  /* u.notification: scene, button, alarm */
	ZW_EV_ALL_QUERIED,   /* every node's interview is done */
	ZW_EV_CONTROLLER,    /* include/exclude progress: u.message */
};

struct zw_node_info {
	const char *name; /* from the device or the file; may be NULL */
	const char *location, *manufacturer, *product; /* may be NULL */
	enum zw_node_status status;
};

struct zw_event {
	enum zw_event_type type;
	uint16_t node; /* 0 when not about one node */
	union {
		const char *message;
		struct zw_node_info node;
		enum zw_node_status status;
		struct {
			const struct value_meta *meta;
			const struct value *val;
		} value;
		struct {
			uint8_t cc;
			uint8_t endpoint;
			const char
			    *kind;    /* "scene", "button", "notification" */
			int64_t code; /* scene id, button, alarm event */
			const char *text; /* may be NULL */
		} notification;
	} u;
	/*
	 * ZW_EV_CONTROLLER only: the command it is about ("include",
	 * "exclude", "heal", ...; NULL: none) and how it stands: 0 while
	 * it runs, 1 once it succeeded, -errno once it failed (-EIO), was
	 * cancelled (-ECANCELED) or timed out (-ETIMEDOUT).
	 */
	const char *command;
	int result;
	/* ZW_EV_CONTROLLER, while it runs: it needs up to this many more
	 * seconds than asked (a found device's S2 setup); 0: no change. */
	unsigned more_s;
	/* ZW_EV_CONTROLLER, at a success: what the command made, in base64
	 * (a backup's bytes); NULL: nothing.  A secret: never logged. */
	const char *data;
};

#endif
