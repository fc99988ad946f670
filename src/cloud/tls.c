/* SPDX-License-Identifier: MIT */
/*
 * tls.c: the cloud link's SSL_CTX.  libmosquitto gets it with
 * MOSQ_OPT_SSL_CTX and MOSQ_OPT_SSL_CTX_WITH_DEFAULTS off; in 2.0.11 that
 * makes net__init_ssl_ctx() return at once, so libmosquitto loads no CA,
 * installs no verify callback and runs no host name check of its own (it
 * would check the address we dial).  Everything below is therefore the
 * whole of the verification.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "fsutil.h"
#include "tls.h"

#define TLS_ERR_MAX 200
/* A PEM file we read: a key, a certificate chain or a CA file. */
#define TLS_PEM_MAX (1024 * 1024)

/* One cloud link per process, and one loop thread: a static will do. */
static char tls_err[TLS_ERR_MAX];

const char *tls_last_error(void)
{
	return tls_err;
}

void tls_note_error(const char *words)
{
	snprintf(tls_err, sizeof(tls_err), "%s", words);
}

/*
 * Writes "<what>: <reason>" to err with OpenSSL's first (root-cause)
 * reason from the error queue, and empties the queue.
 */
static void ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char buf[256];

	if (!reason && e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		reason = buf;
	}
	snprintf(err, errlen, "%s: %s", what,
		 reason ? reason : "unknown error");
	ERR_clear_error();
}

/*
 * Each file is read through fs_read_checked: the checks below see the
 * descriptor that is then read, so the file judged is the file used.
 * A check that refuses says why (struct fs_checked).
 */
/* Like an ssh key: a regular file with no bit for its group or others,
 * owned by root or us as config files are. */
static int check_key(const struct stat *st, void *arg)
{
	struct fs_checked *f = arg;
	mode_t mode = st->st_mode & 07777;
	char why[128];
	int r;

	f->said = true;
	r = fs_check_secret_mode(st);
	if (r == -EINVAL) {
		snprintf(f->why, f->whylen, "%s %s is not a regular file",
			 f->what, f->path);
		return r;
	}
	if (r < 0) {
		snprintf(f->why, f->whylen,
			 "%s %s is %s by %s (mode %04o); it must be "
			 "0600 or stricter, like ssh",
			 f->what, f->path,
			 mode & (S_IRGRP | S_IROTH) ? "readable" : "accessible",
			 mode & S_IRWXO ? "others" : "its group",
			 (unsigned)mode);
		return r;
	}
	r = conf_check_stat(st, why, sizeof(why));
	if (r < 0) {
		snprintf(f->why, f->whylen, "%s %s %s", f->what, f->path, why);
		return r;
	}
	f->said = false;
	return 0;
}

/* A certificate or CA file: held to the rules of config files, as
 * zwgate.conf(5) says (a CA file anyone may write is anyone's CA). */
static int check_public(const struct stat *st, void *arg)
{
	struct fs_checked *f = arg;
	char why[128];
	int r = conf_check_stat(st, why, sizeof(why));

	if (r < 0) {
		snprintf(f->why, f->whylen, "%s %s %s", f->what, f->path, why);
		f->said = true;
	}
	return r;
}

/* The file that check accepts, or -errno with a sentence in err. */
static int read_file(const char *what, const char *path, fs_check_fn check,
		     char *err, size_t errlen, char **ret, size_t *ret_len)
{
	struct fs_checked f = { what, path, err, errlen, false };
	int r = fs_read_checked(path, TLS_PEM_MAX, check, &f, ret, ret_len);

	if (r < 0 && !f.said)
		snprintf(err, errlen, "%s %s: %s", what, path,
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	return r;
}

int tls_check_key_file(const char *path, char *err, size_t errlen)
{
	char *pem = NULL;
	size_t len = 0;
	int r =
	    read_file("client-key", path, check_key, err, errlen, &pem, &len);

	fs_free_secret(pem, len);
	return r;
}

/*
 * Records the first verification failure of a handshake in words; the
 * decision itself stays OpenSSL's (ok is returned unchanged).
 */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(x);
	X509 *cert = X509_STORE_CTX_get_current_cert(x);
	int e = X509_STORE_CTX_get_error(x);
	char subject[96] = "", *ip;
	const char *host;

	if (ok || tls_err[0])
		return ok;
	if (e == X509_V_ERR_HOSTNAME_MISMATCH ||
	    e == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		host = X509_VERIFY_PARAM_get0_host(p, 0);
		ip = host ? NULL : X509_VERIFY_PARAM_get1_ip_asc(p);
		snprintf(tls_err, sizeof(tls_err),
			 "certificate verify failed: %s (%s)",
			 X509_verify_cert_error_string(e),
			 host ? host
			 : ip ? ip
			      : "?");
		OPENSSL_free(ip);
		return ok;
	}
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
				  sizeof(subject));
	snprintf(tls_err, sizeof(tls_err),
		 "certificate verify failed: %s (depth %d, %s)",
		 X509_verify_cert_error_string(e),
		 X509_STORE_CTX_get_error_depth(x), subject);
	return ok;
}

/*
 * At the start of each handshake: forget the last failure, and send our
 * host name as SNI.  libmosquitto sets SNI to the address it dials,
 * which with connect-to is a numeric address (not allowed in SNI, and
 * useless to a broker behind a name-based load balancer); this runs
 * inside SSL_connect() before the ClientHello is built, so ours wins.
 * (The SSL is const only in the callback's type: it is libmosquitto's.)
 */
static void info_cb(const SSL *ssl, int where, int ret)
{
	SSL *s = (SSL *)ssl;
	const char *host;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	tls_err[0] = '\0';
	host = X509_VERIFY_PARAM_get0_host(SSL_get0_param(s), 0);
	SSL_set_tlsext_host_name(s, host); /* NULL (an IP host): no SNI */
}

static int set_host(SSL_CTX *ctx, const char *host, char *err, size_t errlen)
{
	X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);
	unsigned char addr[16];
	int ok;

	/* Another host's name or address must not stay. */
	ok = X509_VERIFY_PARAM_set1_host(p, NULL, 0) == 1 &&
	     X509_VERIFY_PARAM_set1_ip(p, NULL, 0) == 1;
	if (ok != 1) {
		ssl_error(err, errlen, "host");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(p, host);
	} else {
		X509_VERIFY_PARAM_set_hostflags(
		    p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = X509_VERIFY_PARAM_set1_host(p, host, 0);
	}
	if (ok != 1) {
		ssl_error(err, errlen, "host");
		return -EINVAL;
	}
	return 0;
}

int tls_ctx_set_host(SSL_CTX *ctx, const char *host)
{
	char err[128];

	return set_host(ctx, host, err, sizeof(err));
}

/* No passphrase: never OpenSSL's default of asking on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/*
 * The key is read here rather than by SSL_CTX_use_PrivateKey_file(), which
 * would refuse a key of another certificate with a bare "key values
 * mismatch"; the match is then checked on its own, to say so in words.
 */
static int load_key(SSL_CTX *ctx, const struct tls_opts *o, char *err,
		    size_t errlen)
{
	char what[64 + PATH_MAX], *pem;
	EVP_PKEY *key = NULL;
	bool encrypted = false;
	size_t len;
	BIO *bio;
	int r;

	r = read_file("client-key", o->client_key, check_key, err, errlen, &pem,
		      &len);
	if (r < 0)
		return r;
	r = -EINVAL;
	snprintf(what, sizeof(what), "client-key %s", o->client_key);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase,
					      &encrypted);
	BIO_free(bio);
	fs_free_secret(pem, len);
	if (!key && encrypted) {
		ERR_clear_error();
		snprintf(err, errlen,
			 "%s is encrypted; a passphrase cannot "
			 "be given",
			 what);
		return -EINVAL;
	}
	if (!key) {
		ssl_error(err, errlen, what);
		return -EINVAL;
	}
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match client-cert %s", what,
			 o->client_cert);
	} else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
		   SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, what);
	} else {
		r = 0;
	}
	EVP_PKEY_free(key);
	return r;
}

/*
 * What SSL_CTX_use_certificate_chain_file() does, from the bytes read:
 * the first certificate is ours, the rest its chain.  1 or 0.
 */
static int use_chain(SSL_CTX *ctx, BIO *bio)
{
	X509 *x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	unsigned long e;
	int ok;

	if (!x)
		return 0;
	ok = SSL_CTX_use_certificate(ctx, x) == 1 &&
	     SSL_CTX_clear_chain_certs(ctx) == 1;
	X509_free(x);
	while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		ok = SSL_CTX_add0_chain_cert(ctx, x) == 1;
		if (!ok)
			X509_free(x);
	}
	/* The end of the file shows as "no start line". */
	e = ERR_peek_last_error();
	if (ok && ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	else if (ok && e)
		ok = 0;
	return ok;
}

static int load_client(SSL_CTX *ctx, const struct tls_opts *o, char *err,
		       size_t errlen)
{
	char what[64 + PATH_MAX], *pem;
	size_t len;
	BIO *bio;
	int r, ok;

	if (!o->client_cert != !o->client_key) {
		snprintf(err, errlen, "client-cert and client-key go together");
		return -EINVAL;
	}
	if (!o->client_cert)
		return 0;
	r = read_file("client-cert", o->client_cert, check_public, err, errlen,
		      &pem, &len);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(pem, (int)len);
	ok = bio && use_chain(ctx, bio);
	BIO_free(bio);
	free(pem);
	if (!ok) {
		snprintf(what, sizeof(what), "client-cert %s", o->client_cert);
		ssl_error(err, errlen, what);
		return -EINVAL;
	}
	return load_key(ctx, o, err, errlen);
}

/*
 * What SSL_CTX_load_verify_locations() does with a file, from the bytes
 * read: every certificate (and CRL) in it is an anchor.  1 or 0.
 */
static int add_anchors(SSL_CTX *ctx, BIO *bio)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_INFO) *infos =
	    PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	int n = 0, ok = infos != NULL;

	for (int i = 0; ok && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);

		if (xi->x509 && (ok = X509_STORE_add_cert(store, xi->x509)))
			n++;
		if (ok && xi->crl && (ok = X509_STORE_add_crl(store, xi->crl)))
			n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (ok && !n) {
		ERR_raise(ERR_LIB_X509, X509_R_NO_CERTIFICATE_OR_CRL_FOUND);
		ok = 0;
	}
	return ok;
}

static int load_ca(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	char what[64 + PATH_MAX], *pem;
	size_t len;
	BIO *bio;
	int r, ok;

	r = read_file("ca-file", path, check_public, err, errlen, &pem, &len);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(pem, (int)len);
	ok = bio && add_anchors(ctx, bio);
	BIO_free(bio);
	free(pem);
	if (!ok) {
		snprintf(what, sizeof(what), "ca-file %s", path);
		ssl_error(err, errlen, what);
		return -EINVAL;
	}
	return 0;
}

int tls_ctx_new(const struct tls_opts *o, SSL_CTX **ret, char *err,
		size_t errlen)
{
	SSL_CTX *ctx;
	int r;

	if (!o->host || !o->host[0] || !o->ca_file == !o->verify) {
		snprintf(err, errlen,
			 "TLS needs a host and a CA file or a trust bundle");
		return -EINVAL;
	}
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_error(err, errlen, "cannot make a TLS context");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	/* Every handshake verifies afresh: a resumed session would skip
	 * the verify hook, and with it a trial of a new trust bundle. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (o->verify) {
		SSL_CTX_set_cert_verify_callback(ctx, o->verify, o->verify_arg);
	} else {
		r = load_ca(ctx, o->ca_file, err, errlen);
		if (r < 0)
			goto free_ctx;
	}
	r = set_host(ctx, o->host, err, errlen);
	if (r < 0)
		goto free_ctx;
	r = load_client(ctx, o, err, errlen);
	if (r < 0)
		goto free_ctx;
	*ret = ctx;
	return 0;

free_ctx:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
