/* SPDX-License-Identifier: MIT */
/*
 * coalesce.h: at most one run of a job per window of time, on the libuv
 * loop, for jobs that anyone may ask for as often as they like (Home
 * Assistant's "online", which makes the bridge send every discovery
 * config).  A request when no window is open runs the job at once and
 * opens one; requests while it is open, however many, make one more run
 * at its end, which opens a new window.  No request is ever lost: the
 * last one is always followed by a run.
 */
#ifndef ZWGATE_COALESCE_H
#define ZWGATE_COALESCE_H

#include <stdbool.h>

#include <uv.h>

typedef void coalesce_fn(void *ctx);

struct coalesce;

/* 0 or -ENOMEM. */
int coalesce_new(uv_loop_t *loop, unsigned window_ms, coalesce_fn *fn,
		 void *ctx, struct coalesce **ret);
/* No run after this; the memory goes once the loop has closed its timer.
 * NULL is fine. */
void coalesce_free(struct coalesce *c);

/* Ask for a run: true if it ran now, false if it comes at the window's
 * end. */
bool coalesce_kick(struct coalesce *c);

#endif
