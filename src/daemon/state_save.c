/* SPDX-License-Identifier: MIT */
/*
 * state_save.c: a state file written off the loop, with waiters
 * (state_save.h).
 *
 * The waiters are one list, oldest first; its first n_out wait for the
 * write that is out (or, when another job of the file holds it back,
 * for the one fs_job will start first: either way the first write of
 * this job to complete holds their changes), the rest for the next one.
 * A waiter asked while the job is idle waits for the write it starts;
 * one asked while it is busy, for the next.  When a write completes and
 * the job is still busy, fs_job has just started the next one, which
 * holds every change asked before it: the rest move up.  When it is
 * idle, the write that completed was the last one asked for: it answers
 * all of them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "fs_job.h"
#include "state_save.h"

struct state_save {
	struct fs_job *job;
	state_save_done_fn done;
	void *ctx;
	struct state_save_wait *waits; /* oldest first */
	size_t n_out;		       /* the first n_out wait for the out */
};

/* The first n of l, reversed (newest first); *l keeps the rest. */
static struct state_save_wait *take(struct state_save_wait **l, size_t n)
{
	struct state_save_wait *rev = NULL, *w;

	while (n-- && (w = *l)) {
		*l = w->next;
		w->next = rev;
		rev = w;
	}
	return rev;
}

static size_t count(const struct state_save_wait *w)
{
	size_t n = 0;

	for (; w; w = w->next)
		n++;
	return n;
}

static void on_done(void *ctx, int result)
{
	struct state_save *s = ctx;
	struct state_save_wait *answered;

	if (fs_job_busy(s->job)) {
		answered = take(&s->waits, s->n_out);
		s->n_out = count(s->waits);
	} else {
		answered = take(&s->waits, count(s->waits));
		s->n_out = 0;
	}
	if (answered)
		s->done(s->ctx, answered, result);
}

struct state_save *state_save_new(uv_loop_t *loop, const char *dir,
				  const char *name, mode_t mode,
				  state_save_done_fn done, void *ctx)
{
	struct state_save *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->done = done;
	s->ctx = ctx;
	s->job = fs_job_new(loop, dir, name, mode, on_done, s);
	if (!s->job) {
		free(s);
		return NULL;
	}
	return s;
}

int state_save_write(struct state_save *s, const char *data, size_t len,
		     struct state_save_wait *w)
{
	bool busy = fs_job_busy(s->job);
	struct state_save_wait **end;
	int r = fs_job_write(s->job, data, len);

	if (r < 0 || !w)
		return r;
	w->next = NULL;
	for (end = &s->waits; *end; end = &(*end)->next)
		;
	*end = w;
	if (!busy)
		s->n_out++;
	return 0;
}

struct state_save_wait *state_save_waiting(const struct state_save *s)
{
	return s->waits;
}

bool state_save_busy(const struct state_save *s)
{
	return fs_job_busy(s->job);
}

void state_save_free(struct state_save *s)
{
	struct state_save_wait *all;

	if (!s)
		return;
	fs_job_free(s->job);
	all = take(&s->waits, count(s->waits));
	if (all)
		s->done(s->ctx, all, -ECANCELED);
	free(s);
}
