/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_ws.h: the zwavejs backend's WebSocket client, on the daemon's
 * libuv loop (libwebsockets with its libuv event library).
 *
 * It hands up whole text messages, each at most max_message bytes (a
 * bigger one closes the connection with 1009), sends text messages in
 * order, and when the connection fails or is lost it connects again by
 * itself after 1, 2, 4 ... 30 s.  Every callback runs on the loop.
 */
#ifndef ZWGATE_ZW_ZJS_WS_H
#define ZWGATE_ZW_ZJS_WS_H

#include <stddef.h>

#include <uv.h>

#include "wsurl.h"

struct zjs_ws;

struct zjs_ws_ops {
	/* Connected (the server speaks first). */
	void (*opened)(void *ctx);
	/* One whole message: len bytes at text, NUL-terminated. */
	void (*message)(void *ctx, const char *text, size_t len);
	/* Not connected any more, or not at all (why); the next attempt
	 * is in retry_ms. */
	void (*closed)(void *ctx, const char *why, unsigned retry_ms);
};

/* Start connecting to url: 0, -ENOMEM or -EIO (libwebsockets refused). */
int zjs_ws_open(uv_loop_t *loop, const struct wsurl *url, size_t max_message,
		const struct zjs_ws_ops *ops, void *ctx, struct zjs_ws **ret);
/* Queue a text message: 0, -ENOTCONN (not connected), -ENOBUFS (too
 * much waiting already) or -ENOMEM. */
int zjs_ws_send(struct zjs_ws *w, const char *text, size_t len);
/* The peer took the session (not just the connection): the next loss
 * is retried after 1 s again, not after the grown back-off. */
void zjs_ws_ok(struct zjs_ws *w);
/* Drop this connection (the peer broke the protocol): closed() follows,
 * and so does the next attempt. */
void zjs_ws_drop(struct zjs_ws *w, const char *why);
/* Stop: no callback after this returns.  What libwebsockets cannot free
 * while the loop runs is freed by zjs_ws_after_loop(). */
void zjs_ws_close(struct zjs_ws *w);
/* Once the loop has stopped (uv_run returned): free what the closes
 * left; then the loop can be closed. */
void zjs_ws_after_loop(void);

#endif
