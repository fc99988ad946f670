/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust_args.c: the command line of a `zwgatectl trust` subcommand,
 * read by the table of its options (struct ctl_topt) into struct
 * ctl_targs, and the values looked up by option name.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_trust_int.h"

/* ---- the command line ---------------------------------------------- */

static int find_opt(const struct ctl_topt *opts, const char *name, size_t len)
{
	for (int i = 0; opts[i].name; i++)
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return i;
	return -1;
}

static int add_value(const struct ctl_tcmd *c, struct ctl_targs *a, int o,
		     const char *v)
{
	if (a->nvals[o] == CTL_TRUST_VALUES_MAX)
		return ctl_trust_usage(c, "too many values of %s (at most %d)",
				       c->opts[o].name, CTL_TRUST_VALUES_MAX);
	a->vals[o][a->nvals[o]++] = v;
	return 0;
}

static int add_pos(const struct ctl_tcmd *c, struct ctl_targs *a, const char *v)
{
	if (a->npos == CTL_TRUST_VALUES_MAX || a->npos == c->pos_max)
		return ctl_trust_usage(c, "unexpected argument '%s'", v);
	a->pos[a->npos++] = v;
	return 0;
}

/*
 * "--name" or "--name=value".  *cur becomes the option that takes the
 * next arguments as its values (-1: none).
 */
static int take_opt(const struct ctl_tcmd *c, struct ctl_targs *a,
		    const char *arg, int *cur)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	int o = find_opt(c->opts, arg, len);

	*cur = -1;
	if (o < 0)
		return ctl_trust_usage(c, "unknown option '%.*s'", (int)len,
				       arg);
	if (c->opts[o].kind == CTL_TOPT_FLAG) {
		if (eq)
			return ctl_trust_usage(c, "%s takes no value",
					       c->opts[o].name);
		a->set[o] = true;
		return 0;
	}
	if (a->set[o] && c->opts[o].kind == CTL_TOPT_ONE)
		return ctl_trust_usage(c, "%s given twice", c->opts[o].name);
	a->set[o] = true;
	if (eq)
		return add_value(c, a, o, eq + 1);
	*cur = o;
	return 0;
}

/*
 * Options take their values from the arguments that follow them, up to
 * the next option ("--host a b --host c"); a one-value option takes one,
 * and what follows is an argument.  "--" ends the options.
 */
int ctl_trust_parse_args(const struct ctl_tcmd *c, int argc, char **argv,
			 struct ctl_targs *a)
{
	bool opts = true;
	int cur = -1, r = 0;

	for (int i = 0; i < argc && r == 0; i++) {
		const char *s = argv[i];

		if (opts && !strcmp(s, "--")) {
			opts = false;
			cur = -1;
		} else if (opts && !strncmp(s, "--", 2)) {
			r = take_opt(c, a, s, &cur);
		} else if (opts && s[0] == '-' && s[1]) {
			r = ctl_trust_usage(c, "unknown option '%s'", s);
		} else if (cur >= 0) {
			r = add_value(c, a, cur, s);
			if (c->opts[cur].kind != CTL_TOPT_MANY)
				cur = -1;
		} else {
			r = add_pos(c, a, s);
		}
	}
	for (int o = 0; r == 0 && c->opts[o].name; o++)
		if (a->set[o] && c->opts[o].kind != CTL_TOPT_FLAG &&
		    !a->nvals[o])
			r = ctl_trust_usage(c, "%s needs a value",
					    c->opts[o].name);
	return r;
}

int ctl_trust_opt_index(const struct ctl_tcmd *c, const char *name)
{
	int o = find_opt(c->opts, name, strlen(name));

	if (o < 0)
		abort(); /* a name missing from the table: our bug */
	return o;
}

size_t ctl_trust_nvals(const struct ctl_tcmd *c, const struct ctl_targs *a,
		       const char *name)
{
	return a->nvals[ctl_trust_opt_index(c, name)];
}

/* The value of a one-value option, or NULL. */
const char *ctl_trust_val(const struct ctl_tcmd *c, const struct ctl_targs *a,
			  const char *name)
{
	int o = ctl_trust_opt_index(c, name);

	return a->nvals[o] ? a->vals[o][0] : NULL;
}

bool ctl_trust_flag(const struct ctl_tcmd *c, const struct ctl_targs *a,
		    const char *name)
{
	return a->set[ctl_trust_opt_index(c, name)];
}

int ctl_trust_check_args(const struct ctl_tcmd *c, const struct ctl_targs *a)
{
	for (size_t i = 0; c->required && c->required[i]; i++)
		if (!ctl_trust_nvals(c, a, c->required[i]))
			return ctl_trust_usage(c, "%s is required",
					       c->required[i]);
	if (a->npos < c->pos_min)
		return ctl_trust_usage(c, "missing argument");
	return 0;
}
