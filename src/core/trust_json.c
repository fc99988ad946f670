/* SPDX-License-Identifier: MIT */
/*
 * trust_json.c: a bundle written as JSON (trust.h): the bundle file
 * itself (trust_bundle_dump, which trust_bundle_parse reads back as the
 * same bundle), the report of a bundle and its certificates
 * (trust_*_info_json), and the RFC 3339 time stamps both use, as does
 * the parser.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "trust_int.h"
#include "zwtime.h"

#define TRUST_DAY 86400

/* ---- time ------------------------------------------------------------ */

static int trust_digits(const char *s, int n)
{
	int v = 0;

	while (n--)
		v = v * 10 + (*s++ - '0');
	return v;
}

int trust_time_parse(const char *s, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm = { 0 };
	zwtime_t t;

	if (!s || strlen(s) != TRUST_TIME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < TRUST_TIME_LEN; i++) {
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9'
				    : s[i] != shape[i])
			return -EINVAL;
	}
	tm.tm_year = trust_digits(s, 4) - 1900;
	tm.tm_mon = trust_digits(s + 5, 2) - 1;
	tm.tm_mday = trust_digits(s + 8, 2);
	tm.tm_hour = trust_digits(s + 11, 2);
	tm.tm_min = trust_digits(s + 14, 2);
	tm.tm_sec = trust_digits(s + 17, 2);
	/* 64 bits, not timegm(): 2040 is a date on a 32-bit time_t too;
	 * 2026-02-30 and 24:00:00 do not exist and are refused. */
	if (tm.tm_year < 70 || zwtime_from_utc(&tm, &t) < 0)
		return -EINVAL;
	*ret = t;
	return 0;
}

void trust_time_format(int64_t t, char out[21])
{
	if (t < 0)
		t = 0;
	if (t > TRUST_TIME_MAX)
		t = TRUST_TIME_MAX;
	if (zwtime_format_utc(t, out) < 0)
		strcpy(out, "1970-01-01T00:00:00Z");
}

/* Whole days from now to t, rounded down (so -1 on the day after). */
static int64_t trust_days_left(int64_t t, int64_t now)
{
	int64_t d = t - now;

	return d >= 0 ? d / TRUST_DAY : -((-d + TRUST_DAY - 1) / TRUST_DAY);
}

/* ---- the bundle as JSON ---------------------------------------------- */

static json_t *trust_json_pem(X509 *x)
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

static json_t *trust_json_certs(STACK_OF(X509) * sk, bool pem, int64_t now)
{
	json_t *a = json_array();
	int bad = !a;

	for (int i = 0; !bad && sk && i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		bad |= json_array_append_new(
		    a, pem ? trust_json_pem(x) : trust_cert_info_json(x, now));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *trust_json_keys(const unsigned char (*keys)[TRUST_KEY_LEN],
			       size_t n)
{
	char s[TRUST_PIN_LEN + 1];
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < n; i++) {
		trust_b64_encode(keys[i], TRUST_KEY_LEN, s);
		bad |= json_array_append_new(a, json_string(s));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *trust_json_strings(char *const *v, size_t n)
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

static json_t *trust_json_pins(const struct trust_bundle *b)
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

static json_t *trust_json_sigs(const struct trust_bundle *b)
{
	char k[TRUST_PIN_LEN + 1], s[TRUST_B64_MAX + 1];
	json_t *a = json_array();
	int bad = !a;

	for (size_t i = 0; !bad && i < b->nsigs; i++) {
		trust_b64_encode(b->sigs[i].key, TRUST_KEY_LEN, k);
		trust_b64_encode(b->sigs[i].sig, TRUST_SIG_LEN, s);
		bad |= json_array_append_new(
		    a, json_pack("{s:s, s:s}", "key", k, "sig", s));
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *trust_to_json(const struct trust_bundle *b)
{
	char t[TRUST_TIME_LEN + 1];
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
				   trust_json_strings(b->hosts, b->nhosts));
	bad |= json_object_set_new(o, "anchors",
				   trust_json_certs(b->anchors, true, 0));
	if (b->recovery && sk_X509_num(b->recovery) > 0)
		bad |= json_object_set_new(
		    o, "recovery", trust_json_certs(b->recovery, true, 0));
	bad |= json_object_set_new(o, "pins", trust_json_pins(b));
	bad |= json_object_set_new(o, "signers",
				   trust_json_keys(b->signers, b->nsigners));
	bad |= json_object_set_new(o, "threshold", json_integer(b->threshold));
	bad |= json_object_set_new(o, "signatures", trust_json_sigs(b));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int trust_bundle_dump(const struct trust_bundle *b, char **ret, size_t *retlen)
{
	json_t *o = trust_to_json(b);
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

/* ---- information ----------------------------------------------------- */

static json_t *trust_json_subject(X509 *x)
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

static const char *trust_curve_name(const char *group)
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
static void trust_key_kind(X509 *x, char *out, size_t n)
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
			snprintf(out, n, "EC %s", trust_curve_name(group));
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

/* ASN1_TIME_to_tm and zwtime_from_utc, not timegm(): a notAfter in
 * 2049 is -1 through a 32-bit time_t. */
static int64_t trust_not_after(X509 *x)
{
	struct tm tm;
	zwtime_t t;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return zwtime_from_utc(&tm, &t) < 0 ? 0 : t;
}

json_t *trust_cert_info_json(X509 *x, int64_t now)
{
	char kind[80], t[TRUST_TIME_LEN + 1], pin[TRUST_PIN_LEN + 1];
	int64_t na = trust_not_after(x);
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	if (trust_pin_of_cert(x, pin) < 0)
		pin[0] = '\0';
	trust_key_kind(x, kind, sizeof(kind));
	trust_time_format(na, t);
	bad |= json_object_set_new(o, "subject", trust_json_subject(x));
	bad |= json_object_set_new(o, "key", json_string(kind));
	bad |= json_object_set_new(o, "not_after", json_string(t));
	bad |= json_object_set_new(o, "days_left",
				   json_integer(trust_days_left(na, now)));
	bad |= json_object_set_new(o, "pin", json_string(pin));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *trust_bundle_info_json(const struct trust_bundle *b, int64_t now)
{
	char t[TRUST_TIME_LEN + 1];
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
	bad |= json_object_set_new(
	    o, "days_left", json_integer(trust_days_left(b->expires, now)));
	bad |= json_object_set_new(o, "hosts",
				   trust_json_strings(b->hosts, b->nhosts));
	bad |= json_object_set_new(o, "threshold", json_integer(b->threshold));
	bad |= json_object_set_new(o, "signers",
				   trust_json_keys(b->signers, b->nsigners));
	bad |= json_object_set_new(o, "anchors",
				   trust_json_certs(b->anchors, false, now));
	bad |= json_object_set_new(o, "recovery",
				   trust_json_certs(b->recovery, false, now));
	bad |= json_object_set_new(o, "pins", trust_json_pins(b));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
