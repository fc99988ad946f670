/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bridge.c: a message from the cloud, as bridge.c gets it from the
 * broker: a topic (the input up to its first newline) and a payload (the
 * rest), on a real zwgated with the bridge started (discovery on).  The
 * seeds hold value /set topics, P/api/<command>/set requests and
 * Home Assistant's birth message.
 *
 * What the bridge then publishes must be fit to send: a topic of
 * printable UTF-8 without wildcards that fits the outbox, a payload that
 * fits too; an answer on P/api/... or P/error a JSON object; nothing
 * that names a file of the gateway (its state directory is in the
 * config).  A request (not empty) on P/api/<command>/set with a
 * well-formed command gets exactly one answer on P/api/<command>.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bridge.h"
#include "fuzz.h"
#include "value.h"

#define P	     "zwgate/fuzz-gw"
#define FUZZ_CMD_MAX 32 /* BRIDGE_CMD_MAX */

struct record {
	const char *api; /* P/api/<command>, when the input asked one */
	unsigned answers;
	bool echo; /* the input itself holds a path of the gateway */
};

static bool topic_is(const char *topic, const char *prefix)
{
	return strncmp(topic, prefix, strlen(prefix)) == 0;
}

/* The fuzz directory holds the gateway's config and state. */
static bool holds_path(const void *p, size_t len)
{
	return memmem(p, len, fuzz_dir(), strlen(fuzz_dir()));
}

static int rec_publish(void *ctx, enum outbox_kind kind, const char *topic,
		       const void *payload, size_t len)
{
	struct record *r = ctx;

	fuzz_check(strlen(topic) < OUTBOX_TOPIC_MAX &&
		       len <= OUTBOX_PAYLOAD_MAX,
		   "too large for the outbox: %s", topic);
	fuzz_check(value_text_valid(topic, strlen(topic)) &&
		       !strpbrk(topic, "+#"),
		   "a topic not fit to publish");
	fuzz_check(r->echo || (!holds_path(topic, strlen(topic)) &&
			       !holds_path(payload, len)),
		   "a path of the gateway sent on %s", topic);
	if (topic_is(topic, P "/api/") || strcmp(topic, P "/error") == 0)
		fuzz_check(fuzz_json_object(payload, len),
			   "not a JSON object on %s", topic);
	if (r->api && strcmp(topic, r->api) == 0)
		r->answers++;
	return 0;
}

/* P/api/<command>/set with a command the bridge takes: its answer topic. */
static char *api_topic(const char *topic)
{
	const char *cmd = topic + strlen(P "/api/");
	size_t n;

	if (!topic_is(topic, P "/api/"))
		return NULL;
	n = strcspn(cmd, "/");
	if (strcmp(cmd + n, "/set") != 0 || n == 0 || n > FUZZ_CMD_MAX ||
	    strspn(cmd, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return NULL;
	return strndup(topic, (size_t)(cmd + n - topic));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bridge_opts o = { .prefix = P,
				 .discovery = true,
				 .discovery_prefix = "homeassistant" };
	struct record rec = { 0 };
	struct bridge_out out = { .publish = rec_publish, .ctx = &rec };
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tlen = nl ? (size_t)(nl - data) : size;
	char *topic = strndup((const char *)data, tlen);
	struct fuzz_daemon f;
	struct bridge_deps deps;
	struct bridge *b;

	/* A topic holds no NUL: MQTT strings are UTF-8 without it. */
	if (!topic || strlen(topic) != tlen) {
		free(topic);
		return 0;
	}
	fuzz_daemon_start(&f);
	/* The bridge as the cloud link makes it. */
	deps = (struct bridge_deps){ .loop = &f.loop,
				     .reg = daemon_registry(f.d) };
	daemon_bridge_ops(f.d, &deps.ops);
	fuzz_check(bridge_start(&deps, &o, &out, &b) == 0, "bridge_start");
	/* An empty message is what clears a retained one: no request. */
	rec.api = nl && size > tlen + 1 ? api_topic(topic) : NULL;
	rec.answers = 0;
	/* An error may quote what the cloud sent: its own bytes. */
	rec.echo = holds_path(data, size);
	bridge_message(b, topic, nl ? nl + 1 : data + size,
		       nl ? size - tlen - 1 : 0, false);
	fuzz_daemon_turn(&f, 16);
	/* The API answers what is still pending before the bridge goes
	 * (which closes its timer before the loop does), as daemon_stop
	 * does before cloud_stop. */
	api_shutdown(daemon_api(f.d));
	bridge_stop(b);
	fuzz_daemon_stop(&f);
	fuzz_check(!rec.api || rec.answers == 1, "%u answers on %s",
		   rec.answers, rec.api);
	free((char *)rec.api);
	free(topic);
	return 0;
}
