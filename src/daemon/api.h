/* SPDX-License-Identifier: MIT */
/*
 * api.h: the gateway's commands (status, nodes, node, get, set, rename,
 * reload, log-level, sim, include, exclude, cancel, heal, refresh,
 * config-set, rules, scenes, trust), independent of where a request came
 * from: the control socket and the cloud's P/api/<command> both use them.
 *
 * A request is a JSON object {"id": .., "cmd": "..", args...}; the answer
 * is one reply object as described in zwgate/control.h, handed to the
 * caller's reply function either before api_request returns or later (a
 * "set" that waits for the device's confirmation, an include).  The API
 * keeps the requests that wait; api_shutdown answers them.
 */
#ifndef ZWGATE_API_H
#define ZWGATE_API_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

struct api;
struct automation;
struct cloud;
struct conf;
struct diag_list;
struct registry;
struct zw;

/*
 * What the API works on.  The getters are asked at each request: the
 * backend, the cloud and the rules engine come and go with the daemon,
 * and a reload swaps the config.
 */
struct api_deps {
	uv_loop_t *loop;
	struct registry *reg;
	const char *config_path; /* named when a reload fails */
	const char *names_path;	 /* where "rename" saves the names */
	void *ctx;		 /* for the functions below */
	const struct conf *(*conf)(void *ctx);
	struct zw *(*zw)(void *ctx);		     /* NULL: none */
	struct cloud *(*cloud)(void *ctx);	     /* NULL: no cloud block */
	struct automation *(*automation)(void *ctx); /* NULL: none */
	/* Re-read the config: 0, or -errno with the errors in diags. */
	int (*reload)(void *ctx, struct diag_list *diags);
	/* How long a firmware upload lives without a chunk; 0: 60 s. */
	unsigned upload_idle_ms;
};

/* Follow deps->reg (copied: it must outlive the API).  0 or -errno. */
int api_new(const struct api_deps *deps, struct api **ret);
/*
 * Answer every pending request (as cancelled) and stop following the
 * registry; requests from now on are answered ECANCELED.
 */
void api_shutdown(struct api *a);
/* After api_shutdown.  NULL ok. */
void api_free(struct api *a);
/* Requests waiting for their reply. */
size_t api_pending(const struct api *a);

/* Receives the reply (borrowed: serialize or copy it).  Called once. */
typedef void (*api_reply_fn)(void *ctx, const json_t *reply);

/* Handle req (borrowed).  reply is called exactly once, maybe at once. */
void api_request(struct api *a, const json_t *req, api_reply_fn reply,
		 void *ctx);

/*
 * Receives {"id": .., "progress": {..}} (borrowed) of a request still
 * running (include, exclude), any number of times before its reply.
 */
typedef void (*api_progress_fn)(void *ctx, const json_t *msg);
/* api_request with progress messages; progress may be NULL. */
void api_request_progress(struct api *a, const json_t *req, api_reply_fn reply,
			  api_progress_fn progress, void *ctx);

/* {"id":id,"ok":false,"code":"ENOENT","error":msg}: a new reference. */
json_t *api_error_reply(const json_t *id, int err, const char *msg);
/* "ENOENT" for -ENOENT, ...; "EIO" for what it does not know. */
const char *api_errno_name(int err);

#endif
