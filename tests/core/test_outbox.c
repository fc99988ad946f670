/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "outbox.h"
#include "testutil.h"

#define KIB 1024

struct fixture {
	char dir[256];
	char log[300];
	struct outbox *ob;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "outbox") < 0) {
		free(f);
		return -1;
	}
	/* The outbox lives one level down, as <state-dir>/outbox does. */
	strcat(f->dir, "/outbox");
	snprintf(f->log, sizeof(f->log), "%s/log", f->dir);
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

static void reopen(struct fixture *f, uint64_t max_bytes, unsigned sync_ms)
{
	struct outbox_opts o = { .max_bytes = max_bytes, .sync_ms = sync_ms };

	f->ob = outbox_free(f->ob);
	assert_int_equal(outbox_open(f->dir, &o, &f->ob), 0);
}

static uint64_t put(struct outbox *ob, enum outbox_kind kind, const char *topic,
		    const char *payload)
{
	uint64_t seq = 0;

	assert_int_equal(
	    outbox_put(ob, kind, topic, payload, strlen(payload), &seq), 0);
	assert_true(seq > 0);
	return seq;
}

/* A payload of digits as a number (payloads carry no NUL). */
static int payload_int(const struct outbox_msg *m)
{
	char buf[32];

	assert_true(m->len < sizeof(buf));
	memcpy(buf, m->payload, m->len);
	buf[m->len] = '\0';
	return atoi(buf);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static struct outbox_stats stats(const struct outbox *ob)
{
	struct outbox_stats st;

	outbox_get_stats(ob, &st);
	return st;
}

/* The pending message seq must be there with this kind and content. */
static void expect_msg(const struct outbox *ob, uint64_t seq,
		       enum outbox_kind kind, const char *topic,
		       const char *payload)
{
	struct outbox_msg m;

	assert_int_equal(outbox_next(ob, seq - 1, &m), 0);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.kind, kind);
	assert_string_equal(m.topic, topic);
	assert_int_equal(m.len, strlen(payload));
	assert_memory_equal(m.payload, payload, m.len);
}

/* Copy of the pending set, to compare across a reopen. */
struct snap {
	size_t n;
	uint64_t seq[64];
	int kind[64];
	char text[64][96];
};

static void snapshot(const struct outbox *ob, struct snap *s)
{
	struct outbox_msg m;
	uint64_t after = 0;

	memset(s, 0, sizeof(*s));
	while (outbox_next(ob, after, &m) == 0) {
		assert_true(s->n < 64);
		assert_true(m.seq > after);
		s->seq[s->n] = m.seq;
		s->kind[s->n] = m.kind;
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s=%.*s", m.topic,
			 (int)m.len, (const char *)m.payload);
		s->n++;
		after = m.seq;
	}
}

static void assert_same(const struct snap *a, const struct snap *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->seq[i], b->seq[i]);
		assert_int_equal(a->kind[i], b->kind[i]);
		assert_string_equal(a->text[i], b->text[i]);
	}
}

static void test_order(void **state)
{
	struct fixture *f = *state;
	struct outbox_msg m;
	uint64_t s1, s2, s3, s4;

	reopen(f, 0, 1000);
	s1 = put(f->ob, OUTBOX_EVENT, "gw/ev", "one");
	s2 = put(f->ob, OUTBOX_STATE, "gw/n2/switch", "two");
	s3 = put(f->ob, OUTBOX_EVENT, "gw/ev", "three");
	s4 = put(f->ob, OUTBOX_STATE, "gw/n3/level", "four");
	assert_true(s1 < s2 && s2 < s3 && s3 < s4);
	expect_msg(f->ob, s1, OUTBOX_EVENT, "gw/ev", "one");
	expect_msg(f->ob, s4, OUTBOX_STATE, "gw/n3/level", "four");
	assert_int_equal(outbox_next(f->ob, 0, &m), 0);
	assert_int_equal(m.seq, s1);
	assert_int_equal(outbox_next(f->ob, s4, &m), -ENOENT);
	assert_int_equal(outbox_next(f->ob, UINT64_MAX, &m), -ENOENT);

	/* An ack in the middle: next() steps over it. */
	assert_int_equal(outbox_ack(f->ob, s2), 0);
	assert_int_equal(outbox_ack(f->ob, s2), -ENOENT);
	assert_int_equal(outbox_ack(f->ob, s4 + 1), -ENOENT);
	assert_int_equal(outbox_next(f->ob, s1, &m), 0);
	assert_int_equal(m.seq, s3);
	assert_int_equal(stats(f->ob).pending, 3);
	assert_int_equal(stats(f->ob).states, 1);
	assert_int_equal(stats(f->ob).events, 2);
	assert_int_equal(stats(f->ob).pending_bytes,
			 strlen("gw/ev") * 2 + 3 + 5 + strlen("gw/n3/level") +
			     4);

	assert_int_equal(outbox_ack(f->ob, s1), 0);
	assert_int_equal(outbox_ack(f->ob, s3), 0);
	assert_int_equal(outbox_ack(f->ob, s4), 0);
	assert_int_equal(outbox_next(f->ob, 0, &m), -ENOENT);
	assert_int_equal(stats(f->ob).pending, 0);
	assert_int_equal(stats(f->ob).pending_bytes, 0);
}

static void test_state_coalesces(void **state)
{
	struct fixture *f = *state;
	uint64_t s1, s2, s3, s4;
	struct outbox_msg m;

	reopen(f, 0, 1000);
	s1 = put(f->ob, OUTBOX_STATE, "gw/n2/switch", "{\"value\":true}");
	s2 = put(f->ob, OUTBOX_EVENT, "gw/ev", "e");
	s3 = put(f->ob, OUTBOX_STATE, "gw/n2/switch", "{\"value\":false}");
	s4 = put(f->ob, OUTBOX_STATE, "gw/n2/level", "7");
	assert_true(s3 > s2);
	assert_int_equal(stats(f->ob).pending, 3);
	assert_int_equal(stats(f->ob).states, 2);
	assert_int_equal(outbox_next(f->ob, 0, &m), 0);
	assert_int_equal(m.seq, s2);
	expect_msg(f->ob, s3, OUTBOX_STATE, "gw/n2/switch",
		   "{\"value\":false}");
	assert_int_equal(outbox_ack(f->ob, s1), -ENOENT);
	assert_int_equal(outbox_ack(f->ob, s4), 0);
	assert_int_equal(outbox_ack(f->ob, s3), 0);
	/* Once acked, a topic's next state is new again. */
	put(f->ob, OUTBOX_STATE, "gw/n2/switch", "x");
	assert_int_equal(stats(f->ob).states, 1);
	assert_int_equal(stats(f->ob).pending, 2);
}

static void test_events_never_coalesce(void **state)
{
	struct fixture *f = *state;
	struct outbox_msg m;
	uint64_t after = 0;
	int n = 0;

	reopen(f, 0, 1000);
	for (int i = 0; i < 3; i++)
		put(f->ob, OUTBOX_EVENT, "gw/n2/event", "pressed");
	while (outbox_next(f->ob, after, &m) == 0) {
		assert_string_equal(m.topic, "gw/n2/event");
		after = m.seq;
		n++;
	}
	assert_int_equal(n, 3);
}

/* Many states over few topics: the map and the slots stay consistent. */
static void test_many_topics(void **state)
{
	struct fixture *f = *state;
	char topic[32], payload[32];
	struct snap a, b;
	uint64_t after = 0;
	struct outbox_msg m;
	int n = 0;

	reopen(f, 0, 1000);
	for (int i = 0; i < 5000; i++) {
		snprintf(topic, sizeof(topic), "gw/n%d/v", (i * 7919) % 40);
		snprintf(payload, sizeof(payload), "%d", i);
		put(f->ob, OUTBOX_STATE, topic, payload);
		if (i % 3 == 0)
			outbox_ack(f->ob, i); /* some of these are gone */
	}
	assert_int_equal(stats(f->ob).states, stats(f->ob).pending);
	assert_true(stats(f->ob).pending <= 40);
	while (outbox_next(f->ob, after, &m) == 0) {
		int v = payload_int(&m);

		/* Each topic holds its latest value, under its seq. */
		assert_int_equal(m.seq, (uint64_t)v + 1);
		snprintf(topic, sizeof(topic), "gw/n%d/v", (v * 7919) % 40);
		assert_string_equal(m.topic, topic);
		assert_true(v >= 5000 - 40 * 3);
		after = m.seq;
		n++;
	}
	assert_int_equal(n, stats(f->ob).pending);
	assert_int_equal(outbox_sync(f->ob), 0);
	snapshot(f->ob, &a);
	reopen(f, 0, 1000);
	snapshot(f->ob, &b);
	assert_same(&a, &b);
}

static void test_reopen_recovers(void **state)
{
	struct fixture *f = *state;
	struct snap before, after;
	uint64_t s[6];
	struct outbox_stats st;

	reopen(f, 0, 1000);
	s[0] = put(f->ob, OUTBOX_STATE, "gw/a", "1");
	s[1] = put(f->ob, OUTBOX_EVENT, "gw/e", "2");
	s[2] = put(f->ob, OUTBOX_STATE, "gw/a", "3");
	s[3] = put(f->ob, OUTBOX_EVENT, "gw/e", "4");
	s[4] = put(f->ob, OUTBOX_STATE, "gw/b", "5");
	s[5] = put(f->ob, OUTBOX_EVENT, "gw/e", "6");
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(outbox_ack(f->ob, s[1]), 0); /* moves the floor */
	assert_int_equal(outbox_ack(f->ob, s[4]), 0); /* above the floor */
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_false(outbox_dirty(f->ob));
	snapshot(f->ob, &before);
	assert_int_equal(before.n, 3);

	reopen(f, 0, 1000);
	snapshot(f->ob, &after);
	/* The ack above the floor lived in memory only: s[4] is back. */
	assert_int_equal(after.n, 4);
	assert_int_equal(after.seq[2], s[4]);
	expect_msg(f->ob, s[4], OUTBOX_STATE, "gw/b", "5");
	assert_int_equal(outbox_ack(f->ob, s[4]), 0);
	snapshot(f->ob, &after);
	assert_same(&before, &after);
	st = stats(f->ob);
	assert_int_equal(st.recovered, 4);
	assert_int_equal(st.truncated, 0);
	assert_int_equal(st.states, 1);
	assert_int_equal(st.events, 2);
	assert_false(outbox_dirty(f->ob) && outbox_sync(f->ob) != 0);
	assert_true(put(f->ob, OUTBOX_EVENT, "gw/e", "7") > s[5]);
}

static void test_floor_persisted(void **state)
{
	struct fixture *f = *state;
	uint64_t s[10];
	struct outbox_msg m;

	reopen(f, 0, 1000);
	for (int i = 0; i < 10; i++)
		s[i] = put(f->ob, OUTBOX_EVENT, "gw/e", "x");
	for (int i = 0; i < 5; i++)
		assert_int_equal(outbox_ack(f->ob, s[i]), 0);
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 5);
	assert_int_equal(outbox_next(f->ob, 0, &m), 0);
	assert_int_equal(m.seq, s[5]);
	/* A floor over everything: nothing comes back. */
	for (int i = 5; i < 10; i++)
		assert_int_equal(outbox_ack(f->ob, s[i]), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 0);
	assert_true(put(f->ob, OUTBOX_EVENT, "gw/e", "y") > s[9]);
}

static void test_seq_survives_compaction(void **state)
{
	struct fixture *f = *state;
	char payload[200];
	uint64_t last = 0, seq;

	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	reopen(f, 0, 1000);
	for (int i = 0; i < 1000; i++) {
		last = put(f->ob, OUTBOX_EVENT, "gw/e", payload);
		assert_int_equal(outbox_ack(f->ob, last), 0);
	}
	assert_true(file_size(f->log) > 64 * KIB);
	assert_int_equal(outbox_sync(f->ob), 0);
	/* Emptied: what is left only remembers the seq. */
	assert_true(file_size(f->log) < 64);
	assert_false(outbox_dirty(f->ob));
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 0);
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "after");
	assert_int_equal(seq, last + 1);
	reopen(f, 0, 1000);
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "after");
}

/*
 * A log with nothing pending is compacted in place: no temp file is
 * needed (a directory in its way changes nothing), and the seq and a
 * torn-off crash state stay right.
 */
static void test_idle_compaction_in_place(void **state)
{
	struct fixture *f = *state;
	char tmp[320], payload[200];
	uint64_t last = 0, seq;

	memset(payload, 'i', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/.log.tmp", f->dir);
	reopen(f, 0, 1000);
	for (int i = 0; i < 500; i++) {
		last = put(f->ob, OUTBOX_EVENT, "gw/e", payload);
		assert_int_equal(outbox_ack(f->ob, last), 0);
	}
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	/* A lone SEQ record: head, crc, type and seq 500 as a varint. */
	assert_int_equal(file_size(f->log), 8 + 1 + 2);
	assert_false(outbox_dirty(f->ob));
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "next");
	assert_int_equal(seq, last + 1);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).truncated, 0);
	assert_int_equal(stats(f->ob).pending, 1);
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "next");
	assert_int_equal(rmdir(tmp), 0);
}

static void test_compaction_keeps_pending(void **state)
{
	struct fixture *f = *state;
	char payload[300];
	uint64_t keep[4], seq, last = 0;
	struct snap a, b;
	int k = 0;

	memset(payload, 'q', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	reopen(f, 0, 1000);
	put(f->ob, OUTBOX_STATE, "gw/s", "old");
	for (int i = 0; i < 400; i++) {
		seq = put(f->ob, OUTBOX_EVENT, "gw/e", payload);
		/* Keep a few scattered events: acks out of order. */
		if (i % 100 == 50)
			keep[k++] = seq;
		else
			assert_int_equal(outbox_ack(f->ob, seq), 0);
		last = seq;
	}
	put(f->ob, OUTBOX_STATE, "gw/s", "new");
	put(f->ob, OUTBOX_STATE, "gw/t", "t");
	snapshot(f->ob, &a);
	assert_int_equal(a.n, 6);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) < 4 * KIB);
	snapshot(f->ob, &b);
	assert_same(&a, &b);

	/* The acks above the floor are now on disk too: none comes back. */
	reopen(f, 0, 1000);
	snapshot(f->ob, &b);
	assert_same(&a, &b);
	expect_msg(f->ob, keep[3], OUTBOX_EVENT, "gw/e", payload);
	/* Appending after a compaction, then reopening, still works. */
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "tail");
	assert_true(seq > last + 2);
	assert_int_equal(outbox_ack(f->ob, keep[0]), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 6);
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "tail");
	assert_int_equal(stats(f->ob).truncated, 0);
}

/*
 * A compaction that cannot write its new log leaves the old one in use:
 * no failed write (the log is synced all the same), said apart, and not
 * tried again until the log has grown by another 64 KiB.
 */
static void test_compaction_fails(void **state)
{
	struct fixture *f = *state;
	char tmp[320], payload[200];
	uint64_t keep, seq = 0;
	off_t size;

	memset(payload, 'r', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/.log.tmp", f->dir);
	reopen(f, 0, 1000);
	keep = put(f->ob, OUTBOX_EVENT, "gw/e", "keep");
	for (int i = 0; i < 500; i++) {
		seq = put(f->ob, OUTBOX_EVENT, "gw/e", payload);
		assert_int_equal(outbox_ack(f->ob, seq), 0);
	}
	/* A directory where the temp file goes makes the write fail. */
	assert_int_equal(mkdir(tmp, 0700), 0);
	size = file_size(f->log);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_int_equal(stats(f->ob).last_error, 0);
	assert_int_equal(stats(f->ob).compact_error, -EISDIR);
	assert_int_equal(stats(f->ob).compact_failed, 1);
	assert_false(outbox_dirty(f->ob));
	assert_int_equal(file_size(f->log), size);
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "more");
	assert_int_equal(stats(f->ob).pending, 2);

	/* The cause gone, the next sync does not try yet... */
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) > size);
	assert_int_equal(stats(f->ob).compact_error, -EISDIR);
	/* ... but once the log has grown by another 64 KiB. */
	for (int i = 0; i < 400; i++)
		assert_int_equal(outbox_ack(f->ob, put(f->ob, OUTBOX_EVENT,
						       "gw/e", payload)),
				 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) < 1024);
	assert_int_equal(stats(f->ob).compact_error, 0);
	assert_int_equal(stats(f->ob).compact_failed, 1);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 2);
	expect_msg(f->ob, keep, OUTBOX_EVENT, "gw/e", "keep");
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "more");
}

/* The log as it is now, to damage copies of it. */
static char *read_log(struct fixture *f, size_t *len)
{
	char *buf = NULL;

	assert_int_equal(fs_read_file(f->log, 1 << 20, &buf, len), 0);
	return buf;
}

static void write_log(struct fixture *f, const char *buf, size_t len)
{
	*strrchr(f->log, '/') = '\0';
	assert_int_equal(fs_write_atomic(f->log, "log", buf, len, 0600), 0);
	f->log[strlen(f->log)] = '/';
}

static void test_torn_tail(void **state)
{
	struct fixture *f = *state;
	size_t len, good;
	uint64_t s[3];
	struct snap a, b;
	char *buf;

	reopen(f, 0, 0);
	s[0] = put(f->ob, OUTBOX_STATE, "gw/a", "first");
	s[1] = put(f->ob, OUTBOX_EVENT, "gw/e", "second");
	good = (size_t)file_size(f->log);
	s[2] = put(f->ob, OUTBOX_EVENT, "gw/e", "the last one");
	snapshot(f->ob, &a);
	f->ob = outbox_free(f->ob);
	buf = read_log(f, &len);
	assert_true(len > good);

	/* Cut at every byte of the last record. */
	for (size_t cut = good; cut < len; cut++) {
		write_log(f, buf, cut);
		reopen(f, 0, 1000);
		assert_int_equal(stats(f->ob).truncated, cut - good);
		assert_int_equal(stats(f->ob).pending, 2);
		expect_msg(f->ob, s[0], OUTBOX_STATE, "gw/a", "first");
		expect_msg(f->ob, s[1], OUTBOX_EVENT, "gw/e", "second");
		assert_int_equal(file_size(f->log), good);
		/* The seq of the lost record may come again: it was never
		 * acknowledged to anyone. */
		assert_true(put(f->ob, OUTBOX_EVENT, "gw/e", "x") > s[1]);
		f->ob = outbox_free(f->ob);
	}

	/* Garbage after the last record: zeros, noise, a fake head. */
	static const char junk[][12] = {
		{ 0 },
		{ 'g', 'a', 'r', 'b', 'a', 'g', 'e' },
		{ 20, 0, 0, (char)0xA5, 1, 2, 3, 4, 5, 6, 7, 8 },
	};
	for (size_t j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
		char *dirty = malloc(len + sizeof(junk[0]));

		assert_non_null(dirty);
		memcpy(dirty, buf, len);
		memcpy(dirty + len, junk[j], sizeof(junk[0]));
		write_log(f, dirty, len + sizeof(junk[0]));
		free(dirty);
		reopen(f, 0, 1000);
		assert_int_equal(stats(f->ob).truncated, sizeof(junk[0]));
		snapshot(f->ob, &b);
		assert_same(&a, &b);
		assert_int_equal(file_size(f->log), len);
		reopen(f, 0, 1000);
		assert_int_equal(stats(f->ob).truncated, 0);
	}
	free(buf);
}

/* With keep_cut what recovery cuts is kept in log.cut; without, not. */
static void test_cut_kept(void **state)
{
	struct fixture *f = *state;
	struct outbox_opts o = { .sync_ms = 1000, .keep_cut = true };
	char cut[320], *buf, *dirty, *kept;
	size_t len, klen;
	struct stat sb;

	snprintf(cut, sizeof(cut), "%s/log.cut", f->dir);
	reopen(f, 0, 0);
	put(f->ob, OUTBOX_EVENT, "gw/e", "whole");
	f->ob = outbox_free(f->ob);
	buf = read_log(f, &len);
	dirty = malloc(len + 8);
	assert_non_null(dirty);
	memcpy(dirty, buf, len);
	memcpy(dirty + len, "garbage!", 8);
	write_log(f, dirty, len + 8);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).truncated, 8);
	assert_int_equal(stat(cut, &sb), -1);

	write_log(f, dirty, len + 8);
	f->ob = outbox_free(f->ob);
	assert_int_equal(outbox_open(f->dir, &o, &f->ob), 0);
	assert_int_equal(stats(f->ob).truncated, 8);
	assert_int_equal(stats(f->ob).cut_error, 0);
	assert_int_equal(stats(f->ob).pending, 1);
	assert_int_equal(fs_read_file(cut, 64, &kept, &klen), 0);
	assert_int_equal(klen, 8);
	assert_memory_equal(kept, "garbage!", 8);
	assert_int_equal(file_size(f->log), len);
	free(kept);
	free(dirty);
	free(buf);
}

static void test_corrupt_middle(void **state)
{
	struct fixture *f = *state;
	off_t at[6];
	uint64_t s[5];
	size_t len;
	char *buf;

	reopen(f, 0, 1000);
	at[0] = file_size(f->log);
	for (int i = 0; i < 5; i++) {
		s[i] = put(f->ob, OUTBOX_EVENT, "gw/e", "some payload");
		at[i + 1] = file_size(f->log);
	}
	assert_int_equal(outbox_sync(f->ob), 0);
	f->ob = outbox_free(f->ob);
	buf = read_log(f, &len);
	/* One flipped bit in the third record's payload.  The records after
	 * it go too: a record is found only by the one before it. */
	buf[at[3] - 2] ^= 0x10;
	write_log(f, buf, len);
	free(buf);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 2);
	assert_int_equal(stats(f->ob).truncated, at[5] - at[2]);
	expect_msg(f->ob, s[1], OUTBOX_EVENT, "gw/e", "some payload");
	assert_true(put(f->ob, OUTBOX_EVENT, "gw/e", "x") > s[1]);
}

static void test_bound(void **state)
{
	struct fixture *f = *state;
	char payload[201], topic[32];
	struct outbox_stats st;
	struct outbox_msg m;
	uint64_t last = 0, after = 0, prev = 0;

	memset(payload, 'b', 200);
	payload[200] = '\0';
	reopen(f, 64 * KIB, 1000);
	for (int i = 0; i < 5; i++) {
		snprintf(topic, sizeof(topic), "gw/n%d/v", i);
		put(f->ob, OUTBOX_STATE, topic, "s");
	}
	for (int i = 0; i < 1000; i++) {
		last = put(f->ob, OUTBOX_EVENT, "gw/ev", payload);
		assert_true(stats(f->ob).pending_bytes <= 64 * KIB);
	}
	st = stats(f->ob);
	assert_int_equal(st.states, 5);
	assert_true(st.dropped > 0);
	assert_int_equal(st.dropped + st.events, 1000);
	assert_true(st.pending_bytes + strlen("gw/ev") + 200 > 64 * KIB);
	/* The newest events are kept, without holes. */
	while (outbox_next(f->ob, after, &m) == 0) {
		if (m.kind == OUTBOX_EVENT) {
			assert_true(prev == 0 || m.seq == prev + 1);
			prev = m.seq;
		}
		after = m.seq;
	}
	assert_int_equal(prev, last);
	assert_int_equal(outbox_next(f->ob, 5, &m), 0);
	assert_int_equal(m.seq, last - st.events + 1);

	/* The drops are on disk: a reopen brings none back. */
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 64 * KIB, 1000);
	assert_int_equal(stats(f->ob).dropped, 0);
	assert_int_equal(stats(f->ob).pending, st.pending);
	assert_int_equal(stats(f->ob).states, 5);
	assert_int_equal(outbox_next(f->ob, 5, &m), 0);
	assert_int_equal(m.seq, last - st.events + 1);
}

static void test_bound_lowered(void **state)
{
	struct fixture *f = *state;
	char payload[1001];
	struct outbox_stats st;

	memset(payload, 'c', 1000);
	payload[1000] = '\0';
	reopen(f, 1024 * KIB, 1000);
	put(f->ob, OUTBOX_STATE, "gw/s", "state");
	for (int i = 0; i < 200; i++)
		put(f->ob, OUTBOX_EVENT, "gw/e", payload);
	assert_int_equal(stats(f->ob).dropped, 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	/* A smaller bound at the next start applies to what is loaded. */
	reopen(f, 64 * KIB, 1000);
	st = stats(f->ob);
	assert_true(st.dropped > 0);
	assert_true(st.pending_bytes <= 64 * KIB);
	assert_int_equal(st.states, 1);
	assert_int_equal(st.recovered, st.pending);
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 1024 * KIB, 1000);
	assert_int_equal(stats(f->ob).pending, st.pending);
}

/* States are never dropped for events; the newest event stays too. */
static void test_bound_states_only(void **state)
{
	struct fixture *f = *state;
	char payload[30001], topic[32];
	struct outbox_msg m;
	uint64_t seq = 0;

	memset(payload, 'd', 30000);
	payload[30000] = '\0';
	reopen(f, 64 * KIB, 1000);
	for (int i = 0; i < 3; i++) {
		snprintf(topic, sizeof(topic), "gw/n%d/big", i);
		put(f->ob, OUTBOX_STATE, topic, payload);
	}
	assert_true(stats(f->ob).pending_bytes > 64 * KIB);
	for (int i = 0; i < 3; i++)
		seq = put(f->ob, OUTBOX_EVENT, "gw/e", "small");
	assert_int_equal(stats(f->ob).states, 3);
	assert_int_equal(stats(f->ob).events, 1);
	assert_int_equal(stats(f->ob).dropped, 2);
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "small");
	assert_int_equal(outbox_next(f->ob, seq, &m), -ENOENT);
}

static void test_invalid(void **state)
{
	struct fixture *f = *state;
	static char big[OUTBOX_PAYLOAD_MAX + 1];
	char topic[OUTBOX_TOPIC_MAX + 1];
	struct outbox_opts small = { .max_bytes = 1000 };
	struct outbox *ob = NULL;
	uint64_t seq = 77;

	assert_int_equal(outbox_open(f->dir, &small, &ob), -EINVAL);
	assert_null(ob);
	reopen(f, 64 * KIB, 1000);
	/* Fine by itself, but larger than the whole outbox. */
	assert_int_equal(
	    outbox_put(f->ob, OUTBOX_EVENT, "gw/e", big, 64 * KIB, &seq),
	    -EFBIG);
	assert_int_equal(outbox_put(f->ob, OUTBOX_STATE, "gw/e", big,
				    OUTBOX_PAYLOAD_MAX + 1, &seq),
			 -EINVAL);
	static const char *const bad[] = {
		"",	   "gw/+/x",	      "gw/#", "+", "gw/\xff",
		"gw/\xc3", "gw/\xed\xa0\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    outbox_put(f->ob, OUTBOX_EVENT, bad[i], "x", 1, &seq),
		    -EINVAL);
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, NULL, "x", 1, &seq),
			 -EINVAL);
	assert_int_equal(outbox_put(f->ob, 7, "gw/e", "x", 1, &seq), -EINVAL);
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, "gw/e", NULL, 1, &seq),
			 -EINVAL);
	memset(topic, 't', sizeof(topic));
	topic[OUTBOX_TOPIC_MAX] = '\0';
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, topic, "x", 1, &seq),
			 -EINVAL);
	assert_int_equal(seq, 77);
	assert_int_equal(stats(f->ob).pending, 0);
	assert_false(outbox_dirty(f->ob));

	/* The limits themselves are fine, and an empty payload. */
	topic[OUTBOX_TOPIC_MAX - 1] = '\0';
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, topic, "x", 1, &seq),
			 0);
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT, "gw/\xc3\xa9t\xc3\xa9",
				    big, 64 * KIB - 100, &seq),
			 0);
	assert_int_equal(
	    outbox_put(f->ob, OUTBOX_STATE, "gw/empty", NULL, 0, &seq), 0);
	/* The big one pushed the first out to stay under the bound. */
	assert_int_equal(stats(f->ob).dropped, 1);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 64 * KIB, 1000);
	assert_int_equal(stats(f->ob).pending, 2);
	assert_int_equal(stats(f->ob).dropped, 0); /* at this open */
	expect_msg(f->ob, seq, OUTBOX_STATE, "gw/empty", "");
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct outbox *ob = NULL;
	char tmp[320];

	reopen(f, 0, 1000);
	/* One writer at a time. */
	assert_int_equal(outbox_open(f->dir, NULL, &ob), -EBUSY);
	assert_null(ob);
	f->ob = outbox_free(f->ob);
	assert_int_equal(outbox_open(f->log, NULL, &ob), -ENOTDIR);
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(mkdir(f->log, 0700), 0);
	assert_true(outbox_open(f->dir, NULL, &ob) < 0);
	assert_null(ob);
	assert_int_equal(rmdir(f->log), 0);
	assert_null(outbox_free(NULL));

	/* A compaction's temp file left by a crash goes at open. */
	snprintf(tmp, sizeof(tmp), "%s/.log.tmp", f->dir);
	reopen(f, 0, 1000);
	put(f->ob, OUTBOX_EVENT, "gw/e", "x");
	f->ob = outbox_free(f->ob);
	assert_int_equal(fs_write_atomic(f->dir, ".log.tmp", "junk", 4, 0600),
			 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 1);
	assert_int_equal(stats(f->ob).truncated, 0);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_sync_always(void **state)
{
	struct fixture *f = *state;
	off_t size;
	uint64_t seq;

	reopen(f, 0, 0);
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "durable");
	/* Nothing left to do: the put was synced. */
	assert_false(outbox_dirty(f->ob));
	size = file_size(f->log);
	assert_true(size > 0);
	assert_int_equal(outbox_ack(f->ob, seq), 0);
	assert_true(outbox_dirty(f->ob));
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_false(outbox_dirty(f->ob));
	assert_true(file_size(f->log) > size);

	reopen(f, 0, 1000);
	seq = put(f->ob, OUTBOX_EVENT, "gw/e", "batched");
	assert_true(outbox_dirty(f->ob));
	/* Written at once even so: a killed process loses nothing. */
	f->ob = outbox_free(f->ob);
	reopen(f, 0, 1000);
	expect_msg(f->ob, seq, OUTBOX_EVENT, "gw/e", "batched");
	assert_int_equal(stats(f->ob).pending, 1);
}

/*
 * With outbox-sync always the ack floor rides along with the next put's
 * fsync: a crash then sends again only what was acked since that put.
 */
static void test_sync_always_floor(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b;

	reopen(f, 0, 0);
	a = put(f->ob, OUTBOX_EVENT, "gw/e", "one");
	assert_int_equal(outbox_ack(f->ob, a), 0);
	b = put(f->ob, OUTBOX_EVENT, "gw/e", "two");
	/* No sync: the process dies here. */
	f->ob = outbox_free(f->ob);
	reopen(f, 0, 0);
	assert_int_equal(stats(f->ob).pending, 1);
	expect_msg(f->ob, b, OUTBOX_EVENT, "gw/e", "two");
}

/*
 * A topic is written once per log, not with every message: an event of
 * a 48-byte topic and a 44-byte payload (what the benchmark publishes)
 * takes one record of 8 + 1 + 2 + 1 + 44 bytes, under the 64 bytes per
 * event the SD card budget allows, and comes back whole.
 */
static void test_topic_once(void **state)
{
	static const char topic[] =
	    "zwgate/bench-gateway/event/14/scene_activation/0";
	static const char payload[] =
	    "{\"code\":1796294000123456,\"ts\":1796294000123}";
	struct fixture *f = *state;
	uint64_t first = 0, seq = 0;
	struct outbox_msg m;

	_Static_assert(sizeof(topic) - 1 == 48, "a 48-byte topic");
	_Static_assert(sizeof(payload) - 1 == 44, "a 44-byte payload");
	reopen(f, 0, 1000);
	for (int i = 0; i < 1000; i++) {
		seq = put(f->ob, OUTBOX_EVENT, topic, payload);
		first = first ? first : seq;
	}
	assert_int_equal(outbox_sync(f->ob), 0);
	/* 1000 records of 55 or 56 bytes and one TOPIC record of 58. */
	assert_true(stats(f->ob).bytes_written <= 1000 * 56 + 58);
	assert_true(stats(f->ob).bytes_written / 1000 <= 64);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).recovered, 1000);
	for (uint64_t s = first; s <= seq; s++) {
		assert_int_equal(outbox_next(f->ob, s - 1, &m), 0);
		assert_string_equal(m.topic, topic);
		assert_memory_equal(m.payload, payload, sizeof(payload) - 1);
	}
}

/*
 * More topics than a log has ids for: the writer starts again from id
 * 0, a later TOPIC record wins, and every message keeps its own topic,
 * also after a compaction and a reopen.
 */
static void test_topic_ids_wrap(void **state)
{
	struct fixture *f = *state;
	char topic[32], payload[16];
	struct outbox_msg m;
	uint64_t after = 0;
	int n = 0;

	reopen(f, 0, 1000);
	for (int i = 0; i < 70000; i++) {
		snprintf(topic, sizeof(topic), "gw/t%d", i);
		snprintf(payload, sizeof(payload), "%d", i);
		put(f->ob, OUTBOX_EVENT, topic, payload);
	}
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	while (outbox_next(f->ob, after, &m) == 0) {
		snprintf(topic, sizeof(topic), "gw/t%d", payload_int(&m));
		assert_string_equal(m.topic, topic);
		after = m.seq;
		/* Acked in part, so that the next sync compacts. */
		if (n++ % 4)
			assert_int_equal(outbox_ack(f->ob, m.seq), 0);
	}
	assert_int_equal(n, 70000);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 17500);
	after = 0;
	while (outbox_next(f->ob, after, &m) == 0) {
		snprintf(topic, sizeof(topic), "gw/t%d", payload_int(&m));
		assert_string_equal(m.topic, topic);
		after = m.seq;
	}
}

/*
 * A replay: a backlog of 2 MB that the broker takes within a sync window
 * each time is not copied by a compaction on its way out; the log is
 * reset in place once it is gone.  A backlog that stays is compacted.
 */
static void test_replay_not_copied(void **state)
{
	struct fixture *f = *state;
	char payload[100];
	struct outbox_msg m;
	uint64_t before, after = 0;

	memset(payload, 'r', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	reopen(f, 0, 1000);
	for (int i = 0; i < 20000; i++)
		put(f->ob, OUTBOX_EVENT, "gw/e", payload);
	assert_int_equal(outbox_sync(f->ob), 0);
	before = stats(f->ob).bytes_written;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 5000; i++) {
			assert_int_equal(outbox_next(f->ob, after, &m), 0);
			after = m.seq;
			assert_int_equal(outbox_ack(f->ob, m.seq), 0);
		}
		assert_int_equal(outbox_sync(f->ob), 0);
	}
	/* Marks and the reset only. */
	assert_true(stats(f->ob).bytes_written - before < 1024);
	assert_true(file_size(f->log) < 1024);

	/* The same backlog acked slowly is compacted as before. */
	for (int i = 0; i < 20000; i++)
		put(f->ob, OUTBOX_EVENT, "gw/e", payload);
	assert_int_equal(outbox_sync(f->ob), 0);
	for (int i = 0; i < 19000; i++) {
		assert_int_equal(outbox_next(f->ob, after, &m), 0);
		after = m.seq;
		assert_int_equal(outbox_ack(f->ob, m.seq), 0);
	}
	/* 19000 taken since the last sync: the 1000 left wait for more. */
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) > 20000 * 100);
	/* Then the broker slows down to one a sync: they are compacted. */
	assert_int_equal(outbox_next(f->ob, after, &m), 0);
	assert_int_equal(outbox_ack(f->ob, m.seq), 0);
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) < 999 * 120);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 999);
}

/* Event seq must be there with this topic and these bytes. */
static void expect_binary(const struct outbox *ob, uint64_t seq,
			  const char *topic, const void *payload, size_t len)
{
	struct outbox_msg m;

	assert_int_equal(outbox_next(ob, seq - 1, &m), 0);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.kind, OUTBOX_EVENT);
	assert_string_equal(m.topic, topic);
	assert_int_equal(m.len, len);
	assert_memory_equal(m.payload, payload, len);
}

/*
 * A log written by zwgate 0.1 (tests/outbox/zwgate-0.1.outbox, records of
 * the first format) loads after an upgrade, and the records written
 * after it in today's format load with it.
 */
static void test_old_log(void **state)
{
	struct fixture *f = *state;
	char path[512], buf[4096];
	uint64_t seq;
	size_t len;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tests/outbox/zwgate-0.1.outbox",
		 tu_srcdir());
	fp = fopen(path, "rb");
	assert_non_null(fp);
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	reopen(f, 0, 1000);
	f->ob = outbox_free(f->ob);
	write_log(f, buf, len);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).recovered, 4);
	assert_int_equal(stats(f->ob).truncated, 0);
	expect_msg(f->ob, 3, OUTBOX_STATE,
		   "zwgate/gw/node/2/switch_binary/0/currentValue",
		   "{\"value\":false,\"ts\":2}");
	expect_msg(f->ob, 11, OUTBOX_STATE, "zwgate/gw/status", "");
	expect_binary(f->ob, 12, "caf\xc3\xa9", "\0\xff", 2);
	seq = put(f->ob, OUTBOX_EVENT, "zwgate/gw/event/4/x", "new");
	assert_int_equal(seq, 13);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).recovered, 5);
	assert_int_equal(stats(f->ob).truncated, 0);
	expect_binary(f->ob, 12, "caf\xc3\xa9", "\0\xff", 2);
	expect_msg(f->ob, 13, OUTBOX_EVENT, "zwgate/gw/event/4/x", "new");
}

static void reopen_scoped(struct fixture *f, const char *const *topics,
			  const char *const *refused)
{
	struct outbox_opts o = { .sync_ms = 1000,
				 .topics = topics,
				 .refused = refused };

	f->ob = outbox_free(f->ob);
	assert_int_equal(outbox_open(f->dir, &o, &f->ob), 0);
}

/* Every pending topic is under one of the prefixes; how many there are. */
static size_t pending_under(const struct outbox *ob, const char *const *pfx)
{
	struct outbox_msg m;
	uint64_t after = 0;
	size_t n = 0;

	while (outbox_next(ob, after, &m) == 0) {
		bool in = false;

		for (size_t i = 0; pfx[i]; i++)
			in |= strncmp(m.topic, pfx[i], strlen(pfx[i])) == 0;
		if (!in)
			fail_msg("%s handed out", m.topic);
		after = m.seq;
		n++;
	}
	return n;
}

/*
 * A log holding messages for another gateway's topics (copied from it,
 * or written to have this one publish under its identity): they are
 * dropped at open, counted, and never handed out.
 */
static void test_foreign_topics(void **state)
{
	static const char *const scope[] = { "zwgate/gw/",
					     "homeassistant/+/zwgate_gw_",
					     NULL };
	/* The command topics the gateway subscribes to. */
	static const char *const refused[] = { "zwgate/gw/node/+/+/+/+/set",
					       "zwgate/gw/api/+/set",
					       "zwgate/gw/trust/bundle/set",
					       NULL };
	/* What that scope lets through, without its "+". */
	static const char *const ours[] = { "zwgate/gw/",
					    "homeassistant/switch/zwgate_gw_",
					    NULL };
	struct fixture *f = *state;
	uint64_t seq;

	reopen(f, 0, 1000);
	put(f->ob, OUTBOX_STATE, "zwgate/gw/node/2/switch_binary/0/x", "1");
	put(f->ob, OUTBOX_STATE, "zwgate/victim-gw/node/10/door_lock/0/x",
	    "{\"value\":false}");
	put(f->ob, OUTBOX_EVENT, "zwgate/gw/event/4/scene", "2");
	put(f->ob, OUTBOX_EVENT, "zwgate/victim-gw/api/rename", "{}");
	put(f->ob, OUTBOX_STATE, "homeassistant/switch/zwgate_gw_2/config",
	    "{}");
	/* A prefix is whole levels: zwgate/gw is not zwgate/gwx. */
	put(f->ob, OUTBOX_STATE, "zwgate/gwx/status", "online");
	put(f->ob, OUTBOX_STATE, "zwgate/gw", "x");
	put(f->ob, OUTBOX_EVENT, "homeassistant", "x");
	/* Discovery: only configs of this gateway's entities, whose ids
	 * start with its P; "+" is one whole, non-empty level. */
	put(f->ob, OUTBOX_STATE, "homeassistant/lock/zwgate_victim_10_x/config",
	    "{\"command_topic\":\"zwgate/victim/node/10/x/set\"}");
	put(f->ob, OUTBOX_STATE, "homeassistant//zwgate_gw_2/config", "{}");
	put(f->ob, OUTBOX_STATE, "homeassistant/a/b/zwgate_gw_2/config", "{}");
	put(f->ob, OUTBOX_STATE, "homeassistant/lock/zwgate_gw_", "{}");
	/* Its own command topics: the broker would send them back to it,
	 * and they would be carried out. */
	put(f->ob, OUTBOX_STATE, "zwgate/gw/node/10/door_lock/0/locked/set",
	    "false");
	put(f->ob, OUTBOX_EVENT, "zwgate/gw/api/set/set",
	    "{\"node\":10,\"value\":\"locked\",\"to\":false}");
	put(f->ob, OUTBOX_EVENT, "zwgate/gw/trust/bundle/set", "{}");
	assert_int_equal(outbox_sync(f->ob), 0);

	reopen_scoped(f, scope, refused);
	assert_int_equal(stats(f->ob).recovered, 3);
	assert_int_equal(stats(f->ob).foreign, 12);
	assert_int_equal(pending_under(f->ob, ours), 3);
	/* Nor are they taken from the owner. */
	assert_int_equal(outbox_put(f->ob, OUTBOX_EVENT,
				    "zwgate/gw/node/10/door_lock/0/locked/set",
				    "false", 5, &seq),
			 -EPERM);
	assert_int_equal(
	    outbox_put(f->ob, OUTBOX_EVENT, "zwgate/victim-gw/x", "1", 1, &seq),
	    -EPERM);
	expect_msg(f->ob, 1, OUTBOX_STATE, "zwgate/gw/node/2/switch_binary/0/x",
		   "1");
	/* Used, synced, opened again: they stay out. */
	seq = put(f->ob, OUTBOX_EVENT, "zwgate/gw/event/4/scene", "3");
	assert_int_equal(seq, 16);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen_scoped(f, scope, refused);
	assert_int_equal(pending_under(f->ob, ours), 4);
	assert_int_equal(stats(f->ob).foreign, 12);

	/* Without a scope (the default), every topic is taken. */
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).recovered, 16);
	assert_int_equal(stats(f->ob).foreign, 0);
}

/*
 * The disk-full test runs in a child, whose file size limit stands in for
 * a full disk; it reports the line of a failed check through a pipe.
 */
#define CHECK(c)                                   \
	do {                                       \
		if (!(c))                          \
			child_fail(wfd, __LINE__); \
	} while (0)

static _Noreturn void child_fail(int wfd, int line)
{
	ssize_t n = write(wfd, &line, sizeof(line));

	(void)n;
	_exit(1);
}

static void set_fsize(rlim_t cur)
{
	struct rlimit rl;

	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = cur;
	setrlimit(RLIMIT_FSIZE, &rl);
}

static void disk_full_child(const char *dir, const char *log, int wfd)
{
	struct outbox_opts o = { .max_bytes = 0, .sync_ms = 1000 };
	struct outbox_stats st;
	struct outbox *ob = NULL;
	struct outbox_msg m;
	char payload[200];
	uint64_t s1 = 0, s2 = 0, dummy = 0;
	struct stat sb;

	memset(payload, 'z', sizeof(payload));
	signal(SIGXFSZ, SIG_IGN);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", "ok", 2, &s1) == 0);
	CHECK(outbox_sync(ob) == 0);
	CHECK(stat(log, &sb) == 0);
	set_fsize((rlim_t)sb.st_size + 100);

	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", payload, 200, &dummy) ==
	      -ENOSPC);
	CHECK(dummy == 0);
	CHECK(outbox_put(ob, OUTBOX_STATE, "gw/s", "s", 1, &dummy) == -ENOSPC);
	outbox_get_stats(ob, &st);
	CHECK(st.pending == 3 && st.last_error == -ENOSPC);
	CHECK(outbox_dirty(ob));
	CHECK(outbox_next(ob, s1, &m) == 0 && m.len == 200);
	s2 = m.seq;
	CHECK(outbox_sync(ob) == -ENOSPC);
	CHECK(outbox_dirty(ob));

	set_fsize(RLIM_INFINITY);
	CHECK(outbox_sync(ob) == 0);
	CHECK(!outbox_dirty(ob));
	outbox_get_stats(ob, &st);
	CHECK(st.last_error == 0);
	ob = outbox_free(ob);

	CHECK(outbox_open(dir, &o, &ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.pending == 3 && st.truncated == 0);
	CHECK(outbox_next(ob, s1, &m) == 0 && m.seq == s2 && m.len == 200 &&
	      memcmp(m.payload, payload, 200) == 0);
	CHECK(outbox_next(ob, s2, &m) == 0 && m.kind == OUTBOX_STATE &&
	      strcmp(m.topic, "gw/s") == 0);
	ob = outbox_free(ob);

	/* Sent and acked before it reached the disk: what its failed write
	 * left must not stay behind the shorter record written next. */
	o.sync_ms = 0;
	CHECK(outbox_open(dir, &o, &ob) == 0);
	CHECK(stat(log, &sb) == 0);
	set_fsize((rlim_t)sb.st_size + 100);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", payload, 200, &dummy) ==
	      -ENOSPC);
	CHECK(outbox_next(ob, s2 + 1, &m) == 0 && m.len == 200);
	CHECK(outbox_ack(ob, m.seq) == 0);
	set_fsize(RLIM_INFINITY);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", "short", 5, &s1) == 0);
	CHECK(!outbox_dirty(ob));
	ob = outbox_free(ob);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.truncated == 0 && st.pending == 4);
	CHECK(outbox_next(ob, s2 + 1, &m) == 0 && m.seq == s1 && m.len == 5);
	outbox_free(ob);
	_exit(0);
}

/*
 * Put events of len bytes until the file size limit refuses one (the
 * limit then stands for a disk the outbox filled itself): how many went
 * in, *ret_seq the last of them.
 */
static int fill_up(struct outbox *ob, size_t len, uint64_t *ret_seq, int wfd)
{
	char payload[256];
	int n = 0, r;

	CHECK(len <= sizeof(payload));
	memset(payload, 'f', len);
	while ((r = outbox_put(ob, OUTBOX_EVENT, "gw/e", payload, len,
			       ret_seq)) == 0)
		n++;
	CHECK(r == -ENOSPC);
	return n;
}

/*
 * The outbox fills the disk itself (the log reaches the file size limit,
 * as on a disk it filled), the broker then takes everything: the log,
 * holding nothing pending, is cut in place, and what comes next is
 * written again.  Without that the outbox could never write again.
 */
static void self_full_child(const char *dir, const char *log, int wfd)
{
	struct outbox_opts o = { .max_bytes = 0, .sync_ms = 0 };
	struct outbox_stats st;
	struct outbox *ob = NULL;
	struct outbox_msg m;
	uint64_t seq = 0, after = 0, last = 0;
	struct stat sb;
	int n;

	signal(SIGXFSZ, SIG_IGN);
	set_fsize(16 * KIB);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	n = fill_up(ob, 200, &seq, wfd);
	CHECK(n > 10);
	outbox_get_stats(ob, &st);
	CHECK(st.unwritten == 1 && st.pending == (uint64_t)n + 1);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", "x", 1, &seq) == -ENOSPC);
	outbox_get_stats(ob, &st);
	CHECK(st.unwritten == 2 && st.last_error == -ENOSPC);

	/* The broker takes what was in the log; two stay in memory. */
	while (outbox_next(ob, after, &m) == 0 && n-- > 0) {
		after = m.seq;
		CHECK(outbox_ack(ob, m.seq) == 0);
	}
	CHECK(outbox_sync(ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.unwritten == 0 && st.pending == 2 && st.last_error == 0);
	CHECK(stat(log, &sb) == 0 && sb.st_size < 1024);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", "y", 1, &last) == 0);
	ob = outbox_free(ob);

	set_fsize(RLIM_INFINITY);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.pending == 3 && st.truncated == 0);
	CHECK(outbox_next(ob, after, &m) == 0 && m.len == 200);
	CHECK(outbox_next(ob, m.seq, &m) == 0 && m.len == 1 &&
	      memcmp(m.payload, "x", 1) == 0);
	CHECK(outbox_next(ob, m.seq, &m) == 0 && m.seq == last);
	outbox_free(ob);
	_exit(0);
}

/*
 * The same, with everything acknowledged before the next sync, the ones
 * in memory only too: no message is left to write, only the ack floor,
 * and that does not fit either.
 */
static void self_full_marks_child(const char *dir, const char *log, int wfd)
{
	struct outbox_opts o = { .max_bytes = 0, .sync_ms = 1000 };
	struct outbox_stats st;
	struct outbox *ob = NULL;
	struct outbox_msg m;
	uint64_t seq = 0;
	struct stat sb;

	signal(SIGXFSZ, SIG_IGN);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	/*
	 * The limit is filled exactly, no byte left: a TOPIC record names
	 * "gw/e" once (head, crc, type, id, 4 bytes: 14), then 64 records
	 * of 256 bytes (head, crc, type, seq below 128, id: 11, and 245 of
	 * payload).
	 */
	set_fsize(14 + 64 * 256);
	CHECK(fill_up(ob, 256 - 11, &seq, wfd) == 64);
	CHECK(stat(log, &sb) == 0 && sb.st_size == 14 + 64 * 256);
	while (outbox_next(ob, 0, &m) == 0)
		CHECK(outbox_ack(ob, m.seq) == 0);
	CHECK(outbox_sync(ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.last_error == 0 && st.pending == 0 && !outbox_dirty(ob));
	CHECK(stat(log, &sb) == 0 && sb.st_size < 1024);
	ob = outbox_free(ob);
	set_fsize(RLIM_INFINITY);
	CHECK(outbox_open(dir, &o, &ob) == 0);
	outbox_get_stats(ob, &st);
	CHECK(st.pending == 0 && st.truncated == 0);
	CHECK(outbox_put(ob, OUTBOX_EVENT, "gw/e", "n", 1, &m.seq) == 0);
	/* The seq survived the reset (the put that failed took one). */
	CHECK(m.seq == seq + 2);
	outbox_free(ob);
	_exit(0);
}

/* Run child(dir, log, pipe) in a process of its own: limits and signal
 * dispositions stay there. */
static void in_child(struct fixture *f,
		     void (*child)(const char *, const char *, int))
{
	int p[2], status, line = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(f->dir, f->log, p[1]);
	}
	close(p[1]);
	if (read(p[0], &line, sizeof(line)) == sizeof(line))
		fail_msg("child failed at line %d", line);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_disk_full_by_itself(void **state)
{
	in_child(*state, self_full_child);
}

static void test_disk_full_marks(void **state)
{
	in_child(*state, self_full_marks_child);
}

static void test_disk_full(void **state)
{
	in_child(*state, disk_full_child);
}

/* 100k messages through: it ends, and the log stays small. */
static void test_many_cycles(void **state)
{
	struct fixture *f = *state;
	const char *payload = "{\"value\":21.5,\"ts\":1700000000000}";
	uint64_t seq, prev = 0;
	struct outbox_msg m;

	reopen(f, 0, 1000);
	for (int i = 0; i < 100000; i++) {
		seq = put(f->ob, i % 2 ? OUTBOX_EVENT : OUTBOX_STATE,
			  "gw/n12/temperature", payload);
		assert_true(seq > prev);
		assert_int_equal(outbox_next(f->ob, prev, &m), 0);
		assert_int_equal(m.seq, seq);
		assert_int_equal(outbox_ack(f->ob, seq), 0);
		prev = seq;
		if (i % 1000 == 999)
			assert_int_equal(outbox_sync(f->ob), 0);
	}
	assert_int_equal(outbox_sync(f->ob), 0);
	assert_true(file_size(f->log) < 64 * KIB);
	assert_int_equal(stats(f->ob).pending, 0);
	assert_true(stats(f->ob).bytes_written > 100000 * strlen(payload));
}

/* A backlog while offline, sent in order, acked as it goes. */
static void test_backlog(void **state)
{
	struct fixture *f = *state;
	char payload[16];
	uint64_t after = 0;
	struct outbox_msg m;
	int n = 0;

	reopen(f, 0, 1000);
	for (int i = 0; i < 100000; i++) {
		snprintf(payload, sizeof(payload), "%d", i);
		put(f->ob, OUTBOX_EVENT, "gw/e", payload);
	}
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).recovered, 100000);
	while (outbox_next(f->ob, after, &m) == 0) {
		assert_int_equal(payload_int(&m), n);
		after = m.seq;
		/* The broker acks each but every tenth at once. */
		if (n % 10)
			assert_int_equal(outbox_ack(f->ob, m.seq), 0);
		n++;
	}
	assert_int_equal(n, 100000);
	assert_int_equal(stats(f->ob).pending, 10000);
	assert_int_equal(outbox_sync(f->ob), 0);
	reopen(f, 0, 1000);
	assert_int_equal(stats(f->ob).pending, 10000);
}

/*
 * kill -9 at random moments: every put the child saw return 0 is on disk.
 * The child reports puts and acks as {kind, seq, index} through a pipe
 * (writes below PIPE_BUF are atomic, so a kill tears none).
 */
struct report {
	uint64_t kind; /* 1 put, 2 ack */
	uint64_t seq;
	uint64_t index;
};

#define CRASH_ROUNDS 8
#define CRASH_MAX    4000

static void crash_payload(char *buf, size_t size, uint64_t index)
{
	snprintf(buf, size, "event %llu %0*d", (unsigned long long)index,
		 (int)(index % 50), 0);
}

static void crash_child(const char *dir, int wfd, uint64_t first)
{
	struct outbox_opts o = { .sync_ms = 0 };
	struct outbox *ob = NULL;
	struct report rep;
	uint64_t seqs[CRASH_MAX];
	struct outbox_msg m;
	char payload[80];

	if (outbox_open(dir, &o, &ob) < 0)
		_exit(2);
	/* The broker takes the backlog first. */
	while (outbox_next(ob, 0, &m) == 0) {
		rep = (struct report){ 2, m.seq, 0 };
		if (outbox_ack(ob, m.seq) < 0 ||
		    write(wfd, &rep, sizeof(rep)) != sizeof(rep))
			_exit(4);
	}
	for (uint64_t i = 0; i < CRASH_MAX; i++) {
		crash_payload(payload, sizeof(payload), first + i);
		if (outbox_put(ob, OUTBOX_EVENT, "gw/crash", payload,
			       strlen(payload), &seqs[i]) < 0)
			_exit(3);
		rep = (struct report){ 1, seqs[i], first + i };
		if (write(wfd, &rep, sizeof(rep)) != sizeof(rep))
			_exit(4);
		/* Acks trail the puts; syncs write the floor and compact. */
		if (i >= 3 && i % 32 != 0 && outbox_ack(ob, seqs[i - 3]) == 0) {
			rep = (struct report){ 2, seqs[i - 3], 0 };
			if (write(wfd, &rep, sizeof(rep)) != sizeof(rep))
				_exit(4);
		}
		if (i % 50 == 49 && outbox_sync(ob) < 0)
			_exit(5);
	}
	_exit(0);
}

struct crash_seen {
	uint64_t seq, index;
	bool acked;
};

static void crash_check(struct fixture *f, struct crash_seen *seen, size_t n)
{
	char payload[80];
	struct outbox_msg m;

	reopen(f, 0, 0);
	for (size_t i = 0; i < n; i++) {
		if (seen[i].acked)
			continue;
		crash_payload(payload, sizeof(payload), seen[i].index);
		expect_msg(f->ob, seen[i].seq, OUTBOX_EVENT, "gw/crash",
			   payload);
	}
	/* Whatever else is there is a whole message of ours. */
	for (uint64_t after = 0; outbox_next(f->ob, after, &m) == 0;
	     after = m.seq)
		assert_memory_equal(m.payload, "event ", 6);
	f->ob = outbox_free(f->ob);
}

static void crash_record(struct crash_seen *seen, size_t *n,
			 const struct report *rep)
{
	if (rep->kind == 1) {
		/* Seqs never go back, not even across a kill. */
		assert_true(*n == 0 || rep->seq > seen[*n - 1].seq);
		seen[*n] = (struct crash_seen){ rep->seq, rep->index, false };
		(*n)++;
		return;
	}
	/* An ack of a put whose report the kill cut off finds nothing. */
	for (size_t i = *n; i-- > 0;) {
		if (seen[i].seq == rep->seq) {
			seen[i].acked = true;
			return;
		}
	}
}

static void test_crash(void **state)
{
	struct fixture *f = *state;
	struct crash_seen *seen =
	    calloc(CRASH_ROUNDS * CRASH_MAX, sizeof(*seen));
	size_t n = 0, puts;
	struct report rep;
	int p[2], status;
	pid_t pid;

	assert_non_null(seen);
	srand(20240501);
	reopen(f, 0, 0);
	f->ob = outbox_free(f->ob);
	for (int round = 0; round < CRASH_ROUNDS; round++) {
		size_t kill_after = 1 + (size_t)rand() % 600;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			crash_child(f->dir, p[1], (uint64_t)round * CRASH_MAX);
		}
		close(p[1]);
		for (puts = 0; puts < kill_after &&
			       read(p[0], &rep, sizeof(rep)) == sizeof(rep);) {
			crash_record(seen, &n, &rep);
			puts += rep.kind == 1;
		}
		usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		while (read(p[0], &rep, sizeof(rep)) == sizeof(rep))
			crash_record(seen, &n, &rep);
		close(p[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) ||
			    (WIFEXITED(status) && WEXITSTATUS(status) == 0));
		crash_check(f, seen, n);
	}
	print_message("crash: %zu puts over %d kills, log %lld bytes\n", n,
		      CRASH_ROUNDS, (long long)file_size(f->log));
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_topics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_state_coalesces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_events_never_coalesce,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_topics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_floor_persisted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_seq_survives_compaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_pending,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cut_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound_lowered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bound_states_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sync_always, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_by_itself, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_marks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_compaction_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_cycles, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_always_floor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_topic_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_topic_ids_wrap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_old_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_not_copied, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
