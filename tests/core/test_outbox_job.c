/* SPDX-License-Identifier: MIT */
/*
 * test_outbox_job: outbox_sync cut in three (outbox_job.c), as an owner
 * that runs the disk's part on another thread uses it: what the owner
 * does while a job is out, the order and the durable seq, a failed
 * fdatasync or fsync, and a compaction with messages put meanwhile.
 *
 * fdatasync and fsync are this file's (they win over libc's for the
 * whole program): they count calls and fail on demand, else make the
 * real system call.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbox.h"
#include "testutil.h"

static int fail_datasync, fail_fsync; /* errno to fail with, or 0 */
static unsigned n_datasync, n_fsync;

int fdatasync(int fd)
{
	n_datasync++;
	if (fail_datasync) {
		errno = fail_datasync;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	n_fsync++;
	if (fail_fsync) {
		errno = fail_fsync;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

struct fixture {
	char dir[256];
	char log[300];
	struct outbox *ob;
	struct outbox_job job;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "outbox_job") < 0) {
		free(f);
		return -1;
	}
	strcat(f->dir, "/outbox");
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
	fail_datasync = fail_fsync = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	outbox_free(f->ob);
	*strrchr(f->dir, '/') = '\0';
	r = tu_rm_rf(f->dir);
	free(f);
	return r;
}

static void reopen(struct fixture *f, unsigned sync_ms)
{
	struct outbox_opts o = { .sync_ms = sync_ms, .deferred = true };

	f->ob = outbox_free(f->ob);
	assert_int_equal(outbox_open(f->dir, &o, &f->ob), 0);
}

static uint64_t put(struct outbox *ob, enum outbox_kind kind, const char *topic,
		    const char *payload)
{
	uint64_t seq = 0;

	assert_int_equal(
	    outbox_put(ob, kind, topic, payload, strlen(payload), &seq), 0);
	return seq;
}

static struct outbox_stats stats(const struct outbox *ob)
{
	struct outbox_stats st;

	outbox_get_stats(ob, &st);
	return st;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void expect_msg(const struct outbox *ob, uint64_t seq, const char *topic,
		       const char *payload)
{
	struct outbox_msg m;

	assert_int_equal(outbox_next(ob, seq - 1, &m), 0);
	assert_int_equal(m.seq, seq);
	assert_string_equal(m.topic, topic);
	assert_int_equal(m.len, strlen(payload));
	assert_memory_equal(m.payload, payload, m.len);
}

/* begin, run (here: the test is its own worker), end: 0 or -errno. */
static int job_cycle(struct fixture *f)
{
	int r = outbox_sync_begin(f->ob, &f->job);

	if (r <= 0)
		return r;
	outbox_job_run(&f->job);
	return outbox_sync_end(f->ob, &f->job);
}

/*
 * With "outbox-sync always" and the jobs the owner's, a put writes and
 * does not wait for the disk; outbox_durable moves only when a job that
 * began after the put is back, and says no more than that job synced.
 */
static void test_durable_order(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, c;

	reopen(f, 0);
	n_datasync = 0;
	a = put(f->ob, OUTBOX_EVENT, "gw/e", "a");
	assert_int_equal(n_datasync, 0);
	assert_true(outbox_durable(f->ob) < a);
	assert_true(outbox_dirty(f->ob));

	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	/* While it is out: puts and acks go on, a second job may not. */
	b = put(f->ob, OUTBOX_STATE, "gw/s", "b");
	c = put(f->ob, OUTBOX_EVENT, "gw/e", "c");
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), -EBUSY);
	assert_int_equal(outbox_sync(f->ob), -EBUSY);
	outbox_job_run(&f->job);
	assert_int_equal(f->job.result, 0);
	assert_int_equal(n_datasync, 1);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	assert_int_equal(outbox_durable(f->ob), a);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), -EINVAL);

	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(outbox_durable(f->ob), c);
	assert_int_equal(outbox_ack(f->ob, a), 0);
	/* The ack floor is written and synced by the next job. */
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(job_cycle(f), 0);
	assert_false(outbox_dirty(f->ob));
	assert_int_equal(job_cycle(f), 0); /* nothing to wait for */

	reopen(f, 0);
	assert_int_equal(stats(f->ob).pending, 2);
	expect_msg(f->ob, b, "gw/s", "b");
	expect_msg(f->ob, c, "gw/e", "c");
	assert_int_equal(outbox_durable(f->ob), c);
}

/*
 * A failed fdatasync: what it was to sync is written again by the next
 * job (the kernel may have dropped the pages), the error is the outbox's
 * last one, nothing is durable meanwhile, and nothing comes back twice.
 */
static void test_datasync_fails(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, d0;

	reopen(f, 0);
	a = put(f->ob, OUTBOX_EVENT, "gw/e", "a");
	assert_int_equal(job_cycle(f), 0);
	d0 = outbox_durable(f->ob);
	assert_int_equal(d0, a);

	b = put(f->ob, OUTBOX_EVENT, "gw/e", "b");
	fail_datasync = EIO;
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	outbox_job_run(&f->job);
	assert_int_equal(f->job.result, -EIO);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), -EIO);
	assert_int_equal(stats(f->ob).last_error, -EIO);
	assert_int_equal(outbox_durable(f->ob), d0);
	assert_int_equal(stats(f->ob).unwritten, 1);
	assert_true(outbox_dirty(f->ob));

	fail_datasync = ENOSPC;
	assert_int_equal(job_cycle(f), -ENOSPC);
	assert_int_equal(outbox_durable(f->ob), d0);

	fail_datasync = 0;
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(stats(f->ob).last_error, 0);
	assert_int_equal(stats(f->ob).unwritten, 0);
	assert_int_equal(outbox_durable(f->ob), b);

	reopen(f, 0);
	assert_int_equal(stats(f->ob).pending, 2);
	assert_int_equal(stats(f->ob).truncated, 0);
	expect_msg(f->ob, a, "gw/e", "a");
	expect_msg(f->ob, b, "gw/e", "b");
}

/* Events acked at once until the log is due for a compaction. */
static void fill(struct fixture *f, unsigned n)
{
	char payload[200];

	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (unsigned i = 0; i < n; i++) {
		uint64_t seq = put(f->ob, OUTBOX_EVENT, "gw/e", payload);

		assert_int_equal(outbox_ack(f->ob, seq), 0);
	}
}

/*
 * A compaction in a job: the new log is written from a snapshot, what is
 * put while the job is out is added before the rename, the rename is
 * synced by the next job (and only then is it all durable), and the seqs
 * of messages put and acked meanwhile are not handed out again.
 */
static void test_compaction_meanwhile(void **state)
{
	struct fixture *f = *state;
	uint64_t keep, s, e, gone, after;
	off_t big;

	reopen(f, 1000);
	keep = put(f->ob, OUTBOX_EVENT, "gw/e", "keep");
	fill(f, 400);
	big = file_size(f->log);
	assert_true(big > 64 * 1024);

	n_fsync = 0;
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	assert_true(f->job.cfd >= 0);
	s = put(f->ob, OUTBOX_STATE, "gw/s", "meanwhile");
	e = put(f->ob, OUTBOX_EVENT, "gw/x", "new topic");
	gone = put(f->ob, OUTBOX_EVENT, "gw/e", "acked");
	assert_int_equal(outbox_ack(f->ob, gone), 0);
	outbox_job_run(&f->job);
	assert_int_equal(n_fsync, 1);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	assert_true(file_size(f->log) < 1024);
	/* The rename is not on disk yet: the next job syncs the directory. */
	assert_true(outbox_dirty(f->ob));
	assert_true(outbox_durable(f->ob) < gone);
	assert_int_equal(job_cycle(f), 0);
	assert_true(outbox_durable(f->ob) >= gone);
	assert_false(outbox_dirty(f->ob));

	/* A kill now: everything put is in the new log. */
	f->ob = outbox_free(f->ob);
	reopen(f, 1000);
	assert_int_equal(stats(f->ob).pending, 3);
	assert_int_equal(stats(f->ob).truncated, 0);
	expect_msg(f->ob, keep, "gw/e", "keep");
	expect_msg(f->ob, s, "gw/s", "meanwhile");
	expect_msg(f->ob, e, "gw/x", "new topic");
	after = put(f->ob, OUTBOX_EVENT, "gw/e", "after");
	assert_true(after > gone);
}

/* A kill right after the compaction is in place, before any other job. */
static void test_compaction_then_kill(void **state)
{
	struct fixture *f = *state;
	uint64_t keep, m;

	reopen(f, 1000);
	keep = put(f->ob, OUTBOX_EVENT, "gw/e", "keep");
	fill(f, 400);
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	assert_true(f->job.cfd >= 0);
	m = put(f->ob, OUTBOX_EVENT, "gw/y", "put while out");
	outbox_job_run(&f->job);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	f->ob = outbox_free(f->ob);
	reopen(f, 1000);
	assert_int_equal(stats(f->ob).pending, 2);
	expect_msg(f->ob, keep, "gw/e", "keep");
	expect_msg(f->ob, m, "gw/y", "put while out");
}

/*
 * A compaction whose fsync fails leaves the old log; the log's own sync
 * went well, so the job did too and what it synced is durable.  The
 * failure is said apart and not tried again until the log has grown by
 * another 64 KiB; then it succeeds.
 */
static void test_compaction_fsync_fails(void **state)
{
	struct fixture *f = *state;
	char tmp[320];
	uint64_t keep, m, last;
	off_t big;

	snprintf(tmp, sizeof(tmp), "%s/.log.tmp", f->dir);
	reopen(f, 1000);
	keep = put(f->ob, OUTBOX_EVENT, "gw/e", "keep");
	fill(f, 400);
	last = outbox_last_seq(f->ob);
	fail_fsync = EIO;
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	m = put(f->ob, OUTBOX_EVENT, "gw/e", "more");
	outbox_job_run(&f->job);
	assert_int_equal(f->job.result, 0); /* the log's own sync */
	assert_int_equal(f->job.cresult, -EIO);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	assert_int_equal(outbox_durable(f->ob), last);
	assert_int_equal(stats(f->ob).last_error, 0);
	assert_int_equal(stats(f->ob).compact_error, -EIO);
	assert_int_equal(stats(f->ob).compact_failed, 1);
	assert_int_equal(access(tmp, F_OK), -1);
	big = file_size(f->log);
	assert_true(big > 64 * 1024);

	/* Not again at once, though the cause is gone. */
	fail_fsync = 0;
	n_fsync = 0;
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(n_fsync, 0);
	assert_true(file_size(f->log) >= big);
	assert_int_equal(outbox_durable(f->ob), m);
	assert_int_equal(stats(f->ob).compact_error, -EIO);

	fill(f, 400);
	assert_int_equal(job_cycle(f), 0);
	assert_true(file_size(f->log) < 1024);
	assert_int_equal(stats(f->ob).compact_error, 0);
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(outbox_durable(f->ob), outbox_last_seq(f->ob));
	reopen(f, 1000);
	assert_int_equal(stats(f->ob).pending, 2);
	expect_msg(f->ob, keep, "gw/e", "keep");
	expect_msg(f->ob, m, "gw/e", "more");
}

static void set_fsize(rlim_t cur)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = cur;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * A full disk while a job is out: the reset in place that would give an
 * idle log's space back cuts the file the job is syncing, so it waits
 * for the job's end; the message waits in memory meanwhile.
 */
static void test_full_disk_job_out(void **state)
{
	struct fixture *f = *state;
	char payload[300];
	uint64_t a = 0, big = 0;
	off_t size;

	memset(payload, 'f', sizeof(payload));
	signal(SIGXFSZ, SIG_IGN);
	reopen(f, 1000);
	for (int i = 0; i < 10; i++) {
		a = put(f->ob, OUTBOX_EVENT, "gw/e", "0123456789abcdef");
		assert_int_equal(outbox_ack(f->ob, a), 0);
	}
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	size = file_size(f->log);
	/* Room for the message only once the idle log is reset. */
	set_fsize((rlim_t)size + 100);
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, "gw/e", payload,
				    sizeof(payload), &big),
			 -ENOSPC);
	assert_true(file_size(f->log) >= size); /* not cut under the job */
	assert_int_equal(stats(f->ob).unwritten, 1);
	outbox_job_run(&f->job);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	/* The job went well; the message is still in memory only. */
	assert_int_equal(stats(f->ob).unwritten, 1);
	assert_int_equal(stats(f->ob).last_error, -ENOSPC);

	/* No job out: the next one gives the space back, and writes. */
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(stats(f->ob).last_error, 0);
	set_fsize(RLIM_INFINITY);
	assert_true(file_size(f->log) < size + 100);
	assert_int_equal(stats(f->ob).unwritten, 0);
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(outbox_durable(f->ob), outbox_last_seq(f->ob));
	reopen(f, 1000);
	assert_int_equal(stats(f->ob).pending, 1);
	assert_int_equal(stats(f->ob).truncated, 0);
}

/*
 * The copy of what was put while a compaction's job was out fails for
 * want of space (as does the put itself, into the log): the compaction
 * is given up, the log's sync still counts, and the put's error stays
 * the outbox's until its message is written.
 */
static void test_compaction_append_fails(void **state)
{
	struct fixture *f = *state;
	static char payload[8192];
	struct outbox_msg msg;
	char tmp[320];
	uint64_t keep, last, m = 0;
	off_t big;

	memset(payload, 'n', sizeof(payload));
	snprintf(tmp, sizeof(tmp), "%s/.log.tmp", f->dir);
	signal(SIGXFSZ, SIG_IGN);
	reopen(f, 1000);
	keep = put(f->ob, OUTBOX_EVENT, "gw/e", "keep");
	fill(f, 400);
	last = outbox_last_seq(f->ob);
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	assert_true(f->job.cfd >= 0);
	big = file_size(f->log);
	set_fsize(4096); /* the snapshot fits, the new message does not */
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, "gw/n", payload,
				    sizeof(payload), &m),
			 -ENOSPC);
	m = outbox_last_seq(f->ob); /* queued in memory all the same */
	outbox_job_run(&f->job);
	assert_int_equal(f->job.cresult, 0);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	set_fsize(RLIM_INFINITY);
	assert_int_equal(outbox_durable(f->ob), last);
	assert_int_equal(stats(f->ob).compact_error, -ENOSPC);
	assert_int_equal(stats(f->ob).last_error, -ENOSPC);
	assert_int_equal(stats(f->ob).unwritten, 1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_true(file_size(f->log) >= big);

	/* The next job writes the message; the compaction waits. */
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(stats(f->ob).last_error, 0);
	assert_int_equal(outbox_durable(f->ob), outbox_last_seq(f->ob));
	assert_true(file_size(f->log) > big);
	/* The acks above the floor were the compaction's to write. */
	reopen(f, 1000);
	expect_msg(f->ob, keep, "gw/e", "keep");
	assert_int_equal(outbox_next(f->ob, m - 1, &msg), 0);
	assert_int_equal(msg.seq, m);
	assert_string_equal(msg.topic, "gw/n");
	assert_int_equal(msg.len, sizeof(payload));
}

/*
 * A backlog the broker drains fast is not copied by a compaction on its
 * way out (outbox_compact_due): the acks counted are those since the
 * rule was last asked, and a begin that could not write (a full disk)
 * did not ask it, so it does not start the count again.
 */
static void test_drain_counts_across_failed_begin(void **state)
{
	struct fixture *f = *state;
	char payload[200];
	struct outbox_msg m;
	uint64_t after = 0, seq = 0;

	memset(payload, 'd', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	reopen(f, 1000);
	for (int i = 0; i < 2000; i++)
		put(f->ob, OUTBOX_EVENT, "gw/e", payload);
	assert_int_equal(job_cycle(f), 0);
	for (int i = 0; i < 1600; i++) {
		assert_int_equal(outbox_next(f->ob, after, &m), 0);
		after = m.seq;
		assert_int_equal(outbox_ack(f->ob, m.seq), 0);
	}
	set_fsize((rlim_t)file_size(f->log)); /* nothing more fits */
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, "gw/e", payload,
				    strlen(payload), &seq),
			 -ENOSPC);
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), -ENOSPC);
	set_fsize(RLIM_INFINITY);
	/* 1600 taken since the rule was last asked: the 401 left wait. */
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	assert_true(f->job.cfd < 0);
	outbox_job_run(&f->job);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	/* The broker slows down to one a job: they are compacted. */
	assert_int_equal(outbox_next(f->ob, after, &m), 0);
	assert_int_equal(outbox_ack(f->ob, m.seq), 0);
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	assert_true(f->job.cfd >= 0);
	outbox_job_run(&f->job);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	assert_true(file_size(f->log) < 400 * 250);
}

/* Jobs are for an outbox opened for them: the others sync in put. */
static void test_begin_needs_deferred(void **state)
{
	struct fixture *f = *state;
	struct outbox_opts o = { .sync_ms = 1000 };

	assert_int_equal(outbox_open(f->dir, &o, &f->ob), 0);
	put(f->ob, OUTBOX_EVENT, "gw/e", "a");
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), -EINVAL);
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(outbox_sync(f->ob), 0);
}

/*
 * What is read back at open counts as durable once it is on disk: a
 * daemon killed between a write and its sync leaves it in the page cache
 * alone.  Open syncs the log; if that fails, nothing pending counts as
 * durable until a job has synced it.
 */
static void test_open_syncs(void **state)
{
	struct fixture *f = *state;
	uint64_t a;

	reopen(f, 1000);
	a = put(f->ob, OUTBOX_EVENT, "gw/e", "a");
	assert_true(outbox_durable(f->ob) < a);
	n_datasync = 0;
	reopen(f, 1000); /* freed without a sync: a kill */
	assert_true(n_datasync >= 1);
	assert_int_equal(outbox_durable(f->ob), a);
	assert_false(outbox_dirty(f->ob));

	fail_datasync = EIO;
	reopen(f, 1000);
	fail_datasync = 0;
	assert_true(outbox_durable(f->ob) < a);
	assert_int_equal(stats(f->ob).last_error, -EIO);
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(job_cycle(f), 0);
	assert_int_equal(outbox_durable(f->ob), a);
	assert_int_equal(stats(f->ob).last_error, 0);
	reopen(f, 1000);
	assert_int_equal(stats(f->ob).pending, 1);
	assert_int_equal(stats(f->ob).truncated, 0);
	expect_msg(f->ob, a, "gw/e", "a");
}

/* An owner that stops with a job out: end it, then the final sync. */
static void test_stop_with_job_out(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b;

	reopen(f, 0);
	a = put(f->ob, OUTBOX_EVENT, "gw/e", "a");
	assert_int_equal(outbox_sync_begin(f->ob, &f->job), 1);
	b = put(f->ob, OUTBOX_EVENT, "gw/e", "b");
	assert_int_equal(outbox_sync(f->ob), -EBUSY);
	outbox_job_run(&f->job);
	assert_int_equal(outbox_sync_end(f->ob, &f->job), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_int_equal(outbox_durable(f->ob), b);
	assert_false(outbox_dirty(f->ob));
	reopen(f, 0);
	expect_msg(f->ob, a, "gw/e", "a");
	expect_msg(f->ob, b, "gw/e", "b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_durable_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_datasync_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compaction_meanwhile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_then_kill,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_fsync_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_job_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_job_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compaction_append_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_drain_counts_across_failed_begin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_syncs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_begin_needs_deferred,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
