/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_node.c: the zwavejs backend's nodes and values: the server's
 * state and events into zw_events, and the table of which zwave-js value
 * each registry key is (for set_value).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "log.h"
#include "zw_zjs_int.h"

static bool zjs_node_id(const json_t *j, uint16_t *ret)
{
	json_int_t n = json_integer_value(j);

	if (!json_is_integer(j) || n < 0 || !zw_node_valid((unsigned long)n))
		return false;
	*ret = (uint16_t)n;
	return true;
}

static enum zw_node_status zjs_status(const json_t *j)
{
	/* zwave-js's NodeStatus: 0 unknown, 1 asleep, 2 awake, 3 dead,
	 * 4 alive. */
	switch (json_integer_value(j)) {
	case 1:
		return ZW_NODE_ASLEEP;
	case 2:
	case 4:
		return ZW_NODE_ALIVE;
	case 3:
		return ZW_NODE_DEAD;
	default:
		return ZW_NODE_UNKNOWN;
	}
}

static void zjs_emit_status(struct zw_zjs *z, uint16_t node,
			    enum zw_node_status s)
{
	struct zw_event ev;

	if (!z->nodes[node].known || z->nodes[node].status == s)
		return;
	z->nodes[node].status = s;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_STATUS;
	ev.node = node;
	ev.u.status = s;
	zjs_emit(z, &ev);
}

/* ------------------------------------------------------------------ */
/* The value table.                                                    */

static struct zjs_value *zjs_find_read(struct zjs_node *n,
				       const struct zjs_vid *id)
{
	for (size_t i = 0; i < n->nvalues; i++)
		if (zjs_vid_equal(&n->values[i].read, id))
			return &n->values[i];
	return NULL;
}

static struct zjs_value *zjs_find_key(struct zjs_node *n,
				      const struct value_key *key)
{
	for (size_t i = 0; i < n->nvalues; i++)
		if (value_key_equal(&n->values[i].meta.key, key))
			return &n->values[i];
	return NULL;
}

const struct zjs_value *zjs_node_value(const struct zw_zjs *z,
				       const struct value_key *key)
{
	return zjs_find_key((struct zjs_node *)&z->nodes[key->node], key);
}

static void zjs_value_drop(struct zjs_node *n, struct zjs_value *v)
{
	size_t i = (size_t)(v - n->values);

	value_meta_clear(&v->meta);
	memmove(v, v + 1, (n->nvalues - i - 1) * sizeof(*v));
	n->nvalues--;
}

static void zjs_node_forget(struct zjs_node *n)
{
	for (size_t i = 0; i < n->nvalues; i++)
		value_meta_clear(&n->values[i].meta);
	free(n->values);
	memset(n, 0, sizeof(*n));
}

void zjs_node_clear(struct zw_zjs *z)
{
	for (size_t i = 0; i <= ZW_NODE_MAX; i++)
		zjs_node_forget(&z->nodes[i]);
}

/* A key no other value of the node has: the name, then name_2, ...
 * name_99; -EEXIST when all are taken. */
static int zjs_unique_key(struct zjs_node *n, const struct zjs_vid *id,
			  struct value_key *key)
{
	char base[ZW_PROPERTY_MAX];
	struct zjs_value *v;

	snprintf(base, sizeof(base), "%s", key->property);
	for (unsigned i = 2; (v = zjs_find_key(n, key)); i++) {
		if (zjs_vid_equal(&v->read, id))
			return 0;
		if (i > 99)
			return -EEXIST;
		snprintf(key->property, sizeof(key->property), "%.*s_%u",
			 ZW_PROPERTY_MAX - 5, base, i);
	}
	return 0;
}

/* The currentValue of a binary or multilevel switch? */
static bool zjs_is_switch_current(const struct zjs_vid *id)
{
	return (id->cc == CC_SWITCH_BINARY || id->cc == CC_SWITCH_MULTILEVEL) &&
	       strcmp(id->property, "currentValue") == 0;
}

/* Does the node have the writable targetValue of id's switch? */
static bool zjs_has_target(const json_t *values, const struct zjs_vid *id)
{
	size_t i;
	json_t *e;

	json_array_foreach(values, i, e)
	{
		struct zjs_vid t;
		char err[8];

		if (zjs_vid_from_json(e, &t, err, sizeof(err)) == 0 &&
		    t.cc == id->cc && t.endpoint == id->endpoint &&
		    strcmp(t.property, "targetValue") == 0)
			return json_is_true(json_object_get(
			    json_object_get(e, "metadata"), "writeable"));
	}
	return false;
}

/*
 * One value entry of a node dump (or metadata of an event) into the
 * table, and up as VALUE_ADDED.  values: the node's whole list, for the
 * switches' targetValue; may be NULL.
 */
static void zjs_value_add(struct zw_zjs *z, uint16_t node, const json_t *e,
			  const json_t *metadata, const json_t *values,
			  const json_t *val)
{
	struct zjs_node *n = &z->nodes[node];
	struct zjs_value *v, nv;
	struct value_key key;
	struct value parsed;
	struct zw_event ev;
	char err[128];
	int r;

	memset(&nv, 0, sizeof(nv));
	if (zjs_vid_from_json(e, &nv.read, err, sizeof(err)) < 0) {
		log_debug("zwave zwavejs: node %u: a value left out: %s", node,
			  err);
		return;
	}
	r = zjs_map_key(node, &nv.read, metadata, &nv.meta.key);
	if (r != 0) {
		if (r < 0)
			log_debug("zwave zwavejs: node %u: cc %u property %s "
				  "has no name here",
				  node, nv.read.cc, nv.read.property);
		return;
	}
	v = zjs_find_read(n, &nv.read);
	if (v) {
		nv.meta.key = v->meta.key;
	} else if (n->nvalues >= ZJS_NODE_VALUES_MAX ||
		   zjs_unique_key(n, &nv.read, &nv.meta.key) < 0) {
		log_warning("zwave zwavejs: node %u: value %s left out "
			    "(%zu values already, or no free name)",
			    node, nv.meta.key.property, n->nvalues);
		return;
	}
	key = nv.meta.key; /* zjs_map_meta clears the meta first */
	r = zjs_map_meta(&key, metadata,
			 values && zjs_is_switch_current(&nv.read) &&
			     zjs_has_target(values, &nv.read),
			 &nv.meta, &nv.states, err, sizeof(err));
	if (r != 0) {
		if (r < 0)
			log_debug("zwave zwavejs: node %u: %s left out: %s",
				  node, nv.meta.key.property, err);
		value_meta_clear(&nv.meta);
		return;
	}
	zjs_map_write_vid(&nv.read, &nv.write);
	if (v) {
		value_meta_clear(&v->meta);
		*v = nv;
	} else {
		if (n->nvalues == n->cap) {
			size_t cap = n->cap ? 2 * n->cap : 8;
			struct zjs_value *p =
			    realloc(n->values, cap * sizeof(*p));

			if (!p) {
				value_meta_clear(&nv.meta);
				log_error("zwave zwavejs: out of memory");
				return;
			}
			n->values = p;
			n->cap = cap;
		}
		v = &n->values[n->nvalues++];
		*v = nv;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_VALUE_ADDED;
	ev.node = node;
	ev.u.value.meta = &v->meta;
	if (zjs_map_value(val, &v->meta, &v->states, &parsed) == 0) {
		ev.u.value.val = &parsed;
		zjs_emit(z, &ev);
		value_clear(&parsed);
	} else {
		zjs_emit(z, &ev);
	}
}

static void zjs_value_changed(struct zw_zjs *z, uint16_t node,
			      const json_t *args, const json_t *val)
{
	struct zjs_value *v;
	struct zjs_vid id;
	struct value parsed;
	struct zw_event ev;
	char err[128];

	if (zjs_vid_from_json(args, &id, err, sizeof(err)) < 0)
		return;
	v = zjs_find_read(&z->nodes[node], &id);
	if (!v) {
		log_debug("zwave zwavejs: node %u: cc %u %s: not a value "
			  "shown here",
			  node, id.cc, id.property);
		return;
	}
	if (zjs_map_value(val, &v->meta, &v->states, &parsed) != 0) {
		log_debug("zwave zwavejs: node %u: %s: a value of another "
			  "type",
			  node, v->meta.key.property);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_VALUE_CHANGED;
	ev.node = node;
	ev.u.value.meta = &v->meta;
	ev.u.value.val = &parsed;
	zjs_emit(z, &ev);
	value_clear(&parsed);
}

static void zjs_value_removed(struct zw_zjs *z, uint16_t node,
			      const json_t *args)
{
	struct zjs_node *n = &z->nodes[node];
	struct zjs_value *v;
	struct zjs_vid id;
	struct zw_event ev;
	char err[128];

	if (zjs_vid_from_json(args, &id, err, sizeof(err)) < 0 ||
	    !(v = zjs_find_read(n, &id)))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_VALUE_REMOVED;
	ev.node = node;
	ev.u.value.meta = &v->meta;
	zjs_emit(z, &ev);
	zjs_value_drop(n, v);
}

/* ------------------------------------------------------------------ */
/* Nodes.                                                              */

static const char *zjs_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : NULL;
}

/* What the device is: its database entry, else its device class. */
static const char *zjs_product(const json_t *node)
{
	const json_t *dc = json_object_get(node, "deviceConfig");
	const json_t *cls = json_object_get(node, "deviceClass");
	const char *s = zjs_str(dc, "description");

	if (!s)
		s = zjs_str(dc, "label");
	if (!s)
		s = zjs_str(json_object_get(cls, "specific"), "label");
	if (!s)
		s = zjs_str(json_object_get(cls, "generic"), "label");
	return s;
}

/* A node's whole dump (state, "ready", "node added"). */
static void zjs_node_dump(struct zw_zjs *z, const json_t *node)
{
	const json_t *values = json_object_get(node, "values");
	struct zjs_node *n;
	struct zw_event ev;
	uint16_t id;
	size_t i;
	json_t *e;

	if (!zjs_node_id(json_object_get(node, "nodeId"), &id)) {
		log_warning("zwave zwavejs: a node with id %s is left out "
			    "(zwgate takes ids " ZW_NODE_RANGE_TXT ")",
			    json_is_integer(json_object_get(node, "nodeId"))
				? "out of range"
				: "missing");
		return;
	}
	n = &z->nodes[id];
	n->known = true;
	n->ready = json_is_true(json_object_get(node, "ready"));
	n->status = zjs_status(json_object_get(node, "status"));
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_ADDED;
	ev.node = id;
	ev.u.node.name = zjs_str(node, "name");
	ev.u.node.location = zjs_str(node, "location");
	ev.u.node.manufacturer =
	    zjs_str(json_object_get(node, "deviceConfig"), "manufacturer");
	ev.u.node.product = zjs_product(node);
	ev.u.node.status = n->status;
	zjs_emit(z, &ev);
	json_array_foreach(values, i, e)
	    zjs_value_add(z, id, e, json_object_get(e, "metadata"), values,
			  json_object_get(e, "value"));
}

static void zjs_node_removed(struct zw_zjs *z, uint16_t id)
{
	struct zw_event ev;

	if (!z->nodes[id].known)
		return;
	zjs_node_forget(&z->nodes[id]);
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NODE_REMOVED;
	ev.node = id;
	zjs_emit(z, &ev);
}

static void zjs_check_all_ready(struct zw_zjs *z)
{
	struct zw_event ev;

	if (z->all_ready)
		return;
	for (size_t i = ZW_NODE_MIN; i <= ZW_NODE_MAX; i++)
		if (z->nodes[i].known && !z->nodes[i].ready &&
		    z->nodes[i].status != ZW_NODE_DEAD)
			return;
	z->all_ready = true;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_ALL_QUERIED;
	zjs_emit(z, &ev);
}

void zjs_node_state(struct zw_zjs *z, const json_t *state)
{
	const json_t *nodes = json_object_get(state, "nodes");
	const json_t *ctl = json_object_get(state, "controller");
	const json_t *drv = json_object_get(state, "driver");
	bool seen[ZW_NODE_MAX + 1] = { false }; /* 4 KB */
	char msg[128];
	struct zw_event ev;
	size_t i;
	json_t *e;

	json_array_foreach(nodes, i, e)
	{
		uint16_t id;

		if (zjs_node_id(json_object_get(e, "nodeId"), &id))
			seen[id] = true;
	}
	/* Nodes excluded while zwgate was away. */
	for (size_t n = ZW_NODE_MIN; n <= ZW_NODE_MAX; n++)
		if (z->nodes[n].known && !seen[n])
			zjs_node_removed(z, (uint16_t)n);
	snprintf(msg, sizeof(msg), "zwave-js %s, home id %08llx",
		 z->driver_version[0]	   ? z->driver_version
		 : zjs_str(drv, "version") ? zjs_str(drv, "version")
					   : "?",
		 (unsigned long long)json_integer_value(
		     json_object_get(ctl, "homeId")));
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_READY;
	ev.u.message = msg;
	zjs_emit(z, &ev);
	json_array_foreach(nodes, i, e) zjs_node_dump(z, e);
	zjs_check_all_ready(z);
}

void zjs_node_disconnected(struct zw_zjs *z)
{
	z->all_ready = false;
}

/* ------------------------------------------------------------------ */
/* Events.                                                             */

static void zjs_notify(struct zw_zjs *z, uint16_t node, uint8_t cc,
		       uint8_t endpoint, const char *kind, int64_t code,
		       const char *text)
{
	struct zw_event ev;

	if (!z->nodes[node].known)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_NOTIFICATION;
	ev.node = node;
	ev.u.notification.cc = cc;
	ev.u.notification.endpoint = endpoint;
	ev.u.notification.kind = kind;
	ev.u.notification.code = code;
	ev.u.notification.text = text;
	zjs_emit(z, &ev);
}

/* Central Scene's key attributes, by zwave-js's number. */
static const char *const zjs_key_attrs[] = {
	"pressed",	   "released",	      "held",
	"pressed 2 times", "pressed 3 times", "pressed 4 times",
	"pressed 5 times",
};

/* A stateless value: a scene's key, a button. */
static void zjs_value_notification(struct zw_zjs *z, uint16_t node,
				   const json_t *args)
{
	struct zjs_vid id;
	char err[64];
	json_int_t v = json_integer_value(json_object_get(args, "value"));

	if (zjs_vid_from_json(args, &id, err, sizeof(err)) < 0)
		return;
	if (id.cc == CC_CENTRAL_SCENE && id.has_key) {
		zjs_notify(z, node, id.cc, id.endpoint, "scene",
			   strtol(id.property_key, NULL, 10),
			   v >= 0 && (size_t)v < sizeof(zjs_key_attrs) /
						     sizeof(zjs_key_attrs[0])
			       ? zjs_key_attrs[v]
			       : NULL);
		return;
	}
	zjs_notify(z, node, id.cc, id.endpoint, "notification", v, id.property);
}

static void zjs_cmd_over(struct zw_zjs *z, const char *name, uint16_t node,
			 int result, const char *what)
{
	if (!z->cmd.name || strcmp(z->cmd.name, name) != 0)
		return;
	zjs_cmd_clear(z);
	if (node)
		zjs_emit_command(z, name, node, result, "%s: %s: node %u%s",
				 name, result > 0 ? "completed" : "failed",
				 node, what);
	else
		zjs_emit_command(z, name, node, result, "%s: %s", name, what);
}

/* "S2 Access Control, S0" of mask into buf. */
const char *zjs_classes(unsigned mask, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ ZW_SEC_S2_ACCESS_CONTROL, "S2 Access Control" },
		{ ZW_SEC_S2_AUTHENTICATED, "S2 Authenticated" },
		{ ZW_SEC_S2_UNAUTHENTICATED, "S2 Unauthenticated" },
		{ ZW_SEC_S0_LEGACY, "S0" },
	};

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mask & names[i].bit)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[0] ? ", " : "", names[i].name);
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

/* Our include runs: an S2 question may be for another client's. */
static bool zjs_including(const struct zw_zjs *z)
{
	return z->cmd.name && strcmp(z->cmd.name, "include") == 0;
}

/* The device asks for security classes: grant those allowed. */
static void zjs_grant(struct zw_zjs *z, const json_t *ev)
{
	const json_t *asked = json_object_get(json_object_get(ev, "requested"),
					      "securityClasses");
	unsigned want = 0, give;
	char a[96], g[96];
	json_t *grant;
	size_t i;
	json_t *c;

	json_array_foreach(asked, i, c)
	{
		json_int_t k = json_integer_value(c);

		if (json_is_integer(c) && k >= 0 && k < 8)
			want |= (1u << k) & ZW_SEC_ALL;
	}
	give = want & (z->s2.grant_set ? z->s2.grant : ZW_SEC_ALL);
	zjs_emit_command(
	    z, "include", 0, 0, "include: the device asks for %s; granting %s",
	    zjs_classes(want, a, sizeof(a)), zjs_classes(give, g, sizeof(g)));
	grant = json_array();
	for (unsigned k = 0; k < 8; k++)
		if (give & (1u << k))
			json_array_append_new(grant, json_integer(k));
	(void)zjs_send(z, "grant", "controller.grant_security_classes",
		       json_pack("{s:{s:o, s:b}}", "inclusionGrant",
				 "securityClasses", grant, "clientSideAuth",
				 0));
}

/* An authenticated class was granted: the device's PIN proves it. */
static void zjs_pin_asked(struct zw_zjs *z, const json_t *ev)
{
	const char *dsk = zjs_str(ev, "dsk");
	char shown[64];

	/* The server leaves out the DSK's first group: the PIN. */
	if (!dsk || strlen(dsk) >= sizeof(shown) - 5 ||
	    strspn(dsk, "0123456789-") != strlen(dsk))
		dsk = "-...";
	snprintf(shown, sizeof(shown), "?????%s", dsk);
	if (z->s2.pin[0]) {
		(void)zjs_send_pin(z);
		return;
	}
	z->pin_wanted = true;
	zjs_emit_command(z, "include", 0, 0,
			 "include: PIN needed: the device's DSK is %s; give "
			 "its first five digits (on the device or its box) "
			 "with: zwgatectl include-pin PIN",
			 shown);
}

/* Why zwave-js added a node with less security than it asked for
 * (SecurityBootstrapFailure). */
static const char *zjs_low_reason(json_int_t r)
{
	switch (r) {
	case 0:
		return "the inclusion was cancelled";
	case 1:
		return "the server has no network keys";
	case 3:
		return "the device did not answer in time";
	case 5:
		return "the device cancelled it";
	case 6:
		return "the PIN was wrong";
	case 7:
		return "the device refused the granted classes";
	default:
		return "the secure setup failed";
	}
}

/* "node N added ...": with its security, warned when lower than asked. */
static void zjs_node_added(struct zw_zjs *z, uint16_t id, const json_t *ev,
			   const json_t *node)
{
	const json_t *res = json_object_get(ev, "result");
	const json_t *hi = json_object_get(node, "highestSecurityClass");
	char what[160], c[32];

	if (json_is_true(json_object_get(res, "lowSecurity"))) {
		snprintf(what, sizeof(what),
			 " added WITHOUT the security it asked for (%s): "
			 "exclude it and include it again",
			 zjs_low_reason(json_integer_value(
			     json_object_get(res, "lowSecurityReason"))));
		log_warning("zwave zwavejs: node %u%s", id, what);
	} else if (json_is_integer(hi) && json_integer_value(hi) >= 0 &&
		   json_integer_value(hi) < 8) {
		snprintf(
		    what, sizeof(what), " added with %s",
		    zjs_classes(1u << json_integer_value(hi), c, sizeof(c)));
	} else {
		snprintf(what, sizeof(what), " added");
	}
	zjs_cmd_over(z, "include", id, 1, what);
}

/*
 * The controller left inclusion or exclusion mode.  Asked (time limit,
 * cancel), that is the end.  Unasked, a device answered: zwave-js stops
 * the mode before it says "node found" or "node removed", so that gets a
 * while to come (zjs_cmd_timeout ends it otherwise).
 */
static void zjs_cmd_stopped(struct zw_zjs *z, const char *name)
{
	if (!z->cmd.name || strcmp(z->cmd.name, name) != 0 || z->cmd.found)
		return;
	if (z->cmd.timed_out || z->cmd.cancelling) {
		zjs_cmd_over(z, name, 0,
			     z->cmd.timed_out ? -ETIMEDOUT : -ECANCELED,
			     z->cmd.timed_out ? "timed out" : "cancelled");
		return;
	}
	z->cmd.stopped = true;
	(void)uv_timer_start(&z->cmd.timer, zjs_cmd_timeout,
			     ZJS_STOPPED_GRACE_MS, 0);
}

static void zjs_controller_event(struct zw_zjs *z, const char *name,
				 const json_t *ev)
{
	const json_t *node = json_object_get(ev, "node");
	uint16_t id = 0;

	if (strcmp(name, "node added") == 0 &&
	    zjs_node_id(json_object_get(node, "nodeId"), &id)) {
		zjs_node_dump(z, node);
		zjs_node_added(z, id, ev, node);
	} else if (strcmp(name, "node removed") == 0 &&
		   zjs_node_id(json_object_get(node, "nodeId"), &id)) {
		zjs_node_removed(z, id);
		zjs_cmd_over(z, "exclude", id, 1, " removed");
	} else if (strcmp(name, "inclusion started") == 0 ||
		   strcmp(name, "exclusion started") == 0) {
		if (z->cmd.name)
			zjs_emit_command(z, z->cmd.name, 0, 0,
					 "%s: waiting for a device (press its "
					 "button)",
					 z->cmd.name);
	} else if (strcmp(name, "node found") == 0) {
		/* The device's setup (and security) may take a while: its
		 * "node added" ends the include, not the time limit (a person
		 * may have to find the PIN). */
		if (z->cmd.name && strcmp(z->cmd.name, "include") == 0) {
			z->cmd.found = true;
			(void)uv_timer_start(&z->cmd.timer, zjs_cmd_timeout,
					     ZJS_FOUND_MAX_MS, 0);
			zjs_emit_found(z);
		}
	} else if (strcmp(name, "inclusion stopped") == 0 ||
		   strcmp(name, "exclusion stopped") == 0) {
		zjs_cmd_stopped(z, name[0] == 'i' ? "include" : "exclude");
	} else if (strcmp(name, "inclusion failed") == 0) {
		zjs_cmd_over(z, "include", 0, -EIO, "failed");
	} else if (strcmp(name, "exclusion failed") == 0) {
		zjs_cmd_over(z, "exclude", 0, -EIO, "failed");
	} else if (strcmp(name, "grant security classes") == 0) {
		if (zjs_including(z))
			zjs_grant(z, ev);
	} else if (strcmp(name, "validate dsk and enter pin") == 0) {
		if (zjs_including(z))
			zjs_pin_asked(z, ev);
	} else if (strcmp(name, "rebuild routes done") == 0) {
		zjs_cmd_over(z, "heal", 0, z->cmd.cancelling ? -ECANCELED : 1,
			     z->cmd.cancelling ? "cancelled" : "completed");
	} else {
		zjs_job_event(z, name, 0, ev);
	}
}

static void zjs_node_event_of(struct zw_zjs *z, const char *name, uint16_t id,
			      const json_t *ev)
{
	const json_t *args = json_object_get(ev, "args");

	if (strcmp(name, "value updated") == 0 ||
	    strcmp(name, "value added") == 0) {
		zjs_value_changed(z, id, args,
				  json_object_get(args, "newValue"));
	} else if (strcmp(name, "value removed") == 0) {
		zjs_value_removed(z, id, args);
	} else if (strcmp(name, "metadata updated") == 0) {
		struct zjs_vid vid;
		char err[8];
		const struct zjs_value *v =
		    zjs_vid_from_json(args, &vid, err, sizeof(err)) == 0
			? zjs_find_read(&z->nodes[id], &vid)
			: NULL;

		/* A switch keeps the writability its targetValue gave it. */
		if (!v || !v->meta.writable)
			zjs_value_add(z, id, args,
				      json_object_get(args, "metadata"), NULL,
				      NULL);
	} else if (strcmp(name, "value notification") == 0) {
		zjs_value_notification(z, id, args);
	} else if (strcmp(name, "notification") == 0) {
		const json_t *a = args;
		const char *label = zjs_str(a, "eventLabel");

		zjs_notify(
		    z, id,
		    (uint8_t)json_integer_value(json_object_get(ev, "ccId")),
		    (uint8_t)json_integer_value(
			json_object_get(ev, "endpointIndex")),
		    "notification",
		    json_integer_value(json_object_get(a, "event")),
		    label ? label : zjs_str(a, "label"));
	} else if (strcmp(name, "ready") == 0) {
		zjs_node_dump(z, json_object_get(ev, "nodeState"));
		zjs_check_all_ready(z);
	} else if (strcmp(name, "dead") == 0) {
		zjs_emit_status(z, id, ZW_NODE_DEAD);
	} else if (strcmp(name, "alive") == 0 || strcmp(name, "wake up") == 0) {
		zjs_emit_status(z, id, ZW_NODE_ALIVE);
	} else if (strcmp(name, "sleep") == 0) {
		zjs_emit_status(z, id, ZW_NODE_ASLEEP);
	} else {
		zjs_job_event(z, name, id, ev);
	}
}

void zjs_node_event(struct zw_zjs *z, const json_t *ev)
{
	const char *source = zjs_str(ev, "source");
	const char *name = zjs_str(ev, "event");
	uint16_t id;

	if (!source || !name)
		return;
	if (strcmp(name, "statistics updated") != 0)
		log_debug("zwave zwavejs: %s event: %s", source, name);
	if (strcmp(source, "controller") == 0)
		zjs_controller_event(z, name, ev);
	else if (strcmp(source, "node") == 0 &&
		 zjs_node_id(json_object_get(ev, "nodeId"), &id) &&
		 (z->nodes[id].known || strcmp(name, "ready") == 0))
		zjs_node_event_of(z, name, id, ev);
	else if (strcmp(source, "driver") == 0 &&
		 strcmp(name, "all nodes ready") == 0)
		zjs_check_all_ready(z);
}
