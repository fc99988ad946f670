/* SPDX-License-Identifier: MIT */
/*
 * trust_link_int.h: the trust link's state, shared by trust_link.c (the
 * link, bundles offered, the health callback) and trust_link_status.c
 * (status, health and report as JSON).  Not for other modules.
 */
#ifndef ZWGATE_TRUST_LINK_INT_H
#define ZWGATE_TRUST_LINK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "fs_job.h"
#include "trust.h"
#include "trust_link.h"

#define TRUST_LINK_WARN_MAX 24 /* warnings listed */

/* The outcome of the last handshake, for status. */
struct trust_last {
	bool set;
	int64_t at;
	bool ok;
	bool pending; /* made with the pending bundle */
	uint64_t version;
	struct trust_verdict v;
	size_t npins; /* pins of the verified chain's certificates */
	char pins[TRUST_CHAIN_MAX][TRUST_PIN_LEN + 1];
};

struct trust_link {
	uv_timer_t tick;
	struct trust_store *store;
	char **hosts; /* NULL-ended */
	char *synced_file;
	int64_t build_time;
	struct trust_link_cbs cbs;

	bool verified;	   /* a handshake of the try under way verified */
	bool with_pending; /* ... with the pending bundle */
	bool connected;	   /* CONNACK seen, link not lost since */
	enum trust_mode link_mode; /* how the running link was verified */
	struct trust_last last;
	int64_t last_good_at;	      /* when last-good was written */
	struct fs_job *last_good_job; /* <dir>/last-good, off the loop */
	uint64_t dropped_version; /* the last bundle dropped after its tries */
	char *health;		  /* the last health, serialised */
	char *report;		  /* the last report, serialised */
	uint64_t reported_at;	  /* uv_now of the last health callback */
};

/* trust_link.c: the policy of a handshake now; *pending: with the
 * pending bundle. */
void trust_link_policy(const struct trust_link *t, struct trust_policy *p,
		       bool *pending);

#endif
