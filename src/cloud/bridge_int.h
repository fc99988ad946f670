/* SPDX-License-Identifier: MIT */
/*
 * bridge_int.h: what bridge.c (the registry as topics, start and stop)
 * shares with bridge_in.c (incoming messages: commands to the API).
 */
#ifndef ZWGATE_BRIDGE_INT_H
#define ZWGATE_BRIDGE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bridge.h"
#include "coalesce.h"
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
	struct bridge_deps deps;
	struct bridge_out out;
	char *prefix, *disc_prefix, *disc_status;
	bool discovery;
	bool controller_ops;	/* allow-controller-ops */
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

/* A topic into buf[OUTBOX_TOPIC_MAX].  0 or -ENAMETOOLONG. */
int bridge_topic_fmt(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queue a message; a failure is logged (once until one succeeds). */
void bridge_out_publish(struct bridge *b, enum outbox_kind kind,
			const char *topic, const void *payload, size_t len);
/* Publish j (a new reference, taken; NULL means out of memory). */
void bridge_out_json(struct bridge *b, enum outbox_kind kind, const char *topic,
		     json_t *j);
/* FNV-1a of s into h; NULL and "" differ. */
uint64_t bridge_hash_str(uint64_t h, const char *s);
/* Every discovery config, for every node. */
void bridge_publish_all_configs(struct bridge *b);
/* Every config again (coalesce's callback): Home Assistant is back. */
void bridge_birth_round(void *ctx);
/* Free a bridge that is stopped and has no reply to wait for. */
void bridge_free(struct bridge *b);

#endif
