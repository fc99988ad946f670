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

#include "tls.h"

#define TLS_ERR_MAX 200

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
static void tls__ssl_error(char *err, size_t errlen, const char *what)
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

int tls_check_key_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	mode_t mode;

	if (stat(path, &st) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "client-key %s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "client-key %s is not a regular file",
			 path);
		return -EINVAL;
	}
	mode = st.st_mode & 07777;
	if (mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "client-key %s is %s by %s (mode %04o); it must be "
			 "0600 or stricter, like ssh",
			 path,
			 mode & (S_IRGRP | S_IROTH) ? "readable" : "accessible",
			 mode & S_IRWXO ? "others" : "its group",
			 (unsigned)mode);
		return -EACCES;
	}
	return 0;
}

/*
 * Records the first verification failure of a handshake in words; the
 * decision itself stays OpenSSL's (ok is returned unchanged).
 */
static int tls__verify_cb(int ok, X509_STORE_CTX *x)
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
static void tls__info_cb(const SSL *ssl, int where, int ret)
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

static int tls__set_host(SSL_CTX *ctx, const char *host, char *err,
			 size_t errlen)
{
	X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);
	unsigned char addr[16];
	int ok;

	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(p, host);
	} else {
		X509_VERIFY_PARAM_set_hostflags(
		    p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = X509_VERIFY_PARAM_set1_host(p, host, 0);
	}
	if (ok != 1) {
		tls__ssl_error(err, errlen, "host");
		return -EINVAL;
	}
	return 0;
}

/* A missing or unreadable file gets its errno rather than a PEM reason. */
static int tls__readable(const char *what, const char *path, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		int ret = -errno;

		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	fclose(f);
	return 0;
}

/* No passphrase: never OpenSSL's default of asking on the terminal. */
static int tls__no_passphrase(char *buf, int size, int rwflag, void *u)
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
static int tls__load_key(SSL_CTX *ctx, const struct tls_opts *o, char *err,
			 size_t errlen)
{
	char what[64 + PATH_MAX];
	EVP_PKEY *key = NULL;
	bool encrypted = false;
	BIO *bio;
	int r = -EINVAL;

	snprintf(what, sizeof(what), "client-key %s", o->client_key);
	bio = BIO_new_file(o->client_key, "r");
	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, tls__no_passphrase,
					      &encrypted);
	BIO_free(bio);
	if (!key && encrypted) {
		ERR_clear_error();
		snprintf(err, errlen,
			 "%s is encrypted; a passphrase cannot "
			 "be given",
			 what);
		return -EINVAL;
	}
	if (!key) {
		tls__ssl_error(err, errlen, what);
		return -EINVAL;
	}
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match client-cert %s", what,
			 o->client_cert);
	} else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
		   SSL_CTX_check_private_key(ctx) != 1) {
		tls__ssl_error(err, errlen, what);
	} else {
		r = 0;
	}
	EVP_PKEY_free(key);
	return r;
}

static int tls__load_client(SSL_CTX *ctx, const struct tls_opts *o, char *err,
			    size_t errlen)
{
	char what[64 + PATH_MAX];
	int r;

	if (!o->client_cert != !o->client_key) {
		snprintf(err, errlen, "client-cert and client-key go together");
		return -EINVAL;
	}
	if (!o->client_cert)
		return 0;
	r = tls__readable("client-cert", o->client_cert, err, errlen);
	if (r < 0)
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->client_cert) != 1) {
		snprintf(what, sizeof(what), "client-cert %s", o->client_cert);
		tls__ssl_error(err, errlen, what);
		return -EINVAL;
	}
	r = tls_check_key_file(o->client_key, err, errlen);
	if (r < 0)
		return r;
	return tls__load_key(ctx, o, err, errlen);
}

static int tls__load_ca(SSL_CTX *ctx, const char *path, char *err,
			size_t errlen)
{
	char what[64 + PATH_MAX];
	int r = tls__readable("ca-file", path, err, errlen);

	if (r < 0)
		return r;
	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) {
		snprintf(what, sizeof(what), "ca-file %s", path);
		tls__ssl_error(err, errlen, what);
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
		tls__ssl_error(err, errlen, "cannot make a TLS context");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls__verify_cb);
	SSL_CTX_set_info_callback(ctx, tls__info_cb);
	/* Every handshake verifies afresh: a resumed session would skip
	 * the verify hook, and with it a trial of a new trust bundle. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (o->verify) {
		SSL_CTX_set_cert_verify_callback(ctx, o->verify, o->verify_arg);
	} else {
		r = tls__load_ca(ctx, o->ca_file, err, errlen);
		if (r < 0)
			goto free_ctx;
	}
	r = tls__set_host(ctx, o->host, err, errlen);
	if (r < 0)
		goto free_ctx;
	r = tls__load_client(ctx, o, err, errlen);
	if (r < 0)
		goto free_ctx;
	*ret = ctx;
	return 0;

free_ctx:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
