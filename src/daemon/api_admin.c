/* SPDX-License-Identifier: MIT */
/*
 * api_admin.c: the API's commands on the gateway itself: reload and
 * log-level, the rules and scenes (zwgate.rules(5)), and the trust
 * bundle of the cloud link (trust-import, trust-status).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "automation.h"
#include "cloud.h"
#include "conf.h"
#include "diag.h"
#include "log.h"

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

int api_reload(struct api_call *c, const json_t *req, json_t **res)
{
	struct diag_list diags;
	int r;

	diag_init(&diags);
	r = c->a->deps.reload(c->a->deps.ctx, &diags);
	if (r < 0) {
		c->details = diag_array(&diags, false);
		api_fail(c, r,
			 "%s has %zu error(s); still running the old config",
			 c->a->deps.config_path, diags.errors);
	} else {
		*res = json_pack("{s:b,s:o}", "reloaded", 1, "warnings",
				 diag_array(&diags, true));
		r = *res ? 0 : -ENOMEM;
	}
	diag_clear(&diags);
	return r;
}

int api_log_level(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name = api_arg_str(req, "level");
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

static int rule_arg(struct api_call *c, const json_t *req, const char **name)
{
	if (!(*name = api_arg_str(req, "name")))
		return api_fail(c, -EINVAL, "'name' must be a string");
	return 0;
}

int api_rules(struct api_call *c, const json_t *req, json_t **res)
{
	*res = automation_rules_json(api_automation(c->a));
	return *res ? 0 : -ENOMEM;
}

int api_rules_show(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	*res = automation_rule_json(api_automation(c->a), name);
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

int api_rules_run(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	r = automation_run(api_automation(c->a), name);
	return rule_done(c, r, "rule", name, "started", res);
}

/* rules.json holds the change, or not: the answer. */
static void on_rule_saved(void *ctx, int result)
{
	struct api_call *c = ctx;
	json_t *res = NULL;
	int r;

	if (result == -ECANCELED)
		r = api_fail(c, result, "zwgated is stopping");
	else
		r = rule_done(c, result, "rule", c->rule_name,
			      c->rule_on ? "enabled" : "disabled", &res);
	api_call_finish(c, res, r);
}

/*
 * Answered once rules.json holds the change; the automation keeps the
 * call until then (not a->calls: it answers it when it stops).
 */
int api_rules_enable(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	c->rule_on = strcmp(api_arg_str(req, "cmd"), "rules-enable") == 0;
	if (!(c->rule_name = strdup(name)))
		return -ENOMEM;
	r = automation_enable(api_automation(c->a), name, c->rule_on,
			      on_rule_saved, c);
	if (r < 0)
		return rule_done(c, r, "rule", name,
				 c->rule_on ? "enabled" : "disabled", res);
	return API_PENDING;
}

int api_scene_run(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name;
	int r;

	if ((r = rule_arg(c, req, &name)) < 0)
		return r;
	r = automation_scene(api_automation(c->a), name);
	return rule_done(c, r, "scene", name, "run", res);
}

int api_trust_import(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *b = json_object_get(req, "bundle");

	if (!json_is_string(b)) {
		snprintf(c->err, sizeof(c->err),
			 "\"bundle\" must be the text of a trust bundle file");
		return -EINVAL;
	}
	return cloud_trust_offer(api_cloud(c->a), json_string_value(b),
				 json_string_length(b), res, c->err,
				 sizeof(c->err));
}

int api_trust_status(struct api_call *c, const json_t *req, json_t **res)
{
	*res = cloud_trust_status(api_cloud(c->a), c->err, sizeof(c->err));
	if (*res)
		return 0;
	return api_cloud(c->a) && api_conf(c->a)->cloud.trust_bundle ? -ENOMEM
								     : -ENOTSUP;
}
