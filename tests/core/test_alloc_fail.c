/* SPDX-License-Identifier: MIT */
/*
 * test_alloc_fail.c: the config and rules parsers when memory runs out.
 *
 * The test is linked with -Wl,--wrap for every allocating function the
 * parsers call (malloc, calloc, realloc, strdup, strndup, asprintf,
 * vasprintf, and free to follow them): each input is loaded once to
 * count its allocations, then once more for each of them, failing only
 * that one.  Every such load must fail cleanly: -ENOMEM, or -EINVAL with
 * an error said, never success with something missing, and no config;
 * and once the config and diagnostics are freed, no block the wrappers
 * handed out may be left.  Allocations inside the C library (glob()'s)
 * do not pass through the wrappers and are not failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "fsutil.h"
#include "testutil.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **ret, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **ret, const char *fmt, va_list ap);
int __wrap_asprintf(char **ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Blocks handed out and not yet freed; a power of two. */
#define AF_SLOTS (1u << 16)
#define AF_GONE	 ((void *)1)

static struct {
	bool armed;
	unsigned long calls;   /* allocations while armed */
	unsigned long fail_at; /* 1-based; 0: none fails */
	bool failed;	       /* the one to fail was reached */
	size_t live;
	void *slot[AF_SLOTS];
} af;

static size_t af_hash(const void *p)
{
	return ((uintptr_t)p >> 4) * 0x9E3779B1u & (AF_SLOTS - 1);
}

static void af_track(void *p)
{
	size_t i = af_hash(p);

	if (!p)
		return;
	while (af.slot[i] && af.slot[i] != AF_GONE)
		i = (i + 1) & (AF_SLOTS - 1);
	af.slot[i] = p;
	af.live++;
}

/* Blocks from before the test, or from inside libc, are not ours. */
static void af_untrack(void *p)
{
	for (size_t i = af_hash(p); p && af.slot[i];
	     i = (i + 1) & (AF_SLOTS - 1))
		if (af.slot[i] == p) {
			af.slot[i] = AF_GONE;
			af.live--;
			return;
		}
}

static bool af_fail(void)
{
	if (!af.armed || ++af.calls != af.fail_at)
		return false;
	af.failed = true;
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t n)
{
	void *p = af_fail() ? NULL : __real_malloc(n);

	af_track(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = af_fail() ? NULL : __real_calloc(n, size);

	af_track(p);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q = af_fail() ? NULL : __real_realloc(p, n);

	if (q) {
		af_untrack(p);
		af_track(q);
	}
	return q;
}

void __wrap_free(void *p)
{
	af_untrack(p);
	__real_free(p);
}

char *__wrap_strdup(const char *s)
{
	char *p = af_fail() ? NULL : __real_strdup(s);

	af_track(p);
	return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
	char *p = af_fail() ? NULL : __real_strndup(s, n);

	af_track(p);
	return p;
}

int __wrap_vasprintf(char **ret, const char *fmt, va_list ap)
{
	int r = af_fail() ? -1 : __real_vasprintf(ret, fmt, ap);

	if (r >= 0)
		af_track(*ret);
	return r;
}

int __wrap_asprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __wrap_vasprintf(ret, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- the inputs ------------------------------------------------------ */

static char dir[256]; /* short, so that every path under it fits */

static void put(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(tu_write_file(path, text, mode), 0);
}

static void copy(const char *from, const char *to)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, to);
	assert_int_equal(tu_copy_src(from, path, 0644), 0);
}

/* A config with a cloud block whose TLS files are all there. */
static const char cloud_conf[] =
    "gateway-id \"cloud-gw\"\n"
    "zwave { sim-network \"sim-network.json\" }\n"
    "cloud {\n"
    "\thost \"mqtt.example.net\"\n\tconnect-to \"192.0.2.10\"\n"
    "\tport 8883\n\tprotocol 5\n"
    "\ttrust-bundle \"factory.bundle\"\n"
    "\tclock-synchronized-file \"/run/synced\"\n"
    "\tclient-cert \"client.pem\"\n\tclient-key \"secrets/client.key\"\n"
    "\ttopic-prefix \"homes/eu\"\n\tkeepalive 30\n\tdiscovery off\n"
    "\tdiscovery-prefix \"ha\"\n\toutbox-max-bytes 1M\n"
    "\toutbox-sync always\n\treconnect-max-delay 60\n"
    "}\n";

/* Only warnings: it loads, and a lost warning would go unseen. */
static const char warn_conf[] =
    "gateway-id warn\n"
    "zwave { backend openzwave; device \"/dev/zwgate-test-no-such-device\""
    " }\n"
    "cloud { host 127.0.0.1; insecure-plaintext yes; ca-file \"ca.pem\" }\n";

/* Errors of every kind, so that recovery runs out of memory too. */
static const char bad_conf[] =
    "gateway-id \"bad id\"\nlog-level loud\n"
    "zwave { backend zigbee; sim-network \"\"; device }\n"
    "location { latitude 91; timezone \"../etc/passwd\" }\n"
    "control { max-clients 1.5; group \"-x\"; gateway-id y }\n"
    "cloud { host \"999.1.2.3\"; port; outbox-max-bytes 1G2 }\n"
    "cloud { }\ncolud { }\nunknown 1 2\n\"str\" }\n"
    "include \"bad/*.rules\"\ninclude \"loop.conf\"\n"
    "scene \"s\" { run \"s\" }\n";

static int setup(void **state)
{
	char sub[PATH_MAX];

	assert_int_equal(tu_tmpdir(dir, sizeof(dir), "alloc"), 0);
	umask(022);
	snprintf(sub, sizeof(sub), "%s/rules.d", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/secrets", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/bad", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	copy("etc/zwgate.conf", "zwgate.conf");
	copy("etc/sim-network.json", "sim-network.json");
	copy("etc/rules.d/example.rules", "rules.d/example.rules");
	copy("tests/rules/good-syntax.rules", "good-syntax.rules");
	copy("tests/rules/bad-clauses.rules", "bad/bad-clauses.rules");
	put("rules.conf",
	    "gateway-id rules\nzwave { sim-network \"sim-network.json\" }\n"
	    "location { latitude 48.85 longitude 2.35 }\n"
	    "include \"good-syntax.rules\"\n",
	    0644);
	put("cloud.conf", cloud_conf, 0644);
	put("factory.bundle", "{}\n", 0644);
	put("client.pem", "-\n", 0644);
	put("ca.pem", "-\n", 0644);
	put("secrets/client.key", "-\n", 0600);
	put("warn.conf", warn_conf, 0644);
	put("bad.conf", bad_conf, 0644);
	put("loop.conf", "include \"loop.conf\"\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	return tu_rm_rf(dir);
}

/* ---- the loads ------------------------------------------------------- */

struct outcome {
	int r;
	size_t errors, warnings;
	bool conf;	 /* a config came back */
	char first[256]; /* the first diagnostic, for a failure message */
};

/* One load with allocation fail_at failing (0: none); nothing left. */
static struct outcome load(const char *path, unsigned long fail_at)
{
	struct outcome o = { 0 };
	struct diag_list diags;
	struct conf *c = NULL;

	diag_init(&diags);
	af.calls = 0;
	af.fail_at = fail_at;
	af.failed = false;
	/* What is tracked is this load's: a block from before is not. */
	memset(af.slot, 0, sizeof(af.slot));
	af.live = 0;
	af.armed = true;
	o.r = conf_load(path, &conf_rules_load_opts, &diags, &c);
	af.armed = false;
	o.errors = diags.errors;
	o.warnings = diags.warnings;
	o.conf = c != NULL;
	if (diags.n)
		diag_format(&diags.items[0], o.first, sizeof(o.first));
	conf_free(c);
	diag_clear(&diags);
	if (af.live)
		fail_msg("%s, allocation %lu failed: %zu block(s) leaked", path,
			 fail_at, af.live);
	return o;
}

/*
 * How the load with allocation k failing went, against the load that
 * failed nothing (base).
 */
static void check_failed(const char *name, unsigned long k,
			 const struct outcome *base, const struct outcome *o)
{
	if (o->conf || o->r == 0)
		fail_msg("%s: allocation %lu failed, yet it loaded (%zu "
			 "errors, %zu warnings, not %zu and %zu)",
			 name, k, o->errors, o->warnings, base->errors,
			 base->warnings);
	/* An error said where the input had none is a wrong diagnostic. */
	if (o->r != -ENOMEM && !(o->r == -EINVAL && base->errors > 0))
		fail_msg("%s: allocation %lu failed: %s with %zu errors (%s)",
			 name, k, strerror(-o->r), o->errors, o->first);
}

static void run_input(const char *name, const char *file, int want)
{
	char path[PATH_MAX];
	struct outcome base, o;
	unsigned long n, k;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	base = load(path, 0);
	n = af.calls;
	if (base.r != want)
		fail_msg("%s: %s, not %s (%s)", name, strerror(-base.r),
			 strerror(-want), base.first);
	for (k = 1; k <= n; k++) {
		o = load(path, k);
		if (!af.failed)
			fail_msg("%s: allocation %lu of %lu never came", name,
				 k, n);
		check_failed(name, k, &base, &o);
	}
	/* Failing the one after the last changes nothing. */
	o = load(path, n + 1);
	assert_int_equal(o.r, base.r);
	assert_int_equal(o.errors, base.errors);
	assert_int_equal(o.warnings, base.warnings);
	print_message("%s: %lu allocation points, each failed cleanly\n", name,
		      n);
}

static void test_example(void **state)
{
	run_input("etc/zwgate.conf with rules.d", "zwgate.conf", 0);
}

static void test_every_construct(void **state)
{
	run_input("tests/rules/good-syntax.rules", "rules.conf", 0);
}

static void test_cloud(void **state)
{
	run_input("cloud block", "cloud.conf", 0);
}

static void test_warnings(void **state)
{
	run_input("warnings only", "warn.conf", 0);
}

static void test_errors(void **state)
{
	run_input("errors of every kind", "bad.conf", -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_every_construct),
		cmocka_unit_test(test_cloud),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
