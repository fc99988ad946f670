/* SPDX-License-Identifier: MIT */
/*
 * zw_sim_inject.c: the sim backend's inject(): the control socket's
 * "sim" requests, which play the devices' side of the network.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cc.h"
#include "log.h"
#include "zw_sim_int.h"

/* Short names of values for inject(), as the registry knows them. */
static const struct {
	const char *alias;
	uint8_t cc;
	const char *property;
} sim_aliases[] = {
	{ "switch", CC_SWITCH_BINARY, "currentValue" },
	{ "level", CC_SWITCH_MULTILEVEL, "currentValue" },
	{ "motion", CC_SENSOR_BINARY, "motion" },
	{ "door", CC_SENSOR_BINARY, "door" },
	{ "water", CC_SENSOR_BINARY, "water" },
	{ "temperature", CC_SENSOR_MULTILEVEL, "temperature" },
	{ "humidity", CC_SENSOR_MULTILEVEL, "humidity" },
	{ "illuminance", CC_SENSOR_MULTILEVEL, "illuminance" },
	{ "power", CC_METER, "power" },
	{ "energy", CC_METER, "energy" },
	{ "lock", CC_DOOR_LOCK, "locked" },
	{ "setpoint", CC_THERMOSTAT_SETPOINT, "heating" },
	{ "battery", CC_BATTERY, "level" },
};

__attribute__((format(printf, 3, 4))) static int
sim_no_node(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -ENOENT;
}

/* "node" of a request: a number, digits, or a name (exact, then any case). */
int sim_find_node(struct zw_sim *z, const json_t *req, struct sim_node **ret,
		  char *err, size_t errlen)
{
	const json_t *j = json_object_get(req, "node");
	const char *s = json_string_value(j);
	json_int_t id = -1;

	if (json_is_integer(j))
		id = json_integer_value(j);
	else if (s && *s && strspn(s, "0123456789") == strlen(s))
		id = strlen(s) <= 4 ? atoi(s) : -1;
	else if (!s)
		return sim_fail(err, errlen, "%s",
				j ? "node must be a number or a name"
				  : "missing node");
	if (id >= 0 || !s) {
		*ret = sim_node(z, id < 0 || id > ZW_NODE_MAX ? 0 : id);
		return *ret ? 0
			    : sim_no_node(err, errlen, "no node %lld",
					  (long long)id);
	}
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = ZW_NODE_MIN; i <= ZW_NODE_MAX; i++) {
			struct sim_node *n = z->net.nodes[i];

			if (n && n->name &&
			    (pass ? strcasecmp(n->name, s)
				  : strcmp(n->name, s)) == 0) {
				*ret = n;
				return 0;
			}
		}
	return sim_no_node(err, errlen, "no node called '%s'", s);
}

/* The one value matching cc (when >= 0) and property (when not NULL). */
static int sim_find_unique(struct sim_node *n, int cc, const char *property,
			   struct sim_value **ret)
{
	size_t found = 0;

	for (size_t i = 0; i < n->nvalues; i++) {
		const struct value_key *k = &n->values[i].meta.key;

		if ((cc < 0 || k->cc == cc) &&
		    (!property || strcmp(k->property, property) == 0)) {
			*ret = &n->values[i];
			found++;
		}
	}
	return found == 1 ? 0 : found ? -ENOTUNIQ : -ENOENT;
}

/* "switch_binary/0/currentValue" exactly. */
static int sim_find_path(struct sim_node *n, const char *spec,
			 struct sim_value **ret)
{
	char buf[SIM_PATH_MAX], *ep, *prop, *end;
	unsigned long e;
	int cc;

	if (strlen(spec) >= sizeof(buf))
		return -ENOENT;
	strcpy(buf, spec);
	ep = strchr(buf, '/');
	prop = ep ? strchr(ep + 1, '/') : NULL;
	if (!prop)
		return -ENOENT;
	*ep++ = '\0';
	*prop++ = '\0';
	cc = cc_from_name(buf);
	errno = 0;
	e = strtoul(ep, &end, 10);
	if (cc < 0 || !*ep || *end || errno || e > SIM_ENDPOINT_MAX)
		return -ENOENT;
	*ret = sim_value_lookup(n, (uint8_t)cc, (uint8_t)e, prop);
	return *ret ? 0 : -ENOENT;
}

/* As registry_find_value: path, alias, unique property, lone cc. */
int sim_find_value(struct sim_node *n, const char *spec, struct sim_value **ret,
		   char *err, size_t errlen)
{
	int r = -ENOENT;

	if (!spec)
		return sim_fail(err, errlen, "value must be a path or a name");
	if (strchr(spec, '/'))
		r = sim_find_path(n, spec, ret);
	for (size_t i = 0; r == -ENOENT && !strchr(spec, '/') &&
			   i < sizeof(sim_aliases) / sizeof(sim_aliases[0]);
	     i++)
		if (strcmp(sim_aliases[i].alias, spec) == 0)
			r = sim_find_unique(n, sim_aliases[i].cc,
					    sim_aliases[i].property, ret);
	if (r == -ENOENT && !strchr(spec, '/'))
		r = sim_find_unique(n, -1, spec, ret);
	if (r == -ENOENT && !strchr(spec, '/') && cc_from_name(spec) >= 0)
		r = sim_find_unique(n, cc_from_name(spec), NULL, ret);
	if (r == -ENOENT)
		snprintf(err, errlen, "node %u has no value '%s'", n->id, spec);
	else if (r == -ENOTUNIQ)
		snprintf(err, errlen,
			 "node %u has several values '%s'; give the path",
			 n->id, spec);
	return r;
}

int sim_node_usable(const struct sim_node *n, char *err, size_t errlen)
{
	if (!n->dead)
		return 0;
	snprintf(err, errlen, "node %u is dead (op alive revives it)", n->id);
	return -EHOSTDOWN;
}

static int sim_op_emit(struct zw_sim *z, const json_t *req, json_t **ret,
		       char *err, size_t errlen)
{
	const json_t *data = json_object_get(req, "data");
	char path[SIM_PATH_MAX], why[SIM_ERR_MAX] = "";
	struct sim_value *v = NULL;
	struct sim_node *n = NULL;
	struct value val;
	int r;

	r = sim_find_node(z, req, &n, err, errlen);
	if (r == 0)
		r = sim_find_value(
		    n, json_string_value(json_object_get(req, "value")), &v,
		    err, errlen);
	if (r < 0)
		return r;
	value_key_path(&v->meta.key, path, sizeof(path));
	if (v->meta.type == VALUE_BUTTON)
		return sim_fail(err, errlen,
				"node %u: %s is a button; use op event", n->id,
				path);
	if (!data)
		return sim_fail(err, errlen, "missing data");
	r = sim_node_usable(n, err, errlen);
	if (r < 0)
		return r;
	if (value_from_json(data, &v->meta, &val, why, sizeof(why)) < 0)
		return sim_fail(err, errlen, "node %u: %s: %s", n->id, path,
				why);
	*ret = json_pack("{s:i,s:s,s:o*}", "node", n->id, "value", path, "data",
			 value_to_json(&val, &v->meta));
	if (!*ret) {
		value_clear(&val);
		return sim_errno(-ENOMEM, err, errlen);
	}
	value_clear(&v->val);
	v->val = val;
	v->has_val = true;
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
	return 0;
}

static int sim_op_status(struct zw_sim *z, const json_t *req, bool dead,
			 json_t **ret, char *err, size_t errlen)
{
	struct sim_node *n;
	int r = sim_find_node(z, req, &n, err, errlen);

	if (r < 0)
		return r;
	*ret = json_pack("{s:i,s:s}", "node", n->id, "status",
			 dead ? "dead" : "alive");
	if (!*ret)
		return sim_errno(-ENOMEM, err, errlen);
	n->dead = dead;
	sim_emit_status(z, n);
	return 0;
}

const struct sim_event_kind sim_event_kinds[SIM_NEVENT_KINDS] = {
	{ "scene", CC_SCENE_ACTIVATION },
	{ "button", CC_CENTRAL_SCENE },
	{ "notification", CC_NOTIFICATION },
};

/* The index of kind in sim_event_kinds, or SIM_NEVENT_KINDS. */
size_t sim_event_kind(const char *kind)
{
	size_t k;

	for (k = 0; kind && k < SIM_NEVENT_KINDS; k++)
		if (strcmp(kind, sim_event_kinds[k].kind) == 0)
			return k;
	return SIM_NEVENT_KINDS;
}

static int sim_op_event(struct zw_sim *z, const json_t *req, json_t **ret,
			char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(req, "kind"));
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION };
	json_int_t code = -1, ep = 0;
	const char *text = NULL;
	struct sim_node *n;
	size_t k;
	int r;

	k = sim_event_kind(kind);
	if (k == SIM_NEVENT_KINDS)
		return sim_fail(err, errlen,
				"kind must be scene, button or notification");
	if (!json_object_get(req, "code"))
		return sim_fail(err, errlen, "missing code");
	if (sim_int(req, "code", 0, INT64_MAX, &code, err, errlen) < 0 ||
	    sim_int(req, "endpoint", 0, SIM_ENDPOINT_MAX, &ep, err, errlen) <
		0 ||
	    sim_str(req, "text", ZW_LABEL_MAX - 1, &text, err, errlen) < 0)
		return -EINVAL;
	r = sim_find_node(z, req, &n, err, errlen);
	if (r == 0)
		r = sim_node_usable(n, err, errlen);
	if (r < 0)
		return r;
	*ret = json_pack("{s:i,s:s,s:I}", "node", n->id, "kind", kind, "code",
			 (json_int_t)code);
	if (!*ret)
		return sim_errno(-ENOMEM, err, errlen);
	ev.node = n->id;
	ev.u.notification.cc = sim_event_kinds[k].cc;
	ev.u.notification.endpoint = (uint8_t)ep;
	ev.u.notification.kind = sim_event_kinds[k].kind;
	ev.u.notification.code = code;
	ev.u.notification.text = text;
	sim_emit(z, &ev);
	return 0;
}

static int sim_op_add(struct zw_sim *z, const json_t *req, json_t **ret,
		      char *err, size_t errlen)
{
	struct sim_node *n;
	int r;

	r = sim_node_parse(json_object_get(req, "node"), "node", &n, err,
			   errlen);
	if (r < 0)
		return r;
	r = sim_net_check(&z->net, n, err, errlen);
	if (r == 0) {
		*ret = json_pack("{s:i}", "node", n->id);
		if (!*ret)
			r = sim_errno(-ENOMEM, err, errlen);
	}
	if (r < 0) {
		sim_node_free(n);
		return r;
	}
	n->serial = ++z->serial;
	z->net.nodes[n->id] = n;
	sim_announce(z, n);
	return 0;
}

static int sim_op_remove(struct zw_sim *z, const json_t *req, json_t **ret,
			 char *err, size_t errlen)
{
	struct zw_event ev = { .type = ZW_EV_NODE_REMOVED };
	struct sim_node *n;
	int r = sim_find_node(z, req, &n, err, errlen);

	if (r < 0)
		return r;
	*ret = json_pack("{s:i}", "node", n->id);
	if (!*ret)
		return sim_errno(-ENOMEM, err, errlen);
	n->removed = true;
	z->net.nodes[n->id] = NULL;
	n->next_zombie = z->zombies;
	z->zombies = n;
	ev.node = n->id;
	sim_emit(z, &ev);
	return 0;
}

static int sim_inject_op(struct zw_sim *z, const char *op, const json_t *req,
			 json_t **ret, char *err, size_t errlen)
{
	if (strcmp(op, "emit") == 0)
		return sim_op_emit(z, req, ret, err, errlen);
	if (strcmp(op, "dead") == 0 || strcmp(op, "alive") == 0)
		return sim_op_status(z, req, op[0] == 'd', ret, err, errlen);
	if (strcmp(op, "event") == 0)
		return sim_op_event(z, req, ret, err, errlen);
	if (strcmp(op, "add") == 0)
		return sim_op_add(z, req, ret, err, errlen);
	if (strcmp(op, "remove") == 0)
		return sim_op_remove(z, req, ret, err, errlen);
	if (strcmp(op, "stream") == 0 || strcmp(op, "stream-event") == 0)
		return sim_op_stream(z, req, op[6] == '-', ret, err, errlen);
	if (strcmp(op, "stats") == 0)
		return sim_op_stats(z, ret, err, errlen);
	return sim_fail(err, errlen,
			"unknown op '%s' (known: emit, dead, alive, event, "
			"add, remove, stream, stream-event, stats)",
			op);
}

/*
 * Requests come whole from the control socket, "cmd" and "id" included,
 * so fields other than an op's own are ignored.  Events go out before
 * this returns.
 */
int sim_inject(struct zw *zb, const json_t *req, json_t **ret, char *err,
	       size_t errlen)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *res = NULL;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (z->closing)
		return sim_errno(-ECANCELED, err, errlen);
	if (!json_is_object(req) || !op)
		return sim_fail(err, errlen, "a sim request needs an op");
	if (!z->started) {
		snprintf(err, errlen, "the simulated network is starting");
		return -EAGAIN;
	}
	sim_enter(z);
	r = sim_inject_op(z, op, req, &res, err, errlen);
	sim_leave(z);
	if (r == 0)
		*ret = res;
	return r;
}
