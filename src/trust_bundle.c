/* SPDX-License-Identifier: MIT */
/*
 * trust_bundle.c: the trust bundle file, its canonical signed bytes, the
 * operators' Ed25519 keys, pins, and the rules for accepting a new bundle
 * (trust.h).
 *
 * Reading a bundle is split in two: turning the JSON into the struct
 * (types, encodings, the sizes that bound its arrays) and
 * trust_bundle_check (the rules a bundle obeys), so that a bundle made in
 * memory by the offline tools is held to exactly the rules a received one
 * is.
 *
 * Base64 is decoded strictly: the decoded bytes are encoded again and
 * must give the text back, so each value has one spelling.  Pins are
 * compared as text, and a second spelling of a key would otherwise make
 * two "distinct" signers of one key.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "trust.h"

#define TB_VERSION_MAX ((INT64_C(1) << 53) - 1)
#define TB_TIME_MAX    INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define TB_TIME_LEN    20		     /* "2026-11-23T18:00:00Z" */
#define TB_LABEL_MAX   63		     /* bytes of a DNS label */
#define TB_KEYFILE_MAX (64 * 1024)	     /* bytes of a key file */
#define TB_B64_MAX     88 /* base64 of the largest fixed field (a sig) */
#define TB_ERR_MAX     512
#define TB_DAY	       86400

__attribute__((format(printf, 4, 5))) static int
tb_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- base64 and time ----------------------------------------------- */

/* Standard base64, padded, one line; out holds 4 * ceil(n / 3) + 1. */
static void tb_b64_encode(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static char *tb_b64_alloc(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	if (s)
		tb_b64_encode(p, n, s);
	return s;
}

/*
 * Is s the base64 of exactly n (at most 64) bytes?  EVP_DecodeBlock skips
 * surrounding blanks and does not account for padding, hence the
 * re-encoding.
 */
static bool tb_b64_fixed(const char *s, unsigned char *out, size_t n)
{
	unsigned char buf[TB_B64_MAX];
	char again[TB_B64_MAX + 1];
	size_t len = strlen(s);

	if (n > TRUST_SIG_LEN || len != 4 * ((n + 2) / 3))
		return false;
	if (EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len) < 0)
		return false;
	tb_b64_encode(buf, n, again);
	if (strcmp(again, s) != 0)
		return false;
	if (out)
		memcpy(out, buf, n);
	return true;
}

static int tb_digits(const char *s, int n)
{
	int v = 0;

	while (n--)
		v = v * 10 + (*s++ - '0');
	return v;
}

int trust_time_parse(const char *s, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm = { 0 }, back;
	time_t t;

	if (!s || strlen(s) != TB_TIME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < TB_TIME_LEN; i++) {
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9'
				    : s[i] != shape[i])
			return -EINVAL;
	}
	tm.tm_year = tb_digits(s, 4) - 1900;
	tm.tm_mon = tb_digits(s + 5, 2) - 1;
	tm.tm_mday = tb_digits(s + 8, 2);
	tm.tm_hour = tb_digits(s + 11, 2);
	tm.tm_min = tb_digits(s + 14, 2);
	tm.tm_sec = tb_digits(s + 17, 2);
	back = tm;
	t = timegm(&back);
	/* timegm normalises 2026-02-30 into March: the round trip refuses
	 * any date or time that does not exist. */
	if (tm.tm_year < 70 || !gmtime_r(&t, &back) ||
	    back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
	    back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
	    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
		return -EINVAL;
	*ret = t;
	return 0;
}

void trust_time_format(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt;

	if (t < 0)
		t = 0;
	if (t > TB_TIME_MAX)
		t = TB_TIME_MAX;
	tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, TB_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(out, "1970-01-01T00:00:00Z");
}

/* Whole days from now to t, rounded down (so -1 on the day after). */
static int64_t tb_days_left(int64_t t, int64_t now)
{
	int64_t d = t - now;

	return d >= 0 ? d / TB_DAY : -((-d + TB_DAY - 1) / TB_DAY);
}

/* ---- the struct ------------------------------------------------------ */

struct trust_bundle *trust_bundle_new(void)
{
	struct trust_bundle *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->format = TRUST_FORMAT;
	b->anchors = sk_X509_new_null();
	b->recovery = sk_X509_new_null();
	if (!b->anchors || !b->recovery) {
		trust_bundle_free(b);
		return NULL;
	}
	return b;
}

void trust_bundle_free(struct trust_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nhosts; i++)
		free(b->hosts[i]);
	sk_X509_pop_free(b->anchors, X509_free);
	sk_X509_pop_free(b->recovery, X509_free);
	free(b);
}

/* ---- checks ------------------------------------------------------------ */

static bool tb_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A DNS name (letters, digits, '-'; labels of 1..63) or an IP literal. */
static bool tb_host_ok(const char *h)
{
	unsigned char addr[16];
	size_t label = 0;

	if (inet_pton(AF_INET, h, addr) == 1 ||
	    inet_pton(AF_INET6, h, addr) == 1)
		return true;
	if (!*h || strlen(h) > TRUST_HOST_MAX)
		return false;
	for (const char *p = h;; p++) {
		if (*p == '.' || !*p) {
			if (label == 0 || label > TB_LABEL_MAX)
				return false;
			if (!*p)
				return true;
			label = 0;
		} else if (tb_is_alnum(*p) || *p == '-') {
			label++;
		} else {
			return false;
		}
	}
}

static int tb_check_head(const struct trust_bundle *b, char *err, size_t errlen)
{
	char t1[21], t2[21];

	if (b->format != TRUST_FORMAT)
		return tb_err(err, errlen, -EINVAL,
			      "format: %u is not supported (this reads %d)",
			      b->format, TRUST_FORMAT);
	if (b->version < 1 || b->version > (uint64_t)TB_VERSION_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "version: must be from 1 to %" PRId64,
			      TB_VERSION_MAX);
	if (b->issued_at < 0 || b->issued_at > TB_TIME_MAX)
		return tb_err(err, errlen, -EINVAL, "issued-at: out of range");
	if (b->expires < 0 || b->expires > TB_TIME_MAX)
		return tb_err(err, errlen, -EINVAL, "expires: out of range");
	if (b->expires <= b->issued_at) {
		trust_time_format(b->expires, t1);
		trust_time_format(b->issued_at, t2);
		return tb_err(err, errlen, -EINVAL,
			      "expires: %s is not after issued-at %s", t1, t2);
	}
	return 0;
}

static int tb_check_hosts(const struct trust_bundle *b, char *err,
			  size_t errlen)
{
	if (b->nhosts < 1 || b->nhosts > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "hosts: %zu given; 1 to %d are allowed",
			      b->nhosts, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->nhosts; i++) {
		if (!b->hosts[i] || !tb_host_ok(b->hosts[i]))
			return tb_err(err, errlen, -EINVAL,
				      "hosts[%zu]: \"%.64s\" is not a DNS name "
				      "or an IP address",
				      i, b->hosts[i] ? b->hosts[i] : "");
	}
	return 0;
}

static int tb_check_certs(STACK_OF(X509) * sk, const char *name, int min,
			  char *err, size_t errlen)
{
	int n = sk ? sk_X509_num(sk) : 0;

	if (n < min || n > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "%s: %d given; %d to %d are allowed", name, n,
			      min, TRUST_ITEMS_MAX);
	for (int i = 0; i < n; i++) {
		if (!X509_check_ca(sk_X509_value(sk, i)))
			return tb_err(err, errlen, -EINVAL,
				      "%s[%d]: not a CA certificate", name, i);
	}
	return 0;
}

static int tb_check_pins(const struct trust_bundle *b, char *err, size_t errlen)
{
	if (b->npins < 2 || b->npins > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "pins: %zu given; 2 to %d are allowed (a primary "
			      "and at least one backup)",
			      b->npins, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->npins; i++) {
		if (!tb_b64_fixed(b->pins[i], NULL, 32))
			return tb_err(err, errlen, -EINVAL,
				      "pins[%zu]: not base64 of 32 bytes", i);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(b->pins[i], b->pins[j]) == 0)
				return tb_err(
				    err, errlen, -EINVAL,
				    "pins[%zu]: the same as pins[%zu]", i, j);
		}
	}
	return 0;
}

static int tb_check_signers(const struct trust_bundle *b, char *err,
			    size_t errlen)
{
	if (b->nsigners < 1 || b->nsigners > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "signers: %zu given; 1 to %d are allowed",
			      b->nsigners, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->nsigners; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(b->signers[i], b->signers[j],
				    TRUST_KEY_LEN))
				return tb_err(err, errlen, -EINVAL,
					      "signers[%zu]: the same key as "
					      "signers[%zu]",
					      i, j);
		}
	}
	if (b->threshold < 1 || b->threshold > b->nsigners)
		return tb_err(err, errlen, -EINVAL,
			      "threshold: %u; must be from 1 to the number of "
			      "signers (%zu)",
			      b->threshold, b->nsigners);
	if (b->nsigs > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "signatures: %zu given; at most %d", b->nsigs,
			      TRUST_ITEMS_MAX);
	return 0;
}

int trust_bundle_check(const struct trust_bundle *b, char *err, size_t errlen)
{
	int rc;

	if ((rc = tb_check_head(b, err, errlen)) < 0 ||
	    (rc = tb_check_hosts(b, err, errlen)) < 0 ||
	    (rc = tb_check_certs(b->anchors, "anchors", 1, err, errlen)) < 0 ||
	    (rc = tb_check_certs(b->recovery, "recovery", 0, err, errlen)) <
		0 ||
	    (rc = tb_check_pins(b, err, errlen)) < 0 ||
	    (rc = tb_check_signers(b, err, errlen)) < 0)
		return rc;
	return 0;
}

/* ---- reading JSON ------------------------------------------------------ */

static int tb_get_int(json_t *v, const char *name, json_int_t min,
		      json_int_t max, json_int_t *ret, char *err, size_t errlen)
{
	if (!json_is_integer(v))
		return tb_err(err, errlen, -EINVAL, "%s: not an integer", name);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return tb_err(err, errlen, -EINVAL,
			      "%s: must be from %lld to %lld", name,
			      (long long)min, (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

static int tb_get_time(json_t *v, const char *name, int64_t *ret, char *err,
		       size_t errlen)
{
	if (!json_is_string(v) || trust_time_parse(json_string_value(v), ret))
		return tb_err(err, errlen, -EINVAL,
			      "%s: not a time like \"2026-11-23T18:00:00Z\"",
			      name);
	return 0;
}

static int tb_get_array(json_t *v, const char *name, char *err, size_t errlen)
{
	if (!json_is_array(v))
		return tb_err(err, errlen, -EINVAL, "%s: not an array", name);
	if (json_array_size(v) > TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -EINVAL,
			      "%s: %zu items; at most %d are allowed", name,
			      json_array_size(v), TRUST_ITEMS_MAX);
	return 0;
}

/* Item i of array a as a string, or NULL with err. */
static const char *tb_get_item(json_t *a, size_t i, const char *name, char *err,
			       size_t errlen)
{
	json_t *v = json_array_get(a, i);

	if (!json_is_string(v)) {
		tb_err(err, errlen, -EINVAL, "%s[%zu]: not a string", name, i);
		return NULL;
	}
	return json_string_value(v);
}

static int tb_parse_format(struct trust_bundle *b, json_t *v, char *err,
			   size_t errlen)
{
	json_int_t n = 0;
	int rc = tb_get_int(v, "format", 0, UINT_MAX, &n, err, errlen);

	b->format = (unsigned)n;
	return rc;
}

static int tb_parse_version(struct trust_bundle *b, json_t *v, char *err,
			    size_t errlen)
{
	json_int_t n = 0;
	int rc = tb_get_int(v, "version", 1, TB_VERSION_MAX, &n, err, errlen);

	b->version = (uint64_t)n;
	return rc;
}

static int tb_parse_issued(struct trust_bundle *b, json_t *v, char *err,
			   size_t errlen)
{
	return tb_get_time(v, "issued-at", &b->issued_at, err, errlen);
}

static int tb_parse_expires(struct trust_bundle *b, json_t *v, char *err,
			    size_t errlen)
{
	return tb_get_time(v, "expires", &b->expires, err, errlen);
}

static int tb_parse_hosts(struct trust_bundle *b, json_t *v, char *err,
			  size_t errlen)
{
	const char *s;
	int rc = tb_get_array(v, "hosts", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = tb_get_item(v, i, "hosts", err, errlen)))
			return -EINVAL;
		if (!(b->hosts[i] = strdup(s)))
			return -ENOMEM;
		b->nhosts++;
	}
	return rc;
}

/*
 * Exactly one PEM block, a CERTIFICATE whose DER has no trailing bytes:
 * text that PEM readers skip or a second certificate would be outside
 * what is signed (the DER), so it is refused rather than ignored.
 */
static int tb_cert_from_pem(const char *pem, size_t len, X509 **ret)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long dlen;
	X509 *x = NULL;
	int n = 0;

	if (!bio)
		return -ENOMEM;
	while (PEM_read_bio(bio, &name, &header, &data, &dlen)) {
		if (n++ == 0 && strcmp(name, PEM_STRING_X509) == 0) {
			p = data;
			x = d2i_X509(NULL, &p, dlen);
			if (x && p != data + dlen) {
				X509_free(x);
				x = NULL;
			}
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n != 1 || !x) {
		X509_free(x);
		return n > 1 ? -E2BIG : -EINVAL;
	}
	*ret = x;
	return 0;
}

static int tb_parse_certs(STACK_OF(X509) * sk, json_t *v, const char *name,
			  char *err, size_t errlen)
{
	const char *s;
	X509 *x;
	int rc = tb_get_array(v, name, err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = tb_get_item(v, i, name, err, errlen)))
			return -EINVAL;
		rc = tb_cert_from_pem(
		    s, json_string_length(json_array_get(v, i)), &x);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return tb_err(err, errlen, -EINVAL, "%s[%zu]: %s", name,
				      i,
				      rc == -E2BIG ? "more than one PEM block"
						   : "not a PEM certificate");
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return rc;
}

static int tb_parse_anchors(struct trust_bundle *b, json_t *v, char *err,
			    size_t errlen)
{
	return tb_parse_certs(b->anchors, v, "anchors", err, errlen);
}

static int tb_parse_recovery(struct trust_bundle *b, json_t *v, char *err,
			     size_t errlen)
{
	return tb_parse_certs(b->recovery, v, "recovery", err, errlen);
}

static int tb_parse_pins(struct trust_bundle *b, json_t *v, char *err,
			 size_t errlen)
{
	const char *s;
	int rc = tb_get_array(v, "pins", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = tb_get_item(v, i, "pins", err, errlen)))
			return -EINVAL;
		if (!tb_b64_fixed(s, NULL, 32))
			return tb_err(err, errlen, -EINVAL,
				      "pins[%zu]: not base64 of 32 bytes", i);
		strcpy(b->pins[b->npins++], s);
	}
	return rc;
}

static int tb_parse_signers(struct trust_bundle *b, json_t *v, char *err,
			    size_t errlen)
{
	const char *s;
	int rc = tb_get_array(v, "signers", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = tb_get_item(v, i, "signers", err, errlen)))
			return -EINVAL;
		if (!tb_b64_fixed(s, b->signers[i], TRUST_KEY_LEN))
			return tb_err(err, errlen, -EINVAL,
				      "signers[%zu]: not base64 of a 32-byte "
				      "Ed25519 public key",
				      i);
		b->nsigners++;
	}
	return rc;
}

static int tb_parse_threshold(struct trust_bundle *b, json_t *v, char *err,
			      size_t errlen)
{
	json_int_t n = 0;
	int rc =
	    tb_get_int(v, "threshold", 1, TRUST_ITEMS_MAX, &n, err, errlen);

	b->threshold = (unsigned)n;
	return rc;
}

static int tb_parse_sig(struct trust_sig *sig, json_t *o, size_t i, char *err,
			size_t errlen)
{
	const char *k, *key, *s;
	json_t *v;

	if (!json_is_object(o))
		return tb_err(err, errlen, -EINVAL,
			      "signatures[%zu]: not an object", i);
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "key") && strcmp(k, "sig"))
			return tb_err(err, errlen, -EINVAL,
				      "signatures[%zu]: unknown key \"%.32s\"",
				      i, k);
	}
	key = json_string_value(json_object_get(o, "key"));
	s = json_string_value(json_object_get(o, "sig"));
	if (!key || !tb_b64_fixed(key, sig->key, TRUST_KEY_LEN))
		return tb_err(err, errlen, -EINVAL,
			      "signatures[%zu].key: not base64 of a 32-byte "
			      "Ed25519 public key",
			      i);
	if (!s || !tb_b64_fixed(s, sig->sig, TRUST_SIG_LEN))
		return tb_err(err, errlen, -EINVAL,
			      "signatures[%zu].sig: not base64 of a 64-byte "
			      "Ed25519 signature",
			      i);
	return 0;
}

static int tb_parse_signatures(struct trust_bundle *b, json_t *v, char *err,
			       size_t errlen)
{
	int rc = tb_get_array(v, "signatures", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		rc = tb_parse_sig(&b->sigs[i], json_array_get(v, i), i, err,
				  errlen);
		if (rc == 0)
			b->nsigs++;
	}
	return rc;
}

typedef int (*tb_field_fn)(struct trust_bundle *b, json_t *v, char *err,
			   size_t errlen);

/* The keys of a bundle, in the order a dump writes them. */
static const struct tb_field {
	const char *name;
	tb_field_fn parse;
	bool required;
} tb_fields[] = {
	{ "format", tb_parse_format, true },
	{ "version", tb_parse_version, true },
	{ "issued-at", tb_parse_issued, true },
	{ "expires", tb_parse_expires, true },
	{ "hosts", tb_parse_hosts, true },
	{ "anchors", tb_parse_anchors, true },
	{ "recovery", tb_parse_recovery, false },
	{ "pins", tb_parse_pins, true },
	{ "signers", tb_parse_signers, true },
	{ "threshold", tb_parse_threshold, true },
	{ "signatures", tb_parse_signatures, false },
};

#define TB_NFIELDS (sizeof(tb_fields) / sizeof(tb_fields[0]))

static int tb_from_json(struct trust_bundle *b, json_t *root, char *err,
			size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return tb_err(err, errlen, -EINVAL, "not a JSON object");
	json_object_foreach(root, key, v)
	{
		for (i = 0; i < TB_NFIELDS; i++) {
			if (strcmp(key, tb_fields[i].name) == 0)
				break;
		}
		if (i == TB_NFIELDS)
			return tb_err(err, errlen, -EINVAL,
				      "unknown key \"%.32s\"", key);
	}
	for (i = 0; i < TB_NFIELDS; i++) {
		v = json_object_get(root, tb_fields[i].name);
		if (!v && tb_fields[i].required)
			return tb_err(err, errlen, -EINVAL,
				      "missing key \"%s\"", tb_fields[i].name);
		if (v && (rc = tb_fields[i].parse(b, v, err, errlen)) < 0)
			return rc;
	}
	return trust_bundle_check(b, err, errlen);
}

int trust_bundle_parse(const void *buf, size_t len, struct trust_bundle **ret,
		       char *err, size_t errlen)
{
	struct trust_bundle *b;
	json_error_t jerr;
	json_t *root;
	int rc;

	if (len > TRUST_BUNDLE_MAX)
		return tb_err(err, errlen, -EFBIG,
			      "bundle is %zu bytes; at most %d", len,
			      TRUST_BUNDLE_MAX);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return tb_err(err, errlen, -EINVAL,
			      "not JSON: line %d column %d: %s", jerr.line,
			      jerr.column, jerr.text);
	b = trust_bundle_new();
	if (!b) {
		json_decref(root);
		return tb_err(err, errlen, -ENOMEM, "out of memory");
	}
	rc = tb_from_json(b, root, err, errlen);
	json_decref(root);
	if (rc == -ENOMEM)
		tb_err(err, errlen, rc, "out of memory");
	if (rc < 0) {
		trust_bundle_free(b);
		return rc;
	}
	*ret = b;
	return 0;
}

int trust_bundle_load(const char *path, struct trust_bundle **ret, char *err,
		      size_t errlen)
{
	char why[TB_ERR_MAX];
	char *buf;
	size_t len;
	int rc;

	rc = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);
	if (rc == -EFBIG)
		return tb_err(err, errlen, rc,
			      "%s: bundle is larger than %d "
			      "bytes",
			      path, TRUST_BUNDLE_MAX);
	if (rc < 0)
		return tb_err(err, errlen, rc, "%s: %s", path, strerror(-rc));
	rc = trust_bundle_parse(buf, len, ret, why, sizeof(why));
	free(buf);
	if (rc < 0)
		return tb_err(err, errlen, rc, "%s: %s", path, why);
	return 0;
}

/* ---- canonical bytes and JSON out -------------------------------------- */

static int tb_tbs_certs(FILE *f, const char *tag, STACK_OF(X509) * sk)
{
	unsigned char *der;
	char *s;
	int n;

	for (int i = 0; sk && i < sk_X509_num(sk); i++) {
		der = NULL;
		n = i2d_X509(sk_X509_value(sk, i), &der);
		if (n <= 0) {
			ERR_clear_error();
			return -EINVAL;
		}
		s = tb_b64_alloc(der, (size_t)n);
		OPENSSL_free(der);
		if (!s)
			return -ENOMEM;
		fprintf(f, "%s %s\n", tag, s);
		free(s);
	}
	return 0;
}

static int tb_tbs_write(FILE *f, const struct trust_bundle *b)
{
	char key[TRUST_PIN_LEN + 1];
	int rc;

	fprintf(f, "zwgate-trust-bundle %u\n", b->format);
	fprintf(f, "version %" PRIu64 "\n", b->version);
	fprintf(f, "issued-at %" PRId64 "\n", b->issued_at);
	fprintf(f, "expires %" PRId64 "\n", b->expires);
	for (size_t i = 0; i < b->nhosts; i++)
		fprintf(f, "host %s\n", b->hosts[i]);
	if ((rc = tb_tbs_certs(f, "anchor", b->anchors)) < 0 ||
	    (rc = tb_tbs_certs(f, "recovery", b->recovery)) < 0)
		return rc;
	for (size_t i = 0; i < b->npins; i++)
		fprintf(f, "pin %s\n", b->pins[i]);
	for (size_t i = 0; i < b->nsigners; i++) {
		tb_b64_encode(b->signers[i], TRUST_KEY_LEN, key);
		fprintf(f, "signer %s\n", key);
	}
	fprintf(f, "threshold %u\n", b->threshold);
	return ferror(f) ? -ENOMEM : 0;
}

int trust_bundle_tbs(const struct trust_bundle *b, char **ret, size_t *retlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	rc = tb_tbs_write(f, b);
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*ret = buf;
	if (retlen)
		*retlen = len;
	return 0;
}

static json_t *tb_json_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	json_t *s = NULL;
	char *data;
	long n;

	if (bio && PEM_write_bio_X509(bio, x)) {
		n = BIO_get_mem_data(bio, &data);
		s = json_stringn(data, (size_t)n);
	}
	ERR_clear_error();
	BIO_free(bio);
	return s;
}

static json_t *tb_json_certs(STACK_OF(X509) * sk, bool pem, int64_t now)
{
	json_t *a = json_array();
	int bad = !a;

	for (int i = 0; !bad && sk && i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		bad |= json_array_append_new(
		    a, pem ? tb_json_pem(x) : trust_cert_info_json(x, now));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *tb_json_keys(const unsigned char (*keys)[TRUST_KEY_LEN],
			    size_t n)
{
	char s[TRUST_PIN_LEN + 1];
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < n; i++) {
		tb_b64_encode(keys[i], TRUST_KEY_LEN, s);
		bad |= json_array_append_new(a, json_string(s));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *tb_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < n; i++)
		bad |= json_array_append_new(a, json_string(v[i]));
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *tb_json_pins(const struct trust_bundle *b)
{
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < b->npins; i++)
		bad |= json_array_append_new(a, json_string(b->pins[i]));
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *tb_json_sigs(const struct trust_bundle *b)
{
	char k[TRUST_PIN_LEN + 1], s[TB_B64_MAX + 1];
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < b->nsigs; i++) {
		tb_b64_encode(b->sigs[i].key, TRUST_KEY_LEN, k);
		tb_b64_encode(b->sigs[i].sig, TRUST_SIG_LEN, s);
		bad |= json_array_append_new(
		    a, json_pack("{s:s, s:s}", "key", k, "sig", s));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *tb_to_json(const struct trust_bundle *b)
{
	char t[TB_TIME_LEN + 1];
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= json_object_set_new(o, "format", json_integer(b->format));
	bad |= json_object_set_new(o, "version",
				   json_integer((json_int_t)b->version));
	trust_time_format(b->issued_at, t);
	bad |= json_object_set_new(o, "issued-at", json_string(t));
	trust_time_format(b->expires, t);
	bad |= json_object_set_new(o, "expires", json_string(t));
	bad |= json_object_set_new(o, "hosts",
				   tb_json_strings(b->hosts, b->nhosts));
	bad |= json_object_set_new(o, "anchors",
				   tb_json_certs(b->anchors, true, 0));
	if (b->recovery && sk_X509_num(b->recovery) > 0)
		bad |= json_object_set_new(o, "recovery",
					   tb_json_certs(b->recovery, true, 0));
	bad |= json_object_set_new(o, "pins", tb_json_pins(b));
	bad |= json_object_set_new(o, "signers",
				   tb_json_keys(b->signers, b->nsigners));
	bad |= json_object_set_new(o, "threshold", json_integer(b->threshold));
	bad |= json_object_set_new(o, "signatures", tb_json_sigs(b));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int trust_bundle_dump(const struct trust_bundle *b, char **ret, size_t *retlen)
{
	json_t *o = tb_to_json(b);
	char *s, *t;
	size_t len;

	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	t = realloc(s, len + 2);
	if (!t) {
		free(s);
		return -ENOMEM;
	}
	memcpy(t + len, "\n", 2);
	/* Parsing must give the same bundle, and parse refuses this. */
	if (len + 1 > TRUST_BUNDLE_MAX) {
		free(t);
		return -EFBIG;
	}
	*ret = t;
	if (retlen)
		*retlen = len + 1;
	return 0;
}

/* ---- signatures -------------------------------------------------------- */

int trust_key_raw_public(EVP_PKEY *key, unsigned char out[TRUST_KEY_LEN])
{
	size_t len = TRUST_KEY_LEN;

	if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		return -EINVAL;
	if (EVP_PKEY_get_raw_public_key(key, out, &len) != 1 ||
	    len != TRUST_KEY_LEN) {
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

static int tb_ed25519_sign(EVP_PKEY *key, const char *msg, size_t len,
			   unsigned char sig[TRUST_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = TRUST_SIG_LEN;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg,
			    len) == 1 &&
	     siglen == TRUST_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -EINVAL;
}

static bool tb_ed25519_verify(const unsigned char key[TRUST_KEY_LEN],
			      const unsigned char sig[TRUST_SIG_LEN],
			      const char *msg, size_t len)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key,
						   TRUST_KEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = pk && ctx &&
		  EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		  EVP_DigestVerify(ctx, sig, TRUST_SIG_LEN,
				   (const unsigned char *)msg, len) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return ok;
}

int trust_bundle_sign(struct trust_bundle *b, EVP_PKEY *key, char *err,
		      size_t errlen)
{
	struct trust_sig sig;
	char *tbs;
	size_t i, len;
	int rc;

	if (trust_key_raw_public(key, sig.key) < 0)
		return tb_err(err, errlen, -EINVAL,
			      "the signing key is not an Ed25519 key");
	for (i = 0; i < b->nsigs; i++) {
		if (!memcmp(b->sigs[i].key, sig.key, TRUST_KEY_LEN))
			break;
	}
	if (i == TRUST_ITEMS_MAX)
		return tb_err(err, errlen, -ENOSPC,
			      "the bundle already holds %d signatures, the "
			      "most it can",
			      TRUST_ITEMS_MAX);
	if ((rc = trust_bundle_tbs(b, &tbs, &len)) < 0)
		return tb_err(err, errlen, rc, "cannot encode the bundle: %s",
			      strerror(-rc));
	rc = tb_ed25519_sign(key, tbs, len, sig.sig);
	free(tbs);
	if (rc < 0)
		return tb_err(err, errlen, rc, "cannot sign with this key");
	b->sigs[i] = sig;
	if (i == b->nsigs)
		b->nsigs++;
	return 0;
}

static bool tb_key_in(const unsigned char (*keys)[TRUST_KEY_LEN], size_t n,
		      const unsigned char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(keys[i], key, TRUST_KEY_LEN))
			return true;
	}
	return false;
}

unsigned trust_bundle_count_signers(const struct trust_bundle *b,
				    const unsigned char (*keys)[TRUST_KEY_LEN],
				    size_t nkeys)
{
	unsigned n = 0;
	char *tbs;
	size_t len;

	if (!b || trust_bundle_tbs(b, &tbs, &len) < 0)
		return 0;
	for (size_t i = 0; i < nkeys; i++) {
		/* A key listed twice by the caller is still one key. */
		if (tb_key_in(keys, i, keys[i]))
			continue;
		for (size_t j = 0; j < b->nsigs; j++) {
			if (!memcmp(b->sigs[j].key, keys[i], TRUST_KEY_LEN) &&
			    tb_ed25519_verify(keys[i], b->sigs[j].sig, tbs,
					      len)) {
				n++;
				break;
			}
		}
	}
	free(tbs);
	return n;
}

bool trust_bundle_same_signers(const struct trust_bundle *a,
			       const struct trust_bundle *b)
{
	for (size_t i = 0; i < a->nsigners; i++) {
		if (!tb_key_in(b->signers, b->nsigners, a->signers[i]))
			return false;
	}
	for (size_t i = 0; i < b->nsigners; i++) {
		if (!tb_key_in(a->signers, a->nsigners, b->signers[i]))
			return false;
	}
	return true;
}

bool trust_bundle_covers(const struct trust_bundle *b, const char *host)
{
	for (size_t i = 0; host && i < b->nhosts; i++) {
		if (strcasecmp(b->hosts[i], host) == 0)
			return true;
	}
	return false;
}

int trust_bundle_accept(const struct trust_bundle *trusted, uint64_t floor,
			const struct trust_bundle *cand, int64_t now, char *why,
			size_t whylen)
{
	/* A threshold of 0 (an unchecked bundle) must not mean "anyone". */
	unsigned need = trusted->threshold ? trusted->threshold : 1;
	char t[TB_TIME_LEN + 1];
	unsigned n;

	n = trust_bundle_count_signers(cand, trusted->signers,
				       trusted->nsigners);
	if (n < need)
		return tb_err(why, whylen, -EPERM,
			      "signed by %u distinct trusted key%s; %u %s "
			      "required",
			      n, n == 1 ? "" : "s", need,
			      need == 1 ? "is" : "are");
	if (cand->version <= floor)
		return tb_err(why, whylen, -ESTALE,
			      "version %" PRIu64 " is not above the floor "
			      "%" PRIu64,
			      cand->version, floor);
	if (cand->expires <= now) {
		trust_time_format(cand->expires, t);
		return tb_err(why, whylen, -ETIME, "expired on %s", t);
	}
	if (trust_bundle_same_signers(trusted, cand))
		return 0;
	need = cand->threshold ? cand->threshold : 1;
	n = trust_bundle_count_signers(cand, cand->signers, cand->nsigners);
	if (n < need)
		return tb_err(why, whylen, -EPERM,
			      "changes the signer keys but is signed by %u of "
			      "its new keys; %u %s required",
			      n, need, need == 1 ? "is" : "are");
	return 0;
}

/* ---- pins ---------------------------------------------------------------- */

int trust_pin_of_cert(X509 *x, char out[TRUST_PIN_LEN + 1])
{
	X509_PUBKEY *pk = x ? X509_get_X509_PUBKEY(x) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned mdlen = 0;
	int n, ok;

	if (!pk)
		return -EINVAL;
	n = i2d_X509_PUBKEY(pk, &der);
	if (n <= 0) {
		ERR_clear_error();
		return -EINVAL;
	}
	ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) &&
	     mdlen == 32;
	OPENSSL_free(der);
	if (!ok) {
		ERR_clear_error();
		return -ENOMEM;
	}
	tb_b64_encode(md, 32, out);
	return 0;
}

int trust_pin_of_file(const char *path, char out[TRUST_PIN_LEN + 1], char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "re");
	X509 *x;
	int rc, e;

	if (!f) {
		e = errno;
		return tb_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!x)
		return tb_err(err, errlen, -EINVAL,
			      "%s: no PEM certificate in it", path);
	rc = trust_pin_of_cert(x, out);
	X509_free(x);
	if (rc < 0)
		return tb_err(err, errlen, rc, "%s: cannot compute the pin",
			      path);
	return 0;
}

bool trust_bundle_has_pin(const struct trust_bundle *b, const char *pin)
{
	for (size_t i = 0; pin && i < b->npins; i++) {
		if (strcmp(b->pins[i], pin) == 0)
			return true;
	}
	return false;
}

/* ---- information ------------------------------------------------------- */

static json_t *tb_json_subject(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	json_t *s = NULL;
	char *data;
	long n;

	if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
				      XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		s = json_stringn(data, (size_t)n);
	}
	ERR_clear_error();
	BIO_free(bio);
	return s;
}

static const char *tb_curve_name(const char *group)
{
	if (strcmp(group, "prime256v1") == 0)
		return "P-256";
	if (strcmp(group, "secp384r1") == 0)
		return "P-384";
	if (strcmp(group, "secp521r1") == 0)
		return "P-521";
	return group;
}

/* "RSA 2048", "EC P-256", "Ed25519", ... */
static void tb_key_kind(X509 *x, char *out, size_t n)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64];
	size_t glen;

	if (!pk) {
		snprintf(out, n, "unknown");
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
		snprintf(out, n, "RSA %d", EVP_PKEY_get_bits(pk));
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen))
			snprintf(out, n, "EC %s", tb_curve_name(group));
		else
			snprintf(out, n, "EC");
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		snprintf(out, n, "Ed25519");
	} else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED448) {
		snprintf(out, n, "Ed448");
	} else {
		snprintf(out, n, "%s", OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	}
	ERR_clear_error();
}

static int64_t tb_not_after(X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return (int64_t)timegm(&tm);
}

json_t *trust_cert_info_json(X509 *x, int64_t now)
{
	char kind[80], t[TB_TIME_LEN + 1], pin[TRUST_PIN_LEN + 1];
	int64_t na = tb_not_after(x);
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	if (trust_pin_of_cert(x, pin) < 0)
		pin[0] = '\0';
	tb_key_kind(x, kind, sizeof(kind));
	trust_time_format(na, t);
	bad |= json_object_set_new(o, "subject", tb_json_subject(x));
	bad |= json_object_set_new(o, "key", json_string(kind));
	bad |= json_object_set_new(o, "not_after", json_string(t));
	bad |= json_object_set_new(o, "days_left",
				   json_integer(tb_days_left(na, now)));
	bad |= json_object_set_new(o, "pin", json_string(pin));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *trust_bundle_info_json(const struct trust_bundle *b, int64_t now)
{
	char t[TB_TIME_LEN + 1];
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= json_object_set_new(o, "version",
				   json_integer((json_int_t)b->version));
	trust_time_format(b->issued_at, t);
	bad |= json_object_set_new(o, "issued_at", json_string(t));
	trust_time_format(b->expires, t);
	bad |= json_object_set_new(o, "expires", json_string(t));
	bad |= json_object_set_new(o, "days_left",
				   json_integer(tb_days_left(b->expires, now)));
	bad |= json_object_set_new(o, "hosts",
				   tb_json_strings(b->hosts, b->nhosts));
	bad |= json_object_set_new(o, "threshold", json_integer(b->threshold));
	bad |= json_object_set_new(o, "signers",
				   tb_json_keys(b->signers, b->nsigners));
	bad |= json_object_set_new(o, "anchors",
				   tb_json_certs(b->anchors, false, now));
	bad |= json_object_set_new(o, "recovery",
				   tb_json_certs(b->recovery, false, now));
	bad |= json_object_set_new(o, "pins", tb_json_pins(b));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- key files ----------------------------------------------------------- */

/* Never prompt on a terminal for the passphrase of an encrypted key. */
static int tb_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Create path (refusing an existing one) holding the key as PEM. */
static int tb_write_key(const char *path, mode_t mode, EVP_PKEY *key,
			bool private, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int e, ok;
	FILE *f;

	if (fd < 0) {
		e = errno;
		return tb_err(err, errlen, -e, "%s: %s", path,
			      e == EEXIST ? "exists; not overwriting it"
					  : strerror(e));
	}
	/* The umask must not loosen nor tighten what the header promises. */
	if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		unlink(path);
		return tb_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	ok = private
		 ? PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_PUBKEY(f, key);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	e = errno;
	if (fclose(f) != 0)
		ok = 0;
	ERR_clear_error();
	if (!ok) {
		unlink(path);
		return tb_err(err, errlen, -(e ? e : EIO),
			      "%s: cannot write: %s", path,
			      strerror(e ? e : EIO));
	}
	return 0;
}

int trust_key_generate(const char *path, char *err, size_t errlen)
{
	size_t len = strlen(path);
	char *pub = malloc(len + sizeof(".pub"));
	EVP_PKEY *key = NULL;
	struct stat st;
	int rc;

	if (!pub)
		return tb_err(err, errlen, -ENOMEM, "out of memory");
	memcpy(pub, path, len);
	memcpy(pub + len, ".pub", sizeof(".pub"));
	if (lstat(pub, &st) == 0) {
		rc = tb_err(err, errlen, -EEXIST,
			    "%s: exists; not overwriting it", pub);
		goto out_pub;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key) {
		ERR_clear_error();
		rc = tb_err(err, errlen, -ENOMEM,
			    "cannot generate an Ed25519 key");
		goto out_pub;
	}
	rc = tb_write_key(path, 0600, key, true, err, errlen);
	if (rc == 0 &&
	    (rc = tb_write_key(pub, 0644, key, false, err, errlen)) < 0)
		unlink(path);
	EVP_PKEY_free(key);
out_pub:
	free(pub);
	return rc;
}

static int tb_check_key_mode(const char *path, int fd, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) < 0) {
		e = errno;
		return tb_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode))
		return tb_err(err, errlen, -EINVAL, "%s: not a regular file",
			      path);
	if (st.st_mode & 077)
		return tb_err(err, errlen, -EACCES,
			      "%s is %s by others (mode %04o); it must be 0600",
			      path,
			      st.st_mode & 044	 ? "readable"
			      : st.st_mode & 022 ? "writable"
						 : "usable",
			      (unsigned)(st.st_mode & 07777));
	if (st.st_size > TB_KEYFILE_MAX)
		return tb_err(err, errlen, -EFBIG,
			      "%s: larger than %d bytes; not a key file", path,
			      TB_KEYFILE_MAX);
	return 0;
}

static int tb_check_ed25519(const char *path, EVP_PKEY *key, char *err,
			    size_t errlen)
{
	if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519)
		return 0;
	return tb_err(err, errlen, -EINVAL, "%s: a %s key, not Ed25519", path,
		      EVP_PKEY_get0_type_name(key)
			  ? EVP_PKEY_get0_type_name(key)
			  : "unknown");
}

int trust_key_load_private(const char *path, EVP_PKEY **ret, char *err,
			   size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	EVP_PKEY *key;
	FILE *f;
	int rc, e;

	if (fd < 0) {
		e = errno;
		return tb_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	if ((rc = tb_check_key_mode(path, fd, err, errlen)) < 0) {
		close(fd);
		return rc;
	}
	if (!(f = fdopen(fd, "r"))) {
		e = errno;
		close(fd);
		return tb_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	key = PEM_read_PrivateKey(f, NULL, tb_no_passphrase, NULL);
	fclose(f);
	ERR_clear_error();
	if (!key)
		return tb_err(err, errlen, -EINVAL,
			      "%s: not a PEM private key (or an encrypted one, "
			      "which is not supported)",
			      path);
	if ((rc = tb_check_ed25519(path, key, err, errlen)) < 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	*ret = key;
	return 0;
}

/* The public key of PEM text: a PUBLIC KEY block, else a private key. */
static EVP_PKEY *tb_read_any_key(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *key = NULL;

	if (bio)
		key = PEM_read_bio_PUBKEY(bio, NULL, tb_no_passphrase, NULL);
	BIO_free(bio);
	if (!key && (bio = BIO_new_mem_buf(buf, (int)len))) {
		key =
		    PEM_read_bio_PrivateKey(bio, NULL, tb_no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return key;
}

int trust_key_load_public(const char *path, unsigned char out[TRUST_KEY_LEN],
			  char *err, size_t errlen)
{
	EVP_PKEY *key;
	char *buf;
	size_t len;
	int rc;

	rc = fs_read_file(path, TB_KEYFILE_MAX, &buf, &len);
	if (rc == -EFBIG)
		return tb_err(err, errlen, rc,
			      "%s: larger than %d bytes; not a key file", path,
			      TB_KEYFILE_MAX);
	if (rc < 0)
		return tb_err(err, errlen, rc, "%s: %s", path, strerror(-rc));
	key = tb_read_any_key(buf, len);
	free(buf);
	if (!key)
		return tb_err(err, errlen, -EINVAL,
			      "%s: not a PEM public or private key", path);
	rc = tb_check_ed25519(path, key, err, errlen);
	if (rc == 0)
		rc = trust_key_raw_public(key, out);
	EVP_PKEY_free(key);
	return rc;
}
