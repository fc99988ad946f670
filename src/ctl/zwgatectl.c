/* SPDX-License-Identifier: MIT */
/*
 * zwgatectl: one request to zwgated over its control socket, one answer
 * printed for people (or as JSON with --json).  Plain blocking socket and
 * poll(2) with a deadline: no event loop needed for one exchange.  This
 * file reads the global options and runs a command; ctl_int.h says where
 * the rest is.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_int.h"
#include "ctl_keys.h"
#include "ctl_reset.h"
#include "ctl_fleet.h"
#include "ctl_trust.h"
#include "zwgate/control.h"

_Static_assert((int)CTL_TRUST_OK == CTL_EXIT_OK &&
		   (int)CTL_TRUST_FAILED == CTL_EXIT_FAILED &&
		   (int)CTL_TRUST_USAGE == CTL_EXIT_USAGE,
	       "ctl_trust.c returns our exit codes");
_Static_assert((int)CTL_RESET_OK == CTL_EXIT_OK &&
		   (int)CTL_RESET_FAILED == CTL_EXIT_FAILED &&
		   (int)CTL_RESET_USAGE == CTL_EXIT_USAGE &&
		   (int)CTL_RESET_DENIED == CTL_EXIT_DENIED,
	       "ctl_reset.c returns our exit codes");

/* "set" waits ZWCTL_SET_WAIT_MS on the daemon before it answers. */
_Static_assert(CTL_TIMEOUT_DEFAULT_S * 1000 > ZWCTL_SET_WAIT_MS,
	       "the default timeout must outlast a set's wait");

const char ctl_prog[] = "zwgatectl";

void ctl_die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void ctl_usage(const char *cmd, const char *args)
{
	if (cmd) {
		fprintf(stderr, "usage: %s [options] %s%s%s\n", ctl_prog, cmd,
			*args ? " " : "", args);
		fprintf(stderr, "Try '%s help %s' for more.\n", ctl_prog, cmd);
	} else {
		fprintf(stderr,
			"usage: %s [-s SOCKET] [--json] [-t SECONDS] "
			"COMMAND [ARGS]\n",
			ctl_prog);
		fprintf(stderr, "Try '%s --help' for more.\n", ctl_prog);
	}
	exit(CTL_EXIT_USAGE);
}

static double parse_timeout(const char *s)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(t) || t < 0 ||
	    t > CTL_TIMEOUT_MAX_S) {
		fprintf(stderr, "%s: bad timeout '%s' (seconds, 0 to %d)\n",
			ctl_prog, s, CTL_TIMEOUT_MAX_S);
		ctl_usage(NULL, NULL);
	}
	return t;
}

static void parse_global(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* Not in --help: for completion/zwgatectl.bash. */
		{ "list-commands", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	opterr = 0; /* getopt would name us by argv[0], a path */
	while ((o = getopt_long(argc, argv, "+:s:t:hV", longopts, NULL)) !=
	       -1) {
		switch (o) {
		case 's':
			ctl->socket = optarg;
			break;
		case 't':
			ctl->timeout_s = parse_timeout(optarg);
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			ctl_help_global();
			exit(CTL_EXIT_OK);
		case 'V':
			printf("%s %s\n", ctl_prog, PACKAGE_VERSION);
			exit(CTL_EXIT_OK);
		case 'L':
			ctl_list_commands();
			exit(CTL_EXIT_OK);
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n",
				ctl_prog, argv[optind - 1]);
			ctl_usage(NULL, NULL);
		default:
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n",
					ctl_prog, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n",
					ctl_prog, argv[optind - 1]);
			ctl_usage(NULL, NULL);
		}
	}
}

/*
 * `trust`: its offline tools run and exit here; status and import come
 * back as a request sent like any other, printed by c's printer.
 */
static json_t *trust_request(struct ctl *ctl, int argc, char **argv,
			     struct ctl_command *c)
{
	json_t *req = NULL;
	int rc = ctl_trust_run(argc, argv, &ctl->json, &req, &c->print);

	if (rc != CTL_TRUST_SEND) {
		if (fflush(stdout) != 0 || ferror(stdout))
			ctl_die(CTL_EXIT_FAILED, "writing the output: %s",
				strerror(errno));
		exit(rc);
	}
	ctl_json_set(req, "id", json_integer(CTL_REQUEST_ID));
	return req;
}

/*
 * help [COMMAND [SUBCOMMAND]]: "help trust keygen" is the help of
 * "trust keygen", which ctl_trust.c prints when asked with --help.
 */
static int help(int argc, char **argv)
{
	const struct ctl_command *c;

	if (argc < 2) {
		ctl_help_global();
	} else if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
		   !strcmp(argv[1], "--help")) {
		printf("usage: %s help [COMMAND [SUBCOMMAND]]\n\nThe summary "
		       "of commands, options and exit status, or the\nhelp "
		       "of one command.\n",
		       ctl_prog);
	} else if (!strcmp(argv[1], "trust") && argc > 2) {
		static char opt[] = "--help";
		char *sub[] = { argv[1], argv[2], opt, NULL };
		void (*print)(const json_t *result) = NULL;
		json_t *req = NULL;
		bool json = false;

		return ctl_trust_run(3, sub, &json, &req, &print);
	} else if (!strcmp(argv[1], "trust")) {
		ctl_trust_help(stdout);
	} else if (!strcmp(argv[1], "factory-reset")) {
		ctl_reset_help(stdout);
	} else if (!strcmp(argv[1], "keys")) {
		ctl_keys_help(stdout);
	} else if (!strcmp(argv[1], "fleet")) {
		ctl_fleet_help(stdout);
	} else if ((c = ctl_command_find(argv[1]))) {
		ctl_help_command(c);
	} else {
		fprintf(stderr, "%s: help: unknown command '%s'\n", ctl_prog,
			argv[1]);
		ctl_usage(NULL, NULL);
	}
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct ctl_command trust = { .name = "trust" };
	struct ctl ctl = { .timeout_s = CTL_TIMEOUT_DEFAULT_S, .target = -1 };
	const struct ctl_command *c;
	const char *env = getenv("ZWGATE_SOCKET");
	json_t *req, *reply;
	char *line;
	size_t len;
	int n, fd, rc;

	ctl.socket =
	    env && *env ? env : ZWCTL_DEFAULT_RUNTIME_DIR "/" ZWCTL_SOCKET_NAME;
	parse_global(&ctl, argc, argv);
	argv += optind;
	argc -= optind;
	if (!argc) {
		fprintf(stderr, "%s: no command given\n", ctl_prog);
		ctl_usage(NULL, NULL);
	}
	if (!strcmp(argv[0], "help"))
		return help(argc, argv);
	if (!strcmp(argv[0], "factory-reset"))
		return ctl_reset_run(argc, argv, ctl.socket);
	if (!strcmp(argv[0], "keys"))
		return ctl_keys_run(argc, argv);
	if (!strcmp(argv[0], "fleet"))
		return ctl_fleet_run(argc, argv, ctl.json);
	if (!strcmp(argv[0], "trust")) {
		req = trust_request(&ctl, argc, argv, &trust);
		c = &trust;
	} else if ((c = ctl_command_find(argv[0]))) {
		n = ctl_command_args(&ctl, c, argv + 1, argc - 1);
		req = c->build
			  ? c->build(&ctl, argv + 1, n)
			  : ctl_build_args(&ctl, c->name, c->keys, argv + 1, n);
	} else {
		fprintf(stderr, "%s: unknown command '%s'\n", ctl_prog,
			argv[0]);
		ctl_usage(NULL, NULL);
	}
	line = ctl_request_line(req, &len);
	json_decref(req);
	fd = ctl_connect(&ctl);
	ctl_send_request(&ctl, fd, line, len);
	free(line);
	reply = ctl_await_reply(&ctl, fd);
	close(fd);
	rc = ctl_report(&ctl, c, reply);
	json_decref(reply);
	if (fflush(stdout) != 0 || ferror(stdout))
		ctl_die(CTL_EXIT_FAILED, "writing the output: %s",
			strerror(errno));
	return rc;
}
