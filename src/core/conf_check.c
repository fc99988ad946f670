/* SPDX-License-Identifier: MIT */
/*
 * conf_check.c: the checks of single string values of zwgate.conf(5)
 * (struct conf_key's check): gateway-id, group, timezone, host,
 * connect-to, topic-prefix and discovery-prefix.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "wsurl.h"

#define CONF_TZ_NAME_MAX    255 /* a time zone name */
#define CONF_GROUP_NAME_MAX 32	/* a group name */
#define CONF_TZDIR	    "/usr/share/zoneinfo"
#define CONF_HOST_MAX	    253 /* a DNS name, as RFC 1035 says */
#define CONF_LABEL_MAX	    63	/* one label of it */
#define CONF_PREFIX_MAX	    64	/* topic-prefix, discovery-prefix */
#define CONF_ALNUM \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
			   size_t len)
{
	size_t n = strspn(v, CONF_ALNUM "-_");

	if (strcmp(v, CONF_GATEWAY_ID_FLEET) == 0) {
		snprintf(msg, len,
			 "gateway-id %s is reserved: the fleet's topics are "
			 "under <topic-prefix>/%s",
			 shown, CONF_GATEWAY_ID_FLEET);
		return false;
	}
	if (n && n <= CONF_GATEWAY_ID_MAX && !v[n])
		return true;
	snprintf(msg, len,
		 "gateway-id must be 1 to %d letters, digits, '-' or '_', "
		 "not %s",
		 CONF_GATEWAY_ID_MAX, shown);
	return false;
}

bool conf_check_group(const char *v, const char *shown, char *msg, size_t len)
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
bool conf_check_timezone(const char *v, const char *shown, char *msg,
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
bool conf_check_host(const char *v, const char *shown, char *msg, size_t len)
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

bool conf_check_address(const char *v, const char *shown, char *msg, size_t len)
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

bool conf_check_topic_prefix(const char *v, const char *shown, char *msg,
			     size_t len)
{
	return conf_check_prefix("topic-prefix", v, shown, msg, len);
}

bool conf_check_discovery_prefix(const char *v, const char *shown, char *msg,
				 size_t len)
{
	return conf_check_prefix("discovery-prefix", v, shown, msg, len);
}

/* Loopback or a Unix socket only: the server has no authentication. */
bool conf_check_zjs_server(const char *v, const char *shown, char *msg,
			   size_t len)
{
	struct wsurl u;
	char err[256];

	(void)shown;
	if (wsurl_parse(v, &u, err, sizeof(err)) == 0)
		return true;
	snprintf(msg, len, "server %s", err);
	return false;
}
