/* SPDX-License-Identifier: MIT */
/*
 * registry_int.h: what registry.c, registry_find.c, registry_json.c and
 * registry_names.c share, the registry's insides.  Nothing else includes
 * it.
 */
#ifndef ZWGATE_REGISTRY_INT_H
#define ZWGATE_REGISTRY_INT_H

#include <stdbool.h>

#include "registry.h"

#define REGISTRY_STATE_MAX 160 /* bytes of the controller state text */

struct registry_listener {
	registry_listener_fn fn; /* NULL: removed while events were going out */
	void *ctx;
};

struct registry {
	struct registry_node *nodes[ZW_NODE_MAX + 1];
	size_t nnodes;
	/* The user's names by id, present or not; a node's name points to
	 * its entry here, or to its device name. */
	char *names[ZW_NODE_MAX + 1];
	char *device_names[ZW_NODE_MAX + 1];
	struct registry_listener listeners[REGISTRY_LISTENERS_MAX];
	size_t nlisteners;
	unsigned dispatching; /* depth of listener calls under way */
	char state[REGISTRY_STATE_MAX];
	bool ready;
	registry_warn_fn warn; /* told of user names set aside, or NULL */
	void *warn_ctx;
};

bool registry_id_valid(unsigned id);
bool registry_all_digits(const char *s);
/* The value of n with key (whose node is n's id), or NULL. */
struct registry_value *registry_node_value(const struct registry_node *n,
					   const struct value_key *key);
/* Tell the listeners (registry.c says when that is allowed). */
void registry_emit(struct registry *r, enum registry_event_type type,
		   struct registry_node *n, struct registry_value *v,
		   const struct zw_event *zw);
/* The user's name wins over the device's. */
void registry_node_sync_name(struct registry *r, struct registry_node *n);

/*
 * Node n now goes by the name its device reports: a user name of another
 * node that is the same (case-insensitively) is set aside, as rename
 * would have refused it, and the registry's warn function is told.  With
 * tell, listeners hear REGISTRY_NODE_CHANGED for each node that lost its name.
 */
void registry_names_settle(struct registry *r, struct registry_node *n,
			   bool tell);

#endif
