/* SPDX-License-Identifier: MIT */
/*
 * test_trust_verify.c: the chain decision of one handshake.  A throw-away
 * PKI is made at run time with the openssl command line, and the pins the
 * tests expect are computed by it too, independently of the code tested.
 */
#include "config.h"

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
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "trust.h"
#include "testutil.h"

#define DAY 86400
/* notAfter of the expired leaf, as given to openssl ca below. */
#define OLD_NOT_AFTER 1735776000 /* 2025-01-02T00:00:00Z */

/*
 * root-a   RSA 2048 root, inter-a under it, leaf-a (broker.test) under that
 * wrong    under inter-a, wrong.test only
 * old      under inter-a, broker.test, valid 2025-01-01 .. 2025-01-02
 * root-b   EC P-384 root, leaf-b (broker.test) under it
 * self     a self-signed leaf for broker.test
 * root-l   EC root valid to 2051, leaf-l (broker.test, CN=far) under it
 *          valid to the last day of 2049: dates a 32-bit time_t cannot hold
 * Each NAME.pin is the base64 SHA-256 of the DER SPKI, by openssl.
 */
static const char pki_script[] =
    "set -eu\n"
    "cd \"$1\"\n"
    "umask 077\n"
    "ec() { openssl genpkey -algorithm EC -pkeyopt "
    "ec_paramgen_curve:$2 -out \"$1.key\"; }\n"
    "srv_ext() { printf 'basicConstraints=critical,CA:FALSE\\n"
    "extendedKeyUsage=serverAuth\\nsubjectAltName=DNS:%s\\n' \"$1\"; }\n"
    "root() { openssl req -x509 -new -key \"$1.key\" -out \"$1.crt\" "
    "-days \"${3:-30}\" -subj \"$2\" "
    "-addext \"basicConstraints=critical,CA:TRUE\" "
    "-addext \"keyUsage=critical,keyCertSign,cRLSign\"; }\n"
    /* sign NAME CA SUBJECT EXTFILE */
    "sign() { openssl req -new -key \"$1.key\" -subj \"$3\" -out "
    "\"$1.csr\"; openssl x509 -req -in \"$1.csr\" -CA \"$2.crt\" "
    "-CAkey \"$2.key\" -set_serial \"$(od -An -N8 -tu8 /dev/urandom | "
    "tr -d ' ')\" -days 30 -extfile \"$4\" -out \"$1.crt\"; }\n"
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
    "-out root-a.key\n"
    "root root-a '/O=zwgate tests/CN=Root A'\n"
    "ec inter-a P-256\n"
    "printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\n"
    "keyUsage=critical,keyCertSign,cRLSign\\n' >ca.ext\n"
    "sign inter-a root-a '/O=zwgate tests/CN=Intermediate A' ca.ext\n"
    "ec leaf-a P-256; srv_ext broker.test >srv.ext\n"
    "sign leaf-a inter-a '/O=zwgate tests/CN=broker.test' srv.ext\n"
    "ec wrong P-256; srv_ext wrong.test >wrong.ext\n"
    "sign wrong inter-a '/O=zwgate tests/CN=wrong.test' wrong.ext\n"
    "ec root-b P-384\n"
    "root root-b '/O=zwgate tests B/CN=Root B'\n"
    "ec leaf-b P-256\n"
    "sign leaf-b root-b '/O=zwgate tests B/CN=broker.test' srv.ext\n"
    "ec self P-256\n"
    "openssl req -x509 -new -key self.key -out self.crt -days 30 "
    "-subj '/CN=broker.test' -addext "
    "'basicConstraints=critical,CA:FALSE' -addext "
    "'subjectAltName=DNS:broker.test'\n"
    /* openssl x509 (3.0) cannot set dates in the past; openssl ca can. */
    "ec old P-256\n"
    "openssl req -new -key old.key -subj '/O=zwgate tests/CN=old' "
    "-out old.csr\n"
    ": >index.txt; echo 01 >serial\n"
    "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\n"
    "new_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\n"
    "unique_subject=no\\n[p]\\ncommonName=supplied\\n' >ca.cnf\n"
    "openssl ca -batch -config ca.cnf -cert inter-a.crt -keyfile "
    "inter-a.key -in old.csr -startdate 20250101000000Z -enddate "
    "20250102000000Z -extfile srv.ext -notext -out old.crt\n"
    /* Days from now to 2050-01-01: the leaf ends on 2049-12-31. */
    "far=$(( (2524608000 - $(date +%s)) / 86400 ))\n"
    "ec root-l P-256\n"
    "root root-l '/O=zwgate tests L/CN=Root L' $((far + 400))\n"
    "ec leaf-l P-256\n"
    "openssl req -new -key leaf-l.key -subj '/O=zwgate tests L/CN=far' "
    "-out leaf-l.csr\n"
    "openssl x509 -req -in leaf-l.csr -CA root-l.crt -CAkey root-l.key "
    "-set_serial 7 -days \"$far\" -extfile srv.ext -out leaf-l.crt\n"
    "for c in root-a inter-a leaf-a wrong old root-b leaf-b self root-l "
    "leaf-l; do\n"
    "  openssl x509 -in $c.crt -pubkey -noout | openssl pkey -pubin "
    "-outform DER | openssl dgst -sha256 -binary | openssl base64 -A "
    ">$c.pin\n"
    "done\n";

enum {
	ROOT_A,
	INTER_A,
	LEAF_A,
	WRONG,
	OLD,
	ROOT_B,
	LEAF_B,
	SELF,
	ROOT_L,
	LEAF_L,
	NCERTS
};

static const char *const cert_names[NCERTS] = {
	"root-a", "inter-a", "leaf-a", "wrong",	 "old",
	"root-b", "leaf-b",  "self",   "root-l", "leaf-l",
};

static struct {
	char dir[256];
	X509 *cert[NCERTS];
	char pin[NCERTS][TRUST_PIN_LEN + 1];
} pki;

/* A pin of a key in no chain here: the backup pin a bundle carries. */
static const char backup_pin[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static int load_one(int i)
{
	char path[320];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.crt", pki.dir, cert_names[i]);
	f = fopen(path, "r");
	if (!f)
		return -1;
	pki.cert[i] = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.pin", pki.dir, cert_names[i]);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(pki.pin[i], 1, TRUST_PIN_LEN, f);
	fclose(f);
	return pki.cert[i] && n == TRUST_PIN_LEN ? 0 : -1;
}

static int group_setup(void **state)
{
	char script[300], cmd[1024];

	if (tu_tmpdir(pki.dir, sizeof(pki.dir), "verify") < 0)
		return -1;
	snprintf(script, sizeof(script), "%s/pki.sh", pki.dir);
	if (tu_write_file(script, pki_script, 0644) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh %s %s >%s/pki.log 2>&1", script, pki.dir,
		 pki.dir);
	if (system(cmd)) {
		fprintf(stderr, "PKI generation failed; see %s/pki.log\n",
			pki.dir);
		return -1;
	}
	for (int i = 0; i < NCERTS; i++)
		if (load_one(i))
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < NCERTS; i++)
		X509_free(pki.cert[i]);
	return pki.dir[0] ? tu_rm_rf(pki.dir) : 0;
}

/* A bundle made by hand: anchors[] are indexes, pins[] strings. */
static struct trust_bundle *bundle(const int *anchors, size_t nanchors,
				   const char *const *pins, size_t npins)
{
	struct trust_bundle *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->format = TRUST_FORMAT;
	b->version = 3;
	b->issued_at = time(NULL) - DAY;
	b->expires = time(NULL) + 365 * DAY;
	b->anchors = sk_X509_new_null();
	b->recovery = sk_X509_new_null();
	assert_non_null(b->anchors);
	assert_non_null(b->recovery);
	for (size_t i = 0; i < nanchors; i++) {
		X509_up_ref(pki.cert[anchors[i]]);
		assert_true(sk_X509_push(b->anchors, pki.cert[anchors[i]]));
	}
	assert_true(npins <= TRUST_ITEMS_MAX);
	for (size_t i = 0; i < npins; i++)
		snprintf(b->pins[i], sizeof(b->pins[i]), "%s", pins[i]);
	b->npins = npins;
	return b;
}

static void bundle_free(struct trust_bundle *b)
{
	sk_X509_pop_free(b->anchors, X509_free);
	sk_X509_pop_free(b->recovery, X509_free);
	free(b);
}

/* A policy in FULL mode at the real time (OpenSSL checks that time). */
static struct trust_policy policy(const struct trust_bundle *b)
{
	struct trust_policy p = {
		.bundle = b,
		.now = time(NULL),
		.floor = time(NULL) - DAY,
		.clock_synced = true,
	};
	return p;
}

/* One handshake's chain as the server sent it, and the caller's param. */
struct call {
	int leaf;
	int untrusted[4]; /* indexes, -1 ends */
	const char *host;
	unsigned long flags; /* set on the param by the caller */
	bool lenient_cb;     /* a verify callback that ignores errors */
};

struct outcome {
	int r;
	int err;       /* ctx's error afterwards */
	int nchain;    /* ctx's chain afterwards */
	char peer[64]; /* the host name that matched */
};

static int lenient(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

/* Initialise a context as OpenSSL's handshake does, then decide. */
static struct outcome run(const struct call *c, const struct trust_policy *p,
			  struct trust_verdict *v)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509_VERIFY_PARAM *param;
	struct outcome o = { 0 };
	const char *peer;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_non_null(sk);
	for (int i = 0; i < 4 && c->untrusted[i] >= 0; i++)
		assert_true(sk_X509_push(sk, pki.cert[c->untrusted[i]]));
	assert_int_equal(X509_STORE_CTX_init(ctx, store, pki.cert[c->leaf], sk),
			 1);
	assert_int_equal(X509_STORE_CTX_set_default(ctx, "ssl_server"), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	assert_int_equal(X509_VERIFY_PARAM_set1_host(
			     param, c->host ? c->host : "broker.test", 0),
			 1);
	if (c->flags)
		X509_VERIFY_PARAM_set_flags(param, c->flags);
	if (c->lenient_cb)
		X509_STORE_CTX_set_verify_cb(ctx, lenient);

	o.r = trust_verify_chain(ctx, p, v);
	o.err = X509_STORE_CTX_get_error(ctx);
	if (X509_STORE_CTX_get0_chain(ctx))
		o.nchain = sk_X509_num(X509_STORE_CTX_get0_chain(ctx));
	peer = X509_VERIFY_PARAM_get0_peername(param);
	snprintf(o.peer, sizeof(o.peer), "%s", peer ? peer : "");

	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(sk);
	return o;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static void assert_accepted(const struct outcome *o,
			    const struct trust_verdict *v)
{
	if (o->r != 1 || !v->ok)
		fail_msg("refused: %s", v->reason);
	assert_string_equal(v->reason, "");
	assert_int_equal(o->err, X509_V_OK);
}

static void assert_refused(const struct outcome *o,
			   const struct trust_verdict *v, int err,
			   const char *reason_part)
{
	assert_int_equal(o->r, 0);
	assert_false(v->ok);
	assert_int_equal(o->err, err);
	assert_contains(v->reason, reason_part);
}

#define CHAIN_A                                              \
	{                                                    \
		.leaf = LEAF_A, .untrusted = { INTER_A, -1 } \
	}

static void test_accept_root_pin(void **state)
{
	const char *pins[] = { backup_pin, pki.pin[ROOT_A] };
	struct trust_bundle *b = bundle((int[]){ ROOT_A, ROOT_B }, 2, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_accepted(&o, &v);
	assert_int_equal(v.mode, TRUST_MODE_FULL);
	assert_false(v.recovery);
	assert_string_equal(v.pin, pki.pin[ROOT_A]);
	assert_int_equal(v.pin_depth, 2);
	assert_int_equal(v.nchain, 3);
	assert_int_equal(o.nchain, 3);
	assert_string_equal(v.chain[0], "CN=broker.test,O=zwgate tests");
	assert_string_equal(v.chain[1], "CN=Intermediate A,O=zwgate tests");
	assert_string_equal(v.chain[2], "CN=Root A,O=zwgate tests");
	/* Made with -days 30 a moment ago. */
	assert_true(v.leaf_not_after > time(NULL) + 29 * DAY);
	assert_true(v.leaf_not_after <= time(NULL) + 30 * DAY);
	assert_string_equal(o.peer, "broker.test");
	bundle_free(b);
}

static void test_accept_intermediate_pin(void **state)
{
	const char *pins[] = { pki.pin[INTER_A], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_accepted(&o, &v);
	assert_string_equal(v.pin, pki.pin[INTER_A]);
	assert_int_equal(v.pin_depth, 1);
	bundle_free(b);
}

static void test_refuse_no_pin(void **state)
{
	/* Root B is pinned and anchored, but this chain is Root A's. */
	const char *pins[] = { pki.pin[ROOT_B], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A, ROOT_B }, 2, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "no certificate of the verified chain matches a pin "
		       "of bundle version 3");
	assert_string_equal(v.pin, "");
	assert_int_equal(v.pin_depth, -1);
	assert_int_equal(v.nchain, 3);
	bundle_free(b);
}

static void test_refuse_unknown_anchor(void **state)
{
	const char *pins[] = { pki.pin[ROOT_B], pki.pin[ROOT_A] };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = { .leaf = LEAF_B, .untrusted = { -1 } };
	struct call sent_root = { .leaf = LEAF_B, .untrusted = { ROOT_B, -1 } };
	struct call self = { .leaf = SELF, .untrusted = { -1 } };
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(
	    &o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "certificate verify failed: unable to get local issuer "
	    "certificate (depth 0, CN=broker.test,O=zwgate tests B)");
	/* The partial chain is still recorded: the leaf. */
	assert_int_equal(v.nchain, 1);
	assert_string_equal(v.chain[0], "CN=broker.test,O=zwgate tests B");

	/* A root the server sends itself is no anchor, pinned or not. */
	o = run(&sent_root, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
		       "(depth 1, CN=Root B,O=zwgate tests B)");
	assert_int_equal(v.pin_depth, -1);

	o = run(&self, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
		       "self-signed");
	bundle_free(b);
}

/*
 * An intermediate alone is not an anchor: the chain must end at a root of
 * the bundle, even when the caller's param asked for partial chains.
 */
static void test_refuse_intermediate_anchor(void **state)
{
	const char *pins[] = { pki.pin[INTER_A], backup_pin };
	struct trust_bundle *b = bundle((int[]){ INTER_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct call partial = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
		       "(depth 1, CN=Intermediate A,O=zwgate tests)");
	partial.flags = X509_V_FLAG_PARTIAL_CHAIN;
	o = run(&partial, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
		       "unable to get issuer certificate");
	bundle_free(b);
}

/*
 * The server sends a pinned certificate that has nothing to do with its
 * chain: pins are matched against the verified chain only.
 */
static void test_pin_on_verified_chain(void **state)
{
	const char *pins[] = { pki.pin[ROOT_B], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = { .leaf = LEAF_A,
			  .untrusted = { INTER_A, ROOT_B, -1 } };
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "matches a pin of bundle version 3");
	assert_int_equal(v.nchain, 3);
	for (size_t i = 0; i < v.nchain; i++)
		assert_null(strstr(v.chain[i], "Root B"));
	bundle_free(b);
}

static void test_wrong_host(void **state)
{
	const char *pins[] = { pki.pin[ROOT_A], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call wrong = { .leaf = WRONG, .untrusted = { INTER_A, -1 } };
	struct call other = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&wrong, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_HOSTNAME_MISMATCH,
		       "certificate verify failed: hostname mismatch "
		       "(broker.test)");
	other.host = "other.test";
	o = run(&other, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_HOSTNAME_MISMATCH, "(other.test)");
	bundle_free(b);
}

/* A caller's verify callback that ignores errors widens nothing. */
/*
 * A caller's verify callback that ignores errors widens nothing: OpenSSL
 * then returns success with the error still set.  The leaf's own key is
 * pinned so that only that error stands between this chain and success.
 */
static void test_lenient_callback(void **state)
{
	const char *pins[] = { pki.pin[LEAF_B], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = { .leaf = LEAF_B, .untrusted = { -1 } };
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	/* Without the callback: refused by OpenSSL itself. */
	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		       "unable to get local issuer certificate");
	c.lenient_cb = true;
	o = run(&c, &p, &v);
	assert_int_equal(o.r, 0);
	assert_false(v.ok);
	assert_int_not_equal(o.err, X509_V_OK);
	assert_contains(v.reason, "certificate verify failed: ");
	bundle_free(b);
}

static void test_clock_unknown(void **state)
{
	const char *pinned[] = { pki.pin[ROOT_A], backup_pin };
	const char *unpinned[] = { pki.pin[ROOT_B], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pinned, 2);
	struct trust_bundle *u = bundle((int[]){ ROOT_A }, 1, unpinned, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct trust_verdict v;
	struct outcome o;

	/* No RTC: the clock says 1970, every certificate "not yet valid". */
	p.now = 0;
	p.floor = time(NULL) - DAY;
	p.clock_synced = false;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	assert_int_equal(v.mode, TRUST_MODE_CLOCK_UNKNOWN);
	assert_int_equal(v.pin_depth, 2);

	p.bundle = u;
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "matches a pin of bundle version 3");

	/* A floor past the leaf's notAfter: that leaf has expired. */
	p.bundle = b;
	p.floor = time(NULL) + 31 * DAY;
	p.now = p.floor - 1;
	p.clock_synced = true;
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "leaf expired on ");
	assert_contains(v.reason, ", before the time floor ");
	assert_int_equal(v.mode, TRUST_MODE_CLOCK_UNKNOWN);
	bundle_free(b);
	bundle_free(u);
}

/*
 * The expired leaf: refused at full trust; with an unknown clock its
 * dates are not checked by OpenSSL, only its notAfter against the floor.
 */
static void test_expired_leaf(void **state)
{
	const char *pins[] = { pki.pin[INTER_A], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = { .leaf = OLD, .untrusted = { INTER_A, -1 } };
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_CERT_HAS_EXPIRED,
		       "certificate verify failed: certificate has expired "
		       "(depth 0, CN=old)");
	assert_int_equal(v.leaf_not_after, OLD_NOT_AFTER);

	p.clock_synced = false;
	p.floor = OLD_NOT_AFTER - DAY;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);

	p.floor = 1795456800; /* 2026-11-23T18:00:00Z */
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "leaf expired on 2025-01-02T00:00:00Z, before the time "
		       "floor 2026-11-23T18:00:00Z");
	bundle_free(b);
}

#define T_2038_PAST INT64_C(2147483648) /* 2038-01-19T03:14:08Z */
#define T_2040	    INT64_C(2208988800) /* 2040-01-01T00:00:00Z */
#define T_2049_END  INT64_C(2524607999) /* 2049-12-31T23:59:59Z */
#define T_2050_JUN  INT64_C(2537654400) /* 2050-06-01T00:00:00Z */

/*
 * A chain valid to 2049, decided at instants a 32-bit time_t cannot hold:
 * the dates are compared with the policy's 64-bit now by zwgate, not only
 * by OpenSSL with its own time(NULL) (which accepts the 2050 one here, and
 * on armhf past 2038 would refuse every one as not yet valid).
 */
static void test_dates_past_2038(void **state)
{
	const char *pins[] = { pki.pin[ROOT_L], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_L }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = { .leaf = LEAF_L, .untrusted = { -1 } };
	struct trust_verdict v;
	struct outcome o;

	b->expires = T_2050_JUN + DAY; /* the bundle itself still good */
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	/* notAfter on 2049-12-31, read on 64 bits (not -1, not 1913). */
	assert_true(v.leaf_not_after >= T_2049_END - DAY + 1);
	assert_true(v.leaf_not_after <= T_2049_END);

	p.now = T_2038_PAST;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	assert_int_equal(v.mode, TRUST_MODE_FULL);

	p.now = T_2040;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);

	p.now = v.leaf_not_after;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v); /* the last second still counts */

	p.now = T_2050_JUN;
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_CERT_HAS_EXPIRED,
		       "certificate verify failed: certificate has expired "
		       "(depth 0, CN=far,O=zwgate tests L)");

	/* Before the chain was made: not yet valid, as OpenSSL says it. */
	p.now = time(NULL) - 2 * DAY;
	p.floor = p.now - DAY;
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_CERT_NOT_YET_VALID,
		       "certificate is not yet valid (depth 1, ");
	bundle_free(b);
}

static void test_bundle_expired(void **state)
{
	const char *pins[] = { pki.pin[ROOT_B], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	struct trust_policy p = policy(b);
	struct call c = CHAIN_A;
	struct call unknown = { .leaf = LEAF_B, .untrusted = { -1 } };
	struct call old = { .leaf = OLD, .untrusted = { INTER_A, -1 } };
	struct call wrong = { .leaf = WRONG, .untrusted = { INTER_A, -1 } };
	struct trust_verdict v;
	struct outcome o;

	b->expires = time(NULL) - 1;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	assert_int_equal(v.mode, TRUST_MODE_BUNDLE_EXPIRED);
	assert_int_equal(v.pin_depth, -1);

	o = run(&unknown, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		       "unable to get local issuer certificate");
	o = run(&old, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_CERT_HAS_EXPIRED, "expired");
	o = run(&wrong, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_HOSTNAME_MISMATCH, "mismatch");
	bundle_free(b);
}

static void test_recovery(void **state)
{
	const char *pins[] = { pki.pin[ROOT_A], backup_pin };
	struct trust_bundle *b = bundle((int[]){ ROOT_A }, 1, pins, 2);
	STACK_OF(X509) *rec = sk_X509_new_null();
	struct trust_policy p = policy(b);
	struct call c = { .leaf = LEAF_B, .untrusted = { -1 } };
	struct call self = { .leaf = SELF, .untrusted = { -1 } };
	struct trust_verdict v;
	struct outcome o;

	assert_non_null(rec);
	assert_true(sk_X509_push(rec, pki.cert[ROOT_B]));
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		       "local issuer");
	assert_false(v.recovery);

	p.recovery = rec;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	assert_true(v.recovery);
	assert_string_equal(v.pin, pki.pin[ROOT_B]);
	assert_int_equal(v.pin_depth, 1);
	assert_int_equal(v.nchain, 2);
	assert_string_equal(v.chain[1], "CN=Root B,O=zwgate tests B");
	/* The caller's context now holds the chain that was verified. */
	assert_int_equal(o.nchain, 2);
	assert_string_equal(o.peer, "broker.test");

	/* Recovery roots' own keys are their pins, clock or no clock. */
	p.now = 0;
	p.clock_synced = false;
	o = run(&c, &p, &v);
	assert_accepted(&o, &v);
	assert_true(v.recovery);
	assert_int_equal(v.mode, TRUST_MODE_CLOCK_UNKNOWN);

	/* The host name still counts: the param is carried over. */
	p = policy(b);
	p.recovery = rec;
	c.host = "other.test";
	o = run(&c, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		       "; recovery roots: certificate verify failed: hostname "
		       "mismatch (other.test)");
	assert_false(v.recovery);

	o = run(&self, &p, &v);
	assert_refused(&o, &v, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
		       "; recovery roots: ");
	sk_X509_free(rec);
	bundle_free(b);
}

static void test_no_bundle(void **state)
{
	struct trust_policy p = policy(NULL);
	struct call c = CHAIN_A;
	struct trust_verdict v;
	struct outcome o = run(&c, &p, &v);

	assert_refused(&o, &v, X509_V_ERR_APPLICATION_VERIFICATION,
		       "no trust bundle");
}

static void test_mode(void **state)
{
	static const struct {
		bool synced;
		int64_t now, floor, expires;
		enum trust_mode want;
	} t[] = {
		{ true, 1000, 500, 2000, TRUST_MODE_FULL },
		{ true, 500, 500, 2000, TRUST_MODE_FULL },
		{ true, 499, 500, 2000, TRUST_MODE_CLOCK_UNKNOWN },
		{ false, 1000, 500, 2000, TRUST_MODE_CLOCK_UNKNOWN },
		{ false, 3000, 500, 2000, TRUST_MODE_CLOCK_UNKNOWN },
		{ true, 0, 500, 2000, TRUST_MODE_CLOCK_UNKNOWN },
		{ true, 2000, 500, 2000, TRUST_MODE_BUNDLE_EXPIRED },
		{ true, 1999, 500, 2000, TRUST_MODE_FULL },
		{ true, 3000, 500, 2000, TRUST_MODE_BUNDLE_EXPIRED },
		{ true, 3000, 3001, 2000, TRUST_MODE_CLOCK_UNKNOWN },
	};
	struct trust_bundle b = { 0 };
	struct trust_policy p = { .bundle = &b };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p.clock_synced = t[i].synced;
		p.now = t[i].now;
		p.floor = t[i].floor;
		b.expires = t[i].expires;
		if (trust_policy_mode(&p) != t[i].want)
			fail_msg("row %zu: mode %s, want %s", i,
				 trust_mode_name(trust_policy_mode(&p)),
				 trust_mode_name(t[i].want));
	}
	assert_string_equal(trust_mode_name(TRUST_MODE_FULL), "full");
	assert_string_equal(trust_mode_name(TRUST_MODE_CLOCK_UNKNOWN),
			    "clock-unknown");
	assert_string_equal(trust_mode_name(TRUST_MODE_BUNDLE_EXPIRED),
			    "bundle-expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_root_pin),
		cmocka_unit_test(test_accept_intermediate_pin),
		cmocka_unit_test(test_refuse_no_pin),
		cmocka_unit_test(test_refuse_unknown_anchor),
		cmocka_unit_test(test_refuse_intermediate_anchor),
		cmocka_unit_test(test_pin_on_verified_chain),
		cmocka_unit_test(test_wrong_host),
		cmocka_unit_test(test_lenient_callback),
		cmocka_unit_test(test_clock_unknown),
		cmocka_unit_test(test_dates_past_2038),
		cmocka_unit_test(test_expired_leaf),
		cmocka_unit_test(test_bundle_expired),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_no_bundle),
		cmocka_unit_test(test_mode),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
