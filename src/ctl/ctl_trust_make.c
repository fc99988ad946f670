/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust_make.c: `zwgatectl trust make`, an unsigned bundle from the
 * command line and the certificate and key files it names, checked by
 * trust_bundle.c as a gateway would.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ctl_trust_int.h"
#include "fsutil.h"
#include "trust.h"
#include "zwtime.h"

/* Push the certificates of a PEM text onto sk: how many, or -errno. */
static int push_certs(const char *buf, size_t len, STACK_OF(X509) * sk)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	int n = 0;
	X509 *x;

	if (!bio)
		return -ENOMEM;
	while (n >= 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (sk_X509_num(sk) >= TRUST_ITEMS_MAX)
			n = -E2BIG;
		else if (!sk_X509_push(sk, x))
			n = -ENOMEM;
		else
			n++;
		if (n < 0)
			X509_free(x);
	}
	/* The end of the text is an error to PEM_read_bio_X509. */
	ERR_clear_error();
	BIO_free(bio);
	return n;
}

/* Every certificate of a PEM file onto sk. */
static int load_certs(const struct ctl_tcmd *c, const char *path,
		      STACK_OF(X509) * sk, const char *what)
{
	char *buf = NULL;
	size_t len;
	int r = fs_read_file(path, CTL_TRUST_PEM_MAX, &buf, &len);

	if (r == 0)
		r = push_certs(buf, len, sk);
	free(buf);
	if (r == -EFBIG)
		ctl_trust_errorf(
		    c, "%s: larger than %d bytes: not a certificate file", path,
		    CTL_TRUST_PEM_MAX);
	else if (r == -E2BIG)
		ctl_trust_errorf(c, "%s: too many %s (at most %d)", path, what,
				 TRUST_ITEMS_MAX);
	else if (r == 0)
		ctl_trust_errorf(c, "%s: no PEM certificate in it", path);
	else if (r < 0)
		ctl_trust_errorf(c, "%s: %s", path, strerror(-r));
	return r > 0 ? 0 : CTL_TRUST_FAILED;
}

/* ---- make ------------------------------------------------------------ */

static const struct ctl_topt make_opts[] = {
	{ "--version", CTL_TOPT_ONE },	 { "--expires", CTL_TOPT_ONE },
	{ "--host", CTL_TOPT_MANY },	 { "--anchor", CTL_TOPT_MANY },
	{ "--recovery", CTL_TOPT_MANY }, { "--pin", CTL_TOPT_MANY },
	{ "--pin-from", CTL_TOPT_MANY }, { "--signer", CTL_TOPT_MANY },
	{ "--threshold", CTL_TOPT_ONE }, { "--out", CTL_TOPT_ONE },
	{ NULL, CTL_TOPT_ONE },
};
_Static_assert(sizeof(make_opts) / sizeof(make_opts[0]) <= CTL_TRUST_OPTS_MAX,
	       "struct ctl_targs holds every option of make");
static const char *const make_required[] = { "--version", "--expires",
					     "--host",	  "--anchor",
					     "--signer",  "--threshold",
					     "--out",	  NULL };

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* YYYY-MM-DD, a real day, at 00:00:00 UTC. */
static int parse_date(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	char tail;
	zwtime_t t;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tail) != 3)
		return -EINVAL;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	/* Not timegm(): 2040-01-01 does not fit a 32-bit time_t. */
	if (tm.tm_year < 70 || zwtime_from_utc(&tm, &t) < 0)
		return -EINVAL;
	*ret = t;
	return 0;
}

static int make_numbers(const struct ctl_tcmd *c, const struct ctl_targs *a,
			struct trust_bundle *b)
{
	const char *v = ctl_trust_val(c, a, "--version");
	const char *e = ctl_trust_val(c, a, "--expires");
	const char *t = ctl_trust_val(c, a, "--threshold");
	uint64_t th;

	if (parse_u64(v, 1, CTL_TRUST_VERSION_MAX, &b->version) < 0)
		return ctl_trust_usage(
		    c,
		    "--version '%s': not a whole number from 1 to "
		    "%" PRIu64,
		    v, CTL_TRUST_VERSION_MAX);
	if (parse_date(e, &b->expires) < 0)
		return ctl_trust_usage(
		    c, "--expires '%s': not a date YYYY-MM-DD", e);
	if (parse_u64(t, 1, TRUST_ITEMS_MAX, &th) < 0)
		return ctl_trust_usage(
		    c, "--threshold '%s': not a number from 1 to %d", t,
		    TRUST_ITEMS_MAX);
	b->threshold = (unsigned)th;
	b->issued_at = zwtime_now();
	return 0;
}

static int make_hosts(const struct ctl_tcmd *c, const struct ctl_targs *a,
		      struct trust_bundle *b)
{
	int o = ctl_trust_opt_index(c, "--host");

	for (size_t i = 0; i < a->nvals[o]; i++) {
		b->hosts[b->nhosts] = strdup(a->vals[o][i]);
		if (!b->hosts[b->nhosts]) {
			ctl_trust_errorf(c, "out of memory");
			return CTL_TRUST_FAILED;
		}
		b->nhosts++;
	}
	return 0;
}

static int add_pin(const struct ctl_tcmd *c, struct trust_bundle *b,
		   const char *pin)
{
	if (b->npins == TRUST_ITEMS_MAX) {
		ctl_trust_errorf(c, "too many pins (at most %d)",
				 TRUST_ITEMS_MAX);
		return CTL_TRUST_FAILED;
	}
	if (strlen(pin) != TRUST_PIN_LEN)
		return ctl_trust_usage(
		    c,
		    "--pin '%s': not a pin (%d characters of base64: "
		    "the SHA-256 of a public key)",
		    pin, TRUST_PIN_LEN);
	memcpy(b->pins[b->npins++], pin, TRUST_PIN_LEN + 1);
	return 0;
}

/* --pin values first, then the pins of the --pin-from certificates. */
static int make_pins(const struct ctl_tcmd *c, const struct ctl_targs *a,
		     struct trust_bundle *b)
{
	int p = ctl_trust_opt_index(c, "--pin"),
	    f = ctl_trust_opt_index(c, "--pin-from");
	char pin[TRUST_PIN_LEN + 1], err[CTL_TRUST_ERR_MAX];
	int r;

	for (size_t i = 0; i < a->nvals[p]; i++)
		if ((r = add_pin(c, b, a->vals[p][i])) != 0)
			return r;
	for (size_t i = 0; i < a->nvals[f]; i++) {
		if (trust_pin_of_file(a->vals[f][i], pin, err, sizeof(err)) <
		    0) {
			ctl_trust_errorf(c, "%s", err);
			return CTL_TRUST_FAILED;
		}
		if ((r = add_pin(c, b, pin)) != 0)
			return r;
	}
	return 0;
}

static int make_files(const struct ctl_tcmd *c, const struct ctl_targs *a,
		      struct trust_bundle *b)
{
	int an = ctl_trust_opt_index(c, "--anchor"),
	    re = ctl_trust_opt_index(c, "--recovery");
	int si = ctl_trust_opt_index(c, "--signer");
	char err[CTL_TRUST_ERR_MAX];
	int r;

	for (size_t i = 0; i < a->nvals[an]; i++)
		if ((r = load_certs(c, a->vals[an][i], b->anchors, "anchors")))
			return r;
	for (size_t i = 0; i < a->nvals[re]; i++)
		if ((r = load_certs(c, a->vals[re][i], b->recovery,
				    "recovery roots")))
			return r;
	for (size_t i = 0; i < a->nvals[si]; i++) {
		if (trust_key_load_public(a->vals[si][i],
					  b->signers[b->nsigners], err,
					  sizeof(err)) < 0) {
			ctl_trust_errorf(c, "%s", err);
			return CTL_TRUST_FAILED;
		}
		b->nsigners++;
	}
	return 0;
}

static int run_make(const struct ctl_tcmd *c, struct ctl_targs *a)
{
	struct trust_bundle *b = trust_bundle_new();
	char err[CTL_TRUST_ERR_MAX], when[21];
	const char *out = ctl_trust_val(c, a, "--out");
	int r;

	if (!b) {
		ctl_trust_errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	if (!ctl_trust_nvals(c, a, "--pin") &&
	    !ctl_trust_nvals(c, a, "--pin-from"))
		r = ctl_trust_usage(c, "--pin or --pin-from is required");
	else if ((r = make_numbers(c, a, b)) == 0 &&
		 (r = make_hosts(c, a, b)) == 0 &&
		 (r = make_pins(c, a, b)) == 0)
		r = make_files(c, a, b);
	if (r == 0 && trust_bundle_check(b, err, sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		r = CTL_TRUST_FAILED;
	}
	if (r == 0)
		r = ctl_trust_save_bundle(c, b, out, 0644);
	if (r == 0) {
		trust_time_format(b->expires, when);
		printf("wrote %s: version %" PRIu64 ", expires %s, "
		       "unsigned (it needs %u signatures: zwgatectl trust "
		       "sign)\n",
		       out, b->version, when, b->threshold);
	}
	trust_bundle_free(b);
	return r;
}

const struct ctl_tcmd ctl_trust_cmd_make = {
	.name = "make",
	.synopsis = "make --version N --expires YYYY-MM-DD --host NAME...\n"
		    "--anchor PEM... [--recovery PEM...]\n"
		    "--pin B64... | --pin-from PEM...\n"
		    "--signer PUB... --threshold K --out FILE",
	.help = "Write an unsigned bundle to FILE (replaced whole if it "
		"exists), issued now\nand expiring at 00:00:00 UTC on the "
		"date.  Each PEM file gives all its\ncertificates; "
		"--pin-from gives the pin of a file's first certificate;\n"
		"--recovery roots count only in a factory bundle.  An option "
		"takes\nseveral values (--host a b) or may be repeated.",
	.opts = make_opts,
	.required = make_required,
	.run = run_make
};
