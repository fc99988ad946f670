/* SPDX-License-Identifier: MIT */
/*
 * cloud_sync.c: the outbox's syncs off the loop.  Records are written to
 * the log (the page cache) on the loop, by outbox_put and
 * outbox_sync_begin; what waits for the disk -- fdatasync, a
 * compaction's fsync, the directory's -- is an outbox_job run in libuv's
 * thread pool (sync_work), one at a time, so no report, rule or command
 * waits behind an SD card.
 *
 * Ownership: while c->busy, the worker touches c->job and the files it
 * names, nothing else; the loop never reads or writes c->job, never
 * begins another job, and keeps c->ob to itself (outbox.h, "Off the
 * caller's thread", says why appending meanwhile is safe).  A stop while
 * a job is out waits for it: cloud_stop leaves the outbox to
 * cloud_finish, which sync_after calls once the job is back (a queued
 * uv_work_t keeps the loop running until then).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_int.h"
#include "conf.h"
#include "log.h"
#include "outbox.h"

/* A write of the outbox failed: the file, why, and what that costs. */
void cloud_log_unwritten(const struct cloud *c, int r, const char *fate)
{
	struct outbox_stats st;

	outbox_get_stats(c->ob, &st);
	log_error("outbox %s: cannot write: %s; %llu message(s) %s",
		  outbox_path(c->ob), strerror(-r),
		  (unsigned long long)st.unwritten, fate);
}

/* Say once when the outbox stops writing to disk, and when it writes
 * again. */
void cloud_note_sync(struct cloud *c, int r)
{
	if (r == c->sync_error)
		return;
	if (r < 0)
		cloud_log_unwritten(c, r, "held in memory only until it can");
	else
		log_notice("outbox %s: writing again", outbox_path(c->ob));
	c->sync_error = r;
}

/*
 * Say once when the log cannot be compacted, and when it can again.  No
 * message is at stake (the old log holds them all, and what a job synced
 * is durable all the same), so the sends go on as they were; the log
 * only grows until a compaction works.
 */
void cloud_note_compact(struct cloud *c)
{
	struct outbox_stats st;

	outbox_get_stats(c->ob, &st);
	if (st.compact_error == c->compact_error)
		return;
	if (st.compact_error < 0)
		log_warning("outbox %s: cannot compact: %s; the log grows "
			    "until it can, nothing is lost",
			    outbox_path(c->ob), strerror(-st.compact_error));
	else
		log_notice("outbox %s: compacted again", outbox_path(c->ob));
	c->compact_error = st.compact_error;
}

/* In the thread pool: c->job and its files only (see the top). */
static void sync_work(uv_work_t *w)
{
	struct cloud *c = w->data;

	outbox_job_run(&c->job);
}

static void sync_after(uv_work_t *w, int status)
{
	struct cloud *c = w->data;
	int r;

	(void)status; /* never cancelled: a job, once queued, runs */
	c->busy = false;
	r = outbox_sync_end(c->ob, &c->job);
	if (c->stopping) {
		cloud_finish(c);
		return;
	}
	cloud_note_sync(c, r);
	cloud_note_compact(c);
	/* With "outbox-sync always", what came meanwhile goes at once. */
	if (r == 0 && cloud_conf(c)->cloud.outbox_sync_ms == 0 &&
	    outbox_durable(c->ob) < outbox_last_seq(c->ob))
		cloud_sync_start(c);
	cloud_pump(c); /* what is on disk now; arms the timer if still dirty */
}

/* Write what is due and hand what waits for the disk to the pool. */
void cloud_sync_start(struct cloud *c)
{
	int r;

	if (c->busy)
		return; /* sync_after comes back for it */
	r = outbox_sync_begin(c->ob, &c->job);
	if (r == 1) {
		c->work.data = c;
		r = uv_queue_work(c->deps.loop, &c->work, sync_work,
				  sync_after);
		if (r == 0) {
			c->busy = true;
			return;
		}
		/* No pool: wait here, as before there was one. */
		outbox_job_run(&c->job);
		r = outbox_sync_end(c->ob, &c->job);
		cloud_note_sync(c, r);
		cloud_note_compact(c);
		cloud_pump(c);
		return;
	}
	cloud_note_sync(c, r);
	cloud_note_compact(c); /* its snapshot may have failed */
}

static void on_sync(uv_timer_t *t)
{
	struct cloud *c = t->data;

	cloud_sync_start(c);
	cloud_sync_soon(c); /* a write that failed is tried again */
}

/*
 * Batched fsync: one timer per window, armed only when there is
 * something to write, so an idle gateway does not wake up for it, nor
 * while a job is out (sync_after arms it again).  With "outbox-sync
 * always" every message starts a job at once (cloud_publish,
 * sync_after); the timer then only carries the ack floor, once a second.
 */
void cloud_sync_soon(struct cloud *c)
{
	unsigned ms = cloud_conf(c)->cloud.outbox_sync_ms;

	if (c->busy || !outbox_dirty(c->ob) ||
	    uv_is_active((uv_handle_t *)&c->sync_timer))
		return;
	uv_timer_start(&c->sync_timer, on_sync, ms ? ms : 1000, 0);
}

/* The outbox, once no job is out; c itself once the timer is closed too. */
void cloud_finish(struct cloud *c)
{
	if (c->busy)
		return; /* sync_after calls again */
	if (c->ob) {
		int r = outbox_sync(c->ob);

		if (r < 0)
			cloud_log_unwritten(c, r, "in memory only are lost");
		c->ob = outbox_free(c->ob);
	}
	if (c->timer_closed || !c->sync_timer.loop)
		free(c);
}

void cloud_sync_closed(uv_handle_t *h)
{
	struct cloud *c = h->data;

	c->timer_closed = true;
	if (!c->busy)
		free(c);
}
