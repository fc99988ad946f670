/* SPDX-License-Identifier: MIT */
/*
 * fs_job.c: a state file written off the loop (fs_job.h).
 *
 * The worker touches only the struct write it was given (its bytes, the
 * directory and the name, which do not change while it is out); the
 * loop keeps the rest.  Two jobs of one file (a reload makes the new one
 * while the old one's last write is out) would share fs_write_atomic's
 * temp file: every job is on one list, and a write waits while any job
 * of its file has one out.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_job.h"
#include "fsutil.h"

struct fs_write {
	uv_work_t req;
	struct fs_job *job;
	char *data;
	size_t len;
	int result;
};

struct fs_job {
	uv_loop_t *loop;
	char *dir;
	char *name;
	mode_t mode;
	fs_job_done_fn done;
	void *ctx;
	struct fs_write *out;  /* in the pool */
	struct fs_write *next; /* waits for it */
	bool freed;
	struct fs_job *prev_job, *next_job; /* jobs: every job of the loop */
};

static struct fs_job *jobs; /* the loop thread's only */

static bool same_file(const struct fs_job *a, const struct fs_job *b)
{
	return strcmp(a->dir, b->dir) == 0 && strcmp(a->name, b->name) == 0;
}

/* A write of j's file is out, of j or of another job. */
static bool file_busy(const struct fs_job *j)
{
	for (const struct fs_job *o = jobs; o; o = o->next_job)
		if (o->out && same_file(o, j))
			return true;
	return false;
}

static void write_free(struct fs_write *w)
{
	if (w)
		free(w->data);
	free(w);
}

static void job_free(struct fs_job *j)
{
	if (j->prev_job)
		j->prev_job->next_job = j->next_job;
	else if (jobs == j)
		jobs = j->next_job;
	if (j->next_job)
		j->next_job->prev_job = j->prev_job;
	write_free(j->next);
	free(j->dir);
	free(j->name);
	free(j);
}

static void on_work(uv_work_t *req)
{
	struct fs_write *w = req->data;
	struct fs_job *j = w->job;

	w->result = fs_write_atomic(j->dir, j->name, w->data, w->len, j->mode);
}

static void start(struct fs_job *j);

static void on_after(uv_work_t *req, int status)
{
	struct fs_write *w = req->data;
	struct fs_job *j = w->job;
	int r = status < 0 ? status : w->result;

	j->out = NULL;
	write_free(w);
	/* Another job of the file may wait for this one. */
	for (struct fs_job *o = jobs; o; o = o->next_job)
		if (o != j && !o->out && o->next && same_file(o, j)) {
			start(o);
			break;
		}
	if (j->freed) {
		job_free(j);
		return;
	}
	start(j);
	/* Last: done may write again, or free the job. */
	if (j->done)
		j->done(j->ctx, r);
}

static void start(struct fs_job *j)
{
	struct fs_write *w = j->next;
	int r;

	if (j->out || !w || file_busy(j))
		return;
	j->next = NULL;
	w->req.data = w;
	r = uv_queue_work(j->loop, &w->req, on_work, on_after);
	if (r < 0) {
		/* libuv refuses only a NULL callback: it waits for the next. */
		j->next = w;
		return;
	}
	j->out = w;
}

struct fs_job *fs_job_new(uv_loop_t *loop, const char *dir, const char *name,
			  mode_t mode, fs_job_done_fn done, void *ctx)
{
	struct fs_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	*j = (struct fs_job){ .loop = loop,
			      .dir = strdup(dir),
			      .name = strdup(name),
			      .mode = mode,
			      .done = done,
			      .ctx = ctx };
	if (!j->dir || !j->name) {
		free(j->dir);
		free(j->name);
		free(j);
		return NULL;
	}
	j->next_job = jobs;
	if (jobs)
		jobs->prev_job = j;
	jobs = j;
	return j;
}

int fs_job_write(struct fs_job *j, const void *data, size_t len)
{
	struct fs_write *w = calloc(1, sizeof(*w));

	if (!w || !(w->data = malloc(len ? len : 1))) {
		free(w);
		return -ENOMEM;
	}
	memcpy(w->data, data, len);
	w->len = len;
	w->job = j;
	write_free(j->next); /* replaced by the newer content */
	j->next = w;
	start(j);
	return 0;
}

bool fs_job_busy(const struct fs_job *j)
{
	return j->out || j->next;
}

void fs_job_free(struct fs_job *j)
{
	if (!j)
		return;
	if (!j->out) {
		job_free(j);
		return;
	}
	write_free(j->next);
	j->next = NULL;
	j->freed = true;
}
