/* SPDX-License-Identifier: MIT */
/*
 * wsurl.h: where the Z-Wave JS server is (zwave { server "..." }).
 *
 * The server has no authentication: whoever reaches its port drives the
 * Z-Wave network, locks included.  So zwgate talks to it on loopback or
 * through a Unix socket only, and this parser refuses anything else with
 * the reason.  Plain C, no I/O and no name lookup: "localhost" is taken as
 * 127.0.0.1.
 */
#ifndef ZWGATE_WSURL_H
#define ZWGATE_WSURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSURL_HOST_MAX 48  /* a literal IPv4 or IPv6 address */
#define WSURL_PATH_MAX 108 /* a socket's path fits sun_path */

struct wsurl {
	bool unix_socket;	   /* ws+unix:/PATH */
	char host[WSURL_HOST_MAX]; /* "127.0.0.1", "::1"; "" for a socket */
	uint16_t port;		   /* 0 for a socket */
	char path[WSURL_PATH_MAX]; /* the HTTP path, or the socket's path */
};

/*
 * Parse "ws://HOST:PORT[/PATH]" (HOST 127.0.0.0/8, [::1] or localhost;
 * PORT 1-65535, required) or "ws+unix:/ABSOLUTE/PATH".  0, or -EINVAL
 * with the reason in err (which names the URL).
 */
int wsurl_parse(const char *s, struct wsurl *u, char *err, size_t errlen);

#endif
