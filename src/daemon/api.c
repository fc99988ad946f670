/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zwgate/control.h"

#include "api.h"
#include "automation.h"
#include "cloud.h"
#include "daemon.h"
#include "log.h"
#include "registry.h"
#include "zw.h"

#define API_ERR_MAX 512
/* include and exclude: default and longest time, and how often a
 * waiting client hears that the command still runs. */
#define API_COMMAND_TIMEOUT_S	  60
#define API_COMMAND_TIMEOUT_MAX_S 600
#define API_COMMAND_TICK_MS	  5000
#define API_COMMAND_GRACE_S	  10 /* for the backend to report the end */

/*
 * One request in flight.  Most complete before api_request returns; a
 * "set" that waits for the device stays on d->calls with a timer until
 * the registry reports the value or the timer gives up.
 */
struct api_call {
	struct daemon *d;
	json_t *id;
	api_reply_fn reply;
	api_progress_fn progress; /* may be NULL */
	void *ctx;
	char err[API_ERR_MAX];
	json_t *details; /* array of strings, or NULL */
	/* pending "set" */
	struct value_key key;
	/* pending "include" or "exclude": its name, when it ends */
	const char *command;
	uint64_t command_end_ms;
	uv_timer_t timer;
	struct api_call *next;
};

/* 0: *result is the answer; API_PENDING: the call completes later. */
#define API_PENDING 1

typedef int (*api_fn)(struct api_call *c, const json_t *req, json_t **result);

static const struct {
	int err;
	const char *name;
} errno_names[] = {
	{ ENOENT, "ENOENT" },
	{ EINVAL, "EINVAL" },
	{ EACCES, "EACCES" },
	{ ENOTSUP, "ENOTSUP" },
	{ EHOSTDOWN, "EHOSTDOWN" },
	{ ENOTUNIQ, "ENOTUNIQ" },
	{ EEXIST, "EEXIST" },
	{ EBUSY, "EBUSY" },
	{ E2BIG, "E2BIG" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ ENOMEM, "ENOMEM" },
	{ ECANCELED, "ECANCELED" },
	{ EIO, "EIO" },
	{ ENODEV, "ENODEV" },
	{ ERANGE, "ERANGE" },
	/* trust-import's refusals (zwgate/control.h) */
	{ EPERM, "EPERM" },
	{ ESTALE, "ESTALE" },
	{ ETIME, "ETIME" },
	{ EFBIG, "EFBIG" },
	{ ENOSPC, "ENOSPC" },
	{ EDQUOT, "EDQUOT" },
	{ EROFS, "EROFS" },
	{ EALREADY, "EALREADY" },
};

const char *api_errno_name(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]);
	     i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return "EIO";
}

json_t *api_error_reply(const json_t *id, int err, const char *msg)
{
	return json_pack("{s:O?,s:b,s:s,s:s}", "id", id, "ok", 0, "code",
			 api_errno_name(err), "error", msg);
}

__attribute__((format(printf, 3, 4))) static int
api_fail(struct api_call *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

static const char *arg_str(const json_t *req, const char *key)
{
	const json_t *v = json_object_get(req, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * "node" may be a number or a string holding a number or a name; text
 * for error messages comes back in buf.
 */
static int find_node(struct api_call *c, const json_t *req,
		     struct registry_node **ret)
{
	const json_t *v = json_object_get(req, "node");
	char ref[REG_NAME_MAX + 1];

	if (json_is_integer(v))
		snprintf(ref, sizeof(ref), "%lld",
			 (long long)json_integer_value(v));
	/* Cut to fit, a longer reference would match a node it does not
	 * name: the one named with its first REG_NAME_MAX bytes. */
	else if (json_is_string(v) && json_string_length(v) > REG_NAME_MAX)
		return api_fail(c, -ENOENT, "no node '%.*s...'", REG_NAME_MAX,
				json_string_value(v));
	else if (json_is_string(v))
		snprintf(ref, sizeof(ref), "%s", json_string_value(v));
	else
		return api_fail(c, -EINVAL,
				"'node' must be a node number or name");
	if (registry_find_node(c->d->reg, ref, ret) < 0)
		return api_fail(c, -ENOENT, "no node '%s'", ref);
	return 0;
}

static const char *node_label(const struct registry_node *n, char *buf,
			      size_t len)
{
	if (n->name)
		snprintf(buf, len, "node %u (%s)", n->id, n->name);
	else
		snprintf(buf, len, "node %u", n->id);
	return buf;
}

static int find_value(struct api_call *c, const json_t *req,
		      struct registry_node *n, struct registry_value **ret)
{
	const char *spec = arg_str(req, "value");
	char nb[REG_NAME_MAX + 32];
	int r;

	if (!spec)
		return api_fail(c, -EINVAL, "'value' must be a string");
	r = registry_find_value(n, spec, ret);
	if (r == -ENOTUNIQ)
		return api_fail(c, r,
				"'%.64s' matches more than one value of %s; "
				"use a path such as cc/endpoint/property",
				spec, node_label(n, nb, sizeof(nb)));
	if (r < 0)
		return api_fail(c, -ENOENT, "%s has no value '%.64s'",
				node_label(n, nb, sizeof(nb)), spec);
	return 0;
}

static int api_status(struct api_call *c, const json_t *req, json_t **res)
{
	struct daemon *d = c->d;

	*res = json_pack(
	    "{s:s,s:s,s:I,s:s,s:s,s:I,s:s,s:s}", "version", PACKAGE_VERSION,
	    "gateway_id", d->conf->gateway_id, "uptime_s",
	    (json_int_t)((uv_now(d->loop) - d->start_ms) / 1000), "backend",
	    zw_name(d->zw), "controller", registry_controller_state(d->reg),
	    "nodes", (json_int_t)registry_node_count(d->reg), "log_level",
	    log_level_name(log_get_level()), "config", d->conf->path);
	if (*res && d->cloud)
		json_object_set_new(*res, "cloud", cloud_status_json(d->cloud));
	return *res ? 0 : -ENOMEM;
}

static int api_nodes(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n = NULL;

	*res = json_array();
	while (*res && (n = registry_next_node(c->d->reg, n)))
		json_array_append_new(*res, registry_node_json(n, false));
	return *res ? 0 : -ENOMEM;
}

static int api_node(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	int r = find_node(c, req, &n);

	if (r < 0)
		return r;
	*res = registry_node_json(n, true);
	return *res ? 0 : -ENOMEM;
}

static json_t *value_result(const struct registry_value *v)
{
	json_t *o = registry_value_json(v);

	if (o) {
		json_object_set_new(o, "node", json_integer(v->node->id));
		json_object_set_new(o, "name",
				    v->node->name ? json_string(v->node->name)
						  : json_null());
	}
	return o;
}

static int api_get(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	struct registry_value *v;
	int r;

	if ((r = find_node(c, req, &n)) < 0 ||
	    (r = find_value(c, req, n, &v)) < 0)
		return r;
	*res = value_result(v);
	return *res ? 0 : -ENOMEM;
}

static json_t *set_result(const struct registry_value *v, bool confirmed)
{
	char path[128];

	return json_pack(
	    "{s:i,s:o,s:s,s:o,s:b}", "node", v->node->id, "name",
	    v->node->name ? json_string(v->node->name) : json_null(), "path",
	    value_key_path(&v->meta.key, path, sizeof(path)), "value",
	    v->has_val ? value_to_json(&v->val, &v->meta) : json_null(),
	    "confirmed", confirmed);
}

static void call_finish(struct api_call *c, json_t *result, int err);

static void on_set_timeout(uv_timer_t *t)
{
	struct api_call *c = t->data;
	struct registry_value *v = registry_value(c->d->reg, &c->key);

	if (v)
		call_finish(c, set_result(v, false), 0);
	else
		call_finish(c, NULL,
			    api_fail(c, -ENOENT, "the value went away"));
}

static int set_error(struct api_call *c, int r, const struct registry_node *n)
{
	char nb[REG_NAME_MAX + 32];

	node_label(n, nb, sizeof(nb));
	switch (r) {
	case -EHOSTDOWN:
		return api_fail(c, r, "%s is dead", nb);
	case -EACCES:
		return api_fail(c, r, "that value of %s is read-only", nb);
	case -EBUSY:
		return api_fail(c, r, "the Z-Wave queue is full; try again");
	case -ENODEV:
		return api_fail(c, r, "the Z-Wave controller is not ready");
	default:
		return api_fail(c, r, "%s: %s", nb, strerror(-r));
	}
}

static int api_set(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *wait = json_object_get(req, "wait");
	char why[128];
	struct registry_node *n;
	struct registry_value *v;
	struct value val;
	int r;

	if ((r = find_node(c, req, &n)) < 0 ||
	    (r = find_value(c, req, n, &v)) < 0)
		return r;
	if (!v->meta.writable)
		return set_error(c, -EACCES, n);
	if (!json_object_get(req, "data"))
		return api_fail(c, -EINVAL, "'data' is missing");
	if (value_from_json(json_object_get(req, "data"), &v->meta, &val, why,
			    sizeof(why)) < 0)
		return api_fail(c, -EINVAL, "%s", why);
	r = zw_set_value(c->d->zw, &v->meta.key, &val);
	value_clear(&val);
	if (r < 0)
		return set_error(c, r, n);
	if (json_is_false(wait)) {
		*res = set_result(v, false);
		return *res ? 0 : -ENOMEM;
	}
	c->key = v->meta.key;
	uv_timer_init(c->d->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_set_timeout, ZWCTL_SET_WAIT_MS, 0);
	c->next = c->d->calls;
	c->d->calls = c;
	return API_PENDING;
}

static int api_rename(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name = arg_str(req, "name");
	struct registry_node *n;
	char *old;
	int r;

	if ((r = find_node(c, req, &n)) < 0)
		return r;
	if (!name)
		return api_fail(c, -EINVAL, "'name' must be a string");
	old = n->user_name && n->name ? strdup(n->name) : NULL;
	r = registry_rename(c->d->reg, n->id, name);
	if (r == -EEXIST && !*name)
		r = api_fail(c, r,
			     "node %u would go by its device's name '%.64s' "
			     "again, which node %u has; give it another name "
			     "instead",
			     n->id, registry_device_name(c->d->reg, n->id),
			     registry_name_holder(
				 c->d->reg, n->id,
				 registry_device_name(c->d->reg, n->id)));
	else if (r == -EEXIST)
		r = api_fail(c, r, "another node is called '%.64s'", name);
	else if (r < 0)
		r = api_fail(c, r, "bad name: %s",
			     registry_name_problem(name)
				 ? registry_name_problem(name)
				 : strerror(-r));
	else if ((r = registry_save_names(c->d->reg, c->d->names_path)) < 0) {
		/* Unsaved, a name would vanish at the next start: undo. */
		registry_rename(c->d->reg, n->id, old ? old : "");
		r = api_fail(c, r, "could not save names to %s: %s",
			     c->d->names_path, strerror(-r));
	}
	free(old);
	if (r < 0)
		return r;
	log_info("node %u renamed '%s'", n->id, name);
	*res = json_pack("{s:i,s:s?}", "node", n->id, "name", n->name);
	return *res ? 0 : -ENOMEM;
}

static json_t *diag_array(const struct diag_list *l, bool warnings)
{
	json_t *a = json_array();
	char buf[1024];

	for (size_t i = 0; a && i < l->n; i++)
		if (l->items[i].warning == warnings)
			json_array_append_new(
			    a, json_string(diag_format(&l->items[i], buf,
						       sizeof(buf))));
	return a;
}

static int api_reload(struct api_call *c, const json_t *req, json_t **res)
{
	struct diag_list diags;
	int r;

	diag_init(&diags);
	r = daemon_reload(c->d, &diags);
	if (r < 0) {
		c->details = diag_array(&diags, false);
		api_fail(c, r,
			 "%s has %zu error(s); still running the old config",
			 c->d->opts.config_path, diags.errors);
	} else {
		*res = json_pack("{s:b,s:o}", "reloaded", 1, "warnings",
				 diag_array(&diags, true));
		r = *res ? 0 : -ENOMEM;
	}
	diag_clear(&diags);
	return r;
}

static int api_log_level(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name = arg_str(req, "level");
	int prio = name ? log_level_from_name(name) : -EINVAL;

	if (prio < 0)
		return api_fail(c, -EINVAL,
				"'level' must be one of error, warning, "
				"notice, info, debug");
	log_set_level(prio);
	log_notice("log level set to %s", log_level_name(prio));
	*res = json_pack("{s:s}", "level", log_level_name(prio));
	return *res ? 0 : -ENOMEM;
}

static int api_sim(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_inject(c->d->zw, req, res, c->err, sizeof(c->err));

	if (r == -ENOTSUP)
		return api_fail(c, r,
				"sim commands need the sim backend (this "
				"gateway runs '%s')",
				zw_name(c->d->zw));
	if (r < 0 && !c->err[0])
		api_fail(c, r, "%s", strerror(-r));
	return r;
}

/* A controller command's refusal in words. */
static int command_error(struct api_call *c, int r, const char *what)
{
	switch (r) {
	case -ENOTSUP:
		return api_fail(c, r, "the %s backend cannot %s",
				zw_name(c->d->zw), what);
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
	uint64_t now = uv_now(c->d->loop), end = c->command_end_ms;
	char text[128];

	if (now >= end + API_COMMAND_GRACE_S * 1000) {
		call_finish(c, NULL,
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

/* The call waits for the backend's ZW_EV_CONTROLLER events about cmd. */
static int command_wait(struct api_call *c, const char *cmd, unsigned timeout_s)
{
	c->command = cmd;
	c->command_end_ms = uv_now(c->d->loop) + (uint64_t)timeout_s * 1000;
	uv_timer_init(c->d->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_command_tick, API_COMMAND_TICK_MS,
		       API_COMMAND_TICK_MS);
	c->next = c->d->calls;
	c->d->calls = c;
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

static int api_include(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *secure = json_object_get(req, "secure");
	unsigned timeout_s;
	int r;

	if (secure && !json_is_boolean(secure))
		return api_fail(c, -EINVAL, "'secure' must be true or false");
	if ((r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	r = zw_include(c->d->zw, json_is_true(secure), timeout_s);
	if (r < 0)
		return command_error(c, r, "include devices");
	return command_wait(c, "include", timeout_s);
}

static int api_exclude(struct api_call *c, const json_t *req, json_t **res)
{
	unsigned timeout_s;
	int r;

	if ((r = arg_timeout(c, req, &timeout_s)) < 0)
		return r;
	r = zw_exclude(c->d->zw, timeout_s);
	if (r < 0)
		return command_error(c, r, "exclude devices");
	return command_wait(c, "exclude", timeout_s);
}

static int api_cancel(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_cancel(c->d->zw);

	if (r == -ENOENT)
		return api_fail(c, r, "no include or exclude is running");
	if (r < 0)
		return command_error(c, r, "cancel");
	*res = json_pack("{s:b}", "cancelled", 1);
	return *res ? 0 : -ENOMEM;
}

static int api_heal(struct api_call *c, const json_t *req, json_t **res)
{
	int r = zw_heal(c->d->zw);

	if (r < 0)
		return command_error(c, r, "heal the network");
	*res = json_pack("{s:b}", "healing", 1);
	return *res ? 0 : -ENOMEM;
}

static int api_refresh(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	int r = find_node(c, req, &n);

	if (r < 0)
		return r;
	r = zw_refresh(c->d->zw, n->id);
	if (r == -EHOSTDOWN || r == -EBUSY || r == -ENODEV)
		return set_error(c, r, n);
	if (r < 0)
		return command_error(c, r, "refresh nodes");
	*res = json_pack("{s:i,s:b}", "node", n->id, "refreshing", 1);
	return *res ? 0 : -ENOMEM;
}

/* An integer argument, given as a number or as digits. */
static int arg_int(struct api_call *c, const json_t *req, const char *key,
		   json_int_t min, json_int_t max, json_int_t *ret)
{
	const json_t *v = json_object_get(req, key);
	const char *s = json_string_value(v);
	char *end;

	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
	} else if (s && *s) {
		errno = 0;
		*ret = strtoll(s, &end, 0);
		if (errno || *end)
			*ret = min - 1;
	} else {
		return api_fail(c, -EINVAL, "'%s' must be an integer", key);
	}
	if (*ret < min || *ret > max)
		return api_fail(c, -EINVAL,
				"'%s' must be an integer from %lld "
				"to %lld",
				key, (long long)min, (long long)max);
	return 0;
}

/* The size a value needs when none is given: 1, 2 or 4 bytes. */
static json_int_t config_size(json_int_t v)
{
	if (v >= INT8_MIN && v <= UINT8_MAX)
		return 1;
	return v >= INT16_MIN && v <= UINT16_MAX ? 2 : 4;
}

static int api_config_set(struct api_call *c, const json_t *req, json_t **res)
{
	json_int_t param, value, size = 0;
	struct registry_node *n;
	int r;

	if ((r = find_node(c, req, &n)) < 0 ||
	    (r = arg_int(c, req, "param", 1, 255, &param)) < 0 ||
	    (r = arg_int(c, req, "data", INT32_MIN, INT32_MAX, &value)) < 0)
		return r;
	if (json_object_get(req, "size") &&
	    (r = arg_int(c, req, "size", 1, 4, &size)) < 0)
		return r;
	if (!size)
		size = config_size(value);
	if (size == 3)
		return api_fail(c, -EINVAL, "'size' must be 1, 2 or 4");
	r = zw_set_config(c->d->zw, n->id, (uint8_t)param, (int32_t)value,
			  (uint8_t)size);
	if (r == -ERANGE)
		return api_fail(c, r, "%lld does not fit in %lld byte(s)",
				(long long)value, (long long)size);
	if (r == -ENOTSUP)
		return command_error(c, r, "set configuration parameters");
	if (r < 0)
		return set_error(c, r, n);
	*res = json_pack("{s:i,s:I,s:I,s:I}", "node", n->id, "param", param,
			 "value", value, "size", size);
	return *res ? 0 : -ENOMEM;
}

/* Rules and scenes (zwgate.rules(5)). */

static int rule_arg(struct api_call *c, const json_t *req, const char **name)
{
	if (!(*name = arg_str(req, "name")))
		return api_fail(c, -EINVAL, "'name' must be a string");
	return 0;
}

static int api_rules(struct api_call *c, const json_t *req, json_t **res)
{
	*res = automation_rules_json(c->d->automation);
	return *res ? 0 : -ENOMEM;
}

static int api_rules_show(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	*res = automation_rule_json(c->d->automation, name);
	return *res ? 0 : api_fail(c, -ENOENT, "no rule '%.64s'", name);
}

/* run, enable, disable, scene-run: {"kind","name","done"} when done. */
static int rule_done(struct api_call *c, int r, const char *what,
		     const char *name, const char *done, json_t **res)
{
	if (r == -ENOENT)
		return api_fail(c, r, "no %s '%.64s'", what, name);
	if (r == -EBUSY)
		return api_fail(c, r,
				"rule '%.64s' runs as often as its mode "
				"allows",
				name);
	if (r < 0)
		return api_fail(c, r, "%s", strerror(-r));
	*res = json_pack("{s:s, s:s, s:s}", "kind", what, "name", name, "done",
			 done);
	return *res ? 0 : -ENOMEM;
}

static int api_rules_run(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	r = automation_run(c->d->automation, name);
	return rule_done(c, r, "rule", name, "started", res);
}

static int api_rules_enable(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	bool on;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	on = strcmp(arg_str(req, "cmd"), "rules-enable") == 0;
	r = automation_enable(c->d->automation, name, on);
	return rule_done(c, r, "rule", name, on ? "enabled" : "disabled", res);
}

static int api_scene_run(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	r = automation_scene(c->d->automation, name);
	return rule_done(c, r, "scene", name, "run", res);
}

static int api_trust_import(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *b = json_object_get(req, "bundle");

	if (!json_is_string(b)) {
		snprintf(c->err, sizeof(c->err),
			 "\"bundle\" must be the text of a trust bundle file");
		return -EINVAL;
	}
	return cloud_trust_offer(c->d->cloud, json_string_value(b),
				 json_string_length(b), res, c->err,
				 sizeof(c->err));
}

static int api_trust_status(struct api_call *c, const json_t *req, json_t **res)
{
	*res = cloud_trust_status(c->d->cloud, c->err, sizeof(c->err));
	if (*res)
		return 0;
	return c->d->cloud && c->d->conf->cloud.trust_bundle ? -ENOMEM
							     : -ENOTSUP;
}

static const struct {
	const char *name;
	api_fn fn;
} api_commands[] = {
	{ "status", api_status },
	{ "nodes", api_nodes },
	{ "node", api_node },
	{ "get", api_get },
	{ "set", api_set },
	{ "rename", api_rename },
	{ "reload", api_reload },
	{ "log-level", api_log_level },
	{ "sim", api_sim },
	{ "include", api_include },
	{ "exclude", api_exclude },
	{ "cancel", api_cancel },
	{ "heal", api_heal },
	{ "refresh", api_refresh },
	{ "config-set", api_config_set },
	{ "rules", api_rules },
	{ "rules-show", api_rules_show },
	{ "rules-run", api_rules_run },
	{ "rules-enable", api_rules_enable },
	{ "rules-disable", api_rules_enable },
	{ "scene-run", api_scene_run },
	{ "trust-import", api_trust_import },
	{ "trust-status", api_trust_status },
};

static void call_free_cb(uv_handle_t *h)
{
	free(h->data);
}

static void call_unlink(struct api_call *c)
{
	for (struct api_call **p = &c->d->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

/* Reply once, then free the call (after its timer closed, if it had one). */
static void call_finish(struct api_call *c, json_t *result, int err)
{
	char text[API_ERR_MAX];
	json_t *reply;

	if (err < 0) {
		/* Reasons quote the request, cut at a byte count ("%.64s"):
		 * half a character would make the reply unencodable, and the
		 * client would get no answer at all. */
		value_text_copy(text, sizeof(text),
				c->err[0] ? c->err : strerror(-err));
		reply = api_error_reply(c->id, err, text);
		if (reply && c->details)
			json_object_set(reply, "details", c->details);
	} else {
		reply = json_pack("{s:O?,s:b,s:o}", "id", c->id, "ok", 1,
				  "result", result ? result : json_null());
	}
	c->reply(c->ctx, reply ? reply : json_null());
	json_decref(reply);
	json_decref(c->id);
	json_decref(c->details);
	if (c->timer.loop) {
		call_unlink(c);
		uv_close((uv_handle_t *)&c->timer, call_free_cb);
	} else {
		free(c);
	}
}

void api_request(struct daemon *d, const json_t *req, api_reply_fn reply,
		 void *ctx)
{
	api_request_progress(d, req, reply, NULL, ctx);
}

void api_request_progress(struct daemon *d, const json_t *req,
			  api_reply_fn reply, api_progress_fn progress,
			  void *ctx)
{
	const char *cmd = arg_str(req, "cmd");
	struct api_call *c = calloc(1, sizeof(*c));
	json_t *result = NULL;
	int r = -EINVAL;

	if (!c) {
		json_t *e = api_error_reply(json_object_get(req, "id"), -ENOMEM,
					    "out of memory");
		reply(ctx, e ? e : json_null());
		json_decref(e);
		return;
	}
	*c = (struct api_call){
		.d = d, .reply = reply, .progress = progress, .ctx = ctx
	};
	c->id = json_incref(json_object_get(req, "id"));
	if (!cmd)
		api_fail(c, r, "'cmd' must be a string");
	else if (d->stopping)
		r = api_fail(c, -ECANCELED, "zwgated is stopping");
	else
		r = api_fail(c, r, "unknown command '%.32s'", cmd);
	for (size_t i = 0; cmd && !d->stopping &&
			   i < sizeof(api_commands) / sizeof(api_commands[0]);
	     i++)
		if (strcmp(cmd, api_commands[i].name) == 0) {
			c->err[0] = '\0';
			r = api_commands[i].fn(c, req, &result);
			break;
		}
	if (r == API_PENDING)
		return;
	call_finish(c, result, r);
}

/* A pending include or exclude hears of its command. */
static void on_command_event(struct daemon *d, const struct zw_event *ev)
{
	const char *msg = ev->u.message ? ev->u.message : "";
	struct api_call *c, *next;
	json_t *p;

	for (c = d->calls; c; c = next) {
		next = c->next;
		if (!c->command || strcmp(c->command, ev->command) != 0)
			continue;
		p = json_pack("{s:s,s:s}", "command", c->command, "text", msg);
		if (p && ev->node)
			json_object_set_new(p, "node", json_integer(ev->node));
		if (ev->result == 0) {
			send_progress(c, p);
		} else if (ev->result > 0) {
			call_finish(c, p, 0);
		} else {
			json_decref(p);
			call_finish(c, NULL,
				    api_fail(c, ev->result, "%s", msg));
		}
	}
}

/*
 * A pending "set" is confirmed by the next report of its value; a
 * pending include or exclude follows its command's events.
 */
static void on_registry(void *ctx, const struct registry_event *ev)
{
	struct daemon *d = ctx;
	struct api_call *c, *next;

	if (ev->type == REG_CONTROLLER && ev->zw &&
	    ev->zw->type == ZW_EV_CONTROLLER && ev->zw->command)
		on_command_event(d, ev->zw);
	if (ev->type != REG_VALUE_CHANGED)
		return;
	for (c = d->calls; c; c = next) {
		next = c->next;
		if (!c->command &&
		    value_key_equal(&c->key, &ev->value->meta.key))
			call_finish(c, set_result(ev->value, true), 0);
	}
}

int api_init(struct daemon *d)
{
	return registry_listen(d->reg, on_registry, d);
}

void api_shutdown(struct daemon *d)
{
	while (d->calls) {
		struct api_call *c = d->calls;

		uv_timer_stop(&c->timer);
		call_finish(c, NULL,
			    api_fail(c, -ECANCELED, "zwgated is stopping"));
	}
	if (d->reg)
		registry_unlisten(d->reg, on_registry, d);
}
