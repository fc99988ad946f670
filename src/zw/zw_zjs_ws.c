/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_ws.c: the WebSocket client of the zwavejs backend (see
 * zw_zjs_ws.h), on libwebsockets 4.1 with our loop as its foreign loop.
 *
 * Two facts of libwebsockets 4.1.6 shape it.  It calls lws_context_destroy
 * twice on a foreign loop: the first call, in the loop, only closes its
 * handles; the second, once the loop has stopped, frees the context (in
 * the loop it frees handles libuv still holds).  So a closed client waits
 * on a list for zjs_ws_after_loop().  And it delivers a big message in
 * pieces of the receive buffer: the first piece says how big the frame
 * is, so an oversized message is refused before it is buffered.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libwebsockets.h>

#include "log.h"
#include "zw_zjs_ws.h"

#define ZJS_WS_RETRY_MAX_MS 30000
#define ZJS_WS_TX_MAX	    64	  /* messages waiting to be sent */
#define ZJS_WS_RX_KEEP	    65536 /* a receive buffer kept between messages */

struct zjs_tx {
	struct zjs_tx *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes, then the text */
};

struct zjs_ws {
	uv_loop_t *loop;
	struct lws_context *lws;
	struct lws *wsi;
	struct wsurl url;
	char address[WSURL_PATH_MAX + 2]; /* host, or "+" and the path */
	size_t max;
	const struct zjs_ws_ops *ops;
	void *ctx;
	uv_timer_t retry;
	uv_idle_t stop;
	unsigned attempts;
	bool up, closing, dropping;
	char drop_why[96];
	char *rx;
	size_t rx_len, rx_cap;
	struct zjs_tx *tx_head, *tx_tail;
	size_t tx_n;
	struct zjs_ws *next_closed;
};

/* Closed clients whose contexts zjs_ws_after_loop() frees. */
static struct zjs_ws *zjs_closed;

static void zjs_ws_connect(struct zjs_ws *w);

static void zjs_ws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_ERR : LOG_WARNING,
		"zwavejs: libwebsockets: %.*s", (int)n, line);
}

static void zjs_tx_flush(struct zjs_ws *w)
{
	while (w->tx_head) {
		struct zjs_tx *t = w->tx_head;

		w->tx_head = t->next;
		free(t);
	}
	w->tx_tail = NULL;
	w->tx_n = 0;
}

static void zjs_retry_cb(uv_timer_t *t)
{
	zjs_ws_connect(t->data);
}

/* The connection is gone or never came: tell, and try again later. */
static void zjs_ws_down(struct zjs_ws *w, const char *why)
{
	unsigned ms;

	w->wsi = NULL;
	w->up = false;
	w->dropping = false;
	w->rx_len = 0;
	zjs_tx_flush(w);
	if (w->closing || uv_is_active((uv_handle_t *)&w->retry))
		return;
	ms = w->attempts < 5 ? 1000u << w->attempts : ZJS_WS_RETRY_MAX_MS;
	if (ms > ZJS_WS_RETRY_MAX_MS)
		ms = ZJS_WS_RETRY_MAX_MS;
	w->attempts++;
	(void)uv_timer_start(&w->retry, zjs_retry_cb, ms, 0);
	w->ops->closed(w->ctx, why, ms);
}

/* A piece of a message: false to close the connection. */
static bool zjs_ws_rx(struct zjs_ws *w, struct lws *wsi, const char *in,
		      size_t len)
{
	size_t rest = lws_remaining_packet_payload(wsi);

	if (lws_is_first_fragment(wsi))
		w->rx_len = 0;
	if (lws_frame_is_binary(wsi)) {
		snprintf(w->drop_why, sizeof(w->drop_why),
			 "the server sent a binary message");
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
				 NULL, 0);
		return false;
	}
	if (len > w->max - w->rx_len || rest > w->max - w->rx_len - len) {
		snprintf(w->drop_why, sizeof(w->drop_why),
			 "zwgate closed it: a message over %zu bytes", w->max);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL,
				 0);
		return false;
	}
	if (w->rx_len + len + rest + 1 > w->rx_cap) {
		size_t cap = w->rx_len + len + rest + 1;
		char *p = realloc(w->rx, cap);

		if (!p) {
			log_error("zwavejs: out of memory for a message of "
				  "%zu bytes",
				  cap);
			return false;
		}
		w->rx = p;
		w->rx_cap = cap;
	}
	memcpy(w->rx + w->rx_len, in, len);
	w->rx_len += len;
	if (lws_is_final_fragment(wsi) && rest == 0) {
		size_t n = w->rx_len;

		w->rx[n] = '\0';
		w->rx_len = 0;
		w->ops->message(w->ctx, w->rx, n);
		/* The state is megabytes once per connection: not kept. */
		if (w->rx_cap > ZJS_WS_RX_KEEP && !w->closing) {
			free(w->rx);
			w->rx = NULL;
			w->rx_cap = 0;
		}
	}
	return true;
}

static int zjs_ws_tx(struct zjs_ws *w, struct lws *wsi)
{
	struct zjs_tx *t = w->tx_head;
	int n;

	if (w->dropping) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				 (unsigned char *)w->drop_why,
				 strlen(w->drop_why));
		return -1;
	}
	if (!t)
		return 0;
	n = lws_write(wsi, t->buf + LWS_PRE, t->len, LWS_WRITE_TEXT);
	if (n < 0 || (size_t)n < t->len)
		return -1;
	w->tx_head = t->next;
	if (!w->tx_head)
		w->tx_tail = NULL;
	w->tx_n--;
	free(t);
	if (w->tx_head)
		lws_callback_on_writable(wsi);
	return 0;
}

static int zjs_ws_cb(struct lws *wsi, enum lws_callback_reasons reason,
		     void *user, void *in, size_t len)
{
	struct lws_context *c = wsi ? lws_get_context(wsi) : NULL;
	struct zjs_ws *w = c ? lws_context_user(c) : NULL;

	(void)user;
	/*
	 * lws frees a wsi without clearing *pwsi; and a connection lost
	 * between the upgrade request and its answer ends here with no
	 * CONNECTION_ERROR: either way, forget it (and try again).
	 */
	if (w && reason == LWS_CALLBACK_WSI_DESTROY && wsi == w->wsi) {
		w->wsi = NULL;
		if (!w->closing)
			zjs_ws_down(w, "the connection closed before the "
				       "WebSocket handshake");
		return 0;
	}
	if (!w || w->closing)
		return reason == LWS_CALLBACK_CLIENT_RECEIVE ||
			       reason == LWS_CALLBACK_CLIENT_WRITEABLE
			   ? -1
			   : 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		zjs_ws_down(w, in && len ? (const char *)in
					 : "the connection failed");
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		w->up = true;
		w->rx_len = 0;
		w->ops->opened(w->ctx);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!zjs_ws_rx(w, wsi, in, len))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return zjs_ws_tx(w, wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		zjs_ws_down(w, w->drop_why[0] ? w->drop_why
					      : "the server closed the "
						"connection");
		w->drop_why[0] = '\0';
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols zjs_ws_protocols[] = {
	{ "zwgate-zwavejs", zjs_ws_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void zjs_ws_connect(struct zjs_ws *w)
{
	struct lws_client_connect_info i;
	struct stat st;
	char why[96];

	/* lws 4.1.6 leaks a poll handle on a socket path that fails at
	 * once: look first, and say why. */
	if (w->url.unix_socket && stat(w->url.path, &st) < 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		zjs_ws_down(w, why);
		return;
	}
	if (w->url.unix_socket && !S_ISSOCK(st.st_mode)) {
		zjs_ws_down(w, "not a socket");
		return;
	}

	memset(&i, 0, sizeof(i));
	i.context = w->lws;
	i.address = w->address;
	i.port = w->url.unix_socket ? 0 : w->url.port;
	i.path = w->url.unix_socket ? "/" : w->url.path;
	i.host = w->url.unix_socket ? "localhost" : w->url.host;
	i.origin = i.host;
	i.local_protocol_name = zjs_ws_protocols[0].name;
	i.ietf_version_or_minus_one = -1;
	i.pwsi = &w->wsi;
	if (!lws_client_connect_via_info(&i))
		zjs_ws_down(w, "cannot start a connection");
}

int zjs_ws_open(uv_loop_t *loop, const struct wsurl *url, size_t max_message,
		const struct zjs_ws_ops *ops, void *ctx, struct zjs_ws **ret)
{
	struct lws_context_creation_info info;
	void *loops[1] = { loop };
	struct zjs_ws *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->url = *url;
	w->max = max_message;
	w->ops = ops;
	w->ctx = ctx;
	snprintf(w->address, sizeof(w->address), "%s%s",
		 url->unix_socket ? "+" : "",
		 url->unix_socket ? url->path : url->host);
	lws_set_log_level(LLL_ERR | LLL_WARN, zjs_ws_log);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = zjs_ws_protocols;
	info.foreign_loops = loops;
	info.pcontext = &w->lws;
	info.gid = -1;
	info.uid = -1;
	info.user = w;
	w->lws = lws_create_context(&info);
	if (!w->lws) {
		free(w);
		return -EIO;
	}
	uv_timer_init(loop, &w->retry);
	uv_idle_init(loop, &w->stop);
	w->retry.data = w->stop.data = w;
	/* From the loop, not from here: a failure calls closed(), which
	 * the caller must not hear before it has *ret. */
	(void)uv_timer_start(&w->retry, zjs_retry_cb, 0, 0);
	*ret = w;
	return 0;
}

int zjs_ws_send(struct zjs_ws *w, const char *text, size_t len)
{
	struct zjs_tx *t;

	if (!w->up || w->dropping)
		return -ENOTCONN;
	if (w->tx_n >= ZJS_WS_TX_MAX)
		return -ENOBUFS;
	t = malloc(sizeof(*t) + LWS_PRE + len);
	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->len = len;
	memcpy(t->buf + LWS_PRE, text, len);
	if (w->tx_tail)
		w->tx_tail->next = t;
	else
		w->tx_head = t;
	w->tx_tail = t;
	w->tx_n++;
	lws_callback_on_writable(w->wsi);
	return 0;
}

void zjs_ws_ok(struct zjs_ws *w)
{
	w->attempts = 0;
}

void zjs_ws_drop(struct zjs_ws *w, const char *why)
{
	if (!w->wsi || w->dropping)
		return;
	snprintf(w->drop_why, sizeof(w->drop_why), "%s", why);
	w->dropping = true;
	lws_callback_on_writable(w->wsi);
}

/* Out of any libwebsockets callback: the first of the two destroys. */
static void zjs_ws_stop_cb(uv_idle_t *h)
{
	struct zjs_ws *w = h->data;

	uv_idle_stop(h);
	if (w->wsi)
		lws_set_timeout(w->wsi, PENDING_TIMEOUT_CLOSE_SEND,
				LWS_TO_KILL_ASYNC);
	lws_context_destroy(w->lws);
	uv_close((uv_handle_t *)&w->retry, NULL);
	uv_close((uv_handle_t *)&w->stop, NULL);
}

void zjs_ws_close(struct zjs_ws *w)
{
	if (!w || w->closing)
		return;
	w->closing = true;
	uv_timer_stop(&w->retry);
	zjs_tx_flush(w);
	(void)uv_idle_start(&w->stop, zjs_ws_stop_cb);
	w->next_closed = zjs_closed;
	zjs_closed = w;
}

void zjs_ws_after_loop(void)
{
	while (zjs_closed) {
		struct zjs_ws *w = zjs_closed;

		zjs_closed = w->next_closed;
		if (w->lws)
			lws_context_destroy(w->lws);
		free(w->rx);
		free(w);
	}
}
