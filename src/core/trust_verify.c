/* SPDX-License-Identifier: MIT */
/*
 * trust_verify.c: the chain decision of one handshake (trust.h).  OpenSSL
 * builds and checks the chain against the bundle's anchors only; this adds
 * what OpenSSL cannot know: the pins, the unknown-clock policy and the
 * recovery roots.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "trust.h"
#include "zwtime.h"

/* What one verification pass trusts: anchors, and where its pins come from. */
struct verdict_pass {
	STACK_OF(X509) * trusted;
	/* The bundle whose pins count, or NULL: the pins are the keys of
	 * the trusted roots themselves (the recovery roots). */
	const struct trust_bundle *bundle;
};

enum trust_mode trust_policy_mode(const struct trust_policy *p)
{
	if (!p->clock_synced || p->now < p->floor)
		return TRUST_MODE_CLOCK_UNKNOWN;
	if (p->bundle && p->now >= p->bundle->expires)
		return TRUST_MODE_BUNDLE_EXPIRED;
	return TRUST_MODE_FULL;
}

const char *trust_mode_name(enum trust_mode m)
{
	switch (m) {
	case TRUST_MODE_FULL:
		return "full";
	case TRUST_MODE_CLOCK_UNKNOWN:
		return "clock-unknown";
	case TRUST_MODE_BUNDLE_EXPIRED:
		return "bundle-expired";
	}
	return "unknown";
}

/*
 * The pin of a certificate, as trust_pin_of_cert computes it.  Kept here
 * too so that the decision does not depend on the bundle module; the
 * tests check both against the openssl command line.
 */
static bool pin_listed(const struct verdict_pass *pass, const char *pin)
{
	char root[TRUST_PIN_LEN + 1];
	int i;

	if (pass->bundle)
		return trust_bundle_has_pin(pass->bundle, pin);
	for (i = 0; i < sk_X509_num(pass->trusted); i++)
		if (!trust_pin_of_cert(sk_X509_value(pass->trusted, i), root) &&
		    !strcmp(root, pin))
			return true;
	return false;
}

/* RFC 2253 one-line subject (escaped: ASCII only), truncated to fit. */
static void subject_name(X509 *x, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
			       XN_FLAG_RFC2253) >= 0) {
		n = BIO_read(b, out, (int)outlen - 1);
		if (n > 0)
			out[n] = '\0';
	}
	BIO_free(b);
}

static int unix_time(const ASN1_TIME *t, int64_t *ret)
{
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	int days, secs, ok;

	if (!epoch)
		return -ENOMEM;
	ok = ASN1_TIME_diff(&days, &secs, epoch, t);
	ASN1_TIME_free(epoch);
	if (!ok)
		return -EINVAL;
	*ret = (int64_t)days * 86400 + secs;
	return 0;
}

static void time_format(int64_t t, char out[21])
{
	if (zwtime_format_utc(t, out) < 0)
		snprintf(out, 21, "%" PRId64, t);
}

/*
 * Record the chain as far as OpenSSL built it: after a failure it may be
 * partial (the leaf and what was found before the error), and that is
 * still what the operator needs to see.  Returns whether the leaf's
 * notAfter could be read.
 */
static bool record(X509_STORE_CTX *ctx, struct trust_verdict *v)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
	int i, n = chain ? sk_X509_num(chain) : 0;

	v->nchain = 0;
	for (i = 0; i < n && v->nchain < TRUST_CHAIN_MAX; i++)
		subject_name(sk_X509_value(chain, i), v->chain[v->nchain++],
			     TRUST_SUBJECT_MAX);
	if (!v->nchain && leaf)
		subject_name(leaf, v->chain[v->nchain++], TRUST_SUBJECT_MAX);
	return leaf && !unix_time(X509_get0_notAfter(leaf), &v->leaf_not_after);
}

static void chain_reason(X509_STORE_CTX *ctx, struct trust_verdict *v)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	int e = X509_STORE_CTX_get_error(ctx);
	const char *host = X509_VERIFY_PARAM_get0_host(param, 0);
	char subject[TRUST_SUBJECT_MAX] = "";

	if (e == X509_V_ERR_HOSTNAME_MISMATCH && host) {
		snprintf(v->reason, sizeof(v->reason),
			 "certificate verify failed: %s (%s)",
			 X509_verify_cert_error_string(e), host);
		return;
	}
	if (cur)
		subject_name(cur, subject, sizeof(subject));
	snprintf(v->reason, sizeof(v->reason),
		 "certificate verify failed: %s (depth %d, %s)",
		 X509_verify_cert_error_string(e),
		 X509_STORE_CTX_get_error_depth(ctx),
		 subject[0] ? subject : "no certificate");
}

/*
 * The first certificate of the verified chain, leaf first, whose pin is
 * listed.  Every certificate is looked at, not only the recorded ones.
 */
static void match_pins(X509_STORE_CTX *ctx, const struct verdict_pass *pass,
		       struct trust_verdict *v)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	char pin[TRUST_PIN_LEN + 1];
	int i;

	for (i = 0; chain && i < sk_X509_num(chain); i++) {
		if (trust_pin_of_cert(sk_X509_value(chain, i), pin) ||
		    !pin_listed(pass, pin))
			continue;
		memcpy(v->pin, pin, sizeof(v->pin));
		v->pin_depth = i;
		return;
	}
}

/*
 * OpenSSL checks the dates with its own time(NULL), a 32-bit time_t on
 * Debian 12 armhf that fails past 2038-01-19 (every certificate "not yet
 * valid" then), and X509_VERIFY_PARAM_set_time takes that same time_t.
 * So where now does not fit a time_t, OpenSSL is told not to check them
 * (X509_V_FLAG_NO_CHECK_TIME) and check_dates alone does, with the
 * policy's 64-bit now; elsewhere OpenSSL checks them too (it then also
 * prefers an issuer valid now when several match), and check_dates
 * after it says the same on every architecture.
 */
static void set_flags(X509_STORE_CTX *ctx, const struct trust_policy *p,
		      enum trust_mode mode)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);

	/* An anchor must be a root: an intermediate alone in the bundle
	 * must not end a chain, whatever the caller's param says. */
	X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (mode == TRUST_MODE_CLOCK_UNKNOWN || !zwtime_fits_time_t(p->now))
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
	else
		X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_NO_CHECK_TIME);
}

/*
 * What OpenSSL's own check would say of the verified chain's dates at
 * `now`: the first failure from the anchor down, as OpenSSL finds them
 * (notBefore after now: not yet valid; notAfter before now: expired).
 * 0 when they hold, else the X509_V_ERR_* with *depth and *cert set.
 */
static int date_error(X509_STORE_CTX *ctx, int64_t now, int *depth, X509 **cert)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int64_t nb, na;
	int i, e;

	for (i = chain ? sk_X509_num(chain) - 1 : -1; i >= 0; i--) {
		X509 *x = sk_X509_value(chain, i);

		e = X509_V_OK;
		if (unix_time(X509_get0_notBefore(x), &nb) < 0)
			e = X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD;
		else if (now < nb)
			e = X509_V_ERR_CERT_NOT_YET_VALID;
		else if (unix_time(X509_get0_notAfter(x), &na) < 0)
			e = X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
		else if (now > na)
			e = X509_V_ERR_CERT_HAS_EXPIRED;
		if (e != X509_V_OK) {
			*depth = i;
			*cert = x;
			return e;
		}
	}
	return X509_V_OK;
}

static int check_dates(X509_STORE_CTX *ctx, const struct trust_policy *p,
		       struct trust_verdict *v)
{
	X509 *cert = NULL;
	int depth = 0, e = date_error(ctx, p->now, &depth, &cert);

	if (e == X509_V_OK)
		return 1;
	X509_STORE_CTX_set_error(ctx, e);
	X509_STORE_CTX_set_error_depth(ctx, depth);
	X509_STORE_CTX_set_current_cert(ctx, cert);
	chain_reason(ctx, v);
	return 0;
}

/*
 * OpenSSL's verdict on the chain.  A verify callback (the caller's, set
 * on ctx) may turn an error into success; the error it leaves behind is
 * still a refusal here, so no callback can widen what is trusted.
 */
static int openssl_result(X509_STORE_CTX *ctx, struct trust_verdict *v,
			  bool *have_not_after)
{
	int r = X509_verify_cert(ctx);

	*have_not_after = record(ctx, v);
	if (r > 0 && X509_STORE_CTX_get_error(ctx) == X509_V_OK)
		return 1;
	if (X509_STORE_CTX_get_error(ctx) == X509_V_OK)
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_UNSPECIFIED);
	chain_reason(ctx, v);
	return 0;
}

static int refuse(X509_STORE_CTX *ctx, bool at_leaf)
{
	X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
	if (at_leaf) {
		X509_STORE_CTX_set_error_depth(ctx, 0);
		X509_STORE_CTX_set_current_cert(ctx,
						X509_STORE_CTX_get0_cert(ctx));
	}
	return 0;
}

static void floor_reason(const struct trust_policy *p, struct trust_verdict *v)
{
	char na[21], fl[21];

	time_format(v->leaf_not_after, na);
	time_format(p->floor, fl);
	snprintf(v->reason, sizeof(v->reason),
		 "leaf expired on %s, before the time floor %s", na, fl);
}

/* One pass: OpenSSL's checks against pass->trusted, then pins, floor. */
static int verdict_pass(X509_STORE_CTX *ctx, const struct trust_policy *p,
			const struct verdict_pass *pass,
			struct trust_verdict *v)
{
	bool have_not_after;

	X509_STORE_CTX_set0_trusted_stack(ctx, pass->trusted);
	set_flags(ctx, p, v->mode);
	if (!openssl_result(ctx, v, &have_not_after))
		return 0;
	if (v->mode != TRUST_MODE_CLOCK_UNKNOWN && !check_dates(ctx, p, v))
		return 0;
	match_pins(ctx, pass, v);
	if (v->mode != TRUST_MODE_BUNDLE_EXPIRED && v->pin_depth < 0) {
		if (pass->bundle)
			snprintf(v->reason, sizeof(v->reason),
				 "no certificate of the verified chain "
				 "matches a pin of bundle version %" PRIu64,
				 pass->bundle->version);
		else
			snprintf(v->reason, sizeof(v->reason),
				 "no certificate of the verified chain "
				 "matches a recovery root");
		return refuse(ctx, false);
	}
	if (v->mode == TRUST_MODE_CLOCK_UNKNOWN && !have_not_after) {
		snprintf(v->reason, sizeof(v->reason),
			 "the leaf's notAfter cannot be read, so it cannot "
			 "be checked against the time floor");
		return refuse(ctx, true);
	}
	if (v->mode == TRUST_MODE_CLOCK_UNKNOWN &&
	    v->leaf_not_after < p->floor) {
		floor_reason(p, v);
		return refuse(ctx, true);
	}
	return 1;
}

static void verdict_init(struct trust_verdict *v, enum trust_mode m)
{
	memset(v, 0, sizeof(*v));
	v->mode = m;
	v->pin_depth = -1;
}

/*
 * Hand the recovery pass's result to the caller's ctx, which is what the
 * TLS library reads after the callback: no error, the verified chain and
 * the host name that matched.
 */
static int adopt(X509_STORE_CTX *ctx, X509_STORE_CTX *rctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(rctx);

	if (!chain)
		return -ENOMEM;
	X509_STORE_CTX_set0_verified_chain(ctx, chain);
	X509_VERIFY_PARAM_move_peername(X509_STORE_CTX_get0_param(ctx),
					X509_STORE_CTX_get0_param(rctx));
	X509_STORE_CTX_set_error(ctx, X509_V_OK);
	X509_STORE_CTX_set_error_depth(ctx, 0);
	X509_STORE_CTX_set_current_cert(ctx, NULL);
	return 0;
}

/*
 * The chain again against the recovery roots, in a fresh context: a
 * context verifies once, and the caller's store must not be touched.  The
 * caller's verify callback is deliberately not carried over.  1 accepted
 * (v filled, ctx updated), 0 refused (v filled), -ENOMEM.
 */
static int check_recovery(X509_STORE_CTX *ctx, const struct trust_policy *p,
			  struct trust_verdict *v)
{
	struct verdict_pass pass = { .trusted = p->recovery };
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *rctx = X509_STORE_CTX_new();
	int r = -ENOMEM;

	if (!store || !rctx)
		goto out;
	if (!X509_STORE_CTX_init(rctx, store, X509_STORE_CTX_get0_cert(ctx),
				 X509_STORE_CTX_get0_untrusted(ctx)))
		goto out;
	if (!X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(rctx),
				    X509_STORE_CTX_get0_param(ctx)))
		goto out;
	r = verdict_pass(rctx, p, &pass, v);
	if (r == 1 && adopt(ctx, rctx))
		r = -ENOMEM;
out:
	X509_STORE_CTX_free(rctx);
	X509_STORE_free(store);
	return r;
}

static void append(struct trust_verdict *v, const char *what)
{
	size_t len = strlen(v->reason);

	if (snprintf(v->reason + len, sizeof(v->reason) - len,
		     "; recovery roots: %s", what) < 0)
		v->reason[len] = '\0';
}

int trust_verify_chain(X509_STORE_CTX *ctx, const struct trust_policy *p,
		       struct trust_verdict *v)
{
	enum trust_mode mode = trust_policy_mode(p);
	struct trust_verdict rv;
	struct verdict_pass pass = { .bundle = p->bundle };
	int r;

	verdict_init(v, mode);
	if (p->bundle && p->bundle->anchors) {
		pass.trusted = p->bundle->anchors;
		v->ok = verdict_pass(ctx, p, &pass, v);
	} else {
		snprintf(v->reason, sizeof(v->reason), "no trust bundle");
		refuse(ctx, false);
	}
	if (v->ok || !p->recovery || !sk_X509_num(p->recovery))
		return v->ok;

	verdict_init(&rv, mode);
	r = check_recovery(ctx, p, &rv);
	if (r == 1) {
		*v = rv;
		v->ok = true;
		v->recovery = true;
		return 1;
	}
	append(v, r < 0 ? "out of memory" : rv.reason);
	return 0;
}
