/* SPDX-License-Identifier: MIT */
/*
 * trust_keys.c: the keys of the trust model (trust.h): signing a bundle
 * and counting the distinct keys that signed it, the pins (SPKI hashes)
 * of TLS certificates, and the operators' Ed25519 key files, in the
 * formats openssl writes.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "fsutil.h"
#include "trust_int.h"

#define TRUST_KEYFILE_MAX (64 * 1024) /* bytes of a key file */

/* ---- signatures ------------------------------------------------------ */

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

static int trust_ed25519_sign(EVP_PKEY *key, const char *msg, size_t len,
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

static bool trust_ed25519_verify(const unsigned char key[TRUST_KEY_LEN],
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
		return trust_err(err, errlen, -EINVAL,
				 "the signing key is not an Ed25519 key");
	for (i = 0; i < b->nsigs; i++) {
		if (!memcmp(b->sigs[i].key, sig.key, TRUST_KEY_LEN))
			break;
	}
	if (i == TRUST_ITEMS_MAX)
		return trust_err(err, errlen, -ENOSPC,
				 "the bundle already holds %d signatures, the "
				 "most it can",
				 TRUST_ITEMS_MAX);
	if ((rc = trust_bundle_tbs(b, &tbs, &len)) < 0)
		return trust_err(err, errlen, rc,
				 "cannot encode the bundle: %s", strerror(-rc));
	rc = trust_ed25519_sign(key, tbs, len, sig.sig);
	free(tbs);
	if (rc < 0)
		return trust_err(err, errlen, rc, "cannot sign with this key");
	b->sigs[i] = sig;
	if (i == b->nsigs)
		b->nsigs++;
	return 0;
}

static bool trust_key_in(const unsigned char (*keys)[TRUST_KEY_LEN], size_t n,
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
		if (trust_key_in(keys, i, keys[i]))
			continue;
		for (size_t j = 0; j < b->nsigs; j++) {
			if (!memcmp(b->sigs[j].key, keys[i], TRUST_KEY_LEN) &&
			    trust_ed25519_verify(keys[i], b->sigs[j].sig, tbs,
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
		if (!trust_key_in(b->signers, b->nsigners, a->signers[i]))
			return false;
	}
	for (size_t i = 0; i < b->nsigners; i++) {
		if (!trust_key_in(a->signers, a->nsigners, b->signers[i]))
			return false;
	}
	return true;
}

/* ---- pins ------------------------------------------------------------ */

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
	trust_b64_encode(md, 32, out);
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
		return trust_err(err, errlen, -e, "%s: %s", path, strerror(e));
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!x)
		return trust_err(err, errlen, -EINVAL,
				 "%s: no PEM certificate in it", path);
	rc = trust_pin_of_cert(x, out);
	X509_free(x);
	if (rc < 0)
		return trust_err(err, errlen, rc, "%s: cannot compute the pin",
				 path);
	return 0;
}

/* ---- key files ------------------------------------------------------- */

/* Never prompt on a terminal for the passphrase of an encrypted key. */
static int trust_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Create path (refusing an existing one) holding the key as PEM. */
static int trust_write_key(const char *path, mode_t mode, EVP_PKEY *key,
			   bool private, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int e, ok;
	FILE *f;

	if (fd < 0) {
		e = errno;
		return trust_err(err, errlen, -e, "%s: %s", path,
				 e == EEXIST ? "exists; not overwriting it"
					     : strerror(e));
	}
	/* The umask must not loosen nor tighten what the header promises. */
	if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		unlink(path);
		return trust_err(err, errlen, -e, "%s: %s", path, strerror(e));
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
		return trust_err(err, errlen, -(e ? e : EIO),
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
		return trust_err(err, errlen, -ENOMEM, "out of memory");
	memcpy(pub, path, len);
	memcpy(pub + len, ".pub", sizeof(".pub"));
	if (lstat(pub, &st) == 0) {
		rc = trust_err(err, errlen, -EEXIST,
			       "%s: exists; not overwriting it", pub);
		goto out_pub;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key) {
		ERR_clear_error();
		rc = trust_err(err, errlen, -ENOMEM,
			       "cannot generate an Ed25519 key");
		goto out_pub;
	}
	rc = trust_write_key(path, 0600, key, true, err, errlen);
	if (rc == 0 &&
	    (rc = trust_write_key(pub, 0644, key, false, err, errlen)) < 0)
		unlink(path);
	EVP_PKEY_free(key);
out_pub:
	free(pub);
	return rc;
}

/* Judged on the descriptor that is then read (fs_read_checked). */
static int trust_check_key_mode(const struct stat *st, void *arg)
{
	struct fs_checked *k = arg;
	int rc = fs_check_secret_mode(st);

	if (rc == -EINVAL)
		rc = trust_err(k->why, k->whylen, -EINVAL,
			       "%s: not a regular file", k->path);
	else if (rc < 0)
		rc = trust_err(
		    k->why, k->whylen, -EACCES,
		    "%s is %s by others (mode %04o); it must be 0600", k->path,
		    st->st_mode & 044	? "readable"
		    : st->st_mode & 022 ? "writable"
					: "usable",
		    (unsigned)(st->st_mode & 07777));
	else if (st->st_size > TRUST_KEYFILE_MAX)
		rc = trust_err(k->why, k->whylen, -EFBIG,
			       "%s: larger than %d bytes; not a key file",
			       k->path, TRUST_KEYFILE_MAX);
	k->said = rc < 0;
	return rc;
}

static int trust_check_ed25519(const char *path, EVP_PKEY *key, char *err,
			       size_t errlen)
{
	if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519)
		return 0;
	return trust_err(
	    err, errlen, -EINVAL, "%s: a %s key, not Ed25519", path,
	    EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key)
					 : "unknown");
}

int trust_key_load_private(const char *path, EVP_PKEY **ret, char *err,
			   size_t errlen)
{
	struct fs_checked k = { NULL, path, err, errlen, false };
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len = 0;
	BIO *bio;
	int rc;

	rc = fs_read_checked(path, TRUST_KEYFILE_MAX, trust_check_key_mode, &k,
			     &pem, &len);
	if (rc == -EFBIG && !k.said)
		return trust_err(err, errlen, rc,
				 "%s: larger than %d bytes; not a key file",
				 path, TRUST_KEYFILE_MAX);
	if (rc < 0 && !k.said)
		return trust_err(err, errlen, rc, "%s: %s", path,
				 strerror(-rc));
	if (rc < 0)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, trust_no_passphrase,
					      NULL);
	BIO_free(bio);
	fs_free_secret(pem, len);
	ERR_clear_error();
	if (!key)
		return trust_err(
		    err, errlen, -EINVAL,
		    "%s: not a PEM private key (or an encrypted one, "
		    "which is not supported)",
		    path);
	if ((rc = trust_check_ed25519(path, key, err, errlen)) < 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	*ret = key;
	return 0;
}

/* The public key of PEM text: a PUBLIC KEY block, else a private key. */
static EVP_PKEY *trust_read_any_key(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *key = NULL;

	if (bio)
		key = PEM_read_bio_PUBKEY(bio, NULL, trust_no_passphrase, NULL);
	BIO_free(bio);
	if (!key && (bio = BIO_new_mem_buf(buf, (int)len))) {
		key = PEM_read_bio_PrivateKey(bio, NULL, trust_no_passphrase,
					      NULL);
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

	rc = fs_read_file(path, TRUST_KEYFILE_MAX, &buf, &len);
	if (rc == -EFBIG)
		return trust_err(err, errlen, rc,
				 "%s: larger than %d bytes; not a key file",
				 path, TRUST_KEYFILE_MAX);
	if (rc < 0)
		return trust_err(err, errlen, rc, "%s: %s", path,
				 strerror(-rc));
	key = trust_read_any_key(buf, len);
	free(buf);
	if (!key)
		return trust_err(err, errlen, -EINVAL,
				 "%s: not a PEM public or private key", path);
	rc = trust_check_ed25519(path, key, err, errlen);
	if (rc == 0)
		rc = trust_key_raw_public(key, out);
	EVP_PKEY_free(key);
	return rc;
}
