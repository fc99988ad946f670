/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_int.h: the zwavejs backend's parts.
 *
 * zw_zjs.c holds the connection to the Z-Wave JS server (zw_zjs_ws.c),
 * its handshake, the commands zwgate sends and their results;
 * zw_zjs_node.c turns the server's state and events into zw_events, and
 * keeps what the commands need of them (which zwave-js value a registry
 * key is); zw_zjs_map.c names the values (docs/VALUES.md).
 */
#ifndef ZWGATE_ZW_ZJS_INT_H
#define ZWGATE_ZW_ZJS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "wsurl.h"
#include "zw.h"
#include "zw_zjs_map.h"
#include "zw_zjs_ws.h"

/*
 * The server's API schema zwgate speaks: 47 gives "all nodes ready".  A
 * server whose range leaves it out is refused with the reason.
 */
#define ZJS_SCHEMA 47
/* The biggest message taken from the server: its whole state comes in
 * one (about 4 KB a node; a 232-node network fits with room). */
#define ZJS_MESSAGE_MAX (16u << 20)
/* The values taken of one node (real ones have tens; a hostile state
 * must not make the loop's work grow without bound). */
#define ZJS_NODE_VALUES_MAX 1024

/* A value zwgate shows: its registry meta and the zwave-js ids. */
struct zjs_value {
	struct value_meta meta;	  /* owns its enum items */
	struct zjs_states states; /* an enum's zwave-js numbers */
	struct zjs_vid read;	  /* what events name */
	struct zjs_vid write;	  /* what set_value writes */
};

struct zjs_node {
	bool known, ready;
	enum zw_node_status status;
	struct zjs_value *values;
	size_t nvalues, cap;
};

/* The include, exclude or heal under way, if any. */
struct zjs_cmd {
	const char *name; /* "include", "exclude", "heal"; NULL: none */
	bool cancelling, timed_out;
	bool found;	  /* include: a device answered; "node added" follows */
	bool stopped;	  /* the controller left the mode by itself */
	uv_timer_t timer; /* the include's or exclude's time limit */
};

/* The job on one node under way, if any (zw_zjs_job.c). */
struct zjs_job {
	const char *name; /* "health", "backup", "firmware"; NULL: none */
	unsigned long id; /* its command's messageId number */
	uint16_t node;
	bool aborting;	  /* asked the server to stop it */
	bool timed_out;	  /* ... because its time was up */
	unsigned shown;	  /* backup, firmware: the quarters said so far */
	uv_timer_t timer; /* its time limit, then the abort's grace */
};

struct zw_zjs {
	struct zw base;
	uv_loop_t *loop;
	zw_event_fn cb;
	void *ctx;
	struct wsurl url;
	struct zjs_ws *ws;
	bool listening;		 /* the state came: events are about it */
	bool all_ready;		 /* ZW_EV_ALL_QUERIED sent on this connection */
	bool failed_sent;	 /* ZW_EV_FAILED sent since the last READY */
	unsigned long ids;	 /* messageId counter */
	char driver_version[32]; /* zwave-js's, from the version message */
	struct zjs_node nodes[ZW_NODE_MAX + 1];
	struct zjs_cmd cmd;
	struct zjs_job job;
	unsigned handles;    /* timers still to close before the free */
	struct zw_s2 s2;     /* the include's S2 answers */
	bool pin_wanted;     /* the device waits for its PIN */
	const char *prov_op; /* the provisioning command under way */
	uint64_t prov_since; /* when it was sent (loop time, ms) */
};

/* How long "node added" or "node removed" may take to follow the
 * controller leaving inclusion or exclusion mode by itself. */
#define ZJS_STOPPED_GRACE_MS 15000
/* How long a found device may take to be added (its S2 setup, a PIN
 * typed by a person). */
#define ZJS_FOUND_MAX_MS 300000

/* zw_zjs.c */
void zjs_emit(struct zw_zjs *z, struct zw_event *ev);
void zjs_emit_command(struct zw_zjs *z, const char *cmd, uint16_t node,
		      int result, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The include, exclude or heal is over: forget it and its answers. */
void zjs_cmd_clear(struct zw_zjs *z);
/* Answer the device's PIN request with z->s2.pin. */
int zjs_send_pin(struct zw_zjs *z);
/* Send {"messageId":"<kind>-N","command":cmd, ...args}: 0 or -errno. */
int zjs_send(struct zw_zjs *z, const char *kind, const char *cmd, json_t *args);
/* The include's or exclude's timer: its time limit, or its grace after
 * the controller stopped (ZJS_STOPPED_GRACE_MS). */
void zjs_cmd_timeout(uv_timer_t *t);

/* "include: a device answered": the include may take ZJS_FOUND_MAX_MS
 * from now (a person may have to find the PIN). */
void zjs_emit_found(struct zw_zjs *z);
/* The same with text of any length, as it is. */
void zjs_emit_text(struct zw_zjs *z, const char *cmd, uint16_t node, int result,
		   const char *text);

/* zw_zjs_node.c */
/* "S2 Access Control, S0" of a ZW_SEC_* mask into buf ("none"). */
const char *zjs_classes(unsigned mask, char *buf, size_t len);
/* The start_listening result's state: every node and value. */
void zjs_node_state(struct zw_zjs *z, const json_t *state);
/* One event of the server ({"source":..,"event":..,...}). */
void zjs_node_event(struct zw_zjs *z, const json_t *ev);
/* The value behind a registry key, or NULL. */
const struct zjs_value *zjs_node_value(const struct zw_zjs *z,
				       const struct value_key *key);
/* The connection is gone: what was learnt stays, and is checked again
 * against the next state. */
void zjs_node_disconnected(struct zw_zjs *z);
/* Forget everything (close). */
void zjs_node_clear(struct zw_zjs *z);

/* zw_zjs_prov.c: SmartStart's provisioning list. */
bool zjs_dsk_valid(const char *s);
bool zjs_qr_valid(const char *s);
int zjs_provision(struct zw *base, const char *op, const char *code,
		  unsigned grant);
/* The server's answer to the provisioning command (m: the result). */
void zjs_provision_result(struct zw_zjs *z, bool ok, const json_t *m);

/* zw_zjs_job.c: the health check of a node, the controller's backup. */
int zjs_health(struct zw *base, uint16_t node, unsigned rounds,
	       unsigned timeout_s);
int zjs_backup(struct zw *base, unsigned timeout_s);
/* The job whose command zjs_send has just sent, with its time limit. */
void zjs_job_start(struct zw_zjs *z, const char *name, uint16_t node,
		   unsigned timeout_s);
/* The job ends (result: 1 done, -errno failed); the API hears why. */
void zjs_job_end(struct zw_zjs *z, int result, const char *why);
/* The server refused the job's command (m: its result): it ends, -EIO,
 * with "what: " and the server's reason. */
void zjs_job_refused(struct zw_zjs *z, const json_t *m, const char *what);
/* Ask the server to stop the job: -ENOENT when there is none, -EBUSY for
 * a backup (it cannot be stopped). */
int zjs_job_abort(struct zw_zjs *z);
void zjs_job_clear(struct zw_zjs *z);
/* A node event that may be the job's progress. */
void zjs_job_event(struct zw_zjs *z, const char *name, uint16_t node,
		   const json_t *ev);
/* The server's answer to the job's command (m: the result). */
void zjs_job_result(struct zw_zjs *z, bool ok, const json_t *m,
		    unsigned long id);
/* The connection is gone, and the job with it. */
void zjs_job_gone(struct zw_zjs *z);

/* zw_zjs_fw.c: a device's firmware update, a job. */
int zjs_firmware(struct zw *base, uint16_t node, const struct zw_firmware *fw,
		 unsigned timeout_s);
/* "firmware update progress" of the job's node. */
void zjs_fw_progress(struct zw_zjs *z, const json_t *ev);
/* The server's answer to node.update_firmware (m: the result). */
void zjs_fw_result(struct zw_zjs *z, bool ok, const json_t *m);

#endif
