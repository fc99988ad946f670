/* SPDX-License-Identifier: MIT */
/*
 * bridge_in.c: what the cloud sends the bridge.  Value /set commands and
 * P/api/<command>/set become API requests (through the api_call op), a
 * retained command is refused once on P/error, and Home Assistant's
 * "online" sends discovery again.  The answers are made fit for the
 * cloud: no file of the gateway named, no node's location.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge_int.h"
#include "coalesce.h"
#include "log.h"
#include "registry.h"
#include "zwtime.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall-clock time in ms since the epoch, for "ts". */
static uint64_t wall_ms(void)
{
	int64_t ms = zwtime_now_ms(); /* past 2038 on a 32-bit time_t too */

	return ms > 0 ? (uint64_t)ms : 0;
}

/* One API request in flight. */
struct bridge_call {
	struct bridge *b;
	bool value_set; /* a value's /set: only errors are published */
	char cmd[BRIDGE_CMD_MAX + 1];
	char topic[OUTBOX_TOPIC_MAX]; /* the /set topic or P/api/<cmd> */
};

/* What the cloud may ask of the API. */
static const char *const cloud_commands[] = {
	"status", "nodes", "node", "get", "set", "rename", "refresh",
};
/*
 * Controller operations: they change who is on the network (a device
 * the cloud includes may be anyone's), read its secrets (provisioning
 * DSKs), hold the radio or put code on a device (firmware).  Taken from the
 * cloud only with cloud { allow-controller-ops yes }.
 */
static const char *const controller_commands[] = {
	"include", "include-pin", "exclude",	     "cancel",		"heal",
	"health",  "provision",	  "firmware-upload", "firmware-update",
};
/*
 * Commands of the control socket the cloud must not use: they
 * reconfigure the gateway, play the devices' side, or hand over the
 * network's keys (a backup of the controller holds them).
 */
static const char *const local_commands[] = {
	"reload",
	"log-level",
	"sim",
	"backup",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const char *public_error(const struct bridge *b, const char *err)
{
	if (!err)
		return "failed";
	/* Error texts come from the API, which may name a file of the
	 * gateway (a names file that cannot be written): those stay in
	 * the local log. */
	if (b->deps.ops.names_a_path &&
	    b->deps.ops.names_a_path(b->deps.ops.ctx, err))
		return "failed on the gateway (see its log)";
	return err;
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
	/* An error that names a file must not go out as it is: without
	 * memory to replace it, nothing goes out. */
	if (err && public_error(b, err) != err &&
	    json_object_set_new(r, "error", json_string(public_error(b, err))) <
		0) {
		json_decref(r);
		return NULL;
	}
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
	if (bridge_topic_fmt(t, "%s/error", b->prefix) < 0)
		return;
	bridge_out_json(b, OUTBOX_EVENT, t,
			json_pack("{s:s,s:s,s:s,s:I}", "topic", topic, "error",
				  public_error(b, why), "code",
				  b->deps.ops.errno_name(err), "ts",
				  (json_int_t)wall_ms()));
}

static int errno_of(const struct bridge *b, const char *code)
{
	static const int errs[] = { ENOENT,    EINVAL,	  EACCES, ENOTSUP,
				    EHOSTDOWN, ENOTUNIQ,  EEXIST, EBUSY,
				    E2BIG,     ETIMEDOUT, ENOMEM, ECANCELED };

	for (size_t i = 0; code && i < ARRAY_SIZE(errs); i++)
		if (strcmp(b->deps.ops.errno_name(errs[i]), code) == 0)
			return -errs[i];
	return -EIO;
}

static void reply_publish(struct bridge *b, const struct bridge_call *c,
			  const json_t *reply)
{
	const char *err = json_string_value(json_object_get(reply, "error"));
	const char *code = json_string_value(json_object_get(reply, "code"));

	if (!c->value_set)
		bridge_out_json(b, OUTBOX_EVENT, c->topic,
				public_reply(b, c->cmd, reply));
	else if (!json_is_true(json_object_get(reply, "ok")))
		set_refused(b, c->topic, errno_of(b, code),
			    err ? err : "failed");
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
	b->deps.ops.api_call(b->deps.ops.ctx, req, on_reply, c);
	return 0;
}

/* The reason into why; returns err. */
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
	if (r == 0 && strlen(lv[1]) > REGISTRY_NAME_MAX)
		r = fail(why, sizeof(why), -ENOENT, "no node '%.*s...'",
			 REGISTRY_NAME_MAX, lv[1]);
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
	bridge_out_json(b, OUTBOX_EVENT, topic,
			json_pack("{s:O?,s:b,s:s,s:s}", "id", id, "ok", 0,
				  "code", b->deps.ops.errno_name(err), "error",
				  why));
}

static bool command_valid(const char *cmd)
{
	size_t len = strlen(cmd);

	if (len == 0 || len > BRIDGE_CMD_MAX)
		return false;
	return strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* May the cloud send req for cmd?  0 or -errno with why. */
static int api_check(const struct bridge *b, const json_t *req, const char *cmd,
		     char *why, size_t len)
{
	if (!json_is_object(req))
		return fail(why, len, -EINVAL,
			    "the request must be a JSON object");
	if (in_list(local_commands, ARRAY_SIZE(local_commands), cmd))
		return fail(why, len, -EACCES,
			    "'%s' is not allowed from the cloud", cmd);
	if (in_list(controller_commands, ARRAY_SIZE(controller_commands), cmd))
		return b->controller_ops
			   ? 0
			   : fail(why, len, -EACCES,
				  "'%s' is a controller operation: this "
				  "gateway takes those from the cloud only "
				  "with cloud { allow-controller-ops yes }",
				  cmd);
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
	    bridge_topic_fmt(topic, "%s/api/%s", b->prefix, cmd) < 0) {
		log_notice("cloud: API request for a malformed command "
			   "ignored");
		return;
	}
	if (len > BRIDGE_IN_MAX) {
		r = fail(why, sizeof(why), -E2BIG, "request over %d bytes",
			 BRIDGE_IN_MAX);
	} else {
		req = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
		r = api_check(b, req, cmd, why, sizeof(why));
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
	uint64_t h = bridge_hash_str(0xcbf29ce484222325ull, topic);
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
