/* SPDX-License-Identifier: MIT */
/*
 * outbox_rec.c: the records of the outbox's log (outbox_int.h has the
 * format): CRC-32C framing, the topic table that names a topic once per
 * file, writing a record with one pwritev and reading it back, and the
 * scope of topics a log read at open may hold.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "outbox_int.h"

#define OB_TOPICS_MIN 64 /* slots of the writer's table at first */

static uint32_t crc_table[256];

/* Built on first use; the daemon writes and reads logs from one thread. */
static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_table[1])
		crc_init();
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Bytes used, or 0 for a varint that is cut short or too long. */
static size_t varint_get(const uint8_t *p, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < OB_VARINT_MAX; i++) {
		if (i == OB_VARINT_MAX - 1 && p[i] > 1)
			return 0; /* more than 64 bits */
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*ret = v;
			return i + 1;
		}
	}
	return 0;
}

/* MQTT topics are UTF-8; a broker refuses anything else. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, need, k;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

bool outbox_topic_ok(const char *t, size_t n)
{
	return n > 0 && n < OUTBOX_TOPIC_MAX && !memchr(t, '\0', n) &&
	       !memchr(t, '+', n) && !memchr(t, '#', n) &&
	       utf8_ok((const unsigned char *)t, n);
}

uint64_t outbox_topic_hash(const char *t, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ (unsigned char)*t++) * 0x100000001b3ULL;
	return h;
}

/* The writer's table: open addressing, linear probing, never deleted
 * from (it is emptied whole when the ids run out). */
struct outbox_topic {
	uint64_t hash;
	uint64_t gen; /* of its TOPIC record in the file; 0: none */
	uint32_t id;
	uint16_t tlen;
	char topic[];
};

struct outbox_topics {
	struct outbox_topic **v;
	size_t cap, n;
	uint64_t gen;
};

struct outbox_topics *outbox_topics_new(void)
{
	struct outbox_topics *t = calloc(1, sizeof(*t));

	if (t)
		t->gen = 1;
	return t;
}

static void topics_empty(struct outbox_topics *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}

struct outbox_topics *outbox_topics_free(struct outbox_topics *t)
{
	if (t) {
		topics_empty(t);
		free(t);
	}
	return NULL;
}

void outbox_topics_forget(struct outbox_topics *t)
{
	t->gen++;
}

static size_t topics_slot(const struct outbox_topics *t, uint64_t hash,
			  const char *topic, size_t tlen)
{
	size_t mask = t->cap - 1, i = hash & mask;
	const struct outbox_topic *e;

	while ((e = t->v[i])) {
		if (e->hash == hash && e->tlen == tlen &&
		    memcmp(e->topic, topic, tlen) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static int topics_grow(struct outbox_topics *t)
{
	struct outbox_topics nt = { .cap =
					t->cap ? t->cap * 2 : OB_TOPICS_MIN };

	nt.v = calloc(nt.cap, sizeof(*nt.v));
	if (!nt.v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct outbox_topic *e = t->v[i];

		if (e)
			nt.v[topics_slot(&nt, e->hash, e->topic, e->tlen)] = e;
	}
	free(t->v);
	t->v = nt.v;
	t->cap = nt.cap;
	return 0;
}

/* The entry of topic, added (without a record yet) if new. */
static struct outbox_topic *topics_get(struct outbox_topics *t,
				       const char *topic, size_t tlen)
{
	uint64_t hash = outbox_topic_hash(topic, tlen);
	struct outbox_topic *e;
	size_t i;

	if (t->n == OB_TOPIC_IDS)
		topics_empty(t);
	if ((t->n + 1) * 2 > t->cap && topics_grow(t) < 0)
		return NULL;
	i = topics_slot(t, hash, topic, tlen);
	if (t->v[i])
		return t->v[i];
	e = calloc(1, sizeof(*e) + tlen);
	if (!e)
		return NULL;
	e->hash = hash;
	e->id = (uint32_t)t->n++;
	e->tlen = (uint16_t)tlen;
	memcpy(e->topic, topic, tlen);
	t->v[i] = e;
	return e;
}

int outbox_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwritev(fd, iov, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		/* A file size limit means the same to us as a full disk;
		 * -EFBIG from outbox_put says "refused", not "queued". */
		if (w < 0)
			return errno == EFBIG ? -ENOSPC : -errno;
		if (w == 0)
			return -ENOSPC;
		off += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Fill h (OB_HEAD + up to 1 + 2 varints) for a record whose body is the
 * fixed part h[OB_HEAD, OB_HEAD + fixed) and then the bytes of the tail
 * iovs; the CRC covers them all.
 */
static void rec_seal(uint8_t *h, size_t fixed, const struct iovec *tail,
		     int ntail)
{
	size_t body = fixed;
	uint32_t c;

	for (int i = 0; i < ntail; i++)
		body += tail[i].iov_len;
	put_le(h, OB_MAGIC << 24 | (uint32_t)body, 4);
	c = crc_update(~0u, h, 4);
	c = crc_update(c, h + OB_HEAD, fixed);
	for (int i = 0; i < ntail; i++)
		c = crc_update(c, tail[i].iov_base, tail[i].iov_len);
	put_le(h + 4, ~c, 4);
}

/* The fixed part of a record: type and up to two varints. */
static size_t rec_fixed(uint8_t *h, enum outbox_type type, uint64_t a, bool two,
			uint64_t b)
{
	size_t n = OB_HEAD;

	h[n++] = (uint8_t)type;
	n += varint_put(h + n, a);
	if (two)
		n += varint_put(h + n, b);
	return n - OB_HEAD;
}

int outbox_rec_write_mark(int fd, uint64_t *off, enum outbox_type type,
			  uint64_t seq)
{
	uint8_t h[OB_HEAD + 1 + OB_VARINT_MAX];
	size_t fixed = rec_fixed(h, type, seq, false, 0);
	struct iovec iov = { h, OB_HEAD + fixed };
	int r;

	rec_seal(h, fixed, NULL, 0);
	r = outbox_pwritev_all(fd, &iov, 1, *off);
	if (r == 0)
		*off += OB_HEAD + fixed;
	return r;
}

int outbox_rec_write_msg(int fd, uint64_t *off, struct outbox_topics *t,
			 uint64_t seq, enum outbox_kind kind, const char *topic,
			 size_t tlen, const void *payload, size_t len)
{
	uint8_t th[OB_HEAD + 1 + OB_VARINT_MAX];
	uint8_t mh[OB_HEAD + 1 + 2 * OB_VARINT_MAX];
	struct outbox_topic *e = topics_get(t, topic, tlen);
	struct iovec iov[4];
	size_t fixed, total = 0;
	int n = 0, r;

	if (!e)
		return -ENOMEM;
	if (e->gen != t->gen) {
		fixed = rec_fixed(th, OB_REC_TOPIC, e->id, false, 0);
		iov[n + 1] = (struct iovec){ (void *)topic, tlen };
		rec_seal(th, fixed, &iov[n + 1], 1);
		iov[n] = (struct iovec){ th, OB_HEAD + fixed };
		n += 2;
	}
	fixed =
	    rec_fixed(mh, kind == OUTBOX_STATE ? OB_REC_STATE : OB_REC_EVENT,
		      seq, true, e->id);
	iov[n + 1] = (struct iovec){ (void *)payload, len };
	rec_seal(mh, fixed, &iov[n + 1], 1);
	iov[n] = (struct iovec){ mh, OB_HEAD + fixed };
	n += len ? 2 : 1;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	r = outbox_pwritev_all(fd, iov, n, *off);
	if (r < 0)
		return r;
	e->gen = t->gen;
	*off += total;
	return 0;
}

void outbox_names_clear(struct outbox_names *n)
{
	for (size_t i = 0; i < n->cap; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->cap = 0;
}

size_t outbox_rec_body_len(const uint8_t *p)
{
	uint32_t head = (uint32_t)get_le(p, 4);
	size_t n = head & 0xffffff;

	if (head >> 24 == OB_MAGIC)
		return n >= 2 && n <= OB_BODY_MAX ? n : 0;
	if (head >> 24 == OB_MAGIC_V1)
		return n >= OB_V1_FIXED && n <= OB_V1_BODY_MAX ? n : 0;
	return 0;
}

static int names_set(struct outbox_names *n, uint64_t id, const uint8_t *t,
		     size_t tlen)
{
	char *s;

	if (id >= OB_TOPIC_IDS || !outbox_topic_ok((const char *)t, tlen))
		return -EBADMSG;
	if (id >= n->cap) {
		size_t cap = n->cap ? n->cap : OB_TOPICS_MIN;
		char **v;

		while (cap <= id)
			cap *= 2;
		v = realloc(n->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + n->cap, 0, (cap - n->cap) * sizeof(*v));
		n->v = v;
		n->cap = cap;
	}
	if (!(s = malloc(tlen + 1)))
		return -ENOMEM;
	memcpy(s, t, tlen);
	s[tlen] = '\0';
	free(n->v[id]);
	n->v[id] = s;
	return 0;
}

/* A record of today's format, its body at b. */
static int rec_read_v2(const uint8_t *b, size_t n, struct outbox_names *names,
		       struct outbox_rec *ret)
{
	size_t i = 1, k;
	uint64_t a, id;

	ret->type = (enum outbox_type)b[0];
	if (ret->type < OB_REC_STATE || ret->type > OB_REC_TOPIC ||
	    !(k = varint_get(b + i, n - i, &a)))
		return -EBADMSG;
	i += k;
	if (ret->type == OB_REC_TOPIC)
		return names_set(names, a, b + i, n - i);
	ret->seq = a;
	if (ret->type >= OB_REC_ACK)
		return i == n ? 0 : -EBADMSG;
	if (!(k = varint_get(b + i, n - i, &id)) || id >= names->cap ||
	    !names->v[id])
		return -EBADMSG;
	i += k;
	ret->topic = names->v[id];
	ret->tlen = strlen(ret->topic);
	ret->payload = b + i;
	ret->len = n - i;
	return ret->len <= OUTBOX_PAYLOAD_MAX ? 0 : -EBADMSG;
}

/* A record of zwgate 0.1, its body at b. */
static int rec_read_v1(const uint8_t *b, size_t n, struct outbox_rec *ret)
{
	size_t tlen = get_le(b + 9, 2);

	ret->seq = get_le(b, 8);
	ret->type = (enum outbox_type)b[8];
	if (ret->type >= OB_REC_ACK && ret->type <= OB_REC_SEQ)
		return n == OB_V1_FIXED ? 0 : -EBADMSG;
	if (ret->type != OB_REC_STATE && ret->type != OB_REC_EVENT)
		return -EBADMSG;
	ret->topic = (const char *)b + OB_V1_FIXED;
	ret->tlen = tlen;
	if (tlen > n - OB_V1_FIXED || !outbox_topic_ok(ret->topic, tlen) ||
	    n - OB_V1_FIXED - tlen > OUTBOX_PAYLOAD_MAX)
		return -EBADMSG;
	ret->payload = b + OB_V1_FIXED + tlen;
	ret->len = n - OB_V1_FIXED - tlen;
	return 0;
}

int outbox_rec_read(const uint8_t *p, size_t body_len,
		    struct outbox_names *names, struct outbox_rec *ret)
{
	uint32_t c = ~crc_update(crc_update(~0u, p, 4), p + OB_HEAD, body_len);

	if (c != get_le(p + 4, 4))
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	if (p[3] == OB_MAGIC)
		return rec_read_v2(p + OB_HEAD, body_len, names, ret);
	return rec_read_v1(p + OB_HEAD, body_len, ret);
}

/* len bytes of the log at off, or NULL at its end or on a read error. */
const uint8_t *outbox_rd_get(struct outbox_reader *rd, uint64_t off, size_t len)
{
	if (off >= rd->base && off + len <= rd->base + rd->fill)
		return rd->buf + (off - rd->base);
	rd->base = off;
	rd->fill = 0;
	while (rd->fill < OB_READ_CHUNK) {
		ssize_t n =
		    pread(rd->fd, rd->buf + rd->fill, OB_READ_CHUNK - rd->fill,
			  (off_t)(off + rd->fill));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rd->err = -errno;
			return NULL;
		}
		if (n == 0)
			break;
		rd->fill += (size_t)n;
	}
	return rd->fill >= len ? rd->buf : NULL;
}

/* A topic pattern of a scope, with its length. */
struct outbox_pattern {
	char *s;
	size_t len;
};

/* The prefixes a scope takes (NULL: any), then the topics it refuses. */
struct outbox_scope {
	bool any;
	size_t n, nrefused;
	struct outbox_pattern v[];
};

static size_t count(const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

int outbox_scope_new(const char *const *prefixes, const char *const *refused,
		     struct outbox_scope **ret)
{
	size_t n = count(prefixes), nr = count(refused);
	struct outbox_scope *sc;

	*ret = NULL;
	if (!prefixes && !refused)
		return 0;
	sc = calloc(1, sizeof(*sc) + (n + nr) * sizeof(sc->v[0]));
	if (!sc)
		return -ENOMEM;
	sc->any = !prefixes;
	for (size_t i = 0; i < n + nr; i++) {
		const char *p = i < n ? prefixes[i] : refused[i - n];

		sc->v[i].s = strdup(p);
		if (!sc->v[i].s) {
			outbox_scope_free(sc);
			return -ENOMEM;
		}
		sc->v[i].len = strlen(p);
		if (i < n)
			sc->n++;
		else
			sc->nrefused++;
	}
	*ret = sc;
	return 0;
}

struct outbox_scope *outbox_scope_free(struct outbox_scope *sc)
{
	for (size_t i = 0; sc && i < sc->n + sc->nrefused; i++)
		free(sc->v[i].s);
	free(sc);
	return NULL;
}

/*
 * How many bytes of t (n bytes) the pattern p (plen bytes) covers, or
 * SIZE_MAX when t does not start with it.  A level of p that is "+"
 * stands for one level of t, which must not be empty: the discovery
 * configs of this gateway are "<discovery-prefix>/+/<its id>_...".
 */
static size_t pattern_covers(const char *p, size_t plen, const char *t,
			     size_t n)
{
	size_t i = 0, j = 0;

	while (i < plen) {
		if (p[i] == '+' && (i == 0 || p[i - 1] == '/') &&
		    (i + 1 == plen || p[i + 1] == '/')) {
			size_t k = j;

			while (k < n && t[k] != '/')
				k++;
			if (k == j)
				return SIZE_MAX;
			j = k;
		} else if (j >= n || t[j] != p[i]) {
			return SIZE_MAX;
		} else {
			j++;
		}
		i++;
	}
	return j;
}

bool outbox_scope_allows(const struct outbox_scope *sc, const char *t, size_t n)
{
	bool in;

	if (!sc)
		return true;
	for (size_t i = sc->n; i < sc->n + sc->nrefused; i++)
		if (pattern_covers(sc->v[i].s, sc->v[i].len, t, n) == n)
			return false;
	in = sc->any;
	for (size_t i = 0; i < sc->n && !in; i++) {
		size_t c = pattern_covers(sc->v[i].s, sc->v[i].len, t, n);

		in = c != SIZE_MAX && c < n;
	}
	return in;
}
