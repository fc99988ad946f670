/* SPDX-License-Identifier: MIT */
/*
 * test_trust_store.c: slots A/B, pending/active, tries, the floor and the
 * last-good time of <state-dir>/trust, with real signed bundles and a CA
 * certificate made by the openssl command at run time.
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
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fsutil.h"
#include "trust.h"
#include "testutil.h"

#define NOW	 INT64_C(1800000000) /* 2027-01-15 */
#define DAY	 INT64_C(86400)
#define HOST	 "broker.example.com"
#define NKEYS	 3
#define ALL_KEYS 0x3 /* keys 0 and 1: the factory's signers */
#define ZERO_PIN "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* Made once for all tests: a CA certificate and three Ed25519 keys. */
static struct {
	char dir[256];
	X509 *ca;
	char ca_pin[TRUST_PIN_LEN + 1];
	EVP_PKEY *key[NKEYS];
	unsigned char pub[NKEYS][TRUST_KEY_LEN];
} g;

struct fixture {
	char parent[256];
	char dir[300]; /* parent/trust, made by the store */
	struct trust_store *s;
};

static int make_ca(void)
{
	char cmd[1024], path[300];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/ca.pem", g.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 3650 "
		 "-addext basicConstraints=critical,CA:TRUE "
		 "-addext keyUsage=critical,keyCertSign,cRLSign "
		 "-keyout '%s/ca.key' -out '%s' 2>/dev/null",
		 g.dir, path);
	if (system(cmd) != 0)
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	g.ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!g.ca)
		return -1;
	r = trust_pin_of_cert(g.ca, g.ca_pin);
	return r < 0 ? -1 : 0;
}

static int group_setup(void **state)
{
	if (tu_tmpdir(g.dir, sizeof(g.dir), "trust-store") < 0)
		return -1;
	if (make_ca() < 0)
		return -1;
	for (int i = 0; i < NKEYS; i++) {
		g.key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		if (!g.key[i] || trust_key_raw_public(g.key[i], g.pub[i]) < 0)
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(g.key[i]);
	X509_free(g.ca);
	return g.dir[0] ? tu_rm_rf(g.dir) : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tu_tmpdir(f->parent, sizeof(f->parent), "trust") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/trust", f->parent);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	trust_store_free(f->s);
	chmod(f->dir, 0700);
	r = tu_rm_rf(f->parent);
	free(f);
	return r;
}

/* ---- bundles ------------------------------------------------------- */

struct spec {
	uint64_t version;
	int64_t issued, expires;
	const char *host;
	unsigned sign;	    /* bit i: signed by key i */
	bool tamper;	    /* change the version after signing */
	unsigned signers;   /* bit i: key i signs the next; 0: keys 0, 1 */
	unsigned threshold; /* 0: 2, or 1 with a single signer */
};

static struct trust_bundle *make(const struct spec *sp)
{
	struct trust_bundle *b = trust_bundle_new();
	char err[TRUST_REASON_MAX];

	assert_non_null(b);
	b->version = sp->version;
	b->issued_at = sp->issued ? sp->issued : NOW - 10 * DAY;
	b->expires = sp->expires ? sp->expires : NOW + 365 * DAY;
	b->hosts[0] = strdup(sp->host ? sp->host : HOST);
	assert_non_null(b->hosts[0]);
	b->nhosts = 1;
	assert_int_equal(sk_X509_push(b->anchors, X509_dup(g.ca)), 1);
	strcpy(b->pins[0], g.ca_pin);
	strcpy(b->pins[1], ZERO_PIN);
	b->npins = 2;
	for (int i = 0; i < NKEYS; i++)
		if ((sp->signers ? sp->signers : ALL_KEYS) & (1u << i))
			memcpy(b->signers[b->nsigners++], g.pub[i],
			       TRUST_KEY_LEN);
	b->threshold = sp->threshold ? sp->threshold : b->nsigners < 2 ? 1 : 2;
	assert_int_equal(trust_bundle_check(b, err, sizeof(err)), 0);
	for (int i = 0; i < NKEYS; i++)
		if (sp->sign & (1u << i))
			assert_int_equal(
			    trust_bundle_sign(b, g.key[i], err, sizeof(err)),
			    0);
	if (sp->tamper)
		b->version++;
	return b;
}

static struct trust_bundle *factory(uint64_t version)
{
	return make(&(struct spec){ .version = version, .sign = ALL_KEYS });
}

/* The bundle of sp as a file's bytes; caller frees. */
static char *text(const struct spec *sp, size_t *len)
{
	struct trust_bundle *b = make(sp);
	char *t = NULL;

	assert_int_equal(trust_bundle_dump(b, &t, len), 0);
	trust_bundle_free(b);
	return t;
}

static char *text_v(uint64_t version, size_t *len)
{
	return text(&(struct spec){ .version = version, .sign = ALL_KEYS },
		    len);
}

/* ---- the store ----------------------------------------------------- */

static void reopen_with(struct fixture *f, struct trust_bundle *fb)
{
	char err[512] = "";
	int r;

	trust_store_free(f->s);
	f->s = NULL;
	r = trust_store_open(f->dir, fb, &f->s, err, sizeof(err));
	if (r != 0)
		fail_msg("open: %d %s", r, err);
}

static void reopen(struct fixture *f, uint64_t factory_version)
{
	reopen_with(f, factory(factory_version));
}

/* Close the store: what follows is done to its files, daemon stopped. */
static void stop(struct fixture *f)
{
	trust_store_free(f->s);
	f->s = NULL;
}

static struct trust_store_info info(struct fixture *f)
{
	struct trust_store_info i;

	trust_store_info(f->s, &i);
	return i;
}

static int offer_spec(struct fixture *f, const struct spec *sp, char *why)
{
	size_t len;
	char *t = text(sp, &len);
	int r;

	r = trust_store_offer(f->s, t, len, NOW, HOST, why, TRUST_REASON_MAX);
	free(t);
	return r;
}

static int offer(struct fixture *f, uint64_t version, char *why)
{
	return offer_spec(
	    f, &(struct spec){ .version = version, .sign = ALL_KEYS }, why);
}

/* Offer a bundle signed by the keys in sign that names the keys in
 * signers (struct spec) for the next; it must be accepted. */
static void offer_keys_ok(struct fixture *f, uint64_t version, unsigned sign,
			  unsigned signers)
{
	char why[TRUST_REASON_MAX] = "";
	int r = offer_spec(f,
			   &(struct spec){ .version = version,
					   .sign = sign,
					   .signers = signers },
			   why);

	if (r != 0)
		fail_msg("offer %llu: %d %s", (unsigned long long)version, r,
			 why);
}

static void offer_ok(struct fixture *f, uint64_t version)
{
	offer_keys_ok(f, version, ALL_KEYS, 0);
}

/* Offer as offer_keys_ok does, then commit: the handshake succeeded. */
static void commit_keys(struct fixture *f, uint64_t version, unsigned sign,
			unsigned signers)
{
	offer_keys_ok(f, version, sign, signers);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
}

static void commit(struct fixture *f, uint64_t version)
{
	commit_keys(f, version, ALL_KEYS, 0);
}

static char *path_of(struct fixture *f, const char *name)
{
	char *p = fs_join(f->dir, name);

	assert_non_null(p);
	return p;
}

static char *read_in(struct fixture *f, const char *name, size_t *len)
{
	char *p = path_of(f, name), *buf = NULL;

	assert_int_equal(fs_read_file(p, 1 << 20, &buf, len), 0);
	free(p);
	return buf;
}

static bool exists(struct fixture *f, const char *name)
{
	char *p = path_of(f, name);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Remove a file of the store, as anyone who may write it could. */
static void remove_in(struct fixture *f, const char *name)
{
	char *p = path_of(f, name);

	assert_int_equal(unlink(p), 0);
	free(p);
}

static void assert_warns(struct fixture *f, const char *needle)
{
	const char *w = info(f).warning;

	if (!w || !strstr(w, needle))
		fail_msg("warning \"%s\" does not say \"%s\"", w ? w : "(none)",
			 needle);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static json_t *state_json(struct fixture *f)
{
	size_t len;
	char *t = read_in(f, "state", &len);
	json_t *o = json_loadb(t, len, 0, NULL);

	free(t);
	assert_non_null(o);
	return o;
}

/* Names, modes and bytes of every file of dir, sorted; caller frees. */
static char *snapshot(const char *dir, size_t *len)
{
	struct dirent **ents;
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	int n = scandir(dir, &ents, NULL, alphasort);

	assert_non_null(m);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		char *p = fs_join(dir, ents[i]->d_name), *data = NULL;
		size_t dl = 0;

		assert_non_null(p);
		fprintf(m, "%s %o\n", ents[i]->d_name, (unsigned)mode_of(p));
		if (ents[i]->d_type == DT_REG &&
		    fs_read_file(p, 1 << 20, &data, &dl) == 0)
			fwrite(data, 1, dl, m);
		free(data);
		free(p);
		free(ents[i]);
	}
	free(ents);
	fclose(m);
	return buf;
}

static void assert_same_info(const struct trust_store_info *a,
			     const struct trust_store_info *b)
{
	assert_ptr_equal(a->factory, b->factory);
	assert_ptr_equal(a->active, b->active);
	assert_ptr_equal(a->active_from, b->active_from);
	assert_ptr_equal(a->pending, b->pending);
	assert_ptr_equal(a->pending_from, b->pending_from);
	assert_int_equal(a->pending_tries, b->pending_tries);
	assert_int_equal(a->floor, b->floor);
	assert_int_equal(a->last_good, b->last_good);
	assert_ptr_equal(a->dropped, b->dropped);
}

static void assert_same_snapshot(const char *a, size_t al, const char *b,
				 size_t bl)
{
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
}

/* ---- tests --------------------------------------------------------- */

static void fresh_store_uses_factory(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	bool pending = true;

	reopen(f, 4);
	i = info(f);
	assert_ptr_equal(i.active, i.factory);
	assert_int_equal(i.active->version, 4);
	assert_string_equal(i.active_from, "factory");
	assert_null(i.pending);
	assert_null(i.pending_from);
	assert_int_equal(i.floor, 4);
	assert_int_equal(i.last_good, 0);
	assert_null(i.dropped);
	assert_null(i.warning);
	assert_ptr_equal(trust_store_current(f->s, &pending), i.factory);
	assert_false(pending);
	assert_int_equal(mode_of(f->dir), 0700);
	/* The state is written at once: from then on a bundle file without
	 * it means that it was lost. */
	assert_true(exists(f, "state"));
	/* Nothing can be tried, so nothing is committed. */
	assert_int_equal(trust_store_tried(f->s, true, NULL), 0);
	assert_ptr_equal(info(f).active, i.factory);
}

static void offer_makes_pending_on_disk(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	char *sent, *stored, *p;
	size_t sl, dl;
	bool pending = false;
	json_t *st;

	reopen(f, 1);
	sent = text_v(2, &sl);
	assert_int_equal(trust_store_offer(f->s, sent, sl, NOW, HOST, NULL, 0),
			 0);
	i = info(f);
	assert_non_null(i.pending);
	assert_int_equal(i.pending->version, 2);
	assert_string_equal(i.pending_from, "slot a");
	assert_int_equal(i.pending_tries, 0);
	assert_ptr_equal(i.active, i.factory);
	assert_int_equal(i.floor, 1);
	assert_ptr_equal(trust_store_current(f->s, &pending), i.pending);
	assert_true(pending);

	stored = read_in(f, "slot-a.bundle", &dl);
	assert_int_equal(dl, sl);
	assert_memory_equal(stored, sent, sl);
	p = path_of(f, "slot-a.bundle");
	assert_int_equal(mode_of(p), 0600);
	free(p);
	p = path_of(f, "state");
	assert_int_equal(mode_of(p), 0600);
	free(p);
	st = state_json(f);
	assert_string_equal(json_string_value(json_object_get(st, "active")),
			    "factory");
	assert_string_equal(json_string_value(json_object_get(st, "pending")),
			    "a");
	json_decref(st);

	reopen(f, 1);
	i = info(f);
	assert_non_null(i.pending);
	assert_int_equal(i.pending->version, 2);
	assert_string_equal(i.pending_from, "slot a");
	assert_null(i.warning);
	free(stored);
	free(sent);
}

static void tried_ok_commits(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	char *a1, *a2;
	size_t l1, l2;
	json_t *st;

	reopen(f, 1);
	commit(f, 2);
	i = info(f);
	assert_null(i.pending);
	assert_int_equal(i.active->version, 2);
	assert_string_equal(i.active_from, "slot a");
	assert_int_equal(i.floor, 2);
	st = state_json(f);
	assert_string_equal(json_string_value(json_object_get(st, "active")),
			    "a");
	assert_true(json_is_null(json_object_get(st, "pending")));
	assert_int_equal(json_integer_value(json_object_get(st, "floor")), 2);
	json_decref(st);

	reopen(f, 1);
	i = info(f);
	assert_int_equal(i.active->version, 2);
	assert_string_equal(i.active_from, "slot a");
	assert_int_equal(i.floor, 2);

	/* The next offers go to slot b; the active slot a is never touched. */
	a1 = read_in(f, "slot-a.bundle", &l1);
	offer_ok(f, 3);
	assert_string_equal(info(f).pending_from, "slot b");
	offer_ok(f, 4);
	assert_string_equal(info(f).pending_from, "slot b");
	assert_int_equal(info(f).pending->version, 4);
	a2 = read_in(f, "slot-a.bundle", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(a1, a2, l1);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	assert_string_equal(info(f).active_from, "slot b");
	assert_int_equal(info(f).floor, 4);

	/* Now slot a is free again. */
	offer_ok(f, 5);
	assert_string_equal(info(f).pending_from, "slot a");
	reopen(f, 1);
	i = info(f);
	assert_int_equal(i.active->version, 4);
	assert_int_equal(i.pending->version, 5);
	assert_int_equal(i.floor, 4);
	free(a1);
	free(a2);
}

static void three_failures_drop(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	json_t *st;

	reopen(f, 1);
	offer_ok(f, 2);
	assert_int_equal(trust_store_tried(f->s, false, "tls: bad chain"), 0);
	assert_int_equal(info(f).pending_tries, 1);
	assert_int_equal(trust_store_tried(f->s, false, "tls: bad chain"), 0);
	assert_int_equal(info(f).pending_tries, 2);
	assert_non_null(info(f).pending);
	assert_int_equal(trust_store_tried(f->s, false, "connack: refused"), 2);
	i = info(f);
	assert_null(i.pending);
	assert_int_equal(i.pending_tries, 0);
	assert_ptr_equal(i.active, i.factory);
	assert_int_equal(i.floor, 1);
	assert_string_equal(i.dropped, "connack: refused");
	assert_ptr_equal(trust_store_current(f->s, NULL), i.factory);
	st = state_json(f);
	assert_string_equal(json_string_value(json_object_get(st, "dropped")),
			    "connack: refused");
	json_decref(st);

	reopen(f, 1);
	i = info(f);
	assert_null(i.pending);
	assert_string_equal(i.dropped, "connack: refused");

	/* The same version may be offered again; a commit clears dropped. */
	commit(f, 2);
	assert_null(info(f).dropped);
	reopen(f, 1);
	assert_null(info(f).dropped);
	assert_int_equal(info(f).floor, 2);
}

static void tries_survive_reopen(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	offer_ok(f, 2);
	assert_int_equal(trust_store_tried(f->s, false, "x"), 0);
	reopen(f, 1);
	assert_int_equal(info(f).pending_tries, 1);
	assert_int_equal(trust_store_tried(f->s, false, "x"), 0);
	reopen(f, 1);
	assert_int_equal(info(f).pending_tries, 2);
	assert_int_equal(trust_store_tried(f->s, false, NULL), 2);
	assert_non_null(strstr(info(f).dropped, "3 tries"));
	reopen(f, 1);
	assert_null(info(f).pending);
	assert_non_null(info(f).dropped);
}

/* Offer sp, expect err and a why containing needle, and no change. */
static void refused(struct fixture *f, const struct spec *sp, int err,
		    const char *needle)
{
	const struct trust_bundle *cur = trust_store_current(f->s, NULL);
	struct trust_store_info before = info(f), after;
	char why[TRUST_REASON_MAX] = "", *s1, *s2;
	size_t l1, l2;
	int r;

	s1 = snapshot(f->dir, &l1);
	r = offer_spec(f, sp, why);
	if (r != err || !strstr(why, needle))
		fail_msg("version %llu: %d (%s), expected %d (%s)",
			 (unsigned long long)sp->version, r, why, err, needle);
	s2 = snapshot(f->dir, &l2);
	assert_same_snapshot(s1, l1, s2, l2);
	after = info(f);
	assert_ptr_equal(trust_store_current(f->s, NULL), cur);
	assert_same_info(&before, &after);
	free(s1);
	free(s2);
}

static void refused_offers_change_nothing(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "";

	reopen(f, 1);
	commit(f, 3);
	offer_ok(f, 4);
	assert_int_equal(trust_store_tried(f->s, false, "x"), 0);
	refused(f, &(struct spec){ .version = 3, .sign = ALL_KEYS }, -ESTALE,
		"not above the floor 3");
	refused(f, &(struct spec){ .version = 2, .sign = ALL_KEYS }, -ESTALE,
		"floor");
	refused(f, &(struct spec){ .version = 5, .sign = 0x5 }, -EPERM,
		"trusted key");
	refused(f, &(struct spec){ .version = 5, .sign = 0x4 }, -EPERM,
		"signed by 0");
	refused(
	    f, &(struct spec){ .version = 5, .sign = ALL_KEYS, .tamper = true },
	    -EPERM, "signed by 0");
	refused(f,
		&(struct spec){ .version = 5,
				.sign = ALL_KEYS,
				.host = "other.example.com" },
		-EPERM, "does not cover host " HOST);
	refused(f,
		&(struct spec){ .version = 5,
				.sign = ALL_KEYS,
				.issued = NOW - 20 * DAY,
				.expires = NOW - DAY },
		-ETIME, "expired");
	/* Not a bundle at all. */
	assert_int_equal(trust_store_offer(f->s, "{\"format\": 1", 12, NOW,
					   HOST, why, sizeof(why)),
			 -EINVAL);
	assert_true(why[0] != '\0');
	/* A NULL host skips the host check. */
	assert_int_equal(
	    offer_spec(f,
		       &(struct spec){ .version = 5,
				       .sign = ALL_KEYS,
				       .host = "other.example.com" },
		       why),
	    -EPERM);
	{
		size_t len;
		char *t = text(&(struct spec){ .version = 5,
					       .sign = ALL_KEYS,
					       .host = "other.example.com" },
			       &len);

		assert_int_equal(trust_store_offer(f->s, t, len, NOW, NULL, why,
						   sizeof(why)),
				 0);
		free(t);
	}
	assert_int_equal(info(f).pending->version, 5);
}

static void expiry_judged_after_last_good(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "";

	reopen(f, 1);
	/* The store saw a verified connection later than the offer's now:
	 * a bundle expired by then is refused although now says not. */
	assert_int_equal(trust_store_set_last_good(f->s, NOW + 400 * DAY), 1);
	assert_int_equal(offer(f, 2, why), -ETIME);
	assert_null(info(f).pending);
}

static void truncate_half(struct fixture *f, const char *name)
{
	char *p = path_of(f, name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size / 2), 0);
	free(p);
}

static void torn_pending_ignored(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;

	reopen(f, 1);
	offer_ok(f, 2);
	truncate_half(f, "slot-a.bundle");
	reopen(f, 1);
	i = info(f);
	assert_null(i.pending);
	assert_ptr_equal(i.active, i.factory);
	assert_non_null(i.warning);
	assert_non_null(strstr(i.warning, "slot a"));
	assert_non_null(i.dropped);

	/* With a committed bundle in slot a and a torn pending in b. */
	commit(f, 3);
	offer_ok(f, 4);
	assert_string_equal(info(f).pending_from, "slot b");
	truncate_half(f, "slot-b.bundle");
	reopen(f, 1);
	i = info(f);
	assert_null(i.pending);
	assert_int_equal(i.active->version, 3);
	assert_string_equal(i.active_from, "slot a");
	assert_int_equal(i.floor, 3);
	assert_non_null(strstr(i.warning, "slot b"));
	/* Ignoring it was saved: the next open has nothing to warn of. */
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_null(info(f).pending);
}

static void write_in(struct fixture *f, const char *name, const char *data)
{
	assert_int_equal(
	    fs_write_atomic(f->dir, name, data, strlen(data), 0600), 0);
}

static void leftover_temps_removed(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	offer_ok(f, 2);
	write_in(f, ".slot-b.bundle.tmp.12345", "{\"format\": 1, \"ver");
	write_in(f, ".state.tmp.999", "{\"active\":");
	write_in(f, ".last-good.tmp.999", "{\"last-good\":");
	write_in(f, ".slot-a.bundle.tmp.7", "");
	write_in(f, "notes", "not ours");
	write_in(f, ".state.tmp.12x", "not ours either");
	reopen(f, 1);
	assert_false(exists(f, ".slot-b.bundle.tmp.12345"));
	assert_false(exists(f, ".state.tmp.999"));
	assert_false(exists(f, ".last-good.tmp.999"));
	assert_false(exists(f, ".slot-a.bundle.tmp.7"));
	assert_true(exists(f, "notes"));
	assert_true(exists(f, ".state.tmp.12x"));
	assert_int_equal(info(f).pending->version, 2);
	assert_null(info(f).warning);
}

/*
 * The active slot damaged: the committed bundle kept for the chain is
 * active again (written back to a slot), the floor kept.
 */
static void corrupt_active_restored_keeping_floor(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	char why[TRUST_REASON_MAX] = "";

	reopen(f, 1);
	commit(f, 2);
	commit(f, 3);
	assert_string_equal(info(f).active_from, "slot b");
	write_in(f, "slot-b.bundle", "garbage");
	reopen(f, 1);
	i = info(f);
	assert_int_equal(i.active->version, 3);
	assert_string_equal(i.active_from, "slot a");
	assert_int_equal(i.floor, 3);
	assert_warns(f, "slot-b.bundle.damaged");
	assert_warns(f, "kept bundle link-3.bundle (version 3) is newer than "
			"the active factory bundle (version 1, floor 3)");
	/* Version 2 was in slot a; neither comes back as an offer. */
	assert_int_equal(offer(f, 2, why), -ESTALE);
	assert_int_equal(offer(f, 3, why), -ESTALE);
	assert_null(info(f).pending);
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).floor, 3);
	assert_int_equal(info(f).active->version, 3);
	commit(f, 4);
	assert_int_equal(info(f).floor, 4);
}

/*
 * A slot that does not load is set aside with its bytes, not deleted; a
 * directory in its place then no longer keeps offers from being stored.
 */
static void damaged_slot_set_aside(void **state)
{
	struct fixture *f = *state;
	char *slot, *aside, *kept;
	size_t len;

	reopen(f, 1);
	commit(f, 2);
	write_in(f, "slot-a.bundle", "garbage");
	reopen(f, 1);
	/* Bundle 2 is kept: active again, written back to slot a. */
	assert_int_equal(info(f).active->version, 2);
	assert_string_equal(info(f).active_from, "slot a");
	assert_non_null(strstr(info(f).warning, "slot-a.bundle.damaged"));
	kept = read_in(f, "slot-a.bundle.damaged", &len);
	assert_int_equal(len, 7);
	assert_memory_equal(kept, "garbage", 7);
	free(kept);

	/* Now a directory where the pending slot a goes. */
	commit(f, 3);
	assert_string_equal(info(f).active_from, "slot b");
	offer_ok(f, 4);
	assert_string_equal(info(f).pending_from, "slot a");
	slot = path_of(f, "slot-a.bundle");
	aside = path_of(f, "slot-a.bundle.damaged");
	assert_int_equal(unlink(aside), 0);
	assert_int_equal(unlink(slot), 0);
	assert_int_equal(mkdir(slot, 0700), 0);
	reopen(f, 1);
	assert_null(info(f).pending);
	assert_non_null(strstr(info(f).warning, "slot-a.bundle.damaged"));
	offer_ok(f, 5);
	assert_string_equal(info(f).pending_from, "slot a");
	assert_int_equal(rmdir(aside), 0);
	free(slot);
	free(aside);
}

/* The active slot removed: the kept bundle is active again, written
 * back; without it, the factory bundle. */
static void missing_active_slot_restored(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	commit(f, 5);
	remove_in(f, "slot-a.bundle");
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 5);
	assert_string_equal(info(f).active_from, "slot a");
	assert_int_equal(info(f).floor, 5);
	assert_true(exists(f, "slot-a.bundle"));
	stop(f);
	remove_in(f, "slot-a.bundle");
	remove_in(f, "link-5.bundle");
	reopen(f, 1);
	assert_ptr_equal(info(f).active, info(f).factory);
}

static void factory_upgrade(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	char why[TRUST_REASON_MAX] = "";
	json_t *st;

	reopen(f, 1);
	commit(f, 3);
	/* An older factory bundle leaves the committed one; one as new
	 * replaces it (a slot is believed only when newer). */
	reopen(f, 2);
	assert_string_equal(info(f).active_from, "slot a");
	reopen(f, 3);
	assert_string_equal(info(f).active_from, "factory");
	offer_ok(f, 7);
	reopen(f, 5);
	i = info(f);
	assert_ptr_equal(i.active, i.factory);
	assert_int_equal(i.active->version, 5);
	assert_int_equal(i.floor, 5);
	assert_int_equal(i.pending->version, 7); /* still above the floor */
	st = state_json(f);
	assert_string_equal(json_string_value(json_object_get(st, "active")),
			    "factory");
	assert_int_equal(json_integer_value(json_object_get(st, "floor")), 5);
	json_decref(st);

	/* A factory bundle at or above the pending one drops it. */
	reopen(f, 7);
	i = info(f);
	assert_null(i.pending);
	assert_int_equal(i.floor, 7);
	assert_non_null(strstr(i.dropped, "not above the floor 7"));

	/* A downgraded package: the factory bundle 7 it brought before
	 * was kept, and stays active (written to a slot), the floor kept:
	 * the older factory bundle's keys are not trusted again. */
	reopen(f, 2);
	i = info(f);
	assert_int_equal(i.active->version, 7);
	assert_string_equal(i.active_from, "slot a");
	assert_int_equal(i.floor, 7);
	assert_int_equal(offer(f, 6, why), -ESTALE);
	reopen(f, 2);
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 7);
}

/*
 * Make f->dir unwritable.  root ignores modes, so then the directory is
 * moved aside and a file takes its place.
 */
static void break_dir(struct fixture *f, char *moved, size_t len)
{
	snprintf(moved, len, "%s.moved", f->dir);
	if (geteuid() != 0) {
		assert_int_equal(chmod(f->dir, 0500), 0);
		return;
	}
	assert_int_equal(rename(f->dir, moved), 0);
	assert_int_equal(fs_write_atomic(f->parent, "trust", "x", 1, 0600), 0);
}

static void mend_dir(struct fixture *f, const char *moved)
{
	if (geteuid() != 0) {
		assert_int_equal(chmod(f->dir, 0700), 0);
		return;
	}
	assert_int_equal(unlink(f->dir), 0);
	assert_int_equal(rename(moved, f->dir), 0);
}

static void unwritable_dir_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info before, i;
	char why[TRUST_REASON_MAX] = "", moved[400], *s1, *s2;
	size_t l1, l2;
	int r;

	reopen(f, 1);
	commit(f, 2);
	s1 = snapshot(f->dir, &l1);
	before = info(f);
	break_dir(f, moved, sizeof(moved));
	r = offer(f, 3, why);
	assert_true(r == -EACCES || r == -ENOTDIR);
	assert_true(strncmp(why, "cannot store: slot-b.bundle: ", 29) == 0);
	assert_string_equal(why + 29, strerror(-r));
	/* The failure stays known, for status, with the file it hit. */
	i = info(f);
	assert_string_equal(i.write_file, "slot-b.bundle");
	assert_int_equal(i.write_error, r);
	assert_int_equal(i.write_failures, 1);
	mend_dir(f, moved);
	s2 = snapshot(f->dir, &l2);
	assert_same_snapshot(s1, l1, s2, l2);
	i = info(f);
	assert_same_info(&before, &i);
	assert_null(i.pending);
	assert_int_equal(i.active->version, 2);
	reopen(f, 1);
	assert_null(info(f).pending);
	free(s1);
	free(s2);
}

/* The state file replaced by a directory: a slot writes, the state not. */
static void state_unwritable_rolls_back(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "", *sp, *saved, *b1, *b2;
	size_t l1, l2;

	reopen(f, 1);
	commit(f, 2);
	offer_ok(f, 3);
	b1 = read_in(f, "slot-b.bundle", &l1);
	sp = path_of(f, "state");
	saved = path_of(f, "state.saved");
	assert_int_equal(rename(sp, saved), 0);
	assert_int_equal(mkdir(sp, 0700), 0);

	/* The pending slot b is the target: its old bytes are put back. */
	assert_int_equal(offer(f, 4, why), -EISDIR);
	assert_string_equal(why, "cannot store: state: Is a directory");
	/* Putting the old bytes back is an undo: the failure stays known. */
	assert_string_equal(info(f).write_file, "state");
	b2 = read_in(f, "slot-b.bundle", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(info(f).pending->version, 3);
	assert_string_equal(info(f).pending_from, "slot b");

	/* A failed try cannot be saved, yet memory follows the outcome. */
	assert_int_equal(trust_store_tried(f->s, false, "x"), -EISDIR);
	assert_int_equal(info(f).pending_tries, 1);

	assert_int_equal(rmdir(sp), 0);
	assert_int_equal(rename(saved, sp), 0);
	reopen(f, 1);
	assert_int_equal(info(f).pending->version, 3);
	assert_int_equal(info(f).pending_tries, 0);
	free(b1);
	free(b2);
	free(sp);
	free(saved);
}

/*
 * A slot the state does not name yet, written before the state could not
 * be: removed again (on a full disk that gives its space back), and the
 * next write that succeeds clears the failure.
 */
static void fresh_slot_removed_when_state_fails(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "", *sp, *saved, *slot;
	struct stat st;

	reopen(f, 1);
	commit(f, 2);
	sp = path_of(f, "state");
	saved = path_of(f, "state.saved");
	slot = path_of(f, "slot-b.bundle");
	assert_int_equal(rename(sp, saved), 0);
	assert_int_equal(mkdir(sp, 0700), 0);
	assert_int_equal(offer(f, 3, why), -EISDIR);
	assert_int_equal(stat(slot, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(info(f).pending);
	assert_string_equal(info(f).write_file, "state");

	assert_int_equal(rmdir(sp), 0);
	assert_int_equal(rename(saved, sp), 0);
	offer_ok(f, 3);
	assert_null(info(f).write_file);
	assert_int_equal(info(f).write_error, 0);
	assert_int_equal(info(f).write_failures, 1);
	free(sp);
	free(saved);
	free(slot);
}

static void bad_state_is_an_error(void **state)
{
	struct fixture *f = *state;
	char err[TRUST_REASON_MAX] = "";
	struct trust_store *s = NULL;

	reopen(f, 1);
	commit(f, 2);
	trust_store_free(f->s);
	f->s = NULL;
	write_in(f, "state", "{\"active\": \"c\"}\n");
	/* The factory bundle is taken over even when open fails. */
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err, "/state: \"active\""));
	write_in(f, "state", "not json");
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "not JSON"));
	write_in(f, "state",
		 "{\"active\":\"a\",\"pending\":\"a\",\"tries\":0,"
		 "\"floor\":2,\"last-good\":0,\"dropped\":null}");
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "names the active slot"));
	write_in(f, "state",
		 "{\"active\":\"a\",\"pending\":null,\"tries\":3,"
		 "\"floor\":2,\"last-good\":0,\"dropped\":null}");
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "\"tries\""));
}

/* What the daemon writes off the loop (trust_link.c, fs_job). */
static void save_last_good(struct fixture *f)
{
	char *t = NULL;
	size_t len;

	assert_int_equal(trust_store_last_good_text(f->s, &t, &len), 0);
	assert_int_equal(
	    fs_write_atomic(f->dir, TRUST_STORE_LAST_GOOD_NAME, t, len, 0600),
	    0);
	free(t);
}

static json_int_t state_last_good(struct fixture *f)
{
	json_t *o = state_json(f);
	json_int_t t = json_integer_value(json_object_get(o, "last-good"));

	json_decref(o);
	return t;
}

/*
 * The last-good time has a file of its own, written by the daemon off
 * the loop; the state carries the one known at its own writes; the
 * larger counts at open, and a bad file is ignored, with a warning.
 */
static void last_good_file(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	assert_int_equal(trust_store_set_last_good(f->s, NOW - DAY), 1);
	assert_int_equal(trust_store_set_last_good(f->s, NOW - DAY), 0);
	/* It writes nothing itself. */
	assert_false(exists(f, TRUST_STORE_LAST_GOOD_NAME));
	reopen(f, 1);
	assert_int_equal(info(f).last_good, 0);
	assert_int_equal(trust_store_set_last_good(f->s, NOW - DAY), 1);
	save_last_good(f);
	{
		char *p = path_of(f, TRUST_STORE_LAST_GOOD_NAME);

		assert_int_equal(mode_of(p), 0600);
		free(p);
	}
	reopen(f, 1);
	assert_int_equal(info(f).last_good, NOW - DAY);
	assert_int_equal(state_last_good(f), 0);
	assert_null(info(f).warning);
	/* A write of the state carries the newer time, unwritten as yet. */
	assert_int_equal(trust_store_set_last_good(f->s, NOW), 1);
	offer_ok(f, 2);
	assert_int_equal(state_last_good(f), NOW);
	reopen(f, 1);
	assert_int_equal(info(f).last_good, NOW); /* the state's, larger */
	write_in(f, TRUST_STORE_LAST_GOOD_NAME, "{\"last-good\": -5}");
	reopen(f, 1);
	assert_warns(f, "last-good: not {\"last-good\": seconds}; ignored");
	assert_int_equal(info(f).last_good, NOW);
	assert_int_equal(info(f).pending->version, 2);
	/* Its write's result is the store's to report. */
	trust_store_write_done(f->s, TRUST_STORE_LAST_GOOD_NAME, -ENOSPC);
	assert_string_equal(info(f).write_file, TRUST_STORE_LAST_GOOD_NAME);
	assert_int_equal(info(f).write_error, -ENOSPC);
	assert_int_equal(info(f).write_failures, 1);
	trust_store_write_done(f->s, TRUST_STORE_LAST_GOOD_NAME, 0);
	assert_null(info(f).write_file);
}

static void time_floor_is_max(void **state)
{
	struct fixture *f = *state;
	int64_t issued = NOW - 10 * DAY;

	reopen(f, 1);
	assert_int_equal(trust_store_time_floor(f->s, 1000), issued);
	assert_int_equal(trust_store_time_floor(f->s, NOW), NOW);
	assert_int_equal(trust_store_set_last_good(f->s, NOW - DAY), 1);
	assert_int_equal(trust_store_time_floor(f->s, 1000), NOW - DAY);
	assert_int_equal(trust_store_time_floor(f->s, NOW), NOW);
	save_last_good(f);
	reopen(f, 1);
	assert_int_equal(info(f).last_good, NOW - DAY);
	assert_int_equal(trust_store_time_floor(f->s, 1000), NOW - DAY);
	/* An older time never lowers it. */
	assert_int_equal(trust_store_set_last_good(f->s, NOW - 5 * DAY), 0);
	assert_int_equal(info(f).last_good, NOW - DAY);
	/* A committed bundle issued later raises it; a pending one not. */
	offer_ok(f, 2);
	{
		size_t len;
		char *t = text(&(struct spec){ .version = 3,
					       .sign = ALL_KEYS,
					       .issued = NOW + 2 * DAY },
			       &len);

		assert_int_equal(
		    trust_store_offer(f->s, t, len, NOW, HOST, NULL, 0), 0);
		free(t);
	}
	assert_int_equal(trust_store_time_floor(f->s, 1000), NOW - DAY);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	assert_int_equal(trust_store_time_floor(f->s, 1000), NOW + 2 * DAY);
	assert_int_equal(trust_store_time_floor(f->s, NOW + 3 * DAY),
			 NOW + 3 * DAY);
}

/* ---- the files on disk are believed for their signatures only ------ */

static void write_raw(struct fixture *f, const char *name, const char *data,
		      size_t len)
{
	assert_int_equal(fs_write_atomic(f->dir, name, data, len, 0600), 0);
}

/* The bundle of sp written as dir/name, as an attacker would. */
static void plant(struct fixture *f, const char *name, const struct spec *sp)
{
	size_t len;
	char *t = text(sp, &len);

	write_raw(f, name, t, len);
	free(t);
}

static void plant_state(struct fixture *f, const char *active,
			const char *pending, unsigned long long floor)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "{\"active\": %s, \"pending\": %s, \"tries\": 0, "
		 "\"floor\": %llu, \"last-good\": 0, \"dropped\": null}\n",
		 active, pending, floor);
	write_raw(f, "state", buf, strlen(buf));
}

/* The attacker's bundle: its own key, signing for itself. */
static const struct spec attacker = {
	.version = 9, .sign = 0x4, .signers = 0x4, .threshold = 1
};

static void unknown_key_active_slot_set_aside(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;
	char *kept;
	size_t len;

	reopen(f, 1);
	commit(f, 2);
	stop(f);
	plant(f, "slot-a.bundle", &attacker);
	plant_state(f, "\"a\"", "null", 9);
	reopen(f, 1);
	i = info(f);
	/* Bundle 2, kept when it was committed, is active again. */
	assert_int_equal(i.active->version, 2);
	assert_ptr_equal(trust_store_current(f->s, NULL), i.active);
	assert_string_equal(i.active_from, "slot a");
	assert_warns(f, "active slot a (version 9) does not verify");
	assert_warns(f, "slot-a.bundle.damaged");
	kept = read_in(f, "slot-a.bundle.damaged", &len);
	assert_true(strstr(kept, "\"version\": 9") != NULL);
	free(kept);
	/* The floor is what the verified bundles vouch for: bundle 2; the
	 * operator's next bundle is taken. */
	assert_int_equal(i.floor, 2);
	assert_warns(f, "version floor 9");
	offer_ok(f, 3);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 3);
	assert_null(info(f).warning);

	/* A bundle naming the operator's keys but signed by another. */
	stop(f);
	plant(f, "slot-a.bundle", &(struct spec){ .version = 9, .sign = 0x4 });
	plant_state(f, "\"a\"", "null", 9);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 3);
	assert_warns(f, "signed by 0 distinct trusted keys");
	assert_int_equal(info(f).floor, 3);
}

static void planted_pending_set_aside(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;

	reopen(f, 1);
	stop(f);
	plant(f, "slot-b.bundle", &attacker);
	plant_state(f, "\"factory\"", "\"b\"", 1);
	reopen(f, 1);
	i = info(f);
	assert_null(i.pending);
	assert_ptr_equal(trust_store_current(f->s, NULL), i.factory);
	assert_warns(f, "pending slot b (version 9) does not verify");
	assert_warns(f, "slot-b.bundle.damaged");
	assert_non_null(i.dropped);
	assert_true(exists(f, "slot-b.bundle.damaged"));
	assert_false(exists(f, "slot-b.bundle"));
	/* Saved: the next start has nothing to say. */
	reopen(f, 1);
	assert_null(info(f).pending);
	assert_null(info(f).warning);

	/* A pending one on top of a committed bundle, with a tampered
	 * version: its signatures no longer hold. */
	commit(f, 2);
	stop(f);
	plant(f, "slot-b.bundle",
	      &(struct spec){ .version = 5, .sign = ALL_KEYS, .tamper = true });
	plant_state(f, "\"a\"", "\"b\"", 2);
	reopen(f, 1);
	assert_null(info(f).pending);
	assert_int_equal(info(f).active->version, 2);
	assert_warns(f, "pending slot b (version 6) does not verify");
}

static void state_deleted_refuses_to_start(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", *s1, *s2;
	struct trust_store *s = NULL;
	size_t l1, l2;

	reopen(f, 1);
	commit(f, 2);
	stop(f);
	remove_in(f, "state");
	s1 = snapshot(f->dir, &l1);
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -ENOENT);
	assert_null(s);
	if (!strstr(err, f->dir) || !strstr(err, "/state is missing") ||
	    !strstr(err, "zwgatectl factory-reset"))
		fail_msg("error: %s", err);
	/* Nothing changed: the owner decides. */
	s2 = snapshot(f->dir, &l2);
	assert_same_snapshot(s1, l1, s2, l2);
	free(s1);
	free(s2);

	/* A kept bundle alone is as telling as a slot. */
	remove_in(f, "slot-a.bundle");
	assert_int_equal(
	    trust_store_open(f->dir, factory(1), &s, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "link-2.bundle"));
}

static void floor_raised_by_hand_limited(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	commit(f, 3);
	stop(f);
	plant_state(f, "\"a\"", "null", 9);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 3);
	assert_int_equal(info(f).floor, 3);
	assert_warns(f, "version floor 9 of");
	stop(f);
	plant_state(f, "\"factory\"", "null", 9007199254740991ULL);
	reopen(f, 1);
	assert_int_equal(info(f).floor, 3); /* bundle 3 is kept */
	offer_ok(f, 4);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	reopen(f, 1);
	assert_int_equal(info(f).floor, 4);
	assert_null(info(f).warning);
}

static bool set_aside_any(struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	while ((e = readdir(d)))
		found |= strstr(e->d_name, ".damaged") != NULL;
	closedir(d);
	return found;
}

/*
 * The state file edited back to an older slot with a lowered floor,
 * while the newer committed bundles are still kept: they verify, so
 * they were committed here.  The floor rises to the newest of them and
 * that one is active again; nothing verified is set aside, and the
 * older bundle is refused when offered.
 */
static void floor_lowered_by_hand_raised(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "";
	struct trust_store_info i;
	json_t *st;

	reopen(f, 1);
	commit(f, 2);
	commit(f, 3);
	assert_string_equal(info(f).active_from, "slot b");
	stop(f);
	/* Slot a still holds bundle 2, signed by the operator. */
	plant_state(f, "\"a\"", "null", 2);
	reopen(f, 1);
	i = info(f);
	assert_int_equal(i.floor, 3);
	assert_int_equal(i.active->version, 3);
	assert_ptr_equal(trust_store_current(f->s, NULL), i.active);
	assert_warns(f, "link-3.bundle (version 3) is newer than the active");
	assert_true(exists(f, "link-3.bundle"));
	assert_false(set_aside_any(f));
	assert_int_equal(offer(f, 2, why), -ESTALE);
	assert_int_equal(offer(f, 3, why), -ESTALE);
	assert_null(info(f).pending);
	st = state_json(f);
	assert_int_equal(json_integer_value(json_object_get(st, "floor")), 3);
	json_decref(st);
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 3);
	assert_int_equal(info(f).floor, 3);

	/* Back to the factory bundle, whose keys the operator replaced:
	 * key 0 alone no longer signs anything, nor with key 1. */
	commit(f, 4);
	assert_int_equal(
	    offer_spec(
		f, &(struct spec){ .version = 5, .sign = 0x7, .signers = 0x6 },
		why),
	    0);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	stop(f);
	plant_state(f, "\"factory\"", "null", 1);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 5);
	assert_int_equal(info(f).floor, 5);
	assert_false(set_aside_any(f));
	assert_int_equal(
	    offer_spec(
		f, &(struct spec){ .version = 6, .sign = 0x3, .signers = 0x3 },
		why),
	    -EPERM);
	assert_int_equal(
	    offer_spec(
		f, &(struct spec){ .version = 6, .sign = 0x7, .signers = 0x6 },
		why),
	    0);
}

/* A kept bundle that does not verify is set aside whatever its version;
 * the ones that do still raise the floor. */
static void forged_link_above_floor_set_aside(void **state)
{
	struct fixture *f = *state;
	struct spec forged = attacker;

	reopen(f, 1);
	commit(f, 2);
	commit(f, 3);
	stop(f);
	forged.version = 9;
	plant(f, "link-9.bundle", &forged);
	plant(f, "link-8.bundle", &(struct spec){ .version = 8, .sign = 0x4 });
	plant_state(f, "\"a\"", "null", 2);
	reopen(f, 1);
	assert_warns(f, "kept bundle link-8.bundle does not verify");
	assert_warns(f, "kept bundle link-9.bundle does not verify");
	assert_true(exists(f, "link-9.bundle.damaged"));
	assert_true(exists(f, "link-8.bundle.damaged"));
	assert_false(exists(f, "link-9.bundle"));
	assert_int_equal(info(f).active->version, 3);
	assert_int_equal(info(f).floor, 3);
	assert_false(exists(f, "link-3.bundle.damaged"));
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).floor, 3);
}

/* Keys 0, 1 -> 1, 2 -> 2 alone, threshold 1, over several bundles. */
static void rotation_chain_loads_after_restart(void **state)
{
	struct fixture *f = *state;
	struct trust_store_info i;

	reopen(f, 1);
	commit_keys(f, 2, 0x7, 0x6);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 2);
	commit_keys(f, 3, 0x6, 0x6);
	commit_keys(f, 4, 0x6, 0x4);
	offer_keys_ok(f, 5, 0x4, 0x4);
	for (int k = 0; k < 2; k++) {
		reopen(f, 1);
		i = info(f);
		assert_null(i.warning);
		assert_int_equal(i.active->version, 4);
		assert_int_equal(i.pending->version, 5);
		assert_int_equal(i.floor, 4);
	}
	/* Kept: the key changes 2 and 4; 3 changed nothing. */
	assert_true(exists(f, "link-2.bundle"));
	assert_false(exists(f, "link-3.bundle"));
	assert_true(exists(f, "link-4.bundle"));
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 5);
	assert_null(info(f).warning);
	assert_false(exists(f, "link-4.bundle") && exists(f, "link-3.bundle"));

	/* Without the kept key change, bundle 5 (signed by key 2 alone)
	 * cannot be verified from the factory bundle. */
	stop(f);
	remove_in(f, "link-2.bundle");
	reopen(f, 1);
	assert_ptr_equal(info(f).active, info(f).factory);
	assert_warns(f, "does not verify");
}

/*
 * Bundles accepted in 2023 that expired long before the clock of this
 * test: expiry was judged when they were offered, not at every start
 * (a Raspberry Pi boots without a clock).
 */
static void expired_accepted_bundle_loads(void **state)
{
	struct fixture *f = *state;
	const int64_t then = INT64_C(1700000000); /* 2023-11-14 */
	char why[TRUST_REASON_MAX] = "";
	size_t len;
	char *t;

	reopen_with(f, make(&(struct spec){ .version = 1,
					    .sign = ALL_KEYS,
					    .issued = then - 10 * DAY }));
	t = text(&(struct spec){ .version = 2,
				 .sign = 0x7,
				 .signers = 0x6,
				 .issued = then - DAY,
				 .expires = then + DAY },
		 &len);
	assert_int_equal(
	    trust_store_offer(f->s, t, len, then, HOST, why, sizeof(why)), 0);
	free(t);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	t = text(&(struct spec){ .version = 3,
				 .sign = 0x6,
				 .signers = 0x6,
				 .issued = then,
				 .expires = then + 2 * DAY },
		 &len);
	assert_int_equal(
	    trust_store_offer(f->s, t, len, then, HOST, why, sizeof(why)), 0);
	free(t);
	reopen_with(f, make(&(struct spec){ .version = 1,
					    .sign = ALL_KEYS,
					    .issued = then - 10 * DAY }));
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 2);
	assert_int_equal(info(f).pending->version, 3);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	reopen_with(f, make(&(struct spec){ .version = 1,
					    .sign = ALL_KEYS,
					    .issued = then - 10 * DAY }));
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 3);
}

/*
 * A store of the previous version: state and slots, no kept bundles.
 * The active slot is verified against the factory bundle's keys and
 * kept from then on.
 */
static void trust_store_without_chain_loads(void **state)
{
	struct fixture *f = *state;
	char why[TRUST_REASON_MAX] = "";

	reopen(f, 1);
	commit(f, 2);
	offer_ok(f, 3);
	stop(f);
	write_in(f, "state",
		 "{\"active\":\"a\",\"pending\":\"b\",\"tries\":1,"
		 "\"floor\":2,\"last-good\":0,\"dropped\":null}");
	remove_in(f, "link-2.bundle");
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 2);
	assert_int_equal(info(f).pending->version, 3);
	assert_int_equal(info(f).pending_tries, 1);
	assert_true(exists(f, "link-2.bundle"));

	/* One whose keys changed on the way cannot be verified: set aside,
	 * the factory bundle used, the floor what the factory vouches for. */
	stop(f);
	plant(f, "slot-a.bundle",
	      &(struct spec){ .version = 4, .sign = 0x4, .signers = 0x4 });
	write_in(f, "state",
		 "{\"active\":\"a\",\"pending\":null,\"tries\":0,"
		 "\"floor\":4,\"last-good\":0,\"dropped\":null}");
	remove_in(f, "link-2.bundle");
	reopen(f, 1);
	assert_ptr_equal(info(f).active, info(f).factory);
	assert_warns(f, "active slot a (version 4) does not verify");
	assert_int_equal(info(f).floor, 1);
	assert_int_equal(offer(f, 2, why), 0);
}

/* A kill after the state names a new bundle, before it is kept. */
static void commit_cut_before_keep(void **state)
{
	struct fixture *f = *state;

	reopen(f, 1);
	commit(f, 2);
	commit(f, 3);
	stop(f);
	remove_in(f, "link-3.bundle");
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 3);
	assert_true(exists(f, "link-3.bundle"));
	/* A kept bundle above the floor that verifies was committed (a
	 * state file put back from a backup): the floor rises to it. */
	stop(f);
	plant(f, "link-7.bundle",
	      &(struct spec){ .version = 7, .sign = ALL_KEYS });
	reopen(f, 1);
	assert_warns(f, "kept bundle link-7.bundle (version 7) is newer");
	assert_false(exists(f, "link-7.bundle.damaged"));
	assert_int_equal(info(f).active->version, 7);
	assert_int_equal(info(f).floor, 7);
}

/*
 * The bundle that changed the keys cannot be kept (a directory where its
 * temp file goes): the next one is not committed, since without it that
 * one would not verify at the next start; once it can be, it is.
 */
static void commit_waits_for_key_change_kept(void **state)
{
	struct fixture *f = *state;
	char tmp[64], *p;

	reopen(f, 1);
	commit_keys(f, 2, 0x7, 0x6);
	offer_keys_ok(f, 3, 0x6, 0x6);
	stop(f);
	remove_in(f, "link-2.bundle");
	snprintf(tmp, sizeof(tmp), ".link-2.bundle.tmp.%ld", (long)getpid());
	p = path_of(f, tmp);
	assert_int_equal(mkdir(p, 0700), 0);
	reopen(f, 1);
	assert_int_equal(info(f).active->version, 2);
	assert_warns(f, "cannot keep the active bundle");
	assert_true(trust_store_tried(f->s, true, NULL) < 0);
	assert_int_equal(info(f).active->version, 2);
	assert_int_equal(info(f).pending->version, 3);
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_int_equal(trust_store_tried(f->s, true, NULL), 1);
	reopen(f, 1);
	assert_null(info(f).warning);
	assert_int_equal(info(f).active->version, 3);
	assert_true(exists(f, "link-2.bundle"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(fresh_store_uses_factory),
		T(offer_makes_pending_on_disk),
		T(tried_ok_commits),
		T(three_failures_drop),
		T(tries_survive_reopen),
		T(refused_offers_change_nothing),
		T(expiry_judged_after_last_good),
		T(torn_pending_ignored),
		T(leftover_temps_removed),
		T(last_good_file),
		T(corrupt_active_restored_keeping_floor),
		T(damaged_slot_set_aside),
		T(missing_active_slot_restored),
		T(factory_upgrade),
		T(unwritable_dir_changes_nothing),
		T(state_unwritable_rolls_back),
		T(fresh_slot_removed_when_state_fails),
		T(bad_state_is_an_error),
		T(time_floor_is_max),
		T(unknown_key_active_slot_set_aside),
		T(planted_pending_set_aside),
		T(state_deleted_refuses_to_start),
		T(floor_raised_by_hand_limited),
		T(floor_lowered_by_hand_raised),
		T(forged_link_above_floor_set_aside),
		T(rotation_chain_loads_after_restart),
		T(expired_accepted_bundle_loads),
		T(trust_store_without_chain_loads),
		T(commit_cut_before_keep),
		T(commit_waits_for_key_change_kept),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
