/* SPDX-License-Identifier: MIT */
/*
 * api_network.c: the API's commands to the Z-Wave controller (include,
 * exclude, cancel, heal, refresh, health, backup; firmware-update is in
 * api_firmware.c) and to the simulator (sim).  An include, exclude, health
 * check or backup waits for the backend's reports of its end, with progress
 * messages while it runs; a backup's data comes before its reply, as progress
 * lines.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"
#include "registry.h"
#include "zw.h"

/* include and exclude: default and longest time, and how often a
 * waiting client hears that the command still runs. */
#define API_COMMAND_TIMEOUT_S	  60
#define API_COMMAND_TIMEOUT_MAX_S 600
#define API_COMMAND_TICK_MS	  5000
#define API_COMMAND_GRACE_S	  10 /* for the backend to report the end */
#define API_PROVISION_TIMEOUT_S	  20 /* the server answers at once */
/* health: rounds by default, and the time allowed: base + per round. */
#define API_HEALTH_ROUNDS  3
#define API_HEALTH_BASE_S  30
#define API_HEALTH_ROUND_S 30
#define API_HEALTH_ABORT_S 20 /* for the backend's abort to end it */
/* backup: the time allowed, and the base64 characters a progress line
 * carries (far under the socket's line limit). */
#define API_BACKUP_TIMEOUT_S 300
#define API_DATA_CHUNK	     16384

int api_sim(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_inject(api_zw(c->a), req, res, c->err, sizeof(c->err));

	if (r == -ENOTSUP)
		return api_fail(c, r,
				"sim commands need the sim backend (this "
				"gateway runs '%s')",
				zw_name(api_zw(c->a)));
	if (r < 0 && !c->err[0])
		api_fail(c, r, "%s", strerror(-r));
	return r;
}

/* A controller command's refusal in words. */
int api_command_error(struct api_call *c, int r, const char *what)
{
	switch (r) {
	case -ENOTSUP:
		return api_fail(c, r, "the %s backend cannot %s",
				zw_name(api_zw(c->a)), what);
	case -EBUSY:
		return api_fail(c, r,
				"the controller is busy with another "
				"command; try again");
	case -ENODEV:
		return api_fail(c, r, "the Z-Wave controller is not ready");
	default:
		return api_fail(c, r, "cannot %s: %s", what, strerror(-r));
	}
}

static void send_progress(struct api_call *c, json_t *p)
{
	json_t *msg =
	    p ? json_pack("{s:O?,s:o}", "id", c->id, "progress", p) : NULL;

	if (msg && c->progress)
		c->progress(c->ctx, msg);
	json_decref(msg);
}

static void on_command_tick(uv_timer_t *t)
{
	struct api_call *c = t->data;
	uint64_t now = uv_now(c->a->deps.loop), end = c->command_end_ms;
	char text[128];

	if (now >= end + API_COMMAND_GRACE_S * 1000) {
		api_call_finish(c, NULL,
				api_fail(c, -ETIMEDOUT,
					 "%s: the controller did not report "
					 "the end",
					 c->command));
		return;
	}
	snprintf(
	    text, sizeof(text), "%s: still running (%llu s left)", c->command,
	    (unsigned long long)(now < end ? (end - now + 999) / 1000 : 0));
	send_progress(
	    c, json_pack("{s:s,s:s}", "command", c->command, "text", text));
}

/*
 * Before the backend is asked: the call hears cmd's progress already, so
 * that what the backend says at once ("asking the controller") reaches
 * the client too.  command_wait or command_refused follows.
 */
void api_command_listen(struct api_call *c, const char *cmd)
{
	c->command = cmd;
	c->command_end_ms = UINT64_MAX;
	c->starting = true;
	api_call_wait(c);
}

/* The backend refused: the call waits for nothing after all. */
int api_command_refused(struct api_call *c, int r)
{
	api_call_unwait(c);
	c->command = NULL;
	c->starting = false;
	return r;
}

/* The call waits for the backend's ZW_EV_CONTROLLER events about cmd. */
int api_command_wait(struct api_call *c, const char *cmd, unsigned timeout_s)
{
	bool listening = c->starting;

	c->starting = false;
	c->command = cmd;
	c->command_end_ms =
	    uv_now(c->a->deps.loop) + (uint64_t)timeout_s * 1000;
	uv_timer_init(c->a->deps.loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_command_tick, API_COMMAND_TICK_MS,
		       API_COMMAND_TICK_MS);
	if (!listening)
		api_call_wait(c);
	return API_PENDING;
}

static int arg_timeout(struct api_call *c, const json_t *req, unsigned *ret)
{
	const json_t *v = json_object_get(req, "timeout");

	*ret = API_COMMAND_TIMEOUT_S;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > API_COMMAND_TIMEOUT_MAX_S)
		return api_fail(c, -EINVAL, "'timeout' must be 1 to %d seconds",
				API_COMMAND_TIMEOUT_MAX_S);
	*ret = (unsigned)json_integer_value(v);
	return 0;
}

/* An S2 PIN: the five digits of the DSK's first group. */
static int arg_pin(struct api_call *c, const json_t *v, char *pin)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != ZW_PIN_LEN ||
	    strspn(s, "0123456789") != ZW_PIN_LEN || atol(s) > 65535)
		return api_fail(c, -EINVAL,
				"'pin' must be the five digits of the "
				"device's DSK's first group (00000 to "
				"65535)");
	memcpy(pin, s, ZW_PIN_LEN + 1);
	return 0;
}

/* The classes an include may grant: names as zwgatectl's --grant. */
static int arg_grant(struct api_call *c, const json_t *v, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "access-control", ZW_SEC_S2_ACCESS_CONTROL },
		{ "authenticated", ZW_SEC_S2_AUTHENTICATED },
		{ "unauthenticated", ZW_SEC_S2_UNAUTHENTICATED },
		{ "s0", ZW_SEC_S0_LEGACY },
	};
	size_t i, k;
	json_t *e;

	*ret = 0;
	if (!json_is_array(v))
		return api_fail(c, -EINVAL,
				"'grant' must be a list of security classes");
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);

		for (k = 0; s && k < sizeof(names) / sizeof(names[0]); k++)
			if (strcmp(s, names[k].name) == 0)
				break;
		if (!s || k == sizeof(names) / sizeof(names[0]))
			return api_fail(c, -EINVAL,
					"unknown security class in 'grant' "
					"(access-control, authenticated, "
					"unauthenticated, s0)");
		*ret |= names[k].bit;
	}
	return 0;
}

/* The S2 answers an include was given: set them in the backend. */
static int include_s2(struct api_call *c, const json_t *req, bool secure)
{
	const json_t *grant = json_object_get(req, "grant");
	const json_t *pin = json_object_get(req, "pin");
	struct zw_s2 s2 = { .answer = false };
	int r;

	if (!grant && !pin)
		return 0;
	if (!secure)
		return api_fail(c, -EINVAL,
				"'grant' and 'pin' are for a secure include");
	if (grant && (r = arg_grant(c, grant, &s2.grant)) < 0)
		return r;
	s2.grant_set = grant != NULL;
	if (pin && (r = arg_pin(c, pin, s2.pin)) < 0)
		return r;
	r = zw_set_s2(api_zw(c->a), &s2);
	if (r == -ENOTSUP)
		return api_fail(c, r,
				"the %s backend has no S2: no 'grant' or "
				"'pin' (backend zwavejs has)",
				zw_name(api_zw(c->a)));
	return r < 0 ? api_command_error(c, r, "include devices") : 0;
}

int api_include(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *secure = json_object_get(req, "secure");
	unsigned timeout_s;
	int r;

	if (secure && !json_is_boolean(secure))
		return api_fail(c, -EINVAL, "'secure' must be true or false");
	if ((r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	if ((r = include_s2(c, req, json_is_true(secure))) < 0)
		return r;
	api_command_listen(c, "include");
	r = zw_include(api_zw(c->a), json_is_true(secure), timeout_s);
	if (r < 0)
		return api_command_error(c, api_command_refused(c, r),
					 "include devices");
	return api_command_wait(c, "include", timeout_s);
}

/*
 * SmartStart's provisioning list: {"op":"add","code":QR|DSK[,"grant":[..]]
 * [,"long_range":true]}, {"op":"remove","code":DSK|NODE}, {"op":"list"};
 * the backend's answer ends the call.
 */
int api_provision(struct api_call *c, const json_t *req, json_t **res)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const json_t *code = json_object_get(req, "code");
	const json_t *grant = json_object_get(req, "grant");
	const json_t *lr = json_object_get(req, "long_range");
	unsigned mask = 0;
	int r;

	if (!op ||
	    (strcmp(op, "add") && strcmp(op, "remove") && strcmp(op, "list")))
		return api_fail(c, -EINVAL, "'op' must be add, remove or list");
	if (strcmp(op, "list") != 0 && !json_is_string(code))
		return api_fail(c, -EINVAL, "provision %s needs 'code': %s", op,
				strcmp(op, "add") == 0
				    ? "the device's QR code or DSK"
				    : "a DSK or a node id");
	if (grant && strcmp(op, "add") != 0)
		return api_fail(c, -EINVAL, "'grant' is for provision add");
	if (grant && (r = arg_grant(c, grant, &mask)) < 0)
		return r;
	if (grant &&
	    !(mask & (ZW_SEC_S2_ACCESS_CONTROL | ZW_SEC_S2_AUTHENTICATED |
		      ZW_SEC_S2_UNAUTHENTICATED)))
		return api_fail(
		    c, -EINVAL,
		    "SmartStart is S2: grant at least one S2 class");
	if (grant && !strchr(json_string_value(code), '-'))
		return api_fail(c, -EINVAL,
				"'grant' is for a DSK: a QR code carries the "
				"device's own classes");
	if (lr && (!json_is_boolean(lr) || strcmp(op, "add") != 0))
		return api_fail(c, -EINVAL,
				"'long_range' is true or false, for provision "
				"add");
	if (json_is_true(lr) && grant && !(mask & ZW_SEC_LONG_RANGE))
		return api_fail(c, -EINVAL,
				"Long Range is S2 authenticated or access "
				"control: grant one of them");
	if (json_is_true(lr))
		mask |= ZW_PROVISION_LONG_RANGE;
	r = zw_provision(api_zw(c->a), op, json_string_value(code), mask);
	if (r == -EINVAL)
		return api_fail(c, r, "'%.80s' is not %s",
				json_string_value(code),
				strcmp(op, "add") == 0
				    ? "a DSK (eight groups of five digits, "
				      "12345-12345-...) or a SmartStart QR "
				      "code (90 and its digits)"
				    : "a DSK (eight groups of five digits) or "
				      "a node id");
	if (r == -ENOTSUP)
		return api_fail(c, r,
				"the %s backend has no SmartStart (backend "
				"zwavejs has)",
				zw_name(api_zw(c->a)));
	if (r < 0)
		return api_command_error(c, r, "change the provisioning list");
	return api_command_wait(c, "provision", API_PROVISION_TIMEOUT_S);
}

/* The PIN an S2 device asks for during the include under way. */
int api_include_pin(struct api_call *c, const json_t *req, json_t **res)
{
	struct zw_s2 s2 = { .answer = true };
	int r = arg_pin(c, json_object_get(req, "pin"), s2.pin);

	if (r < 0)
		return r;
	r = zw_set_s2(api_zw(c->a), &s2);
	if (r == -ENOENT)
		return api_fail(c, r, "no include is running");
	if (r == -ENOTSUP)
		return api_fail(c, r, "the %s backend has no S2",
				zw_name(api_zw(c->a)));
	if (r < 0)
		return api_command_error(c, r, "give the PIN");
	*res = json_pack("{s:b}", "given", 1);
	return *res ? 0 : -ENOMEM;
}

int api_exclude(struct api_call *c, const json_t *req, json_t **res)
{
	unsigned timeout_s;
	int r;

	if ((r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	api_command_listen(c, "exclude");
	r = zw_exclude(api_zw(c->a), timeout_s);
	if (r < 0)
		return api_command_error(c, api_command_refused(c, r),
					 "exclude devices");
	return api_command_wait(c, "exclude", timeout_s);
}

int api_cancel(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_cancel(api_zw(c->a));

	if (r == -ENOENT)
		return api_fail(c, r,
				"no include, exclude, health check or "
				"firmware update is running");
	if (r == -EBUSY)
		return api_fail(c, r,
				"a backup cannot be stopped; it ends by "
				"itself");
	if (r < 0)
		return api_command_error(c, r, "cancel");
	*res = json_pack("{s:b}", "cancelled", 1);
	return *res ? 0 : -ENOMEM;
}

int api_heal(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_heal(api_zw(c->a));

	if (r < 0)
		return api_command_error(c, r, "heal the network");
	*res = json_pack("{s:b}", "healing", 1);
	return *res ? 0 : -ENOMEM;
}

/*
 * A lifeline health check: {"node":N[,"rounds":1..10][,"timeout":S]};
 * progress each round, the rating at the end.
 */
int api_health(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *rv = json_object_get(req, "rounds");
	const json_t *tv = json_object_get(req, "timeout");
	unsigned rounds = API_HEALTH_ROUNDS, timeout_s;
	struct registry_node *n;
	int r = api_find_node(c, req, &n);

	if (r < 0)
		return r;
	if (rv && (!json_is_integer(rv) || json_integer_value(rv) < 1 ||
		   json_integer_value(rv) > ZW_HEALTH_ROUNDS_MAX))
		return api_fail(c, -EINVAL, "'rounds' must be 1 to %d",
				ZW_HEALTH_ROUNDS_MAX);
	if (rv)
		rounds = (unsigned)json_integer_value(rv);
	/* A round is 10 pings: a second, or ten when the node is gone. */
	timeout_s = API_HEALTH_BASE_S + rounds * API_HEALTH_ROUND_S;
	if (tv && (r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	api_command_listen(c, "health");
	r = zw_health(api_zw(c->a), n->id, rounds, timeout_s);
	if (r < 0)
		api_command_refused(c, r);
	if (r == -ENOENT)
		return api_fail(c, r, "node %u is not known to the controller",
				n->id);
	if (r == -EBUSY)
		return api_fail(c, r,
				"a health check, a backup or a firmware "
				"update is already running; wait for it");
	if (r == -ENOTSUP)
		return api_fail(c, r,
				"the %s backend cannot check a node's health "
				"(backend zwavejs can)",
				zw_name(api_zw(c->a)));
	if (r < 0)
		return api_command_error(c, r, "check a node's health");
	/* The backend aborts at timeout_s, then gives the server's answer
	 * ZJS_STOPPED_GRACE_MS (15 s) to come: wait for its end. */
	return api_command_wait(c, "health", timeout_s + API_HEALTH_ABORT_S);
}

/*
 * The controller's NVM: {"cmd":"backup"[,"timeout":S]}.  Its bytes come
 * as progress lines {"data": base64, "offset": N} before the reply, which
 * says how many characters they make ("data_length").
 */
int api_backup(struct api_call *c, const json_t *req, json_t **res)
{
	unsigned timeout_s = API_BACKUP_TIMEOUT_S;
	int r;

	if (json_object_get(req, "timeout") &&
	    (r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	api_command_listen(c, "backup");
	r = zw_backup(api_zw(c->a), timeout_s);
	if (r < 0)
		api_command_refused(c, r);
	if (r == -EBUSY)
		return api_fail(c, r,
				"the controller is busy with a backup, a "
				"health check or a firmware update; try "
				"again");
	if (r == -ENOTSUP)
		return api_fail(c, r,
				"the %s backend cannot back up the controller "
				"(backend zwavejs can)",
				zw_name(api_zw(c->a)));
	if (r < 0)
		return api_command_error(c, r, "back up the controller");
	return api_command_wait(c, "backup", timeout_s + API_COMMAND_GRACE_S);
}

/* A command's data, before its reply: progress lines of API_DATA_CHUNK. */
static int send_data(struct api_call *c, const char *data, json_t *reply)
{
	size_t len = strlen(data);

	for (size_t off = 0; off < len; off += API_DATA_CHUNK) {
		size_t n =
		    len - off < API_DATA_CHUNK ? len - off : API_DATA_CHUNK;
		json_t *p =
		    json_pack("{s:s,s:s%,s:I}", "command", c->command, "data",
			      data + off, n, "offset", (json_int_t)off);

		if (!p)
			return -ENOMEM;
		send_progress(c, p);
	}
	return json_object_set_new(reply, "data_length",
				   json_integer((json_int_t)len));
}

int api_refresh(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	int r = api_find_node(c, req, &n);

	if (r < 0)
		return r;
	r = zw_refresh(api_zw(c->a), n->id);
	if (r == -EHOSTDOWN || r == -EBUSY || r == -ENODEV)
		return api_set_error(c, r, n);
	if (r < 0)
		return api_command_error(c, r, "refresh nodes");
	*res = json_pack("{s:i,s:b}", "node", n->id, "refreshing", 1);
	return *res ? 0 : -ENOMEM;
}

/* A pending include or exclude hears of its command. */
void api_command_event(struct api *a, const struct zw_event *ev)
{
	const char *msg = ev->u.message ? ev->u.message : "";
	struct api_call *c, *next;
	json_t *p;

	for (c = a->calls; c; c = next) {
		next = c->next;
		if (!c->command || strcmp(c->command, ev->command) != 0)
			continue;
		/* An end while the backend is being asked: not this call's
		 * (its start has not returned yet). */
		if (c->starting && ev->result != 0)
			continue;
		p = json_pack("{s:s,s:s}", "command", c->command, "text", msg);
		if (p && ev->node &&
		    json_object_set_new(p, "node", json_integer(ev->node)) < 0)
			/* The progress or reply without the node number. */
			log_debug("api: %s: node %u not in the message: no "
				  "memory",
				  c->command, ev->node);
		if (ev->result == 0) {
			uint64_t until = uv_now(c->a->deps.loop) +
					 (uint64_t)ev->more_s * 1000;

			if (ev->more_s && until > c->command_end_ms)
				c->command_end_ms = until;
			send_progress(c, p);
		} else if (ev->result > 0 && ev->data &&
			   (!p || send_data(c, ev->data, p) < 0)) {
			json_decref(p);
			api_call_finish(c, NULL,
					api_fail(c, -ENOMEM,
						 "%s: out of memory",
						 c->command));
		} else if (ev->result > 0) {
			api_call_finish(c, p, 0);
		} else {
			json_decref(p);
			api_call_finish(c, NULL,
					api_fail(c, ev->result, "%s", msg));
		}
	}
}
