/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust_int.h: what the files of `zwgatectl trust` share.  ctl_trust.c
 * has the table of subcommands, their help, messages and the requests
 * import and status; ctl_trust_args.c reads a subcommand's command line;
 * ctl_trust_make.c is `trust make`; ctl_trust_keys.c is keygen, sign and
 * verify.
 */
#ifndef ZWGATE_CTL_TRUST_INT_H
#define ZWGATE_CTL_TRUST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "ctl_trust.h"
#include "trust.h"

#define CTL_TRUST_OPTS_MAX    12
#define CTL_TRUST_PEM_MAX     (256 * 1024) /* bytes of a certificate file */
#define CTL_TRUST_ERR_MAX     1024
#define CTL_TRUST_VERSION_MAX UINT64_C(9007199254740991) /* 2^53 - 1 */
#define CTL_TRUST_B64_KEY_LEN 44 /* base64 of a raw Ed25519 public key */

enum ctl_topt_kind {
	CTL_TOPT_ONE,  /* takes one value */
	CTL_TOPT_MANY, /* takes one or more */
	CTL_TOPT_EACH, /* takes one, and may be repeated */
	CTL_TOPT_FLAG, /* takes none */
};

struct ctl_topt {
	const char *name; /* "--host" */
	enum ctl_topt_kind kind;
};

/* A command line, sorted: the values of each option, and the rest. */
struct ctl_targs {
	bool set[CTL_TRUST_OPTS_MAX];
	size_t nvals[CTL_TRUST_OPTS_MAX];
	const char *vals[CTL_TRUST_OPTS_MAX][CTL_TRUST_VALUES_MAX];
	size_t npos;
	const char *pos[CTL_TRUST_VALUES_MAX];
};

struct ctl_tcmd {
	const char *name;
	const char *synopsis;
	const char *help;
	const struct ctl_topt *opts; /* ends with a NULL name */
	size_t pos_min, pos_max;     /* arguments that are not options */
	const char *const *required; /* options that must be given */
	int (*run)(const struct ctl_tcmd *c, struct ctl_targs *a);
	/* an online command: the request to send, or NULL after an error */
	json_t *(*build)(const struct ctl_tcmd *c, struct ctl_targs *a,
			 int *rc);
	void (*print)(const json_t *result);
};

/* ---- ctl_trust.c ---------------------------------------------------- */

/* "zwgatectl: trust NAME: " and the message (made safe) on stderr. */
void ctl_trust_errorf(const struct ctl_tcmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The error, then the synopsis of c (NULL: of trust); CTL_TRUST_USAGE. */
int ctl_trust_usage(const struct ctl_tcmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- ctl_trust_args.c: a subcommand's command line ------------------ */

int ctl_trust_parse_args(const struct ctl_tcmd *c, int argc, char **argv,
			 struct ctl_targs *a);
int ctl_trust_check_args(const struct ctl_tcmd *c, const struct ctl_targs *a);
int ctl_trust_opt_index(const struct ctl_tcmd *c, const char *name);
size_t ctl_trust_nvals(const struct ctl_tcmd *c, const struct ctl_targs *a,
		       const char *name);
const char *ctl_trust_val(const struct ctl_tcmd *c, const struct ctl_targs *a,
			  const char *name);
bool ctl_trust_flag(const struct ctl_tcmd *c, const struct ctl_targs *a,
		    const char *name);

/* ---- ctl_trust_keys.c and ctl_trust_make.c: the offline tools ------- */

/* b as JSON to path, replaced whole; 0 or CTL_TRUST_FAILED (said why). */
int ctl_trust_save_bundle(const struct ctl_tcmd *c,
			  const struct trust_bundle *b, const char *path,
			  mode_t mode);

extern const struct ctl_tcmd ctl_trust_cmd_keygen;
extern const struct ctl_tcmd ctl_trust_cmd_make;
extern const struct ctl_tcmd ctl_trust_cmd_sign;
extern const struct ctl_tcmd ctl_trust_cmd_verify;

#endif
