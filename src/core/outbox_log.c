/* SPDX-License-Identifier: MIT */
/*
 * outbox_log.c: writing the outbox's log (see outbox.c for the design):
 * appending messages and marks, a failed write and its retry, a full disk
 * freed by a reset, fsync, and the compaction that replaces the log by
 * one holding only what is pending.
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
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fsutil.h"
#include "outbox.h"
#include "outbox_int.h"

#define OB_COMPACT_MIN	 (64 * 1024) /* log bytes before compacting */
#define OB_COMPACT_RATIO 4	     /* log bytes per live record byte */
#define OB_MSG_TYPICAL	 16 /* bytes a record adds to topic and payload */
/* Pending bytes a compaction may copy while the broker drains them, and
 * acks it may leave unsaid above the floor meanwhile. */
#define OB_COMPACT_COPY_MAX  (64 * 1024)
#define OB_COMPACT_HOLES_MAX 4096
/* A log no longer than a lone SEQ record has nothing to give back. */
#define OB_SEQ_REC_MAX (OB_HEAD + 1 + OB_VARINT_MAX)

int outbox_write_item(int fd, uint64_t *off, struct outbox_topics *t,
		      const struct outbox_item *m)
{
	return outbox_rec_write_msg(fd, off, t, m->seq,
				    (enum outbox_kind)m->kind, m->topic,
				    m->tlen, outbox_msg_payload(m), m->len);
}

int outbox_fail(struct outbox *ob, int r)
{
	ob->st.last_error = r;
	return r;
}

/* Append a record to the log; a failure leaves end where it was. */
static int outbox_append(struct outbox *ob, const struct outbox_item *m,
			 enum outbox_type mark, uint64_t seq)
{
	uint64_t off = ob->end;
	int r;

	if (m)
		r = outbox_write_item(ob->fd, &off, ob->topics, m);
	else
		r = outbox_rec_write_mark(ob->fd, &off, mark, seq);
	if (r < 0) {
		ob->trunc_needed = true;
		return outbox_fail(ob, r);
	}
	ob->st.bytes_written += off - ob->end;
	ob->end = off;
	return 0;
}

/*
 * Write the pending messages that are not in the log yet, in seq order,
 * after cutting what a failed write may have left.
 */
static int outbox_write_new(struct outbox *ob)
{
	int r;

	if (ob->trunc_needed) {
		/* What the cut takes may be a topic's record. */
		outbox_topics_forget(ob->topics);
		if (ftruncate(ob->fd, (off_t)ob->end) < 0)
			return outbox_fail(ob, -errno);
		ob->trunc_needed = false;
	}
	for (size_t i = outbox_slot_find(ob, ob->unwritten_seq); i < ob->tail;
	     i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (!m)
			continue;
		m->off = ob->end;
		r = outbox_append(ob, m, 0, 0);
		if (r < 0)
			return r;
		ob->unwritten_seq = m->seq + 1;
	}
	ob->unwritten_seq = ob->last_seq + 1;
	return 0;
}

/* Does the log hold no pending message?  Then it holds nothing needed. */
static bool outbox_log_idle(const struct outbox *ob)
{
	return !ob->live || ob->slots[ob->head].seq >= ob->unwritten_seq;
}

/*
 * An idle log is compacted in place: its first record is overwritten by a
 * SEQ record and a bad head, synced, and only then is the file cut after
 * the SEQ record.  This needs no free space, which is all a full disk
 * leaves (a copy would need some).  A crash before the overwrite is on
 * disk leaves the old log, whose messages are acknowledged (sent again,
 * at worst); one before the cut leaves the SEQ record and the bad head,
 * where recovery stops.  Until a reset has finished nothing may be
 * appended: it would follow the bad head.
 */
static int outbox_reset(struct outbox *ob)
{
	static const uint8_t stop[OB_HEAD];
	struct iovec iov = { (void *)stop, sizeof(stop) };
	uint64_t off = 0;
	int r;

	ob->reset_due = true;
	outbox_topics_forget(ob->topics);
	r = outbox_rec_write_mark(ob->fd, &off, OB_REC_SEQ, ob->last_seq);
	if (r == 0)
		r = outbox_pwritev_all(ob->fd, &iov, 1, off);
	if (r == 0 && fdatasync(ob->fd) < 0)
		r = -errno;
	if (r == 0 && ftruncate(ob->fd, (off_t)off) < 0)
		r = -errno;
	if (r == 0 && fdatasync(ob->fd) < 0)
		r = -errno;
	if (r < 0)
		return outbox_fail(ob, r);
	ob->reset_due = ob->trunc_needed = false;
	ob->st.bytes_written += off + sizeof(stop);
	ob->end = ob->synced = off;
	ob->floor_disk = outbox_floor(ob);
	ob->drop_disk = ob->drop_floor;
	ob->compact_retry = 0; /* a log that small has nothing to copy */
	return 0;
}

static bool outbox_no_space(int r)
{
	return r == -ENOSPC || r == -EDQUOT;
}

/*
 * A write failed for want of space: a log that holds nothing pending
 * (the broker took it all) gives its space back, and the caller tries
 * again in what that freed.  Else an outbox that filled the disk itself
 * could never write again.
 */
bool outbox_reclaim(struct outbox *ob, int r)
{
	/* Not under a job: it may be syncing what the reset would cut. */
	return outbox_no_space(r) && !ob->job_out && outbox_log_idle(ob) &&
	       ob->end > OB_SEQ_REC_MAX && outbox_reset(ob) == 0;
}

/* Write what is not in the log yet. */
int outbox_write(struct outbox *ob)
{
	int r = 0;

	/* A reset cuts the log: never under a job (outbox_job.c); until it
	 * is done nothing may be appended, so the message waits in memory. */
	if (ob->reset_due && ob->job_out)
		return ob->st.last_error < 0 ? ob->st.last_error : -EIO;
	if (ob->reset_due)
		r = outbox_reset(ob);

	if (r == 0)
		r = outbox_write_new(ob);
	if (outbox_reclaim(ob, r))
		r = outbox_write_new(ob);
	return r;
}

int outbox_write_marks(struct outbox *ob)
{
	uint64_t floor = outbox_floor(ob);
	int r;

	if (floor > ob->floor_disk) {
		r = outbox_append(ob, NULL, OB_REC_ACK, floor);
		if (r < 0)
			return r;
		ob->floor_disk = floor;
	}
	if (ob->drop_floor > ob->drop_disk && ob->drop_floor > floor) {
		r = outbox_append(ob, NULL, OB_REC_DROP, ob->drop_floor);
		if (r < 0)
			return r;
	}
	ob->drop_disk = ob->drop_floor;
	return 0;
}

/*
 * After a failed fsync the kernel may have dropped the dirty pages and a
 * second fsync may succeed without them, so everything past the last good
 * sync is written again: those messages become unwritten, the marks are
 * due again.
 */
void outbox_unsync(struct outbox *ob)
{
	size_t i = outbox_slot_find(ob, ob->unwritten_seq);

	while (i-- > ob->head) {
		const struct outbox_item *m = ob->slots[i].m;

		if (!m)
			continue;
		if (m->off < ob->synced)
			break;
		ob->unwritten_seq = m->seq;
	}
	ob->end = ob->synced;
	ob->trunc_needed = true;
	outbox_topics_forget(ob->topics);
	ob->floor_disk = 0;
	ob->drop_disk = 0;
}

int outbox_fsync(struct outbox *ob)
{
	if (ob->synced != ob->end && fdatasync(ob->fd) < 0) {
		int r = -errno;

		outbox_unsync(ob);
		return outbox_fail(ob, r);
	}
	ob->synced = ob->end;
	if (!ob->dir_due)
		ob->durable_seq = ob->unwritten_seq - 1;
	return 0;
}

/*
 * Write a SEQ record and every pending message to fd, a new file: no
 * topic is named there yet (nor, if this fails, for sure in the old log
 * any more, which only costs a TOPIC record again).
 */
static int outbox_write_all(struct outbox *ob, int fd, uint64_t *off)
{
	int r;

	outbox_topics_forget(ob->topics);
	r = outbox_rec_write_mark(fd, off, OB_REC_SEQ, ob->last_seq);
	for (size_t i = ob->head; r == 0 && i < ob->tail; i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (!m)
			continue;
		m->noff = *off;
		r = outbox_write_item(fd, off, ob->topics, m);
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

/* Switch to the compacted log in fd, whose records follow slot order. */
static void outbox_adopt(struct outbox *ob, int fd, uint64_t size)
{
	close(ob->fd);
	ob->fd = fd;
	for (size_t i = ob->head; i < ob->tail; i++) {
		struct outbox_item *m = ob->slots[i].m;

		if (m)
			m->off = m->noff;
	}
	ob->end = ob->synced = size;
	ob->trunc_needed = ob->reset_due = false;
	ob->unwritten_seq = ob->last_seq + 1;
	ob->floor_disk = outbox_floor(ob);
	ob->drop_disk = ob->drop_floor;
	ob->st.bytes_written += size;
}

int outbox_compact(struct outbox *ob)
{
	char *tmp = fs_join(ob->dir, OB_TMP);
	uint64_t size = 0;
	int fd, r;

	if (outbox_log_idle(ob)) {
		free(tmp);
		return outbox_reset(ob);
	}
	if (!tmp)
		return -ENOMEM;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* Lock before the name is visible, as outbox_open would. */
	r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
	if (r == 0)
		r = outbox_write_all(ob, fd, &size);
	if (r == 0 && rename(tmp, ob->path) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	/* Renamed: the old log is gone from the directory, so fd is the log
	 * now even if the directory sync fails. */
	outbox_adopt(ob, fd, size);
	r = fs_fsync_dir(ob->dir);
out:
	free(tmp);
	return r;
}

/*
 * A compaction that failed (a full disk, an I/O error) left the old log,
 * which holds everything, so what the log's own sync made durable stays
 * so: the failure is said apart (stats.compact_error, compact_failed)
 * and is no failed write.  Each try writes a whole snapshot, so the next
 * waits until the log has grown by another OB_COMPACT_MIN bytes.
 */
int outbox_compact_result(struct outbox *ob, int r)
{
	if (r < 0) {
		ob->st.compact_error = r;
		ob->st.compact_failed++;
		ob->compact_retry = ob->end + OB_COMPACT_MIN;
	} else {
		ob->st.compact_error = 0;
		ob->compact_retry = 0;
	}
	return r;
}

/*
 * A compaction copies what is pending.  A backlog the broker is taking
 * faster than one message per message pending since the last sync (the
 * replay after an outage; ob->acked counts the acks since this was last
 * asked, at a sync or a job's begin) will be gone by the next one, when
 * the idle log is reset in place for nothing: copying it now would write
 * it to the SD card twice.  So a large backlog waits, as long as the acks
 * are in order (the ack floor on disk says them; acks above it are known
 * in memory only until a compaction, and are sent again after a crash)
 * and the log has not grown past what the bound lets it hold.  After a
 * failed compaction the next waits (outbox_compact_result).
 */
bool outbox_compact_due(struct outbox *ob)
{
	uint64_t live =
	    ob->st.pending_bytes + OB_MSG_TYPICAL * (ob->st.pending + 1);
	uint64_t above_floor = ob->last_seq - outbox_floor(ob);
	uint64_t acked = ob->acked;

	ob->acked = 0;
	if (ob->end < OB_COMPACT_MIN || ob->end <= OB_COMPACT_RATIO * live ||
	    ob->end < ob->compact_retry)
		return false;
	return ob->st.pending_bytes <= OB_COMPACT_COPY_MAX ||
	       acked < ob->st.pending ||
	       above_floor - ob->st.pending > OB_COMPACT_HOLES_MAX ||
	       ob->end > OB_COMPACT_RATIO * ob->max_bytes;
}

int outbox_sync(struct outbox *ob)
{
	int r;

	if (ob->job_out)
		return -EBUSY; /* outbox_sync_end first */
	r = outbox_write(ob);

	if (r == 0)
		r = outbox_write_marks(ob);
	/* No room for the marks: a reset says what they would have. */
	if (outbox_reclaim(ob, r))
		r = outbox_write(ob);
	if (r == 0)
		r = outbox_fsync(ob);
	/* The rename of a compaction done by jobs (outbox_job.c). */
	if (r == 0 && ob->dir_due && (r = fs_fsync_dir(ob->dir)) == 0) {
		ob->dir_due = false;
		ob->durable_seq = ob->unwritten_seq - 1;
	}
	/* It leaves the old log if it fails: no failed write. */
	if (r == 0 && outbox_compact_due(ob))
		(void)outbox_compact_result(ob, outbox_compact(ob));
	if (r == 0)
		outbox_clear_error(ob);
	return r;
}
