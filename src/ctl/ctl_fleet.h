/* SPDX-License-Identifier: MIT */
/*
 * ctl_fleet.h: `zwgatectl fleet`, the operator's view of a fleet's trust
 * through the broker (status, publish-bundle, can-retire).  It talks to
 * the broker only, with the operator's credentials; no gateway's socket.
 */
#ifndef ZWGATE_CTL_FLEET_H
#define ZWGATE_CTL_FLEET_H

#include <stdbool.h>
#include <stdio.h>

/* The values of zwgatectl.c's exit codes that fleet uses. */
enum {
	CTL_FLEET_OK = 0,     /* done; can-retire: yes */
	CTL_FLEET_FAILED = 1, /* the broker or a file failed; can-retire: no */
	CTL_FLEET_USAGE = 2,
};

/* Run `fleet ARGS`: argv[0] is "fleet"; json: the global --json.
 * Returns the exit code. */
int ctl_fleet_run(int argc, char **argv, bool json);

/* Its help, and its line in the command summary. */
void ctl_fleet_help(FILE *out);
extern const char ctl_fleet_synopsis[];
extern const char ctl_fleet_summary[];

#endif
