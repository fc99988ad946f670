/* SPDX-License-Identifier: MIT */
/*
 * state_save.h: a state file written off the loop (fs_job.h) for callers
 * that wait for their change to be on disk: an API reply sent only once
 * the file holds what the command changed.
 *
 * fs_job coalesces: a write asked for while one is out waits, and a
 * newer one replaces it.  Each write here may carry a waiter, which is
 * answered (done, on the loop) after the first completed write whose
 * content holds its change: the write out when it was asked, if none
 * was; the next one to start otherwise.
 */
#ifndef ZWGATE_STATE_SAVE_H
#define ZWGATE_STATE_SAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

/* Embedded in the caller's record of a change that waits. */
struct state_save_wait {
	struct state_save_wait *next;
};

struct state_save;

/*
 * The waiters of a completed write, newest first (the order in which
 * their changes are undone), detached: done may free them, and may
 * write again.  result: 0, -errno of the write, or -ECANCELED from
 * state_save_free.
 */
typedef void (*state_save_done_fn)(void *ctx, struct state_save_wait *list,
				   int result);

/* dir and name are copied.  NULL on ENOMEM. */
struct state_save *state_save_new(uv_loop_t *loop, const char *dir,
				  const char *name, mode_t mode,
				  state_save_done_fn done, void *ctx);

/*
 * Write data (copied) as the file's content; w (NULL: none) waits for
 * it.  0, or -ENOMEM (then w does not wait and the file keeps what it
 * had, or what the writes already asked for give it).
 */
int state_save_write(struct state_save *s, const char *data, size_t len,
		     struct state_save_wait *w);

/* The changes that wait, oldest first (NULL: none).  Do not unlink. */
struct state_save_wait *state_save_waiting(const struct state_save *s);

/* A write is out or waiting. */
bool state_save_busy(const struct state_save *s);

/*
 * The waiters get done(-ECANCELED) at once; a write that is out
 * finishes in the pool (the loop runs until it has), one that waits is
 * dropped.  NULL ok.
 */
void state_save_free(struct state_save *s);

#endif
