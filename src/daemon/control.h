/* SPDX-License-Identifier: MIT */
/*
 * control.h: the control socket server (protocol in zwgate/control.h).
 *
 * Owns the listening socket and its clients: peer check with SO_PEERCRED
 * (root, the daemon's own uid, or a member of the configured group),
 * line framing with a size limit, a client limit and an idle timeout.
 * What a request means is the handler's business (api.c).  A client that
 * breaks a rule gets an error reply and is closed; the daemon goes on.
 */
#ifndef ZWGATE_CONTROL_H
#define ZWGATE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

struct control;
struct control_client;

/* Called for each well-formed request object (borrowed). */
typedef void (*control_request_fn)(void *ctx, struct control_client *cl,
				   json_t *req);

struct control_opts {
	unsigned max_clients;	 /* at most ZWCTL_CLIENTS_MAX */
	unsigned idle_timeout_s; /* close a client silent this long */
	gid_t group;		 /* allowed group; (gid_t)-1: none */
	control_request_fn on_request;
	void *ctx;
};

/*
 * Listen on path (a stale socket file there is replaced; a live one is
 * -EADDRINUSE).  The socket file gets mode 0660.  0 or -errno.
 */
int control_start(uv_loop_t *loop, const char *path,
		  const struct control_opts *opts, struct control **ret);
/* Close the socket and every client, unlink the socket file; NULL ok. */
void control_stop(struct control *c);
/* New limits from a reloaded config; existing clients stay. */
void control_set_opts(struct control *c, const struct control_opts *opts);
unsigned control_client_count(const struct control *c);

/*
 * Send one message (a JSON object, borrowed) as a line.  A no-op on a
 * client that has gone away.  0 or -errno.
 */
int control_client_send(struct control_client *cl, const json_t *msg);
/* Keep a client's memory alive while a reply is pending. */
struct control_client *control_client_ref(struct control_client *cl);
void control_client_unref(struct control_client *cl);
bool control_client_alive(const struct control_client *cl);
uid_t control_client_uid(const struct control_client *cl);

/*
 * Whether a peer (SO_PEERCRED uid and primary gid, SO_PEERGROUPS groups)
 * may use the socket of a daemon running as self: root, self, or a
 * member of group ((gid_t)-1: no group).  Pure, for the tests.
 */
bool control_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups,
			  size_t ngroups, uid_t self, gid_t group);

#endif
