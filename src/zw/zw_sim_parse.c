/* SPDX-License-Identifier: MIT */
/*
 * zw_sim_parse.c: the sim backend's network file, read into its model
 * of nodes and values (see zw_sim.c for the backend itself).
 *
 * The file (etc/sim-network.json is the demo):
 *
 *   { "controller": "name",            default "Simulated controller"
 *     "report-delay-ms": 50,           0..60000, default 50
 *     "nodes": [ NODE, ... ] }         one per id
 *   NODE: { "id": 2,                   1..232 or 256..4000 (Long
 *                                      Range), unique
 *           "name", "location", "manufacturer", "product": "text",
 *           "device": "switch",        a template, see sim_templates
 *           "dead": false,
 *           "values": [ VALUE, ... ] } at most 256 per node, with template's
 *   VALUE: { "cc": "switch_binary", "endpoint": 0, "property": "x",
 *            "type": "bool|int|float|string|enum|button",
 *            "unit", "label", "min", "max", "precision", "readable",
 *            "writable", "items": [..] (enum), "value": initial }
 *
 * A VALUE with the key of a template value overrides its fields (its type
 * may be repeated but not changed).  Unknown fields are errors, so that a
 * typo does not pass silently; "comment" is allowed in every object.  Id
 * 1 is accepted: it is the controller's id in a real network, and
 * OpenZWave reports the controller as a node too, so a file may describe
 * it.  Names are unique (ignoring case), so that a node can be named in
 * place of its number.
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

struct sim_tvalue {
	uint8_t cc;
	const char *property;
	enum value_type type;
	const char *unit, *label;
	double min, max; /* min > max: no range */
	uint8_t precision;
	bool writable;
	double init;
};

enum {
	TV_SWITCH,
	TV_LEVEL,
	TV_MOTION,
	TV_DOOR,
	TV_BATTERY,
	TV_TEMPERATURE,
	TV_HUMIDITY,
	TV_ILLUMINANCE,
	TV_POWER,
	TV_ENERGY,
	TV_LOCKED,
	TV_SETPOINT,
};

/* clang-format off */
static const struct sim_tvalue sim_tvalues[] = {
	/* cc, property, type, unit, label,
	 *	min, max, precision, writable, initial value */
	[TV_SWITCH] = { CC_SWITCH_BINARY, "currentValue", VALUE_BOOL, "",
		"Switch", 1, 0, 0, true, 0 },
	[TV_LEVEL] = { CC_SWITCH_MULTILEVEL, "currentValue", VALUE_INT, "",
		"Level", 0, 99, 0, true, 0 },
	[TV_MOTION] = { CC_SENSOR_BINARY, "motion", VALUE_BOOL, "",
		"Motion", 1, 0, 0, false, 0 },
	[TV_DOOR] = { CC_SENSOR_BINARY, "door", VALUE_BOOL, "",
		"Door open", 1, 0, 0, false, 0 },
	[TV_BATTERY] = { CC_BATTERY, "level", VALUE_INT, "%",
		"Battery", 0, 100, 0, false, 100 },
	[TV_TEMPERATURE] = { CC_SENSOR_MULTILEVEL, "temperature",
		VALUE_FLOAT, "°C", "Temperature", -40, 85, 1, false, 20 },
	[TV_HUMIDITY] = { CC_SENSOR_MULTILEVEL, "humidity", VALUE_FLOAT,
		"%", "Humidity", 0, 100, 0, false, 50 },
	[TV_ILLUMINANCE] = { CC_SENSOR_MULTILEVEL, "illuminance",
		VALUE_FLOAT, "lux", "Illuminance", 0, 100000, 0, false, 100 },
	[TV_POWER] = { CC_METER, "power", VALUE_FLOAT, "W",
		"Power", 1, 0, 1, false, 0 },
	[TV_ENERGY] = { CC_METER, "energy", VALUE_FLOAT, "kWh",
		"Energy", 1, 0, 2, false, 0 },
	[TV_LOCKED] = { CC_DOOR_LOCK, "locked", VALUE_BOOL, "",
		"Locked", 1, 0, 0, true, 1 },
	[TV_SETPOINT] = { CC_THERMOSTAT_SETPOINT, "heating", VALUE_FLOAT,
		"°C", "Heating setpoint", 5, 30, 1, true, 20 },
};
/* clang-format on */

#define TV(x) (&sim_tvalues[TV_##x])

/* clang-format off */
static const struct sim_template sim_templates[] = {
	{ "switch", "Binary Switch", false, { TV(SWITCH) } },
	{ "dimmer", "Dimmer", false, { TV(LEVEL) } },
	{ "motion-sensor", "Motion Sensor", false,
		{ TV(MOTION), TV(BATTERY) } },
	{ "door-sensor", "Door Sensor", false, { TV(DOOR), TV(BATTERY) } },
	{ "multisensor", "Multisensor", false,
		{ TV(TEMPERATURE), TV(HUMIDITY), TV(ILLUMINANCE), TV(BATTERY) } },
	{ "meter-plug", "Metering Plug", true,
		{ TV(SWITCH), TV(POWER), TV(ENERGY) } },
	{ "lock", "Door Lock", false, { TV(LOCKED) } },
	{ "thermostat", "Thermostat", false, { TV(SETPOINT), TV(TEMPERATURE) } },
};
/* clang-format on */

#define SIM_NTEMPLATES (sizeof(sim_templates) / sizeof(sim_templates[0]))

struct sim_node *sim_node_free(struct sim_node *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->nvalues; i++) {
		value_clear(&n->values[i].val);
		value_meta_clear(&n->values[i].meta);
	}
	free(n->values);
	free(n->name);
	free(n->location);
	free(n->manufacturer);
	free(n->product);
	free(n);
	return NULL;
}

struct sim_value *sim_value_lookup(struct sim_node *n, uint8_t cc,
				   uint8_t endpoint, const char *property)
{
	for (size_t i = 0; i < n->nvalues; i++) {
		const struct value_key *k = &n->values[i].meta.key;

		if (k->cc == cc && k->endpoint == endpoint &&
		    strncmp(k->property, property, ZW_PROPERTY_MAX) == 0)
			return &n->values[i];
	}
	return NULL;
}

/* Does val fit meta: same type, in range, a known item? */
bool sim_val_ok(const struct value_meta *meta, const struct value *val)
{
	bool ranged = meta->min <= meta->max;

	if (!val || val->type != meta->type)
		return false;
	switch (val->type) {
	case VALUE_INT:
		return !ranged ||
		       (val->u.i >= meta->min && val->u.i <= meta->max);
	case VALUE_FLOAT:
		return isfinite(val->u.f) &&
		       (!ranged ||
			(val->u.f >= meta->min && val->u.f <= meta->max));
	case VALUE_ENUM:
		return val->u.i >= 0 && (size_t)val->u.i < meta->nitems;
	case VALUE_STRING:
		return val->u.s && strlen(val->u.s) < ZW_STRING_MAX;
	case VALUE_BOOL:
	case VALUE_BUTTON:
		break;
	}
	return true;
}

static void sim_tvalue_fill(struct sim_value *v, uint16_t node,
			    const struct sim_tvalue *t)
{
	memset(v, 0, sizeof(*v));
	v->meta.key.node = node;
	v->meta.key.cc = t->cc;
	snprintf(v->meta.key.property, sizeof(v->meta.key.property), "%s",
		 t->property);
	v->meta.type = t->type;
	snprintf(v->meta.unit, sizeof(v->meta.unit), "%s", t->unit);
	snprintf(v->meta.label, sizeof(v->meta.label), "%s", t->label);
	v->meta.min = t->min;
	v->meta.max = t->max;
	v->meta.precision = t->precision;
	v->meta.readable = true;
	v->meta.writable = t->writable;
	v->val.type = t->type;
	if (t->type == VALUE_BOOL)
		v->val.u.b = t->init != 0;
	else if (t->type == VALUE_INT)
		v->val.u.i = (int64_t)t->init;
	else
		v->val.u.f = t->init;
	v->has_val = true;
}

static int sim_key_parse(const json_t *j, uint16_t node, struct value_key *key,
			 char *err, size_t errlen)
{
	const json_t *jcc = json_object_get(j, "cc");
	const char *prop = NULL;
	json_int_t ep = 0;
	int cc = -ENOENT;

	if (json_is_string(jcc))
		cc = cc_from_name(json_string_value(jcc));
	else if (json_is_integer(jcc) && json_integer_value(jcc) > 0 &&
		 json_integer_value(jcc) <= 0xff)
		cc = (int)json_integer_value(jcc);
	if (!jcc)
		return sim_fail(err, errlen, "needs a cc");
	if (cc < 0 && json_is_string(jcc))
		return sim_fail(err, errlen, "unknown command class '%s'",
				json_string_value(jcc));
	if (cc < 0)
		return sim_fail(err, errlen, "cc must be a command class name");
	if (sim_int(j, "endpoint", 0, SIM_ENDPOINT_MAX, &ep, err, errlen) < 0 ||
	    sim_str(j, "property", ZW_PROPERTY_MAX - 1, &prop, err, errlen) < 0)
		return -EINVAL;
	if (!prop)
		return sim_fail(err, errlen, "needs a property");
	if (!value_property_valid(prop))
		return sim_fail(err, errlen, "bad property '%s'", prop);
	memset(key, 0, sizeof(*key));
	key->node = node;
	key->cc = (uint8_t)cc;
	key->endpoint = (uint8_t)ep;
	snprintf(key->property, sizeof(key->property), "%s", prop);
	return 0;
}

static int sim_type_apply(struct sim_value *v, const json_t *j, bool is_new,
			  char *err, size_t errlen)
{
	const char *name = NULL;
	int t;

	if (sim_str(j, "type", 16, &name, err, errlen) < 0)
		return -EINVAL;
	if (!name)
		return is_new ? sim_fail(err, errlen, "needs a type") : 0;
	for (t = VALUE_BOOL; t <= VALUE_BUTTON; t++)
		if (strcmp(name, value_type_name((enum value_type)t)) == 0)
			break;
	if (t > VALUE_BUTTON)
		return sim_fail(err, errlen,
				"bad type '%s' (known: bool, int, float, "
				"string, enum, button)",
				name);
	if (!is_new && (enum value_type)t != v->meta.type)
		return sim_fail(err, errlen,
				"type of a template value is %s, not %s",
				value_type_name(v->meta.type), name);
	v->meta.type = (enum value_type)t;
	v->val.type = v->meta.type;
	if (is_new && (enum value_type)t == VALUE_BUTTON) {
		v->meta.readable = false;
		v->meta.writable = true;
	}
	return 0;
}

static int sim_range_apply(struct value_meta *m, const json_t *j, char *err,
			   size_t errlen)
{
	const json_t *jmin = json_object_get(j, "min");
	const json_t *jmax = json_object_get(j, "max");
	const json_t *jprec = json_object_get(j, "precision");
	json_int_t prec = 0;

	if ((jmin || jmax) && m->type != VALUE_INT && m->type != VALUE_FLOAT)
		return sim_fail(err, errlen,
				"min and max need an int or float");
	if (jprec && m->type != VALUE_FLOAT)
		return sim_fail(err, errlen, "precision needs a float");
	if ((jmin && !json_is_number(jmin)) || (jmax && !json_is_number(jmax)))
		return sim_fail(err, errlen, "min and max must be numbers");
	if ((jmin || jmax) && m->min > m->max && !(jmin && jmax))
		return sim_fail(err, errlen, "give both min and max");
	if (jmin)
		m->min = json_number_value(jmin);
	if (jmax)
		m->max = json_number_value(jmax);
	if ((jmin || jmax) && !(m->min <= m->max))
		return sim_fail(err, errlen, "min %g is above max %g", m->min,
				m->max);
	if (sim_int(j, "precision", 0, SIM_PRECISION_MAX, &prec, err, errlen) <
	    0)
		return -EINVAL;
	if (jprec)
		m->precision = (uint8_t)prec;
	return 0;
}

/*
 * The items are checked before the value's array is replaced, and the
 * array is exactly as long as the list: the value owns it, and
 * sim_node_free releases it.
 */
static int sim_items_apply(struct value_meta *m, const json_t *j, bool is_new,
			   char *err, size_t errlen)
{
	const json_t *items = json_object_get(j, "items");
	size_t i, k;

	if (!items)
		return is_new && m->type == VALUE_ENUM
			   ? sim_fail(err, errlen, "an enum needs items")
			   : 0;
	if (m->type != VALUE_ENUM)
		return sim_fail(err, errlen, "items need an enum");
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > ZW_ENUM_MAX)
		return sim_fail(err, errlen,
				"items must be an array of 1 to %d "
				"strings",
				ZW_ENUM_MAX);
	for (i = 0; i < json_array_size(items); i++) {
		const json_t *it = json_array_get(items, i);
		const char *s = json_string_value(it);

		if (!s || !*s || json_string_length(it) >= ZW_ENUM_ITEM_MAX ||
		    !value_text_valid(s, json_string_length(it)))
			return sim_fail(err, errlen,
					"items[%zu] must be a "
					"string of 1 to %d bytes",
					i, ZW_ENUM_ITEM_MAX - 1);
		for (k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(items, k)),
				   s) == 0)
				return sim_fail(err, errlen,
						"item '%s' is listed twice", s);
	}
	if (value_meta_alloc_items(m, i) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < m->nitems; i++)
		snprintf(m->items[i], sizeof(m->items[i]), "%s",
			 json_string_value(json_array_get(items, i)));
	return 0;
}

static int sim_initial_apply(struct sim_value *v, const json_t *j, char *err,
			     size_t errlen)
{
	const json_t *jv = json_object_get(j, "value");
	char why[SIM_ERR_MAX];
	struct value val;

	if (jv && v->meta.type == VALUE_BUTTON)
		return sim_fail(err, errlen, "a button has no value");
	if (json_is_null(jv)) {
		value_clear(&v->val);
		v->val.type = v->meta.type;
		v->has_val = false;
	} else if (jv) {
		why[0] = '\0';
		if (value_from_json(jv, &v->meta, &val, why, sizeof(why)) < 0)
			return sim_fail(err, errlen, "value: %s", why);
		value_clear(&v->val);
		v->val = val;
		v->has_val = true;
	}
	/* Also catches a template's initial value outside a changed range. */
	if (v->has_val && !sim_val_ok(&v->meta, &v->val))
		return sim_fail(err, errlen, "value out of range");
	return 0;
}

static const char *const sim_value_keys[] = {
	"cc",	    "endpoint", "property", "type",	 "unit",
	"label",    "min",	"max",	    "precision", "readable",
	"writable", "items",	"value",    "comment",	 NULL,
};

static int sim_value_apply(struct sim_value *v, const json_t *j, bool is_new,
			   char *err, size_t errlen)
{
	struct value_meta *m = &v->meta;
	const char *unit = NULL, *label = NULL;

	if (sim_type_apply(v, j, is_new, err, errlen) < 0 ||
	    sim_str(j, "unit", ZW_UNIT_MAX - 1, &unit, err, errlen) < 0 ||
	    sim_str(j, "label", ZW_LABEL_MAX - 1, &label, err, errlen) < 0 ||
	    sim_range_apply(m, j, err, errlen) < 0 ||
	    sim_bool(j, "readable", &m->readable, err, errlen) < 0 ||
	    sim_bool(j, "writable", &m->writable, err, errlen) < 0 ||
	    sim_items_apply(m, j, is_new, err, errlen) < 0)
		return -EINVAL;
	if (unit)
		snprintf(m->unit, sizeof(m->unit), "%s", unit);
	if (label)
		snprintf(m->label, sizeof(m->label), "%s", label);
	if (m->type == VALUE_BUTTON && m->readable)
		return sim_fail(err, errlen, "a button cannot be readable");
	return sim_initial_apply(v, j, err, errlen);
}

/* The i-th entry of a node's "values": an override or a new value. */
static int sim_value_parse(struct sim_node *n, const json_t *j, size_t i,
			   char *err, size_t errlen)
{
	char path[SIM_PATH_MAX];
	struct sim_value *v;
	struct value_key key;
	bool is_new;

	if (!json_is_object(j) ||
	    sim_check_keys(j, sim_value_keys, err, errlen) < 0 ||
	    sim_key_parse(j, n->id, &key, err, errlen) < 0) {
		if (!json_is_object(j))
			sim_fail(err, errlen, "not an object");
		sim_prefix(err, errlen, "values[%zu]: ", i);
		return -EINVAL;
	}
	value_key_path(&key, path, sizeof(path));
	v = sim_value_lookup(n, key.cc, key.endpoint, key.property);
	is_new = !v;
	if (v && v->listed)
		sim_fail(err, errlen, "listed twice");
	else if (is_new && n->nvalues >= SIM_VALUES_MAX)
		sim_fail(err, errlen, "more than %d values", SIM_VALUES_MAX);
	else if (is_new) {
		v = &n->values[n->nvalues++];
		memset(v, 0, sizeof(*v));
		v->meta.key = key;
		v->meta.min = 1; /* no range */
		v->meta.readable = true;
	}
	if (v && !v->listed) {
		v->listed = true;
		if (sim_value_apply(v, j, is_new, err, errlen) == 0)
			return 0;
	}
	sim_prefix(err, errlen, "values[%zu] (%s): ", i, path);
	return -EINVAL;
}

/*
 * Why a node name would be refused, or NULL: the registry's rules, so
 * that a name from the file is one a user could give (sim_str has checked
 * for control characters).
 */
static const char *sim_name_problem(const char *s)
{
	size_t digits = 0, len = strlen(s);

	if (len == 0)
		return "is empty";
	for (const char *p = s; *p; p++) {
		if (*p == '/' || *p == '+' || *p == '#')
			return "has '/', '+' or '#'";
		if (*p >= '0' && *p <= '9')
			digits++;
	}
	return digits == len ? "is all digits" : NULL;
}

static int sim_node_device(struct sim_node *n, const json_t *j, char *err,
			   size_t errlen)
{
	char known[SIM_ERR_MAX] = "";
	const char *dev = NULL;

	if (sim_str(j, "device", SIM_TEXT_MAX, &dev, err, errlen) < 0)
		return -EINVAL;
	if (!dev)
		return 0;
	for (size_t i = 0; i < SIM_NTEMPLATES; i++) {
		if (strcmp(sim_templates[i].name, dev) == 0) {
			n->tmpl = &sim_templates[i];
			return 0;
		}
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
			 "%s%s", i ? ", " : "", sim_templates[i].name);
	}
	return sim_fail(err, errlen, "unknown device '%s' (known: %s)", dev,
			known);
}

static int sim_dup(char **dst, const char *src, char *err, size_t errlen)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	if (*dst)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int sim_node_strings(struct sim_node *n, const json_t *j, char *err,
			    size_t errlen)
{
	const char *name = NULL, *loc = NULL, *man = NULL, *prod = NULL;
	const char *problem;

	if (sim_str(j, "name", SIM_TEXT_MAX, &name, err, errlen) < 0 ||
	    sim_str(j, "location", SIM_TEXT_MAX, &loc, err, errlen) < 0 ||
	    sim_str(j, "manufacturer", SIM_TEXT_MAX, &man, err, errlen) < 0 ||
	    sim_str(j, "product", SIM_TEXT_MAX, &prod, err, errlen) < 0)
		return -EINVAL;
	if (name && (problem = sim_name_problem(name)))
		return sim_fail(err, errlen, "name '%s' %s", name, problem);
	if (!man && n->tmpl)
		man = SIM_MANUFACTURER;
	if (!prod && n->tmpl)
		prod = n->tmpl->product;
	if (sim_dup(&n->name, name, err, errlen) < 0 ||
	    sim_dup(&n->location, loc, err, errlen) < 0 ||
	    sim_dup(&n->manufacturer, man, err, errlen) < 0 ||
	    sim_dup(&n->product, prod, err, errlen) < 0)
		return -ENOMEM;
	return 0;
}

/* The template's values first, then the file's: overrides or additions. */
static int sim_node_values(struct sim_node *n, const json_t *j, char *err,
			   size_t errlen)
{
	const json_t *jv = json_object_get(j, "values");
	size_t nt = 0, nj = jv ? json_array_size(jv) : 0;

	if (jv && !json_is_array(jv))
		return sim_fail(err, errlen, "values must be an array");
	if (nj > SIM_VALUES_MAX)
		return sim_fail(err, errlen, "more than %d values",
				SIM_VALUES_MAX);
	while (n->tmpl && n->tmpl->values[nt])
		nt++;
	/* One slot at least, so that calloc's NULL always means no memory. */
	n->values = calloc(nt + nj ? nt + nj : 1, sizeof(*n->values));
	if (!n->values) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (n->nvalues = 0; n->nvalues < nt; n->nvalues++)
		sim_tvalue_fill(&n->values[n->nvalues], n->id,
				n->tmpl->values[n->nvalues]);
	for (size_t i = 0; i < nj; i++)
		if (sim_value_parse(n, json_array_get(jv, i), i, err, errlen))
			return -EINVAL;
	return 0;
}

static const char *const sim_node_keys[] = {
	"id",	  "name", "location", "manufacturer", "product",
	"device", "dead", "values",   "comment",      NULL,
};

/* A node of the file or of an "add" request; where names it in errors. */
int sim_node_parse(const json_t *j, const char *where, struct sim_node **ret,
		   char *err, size_t errlen)
{
	const json_t *jid = json_object_get(j, "id");
	struct sim_node *n;
	int r;

	if (!json_is_object(j))
		return sim_fail(err, errlen, "%s: not an object", where);
	if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
	    !zw_node_valid((unsigned long)json_integer_value(jid)))
		return sim_fail(err, errlen,
				"%s: needs an id " ZW_NODE_RANGE_TXT
				" (256 and up: Long Range)",
				where);
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->id = (uint16_t)json_integer_value(jid);
	r = sim_check_keys(j, sim_node_keys, err, errlen);
	if (r == 0)
		r = sim_node_device(n, j, err, errlen);
	if (r == 0)
		r = sim_node_strings(n, j, err, errlen);
	if (r == 0)
		r = sim_bool(j, "dead", &n->dead, err, errlen);
	if (r == 0)
		r = sim_node_values(n, j, err, errlen);
	if (r < 0) {
		sim_prefix(err, errlen, "node %u: ", n->id);
		sim_node_free(n);
		return r;
	}
	*ret = n;
	return 0;
}

/* May n join net?  Ids are unique, and so are names, ignoring case. */
int sim_net_check(const struct sim_net *net, const struct sim_node *n,
		  char *err, size_t errlen)
{
	if (net->nodes[n->id]) {
		snprintf(err, errlen, "node %u: duplicate id", n->id);
		return -EEXIST;
	}
	for (unsigned id = ZW_NODE_MIN; n->name && id <= ZW_NODE_MAX; id++) {
		const struct sim_node *o = net->nodes[id];

		if (o && o->name && strcasecmp(o->name, n->name) == 0) {
			snprintf(err, errlen,
				 "node %u: name '%s' is already used by node "
				 "%u",
				 n->id, n->name, id);
			return -EEXIST;
		}
	}
	return 0;
}

void sim_net_clear(struct sim_net *net)
{
	for (unsigned id = 0; id <= ZW_NODE_MAX; id++)
		net->nodes[id] = sim_node_free(net->nodes[id]);
	free(net->controller);
	net->controller = NULL;
}

static int sim_net_nodes(struct sim_net *net, const json_t *nodes, char *err,
			 size_t errlen)
{
	char where[32];
	struct sim_node *n;
	int r;

	if (nodes && !json_is_array(nodes))
		return sim_fail(err, errlen, "nodes must be an array");
	if (json_array_size(nodes) > ZW_NODE_MAX)
		return sim_fail(err, errlen, "more than %d nodes", ZW_NODE_MAX);
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		snprintf(where, sizeof(where), "nodes[%zu]", i);
		r = sim_node_parse(json_array_get(nodes, i), where, &n, err,
				   errlen);
		if (r < 0)
			return r;
		r = sim_net_check(net, n, err, errlen);
		if (r < 0) {
			sim_node_free(n);
			return -EINVAL;
		}
		net->nodes[n->id] = n;
	}
	return 0;
}

static const char *const sim_net_keys[] = {
	"controller", "report-delay-ms", "nodes", "comment", NULL,
};

/* Fills net, which the caller clears even on failure. */
int sim_net_parse(const json_t *root, struct sim_net *net, char *err,
		  size_t errlen)
{
	const char *ctl = NULL;
	json_int_t delay = SIM_DELAY_DEFAULT_MS;

	if (!json_is_object(root))
		return sim_fail(err, errlen, "not a JSON object");
	if (sim_check_keys(root, sim_net_keys, err, errlen) < 0 ||
	    sim_str(root, "controller", SIM_TEXT_MAX, &ctl, err, errlen) < 0 ||
	    sim_int(root, "report-delay-ms", 0, SIM_DELAY_MAX_MS, &delay, err,
		    errlen) < 0)
		return -EINVAL;
	if (ctl && !*ctl)
		return sim_fail(err, errlen, "controller is empty");
	if (sim_dup(&net->controller, ctl ? ctl : SIM_DEFAULT_CONTROLLER, err,
		    errlen) < 0)
		return -ENOMEM;
	net->delay_ms = (uint64_t)delay;
	return sim_net_nodes(net, json_object_get(root, "nodes"), err, errlen);
}
