/* SPDX-License-Identifier: MIT */
/*
 * tls.h: the TLS client context of the cloud link, built here rather than
 * by libmosquitto so that verification is ours: the CA file only (never
 * the OS store), the broker's host name checked even when we dial an
 * address (connect-to), TLS 1.2 minimum, no maximum, the device's client
 * certificate.  The trust issue extends this with pins and bundles.
 */
#ifndef ZWGATE_TLS_H
#define ZWGATE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tls_opts {
	const char *host;    /* the name the certificate must carry */
	const char *ca_file; /* PEM anchors, or NULL with verify */
	/*
	 * Or the whole chain decision (trust_link.c): installed with
	 * SSL_CTX_set_cert_verify_callback, the hook libmosquitto leaves
	 * alone; the context's own store then stays empty.
	 */
	int (*verify)(X509_STORE_CTX *ctx, void *arg);
	void *verify_arg;
	const char *client_cert; /* PEM, may be NULL (no mutual TLS) */
	const char *client_key;	 /* PEM, mode 0600 or stricter */
};

/*
 * A new SSL_CTX, or -errno with a sentence in err naming the file and
 * OpenSSL's reason.  A key file readable by group or others is -EACCES.
 * Each file is checked on the descriptor it is then read from (owner and
 * mode as zwgate.conf(5) says): one swapped after the check is not used.
 */
int tls_ctx_new(const struct tls_opts *o, SSL_CTX **ret, char *err,
		size_t errlen);

/*
 * Is the key file private enough (regular file, no group/other access,
 * owned by root or us)?  0, or -EACCES / -errno with a sentence in err.
 */
int tls_check_key_file(const char *path, char *err, size_t errlen);
/*
 * The broker name (or address) the next connections made from ctx
 * verify, and send as SNI: with several brokers, the one dialled next.
 * 0 or -EINVAL.
 */
int tls_ctx_set_host(SSL_CTX *ctx, const char *host);

/* Why the last handshake failed, in words, or "" (for status). */
const char *tls_last_error(void);
/* Replace it: the verify hook knows better than OpenSSL's first error. */
void tls_note_error(const char *words);

#endif
