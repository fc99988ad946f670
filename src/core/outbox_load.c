/* SPDX-License-Identifier: MIT */
/*
 * outbox_load.c: reading the outbox's log back at open (see outbox.c for
 * the design): replaying its records into the pending set, stopping at
 * the first bad one and cutting the file there, renumbering a log whose
 * seqs ran too far, and opening and locking the log.
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

/* More seqs than an outbox lives to hand out (at a million messages a
 * second, 290,000 years): a log that claims more is damaged. */
#define OB_SEQ_MAX (UINT64_C(1) << 63)

/* A mark read at open: forget what it says is gone. */
static void outbox_apply_mark(struct outbox *ob, enum outbox_type type,
			      uint64_t seq)
{
	if (seq > ob->last_seq)
		ob->last_seq = seq;
	if (type == OB_REC_ACK && seq > ob->floor_disk) {
		ob->floor_disk = seq;
		while (ob->live && ob->slots[ob->head].seq <= seq)
			outbox_remove(ob, ob->head);
	} else if (type == OB_REC_DROP && seq > ob->drop_floor) {
		ob->drop_floor = seq;
		while (ob->ev_first && ob->ev_first->seq <= seq)
			outbox_remove(ob,
				      outbox_slot_find(ob, ob->ev_first->seq));
	}
}

/* One record read at open.  0, -EBADMSG (stop here), -ENOMEM. */
static int outbox_apply(struct outbox *ob, const struct outbox_rec *rec,
			uint64_t off)
{
	enum outbox_kind kind =
	    rec->type == OB_REC_EVENT ? OUTBOX_EVENT : OUTBOX_STATE;
	struct outbox_item *m;

	if (rec->type >= OB_REC_ACK && rec->type <= OB_REC_SEQ) {
		outbox_apply_mark(ob, rec->type, rec->seq);
		return 0;
	}
	if (rec->type == OB_REC_TOPIC)
		return 0;
	if (rec->seq <= ob->data_seq)
		return -EBADMSG;
	ob->data_seq = rec->seq;
	if (rec->seq > ob->last_seq)
		ob->last_seq = rec->seq;
	if (rec->seq <= ob->floor_disk ||
	    (kind == OUTBOX_EVENT && rec->seq <= ob->drop_floor))
		return 0;
	if (!outbox_scope_allows(ob->scope, rec->topic, rec->tlen)) {
		ob->st.foreign++; /* not ours to send: see outbox.h */
		return 0;
	}
	m = outbox_msg_new(kind, rec->seq, rec->topic, rec->tlen, rec->payload,
			   rec->len);
	if (!m || outbox_insert(ob, m) < 0) {
		free(m);
		return -ENOMEM;
	}
	m->off = off;
	return 0;
}

/* Apply the good records; *ret_good is where the first bad one starts. */
static int outbox_replay(struct outbox *ob, struct outbox_reader *rd,
			 uint64_t *ret_good)
{
	struct outbox_names names = { 0 };
	struct outbox_rec rec;
	uint64_t off = 0;
	const uint8_t *p;
	int r = 0;
	size_t n;

	for (;;) {
		p = outbox_rd_get(rd, off, OB_HEAD);
		if (!p || !(n = outbox_rec_body_len(p)))
			break;
		p = outbox_rd_get(rd, off, OB_HEAD + n);
		if (!p)
			break;
		r = outbox_rec_read(p, n, &names, &rec);
		if (r == 0)
			r = outbox_apply(ob, &rec, off);
		if (r == -EBADMSG)
			break;
		if (r < 0)
			goto out;
		off += OB_HEAD + n;
	}
	r = rd->err;
	if (r == 0)
		*ret_good = off;
out:
	outbox_names_clear(&names);
	return r;
}

/*
 * A log damaged into claiming a seq above OB_SEQ_MAX would soon leave no
 * seq for outbox_put, for good: the pending messages are numbered afresh
 * from 1 and the log is rewritten with them.  If the rewrite fails, the
 * log is cut to nothing and the next write puts them all back, as after
 * any failed write.
 */
static void outbox_renumber(struct outbox *ob)
{
	uint64_t seq = 0;

	outbox_slot_squeeze(ob);
	for (size_t i = ob->head; i < ob->tail; i++)
		ob->slots[i].seq = ob->slots[i].m->seq = ++seq;
	ob->last_seq = ob->data_seq = seq;
	/* Said here, not left to how the compaction goes about it. */
	ob->unwritten_seq = seq + 1;
	ob->drop_floor = 0;
	if (outbox_compact(ob) == 0)
		return;
	ob->end = ob->synced = 0;
	ob->trunc_needed = true;
	ob->unwritten_seq = 1;
	ob->floor_disk = ob->drop_disk = 0;
}

/*
 * Cut what recovery could not read.  With keep_cut the bytes are first
 * copied to dir/OUTBOX_CUT_NAME (replacing an older copy): a record
 * damaged in the middle of the log may have whole ones after it, which
 * someone may want back.  Failing to keep them does not stop the cut:
 * the outbox must go on.
 */
static int outbox_cut(struct outbox *ob, uint64_t good, uint64_t size,
		      uint8_t *buf)
{
	ob->st.truncated = size - good;
	if (ob->keep_cut)
		ob->st.cut_error =
		    fs_copy_out(ob->fd, good, size, buf, OB_READ_CHUNK, ob->dir,
				OUTBOX_CUT_NAME, 0600);
	if (ftruncate(ob->fd, (off_t)good) < 0 || fdatasync(ob->fd) < 0)
		return -errno;
	return 0;
}

/*
 * What was read back is durable only once it is on disk: a daemon killed
 * between a write and its sync leaves the records in the page cache
 * alone, and with "outbox-sync always" the owner sends only what
 * outbox_durable covers.  So the log is synced here (its directory entry
 * was, when outbox_open_log created it); if that fails, nothing pending
 * counts as durable until a later sync of the whole log succeeds.
 */
static void outbox_load_durable(struct outbox *ob)
{
	if (ob->end > 0 && fdatasync(ob->fd) < 0) {
		int r = -errno;

		ob->synced = 0;
		ob->durable_seq = outbox_floor(ob);
		(void)outbox_fail(ob, r);
		return;
	}
	/* A renumbering that could not rewrite the log left it unwritten. */
	ob->durable_seq = ob->unwritten_seq - 1;
}

/* Read the log, cut a torn or corrupt tail, apply the bound. */
int outbox_load(struct outbox *ob)
{
	struct outbox_reader rd = { .fd = ob->fd };
	uint64_t good = 0;
	struct stat st;
	int r;

	if (fstat(ob->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	rd.buf = malloc(OB_READ_CHUNK);
	if (!rd.buf)
		return -ENOMEM;
	r = outbox_replay(ob, &rd, &good);
	if (r == 0 && good < (uint64_t)st.st_size)
		r = outbox_cut(ob, good, (uint64_t)st.st_size, rd.buf);
	free(rd.buf);
	if (r < 0)
		return r;
	ob->end = ob->synced = good;
	ob->unwritten_seq = ob->last_seq + 1;
	/* Replaying the log as it is gives this floor. */
	ob->floor_disk = outbox_floor(ob);
	ob->drop_disk = ob->drop_floor;
	outbox_bound(ob, NULL);
	ob->st.recovered = ob->st.pending;
	if (ob->last_seq > OB_SEQ_MAX)
		outbox_renumber(ob);
	outbox_load_durable(ob);
	return 0;
}

/* Open or create the log, alone: a second writer would corrupt it. */
int outbox_open_log(struct outbox *ob)
{
	char *tmp = fs_join(ob->dir, OB_TMP);
	bool created = false;
	int r = 0;

	if (!tmp)
		return -ENOMEM;
	ob->fd = open(ob->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ob->fd < 0 && errno == ENOENT) {
		ob->fd =
		    open(ob->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = true;
	}
	if (ob->fd < 0)
		r = -errno;
	else if (flock(ob->fd, LOCK_EX | LOCK_NB) < 0)
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	/* A compaction cut short by a crash leaves its temp file; if it
	 * cannot go, the next compaction says why. */
	if (r == 0)
		unlink(tmp);
	if (r == 0 && created)
		r = fs_fsync_dir(ob->dir);
	free(tmp);
	return r;
}
