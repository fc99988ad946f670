/* SPDX-License-Identifier: MIT */
/*
 * api.c: the API's requests: the commands by name, the calls that wait
 * (kept here until they finish), the replies and their error codes, and
 * the registry events that finish a waiting call.  The commands
 * themselves are in api_nodes.c, api_network.c and api_admin.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "fsutil.h"
#include "registry.h"
#include "zw.h"

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

int api_fail(struct api_call *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *api_arg_str(const json_t *req, const char *key)
{
	const json_t *v = json_object_get(req, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}
const struct conf *api_conf(const struct api *a)
{
	return a->deps.conf(a->deps.ctx);
}

struct zw *api_zw(const struct api *a)
{
	return a->deps.zw ? a->deps.zw(a->deps.ctx) : NULL;
}

struct cloud *api_cloud(const struct api *a)
{
	return a->deps.cloud ? a->deps.cloud(a->deps.ctx) : NULL;
}

struct automation *api_automation(const struct api *a)
{
	return a->deps.automation ? a->deps.automation(a->deps.ctx) : NULL;
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
	{ "include-pin", api_include_pin },
	{ "provision", api_provision },
	{ "exclude", api_exclude },
	{ "cancel", api_cancel },
	{ "heal", api_heal },
	{ "refresh", api_refresh },
	{ "health", api_health },
	{ "backup", api_backup },
	{ "firmware-upload", api_firmware_upload },
	{ "firmware-update", api_firmware_update },
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
	for (struct api_call **p = &c->a->calls; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

/* Reply once, then free the call (after its timer closed, if it had one). */
void api_call_finish(struct api_call *c, json_t *result, int err)
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
		/* Its result is not needed: without memory for them, the
		 * reply goes without the details, and the error and its
		 * code still say enough. */
		if (reply && c->details)
			(void)json_object_set(reply, "details", c->details);
	} else {
		reply = json_pack("{s:O?,s:b,s:o}", "id", c->id, "ok", 1,
				  "result", result ? result : json_null());
	}
	c->reply(c->ctx, reply ? reply : json_null());
	json_decref(reply);
	json_decref(c->id);
	json_decref(c->details);
	json_decref(c->saved_result);
	free(c->rename_old);
	free(c->rename_new);
	free(c->rule_name);
	call_unlink(c);
	if (c->timer.loop) {
		uv_close((uv_handle_t *)&c->timer, call_free_cb);
	} else {
		free(c);
	}
}

void api_call_unwait(struct api_call *c)
{
	call_unlink(c);
}

void api_call_wait(struct api_call *c)
{
	c->next = c->a->calls;
	c->a->calls = c;
}

void api_request(struct api *a, const json_t *req, api_reply_fn reply,
		 void *ctx)
{
	api_request_progress(a, req, reply, NULL, ctx);
}

void api_request_progress(struct api *a, const json_t *req, api_reply_fn reply,
			  api_progress_fn progress, void *ctx)
{
	const char *cmd = api_arg_str(req, "cmd");
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
		.a = a, .reply = reply, .progress = progress, .ctx = ctx
	};
	c->id = json_incref(json_object_get(req, "id"));
	if (!cmd)
		api_fail(c, r, "'cmd' must be a string");
	else if (a->stopping)
		r = api_fail(c, -ECANCELED, "zwgated is stopping");
	else
		r = api_fail(c, r, "unknown command '%.32s'", cmd);
	for (size_t i = 0; cmd && !a->stopping &&
			   i < sizeof(api_commands) / sizeof(api_commands[0]);
	     i++)
		if (strcmp(cmd, api_commands[i].name) == 0) {
			c->err[0] = '\0';
			r = api_commands[i].fn(c, req, &result);
			break;
		}
	if (r == API_PENDING)
		return;
	api_call_finish(c, result, r);
}

/*
 * A pending "set" is confirmed by the next report of its value; a
 * pending include or exclude follows its command's events.
 */
static void on_registry(void *ctx, const struct registry_event *ev)
{
	struct api *a = ctx;
	struct api_call *c, *next;

	if (ev->type == REGISTRY_CONTROLLER && ev->zw &&
	    ev->zw->type == ZW_EV_CONTROLLER && ev->zw->command)
		api_command_event(a, ev->zw);
	if (ev->type != REGISTRY_VALUE_CHANGED)
		return;
	for (c = a->calls; c; c = next) {
		next = c->next;
		if (!c->command &&
		    value_key_equal(&c->key, &ev->value->meta.key))
			api_call_finish(c, api_set_result(ev->value, true), 0);
	}
}

int api_new(const struct api_deps *deps, struct api **ret)
{
	struct api *a = calloc(1, sizeof(*a));
	char *dir;
	int r;

	if (!a)
		return -ENOMEM;
	a->deps = *deps;
	a->start_ms = uv_now(deps->loop);
	dir = fs_dir_of(deps->names_path);
	if (dir)
		a->names = state_save_new(deps->loop, dir,
					  fs_base_of(deps->names_path), 0600,
					  api_names_saved, a);
	free(dir);
	if (!a->names) {
		free(a);
		return -ENOMEM;
	}
	r = registry_listen(deps->reg, on_registry, a);
	if (r < 0) {
		state_save_free(a->names);
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

void api_shutdown(struct api *a)
{
	struct state_save *names;

	if (!a || a->stopping)
		return;
	a->stopping = true;
	/* The renames that wait for names.json first (cancelled): they
	 * are on a->calls too.  A write that is out finishes before the
	 * loop ends. */
	names = a->names;
	a->names = NULL;
	state_save_free(names);
	api_upload_drop(a);
	while (a->calls) {
		struct api_call *c = a->calls;

		uv_timer_stop(&c->timer);
		api_call_finish(c, NULL,
				api_fail(c, -ECANCELED, "zwgated is stopping"));
	}
	registry_unlisten(a->deps.reg, on_registry, a);
}

void api_free(struct api *a)
{
	if (a)
		state_save_free(a->names); /* without api_shutdown */
	free(a);
}

size_t api_pending(const struct api *a)
{
	size_t n = 0;

	for (const struct api_call *c = a ? a->calls : NULL; c; c = c->next)
		n++;
	return n;
}
