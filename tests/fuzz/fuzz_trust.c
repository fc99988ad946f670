/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trust.c: a trust bundle as it arrives on P/trust/bundle/set or
 * through zwgatectl trust import, parsed, then verified against a
 * trusted bundle the harness makes at its start: two Ed25519 signer
 * keys and a CA with a leaf for broker.example.com, all in memory and
 * gone with the process (no key is ever written or committed).
 *
 * For a bundle that parses: the acceptance rules as received (its own
 * signatures); again after the harness signed it with the trusted keys,
 * as is and with the trusted signer set, which takes it past the
 * signature rule to the version, expiry and key rotation rules; the
 * report of it; and a TLS chain decision with it as the policy (with
 * the harness's CA added, so that its pins are matched against a chain
 * that verifies).  Properties: a bundle written out by trust_bundle_dump
 * parses back to the same signed bytes, and every refusal says why.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "fuzz.h"
#include "trust.h"

#define FUZZ_HOST  "broker.example.com"
#define FUZZ_FLOOR 4 /* the trusted bundle is version 5 */
#define FUZZ_DAY   86400

static struct {
	EVP_PKEY *signer[2];
	EVP_PKEY *ca_key;
	X509 *ca, *leaf;
	struct trust_bundle *trusted;
	int64_t now;
} fx;

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key, const char *ext_bc,
		       const char *ext_san)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	fuzz_check(x, "X509_new");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -FUZZ_DAY);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * FUZZ_DAY);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ext_bc);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ext_san) {
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
					ext_san);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	fuzz_check(X509_sign(x, issuer_key, EVP_sha256()) > 0, "X509_sign");
	return x;
}

static void make_trusted(void)
{
	struct trust_bundle *b = trust_bundle_new();
	char err[256];

	fuzz_check(b, "trust_bundle_new");
	b->version = FUZZ_FLOOR + 1;
	b->issued_at = fx.now - FUZZ_DAY;
	b->expires = fx.now + 365 * FUZZ_DAY;
	b->hosts[b->nhosts++] = strdup(FUZZ_HOST);
	X509_up_ref(fx.ca);
	sk_X509_push(b->anchors, fx.ca);
	trust_pin_of_cert(fx.ca, b->pins[b->npins++]);
	/* The backup pin: base64 of 32 zero bytes, a key not in use. */
	strcpy(b->pins[b->npins++],
	       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	for (int i = 0; i < 2; i++)
		trust_key_raw_public(fx.signer[i], b->signers[b->nsigners++]);
	b->threshold = 2;
	fuzz_check(trust_bundle_check(b, err, sizeof(err)) == 0, "%s", err);
	fx.trusted = b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *leaf_key;

	fx.now = (int64_t)time(NULL);
	for (int i = 0; i < 2; i++)
		fx.signer[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	fx.ca_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	fuzz_check(fx.signer[0] && fx.signer[1] && fx.ca_key && leaf_key,
		   "key generation");
	fx.ca = make_cert("Fuzz root", fx.ca_key, NULL, fx.ca_key,
			  "critical,CA:TRUE", NULL);
	fx.leaf = make_cert(FUZZ_HOST, leaf_key, fx.ca, fx.ca_key, "CA:FALSE",
			    "DNS:" FUZZ_HOST);
	EVP_PKEY_free(leaf_key);
	make_trusted();
	return 0;
}

static char *tbs_of(const struct trust_bundle *b)
{
	char *tbs = NULL;

	fuzz_check(trust_bundle_tbs(b, &tbs, NULL) == 0, "trust_bundle_tbs");
	return tbs;
}

/* Written out and read back, a bundle signs the same bytes. */
static void check_dump(const struct trust_bundle *b)
{
	struct trust_bundle *again = NULL;
	char *text, *t1, *t2, err[256];
	size_t len;
	int r;

	fuzz_check(trust_bundle_dump(b, &text, &len) == 0, "dump");
	r = trust_bundle_parse(text, len, &again, err, sizeof(err));
	fuzz_check(r == 0, "a dumped bundle does not parse: %s", err);
	t1 = tbs_of(b);
	t2 = tbs_of(again);
	fuzz_check(strcmp(t1, t2) == 0, "dump changed the signed bytes");
	free(t1);
	free(t2);
	free(text);
	trust_bundle_free(again);
}

static void check_accept(const struct trust_bundle *b)
{
	char why[TRUST_REASON_MAX] = "";
	int r = trust_bundle_accept(fx.trusted, FUZZ_FLOOR, b, fx.now, why,
				    sizeof(why));

	fuzz_check(r == 0 || r == -EPERM || r == -ESTALE || r == -ETIME,
		   "accept: %d", r);
	fuzz_check(r == 0 || why[0], "a refusal without a reason");
}

/* Signed by the trusted keys, with its own signers or the trusted ones. */
static void check_resigned(struct trust_bundle *b, bool trusted_signers)
{
	char err[256];

	if (trusted_signers) {
		memcpy(b->signers, fx.trusted->signers, sizeof(b->signers));
		b->nsigners = fx.trusted->nsigners;
		b->threshold = fx.trusted->threshold;
	}
	b->nsigs = 0;
	for (int i = 0; i < 2; i++)
		fuzz_check(
		    trust_bundle_sign(b, fx.signer[i], err, sizeof(err)) == 0,
		    "sign: %s", err);
	fuzz_check(trust_bundle_count_signers(b, fx.trusted->signers, 2) == 2,
		   "our own signatures do not count");
	check_accept(b);
}

/* The leaf's chain decided with b as the policy, the CA among anchors. */
static void check_verify(struct trust_bundle *b, bool synced)
{
	struct trust_policy p = { .bundle = b,
				  .recovery = b->recovery,
				  .now = fx.now,
				  .floor = fx.now - FUZZ_DAY,
				  .clock_synced = synced };
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	struct trust_verdict v;

	fuzz_check(store && ctx, "out of memory");
	if (sk_X509_num(b->anchors) < TRUST_ITEMS_MAX && X509_up_ref(fx.ca) &&
	    !sk_X509_push(b->anchors, fx.ca))
		X509_free(fx.ca);
	fuzz_check(X509_STORE_CTX_init(ctx, store, fx.leaf, NULL) == 1,
		   "X509_STORE_CTX_init");
	X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), FUZZ_HOST,
				    0);
	if (trust_verify_chain(ctx, &p, &v))
		fuzz_check(
		    v.ok && (v.pin[0] || v.mode == TRUST_MODE_BUNDLE_EXPIRED),
		    "accepted without a pin");
	else
		fuzz_check(!v.ok && v.reason[0], "refused without a reason");
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trust_bundle *b = NULL;
	char err[512] = "";
	json_t *info;
	int r = trust_bundle_parse(data, size, &b, err, sizeof(err));

	fuzz_check(r == 0 || r == -EINVAL || r == -EFBIG || r == -ENOMEM,
		   "parse: %d", r);
	if (r < 0) {
		fuzz_check(err[0], "a refused bundle without a reason");
		return 0;
	}
	fuzz_check(trust_bundle_check(b, err, sizeof(err)) == 0,
		   "parsed but unchecked: %s", err);
	check_accept(b);
	check_dump(b);
	info = trust_bundle_info_json(b, fx.now);
	fuzz_check(info, "no report");
	json_decref(info);
	trust_bundle_covers(b, FUZZ_HOST);
	check_resigned(b, false);
	check_resigned(b, true);
	check_verify(b, size % 2);
	trust_bundle_free(b);
	return 0;
}
