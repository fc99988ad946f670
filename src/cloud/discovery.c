/* SPDX-License-Identifier: MIT */
/*
 * discovery.c: Home Assistant MQTT discovery configs for registry values.
 *
 * Booleans are turned into Home Assistant's words by the templates
 * ("{{ 'ON' if value_json.value else 'OFF' }}") rather than compared with
 * how Jinja happens to print a JSON true, and commands are the words our
 * own /set accepts ("true", "0", a number, {"value":..}), so that no
 * entity depends on a default of either side.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cc.h"
#include "discovery.h"
#include "outbox.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DISC_NAME_MAX 96 /* bytes of an entity name */
/* A number without a range still needs bounds in Home Assistant. */
#define DISC_NUMBER_WIDE 2147483647.0

#define TPL_VALUE  "{{ value_json.value }}"
#define TPL_ONOFF  "{{ 'ON' if value_json.value else 'OFF' }}"
#define TPL_LOCKED "{{ 'LOCKED' if value_json.value else 'UNLOCKED' }}"
#define TPL_CMD	   "{\"value\":{{ value | tojson }}}"

enum disc_kind {
	DISC_NONE,
	DISC_SWITCH,
	DISC_LIGHT,
	DISC_BINARY_SENSOR,
	DISC_SENSOR,
	DISC_LOCK,
	DISC_NUMBER,
	DISC_BUTTON,
	DISC_SELECT,
	DISC_TEXT,
};

static const char *const disc_components[] = {
	[DISC_NONE] = NULL,	  [DISC_SWITCH] = "switch",
	[DISC_LIGHT] = "light",	  [DISC_BINARY_SENSOR] = "binary_sensor",
	[DISC_SENSOR] = "sensor", [DISC_LOCK] = "lock",
	[DISC_NUMBER] = "number", [DISC_BUTTON] = "button",
	[DISC_SELECT] = "select", [DISC_TEXT] = "text",
};

/*
 * Sensor device classes.  Home Assistant checks the unit against the
 * class, so a class is given only with a unit it accepts.
 */
static const struct {
	uint8_t cc;
	const char *property, *device_class, *state_class;
	const char *units[4];
} disc_sensors[] = {
	{ CC_SENSOR_MULTILEVEL,
	  "temperature",
	  "temperature",
	  "measurement",
	  { "°C", "°F", "K" } },
	{ CC_SENSOR_MULTILEVEL,
	  "humidity",
	  "humidity",
	  "measurement",
	  { "%" } },
	{ CC_SENSOR_MULTILEVEL,
	  "illuminance",
	  "illuminance",
	  "measurement",
	  { "lx" } },
	{ CC_SENSOR_MULTILEVEL,
	  "power",
	  "power",
	  "measurement",
	  { "W", "kW" } },
	{ CC_SENSOR_MULTILEVEL, "voltage", "voltage", "measurement", { "V" } },
	{ CC_SENSOR_MULTILEVEL, "current", "current", "measurement", { "A" } },
	{ CC_SENSOR_MULTILEVEL,
	  "co2",
	  "carbon_dioxide",
	  "measurement",
	  { "ppm" } },
	{ CC_METER, "power", "power", "measurement", { "W", "kW" } },
	{ CC_METER,
	  "energy",
	  "energy",
	  "total_increasing",
	  { "kWh", "Wh", "MWh" } },
	{ CC_METER, "voltage", "voltage", "measurement", { "V" } },
	{ CC_METER, "current", "current", "measurement", { "A" } },
	{ CC_BATTERY, "level", "battery", "measurement", { "%" } },
};

/* Units devices spell their own way, in Home Assistant's spelling. */
static const struct {
	const char *device, *ha;
} disc_units[] = {
	{ "lux", "lx" },
	{ "Lux", "lx" },
	{ "C", "°C" },
	{ "F", "°F" },
};

static const char *const disc_temperature_units[] = { "°C", "°F", "K" };

static const struct {
	const char *property, *device_class;
} disc_binary[] = {
	{ "motion", "motion" },	     { "door", "door" },
	{ "window", "window" },	     { "water", "moisture" },
	{ "smoke", "smoke" },	     { "tamper", "tamper" },
	{ "co", "carbon_monoxide" }, { "heat", "heat" },
};

static bool is_number(const struct value_meta *m)
{
	return m->type == VALUE_INT || m->type == VALUE_FLOAT;
}

/* Command classes Home Assistant has a better word for than "sensor". */
static enum disc_kind classify_known(const struct value_meta *m)
{
	const struct value_key *k = &m->key;
	bool current = strcmp(k->property, "currentValue") == 0;

	if (k->cc == CC_SWITCH_BINARY && current && m->type == VALUE_BOOL &&
	    m->writable)
		return DISC_SWITCH;
	if (k->cc == CC_SWITCH_MULTILEVEL && current && is_number(m) &&
	    m->writable && m->readable)
		return DISC_LIGHT;
	if (k->cc == CC_DOOR_LOCK && m->type == VALUE_BOOL && m->writable &&
	    m->readable)
		return DISC_LOCK;
	return DISC_NONE;
}

static enum disc_kind classify(const struct value_meta *m)
{
	enum disc_kind k = classify_known(m);

	if (k != DISC_NONE)
		return k;
	if (m->type == VALUE_BUTTON)
		return m->writable ? DISC_BUTTON : DISC_NONE;
	if (m->writable) {
		switch (m->type) {
		case VALUE_BOOL:
			return DISC_SWITCH;
		case VALUE_INT:
		case VALUE_FLOAT:
			return DISC_NUMBER;
		case VALUE_ENUM:
			return DISC_SELECT;
		case VALUE_STRING:
			return DISC_TEXT;
		case VALUE_BUTTON:
			break;
		}
	}
	if (!m->readable)
		return DISC_NONE;
	return m->type == VALUE_BOOL ? DISC_BINARY_SENSOR : DISC_SENSOR;
}

const char *discovery_component(const struct registry_value *v)
{
	return disc_components[classify(&v->meta)];
}

static const char *cc_word(uint8_t cc, char *buf, size_t len)
{
	const char *name = cc_name(cc);

	if (name)
		return name;
	snprintf(buf, len, "cc_0x%02x", cc);
	return buf;
}

static int fmt_checked(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Anything but [A-Za-z0-9_-] (the '/' of P) as '_', in place. */
static void id_clean(char *p)
{
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = '_';
}

/*
 * Where every id of this gateway's starts: P, the topic prefix and the
 * gateway id, so that two gateways with one gateway id under different
 * topic prefixes do not take each other's entities (and config topics)
 * on a shared broker.  With the default prefix "zwgate" that is
 * "zwgate_<gw>", the ids of earlier versions, which left the prefix
 * out: Home Assistant keeps its entities.  Any other P could meet
 * another once its '/' became '_' ("site/a" + "b" and "site" + "a_b";
 * '_' is allowed in both), so a hash of P as it is (FNV-1a, 32 bits)
 * follows it and tells them apart.
 */
static int id_base(const struct discovery_names *dn, char *buf, size_t len)
{
	static const char legacy[] = "zwgate/";
	const char *gw = dn->prefix + strlen(legacy);
	uint32_t h = 2166136261u;
	int r;

	if (strncmp(dn->prefix, legacy, strlen(legacy)) == 0 &&
	    !strchr(gw, '/')) {
		r = fmt_checked(snprintf(buf, len, "%s", dn->prefix), len);
	} else {
		for (const char *p = dn->prefix; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		r = fmt_checked(
		    snprintf(buf, len, "%s_%08" PRIx32, dn->prefix, h), len);
	}
	if (r == 0)
		id_clean(buf);
	return r;
}

int discovery_unique_id(const struct discovery_names *dn,
			const struct registry_value *v, char *buf, size_t len)
{
	const struct value_key *k = &v->meta.key;
	char base[DISCOVERY_UID_MAX], ccbuf[16];
	int r;

	r = id_base(dn, base, sizeof(base));
	if (r == 0)
		r = fmt_checked(
		    snprintf(buf, len, "%s_%u_%s_%u_%.*s", base, k->node,
			     cc_word(k->cc, ccbuf, sizeof(ccbuf)), k->endpoint,
			     ZW_PROPERTY_MAX, k->property),
		    len);
	if (r == 0)
		id_clean(buf);
	return r;
}

int discovery_id_prefix(const struct discovery_names *dn, char *buf, size_t len)
{
	char base[DISCOVERY_UID_MAX];
	int r = id_base(dn, base, sizeof(base));

	return r < 0 ? r : fmt_checked(snprintf(buf, len, "%s_", base), len);
}

int discovery_topic(const struct discovery_names *dn,
		    const struct registry_value *v, char *buf, size_t len)
{
	const char *component = discovery_component(v);
	char uid[DISCOVERY_UID_MAX];
	int r;

	if (!component)
		return -ENOENT;
	r = discovery_unique_id(dn, v, uid, sizeof(uid));
	if (r < 0)
		return r;
	return fmt_checked(snprintf(buf, len, "%s/%s/%s/config",
				    dn->discovery_prefix, component, uid),
			   len);
}

/* Sets key to a string; a string that is not UTF-8 makes the config fail. */
static int set_str(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, json_string(s));
}

static int value_topic(const struct discovery_names *dn,
		       const struct registry_value *v, const char *suffix,
		       char *buf, size_t len)
{
	char path[ZW_PROPERTY_MAX + 32];

	return fmt_checked(
	    snprintf(buf, len, "%s/node/%u/%s%s", dn->prefix, v->meta.key.node,
		     value_key_path(&v->meta.key, path, sizeof(path)), suffix),
	    len);
}

static json_t *availability(const struct discovery_names *dn, unsigned node)
{
	char gw[OUTBOX_TOPIC_MAX], st[OUTBOX_TOPIC_MAX];

	if (fmt_checked(snprintf(gw, sizeof(gw), "%s/status", dn->prefix),
			sizeof(gw)) < 0 ||
	    fmt_checked(
		snprintf(st, sizeof(st), "%s/node/%u/status", dn->prefix, node),
		sizeof(st)) < 0)
		return NULL;
	return json_pack("[{s:s},{s:s,s:s,s:s}]", "topic", gw, "topic", st,
			 "payload_available", "alive", "payload_not_available",
			 "dead");
}

/* The node as a Home Assistant device; its location stays home. */
static json_t *device(const struct discovery_names *dn,
		      const struct registry_node *n)
{
	char id[DISCOVERY_UID_MAX + 16], via[DISCOVERY_UID_MAX], name[32];
	json_t *o;

	if (id_base(dn, via, sizeof(via)) < 0 ||
	    fmt_checked(snprintf(id, sizeof(id), "%s_%u", via, n->id),
			sizeof(id)) < 0)
		return NULL;
	snprintf(name, sizeof(name), "Node %u", n->id);
	o = json_pack("{s:[s],s:s,s:s}", "identifiers", id, "name",
		      n->name ? n->name : name, "via_device", via);
	if (o &&
	    ((n->manufacturer && set_str(o, "manufacturer", n->manufacturer)) ||
	     (n->product && set_str(o, "model", n->product)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Label, else alias, else property; endpoints tell twins apart. */
static void entity_name(const struct registry_value *v, char *buf, size_t len)
{
	const struct value_meta *m = &v->meta;
	const char *base = m->label[0] ? m->label
			   : v->alias  ? v->alias
				       : m->key.property;

	if (m->key.endpoint)
		snprintf(buf, len, "%s %u", base, m->key.endpoint);
	else
		snprintf(buf, len, "%s", base);
}

static json_t *config_common(const struct discovery_names *dn,
			     const struct registry_value *v)
{
	char uid[DISCOVERY_UID_MAX], name[DISC_NAME_MAX];
	json_t *o;

	if (discovery_unique_id(dn, v, uid, sizeof(uid)) < 0)
		return NULL;
	entity_name(v, name, sizeof(name));
	/* qos 1: Home Assistant's commands must not be lost either. */
	o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:i}", "name", name,
		      "unique_id", uid, "object_id", uid, "availability",
		      availability(dn, v->meta.key.node), "availability_mode",
		      "all", "device", device(dn, v->node), "qos", 1);
	return o;
}

/* state_topic (with template key tkey) and/or command_topic. */
static int add_topics(const struct discovery_names *dn,
		      const struct registry_value *v, json_t *o,
		      const char *tkey, const char *tpl, bool command)
{
	char t[OUTBOX_TOPIC_MAX];
	int bad = 0;

	if (v->meta.readable && tkey) {
		if (value_topic(dn, v, "", t, sizeof(t)) < 0)
			return -1;
		bad |= set_str(o, "state_topic", t);
		bad |= set_str(o, tkey, tpl);
	}
	if (command) {
		if (value_topic(dn, v, "/set", t, sizeof(t)) < 0)
			return -1;
		bad |= set_str(o, "command_topic", t);
	}
	return bad;
}

static int unit_index(const char *const *units, size_t n, const char *unit)
{
	for (size_t i = 0; i < n && units[i]; i++)
		if (strcmp(units[i], unit) == 0)
			return (int)i;
	return -1;
}

static const char *ha_unit(const char *unit)
{
	for (size_t i = 0; i < ARRAY_SIZE(disc_units); i++)
		if (strcmp(disc_units[i].device, unit) == 0)
			return disc_units[i].ha;
	return unit;
}

static int add_sensor(const struct registry_value *v, json_t *o)
{
	const struct value_meta *m = &v->meta;
	const char *unit = ha_unit(m->unit);
	int bad = 0;

	if (!is_number(m))
		return 0;
	/* Only what a sensor measures makes statistics, not settings. */
	if (m->key.cc == CC_SENSOR_MULTILEVEL || m->key.cc == CC_METER ||
	    m->key.cc == CC_BATTERY)
		bad |= set_str(o, "state_class", "measurement");
	for (size_t i = 0; i < ARRAY_SIZE(disc_sensors); i++) {
		if (disc_sensors[i].cc != m->key.cc ||
		    strcmp(disc_sensors[i].property, m->key.property) != 0)
			continue;
		bad |= set_str(o, "state_class", disc_sensors[i].state_class);
		if (unit_index(disc_sensors[i].units,
			       ARRAY_SIZE(disc_sensors[i].units), unit) >= 0)
			bad |= set_str(o, "device_class",
				       disc_sensors[i].device_class);
		break;
	}
	if (unit[0])
		bad |= set_str(o, "unit_of_measurement", unit);
	return bad;
}

static int add_binary(const struct registry_value *v, json_t *o)
{
	if (v->meta.key.cc != CC_SENSOR_BINARY)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(disc_binary); i++)
		if (strcmp(disc_binary[i].property, v->meta.key.property) == 0)
			return set_str(o, "device_class",
				       disc_binary[i].device_class);
	return 0;
}

static double step_of(const struct value_meta *m)
{
	if (m->type == VALUE_INT)
		return 1;
	return pow(10.0, -(double)(m->precision < 6 ? m->precision : 6));
}

static int add_number(const struct registry_value *v, json_t *o)
{
	const struct value_meta *m = &v->meta;
	const char *unit = ha_unit(m->unit);
	bool range = m->min <= m->max;
	int bad = 0;

	bad |= json_object_set_new(
	    o, "min", json_real(range ? m->min : -DISC_NUMBER_WIDE));
	bad |= json_object_set_new(
	    o, "max", json_real(range ? m->max : DISC_NUMBER_WIDE));
	bad |= json_object_set_new(o, "step", json_real(step_of(m)));
	if (!range)
		bad |= set_str(o, "mode", "box");
	if (unit[0])
		bad |= set_str(o, "unit_of_measurement", unit);
	if (m->key.cc == CC_THERMOSTAT_SETPOINT &&
	    unit_index(disc_temperature_units,
		       ARRAY_SIZE(disc_temperature_units), unit) >= 0)
		bad |= set_str(o, "device_class", "temperature");
	return bad;
}

/*
 * A dimmer as a light with brightness only: on_command_type "brightness"
 * makes "on" a level on the brightness topic, so the only word sent to
 * command_topic is payload_off "0", which /set takes.  The state template
 * speaks payload_on/payload_off, which is what the light compares with.
 */
static int add_light(const struct discovery_names *dn,
		     const struct registry_value *v, json_t *o)
{
	const struct value_meta *m = &v->meta;
	double max = m->min <= m->max && m->max >= 1 && m->max <= 255
			 ? floor(m->max)
			 : 99;
	char t[OUTBOX_TOPIC_MAX], on[16], tpl[80];
	int bad = 0;

	snprintf(on, sizeof(on), "%.0f", max);
	snprintf(tpl, sizeof(tpl),
		 "{{ '%s' if value_json.value > 0 else '0' }}", on);
	bad |= add_topics(dn, v, o, "state_value_template", tpl, true);
	if (value_topic(dn, v, "", t, sizeof(t)) < 0)
		return -1;
	bad |= set_str(o, "brightness_state_topic", t);
	bad |= set_str(o, "brightness_value_template", TPL_VALUE);
	if (value_topic(dn, v, "/set", t, sizeof(t)) < 0)
		return -1;
	bad |= set_str(o, "brightness_command_topic", t);
	bad |= json_object_set_new(o, "brightness_scale",
				   json_integer((json_int_t)max));
	bad |= set_str(o, "on_command_type", "brightness");
	bad |= set_str(o, "payload_on", on);
	bad |= set_str(o, "payload_off", "0");
	return bad;
}

static json_t *items(const struct value_meta *m)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < value_meta_nitems(m); i++) {
		const char *s = m->items[i];

		if (json_array_append_new(
			a, json_stringn(s, strnlen(s, ZW_ENUM_ITEM_MAX)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int add_kind(const struct discovery_names *dn,
		    const struct registry_value *v, enum disc_kind kind,
		    json_t *o)
{
	int bad = 0;

	switch (kind) {
	case DISC_SWITCH:
		bad |= add_topics(dn, v, o, "value_template", TPL_ONOFF, true);
		bad |= set_str(o, "payload_on", "true");
		bad |= set_str(o, "payload_off", "false");
		bad |= set_str(o, "state_on", "ON");
		bad |= set_str(o, "state_off", "OFF");
		return bad;
	case DISC_LIGHT:
		return add_light(dn, v, o);
	case DISC_BINARY_SENSOR:
		bad |= add_topics(dn, v, o, "value_template", TPL_ONOFF, false);
		return bad | add_binary(v, o);
	case DISC_SENSOR:
		bad |= add_topics(dn, v, o, "value_template", TPL_VALUE, false);
		return bad | add_sensor(v, o);
	case DISC_LOCK:
		bad |= add_topics(dn, v, o, "value_template", TPL_LOCKED, true);
		bad |= set_str(o, "payload_lock", "true");
		bad |= set_str(o, "payload_unlock", "false");
		bad |= set_str(o, "state_locked", "LOCKED");
		return bad | set_str(o, "state_unlocked", "UNLOCKED");
	case DISC_NUMBER:
		bad |= add_topics(dn, v, o, "value_template", TPL_VALUE, true);
		return bad | add_number(v, o);
	case DISC_BUTTON:
		bad |= add_topics(dn, v, o, NULL, NULL, true);
		return bad | set_str(o, "payload_press", "true");
	case DISC_SELECT:
		bad |= add_topics(dn, v, o, "value_template", TPL_VALUE, true);
		bad |= set_str(o, "command_template", TPL_CMD);
		return bad | json_object_set_new(o, "options", items(&v->meta));
	case DISC_TEXT:
		bad |= add_topics(dn, v, o, "value_template", TPL_VALUE, true);
		bad |= set_str(o, "command_template", TPL_CMD);
		return bad | json_object_set_new(
				 o, "max", json_integer(ZW_STRING_MAX - 1));
	case DISC_NONE:
		break;
	}
	return -1;
}

json_t *discovery_config(const struct discovery_names *dn,
			 const struct registry_value *v)
{
	enum disc_kind kind = classify(&v->meta);
	json_t *o;

	if (kind == DISC_NONE)
		return NULL;
	o = config_common(dn, v);
	if (o && add_kind(dn, v, kind, o) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
