/* SPDX-License-Identifier: MIT */
/*
 * outbox.c: the durable queue behind the cloud link.
 *
 * On disk, dir/log is a sequence of records (outbox_int.h has their
 * format, outbox_rec.c writes and reads them): STATE and EVENT records
 * carry a message, TOPIC records name a topic once per file for them, and
 * the marks carry only a seq and are written by outbox_sync when they
 * moved, so an ack costs nothing until then (with outbox-sync always,
 * with each put too: after a crash, fewer messages are sent twice):
 *	ACK n	every message with seq <= n is gone (the ack floor);
 *	DROP n	every EVENT with seq <= n is gone (dropped, bound);
 *	SEQ n	seqs up to n were used (heads a compacted log).
 * Messages are written in seq order, and a state later in the log replaces
 * an earlier one for its topic, so replaying the log rebuilds the pending
 * set.  Acks above the floor live in memory only (until a compaction):
 * after a crash those messages are sent again, which QoS 1 (at least
 * once) allows.
 *
 * Recovery stops at the first record that is short, has a bad head or
 * CRC, or makes no sense (unknown type, seq going back), and cuts the
 * file there.  A corrupt record in the middle therefore loses all that
 * follows it: its length cannot be trusted to find the next record, and
 * hunting for the magic could take a payload for a record.  A log whose
 * seqs run past any outbox's life is renumbered (outbox_renumber).
 *
 * Compaction, at a sync once the log is OB_COMPACT_MIN bytes and
 * OB_COMPACT_RATIO times what is pending (and that is not a backlog the
 * broker is draining: outbox_compact_due), replaces the log by a new one
 * holding a SEQ record and the pending messages (temp file, fsync, rename,
 * fsync dir).  When nothing pending is in the log it is reset in place
 * instead (outbox_reset): the SEQ record is written over its start before the
 * file is cut, never after, so no crash sends seqs back.
 *
 * A failed write (full disk) leaves the message queued in memory; the
 * next put or sync cuts what the write left and writes again from the
 * first message not in the log.  A full disk that the outbox filled
 * itself is freed by a reset as soon as the broker has taken what was in
 * the log.  The log is locked (flock): one writer.
 *
 * The bound drops the oldest events; it never drops states (one per
 * value, so bounded by the network) nor the message being put, so states
 * plus the newest event may stay over max_bytes.
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
#define OB_SLOTS_MIN   64
#define OB_MAP_MIN     16
#define OB_LOG	       OUTBOX_LOG_NAME
#define OB_TMP	       ".log.tmp"
/* More seqs than an outbox lives to hand out (at a million messages a
 * second, 290,000 years): a log that claims more is damaged. */
#define OB_SEQ_MAX (UINT64_C(1) << 63)

struct outbox_item {
	struct outbox_item *prev, *next; /* the events, oldest first */
	uint64_t seq;
	uint64_t off;  /* of its record in the log, once written */
	uint64_t noff; /* ... in the log a compaction is writing */
	uint64_t hash; /* of the topic */
	uint32_t len;
	uint16_t tlen;
	uint8_t kind;
	char topic[]; /* tlen bytes, NUL, then len bytes of payload */
};

/* The pending messages in seq order; m is NULL once a message is gone. */
struct outbox_slot {
	uint64_t seq;
	struct outbox_item *m;
};

/* Topic -> pending state: open addressing, linear probing. */
struct outbox_map {
	struct outbox_item **v;
	size_t cap, n;
};

struct outbox {
	char *dir, *path;
	int fd;
	struct outbox_topics *topics; /* named in the log, and their ids */
	struct outbox_scope *scope;   /* topics a record may have */
	uint64_t max_bytes;
	unsigned sync_ms;
	struct outbox_slot *slots; /* [head, tail) in use, head live if any */
	size_t head, tail, cap, live;
	struct outbox_map states;
	struct outbox_item *ev_first, *ev_last;
	uint64_t last_seq;	/* highest seq handed out */
	uint64_t unwritten_seq; /* pending from this seq on are not written */
	uint64_t data_seq;	/* last message record seen at open */
	uint64_t end;		/* where the next record goes */
	uint64_t synced;	/* bytes of the log known to be on disk */
	bool trunc_needed;	/* a failed write may have left bytes at end */
	bool reset_due; /* outbox_reset did not finish: nothing may follow */
	bool keep_cut;	/* opts.keep_cut */
	uint64_t floor_disk; /* ack floor the log says */
	uint64_t drop_floor, drop_disk;
	uint64_t acked; /* messages acknowledged since the last sync */
	struct outbox_stats st;
};

static const void *msg_payload(const struct outbox_item *m)
{
	return m->topic + m->tlen + 1;
}

static uint64_t msg_bytes(const struct outbox_item *m)
{
	return (uint64_t)m->tlen + m->len;
}

static struct outbox_item *msg_new(enum outbox_kind kind, uint64_t seq,
				   const char *topic, size_t tlen,
				   const void *payload, size_t len)
{
	struct outbox_item *m = malloc(sizeof(*m) + tlen + 1 + len);

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->kind = (uint8_t)kind;
	m->tlen = (uint16_t)tlen;
	m->len = (uint32_t)len;
	m->hash = outbox_topic_hash(topic, tlen);
	memcpy(m->topic, topic, tlen);
	m->topic[tlen] = '\0';
	if (len)
		memcpy(m->topic + tlen + 1, payload, len);
	return m;
}

/* The slot of m's topic, or the empty slot where it would go. */
static size_t map_find(const struct outbox_map *map,
		       const struct outbox_item *m)
{
	size_t mask = map->cap - 1, i = m->hash & mask;
	const struct outbox_item *o;

	while ((o = map->v[i])) {
		if (o->hash == m->hash && o->tlen == m->tlen &&
		    memcmp(o->topic, m->topic, m->tlen) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static int map_reserve(struct outbox_map *map)
{
	struct outbox_map nm;

	if ((map->n + 1) * 2 <= map->cap)
		return 0;
	nm.cap = map->cap ? map->cap * 2 : OB_MAP_MIN;
	nm.n = map->n;
	nm.v = calloc(nm.cap, sizeof(*nm.v));
	if (!nm.v)
		return -ENOMEM;
	for (size_t i = 0; i < map->cap; i++) {
		if (map->v[i])
			nm.v[map_find(&nm, map->v[i])] = map->v[i];
	}
	free(map->v);
	*map = nm;
	return 0;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void map_del(struct outbox_map *map, size_t i)
{
	size_t mask = map->cap - 1, j = i, k;

	map->v[i] = NULL;
	map->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!map->v[j])
			return;
		k = map->v[j]->hash & mask;
		/* Leave it when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		map->v[i] = map->v[j];
		map->v[j] = NULL;
		i = j;
	}
}

/* The first slot with a seq >= seq, or tail. */
static size_t slot_find(const struct outbox *ob, uint64_t seq)
{
	size_t lo = ob->head, hi = ob->tail;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ob->slots[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void slot_squeeze(struct outbox *ob)
{
	size_t n = 0;

	for (size_t i = ob->head; i < ob->tail; i++) {
		if (ob->slots[i].m)
			ob->slots[n++] = ob->slots[i];
	}
	ob->head = 0;
	ob->tail = n;
}

static int slot_reserve(struct outbox *ob)
{
	struct outbox_slot *ns;
	size_t ncap;

	if (ob->tail < ob->cap)
		return 0;
	if (ob->live < ob->cap / 2) {
		slot_squeeze(ob);
		return 0;
	}
	ncap = ob->cap ? ob->cap * 2 : OB_SLOTS_MIN;
	ns = realloc(ob->slots, ncap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ob->slots = ns;
	ob->cap = ncap;
	return 0;
}

/*
 * Gaps left by out-of-order removal are squeezed out once they outnumber
 * the live slots three to one, so outbox_next skips few of them.
 */
static void slot_clear(struct outbox *ob, size_t i)
{
	ob->slots[i].m = NULL;
	ob->live--;
	while (ob->head < ob->tail && !ob->slots[ob->head].m)
		ob->head++;
	if (ob->live == 0)
		ob->head = ob->tail = 0;
	else if (ob->tail - ob->head >= OB_SLOTS_MIN &&
		 ob->live < (ob->tail - ob->head) / 4)
		slot_squeeze(ob);
}

static void outbox_remove(struct outbox *ob, size_t i)
{
	struct outbox_item *m = ob->slots[i].m;

	if (m->kind == OUTBOX_STATE) {
		map_del(&ob->states, map_find(&ob->states, m));
		ob->st.states--;
	} else {
		if (m->prev)
			m->prev->next = m->next;
		else
			ob->ev_first = m->next;
		if (m->next)
			m->next->prev = m->prev;
		else
			ob->ev_last = m->prev;
		ob->st.events--;
	}
	ob->st.pending--;
	ob->st.pending_bytes -= msg_bytes(m);
	slot_clear(ob, i);
	free(m);
}

/* Queue m after every pending message; a state replaces its topic's. */
static int outbox_insert(struct outbox *ob, struct outbox_item *m)
{
	size_t i;
	int r;

	r = slot_reserve(ob);
	if (r == 0 && m->kind == OUTBOX_STATE)
		r = map_reserve(&ob->states);
	if (r < 0)
		return r;
	if (m->kind == OUTBOX_STATE) {
		i = map_find(&ob->states, m);
		if (ob->states.v[i]) {
			outbox_remove(ob, slot_find(ob, ob->states.v[i]->seq));
			i = map_find(&ob->states, m);
		}
		ob->states.v[i] = m;
		ob->states.n++;
		ob->st.states++;
	} else {
		m->prev = ob->ev_last;
		if (ob->ev_last)
			ob->ev_last->next = m;
		else
			ob->ev_first = m;
		ob->ev_last = m;
		ob->st.events++;
	}
	ob->slots[ob->tail].seq = m->seq;
	ob->slots[ob->tail++].m = m;
	ob->live++;
	ob->st.pending++;
	ob->st.pending_bytes += msg_bytes(m);
	return 0;
}

/* Drop the oldest events until under the bound, sparing keep. */
static void outbox_bound(struct outbox *ob, const struct outbox_item *keep)
{
	while (ob->st.pending_bytes > ob->max_bytes && ob->ev_first &&
	       ob->ev_first != keep) {
		ob->drop_floor = ob->ev_first->seq;
		outbox_remove(ob, slot_find(ob, ob->ev_first->seq));
		ob->st.dropped++;
	}
}

/* Every seq up to this one is gone. */
static uint64_t outbox_floor(const struct outbox *ob)
{
	return ob->live ? ob->slots[ob->head].seq - 1 : ob->last_seq;
}

static int rec_write_msg(int fd, uint64_t *off, struct outbox_topics *t,
			 const struct outbox_item *m)
{
	return outbox_rec_write_msg(fd, off, t, m->seq,
				    (enum outbox_kind)m->kind, m->topic,
				    m->tlen, msg_payload(m), m->len);
}

static int outbox_fail(struct outbox *ob, int r)
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
		r = rec_write_msg(ob->fd, &off, ob->topics, m);
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
	for (size_t i = slot_find(ob, ob->unwritten_seq); i < ob->tail; i++) {
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
static bool outbox_reclaim(struct outbox *ob, int r)
{
	return outbox_no_space(r) && outbox_log_idle(ob) &&
	       ob->end > OB_SEQ_REC_MAX && outbox_reset(ob) == 0;
}

/* Write what is not in the log yet. */
static int outbox_write(struct outbox *ob)
{
	int r = ob->reset_due ? outbox_reset(ob) : 0;

	if (r == 0)
		r = outbox_write_new(ob);
	if (outbox_reclaim(ob, r))
		r = outbox_write_new(ob);
	return r;
}

static int outbox_write_marks(struct outbox *ob)
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
static void outbox_unsync(struct outbox *ob)
{
	size_t i = slot_find(ob, ob->unwritten_seq);

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

static int outbox_fsync(struct outbox *ob)
{
	if (ob->synced == ob->end)
		return 0;
	if (fdatasync(ob->fd) < 0) {
		int r = -errno;

		outbox_unsync(ob);
		return outbox_fail(ob, r);
	}
	ob->synced = ob->end;
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
		r = rec_write_msg(fd, off, ob->topics, m);
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

static int outbox_compact(struct outbox *ob)
{
	char *tmp = fs_join(ob->dir, OB_TMP);
	uint64_t size = 0;
	int fd, r;

	if (outbox_log_idle(ob)) {
		free(tmp);
		return outbox_reset(ob);
	}
	if (!tmp)
		return outbox_fail(ob, -ENOMEM);
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
	return r < 0 ? outbox_fail(ob, r) : 0;
}

/*
 * A compaction copies what is pending.  A backlog the broker is taking
 * faster than one message per message pending since the last sync (the
 * replay after an outage) will be gone by the next one, when the idle
 * log is reset in place for nothing: copying it now would write it to
 * the SD card twice.  So a large backlog waits, as long as the acks are
 * in order (the ack floor on disk says them; acks above it are known in
 * memory only until a compaction, and are sent again after a crash) and
 * the log has not grown past what the bound lets it hold.
 */
static bool outbox_compact_due(const struct outbox *ob)
{
	uint64_t live =
	    ob->st.pending_bytes + OB_MSG_TYPICAL * (ob->st.pending + 1);
	uint64_t above_floor = ob->last_seq - outbox_floor(ob);

	if (ob->end < OB_COMPACT_MIN || ob->end <= OB_COMPACT_RATIO * live)
		return false;
	return ob->st.pending_bytes <= OB_COMPACT_COPY_MAX ||
	       ob->acked < ob->st.pending ||
	       above_floor - ob->st.pending > OB_COMPACT_HOLES_MAX ||
	       ob->end > OB_COMPACT_RATIO * ob->max_bytes;
}

int outbox_sync(struct outbox *ob)
{
	int r = outbox_write(ob);

	if (r == 0)
		r = outbox_write_marks(ob);
	/* No room for the marks: a reset says what they would have. */
	if (outbox_reclaim(ob, r))
		r = outbox_write(ob);
	if (r == 0)
		r = outbox_fsync(ob);
	if (r == 0 && outbox_compact_due(ob))
		r = outbox_compact(ob);
	if (r == 0)
		ob->st.last_error = 0;
	ob->acked = 0;
	return r;
}

bool outbox_dirty(const struct outbox *ob)
{
	uint64_t floor = outbox_floor(ob);

	return ob->trunc_needed || ob->reset_due || ob->end > ob->synced ||
	       ob->unwritten_seq <= ob->last_seq || floor > ob->floor_disk ||
	       (ob->drop_floor > ob->drop_disk && ob->drop_floor > floor);
}

int outbox_put(struct outbox *ob, enum outbox_kind kind, const char *topic,
	       const void *payload, size_t len, uint64_t *ret_seq)
{
	struct outbox_item *m;
	uint64_t seq;
	size_t tlen;
	int r;

	if ((kind != OUTBOX_STATE && kind != OUTBOX_EVENT) || !topic ||
	    (len && !payload) || len > OUTBOX_PAYLOAD_MAX)
		return -EINVAL;
	tlen = strnlen(topic, OUTBOX_TOPIC_MAX);
	if (!outbox_topic_ok(topic, tlen))
		return -EINVAL;
	if (!outbox_scope_allows(ob->scope, topic, tlen))
		return -EPERM; /* see outbox_opts */
	if (tlen + len > ob->max_bytes)
		return -EFBIG;
	if (ob->last_seq == UINT64_MAX)
		return -EOVERFLOW;
	seq = ob->last_seq + 1;
	m = msg_new(kind, seq, topic, tlen, payload, len);
	if (!m)
		return -ENOMEM;
	r = outbox_insert(ob, m);
	if (r < 0) {
		free(m);
		return r;
	}
	ob->last_seq = seq;
	outbox_bound(ob, m);
	r = outbox_write(ob);
	/* The marks ride along with the message's fsync; if they do not
	 * fit, the next sync writes them, and the message is safe anyway. */
	if (r == 0 && ob->sync_ms == 0)
		(void)outbox_write_marks(ob);
	if (r == 0 && ob->sync_ms == 0)
		r = outbox_fsync(ob);
	if (r < 0)
		return r;
	ob->st.last_error = 0;
	*ret_seq = seq;
	return 0;
}

int outbox_ack(struct outbox *ob, uint64_t seq)
{
	size_t i = slot_find(ob, seq);

	if (i == ob->tail || ob->slots[i].seq != seq || !ob->slots[i].m)
		return -ENOENT;
	outbox_remove(ob, i);
	ob->acked++;
	return 0;
}

int outbox_next(const struct outbox *ob, uint64_t after, struct outbox_msg *ret)
{
	const struct outbox_item *m;
	size_t i;

	if (after == UINT64_MAX)
		return -ENOENT;
	for (i = slot_find(ob, after + 1); i < ob->tail; i++) {
		m = ob->slots[i].m;
		if (!m)
			continue;
		*ret = (struct outbox_msg){
			.seq = m->seq,
			.kind = (enum outbox_kind)m->kind,
			.topic = m->topic,
			.payload = msg_payload(m),
			.len = m->len,
		};
		return 0;
	}
	return -ENOENT;
}

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *ret)
{
	*ret = ob->st;
	ret->unwritten = 0;
	for (size_t i = slot_find(ob, ob->unwritten_seq); i < ob->tail; i++)
		ret->unwritten += ob->slots[i].m != NULL;
}

const char *outbox_path(const struct outbox *ob)
{
	return ob->path;
}

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
			outbox_remove(ob, slot_find(ob, ob->ev_first->seq));
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
	m = msg_new(kind, rec->seq, rec->topic, rec->tlen, rec->payload,
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

	slot_squeeze(ob);
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

/* Read the log, cut a torn or corrupt tail, apply the bound. */
static int outbox_load(struct outbox *ob)
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
	return 0;
}

/* Open or create the log, alone: a second writer would corrupt it. */
static int outbox_open_log(struct outbox *ob)
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

int outbox_open(const char *dir, const struct outbox_opts *opts,
		struct outbox **ret)
{
	struct outbox *ob;
	int r;

	if (opts && opts->max_bytes && opts->max_bytes < OUTBOX_MIN_MAX_BYTES)
		return -EINVAL;
	r = fs_ensure_dir(dir, 0700);
	if (r < 0)
		return r;
	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	ob->fd = -1;
	ob->max_bytes = opts && opts->max_bytes ? opts->max_bytes
						: OUTBOX_DEFAULT_MAX_BYTES;
	ob->sync_ms = opts ? opts->sync_ms : OUTBOX_DEFAULT_SYNC_MS;
	ob->keep_cut = opts && opts->keep_cut;
	ob->dir = strdup(dir);
	ob->path = fs_join(dir, OB_LOG);
	ob->topics = outbox_topics_new();
	r = ob->dir && ob->path && ob->topics ? 0 : -ENOMEM;
	if (r == 0)
		r = outbox_scope_new(opts ? opts->topics : NULL,
				     opts ? opts->refused : NULL, &ob->scope);
	if (r == 0)
		r = outbox_open_log(ob);
	if (r == 0)
		r = outbox_load(ob);
	if (r < 0) {
		outbox_free(ob);
		return r;
	}
	*ret = ob;
	return 0;
}

struct outbox *outbox_free(struct outbox *ob)
{
	if (!ob)
		return NULL;
	for (size_t i = ob->head; i < ob->tail; i++)
		free(ob->slots[i].m);
	free(ob->slots);
	free(ob->states.v);
	outbox_topics_free(ob->topics);
	outbox_scope_free(ob->scope);
	if (ob->fd >= 0)
		close(ob->fd);
	free(ob->dir);
	free(ob->path);
	free(ob);
	return NULL;
}
