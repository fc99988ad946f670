/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_map.c: zwave-js value ids, metadata and values to registry keys,
 * metas and values, named as the OpenZWave backend names them
 * (zw_ozw_value.cc; docs/VALUES.md has the table).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zw_zjs_map.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Names longer than this get cut, as OpenZWave's: room for a suffix. */
#define ZJS_NAME_MAX (ZW_PROPERTY_MAX - 16)

/* zwave-js's Door Lock mode for "secured". */
#define ZJS_LOCK_SECURED 255

static void set_err(char *err, size_t len, const char *msg)
{
	if (err && len)
		snprintf(err, len, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Value ids.                                                          */

/* A property or propertyKey: a string, or an integer kept as text. */
static int vid_text(const json_t *j, char *buf, bool *is_num)
{
	if (json_is_integer(j)) {
		snprintf(buf, ZJS_VID_TEXT_MAX, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(j));
		*is_num = true;
		return 0;
	}
	if (!json_is_string(j) || json_string_length(j) >= ZJS_VID_TEXT_MAX ||
	    strlen(json_string_value(j)) != json_string_length(j))
		return -EINVAL;
	snprintf(buf, ZJS_VID_TEXT_MAX, "%s", json_string_value(j));
	*is_num = false;
	return 0;
}

static int vid_byte(const json_t *j, uint8_t *out)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > UINT8_MAX)
		return -EINVAL;
	*out = (uint8_t)json_integer_value(j);
	return 0;
}

int zjs_vid_from_json(const json_t *obj, struct zjs_vid *id, char *err,
		      size_t len)
{
	const json_t *ep, *key;

	memset(id, 0, sizeof(*id));
	if (!json_is_object(obj)) {
		set_err(err, len, "a value id must be an object");
		return -EINVAL;
	}
	if (vid_byte(json_object_get(obj, "commandClass"), &id->cc) < 0) {
		set_err(err, len, "commandClass must be an integer 0-255");
		return -EINVAL;
	}
	ep = json_object_get(obj, "endpoint");
	if (ep && vid_byte(ep, &id->endpoint) < 0) {
		set_err(err, len, "endpoint must be an integer 0-255");
		return -EINVAL;
	}
	if (vid_text(json_object_get(obj, "property"), id->property,
		     &id->property_is_num) < 0) {
		set_err(err, len,
			"property must be an integer or a string of at most "
			"63 bytes");
		return -EINVAL;
	}
	key = json_object_get(obj, "propertyKey");
	if (!key || json_is_null(key))
		return 0;
	if (vid_text(key, id->property_key, &id->key_is_num) < 0) {
		set_err(err, len,
			"propertyKey must be an integer or a string of at "
			"most 63 bytes");
		return -EINVAL;
	}
	id->has_key = true;
	return 0;
}

static json_t *vid_text_json(const char *s, bool is_num)
{
	return is_num ? json_integer(strtoll(s, NULL, 10)) : json_string(s);
}

json_t *zjs_vid_to_json(const struct zjs_vid *id)
{
	/* "o" and "o*" take their references, even on failure. */
	return json_pack(
	    "{s:i, s:i, s:o, s:o*}", "commandClass", id->cc, "endpoint",
	    id->endpoint, "property",
	    vid_text_json(id->property, id->property_is_num), "propertyKey",
	    id->has_key ? vid_text_json(id->property_key, id->key_is_num)
			: NULL);
}

/* ------------------------------------------------------------------ */
/* Keys.                                                               */

/* A property or key with a fixed name: the name, or NULL. */
struct zjs_name {
	uint8_t cc;
	const char *property;
	const char *name;
};

/* clang-format off */
static const struct zjs_name zjs_names[] = {
	{ CC_SWITCH_BINARY, "currentValue", "currentValue" },
	{ CC_SWITCH_MULTILEVEL, "currentValue", "currentValue" },
	{ CC_SWITCH_MULTILEVEL, "Up", "bright" },	/* true starts, */
	{ CC_SWITCH_MULTILEVEL, "Down", "dim" },	/* false stops */
	{ CC_SENSOR_BINARY, "Any", "state" },
	{ CC_SENSOR_BINARY, "General purpose", "state" },
	{ CC_SENSOR_BINARY, "Motion", "state" },
	{ CC_SENSOR_BINARY, "Door/Window", "door" },
	{ CC_SENSOR_BINARY, "Water", "water" },
	{ CC_SENSOR_MULTILEVEL, "Air temperature", "temperature" },
	{ CC_SENSOR_MULTILEVEL, "Illuminance", "illuminance" },
	{ CC_SENSOR_MULTILEVEL, "Humidity", "humidity" },
	{ CC_DOOR_LOCK, "currentMode", "locked" },
	{ CC_BATTERY, "level", "level" },
};

/* Left out: the switches' and lock's targets (the current value stands
 * for them), and what OpenZWave does not show either. */
static const struct zjs_name zjs_hidden[] = {
	{ CC_SWITCH_BINARY, "targetValue", NULL },
	{ CC_SWITCH_MULTILEVEL, "targetValue", NULL },
	{ CC_DOOR_LOCK, "targetMode", NULL },
	{ CC_BASIC, NULL, NULL },		  /* OpenZWave's Basic genre */
	{ CC_MANUFACTURER_SPECIFIC, NULL, NULL }, /* node info */
	{ CC_VERSION, NULL, NULL },		  /* node info */
};

/* Electric meter scales, by zwave-js's scale number. */
static const char *const zjs_electric[] = {
	"kwh", "kvah", "w", "pulses", "v", "a", "power_factor", "kvar", "kvarh",
};
/* clang-format on */

static const char *name_in(const struct zjs_name *t, size_t n,
			   const struct zjs_vid *id, bool *found)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].cc == id->cc &&
		    (!t[i].property ||
		     strcmp(t[i].property, id->property) == 0)) {
			*found = true;
			return t[i].name;
		}
	*found = false;
	return NULL;
}

/*
 * OpenZWave's rule (ozw_sanitize) on s, appended to buf (at most
 * ZJS_NAME_MAX bytes and a NUL): lower case, [a-z0-9_], a '_' for each run of
 * anything else, and one between a lower case letter or digit and an upper case
 * letter, as zwave-js writes "currentMode" where OpenZWave has "Current Mode".
 */
static void sanitize_cat(char *buf, const char *s)
{
	size_t n = strlen(buf);

	if (n > 0 && n < ZJS_NAME_MAX && buf[n - 1] != '_')
		buf[n++] = '_';
	for (const char *p = s; *p && n < ZJS_NAME_MAX; p++) {
		unsigned char c = (unsigned char)*p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool upper = c >= 'A' && c <= 'Z';

		if (upper && p > s && n > 0 && buf[n - 1] != '_' &&
		    ((p[-1] >= 'a' && p[-1] <= 'z') ||
		     (p[-1] >= '0' && p[-1] <= '9')))
			buf[n++] = '_';
		if (n >= ZJS_NAME_MAX)
			break;
		if (alnum || upper)
			buf[n++] = (char)(upper ? c - 'A' + 'a' : c);
		else if (n > 0 && buf[n - 1] != '_')
			buf[n++] = '_';
	}
	while (n > 0 && buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
}

/* A meter's propertyKey: rateType << 16 | scale << 8 | meterType. */
static void meter_name(const struct zjs_vid *id, char *buf)
{
	static const char *const named[] = { "energy", NULL,	  "power",
					     NULL,     "voltage", "current" };
	static const char *const rates[] = { "", "_consumed", "_produced" };
	long long k = strtoll(id->property_key, NULL, 10);
	unsigned type = k & 0xff, scale = (k >> 8) & 0xff, rate = k >> 16;
	char tmp[ZJS_NAME_MAX + 1];

	buf[0] = '\0';
	if (type == 1 && rate <= 1 && scale < ARRAY_SIZE(named) &&
	    named[scale]) {
		snprintf(buf, ZJS_NAME_MAX + 1, "%s", named[scale]);
	} else if (type == 1 && scale < ARRAY_SIZE(zjs_electric) &&
		   rate < ARRAY_SIZE(rates)) {
		snprintf(tmp, sizeof(tmp), "electric_%s%s", zjs_electric[scale],
			 rates[rate]);
		sanitize_cat(buf, tmp);
	} else {
		sanitize_cat(buf, id->property);
		sanitize_cat(buf, id->property_key);
	}
}

static void base_name(const struct zjs_vid *id, char *buf)
{
	bool found;
	const char *fixed =
	    id->has_key ? NULL
			: name_in(zjs_names, ARRAY_SIZE(zjs_names), id, &found);
	long long key = strtoll(id->property_key, NULL, 10);

	buf[0] = '\0';
	if (fixed) {
		snprintf(buf, ZJS_NAME_MAX + 1, "%s", fixed);
	} else if (id->cc == CC_METER && id->key_is_num &&
		   strcmp(id->property, "value") == 0) {
		meter_name(id, buf);
	} else if (id->cc == CC_THERMOSTAT_SETPOINT && id->key_is_num &&
		   (key == 1 || key == 2)) {
		snprintf(buf, ZJS_NAME_MAX + 1, "%s",
			 key == 1 ? "heating" : "cooling");
	} else if (id->cc == CC_CONFIGURATION && id->property_is_num) {
		snprintf(buf, ZJS_NAME_MAX + 1, "param_%lld",
			 strtoll(id->property, NULL, 10));
		if (id->has_key)
			sanitize_cat(buf, id->property_key);
	} else {
		sanitize_cat(buf, id->property);
		if (id->has_key)
			sanitize_cat(buf, id->property_key);
	}
	if (!buf[0])
		snprintf(buf, ZJS_NAME_MAX + 1, "value");
}

/* Types zwgate shows: 1 for one it leaves out, as zjs_map_meta does. */
static bool shown_type(const char *type)
{
	static const char *const shown[] = { "boolean", "number", "string",
					     "color" };

	for (size_t i = 0; type && i < ARRAY_SIZE(shown); i++)
		if (strcmp(type, shown[i]) == 0)
			return true;
	return false;
}

int zjs_map_key(uint16_t node, const struct zjs_vid *id, const json_t *metadata,
		struct value_key *key)
{
	const json_t *stateful = json_object_get(metadata, "stateful");
	bool found;

	memset(key, 0, sizeof(*key));
	if (!zw_node_valid(node) || !id->property[0])
		return -EINVAL;
	name_in(zjs_hidden, ARRAY_SIZE(zjs_hidden), id, &found);
	if (found || json_is_false(stateful))
		return 1;
	if (metadata &&
	    !shown_type(json_string_value(json_object_get(metadata, "type"))))
		return 1;
	key->node = node;
	key->cc = id->cc;
	key->endpoint = id->endpoint;
	base_name(id, key->property);
	return value_property_valid(key->property) ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Metas.                                                              */

static bool is_lock(const struct value_meta *m)
{
	return m->key.cc == CC_DOOR_LOCK &&
	       strcmp(m->key.property, "locked") == 0;
}

static bool integral(const json_t *j)
{
	return !json_is_real(j) ||
	       json_real_value(j) == floor(json_real_value(j));
}

/* What a number is: FLOAT for the classes OpenZWave reads as decimals,
 * and for a range or step that is not whole; else INT. */
static enum value_type number_type(uint8_t cc, const json_t *md)
{
	if (cc == CC_SENSOR_MULTILEVEL || cc == CC_METER ||
	    cc == CC_THERMOSTAT_SETPOINT)
		return VALUE_FLOAT;
	if (!integral(json_object_get(md, "min")) ||
	    !integral(json_object_get(md, "max")) ||
	    !integral(json_object_get(md, "steps")))
		return VALUE_FLOAT;
	return VALUE_INT;
}

struct zjs_state {
	int64_t num;
	const char *text;
};

static int cmp_state(const void *a, const void *b)
{
	int64_t x = ((const struct zjs_state *)a)->num,
		y = ((const struct zjs_state *)b)->num;

	return (x > y) - (x < y);
}

/* An enum from metadata.states, when every state is a distinct whole
 * number and they are few enough: 1; 0 for none; -ENOMEM. */
static int meta_enum(const json_t *md, struct value_meta *m,
		     struct zjs_states *st)
{
	const json_t *states = json_object_get(md, "states"), *text;
	struct zjs_state t[ZW_ENUM_MAX];
	size_t n = 0;
	const char *k;
	char *end;

	if (!json_is_object(states) || json_object_size(states) == 0 ||
	    json_object_size(states) > ZW_ENUM_MAX ||
	    json_is_true(json_object_get(md, "allowManualEntry")))
		return 0;
	json_object_foreach((json_t *)states, k, text)
	{
		t[n].num = strtoll(k, &end, 10);
		t[n].text = json_string_value(text);
		if (!*k || *end || !t[n++].text)
			return 0;
	}
	qsort(t, n, sizeof(t[0]), cmp_state);
	for (size_t i = 1; i < n; i++)
		if (t[i].num == t[i - 1].num) /* "1" and "01" */
			return 0;
	if (value_meta_alloc_items(m, n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		value_text_copy(m->items[i], ZW_ENUM_ITEM_MAX, t[i].text);
	m->type = VALUE_ENUM;
	if (st) {
		st->n = n;
		for (size_t i = 0; i < n; i++)
			st->num[i] = t[i].num;
	}
	return 1;
}

/* A boolean that can only be set, to true: a button (Meter "reset"). */
static bool is_button(const json_t *md)
{
	const json_t *states = json_object_get(md, "states");

	return json_is_false(json_object_get(md, "readable")) &&
	       json_is_object(states) && json_object_size(states) == 1 &&
	       json_object_get(states, "true");
}

static int meta_type(const struct value_key *key, const json_t *md,
		     struct value_meta *m, struct zjs_states *st)
{
	const char *type = json_string_value(json_object_get(md, "type"));
	int r;

	if (!type)
		return -EINVAL;
	if (key->cc == CC_DOOR_LOCK && strcmp(key->property, "locked") == 0)
		m->type = VALUE_BOOL; /* currentMode: secured or not */
	else if (strcmp(type, "boolean") == 0)
		m->type = is_button(md) ? VALUE_BUTTON : VALUE_BOOL;
	else if (strcmp(type, "string") == 0 || strcmp(type, "color") == 0)
		m->type = VALUE_STRING;
	else if (strcmp(type, "number") != 0)
		return 1; /* duration, any, buffer, arrays... */
	else if ((r = meta_enum(md, m, st)) != 0)
		return r < 0 ? r : 0;
	else
		m->type = number_type(key->cc, md);
	return 0;
}

static const char *text_of(const json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	return s ? s : "";
}

int zjs_map_meta(const struct value_key *key, const json_t *metadata,
		 bool writable_override, struct value_meta *meta,
		 struct zjs_states *states, char *err, size_t len)
{
	const json_t *min, *max;
	int r;

	memset(meta, 0, sizeof(*meta));
	if (states)
		memset(states, 0, sizeof(*states));
	if (!json_is_object(metadata)) {
		set_err(err, len, "metadata must be an object");
		return -EINVAL;
	}
	meta->key = *key;
	r = meta_type(key, metadata, meta, states);
	if (r == -EINVAL)
		set_err(err, len, "metadata has no type");
	if (r != 0)
		return r;
	value_text_copy(meta->unit, sizeof(meta->unit),
			text_of(metadata, "unit"));
	value_text_copy(meta->label, sizeof(meta->label),
			text_of(metadata, "label"));
	min = json_object_get(metadata, "min");
	max = json_object_get(metadata, "max");
	meta->min = 1; /* min > max: no range */
	meta->max = 0;
	if ((meta->type == VALUE_INT || meta->type == VALUE_FLOAT) &&
	    json_is_number(min) && json_is_number(max) &&
	    json_number_value(min) < json_number_value(max)) {
		meta->min = json_number_value(min);
		meta->max = json_number_value(max);
	}
	meta->readable = meta->type != VALUE_BUTTON &&
			 !json_is_false(json_object_get(metadata, "readable"));
	meta->writable = writable_override ||
			 json_is_true(json_object_get(metadata, "writeable"));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Values.                                                             */

int zjs_map_value(const json_t *v, const struct value_meta *meta,
		  const struct zjs_states *states, struct value *out)
{
	char buf[ZW_STRING_MAX];

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v) || meta->type == VALUE_BUTTON)
		return 1;
	out->type = meta->type;
	switch (meta->type) {
	case VALUE_BOOL:
		if (is_lock(meta) && json_is_integer(v)) {
			out->u.b = json_integer_value(v) == ZJS_LOCK_SECURED;
			return 0;
		}
		if (!json_is_boolean(v) || is_lock(meta))
			break;
		out->u.b = json_is_true(v);
		return 0;
	case VALUE_INT:
		if (json_is_integer(v)) {
			out->u.i = json_integer_value(v);
			return 0;
		}
		if (!json_is_real(v) || !integral(v) ||
		    fabs(json_real_value(v)) > 9007199254740992.0)
			break;
		out->u.i = (int64_t)json_real_value(v);
		return 0;
	case VALUE_FLOAT:
		if (!json_is_number(v))
			break;
		out->u.f = json_number_value(v);
		return 0;
	case VALUE_ENUM:
		if (!states || !json_is_integer(v))
			break;
		for (size_t i = 0; i < states->n; i++)
			if (states->num[i] == json_integer_value(v)) {
				out->u.i = (int64_t)i;
				return 0;
			}
		break;
	case VALUE_STRING:
		if (!json_is_string(v))
			break;
		value_text_copy(buf, sizeof(buf), json_string_value(v));
		out->u.s = strdup(buf);
		if (!out->u.s) {
			memset(out, 0, sizeof(*out));
			return -ENOMEM;
		}
		return 0;
	case VALUE_BUTTON:
		break;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

json_t *zjs_map_value_json(const struct value *v, const struct value_meta *meta,
			   const struct zjs_states *states)
{
	if (meta->type == VALUE_BUTTON)
		return json_true();
	if (!v || v->type != meta->type)
		return NULL;
	switch (v->type) {
	case VALUE_BOOL:
		if (is_lock(meta))
			return json_integer(v->u.b ? ZJS_LOCK_SECURED : 0);
		return json_boolean(v->u.b);
	case VALUE_INT:
		return json_integer(v->u.i);
	case VALUE_FLOAT:
		return isfinite(v->u.f) ? json_real(v->u.f) : NULL;
	case VALUE_ENUM:
		if (!states || v->u.i < 0 || (size_t)v->u.i >= states->n)
			return NULL;
		return json_integer(states->num[v->u.i]);
	case VALUE_STRING:
		return v->u.s ? json_string(v->u.s) : NULL;
	case VALUE_BUTTON:
		break;
	}
	return NULL;
}

void zjs_map_write_vid(const struct zjs_vid *read, struct zjs_vid *write)
{
	bool sw =
	    read->cc == CC_SWITCH_BINARY || read->cc == CC_SWITCH_MULTILEVEL;
	const char *to = NULL;

	*write = *read;
	if (read->has_key)
		return;
	if (sw && strcmp(read->property, "currentValue") == 0)
		to = "targetValue";
	else if (read->cc == CC_DOOR_LOCK &&
		 strcmp(read->property, "currentMode") == 0)
		to = "targetMode";
	if (to) {
		memset(write->property, 0, sizeof(write->property));
		snprintf(write->property, sizeof(write->property), "%s", to);
	}
}

bool zjs_vid_equal(const struct zjs_vid *a, const struct zjs_vid *b)
{
	return a->cc == b->cc && a->endpoint == b->endpoint &&
	       a->property_is_num == b->property_is_num &&
	       strcmp(a->property, b->property) == 0 &&
	       a->has_key == b->has_key &&
	       (!a->has_key || (a->key_is_num == b->key_is_num &&
				strcmp(a->property_key, b->property_key) == 0));
}
