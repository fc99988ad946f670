/* SPDX-License-Identifier: MIT */
/*
 * Tests of trust_bundle.c: pins against the openssl command, the bundle
 * format and its canonical bytes, signatures and the acceptance rules,
 * key files and times.  Certificates are made at run time with `openssl`
 * in a temporary directory.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "trust.h"
#include "testutil.h"

#define NOW	 INT64_C(1790000000) /* 2026-09-21 */
#define YEAR	 (365 * INT64_C(86400))
#define HOST	 "broker.example.com"
#define NKEYS	 4
#define PATH_LEN 512
#define ERR_LEN	 512
#define CMD_LEN	 2048

struct world {
	char dir[256];
	X509 *rsa, *ec, *leaf;
	EVP_PKEY *keys[NKEYS];
	unsigned char raw[NKEYS][TRUST_KEY_LEN];
};

static struct world w;

static void pathf(char *out, const char *name)
{
	snprintf(out, PATH_LEN, "%s/%s", w.dir, name);
}

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[CMD_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static X509 *read_cert(const char *name)
{
	char path[PATH_LEN];
	X509 *x = NULL;
	FILE *f;

	pathf(path, name);
	f = fopen(path, "r");
	if (f) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

static int make_cert(const char *name, const char *newkey, const char *ext)
{
	return sh("cd '%s' && openssl req -x509 -newkey %s -nodes -keyout "
		  "%s.key -out %s.pem -subj '/CN=%s/O=Zwgate Test' -days 30 "
		  "%s >/dev/null 2>&1",
		  w.dir, newkey, name, name, name, ext);
}

static int group_setup(void **state)
{
	if (tu_tmpdir(w.dir, sizeof(w.dir), "tb") < 0)
		return -1;
	if (make_cert("rsa", "rsa:2048", "") ||
	    make_cert("ec", "ec -pkeyopt ec_paramgen_curve:P-256", "") ||
	    make_cert("leaf", "ec -pkeyopt ec_paramgen_curve:P-256",
		      "-addext basicConstraints=critical,CA:FALSE"))
		return -1;
	w.rsa = read_cert("rsa.pem");
	w.ec = read_cert("ec.pem");
	w.leaf = read_cert("leaf.pem");
	if (!w.rsa || !w.ec || !w.leaf)
		return -1;
	for (int i = 0; i < NKEYS; i++) {
		w.keys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		if (!w.keys[i] || trust_key_raw_public(w.keys[i], w.raw[i]))
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	X509_free(w.rsa);
	X509_free(w.ec);
	X509_free(w.leaf);
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(w.keys[i]);
	return tu_rm_rf(w.dir);
}

/* A valid unsigned bundle: RSA and EC anchors pinned, signers keys[0..n). */
static struct trust_bundle *make(uint64_t version, size_t nsigners,
				 unsigned threshold)
{
	struct trust_bundle *b = trust_bundle_new();
	char err[ERR_LEN];

	assert_non_null(b);
	b->version = version;
	b->issued_at = NOW - 86400;
	b->expires = NOW + YEAR;
	b->hosts[b->nhosts++] = strdup(HOST);
	X509_up_ref(w.rsa);
	sk_X509_push(b->anchors, w.rsa);
	X509_up_ref(w.ec);
	sk_X509_push(b->anchors, w.ec);
	assert_int_equal(trust_pin_of_cert(w.rsa, b->pins[b->npins++]), 0);
	assert_int_equal(trust_pin_of_cert(w.ec, b->pins[b->npins++]), 0);
	for (size_t i = 0; i < nsigners; i++)
		memcpy(b->signers[b->nsigners++], w.raw[i], TRUST_KEY_LEN);
	b->threshold = threshold;
	assert_int_equal(trust_bundle_check(b, err, sizeof(err)), 0);
	return b;
}

static void sign(struct trust_bundle *b, int key)
{
	char err[ERR_LEN];

	assert_int_equal(trust_bundle_sign(b, w.keys[key], err, sizeof(err)),
			 0);
}

static char *dump(const struct trust_bundle *b, size_t *len)
{
	char *s;

	assert_int_equal(trust_bundle_dump(b, &s, len), 0);
	return s;
}

static struct trust_bundle *reparse(const struct trust_bundle *b)
{
	struct trust_bundle *r = NULL;
	char err[ERR_LEN] = "";
	size_t len;
	char *s = dump(b, &len);

	if (trust_bundle_parse(s, len, &r, err, sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	free(s);
	return r;
}

/* ---- pins ---------------------------------------------------------- */

static void check_pin_against_cli(const char *name, X509 *x)
{
	char path[PATH_LEN], cmd[CMD_LEN], cli[128] = "";
	char mine[TRUST_PIN_LEN + 1], fromfile[TRUST_PIN_LEN + 1];
	char err[ERR_LEN];
	FILE *p;

	pathf(path, name);
	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin "
		 "-outform DER | openssl dgst -sha256 -binary | base64",
		 path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(cli, sizeof(cli), p));
	assert_int_equal(pclose(p), 0);
	cli[strcspn(cli, "\n")] = '\0';

	assert_int_equal(trust_pin_of_cert(x, mine), 0);
	assert_string_equal(mine, cli);
	assert_int_equal(trust_pin_of_file(path, fromfile, err, sizeof(err)),
			 0);
	assert_string_equal(fromfile, cli);
}

static void test_pin_rsa(void **state)
{
	check_pin_against_cli("rsa.pem", w.rsa);
}

static void test_pin_ec(void **state)
{
	check_pin_against_cli("ec.pem", w.ec);
}

static void test_pin_file_errors(void **state)
{
	char path[PATH_LEN], pin[TRUST_PIN_LEN + 1], err[ERR_LEN];

	pathf(path, "missing.pem");
	assert_int_equal(trust_pin_of_file(path, pin, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "missing.pem"));
	pathf(path, "rsa.key");
	assert_int_equal(trust_pin_of_file(path, pin, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "rsa.key"));
}

static void test_has_pin_covers(void **state)
{
	struct trust_bundle *b = make(1, 1, 1);
	char pin[TRUST_PIN_LEN + 1];

	assert_int_equal(trust_pin_of_cert(w.ec, pin), 0);
	assert_true(trust_bundle_has_pin(b, pin));
	assert_int_equal(trust_pin_of_cert(w.leaf, pin), 0);
	assert_false(trust_bundle_has_pin(b, pin));
	assert_true(trust_bundle_covers(b, "Broker.Example.COM"));
	assert_false(trust_bundle_covers(b, "broker.example.co"));
	assert_false(trust_bundle_covers(b, "example.com"));
	trust_bundle_free(b);
}

/* ---- format -------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct trust_bundle *b = make(7, 2, 2), *r;
	char *tbs1, *tbs2, *s1, *s2;
	size_t l1, l2;

	X509_up_ref(w.ec);
	sk_X509_push(b->recovery, w.ec);
	sign(b, 0);
	sign(b, 1);
	r = reparse(b);
	assert_int_equal(trust_bundle_tbs(b, &tbs1, &l1), 0);
	assert_int_equal(trust_bundle_tbs(r, &tbs2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_int_equal(strlen(tbs1), l1);
	assert_memory_equal(tbs1, tbs2, l1);
	assert_int_equal(r->nsigs, 2);
	assert_memory_equal(r->sigs, b->sigs, sizeof(b->sigs[0]) * 2);
	assert_int_equal(sk_X509_num(r->recovery), 1);
	s1 = dump(b, &l1);
	s2 = dump(r, &l2);
	assert_string_equal(s1, s2);
	assert_int_equal(s1[l1 - 1], '\n');
	assert_int_equal(trust_bundle_count_signers(r, w.raw, 2), 2);
	free(tbs1);
	free(tbs2);
	free(s1);
	free(s2);
	trust_bundle_free(b);
	trust_bundle_free(r);
}

/* A bundle expiring 2040 (issued 2038-01-20) through its JSON and back:
 * the armhf "expires: not a time". */
static void test_round_trip_2040(void **state)
{
	struct trust_bundle *b = make(8, 1, 1), *r;
	char why[TRUST_REASON_MAX] = "";
	char *s;
	size_t l;

	b->issued_at = INT64_C(2147558400); /* 2038-01-20T00:00:00Z */
	b->expires = INT64_C(2208988800);   /* 2040-01-01T00:00:00Z */
	sign(b, 0);
	s = dump(b, &l);
	assert_non_null(strstr(s, "\"2040-01-01T00:00:00Z\""));
	assert_non_null(strstr(s, "\"2038-01-20T00:00:00Z\""));
	free(s);
	r = reparse(b);
	assert_int_equal(r->expires, INT64_C(2208988800));
	assert_int_equal(r->issued_at, INT64_C(2147558400));
	/* Accepted on 2038-01-20, refused once 2040 has begun. */
	assert_int_equal(
	    trust_bundle_accept(r, 7, r, INT64_C(2147558400), why, sizeof(why)),
	    0);
	assert_int_equal(
	    trust_bundle_accept(r, 7, r, INT64_C(2208988800), why, sizeof(why)),
	    -ETIME);
	assert_string_equal(why, "expired on 2040-01-01T00:00:00Z");
	trust_bundle_free(b);
	trust_bundle_free(r);
}

static void test_tbs_layout(void **state)
{
	struct trust_bundle *b = make(9, 1, 1);
	char *tbs, want[256], key[TRUST_PIN_LEN + 1];
	unsigned char *der = NULL;
	int n;

	assert_int_equal(trust_bundle_tbs(b, &tbs, NULL), 0);
	snprintf(want, sizeof(want),
		 "zwgate-trust-bundle 1\nversion 9\nissued-at %lld\n"
		 "expires %lld\nhost " HOST "\nanchor ",
		 (long long)b->issued_at, (long long)b->expires);
	assert_memory_equal(tbs, want, strlen(want));
	n = i2d_X509(w.rsa, &der);
	assert_true(n > 0);
	{
		char *b64 = malloc(4 * (((size_t)n + 2) / 3) + 1);

		EVP_EncodeBlock((unsigned char *)b64, der, n);
		assert_memory_equal(tbs + strlen(want), b64, strlen(b64));
		free(b64);
	}
	OPENSSL_free(der);
	snprintf(want, sizeof(want), "pin %s\npin %s\n", b->pins[0],
		 b->pins[1]);
	assert_non_null(strstr(tbs, want));
	EVP_EncodeBlock((unsigned char *)key, w.raw[0], TRUST_KEY_LEN);
	snprintf(want, sizeof(want), "\nsigner %s\nthreshold 1\n", key);
	assert_string_equal(tbs + strlen(tbs) - strlen(want), want);
	free(tbs);
	trust_bundle_free(b);
}

/* ---- signatures ---------------------------------------------------- */

static void test_count_signers(void **state)
{
	struct trust_bundle *b = make(3, 3, 2);

	assert_int_equal(trust_bundle_count_signers(b, w.raw, 3), 0);
	sign(b, 0);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 3), 1);
	sign(b, 1);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 3), 2);
	/* Signing again replaces. */
	sign(b, 1);
	assert_int_equal(b->nsigs, 2);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 3), 2);
	/* A signer not among the keys counted does not count. */
	sign(b, 3);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 3), 2);
	assert_int_equal(trust_bundle_count_signers(b, w.raw + 3, 1), 1);
	assert_int_equal(trust_bundle_count_signers(b, w.raw + 2, 1), 0);
	/* A key given twice by the caller counts once. */
	{
		unsigned char twice[2][TRUST_KEY_LEN];

		memcpy(twice[0], w.raw[0], TRUST_KEY_LEN);
		memcpy(twice[1], w.raw[0], TRUST_KEY_LEN);
		assert_int_equal(trust_bundle_count_signers(b, twice, 2), 1);
	}
	/* Any change to a signed field voids every signature. */
	b->version++;
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 4), 0);
	b->version--;
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 4), 3);
	b->threshold = 1;
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 4), 0);
	trust_bundle_free(b);
}

static void test_bad_signature_bytes(void **state)
{
	struct trust_bundle *b = make(3, 2, 1);

	sign(b, 0);
	b->sigs[0].sig[10] ^= 1;
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 2), 0);
	/* A signature filed under another key is not that key's. */
	b->sigs[0].sig[10] ^= 1;
	memcpy(b->sigs[0].key, w.raw[1], TRUST_KEY_LEN);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 2), 0);
	trust_bundle_free(b);
}

/* The same key's signature twice in the file counts once. */
static void test_same_key_twice_in_file(void **state)
{
	struct trust_bundle *b = make(3, 2, 2), *r;
	json_t *root, *sigs;
	char *s, err[ERR_LEN] = "";

	sign(b, 0);
	s = dump(b, NULL);
	root = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(root);
	sigs = json_object_get(root, "signatures");
	json_array_append(sigs, json_array_get(sigs, 0));
	s = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (trust_bundle_parse(s, strlen(s), &r, err, sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	free(s);
	assert_int_equal(r->nsigs, 2);
	assert_int_equal(trust_bundle_count_signers(r, w.raw, 2), 1);
	assert_int_equal(trust_bundle_accept(b, 0, r, NOW, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "1 distinct"));
	trust_bundle_free(r);
	trust_bundle_free(b);
}

static void test_sign_errors(void **state)
{
	struct trust_bundle *b = make(3, 1, 1);
	char path[PATH_LEN], err[ERR_LEN] = "";
	EVP_PKEY *rsa;
	FILE *f;

	pathf(path, "rsa.key");
	f = fopen(path, "r");
	assert_non_null(f);
	rsa = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(rsa);
	assert_int_equal(trust_bundle_sign(b, rsa, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "Ed25519"));
	assert_int_equal(b->nsigs, 0);
	EVP_PKEY_free(rsa);

	b->nsigs = TRUST_ITEMS_MAX;
	for (int i = 0; i < TRUST_ITEMS_MAX; i++)
		memset(b->sigs[i].key, i + 1, TRUST_KEY_LEN);
	assert_int_equal(trust_bundle_sign(b, w.keys[0], err, sizeof(err)),
			 -ENOSPC);
	/* But a key already there is replaced. */
	memcpy(b->sigs[5].key, w.raw[0], TRUST_KEY_LEN);
	sign(b, 0);
	assert_int_equal(b->nsigs, TRUST_ITEMS_MAX);
	assert_int_equal(trust_bundle_count_signers(b, w.raw, 1), 1);
	trust_bundle_free(b);
}

static void test_same_signers(void **state)
{
	struct trust_bundle *a = make(1, 3, 1), *b = make(1, 3, 1);

	memcpy(b->signers[0], w.raw[2], TRUST_KEY_LEN);
	memcpy(b->signers[2], w.raw[0], TRUST_KEY_LEN);
	assert_true(trust_bundle_same_signers(a, b));
	b->nsigners = 2;
	assert_false(trust_bundle_same_signers(a, b));
	assert_false(trust_bundle_same_signers(b, a));
	memcpy(b->signers[1], w.raw[3], TRUST_KEY_LEN);
	b->nsigners = 3;
	assert_false(trust_bundle_same_signers(a, b));
	trust_bundle_free(a);
	trust_bundle_free(b);
}

/* ---- acceptance ---------------------------------------------------- */

static void test_accept_threshold(void **state)
{
	struct trust_bundle *t = make(4, 3, 2), *c = make(5, 3, 2);
	char why[TRUST_REASON_MAX] = "";

	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 -EPERM);
	assert_string_equal(
	    why, "signed by 0 distinct trusted keys; 2 are required");
	sign(c, 3); /* not a trusted key */
	sign(c, 0);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why,
			    "signed by 1 distinct trusted key; 2 are required");
	sign(c, 2);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 0);
	trust_bundle_free(t);
	trust_bundle_free(c);
}

static void test_accept_floor(void **state)
{
	struct trust_bundle *t = make(4, 1, 1), *c = make(4, 1, 1);
	char why[TRUST_REASON_MAX] = "";

	sign(c, 0);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 -ESTALE);
	assert_string_equal(why, "version 4 is not above the floor 4");
	assert_int_equal(trust_bundle_accept(t, 6, c, NOW, why, sizeof(why)),
			 -ESTALE);
	assert_non_null(strstr(why, "floor 6"));
	assert_int_equal(trust_bundle_accept(t, 3, c, NOW, why, sizeof(why)),
			 0);
	trust_bundle_free(t);
	trust_bundle_free(c);
}

static void test_accept_expired(void **state)
{
	struct trust_bundle *t = make(4, 1, 1), *c = make(5, 1, 1);
	char why[TRUST_REASON_MAX] = "";
	int64_t exp;

	assert_int_equal(trust_time_parse("2027-01-01T00:00:00Z", &exp), 0);
	c->expires = exp;
	sign(c, 0);
	assert_int_equal(trust_bundle_accept(t, 4, c, exp, why, sizeof(why)),
			 -ETIME);
	assert_string_equal(why, "expired on 2027-01-01T00:00:00Z");
	assert_int_equal(
	    trust_bundle_accept(t, 4, c, exp + YEAR, why, sizeof(why)), -ETIME);
	assert_int_equal(
	    trust_bundle_accept(t, 4, c, exp - 1, why, sizeof(why)), 0);
	trust_bundle_free(t);
	trust_bundle_free(c);
}

/* Trusted keys 0, 1 (threshold 2); the candidate moves to keys 1, 2, 3. */
static void test_accept_rotation(void **state)
{
	struct trust_bundle *t = make(4, 2, 2), *c = make(5, 2, 2);
	char why[TRUST_REASON_MAX] = "";

	memcpy(c->signers[0], w.raw[3], TRUST_KEY_LEN);
	memcpy(c->signers[c->nsigners++], w.raw[2], TRUST_KEY_LEN);
	sign(c, 0);
	sign(c, 1);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "changes the signer keys but is signed by 1 "
				 "of its new keys; 2 are required");
	sign(c, 2);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 0);
	/* New keys alone are not enough: the old threshold comes first. */
	c->nsigs = 0;
	sign(c, 1);
	sign(c, 2);
	sign(c, 3);
	assert_int_equal(trust_bundle_accept(t, 4, c, NOW, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "distinct trusted"));
	trust_bundle_free(t);
	trust_bundle_free(c);
}

/* ---- parse errors -------------------------------------------------- */

static char *good_text(void)
{
	struct trust_bundle *b = make(7, 2, 1);
	char *s;

	sign(b, 0);
	s = dump(b, NULL);
	trust_bundle_free(b);
	return s;
}

/* Parse text, expecting rc and an error holding want. */
static void expect_err(const char *text, size_t len, int rc, const char *want)
{
	struct trust_bundle *b = NULL;
	char err[ERR_LEN] = "";
	int got = trust_bundle_parse(text, len, &b, err, sizeof(err));

	if (got != rc || !strstr(err, want))
		fail_msg("got %d \"%s\"; wanted %d \"%s\"", got, err, rc, want);
	assert_null(b);
}

/* The good bundle with key set to json (NULL: removed). */
static void expect_field_err(const char *key, const char *json,
			     const char *want)
{
	char *s = good_text(), *out;
	json_t *root = json_loads(s, 0, NULL);

	assert_non_null(root);
	if (json)
		assert_int_equal(
		    json_object_set_new(
			root, key, json_loads(json, JSON_DECODE_ANY, NULL)),
		    0);
	else
		json_object_del(root, key);
	out = json_dumps(root, JSON_INDENT(2));
	expect_err(out, strlen(out), -EINVAL, want);
	free(out);
	free(s);
	json_decref(root);
}

static void test_parse_good(void **state)
{
	struct trust_bundle *b = NULL;
	char *s = good_text(), err[ERR_LEN] = "";

	if (trust_bundle_parse(s, strlen(s), &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(b->version, 7);
	assert_int_equal(b->nhosts, 1);
	assert_string_equal(b->hosts[0], HOST);
	assert_int_equal(sk_X509_num(b->anchors), 2);
	assert_int_equal(sk_X509_num(b->recovery), 0);
	assert_int_equal(b->npins, 2);
	assert_int_equal(b->nsigners, 2);
	assert_int_equal(b->nsigs, 1);
	assert_int_equal(b->issued_at, NOW - 86400);
	trust_bundle_free(b);
	free(s);
}

static void test_parse_types(void **state)
{
	expect_field_err("extra", "1", "unknown key \"extra\"");
	expect_field_err("pins", NULL, "missing key \"pins\"");
	expect_field_err("version", "\"7\"", "version: not an integer");
	expect_field_err("version", "7.0", "version: not an integer");
	expect_field_err("version", "0", "version: must be from 1 to");
	expect_field_err("version", "9007199254740992", "version: must be");
	expect_field_err("format", "2", "format: 2 is not supported");
	expect_field_err("format", "\"1\"", "format: not an integer");
	expect_field_err("hosts", "\"" HOST "\"", "hosts: not an array");
	expect_field_err("hosts", "[]", "hosts: 0 given");
	expect_field_err("hosts", "[\"bad host\"]", "hosts[0]: \"bad host\"");
	expect_field_err("hosts", "[\"a..b\"]", "hosts[0]");
	expect_field_err("pins", "[1, 2]", "pins[0]: not a string");
	expect_field_err("anchors", "[]", "anchors: 0 given");
	expect_field_err("anchors", "[\"hello\"]",
			 "anchors[0]: not a PEM certificate");
	expect_field_err("threshold", "true", "threshold: not an integer");
	expect_field_err("signatures", "[1]", "signatures[0]: not an object");
	expect_field_err("signatures", "[{\"key\": \"x\"}]",
			 "signatures[0].key");
	expect_field_err("issued-at", "\"2026-11-23 18:00:00Z\"", "issued-at");
	expect_field_err("expires", "1790000000", "expires: not a time");
	expect_field_err("signers", "{}", "signers: not an array");
	expect_field_err("signers",
			 "[\""
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", "
			 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
			 "signers[1]: the same key as signers[0]");
	expect_field_err("hosts",
			 "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
			 "\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\","
			 "\"q\"]",
			 "hosts: 17 items; at most 16");
}

static void test_parse_base64(void **state)
{
	/* 31 bytes, 33 bytes, not base64, a blank inside, no padding,
	 * non-zero padding bits (a second spelling of a valid pin). */
	static const char *const bad[] = {
		"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\", \"x\"]",
		"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", \"x\"]",
		"[\"!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"x\"]",
		"[\"AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA=\", \"x\"]",
		"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", \"x\"]",
		"[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\", \"x\"]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_field_err("pins", bad[i],
				 "pins[0]: not base64 of 32 bytes");
	expect_field_err("pins",
			 "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", "
			 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
			 "pins[1]: the same as pins[0]");
	expect_field_err("pins",
			 "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
			 "pins: 1 given; 2 to 16");
	expect_field_err("signers", "[\"AAAA\"]", "signers[0]: not base64");
}

static void test_parse_rules(void **state)
{
	expect_field_err("threshold", "0", "threshold");
	expect_field_err("threshold", "3",
			 "threshold: 3; must be from 1 to the number of "
			 "signers (2)");
	expect_field_err(
	    "expires", "\"2026-09-20T00:00:00Z\"",
	    "expires: 2026-09-20T00:00:00Z is not after issued-at");
	expect_field_err("expires", "\"2026-09-20T14:13:20Z\"",
			 "is not after issued-at");
}

static char *pem_of(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	assert_non_null(bio);
	assert_true(PEM_write_bio_X509(bio, x));
	n = BIO_get_mem_data(bio, &data);
	s = strndup(data, (size_t)n);
	BIO_free(bio);
	return s;
}

static void test_parse_certs(void **state)
{
	char *leaf = pem_of(w.leaf), *ec = pem_of(w.ec), *two, *dec, *json;
	size_t n = strlen(leaf) + strlen(ec) + 1;
	json_t *a;

	two = malloc(n);
	snprintf(two, n, "%s%s", ec, leaf);
	a = json_pack("[s]", leaf);
	json = json_dumps(a, 0);
	expect_field_err("anchors", json, "anchors[0]: not a CA certificate");
	expect_field_err("recovery", json, "recovery[0]: not a CA certificate");
	free(json);
	json_decref(a);
	a = json_pack("[s, s]", ec, two);
	json = json_dumps(a, 0);
	expect_field_err("anchors", json, "anchors[1]: more than one PEM");
	free(json);
	json_decref(a);
	/* A certificate whose DER is damaged. */
	dec = strdup(ec);
	dec[40] = dec[40] == 'A' ? 'B' : 'A';
	dec[41] = '!';
	a = json_pack("[s]", dec);
	json = json_dumps(a, 0);
	expect_field_err("anchors", json, "anchors[0]: not a PEM certificate");
	free(json);
	json_decref(a);
	free(dec);
	free(two);
	free(leaf);
	free(ec);
}

static void test_parse_text(void **state)
{
	char *s = good_text(), *dup, *junk;
	size_t len = strlen(s);

	expect_err(s, len / 2, -EINVAL, "not JSON: line ");
	expect_err("hello", 5, -EINVAL, "not JSON: line 1 column 5");
	expect_err("[1, 2]", 6, -EINVAL, "not a JSON object");
	dup = malloc(len + 32);
	snprintf(dup, len + 32, "{\"version\": 8,%s", s + 1);
	expect_err(dup, strlen(dup), -EINVAL, "duplicate");
	free(dup);
	junk = malloc(1 << 20);
	for (size_t i = 0; i < 1 << 20; i++)
		junk[i] = (char)(i * 7919 % 251);
	expect_err(junk, 1 << 20, -EFBIG,
		   "bundle is 1048576 bytes; at most "
		   "32768");
	expect_err(junk, TRUST_BUNDLE_MAX, -EINVAL, "not JSON");
	free(junk);
	free(s);
}

static void test_load(void **state)
{
	char path[PATH_LEN], err[ERR_LEN] = "", *s = good_text();
	struct trust_bundle *b = NULL;
	FILE *f;

	pathf(path, "b.json");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	if (trust_bundle_load(path, &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(b->version, 7);
	trust_bundle_free(b);
	f = fopen(path, "w");
	fputs("{\"format\": 1}", f);
	fclose(f);
	assert_int_equal(trust_bundle_load(path, &b, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "b.json: missing key"));
	pathf(path, "nothing.json");
	assert_int_equal(trust_bundle_load(path, &b, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "nothing.json"));
	free(s);
}

static void test_dump_too_big(void **state)
{
	struct trust_bundle *b = make(1, 1, 1);
	char *s;

	/* Every list at its limit is more than a bundle file may hold. */
	while (sk_X509_num(b->anchors) < TRUST_ITEMS_MAX) {
		X509_up_ref(w.rsa);
		sk_X509_push(b->anchors, w.rsa);
		X509_up_ref(w.rsa);
		sk_X509_push(b->recovery, w.rsa);
	}
	assert_int_equal(trust_bundle_check(b, NULL, 0), 0);
	assert_int_equal(trust_bundle_dump(b, &s, NULL), -EFBIG);
	trust_bundle_free(b);
}

/* ---- info ---------------------------------------------------------- */

static void test_info(void **state)
{
	struct trust_bundle *b = make(7, 1, 1);
	json_t *info, *rsa, *ec;
	char pin[TRUST_PIN_LEN + 1];
	int64_t na;

	info = trust_bundle_info_json(b, NOW);
	assert_non_null(info);
	assert_int_equal(json_integer_value(json_object_get(info, "version")),
			 7);
	assert_int_equal(json_integer_value(json_object_get(info, "days_left")),
			 365);
	rsa = json_array_get(json_object_get(info, "anchors"), 0);
	ec = json_array_get(json_object_get(info, "anchors"), 1);
	assert_string_equal(json_string_value(json_object_get(rsa, "key")),
			    "RSA 2048");
	assert_string_equal(json_string_value(json_object_get(ec, "key")),
			    "EC P-256");
	assert_string_equal(json_string_value(json_object_get(ec, "subject")),
			    "O=Zwgate Test,CN=ec");
	assert_int_equal(trust_pin_of_cert(w.ec, pin), 0);
	assert_string_equal(json_string_value(json_object_get(ec, "pin")), pin);
	assert_int_equal(json_array_size(json_object_get(info, "recovery")), 0);
	assert_int_equal(json_array_size(json_object_get(info, "signers")), 1);
	assert_int_equal(
	    trust_time_parse(
		json_string_value(json_object_get(ec, "not_after")), &na),
	    0);
	/* -days 30 from about now. */
	assert_true(na > time(NULL) + 29 * 86400);
	assert_true(na < time(NULL) + 31 * 86400);
	json_decref(info);

	info = trust_cert_info_json(w.ec, na - 10 * 86400 - 5);
	assert_int_equal(json_integer_value(json_object_get(info, "days_left")),
			 10);
	json_decref(info);
	info = trust_cert_info_json(w.ec, na + 1);
	assert_int_equal(json_integer_value(json_object_get(info, "days_left")),
			 -1);
	json_decref(info);
	trust_bundle_free(b);
}

/* ---- keys ---------------------------------------------------------- */

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_keygen(void **state)
{
	char path[PATH_LEN], pub[PATH_LEN + 8], err[ERR_LEN] = "";
	unsigned char a[TRUST_KEY_LEN], b[TRUST_KEY_LEN], c[TRUST_KEY_LEN];
	EVP_PKEY *key = NULL;
	mode_t old = umask(0);

	pathf(path, "op.key");
	snprintf(pub, sizeof(pub), "%s.pub", path);
	assert_int_equal(trust_key_generate(path, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(pub), 0644);
	assert_int_equal(trust_key_generate(path, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "exists"));
	if (trust_key_load_private(path, &key, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(trust_key_raw_public(key, a), 0);
	assert_int_equal(trust_key_load_public(pub, b, err, sizeof(err)), 0);
	assert_int_equal(trust_key_load_public(path, c, err, sizeof(err)), 0);
	assert_memory_equal(a, b, TRUST_KEY_LEN);
	assert_memory_equal(a, c, TRUST_KEY_LEN);
	EVP_PKEY_free(key);
	/* The openssl command reads what we write. */
	assert_int_equal(sh("openssl pkey -in '%s' -noout", path), 0);
	assert_int_equal(sh("openssl pkey -pubin -in '%s' -noout", pub), 0);

	assert_int_equal(chmod(path, 0644), 0);
	key = NULL;
	assert_int_equal(trust_key_load_private(path, &key, err, sizeof(err)),
			 -EACCES);
	assert_null(key);
	assert_non_null(strstr(err, "op.key is readable by others (mode "
				    "0644); it must be 0600"));
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(trust_key_load_private(path, &key, err, sizeof(err)),
			 -EACCES);
	assert_non_null(strstr(err, "writable"));
	/* An existing .pub alone also stops keygen. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(trust_key_generate(path, err, sizeof(err)), -EEXIST);
	assert_int_equal(access(path, F_OK), -1);
	unlink(pub);
}

static void test_key_from_openssl(void **state)
{
	char path[PATH_LEN], pub[PATH_LEN], err[ERR_LEN] = "";
	unsigned char a[TRUST_KEY_LEN], b[TRUST_KEY_LEN];
	EVP_PKEY *key = NULL;

	pathf(path, "cli.key");
	pathf(pub, "cli.pub");
	assert_int_equal(sh("umask 077 && openssl genpkey -algorithm ed25519 "
			    "-out '%s' && openssl pkey -in '%s' -pubout "
			    "-out '%s'",
			    path, path, pub),
			 0);
	if (trust_key_load_private(path, &key, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(trust_key_raw_public(key, a), 0);
	assert_int_equal(trust_key_load_public(pub, b, err, sizeof(err)), 0);
	assert_memory_equal(a, b, TRUST_KEY_LEN);
	EVP_PKEY_free(key);

	/* An RSA key is refused, private or public. */
	pathf(path, "rsa.key");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(trust_key_load_private(path, &key, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not Ed25519"));
	assert_int_equal(trust_key_load_public(path, a, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not Ed25519"));
	pathf(path, "rsa.pem");
	assert_int_equal(trust_key_load_public(path, a, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a PEM public or private key"));
}

/* ---- time ---------------------------------------------------------- */

static void test_time(void **state)
{
	static const char *const good[] = {
		"1970-01-01T00:00:00Z", "2024-02-29T12:34:56Z",
		"2026-11-23T18:00:00Z", "2038-01-19T03:14:07Z",
		"2038-01-19T03:14:08Z", "2040-01-01T00:00:00Z",
		"2049-12-31T23:59:59Z", "2100-03-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
	};
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
		"2026-11-23T24:00:00Z", "2026-11-23T18:00:60Z",
		"2026-13-01T00:00:00Z", "2026-11-23 18:00:00Z",
		"2026-11-23T18:00:00",	"2026-11-23T18:00:00+00:00",
		"2026-11-23t18:00:00z", "1969-12-31T23:59:59Z",
		"+026-11-23T18:00:00Z", "",
		"2100-02-29T00:00:00Z", "2040-02-30T00:00:00Z",
	};
	char out[21];
	int64_t t;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(trust_time_parse(good[i], &t), 0);
		trust_time_format(t, out);
		assert_string_equal(out, good[i]);
	}
	assert_int_equal(trust_time_parse("2026-11-23T18:00:00Z", &t), 0);
	assert_int_equal(t, 1795456800);
	/* Past a 32-bit time_t: what timegm() could not give on armhf. */
	assert_int_equal(trust_time_parse("2038-01-19T03:14:08Z", &t), 0);
	assert_int_equal(t, INT64_C(2147483648));
	assert_int_equal(trust_time_parse("2040-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, INT64_C(2208988800));
	assert_int_equal(trust_time_parse("2049-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, INT64_C(2524607999));
	trust_time_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		if (trust_time_parse(bad[i], &t) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_rsa),
		cmocka_unit_test(test_pin_ec),
		cmocka_unit_test(test_pin_file_errors),
		cmocka_unit_test(test_has_pin_covers),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_2040),
		cmocka_unit_test(test_tbs_layout),
		cmocka_unit_test(test_count_signers),
		cmocka_unit_test(test_bad_signature_bytes),
		cmocka_unit_test(test_same_key_twice_in_file),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_same_signers),
		cmocka_unit_test(test_accept_threshold),
		cmocka_unit_test(test_accept_floor),
		cmocka_unit_test(test_accept_expired),
		cmocka_unit_test(test_accept_rotation),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_types),
		cmocka_unit_test(test_parse_base64),
		cmocka_unit_test(test_parse_rules),
		cmocka_unit_test(test_parse_certs),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_dump_too_big),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_key_from_openssl),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
