/* SPDX-License-Identifier: MIT */
/*
 * api_nodes.c: the API's commands on nodes and their values: status,
 * nodes, node, get, set (which may wait for the device), rename and
 * config-set.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zwgate/control.h"

#include "api_int.h"
#include "cloud.h"
#include "conf.h"
#include "log.h"
#include "registry.h"
#include "zw.h"

/*
 * "node" may be a number or a string holding a number or a name; text
 * for error messages comes back in buf.
 */
int api_find_node(struct api_call *c, const json_t *req,
		  struct registry_node **ret)
{
	const json_t *v = json_object_get(req, "node");
	char ref[REGISTRY_NAME_MAX + 1];

	if (json_is_integer(v))
		snprintf(ref, sizeof(ref), "%lld",
			 (long long)json_integer_value(v));
	/* Cut to fit, a longer reference would match a node it does not
	 * name: the one named with its first REGISTRY_NAME_MAX bytes. */
	else if (json_is_string(v) && json_string_length(v) > REGISTRY_NAME_MAX)
		return api_fail(c, -ENOENT, "no node '%.*s...'",
				REGISTRY_NAME_MAX, json_string_value(v));
	else if (json_is_string(v))
		snprintf(ref, sizeof(ref), "%s", json_string_value(v));
	else
		return api_fail(c, -EINVAL,
				"'node' must be a node number or name");
	if (registry_find_node(c->a->deps.reg, ref, ret) < 0)
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
	const char *spec = api_arg_str(req, "value");
	char nb[REGISTRY_NAME_MAX + 32];
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

int api_status(struct api_call *c, const json_t *req, json_t **res)
{
	struct api *a = c->a;
	const struct conf *conf = api_conf(a);
	struct cloud *cloud = api_cloud(a);

	*res = json_pack(
	    "{s:s,s:s,s:I,s:s,s:s,s:I,s:s,s:s}", "version", PACKAGE_VERSION,
	    "gateway_id", conf->gateway_id, "uptime_s",
	    (json_int_t)((uv_now(a->deps.loop) - a->start_ms) / 1000),
	    "backend", zw_name(api_zw(a)), "controller",
	    registry_controller_state(a->deps.reg), "nodes",
	    (json_int_t)registry_node_count(a->deps.reg), "log_level",
	    log_level_name(log_get_level()), "config", conf->path);
	if (*res && cloud &&
	    json_object_set_new(*res, "cloud", cloud_status_json(cloud)) < 0) {
		json_decref(*res);
		*res = NULL;
	}
	return *res ? 0 : -ENOMEM;
}

int api_nodes(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n = NULL;

	*res = json_array();
	while (*res && (n = registry_next_node(c->a->deps.reg, n)))
		json_array_append_new(*res, registry_node_json(n, false));
	return *res ? 0 : -ENOMEM;
}

int api_node(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	int r = api_find_node(c, req, &n);

	if (r < 0)
		return r;
	*res = registry_node_json(n, true);
	return *res ? 0 : -ENOMEM;
}

static json_t *value_result(const struct registry_value *v)
{
	json_t *o = registry_value_json(v);

	if (o &&
	    (json_object_set_new(o, "node", json_integer(v->node->id)) < 0 ||
	     json_object_set_new(o, "name",
				 v->node->name ? json_string(v->node->name)
					       : json_null()) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int api_get(struct api_call *c, const json_t *req, json_t **res)
{
	struct registry_node *n;
	struct registry_value *v;
	int r;

	if ((r = api_find_node(c, req, &n)) < 0 ||
	    (r = find_value(c, req, n, &v)) < 0)
		return r;
	*res = value_result(v);
	return *res ? 0 : -ENOMEM;
}

json_t *api_set_result(const struct registry_value *v, bool confirmed)
{
	char path[128];

	return json_pack(
	    "{s:i,s:o,s:s,s:o,s:b}", "node", v->node->id, "name",
	    v->node->name ? json_string(v->node->name) : json_null(), "path",
	    value_key_path(&v->meta.key, path, sizeof(path)), "value",
	    v->has_val ? value_to_json(&v->val, &v->meta) : json_null(),
	    "confirmed", confirmed);
}

static void on_set_timeout(uv_timer_t *t)
{
	struct api_call *c = t->data;
	struct registry_value *v = registry_value(c->a->deps.reg, &c->key);

	if (v)
		api_call_finish(c, api_set_result(v, false), 0);
	else
		api_call_finish(c, NULL,
				api_fail(c, -ENOENT, "the value went away"));
}

int api_set_error(struct api_call *c, int r, const struct registry_node *n)
{
	char nb[REGISTRY_NAME_MAX + 32];

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

int api_set(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *wait = json_object_get(req, "wait");
	char why[128];
	struct registry_node *n;
	struct registry_value *v;
	struct value val;
	int r;

	if ((r = api_find_node(c, req, &n)) < 0 ||
	    (r = find_value(c, req, n, &v)) < 0)
		return r;
	if (!v->meta.writable)
		return api_set_error(c, -EACCES, n);
	if (!json_object_get(req, "data"))
		return api_fail(c, -EINVAL, "'data' is missing");
	if (value_from_json(json_object_get(req, "data"), &v->meta, &val, why,
			    sizeof(why)) < 0)
		return api_fail(c, -EINVAL, "%s", why);
	r = zw_set_value(api_zw(c->a), &v->meta.key, &val);
	value_clear(&val);
	if (r < 0)
		return api_set_error(c, r, n);
	if (json_is_false(wait)) {
		*res = api_set_result(v, false);
		return *res ? 0 : -ENOMEM;
	}
	c->key = v->meta.key;
	uv_timer_init(c->a->deps.loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_set_timeout, ZWCTL_SET_WAIT_MS, 0);
	api_call_wait(c);
	return API_PENDING;
}

/* The user name node id has now: NULL for none. */
static const char *user_name(const struct api *a, unsigned id)
{
	const struct registry_node *n = registry_node(a->deps.reg, id);

	return n && n->user_name ? n->name : NULL;
}

static bool same_name(const char *x, const char *y)
{
	return x && y ? strcmp(x, y) == 0 : x == y;
}

/* Back to old (NULL: none); logged when the registry refuses. */
static bool rename_back(struct api *a, unsigned id, const char *old)
{
	int r = registry_rename(a->deps.reg, id, old ? old : "");

	if (r < 0)
		log_warning("node %u: could not take back its unsaved name: "
			    "%s",
			    id, strerror(-r));
	return r == 0;
}

static int save_failed(struct api_call *c, int r)
{
	return api_fail(c, r, "could not save names to %s: %s",
			c->a->deps.names_path, strerror(-r));
}

static struct api_call *wait_call(struct state_save_wait *w)
{
	return (struct api_call *)((char *)w - offsetof(struct api_call, save));
}

/* The first rename still waiting for a write that is of node id. */
static struct api_call *later_rename(struct api *a, unsigned id)
{
	for (struct state_save_wait *l = a->names ? state_save_waiting(a->names)
						  : NULL;
	     l; l = l->next)
		if (wait_call(l)->rename_id == id)
			return wait_call(l);
	return NULL;
}

/*
 * A write of names.json completed; list: the renames it held, newest
 * first.  Saved, they get their answer.  Unsaved, a name would vanish
 * at the next start, so each is undone, but only while it is still the
 * node's current name:
 * - a later rename of the node that still waits for its own write
 *   replaced it: that rename takes over the name to go back to (its
 *   write says whether it holds), and this one undoes nothing;
 * - else the node goes back to its name before, if its user name is
 *   still the one this rename gave (the device may have taken it since:
 *   registry_names_settle).  Newest first, renames of one node in one
 *   write go back one by one to the name before the oldest.
 * A chain of renames that all fail thus ends where it began.  When a
 * write holding an undone name may still reach the file (the next one
 * is out), the names are written again.  Cancelled (the API stops),
 * nothing is undone: the daemon goes and keeps what it saved.
 */
void api_names_saved(void *ctx, struct state_save_wait *list, int result)
{
	struct api *a = ctx;
	struct api_call *c, *later;
	bool undone = false;
	char *text, *t;

	for (struct state_save_wait *w = list, *next; w; w = next) {
		next = w->next;
		c = wait_call(w);
		if (result == 0) {
			log_info("node %u renamed '%s'", c->rename_id,
				 c->rename_new ? c->rename_new : "");
			api_call_finish(c, json_incref(c->saved_result), 0);
			continue;
		}
		if (result == -ECANCELED) {
			api_call_finish(
			    c, NULL,
			    api_fail(c, result, "zwgated is stopping"));
			continue;
		}
		if ((later = later_rename(a, c->rename_id))) {
			t = later->rename_old;
			later->rename_old = c->rename_old;
			c->rename_old = t;
		} else if (same_name(user_name(a, c->rename_id),
				     c->rename_new)) {
			undone |= rename_back(a, c->rename_id, c->rename_old);
		}
		api_call_finish(c, NULL, save_failed(c, result));
	}
	if (!undone || !a->names || !state_save_busy(a->names))
		return;
	text = registry_names_text(a->deps.reg);
	if (!text || state_save_write(a->names, text, strlen(text), NULL) < 0)
		log_error("could not save names to %s: %s", a->deps.names_path,
			  strerror(ENOMEM));
	free(text);
}

/* Renamed: the answer once names.json holds it; else undone. */
static int rename_save(struct api_call *c, struct registry_node *n,
		       const char *name, char **old)
{
	struct api *a = c->a;
	char *text = NULL;
	int r = -ENOMEM;

	c->rename_id = n->id;
	c->rename_old = *old;
	*old = NULL;
	c->saved_result =
	    json_pack("{s:i,s:s?}", "node", n->id, "name", n->name);
	if (c->saved_result && (!*name || (c->rename_new = strdup(name))) &&
	    (text = registry_names_text(a->deps.reg)))
		r = state_save_write(a->names, text, strlen(text), &c->save);
	free(text);
	if (r < 0) {
		rename_back(a, n->id, c->rename_old);
		return save_failed(c, r);
	}
	api_call_wait(c);
	return API_PENDING;
}

int api_rename(struct api_call *c, const json_t *req, json_t **res)
{
	const char *name = api_arg_str(req, "name");
	struct registry_node *n;
	char *old;
	int r;

	if ((r = api_find_node(c, req, &n)) < 0)
		return r;
	if (!name)
		return api_fail(c, -EINVAL, "'name' must be a string");
	old = n->user_name && n->name ? strdup(n->name) : NULL;
	r = registry_rename(c->a->deps.reg, n->id, name);
	if (r == -EEXIST && !*name)
		r = api_fail(c, r,
			     "node %u would go by its device's name '%.64s' "
			     "again, which node %u has; give it another name "
			     "instead",
			     n->id, registry_device_name(c->a->deps.reg, n->id),
			     registry_name_holder(
				 c->a->deps.reg, n->id,
				 registry_device_name(c->a->deps.reg, n->id)));
	else if (r == -EEXIST)
		r = api_fail(c, r, "another node is called '%.64s'", name);
	else if (r < 0)
		r = api_fail(c, r, "bad name: %s",
			     registry_name_problem(name)
				 ? registry_name_problem(name)
				 : strerror(-r));
	else
		r = rename_save(c, n, name, &old);
	free(old);
	return r;
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

int api_config_set(struct api_call *c, const json_t *req, json_t **res)
{
	json_int_t param, value, size = 0;
	struct registry_node *n;
	int r;

	if ((r = api_find_node(c, req, &n)) < 0 ||
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
	r = zw_set_config(api_zw(c->a), n->id, (uint8_t)param, (int32_t)value,
			  (uint8_t)size);
	if (r == -ERANGE)
		return api_fail(c, r, "%lld does not fit in %lld byte(s)",
				(long long)value, (long long)size);
	if (r == -ENOTSUP)
		return api_command_error(c, r, "set configuration parameters");
	if (r < 0)
		return api_set_error(c, r, n);
	*res = json_pack("{s:i,s:I,s:I,s:I}", "node", n->id, "param", param,
			 "value", value, "size", size);
	return *res ? 0 : -ENOMEM;
}
