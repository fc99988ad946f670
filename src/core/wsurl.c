/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wsurl.h"

#define WSURL_SHOWN 80 /* bytes of the URL quoted in a message */

static int wsurl_fail(char *err, size_t len, const char *s, const char *why)
{
	snprintf(err, len, "'%.*s%s': %s", WSURL_SHOWN, s,
		 strlen(s) > WSURL_SHOWN ? "..." : "", why);
	return -EINVAL;
}

/* Printable ASCII, no space: what a URL path may hold here. */
static bool wsurl_path_ok(const char *p)
{
	for (; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

static bool wsurl_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return ntohl(a4.s_addr) >> 24 == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int wsurl_unix(const char *s, const char *p, struct wsurl *u, char *err,
		      size_t len)
{
	if (*p != '/')
		return wsurl_fail(err, len, s,
				  "a Unix socket's path must be absolute "
				  "(ws+unix:/run/zwave-js/server.sock)");
	if (strlen(p) >= sizeof(u->path))
		return wsurl_fail(err, len, s, "the socket's path is too long");
	if (!wsurl_path_ok(p))
		return wsurl_fail(err, len, s,
				  "the socket's path has a space or a "
				  "character that is not printable ASCII");
	u->unix_socket = true;
	snprintf(u->path, sizeof(u->path), "%s", p);
	return 0;
}

/* HOST:PORT[/PATH] after "ws://". */
static int wsurl_tcp(const char *s, const char *p, struct wsurl *u, char *err,
		     size_t len)
{
	const char *end, *port;
	char host[WSURL_HOST_MAX];
	size_t n;
	long v;
	char *e;

	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return wsurl_fail(err, len, s, "no ']' after '['");
		n = (size_t)(end - p - 1);
		port = end + 1;
		p++;
	} else {
		n = strcspn(p, ":/");
		port = p + n;
	}
	if (n == 0)
		return wsurl_fail(err, len, s, "no host");
	if (n >= sizeof(host))
		return wsurl_fail(err, len, s, "the host is too long");
	memcpy(host, p, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!wsurl_loopback(host))
		return wsurl_fail(err, len, s,
				  "the Z-Wave JS server has no authentication, "
				  "so zwgate reaches it on loopback only "
				  "(127.0.0.1, [::1], localhost) or through a "
				  "Unix socket (ws+unix:/PATH)");
	if (*port != ':')
		return wsurl_fail(err, len, s,
				  "no port (the server's default is 3000: "
				  "ws://127.0.0.1:3000)");
	errno = 0;
	v = strtol(port + 1, &e, 10);
	if (e == port + 1 || errno || v < 1 || v > 65535 || (*e && *e != '/') ||
	    port[1] == '+' || port[1] == '-')
		return wsurl_fail(err, len, s, "the port must be 1 to 65535");
	if (strlen(*e ? e : "/") >= sizeof(u->path))
		return wsurl_fail(err, len, s, "the path is too long");
	if (!wsurl_path_ok(e))
		return wsurl_fail(err, len, s,
				  "the path has a space or a character that "
				  "is not printable ASCII");
	snprintf(u->host, sizeof(u->host), "%s", host);
	u->port = (uint16_t)v;
	snprintf(u->path, sizeof(u->path), "%s", *e ? e : "/");
	return 0;
}

int wsurl_parse(const char *s, struct wsurl *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	if (strncmp(s, "ws+unix:", 8) == 0)
		return wsurl_unix(s, s + 8, u, err, errlen);
	if (strncasecmp(s, "ws://", 5) == 0)
		return wsurl_tcp(s, s + 5, u, err, errlen);
	if (strncasecmp(s, "wss://", 6) == 0)
		return wsurl_fail(err, errlen, s,
				  "wss:// is not supported: the server is on "
				  "loopback, use ws://");
	return wsurl_fail(err, errlen, s,
			  "not a ws:// or ws+unix: URL (for example "
			  "ws://127.0.0.1:3000)");
}
