/* SPDX-License-Identifier: MIT */
/*
 * bridge.c: the registry as MQTT topics (states, events, discovery), and
 * the bridge's start and stop; bridge_in.c takes what comes in: MQTT
 * commands as API requests.
 *
 * Everything that comes in is handed to the API (the api_call op), the
 * path the control socket takes too, so a value is checked (node, value,
 * writable, type, range) in one place.  The bridge itself checks only
 * what the API cannot: size, UTF-8, the shape of a topic, and which
 * commands the cloud may use at all.
 *
 * A cloud "set" through P/api/set/set may wait for the device's report,
 * so an API reply can arrive after bridge_stop().  Each request carries a
 * small call record that points at the bridge; a stopped bridge with
 * requests in flight is only marked dead, publishes nothing more, and is
 * freed by the last reply (the api_call op promises every reply, so that
 * always comes).  Value /set commands never wait: their effect is the
 * state message that follows, and only refusals need an answer.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_int.h"
#include "coalesce.h"
#include "discovery.h"
#include "log.h"
#include "registry.h"

int bridge_topic_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, OUTBOX_TOPIC_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= OUTBOX_TOPIC_MAX ? -ENAMETOOLONG : 0;
}

void bridge_out_publish(struct bridge *b, enum outbox_kind kind,
			const char *topic, const void *payload, size_t len)
{
	int r = b->out.publish(b->out.ctx, kind, topic, payload, len);

	if (r < 0 && r != b->last_err)
		log_warning("cloud: %s not queued: %s", topic, strerror(-r));
	b->last_err = r < 0 ? r : 0;
}

void bridge_out_json(struct bridge *b, enum outbox_kind kind, const char *topic,
		     json_t *j)
{
	char *s =
	    j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	json_decref(j);
	if (!s) {
		log_warning("cloud: %s not queued: %s", topic,
			    strerror(ENOMEM));
		return;
	}
	bridge_out_publish(b, kind, topic, s, strlen(s));
	free(s);
}

static int value_topic(const struct bridge *b, const struct registry_value *v,
		       char *buf)
{
	char path[ZW_PROPERTY_MAX + 32];

	return bridge_topic_fmt(
	    buf, "%s/node/%u/%s", b->prefix, v->meta.key.node,
	    value_key_path(&v->meta.key, path, sizeof(path)));
}

static void publish_value(struct bridge *b, const struct registry_value *v)
{
	char topic[OUTBOX_TOPIC_MAX];

	if (!v->has_val || v->meta.type == VALUE_BUTTON ||
	    value_topic(b, v, topic) < 0)
		return;
	bridge_out_json(b, OUTBOX_STATE, topic,
			json_pack("{s:o,s:I}", "value",
				  value_to_json(&v->val, &v->meta), "ts",
				  (json_int_t)v->updated_ms));
}

static void publish_status(struct bridge *b, const struct registry_node *n)
{
	const char *word = zw_node_status_name(n->status);
	char topic[OUTBOX_TOPIC_MAX];

	if (n->status == ZW_NODE_UNKNOWN ||
	    n->status == b->nodes[n->id].published ||
	    bridge_topic_fmt(topic, "%s/node/%u/status", b->prefix, n->id) < 0)
		return;
	bridge_out_publish(b, OUTBOX_STATE, topic, word, strlen(word));
	b->nodes[n->id].published = n->status;
}

static struct discovery_names names_of(const struct bridge *b)
{
	return (struct discovery_names){ .prefix = b->prefix,
					 .discovery_prefix = b->disc_prefix };
}

static void publish_config(struct bridge *b, const struct registry_value *v)
{
	struct discovery_names dn = names_of(b);
	char topic[OUTBOX_TOPIC_MAX];

	if (b->discovery && discovery_topic(&dn, v, topic, sizeof(topic)) == 0)
		bridge_out_json(b, OUTBOX_STATE, topic,
				discovery_config(&dn, v));
}

/* An empty retained message makes the broker forget the topic. */
static void forget_value(struct bridge *b, const struct registry_value *v)
{
	struct discovery_names dn = names_of(b);
	char topic[OUTBOX_TOPIC_MAX];

	if (value_topic(b, v, topic) == 0)
		bridge_out_publish(b, OUTBOX_STATE, topic, "", 0);
	if (b->discovery && discovery_topic(&dn, v, topic, sizeof(topic)) == 0)
		bridge_out_publish(b, OUTBOX_STATE, topic, "", 0);
}

uint64_t bridge_hash_str(uint64_t h, const char *s)
{
	/* FNV-1a; NULL and "" differ, so that a field that goes away
	 * counts as a change. */
	if (!s)
		return (h ^ 0xff) * 0x100000001b3ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0x1f) * 0x100000001b3ull;
}

/* What the device block of a node's configs is made of. */
static uint64_t device_hash(const struct registry_node *n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = bridge_hash_str(h, n->name);
	h = bridge_hash_str(h, n->manufacturer);
	return bridge_hash_str(h, n->product);
}

static void publish_node_configs(struct bridge *b,
				 const struct registry_node *n)
{
	b->nodes[n->id].device = device_hash(n);
	for (size_t i = 0; i < n->nvalues; i++)
		publish_config(b, n->values[i]);
}

void bridge_publish_all_configs(struct bridge *b)
{
	struct registry_node *n = NULL;

	while ((n = registry_next_node(b->deps.reg, n)))
		publish_node_configs(b, n);
}

/* A rename or new device info changes every config of the node. */
static void node_changed(struct bridge *b, const struct registry_node *n)
{
	publish_status(b, n);
	if (device_hash(n) != b->nodes[n->id].device && b->discovery)
		publish_node_configs(b, n);
	b->nodes[n->id].device = device_hash(n);
}

static void node_removed(struct bridge *b, const struct registry_node *n)
{
	char topic[OUTBOX_TOPIC_MAX];

	if (bridge_topic_fmt(topic, "%s/node/%u/status", b->prefix, n->id) == 0)
		bridge_out_publish(b, OUTBOX_STATE, topic, "", 0);
	for (size_t i = 0; i < n->nvalues; i++)
		forget_value(b, n->values[i]);
	b->nodes[n->id] = (struct bridge_node){ .published = ZW_NODE_UNKNOWN };
}

static const char *cc_word(uint8_t cc, char *buf, size_t len)
{
	if (cc_name(cc))
		return cc_name(cc);
	snprintf(buf, len, "cc_0x%02x", cc);
	return buf;
}

static void publish_notification(struct bridge *b,
				 const struct registry_event *ev)
{
	const struct zw_event *zev = ev->zw;
	char topic[OUTBOX_TOPIC_MAX], text[ZW_LABEL_MAX], cc[16];
	json_t *j;

	if (!zev || zev->type != ZW_EV_NOTIFICATION)
		return;
	/* The kind becomes a topic level: the charset of a property. */
	if (!value_property_valid(zev->u.notification.kind) ||
	    bridge_topic_fmt(
		topic, "%s/event/%u/%s/%u/%s", b->prefix, ev->node->id,
		cc_word(zev->u.notification.cc, cc, sizeof(cc)),
		zev->u.notification.endpoint, zev->u.notification.kind) < 0)
		return;
	j = json_pack("{s:I,s:I}", "code", (json_int_t)zev->u.notification.code,
		      "ts", (json_int_t)ev->node->updated_ms);
	if (j && zev->u.notification.text && zev->u.notification.text[0]) {
		value_text_copy(text, sizeof(text), zev->u.notification.text);
		/* Without its text the event would say less: not at all. */
		if (json_object_set_new(j, "text", json_string(text)) < 0) {
			json_decref(j);
			j = NULL;
		}
	}
	bridge_out_json(b, OUTBOX_EVENT, topic, j);
}

static void on_registry(void *ctx, const struct registry_event *ev)
{
	struct bridge *b = ctx;

	switch (ev->type) {
	case REGISTRY_NODE_ADDED:
		b->nodes[ev->node->id].device = device_hash(ev->node);
		publish_status(b, ev->node);
		break;
	case REGISTRY_NODE_CHANGED:
		node_changed(b, ev->node);
		break;
	case REGISTRY_NODE_REMOVED:
		node_removed(b, ev->node);
		break;
	case REGISTRY_VALUE_ADDED:
		publish_value(b, ev->value);
		publish_config(b, ev->value);
		break;
	case REGISTRY_VALUE_CHANGED:
		publish_value(b, ev->value);
		break;
	case REGISTRY_VALUE_REMOVED:
		forget_value(b, ev->value);
		break;
	case REGISTRY_NOTIFICATION:
		publish_notification(b, ev);
		break;
	case REGISTRY_CONTROLLER:
		break;
	}
}

static void publish_everything(struct bridge *b)
{
	struct registry_node *n = NULL;

	while ((n = registry_next_node(b->deps.reg, n))) {
		b->nodes[n->id].device = device_hash(n);
		publish_status(b, n);
		for (size_t i = 0; i < n->nvalues; i++)
			publish_value(b, n->values[i]);
	}
}

void bridge_birth_round(void *ctx)
{
	struct bridge *b = ctx;

	log_info("cloud: Home Assistant is online: sending discovery");
	bridge_publish_all_configs(b);
}

void bridge_free(struct bridge *b)
{
	for (size_t i = 0; i < BRIDGE_SUBS; i++)
		free(b->subs[i]);
	free(b->prefix);
	free(b->disc_prefix);
	free(b->disc_status);
	free(b);
}

void bridge_connected(struct bridge *b)
{
	if (b && !b->dead && b->discovery)
		bridge_publish_all_configs(b);
}

void bridge_republish(struct bridge *b)
{
	struct registry_node *n = NULL;

	if (!b || b->dead)
		return;
	/* Said before, but perhaps to another broker. */
	while ((n = registry_next_node(b->deps.reg, n)))
		b->nodes[n->id].published = ZW_NODE_UNKNOWN;
	publish_everything(b);
}

void bridge_set_controller_ops(struct bridge *b, bool on)
{
	if (b->controller_ops != on)
		log_notice("cloud: controller operations from the cloud "
			   "are %s",
			   on ? "now taken" : "refused from now on");
	b->controller_ops = on;
}

const char *const *bridge_subscriptions(const struct bridge *b)
{
	return b->sub_list;
}

/* A topic prefix: UTF-8 levels without wildcards, no empty last level. */
static bool prefix_valid(const char *p)
{
	size_t len = p ? strlen(p) : 0;

	return len > 0 && len <= BRIDGE_PREFIX_MAX && p[len - 1] != '/' &&
	       !strpbrk(p, "+#") && value_text_valid(p, len);
}

static char *str_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int bridge_names(struct bridge *b, const struct bridge_opts *opts)
{
	size_t n = 0;

	b->prefix = strdup(opts->prefix);
	b->subs[n++] = str_printf(BRIDGE_SUB_VALUE_SET, opts->prefix);
	b->subs[n++] = str_printf(BRIDGE_SUB_API_SET, opts->prefix);
	if (b->discovery) {
		b->disc_prefix = strdup(opts->discovery_prefix);
		b->disc_status =
		    str_printf("%s/status", opts->discovery_prefix);
		b->subs[n++] = b->disc_status ? strdup(b->disc_status) : NULL;
		if (!b->disc_prefix || !b->disc_status)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!b->subs[i])
			return -ENOMEM;
		b->sub_list[i] = b->subs[i];
	}
	return b->prefix ? 0 : -ENOMEM;
}

int bridge_start(const struct bridge_deps *deps, const struct bridge_opts *opts,
		 const struct bridge_out *out, struct bridge **ret)
{
	struct bridge *b;
	int r;

	if (!deps || !deps->loop || !deps->reg || !deps->ops.api_call ||
	    !deps->ops.errno_name || !opts || !out || !out->publish ||
	    !prefix_valid(opts->prefix) ||
	    (opts->discovery && !prefix_valid(opts->discovery_prefix)))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->deps = *deps;
	b->out = *out;
	b->discovery = opts->discovery;
	b->controller_ops = opts->controller_ops;
	r = bridge_names(b, opts);
	if (r == 0 && b->discovery)
		r = coalesce_new(deps->loop,
				 opts->birth_window_ms ? opts->birth_window_ms
						       : BRIDGE_BIRTH_WINDOW_MS,
				 bridge_birth_round, b, &b->birth);
	if (r == 0)
		r = registry_listen(deps->reg, on_registry, b);
	if (r < 0) {
		coalesce_free(b->birth);
		bridge_free(b);
		return r;
	}
	publish_everything(b);
	*ret = b;
	return 0;
}

struct bridge *bridge_stop(struct bridge *b)
{
	if (!b || b->dead)
		return NULL;
	registry_unlisten(b->deps.reg, on_registry, b);
	coalesce_free(b->birth);
	b->birth = NULL;
	b->dead = true;
	if (b->pending == 0)
		bridge_free(b);
	return NULL;
}
