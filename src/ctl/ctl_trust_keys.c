/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust_keys.c: `zwgatectl trust keygen`, `sign` and `verify`: make a
 * signing key, sign a bundle file with one, and say whether a gateway
 * trusting a bundle would accept another.  Also the reading and writing
 * of bundle files that make uses too.
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

static void b64_key(const unsigned char key[TRUST_KEY_LEN],
		    char out[CTL_TRUST_B64_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, TRUST_KEY_LEN);
}

/* ---- files ----------------------------------------------------------- */

/* Write data to path as a whole or not at all: temp file, rename. */
static int write_file(const struct ctl_tcmd *c, const char *path,
		      const char *data, size_t len, mode_t mode)
{
	char *copy = strdup(path), *slash;
	const char *dir = ".", *name = copy;
	int r;

	if (!copy) {
		ctl_trust_errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		name = slash + 1;
	}
	r = fs_write_atomic(dir, name, data, len, mode);
	free(copy);
	if (r < 0) {
		ctl_trust_errorf(c, "cannot write %s: %s", path, strerror(-r));
		return CTL_TRUST_FAILED;
	}
	return 0;
}

static int load_bundle(const struct ctl_tcmd *c, const char *path,
		       struct trust_bundle **ret)
{
	char err[CTL_TRUST_ERR_MAX];

	if (trust_bundle_load(path, ret, err, sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	return 0;
}

int ctl_trust_save_bundle(const struct ctl_tcmd *c,
			  const struct trust_bundle *b, const char *path,
			  mode_t mode)
{
	char *text;
	size_t len;
	int r = trust_bundle_dump(b, &text, &len);

	if (r < 0) {
		ctl_trust_errorf(c, "cannot make the JSON of the bundle: %s",
				 strerror(-r));
		return CTL_TRUST_FAILED;
	}
	r = write_file(c, path, text, len, mode);
	free(text);
	return r;
}

/* ---- keygen ---------------------------------------------------------- */

static const struct ctl_topt keygen_opts[] = { { "--out", CTL_TOPT_ONE },
					       { NULL, CTL_TOPT_ONE } };
static const char *const keygen_required[] = { "--out", NULL };

static int run_keygen(const struct ctl_tcmd *c, struct ctl_targs *a)
{
	const char *out = ctl_trust_val(c, a, "--out");
	char err[CTL_TRUST_ERR_MAX], *pub;
	unsigned char key[TRUST_KEY_LEN];
	char b64[CTL_TRUST_B64_KEY_LEN + 1];

	if (trust_key_generate(out, err, sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	if (asprintf(&pub, "%s.pub", out) < 0) {
		ctl_trust_errorf(c, "out of memory");
		return CTL_TRUST_FAILED;
	}
	if (trust_key_load_public(pub, key, err, sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		free(pub);
		return CTL_TRUST_FAILED;
	}
	b64_key(key, b64);
	printf("wrote %s (private: keep it offline) and %s\n"
	       "public key %s\n",
	       out, pub, b64);
	free(pub);
	return CTL_TRUST_OK;
}

/* ---- sign ------------------------------------------------------------ */

static const struct ctl_topt sign_opts[] = { { "--key", CTL_TOPT_ONE },
					     { NULL, CTL_TOPT_ONE } };
static const char *const sign_required[] = { "--key", NULL };

static int sign_with(const struct ctl_tcmd *c, struct trust_bundle *b,
		     EVP_PKEY *key, const char *path)
{
	char err[CTL_TRUST_ERR_MAX], b64[CTL_TRUST_B64_KEY_LEN + 1];
	unsigned char raw[TRUST_KEY_LEN];
	struct stat st;
	int r;

	if (trust_bundle_sign(b, key, err, sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	if (trust_key_raw_public(key, raw) < 0) {
		ctl_trust_errorf(c, "%s: not an Ed25519 key", path);
		return CTL_TRUST_FAILED;
	}
	/* The rewrite keeps the file's mode: it may be published as is. */
	r = ctl_trust_save_bundle(
	    c, b, path, stat(path, &st) == 0 ? st.st_mode & 07777 : 0644);
	if (r)
		return r;
	b64_key(raw, b64);
	printf("signed %s with key %s (%zu signature%s)\n", path, b64, b->nsigs,
	       b->nsigs == 1 ? "" : "s");
	return CTL_TRUST_OK;
}

static int run_sign(const struct ctl_tcmd *c, struct ctl_targs *a)
{
	const char *path = a->pos[0];
	struct trust_bundle *b = NULL;
	char err[CTL_TRUST_ERR_MAX];
	EVP_PKEY *key = NULL;
	int r;

	if (trust_key_load_private(ctl_trust_val(c, a, "--key"), &key, err,
				   sizeof(err)) < 0) {
		ctl_trust_errorf(c, "%s", err);
		return CTL_TRUST_FAILED;
	}
	r = load_bundle(c, path, &b);
	if (r == 0)
		r = sign_with(c, b, key, path);
	trust_bundle_free(b);
	EVP_PKEY_free(key);
	return r;
}

/* ---- verify ---------------------------------------------------------- */

static const struct ctl_topt verify_opts[] = {
	{ "--trusted", CTL_TOPT_ONE },
	{ "--host", CTL_TOPT_EACH },
	{ NULL, CTL_TOPT_ONE },
};
static const char *const verify_required[] = { "--trusted", NULL };

static int refused(const char *path, const char *why)
{
	char line[CTL_TRUST_LINE_MAX];

	snprintf(line, sizeof(line), "%s: would be refused: %s", path, why);
	ctl_sanitize(line);
	puts(line);
	return CTL_TRUST_FAILED;
}

/* Like trust_bundle_load, but the reason does not repeat the path. */
static int read_bundle(const char *path, struct trust_bundle **ret, char *err,
		       size_t errlen)
{
	char *buf;
	size_t len;
	int r = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);

	if (r == -EFBIG)
		snprintf(err, errlen, "larger than %d bytes", TRUST_BUNDLE_MAX);
	else if (r < 0)
		snprintf(err, errlen, "%s", strerror(-r));
	if (r < 0)
		return r;
	r = trust_bundle_parse(buf, len, ret, err, errlen);
	free(buf);
	return r;
}

/* The rules of trust_store_offer, with the trusted bundle's version as
 * the floor: a gateway's floor is at least that. */
static int verify_one(const struct ctl_tcmd *c, const struct ctl_targs *a,
		      const struct trust_bundle *trusted, const char *path)
{
	char err[CTL_TRUST_ERR_MAX];
	struct trust_bundle *b = NULL;
	int h = ctl_trust_opt_index(c, "--host"), r = CTL_TRUST_OK;

	if (read_bundle(path, &b, err, sizeof(err)) < 0)
		return refused(path, err);
	if (trust_bundle_accept(trusted, trusted->version, b, zwtime_now(), err,
				sizeof(err)) < 0)
		r = refused(path, err);
	for (size_t i = 0; r == CTL_TRUST_OK && i < a->nvals[h]; i++) {
		if (trust_bundle_covers(b, a->vals[h][i]))
			continue;
		snprintf(err, sizeof(err), "does not cover host %s",
			 a->vals[h][i]);
		r = refused(path, err);
	}
	if (r == CTL_TRUST_OK)
		printf("%s: would be accepted: version %" PRIu64
		       ", signed by %u of the %zu trusted keys\n",
		       path, b->version,
		       trust_bundle_count_signers(b, trusted->signers,
						  trusted->nsigners),
		       trusted->nsigners);
	trust_bundle_free(b);
	return r;
}

static int run_verify(const struct ctl_tcmd *c, struct ctl_targs *a)
{
	struct trust_bundle *trusted = NULL;
	int r = load_bundle(c, ctl_trust_val(c, a, "--trusted"), &trusted);

	if (r == 0)
		r = verify_one(c, a, trusted, a->pos[0]);
	trust_bundle_free(trusted);
	return r;
}

const struct ctl_tcmd ctl_trust_cmd_keygen = {
	.name = "keygen",
	.synopsis = "keygen --out KEY",
	.help = "Make an Ed25519 signing key: KEY (private, mode 0600) and "
		"KEY.pub\n(public, 0644).  Refuses to overwrite either.",
	.opts = keygen_opts,
	.required = keygen_required,
	.run = run_keygen
};

const struct ctl_tcmd ctl_trust_cmd_sign = {
	.name = "sign",
	.synopsis = "sign --key KEY FILE",
	.help = "Add the signature of the private key KEY to the bundle FILE "
		"(rewritten\nwhole); a key that signed before is replaced.",
	.opts = sign_opts,
	.required = sign_required,
	.pos_min = 1,
	.pos_max = 1,
	.run = run_sign
};

const struct ctl_tcmd ctl_trust_cmd_verify = {
	.name = "verify",
	.synopsis = "verify --trusted BUNDLE [--host NAME]... FILE",
	.help = "Would a gateway trusting BUNDLE accept FILE?  The rules "
		"of zwgated, with\nBUNDLE's version as the version floor and "
		"the clock of this machine;\nwith --host (repeated for "
		"several), FILE must also cover each NAME.\nExit 0: it "
		"would, 1: it would not (the reason is printed).",
	.opts = verify_opts,
	.required = verify_required,
	.pos_min = 1,
	.pos_max = 1,
	.run = run_verify
};
