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

struct registry;
struct zw;
struct control;
struct cloud;
struct api_call;
struct automation;

struct daemon_opts {
	const char *config_path;
	const char *state_dir;
	const char *runtime_dir;
	bool debug; /* -d: log level debug, whatever the config says */
};

struct daemon {
	uv_loop_t *loop;
	struct daemon_opts opts;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct control *control;
	struct cloud *cloud;	       /* NULL without a cloud block */
	struct automation *automation; /* the rules engine */
	char *socket_path;
	char *names_path;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog;
	uint64_t watchdog_usec; /* 0: systemd watchdog off */
	uint64_t start_ms;	/* uv_now() at start */
	char status_line[256];	/* last STATUS= sent */
	struct api_call *calls; /* pending API requests */
	bool stopping;
};

/* Wall-clock time in ms since the epoch. */
uint64_t daemon_wall_ms(void);

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
/* Free what is left after the loop has ended. */
void daemon_free(struct daemon *d);

/* Recompute the one-line state; sends STATUS= when it changed. */
void daemon_update_status(struct daemon *d);

#endif
