/* SPDX-License-Identifier: MIT */
/*
 * api_int.h: what api.c (requests, pending calls, replies) shares with
 * the files of its commands: api_nodes.c (nodes and values),
 * api_network.c (the controller's commands and the simulator) and
 * api_admin.c (config, log level, rules, trust).
 */
#ifndef ZWGATE_API_INT_H
#define ZWGATE_API_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "registry.h"
#include "state_save.h"

#define API_ERR_MAX 512

struct api {
	struct api_deps deps;
	uint64_t start_ms;	   /* uv_now() when made: the uptime's start */
	struct api_call *calls;	   /* pending requests */
	struct state_save *names;  /* names.json, written off the loop */
	struct api_upload *upload; /* the firmware image coming in, if any */
	unsigned upload_ids;
	bool stopping;
};

/*
 * One request in flight.  Most complete before api_request returns; a
 * "set" that waits for the device stays on a->calls with a timer until
 * the registry reports the value or the timer gives up.  A "rename"
 * waits on a->calls (and a->names) until names.json holds it; a rule
 * enabled or disabled waits off the list, on the automation, which
 * answers it once rules.json holds it, or when it stops.
 */
struct api_call {
	struct api *a;
	json_t *id;
	api_reply_fn reply;
	api_progress_fn progress; /* may be NULL */
	void *ctx;
	char err[API_ERR_MAX];
	json_t *details; /* array of strings, or NULL */
	/* pending "set" */
	struct value_key key;
	/* pending "include" or "exclude": its name, when it ends */
	const char *command;
	uint64_t command_end_ms;
	bool starting; /* hears its progress before the backend is asked */
	uv_timer_t timer;
	/* pending "rename": waits for names.json to hold it */
	struct state_save_wait save;
	unsigned rename_id;
	char *rename_old, *rename_new; /* user names; NULL: none */
	json_t *saved_result;	       /* the answer once saved */
	/* pending "rules-enable", "rules-disable": the rule's name */
	char *rule_name;
	bool rule_on;
	struct api_call *next;
};

/* Off the list of waiting calls again (its command was refused). */
void api_call_unwait(struct api_call *c);

/* 0: *result is the answer; API_PENDING: the call completes later. */
#define API_PENDING 1

typedef int (*api_fn)(struct api_call *c, const json_t *req, json_t **result);

/* The reason into c->err; returns err. */
__attribute__((format(printf, 3, 4))) int api_fail(struct api_call *c, int err,
						   const char *fmt, ...);
/* Reply once, then free the call (after its timer closed, if it had one). */
void api_call_finish(struct api_call *c, json_t *result, int err);
/* The call waits: on a->calls until it finishes. */
void api_call_wait(struct api_call *c);
/* The string argument key of req, or NULL. */
const char *api_arg_str(const json_t *req, const char *key);

/* The running parts, asked of the daemon at each use. */
const struct conf *api_conf(const struct api *a);
struct zw *api_zw(const struct api *a);
struct cloud *api_cloud(const struct api *a);
struct automation *api_automation(const struct api *a);

/* api_nodes.c */
int api_find_node(struct api_call *c, const json_t *req,
		  struct registry_node **ret);
/* A refused "set" (refresh, config-set) in words. */
int api_set_error(struct api_call *c, int r, const struct registry_node *n);
/* The answer of a "set": a new reference. */
json_t *api_set_result(const struct registry_value *v, bool confirmed);
int api_status(struct api_call *c, const json_t *req, json_t **res);
int api_nodes(struct api_call *c, const json_t *req, json_t **res);
int api_node(struct api_call *c, const json_t *req, json_t **res);
int api_get(struct api_call *c, const json_t *req, json_t **res);
int api_set(struct api_call *c, const json_t *req, json_t **res);
int api_rename(struct api_call *c, const json_t *req, json_t **res);
int api_config_set(struct api_call *c, const json_t *req, json_t **res);
/* a->names' writes completed: answer the renames that waited for them. */
void api_names_saved(void *ctx, struct state_save_wait *list, int result);

/* api_network.c */
/* A controller command's refusal in words. */
int api_command_error(struct api_call *c, int r, const char *what);
/* The call hears cmd's progress before the backend is asked; then
 * api_command_wait (API_PENDING: the backend's end answers it, or
 * timeout_s and a grace) or api_command_refused (returns r). */
void api_command_listen(struct api_call *c, const char *cmd);
int api_command_wait(struct api_call *c, const char *cmd, unsigned timeout_s);
int api_command_refused(struct api_call *c, int r);
int api_sim(struct api_call *c, const json_t *req, json_t **res);
int api_include(struct api_call *c, const json_t *req, json_t **res);
int api_include_pin(struct api_call *c, const json_t *req, json_t **res);
int api_provision(struct api_call *c, const json_t *req, json_t **res);
int api_exclude(struct api_call *c, const json_t *req, json_t **res);
int api_cancel(struct api_call *c, const json_t *req, json_t **res);
int api_heal(struct api_call *c, const json_t *req, json_t **res);
int api_refresh(struct api_call *c, const json_t *req, json_t **res);
int api_health(struct api_call *c, const json_t *req, json_t **res);
int api_backup(struct api_call *c, const json_t *req, json_t **res);
/* A pending include or exclude hears of its command. */
void api_command_event(struct api *a, const struct zw_event *ev);

/* api_firmware.c: a device's firmware, uploaded in chunks, then sent. */
int api_firmware_upload(struct api_call *c, const json_t *req, json_t **res);
int api_firmware_update(struct api_call *c, const json_t *req, json_t **res);
/* Drop the upload under way, if any (zwgated stops). */
void api_upload_drop(struct api *a);

/* api_admin.c */
int api_reload(struct api_call *c, const json_t *req, json_t **res);
int api_log_level(struct api_call *c, const json_t *req, json_t **res);
int api_rules(struct api_call *c, const json_t *req, json_t **res);
int api_rules_show(struct api_call *c, const json_t *req, json_t **res);
int api_rules_run(struct api_call *c, const json_t *req, json_t **res);
int api_rules_enable(struct api_call *c, const json_t *req, json_t **res);
int api_scene_run(struct api_call *c, const json_t *req, json_t **res);
int api_trust_import(struct api_call *c, const json_t *req, json_t **res);
int api_trust_status(struct api_call *c, const json_t *req, json_t **res);

#endif
