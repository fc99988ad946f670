/* SPDX-License-Identifier: MIT */
/*
 * zwgated: the zwgate daemon.  Always in the foreground (systemd's
 * Type=notify does the rest); -n checks the configuration and exits.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "zwgate/control.h"

#include "conf.h"
#include "conf_rules.h"
#include "daemon.h"
#include "diag.h"
#include "log.h"
#include "zw.h"

#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/zwgate"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: zwgated [-c FILE] [-n] [-d] [--state-dir DIR] "
		"[--runtime-dir DIR] [-V]\n"
		"  -c, --config FILE     configuration (default %s)\n"
		"  -n, --check           check the configuration and exit\n"
		"  -d, --debug           log at debug level\n"
		"      --state-dir DIR   state (default %s)\n"
		"      --runtime-dir DIR control socket (default %s)\n"
		"  -V, --version         print the version and exit\n",
		CONF_DEFAULT_PATH, DEFAULT_STATE_DIR,
		ZWCTL_DEFAULT_RUNTIME_DIR);
}

/* -n: print every diagnostic as file:line:col: message; 1 on any error. */
static int check_config(const char *path)
{
	struct diag_list diags;
	struct conf *c = NULL;
	int r;

	diag_init(&diags);
	r = conf_load(path, &conf_rules_load_opts, &diags, &c);
	diag_print(&diags, stderr);
	/* The one failure that may come without a diagnostic. */
	if (r == -ENOMEM)
		fprintf(stderr, "%s: out of memory while reading it\n", path);
	diag_clear(&diags);
	conf_free(c);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int run(const struct daemon_opts *opts)
{
	struct daemon *d;
	uv_loop_t loop;
	int r, status;

	r = uv_loop_init(&loop);
	if (r < 0) {
		log_error("event loop: %s", uv_strerror(r));
		return EXIT_FAILURE;
	}
	d = daemon_new();
	if (!d) {
		log_error("out of memory");
		uv_loop_close(&loop); /* empty: nothing to report */
		return EXIT_FAILURE;
	}
	status = daemon_start(d, &loop, opts) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (status != EXIT_SUCCESS)
		daemon_stop(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	zw_after_loop();
	daemon_free(d);
	r = uv_loop_close(&loop);
	if (r < 0) {
		/* A handle left open is a bug; say so rather than hide it. */
		log_error("event loop not empty at exit: %s", uv_strerror(r));
		uv_print_all_handles(&loop, stderr);
		return EXIT_FAILURE;
	}
	if (status == EXIT_SUCCESS)
		log_info("stopped");
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts opts = {
		.config_path = CONF_DEFAULT_PATH,
		.state_dir = DEFAULT_STATE_DIR,
		.runtime_dir = ZWCTL_DEFAULT_RUNTIME_DIR,
	};
	bool check = false;
	int ch;

	log_init("zwgated");
	while ((ch = getopt_long(argc, argv, "c:ndVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			opts.debug = true;
			break;
		case 'S':
			opts.state_dir = optarg;
			break;
		case 'R':
			opts.runtime_dir = optarg;
			break;
		case 'V':
			printf("zwgated %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "zwgated: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return check_config(opts.config_path);
	if (opts.debug)
		log_set_level(LOG_DEBUG);
	return run(&opts);
}
