/* SPDX-License-Identifier: MIT */
/*
 * outbox.h: the durable queue of everything published and not yet
 * acknowledged by the broker.  Pure C: files and a caller-driven sync,
 * no libuv, no mosquitto.
 *
 * Two kinds of message:
 * - STATE (retained): one per topic; a newer one replaces a pending older
 *   one (latest wins), so an outage costs at most one message per value.
 * - EVENT (not retained): appended in order; none is replaced.
 * Every message gets a sequence number, increasing over the outbox's life
 * (also across restarts).  Pending messages are handed out in sequence
 * order.  A message stays until outbox_ack() says the broker has it.
 *
 * Durability: messages are written to a log of records with length and
 * CRC under dir.  With sync_ms == 0 ("outbox-sync always") outbox_put
 * returns only once its record is on disk (fsync); otherwise records are
 * written at once and fsynced by outbox_sync(), which the caller runs
 * every sync_ms while outbox_dirty() says so: a crash loses at most that
 * window of messages (SD cards wear; the window is documented in
 * zwgate.conf(5)).  A torn tail left by a crash is truncated on open.
 *
 * Bounds: the pending bytes stay under max_bytes by dropping the oldest
 * events first; drops are counted.  States are never dropped for events.
 */
#ifndef ZWGATE_OUTBOX_H
#define ZWGATE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_TOPIC_MAX	 512	      /* bytes of a topic, with NUL */
#define OUTBOX_PAYLOAD_MAX	 (256 * 1024) /* bytes of one payload */
#define OUTBOX_DEFAULT_MAX_BYTES (16 * 1024 * 1024)
#define OUTBOX_MIN_MAX_BYTES	 (64 * 1024)
#define OUTBOX_DEFAULT_SYNC_MS	 1000
#define OUTBOX_LOG_NAME		 "log"	   /* in dir */
#define OUTBOX_CUT_NAME		 "log.cut" /* in dir, with keep_cut */

enum outbox_kind {
	OUTBOX_STATE, /* retained, coalesced per topic */
	OUTBOX_EVENT, /* not retained, appended */
};

struct outbox_opts {
	uint64_t max_bytes; /* pending payload+topic bytes */
	unsigned sync_ms;   /* 0: fsync on every put */
	bool keep_cut;	    /* copy what recovery cuts to OUTBOX_CUT_NAME */
	/*
	 * The topics this outbox's owner publishes to: those under one of
	 * these prefixes ("zwgate/home-42/", "homeassistant/+/zwgate_"),
	 * where a level "+" stands for one non-empty level, NULL-ended;
	 * NULL: any topic.  A message for any other topic found at open
	 * was not written by this owner (a log copied from another gateway,
	 * or crafted to have this one publish under its identity): it is
	 * dropped and counted (stats.foreign), never handed out; outbox_put
	 * refuses it (-EPERM).
	 */
	const char *const *topics;
	/*
	 * Topics never held, matched whole ("+" again one level),
	 * NULL-ended, or NULL: the ones its owner subscribes to.  The
	 * broker sends a message published there back to the owner, so a
	 * record planted in the log for one of them would come back as a
	 * command ("P/node/+/+/+/+/set").  Refused by outbox_put (-EPERM)
	 * and, found at open, dropped and counted with the foreign ones.
	 */
	const char *const *refused;
};

/* A pending message; pointers valid until the next outbox_put/ack/free. */
struct outbox_msg {
	uint64_t seq;
	enum outbox_kind kind;
	const char *topic;
	const void *payload;
	size_t len;
};

struct outbox_stats {
	uint64_t pending;	/* messages */
	uint64_t pending_bytes; /* counted against max_bytes */
	uint64_t states, events;
	uint64_t dropped;	/* events dropped to stay bounded, ever */
	uint64_t bytes_written; /* to the log since open */
	uint64_t recovered;	/* messages loaded at open */
	uint64_t foreign;	/* dropped at open: outside opts.topics or
				 * refused (opts.refused) */
	uint64_t truncated;	/* bytes of torn tail cut at open */
	int cut_error;		/* -errno if they could not be kept, or 0 */
	uint64_t unwritten;	/* pending messages held in memory only */
	int last_error;		/* -errno of the last failed write, or 0 */
};

struct outbox;

/*
 * Open (creating dir, mode 0700, if missing) and load what is pending.
 * A corrupt or torn tail is cut, never fatal (with keep_cut its bytes
 * are kept in dir/OUTBOX_CUT_NAME first); an unreadable directory or log
 * is -errno (-EINVAL: the log is not a regular file).  0 or -errno.
 */
int outbox_open(const char *dir, const struct outbox_opts *opts,
		struct outbox **ret);
/* Free without syncing (call outbox_sync first for a clean stop). */
struct outbox *outbox_free(struct outbox *ob);

/*
 * Queue a message.  0 with *ret_seq set, -EINVAL (bad topic, payload too
 * large), -EFBIG (larger than max_bytes by itself), or -errno of a
 * failed write (-ENOSPC): the message is then still queued in memory and
 * the write is retried by the next outbox_sync.  On a full disk, a log
 * that holds nothing pending any more is cut in place to free its space.
 */
int outbox_put(struct outbox *ob, enum outbox_kind kind, const char *topic,
	       const void *payload, size_t len, uint64_t *ret_seq);

/* The broker has seq.  0, or -ENOENT (unknown, replaced or acked). */
int outbox_ack(struct outbox *ob, uint64_t seq);

/* The first pending message with seq > after.  0 or -ENOENT. */
int outbox_next(const struct outbox *ob, uint64_t after,
		struct outbox_msg *ret);

/* Write what is buffered, fsync, compact when worth it.  0 or -errno. */
int outbox_sync(struct outbox *ob);
/* Is there anything outbox_sync has to do? */
bool outbox_dirty(const struct outbox *ob);

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *ret);
/* The log file, for messages about it. */
const char *outbox_path(const struct outbox *ob);

#endif
