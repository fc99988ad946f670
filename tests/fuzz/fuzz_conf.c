/* SPDX-License-Identifier: MIT */
/*
 * fuzz_conf.c: zwgate.conf(5) as zwgated -n reads it.  The input is the
 * main file, in a directory that also holds what a config names: files
 * to include, a simulated network, TLS files with their modes, a trust
 * bundle.  Beyond not crashing, a load keeps conf.h's promise: 0 with a
 * config and no error, or -EINVAL with at least one error and no config,
 * or -ENOMEM; and every diagnostic names a file and says something.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_rules.h"
#include "diag.h"
#include "fuzz.h"

struct fuzz_file {
	const char *name;
	const char *text;
	mode_t mode;
};

/* What the seeds (etc/zwgate.conf, tests/conf/) refer to. */
static const struct fuzz_file fuzz_files[] = {
	{ "sim-network.json", "{ \"nodes\": [] }\n", 0644 },
	{ "rules.d", NULL, 0755 },
	{ "rules.d/a.rules",
	  "scene \"s\" { set \"porch\" switch on }\nevery 1h do run \"s\"\n",
	  0644 },
	{ "inc.conf", "log-level debug\n", 0644 },
	{ "loop.conf", "include \"loop.conf\"\n", 0644 },
	{ "ca.pem", "not checked here\n", 0644 },
	{ "client.pem", "not checked here\n", 0644 },
	{ "open.conf", "log-level info\n", 0666 },
	{ "secrets", NULL, 0700 },
	{ "secrets/client.key", "not checked here\n", 0600 },
	{ "secrets/open.key", "not checked here\n", 0644 },
	{ "factory.bundle", "{}\n", 0644 },
};

static char fuzz_main[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(fuzz_files) / sizeof(fuzz_files[0]);
	     i++) {
		const struct fuzz_file *f = &fuzz_files[i];

		fuzz_path(path, fuzz_dir(), f->name);
		if (!f->text)
			fuzz_mkdir(path);
		else
			fuzz_write(path, f->text, strlen(f->text), f->mode);
	}
	fuzz_path(fuzz_main, fuzz_dir(), "zwgate.conf");
	return 0;
}

static void check_diags(const struct diag_list *l)
{
	char buf[1024];

	fuzz_check(l->n <= DIAG_MAX && l->n <= l->errors + l->warnings,
		   "diagnostics miscounted");
	for (size_t i = 0; i < l->n; i++) {
		fuzz_check(l->items[i].file && l->items[i].msg &&
			       l->items[i].msg[0],
			   "an empty diagnostic");
		diag_format(&l->items[i], buf, sizeof(buf));
	}
}

static void check_conf(const struct conf *c)
{
	fuzz_check(c->gateway_id && c->gateway_id[0], "no gateway-id");
	fuzz_check(c->zwave.backend && c->zwave.device, "no zwave defaults");
	fuzz_check(!c->zwave.sim_network || c->zwave.sim_network[0] == '/',
		   "sim-network not absolute");
	fuzz_check(c->files && c->files[0], "no file list");
	fuzz_check(!c->cloud.set || (c->cloud.hosts && c->cloud.hosts[0]),
		   "cloud without a host");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list diags;
	struct conf *c = NULL;
	int r;

	fuzz_write(fuzz_main, data, size, 0644);
	diag_init(&diags);
	r = conf_load(fuzz_main, &conf_rules_load_opts, &diags, &c);
	check_diags(&diags);
	fuzz_check(r == 0 || r == -EINVAL || r == -ENOMEM, "conf_load: %d", r);
	fuzz_check((r == 0) == (c != NULL), "a config with %d", r);
	fuzz_check(r != 0 || diags.errors == 0, "loaded with errors");
	fuzz_check(r != -EINVAL || diags.errors > 0, "-EINVAL without error");
	if (c)
		check_conf(c);
	conf_free(c);
	diag_clear(&diags);
	return 0;
}
