/* SPDX-License-Identifier: MIT */
/*
 * daemon.h: zwgated's state and lifecycle: config, registry, backend,
 * control socket, signals, systemd notification.  One libuv loop, one
 * thread; everything here is touched only from the loop.
 */
#ifndef ZWGATE_DAEMON_H
#define ZWGATE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "conf.h"
#include "diag.h"

struct api;
struct bridge_ops;
struct daemon;
struct registry;

struct daemon_opts {
	const char *config_path;
	const char *state_dir;
	const char *runtime_dir;
	bool debug; /* -d: log level debug, whatever the config says */
};

/* Wall-clock time in ms since the epoch. */
uint64_t daemon_wall_ms(void);

/* An empty daemon for daemon_start.  NULL: no memory. */
struct daemon *daemon_new(void);

/*
 * Load the config, open the state and runtime directories, the registry,
 * the backend and the control socket; install signal handlers.  Logs
 * what went wrong and returns -errno; on failure call daemon_stop and
 * run the loop to release what was opened.
 */
int daemon_start(struct daemon *d, uv_loop_t *loop,
		 const struct daemon_opts *opts);

/*
 * Re-read the config.  When it has an error, keep the running one: the
 * errors are in diags and -EINVAL is returned.  0 on success.
 */
int daemon_reload(struct daemon *d, struct diag_list *diags);

/* Begin a clean stop: close every handle (the loop then ends). */
void daemon_stop(struct daemon *d);
/* Free d and what is left after the loop has ended.  NULL ok. */
void daemon_free(struct daemon *d);

/* Recompute the one-line state; sends STATUS= when it changed. */
void daemon_update_status(struct daemon *d);

/*
 * For the fuzz harnesses, which drive parts of a whole daemon: its
 * registry, its API, its control socket's path, and the ops it gives the
 * cloud's bridge.
 */
struct registry *daemon_registry(const struct daemon *d);
struct api *daemon_api(const struct daemon *d);
const char *daemon_socket_path(const struct daemon *d);
void daemon_bridge_ops(struct daemon *d, struct bridge_ops *ret);

#endif
