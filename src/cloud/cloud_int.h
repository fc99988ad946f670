/* SPDX-License-Identifier: MIT */
/*
 * cloud_int.h: the cloud link's state, shared by cloud.c (the publish
 * path, the link, start and stop) and cloud_sync.c (the outbox's syncs
 * in libuv's thread pool).  Not for other modules.
 */
#ifndef ZWGATE_CLOUD_INT_H
#define ZWGATE_CLOUD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "cloud.h"
#include "outbox.h"

/* Messages handed to libmosquitto and not yet acknowledged. */
#define CLOUD_WINDOW 1024
#define CLOUD_MIDS   (2 * CLOUD_WINDOW) /* hash slots, a power of two */
/*
 * Incoming messages up to this size reach the bridge, which answers an
 * oversized command with an error; larger ones are dropped unanswered.
 */
#define CLOUD_MAX_IN	 (2 * 1024 * 1024)
#define CLOUD_OUTBOX_DIR "outbox" /* in the state directory */
/* The fleet's bundle, under <topic-prefix>/ (gateway id "_fleet" is
 * refused: conf.c). */
#define CLOUD_FLEET_BUNDLE "_fleet/trust/bundle"

struct cloud_mid {
	int mid; /* 0: empty slot */
	uint64_t seq;
};

struct cloud {
	struct cloud_deps deps;
	struct outbox *ob;
	struct mqtt *mqtt;
	struct bridge *bridge;
	SSL_CTX *ssl;
	struct trust_link *trust; /* NULL: ca-file or plaintext */
	char *prefix;		  /* <topic-prefix>/<gateway-id> */
	char *status_topic;	  /* P/status */
	char *health_topic;	  /* P/health */
	char *report_topic;	  /* P/trust */
	char *bundle_in;	  /* P/trust/bundle/set */
	char *bundle_out;	  /* P/trust/bundle */
	char *fleet_in;		  /* <topic-prefix>/CLOUD_FLEET_BUNDLE */
	uv_timer_t sync_timer;
	uv_work_t work;	       /* runs job in the thread pool */
	struct outbox_job job; /* the worker's while busy */
	bool busy;	       /* a job is out */
	bool stopping;	       /* cloud_stop ran: finish once it is back */
	bool timer_closed;     /* sync_timer's close callback ran */
	uint64_t cursor;       /* last seq handed to mqtt */
	unsigned inflight;
	struct cloud_mid mids[CLOUD_MIDS];
	uint64_t unsendable; /* messages the broker can never take */
	int sync_error;	     /* last outbox_sync result */
	int compact_error;   /* last compaction's, as said in the log */
};

static inline const struct conf *cloud_conf(const struct cloud *c)
{
	return c->deps.conf(c->deps.ctx);
}

/* cloud.c: hand the broker what the outbox holds, in seq order. */
void cloud_pump(struct cloud *c);

/* cloud_trust.c: see its top. */
int cloud_trust_topics(struct cloud *c); /* 0 or -ENOMEM */
void cloud_trust_free_topics(struct cloud *c);
int cloud_trust_open(struct cloud *c, char *err, size_t errlen);
/* Adds the trust topics to subs (room entries); how many it added. */
size_t cloud_trust_subscriptions(struct cloud *c, const char **subs,
				 size_t room);
/* false: not a trust topic (or no trust bundle in use). */
bool cloud_trust_message(struct cloud *c, const char *topic,
			 const void *payload, size_t len);
void cloud_trust_publish(struct cloud *c); /* P/health and P/trust */

/* cloud_sync.c: see the top of cloud.c and cloud_sync.c. */
void cloud_sync_start(struct cloud *c);
void cloud_sync_soon(struct cloud *c);
void cloud_note_sync(struct cloud *c, int r);
void cloud_note_compact(struct cloud *c);
void cloud_log_unwritten(const struct cloud *c, int r, const char *fate);
/* The outbox once no job is out, then c once its timer is closed. */
void cloud_finish(struct cloud *c);
void cloud_sync_closed(uv_handle_t *h);

#endif
