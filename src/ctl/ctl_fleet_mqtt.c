/* SPDX-License-Identifier: MIT */
/*
 * ctl_fleet_mqtt.c: `zwgatectl fleet` on the broker.  A short blocking
 * libmosquitto session with the operator's own credentials: MQTT 3.1.1
 * (which RabbitMQ 3.10 and mosquitto both speak), TLS verified against
 * --cafile and the broker's name as given with -h (dialling
 * --connect-to's address instead when given, as the gateway's config
 * can), a clean session.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ctl_fleet_int.h"

#define FLEET_QUIET_MS	 700 /* no message this long: all retained in */
#define FLEET_CONNECT_MS 10000

struct session {
	const char *const *filters;
	size_t nfilters;
	size_t subacked;
	fleet_msg_fn fn;
	void *ctx;
	const char *host; /* the name verified */
	const char *addr; /* the address dialled */
	SSL_CTX *ssl;
	int connack;	       /* -1 until CONNACK */
	const char *pub_topic; /* published once connected */
	const void *pub_payload;
	size_t pub_len;
	int pub_rc;
	int mid; /* the publish waited for */
	bool acked;
	bool lost;
	uint64_t last_ms; /* the last SUBACK or message */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct session *s = arg;

	s->connack = rc;
	for (size_t i = 0; rc == 0 && i < s->nfilters; i++)
		mosquitto_subscribe(m, NULL, s->filters[i], 1);
	if (rc == 0 && s->pub_topic)
		s->pub_rc =
		    mosquitto_publish(m, &s->mid, s->pub_topic, (int)s->pub_len,
				      s->pub_payload, 1, true);
	s->last_ms = now_ms();
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n,
			 const int *granted)
{
	struct session *s = arg;

	(void)m;
	(void)mid;
	(void)n;
	(void)granted;
	s->subacked++;
	s->last_ms = now_ms();
}

static void on_message(struct mosquitto *m, void *arg,
		       const struct mosquitto_message *msg)
{
	struct session *s = arg;

	(void)m;
	s->last_ms = now_ms();
	if (s->fn)
		s->fn(s->ctx, s->host, msg->topic, msg->payload,
		      (size_t)msg->payloadlen);
}

static void on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct session *s = arg;

	(void)m;
	if (mid == s->mid)
		s->acked = true;
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct session *s = arg;

	(void)m;
	(void)rc;
	s->lost = true;
}

/* Why the last handshake's chain was refused ("" if it was not). */
static char verify_error[160];

static int on_verify(int ok, X509_STORE_CTX *x)
{
	int e = X509_STORE_CTX_get_error(x);

	if (!ok && !verify_error[0])
		snprintf(verify_error, sizeof(verify_error),
			 "certificate verify failed: %s",
			 X509_verify_cert_error_string(e));
	return ok;
}

/* What went wrong in TLS, best known first. */
static const char *tls_why(unsigned long e)
{
	if (verify_error[0])
		return verify_error;
	return e ? ERR_reason_error_string(e) : "TLS handshake failed";
}

/* "what file: the first OpenSSL error". */
static void tls_words(char *err, size_t errlen, const char *what,
		      const char *file)
{
	unsigned long e = ERR_peek_last_error();

	snprintf(err, errlen, "%s %s: %s", what, file,
		 e ? ERR_reason_error_string(e) : "cannot be used");
	ERR_clear_error();
}

/*
 * Our own context: libmosquitto would check the name against the
 * address it dials, so its check is off (tls_insecure) and this one
 * checks the name given with -h instead.
 */
static SSL_CTX *tls_ctx(const struct fleet_opts *o, const char *name, char *err,
			size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *p = ctx ? SSL_CTX_get0_param(ctx) : NULL;
	unsigned char ip[16];
	int ok;

	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
	if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1) {
		tls_words(err, errlen, "--cafile", o->cafile);
		goto fail;
	}
	if (o->cert &&
	    (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		tls_words(err, errlen, "--cert/--key", o->cert);
		goto fail;
	}
	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(p, name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(
		    p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = X509_VERIFY_PARAM_set1_host(p, name, 0);
	}
	if (ok == 1)
		return ctx;
	snprintf(err, errlen, "bad broker name %s", name);
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static struct mosquitto *session_new(const struct fleet_opts *o,
				     struct session *s, char *err,
				     size_t errlen)
{
	struct mosquitto *m = mosquitto_new(NULL, true, s);
	int rc;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < o->nhosts; i++)
		if (o->hosts[i] == s->host && o->nconnect > i)
			s->addr = o->connect_to[i];
	if (!s->addr)
		s->addr = s->host;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	s->ssl = tls_ctx(o, s->host, err, errlen);
	if (!s->ssl) {
		mosquitto_destroy(m);
		return NULL;
	}
	rc = mosquitto_int_option(m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_void_option(m, MOSQ_OPT_SSL_CTX, s->ssl);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(m, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "TLS: %s", mosquitto_strerror(rc));
		mosquitto_destroy(m);
		SSL_CTX_free(s->ssl);
		s->ssl = NULL;
		return NULL;
	}
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	return m;
}

static const char *connack_words(int rc)
{
	switch (rc) {
	case 1:
		return "unacceptable protocol version";
	case 2:
		return "client id refused";
	case 3:
		return "broker unavailable";
	case 4:
		return "bad user name or password";
	case 5:
		return "not authorised";
	default:
		return "refused";
	}
}

/* Connect to host and run until done(s) or the time is up. */
static int session_run(struct mosquitto *m, struct session *s,
		       const struct fleet_opts *o,
		       bool (*done)(struct session *), uint64_t limit_ms,
		       char *err, size_t errlen)
{
	uint64_t start = now_ms();
	int rc;
	unsigned long e;

	verify_error[0] = '\0';
	rc = mosquitto_connect(m, s->addr, (int)o->port, 30);
	e = ERR_peek_last_error();

	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "cannot connect to %s (%s) port %u: %s",
			 s->host, s->addr, o->port,
			 rc == MOSQ_ERR_ERRNO ? strerror(errno)
			 : rc == MOSQ_ERR_TLS ? tls_why(e)
					      : mosquitto_strerror(rc));
		ERR_clear_error();
		return -1;
	}
	while (!s->lost) {
		rc = mosquitto_loop(m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			e = ERR_peek_last_error();
			s->lost = true;
			break;
		}
		if (s->connack > 0) {
			snprintf(err, errlen, "%s port %u refused us: %s",
				 s->host, o->port, connack_words(s->connack));
			return -1;
		}
		if (s->connack == 0 && done(s))
			return 0;
		if (s->connack < 0 && now_ms() - start > FLEET_CONNECT_MS)
			break;
		if (s->connack == 0 && now_ms() - start > limit_ms) {
			snprintf(err, errlen, "%s port %u: no answer in %.1f s",
				 s->host, o->port, (double)limit_ms / 1000);
			return -1;
		}
	}
	if (s->connack < 0 && (rc == MOSQ_ERR_TLS || verify_error[0])) {
		snprintf(err, errlen, "%s port %u: %s", s->host, o->port,
			 tls_why(e));
		ERR_clear_error();
		return -1;
	}
	snprintf(err, errlen,
		 "%s port %u: %s (is it the broker's name, are --cafile, "
		 "--cert and --key right?)",
		 s->host, o->port,
		 s->connack < 0 ? "no MQTT session (TLS refused, or the "
				  "connection was closed)"
				: "the connection was lost");
	return -1;
}

static bool collected(struct session *s)
{
	return s->subacked >= s->nfilters &&
	       now_ms() - s->last_ms >= FLEET_QUIET_MS;
}

int fleet_collect(const struct fleet_opts *o, const char *host,
		  const char *const *filters, size_t nfilters, fleet_msg_fn fn,
		  void *ctx, char *err, size_t errlen)
{
	struct session s = { .filters = filters,
			     .nfilters = nfilters,
			     .fn = fn,
			     .ctx = ctx,
			     .host = host,
			     .connack = -1 };
	struct mosquitto *m = session_new(o, &s, err, errlen);
	int r;

	if (!m)
		return -1;
	r = session_run(m, &s, o, collected, o->wait_ms + FLEET_CONNECT_MS, err,
			errlen);
	/* Whatever came until the limit is what there is. */
	if (r < 0 && s.connack == 0 && s.subacked >= nfilters && !s.lost)
		r = 0;
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	SSL_CTX_free(s.ssl);
	return r;
}

static bool published(struct session *s)
{
	return s->acked || s->pub_rc != MOSQ_ERR_SUCCESS;
}

int fleet_publish(const struct fleet_opts *o, const char *host,
		  const char *topic, const void *payload, size_t len, char *err,
		  size_t errlen)
{
	struct session s = { .host = host,
			     .connack = -1,
			     .mid = -1,
			     .pub_topic = topic,
			     .pub_payload = payload,
			     .pub_len = len };
	struct mosquitto *m = session_new(o, &s, err, errlen);
	int r;

	if (!m)
		return -1;
	r = session_run(m, &s, o, published, FLEET_CONNECT_MS, err, errlen);
	if (s.pub_rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "cannot publish on %s: %s", topic,
			 mosquitto_strerror(s.pub_rc));
		r = -1;
	}
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	SSL_CTX_free(s.ssl);
	return r;
}
