/* SPDX-License-Identifier: MIT */
/*
 * trust_bundle.c: the trust bundle: its struct, the rules a bundle obeys,
 * reading it from JSON, its canonical signed bytes, and the rules for
 * accepting a new bundle (trust.h).  The operators' keys, signatures and
 * pins are in trust_keys.c; writing a bundle as JSON, its report and time
 * stamps in trust_json.c.
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
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "trust_int.h"

#define TRUST_VERSION_MAX ((INT64_C(1) << 53) - 1)
#define TRUST_LABEL_MAX	  63 /* bytes of a DNS label */
#define TRUST_ERR_MAX	  512

/* ---- base64 ---------------------------------------------------------- */

static char *trust_b64_alloc(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	if (s)
		trust_b64_encode(p, n, s);
	return s;
}

/*
 * Is s the base64 of exactly n (at most 64) bytes?  EVP_DecodeBlock skips
 * surrounding blanks and does not account for padding, hence the
 * re-encoding.
 */
static bool trust_b64_fixed(const char *s, unsigned char *out, size_t n)
{
	unsigned char buf[TRUST_B64_MAX];
	char again[TRUST_B64_MAX + 1];
	size_t len = strlen(s);

	if (n > TRUST_SIG_LEN || len != 4 * ((n + 2) / 3))
		return false;
	if (EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len) < 0)
		return false;
	trust_b64_encode(buf, n, again);
	if (strcmp(again, s) != 0)
		return false;
	if (out)
		memcpy(out, buf, n);
	return true;
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

/* ---- checks ---------------------------------------------------------- */

static bool trust_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A DNS name (letters, digits, '-'; labels of 1..63) or an IP literal. */
static bool trust_host_ok(const char *h)
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
			if (label == 0 || label > TRUST_LABEL_MAX)
				return false;
			if (!*p)
				return true;
			label = 0;
		} else if (trust_is_alnum(*p) || *p == '-') {
			label++;
		} else {
			return false;
		}
	}
}

static int trust_check_head(const struct trust_bundle *b, char *err,
			    size_t errlen)
{
	char t1[21], t2[21];

	if (b->format != TRUST_FORMAT)
		return trust_err(err, errlen, -EINVAL,
				 "format: %u is not supported (this reads %d)",
				 b->format, TRUST_FORMAT);
	if (b->version < 1 || b->version > (uint64_t)TRUST_VERSION_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "version: must be from 1 to %" PRId64,
				 TRUST_VERSION_MAX);
	if (b->issued_at < 0 || b->issued_at > TRUST_TIME_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "issued-at: out of range");
	if (b->expires < 0 || b->expires > TRUST_TIME_MAX)
		return trust_err(err, errlen, -EINVAL, "expires: out of range");
	if (b->expires <= b->issued_at) {
		trust_time_format(b->expires, t1);
		trust_time_format(b->issued_at, t2);
		return trust_err(err, errlen, -EINVAL,
				 "expires: %s is not after issued-at %s", t1,
				 t2);
	}
	return 0;
}

static int trust_check_hosts(const struct trust_bundle *b, char *err,
			     size_t errlen)
{
	if (b->nhosts < 1 || b->nhosts > TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "hosts: %zu given; 1 to %d are allowed",
				 b->nhosts, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->nhosts; i++) {
		if (!b->hosts[i] || !trust_host_ok(b->hosts[i]))
			return trust_err(
			    err, errlen, -EINVAL,
			    "hosts[%zu]: \"%.64s\" is not a DNS name "
			    "or an IP address",
			    i, b->hosts[i] ? b->hosts[i] : "");
	}
	return 0;
}

static int trust_check_certs(STACK_OF(X509) * sk, const char *name, int min,
			     char *err, size_t errlen)
{
	int n = sk ? sk_X509_num(sk) : 0;

	if (n < min || n > TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "%s: %d given; %d to %d are allowed", name, n,
				 min, TRUST_ITEMS_MAX);
	for (int i = 0; i < n; i++) {
		if (!X509_check_ca(sk_X509_value(sk, i)))
			return trust_err(err, errlen, -EINVAL,
					 "%s[%d]: not a CA certificate", name,
					 i);
	}
	return 0;
}

static int trust_check_pins(const struct trust_bundle *b, char *err,
			    size_t errlen)
{
	if (b->npins < 2 || b->npins > TRUST_ITEMS_MAX)
		return trust_err(
		    err, errlen, -EINVAL,
		    "pins: %zu given; 2 to %d are allowed (a primary "
		    "and at least one backup)",
		    b->npins, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->npins; i++) {
		if (!trust_b64_fixed(b->pins[i], NULL, 32))
			return trust_err(err, errlen, -EINVAL,
					 "pins[%zu]: not base64 of 32 bytes",
					 i);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(b->pins[i], b->pins[j]) == 0)
				return trust_err(
				    err, errlen, -EINVAL,
				    "pins[%zu]: the same as pins[%zu]", i, j);
		}
	}
	return 0;
}

static int trust_check_signers(const struct trust_bundle *b, char *err,
			       size_t errlen)
{
	if (b->nsigners < 1 || b->nsigners > TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "signers: %zu given; 1 to %d are allowed",
				 b->nsigners, TRUST_ITEMS_MAX);
	for (size_t i = 0; i < b->nsigners; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!memcmp(b->signers[i], b->signers[j],
				    TRUST_KEY_LEN))
				return trust_err(
				    err, errlen, -EINVAL,
				    "signers[%zu]: the same key as "
				    "signers[%zu]",
				    i, j);
		}
	}
	if (b->threshold < 1 || b->threshold > b->nsigners)
		return trust_err(
		    err, errlen, -EINVAL,
		    "threshold: %u; must be from 1 to the number of "
		    "signers (%zu)",
		    b->threshold, b->nsigners);
	if (b->nsigs > TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "signatures: %zu given; at most %d", b->nsigs,
				 TRUST_ITEMS_MAX);
	return 0;
}

int trust_bundle_check(const struct trust_bundle *b, char *err, size_t errlen)
{
	int rc;

	if ((rc = trust_check_head(b, err, errlen)) < 0 ||
	    (rc = trust_check_hosts(b, err, errlen)) < 0 ||
	    (rc = trust_check_certs(b->anchors, "anchors", 1, err, errlen)) <
		0 ||
	    (rc = trust_check_certs(b->recovery, "recovery", 0, err, errlen)) <
		0 ||
	    (rc = trust_check_pins(b, err, errlen)) < 0 ||
	    (rc = trust_check_signers(b, err, errlen)) < 0)
		return rc;
	return 0;
}

/* ---- reading JSON ---------------------------------------------------- */

static int trust_get_int(json_t *v, const char *name, json_int_t min,
			 json_int_t max, json_int_t *ret, char *err,
			 size_t errlen)
{
	if (!json_is_integer(v))
		return trust_err(err, errlen, -EINVAL, "%s: not an integer",
				 name);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return trust_err(err, errlen, -EINVAL,
				 "%s: must be from %lld to %lld", name,
				 (long long)min, (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

static int trust_get_time(json_t *v, const char *name, int64_t *ret, char *err,
			  size_t errlen)
{
	if (!json_is_string(v) || trust_time_parse(json_string_value(v), ret))
		return trust_err(err, errlen, -EINVAL,
				 "%s: not a time like \"2026-11-23T18:00:00Z\"",
				 name);
	return 0;
}

static int trust_get_array(json_t *v, const char *name, char *err,
			   size_t errlen)
{
	if (!json_is_array(v))
		return trust_err(err, errlen, -EINVAL, "%s: not an array",
				 name);
	if (json_array_size(v) > TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -EINVAL,
				 "%s: %zu items; at most %d are allowed", name,
				 json_array_size(v), TRUST_ITEMS_MAX);
	return 0;
}

/* Item i of array a as a string, or NULL with err. */
static const char *trust_get_item(json_t *a, size_t i, const char *name,
				  char *err, size_t errlen)
{
	json_t *v = json_array_get(a, i);

	if (!json_is_string(v)) {
		trust_err(err, errlen, -EINVAL, "%s[%zu]: not a string", name,
			  i);
		return NULL;
	}
	return json_string_value(v);
}

static int trust_parse_format(struct trust_bundle *b, json_t *v, char *err,
			      size_t errlen)
{
	json_int_t n = 0;
	int rc = trust_get_int(v, "format", 0, UINT_MAX, &n, err, errlen);

	b->format = (unsigned)n;
	return rc;
}

static int trust_parse_version(struct trust_bundle *b, json_t *v, char *err,
			       size_t errlen)
{
	json_int_t n = 0;
	int rc =
	    trust_get_int(v, "version", 1, TRUST_VERSION_MAX, &n, err, errlen);

	b->version = (uint64_t)n;
	return rc;
}

static int trust_parse_issued(struct trust_bundle *b, json_t *v, char *err,
			      size_t errlen)
{
	return trust_get_time(v, "issued-at", &b->issued_at, err, errlen);
}

static int trust_parse_expires(struct trust_bundle *b, json_t *v, char *err,
			       size_t errlen)
{
	return trust_get_time(v, "expires", &b->expires, err, errlen);
}

static int trust_parse_hosts(struct trust_bundle *b, json_t *v, char *err,
			     size_t errlen)
{
	const char *s;
	int rc = trust_get_array(v, "hosts", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = trust_get_item(v, i, "hosts", err, errlen)))
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
static int trust_cert_from_pem(const char *pem, size_t len, X509 **ret)
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

static int trust_parse_certs(STACK_OF(X509) * sk, json_t *v, const char *name,
			     char *err, size_t errlen)
{
	const char *s;
	X509 *x;
	int rc = trust_get_array(v, name, err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = trust_get_item(v, i, name, err, errlen)))
			return -EINVAL;
		rc = trust_cert_from_pem(
		    s, json_string_length(json_array_get(v, i)), &x);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return trust_err(
			    err, errlen, -EINVAL, "%s[%zu]: %s", name, i,
			    rc == -E2BIG ? "more than one PEM block"
					 : "not a PEM certificate");
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return rc;
}

static int trust_parse_anchors(struct trust_bundle *b, json_t *v, char *err,
			       size_t errlen)
{
	return trust_parse_certs(b->anchors, v, "anchors", err, errlen);
}

static int trust_parse_recovery(struct trust_bundle *b, json_t *v, char *err,
				size_t errlen)
{
	return trust_parse_certs(b->recovery, v, "recovery", err, errlen);
}

static int trust_parse_pins(struct trust_bundle *b, json_t *v, char *err,
			    size_t errlen)
{
	const char *s;
	int rc = trust_get_array(v, "pins", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = trust_get_item(v, i, "pins", err, errlen)))
			return -EINVAL;
		if (!trust_b64_fixed(s, NULL, 32))
			return trust_err(err, errlen, -EINVAL,
					 "pins[%zu]: not base64 of 32 bytes",
					 i);
		strcpy(b->pins[b->npins++], s);
	}
	return rc;
}

static int trust_parse_signers(struct trust_bundle *b, json_t *v, char *err,
			       size_t errlen)
{
	const char *s;
	int rc = trust_get_array(v, "signers", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		if (!(s = trust_get_item(v, i, "signers", err, errlen)))
			return -EINVAL;
		if (!trust_b64_fixed(s, b->signers[i], TRUST_KEY_LEN))
			return trust_err(
			    err, errlen, -EINVAL,
			    "signers[%zu]: not base64 of a 32-byte "
			    "Ed25519 public key",
			    i);
		b->nsigners++;
	}
	return rc;
}

static int trust_parse_threshold(struct trust_bundle *b, json_t *v, char *err,
				 size_t errlen)
{
	json_int_t n = 0;
	int rc =
	    trust_get_int(v, "threshold", 1, TRUST_ITEMS_MAX, &n, err, errlen);

	b->threshold = (unsigned)n;
	return rc;
}

static int trust_parse_sig(struct trust_sig *sig, json_t *o, size_t i,
			   char *err, size_t errlen)
{
	const char *k, *key, *s;
	json_t *v;

	if (!json_is_object(o))
		return trust_err(err, errlen, -EINVAL,
				 "signatures[%zu]: not an object", i);
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "key") && strcmp(k, "sig"))
			return trust_err(
			    err, errlen, -EINVAL,
			    "signatures[%zu]: unknown key \"%.32s\"", i, k);
	}
	key = json_string_value(json_object_get(o, "key"));
	s = json_string_value(json_object_get(o, "sig"));
	if (!key || !trust_b64_fixed(key, sig->key, TRUST_KEY_LEN))
		return trust_err(err, errlen, -EINVAL,
				 "signatures[%zu].key: not base64 of a 32-byte "
				 "Ed25519 public key",
				 i);
	if (!s || !trust_b64_fixed(s, sig->sig, TRUST_SIG_LEN))
		return trust_err(err, errlen, -EINVAL,
				 "signatures[%zu].sig: not base64 of a 64-byte "
				 "Ed25519 signature",
				 i);
	return 0;
}

static int trust_parse_signatures(struct trust_bundle *b, json_t *v, char *err,
				  size_t errlen)
{
	int rc = trust_get_array(v, "signatures", err, errlen);

	for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
		rc = trust_parse_sig(&b->sigs[i], json_array_get(v, i), i, err,
				     errlen);
		if (rc == 0)
			b->nsigs++;
	}
	return rc;
}

typedef int (*trust_field_fn)(struct trust_bundle *b, json_t *v, char *err,
			      size_t errlen);

/* The keys of a bundle, in the order a dump writes them. */
static const struct trust_field {
	const char *name;
	trust_field_fn parse;
	bool required;
} trust_fields[] = {
	{ "format", trust_parse_format, true },
	{ "version", trust_parse_version, true },
	{ "issued-at", trust_parse_issued, true },
	{ "expires", trust_parse_expires, true },
	{ "hosts", trust_parse_hosts, true },
	{ "anchors", trust_parse_anchors, true },
	{ "recovery", trust_parse_recovery, false },
	{ "pins", trust_parse_pins, true },
	{ "signers", trust_parse_signers, true },
	{ "threshold", trust_parse_threshold, true },
	{ "signatures", trust_parse_signatures, false },
};

#define TRUST_NFIELDS (sizeof(trust_fields) / sizeof(trust_fields[0]))

static int trust_from_json(struct trust_bundle *b, json_t *root, char *err,
			   size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return trust_err(err, errlen, -EINVAL, "not a JSON object");
	json_object_foreach(root, key, v)
	{
		for (i = 0; i < TRUST_NFIELDS; i++) {
			if (strcmp(key, trust_fields[i].name) == 0)
				break;
		}
		if (i == TRUST_NFIELDS)
			return trust_err(err, errlen, -EINVAL,
					 "unknown key \"%.32s\"", key);
	}
	for (i = 0; i < TRUST_NFIELDS; i++) {
		v = json_object_get(root, trust_fields[i].name);
		if (!v && trust_fields[i].required)
			return trust_err(err, errlen, -EINVAL,
					 "missing key \"%s\"",
					 trust_fields[i].name);
		if (v && (rc = trust_fields[i].parse(b, v, err, errlen)) < 0)
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
		return trust_err(err, errlen, -EFBIG,
				 "bundle is %zu bytes; at most %d", len,
				 TRUST_BUNDLE_MAX);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return trust_err(err, errlen, -EINVAL,
				 "not JSON: line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	b = trust_bundle_new();
	if (!b) {
		json_decref(root);
		return trust_err(err, errlen, -ENOMEM, "out of memory");
	}
	rc = trust_from_json(b, root, err, errlen);
	json_decref(root);
	if (rc == -ENOMEM)
		trust_err(err, errlen, rc, "out of memory");
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
	char why[TRUST_ERR_MAX];
	char *buf;
	size_t len;
	int rc;

	rc = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);
	if (rc == -EFBIG)
		return trust_err(err, errlen, rc,
				 "%s: bundle is larger than %d "
				 "bytes",
				 path, TRUST_BUNDLE_MAX);
	if (rc < 0)
		return trust_err(err, errlen, rc, "%s: %s", path,
				 strerror(-rc));
	rc = trust_bundle_parse(buf, len, ret, why, sizeof(why));
	free(buf);
	if (rc < 0)
		return trust_err(err, errlen, rc, "%s: %s", path, why);
	return 0;
}

/* ---- canonical bytes ------------------------------------------------- */

static int trust_tbs_certs(FILE *f, const char *tag, STACK_OF(X509) * sk)
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
		s = trust_b64_alloc(der, (size_t)n);
		OPENSSL_free(der);
		if (!s)
			return -ENOMEM;
		fprintf(f, "%s %s\n", tag, s);
		free(s);
	}
	return 0;
}

static int trust_tbs_write(FILE *f, const struct trust_bundle *b)
{
	char key[TRUST_PIN_LEN + 1];
	int rc;

	fprintf(f, "zwgate-trust-bundle %u\n", b->format);
	fprintf(f, "version %" PRIu64 "\n", b->version);
	fprintf(f, "issued-at %" PRId64 "\n", b->issued_at);
	fprintf(f, "expires %" PRId64 "\n", b->expires);
	for (size_t i = 0; i < b->nhosts; i++)
		fprintf(f, "host %s\n", b->hosts[i]);
	if ((rc = trust_tbs_certs(f, "anchor", b->anchors)) < 0 ||
	    (rc = trust_tbs_certs(f, "recovery", b->recovery)) < 0)
		return rc;
	for (size_t i = 0; i < b->npins; i++)
		fprintf(f, "pin %s\n", b->pins[i]);
	for (size_t i = 0; i < b->nsigners; i++) {
		trust_b64_encode(b->signers[i], TRUST_KEY_LEN, key);
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
	rc = trust_tbs_write(f, b);
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

/* ---- what a bundle allows -------------------------------------------- */

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
	char t[TRUST_TIME_LEN + 1];
	unsigned n;

	n = trust_bundle_count_signers(cand, trusted->signers,
				       trusted->nsigners);
	if (n < need)
		return trust_err(why, whylen, -EPERM,
				 "signed by %u distinct trusted key%s; %u %s "
				 "required",
				 n, n == 1 ? "" : "s", need,
				 need == 1 ? "is" : "are");
	if (cand->version <= floor)
		return trust_err(why, whylen, -ESTALE,
				 "version %" PRIu64 " is not above the floor "
				 "%" PRIu64,
				 cand->version, floor);
	if (cand->expires <= now) {
		trust_time_format(cand->expires, t);
		return trust_err(why, whylen, -ETIME, "expired on %s", t);
	}
	if (trust_bundle_same_signers(trusted, cand))
		return 0;
	need = cand->threshold ? cand->threshold : 1;
	n = trust_bundle_count_signers(cand, cand->signers, cand->nsigners);
	if (n < need)
		return trust_err(
		    why, whylen, -EPERM,
		    "changes the signer keys but is signed by %u of "
		    "its new keys; %u %s required",
		    n, need, need == 1 ? "is" : "are");
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
