/* SPDX-License-Identifier: MIT */
/*
 * conf_validate.c: the checks of a config as a whole, once every file
 * was read: required keys, the Z-Wave backend's files, the cloud link's
 * TLS files and plaintext, and the caller's statements (their validate).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "diag.h"
#include "fsutil.h"

#define CONF_MQTT_PORT 1883

static const struct conf_seen *conf_seen_key(struct conf_parser *p,
					     const struct conf_key *keys,
					     const char *name)
{
	return conf_seen_find(p, conf_find(keys, name));
}

static const char *conf_main_name(const struct conf_parser *p)
{
	return p->files[0].name;
}

/* Required keys, in every block that was given. */
static void conf_validate_required(struct conf_parser *p,
				   const struct conf_key *keys,
				   const struct conf_key *block,
				   const struct conf_seen *bs)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		const struct conf_seen *s = conf_seen_find(p, k);

		if (k->type == CONF_BLOCK && s)
			conf_validate_required(p, k->keys, k, s);
		if (!(k->flags & CONF_REQUIRED) || s)
			continue;
		if (block)
			diag_add(p->diags, bs->file, bs->line, bs->col, false,
				 "missing required key '%s' in %s block",
				 k->name, block->name);
		else
			diag_add(p->diags, conf_main_name(p), 0, 0, false,
				 "missing required key '%s'", k->name);
	}
}

static void conf_validate_sim(struct conf_parser *p)
{
	const struct conf_seen *z = conf_seen_key(p, conf_top_keys, "zwave");
	const struct conf_seen *s =
	    conf_seen_key(p, conf_zwave_keys, "sim-network");
	char msg[CONF_MSG_MAX];
	struct stat st;
	int fd;

	if (!s && z)
		diag_add(p->diags, z->file, z->line, z->col, false,
			 "missing required key 'sim-network' in zwave block "
			 "(backend sim needs it)");
	else if (!s)
		diag_add(p->diags, conf_main_name(p), 0, 0, false,
			 "missing required key 'sim-network' in zwave block "
			 "(backend sim is the default)");
	if (!s || !s->ok)
		return;
	fd = open(p->c->zwave.sim_network,
		  O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		diag_add(p->diags, s->file, s->line, s->col, false,
			 "cannot read sim-network %s: %s", s->value,
			 conf_strerror(errno, msg, sizeof(msg)));
	else if (!S_ISREG(st.st_mode))
		diag_add(p->diags, s->file, s->line, s->col, false,
			 "sim-network %s is not a regular file", s->value);
	if (fd >= 0)
		close(fd);
}

/* Only a warning: Z-Wave sticks are plugged in after boot, too. */
static void conf_validate_device(struct conf_parser *p)
{
	const struct conf_seen *s = conf_seen_key(p, conf_zwave_keys, "device");
	struct stat st;

	if (stat(p->c->zwave.device, &st) == 0 || errno != ENOENT)
		return;
	if (s && s->ok)
		diag_add(p->diags, s->file, s->line, s->col, true,
			 "device %s does not exist (not plugged in?)",
			 s->value);
	else if (!s)
		diag_add(p->diags, conf_main_name(p), 0, 0, true,
			 "device '%s' does not exist (not plugged in?)",
			 p->c->zwave.device);
}

static void conf_validate_file(struct conf_parser *p, const struct conf_seen *s,
			       bool key);

static void conf_validate_zwave(struct conf_parser *p)
{
	const struct conf_seen *b =
	    conf_seen_key(p, conf_zwave_keys, "backend");
	const struct conf_seen *nk =
	    conf_seen_key(p, conf_zwave_keys, "network-key-file");

	if (b && !b->ok)
		return;
	if (strcmp(p->c->zwave.backend, "sim") == 0)
		conf_validate_sim(p);
	else if (strcmp(p->c->zwave.backend, "openzwave") == 0)
		conf_validate_device(p);
	/* zwavejs: the server opens the stick and holds the keys. */
	if (nk && strcmp(p->c->zwave.backend, "zwavejs") == 0)
		diag_add(p->diags, nk->file, nk->line, nk->col, true,
			 "network-key-file is not used by backend zwavejs: "
			 "the Z-Wave JS server holds the keys (zwgatectl "
			 "keys generate)");
	/* Whatever the backend: a key others can read is already lost. */
	if (nk)
		conf_validate_file(p, nk, true);
}

/* 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and "localhost". */
static bool conf_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return ntohl(a4.s_addr) >> 24 == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/*
 * Plaintext only where nobody else can listen: the address dialed, which
 * is connect-to when given.  The TLS files are then of no use; they are
 * dropped so that nothing downstream mistakes the link for a TLS one.
 */
static void conf_validate_plaintext(struct conf_parser *p,
				    const struct conf_seen *plain)
{
	static const char *const tls_keys[] = { "ca-file", "trust-bundle",
						"client-cert", "client-key" };
	struct conf_cloud *cl = &p->c->cloud;
	const struct conf_seen *to =
	    conf_seen_key(p, conf_cloud_keys, "connect-to");
	const struct conf_seen *dial =
	    to ? to : conf_seen_key(p, conf_cloud_keys, "host");
	char **addr = to ? cl->connect_to : cl->hosts;

	for (size_t i = 0; dial && dial->ok && addr && addr[i]; i++) {
		if (conf_is_loopback(addr[i]))
			continue;
		diag_add(p->diags, plain->file, plain->line, plain->col, false,
			 "insecure-plaintext is only allowed towards a "
			 "loopback address, not '%s'",
			 addr[i]);
		break;
	}
	if (!conf_seen_key(p, conf_cloud_keys, "port"))
		cl->port = CONF_MQTT_PORT;
	for (size_t i = 0; i < sizeof(tls_keys) / sizeof(tls_keys[0]); i++) {
		const struct conf_key *k =
		    conf_find(conf_cloud_keys, tls_keys[i]);
		const struct conf_seen *s = conf_seen_find(p, k);
		char **f = conf_field(p->c, k);

		if (s && s->ok)
			diag_add(p->diags, s->file, s->line, s->col, true,
				 "%s is not used with insecure-plaintext; "
				 "ignoring it",
				 k->name);
		free(*f);
		*f = NULL;
	}
}

/* Like an ssh key: no bit at all for the group or others. */
static int conf_check_key_stat(const struct stat *st, char *err, size_t len)
{
	unsigned mode = (unsigned)st->st_mode & 07777;
	unsigned bits = mode & 007 ? mode & 007 : (mode & 070) >> 3;
	int r = conf_check_owner(st, err, len);

	if (r < 0 || fs_check_secret_mode(st) == 0)
		return r;
	snprintf(err, len,
		 "is %s by %s (mode %04o); it must be 0600 or stricter, like "
		 "an ssh key",
		 bits & 4   ? "readable"
		 : bits & 2 ? "writable"
			    : "executable",
		 mode & 007 ? "others" : "its group", mode);
	return -EPERM;
}

/*
 * A file the config names: readable by us, and held to the rules of
 * config files (a CA file anyone may write is anyone's CA), a secret (a
 * private key, the Z-Wave network key) to stricter ones.
 */
static void conf_validate_file(struct conf_parser *p, const struct conf_seen *s,
			       bool key)
{
	const char *path = *(char **)conf_field(p->c, s->key);
	char msg[CONF_MSG_MAX];
	struct stat st;
	int fd;

	if (!s->ok)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		diag_add(p->diags, s->file, s->line, s->col, false,
			 "cannot read %s %s: %s", s->key->name, s->value,
			 conf_strerror(errno, msg, sizeof(msg)));
	else if ((key ? conf_check_key_stat(&st, msg, sizeof(msg))
		      : conf_check_stat(&st, msg, sizeof(msg))) < 0)
		diag_add(p->diags, s->file, s->line, s->col, false, "%s %s %s",
			 s->key->name, s->value, msg);
	if (fd >= 0)
		close(fd);
}

/*
 * Neither ca-file nor trust-bundle: the factory bundle the package
 * ships.  Its absence is an error here rather than at the first connect.
 */
static void conf_default_bundle(struct conf_parser *p,
				const struct conf_seen *block)
{
	char msg[CONF_MSG_MAX];

	p->c->cloud.trust_bundle = strdup(ZWGATE_TRUST_DIR "/factory.bundle");
	if (!p->c->cloud.trust_bundle) {
		conf_oom(p);
		return;
	}
	if (access(p->c->cloud.trust_bundle, R_OK) < 0)
		diag_add(p->diags, block->file, block->line, block->col, false,
			 "cannot read the factory trust bundle '%s': %s (set "
			 "trust-bundle or ca-file in the cloud block)",
			 p->c->cloud.trust_bundle,
			 conf_strerror(errno, msg, sizeof(msg)));
}

/* A client certificate and its key make one identity: both or neither. */
static void conf_validate_tls(struct conf_parser *p,
			      const struct conf_seen *block)
{
	const struct conf_seen *ca =
	    conf_seen_key(p, conf_cloud_keys, "ca-file");
	const struct conf_seen *cert =
	    conf_seen_key(p, conf_cloud_keys, "client-cert");
	const struct conf_seen *key =
	    conf_seen_key(p, conf_cloud_keys, "client-key");

	const struct conf_seen *bundle =
	    conf_seen_key(p, conf_cloud_keys, "trust-bundle");

	if (ca && bundle)
		diag_add(p->diags, bundle->file, bundle->line, bundle->col,
			 false,
			 "trust-bundle and ca-file exclude each other "
			 "(trust-bundle supersedes ca-file)");
	else if (ca)
		conf_validate_file(p, ca, false);
	else if (bundle)
		conf_validate_file(p, bundle, false);
	else
		conf_default_bundle(p, block);
	if (cert && !key)
		diag_add(p->diags, cert->file, cert->line, cert->col, false,
			 "client-cert is given without client-key");
	else if (cert)
		conf_validate_file(p, cert, false);
	if (key && !cert)
		diag_add(p->diags, key->file, key->line, key->col, false,
			 "client-key is given without client-cert");
	else if (key)
		conf_validate_file(p, key, true);
}

static size_t conf_count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* connect-to, when given, names one address for each host. */
static void conf_validate_hosts(struct conf_parser *p)
{
	const struct conf_seen *host =
	    conf_seen_key(p, conf_cloud_keys, "host");
	const struct conf_seen *to =
	    conf_seen_key(p, conf_cloud_keys, "connect-to");
	size_t nh = conf_count(p->c->cloud.hosts);
	size_t nt = conf_count(p->c->cloud.connect_to);

	if (host && host->ok && to && to->ok && nh != nt)
		diag_add(p->diags, to->file, to->line, to->col, false,
			 "connect-to gives %zu address%s for %zu host%s: "
			 "give one for each host, in the same order",
			 nt, nt == 1 ? "" : "es", nh, nh == 1 ? "" : "s");
}

static void conf_validate_cloud(struct conf_parser *p)
{
	const struct conf_seen *block =
	    conf_seen_key(p, conf_top_keys, "cloud");
	const struct conf_seen *plain =
	    conf_seen_key(p, conf_cloud_keys, "insecure-plaintext");

	if (!p->c->cloud.set)
		return;
	conf_validate_hosts(p);
	if (plain && !plain->ok)
		return;
	if (p->c->cloud.insecure_plaintext)
		conf_validate_plaintext(p, plain);
	else
		conf_validate_tls(p, block);
}

/* Checks of the config as a whole, once every file was read. */
void conf_validate(struct conf_parser *p)
{
	conf_validate_required(p, conf_top_keys, NULL, NULL);
	conf_validate_zwave(p);
	conf_validate_cloud(p);
	if (p->stmts && p->stmts->validate &&
	    p->stmts->validate(p->c, p->diags) < 0)
		conf_oom(p);
}
