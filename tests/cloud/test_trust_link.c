/* SPDX-License-Identifier: MIT */
/*
 * Tests of trust_link.c that need no broker: the factory bundle, the
 * root of every later one, is held to the rules of config files where
 * it is read (trust_link_open), as ca-file is.  zwgated's config load
 * refuses such a file too (tests/integration/trust.sh); this checks the
 * module's own check, which the load does not replace.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <uv.h>

#include "testutil.h"
#include "trust_link.h"

#define PATH_LEN 512

static int open_factory(mode_t mode, char *err, size_t errlen)
{
	char dir[64], path[PATH_LEN], state[PATH_LEN];
	static const char *const hosts[] = { "broker.example.com", NULL };
	struct trust_link_opts o = { .hosts = hosts,
				     .bundle_path = path,
				     .state_dir = state,
				     .synced_file = "/nonexistent" };
	struct trust_link_cbs cbs = { 0 };
	struct trust_link *t = NULL;
	uv_loop_t loop;
	int r;

	assert_int_equal(tu_tmpdir(dir, sizeof(dir), "trust-link"), 0);
	snprintf(path, sizeof(path), "%s/factory.bundle", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	assert_int_equal(mkdir(state, 0700), 0);
	/* Not a bundle: only a check made before parsing can say EPERM. */
	assert_int_equal(tu_write_file(path, "not a bundle\n", mode), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	r = trust_link_open(&loop, &o, &cbs, &t, err, errlen);
	if (r == 0)
		trust_link_close(t);
	assert_int_equal(tu_loop_close(&loop), 0);
	assert_int_equal(tu_rm_rf(dir), 0);
	return r;
}

static void test_factory_writable_by_others(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(open_factory(0646, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "trust-bundle "));
	assert_non_null(strstr(err, "factory.bundle"));
	assert_non_null(
	    strstr(err, "is writable by others (mode 0646); refusing it"));
}

static void test_factory_mode_ok_then_parsed(void **state)
{
	char err[512] = "";

	(void)state;
	/* The mode passes; the text is then judged, and refused as such. */
	assert_int_equal(open_factory(0644, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "refusing it"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_factory_writable_by_others),
		cmocka_unit_test(test_factory_mode_ok_then_parsed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
