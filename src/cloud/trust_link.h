/* SPDX-License-Identifier: MIT */
/*
 * trust_link.h: the trust modules (trust.h) at work on the cloud link.
 *
 * - Every TLS handshake's chain decision (tls_opts.verify) uses the
 *   bundle trust_store_current() names, under the unknown-clock policy.
 * - The outcome of a connection with a pending bundle commits it (TLS and
 *   CONNACK) or counts a failed try (the third drops it).
 * - A timer watches the clock: when it becomes trusted while the link was
 *   verified without time checks, the link is made again and verified in
 *   full; the last-good time is persisted while fully verified links run.
 * - Bundles offered (control socket, MQTT) go to the store; an accepted
 *   one makes the link try it at once.
 * Logs what it does (it is daemon-side).
 */
#ifndef ZWGATE_TRUST_LINK_H
#define ZWGATE_TRUST_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <uv.h>

/* How often the clock and the alarms are looked at. */
#define TRUST_LINK_TICK_MS 5000
/* How often the last-good time is written while a verified link runs. */
#define TRUST_LINK_LAST_GOOD_S 3600
#define TRUST_LINK_WHY_MAX     512 /* a refusal in words */
/* How often the report (P/trust) is made again while the link is up,
 * unchanged, so that its time says the gateway was seen lately. */
#define TRUST_LINK_REPORT_S	 86400
#define TRUST_TIMESYNC_FLAG_FILE "/run/systemd/timesync/synchronized"

struct trust_link_opts {
	/* Broker names, NULL-ended: bundles must cover every one. */
	const char *const *hosts;
	const char *bundle_path; /* the factory bundle */
	const char *state_dir;	 /* <state-dir>; trust/ goes under it */
	const char *synced_file; /* NULL: TRUST_TIMESYNC_FLAG_FILE or
				  * adjtimex; else this file only */
	int64_t build_time;	 /* a floor of the clock */
};

struct trust_link_cbs {
	/* Make the link again now (a bundle to try, the clock trusted). */
	void (*reconnect)(void *ctx, const char *why);
	/* The health (trust_link_health_json) or the report
	 * (trust_link_report_json) changed, or the report is due again. */
	void (*health)(void *ctx);
	void *ctx;
};

struct trust_link;

/* 0, or -errno with a sentence in err (the bundle file, the store). */
int trust_link_open(uv_loop_t *loop, const struct trust_link_opts *o,
		    const struct trust_link_cbs *cbs, struct trust_link **ret,
		    char *err, size_t errlen);
/* Stop the timer and free (once the timer handle is closed).  NULL ok. */
void trust_link_close(struct trust_link *t);

/* For tls_opts.verify: arg is the trust_link. */
int trust_link_verify(X509_STORE_CTX *ctx, void *arg);

/* What became of the connection after its handshake. */
void trust_link_connected(struct trust_link *t);
void trust_link_failed(struct trust_link *t, const char *why);
void trust_link_disconnected(struct trust_link *t);

/*
 * A bundle offered (bytes as received).  0 with *result (a new
 * {"version":N,"pending":true,"slot":"a"|"b"}) or -errno with why.
 * replay: the bundle comes back at every connect (the fleet's retained
 * one), so one that is no news (-ESTALE: not above the floor, or
 * dropped; -EALREADY: pending) is not worth a warning in the log.
 */
int trust_link_offer(struct trust_link *t, const void *buf, size_t len,
		     bool replay, json_t **result, char *why, size_t whylen);

/* The TRUST STATUS object of zwgate/control.h; NULL: ENOMEM. */
json_t *trust_link_status_json(struct trust_link *t);
/* {"trust":"ok"|"alarm","mode":..,"alarms":[..],"version":N} */
json_t *trust_link_health_json(struct trust_link *t);
/* The public report of trust_report.h. */
json_t *trust_link_report_json(struct trust_link *t);
/* "cannot write slot-b.bundle: No space left on device" while the last
 * write of the trust state failed, else NULL. */
json_t *trust_link_store_error(const struct trust_link *t);

#endif
