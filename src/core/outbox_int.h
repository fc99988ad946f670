/* SPDX-License-Identifier: MIT */
/*
 * outbox_int.h: the outbox's log records and its state in memory, shared
 * by outbox.c (the queue), outbox_log.c (writing the log), outbox_load.c
 * (reading it back at open) and outbox_rec.c (how records are written and
 * read back).  Not for other modules.
 *
 * A record, integers little-endian:
 *
 *	u32 head	magic << 24 | length of the body
 *	u32 crc		CRC-32C of head and body
 *	body
 *
 * Magic 0xA6, the records written today, a body of
 *	u8 type, then
 *	STATE, EVENT:	 varint seq, varint topic id, payload
 *	ACK, DROP, SEQ:	 varint seq
 *	TOPIC:		 varint topic id, topic (no NUL)
 * where a varint is LEB128 (7 bits a byte, low first, at most 10 bytes).
 * A TOPIC record names an id for the records after it in the same file:
 * the latest one for an id wins, and a file starts with none, so ids are
 * the writer's business.  A topic is thus written once per log (and
 * again after a compaction or a cut), not with every message: an event of
 * a 48-byte topic and a 44-byte payload takes 58 bytes instead of 111.
 *
 * Magic 0xA5, the records of zwgate 0.1 (read, never written):
 *	u64 seq, u8 type, u16 topic length, topic, payload   (STATE, EVENT)
 *	u64 seq, u8 type                                     (marks)
 */
#ifndef ZWGATE_OUTBOX_INT_H
#define ZWGATE_OUTBOX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

#define OB_MAGIC      0xA6u
#define OB_MAGIC_V1   0xA5u
#define OB_HEAD	      8	 /* head + crc */
#define OB_V1_FIXED   11 /* seq + type + topic length */
#define OB_VARINT_MAX 10
/* The most a message record adds to its topic and payload. */
#define OB_MSG_OVERHEAD (OB_HEAD + 1 + 2 * OB_VARINT_MAX)
#define OB_BODY_MAX	(1 + 2 * OB_VARINT_MAX + OUTBOX_PAYLOAD_MAX)
#define OB_V1_BODY_MAX	(OB_V1_FIXED + OUTBOX_TOPIC_MAX - 1 + OUTBOX_PAYLOAD_MAX)
/* Topic ids a log may use; a writer that has handed them all out starts
 * again from 0 (a later TOPIC record wins). */
#define OB_TOPIC_IDS 65536

#define OB_READ_CHUNK (512 * 1024) /* bytes read at a time at open */

_Static_assert(OB_V1_BODY_MAX < (1 << 24), "body length must fit 24 bits");
_Static_assert(OB_READ_CHUNK >= OB_HEAD + OB_V1_BODY_MAX,
	       "chunk holds a record");
_Static_assert(OB_BODY_MAX <= OB_V1_BODY_MAX, "a v2 body is never larger");

enum outbox_type {
	OB_REC_STATE = 1,
	OB_REC_EVENT,
	OB_REC_ACK,
	OB_REC_DROP,
	OB_REC_SEQ,
	OB_REC_TOPIC,
};

/* A record read back: topic and payload point into the reader's memory. */
struct outbox_rec {
	enum outbox_type type;
	uint64_t seq;
	const char *topic;
	size_t tlen;
	const void *payload;
	size_t len;
};

/*
 * The writer's topics: which have a TOPIC record in the current file,
 * under which id.  A record counts only in the generation it was written
 * in; the owner starts a new generation whenever the log loses bytes (a
 * cut, a reset, a compaction into a new file), so a topic whose record
 * may be gone is named again.
 */
struct outbox_topics;

struct outbox_topics *outbox_topics_new(void);
struct outbox_topics *outbox_topics_free(struct outbox_topics *t);
/* A new generation: no topic is named in the file any more. */
void outbox_topics_forget(struct outbox_topics *t);

/*
 * Write a message record at *off of fd, its topic's TOPIC record first
 * when the file has none in this generation, and move *off past them.
 * 0 or -errno (-ENOSPC for a file size limit too); on failure nothing is
 * marked written and *off is unchanged, though bytes may have reached the
 * file (the caller cuts them).
 */
int outbox_rec_write_msg(int fd, uint64_t *off, struct outbox_topics *t,
			 uint64_t seq, enum outbox_kind kind, const char *topic,
			 size_t tlen, const void *payload, size_t len);
/* A mark (ACK, DROP, SEQ) at *off; the same contract. */
int outbox_rec_write_mark(int fd, uint64_t *off, enum outbox_type type,
			  uint64_t seq);
/* The whole of iov to fd at off; 0 or -errno, -ENOSPC for EFBIG or 0. */
struct iovec;
int outbox_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off);

/*
 * The reader's topics: id -> topic, as the TOPIC records read so far in
 * one file say.
 */
struct outbox_names {
	char **v;
	size_t cap;
};

void outbox_names_clear(struct outbox_names *n);

/*
 * The length of the body of the record whose head is at p (OB_HEAD
 * bytes), or 0 if p is no record head.
 */
size_t outbox_rec_body_len(const uint8_t *p);
/*
 * Decode the record at p (head, crc and body_len bytes of body).  A TOPIC
 * record is taken into names.  0, -EBADMSG (bad CRC, nonsense: recovery
 * stops here), -ENOMEM.
 */
int outbox_rec_read(const uint8_t *p, size_t body_len,
		    struct outbox_names *names, struct outbox_rec *ret);

/* The log as read at open, OB_READ_CHUNK bytes at a time. */
struct outbox_reader {
	int fd;
	uint8_t *buf;  /* OB_READ_CHUNK bytes */
	uint64_t base; /* file offset of buf[0] */
	size_t fill;
	int err;
};

/* len bytes of the log at off, or NULL at its end or on a read error. */
const uint8_t *outbox_rd_get(struct outbox_reader *rd, uint64_t off,
			     size_t len);

/*
 * The topics a log may hold (outbox_opts.topics and .refused): those
 * under one of a list of prefixes and none of a list of refused topics,
 * where a level "+" matches one non-empty level.  A NULL scope takes
 * every topic.
 */
struct outbox_scope;

/* Copies of both lists (NULL-terminated; NULL prefixes: any topic; both
 * NULL: *ret is NULL). */
int outbox_scope_new(const char *const *prefixes, const char *const *refused,
		     struct outbox_scope **ret);
struct outbox_scope *outbox_scope_free(struct outbox_scope *sc);
/* Is t (n bytes, no NUL) under one of the prefixes and not refused? */
bool outbox_scope_allows(const struct outbox_scope *sc, const char *t,
			 size_t n);

/* A topic one may publish to: no wildcards, no NUL, UTF-8. */
bool outbox_topic_ok(const char *t, size_t n);
uint64_t outbox_topic_hash(const char *t, size_t n);

/* The temporary file of a compaction, beside the log. */
#define OB_TMP ".log.tmp"

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
	bool deferred;	/* opts.deferred */
	bool job_out;	/* between outbox_sync_begin and _end */
	bool dir_due;	/* a compacted log's rename is not synced yet */
	uint64_t durable_seq; /* every seq up to it is on disk (or gone) */
	uint64_t floor_disk;  /* ack floor the log says */
	uint64_t drop_floor, drop_disk;
	/* Messages acknowledged since outbox_compact_due was last asked
	 * (at a sync, or a job's begin, that wrote all it had to). */
	uint64_t acked;
	uint64_t compact_retry; /* after a failed compaction: the log's
				 * length before another is tried */
	struct outbox_stats st;
};

/* outbox.c: the pending messages in memory. */
const void *outbox_msg_payload(const struct outbox_item *m);
struct outbox_item *outbox_msg_new(enum outbox_kind kind, uint64_t seq,
				   const char *topic, size_t tlen,
				   const void *payload, size_t len);
/* The first slot of a seq not below seq (ob->tail: none). */
size_t outbox_slot_find(const struct outbox *ob, uint64_t seq);
void outbox_slot_squeeze(struct outbox *ob);
int outbox_insert(struct outbox *ob, struct outbox_item *m);
void outbox_remove(struct outbox *ob, size_t i);
/* Drops the oldest events until under the bound, sparing keep. */
void outbox_bound(struct outbox *ob, const struct outbox_item *keep);
/* Every seq up to the one returned is gone. */
uint64_t outbox_floor(const struct outbox *ob);
/* Pending messages not in the log. */
uint64_t outbox_unwritten(const struct outbox *ob);
/* A write went well: the last error is over once nothing is unwritten. */
void outbox_clear_error(struct outbox *ob);

/* outbox_log.c: writing the log.  0 or -errno. */
int outbox_write(struct outbox *ob);
int outbox_write_marks(struct outbox *ob);
int outbox_fsync(struct outbox *ob);
int outbox_compact(struct outbox *ob);
/* Records a failed write's error as the last one; returns r. */
int outbox_fail(struct outbox *ob, int r);
/* A full disk: give the space of an idle log back (a reset, in place). */
bool outbox_reclaim(struct outbox *ob, int r);
/* After a failed fdatasync: everything since the last good one again. */
void outbox_unsync(struct outbox *ob);
/* Is a compaction worth it now?  Asking starts a new count of acks. */
bool outbox_compact_due(struct outbox *ob);
/* The outcome of a compaction (r: 0 or -errno), said apart from the
 * log's own writes and syncs; a failure backs off.  Returns r. */
int outbox_compact_result(struct outbox *ob, int r);
int outbox_write_item(int fd, uint64_t *off, struct outbox_topics *t,
		      const struct outbox_item *m);

/* outbox_job.c: the sync split for an owner that runs it elsewhere. */

/* outbox_load.c: the log read back at open.  0 or -errno. */
int outbox_load(struct outbox *ob);
int outbox_open_log(struct outbox *ob);

#endif
