/* SPDX-License-Identifier: MIT */
/*
 * conf.c: the schema of zwgate.conf(5) (the key tables), what each type of
 * value means, the checks of single values and of the config as a whole.
 * Reading files and statements is conf_parse.c's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "fsutil.h"
#include "lex.h"
#include "loglevel.h"
#include "outbox.h"

#define CONF_TZ_NAME_MAX    255 /* a time zone name */
#define CONF_GROUP_NAME_MAX 32	/* a group name */
#define CONF_LIST_MAX	    256 /* "a, b or c" of a message */
#define CONF_TZDIR	    "/usr/share/zoneinfo"
#define CONF_HOST_MAX	    253 /* a DNS name, as RFC 1035 says */
#define CONF_LABEL_MAX	    63	/* one label of it */
#define CONF_PREFIX_MAX	    64	/* topic-prefix, discovery-prefix */
#define CONF_MQTT_TLS_PORT  8883
#define CONF_MQTT_PORT	    1883
#define CONF_OUTBOX_MAX	    (1024.0 * 1024 * 1024) /* outbox-max-bytes */
#define CONF_ALNUM \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
				  size_t len);
static bool conf_check_timezone(const char *v, const char *shown, char *msg,
				size_t len);
static bool conf_check_group(const char *v, const char *shown, char *msg,
			     size_t len);
static bool conf_check_host(const char *v, const char *shown, char *msg,
			    size_t len);
static bool conf_check_address(const char *v, const char *shown, char *msg,
			       size_t len);
static bool conf_check_topic_prefix(const char *v, const char *shown, char *msg,
				    size_t len);
static bool conf_check_discovery_prefix(const char *v, const char *shown,
					char *msg, size_t len);

static const char *const conf_backends[] = { "sim", "openzwave", NULL };
/* Even entries mean true. */
static const char *const conf_bools[] = { "on", "off", "yes", "no", NULL };

static const struct conf_key conf_zwave_keys[] = {
	CONF_VALUE("backend", CONF_ENUM, zwave.backend, .def = "sim",
		   .words = conf_backends),
	CONF_VALUE("sim-network", CONF_PATH, zwave.sim_network),
	CONF_VALUE("device", CONF_PATH, zwave.device, .def = "/dev/ttyACM0"),
	CONF_VALUE("network-key-file", CONF_PATH, zwave.network_key_file),
	CONF_END,
};

static const struct conf_key conf_location_keys[] = {
	CONF_VALUE("latitude", CONF_NUMBER, location.latitude,
		   .flags = CONF_REQUIRED, .min = -90, .max = 90),
	CONF_VALUE("longitude", CONF_NUMBER, location.longitude,
		   .flags = CONF_REQUIRED, .min = -180, .max = 180),
	CONF_VALUE("timezone", CONF_STRING, location.timezone,
		   .check = conf_check_timezone),
	CONF_END,
};

static const struct conf_key conf_control_keys[] = {
	CONF_VALUE("max-clients", CONF_UINT, control.max_clients, .def_num = 16,
		   .min = 1, .max = 64),
	CONF_VALUE("idle-timeout", CONF_UINT, control.idle_timeout_s,
		   .def_num = 300, .min = 1, .max = 86400),
	CONF_VALUE("group", CONF_STRING, control.group, .def = "zwgate",
		   .check = conf_check_group),
	CONF_END,
};

/* MQTT protocol levels, as CONNECT says them. */
static const char *const conf_protocols[] = { "3.1.1", "5", NULL };
static const int conf_protocol_levels[] = { 4, 5 };
static const char *const conf_sync_words[] = { "always", NULL };
static const int conf_sync_values[] = { 0 };

static const struct conf_key conf_cloud_keys[] = {
	CONF_VALUE("host", CONF_STRING, cloud.host, .flags = CONF_REQUIRED,
		   .check = conf_check_host),
	CONF_VALUE("connect-to", CONF_STRING, cloud.connect_to,
		   .check = conf_check_address),
	CONF_VALUE("port", CONF_UINT, cloud.port, .def_num = CONF_MQTT_TLS_PORT,
		   .min = 1, .max = 65535),
	CONF_VALUE("protocol", CONF_CHOICE, cloud.protocol, .def_num = 4,
		   .words = conf_protocols, .values = conf_protocol_levels),
	CONF_VALUE("ca-file", CONF_PATH, cloud.ca_file),
	CONF_VALUE("trust-bundle", CONF_PATH, cloud.trust_bundle),
	CONF_VALUE("clock-synchronized-file", CONF_PATH,
		   cloud.clock_synced_file),
	CONF_VALUE("client-cert", CONF_PATH, cloud.client_cert),
	CONF_VALUE("client-key", CONF_PATH, cloud.client_key),
	CONF_VALUE("topic-prefix", CONF_STRING, cloud.topic_prefix,
		   .def = "zwgate", .check = conf_check_topic_prefix),
	CONF_VALUE("keepalive", CONF_UINT, cloud.keepalive_s, .def_num = 60,
		   .min = 5, .max = 3600),
	CONF_VALUE("discovery", CONF_BOOL, cloud.discovery, .def_num = 1),
	CONF_VALUE("discovery-prefix", CONF_STRING, cloud.discovery_prefix,
		   .def = "homeassistant",
		   .check = conf_check_discovery_prefix),
	CONF_VALUE("outbox-max-bytes", CONF_SIZE, cloud.outbox_max_bytes,
		   .def_num = OUTBOX_DEFAULT_MAX_BYTES,
		   .min = OUTBOX_MIN_MAX_BYTES, .max = CONF_OUTBOX_MAX),
	CONF_VALUE("outbox-sync", CONF_UINT, cloud.outbox_sync_ms,
		   .def_num = OUTBOX_DEFAULT_SYNC_MS, .min = 10, .max = 60000,
		   .words = conf_sync_words, .values = conf_sync_values),
	CONF_VALUE("insecure-plaintext", CONF_BOOL, cloud.insecure_plaintext),
	CONF_VALUE("reconnect-max-delay", CONF_UINT, cloud.reconnect_max_s,
		   .def_num = 300, .min = 1, .max = 3600),
	CONF_END,
};

const struct conf_key conf_top_keys[] = {
	CONF_VALUE("gateway-id", CONF_STRING, gateway_id,
		   .flags = CONF_REQUIRED, .check = conf_check_gateway_id),
	CONF_VALUE("log-level", CONF_LOG_LEVEL, log_level, .def_num = LOG_INFO),
	CONF_BLOCK_OF("zwave", conf_zwave_keys),
	CONF_BLOCK_OF("location", conf_location_keys, .flags = CONF_SET_FLAG,
		      .offset = offsetof(struct conf, location.set)),
	CONF_BLOCK_OF("control", conf_control_keys),
	CONF_BLOCK_OF("cloud", conf_cloud_keys, .flags = CONF_SET_FLAG,
		      .offset = offsetof(struct conf, cloud.set)),
	{ .name = "include",
	  .type = CONF_INCLUDE,
	  .nargs = 1,
	  .flags = CONF_MULTI },
	CONF_END,
};

static bool conf_is_string(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH ||
	       k->type == CONF_ENUM;
}

static int conf_set_defaults(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		void *f = conf_field(c, k);

		if (k->type == CONF_BLOCK && conf_set_defaults(c, k->keys) < 0)
			return -ENOMEM;
		if (conf_is_string(k) && k->def &&
		    !(*(char **)f = strdup(k->def)))
			return -ENOMEM;
		if (k->type == CONF_NUMBER)
			*(double *)f = k->def_num;
		else if (k->type == CONF_UINT)
			*(unsigned *)f = (unsigned)k->def_num;
		else if (k->type == CONF_SIZE)
			*(uint64_t *)f = (uint64_t)k->def_num;
		else if (k->type == CONF_LOG_LEVEL || k->type == CONF_CHOICE)
			*(int *)f = (int)k->def_num;
		else if (k->type == CONF_BOOL)
			*(bool *)f = k->def_num != 0;
	}
	return 0;
}

static void conf_free_values(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		if (k->type == CONF_BLOCK)
			conf_free_values(c, k->keys);
		else if (conf_is_string(k))
			free(*(char **)conf_field(c, k));
	}
}

struct conf *conf_free(struct conf *c)
{
	if (!c)
		return NULL;
	conf_free_values(c, conf_top_keys);
	free(c->path);
	for (char **f = c->files; f && *f; f++)
		free(*f);
	free(c->files);
	if (c->statements && c->statements->free)
		c->statements->free(c);
	free(c);
	return NULL;
}

static struct conf *conf_new(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c && conf_set_defaults(c, conf_top_keys) < 0)
		return conf_free(c);
	return c;
}

/* "a, b or c" */
static const char *conf_list_words(const char *const *words, char *buf,
				   size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; words[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      i == 0	     ? ""
				      : words[i + 1] ? ", "
						     : " or ",
				      words[i]);
	return buf;
}

/* Decimal only: strtod would take "inf", hex and the locale's comma. */
static bool conf_parse_decimal(const char *s, double *ret)
{
	double m = 0, scale = 1;
	unsigned digits = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		m = m * 10 + (*s - '0');
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (digits < 15) {
				m = m * 10 + (*s - '0');
				scale *= 10;
			}
		}
	}
	if (*s)
		return false;
	*ret = (neg ? -m : m) / scale;
	return true;
}

/* An integer key's words (outbox-sync always): true when a is one. */
static bool conf_set_uint_word(struct conf_parser *p, const struct conf_key *k,
			       const struct token *a)
{
	for (size_t i = 0; k->words && k->words[i]; i++) {
		if (strcmp(a->text, k->words[i]) == 0) {
			*(unsigned *)conf_field(p->c, k) =
			    (unsigned)k->values[i];
			return true;
		}
	}
	return false;
}

static bool conf_set_number(struct conf_parser *p, const struct conf_key *k,
			    const struct token *a, const char *shown)
{
	bool integer = k->type == CONF_UINT;
	char list[CONF_LIST_MAX], or [CONF_LIST_MAX + 8] = "";
	double v;

	if (integer && conf_set_uint_word(p, k, a))
		return true;
	if (!conf_parse_decimal(a->text, &v) || v < k->min || v > k->max ||
	    (integer && strchr(a->text, '.'))) {
		if (integer && k->words)
			snprintf(or, sizeof(or), " or %s",
				 conf_list_words(k->words, list, sizeof(list)));
		conf_error_at(p, a,
			      "%s must be %s between %.15g and %.15g%s, not %s",
			      k->name, integer ? "an integer" : "a number",
			      k->min, k->max, or, shown);
		return false;
	}
	if (integer)
		*(unsigned *)conf_field(p->c, k) = (unsigned)v;
	else
		*(double *)conf_field(p->c, k) = v;
	return true;
}

/* "16777216", "16384k", "16M": bytes, or KiB or MiB with a suffix. */
static bool conf_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0, unit = 1;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == 'k' || *s == 'K')
		unit = 1024;
	else if (*s == 'M')
		unit = 1024 * 1024;
	if (unit > 1)
		s++;
	if (*s || v > UINT64_MAX / unit)
		return false;
	*ret = v * unit;
	return true;
}

/* A size as it would be written: 65536 is "64k". */
static const char *conf_show_size(uint64_t v, char *buf, size_t len)
{
	if (v && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v && v % 1024 == 0)
		snprintf(buf, len, "%lluk", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static bool conf_set_size(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a, const char *shown)
{
	char lo[32], hi[32];
	uint64_t v;

	if (conf_parse_size(a->text, &v) && v >= (uint64_t)k->min &&
	    v <= (uint64_t)k->max) {
		*(uint64_t *)conf_field(p->c, k) = v;
		return true;
	}
	conf_error_at(p, a,
		      "%s must be a size between %s and %s (bytes, or KiB "
		      "with k, MiB with M), not %s",
		      k->name, conf_show_size((uint64_t)k->min, lo, sizeof(lo)),
		      conf_show_size((uint64_t)k->max, hi, sizeof(hi)), shown);
	return false;
}

static bool conf_set_string(struct conf_parser *p, const struct conf_key *k,
			    const char *v)
{
	char **f = conf_field(p->c, k);
	char *s = strdup(v);

	if (!s)
		return conf_oom(p);
	free(*f);
	*f = s;
	return true;
}

static bool conf_set_path(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a)
{
	char **f = conf_field(p->c, k);
	char *s;

	if (!a->len) {
		conf_error_at(p, a, "%s must not be empty", k->name);
		return false;
	}
	s = a->text[0] == '/' ? strdup(a->text)
			      : conf_join(p->src->dir, a->text);
	if (!s)
		return conf_oom(p);
	if (strlen(s) >= PATH_MAX) {
		conf_error_at(p, a, "%s is too long (limit %d bytes)", k->name,
			      PATH_MAX - 1);
		free(s);
		return false;
	}
	free(*f);
	*f = s;
	return true;
}

static bool conf_set_word(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a, const char *shown)
{
	const char *const *words = k->type == CONF_BOOL ? conf_bools : k->words;
	char list[CONF_LIST_MAX];

	for (size_t i = 0; words[i]; i++) {
		if (strcmp(a->text, words[i]) != 0)
			continue;
		if (k->type == CONF_BOOL) {
			*(bool *)conf_field(p->c, k) = i % 2 == 0;
			return true;
		}
		if (k->type == CONF_CHOICE) {
			*(int *)conf_field(p->c, k) = k->values[i];
			return true;
		}
		return conf_set_string(p, k, words[i]);
	}
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

static bool conf_set_log_level(struct conf_parser *p, const struct conf_key *k,
			       const struct token *a, const char *shown)
{
	const char *words[LOG_DEBUG - LOG_ERR + 2] = { NULL };
	char list[CONF_LIST_MAX];
	int prio = loglevel_from_name(a->text);

	if (prio >= LOG_ERR && prio <= LOG_DEBUG) {
		*(int *)conf_field(p->c, k) = prio;
		return true;
	}
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		words[i - LOG_ERR] = loglevel_name(i);
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

bool conf_set_value(struct conf_parser *p, const struct conf_key *k,
		    const struct token *a)
{
	char shown[CONF_SHOW_MAX], msg[CONF_MSG_MAX];

	conf_show(a, shown, sizeof(shown));
	switch (k->type) {
	case CONF_STRING:
		if (k->check && !k->check(a->text, shown, msg, sizeof(msg))) {
			conf_error_at(p, a, "%s", msg);
			return false;
		}
		return conf_set_string(p, k, a->text);
	case CONF_PATH:
		return conf_set_path(p, k, a);
	case CONF_ENUM:
	case CONF_CHOICE:
	case CONF_BOOL:
		return conf_set_word(p, k, a, shown);
	case CONF_NUMBER:
	case CONF_UINT:
		return conf_set_number(p, k, a, shown);
	case CONF_SIZE:
		return conf_set_size(p, k, a, shown);
	case CONF_LOG_LEVEL:
		return conf_set_log_level(p, k, a, shown);
	case CONF_INCLUDE:
	case CONF_BLOCK:
		break;
	}
	return false;
}

static bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
				  size_t len)
{
	size_t n = strspn(v, CONF_ALNUM "-_");

	if (n && n <= CONF_GATEWAY_ID_MAX && !v[n])
		return true;
	snprintf(msg, len,
		 "gateway-id must be 1 to %d letters, digits, '-' or '_', "
		 "not %s",
		 CONF_GATEWAY_ID_MAX, shown);
	return false;
}

static bool conf_check_group(const char *v, const char *shown, char *msg,
			     size_t len)
{
	size_t n = strspn(v, CONF_ALNUM "-_.");

	if (n && n <= CONF_GROUP_NAME_MAX && !v[n] && v[0] != '-')
		return true;
	snprintf(msg, len, "group must be a group name, not %s", shown);
	return false;
}

/*
 * A name that stays inside the zone directory: "Europe/Paris", never
 * "/etc/passwd" or "../../etc/passwd".
 */
static bool conf_tz_name_ok(const char *v)
{
	size_t n = strspn(v, CONF_ALNUM "-_+./");

	if (!n || n > CONF_TZ_NAME_MAX || v[n])
		return false;
	for (const char *c = v;; c += n + 1) {
		n = strcspn(c, "/");
		if (n == 0 ||
		    (c[0] == '.' && (n == 1 || (n == 2 && c[1] == '.'))))
			return false;
		if (!c[n])
			return true;
	}
}

/*
 * Known: a TZif file under $TZDIR, as tzset would read it.  The path is
 * built on the stack: out of memory, a known zone must not be called
 * unknown.
 */
static bool conf_check_timezone(const char *v, const char *shown, char *msg,
				size_t len)
{
	const char *dir = getenv("TZDIR");
	char magic[4], path[PATH_MAX];
	bool known = false;
	int fd, n;

	if (!conf_tz_name_ok(v)) {
		snprintf(msg, len,
			 "timezone must be a zone name like 'Europe/Paris', "
			 "not %s",
			 shown);
		return false;
	}
	if (!dir || !*dir)
		dir = CONF_TZDIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, v);
	fd = n > 0 && (size_t)n < sizeof(path)
		 ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
		 : -1;
	if (fd >= 0) {
		known = read(fd, magic, sizeof(magic)) == sizeof(magic) &&
			memcmp(magic, "TZif", sizeof(magic)) == 0;
		close(fd);
	}
	if (!known)
		snprintf(msg, len, "unknown timezone %s", shown);
	return known;
}

/* Labels of letters, digits and '-' (not at either end), between dots. */
static bool conf_dns_name_ok(const char *v)
{
	size_t n;

	for (const char *c = v;; c += n + 1) {
		n = strspn(c, CONF_ALNUM "-");
		if (n == 0 || n > CONF_LABEL_MAX || c[0] == '-' ||
		    c[n - 1] == '-')
			return false;
		if (!c[n])
			return true;
		if (c[n] != '.')
			return false;
	}
}

/*
 * TLS checks the certificate against this name, so it is a DNS name or an
 * IP literal; "999.1.2.3" is neither.
 */
static bool conf_check_host(const char *v, const char *shown, char *msg,
			    size_t len)
{
	size_t n = strlen(v);
	struct in6_addr a6;
	struct in_addr a4;
	bool ok;

	if (strspn(v, "0123456789.") == n)
		ok = inet_pton(AF_INET, v, &a4) == 1;
	else
		ok = (n <= CONF_HOST_MAX && conf_dns_name_ok(v)) ||
		     inet_pton(AF_INET6, v, &a6) == 1;
	if (!ok)
		snprintf(msg, len,
			 "host must be a DNS name or an IP address, not %s",
			 shown);
	return ok;
}

static bool conf_check_address(const char *v, const char *shown, char *msg,
			       size_t len)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, v, &a4) == 1 || inet_pton(AF_INET6, v, &a6) == 1)
		return true;
	snprintf(msg, len, "connect-to must be an IP address, not %s", shown);
	return false;
}

/*
 * Topic levels of letters, digits, '-' and '_' joined by '/': no MQTT
 * wildcard, and no empty level that would make "a//b" or "/a" topics.
 */
static bool conf_check_prefix(const char *name, const char *v,
			      const char *shown, char *msg, size_t len)
{
	size_t n = strlen(v);

	if (strpbrk(v, "+#"))
		snprintf(msg, len,
			 "%s must not hold the MQTT wildcards '+' and '#', "
			 "not %s",
			 name, shown);
	else if (strspn(v, CONF_ALNUM "-_/") != n)
		snprintf(msg, len,
			 "%s must be letters, digits, '-', '_' and '/', "
			 "not %s",
			 name, shown);
	else if (n == 0 || n > CONF_PREFIX_MAX)
		snprintf(msg, len, "%s must be 1 to %d bytes long, not %s",
			 name, CONF_PREFIX_MAX, shown);
	else if (v[0] == '/' || v[n - 1] == '/' || strstr(v, "//"))
		snprintf(msg, len,
			 "%s must not start or end with '/' or have an empty "
			 "level, not %s",
			 name, shown);
	else
		return true;
	return false;
}

static bool conf_check_topic_prefix(const char *v, const char *shown, char *msg,
				    size_t len)
{
	return conf_check_prefix("topic-prefix", v, shown, msg, len);
}

static bool conf_check_discovery_prefix(const char *v, const char *shown,
					char *msg, size_t len)
{
	return conf_check_prefix("discovery-prefix", v, shown, msg, len);
}

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
	else
		conf_validate_device(p);
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
	const char *addr = to ? cl->connect_to : cl->host;

	if (dial && dial->ok && !conf_is_loopback(addr))
		diag_add(p->diags, plain->file, plain->line, plain->col, false,
			 "insecure-plaintext is only allowed towards a "
			 "loopback address, not %s",
			 dial->value);
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

static void conf_validate_cloud(struct conf_parser *p)
{
	const struct conf_seen *block =
	    conf_seen_key(p, conf_top_keys, "cloud");
	const struct conf_seen *plain =
	    conf_seen_key(p, conf_cloud_keys, "insecure-plaintext");

	if (!p->c->cloud.set || (plain && !plain->ok))
		return;
	if (p->c->cloud.insecure_plaintext)
		conf_validate_plaintext(p, plain);
	else
		conf_validate_tls(p, block);
}

/* Checks of the config as a whole, once every file was read. */
static void conf_validate(struct conf_parser *p)
{
	conf_validate_required(p, conf_top_keys, NULL, NULL);
	conf_validate_zwave(p);
	conf_validate_cloud(p);
	if (p->stmts && p->stmts->validate &&
	    p->stmts->validate(p->c, p->diags) < 0)
		conf_oom(p);
}

static int conf_load_main(const char *name, const char *data, size_t len,
			  bool from_file, const struct conf_load_opts *opts,
			  struct diag_list *diags, struct conf **ret)
{
	struct conf_parser p = {
		.stmts = opts ? opts->statements : NULL,
		.diags = diags,
		.errors0 = diags->errors,
	};
	size_t lost0 = diags->lost;
	char msg[CONF_MSG_MAX];
	int r;

	if (!(p.c = conf_new()))
		return -ENOMEM;
	p.c->statements = p.stmts;
	r = conf_abs_path(name, &p.c->path);
	if (r == -ENOMEM) {
		p.err = r;
	} else if (r < 0) {
		diag_add(diags, name, 0, 0, false,
			 "cannot find the current directory: %s",
			 conf_strerror(-r, msg, sizeof(msg)));
	} else if (from_file) {
		conf_parse_file(&p, p.c->path, name);
	} else {
		conf_parse_buffer(&p, name, data, len);
	}
	if (!p.err && !p.stopped && p.nfiles)
		conf_validate(&p);
	if (!p.err)
		p.err = conf_take_files(&p);
	/* A warning that could not be stored would go unseen: zwgated -n
	 * and a reload must show all of them, or not load. */
	if (!p.err && diags->lost > lost0)
		p.err = -ENOMEM;
	if (!p.err && diags->errors > p.errors0)
		p.err = -EINVAL;
	if (!p.err) {
		*ret = p.c;
		p.c = NULL;
	}
	conf_parser_free(&p);
	conf_free(p.c);
	return p.err;
}

int conf_load(const char *path, const struct conf_load_opts *opts,
	      struct diag_list *diags, struct conf **ret)
{
	return conf_load_main(path, NULL, 0, true, opts, diags, ret);
}

int conf_load_buffer(const char *name, const char *data, size_t len,
		     const struct conf_load_opts *opts, struct diag_list *diags,
		     struct conf **ret)
{
	return conf_load_main(name ? name : "<buffer>", data, len, false, opts,
			      diags, ret);
}
