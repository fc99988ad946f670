/* SPDX-License-Identifier: MIT */
/*
 * api.h: the gateway's commands (status, nodes, node, get, set, rename,
 * reload, log-level, sim, include, exclude, cancel, heal, refresh,
 * config-set), independent of where a request came from.  The control
 * socket uses them now; the cloud's P/api/<command> will too.
 *
 * A request is a JSON object {"id": .., "cmd": "..", args...}; the answer
 * is one reply object as described in zwgate/control.h, handed to the
 * caller's reply function either before api_request returns or later (a
 * "set" that waits for the device's confirmation, an include).
 */
#ifndef ZWGATE_API_H
#define ZWGATE_API_H

#include <jansson.h>

struct daemon;

/* Receives the reply (borrowed: serialize or copy it).  Called once. */
typedef void (*api_reply_fn)(void *ctx, const json_t *reply);

/* Handle req (borrowed).  reply is called exactly once, maybe at once. */
void api_request(struct daemon *d, const json_t *req, api_reply_fn reply,
		 void *ctx);

/*
 * Receives {"id": .., "progress": {..}} (borrowed) of a request still
 * running (include, exclude), any number of times before its reply.
 */
typedef void (*api_progress_fn)(void *ctx, const json_t *msg);
/* api_request with progress messages; progress may be NULL. */
void api_request_progress(struct daemon *d, const json_t *req,
			  api_reply_fn reply, api_progress_fn progress,
			  void *ctx);

/* Start/stop the part of the API that follows the registry. */
int api_init(struct daemon *d);
/* Answer every pending request (as cancelled) and free it. */
void api_shutdown(struct daemon *d);

/* {"id":id,"ok":false,"code":"ENOENT","error":msg}: a new reference. */
json_t *api_error_reply(const json_t *id, int err, const char *msg);
/* "ENOENT" for -ENOENT, ...; "EIO" for what it does not know. */
const char *api_errno_name(int err);

#endif
