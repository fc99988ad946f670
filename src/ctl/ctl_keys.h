/* SPDX-License-Identifier: MIT */
/*
 * ctl_keys.h: `zwgatectl keys generate FILE`, which makes the Z-Wave
 * network keys (S0, the three S2 classes, the two Long Range ones) that
 * the Z-Wave JS server's configuration reads.  Offline: no daemon is
 * asked, nothing is sent anywhere.
 */
#ifndef ZWGATE_CTL_KEYS_H
#define ZWGATE_CTL_KEYS_H

#include <stdio.h>

/* The values of zwgatectl.c's exit codes that keys uses. */
enum {
	CTL_KEYS_OK = 0,
	CTL_KEYS_FAILED = 1, /* FILE exists, or could not be written */
	CTL_KEYS_USAGE = 2,  /* bad command line */
};

/*
 * Run `keys ARGS`: argv[0] is "keys".  Prints what it did, never a key;
 * returns the exit code.
 */
int ctl_keys_run(int argc, char **argv);

/* Its help, and its line in the command summary. */
void ctl_keys_help(FILE *out);
extern const char ctl_keys_synopsis[];
extern const char ctl_keys_summary[];

#endif
