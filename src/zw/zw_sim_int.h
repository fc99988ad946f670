/* SPDX-License-Identifier: MIT */
/*
 * zw_sim_int.h: what the files of the sim backend share (zw_sim.c says
 * which file does what).  Not for use outside src/zw/zw_sim*.
 */
#ifndef ZWGATE_ZW_SIM_INT_H
#define ZWGATE_ZW_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "value.h"
#include "zw.h"

struct sim_tvalue;

#define SIM_FILE_MAX	     (1024 * 1024) /* bytes of the network file */
#define SIM_VALUES_MAX	     256	   /* values of one node */
#define SIM_PENDING_MAX	     1024	   /* reports waiting for their delay */
#define SIM_DELAY_MAX_MS     60000
#define SIM_DELAY_DEFAULT_MS 50
#define SIM_TEXT_MAX	     64 /* bytes of a name, location, ... */
#define SIM_PRECISION_MAX    6
#define SIM_ENDPOINT_MAX     127
#define SIM_ERR_MAX	     256
#define SIM_PATH_MAX	     128 /* "thermostat_setpoint/0/heating" and longer */
#define SIM_STREAM_COUNT_MAX 10000000 /* reports of one stream */
#define SIM_STREAM_RATE_MAX  1000000  /* reports per second; 0: flat out */
#define SIM_STREAM_BATCH     64	      /* reports per loop turn, at most */
#define SIM_STREAM_TICK_MS   1
/* Ages of stamps written back: exact below SIM_HIST_EXACT us, then 32
 * buckets per power of two (3 % wide); from 2^SIM_HIST_TOP_BIT us (12
 * days) on, clamped. */
#define SIM_HIST_EXACT	  64
#define SIM_HIST_SUB_BITS 5
#define SIM_HIST_TOP_BIT  40
#define SIM_HIST_BUCKETS \
	(SIM_HIST_EXACT + (SIM_HIST_TOP_BIT - 6) * (1 << SIM_HIST_SUB_BITS))

#define SIM_DEFAULT_CONTROLLER "Simulated controller"
#define SIM_MANUFACTURER       "zwgate sim"

#define SIM_TEMPLATE_VALUES_MAX 4

struct sim_template {
	const char *name, *product;
	/* Switching off also reports meter power 0 (see sim_power_follows). */
	bool power_follows_switch;
	const struct sim_tvalue *values[SIM_TEMPLATE_VALUES_MAX + 1];
};

struct sim_value {
	struct value_meta meta;
	struct value val; /* owned; meaningful when has_val */
	bool has_val;
	bool listed; /* named in the file's "values" (while parsing) */
};

struct sim_node {
	uint16_t id;
	bool dead;
	bool removed;	 /* out of the network, freed when no call is running */
	uint64_t serial; /* tells a re-added node from the one removed */
	char *name, *location, *manufacturer, *product;
	const struct sim_template *tmpl; /* NULL: described value by value */
	size_t nvalues;
	struct sim_value *values;
	struct sim_node *next_zombie;
};

enum sim_report_kind {
	SIM_REP_VALUE,	 /* key takes val */
	SIM_REP_BUTTON,	 /* key was pressed */
	SIM_REP_REFRESH, /* key.node reports everything */
	SIM_REP_HEAL,
};

struct sim_report {
	enum sim_report_kind kind;
	uint64_t due, serial;
	struct value_key key;
	struct value val; /* owned */
};

struct sim_net {
	char *controller;
	uint64_t delay_ms;
	struct sim_node *nodes[ZW_NODE_MAX + 1];
};

/* A benchmark's stream of stamped reports (op "stream"). */
struct sim_stream {
	bool running, event;
	uint16_t node;
	uint64_t serial;
	struct value_key key; /* a value stream: the value */
	size_t kind;	      /* an event stream: in sim_event_kinds */
	uint64_t count, sent, rate;
	uint64_t t0_us, t_end_us; /* CLOCK_MONOTONIC: start, last report */
	int64_t first_stamp, last_stamp;
	char stopped[SIM_ERR_MAX]; /* why it ended early, or "" */
};

/* Ages of the stamps written to any node since the stream started. */
struct sim_hist {
	uint64_t n, sum, max;
	uint64_t b[SIM_HIST_BUCKETS];
};

struct zw_sim {
	struct zw base;
	uv_loop_t *loop;
	zw_event_fn cb;
	void *ctx;
	struct sim_net net;
	uint64_t serial;
	uv_timer_t start, timer;
	int handles;
	bool started, closing;
	unsigned depth; /* our calls on the stack, callbacks may nest */
	struct sim_node *zombies;
	struct sim_report *queue; /* ring: qlen from qhead, qcap slots */
	size_t qhead, qlen, qcap;
	struct sim_stream stream;
	struct sim_hist *hist; /* from the first stream on */
	uv_timer_t stream_tick;
	uv_idle_t stream_send;
};

/* Kinds of injected events and streams ("scene", ...), in zw_sim_inject.c. */
struct sim_event_kind {
	const char *kind;
	uint8_t cc;
};
#define SIM_NEVENT_KINDS 3
extern const struct sim_event_kind sim_event_kinds[SIM_NEVENT_KINDS];

/* zw_sim_parse.c */
struct sim_node *sim_node_free(struct sim_node *n);
struct sim_value *sim_value_lookup(struct sim_node *n, uint8_t cc,
				   uint8_t endpoint, const char *property);
bool sim_val_ok(const struct value_meta *meta, const struct value *val);
int sim_node_parse(const json_t *j, const char *where, struct sim_node **ret,
		   char *err, size_t errlen);
int sim_net_check(const struct sim_net *net, const struct sim_node *n,
		  char *err, size_t errlen);
void sim_net_clear(struct sim_net *net);
int sim_net_parse(const json_t *root, struct sim_net *net, char *err,
		  size_t errlen);

/* zw_sim_json.c */
int sim_check_keys(const json_t *obj, const char *const *keys, char *err,
		   size_t errlen);
int sim_str(const json_t *obj, const char *key, size_t max, const char **ret,
	    char *err, size_t errlen);
int sim_bool(const json_t *obj, const char *key, bool *val, char *err,
	     size_t errlen);
int sim_int(const json_t *obj, const char *key, json_int_t min, json_int_t max,
	    json_int_t *val, char *err, size_t errlen);
int sim_errno(int r, char *err, size_t errlen);
int sim_read(const char *path, json_t **ret, char *err, size_t errlen);
__attribute__((format(printf, 3, 4))) int sim_fail(char *err, size_t errlen,
						   const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void sim_prefix(char *err, size_t errlen,
						      const char *fmt, ...);

/* zw_sim.c */
void sim_enter(struct zw_sim *z);
void sim_leave(struct zw_sim *z);
void sim_emit(struct zw_sim *z, const struct zw_event *ev);
void sim_emit_value(struct zw_sim *z, enum zw_event_type type,
		    const struct sim_value *v);
void sim_emit_status(struct zw_sim *z, const struct sim_node *n);
void sim_announce(struct zw_sim *z, struct sim_node *n);
struct sim_node *sim_node(struct zw_sim *z, unsigned id);

/* zw_sim_stream.c */
void sim_note_write(struct zw_sim *z, const struct value *val);
int sim_op_stream(struct zw_sim *z, const json_t *req, bool event, json_t **ret,
		  char *err, size_t errlen);
int sim_op_stats(struct zw_sim *z, json_t **ret, char *err, size_t errlen);

/* zw_sim_inject.c */
int sim_find_node(struct zw_sim *z, const json_t *req, struct sim_node **ret,
		  char *err, size_t errlen);
int sim_find_value(struct sim_node *n, const char *spec, struct sim_value **ret,
		   char *err, size_t errlen);
int sim_node_usable(const struct sim_node *n, char *err, size_t errlen);
size_t sim_event_kind(const char *kind);
int sim_inject(struct zw *zb, const json_t *req, json_t **ret, char *err,
	       size_t errlen);

#endif
