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
 * Off the caller's thread (opts.deferred): outbox_put and
 * outbox_sync_begin write records (to the page cache) on the caller's
 * thread, and what waits for the disk -- fdatasync, the fsync of a
 * compacted log and of the directory -- is an outbox_job, which
 * outbox_job_run runs on any thread, touching only the job, its file
 * descriptors and the file system.  Ownership: from outbox_sync_begin
 * until outbox_sync_end, the job belongs to the thread running it and
 * the outbox to its owner, who may put, ack, write and read it
 * meanwhile (appends never touch what the job syncs: the job only
 * syncs, the log's fd is not closed, replaced or cut below job.end
 * while a job is out) but may neither begin another job nor free the
 * outbox.  outbox_durable() then says what is on disk: with sync_ms 0
 * the owner acknowledges a message only once it is.
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
	bool deferred;	    /* the owner runs the jobs: outbox_put never
			     * syncs, even with sync_ms 0 */
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
	uint64_t dropped;	 /* events dropped to stay bounded, ever */
	uint64_t bytes_written;	 /* to the log since open */
	uint64_t recovered;	 /* messages loaded at open */
	uint64_t foreign;	 /* dropped at open: outside opts.topics or
				  * refused (opts.refused) */
	uint64_t truncated;	 /* bytes of torn tail cut at open */
	int cut_error;		 /* -errno if they could not be kept, or 0 */
	uint64_t unwritten;	 /* pending messages held in memory only */
	int last_error;		 /* -errno of the last failed write, or 0
				  * once nothing is held in memory only */
	int compact_error;	 /* -errno of the last failed compaction, or
				  * 0 once one succeeds */
	uint64_t compact_failed; /* compactions that failed, since open */
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

/*
 * Write what is buffered, fsync, compact when worth it.  0 or -errno of
 * the write or the fsync.  A compaction that fails leaves the old log,
 * which holds everything: it is no failed write (stats.compact_error),
 * and is not tried again until the log has grown by another 64 KiB.
 */
int outbox_sync(struct outbox *ob);
/* Is there anything outbox_sync has to do? */
bool outbox_dirty(const struct outbox *ob);

/*
 * What waits for the disk; see "Off the caller's thread" above.  The
 * worker's part is fd, dir, cfd and the results; the rest is the
 * owner's, never read by outbox_job_run.
 */
struct outbox_job {
	int fd;		 /* -1, or the log, to fdatasync */
	const char *dir; /* NULL, or the directory to fsync after fd */
	int cfd;	 /* -1, or a compacted log not yet in place, to fsync */
	int result;	 /* of fd and dir: 0 or -errno */
	int cresult;	 /* of cfd: 0 or -errno */
	uint64_t end;	 /* log bytes fd's sync makes durable */
	uint64_t seq;	 /* every seq <= this is in those bytes */
	uint64_t cend, cseq;	  /* cfd: its size, its snapshot's last seq */
	uint64_t floor, drop;	  /* cfd: the marks it implies */
	struct outbox_topics *tp; /* cfd: the topics named in it */
};

/*
 * Write what is buffered and the marks (on the owner's thread) and fill
 * job with what waits for the disk: 1 (run it, then outbox_sync_end), 0
 * (nothing to wait for), -EBUSY (a job is out), -EINVAL (not opened
 * with opts.deferred), or -errno of a failed write (as outbox_sync).  A
 * compaction's copy is written here too, into a new file: its fsync is
 * the job, its rename outbox_sync_end's.
 */
int outbox_sync_begin(struct outbox *ob, struct outbox_job *job);
/* The job's part, on any thread: touches only job and the file system. */
void outbox_job_run(struct outbox_job *job);
/*
 * Back on the owner's thread: take the job's result.  0 or -errno of the
 * log's sync (a failed fdatasync makes everything since the last good
 * one unwritten, to be written again, as outbox_sync does).  A failed
 * compaction leaves the old log and does not count here: what the log's
 * sync made durable stays so (outbox_durable); stats.compact_error says
 * it, as after outbox_sync.  A compaction is put in place here: what was
 * put while it ran is copied after the snapshot, then the new log is
 * renamed over the old, so no moment leaves an accepted message out of
 * dir/log.
 */
int outbox_sync_end(struct outbox *ob, struct outbox_job *job);
/* Every seq up to this is on disk, or acknowledged. */
uint64_t outbox_durable(const struct outbox *ob);
/* The last seq outbox_put handed out. */
uint64_t outbox_last_seq(const struct outbox *ob);

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *ret);
/* The log file, for messages about it. */
const char *outbox_path(const struct outbox *ob);

#endif
