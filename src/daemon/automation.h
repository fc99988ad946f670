/* SPDX-License-Identifier: MIT */
/*
 * automation.h: the rules engine (rules.h) on zwgated's loop.  One timer
 * for the engine's next deadline, a timerfd that reports wall-clock jumps,
 * the registry followed as a listener, actions sent to the backend, the
 * cloud's outbox and the journal; enabled/disabled rules kept in
 * <state-dir>/rules.json.  Told of the cloud link's state by its owner
 * (automation_cloud).  Daemon-side: logs what goes wrong.
 */
#ifndef ZWGATE_AUTOMATION_H
#define ZWGATE_AUTOMATION_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

struct conf;
struct registry;
struct zw;
struct diag_list;
struct automation;

#define AUTOMATION_STATE_FILE "rules.json"
#define AUTOMATION_POLL_MS    2000 /* clock trust */

/* What the rules act on. */
struct automation_deps {
	uv_loop_t *loop;
	struct registry *reg;  /* followed; must outlive the automation */
	const char *state_dir; /* where rules.json is kept */
	void *ctx;	       /* for the functions below */
	/* The backend values are set through; NULL: none (-ECANCELED). */
	struct zw *(*zw)(void *ctx);
	/* A rule's publish: topic under <topic-prefix>/<gateway-id>/,
	 * queued when offline.  0 or -errno (-ENOTCONN: no cloud). */
	int (*publish)(void *ctx, const char *topic, const char *payload);
};

/*
 * The rules of c, acting through deps (copied).  After the registry, the
 * backend and the cloud.  0 or -errno, logged; on failure *ret may still
 * be set, for automation_stop.
 */
int automation_start(const struct automation_deps *deps, const struct conf *c,
		     struct automation **ret);
/* The cloud link went up (true) or down: rules on "cloud" fire. */
void automation_cloud(struct automation *a, bool connected);
/*
 * The rules of c (the config being swapped in) replace the running ones,
 * keeping enabled flags and history by rule name.  Call before the old
 * config is freed.  0 or -ENOMEM (the old rules then go on).
 */
int automation_reload(struct automation *a, struct conf *c);
/* Warnings in diags for names in c's rules the network does not know. */
void automation_check(struct automation *a, const struct conf *c,
		      struct diag_list *diags);
/* Close the handles; freed once the loop has closed them.  NULL ok. */
void automation_stop(struct automation *a);

/* For the API: -ENOENT for an unknown name. */
json_t *automation_rules_json(struct automation *a);
json_t *automation_rule_json(struct automation *a, const char *name);
int automation_run(struct automation *a, const char *name);
int automation_scene(struct automation *a, const char *name);
/*
 * Enable or disable a rule: 0, then saved(ctx, result) once rules.json
 * holds it (0), or its write failed (-errno; the change undone, see
 * automation.c), or the automation stopped first (-ECANCELED); or
 * -ENOENT, -ENOMEM at once (nothing changed, saved is not called).
 */
typedef void (*automation_saved_fn)(void *ctx, int result);
int automation_enable(struct automation *a, const char *name, bool on,
		      automation_saved_fn saved, void *ctx);

#endif
