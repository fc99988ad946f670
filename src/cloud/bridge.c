/* SPDX-License-Identifier: MIT */
/*
 * bridge.c: the registry as MQTT topics, and MQTT commands as API
 * requests.
 *
 * Everything that comes in is handed to api_request(), the path the
 * control socket takes too, so a value is checked (node, value, writable,
 * type, range) in one place.  The bridge itself checks only what the API
 * cannot: size, UTF-8, the shape of a topic, and which commands the
 * cloud may use at all.
 *
 * A cloud "set" through P/api/set/set may wait for the device's report,
 * so an API reply can arrive after bridge_stop().  Each request carries a
 * small call record that points at the bridge; a stopped bridge with
 * requests in flight is only marked dead, publishes nothing more, and is
 * freed by the last reply (api_shutdown() answers every pending request,
 * so that always comes).  Value /set commands never wait: their effect is
 * the state message that follows, and only refusals need an answer.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bridge.h"
#include "coalesce.h"
#include "daemon.h"
#include "discovery.h"
#include "log.h"
#include "registry.h"

#define BRIDGE_PREFIX_MAX  256 /* bytes of a topic prefix: topics stay short */
#define BRIDGE_CMD_MAX	   32  /* bytes of an API command in a topic */
#define BRIDGE_LEVELS_MAX  8   /* topic levels looked at under P */
#define BRIDGE_PENDING_MAX 64  /* API requests in flight */
#define BRIDGE_ERR_MAX	   256
#define BRIDGE_SUBS	   3
/* Retained commands already answered on P/error, remembered by a hash of
 * topic and payload (a ring: past this many, the oldest may be answered
 * again at a later connect). */
#define BRIDGE_RETAINED_SEEN 256

struct bridge_node {
	enum zw_node_status published; /* status last sent; UNKNOWN: none */
	uint64_t device;	       /* hash of the device block last sent */
};

struct bridge {
	struct daemon *d;
	struct bridge_out out;
	char *prefix, *disc_prefix, *disc_status;
	bool discovery;
	struct coalesce *birth; /* sends discovery for "online" */
	bool dead;		/* stopped: freed when the last reply comes */
	unsigned pending;	/* API requests whose reply has not come */
	int last_err;		/* of the last failed publish: logged once */
	uint64_t retained_seen[BRIDGE_RETAINED_SEEN]; /* 0: free */
	unsigned retained_next;
	char *subs[BRIDGE_SUBS];
	const char *sub_list[BRIDGE_SUBS + 1];
	struct bridge_node nodes[ZW_NODE_MAX + 1];
};

/* One API request in flight. */
struct bridge_call {
	struct bridge *b;
	bool value_set; /* a value's /set: only errors are published */
	char cmd[BRIDGE_CMD_MAX + 1];
	char topic[OUTBOX_TOPIC_MAX]; /* the /set topic or P/api/<cmd> */
};

/* What the cloud may ask of the API. */
static const char *const cloud_commands[] = {
	"status", "nodes", "node", "get", "set", "rename",
};
/*
 * Commands of the control socket the cloud must not use: they
 * reconfigure the gateway or play the devices' side.
 */
static const char *const local_commands[] = {
	"reload",
	"log-level",
	"sim",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int topic_fmt(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A topic into buf[OUTBOX_TOPIC_MAX].  0 or -ENAMETOOLONG. */
static int topic_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, OUTBOX_TOPIC_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= OUTBOX_TOPIC_MAX ? -ENAMETOOLONG : 0;
}

static void publish(struct bridge *b, enum outbox_kind kind, const char *topic,
		    const void *payload, size_t len)
{
	int r = b->out.publish(b->out.ctx, kind, topic, payload, len);

	if (r < 0 && r != b->last_err)
		log_warning("cloud: %s not queued: %s", topic, strerror(-r));
	b->last_err = r < 0 ? r : 0;
}

/* Publish j (a new reference, taken; NULL means out of memory). */
static void publish_json(struct bridge *b, enum outbox_kind kind,
			 const char *topic, json_t *j)
{
	char *s =
	    j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;

	json_decref(j);
	if (!s) {
		log_warning("cloud: %s not queued: %s", topic,
			    strerror(ENOMEM));
		return;
	}
	publish(b, kind, topic, s, strlen(s));
	free(s);
}

static int value_topic(const struct bridge *b, const struct registry_value *v,
		       char *buf)
{
	char path[ZW_PROPERTY_MAX + 32];

	return topic_fmt(buf, "%s/node/%u/%s", b->prefix, v->meta.key.node,
			 value_key_path(&v->meta.key, path, sizeof(path)));
}

static void publish_value(struct bridge *b, const struct registry_value *v)
{
	char topic[OUTBOX_TOPIC_MAX];

	if (!v->has_val || v->meta.type == VALUE_BUTTON ||
	    value_topic(b, v, topic) < 0)
		return;
	publish_json(b, OUTBOX_STATE, topic,
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
	    topic_fmt(topic, "%s/node/%u/status", b->prefix, n->id) < 0)
		return;
	publish(b, OUTBOX_STATE, topic, word, strlen(word));
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
		publish_json(b, OUTBOX_STATE, topic, discovery_config(&dn, v));
}

/* An empty retained message makes the broker forget the topic. */
static void forget_value(struct bridge *b, const struct registry_value *v)
{
	struct discovery_names dn = names_of(b);
	char topic[OUTBOX_TOPIC_MAX];

	if (value_topic(b, v, topic) == 0)
		publish(b, OUTBOX_STATE, topic, "", 0);
	if (b->discovery && discovery_topic(&dn, v, topic, sizeof(topic)) == 0)
		publish(b, OUTBOX_STATE, topic, "", 0);
}

static uint64_t hash_str(uint64_t h, const char *s)
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

	h = hash_str(h, n->name);
	h = hash_str(h, n->manufacturer);
	return hash_str(h, n->product);
}

static void publish_node_configs(struct bridge *b,
				 const struct registry_node *n)
{
	b->nodes[n->id].device = device_hash(n);
	for (size_t i = 0; i < n->nvalues; i++)
		publish_config(b, n->values[i]);
}

static void publish_all_configs(struct bridge *b)
{
	struct registry_node *n = NULL;

	while ((n = registry_next_node(b->d->reg, n)))
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

	if (topic_fmt(topic, "%s/node/%u/status", b->prefix, n->id) == 0)
		publish(b, OUTBOX_STATE, topic, "", 0);
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
	    topic_fmt(topic, "%s/event/%u/%s/%u/%s", b->prefix, ev->node->id,
		      cc_word(zev->u.notification.cc, cc, sizeof(cc)),
		      zev->u.notification.endpoint,
		      zev->u.notification.kind) < 0)
		return;
	j = json_pack("{s:I,s:I}", "code", (json_int_t)zev->u.notification.code,
		      "ts", (json_int_t)ev->node->updated_ms);
	if (j && zev->u.notification.text && zev->u.notification.text[0]) {
		value_text_copy(text, sizeof(text), zev->u.notification.text);
		json_object_set_new(j, "text", json_string(text));
	}
	publish_json(b, OUTBOX_EVENT, topic, j);
}

static void on_registry(void *ctx, const struct registry_event *ev)
{
	struct bridge *b = ctx;

	switch (ev->type) {
	case REG_NODE_ADDED:
		b->nodes[ev->node->id].device = device_hash(ev->node);
		publish_status(b, ev->node);
		break;
	case REG_NODE_CHANGED:
		node_changed(b, ev->node);
		break;
	case REG_NODE_REMOVED:
		node_removed(b, ev->node);
		break;
	case REG_VALUE_ADDED:
		publish_value(b, ev->value);
		publish_config(b, ev->value);
		break;
	case REG_VALUE_CHANGED:
		publish_value(b, ev->value);
		break;
	case REG_VALUE_REMOVED:
		forget_value(b, ev->value);
		break;
	case REG_NOTIFICATION:
		publish_notification(b, ev);
		break;
	case REG_CONTROLLER:
		break;
	}
}

static void publish_everything(struct bridge *b)
{
	struct registry_node *n = NULL;

	while ((n = registry_next_node(b->d->reg, n))) {
		b->nodes[n->id].device = device_hash(n);
		publish_status(b, n);
		for (size_t i = 0; i < n->nvalues; i++)
			publish_value(b, n->values[i]);
	}
}

/*
 * Error texts come from the API, which may name a file of the gateway
 * (a names file that cannot be written): those stay in the local log.
 */
static bool names_a_path(const struct daemon *d, const char *s)
{
	const char *paths[] = { d->names_path,
				d->socket_path,
				d->opts.state_dir,
				d->opts.runtime_dir,
				d->opts.config_path,
				d->conf ? d->conf->path : NULL,
				d->conf ? d->conf->zwave.sim_network : NULL,
				d->conf ? d->conf->zwave.device : NULL,
				d->conf ? d->conf->zwave.network_key_file
					: NULL };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (paths[i] && paths[i][0] && strstr(s, paths[i]))
			return true;
	return false;
}

static const char *public_error(const struct bridge *b, const char *err)
{
	if (!err)
		return "failed";
	return names_a_path(b->d, err) ? "failed on the gateway (see its log)"
				       : err;
}

/* The node's location is personal and stays home. */
static void drop_locations(json_t *j, unsigned depth)
{
	if (depth > 4)
		return;
	if (json_is_object(j)) {
		json_object_del(j, "location");
		for (void *it = json_object_iter(j); it;
		     it = json_object_iter_next(j, it))
			drop_locations(json_object_iter_value(it), depth + 1);
	} else if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++)
			drop_locations(json_array_get(j, i), depth + 1);
	}
}

/* A copy of reply fit for the cloud. */
static json_t *public_reply(const struct bridge *b, const char *cmd,
			    const json_t *reply)
{
	json_t *r = json_deep_copy(reply), *res;
	const char *err;

	if (!json_is_object(r))
		return r;
	res = json_object_get(r, "result");
	drop_locations(res, 0);
	if (strcmp(cmd, "status") == 0)
		json_object_del(res, "config");
	json_object_del(r, "details");
	err = json_string_value(json_object_get(r, "error"));
	if (err && public_error(b, err) != err)
		json_object_set_new(r, "error",
				    json_string(public_error(b, err)));
	return r;
}

/* A refused /set: P/error, and a notice naming the topic. */
static void set_refused(struct bridge *b, const char *topic, int err,
			const char *why)
{
	char t[OUTBOX_TOPIC_MAX], text[BRIDGE_ERR_MAX];

	/* Reasons may quote a little of the payload: printable only. */
	value_text_copy(text, sizeof(text), why);
	why = text;
	log_notice("cloud: %s refused: %s", topic, why);
	if (topic_fmt(t, "%s/error", b->prefix) < 0)
		return;
	publish_json(b, OUTBOX_EVENT, t,
		     json_pack("{s:s,s:s,s:s,s:I}", "topic", topic, "error",
			       public_error(b, why), "code",
			       api_errno_name(err), "ts",
			       (json_int_t)daemon_wall_ms()));
}

static int errno_of(const char *code)
{
	static const int errs[] = { ENOENT,    EINVAL,	  EACCES, ENOTSUP,
				    EHOSTDOWN, ENOTUNIQ,  EEXIST, EBUSY,
				    E2BIG,     ETIMEDOUT, ENOMEM, ECANCELED };

	for (size_t i = 0; code && i < ARRAY_SIZE(errs); i++)
		if (strcmp(api_errno_name(errs[i]), code) == 0)
			return -errs[i];
	return -EIO;
}

static void bridge_free(struct bridge *b)
{
	for (size_t i = 0; i < BRIDGE_SUBS; i++)
		free(b->subs[i]);
	free(b->prefix);
	free(b->disc_prefix);
	free(b->disc_status);
	free(b);
}

static void reply_publish(struct bridge *b, const struct bridge_call *c,
			  const json_t *reply)
{
	const char *err = json_string_value(json_object_get(reply, "error"));
	const char *code = json_string_value(json_object_get(reply, "code"));

	if (!c->value_set)
		publish_json(b, OUTBOX_EVENT, c->topic,
			     public_reply(b, c->cmd, reply));
	else if (!json_is_true(json_object_get(reply, "ok")))
		set_refused(b, c->topic, errno_of(code), err ? err : "failed");
	else
		log_debug("cloud: %s done", c->topic);
}

static void on_reply(void *ctx, const json_t *reply)
{
	struct bridge_call *c = ctx;
	struct bridge *b = c->b;

	b->pending--;
	if (!b->dead)
		reply_publish(b, c, reply);
	free(c);
	if (b->dead && b->pending == 0)
		bridge_free(b);
}

/* Hand req (borrowed) to the API; the reply goes to topic. */
static int call_api(struct bridge *b, const json_t *req, bool value_set,
		    const char *cmd, const char *topic)
{
	struct bridge_call *c;

	if (b->pending >= BRIDGE_PENDING_MAX)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->b = b;
	c->value_set = value_set;
	snprintf(c->cmd, sizeof(c->cmd), "%s", cmd);
	snprintf(c->topic, sizeof(c->topic), "%s", topic);
	b->pending++;
	api_request(b->d, req, on_reply, c);
	return 0;
}

static int fail(char *why, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The reason into why; returns err. */
static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* {"value":V} gives V; any other JSON is the value itself. */
static int unwrap(json_t *j, json_t **ret, char *why, size_t whylen)
{
	json_t *v;

	if (!json_is_object(j)) {
		*ret = j;
		return 0;
	}
	v = json_incref(json_object_get(j, "value"));
	json_decref(j);
	if (!v)
		return fail(why, whylen, -EINVAL,
			    "an object payload must be {\"value\":..}");
	*ret = v;
	return 0;
}

/*
 * The value of a /set payload: JSON (a scalar, or {"value":V}), or else
 * a bare word such as on, taken as a JSON string.  Text that starts like
 * JSON must be JSON, or a typo would be written into a string value.
 * The size is checked before anything reads the bytes.
 */
static int set_payload(const char *p, size_t len, json_t **ret, char *why,
		       size_t whylen)
{
	json_error_t jerr;
	size_t a = 0, z = len;
	json_t *j;

	if (len > BRIDGE_IN_MAX)
		return fail(why, whylen, -E2BIG, "payload over %d bytes",
			    BRIDGE_IN_MAX);
	/* json_stringn() checks UTF-8. */
	if (memchr(p, '\0', len) || !(j = json_stringn(p, len)))
		return fail(why, whylen, -EINVAL, "payload is not UTF-8 text");
	json_decref(j);
	while (a < z && is_space(p[a]))
		a++;
	while (z > a && is_space(p[z - 1]))
		z--;
	j = json_loadb(p, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (j)
		return unwrap(j, ret, why, whylen);
	/* Not jerr.text: it quotes the payload. */
	if (a < z && strchr("{[\"", p[a]))
		return fail(why, whylen, -EINVAL,
			    "payload is not valid JSON (at byte %d)",
			    jerr.position);
	*ret = json_stringn(p + a, z - a);
	return *ret ? 0 : -ENOMEM;
}

/* P/node/<n>/<cc>/<endpoint>/<property>/set: lv[1..4] are the levels. */
static void value_set(struct bridge *b, const char *topic, char *const *lv,
		      const char *payload, size_t len)
{
	char why[BRIDGE_ERR_MAX], spec[OUTBOX_TOPIC_MAX];
	json_t *data = NULL, *req = NULL;
	int r;

	r = set_payload(payload, len, &data, why, sizeof(why));
	/* The API cuts a longer reference; it must not match a cut name. */
	if (r == 0 && strlen(lv[1]) > REG_NAME_MAX)
		r = fail(why, sizeof(why), -ENOENT, "no node '%.*s...'",
			 REG_NAME_MAX, lv[1]);
	if (r == 0) {
		snprintf(spec, sizeof(spec), "%s/%s/%s", lv[2], lv[3], lv[4]);
		req = json_pack("{s:s,s:s,s:s,s:O,s:b}", "cmd", "set", "node",
				lv[1], "value", spec, "data", data, "wait", 0);
		r = req ? call_api(b, req, true, "set", topic) : -ENOMEM;
		if (r < 0)
			fail(why, sizeof(why), r, "%s",
			     r == -EBUSY ? "too many requests in flight"
					 : strerror(-r));
	}
	if (r < 0)
		set_refused(b, topic, r, why);
	json_decref(req);
	json_decref(data);
}

/* A request the bridge answers itself, with the API's error shape. */
static void api_refuse(struct bridge *b, const char *topic, const json_t *id,
		       int err, const char *why)
{
	log_notice("cloud: %s refused: %s", topic, why);
	publish_json(b, OUTBOX_EVENT, topic, api_error_reply(id, err, why));
}

static bool command_valid(const char *cmd)
{
	size_t len = strlen(cmd);

	if (len == 0 || len > BRIDGE_CMD_MAX)
		return false;
	return strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* May the cloud send req for cmd?  0 or -errno with why. */
static int api_check(const json_t *req, const char *cmd, char *why, size_t len)
{
	if (!json_is_object(req))
		return fail(why, len, -EINVAL,
			    "the request must be a JSON object");
	if (in_list(local_commands, ARRAY_SIZE(local_commands), cmd))
		return fail(why, len, -EACCES,
			    "'%s' is not allowed from the cloud", cmd);
	if (!in_list(cloud_commands, ARRAY_SIZE(cloud_commands), cmd))
		return fail(why, len, -ENOENT, "unknown command '%s'", cmd);
	return 0;
}

/* P/api/<cmd>/set -> P/api/<cmd>. */
static void api_message(struct bridge *b, const char *cmd, const char *payload,
			size_t len)
{
	char topic[OUTBOX_TOPIC_MAX], why[BRIDGE_ERR_MAX];
	json_t *req = NULL;
	int r;

	if (!command_valid(cmd) ||
	    topic_fmt(topic, "%s/api/%s", b->prefix, cmd) < 0) {
		log_notice("cloud: API request for a malformed command "
			   "ignored");
		return;
	}
	if (len > BRIDGE_IN_MAX) {
		r = fail(why, sizeof(why), -E2BIG, "request over %d bytes",
			 BRIDGE_IN_MAX);
	} else {
		req = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
		r = api_check(req, cmd, why, sizeof(why));
	}
	/* "cmd" comes from the topic, whatever the payload says. */
	if (r == 0 && json_object_set_new(req, "cmd", json_string(cmd)))
		r = -ENOMEM;
	if (r == 0)
		r = call_api(b, req, false, cmd, topic);
	if (r == -EBUSY)
		fail(why, sizeof(why), r, "too many requests in flight");
	else if (r == -ENOMEM)
		fail(why, sizeof(why), r, "%s", strerror(-r));
	if (r < 0)
		api_refuse(b, topic, json_object_get(req, "id"), r, why);
	json_decref(req);
}

/* Every config again: at once, or at the end of the window. */
static void birth_round(void *ctx)
{
	struct bridge *b = ctx;

	log_info("cloud: Home Assistant is online: sending discovery");
	publish_all_configs(b);
}

static void birth(struct bridge *b, const char *payload, size_t len)
{
	if (len == 6 && memcmp(payload, "online", 6) == 0 &&
	    !coalesce_kick(b->birth))
		log_debug("cloud: Home Assistant is online again: discovery "
			  "at the end of the window");
}

/* FNV-1a of topic (its end marked) and payload; never 0 (a free slot). */
static uint64_t retained_hash(const char *topic, const void *payload,
			      size_t len)
{
	uint64_t h = hash_str(0xcbf29ce484222325ull, topic);
	const unsigned char *p = payload;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/*
 * A command the broker kept (published with retain) and sends again at
 * every connect: carried out, it would undo whatever happened since, at
 * every restart (a door unlocked again).  A command is an event, never a
 * state, so it is not carried out.  The sender is told once per topic
 * and payload in this process, not at every reconnect.
 */
static void retained_refused(struct bridge *b, const char *topic,
			     const void *payload, size_t len)
{
	uint64_t h = retained_hash(topic, payload, len);

	for (size_t i = 0; i < BRIDGE_RETAINED_SEEN; i++) {
		if (b->retained_seen[i] == h) {
			log_debug("cloud: retained command on %s ignored "
				  "again",
				  topic);
			return;
		}
	}
	b->retained_seen[b->retained_next] = h;
	b->retained_next = (b->retained_next + 1) % BRIDGE_RETAINED_SEEN;
	set_refused(b, topic, -EINVAL,
		    "a retained command is not carried out: publish commands "
		    "without retain, and clear this one (an empty retained "
		    "message)");
}

/* Splits s in place at '/' into at most max levels; -E2BIG beyond. */
static int split_levels(char *s, char **lv, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (n == max)
			return -E2BIG;
		lv[n++] = s;
		if (!(s = strchr(s, '/')))
			return (int)n;
		*s++ = '\0';
	}
}

void bridge_message(struct bridge *b, const char *topic, const void *payload,
		    size_t len, bool retained)
{
	size_t plen = b ? strlen(b->prefix) : 0;
	char buf[OUTBOX_TOPIC_MAX], *lv[BRIDGE_LEVELS_MAX];
	bool value, api;
	int n;

	if (!b || b->dead || !topic || (!payload && len))
		return;
	if (b->discovery && strcmp(topic, b->disc_status) == 0) {
		/* A retained "online" comes with every connect, which has
		 * sent discovery already: Home Assistant did not restart. */
		if (!retained)
			birth(b, payload, len);
		return;
	}
	if (strncmp(topic, b->prefix, plen) != 0 || topic[plen] != '/' ||
	    strlen(topic) >= sizeof(buf))
		return;
	/* Topics are echoed in P/error and logs: printable UTF-8 only. */
	if (!value_text_valid(topic, strlen(topic))) {
		log_notice("cloud: a message on a topic that is not "
			   "printable UTF-8 was ignored");
		return;
	}
	strcpy(buf, topic + plen + 1);
	n = split_levels(buf, lv, BRIDGE_LEVELS_MAX);
	value =
	    n == 6 && strcmp(lv[0], "node") == 0 && strcmp(lv[5], "set") == 0;
	api = n == 3 && strcmp(lv[0], "api") == 0 && strcmp(lv[2], "set") == 0;
	if (!value && !api)
		log_debug("cloud: message on %s ignored", topic);
	else if (len == 0)
		/* What clears a retained message: no command, no error. */
		log_debug("cloud: empty message on %s ignored", topic);
	else if (retained)
		retained_refused(b, topic, payload, len);
	else if (value)
		value_set(b, topic, lv, payload, len);
	else
		api_message(b, lv[1], payload, len);
}

void bridge_connected(struct bridge *b)
{
	if (b && !b->dead && b->discovery)
		publish_all_configs(b);
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

int bridge_start(struct daemon *d, const struct bridge_opts *opts,
		 const struct bridge_out *out, struct bridge **ret)
{
	struct bridge *b;
	int r;

	if (!d || !d->reg || !d->conf || !d->conf->gateway_id || !opts ||
	    !out || !out->publish || !prefix_valid(opts->prefix) ||
	    (opts->discovery && !prefix_valid(opts->discovery_prefix)))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->d = d;
	b->out = *out;
	b->discovery = opts->discovery;
	r = bridge_names(b, opts);
	if (r == 0 && b->discovery)
		r = coalesce_new(d->loop,
				 opts->birth_window_ms ? opts->birth_window_ms
						       : BRIDGE_BIRTH_WINDOW_MS,
				 birth_round, b, &b->birth);
	if (r == 0)
		r = registry_listen(d->reg, on_registry, b);
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
	if (b->d->reg)
		registry_unlisten(b->d->reg, on_registry, b);
	coalesce_free(b->birth);
	b->birth = NULL;
	b->dead = true;
	if (b->pending == 0)
		bridge_free(b);
	return NULL;
}
