/* SPDX-License-Identifier: MIT */
/*
 * outbox_job.c: outbox_sync cut in three for an owner that waits for the
 * disk on another thread (outbox.h, "Off the caller's thread"):
 *
 *	outbox_sync_begin  owner	write records and marks (page cache),
 *					say what must reach the disk
 *	outbox_job_run	   any thread	fdatasync / fsync: only the job's fds
 *	outbox_sync_end	   owner	take the result into the outbox
 *
 * Ownership while a job is out (ob->job_out): the worker reads and writes
 * only the struct outbox_job and the files it names; job.dir points to
 * ob->dir, which never changes while the outbox lives.  The owner keeps
 * the rest and may put, ack and append to the log meanwhile: fdatasync
 * of an fd is safe against concurrent pwrite to it, and the bytes the
 * job makes durable (up to job.end) are never cut, since a cut (a
 * failed write's) is at ob->end >= job.end and the fd is neither closed
 * nor replaced while a job is out (a compaction or reset needs the job
 * slot).  The owner may not begin a second job, run outbox_sync, nor
 * free the outbox until outbox_sync_end.
 *
 * A compaction rides in a job too (after the log's own fdatasync, so a
 * compaction that fails never holds the sync back), done so that no
 * moment leaves a message put before it out of dir/log (a kill of the
 * daemon alone loses nothing, as without jobs): begin writes the
 * snapshot (a SEQ record and every pending message) into a new file, the
 * job fsyncs it, and end appends what was put meanwhile, renames the
 * file over the log and switches to it; the rename reaches the disk with
 * the next job's fsync of the directory (ob->dir_due), and
 * outbox_durable waits for that.  A compaction that fails leaves the old
 * log and changes nothing the log's sync did: outbox_sync_end returns the
 * log's result, the compaction's goes to outbox_compact_result (stats,
 * and a back-off: outbox_log.c).
 * The reset in place (the reclaim of a full disk) stays synchronous: it
 * is how a full disk is freed, and rare.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"
#include "outbox.h"
#include "outbox_int.h"

static void job_drop_file(struct outbox *ob, struct outbox_job *job)
{
	char *tmp = fs_join(ob->dir, OB_TMP);

	close(job->cfd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	outbox_topics_free(job->tp);
	job->cfd = -1;
	job->tp = NULL;
}

/* The snapshot: a SEQ record and every pending message, in a new file. */
static int compact_prepare(struct outbox *ob, struct outbox_job *job)
{
	char *tmp = fs_join(ob->dir, OB_TMP);
	uint64_t off = 0;
	int r;

	job->tp = outbox_topics_new();
	if (!tmp || !job->tp) {
		free(tmp);
		outbox_topics_free(job->tp);
		job->tp = NULL;
		return outbox_compact_result(ob, -ENOMEM);
	}
	job->cfd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(tmp);
	if (job->cfd < 0) {
		r = -errno;
		outbox_topics_free(job->tp);
		job->tp = NULL;
		return outbox_compact_result(ob, r);
	}
	/* Locked before its name is the log's, as outbox_open would. */
	r = flock(job->cfd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
	if (r == 0)
		r = outbox_rec_write_mark(job->cfd, &off, OB_REC_SEQ,
					  ob->last_seq);
	for (size_t i = ob->head; r == 0 && i < ob->tail; i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (!m)
			continue;
		m->noff = off;
		r = outbox_write_item(job->cfd, &off, job->tp, m);
	}
	if (r < 0) {
		job_drop_file(ob, job);
		return outbox_compact_result(ob, r);
	}
	job->cend = off;
	job->cseq = ob->last_seq;
	job->floor = outbox_floor(ob);
	job->drop = ob->drop_floor;
	return 0;
}

int outbox_sync_begin(struct outbox *ob, struct outbox_job *job)
{
	int r;

	if (!ob->deferred)
		return -EINVAL; /* its puts sync: outbox_sync is its way */
	if (ob->job_out)
		return -EBUSY; /* and job, maybe the one out, is not touched */
	*job = (struct outbox_job){ .fd = -1, .cfd = -1 };
	r = outbox_write(ob);
	if (r == 0)
		r = outbox_write_marks(ob);
	/* No room for the marks: a reset says what they would have. */
	if (outbox_reclaim(ob, r))
		r = outbox_write(ob);
	if (r == 0 && (ob->end > ob->synced || ob->dir_due)) {
		job->fd = ob->fd;
		job->dir = ob->dir_due ? ob->dir : NULL;
		job->end = ob->end;
		job->seq = ob->unwritten_seq - 1;
	}
	/* A compaction that fails leaves the sync of the log to be done. */
	if (r == 0 && outbox_compact_due(ob))
		(void)compact_prepare(ob, job);
	if (r < 0)
		return r;
	if (job->fd < 0 && job->cfd < 0) {
		ob->durable_seq = ob->unwritten_seq - 1;
		outbox_clear_error(ob);
		return 0;
	}
	ob->job_out = true;
	return 1;
}

void outbox_job_run(struct outbox_job *job)
{
	job->result = job->cresult = 0;
	if (job->fd >= 0 && fdatasync(job->fd) < 0)
		job->result = -errno;
	if (job->fd >= 0 && job->result == 0 && job->dir)
		job->result = fs_fsync_dir(job->dir);
	if (job->cfd >= 0 && fsync(job->cfd) < 0)
		job->cresult = -errno;
}

static int sync_end(struct outbox *ob, struct outbox_job *job)
{
	if (job->result < 0) {
		/* The pages may be gone: write it all again (outbox_fsync). */
		outbox_unsync(ob);
		return outbox_fail(ob, job->result);
	}
	if (job->end > ob->synced)
		ob->synced = job->end;
	if (job->dir)
		ob->dir_due = false;
	if (!ob->dir_due && job->seq > ob->durable_seq)
		ob->durable_seq = job->seq;
	return 0;
}

/* Put the compacted file in place, with what was put since its snapshot. */
static int compact_end(struct outbox *ob, struct outbox_job *job)
{
	char *tmp = NULL;
	uint64_t off = job->cend;
	int r = job->cresult;

	for (size_t i = outbox_slot_find(ob, job->cseq + 1);
	     r == 0 && i < ob->tail; i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (!m)
			continue;
		m->noff = off;
		r = outbox_write_item(job->cfd, &off, job->tp, m);
	}
	/* Seqs used since, and gone already, are not handed out again. */
	if (r == 0 && ob->last_seq > job->cseq)
		r = outbox_rec_write_mark(job->cfd, &off, OB_REC_SEQ,
					  ob->last_seq);
	if (r == 0)
		r = (tmp = fs_join(ob->dir, OB_TMP)) ? 0 : -ENOMEM;
	if (r == 0 && rename(tmp, ob->path) < 0)
		r = -errno;
	free(tmp);
	if (r < 0) {
		job_drop_file(ob, job);
		return outbox_compact_result(ob, r);
	}
	close(ob->fd);
	ob->fd = job->cfd;
	outbox_topics_free(ob->topics);
	ob->topics = job->tp;
	job->cfd = -1;
	job->tp = NULL;
	for (size_t i = ob->head; i < ob->tail; i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (m)
			m->off = m->noff;
	}
	ob->st.bytes_written += off;
	ob->end = off;
	ob->synced = job->cend;
	ob->trunc_needed = ob->reset_due = false;
	ob->unwritten_seq = ob->last_seq + 1;
	ob->floor_disk = job->floor;
	ob->drop_disk = job->drop;
	ob->dir_due = true; /* the rename: the next job's */
	return outbox_compact_result(ob, 0);
}

int outbox_sync_end(struct outbox *ob, struct outbox_job *job)
{
	int r = 0;

	if (!ob->job_out)
		return -EINVAL;
	ob->job_out = false;
	if (job->fd >= 0)
		r = sync_end(ob, job);
	/* Its failure is its own (outbox_compact_result), not the sync's. */
	if (job->cfd >= 0)
		(void)compact_end(ob, job);
	job->fd = job->cfd = -1;
	/* A put that failed while the job was out is still unwritten. */
	if (r == 0)
		outbox_clear_error(ob);
	return r;
}

uint64_t outbox_durable(const struct outbox *ob)
{
	return ob->durable_seq;
}

uint64_t outbox_last_seq(const struct outbox *ob)
{
	return ob->last_seq;
}
