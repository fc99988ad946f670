/* SPDX-License-Identifier: MIT */
/*
 * The TLS context and the MQTT client.  The parts that need no broker
 * (backoff, key file modes, context errors, a refused connect, a connect
 * that times out) always run, on a PKI made by tests/pki.sh in a scratch
 * directory unless ZWGATE_TEST_PKI names one.  The rest talks to real
 * mosquitto brokers on 127.0.0.1 started by tests/integration/mqtt.sh,
 * which exports:
 *   ZWGATE_TEST_PORT            mutual TLS, good server certificate
 *   ZWGATE_TEST_PORT_UNTRUSTED  server certificate from an untrusted CA
 *   ZWGATE_TEST_PORT_WRONGHOST  server certificate for wrong.test
 *   ZWGATE_TEST_RESTART_DIR, ZWGATE_TEST_RESTART_PORT and
 *   ZWGATE_TEST_BROKER_SH       a broker this test stops and restarts
 * and those tests skip without them.  ZWGATE_TEST_ONLY="test_will" (a
 * cmocka filter) runs some tests only.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mqtt.h"
#include "tls.h"
#include "testutil.h"

#define WAIT_MS	 8000
#define MAX_MIDS 16

static char tmp[64]; /* this run's scratch directory, removed at the end */
static char pki[256];
static char prefix[64]; /* topics of this run: zwtest/<pid>-<n> */

struct client {
	struct fx *f;
	struct mqtt *m;
	unsigned connected;
	bool session_present;
	unsigned disconnected;
	char why[160];
	enum mqtt_state state_at_disconnect;
	unsigned messages;
	char topic[128];
	char payload[256];
	size_t len;
	bool retained; /* of the last message */
	int mids[MAX_MIDS];
	unsigned published;
	bool stop_on_message;
};

struct fx {
	uv_loop_t loop;
	struct client c[2];
	SSL_CTX *ctx;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned env_port(const char *name)
{
	const char *v = getenv(name);

	return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

static void pki_path(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", pki, file);
}

/* The size of a buffer for pki_files. */
#define PKI_PATH_MAX 300

/* The CA, the client's certificate and key, and (unless skey is NULL) the
 * server's key of the test PKI, each in a buffer of PKI_PATH_MAX. */
static void pki_files(char *ca, char *crt, char *key, char *skey)
{
	pki_path(ca, PKI_PATH_MAX, "ca.crt");
	pki_path(crt, PKI_PATH_MAX, "client.crt");
	pki_path(key, PKI_PATH_MAX, "client.key");
	if (skey)
		pki_path(skey, PKI_PATH_MAX, "server.key");
}

/* ---- callbacks ---- */

static void on_connected(void *ctx, bool session_present)
{
	struct client *c = ctx;

	c->connected++;
	c->session_present = session_present;
}

static void on_disconnected(void *ctx, const char *why)
{
	struct client *c = ctx;
	struct mqtt_info info;

	c->disconnected++;
	snprintf(c->why, sizeof(c->why), "%s", why);
	mqtt_get_info(c->m, &info);
	c->state_at_disconnect = info.state;
}

static void on_message(void *ctx, const char *topic, const void *payload,
		       size_t len, bool retained)
{
	struct client *c = ctx;

	c->messages++;
	c->retained = retained;
	snprintf(c->topic, sizeof(c->topic), "%s", topic);
	c->len = len < sizeof(c->payload) - 1 ? len : sizeof(c->payload) - 1;
	memcpy(c->payload, payload, c->len);
	c->payload[c->len] = '\0';
	if (c->stop_on_message) {
		mqtt_stop(c->m);
		c->m = NULL;
	}
}

static void on_published(void *ctx, int mid)
{
	struct client *c = ctx;

	if (c->published < MAX_MIDS)
		c->mids[c->published] = mid;
	c->published++;
}

/* ---- loop helpers ---- */

typedef bool (*pred_fn)(struct client *c, const void *arg);

struct until {
	pred_fn pred;
	struct client *c;
	const void *arg;
};

static bool until_done(void *arg)
{
	struct until *u = arg;

	return u->pred(u->c, u->arg);
}

static bool run_until(struct fx *f, struct client *c, pred_fn pred,
		      const void *arg, unsigned ms)
{
	struct until u = { pred, c, arg };

	return tu_run_until(&f->loop, until_done, &u, ms);
}

static void run_for(struct fx *f, unsigned ms)
{
	tu_run_for(&f->loop, ms);
}

static bool connected_n(struct client *c, const void *arg)
{
	return c->connected >= *(const unsigned *)arg;
}

static bool disconnected_n(struct client *c, const void *arg)
{
	return c->disconnected >= *(const unsigned *)arg;
}

static bool messages_n(struct client *c, const void *arg)
{
	return c->messages >= *(const unsigned *)arg;
}

static bool published_n(struct client *c, const void *arg)
{
	return c->published >= *(const unsigned *)arg;
}

static bool payload_is(struct client *c, const void *arg)
{
	return c->messages && strcmp(c->payload, arg) == 0;
}

static bool error_has(struct client *c, const void *arg)
{
	struct mqtt_info info;

	mqtt_get_info(c->m, &info);
	return strstr(info.last_error, arg) != NULL;
}

static void wait_connected(struct fx *f, struct client *c, unsigned n)
{
	struct mqtt_info info;

	if (!run_until(f, c, connected_n, &n, WAIT_MS)) {
		mqtt_get_info(c->m, &info);
		fail_msg("not connected (%s, last error: %s)",
			 mqtt_state_name(info.state), info.last_error);
	}
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	for (int i = 0; i < 2; i++)
		f->c[i].f = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 2; i++) {
		mqtt_stop(f->c[i].m);
		f->c[i].m = NULL;
	}
	SSL_CTX_free(f->ctx);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static SSL_CTX *make_ctx(const char *host)
{
	char ca[PKI_PATH_MAX], crt[PKI_PATH_MAX], key[PKI_PATH_MAX], err[512];
	struct tls_opts o = {
		.host = host,
		.ca_file = ca,
		.client_cert = crt,
		.client_key = key,
	};
	SSL_CTX *ctx = NULL;
	int r;

	pki_files(ca, crt, key, NULL);
	r = tls_ctx_new(&o, &ctx, err, sizeof(err));
	if (r < 0)
		fail_msg("tls_ctx_new: %s", err);
	return ctx;
}

static struct mqtt_opts base_opts(struct fx *f, const char *host, unsigned port,
				  const char *id)
{
	struct mqtt_opts o = {
		.hosts = { host },
		.port = port,
		.protocol = 4,
		.client_id = id,
		.keepalive_s = 30,
		.ssl_ctx = f->ctx,
		.backoff_max_ms = 300,
		.connect_timeout_ms = 3000,
	};

	return o;
}

static void start(struct fx *f, struct client *c, const struct mqtt_opts *o)
{
	struct mqtt_cbs cbs = {
		.connected = on_connected,
		.disconnected = on_disconnected,
		.message = on_message,
		.published = on_published,
		.ctx = c,
	};

	assert_int_equal(mqtt_start(&f->loop, o, &cbs, &c->m), 0);
}

static void stop(struct client *c)
{
	mqtt_stop(c->m);
	c->m = NULL;
}

static void client_id(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "test-%d-%s", (int)getpid(), what);
}

static unsigned need_port(const char *name)
{
	unsigned p = env_port(name);

	if (!p) {
		tu_skip("%s not set: needs tests/integration/mqtt.sh", name);
	}
	return p;
}

/* ---- pure ---- */

static void test_backoff(void **state)
{
	uint64_t prev_max = 0;

	(void)state;
	for (unsigned a = 0; a < 40; a++) {
		uint64_t ceiling = a < 20 ? (uint64_t)1000 << a : UINT64_MAX;
		uint64_t lo = UINT64_MAX, hi = 0;

		if (ceiling > MQTT_BACKOFF_MAX_MS)
			ceiling = MQTT_BACKOFF_MAX_MS;
		for (uint32_t i = 0; i < 20000; i++) {
			uint32_t r = i * 2654435761u;
			uint64_t d = mqtt_backoff_ms(a, r);

			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		assert_true(lo >= MQTT_BACKOFF_MIN_MS / 2);
		assert_true(hi <= ceiling);
		/* Full jitter: the whole range gets used. */
		assert_true(lo < MQTT_BACKOFF_MIN_MS / 2 + ceiling / 50 + 1);
		assert_true(hi > ceiling - ceiling / 50 - 1);
		if (ceiling < MQTT_BACKOFF_MAX_MS)
			assert_true(hi > prev_max);
		prev_max = hi;
	}
	assert_int_equal(mqtt_backoff_ms(0, 0), MQTT_BACKOFF_MIN_MS / 2);
	assert_int_equal(mqtt_backoff_ms(0, 500), 1000);
	assert_int_equal(mqtt_backoff_ms(UINT32_MAX, UINT32_MAX),
			 MQTT_BACKOFF_MIN_MS / 2 +
			     UINT32_MAX % (MQTT_BACKOFF_MAX_MS -
					   MQTT_BACKOFF_MIN_MS / 2 + 1));
	assert_string_equal(mqtt_state_name(MQTT_BACKOFF), "backoff");
	assert_string_equal(mqtt_state_name(MQTT_CONNECTED), "connected");
}

/* Bad options fail at once, start nothing, call nothing back. */
static void test_bad_opts(void **state)
{
	struct fx *f = *state;
	struct mqtt_cbs cbs = { .ctx = &f->c[0] };
	struct mqtt_opts o = base_opts(f, "localhost", 1883, "x");
	struct mqtt *m = NULL;

	o.ssl_ctx = NULL;
	o.port = 0;
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	o.port = 1883;
	o.protocol = 3;
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	o.protocol = 5;
	o.client_id = "";
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	o.client_id = "x";
	o.subs[0] = "a/#/b";
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	for (int i = 0; i <= MQTT_SUBS_MAX; i++)
		o.subs[i] = "a/+";
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	memset(o.subs, 0, sizeof(o.subs));
	o.keepalive_s = 2;
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	o.keepalive_s = 30;
	o.will_topic = "a/+";
	o.will_payload = "offline";
	assert_int_equal(mqtt_start(&f->loop, &o, &cbs, &m), -EINVAL);
	assert_null(m);
	assert_int_equal(mqtt_publish(NULL, "a", "b", 1, false, NULL),
			 -ENOTCONN);
	mqtt_stop(NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	assert_int_equal(tu_write_file(path, text, mode), 0);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[8192];
	FILE *in = fopen(from, "r");
	size_t n;

	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	fclose(in);
	buf[n] = '\0';
	write_file(to, buf, mode);
}

static void test_key_modes(void **state)
{
	char dir[128], path[160], err[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/keys", tmp);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/k.key", dir);
	write_file(path, "x", 0600);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "is readable by others (mode 0644); it "
				    "must be 0600 or stricter, like ssh"));
	assert_non_null(strstr(err, path));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "readable by its group (mode 0640)"));
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), -EACCES);
	assert_int_equal(tls_check_key_file(dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	assert_int_equal(tls_check_key_file(path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	rmdir(dir);
}

static int ctx_new(const char *ca, const char *crt, const char *key, char *err,
		   size_t errlen)
{
	struct tls_opts o = {
		.host = "broker.test",
		.ca_file = ca,
		.client_cert = crt,
		.client_key = key,
	};
	SSL_CTX *ctx = NULL;
	int r = tls_ctx_new(&o, &ctx, err, errlen);

	assert_true(r < 0 ? ctx == NULL : ctx != NULL);
	SSL_CTX_free(ctx);
	return r;
}

static void test_ctx_errors(void **state)
{
	char ca[PKI_PATH_MAX], crt[PKI_PATH_MAX], key[PKI_PATH_MAX],
	    skey[PKI_PATH_MAX], junk[128], loose[128], enc[128], err[512],
	    cmd[1024];

	(void)state;
	pki_files(ca, crt, key, skey);
	snprintf(junk, sizeof(junk), "%s/junk.pem", tmp);
	snprintf(loose, sizeof(loose), "%s/loose.key", tmp);
	write_file(junk, "not a certificate\n", 0644);
	copy_file(key, loose, 0644);

	assert_int_equal(ctx_new(ca, crt, key, err, sizeof(err)), 0);
	assert_int_equal(ctx_new(ca, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(
	    ctx_new("/nonexistent/ca.crt", crt, key, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "ca-file /nonexistent/ca.crt"));
	assert_int_equal(ctx_new(junk, crt, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ca-file "));
	assert_non_null(strstr(err, junk));
	assert_int_equal(ctx_new(ca, junk, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "client-cert "));
	assert_non_null(strstr(err, "no start line"));
	assert_int_equal(ctx_new(ca, crt, skey, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(ctx_new(ca, crt, loose, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "is readable by others (mode 0644)"));
	/* An encrypted key: refused, without asking for a passphrase. */
	snprintf(cmd, sizeof(cmd),
		 "openssl pkey -in '%s' -aes256 -passout pass:secret "
		 "-out '%s/enc.key' && chmod 600 '%s/enc.key'",
		 key, tmp, tmp);
	assert_int_equal(system(cmd), 0);
	snprintf(enc, sizeof(enc), "%s/enc.key", tmp);
	assert_int_equal(ctx_new(ca, crt, enc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, enc));
	assert_non_null(strstr(err, "is encrypted"));
	assert_int_equal(ctx_new(ca, crt, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(ctx_new(ca, NULL, key, err, sizeof(err)), -EINVAL);
	unlink(junk);
	unlink(loose);
}

/*
 * The race between a file's check and its read, made to happen every
 * time: once armed, the first stat() or fstat() in this process that
 * sees the armed file renames race_with over its path, as someone who
 * can write the key's directory would between the check and the read.
 * (These two replace the C library's for the whole test program; they
 * only pass the call on unless armed.)
 */
static char race_path[300], race_with[300];
static dev_t race_dev;
static ino_t race_ino;
static bool race_done;

static void race_arm(const char *path, const char *with)
{
	struct stat st;

	assert_int_equal(fstatat(AT_FDCWD, path, &st, 0), 0);
	race_dev = st.st_dev;
	race_ino = st.st_ino;
	race_done = false;
	snprintf(race_with, sizeof(race_with), "%s", with);
	snprintf(race_path, sizeof(race_path), "%s", path);
}

static void race_after(const struct stat *st)
{
	if (race_path[0] && st->st_dev == race_dev && st->st_ino == race_ino) {
		race_done = rename(race_with, race_path) == 0;
		race_path[0] = '\0';
	}
}

int stat(const char *restrict path, struct stat *restrict st)
{
	int r = fstatat(AT_FDCWD, path, st, 0);

	if (r == 0)
		race_after(st);
	return r;
}

int fstat(int fd, struct stat *st)
{
	int r = fstatat(fd, "", st, AT_EMPTY_PATH);

	if (r == 0)
		race_after(st);
	return r;
}

/*
 * The key checked is the key used: swapped for a loose (0644) key of
 * another certificate right after the check, the context still gets the
 * checked one.  A check of the path and a second open would read the
 * loose key ("does not match").
 */
static void test_key_swapped_after_check(void **state)
{
	char ca[PKI_PATH_MAX], crt[PKI_PATH_MAX], key[PKI_PATH_MAX],
	    skey[PKI_PATH_MAX], path[128], loose[128], err[512];
	struct stat st;

	(void)state;
	pki_files(ca, crt, key, skey);
	snprintf(path, sizeof(path), "%s/swapped.key", tmp);
	snprintf(loose, sizeof(loose), "%s/loose-other.key", tmp);
	copy_file(key, path, 0600);
	copy_file(skey, loose, 0644);
	race_arm(path, loose);
	err[0] = '\0';
	assert_int_equal(ctx_new(ca, crt, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* The swap did happen: the path now holds the loose key. */
	assert_true(race_done);
	assert_int_equal(fstatat(AT_FDCWD, path, &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(ctx_new(ca, crt, path, err, sizeof(err)), -EACCES);
	unlink(path);
}

/* A CA file is held to the rules of config files where it is read. */
static void test_ca_checked(void **state)
{
	char ca[PKI_PATH_MAX], crt[PKI_PATH_MAX], key[PKI_PATH_MAX], path[128],
	    err[512];

	(void)state;
	pki_files(ca, crt, key, NULL);
	snprintf(path, sizeof(path), "%s/open-ca.crt", tmp);
	copy_file(ca, path, 0646);
	assert_int_equal(ctx_new(path, crt, key, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "ca-file "));
	assert_non_null(strstr(err, path));
	assert_non_null(
	    strstr(err, "is writable by others (mode 0646); refusing it"));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(ctx_new(path, crt, key, err, sizeof(err)), 0);
	unlink(path);
}

/* The context checks what we ask for, and nothing of the OS's. */
static void test_ctx_settings(void **state)
{
	SSL_CTX *ctx = make_ctx("broker.test");
	X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);
	char *ip;

	(void)state;
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_max_proto_version(ctx), 0);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	assert_string_equal(X509_VERIFY_PARAM_get0_host(p, 0), "broker.test");
	assert_int_equal(X509_VERIFY_PARAM_get_hostflags(p),
			 X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* Exactly one anchor: ours. */
	assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(
			     SSL_CTX_get_cert_store(ctx))),
			 1);
	SSL_CTX_free(ctx);

	ctx = make_ctx("127.0.0.1");
	p = SSL_CTX_get0_param(ctx);
	assert_null(X509_VERIFY_PARAM_get0_host(p, 0));
	ip = X509_VERIFY_PARAM_get1_ip_asc(p);
	assert_string_equal(ip, "127.0.0.1");
	OPENSSL_free(ip);
	SSL_CTX_free(ctx);
}

/* ---- no broker needed ---- */

static int listen_socket(unsigned *port, bool do_listen)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* TLS on a refused port: each try fails fast and the link backs off. */
static void test_refused(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	struct mqtt_opts o;
	struct mqtt_info info;
	unsigned port;
	char id[64];
	int fd = listen_socket(&port, false); /* bound, not listening */

	f->ctx = make_ctx("broker.test");
	client_id(id, sizeof(id), "refused");
	o = base_opts(f, "broker.test", port, id);
	o.connect_to[0] = "127.0.0.1";
	start(f, c, &o);
	assert_true(run_until(f, c, error_has, "connection refused", WAIT_MS));
	run_for(f, 700);
	mqtt_get_info(c->m, &info);
	assert_true(info.attempt >= 2);
	assert_int_equal(info.connects, 0);
	assert_int_equal(c->connected, 0);
	assert_int_equal(c->disconnected, 0);
	if (info.state == MQTT_BACKOFF)
		assert_true(info.next_try_in_ms <= 300);
	assert_int_equal(mqtt_publish(c->m, "a", "b", 1, false, NULL),
			 -ENOTCONN);
	close(fd);
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

struct ticker {
	uv_timer_t t;
	uint64_t last;
	uint64_t max_gap;
	unsigned ticks;
};

static void on_tick(uv_timer_t *t)
{
	struct ticker *k = t->data;
	uint64_t now = now_ms();

	if (k->last && now - k->last > k->max_gap)
		k->max_gap = now - k->last;
	k->last = now;
	k->ticks++;
}

/*
 * A server that accepts TCP and never speaks: the TLS handshake times
 * out, the loop keeps running meanwhile and does not spin, and the
 * ClientHello it got names broker.test (SNI), not the address dialled.
 */
static void test_connect_timeout(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	struct ticker k = { 0 };
	struct mqtt_opts o;
	struct mqtt_info info;
	unsigned port;
	char id[64], hello[2048];
	int fd = listen_socket(&port, true), conn;
	uint64_t t0;
	double cpu0;
	ssize_t n;

	f->ctx = make_ctx("broker.test");
	client_id(id, sizeof(id), "timeout");
	o = base_opts(f, "broker.test", port, id);
	o.connect_to[0] = "127.0.0.1";
	o.connect_timeout_ms = 1000;
	o.backoff_max_ms = 60000;
	uv_timer_init(&f->loop, &k.t);
	k.t.data = &k;
	uv_timer_start(&k.t, on_tick, 20, 20);
	t0 = now_ms();
	cpu0 = cpu_ms();
	start(f, c, &o);
	assert_true(run_until(f, c, error_has, "timed out", WAIT_MS));
	mqtt_get_info(c->m, &info);
	assert_true(now_ms() - t0 >= 1000);
	assert_int_equal(info.state, MQTT_BACKOFF);
	assert_non_null(strstr(info.last_error, "TLS handshake"));
	assert_int_equal(info.attempt, 1);
	assert_true(info.next_try_in_ms > 0 && info.next_try_in_ms <= 2000);
	assert_true(k.ticks >= 30);
	assert_true(k.max_gap < 300);
	assert_true(cpu_ms() - cpu0 < (double)(now_ms() - t0) / 2);
	uv_close((uv_handle_t *)&k.t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* k lives on this stack */

	conn = accept(fd, NULL, NULL);
	assert_true(conn >= 0);
	n = recv(conn, hello, sizeof(hello), 0);
	assert_true(n > 0);
	assert_non_null(memmem(hello, (size_t)n, "broker.test", 11));
	assert_null(memmem(hello, (size_t)n, "127.0.0.1", 9));
	close(conn);
	close(fd);
}

/* ---- with brokers ---- */

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT"), one = 1;
	struct mqtt_opts o;
	struct mqtt_info info;
	char id[64], sub[128], topic[128];
	int mid = 0;
	uint64_t t0;
	double cpu0;

	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "roundtrip");
	snprintf(sub, sizeof(sub), "%s/rt/#", prefix);
	snprintf(topic, sizeof(topic), "%s/rt/x", prefix);
	o = base_opts(f, "localhost", port, id);
	o.subs[0] = sub;
	start(f, c, &o);
	wait_connected(f, c, 1);
	mqtt_get_info(c->m, &info);
	assert_int_equal(info.state, MQTT_CONNECTED);
	assert_int_equal(info.connects, 1);
	assert_int_equal(info.attempt, 0);
	assert_true(info.connected_since_ms > 1600000000000ULL);

	assert_int_equal(mqtt_publish(c->m, topic, "hello", 5, false, &mid), 0);
	assert_true(mid > 0);
	assert_true(mqtt_inflight(c->m) <= 1);
	assert_true(run_until(f, c, messages_n, &one, WAIT_MS));
	assert_string_equal(c->topic, topic);
	assert_string_equal(c->payload, "hello");
	assert_false(c->retained);
	assert_true(run_until(f, c, published_n, &one, WAIT_MS));
	assert_int_equal(c->mids[0], mid);
	assert_int_equal(mqtt_inflight(c->m), 0);
	assert_int_equal(mqtt_publish(c->m, "a/+/b", "x", 1, false, &mid),
			 -EINVAL);
	/* Idle and connected: no write interest left, no spinning. */
	t0 = now_ms();
	cpu0 = cpu_ms();
	run_for(f, 1000);
	assert_true(cpu_ms() - cpu0 < (double)(now_ms() - t0) / 4);
	assert_int_equal(c->disconnected, 0);
	assert_int_equal(mqtt_publish(c->m, NULL, "x", 1, false, &mid),
			 -EINVAL);
}

/* Larger than max_payload: dropped; the next small one arrives alone. */
static void test_max_payload(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT"), two = 2;
	struct mqtt_opts o;
	char id[64], topic[128], big[100];

	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "maxpayload");
	snprintf(topic, sizeof(topic), "%s/max", prefix);
	o = base_opts(f, "localhost", port, id);
	o.subs[0] = topic;
	o.max_payload = 16;
	start(f, c, &o);
	wait_connected(f, c, 1);
	memset(big, 'x', sizeof(big));
	assert_int_equal(
	    mqtt_publish(c->m, topic, big, sizeof(big), false, NULL), 0);
	assert_int_equal(mqtt_publish(c->m, topic, "small", 5, false, NULL), 0);
	assert_true(run_until(f, c, published_n, &two, WAIT_MS));
	assert_true(run_until(f, c, payload_is, "small", WAIT_MS));
	run_for(f, 100);
	assert_int_equal(c->messages, 1);
}

/* Dial 127.0.0.1, verify broker.test: the host check uses the host. */
static void test_connect_to(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT");
	struct mqtt_opts o;
	char id[64];

	f->ctx = make_ctx("broker.test");
	client_id(id, sizeof(id), "connectto");
	o = base_opts(f, "broker.test", port, id);
	o.connect_to[0] = "127.0.0.1";
	o.protocol = 5;
	start(f, c, &o);
	wait_connected(f, c, 1);
}

/*
 * Two brokers, one of them refusing (its name is not on the server's
 * certificate): whatever the shuffled order, the link ends up on the
 * other, verified for its own name, not for the one the context was
 * made with.
 */
static void test_hosts_failover(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT");
	struct mqtt_opts o;
	struct mqtt_info info;
	char id[64];

	f->ctx = make_ctx("wrong.test");
	client_id(id, sizeof(id), "hosts");
	o = base_opts(f, "wrong.test", port, id);
	o.hosts[1] = "broker.test";
	o.connect_to[0] = "127.0.0.1";
	o.connect_to[1] = "127.0.0.1";
	start(f, c, &o);
	wait_connected(f, c, 1);
	mqtt_get_info(c->m, &info);
	assert_string_equal(info.host, "broker.test");
	assert_true(info.connects == 1);
}

static void test_ip_host(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT");
	struct mqtt_opts o;
	char id[64];

	f->ctx = make_ctx("127.0.0.1");
	client_id(id, sizeof(id), "iphost");
	o = base_opts(f, "127.0.0.1", port, id);
	start(f, c, &o);
	wait_connected(f, c, 1);
}

static void never_connects(struct fx *f, const char *env, const char *want)
{
	struct client *c = &f->c[0];
	unsigned port = need_port(env);
	struct mqtt_opts o;
	struct mqtt_info info;
	char id[64];

	f->ctx = make_ctx("broker.test");
	client_id(id, sizeof(id), "bad");
	o = base_opts(f, "broker.test", port, id);
	o.connect_to[0] = "127.0.0.1";
	start(f, c, &o);
	if (!run_until(f, c, error_has, want, WAIT_MS)) {
		mqtt_get_info(c->m, &info);
		fail_msg("last error: %s", info.last_error);
	}
	run_for(f, 800);
	mqtt_get_info(c->m, &info);
	assert_int_equal(c->connected, 0);
	assert_int_equal(info.connects, 0);
	assert_true(info.attempt >= 2);
	assert_non_null(strstr(info.last_error, want));
}

/* Mutual TLS: the broker wants our certificate; its alert is the why. */
static void test_no_client_cert(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT");
	struct tls_opts t = { .host = "localhost" };
	struct mqtt_opts o;
	char ca[300], id[64], err[256];

	pki_path(ca, sizeof(ca), "ca.crt");
	t.ca_file = ca;
	assert_int_equal(tls_ctx_new(&t, &f->ctx, err, sizeof(err)), 0);
	client_id(id, sizeof(id), "nocert");
	o = base_opts(f, "localhost", port, id);
	start(f, c, &o);
	assert_true(
	    run_until(f, c, error_has, "certificate required", WAIT_MS));
	assert_true(error_has(c, "TLS: "));
	assert_int_equal(c->connected, 0);
}

static void test_untrusted_ca(void **state)
{
	never_connects(*state, "ZWGATE_TEST_PORT_UNTRUSTED",
		       "TLS: certificate verify failed");
}

static void test_wrong_host(void **state)
{
	never_connects(*state, "ZWGATE_TEST_PORT_WRONGHOST",
		       "TLS: certificate verify failed: hostname mismatch "
		       "(broker.test)");
}

/* The socket of this process connected to port, if just one is. */
static int socket_to(unsigned port)
{
	int found = -1;

	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		if (getpeername(fd, (struct sockaddr *)&a, &len) < 0 ||
		    a.sin_family != AF_INET || ntohs(a.sin_port) != port)
			continue;
		assert_int_equal(found, -1);
		found = fd;
	}
	return found;
}

/*
 * A link cut without DISCONNECT makes the broker publish the retained
 * last will; a clean stop does not.
 */
static void test_will(void **state)
{
	struct fx *f = *state;
	struct client *victim = &f->c[0], *watcher = &f->c[1];
	unsigned port = need_port("ZWGATE_TEST_PORT"), one = 1;
	struct mqtt_opts o;
	char id[64], wid[64], topic[128];
	int fd;

	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "victim");
	client_id(wid, sizeof(wid), "watcher");
	snprintf(topic, sizeof(topic), "%s/will/status", prefix);
	o = base_opts(f, "localhost", port, id);
	o.will_topic = topic;
	o.will_payload = "offline";
	start(f, victim, &o);
	wait_connected(f, victim, 1);
	assert_int_equal(
	    mqtt_publish(victim->m, topic, "online", 6, true, NULL), 0);
	assert_true(run_until(f, victim, published_n, &one, WAIT_MS));

	fd = socket_to(port);
	assert_true(fd >= 0);
	assert_int_equal(shutdown(fd, SHUT_RDWR), 0);
	assert_true(run_until(f, victim, disconnected_n, &one, WAIT_MS));
	assert_int_equal(victim->state_at_disconnect, MQTT_BACKOFF);
	assert_non_null(strstr(victim->why, "connection lost"));

	o = base_opts(f, "localhost", port, wid);
	o.subs[0] = topic;
	start(f, watcher, &o);
	assert_true(run_until(f, watcher, payload_is, "offline", WAIT_MS));
	/* Kept by the broker and sent for the new subscription. */
	assert_true(watcher->retained);

	/* Back online by itself; then a clean stop sends no will. */
	wait_connected(f, victim, 2);
	assert_int_equal(
	    mqtt_publish(victim->m, topic, "online", 6, true, NULL), 0);
	assert_true(run_until(f, watcher, payload_is, "online", WAIT_MS));
	assert_false(watcher->retained); /* published now, to a subscriber */
	stop(victim);
	run_for(f, 300);
	assert_string_equal(watcher->payload, "online");
}

/*
 * A persistent session: what is published while the client is away
 * reaches it when it comes back (MQTT 3.1.1 clean session off, MQTT 5 a
 * session expiry set through mosquitto_connect_bind_v5()).
 */
static void persistent(struct fx *f, int protocol)
{
	struct client *c = &f->c[0], *pub = &f->c[1];
	unsigned port = need_port("ZWGATE_TEST_PORT"), one = 1;
	struct mqtt_opts o, po;
	char id[64], pid[64], topic[128], what[16];

	f->ctx = make_ctx("localhost");
	snprintf(what, sizeof(what), "session%d", protocol);
	client_id(id, sizeof(id), what);
	snprintf(what, sizeof(what), "sessionpub%d", protocol);
	client_id(pid, sizeof(pid), what);
	snprintf(topic, sizeof(topic), "%s/session%d", prefix, protocol);
	o = base_opts(f, "localhost", port, id);
	o.protocol = protocol;
	o.subs[0] = topic;
	start(f, c, &o);
	wait_connected(f, c, 1);
	stop(c);

	po = base_opts(f, "localhost", port, pid);
	start(f, pub, &po);
	wait_connected(f, pub, 1);
	assert_int_equal(
	    mqtt_publish(pub->m, topic, "while away", 10, false, NULL), 0);
	assert_true(run_until(f, pub, published_n, &one, WAIT_MS));

	memset(c, 0, sizeof(*c));
	c->f = f;
	start(f, c, &o);
	wait_connected(f, c, 1);
	assert_true(c->session_present);
	assert_true(run_until(f, c, payload_is, "while away", WAIT_MS));
}

static void test_session_v311(void **state)
{
	persistent(*state, 4);
}

static void test_session_v5(void **state)
{
	persistent(*state, 5);
}

/*
 * mqtt_stop() from inside a callback, with more messages coming: nothing
 * more is called back, and the broker still sees a clean DISCONNECT (no
 * will) although our socket closes with unread data (the lingering
 * close).
 */
static void test_stop_in_callback(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0], *watcher = &f->c[1];
	unsigned port = need_port("ZWGATE_TEST_PORT"), one = 1;
	struct mqtt_opts o;
	char id[64], wid[64], topic[128], will[128];

	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "stopincb");
	client_id(wid, sizeof(wid), "stopwatch");
	snprintf(topic, sizeof(topic), "%s/stop", prefix);
	snprintf(will, sizeof(will), "%s/stop-will", prefix);
	o = base_opts(f, "localhost", port, wid);
	o.subs[0] = will;
	start(f, watcher, &o);
	wait_connected(f, watcher, 1);

	o = base_opts(f, "localhost", port, id);
	o.subs[0] = topic;
	o.will_topic = will;
	o.will_payload = "offline";
	start(f, c, &o);
	wait_connected(f, c, 1);
	c->stop_on_message = true;
	for (int i = 0; i < 10; i++)
		assert_int_equal(
		    mqtt_publish(c->m, topic, "0123456789", 10, false, NULL),
		    0);
	assert_true(run_until(f, c, messages_n, &one, WAIT_MS));
	assert_null(c->m);
	run_for(f, 500);
	assert_int_equal(c->messages, 1);
	assert_int_equal(c->disconnected, 0);
	assert_int_equal(watcher->messages, 0);
}

/*
 * Another client takes our client id with a clean session: the broker
 * drops us and our session, so after the reconnect only our own
 * SUBSCRIBE brings the messages back.
 */
static void test_resubscribe(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_PORT"), one = 1;
	struct mqtt_opts o;
	char id[64], topic[128], cmd[1200];

	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "resub");
	snprintf(topic, sizeof(topic), "%s/resub", prefix);
	o = base_opts(f, "localhost", port, id);
	o.subs[0] = topic;
	start(f, c, &o);
	wait_connected(f, c, 1);
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_sub -h localhost -p %u --cafile '%s/ca.crt' "
		 "--cert '%s/client.crt' --key '%s/client.key' -i '%s' "
		 "-t zwtest/none -E",
		 port, pki, pki, pki, id);
	assert_int_equal(system(cmd), 0);
	assert_true(run_until(f, c, disconnected_n, &one, WAIT_MS));
	wait_connected(f, c, 2);
	assert_false(c->session_present);
	assert_int_equal(mqtt_publish(c->m, topic, "back", 4, false, NULL), 0);
	assert_true(run_until(f, c, payload_is, "back", WAIT_MS));
}

static int broker_cmd(const char *fn, const char *dir)
{
	const char *sh = getenv("ZWGATE_TEST_BROKER_SH");
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), ". '%s' && %s '%s'", sh, fn, dir);
	return system(cmd);
}

/*
 * The broker goes away: disconnected() in BACKOFF; it comes back: the
 * link heals by itself, with the session and the subscriptions.
 */
static void test_broker_restart(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_RESTART_PORT"), one = 1;
	const char *dir = getenv("ZWGATE_TEST_RESTART_DIR");
	struct mqtt_opts o;
	struct mqtt_info info;
	char id[64], sub[128], topic[128];

	if (!dir || !getenv("ZWGATE_TEST_BROKER_SH"))
		tu_skip("needs tests/integration/mqtt.sh's restartable broker");
	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "restart");
	snprintf(sub, sizeof(sub), "%s/restart/+", prefix);
	snprintf(topic, sizeof(topic), "%s/restart/x", prefix);
	o = base_opts(f, "localhost", port, id);
	o.subs[0] = sub;
	start(f, c, &o);
	wait_connected(f, c, 1);

	assert_int_equal(broker_cmd("broker_stop", dir), 0);
	assert_true(run_until(f, c, disconnected_n, &one, WAIT_MS));
	assert_int_equal(c->state_at_disconnect, MQTT_BACKOFF);
	run_for(f, 500);
	mqtt_get_info(c->m, &info);
	assert_true(info.attempt >= 1);
	assert_int_equal(c->connected, 1);

	assert_int_equal(broker_cmd("broker_restart", dir), 0);
	wait_connected(f, c, 2);
	assert_true(c->session_present);
	mqtt_get_info(c->m, &info);
	assert_int_equal(info.connects, 2);
	assert_int_equal(info.attempt, 0);
	assert_int_equal(mqtt_publish(c->m, topic, "again", 5, false, NULL), 0);
	assert_true(run_until(f, c, payload_is, "again", WAIT_MS));
}

/*
 * A broker that stops answering (SIGSTOP) while the TCP link stays up:
 * the keepalive notices, the link backs off, and heals once it answers.
 */
static void test_keepalive(void **state)
{
	struct fx *f = *state;
	struct client *c = &f->c[0];
	unsigned port = need_port("ZWGATE_TEST_RESTART_PORT"), one = 1;
	const char *dir = getenv("ZWGATE_TEST_RESTART_DIR");
	struct mqtt_opts o;
	char id[64], path[300];
	FILE *fp;
	int pid = 0;

	if (!dir)
		tu_skip("needs tests/integration/mqtt.sh's restartable broker");
	snprintf(path, sizeof(path), "%s/pid", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%d", &pid), 1);
	fclose(fp);
	f->ctx = make_ctx("localhost");
	client_id(id, sizeof(id), "keepalive");
	o = base_opts(f, "localhost", port, id);
	o.keepalive_s = 5;
	start(f, c, &o);
	wait_connected(f, c, 1);
	assert_int_equal(kill(pid, SIGSTOP), 0);
	if (!run_until(f, c, disconnected_n, &one, 15000)) {
		kill(pid, SIGCONT);
		fail_msg("no keepalive timeout");
	}
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_non_null(strstr(c->why, "keepalive"));
	wait_connected(f, c, 2);
}

/* ---- main ---- */

static int group_setup(void **state)
{
	const char *env = getenv("ZWGATE_TEST_PKI");
	char cmd[600];

	(void)state;
	snprintf(prefix, sizeof(prefix), "zwtest/%d-%ld", (int)getpid(),
		 (long)time(NULL));
	if (tu_tmpdir(tmp, sizeof(tmp), "mqtt-test") < 0)
		return -1;
	if (env) {
		snprintf(pki, sizeof(pki), "%s", env);
		return 0;
	}
	snprintf(pki, sizeof(pki), "%s/pki", tmp);
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/pki.sh' '%s'", tu_srcdir(),
		 pki);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return tu_rm_rf(tmp);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		T(test_bad_opts),
		cmocka_unit_test(test_key_modes),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_key_swapped_after_check),
		cmocka_unit_test(test_ca_checked),
		cmocka_unit_test(test_ctx_settings),
		T(test_refused),
		T(test_connect_timeout),
		T(test_roundtrip),
		T(test_max_payload),
		T(test_connect_to),
		T(test_hosts_failover),
		T(test_ip_host),
		T(test_no_client_cert),
		T(test_untrusted_ca),
		T(test_wrong_host),
		T(test_will),
		T(test_session_v311),
		T(test_session_v5),
		T(test_stop_in_callback),
		T(test_resubscribe),
		T(test_broker_restart),
		T(test_keepalive),
	};

	signal(SIGPIPE, SIG_IGN);
	if (getenv("ZWGATE_TEST_ONLY")) /* e.g. "test_will" or "*session*" */
		cmocka_set_test_filter(getenv("ZWGATE_TEST_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
