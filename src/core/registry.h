/* SPDX-License-Identifier: MIT */
/*
 * registry.h: the gateway's picture of the Z-Wave network.
 *
 * Nodes (1..232, and 256..4000 on Long Range) and their values keyed by
 * (node, command class, endpoint, property).  Fed by backend events
 * through registry_apply(); read by the control socket, the MQTT bridge
 * and the rules engine, which learn of changes as listeners.  Plain C:
 * time comes in as an argument.
 *
 * The structs are visible so that readers need no accessor for every
 * field; only registry_* functions change them.  A struct registry_value's
 * address is stable from VALUE_ADDED until VALUE_REMOVED or its node's
 * removal, so indexes (the rules engine's) may keep pointers to it.
 */
#ifndef ZWGATE_REGISTRY_H
#define ZWGATE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "value.h"
#include "zw_event.h"

#define REGISTRY_VALUES_MAX    256 /* values of one node */
#define REGISTRY_NAME_MAX      64  /* bytes of a node name, without the NUL */
#define REGISTRY_LISTENERS_MAX 8

struct registry_node;

struct registry_value {
	struct value_meta meta;
	struct value val; /* owned; meaningful when has_val */
	bool has_val;
	uint64_t updated_ms; /* wall clock, ms since the epoch; 0: never */
	struct registry_node *node;
	const char *alias; /* short name ("switch", "level"), or NULL */
};

struct registry_node {
	uint16_t id;
	char *name;	/* the user's name, else the device's; may be NULL */
	bool user_name; /* name came from rename (and is saved) */
	char *location, *manufacturer, *product; /* may be NULL */
	enum zw_node_status status;
	uint64_t updated_ms;
	size_t nvalues;
	struct registry_value **values;
};

enum registry_event_type {
	REGISTRY_NODE_ADDED,
	REGISTRY_NODE_REMOVED, /* still readable during the call */
	REGISTRY_NODE_CHANGED, /* name, info or status */
	REGISTRY_VALUE_ADDED,
	REGISTRY_VALUE_CHANGED, /* also a report of the same value again */
	REGISTRY_VALUE_REMOVED, /* still readable during the call */
	REGISTRY_NOTIFICATION,	/* a zw event passed through (scene, button) */
	REGISTRY_CONTROLLER,	/* READY, FAILED, ALL_QUERIED, CONTROLLER */
};

struct registry_event {
	enum registry_event_type type;
	struct registry_node *node;   /* NULL for REGISTRY_CONTROLLER */
	struct registry_value *value; /* VALUE_* only */
	const struct zw_event *zw;    /* the backend event behind it, or NULL */
};

typedef void (*registry_listener_fn)(void *ctx,
				     const struct registry_event *ev);

struct registry;

struct registry *registry_new(void);
struct registry *registry_free(struct registry *r);

/*
 * Apply one backend event at wall-clock time now_ms and tell the
 * listeners.  Returns 0, or -errno when the event was refused (bad node
 * id, too many values, allocation failure); the caller logs it.
 */
int registry_apply(struct registry *r, const struct zw_event *ev,
		   uint64_t now_ms);

/* Listeners are called in the order added; at most REGISTRY_LISTENERS_MAX. */
int registry_listen(struct registry *r, registry_listener_fn fn, void *ctx);
void registry_unlisten(struct registry *r, registry_listener_fn fn, void *ctx);

/* Controller state as the last READY/FAILED said: "ready", "failed: x". */
const char *registry_controller_state(const struct registry *r);
bool registry_ready(const struct registry *r);

size_t registry_node_count(const struct registry *r);
/* Node by id, or NULL. */
struct registry_node *registry_node(const struct registry *r, unsigned id);
/* Iterate in id order: start with prev NULL; NULL at the end. */
struct registry_node *registry_next_node(const struct registry *r,
					 const struct registry_node *prev);

/*
 * A node by what a user typed: its number ("12") or its name (exact,
 * then case-insensitive).  0, or -ENOENT.
 */
int registry_find_node(const struct registry *r, const char *ref,
		       struct registry_node **ret);

/*
 * A value of node by what a user typed, tried in this order: the full
 * path "switch_binary/0/currentValue"; a short alias ("switch", "level",
 * "motion", "temperature"); a property name that only one value has; a
 * command class name with a single value.  0, -ENOENT or -ENOTUNIQ.
 */
int registry_find_value(const struct registry_node *n, const char *spec,
			struct registry_value **ret);
/* The value with exactly this key, or NULL. */
struct registry_value *registry_value(const struct registry *r,
				      const struct value_key *key);

/*
 * Give node id a user name ("" removes it).  Valid names: 1..64 bytes of
 * printable UTF-8 without '/', '+', '#' or control characters, not all
 * digits, unique among nodes (case-insensitive).  0, -ENOENT, -EINVAL,
 * -EEXIST.  Names are kept for node ids that are not (yet) present.
 * Removing a name is -EEXIST when another node holds the name the node's
 * device reports (registry_name_holder), which it would go by again.
 */
int registry_rename(struct registry *r, unsigned id, const char *name);
/*
 * The node other than id that holds name (case-insensitively): by its
 * user name, or by its device's name when it has none.  0: nobody.
 */
unsigned registry_name_holder(const struct registry *r, unsigned id,
			      const char *name);
/* The name the device of present node id reports, or NULL. */
const char *registry_device_name(const struct registry *r, unsigned id);
/* Why a name is invalid, or NULL when it is fine. */
const char *registry_name_problem(const char *name);

/*
 * Where the registry reports a user name it set aside, as one message
 * that names the node and the reason ("node 4: ...").  The registry does
 * not log; without a function nothing is said.
 */
typedef void (*registry_warn_fn)(void *ctx, const char *msg);
void registry_set_warn(struct registry *r, registry_warn_fn fn, void *ctx);

/*
 * User names persist as JSON {"<id>": "name", ...} in a file of the state
 * directory, written atomically.  load: 0, or -errno (-ENOENT: no file
 * yet, which callers ignore; -EINVAL: not a JSON object).  Each entry
 * obeys the rules of registry_rename: one that does not (a bad key or
 * name, a name that a lower node id already has, a name that another
 * node's device reports) is set aside and reported through the warn
 * function, and the others load.  A name set aside is not saved again.
 * save: 0 or -errno.
 */
int registry_load_names(struct registry *r, const char *path);
int registry_save_names(const struct registry *r, const char *path);
/* What save writes (for a writer of its own), malloc'd; NULL: ENOMEM. */
char *registry_names_text(const struct registry *r);

/* JSON views for the control socket and the cloud API. */
json_t *registry_node_json(const struct registry_node *n, bool with_values);
json_t *registry_value_json(const struct registry_value *v);

#endif
