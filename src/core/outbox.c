/* SPDX-License-Identifier: MIT */
/*
 * outbox.c: the durable queue behind the cloud link: the pending
 * messages in memory (in seq order, states by topic, events oldest
 * first), the bound, and the interface of outbox.h.  Writing the log and
 * compacting it is outbox_log.c's, reading it back at open outbox_load.c's.
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
 * A compaction that fails leaves the old log: no failed write, and the
 * next waits until the log has grown by OB_COMPACT_MIN again
 * (outbox_compact_result).
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

#define OB_SLOTS_MIN 64
#define OB_MAP_MIN   16
#define OB_LOG	     OUTBOX_LOG_NAME

const void *outbox_msg_payload(const struct outbox_item *m)
{
	return m->topic + m->tlen + 1;
}

static uint64_t msg_bytes(const struct outbox_item *m)
{
	return (uint64_t)m->tlen + m->len;
}

struct outbox_item *outbox_msg_new(enum outbox_kind kind, uint64_t seq,
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
size_t outbox_slot_find(const struct outbox *ob, uint64_t seq)
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

void outbox_slot_squeeze(struct outbox *ob)
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
		outbox_slot_squeeze(ob);
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
		outbox_slot_squeeze(ob);
}

void outbox_remove(struct outbox *ob, size_t i)
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
int outbox_insert(struct outbox *ob, struct outbox_item *m)
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
			outbox_remove(
			    ob, outbox_slot_find(ob, ob->states.v[i]->seq));
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
void outbox_bound(struct outbox *ob, const struct outbox_item *keep)
{
	while (ob->st.pending_bytes > ob->max_bytes && ob->ev_first &&
	       ob->ev_first != keep) {
		ob->drop_floor = ob->ev_first->seq;
		outbox_remove(ob, outbox_slot_find(ob, ob->ev_first->seq));
		ob->st.dropped++;
	}
}

/* Every seq up to this one is gone. */
uint64_t outbox_floor(const struct outbox *ob)
{
	return ob->live ? ob->slots[ob->head].seq - 1 : ob->last_seq;
}

bool outbox_dirty(const struct outbox *ob)
{
	uint64_t floor = outbox_floor(ob);

	return ob->trunc_needed || ob->reset_due || ob->dir_due ||
	       ob->end > ob->synced || ob->unwritten_seq <= ob->last_seq ||
	       floor > ob->floor_disk ||
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
	m = outbox_msg_new(kind, seq, topic, tlen, payload, len);
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
	if (r == 0 && ob->sync_ms == 0 && !ob->deferred)
		(void)outbox_write_marks(ob);
	if (r == 0 && ob->sync_ms == 0 && !ob->deferred)
		r = outbox_fsync(ob);
	if (r < 0)
		return r;
	ob->st.last_error = 0;
	*ret_seq = seq;
	return 0;
}

int outbox_ack(struct outbox *ob, uint64_t seq)
{
	size_t i = outbox_slot_find(ob, seq);

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
	for (i = outbox_slot_find(ob, after + 1); i < ob->tail; i++) {
		m = ob->slots[i].m;
		if (!m)
			continue;
		*ret = (struct outbox_msg){
			.seq = m->seq,
			.kind = (enum outbox_kind)m->kind,
			.topic = m->topic,
			.payload = outbox_msg_payload(m),
			.len = m->len,
		};
		return 0;
	}
	return -ENOENT;
}

uint64_t outbox_unwritten(const struct outbox *ob)
{
	uint64_t n = 0;

	for (size_t i = outbox_slot_find(ob, ob->unwritten_seq); i < ob->tail;
	     i++)
		n += ob->slots[i].m != NULL;
	return n;
}

void outbox_clear_error(struct outbox *ob)
{
	if (outbox_unwritten(ob) == 0)
		ob->st.last_error = 0;
}

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *ret)
{
	*ret = ob->st;
	ret->unwritten = outbox_unwritten(ob);
}

const char *outbox_path(const struct outbox *ob)
{
	return ob->path;
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
	ob->deferred = opts && opts->deferred;
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
	*ret = ob; /* durable_seq: outbox_load's */
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
