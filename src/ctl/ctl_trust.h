/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust.h: `zwgatectl trust`, the operator's tools for trust bundles
 * (zwgate-trust(7)).  keygen, make, sign and verify work on files alone
 * and never touch the control socket; import and status are requests to
 * zwgated, sent by zwgatectl.c like its other commands.
 */
#ifndef ZWGATE_CTL_TRUST_H
#define ZWGATE_CTL_TRUST_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl_text.h"

/* The values of zwgatectl.c's exit codes that these tools use. */
enum {
	CTL_TRUST_OK = 0,
	CTL_TRUST_FAILED = 1, /* refused, or a file could not be used */
	CTL_TRUST_USAGE = 2,
	CTL_TRUST_SEND = -1, /* not an exit code: send *ret_req */
};

#define CTL_TRUST_VALUES_MAX 16 /* values of one command line option */
#define CTL_TRUST_LINE_MAX   (PATH_MAX + 1100) /* bytes of a message line */

/*
 * Run `trust ARGS`: argv[0] is "trust".  An offline command runs here
 * and its exit code is returned (its output and errors printed).  An
 * online one returns CTL_TRUST_SEND with *ret_req the request (without
 * "id"; the caller's to free) and *ret_print the printer of its result;
 * *json is set when --json follows the command.
 */
int ctl_trust_run(int argc, char **argv, bool *json, json_t **ret_req,
		  void (**ret_print)(const json_t *result));

/* The help of `zwgatectl trust`, and its line in the command summary. */
void ctl_trust_help(FILE *out);
extern const char ctl_trust_synopsis[];
extern const char ctl_trust_summary[];

/* Printers of the results of trust-import and trust-status
 * (ctl_trust_status.c). */
void ctl_trust_print_import(const json_t *result);
void ctl_trust_print_status(const json_t *result);

#endif
