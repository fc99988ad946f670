/* SPDX-License-Identifier: MIT */
/*
 * registry.c: the registry of nodes and values as the backend's events
 * make it: nodes and their values created, changed and removed, the
 * controller's state, and the listeners told of each change.  Finding a
 * node or value by what a user types is registry_find.c's, names
 * registry_names.c's, the JSON of nodes and values registry_json.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "registry.h"
#include "registry_int.h"

#define REGISTRY_INFO_MAX 128 /* bytes of location, manufacturer... */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Short names for the values people ask for most. */
static const struct {
	uint8_t cc;
	const char *property;
	const char *alias;
} registry_aliases[] = {
	{ 0x25, "currentValue", "switch" },
	{ 0x26, "currentValue", "level" },
	{ 0x30, "motion", "motion" },
	{ 0x30, "door", "door" },
	{ 0x30, "water", "water" },
	{ 0x31, "temperature", "temperature" },
	{ 0x31, "humidity", "humidity" },
	{ 0x31, "illuminance", "illuminance" },
	{ 0x32, "power", "power" },
	{ 0x32, "energy", "energy" },
	{ 0x43, "heating", "setpoint" },
	{ 0x62, "locked", "lock" },
	{ 0x80, "level", "battery" },
};

static const char *alias_of(const struct value_key *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(registry_aliases); i++)
		if (registry_aliases[i].cc == key->cc &&
		    strcmp(registry_aliases[i].property, key->property) == 0)
			return registry_aliases[i].alias;
	return NULL;
}

bool registry_id_valid(unsigned id)
{
	return zw_node_valid(id);
}

struct registry *registry_new(void)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (r)
		snprintf(r->state, sizeof(r->state), "starting");
	return r;
}

static void value_free(struct registry_value *v)
{
	if (v->has_val)
		value_clear(&v->val);
	value_meta_clear(&v->meta);
	free(v);
}

static void node_free(struct registry_node *n)
{
	for (size_t i = 0; i < n->nvalues; i++)
		value_free(n->values[i]);
	free(n->values);
	free(n->location);
	free(n->manufacturer);
	free(n->product);
	free(n);
}

struct registry *registry_free(struct registry *r)
{
	if (!r)
		return NULL;
	for (unsigned id = 0; id <= ZW_NODE_MAX; id++) {
		if (r->nodes[id])
			node_free(r->nodes[id]);
		free(r->names[id]);
		free(r->device_names[id]);
	}
	free(r);
	return NULL;
}

int registry_listen(struct registry *r, registry_listener_fn fn, void *ctx)
{
	if (!fn)
		return -EINVAL;
	if (r->nlisteners >= REGISTRY_LISTENERS_MAX)
		return -ENOSPC;
	r->listeners[r->nlisteners++] = (struct registry_listener){ fn, ctx };
	return 0;
}

/* Slots emptied during a dispatch are closed up once it is over. */
static void listeners_compact(struct registry *r)
{
	size_t j = 0;

	for (size_t i = 0; i < r->nlisteners; i++)
		if (r->listeners[i].fn)
			r->listeners[j++] = r->listeners[i];
	r->nlisteners = j;
}

void registry_unlisten(struct registry *r, registry_listener_fn fn, void *ctx)
{
	for (size_t i = 0; i < r->nlisteners; i++) {
		if (r->listeners[i].fn == fn && r->listeners[i].ctx == ctx) {
			r->listeners[i].fn = NULL;
			break;
		}
	}
	if (!r->dispatching)
		listeners_compact(r);
}

/*
 * Tell the listeners, after the registry is consistent again: they may
 * read it, rename nodes, and add or remove listeners (one added now hears
 * from the next event on).  They must not feed events back in.
 */
void registry_emit(struct registry *r, enum registry_event_type type,
		   struct registry_node *n, struct registry_value *v,
		   const struct zw_event *zw)
{
	struct registry_event ev = { type, n, v, zw };
	size_t count = r->nlisteners;

	r->dispatching++;
	for (size_t i = 0; i < count; i++)
		if (r->listeners[i].fn)
			r->listeners[i].fn(r->listeners[i].ctx, &ev);
	if (--r->dispatching == 0)
		listeners_compact(r);
}

const char *registry_controller_state(const struct registry *r)
{
	return r->state;
}

bool registry_ready(const struct registry *r)
{
	return r->ready;
}

size_t registry_node_count(const struct registry *r)
{
	return r->nnodes;
}

struct registry_node *registry_node(const struct registry *r, unsigned id)
{
	return registry_id_valid(id) ? r->nodes[id] : NULL;
}

struct registry_node *registry_next_node(const struct registry *r,
					 const struct registry_node *prev)
{
	for (unsigned id = prev ? prev->id + 1u : ZW_NODE_MIN;
	     id <= ZW_NODE_MAX; id++)
		if (r->nodes[id])
			return r->nodes[id];
	return NULL;
}

/* The user's name wins over the device's. */
void registry_node_sync_name(struct registry *r, struct registry_node *n)
{
	n->user_name = r->names[n->id] != NULL;
	n->name = n->user_name ? r->names[n->id] : r->device_names[n->id];
}

static struct registry_node *node_create(struct registry *r, uint16_t id,
					 uint64_t now_ms)
{
	struct registry_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->id = id;
	n->status = ZW_NODE_UNKNOWN;
	n->updated_ms = now_ms;
	r->nodes[id] = n;
	r->nnodes++;
	registry_node_sync_name(r, n);
	return n;
}

/*
 * Device text is copied as printable UTF-8 of bounded size, so that JSON
 * views and logs can use it as it is.  NULL and "" both mean unknown.
 */
static int info_dup(const char *s, size_t max, char **ret)
{
	char buf[REGISTRY_INFO_MAX + 1];

	*ret = NULL;
	if (!s || !*s)
		return 0;
	value_text_copy(buf, max + 1 < sizeof(buf) ? max + 1 : sizeof(buf), s);
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static void swap_str(char **dst, char *src)
{
	free(*dst);
	*dst = src;
}

static int node_set_info(struct registry *r, struct registry_node *n,
			 const struct zw_node_info *in)
{
	char *s[4];

	if (info_dup(in->name, REGISTRY_NAME_MAX, &s[0]) < 0 ||
	    info_dup(in->location, REGISTRY_INFO_MAX, &s[1]) < 0 ||
	    info_dup(in->manufacturer, REGISTRY_INFO_MAX, &s[2]) < 0 ||
	    info_dup(in->product, REGISTRY_INFO_MAX, &s[3]) < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(s); i++)
			free(s[i]);
		return -ENOMEM;
	}
	swap_str(&r->device_names[n->id], s[0]);
	swap_str(&n->location, s[1]);
	swap_str(&n->manufacturer, s[2]);
	swap_str(&n->product, s[3]);
	registry_node_sync_name(r, n);
	registry_names_settle(r, n, true);
	if (in->status != ZW_NODE_UNKNOWN)
		n->status = in->status;
	return 0;
}

static bool status_valid(enum zw_node_status s)
{
	return s == ZW_NODE_UNKNOWN || s == ZW_NODE_ALIVE ||
	       s == ZW_NODE_ASLEEP || s == ZW_NODE_DEAD;
}

static int apply_node_added(struct registry *r, const struct zw_event *ev,
			    uint64_t now_ms)
{
	struct registry_node *n = r->nodes[ev->node];
	bool created = !n;
	int err;

	if (!status_valid(ev->u.node.status))
		return -EINVAL;
	if (created && !(n = node_create(r, ev->node, now_ms)))
		return -ENOMEM;
	err = node_set_info(r, n, &ev->u.node);
	if (err < 0 && !created)
		return err;
	n->updated_ms = now_ms;
	registry_emit(r, created ? REGISTRY_NODE_ADDED : REGISTRY_NODE_CHANGED,
		      n, NULL, ev);
	/* A new node without its info still exists: report it, then the
	 * failure. */
	return err;
}

static void node_destroy(struct registry *r, struct registry_node *n)
{
	r->nodes[n->id] = NULL;
	r->nnodes--;
	free(r->device_names[n->id]);
	r->device_names[n->id] = NULL;
	node_free(n);
}

static int apply_node_removed(struct registry *r, const struct zw_event *ev)
{
	struct registry_node *n = r->nodes[ev->node];

	if (!n)
		return -ENOENT;
	/* The values go with the node: listeners hear one NODE_REMOVED and
	 * can still read them during the call. */
	registry_emit(r, REGISTRY_NODE_REMOVED, n, NULL, ev);
	node_destroy(r, n);
	return 0;
}

static int apply_node_status(struct registry *r, const struct zw_event *ev,
			     uint64_t now_ms)
{
	struct registry_node *n = r->nodes[ev->node];

	if (!status_valid(ev->u.status))
		return -EINVAL;
	if (!n) {
		if (!(n = node_create(r, ev->node, now_ms)))
			return -ENOMEM;
		n->status = ev->u.status;
		registry_emit(r, REGISTRY_NODE_ADDED, n, NULL, ev);
		return 0;
	}
	n->updated_ms = now_ms;
	if (n->status == ev->u.status)
		return 0;
	n->status = ev->u.status;
	registry_emit(r, REGISTRY_NODE_CHANGED, n, NULL, ev);
	return 0;
}

struct registry_value *registry_node_value(const struct registry_node *n,
					   const struct value_key *key)
{
	for (size_t i = 0; i < n->nvalues; i++)
		if (value_key_equal(&n->values[i]->meta.key, key))
			return n->values[i];
	return NULL;
}

struct registry_value *registry_value(const struct registry *r,
				      const struct value_key *key)
{
	const struct registry_node *n = registry_node(r, key->node);

	return n ? registry_node_value(n, key) : NULL;
}

/* Can the registry take a backend's meta?  Its texts are made safe to
 * print as they are copied, by meta_import. */
static bool meta_valid(const struct value_meta *m)
{
	return memchr(m->key.property, '\0', ZW_PROPERTY_MAX) &&
	       value_property_valid(m->key.property) &&
	       m->type <= VALUE_BUTTON && m->nitems <= ZW_ENUM_MAX &&
	       (m->nitems == 0 || m->items);
}

/*
 * The registry's own copy of a valid backend meta, made safe to print,
 * into *ret, which owns its items from then on.  0, or -ENOMEM with *ret
 * untouched.
 */
static int meta_import(const struct value_meta *in, struct value_meta *ret)
{
	struct value_meta out;

	if (value_meta_copy(&out, in) < 0)
		return -ENOMEM;
	out.unit[ZW_UNIT_MAX - 1] = '\0';
	out.label[ZW_LABEL_MAX - 1] = '\0';
	value_text_copy(out.unit, ZW_UNIT_MAX, out.unit);
	value_text_copy(out.label, ZW_LABEL_MAX, out.label);
	for (size_t i = 0; i < out.nitems; i++) {
		out.items[i][ZW_ENUM_ITEM_MAX - 1] = '\0';
		value_text_copy(out.items[i], ZW_ENUM_ITEM_MAX, out.items[i]);
	}
	*ret = out;
	return 0;
}

/* Room for one more value in n, allocated before anything changes. */
static int values_reserve(struct registry_node *n)
{
	struct registry_value **a;

	if (n->nvalues >= REGISTRY_VALUES_MAX)
		return -E2BIG;
	a = realloc(n->values, (n->nvalues + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	n->values = a;
	return 0;
}

static void value_store(struct registry_value *v, struct value *val,
			uint64_t now_ms)
{
	if (v->has_val)
		value_clear(&v->val);
	v->val = *val;
	v->has_val = true;
	v->updated_ms = now_ms;
}

static int value_new(struct registry_node *n, const struct value_meta *meta,
		     const struct value *in, uint64_t now_ms,
		     struct registry_value **ret)
{
	struct registry_value *v;
	struct value val;
	int err = values_reserve(n);

	if (err < 0)
		return err;
	if (!(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	if (meta_import(meta, &v->meta) < 0) {
		free(v);
		return -ENOMEM;
	}
	if (in && value_copy(&val, in) < 0) {
		value_meta_clear(&v->meta);
		free(v);
		return -ENOMEM;
	}
	v->node = n;
	v->alias = alias_of(&meta->key);
	if (in)
		value_store(v, &val, now_ms);
	n->values[n->nvalues++] = v;
	*ret = v;
	return 0;
}

static int value_update(struct registry_value *v, const struct value_meta *meta,
			const struct value *in, uint64_t now_ms)
{
	struct value_meta copy;
	struct value val;

	if (meta_import(meta, &copy) < 0)
		return -ENOMEM;
	if (in && value_copy(&val, in) < 0) {
		value_meta_clear(&copy);
		return -ENOMEM;
	}
	if (v->has_val && v->val.type != meta->type) {
		value_clear(&v->val);
		v->has_val = false;
	}
	value_meta_clear(&v->meta);
	v->meta = copy;
	if (in)
		value_store(v, &val, now_ms);
	return 0;
}

/*
 * Backends may report values before the node's info, so a value creates
 * its node.  Sent again for a known value when its meta changes, as
 * backends do with VALUE_ADDED: listeners refresh what they show.
 */
static int apply_value_added(struct registry *r, const struct zw_event *ev,
			     uint64_t now_ms)
{
	const struct value_meta *meta = ev->u.value.meta;
	const struct value *in = ev->u.value.val;
	struct registry_node *n = r->nodes[ev->node];
	struct registry_value *v;
	int err;

	if (!meta || meta->key.node != ev->node || !meta_valid(meta) ||
	    (in && in->type != meta->type))
		return -EINVAL;
	if (!n) {
		if (!(n = node_create(r, ev->node, now_ms)))
			return -ENOMEM;
		registry_emit(r, REGISTRY_NODE_ADDED, n, NULL, ev);
	}
	if ((v = registry_node_value(n, &meta->key)))
		err = value_update(v, meta, in, now_ms);
	else
		err = value_new(n, meta, in, now_ms, &v);
	if (err < 0)
		return err;
	n->updated_ms = now_ms;
	registry_emit(r, REGISTRY_VALUE_ADDED, n, v, ev);
	return 0;
}

static int value_lookup(struct registry *r, const struct zw_event *ev,
			struct registry_value **ret)
{
	const struct value_meta *m = ev->u.value.meta;

	if (!m || m->key.node != ev->node ||
	    !memchr(m->key.property, '\0', ZW_PROPERTY_MAX))
		return -EINVAL;
	*ret = registry_value(r, &m->key);
	return *ret ? 0 : -ENOENT;
}

/*
 * A report equal to the last one still goes out: "the button was pressed
 * again" and "the sensor says 21 again" are news for triggers.
 */
static int apply_value_changed(struct registry *r, const struct zw_event *ev,
			       uint64_t now_ms)
{
	const struct value *in = ev->u.value.val;
	struct registry_value *v;
	struct value val;
	int err = value_lookup(r, ev, &v);

	if (err < 0)
		return err;
	if (!in || in->type != v->meta.type)
		return -EINVAL;
	if (value_copy(&val, in) < 0)
		return -ENOMEM;
	value_store(v, &val, now_ms);
	v->node->updated_ms = now_ms;
	registry_emit(r, REGISTRY_VALUE_CHANGED, v->node, v, ev);
	return 0;
}

static int apply_value_removed(struct registry *r, const struct zw_event *ev)
{
	struct registry_value *v;
	struct registry_node *n;
	int err = value_lookup(r, ev, &v);

	if (err < 0)
		return err;
	n = v->node;
	registry_emit(r, REGISTRY_VALUE_REMOVED, n, v, ev);
	for (size_t i = 0; i < n->nvalues; i++) {
		if (n->values[i] == v) {
			memmove(&n->values[i], &n->values[i + 1],
				(n->nvalues - i - 1) * sizeof(*n->values));
			n->nvalues--;
			break;
		}
	}
	value_free(v);
	return 0;
}

static int apply_controller(struct registry *r, const struct zw_event *ev)
{
	const char *msg = ev->u.message;

	if (ev->type == ZW_EV_READY) {
		snprintf(r->state, sizeof(r->state), "ready");
		r->ready = true;
	} else if (ev->type == ZW_EV_FAILED) {
		char why[REGISTRY_STATE_MAX - sizeof("failed: ") + 1];

		value_text_copy(why, sizeof(why),
				msg && *msg ? msg : "unknown reason");
		snprintf(r->state, sizeof(r->state), "failed: %s", why);
		r->ready = false;
	}
	registry_emit(r, REGISTRY_CONTROLLER, NULL, NULL, ev);
	return 0;
}

static bool about_a_node(enum zw_event_type t)
{
	return t != ZW_EV_READY && t != ZW_EV_FAILED &&
	       t != ZW_EV_ALL_QUERIED && t != ZW_EV_CONTROLLER;
}

int registry_apply(struct registry *r, const struct zw_event *ev,
		   uint64_t now_ms)
{
	if (about_a_node(ev->type) && !registry_id_valid(ev->node))
		return -EINVAL;
	switch (ev->type) {
	case ZW_EV_READY:
	case ZW_EV_FAILED:
	case ZW_EV_ALL_QUERIED:
	case ZW_EV_CONTROLLER:
		return apply_controller(r, ev);
	case ZW_EV_NODE_ADDED:
		return apply_node_added(r, ev, now_ms);
	case ZW_EV_NODE_REMOVED:
		return apply_node_removed(r, ev);
	case ZW_EV_NODE_STATUS:
		return apply_node_status(r, ev, now_ms);
	case ZW_EV_VALUE_ADDED:
		return apply_value_added(r, ev, now_ms);
	case ZW_EV_VALUE_CHANGED:
		return apply_value_changed(r, ev, now_ms);
	case ZW_EV_VALUE_REMOVED:
		return apply_value_removed(r, ev);
	case ZW_EV_NOTIFICATION:
		if (!r->nodes[ev->node])
			return -ENOENT;
		r->nodes[ev->node]->updated_ms = now_ms;
		registry_emit(r, REGISTRY_NOTIFICATION, r->nodes[ev->node],
			      NULL, ev);
		return 0;
	}
	return -EINVAL;
}
