/* SPDX-License-Identifier: MIT */
/*
 * wsurl_parse (where the Z-Wave JS server is) and the zwave block's
 * server key, which refuses what the parser refuses.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "diag.h"
#include "wsurl.h"

static void good(const char *s, const char *host, unsigned port,
		 const char *path)
{
	struct wsurl u;
	char err[256] = "";

	if (wsurl_parse(s, &u, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", s, err);
	assert_false(u.unix_socket);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.path, path);
}

static void bad(const char *s, const char *why)
{
	struct wsurl u;
	char err[256] = "";

	assert_int_equal(wsurl_parse(s, &u, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		fail_msg("%s: '%s' does not say '%s'", s, err, why);
}

static void test_loopback(void **state)
{
	(void)state;
	good("ws://127.0.0.1:3000", "127.0.0.1", 3000, "/");
	good("ws://127.0.0.1:3000/", "127.0.0.1", 3000, "/");
	good("WS://127.1.2.3:1/zw", "127.1.2.3", 1, "/zw");
	good("ws://[::1]:65535", "::1", 65535, "/");
	good("ws://localhost:3000", "127.0.0.1", 3000, "/");
	good("ws://LocalHost:8080/a/b", "127.0.0.1", 8080, "/a/b");
}

static void test_unix(void **state)
{
	struct wsurl u;
	char err[256];

	(void)state;
	assert_int_equal(wsurl_parse("ws+unix:/run/zwave-js/server.sock", &u,
				     err, sizeof(err)),
			 0);
	assert_true(u.unix_socket);
	assert_string_equal(u.path, "/run/zwave-js/server.sock");
	assert_string_equal(u.host, "");
	bad("ws+unix:run/x.sock", "must be absolute");
	bad("ws+unix:", "must be absolute");
}

static void test_refused(void **state)
{
	char longpath[300];

	(void)state;
	/* The server has no authentication: nothing off loopback. */
	bad("ws://192.168.1.5:3000", "loopback only");
	bad("ws://10.0.0.1:3000", "has no authentication");
	bad("ws://zwave.local:3000", "loopback only");
	bad("ws://[::2]:3000", "loopback only");
	bad("ws://[::ffff:127.0.0.1]:3000", "loopback only");
	bad("ws://0.0.0.0:3000", "loopback only");
	bad("ws://127.0.0.1.evil.example:3000", "loopback only");
	bad("wss://127.0.0.1:3000", "wss:// is not supported");
	bad("http://127.0.0.1:3000", "not a ws:// or ws+unix: URL");
	bad("", "not a ws:// or ws+unix: URL");
	bad("ws://127.0.0.1", "no port");
	bad("ws://127.0.0.1/x", "no port");
	bad("ws://127.0.0.1:0", "1 to 65535");
	bad("ws://127.0.0.1:65536", "1 to 65535");
	bad("ws://127.0.0.1:-1", "1 to 65535");
	bad("ws://127.0.0.1:+80", "1 to 65535");
	bad("ws://127.0.0.1:80x", "1 to 65535");
	bad("ws://127.0.0.1:", "1 to 65535");
	bad("ws://:3000", "no host");
	bad("ws://[::1:3000", "no ']'");
	bad("ws://127.0.0.1:3000/a b", "printable ASCII");
	bad("ws://127.0.0.1:3000/\x7f", "printable ASCII");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	{
		char url[400];

		snprintf(url, sizeof(url), "ws+unix:%s", longpath);
		bad(url, "too long");
		snprintf(url, sizeof(url), "ws://127.0.0.1:1%s", longpath);
		bad(url, "too long");
		/* The message quotes a long URL cut, not whole. */
		bad(url, "...");
	}
}

/* The zwave block's server key: the parser's word is the config's. */
static int load(const char *text, struct conf **c, char *msgs, size_t len)
{
	struct diag_list d;
	int r;

	diag_init(&d);
	r = conf_load_buffer("/etc/zwgate/zwgate.conf", text, strlen(text),
			     NULL, &d, c);
	msgs[0] = '\0';
	for (size_t i = 0; i < d.n; i++)
		snprintf(msgs + strlen(msgs), len - strlen(msgs), "%s\n",
			 d.items[i].msg);
	diag_clear(&d);
	return r;
}

static void test_conf_server(void **state)
{
	struct conf *c = NULL;
	char msgs[1024];

	(void)state;
	assert_int_equal(load("gateway-id \"g\"\nzwave { backend zwavejs }\n",
			      &c, msgs, sizeof(msgs)),
			 0);
	assert_string_equal(c->zwave.backend, "zwavejs");
	assert_string_equal(c->zwave.server, "ws://127.0.0.1:3000");
	conf_free(c);
	c = NULL;
	assert_int_equal(load("gateway-id \"g\"\nzwave { backend zwavejs; "
			      "server \"ws://[::1]:4000/\" }\n",
			      &c, msgs, sizeof(msgs)),
			 0);
	assert_string_equal(c->zwave.server, "ws://[::1]:4000/");
	conf_free(c);
	c = NULL;
	assert_true(load("gateway-id \"g\"\nzwave { backend zwavejs; "
			 "server \"ws://192.168.1.5:3000\" }\n",
			 &c, msgs, sizeof(msgs)) < 0);
	assert_null(c);
	if (!strstr(msgs, "server 'ws://192.168.1.5:3000': the Z-Wave JS "
			  "server has no authentication"))
		fail_msg("%s", msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_conf_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
