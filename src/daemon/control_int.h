/* SPDX-License-Identifier: MIT */
/*
 * control_int.h: what the files of the control socket server share
 * (control.c the listening socket, control_io.c a client's lines and
 * replies, control_admit.c who gets in and for how long).
 *
 * A client's memory has two kinds of owner: the server, from accept to
 * the handle's close callback, and whoever still owes it a reply
 * (control_client_ref).  It goes when both are done, so a late reply to
 * a client that left meets a closed client (-EPIPE), never freed memory.
 */
#ifndef ZWGATE_CONTROL_INT_H
#define ZWGATE_CONTROL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "control.h"

#define CONTROL_GROUP_NAME_MAX 64

struct control {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	uv_timer_t sweep;
	char *path;
	dev_t dev; /* of our socket file: stop unlinks only that one */
	ino_t ino;
	struct control_opts opts;
	char group_name[CONTROL_GROUP_NAME_MAX];
	struct control_client *clients;
	unsigned handles; /* pipe and sweep, until their close callbacks */
	bool stopping;
};

enum control_client_state {
	/* reading requests, answering */
	CONTROL_CLIENT_OPEN,
	/* refused or broke a rule: closes once its reply is out */
	CONTROL_CLIENT_DRAINING,
	/* uv_close called */
	CONTROL_CLIENT_CLOSING,
	/* close callback ran; memory lives on for the refs */
	CONTROL_CLIENT_CLOSED,
};

struct control_client {
	struct control *srv; /* NULL once closed */
	struct control_client *next, **pprev;
	uv_pipe_t pipe;
	enum control_client_state state;
	unsigned refs;
	unsigned writes; /* uv_write requests in flight */
	bool eof;	 /* the peer shut down its side */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint64_t active_ms; /* uv_now() of the last request or reply */
	char *buf;
	size_t len, cap;
};

/* control.c: frees the server once stopped and nothing is left open. */
void control_srv_maybe_free(struct control *c);

/* control_io.c: a client's bytes and replies. */
void control_client_close(struct control_client *cl);
/* Refused or broke a rule: its error line goes out, then it closes. */
void control_client_drain(struct control_client *cl);
int control_client_error(struct control_client *cl, const json_t *id,
			 const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 or a libuv error. */
int control_client_read_start(struct control_client *cl);

/* control_admit.c: credentials, limits and the idle/linger timer. */
void control_client_admit(struct control_client *cl);
unsigned control_count_state(const struct control *c,
			     enum control_client_state st);
void control_sweep_arm(struct control *c);

#endif
