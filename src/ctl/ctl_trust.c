/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust.c: `zwgatectl trust`.  The offline tools make, sign and check
 * bundles with trust_bundle.c, the same code the daemon decides with, so
 * that `trust verify` says what a gateway would say.  Exit codes: 0 done
 * (or would be accepted), 1 a file could not be used or a bundle does not
 * hold, 2 a command line that does not parse.  What zwgated answers to
 * import and status is printed by ctl_trust_status.c.  This file has the
 * table of subcommands and their help, the messages, and the requests
 * import and status; ctl_trust_int.h says where the rest is.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ctl_trust_int.h"
#include "fsutil.h"
#include "trust.h"

static const char prog[] = "zwgatectl";

const char ctl_trust_synopsis[] = "trust SUBCOMMAND [OPTIONS]";
const char ctl_trust_summary[] = "trust bundles: status, import, make, sign";

/* Messages can quote a file's bytes: made safe for the terminal. */
void ctl_trust_errorf(const struct ctl_tcmd *c, const char *fmt, ...)
{
	char line[CTL_TRUST_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctl_sanitize(line);
	fprintf(stderr, "%s: trust%s%s: %s\n", prog, c ? " " : "",
		c ? c->name : "", line);
}

/* Text with each line after the first indented. */
static void put_indented(FILE *out, const char *text, int indent)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, out);
		if (*p == '\n' && p[1])
			fprintf(out, "%*s", indent, "");
	}
}

static void put_synopsis(FILE *out, const char *prefix,
			 const struct ctl_tcmd *c)
{
	fprintf(out, "%s%s trust ", prefix, prog);
	/* Continued lines line up under the first option. */
	put_indented(out, c->synopsis,
		     (int)(strlen(prefix) + strlen(prog) + strlen(c->name)) +
			 8);
	fputc('\n', out);
}

/* One line saying what is wrong, then how it is used. */
int ctl_trust_usage(const struct ctl_tcmd *c, const char *fmt, ...)
{
	char line[CTL_TRUST_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctl_trust_errorf(c, "%s", line);
	if (c)
		put_synopsis(stderr, "usage: ", c);
	else
		fprintf(stderr, "usage: %s %s\n", prog, ctl_trust_synopsis);
	fprintf(stderr, "Try '%s help trust' for more.\n", prog);
	return CTL_TRUST_USAGE;
}

/* ---- import and status: requests to zwgated --------------------------- */

static const struct ctl_topt json_opts[] = { { "--json", CTL_TOPT_FLAG },
					     { NULL, CTL_TOPT_ONE } };

static json_t *build_import(const struct ctl_tcmd *c, struct ctl_targs *a,
			    int *rc)
{
	const char *path = a->pos[0];
	json_t *text = NULL, *req;
	char *buf = NULL;
	size_t len;
	int r = fs_read_file(path, TRUST_BUNDLE_MAX, &buf, &len);

	*rc = CTL_TRUST_FAILED;
	if (r == -EFBIG)
		ctl_trust_errorf(
		    c,
		    "%s: larger than %d bytes (32 KiB), the most a trust "
		    "bundle may be",
		    path, TRUST_BUNDLE_MAX);
	else if (r < 0)
		ctl_trust_errorf(c, "%s: %s", path, strerror(-r));
	else if (memchr(buf, '\0', len))
		ctl_trust_errorf(c, "%s: not text (it holds a NUL byte)", path);
	else if (!(text = json_stringn(buf, len)))
		ctl_trust_errorf(c, "%s: not UTF-8 text", path);
	free(buf);
	if (!text)
		return NULL;
	req = json_pack("{s:s,s:o}", "cmd", "trust-import", "bundle", text);
	if (!req)
		ctl_trust_errorf(c, "out of memory");
	return req;
}

static json_t *build_status(const struct ctl_tcmd *c, struct ctl_targs *a,
			    int *rc)
{
	json_t *req = json_pack("{s:s}", "cmd", "trust-status");

	*rc = CTL_TRUST_FAILED;
	if (!req)
		ctl_trust_errorf(c, "out of memory");
	return req;
}

/* ---- the commands ---------------------------------------------------- */

static const struct ctl_tcmd ctl_trust_cmd_status = {
	.name = "status",
	.synopsis = "status [--json]",
	.help = "What the gateway trusts now: mode, clock and time floor, "
		"version floor,\nactive and pending bundle (version, expiry, "
		"hosts, anchors with key\ntype and days left, pins), recovery "
		"roots, and the chain and pin of\nthe last connection.  "
		"Warnings come first.",
	.opts = json_opts,
	.build = build_status,
	.print = ctl_trust_print_status
};

static const struct ctl_tcmd ctl_trust_cmd_import = {
	.name = "import",
	.synopsis = "import [--json] FILE",
	.help = "Offer the bundle FILE (at most 32 KiB of UTF-8) to zwgated, "
		"as if it came\nfrom the cloud.  When its signatures, "
		"version, expiry and hosts hold it\nbecomes pending and the "
		"link is made again to try it; it is committed\nonce a "
		"connection with it succeeds.  Otherwise the reason is "
		"printed and\nnothing changes.",
	.opts = json_opts,
	.pos_min = 1,
	.pos_max = 1,
	.build = build_import,
	.print = ctl_trust_print_import
};

static const struct ctl_tcmd *const tcmds[] = {
	&ctl_trust_cmd_status, &ctl_trust_cmd_import, &ctl_trust_cmd_keygen,
	&ctl_trust_cmd_make,   &ctl_trust_cmd_sign,   &ctl_trust_cmd_verify,
};

#define NCMDS (sizeof(tcmds) / sizeof(tcmds[0]))

void ctl_trust_help(FILE *out)
{
	fprintf(out,
		"usage: %s [-s SOCKET] [-t SECONDS] %s\n\n"
		"Trust bundles: what the gateway trusts when it connects to "
		"the cloud\n(zwgate-trust(7)).  keygen, make, sign and verify "
		"work on files and\nneed no daemon; status and import ask "
		"zwgated.\n",
		prog, ctl_trust_synopsis);
	for (size_t i = 0; i < NCMDS; i++) {
		fputc('\n', out);
		put_synopsis(out, "", tcmds[i]);
		fputs("    ", out);
		put_indented(out, tcmds[i]->help, 4);
		fputc('\n', out);
	}
	fprintf(out, "\nExit status: 0 done; 1 refused, or a file could not "
		     "be used; 2 usage error;\n3, 4, 5 as for the other "
		     "commands (status, import).\n");
}

static int help_one(const struct ctl_tcmd *c)
{
	put_synopsis(stdout, "usage: ", c);
	printf("\n%s\n", c->help);
	return CTL_TRUST_OK;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int ctl_trust_run(int argc, char **argv, bool *json, json_t **ret_req,
		  void (**ret_print)(const json_t *result))
{
	const struct ctl_tcmd *c = NULL;
	struct ctl_targs a = { 0 };
	int r;

	if (argc < 2)
		return ctl_trust_usage(NULL, "no subcommand given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		ctl_trust_help(stdout);
		return CTL_TRUST_OK;
	}
	for (size_t i = 0; i < NCMDS && !c; i++)
		if (!strcmp(argv[1], tcmds[i]->name))
			c = tcmds[i];
	if (!c)
		return ctl_trust_usage(NULL, "unknown subcommand '%s'",
				       argv[1]);
	if (wants_help(argc - 2, argv + 2))
		return help_one(c);
	if ((r = ctl_trust_parse_args(c, argc - 2, argv + 2, &a)) != 0 ||
	    (r = ctl_trust_check_args(c, &a)) != 0)
		return r;
	if (c->run)
		return c->run(c, &a);
	*json = *json || ctl_trust_flag(c, &a, "--json");
	*ret_req = c->build(c, &a, &r);
	*ret_print = c->print;
	return *ret_req ? CTL_TRUST_SEND : r;
}
