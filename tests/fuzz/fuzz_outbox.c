/* SPDX-License-Identifier: MIT */
/*
 * fuzz_outbox.c: the outbox's log as a crash, a full disk or a bad SD
 * card may leave it (the record format at the top of src/core/outbox.c),
 * recovered at open, then used and reopened.
 *
 * The first byte of the input says how to read the rest: with bit 0
 * clear it is the log as it is; with bit 0 set it is cut into records
 * whose head magic, length and CRC-32C the harness makes right, so that
 * what follows the CRC check (types, seqs, topics, marks) is reached.
 * With bit 1 set the outbox is opened with a scope of topics (SCOPE, as
 * cloud.c gives it P/ and the discovery prefix).
 *
 * Properties: a log never makes open fail; what it hands out is in seq
 * order, with topics one may publish to, within the scope if there is
 * one; a put, an ack and a sync after it succeed; and once synced and
 * closed, a reopen hands out exactly the same messages.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outbox.h"

#define OB_HEAD	 8  /* u32 head, u32 crc */
#define OB_FIXED 11 /* seq, type, topic length */
#define FUZZ_MAX (64 * 1024)

static uint32_t crc32c(const uint8_t *p, size_t n, uint32_t crc)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Each record made valid but for its body; a short tail stays torn. */
static void fix_records(uint8_t *b, size_t len)
{
	size_t off = 0, n;
	uint32_t crc;

	while (len - off >= OB_HEAD + OB_FIXED) {
		n = (b[off] | b[off + 1] << 8 | (size_t)b[off + 2] << 16);
		if (n < OB_FIXED)
			n = OB_FIXED;
		if (n > len - off - OB_HEAD)
			n = len - off - OB_HEAD;
		put_le32(b + off, 0xA5u << 24 | (uint32_t)n);
		crc = crc32c(b + off, 4, ~0u);
		crc = ~crc32c(b + off + OB_HEAD, n, crc);
		put_le32(b + off + 4, crc);
		off += OB_HEAD + n;
	}
}

/* Some records of the seeds are in it, some (status, events) not; a
 * "+" level stands for one non-empty level, as discovery's does. */
static const char *const scope[] = { "zwgate/gw/node/", "fuzz/", "ha/+/gw_",
				     NULL };
/* Never handed out, though in scope: topics the owner subscribes to. */
static const char *const refused[] = { "zwgate/gw/node/+/+/+/+/set",
				       "fuzz/+/set", NULL };

/* Where t goes on after p, read the simple way ("+" is always a whole
 * level here), or NULL when t does not start with p. */
static const char *after(const char *p, const char *t)
{
	while (*p) {
		if (*p == '+') {
			size_t l = strcspn(t, "/");

			if (l == 0)
				return NULL;
			t += l;
			p++;
		} else if (*p++ != *t++) {
			return NULL;
		}
	}
	return t;
}

static bool in_scope(const char *const *topics, const char *t)
{
	const char *e;

	if (!topics)
		return true;
	for (size_t i = 0; refused[i]; i++)
		if ((e = after(refused[i], t)) && !*e)
			return false;
	for (size_t i = 0; topics[i]; i++)
		if ((e = after(topics[i], t)) && *e)
			return true;
	return false;
}

struct seen {
	size_t n;
	uint64_t seq[FUZZ_MAX / OB_FIXED + 8];
	uint64_t sum[FUZZ_MAX / OB_FIXED + 8]; /* of kind, topic, payload */
	uint64_t bytes;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static uint64_t msg_sum(const struct outbox_msg *m)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, &m->kind, sizeof(m->kind));

	h = fnv(h, m->topic, strlen(m->topic) + 1);
	return fnv(h, m->payload, m->len);
}

/* Everything pending, checked; the seqs into s. */
static void walk(const struct outbox *ob, const char *const *topics,
		 struct seen *s)
{
	struct outbox_msg m;
	uint64_t after = 0;

	s->n = 0;
	s->bytes = 0;
	while (outbox_next(ob, after, &m) == 0) {
		fuzz_check(m.seq > after, "seq %llu after %llu",
			   (unsigned long long)m.seq,
			   (unsigned long long)after);
		fuzz_check(m.topic[0] && strlen(m.topic) < OUTBOX_TOPIC_MAX &&
			       !strpbrk(m.topic, "+#"),
			   "a topic one may not publish to");
		fuzz_check(in_scope(topics, m.topic), "%s is out of scope",
			   m.topic);
		fuzz_check(m.len <= OUTBOX_PAYLOAD_MAX, "payload too large");
		fuzz_check(s->n < sizeof(s->seq) / sizeof(s->seq[0]),
			   "more messages than records");
		s->sum[s->n] = msg_sum(&m);
		s->seq[s->n++] = m.seq;
		s->bytes += strlen(m.topic) + m.len;
		after = m.seq;
	}
}

static void use(struct outbox *ob, const struct seen *s)
{
	uint64_t seq;
	int r;

	if (s->n)
		fuzz_check(outbox_ack(ob, s->seq[0]) == 0, "ack");
	r = outbox_put(ob, OUTBOX_STATE, "fuzz/state", "1", 1, &seq);
	fuzz_check(r == 0, "put a state: %s", strerror(-r));
	r = outbox_put(ob, OUTBOX_EVENT, "fuzz/event", "e", 1, &seq);
	fuzz_check(r == 0, "put an event: %s", strerror(-r));
	r = outbox_sync(ob);
	fuzz_check(r == 0, "sync: %s", strerror(-r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbox_opts o = { .max_bytes = OUTBOX_MIN_MAX_BYTES };
	static struct seen before, after;
	char dir[PATH_MAX], log[PATH_MAX];
	struct outbox *ob;
	uint8_t *b;
	int r;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	b = malloc(size);
	fuzz_check(b, "out of memory");
	memcpy(b, data, size);
	if (b[0] & 1)
		fix_records(b + 1, size - 1);
	o.topics = b[0] & 2 ? scope : NULL;
	o.refused = b[0] & 2 ? refused : NULL;
	fuzz_path(dir, fuzz_dir(), "outbox");
	fuzz_rm_rf(dir);
	fuzz_mkdir(dir);
	fuzz_write(fuzz_path(log, dir, "log"), b + 1, size - 1, 0600);
	free(b);
	r = outbox_open(dir, &o, &ob);
	fuzz_check(r == 0, "a log made open fail: %d", r);
	walk(ob, o.topics, &before);
	use(ob, &before);
	walk(ob, o.topics, &before);
	outbox_free(ob);
	fuzz_check(outbox_open(dir, &o, &ob) == 0, "reopen");
	walk(ob, o.topics, &after);
	/* Over the bound only by the newest event, which a put may keep.  A
	 * damaged log's seqs may be renumbered: the messages must stay. */
	if (before.bytes <= o.max_bytes)
		fuzz_check(after.n == before.n &&
			       !memcmp(after.sum, before.sum,
				       before.n * sizeof(before.sum[0])),
			   "reopened with %zu messages, not %zu", after.n,
			   before.n);
	outbox_free(ob);
	return 0;
}
