/* SPDX-License-Identifier: MIT */
/*
 * ctl_reset.h: `zwgatectl factory-reset`, which erases what the gateway
 * learnt (node names, outbox, trust slots, OpenZWave cache) from its
 * state directory while zwgated is stopped.  Offline: it only connects to
 * the control socket to find out whether the daemon runs.
 */
#ifndef ZWGATE_CTL_RESET_H
#define ZWGATE_CTL_RESET_H

#include <stdio.h>

/* The values of zwgatectl.c's exit codes that factory-reset uses. */
enum {
	CTL_RESET_OK = 0,
	CTL_RESET_FAILED = 1, /* zwgated runs, or something was not erased */
	CTL_RESET_USAGE = 2,  /* bad command line, or no confirmation */
	CTL_RESET_DENIED = 4, /* the state directory or socket is not ours */
};

/*
 * Run `factory-reset ARGS`: argv[0] is "factory-reset", socket the control
 * socket zwgatectl would talk to.  Prints what it does; returns the exit
 * code.
 */
int ctl_reset_run(int argc, char **argv, const char *socket);

/* Its help, and its line in the command summary. */
void ctl_reset_help(FILE *out);
extern const char ctl_reset_synopsis[];
extern const char ctl_reset_summary[];

#endif
