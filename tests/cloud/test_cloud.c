/* SPDX-License-Identifier: MIT */
/*
 * test_cloud.c: the cloud link on its own deps, without a daemon: a
 * registry fed by the sim backend (tests/sim/basic.json), a plaintext
 * mosquitto on 127.0.0.1 (skipped when there is no mosquitto), and an
 * on_state callback that records the link's changes.
 *
 * fdatasync and fsync are this file's (they win over libc's for the
 * whole program): off the main thread, with fds_hold set, fdatasync
 * waits until the test lets it go, so a test can stop the cloud with a
 * sync job out; with fs_fail set, fsync (a compaction's) fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "api.h"
#include "cloud.h"
#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "fsutil.h"
#include "outbox.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

#define WAIT_MS	   5000
#define MOSQUITTO  "/usr/sbin/mosquitto"
#define MAX_STATES 8

static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fds_cond = PTHREAD_COND_INITIALIZER;
static pthread_t fds_main;
static bool fds_hold;	    /* the next worker's fdatasync waits */
static unsigned fds_worker; /* fdatasyncs begun off the main thread */
static int fs_fail;	    /* errno for fsync off the main thread, or 0 */
static unsigned fs_failed;  /* fsyncs failed so */

int fdatasync(int fd)
{
	pthread_mutex_lock(&fds_lock);
	if (!pthread_equal(pthread_self(), fds_main)) {
		fds_worker++;
		pthread_cond_broadcast(&fds_cond);
		while (fds_hold)
			pthread_cond_wait(&fds_cond, &fds_lock);
	}
	pthread_mutex_unlock(&fds_lock);
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	int err = 0;

	pthread_mutex_lock(&fds_lock);
	if (!pthread_equal(pthread_self(), fds_main) && fs_fail) {
		err = fs_fail;
		fs_failed++;
	}
	pthread_mutex_unlock(&fds_lock);
	if (err) {
		errno = err;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static void log_to(const char *path);

static void release_worker(void)
{
	pthread_mutex_lock(&fds_lock);
	fds_hold = false;
	pthread_cond_broadcast(&fds_cond);
	pthread_mutex_unlock(&fds_lock);
}

struct fx {
	uv_loop_t loop;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct cloud *cloud;
	bool queried;
	pid_t broker;
	unsigned port;
	char dir[64];
	char sim_path[PATH_MAX];
	enum cloud_state states[MAX_STATES]; /* as on_state said them */
	size_t nstates;
};

static void on_zw(void *ctx, const struct zw_event *ev)
{
	struct fx *f = ctx;

	registry_apply(f->reg, ev, 1000);
	if (ev->type == ZW_EV_ALL_QUERIED)
		f->queried = true;
}

struct states_wait {
	struct fx *f;
	size_t n;
};

/* tu_run_until's predicate for run_until_states. */
static bool states_reached(void *arg)
{
	const struct states_wait *w = arg;

	return w->n ? w->f->nstates >= w->n : w->f->queried;
}

/* Turns the loop until there are n states (0: until the network is
 * known), or ms pass. */
static void run_until_states(struct fx *f, size_t n, unsigned ms)
{
	struct states_wait w = { f, n };

	tu_run_until(&f->loop, states_reached, &w, ms);
}

static const struct conf *fx_conf(void *ctx)
{
	return ((struct fx *)ctx)->conf;
}

static void fx_on_state(void *ctx, enum cloud_state st)
{
	struct fx *f = ctx;

	assert_true(f->nstates < MAX_STATES);
	f->states[f->nstates++] = st;
}

/* The API's side of the bridge: every command answered "ENOTSUP". */
static void fx_api_call(void *ctx, const json_t *req, bridge_reply_fn reply,
			void *reply_ctx)
{
	json_t *r = api_error_reply(json_object_get(req, "id"), -ENOTSUP,
				    "not in this test");

	reply(reply_ctx, r);
	json_decref(r);
}

/* A port nothing listens on now (bound, then released). */
static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool port_open(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A plaintext mosquitto on f->port; false when there is none to run. */
static bool broker_start(struct fx *f)
{
	char conf[128], text[256];
	const char *argv[] = { MOSQUITTO, "-c", conf, NULL };

	if (access(MOSQUITTO, X_OK) != 0)
		return false;
	snprintf(conf, sizeof(conf), "%s/mosquitto.conf", f->dir);
	snprintf(text, sizeof(text),
		 "listener %u 127.0.0.1\nallow_anonymous true\n"
		 "persistence false\n",
		 f->port);
	assert_int_equal(tu_write_file(conf, text, 0600), 0);
	f->broker = tu_spawn(argv, "/dev/null");
	assert_true(f->broker > 0);
	for (unsigned waited = 0; !port_open(f->port) && waited < WAIT_MS;
	     waited += 10)
		usleep(10000);
	assert_true(port_open(f->port));
	return true;
}

static void broker_stop(struct fx *f)
{
	if (f->broker <= 0)
		return;
	/* Its exit status is mosquitto's business; that it ends is ours. */
	assert_true(tu_stop(f->broker, SIGTERM, WAIT_MS) >= 0);
	f->broker = 0;
}

/* f->conf, with extra in the cloud block. */
static void fx_conf_load(struct fx *f, const char *extra)
{
	struct diag_list diags;
	char text[PATH_MAX + 512];

	snprintf(text, sizeof(text),
		 "gateway-id \"gw\"\nzwave {\n backend sim\n"
		 " sim-network \"%s\"\n}\n"
		 "cloud {\n host \"127.0.0.1\"\n port %u\n"
		 " insecure-plaintext yes\n discovery no\n"
		 " reconnect-max-delay 1\n%s}\n",
		 f->sim_path, f->port, extra);
	conf_free(f->conf);
	diag_init(&diags);
	assert_int_equal(conf_load_buffer("zwgate.conf", text, strlen(text),
					  &conf_rules_load_opts, &diags,
					  &f->conf),
			 0);
	diag_clear(&diags);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[PATH_MAX + 64];

	assert_non_null(f);
	fds_main = pthread_self();
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tu_tmpdir(f->dir, sizeof(f->dir), "cloud"), 0);
	snprintf(path, sizeof(path), "%s/tests/sim/basic.json", tu_srcdir());
	assert_non_null(realpath(path, f->sim_path));
	f->port = free_port();
	fx_conf_load(f, "");
	f->reg = registry_new();
	assert_non_null(f->reg);
	struct zw_opts zo = { .state_dir = f->dir,
			      .sim_network = f->conf->zwave.sim_network };
	assert_int_equal(zw_sim_ops.open(&f->loop, &zo, on_zw, f, &f->zw), 0);
	run_until_states(f, 0, WAIT_MS);
	assert_true(f->queried);
	*state = f;
	return 0;
}

static void fx_cloud(struct fx *f)
{
	struct cloud_deps deps = {
		.loop = &f->loop,
		.reg = f->reg,
		.state_dir = f->dir,
		.ctx = f,
		.conf = fx_conf,
		.on_state = fx_on_state,
		.bridge = { .api_call = fx_api_call,
			    .errno_name = api_errno_name },
	};

	assert_int_equal(cloud_start(&deps, &f->cloud), 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	release_worker(); /* a test that failed may have left it held */
	log_to(NULL);
	pthread_mutex_lock(&fds_lock);
	fs_fail = 0;
	pthread_mutex_unlock(&fds_lock);
	cloud_stop(f->cloud);
	zw_close(f->zw);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	broker_stop(f);
	registry_free(f->reg);
	conf_free(f->conf);
	r = tu_rm_rf(f->dir);
	free(f);
	return r;
}

static const char *status_str(struct fx *f, const char *key)
{
	static char buf[256];
	json_t *s = cloud_status_json(f->cloud);

	assert_non_null(s);
	snprintf(buf, sizeof(buf), "%s",
		 json_string_value(json_object_get(s, key))
		     ? json_string_value(json_object_get(s, key))
		     : "");
	json_decref(s);
	return buf;
}

/* The broker comes and goes: on_state says so as it happens. */
static void test_state_callback(void **state)
{
	struct fx *f = *state;

	if (!broker_start(f))
		tu_skip("no %s to run as the broker", MOSQUITTO);
	fx_cloud(f);
	assert_int_equal(f->nstates, 0);
	run_until_states(f, 1, WAIT_MS);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], CLOUD_CONNECTED);
	assert_string_equal(cloud_state_word(f->cloud), "connected");
	assert_string_equal(status_str(f, "state"), "connected");
	assert_string_equal(status_str(f, "host"), "127.0.0.1");

	broker_stop(f);
	run_until_states(f, 2, WAIT_MS);
	assert_int_equal(f->nstates, 2);
	assert_int_equal(f->states[1], CLOUD_DISCONNECTED);
	assert_string_not_equal(cloud_state_word(f->cloud), "connected");

	/* Back again: the link comes up again, and says so. */
	assert_true(broker_start(f));
	run_until_states(f, 3, WAIT_MS);
	assert_int_equal(f->nstates, 3);
	assert_int_equal(f->states[2], CLOUD_CONNECTED);
}

/* Without a broker: no state change, and the outbox keeps what comes. */
static void test_no_broker(void **state)
{
	struct fx *f = *state;
	json_t *s;
	json_int_t before;
	char why[128];

	fx_cloud(f);
	run_until_states(f, 1, 300);
	assert_int_equal(f->nstates, 0);
	assert_string_not_equal(cloud_state_word(f->cloud), "connected");
	s = cloud_status_json(f->cloud);
	assert_non_null(s);
	assert_non_null(json_object_get(s, "last_error"));
	/* The bridge put every node's state there at its start. */
	before = json_integer_value(json_object_get(s, "outbox_pending"));
	assert_true(before > 0);
	json_decref(s);
	assert_int_equal(
	    cloud_publish(f->cloud, OUTBOX_EVENT, "zwgate/gw/x", "y", 1), 0);
	s = cloud_status_json(f->cloud);
	assert_int_equal(
	    json_integer_value(json_object_get(s, "outbox_pending")),
	    before + 1);
	json_decref(s);
	/* Plaintext: no trust bundle to show or take. */
	assert_null(cloud_trust_status(f->cloud, why, sizeof(why)));
	assert_non_null(strstr(why, "plaintext"));
}

/* Has the worker begun an fdatasync (it then waits while fds_hold)? */
static void wait_worker(unsigned n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&fds_lock);
	while (fds_worker < n &&
	       pthread_cond_timedwait(&fds_cond, &fds_lock, &until) == 0)
		;
	pthread_mutex_unlock(&fds_lock);
	assert_true(fds_worker >= n);
}

/*
 * The disk is off the loop: with "outbox-sync always" a message's
 * fdatasync runs in the thread pool, and a stop while it is out waits
 * for it: the outbox stays open (its lock held) until the job is back,
 * then takes its final sync and is closed, the message in it.
 */
static void test_stop_with_job_out(void **state)
{
	struct fx *f = *state;
	struct outbox_opts o = { .deferred = true };
	struct outbox *ob = NULL;
	struct outbox_msg m;
	char dir[128];
	uint64_t after = 0;
	bool found = false;

	fx_conf_load(f, " outbox-sync always\n");
	fx_cloud(f);
	run_until_states(f, 1, 100);
	pthread_mutex_lock(&fds_lock);
	fds_hold = true;
	fds_worker = 0;
	pthread_mutex_unlock(&fds_lock);
	assert_int_equal(cloud_publish(f->cloud, OUTBOX_EVENT, "zwgate/gw/x",
				       "in flight", 9),
			 0);
	wait_worker(1);
	cloud_stop(f->cloud);
	f->cloud = NULL;
	snprintf(dir, sizeof(dir), "%s/outbox", f->dir);
	/* Not freed under the worker: the log is still open and locked. */
	assert_int_equal(outbox_open(dir, &o, &ob), -EBUSY);
	release_worker();
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(outbox_open(dir, &o, &ob), 0);
	while (outbox_next(ob, after, &m) == 0) {
		found |= strcmp(m.topic, "zwgate/gw/x") == 0 && m.len == 9;
		after = m.seq;
	}
	assert_true(found);
	outbox_free(ob);
}

static json_int_t status_int(struct fx *f, const char *key)
{
	json_t *s = cloud_status_json(f->cloud);
	json_int_t v;

	assert_non_null(s);
	v = json_integer_value(json_object_get(s, key));
	json_decref(s);
	return v;
}

static bool outbox_empty(void *arg)
{
	return status_int(arg, "outbox_pending") == 0;
}

/* All sent and acked, and a compaction has failed, and said so. */
static bool compaction_failed(void *arg)
{
	struct fx *f = arg;
	unsigned failed;

	pthread_mutex_lock(&fds_lock);
	failed = fs_failed;
	pthread_mutex_unlock(&fds_lock);
	return failed > 0 && outbox_empty(f) &&
	       (status_str(f, "outbox_compact_error")[0] ||
		status_str(f, "outbox_error")[0]);
}

/* stderr (the log) to path, or back (path NULL). */
static void log_to(const char *path)
{
	static int saved = -1;
	int fd;

	fflush(stderr);
	if (path) {
		saved = dup(STDERR_FILENO);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(saved >= 0 && fd >= 0);
		assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
		close(fd);
	} else if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
		saved = -1;
	}
}

/*
 * A compaction that fails (its fsync here) is no failed sync: the job's
 * fdatasync made its messages durable, so with "outbox-sync always"
 * they are sent as ever, the log says the compaction failed and not that
 * messages are held in memory, and so does the status.
 */
static void test_compaction_fails(void **state)
{
	struct fx *f = *state;
	char payload[200], path[128], *log = NULL;
	unsigned failed;
	size_t len;

	memset(payload, 'c', sizeof(payload));
	snprintf(path, sizeof(path), "%s/stderr", f->dir);
	if (!broker_start(f))
		tu_skip("no %s to run as the broker", MOSQUITTO);
	fx_conf_load(f, " outbox-sync always\n");
	fx_cloud(f);
	run_until_states(f, 1, WAIT_MS);
	assert_string_equal(cloud_state_word(f->cloud), "connected");
	tu_run_until(&f->loop, outbox_empty, f, WAIT_MS);
	assert_int_equal(status_int(f, "outbox_pending"), 0);
	pthread_mutex_lock(&fds_lock);
	fs_fail = EIO;
	fs_failed = 0;
	pthread_mutex_unlock(&fds_lock);
	log_to(path);
	/* 80 KiB through the log: a compaction is due once they are acked. */
	for (int i = 0; i < 400; i++)
		assert_int_equal(cloud_publish(f->cloud, OUTBOX_EVENT,
					       "zwgate/gw/e", payload,
					       sizeof(payload)),
				 0);
	tu_run_until(&f->loop, outbox_empty, f, WAIT_MS);
	assert_int_equal(status_int(f, "outbox_pending"), 0);
	/* This one's job, or the ack floor's before it, tries it. */
	assert_int_equal(
	    cloud_publish(f->cloud, OUTBOX_EVENT, "zwgate/gw/e", "after", 5),
	    0);
	tu_run_until(&f->loop, compaction_failed, f, WAIT_MS);
	log_to(NULL);
	assert_int_equal(fs_read_file(path, 1 << 20, &log, &len), 0);
	assert_non_null(strstr(log, "cannot compact: "));
	assert_null(strstr(log, "cannot write"));
	free(log);
	pthread_mutex_lock(&fds_lock);
	failed = fs_failed;
	pthread_mutex_unlock(&fds_lock);
	assert_true(failed > 0);
	assert_int_equal(status_int(f, "outbox_pending"), 0);
	assert_string_equal(status_str(f, "outbox_compact_error"),
			    strerror(EIO));
	assert_string_equal(status_str(f, "outbox_error"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_state_callback),
		T(test_no_broker),
		T(test_stop_with_job_out),
		T(test_compaction_fails),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
