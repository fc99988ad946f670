/* SPDX-License-Identifier: MIT */
/*
 * zwbench: the C side of the benchmarks (bench/run drives it).
 *
 *   zwbench sub   OPTIONS   subscribe, take stamps, print their ages
 *   zwbench pub   OPTIONS   publish stamps at a rate: the broker's share
 *   zwbench ready OPTIONS -- PROGRAM ARGS...
 *                           exec PROGRAM; time READY=1 and a log line
 *   zwbench rules OPTIONS   the rules engine's cost per event, in process
 *
 * A stamp is CLOCK_REALTIME in microseconds, carried as "value" or "code"
 * in a JSON payload (as zwgated publishes values and events) or as the
 * whole payload; its age at the subscriber is the latency, with no table
 * of what was sent when.  Everything runs on 127.0.0.1 with the PKI of
 * tests/pki.sh (mutual TLS, like the daemon's cloud link).  Results are
 * one JSON object on stdout; errors go to stderr with exit status 1, and
 * 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "zwbench.h"

#define BENCH_COUNT_MAX	    10000000 /* messages of one run */
#define BENCH_RATE_MAX	    1000000  /* messages per second */
#define BENCH_TIMEOUT_MAX   3600     /* seconds */
#define BENCH_TOPICS_MAX    8
#define BENCH_PAYLOAD_MAX   64
#define BENCH_KEEPALIVE_S   60
#define BENCH_BATCH	    64 /* publishes between two reads */
#define BENCH_NOTIFY_MAX    4096
#define BENCH_MATCH_POLL_MS 2

const char *bench_prog = "zwbench";

void bench_die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

uint64_t bench_now_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A number of an option, from min to max, or a usage error. */
long long bench_num(const char *opt, const char *s, long long min,
		    long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		bench_die(2, "%s must be an integer from %lld to %lld", opt,
			  min, max);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "p50_us":..,"p99_us":.. of n samples (sorted here), for a JSON object. */
static void print_ages(uint64_t *v, size_t n)
{
	static const struct {
		const char *name;
		double q;
	} qs[] = {
		{ "p50", 0.5 },
		{ "p90", 0.9 },
		{ "p99", 0.99 },
		{ "p999", 0.999 },
	};
	uint64_t sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t k = n ? (size_t)(qs[i].q * (double)(n - 1) + 0.5) : 0;

		printf(",\"%s_us\":%llu", qs[i].name,
		       n ? (unsigned long long)v[k] : 0ULL);
	}
	printf(",\"max_us\":%llu,\"mean_us\":%llu",
	       n ? (unsigned long long)v[n - 1] : 0ULL,
	       n ? (unsigned long long)(sum / n) : 0ULL);
}

/* MQTT: what sub and pub share. */

struct link_opts {
	const char *host, *cafile, *cert, *key, *id;
	int port;
	bool persistent;
};

static const struct option link_longopts[] = {
	{ "host", required_argument, NULL, 'h' },
	{ "port", required_argument, NULL, 'p' },
	{ "cafile", required_argument, NULL, 'A' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "id", required_argument, NULL, 'i' },
	{ "persistent", no_argument, NULL, 'P' },
};

#define LINK_NOPTS (sizeof(link_longopts) / sizeof(link_longopts[0]))

/* One of link_longopts into o: true when c was one of them. */
static bool link_opt(struct link_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'h':
		o->host = arg;
		return true;
	case 'p':
		o->port = (int)bench_num("--port", arg, 1, 65535);
		return true;
	case 'A':
		o->cafile = arg;
		return true;
	case 'C':
		o->cert = arg;
		return true;
	case 'K':
		o->key = arg;
		return true;
	case 'i':
		o->id = arg;
		return true;
	case 'P':
		o->persistent = true;
		return true;
	}
	return false;
}

/* Connected (CONNACK not waited for) with mutual TLS when cafile is set. */
static struct mosquitto *link_open(const struct link_opts *o, void *ctx)
{
	struct mosquitto *m;
	int rc;

	if (!o->port)
		bench_die(2, "--port is required");
	m = mosquitto_new(o->id, !o->persistent, ctx);
	if (!m)
		bench_die(1, "mosquitto_new: %s", strerror(errno));
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	if (o->cafile) {
		rc = mosquitto_tls_set(m, o->cafile, NULL, o->cert, o->key,
				       NULL);
		if (rc != MOSQ_ERR_SUCCESS)
			bench_die(1, "TLS: %s", mosquitto_strerror(rc));
	}
	rc = mosquitto_connect(m, o->host ? o->host : "127.0.0.1", o->port,
			       BENCH_KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS)
		bench_die(1, "connect to port %d: %s", o->port,
			  mosquitto_strerror(rc));
	return m;
}

/* The stamp of a payload: "value":N, "code":N, or the payload itself. */
static bool stamp_of(const void *payload, int len, uint64_t *ret)
{
	char buf[BENCH_PAYLOAD_MAX * 4];
	const char *p;
	char *end;

	if (len <= 0 || (size_t)len >= sizeof(buf))
		return false;
	memcpy(buf, payload, (size_t)len);
	buf[len] = '\0';
	p = strstr(buf, "\"value\":");
	if (!p)
		p = strstr(buf, "\"code\":");
	p = p ? strchr(p, ':') + 1 : buf;
	errno = 0;
	*ret = strtoull(p, &end, 10);
	return !errno && end != p && *ret > 0;
}

/* sub: subscribe, count stamps newer than --since, print their ages. */

struct sub {
	const char *topics[BENCH_TOPICS_MAX];
	size_t ntopics;
	uint64_t want, since, *ages;
	size_t n, stale, reordered;
	uint64_t first_us, last_us, top_stamp;
	bool subscribed;
	const char *ready_file;
};

static void sub_on_connect(struct mosquitto *m, void *ctx, int rc)
{
	struct sub *s = ctx;

	if (rc != 0)
		bench_die(1, "broker refused us: %s",
			  mosquitto_connack_string(rc));
	for (size_t i = 0; i < s->ntopics; i++)
		mosquitto_subscribe(m, NULL, s->topics[i], 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *ctx, int mid, int nqos,
			     const int *qos)
{
	struct sub *s = ctx;
	FILE *f;

	(void)m;
	(void)mid;
	(void)nqos;
	(void)qos;
	if (s->subscribed || !s->ready_file)
		return;
	s->subscribed = true;
	f = fopen(s->ready_file, "w");
	if (!f || fclose(f) != 0)
		bench_die(1, "%s: %s", s->ready_file, strerror(errno));
}

static void sub_on_message(struct mosquitto *m, void *ctx,
			   const struct mosquitto_message *msg)
{
	struct sub *s = ctx;
	uint64_t now = bench_now_us(CLOCK_REALTIME), stamp;

	(void)m;
	/* Retained values sent at subscription are old news. */
	if (msg->retain || !stamp_of(msg->payload, msg->payloadlen, &stamp))
		return;
	if (stamp < s->since || s->n == s->want) {
		s->stale++;
		return;
	}
	if (stamp <= s->top_stamp)
		s->reordered++;
	else
		s->top_stamp = stamp;
	if (!s->n)
		s->first_us = now;
	s->last_us = now;
	s->ages[s->n++] = now > stamp ? now - stamp : 0;
}

static void sub_print(struct sub *s, uint64_t started)
{
	double span = (double)(s->last_us - s->first_us) / 1e6;

	printf("{\"received\":%zu,\"expected\":%llu,\"reordered\":%zu,"
	       "\"stale\":%zu,\"span_s\":%.3f,\"rate_per_s\":%.0f",
	       s->n, (unsigned long long)s->want, s->reordered, s->stale, span,
	       span > 0 ? (double)(s->n - 1) / span : 0.0);
	printf(",\"first_after_start_ms\":%.1f",
	       s->n ? (double)(s->first_us - started) / 1e3 : 0.0);
	print_ages(s->ages, s->n);
	printf("}\n");
}

static void sub_usage(void)
{
	bench_die(2, "usage: zwbench sub --port N [--cafile F --cert F --key "
		     "F] [--id ID --persistent] -t TOPIC... -n COUNT "
		     "[--since US] [--ready FILE] [--timeout S] [--idle S]");
}

/* Until COUNT stamps came, or nothing came for --idle seconds. */
static void sub_loop(struct mosquitto *m, struct sub *s, uint64_t timeout_us,
		     uint64_t idle_us)
{
	uint64_t start = bench_now_us(CLOCK_MONOTONIC), last = start, now;
	size_t seen = 0;
	int rc;

	while (s->n < s->want) {
		rc = mosquitto_loop(m, 100, 1000);
		if (rc != MOSQ_ERR_SUCCESS) {
			/* The broker went away (an outage): come back. */
			usleep(100000);
			mosquitto_reconnect(m);
		}
		now = bench_now_us(CLOCK_MONOTONIC);
		if (s->n != seen) {
			seen = s->n;
			last = now;
		}
		if (now - start > timeout_us ||
		    (s->n > 0 && now - last > idle_us))
			break;
	}
}

static int cmd_sub(int argc, char **argv)
{
	struct option lo[LINK_NOPTS + 6] = { { 0 } };
	struct link_opts o = { 0 };
	struct sub s = { .want = 0 };
	uint64_t timeout_s = 120, idle_s = 10, started;
	struct mosquitto *m;
	int c;

	memcpy(lo, link_longopts, sizeof(link_longopts));
	lo[LINK_NOPTS] =
	    (struct option){ "since", required_argument, NULL, 's' };
	lo[LINK_NOPTS + 1] =
	    (struct option){ "ready", required_argument, NULL, 'r' };
	lo[LINK_NOPTS + 2] =
	    (struct option){ "timeout", required_argument, NULL, 'T' };
	lo[LINK_NOPTS + 3] =
	    (struct option){ "idle", required_argument, NULL, 'I' };
	while ((c = getopt_long(argc, argv, "t:n:", lo, NULL)) != -1) {
		if (link_opt(&o, c, optarg))
			continue;
		if (c == 't' && s.ntopics < BENCH_TOPICS_MAX)
			s.topics[s.ntopics++] = optarg;
		else if (c == 'n')
			s.want = (uint64_t)bench_num("-n", optarg, 1,
						     BENCH_COUNT_MAX);
		else if (c == 's')
			s.since = (uint64_t)bench_num("--since", optarg, 0,
						      LLONG_MAX);
		else if (c == 'r')
			s.ready_file = optarg;
		else if (c == 'T')
			timeout_s = (uint64_t)bench_num("--timeout", optarg, 1,
							BENCH_TIMEOUT_MAX);
		else if (c == 'I')
			idle_s = (uint64_t)bench_num("--idle", optarg, 1,
						     BENCH_TIMEOUT_MAX);
		else
			sub_usage();
	}
	if (!s.ntopics || !s.want || optind != argc)
		sub_usage();
	s.ages = calloc(s.want, sizeof(*s.ages));
	if (!s.ages)
		bench_die(1, "out of memory");
	started = bench_now_us(CLOCK_REALTIME);
	if (!s.since)
		s.since = started;
	m = link_open(&o, &s);
	mosquitto_connect_callback_set(m, sub_on_connect);
	mosquitto_subscribe_callback_set(m, sub_on_subscribe);
	mosquitto_message_callback_set(m, sub_on_message);
	sub_loop(m, &s, timeout_s * 1000000, idle_s * 1000000);
	sub_print(&s, started);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	free(s.ages);
	return s.n == s.want ? 0 : 1;
}

/* pub: the broker's own share, published like zwgated does (QoS 1). */

struct pub {
	uint64_t acked;
	bool connected;
};

static void pub_on_connect(struct mosquitto *m, void *ctx, int rc)
{
	struct pub *p = ctx;

	(void)m;
	if (rc != 0)
		bench_die(1, "broker refused us: %s",
			  mosquitto_connack_string(rc));
	p->connected = true;
}

static void pub_on_publish(struct mosquitto *m, void *ctx, int mid)
{
	struct pub *p = ctx;

	(void)m;
	(void)mid;
	p->acked++;
}

/* Read what came, write what waits; at most timeout_ms in poll. */
static void pub_service(struct mosquitto *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = mosquitto_socket(m), .events = POLLIN };
	int rc;

	if (mosquitto_want_write(m))
		pfd.events |= POLLOUT;
	if (poll(&pfd, 1, timeout_ms) > 0) {
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = mosquitto_loop_read(m, BENCH_BATCH);
			if (rc != MOSQ_ERR_SUCCESS)
				bench_die(1, "lost the broker: %s",
					  mosquitto_strerror(rc));
		}
		if (pfd.revents & POLLOUT)
			mosquitto_loop_write(m, 1);
	}
	mosquitto_loop_misc(m);
}

/* count stamps at rate (0: as fast as the broker takes them). */
static void pub_run(struct mosquitto *m, struct pub *p, const char *topic,
		    uint64_t count, uint64_t rate)
{
	char payload[BENCH_PAYLOAD_MAX];
	uint64_t t0 = bench_now_us(CLOCK_MONOTONIC), sent = 0, due, stamp;
	uint64_t last = 0;
	int len, rc;

	while (sent < count) {
		due = rate ? 1 + (bench_now_us(CLOCK_MONOTONIC) - t0) * rate /
				     1000000
			   : count;
		for (int k = 0; k < BENCH_BATCH && sent < due && sent < count;
		     k++) {
			stamp = bench_now_us(CLOCK_REALTIME);
			stamp = stamp > last ? stamp : last + 1;
			last = stamp;
			len = snprintf(payload, sizeof(payload),
				       "{\"value\":%llu}",
				       (unsigned long long)stamp);
			rc = mosquitto_publish(m, NULL, topic, len, payload, 1,
					       false);
			if (rc != MOSQ_ERR_SUCCESS)
				bench_die(1, "publish: %s",
					  mosquitto_strerror(rc));
			sent++;
		}
		pub_service(m, sent < due ? 0 : 1);
	}
}

static void pub_usage(void)
{
	bench_die(2, "usage: zwbench pub --port N [--cafile F --cert F --key "
		     "F] -t TOPIC -n COUNT [--rate R]");
}

static int cmd_pub(int argc, char **argv)
{
	struct option lo[LINK_NOPTS + 2] = { { 0 } };
	struct link_opts o = { 0 };
	struct pub p = { 0 };
	const char *topic = NULL;
	uint64_t count = 0, rate = 0, t0, waited = 0;
	struct mosquitto *m;
	int c;

	memcpy(lo, link_longopts, sizeof(link_longopts));
	lo[LINK_NOPTS] =
	    (struct option){ "rate", required_argument, NULL, 'R' };
	while ((c = getopt_long(argc, argv, "t:n:", lo, NULL)) != -1) {
		if (link_opt(&o, c, optarg))
			continue;
		if (c == 't')
			topic = optarg;
		else if (c == 'n')
			count = (uint64_t)bench_num("-n", optarg, 1,
						    BENCH_COUNT_MAX);
		else if (c == 'R')
			rate = (uint64_t)bench_num("--rate", optarg, 0,
						   BENCH_RATE_MAX);
		else
			pub_usage();
	}
	if (!topic || !count || optind != argc)
		pub_usage();
	m = link_open(&o, &p);
	mosquitto_connect_callback_set(m, pub_on_connect);
	mosquitto_publish_callback_set(m, pub_on_publish);
	while (!p.connected && waited++ < 10000)
		pub_service(m, 1);
	if (!p.connected)
		bench_die(1, "no CONNACK from the broker");
	t0 = bench_now_us(CLOCK_MONOTONIC);
	pub_run(m, &p, topic, count, rate);
	while (p.acked < count && waited++ < 100000)
		pub_service(m, 10);
	printf("{\"sent\":%llu,\"acked\":%llu,\"seconds\":%.3f}\n",
	       (unsigned long long)count, (unsigned long long)p.acked,
	       (double)(bench_now_us(CLOCK_MONOTONIC) - t0) / 1e6);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	return p.acked == count ? 0 : 1;
}

/*
 * ready: PROGRAM keeps our pid (so a shell's $! is the daemon), and a
 * grandchild of ours, reparented away, listens on NOTIFY_SOCKET for
 * READY=1 and watches a log file for a line, timing both from the exec.
 */

struct ready {
	const char *out, *log, *match, *sock;
	uint64_t timeout_us;
	pid_t pid; /* PROGRAM's: the watch ends with it */
};

static bool file_has(const char *path, const char *needle)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static bool notify_ready(int fd)
{
	char buf[BENCH_NOTIFY_MAX + 1];
	ssize_t k;
	bool ready = false;

	while ((k = recv(fd, buf, BENCH_NOTIFY_MAX, MSG_DONTWAIT)) > 0) {
		buf[k] = '\0';
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
			ready |= strcmp(l, "READY=1") == 0;
	}
	return ready;
}

/* The grandchild: t0 comes through the pipe just before the exec. */
static void ready_watch(const struct ready *r, int fd, int tpipe)
{
	uint64_t t0, ready = 0, match = 0, now;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	FILE *out;
	int nul;

	/* Not to hold the pipes of whoever reads PROGRAM's output. */
	nul = open("/dev/null", O_RDWR);
	for (int i = 0; i < 3; i++)
		if (nul < 0 || dup2(nul, i) < 0)
			_exit(1);
	if (nul > 2)
		close(nul);
	if (read(tpipe, &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		_exit(1);
	for (;;) {
		now = bench_now_us(CLOCK_MONOTONIC);
		/* Drained every time: STATUS= lines follow READY=1. */
		if (notify_ready(fd) && !ready)
			ready = now;
		if (r->match && !match && file_has(r->log, r->match))
			match = now;
		if ((ready && (!r->match || match)) ||
		    now - t0 > r->timeout_us || kill(r->pid, 0) < 0)
			break;
		poll(&pfd, 1, BENCH_MATCH_POLL_MS);
	}
	out = fopen(r->out, "w");
	if (!out)
		_exit(1);
	fprintf(out, "{\"ready_ms\":%.3f,\"match_ms\":%.3f}\n",
		ready ? (double)(ready - t0) / 1e3 : -1.0,
		match ? (double)(match - t0) / 1e3 : -1.0);
	fclose(out);
	unlink(r->sock);
	_exit(0);
}

static int notify_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(a.sun_path))
		bench_die(2, "--socket path too long");
	strcpy(a.sun_path, path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		bench_die(1, "%s: %s", path, strerror(errno));
	return fd;
}

static void ready_usage(void)
{
	bench_die(2, "usage: zwbench ready --out FILE --socket PATH [--log "
		     "FILE --match TEXT] [--timeout S] -- PROGRAM ARGS...");
}

static int cmd_ready(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 'S' },
		{ "log", required_argument, NULL, 'l' },
		{ "match", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct ready r = { .timeout_us = 60000000 };
	int c, fd, tp[2];
	uint64_t t0;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'o')
			r.out = optarg;
		else if (c == 'S')
			r.sock = optarg;
		else if (c == 'l')
			r.log = optarg;
		else if (c == 'm')
			r.match = optarg;
		else if (c == 'T')
			r.timeout_us =
			    1000000 * (uint64_t)bench_num("--timeout", optarg,
							  1, BENCH_TIMEOUT_MAX);
		else
			ready_usage();
	}
	if (!r.out || !r.sock || optind >= argc || (!r.log != !r.match))
		ready_usage();
	fd = notify_socket(r.sock);
	r.pid = getpid();
	if (pipe2(tp, O_CLOEXEC) < 0)
		bench_die(1, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		if (fork() == 0)
			ready_watch(&r, fd, tp[0]);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, NULL, 0) < 0)
		bench_die(1, "fork: %s", strerror(errno));
	if (setenv("NOTIFY_SOCKET", r.sock, 1) < 0)
		bench_die(1, "setenv: %s", strerror(errno));
	t0 = bench_now_us(CLOCK_MONOTONIC);
	if (write(tp[1], &t0, sizeof(t0)) != (ssize_t)sizeof(t0))
		bench_die(1, "pipe: %s", strerror(errno));
	execvp(argv[optind], argv + optind);
	bench_die(1, "%s: %s", argv[optind], strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "sub", cmd_sub },
		{ "pub", cmd_pub },
		{ "ready", cmd_ready },
		{ "rules", bench_rules },
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		bench_die(2, "usage: zwbench sub|pub|ready|rules OPTIONS");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		mosquitto_lib_init();
		r = cmds[i].fn(argc - 1, argv + 1);
		mosquitto_lib_cleanup();
		return r;
	}
	bench_die(2, "unknown command '%s' (known: sub, pub, ready, rules)",
		  argv[1]);
	return 2;
}
