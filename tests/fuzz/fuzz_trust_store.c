/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trust_store.c: <state-dir>/trust as whoever can write it may leave
 * it (src/core/trust.h, the store): the state file, the two slots and a kept
 * bundle, written into a fresh directory and opened with
 * trust_store_open against a factory bundle the harness makes at its
 * start (two Ed25519 signer keys and a CA, in memory only).
 *
 * The input is the first byte (flags), then the files, split by the line
 * "--8<--": state, slot-a.bundle, slot-b.bundle, link-<v>.bundle (v the
 * version the part holds when it parses, else 2).  Flags:
 *   bit 0, 1, 2   sign slot a, slot b, the link again with the factory's
 *                 keys when it parses (so that verifying reaches past the
 *                 signatures: versions, floors, key changes)
 *   bit 3         write no state file
 *   bit 4         ... with the factory's signer keys and threshold first
 *
 * Properties: open succeeds or says why; what it trusts (the active and
 * the pending bundle) is the factory bundle or signed by a factory key
 * (no input can sign); the floor is never above every version the
 * input holds, nor below the active bundle's, and the pending bundle is
 * above it; and a second open finds the same store.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "fuzz.h"
#include "trust.h"

#define FUZZ_SEP   "\n--8<--\n"
#define FUZZ_PARTS 4
#define FUZZ_DAY   86400

enum {
	F_SIGN_A = 1 << 0,
	F_SIGN_B = 1 << 1,
	F_SIGN_LINK = 1 << 2,
	F_NO_STATE = 1 << 3,
	F_OUR_SIGNERS = 1 << 4,
};

static struct {
	EVP_PKEY *signer[2];
	char *factory; /* the factory bundle as text */
	size_t factory_len;
	unsigned char pub[2][TRUST_KEY_LEN];
} fx;

static X509 *make_ca(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	fuzz_check(x, "X509_new");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -FUZZ_DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * FUZZ_DAY);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"Fuzz root", -1, -1,
				   0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				"critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	fuzz_check(X509_sign(x, key, EVP_sha256()) > 0, "X509_sign");
	return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct trust_bundle *b = trust_bundle_new();
	int64_t now = (int64_t)time(NULL);
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	char err[256];
	X509 *ca;

	fuzz_check(b && ca_key, "setup");
	ca = make_ca(ca_key);
	b->version = 1;
	b->issued_at = now - FUZZ_DAY;
	b->expires = now + 365 * FUZZ_DAY;
	b->hosts[b->nhosts++] = strdup("broker.example.com");
	sk_X509_push(b->anchors, ca);
	trust_pin_of_cert(ca, b->pins[b->npins++]);
	strcpy(b->pins[b->npins++],
	       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	for (int i = 0; i < 2; i++) {
		fx.signer[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		fuzz_check(fx.signer[i] && trust_key_raw_public(fx.signer[i],
								fx.pub[i]) == 0,
			   "key generation");
		memcpy(b->signers[b->nsigners++], fx.pub[i], TRUST_KEY_LEN);
	}
	b->threshold = 2;
	fuzz_check(trust_bundle_check(b, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 2; i++)
		fuzz_check(
		    trust_bundle_sign(b, fx.signer[i], err, sizeof(err)) == 0,
		    "sign: %s", err);
	fuzz_check(trust_bundle_dump(b, &fx.factory, &fx.factory_len) == 0,
		   "dump");
	trust_bundle_free(b);
	EVP_PKEY_free(ca_key);
	return 0;
}

static struct trust_bundle *factory(void)
{
	struct trust_bundle *b = NULL;

	fuzz_check(
	    trust_bundle_parse(fx.factory, fx.factory_len, &b, NULL, 0) == 0,
	    "the factory bundle");
	return b;
}

/*
 * The part as a file: signed again with the factory's keys when asked
 * and it parses.  Its version, or 0 when it does not parse.
 */
static uint64_t write_part(const char *dir, const char *name, const uint8_t *p,
			   size_t n, bool sign, bool ours)
{
	char path[PATH_MAX], *text = NULL, err[256];
	struct trust_bundle *b = NULL;
	uint64_t v = 0;
	size_t len;

	if (trust_bundle_parse(p, n, &b, NULL, 0) == 0) {
		v = b->version;
		if (ours) {
			memcpy(b->signers, fx.pub, sizeof(fx.pub));
			b->nsigners = 2;
			b->threshold = 2;
		}
		for (int i = 0; sign && i < 2; i++)
			if (trust_bundle_sign(b, fx.signer[i], err,
					      sizeof(err)) < 0)
				sign = false;
		if (sign && trust_bundle_dump(b, &text, &len) == 0) {
			p = (const uint8_t *)text;
			n = len;
		}
	}
	trust_bundle_free(b);
	if (name)
		fuzz_write(fuzz_path(path, dir, name), p, n, 0600);
	free(text);
	return v;
}

/* Trusted: the factory bundle itself, or signed by one of its keys. */
static void check_trusted(const struct trust_store_info *i,
			  const struct trust_bundle *b, const char *what)
{
	if (!b || b == i->factory)
		return;
	fuzz_check(trust_bundle_count_signers(b, fx.pub, 2) >= 1,
		   "the %s bundle (version %llu) is signed by no factory key",
		   what, (unsigned long long)b->version);
}

struct seen {
	uint64_t active, floor, pending;
	bool ok;
};

static struct seen open_store(const char *dir, uint64_t top)
{
	struct trust_store *s = NULL;
	struct trust_store_info i;
	struct seen r = { 0 };
	char err[512] = "";
	int rc = trust_store_open(dir, factory(), &s, err, sizeof(err));

	if (rc < 0) {
		fuzz_check(err[0], "open: %d without a reason", rc);
		return r;
	}
	trust_store_info(s, &i);
	check_trusted(&i, i.active, "active");
	check_trusted(&i, i.pending, "pending");
	fuzz_check(i.floor >= i.active->version, "floor %llu below active %llu",
		   (unsigned long long)i.floor,
		   (unsigned long long)i.active->version);
	fuzz_check(i.floor <= top,
		   "floor %llu above every version given (%llu)",
		   (unsigned long long)i.floor, (unsigned long long)top);
	fuzz_check(!i.pending || i.pending->version > i.floor,
		   "pending not above the floor");
	r = (struct seen){ .active = i.active->version,
			   .floor = i.floor,
			   .pending = i.pending ? i.pending->version : 0,
			   .ok = true };
	trust_store_free(s);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[FUZZ_PARTS] = { "state", "slot-a.bundle",
						       "slot-b.bundle", NULL };
	const uint8_t *part[FUZZ_PARTS] = { 0 }, *p, *end = data + size, *sep;
	size_t len[FUZZ_PARTS] = { 0 }, n = 0;
	char dir[PATH_MAX], link[64];
	uint64_t top = 1, v;
	struct seen first, again;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0];
	for (p = data + 1; n < FUZZ_PARTS && p <= end; n++) {
		sep = memmem(p, (size_t)(end - p), FUZZ_SEP, strlen(FUZZ_SEP));
		part[n] = p;
		len[n] = (size_t)((sep ? sep : end) - p);
		p = sep ? sep + strlen(FUZZ_SEP) : end + 1;
	}
	fuzz_path(dir, fuzz_dir(), "trust");
	fuzz_rm_rf(dir);
	fuzz_mkdir(dir);
	if (n > 0 && !(flags & F_NO_STATE))
		fuzz_write(fuzz_path(link, dir, "state"), part[0], len[0],
			   0600);
	for (size_t i = 1; i < n; i++) {
		const char *name = names[i];

		if (i == 3) {
			v = write_part(dir, NULL, part[i], len[i], false,
				       false);
			snprintf(link, sizeof(link), "link-%llu.bundle",
				 (unsigned long long)(v ? v : 2));
			name = link;
		}
		v = write_part(dir, name, part[i], len[i],
			       flags & (1u << (i - 1)), flags & F_OUR_SIGNERS);
		if (v > top)
			top = v;
	}
	first = open_store(dir, top);
	if (first.ok) {
		again = open_store(dir, top);
		fuzz_check(again.ok,
			   "the store opened once does not open again");
		fuzz_check(again.active == first.active &&
			       again.floor == first.floor &&
			       again.pending == first.pending,
			   "opened again: active %llu floor %llu pending %llu, "
			   "was %llu %llu %llu",
			   (unsigned long long)again.active,
			   (unsigned long long)again.floor,
			   (unsigned long long)again.pending,
			   (unsigned long long)first.active,
			   (unsigned long long)first.floor,
			   (unsigned long long)first.pending);
	}
	fuzz_rm_rf(dir);
	return 0;
}
