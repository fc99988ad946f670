/* SPDX-License-Identifier: MIT */
/*
 * zw_sim.c: the "sim" backend, a deterministic simulated Z-Wave network
 * described by a JSON file (zwave { sim-network FILE }).
 *
 * The file (etc/sim-network.json is the demo):
 *
 *   { "controller": "name",            default "Simulated controller"
 *     "report-delay-ms": 50,           0..60000, default 50
 *     "nodes": [ NODE, ... ] }         at most 232
 *   NODE: { "id": 2,                   1..232, unique
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
 *
 * Events start on the first loop iteration after open; writes, refreshes
 * and heals are answered report-delay-ms later, in the order asked, from
 * one queue and one timer.  inject() plays the devices' side at once,
 * except for the benchmark's streams (op "stream", see sim_stream_send),
 * which run from the loop until they are done.
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
#include "zw.h"

#define SIM_FILE_MAX	     (1024 * 1024) /* bytes of the network file */
#define SIM_VALUES_MAX	     256	   /* values of one node */
#define SIM_PENDING_MAX	     1024	   /* reports waiting for their delay */
#define SIM_DELAY_MAX_MS     60000
#define SIM_DELAY_DEFAULT_MS 50
#define SIM_TEXT_MAX	     64 /* bytes of a name, location, ... */
#define SIM_PRECISION_MAX    6
#define SIM_ENDPOINT_MAX     127
#define SIM_ERR_MAX	     256
#define SIM_PATH_MAX	     128 /* "thermostat_setpoint/0/heating" and longer */
#define SIM_STREAM_COUNT_MAX 10000000 /* reports of one stream */
#define SIM_STREAM_RATE_MAX  1000000  /* reports per second; 0: flat out */
#define SIM_STREAM_BATCH     64	      /* reports per loop turn, at most */
#define SIM_STREAM_TICK_MS   1
/* Ages of stamps written back: exact below SIM_HIST_EXACT us, then 32
 * buckets per power of two (3 % wide); from 2^SIM_HIST_TOP_BIT us (12
 * days) on, clamped. */
#define SIM_HIST_EXACT	  64
#define SIM_HIST_SUB_BITS 5
#define SIM_HIST_TOP_BIT  40
#define SIM_HIST_BUCKETS \
	(SIM_HIST_EXACT + (SIM_HIST_TOP_BIT - 6) * (1 << SIM_HIST_SUB_BITS))

#define SIM_DEFAULT_CONTROLLER "Simulated controller"
#define SIM_MANUFACTURER       "zwgate sim"

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

#define TV(x)			(&sim_tvalues[TV_##x])
#define SIM_TEMPLATE_VALUES_MAX 4

struct sim_template {
	const char *name, *product;
	/* Switching off also reports meter power 0 (see sim_power_follows). */
	bool power_follows_switch;
	const struct sim_tvalue *values[SIM_TEMPLATE_VALUES_MAX + 1];
};

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

struct sim_value {
	struct value_meta meta;
	struct value val; /* owned; meaningful when has_val */
	bool has_val;
	bool listed; /* named in the file's "values" (while parsing) */
};

struct sim_node {
	uint8_t id;
	bool dead;
	bool removed;	 /* out of the network, freed when no call is running */
	uint64_t serial; /* tells a re-added node from the one removed */
	char *name, *location, *manufacturer, *product;
	const struct sim_template *tmpl; /* NULL: described value by value */
	size_t nvalues;
	struct sim_value *values;
	struct sim_node *next_zombie;
};

enum sim_report_kind {
	SIM_REP_VALUE,	 /* key takes val */
	SIM_REP_BUTTON,	 /* key was pressed */
	SIM_REP_REFRESH, /* key.node reports everything */
	SIM_REP_HEAL,
};

struct sim_report {
	enum sim_report_kind kind;
	uint64_t due, serial;
	struct value_key key;
	struct value val; /* owned */
};

struct sim_net {
	char *controller;
	uint64_t delay_ms;
	struct sim_node *nodes[ZW_NODE_MAX + 1];
};

/* A benchmark's stream of stamped reports (op "stream"). */
struct sim_stream {
	bool running, event;
	uint8_t node;
	uint64_t serial;
	struct value_key key; /* a value stream: the value */
	size_t kind;	      /* an event stream: in sim_event_kinds */
	uint64_t count, sent, rate;
	uint64_t t0_us, t_end_us; /* CLOCK_MONOTONIC: start, last report */
	int64_t first_stamp, last_stamp;
	char stopped[SIM_ERR_MAX]; /* why it ended early, or "" */
};

/* Ages of the stamps written to any node since the stream started. */
struct sim_hist {
	uint64_t n, sum, max;
	uint64_t b[SIM_HIST_BUCKETS];
};

struct zw_sim {
	struct zw base;
	uv_loop_t *loop;
	zw_event_fn cb;
	void *ctx;
	struct sim_net net;
	uint64_t serial;
	uv_timer_t start, timer;
	int handles;
	bool started, closing;
	unsigned depth; /* our calls on the stack, callbacks may nest */
	struct sim_node *zombies;
	struct sim_report *queue; /* ring: qlen from qhead, qcap slots */
	size_t qhead, qlen, qcap;
	struct sim_stream stream;
	struct sim_hist *hist; /* from the first stream on */
	uv_timer_t stream_tick;
	uv_idle_t stream_send;
};

__attribute__((format(printf, 3, 4))) static int
sim_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Put "node 3: " before a message a callee wrote. */
__attribute__((format(printf, 3, 4))) static void
sim_prefix(char *err, size_t errlen, const char *fmt, ...)
{
	char pre[SIM_ERR_MAX], tmp[2 * SIM_ERR_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), "%s%s", pre, err);
	snprintf(err, errlen, "%s", tmp);
}

static int sim_check_keys(const json_t *obj, const char *const *keys, char *err,
			  size_t errlen)
{
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *k = json_object_iter_key(it);
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i])
			return sim_fail(err, errlen, "unknown field '%s'", k);
	}
	return 0;
}

/* An optional string of at most max bytes; *ret stays NULL if absent. */
static int sim_str(const json_t *obj, const char *key, size_t max,
		   const char **ret, char *err, size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_string(j))
		return sim_fail(err, errlen, "%s must be a string", key);
	if (json_string_length(j) > max)
		return sim_fail(err, errlen, "%s is longer than %zu bytes", key,
				max);
	if (!value_text_valid(json_string_value(j), json_string_length(j)))
		return sim_fail(err, errlen, "%s has a control character", key);
	*ret = json_string_value(j);
	return 0;
}

static int sim_bool(const json_t *obj, const char *key, bool *val, char *err,
		    size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return sim_fail(err, errlen, "%s must be true or false", key);
	*val = json_is_true(j);
	return 0;
}

static int sim_int(const json_t *obj, const char *key, json_int_t min,
		   json_int_t max, json_int_t *val, char *err, size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max)
		return sim_fail(err, errlen,
				"%s must be an integer from %lld to %lld", key,
				(long long)min, (long long)max);
	*val = json_integer_value(j);
	return 0;
}

static struct sim_node *sim_node_free(struct sim_node *n)
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

static struct sim_value *sim_value_lookup(struct sim_node *n, uint8_t cc,
					  uint8_t endpoint,
					  const char *property)
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
static bool sim_val_ok(const struct value_meta *meta, const struct value *val)
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

static void sim_tvalue_fill(struct sim_value *v, uint8_t node,
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

static int sim_key_parse(const json_t *j, uint8_t node, struct value_key *key,
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
static int sim_node_parse(const json_t *j, const char *where,
			  struct sim_node **ret, char *err, size_t errlen)
{
	const json_t *jid = json_object_get(j, "id");
	struct sim_node *n;
	int r;

	if (!json_is_object(j))
		return sim_fail(err, errlen, "%s: not an object", where);
	if (!json_is_integer(jid) || json_integer_value(jid) < ZW_NODE_MIN ||
	    json_integer_value(jid) > ZW_NODE_MAX)
		return sim_fail(err, errlen, "%s: needs an id from %d to %d",
				where, ZW_NODE_MIN, ZW_NODE_MAX);
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->id = (uint8_t)json_integer_value(jid);
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
static int sim_net_check(const struct sim_net *net, const struct sim_node *n,
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

static void sim_net_clear(struct sim_net *net)
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
static int sim_net_parse(const json_t *root, struct sim_net *net, char *err,
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

static int sim_errno(int r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", strerror(-r));
	return r;
}

/*
 * The whole file, at most SIM_FILE_MAX bytes.  Reading to the end, not
 * trusting st_size, keeps the limit true for a file that grows meanwhile.
 */
static int sim_slurp(int fd, char **ret, size_t *retlen, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf, *nbuf;
	ssize_t k;

	if (fstat(fd, &st) < 0)
		return sim_errno(-errno, err, errlen);
	if (!S_ISREG(st.st_mode))
		return sim_fail(err, errlen, "not a regular file");
	if (st.st_size > SIM_FILE_MAX)
		return sim_fail(err, errlen, "larger than %d bytes",
				SIM_FILE_MAX);
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	while (buf) {
		if (len == cap && cap > SIM_FILE_MAX) {
			free(buf);
			return sim_fail(err, errlen, "larger than %d bytes",
					SIM_FILE_MAX);
		}
		if (len == cap) {
			cap =
			    cap * 2 > SIM_FILE_MAX ? SIM_FILE_MAX + 1 : cap * 2;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				break;
			buf = nbuf;
		}
		k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return sim_errno(-errno, err, errlen);
		}
		if (k == 0) {
			*ret = buf;
			*retlen = len;
			return 0;
		}
		len += (size_t)k;
	}
	free(buf);
	return sim_errno(-ENOMEM, err, errlen);
}

static int sim_read(const char *path, json_t **ret, char *err, size_t errlen)
{
	json_error_t jerr;
	size_t len = 0;
	char *buf = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sim_errno(-errno, err, errlen);
	r = sim_slurp(fd, &buf, &len, err, errlen);
	close(fd);
	if (r < 0)
		return r;
	*ret = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!*ret)
		return sim_fail(err, errlen, "line %d column %d: %s", jerr.line,
				jerr.column, jerr.text);
	return 0;
}

static void sim_enter(struct zw_sim *z)
{
	z->depth++;
}

/*
 * Removed nodes are freed only once no call of ours is on the stack: an
 * event callback may remove the node whose values are being reported.
 */
static void sim_leave(struct zw_sim *z)
{
	if (--z->depth > 0)
		return;
	while (z->zombies) {
		struct sim_node *n = z->zombies;

		z->zombies = n->next_zombie;
		sim_node_free(n);
	}
}

static void sim_emit(struct zw_sim *z, const struct zw_event *ev)
{
	if (!z->closing)
		z->cb(z->ctx, ev);
}

static void sim_emit_value(struct zw_sim *z, enum zw_event_type type,
			   const struct sim_value *v)
{
	struct zw_event ev = { .type = type, .node = v->meta.key.node };

	ev.u.value.meta = &v->meta;
	ev.u.value.val = v->has_val ? &v->val : NULL;
	sim_emit(z, &ev);
}

static void sim_emit_status(struct zw_sim *z, const struct sim_node *n)
{
	struct zw_event ev = { .type = ZW_EV_NODE_STATUS, .node = n->id };

	ev.u.status = n->dead ? ZW_NODE_DEAD : ZW_NODE_ALIVE;
	sim_emit(z, &ev);
}

static void sim_emit_message(struct zw_sim *z, enum zw_event_type type,
			     const char *msg)
{
	struct zw_event ev = { .type = type };

	ev.u.message = msg;
	sim_emit(z, &ev);
}

/* NODE_ADDED, its VALUE_ADDEDs in file order, then its status. */
static void sim_announce(struct zw_sim *z, struct sim_node *n)
{
	struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = n->id };

	ev.u.node.name = n->name;
	ev.u.node.location = n->location;
	ev.u.node.manufacturer = n->manufacturer;
	ev.u.node.product = n->product;
	ev.u.node.status = n->dead ? ZW_NODE_DEAD : ZW_NODE_ALIVE;
	sim_emit(z, &ev);
	for (size_t i = 0; i < n->nvalues && !n->removed; i++)
		sim_emit_value(z, ZW_EV_VALUE_ADDED, &n->values[i]);
	if (!n->removed)
		sim_emit_status(z, n);
}

static void sim_start_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;

	sim_enter(z);
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX && !z->closing; id++)
		if (z->net.nodes[id])
			sim_announce(z, z->net.nodes[id]);
	sim_emit_message(z, ZW_EV_READY, z->net.controller);
	sim_emit_message(z, ZW_EV_ALL_QUERIED, NULL);
	z->started = true;
	sim_leave(z);
}

/* Everything readable that has a value, as a refresh answers. */
static void sim_report_all(struct zw_sim *z, struct sim_node *n)
{
	for (size_t i = 0; i < n->nvalues && !n->removed; i++) {
		const struct sim_value *v = &n->values[i];

		if (v->meta.readable && v->has_val)
			sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
	}
}

/*
 * A metering plug switched off draws nothing, and real plugs say so at
 * once: report power 0 after the switch, so that rules on power see it.
 * Switching on leaves power alone (the load decides; inject it).
 */
static void sim_power_follows(struct zw_sim *z, struct sim_node *n,
			      const struct sim_value *sw)
{
	struct sim_value *p;

	if (!n->tmpl || !n->tmpl->power_follows_switch || n->removed ||
	    sw->meta.key.cc != CC_SWITCH_BINARY || sw->meta.key.endpoint != 0 ||
	    sw->val.u.b)
		return;
	p = sim_value_lookup(n, CC_METER, 0, "power");
	if (!p || p->meta.type != VALUE_FLOAT)
		return;
	p->val.u.f = 0;
	p->has_val = true;
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, p);
}

static void sim_deliver(struct zw_sim *z, struct sim_report *rep)
{
	struct sim_node *n = z->net.nodes[rep->key.node];
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION };
	struct sim_value *v;

	if (rep->kind == SIM_REP_HEAL) {
		sim_emit_message(z, ZW_EV_CONTROLLER, "heal done");
		return;
	}
	/* A node that died or left meanwhile answers nothing. */
	if (!n || n->serial != rep->serial || n->dead)
		return;
	if (rep->kind == SIM_REP_REFRESH) {
		sim_report_all(z, n);
		return;
	}
	v = sim_value_lookup(n, rep->key.cc, rep->key.endpoint,
			     rep->key.property);
	if (!v)
		return;
	if (rep->kind == SIM_REP_BUTTON) {
		ev.node = n->id;
		ev.u.notification.cc = v->meta.key.cc;
		ev.u.notification.endpoint = v->meta.key.endpoint;
		ev.u.notification.kind = "button";
		ev.u.notification.code = 0;
		ev.u.notification.text = v->meta.key.property;
		sim_emit(z, &ev);
		return;
	}
	value_clear(&v->val);
	v->val = rep->val;
	v->has_val = true;
	memset(&rep->val, 0, sizeof(rep->val));
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
	sim_power_follows(z, n, v);
}

static void sim_timer_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;
	uint64_t now = uv_now(z->loop);
	struct sim_report rep;

	sim_enter(z);
	while (z->qlen > 0 && !z->closing) {
		if (z->queue[z->qhead].due > now)
			break;
		rep = z->queue[z->qhead];
		z->qhead = (z->qhead + 1) % z->qcap;
		z->qlen--;
		sim_deliver(z, &rep);
		value_clear(&rep.val);
	}
	if (z->qlen > 0 && !z->closing)
		uv_timer_start(t, sim_timer_cb, z->queue[z->qhead].due - now,
			       0);
	sim_leave(z);
}

static int sim_queue_grow(struct zw_sim *z)
{
	size_t cap = z->qcap ? 2 * z->qcap : 16;
	struct sim_report *q;

	if (cap > SIM_PENDING_MAX)
		cap = SIM_PENDING_MAX;
	q = calloc(cap, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < z->qlen; i++)
		q[i] = z->queue[(z->qhead + i) % z->qcap];
	free(z->queue);
	z->queue = q;
	z->qcap = cap;
	z->qhead = 0;
	return 0;
}

/*
 * Queue rep (taking its value) for report-delay-ms from now.  The delay
 * is the same for all, so the queue stays in due order and one timer,
 * set for the head, serves it.
 */
static int sim_queue_push(struct zw_sim *z, const struct sim_report *rep)
{
	struct sim_report *slot;

	if (z->qlen >= SIM_PENDING_MAX)
		return -EBUSY;
	if (z->qlen == z->qcap && sim_queue_grow(z) < 0)
		return -ENOMEM;
	slot = &z->queue[(z->qhead + z->qlen) % z->qcap];
	*slot = *rep;
	slot->due = uv_now(z->loop) + z->net.delay_ms;
	if (z->qlen++ == 0)
		uv_timer_start(&z->timer, sim_timer_cb, z->net.delay_ms, 0);
	return 0;
}

static struct sim_node *sim_node(struct zw_sim *z, unsigned id)
{
	return id >= ZW_NODE_MIN && id <= ZW_NODE_MAX ? z->net.nodes[id] : NULL;
}

static uint64_t sim_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static size_t sim_hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < SIM_HIST_EXACT)
		return (size_t)us;
	if (us >= (uint64_t)1 << SIM_HIST_TOP_BIT)
		us = ((uint64_t)1 << SIM_HIST_TOP_BIT) - 1;
	e = 63u - (unsigned)__builtin_clzll(us);
	return SIM_HIST_EXACT + (e - 6) * (1u << SIM_HIST_SUB_BITS) +
	       ((us >> (e - SIM_HIST_SUB_BITS)) &
		((1u << SIM_HIST_SUB_BITS) - 1));
}

/* The middle of bucket i, in us (the value itself while exact). */
static uint64_t sim_hist_mid(size_t i)
{
	size_t k = i - SIM_HIST_EXACT;
	unsigned e = 6 + (unsigned)(k >> SIM_HIST_SUB_BITS);
	uint64_t sub = k & ((1u << SIM_HIST_SUB_BITS) - 1);

	if (i < SIM_HIST_EXACT)
		return i;
	return (((uint64_t)1 << SIM_HIST_SUB_BITS) + sub)
		   << (e - SIM_HIST_SUB_BITS) |
	       (uint64_t)1 << (e - SIM_HIST_SUB_BITS - 1);
}

/* The age below which a share q (0..1] of the samples lie. */
static uint64_t sim_hist_quantile(const struct sim_hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;

	for (size_t i = 0; i < SIM_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want && seen > 0)
			return sim_hist_mid(i) < h->max ? sim_hist_mid(i)
							: h->max;
	}
	return h->max;
}

/*
 * A write of an int that lies between the stream's first stamp and now
 * is a stamp coming back (a rule copied it, see zwgate.rules(5) $value):
 * its age is what the gateway took from the report to the command.
 */
static void sim_note_write(struct zw_sim *z, const struct value *val)
{
	struct sim_hist *h = z->hist;
	uint64_t now, age;

	if (!h || !val || val->type != VALUE_INT || !z->stream.first_stamp ||
	    val->u.i < z->stream.first_stamp)
		return;
	now = sim_clock_us(CLOCK_REALTIME);
	if ((uint64_t)val->u.i > now)
		return;
	age = now - (uint64_t)val->u.i;
	h->b[sim_hist_bucket(age)]++;
	h->n++;
	h->sum += age;
	if (age > h->max)
		h->max = age;
}

/*
 * Checks go from the request's own faults (no such value, read-only,
 * wrong type) to the network's (node dead, queue full).
 */
static int sim_set_value(struct zw *zb, const struct value_key *key,
			 const struct value *val)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_VALUE };
	struct sim_node *n = sim_node(z, key->node);
	struct sim_value *v;
	int r;

	if (z->closing)
		return -ECANCELED;
	if (!n)
		return -ENOENT;
	v = sim_value_lookup(n, key->cc, key->endpoint, key->property);
	if (!v)
		return -ENOENT;
	if (!v->meta.writable)
		return -EACCES;
	if (v->meta.type != VALUE_BUTTON && !sim_val_ok(&v->meta, val))
		return -EINVAL;
	if (n->dead)
		return -EHOSTDOWN;
	rep.key = v->meta.key;
	rep.serial = n->serial;
	if (v->meta.type == VALUE_BUTTON)
		rep.kind = SIM_REP_BUTTON;
	else if (value_copy(&rep.val, val) < 0)
		return -ENOMEM;
	r = sim_queue_push(z, &rep);
	if (r < 0)
		value_clear(&rep.val);
	else
		sim_note_write(z, val);
	return r;
}

static int sim_refresh(struct zw *zb, uint8_t node)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_REFRESH };
	struct sim_node *n = sim_node(z, node);

	if (z->closing)
		return -ECANCELED;
	if (!n)
		return -ENOENT;
	if (n->dead)
		return -EHOSTDOWN;
	rep.key.node = node;
	rep.serial = n->serial;
	return sim_queue_push(z, &rep);
}

static int sim_heal(struct zw *zb)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_HEAL };

	if (z->closing)
		return -ECANCELED;
	return sim_queue_push(z, &rep);
}

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
static int sim_find_node(struct zw_sim *z, const json_t *req,
			 struct sim_node **ret, char *err, size_t errlen)
{
	const json_t *j = json_object_get(req, "node");
	const char *s = json_string_value(j);
	json_int_t id = -1;

	if (json_is_integer(j))
		id = json_integer_value(j);
	else if (s && *s && strspn(s, "0123456789") == strlen(s))
		id = strlen(s) <= 3 ? atoi(s) : -1;
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
static int sim_find_value(struct sim_node *n, const char *spec,
			  struct sim_value **ret, char *err, size_t errlen)
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

static int sim_node_usable(const struct sim_node *n, char *err, size_t errlen)
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

static const struct {
	const char *kind;
	uint8_t cc;
} sim_event_kinds[] = {
	{ "scene", CC_SCENE_ACTIVATION },
	{ "button", CC_CENTRAL_SCENE },
	{ "notification", CC_NOTIFICATION },
};

#define SIM_NEVENT_KINDS (sizeof(sim_event_kinds) / sizeof(sim_event_kinds[0]))

/* The index of kind in sim_event_kinds, or SIM_NEVENT_KINDS. */
static size_t sim_event_kind(const char *kind)
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

/*
 * Benchmark streams.  Each report carries a stamp, CLOCK_REALTIME in us
 * (an int value, or an event's code), so that whoever receives it (an
 * MQTT subscriber, a write to a simulated node) knows its age without a
 * table of what was sent when.  Stamps strictly increase: every report
 * is a change.  Reports go out from an idle handle, at most
 * SIM_STREAM_BATCH per loop turn, so that the daemon's I/O runs between
 * batches; at a rate, a 1 ms timer starts it when reports are due.
 */
static void sim_stream_end(struct zw_sim *z, const char *why)
{
	struct sim_stream *s = &z->stream;

	s->running = false;
	s->t_end_us = sim_clock_us(CLOCK_MONOTONIC);
	snprintf(s->stopped, sizeof(s->stopped), "%s", why ? why : "");
	uv_idle_stop(&z->stream_send);
	uv_timer_stop(&z->stream_tick);
}

/* The stream's node, or NULL once it is gone or dead (the stream ends). */
static struct sim_node *sim_stream_node(struct zw_sim *z)
{
	struct sim_node *n = sim_node(z, z->stream.node);

	if (!n || n->removed || n->serial != z->stream.serial) {
		sim_stream_end(z, "the node was removed");
		return NULL;
	}
	if (n->dead) {
		sim_stream_end(z, "the node went dead");
		return NULL;
	}
	return n;
}

static void sim_stream_report(struct zw_sim *z, struct sim_node *n,
			      int64_t stamp)
{
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION, .node = n->id };
	struct sim_stream *s = &z->stream;
	struct sim_value *v;

	if (s->event) {
		ev.u.notification.cc = sim_event_kinds[s->kind].cc;
		ev.u.notification.kind = sim_event_kinds[s->kind].kind;
		ev.u.notification.code = stamp;
		sim_emit(z, &ev);
		return;
	}
	v = sim_value_lookup(n, s->key.cc, s->key.endpoint, s->key.property);
	if (!v) {
		sim_stream_end(z, "the value was removed");
		return;
	}
	v->val.u.i = stamp;
	v->has_val = true;
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
}

/* Up to n reports; the stream ends after its last. */
static void sim_stream_send(struct zw_sim *z, uint64_t n)
{
	struct sim_stream *s = &z->stream;
	struct sim_node *node;
	int64_t stamp;

	sim_enter(z);
	while (n-- > 0 && s->running && !z->closing &&
	       (node = sim_stream_node(z))) {
		stamp = (int64_t)sim_clock_us(CLOCK_REALTIME);
		if (stamp <= s->last_stamp)
			stamp = s->last_stamp + 1;
		if (!s->first_stamp)
			s->first_stamp = stamp;
		s->last_stamp = stamp;
		sim_stream_report(z, node, stamp);
		if (++s->sent == s->count && s->running)
			sim_stream_end(z, NULL);
	}
	sim_leave(z);
}

/* Reports due by now: all of them flat out, else rate * elapsed. */
static uint64_t sim_stream_due(const struct sim_stream *s)
{
	uint64_t el = sim_clock_us(CLOCK_MONOTONIC) - s->t0_us, due;

	if (!s->rate)
		return s->count;
	due = 1 + (uint64_t)((double)s->rate * (double)el / 1e6);
	return due < s->count ? due : s->count;
}

static void sim_stream_send_cb(uv_idle_t *h)
{
	struct zw_sim *z = h->data;
	uint64_t due = sim_stream_due(&z->stream);
	uint64_t n = due > z->stream.sent ? due - z->stream.sent : 0;

	if (n > SIM_STREAM_BATCH)
		n = SIM_STREAM_BATCH;
	sim_stream_send(z, n);
	/* Caught up with the rate: the tick starts it again. */
	if (z->stream.running && z->stream.sent >= due)
		uv_idle_stop(h);
}

static void sim_stream_tick_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;

	if (sim_stream_due(&z->stream) > z->stream.sent)
		uv_idle_start(&z->stream_send, sim_stream_send_cb);
}

/* What a stream reports: node, and a value that takes stamps or a kind. */
static int sim_stream_target(struct zw_sim *z, const json_t *req, bool event,
			     struct sim_stream *s, char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(req, "kind"));
	struct value stamp = { .type = VALUE_INT };
	struct sim_value *v = NULL;
	struct sim_node *n;
	char path[SIM_PATH_MAX];
	int r;

	r = sim_find_node(z, req, &n, err, errlen);
	if (r == 0)
		r = sim_node_usable(n, err, errlen);
	if (r == 0 && !event)
		r = sim_find_value(
		    n, json_string_value(json_object_get(req, "value")), &v,
		    err, errlen);
	if (r < 0)
		return r;
	s->node = n->id;
	s->serial = n->serial;
	s->event = event;
	if (event) {
		s->kind = sim_event_kind(kind);
		return s->kind < SIM_NEVENT_KINDS
			   ? 0
			   : sim_fail(err, errlen,
				      "kind must be scene, "
				      "button or notification");
	}
	value_key_path(&v->meta.key, path, sizeof(path));
	stamp.u.i = (int64_t)sim_clock_us(CLOCK_REALTIME);
	if (v->meta.type != VALUE_INT || !sim_val_ok(&v->meta, &stamp))
		return sim_fail(err, errlen,
				"node %u: %s cannot take stamps (an int "
				"without a range below %lld)",
				n->id, path, (long long)stamp.u.i);
	s->key = v->meta.key;
	return 0;
}

static int sim_stream_args(const json_t *req, struct sim_stream *s, char *err,
			   size_t errlen)
{
	json_int_t count = 0, rate = 0;

	if (!json_object_get(req, "count"))
		return sim_fail(err, errlen, "missing count");
	if (sim_int(req, "count", 1, SIM_STREAM_COUNT_MAX, &count, err,
		    errlen) < 0 ||
	    sim_int(req, "rate", 0, SIM_STREAM_RATE_MAX, &rate, err, errlen) <
		0)
		return -EINVAL;
	s->count = (uint64_t)count;
	s->rate = (uint64_t)rate;
	return 0;
}

static json_t *sim_stream_json(const struct sim_stream *s)
{
	char path[SIM_PATH_MAX];

	value_key_path(&s->key, path, sizeof(path));
	return json_pack(
	    "{s:i,s:s,s:I,s:I}", "node", s->node, s->event ? "kind" : "value",
	    s->event ? sim_event_kinds[s->kind].kind : path, "count",
	    (json_int_t)s->count, "rate", (json_int_t)s->rate);
}

/* "stream" and "stream-event": count reports at rate (0: flat out). */
static int sim_op_stream(struct zw_sim *z, const json_t *req, bool event,
			 json_t **ret, char *err, size_t errlen)
{
	struct sim_stream s = { .running = true };
	int r;

	if (z->stream.running) {
		snprintf(err, errlen, "a stream is running (%llu of %llu sent)",
			 (unsigned long long)z->stream.sent,
			 (unsigned long long)z->stream.count);
		return -EBUSY;
	}
	r = sim_stream_target(z, req, event, &s, err, errlen);
	if (r == 0)
		r = sim_stream_args(req, &s, err, errlen);
	if (r < 0)
		return r;
	if (!z->hist && !(z->hist = malloc(sizeof(*z->hist))))
		return sim_errno(-ENOMEM, err, errlen);
	*ret = sim_stream_json(&s);
	if (!*ret)
		return sim_errno(-ENOMEM, err, errlen);
	memset(z->hist, 0, sizeof(*z->hist));
	s.t0_us = sim_clock_us(CLOCK_MONOTONIC);
	z->stream = s;
	uv_idle_start(&z->stream_send, sim_stream_send_cb);
	if (s.rate)
		uv_timer_start(&z->stream_tick, sim_stream_tick_cb,
			       SIM_STREAM_TICK_MS, SIM_STREAM_TICK_MS);
	return 0;
}

/*
 * o[key] = v, taking v (also when it is NULL or the set fails); a failure
 * sets *r to -ENOMEM.  Skips the set once an earlier one failed (*r < 0),
 * so that a run of them needs one check at the end.
 */
static void sim_json_set(json_t *o, const char *key, json_t *v, int *r)
{
	if (*r < 0) {
		json_decref(v);
		return;
	}
	if (json_object_set_new(o, key, v) < 0)
		*r = -ENOMEM;
}

static int sim_stats_writes(const struct sim_hist *h, json_t *o)
{
	static const struct {
		const char *key;
		double q;
	} qs[] = {
		{ "write_p50_us", 0.5 },
		{ "write_p90_us", 0.9 },
		{ "write_p99_us", 0.99 },
		{ "write_p999_us", 0.999 },
	};
	int r = 0;

	sim_json_set(o, "writes", json_integer((json_int_t)h->n), &r);
	for (size_t i = 0; h->n && i < sizeof(qs) / sizeof(qs[0]); i++)
		sim_json_set(
		    o, qs[i].key,
		    json_integer((json_int_t)sim_hist_quantile(h, qs[i].q)),
		    &r);
	if (h->n) {
		sim_json_set(o, "write_max_us",
			     json_integer((json_int_t)h->max), &r);
		sim_json_set(o, "write_mean_us",
			     json_integer((json_int_t)(h->sum / h->n)), &r);
	}
	return r;
}

/* "stats": the last stream's progress, and the ages of stamps written. */
static int sim_op_stats(struct zw_sim *z, json_t **ret, char *err,
			size_t errlen)
{
	const struct sim_stream *s = &z->stream;
	uint64_t end = s->running ? sim_clock_us(CLOCK_MONOTONIC) : s->t_end_us;
	uint64_t el = s->count ? end - s->t0_us : 0;
	json_t *o = s->count ? sim_stream_json(s) : json_object();
	int r = o ? 0 : -ENOMEM;

	sim_json_set(o, "running", json_boolean(s->running), &r);
	sim_json_set(o, "sent", json_integer((json_int_t)s->sent), &r);
	sim_json_set(o, "elapsed_us", json_integer((json_int_t)el), &r);
	if (el)
		sim_json_set(o, "sent_per_s",
			     json_integer((json_int_t)((double)s->sent * 1e6 /
						       (double)el)),
			     &r);
	if (s->stopped[0])
		sim_json_set(o, "stopped", json_string(s->stopped), &r);
	if (r == 0 && z->hist)
		r = sim_stats_writes(z->hist, o);
	if (r < 0) {
		json_decref(o);
		return sim_errno(-ENOMEM, err, errlen);
	}
	*ret = o;
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
static int sim_inject(struct zw *zb, const json_t *req, json_t **ret, char *err,
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

static void sim_free(struct zw_sim *z)
{
	while (z->zombies) {
		struct sim_node *n = z->zombies;

		z->zombies = n->next_zombie;
		sim_node_free(n);
	}
	sim_net_clear(&z->net);
	for (size_t i = 0; i < z->qlen; i++)
		value_clear(&z->queue[(z->qhead + i) % z->qcap].val);
	free(z->queue);
	free(z->hist);
	free(z);
}

static void sim_close_cb(uv_handle_t *h)
{
	struct zw_sim *z = h->data;

	if (--z->handles == 0)
		sim_free(z);
}

static void sim_close(struct zw *zb)
{
	struct zw_sim *z = (struct zw_sim *)zb;

	if (z->closing)
		return;
	z->closing = true;
	uv_close((uv_handle_t *)&z->start, sim_close_cb);
	uv_close((uv_handle_t *)&z->timer, sim_close_cb);
	uv_close((uv_handle_t *)&z->stream_tick, sim_close_cb);
	uv_close((uv_handle_t *)&z->stream_send, sim_close_cb);
}

static int sim_open(uv_loop_t *loop, const struct zw_opts *opts, zw_event_fn cb,
		    void *ctx, struct zw **ret)
{
	const char *path = opts->sim_network;
	char err[SIM_ERR_MAX] = "";
	json_t *root = NULL;
	struct zw_sim *z;
	int r;

	if (!path) {
		log_error("zwave backend sim: no sim-network file configured");
		return -EINVAL;
	}
	r = sim_read(path, &root, err, sizeof(err));
	z = r < 0 ? NULL : calloc(1, sizeof(*z));
	if (r == 0 && !z)
		r = sim_errno(-ENOMEM, err, sizeof(err));
	if (r == 0)
		r = sim_net_parse(root, &z->net, err, sizeof(err));
	json_decref(root);
	if (r < 0) {
		if (z)
			sim_net_clear(&z->net);
		free(z);
		log_error("sim network %s: %s", path, err);
		return r;
	}
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++)
		if (z->net.nodes[id])
			z->net.nodes[id]->serial = ++z->serial;
	z->base.ops = &zw_sim_ops;
	z->loop = loop;
	z->cb = cb;
	z->ctx = ctx;
	/* The first events wait for the loop: our caller is not ready yet. */
	uv_timer_init(loop, &z->start);
	uv_timer_init(loop, &z->timer);
	uv_timer_init(loop, &z->stream_tick);
	uv_idle_init(loop, &z->stream_send);
	z->start.data = z->timer.data = z;
	z->stream_tick.data = z->stream_send.data = z;
	z->handles = 4;
	uv_timer_start(&z->start, sim_start_cb, 0, 0);
	*ret = &z->base;
	return 0;
}

const struct zw_ops zw_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.set_value = sim_set_value,
	.refresh = sim_refresh,
	/* No radio, nothing to include: the wrappers answer -ENOTSUP. */
	.include = NULL,
	.exclude = NULL,
	.cancel = NULL,
	.heal = sim_heal,
	.inject = sim_inject,
};
