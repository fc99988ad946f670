/* SPDX-License-Identifier: MIT */
/*
 * ctl_fleet_int.h: the parts of `zwgatectl fleet` (ctl_fleet.c the
 * commands, ctl_fleet_mqtt.c the broker, ctl_fleet_gw.c what the
 * gateways said).  Not for other modules.
 */
#ifndef ZWGATE_CTL_FLEET_INT_H
#define ZWGATE_CTL_FLEET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FLEET_BROKERS_MAX 8
#define FLEET_ID_MAX	  64

/* How to reach the broker(s), as mosquitto_sub takes it. */
struct fleet_opts {
	const char *hosts[FLEET_BROKERS_MAX]; /* -h, repeatable */
	size_t nhosts;
	/* --connect-to, repeatable: the address to dial for each -h */
	const char *connect_to[FLEET_BROKERS_MAX];
	size_t nconnect;
	unsigned port;	    /* -p, default 8883 */
	const char *cafile; /* --cafile, required */
	const char *cert;   /* --cert and --key: mutual TLS, or neither */
	const char *key;
	const char *prefix; /* --prefix, default "zwgate" */
	unsigned wait_ms;   /* --wait: longest wait for retained messages */
	bool json;
};

/*
 * A message received: broker is the -h it came from.  Return false to
 * stop listening early.
 */
typedef void (*fleet_msg_fn)(void *ctx, const char *broker, const char *topic,
			     const void *payload, size_t len);

/*
 * Connect to host, subscribe to the filters (QoS 1), and hand every
 * message to fn until none came for a while after the last SUBACK (the
 * retained ones come at once), or o->wait_ms passed.  0, or -1 with a
 * sentence in err.
 */
int fleet_collect(const struct fleet_opts *o, const char *host,
		  const char *const *filters, size_t nfilters, fleet_msg_fn fn,
		  void *ctx, char *err, size_t errlen);

/* Publish payload retained with QoS 1 on host and wait for its PUBACK;
 * an empty payload clears what is retained.  0, or -1 with err. */
int fleet_publish(const struct fleet_opts *o, const char *host,
		  const char *topic, const void *payload, size_t len, char *err,
		  size_t errlen);

/* What one gateway said: its newest P/trust across the brokers, and its
 * P/status on the broker that had it. */
struct fleet_gw {
	char id[FLEET_ID_MAX + 1];
	char status[16];    /* "online", "offline", "" (none seen) */
	json_t *report;	    /* P/trust, or NULL */
	int64_t ts;	    /* the report's ts, ms; 0 without one */
	const char *broker; /* where the report came from */
	char seen_status[FLEET_BROKERS_MAX][16]; /* by broker index */
};

struct fleet {
	struct fleet_opts o;
	struct fleet_gw *gw;
	size_t n, cap;
	const char *const *ids; /* asked for by name, or NULL: everyone */
	size_t nids;
	size_t broker; /* index of the broker being read */
	unsigned bad;  /* reports that were not JSON objects */
	size_t failed; /* brokers that could not be read (said) */
};

/* ctl_fleet_gw.c: read every broker into f (0, or -1 with err). */
int fleet_read(struct fleet *f, char *err, size_t errlen);
void fleet_free(struct fleet *f);
/* The fields of a report, or 0 / NULL. */
int64_t fleet_active_version(const struct fleet_gw *g);
int64_t fleet_pending_version(const struct fleet_gw *g);
size_t fleet_alarms(const struct fleet_gw *g);

#endif
