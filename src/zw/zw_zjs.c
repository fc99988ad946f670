/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs.c: the "zwavejs" backend: a client of the Z-Wave JS server
 * (@zwave-js/server), which runs zwave-js and the stick as a service of
 * its own.
 *
 * The connection (zw_zjs_ws.c) comes and goes; on each, the server says
 * its version, zwgate sets the API schema (initialize) and asks for the
 * whole state and every event after it (start_listening).  The server
 * replays nothing it sent while zwgate was away, so each new state is
 * taken whole: nodes and values stay in the registry across a restart of
 * the server, and its status says the controller is gone until then.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "log.h"
#include "zw_zjs_int.h"

/* zwave-js's InclusionStrategy. */
#define ZJS_INCLUDE_DEFAULT  0 /* S2 when the device can, else S0 or none */
#define ZJS_INCLUDE_INSECURE 2

void zjs_emit(struct zw_zjs *z, struct zw_event *ev)
{
	z->cb(z->ctx, ev);
}

static void zjs_emit_message(struct zw_zjs *z, enum zw_event_type type,
			     const char *msg)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.message = msg;
	zjs_emit(z, &ev);
}

void zjs_emit_text(struct zw_zjs *z, const char *cmd, uint16_t node, int result,
		   const char *text)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_CONTROLLER;
	ev.node = node;
	ev.u.message = text;
	ev.command = cmd;
	ev.result = result;
	zjs_emit(z, &ev);
}

void zjs_emit_command(struct zw_zjs *z, const char *cmd, uint16_t node,
		      int result, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(cmd, "heal") != 0 || result != 0)
		log_info("zwave zwavejs: %s", msg);
	zjs_emit_text(z, cmd, node, result, msg);
}

void zjs_emit_found(struct zw_zjs *z)
{
	struct zw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = ZW_EV_CONTROLLER;
	ev.u.message = "include: a device answered; adding it";
	ev.command = "include";
	ev.more_s = ZJS_FOUND_MAX_MS / 1000;
	log_info("zwave zwavejs: %s", ev.u.message);
	zjs_emit(z, &ev);
}

void zjs_cmd_clear(struct zw_zjs *z)
{
	z->cmd.name = NULL;
	uv_timer_stop(&z->cmd.timer);
	memset(&z->s2, 0, sizeof(z->s2));
	z->pin_wanted = false;
}

int zjs_send_pin(struct zw_zjs *z)
{
	zjs_emit_command(z, "include", 0, 0,
			 "include: checking the device's PIN");
	return zjs_send(z, "pin", "controller.validate_dsk_and_enter_pin",
			json_pack("{s:s}", "pin", z->s2.pin));
}

int zjs_send(struct zw_zjs *z, const char *kind, const char *cmd, json_t *args)
{
	json_t *m = args ? args : json_object();
	char id[48];
	char *text;
	int r;

	if (!m)
		return -ENOMEM;
	snprintf(id, sizeof(id), "%s-%lu", kind, ++z->ids);
	if (json_object_set_new(m, "messageId", json_string(id)) < 0 ||
	    json_object_set_new(m, "command", json_string(cmd)) < 0) {
		json_decref(m);
		return -ENOMEM;
	}
	text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!text)
		return -ENOMEM;
	r = zjs_ws_send(z->ws, text, strlen(text));
	free(text);
	/* Not connected: to the API, the controller is not ready. */
	return r == -ENOTCONN ? -ENODEV : r;
}

/* ------------------------------------------------------------------ */
/* The connection.                                                     */

static void zjs_opened(void *ctx)
{
	struct zw_zjs *z = ctx;

	log_info("zwave zwavejs: connected to the server; waiting for its "
		 "version");
	z->listening = false;
	z->all_ready = false;
}

static void zjs_failed(struct zw_zjs *z, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The controller is not reachable: said once until it is again. */
static void zjs_failed(struct zw_zjs *z, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (z->failed_sent) {
		log_debug("zwave zwavejs: %s", msg);
		return;
	}
	z->failed_sent = true;
	zjs_emit_message(z, ZW_EV_FAILED, msg);
}

static void zjs_version(struct zw_zjs *z, const json_t *m)
{
	json_int_t lo =
	    json_integer_value(json_object_get(m, "minSchemaVersion"));
	json_int_t hi =
	    json_integer_value(json_object_get(m, "maxSchemaVersion"));
	const char *server =
	    json_string_value(json_object_get(m, "serverVersion"));
	const char *driver =
	    json_string_value(json_object_get(m, "driverVersion"));
	json_t *args;

	snprintf(z->driver_version, sizeof(z->driver_version), "%s",
		 driver ? driver : "");
	log_info("zwave zwavejs: server %s, zwave-js %s, API schema %lld to "
		 "%lld",
		 server ? server : "?", driver ? driver : "?", (long long)lo,
		 (long long)hi);
	if (lo > ZJS_SCHEMA || hi < ZJS_SCHEMA) {
		zjs_failed(z,
			   "the Z-Wave JS server %s speaks API schema %lld to "
			   "%lld; zwgate needs %d (@zwave-js/server 1.33 or "
			   "later)",
			   server ? server : "?", (long long)lo, (long long)hi,
			   ZJS_SCHEMA);
		zjs_ws_drop(z->ws, "API schema not supported");
		return;
	}
	args = json_pack("{s:i, s:{s:s}}", "schemaVersion", ZJS_SCHEMA,
			 "additionalUserAgentComponents", "zwgate",
			 PACKAGE_VERSION);
	if (zjs_send(z, "init", "initialize", args) < 0 ||
	    zjs_send(z, "listen", "start_listening", NULL) < 0)
		zjs_ws_drop(z->ws, "cannot send");
}

/* What the server said of a command zwgate sent. */
static void zjs_result(struct zw_zjs *z, const json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "messageId"));
	const json_t *res = json_object_get(m, "result");
	bool ok = json_is_true(json_object_get(m, "success"));
	json_int_t status;

	if (!id)
		return;
	if (strncmp(id, "provision-", 10) == 0) {
		zjs_provision_result(z, ok, m);
		return;
	}
	/* Before the include/exclude/heal test below: "heal" is a prefix of
	 * "health-N". */
	if (strncmp(id, "health-", 7) == 0 || strncmp(id, "backup-", 7) == 0) {
		zjs_job_result(z, ok, m, strtoul(id + 7, NULL, 10));
		return;
	}
	if (strncmp(id, "firmware-", 9) == 0) {
		zjs_job_result(z, ok, m, strtoul(id + 9, NULL, 10));
		return;
	}
	if (!ok) {
		const char *code =
		    json_string_value(json_object_get(m, "errorCode"));
		const char *why =
		    json_string_value(json_object_get(m, "zwaveErrorMessage"));

		if (!why)
			why = json_string_value(json_object_get(m, "message"));
		log_warning("zwave zwavejs: %s failed: %s%s%s", id,
			    code ? code : "error", why && *why ? ": " : "",
			    why ? why : "");
		if (strncmp(id, "listen-", 7) == 0 ||
		    strncmp(id, "init-", 5) == 0) {
			zjs_failed(z, "the Z-Wave JS server refused %s: %s", id,
				   code ? code : "error");
			zjs_ws_drop(z->ws, "handshake refused");
		} else if (z->cmd.name &&
			   strncmp(id, z->cmd.name, strlen(z->cmd.name)) == 0) {
			const char *name = z->cmd.name;

			zjs_cmd_clear(z);
			zjs_emit_command(z, name, 0, -EIO,
					 "%s: refused by the server: %s", name,
					 why && *why ? why
					 : code	     ? code
						     : "");
		}
		return;
	}
	if (z->cmd.name && strncmp(id, z->cmd.name, strlen(z->cmd.name)) == 0 &&
	    id[strlen(z->cmd.name)] == '-' &&
	    json_is_false(json_object_get(res, "success"))) {
		/* zwave-js says no when the controller is busy. */
		const char *name = z->cmd.name;

		zjs_cmd_clear(z);
		zjs_emit_command(z, name, 0, -EBUSY,
				 "%s: the controller is busy (another client "
				 "of the server may be including)",
				 name);
	} else if (strncmp(id, "listen-", 7) == 0) {
		z->listening = true;
		z->failed_sent = false;
		zjs_ws_ok(z->ws);
		zjs_node_state(z, json_object_get(res, "state"));
	} else if (strncmp(id, "set-", 4) == 0) {
		/* SetValueStatus: 1 working, 254/255 success. */
		status = json_integer_value(json_object_get(res, "status"));
		if (json_object_get(res, "status") && status != 1 &&
		    status != 254 && status != 255) {
			const char *why =
			    json_string_value(json_object_get(res, "message"));

			log_warning("zwave zwavejs: %s: the write failed "
				    "(status %lld%s%s)",
				    id, (long long)status, why ? ": " : "",
				    why ? why : "");
		}
	}
}

static void zjs_message(void *ctx, const char *text, size_t len)
{
	struct zw_zjs *z = ctx;
	json_error_t e;
	json_t *m = json_loadb(text, len, 0, &e);
	const char *type;

	if (!json_is_object(m)) {
		log_warning("zwave zwavejs: the server sent no JSON object "
			    "(%s)",
			    m ? "another JSON value" : e.text);
		json_decref(m);
		zjs_ws_drop(z->ws, "not a JSON object");
		return;
	}
	type = json_string_value(json_object_get(m, "type"));
	if (!type)
		log_debug("zwave zwavejs: a message without a type");
	else if (strcmp(type, "version") == 0)
		zjs_version(z, m);
	else if (strcmp(type, "result") == 0)
		zjs_result(z, m);
	else if (strcmp(type, "event") == 0 && z->listening)
		zjs_node_event(z, json_object_get(m, "event"));
	json_decref(m);
}

static void zjs_closed(void *ctx, const char *why, unsigned retry_ms)
{
	struct zw_zjs *z = ctx;

	if (z->cmd.name) {
		const char *name = z->cmd.name;

		zjs_cmd_clear(z);
		zjs_emit_command(z, name, 0, -EIO,
				 "%s: stopped: the server is gone", name);
	}
	zjs_job_gone(z);
	if (z->prov_op) {
		z->prov_op = NULL;
		zjs_emit_command(z, "provision", 0, -EIO,
				 "provision: the server is gone");
	}
	z->listening = false;
	zjs_node_disconnected(z);
	if (z->url.unix_socket)
		zjs_failed(z,
			   "no Z-Wave JS server at ws+unix:%s (%s); trying "
			   "again in %u s",
			   z->url.path, why, retry_ms / 1000);
	else
		zjs_failed(z,
			   "no Z-Wave JS server at %s port %u (%s); trying "
			   "again in %u s",
			   z->url.host, z->url.port, why, retry_ms / 1000);
}

static const struct zjs_ws_ops zjs_ws_ops = {
	.opened = zjs_opened,
	.message = zjs_message,
	.closed = zjs_closed,
};

/* ------------------------------------------------------------------ */
/* The backend's operations.                                           */

/* Each timer's close: z goes with the last. */
static void zjs_free_cb(uv_handle_t *h)
{
	struct zw_zjs *z = h->data;

	if (--z->handles)
		return;
	zjs_node_clear(z);
	free(z);
}

static void zjs_close_timers(struct zw_zjs *z)
{
	uv_timer_stop(&z->cmd.timer);
	uv_timer_stop(&z->job.timer);
	uv_close((uv_handle_t *)&z->cmd.timer, zjs_free_cb);
	uv_close((uv_handle_t *)&z->job.timer, zjs_free_cb);
}

static int zjs_open(uv_loop_t *loop, const struct zw_opts *opts, zw_event_fn cb,
		    void *ctx, struct zw **ret)
{
	struct zw_zjs *z;
	char err[256];
	int r;

	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->base.ops = &zw_zjs_ops;
	z->loop = loop;
	z->cb = cb;
	z->ctx = ctx;
	if (wsurl_parse(opts->server ? opts->server : "", &z->url, err,
			sizeof(err)) < 0) {
		log_error("zwave zwavejs: server %s", err);
		free(z);
		return -EINVAL;
	}
	uv_timer_init(loop, &z->cmd.timer);
	z->cmd.timer.data = z;
	uv_timer_init(loop, &z->job.timer);
	z->job.timer.data = z;
	z->handles = 2;
	r = zjs_ws_open(loop, &z->url, ZJS_MESSAGE_MAX, &zjs_ws_ops, z, &z->ws);
	if (r < 0) {
		log_error("zwave zwavejs: cannot start the WebSocket client "
			  "(is libwebsockets-evlib-uv installed?)");
		/* The timers' memory is z's: freed once they are closed. */
		zjs_close_timers(z);
		return r;
	}
	*ret = &z->base;
	return 0;
}

static void zjs_close(struct zw *base)
{
	struct zw_zjs *z = (struct zw_zjs *)base;

	zjs_ws_close(z->ws);
	z->ws = NULL;
	zjs_close_timers(z);
}

static int zjs_set_value(struct zw *base, const struct value_key *key,
			 const struct value *val)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	const struct zjs_value *v = zjs_node_value(z, key);
	json_t *jv, *vid, *args;

	if (!v)
		return -ENOENT;
	if (!z->listening)
		return -ENODEV;
	jv = zjs_map_value_json(val, &v->meta, &v->states);
	vid = zjs_vid_to_json(&v->write);
	args = json_object();
	if (!jv || !vid || !args ||
	    json_object_set_new(args, "nodeId", json_integer(key->node)) < 0 ||
	    json_object_set_new(args, "valueId", vid) < 0 ||
	    json_object_set_new(args, "value", jv) < 0) {
		json_decref(args);
		return -ENOMEM;
	}
	return zjs_send(z, "set", "node.set_value", args);
}

static int zjs_refresh(struct zw *base, uint16_t node)
{
	struct zw_zjs *z = (struct zw_zjs *)base;

	if (!z->nodes[node].known)
		return -ENOENT;
	if (!z->listening)
		return -ENODEV;
	return zjs_send(z, "refresh", "node.refresh_values",
			json_pack("{s:i}", "nodeId", node));
}

void zjs_cmd_timeout(uv_timer_t *t)
{
	struct zw_zjs *z = t->data;
	const char *name = z->cmd.name;
	int r;

	if (!name)
		return;
	if (z->cmd.stopped || z->cmd.timed_out || z->cmd.cancelling ||
	    z->cmd.found) {
		/* The end it waited for did not come: end it here. */
		const char *what =
		    z->cmd.cancelling  ? "cancelled"
		    : z->cmd.timed_out ? "timed out"
		    : z->cmd.found     ? "the device answered but was not added"
				   : "the controller stopped, and no device "
				     "came";

		r = z->cmd.cancelling  ? -ECANCELED
		    : z->cmd.timed_out ? -ETIMEDOUT
				       : -EIO;
		zjs_cmd_clear(z);
		zjs_emit_command(z, name, 0, r, "%s: %s", name, what);
		return;
	}
	z->cmd.timed_out = true;
	(void)zjs_send(z, "stop",
		       strcmp(name, "include") == 0
			   ? "controller.stop_inclusion"
			   : "controller.stop_exclusion",
		       NULL);
	(void)uv_timer_start(&z->cmd.timer, zjs_cmd_timeout,
			     ZJS_STOPPED_GRACE_MS, 0);
}

static int zjs_begin(struct zw_zjs *z, const char *name, const char *cmd,
		     json_t *args, unsigned timeout_s)
{
	int r;

	if (!z->listening) {
		json_decref(args);
		return -ENODEV;
	}
	/* Nor during a backup, which turns the radio off. */
	if (z->cmd.name ||
	    (z->job.name && strcmp(z->job.name, "backup") == 0)) {
		json_decref(args);
		return -EBUSY;
	}
	r = zjs_send(z, name, cmd, args);
	if (r < 0)
		return r;
	z->cmd.name = name;
	z->cmd.cancelling = false;
	z->cmd.timed_out = false;
	z->cmd.found = false;
	z->cmd.stopped = false;
	if (timeout_s)
		(void)uv_timer_start(&z->cmd.timer, zjs_cmd_timeout,
				     (uint64_t)timeout_s * 1000, 0);
	zjs_emit_command(z, name, 0, 0, "%s: asking the controller", name);
	return 0;
}

static int zjs_include(struct zw *base, bool secure, unsigned timeout_s)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	int r = zjs_begin(
	    z, "include", "controller.begin_inclusion",
	    json_pack("{s:{s:i}}", "options", "strategy",
		      secure ? ZJS_INCLUDE_DEFAULT : ZJS_INCLUDE_INSECURE),
	    timeout_s);

	/* Answers given for an include that did not start: gone. */
	if (r < 0 && !z->cmd.name)
		memset(&z->s2, 0, sizeof(z->s2));
	return r;
}

/*
 * Before an include: the classes to grant and the PIN, if known.  During
 * one (answer): the PIN, sent at once when the device waits for it.
 */
static int zjs_s2(struct zw *base, const struct zw_s2 *s2)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	bool including = z->cmd.name && strcmp(z->cmd.name, "include") == 0;

	if (!s2->answer) {
		if (z->cmd.name)
			return -EBUSY;
		z->s2 = *s2;
		z->pin_wanted = false;
		return 0;
	}
	if (!including)
		return -ENOENT;
	if (!s2->pin[0])
		return -EINVAL;
	memcpy(z->s2.pin, s2->pin, sizeof(z->s2.pin));
	if (!z->pin_wanted)
		return 0;
	z->pin_wanted = false;
	return zjs_send_pin(z);
}

static int zjs_exclude(struct zw *base, unsigned timeout_s)
{
	struct zw_zjs *z = (struct zw_zjs *)base;

	return zjs_begin(z, "exclude", "controller.begin_exclusion", NULL,
			 timeout_s);
}

static int zjs_cancel(struct zw *base)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	/* Everything that runs stops: a heal must not shield a health
	 * check from its cancel (a backup cannot stop: -EBUSY). */
	int job = z->job.name && !z->job.aborting ? zjs_job_abort(z) : -ENOENT;
	const char *cmd;

	if (!z->cmd.name)
		return job;
	if (strcmp(z->cmd.name, "include") == 0)
		cmd = "controller.stop_inclusion";
	else if (strcmp(z->cmd.name, "exclude") == 0)
		cmd = "controller.stop_exclusion";
	else
		cmd = "controller.stop_rebuilding_routes";
	z->cmd.cancelling = true;
	(void)uv_timer_start(&z->cmd.timer, zjs_cmd_timeout,
			     ZJS_STOPPED_GRACE_MS, 0);
	/* A found device is past inclusion mode: abandon its secure setup
	 * (it is then added without S2, and "node added" ends it). */
	if (z->cmd.found)
		return zjs_send(z, "stop",
				"controller.cancel_secure_bootstrap_s2",
				json_pack("{s:i}", "reason", 0));
	return zjs_send(z, "stop", cmd, NULL);
}

static int zjs_heal(struct zw *base)
{
	struct zw_zjs *z = (struct zw_zjs *)base;

	return zjs_begin(z, "heal", "controller.begin_rebuilding_routes", NULL,
			 0);
}

static int zjs_set_config(struct zw *base, uint16_t node, uint8_t param,
			  int32_t value, uint8_t size)
{
	struct zw_zjs *z = (struct zw_zjs *)base;

	if (!z->nodes[node].known)
		return -ENOENT;
	if (!z->listening)
		return -ENODEV;
	return zjs_send(z, "config", "node.set_raw_config_parameter_value",
			json_pack("{s:i, s:i, s:i, s:i}", "nodeId", node,
				  "parameter", param, "value", value,
				  "valueSize", size));
}

const struct zw_ops zw_zjs_ops = {
	.name = "zwavejs",
	.open = zjs_open,
	.close = zjs_close,
	.set_value = zjs_set_value,
	.refresh = zjs_refresh,
	.include = zjs_include,
	.s2 = zjs_s2,
	.provision = zjs_provision,
	.exclude = zjs_exclude,
	.cancel = zjs_cancel,
	.heal = zjs_heal,
	.set_config = zjs_set_config,
	.health = zjs_health,
	.backup = zjs_backup,
	.firmware_update = zjs_firmware,
};
