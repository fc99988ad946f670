/* SPDX-License-Identifier: MIT */
/*
 * test_zw_zjs_map.c: zwave-js values to registry keys, metas and values.
 * tests/zw/zjs-state.json is what @zwave-js/server 3.10.2 sent for
 * start_listening against tests/zwave-mock/network.cjs, after the
 * interview; the keys must be the ones the OpenZWave backend gives for
 * the same network (tests/integration/ozw.sh).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "zw_zjs_map.h"

static json_t *state;

static int setup(void **unused)
{
	char path[512];
	json_error_t e;

	snprintf(path, sizeof(path), "%s/tests/zw/zjs-state.json", tu_srcdir());
	state = json_load_file(path, 0, &e);
	if (!state)
		fprintf(stderr, "%s: %s (line %d)\n", path, e.text, e.line);
	return state ? 0 : -1;
}

static int teardown(void **unused)
{
	json_decref(state);
	return 0;
}

static json_t *node_values(int node)
{
	size_t i;
	json_t *n;

	json_array_foreach(json_object_get(state, "nodes"), i, n)
	{
		if (json_integer_value(json_object_get(n, "nodeId")) == node)
			return json_object_get(n, "values");
	}
	return NULL;
}

/* The fixture's entry of node's value, or fail. */
static json_t *entry(int node, int cc, const char *property)
{
	size_t i;
	json_t *v;

	json_array_foreach(node_values(node), i, v)
	{
		const json_t *p = json_object_get(v, "property");

		if (json_integer_value(json_object_get(v, "commandClass")) ==
			cc &&
		    json_is_string(p) &&
		    strcmp(json_string_value(p), property) == 0)
			return v;
	}
	fail_msg("node %d has no %d/%s", node, cc, property);
	return NULL;
}

/* Does the node have a value with this id? */
static bool node_has(int node, const struct zjs_vid *want)
{
	struct zjs_vid id;
	size_t i;
	json_t *v;

	json_array_foreach(node_values(node), i, v)
	{
		if (zjs_vid_from_json(v, &id, NULL, 0) == 0 &&
		    zjs_vid_equal(&id, want))
			return true;
	}
	return false;
}

struct mapped {
	struct value_meta meta;
	struct zjs_states st;
	struct value val;
	int r_key, r_meta, r_val;
};

/* An entry through the whole map, as the backend will use it. */
static void map_entry(int node, const json_t *v, struct mapped *m)
{
	const json_t *md = json_object_get(v, "metadata");
	struct zjs_vid id, wr;
	struct value_key key;
	char err[128] = "";

	memset(m, 0, sizeof(*m));
	assert_int_equal(zjs_vid_from_json(v, &id, err, sizeof(err)), 0);
	m->r_key = zjs_map_key((uint8_t)node, &id, md, &key);
	if (m->r_key != 0)
		return;
	zjs_map_write_vid(&id, &wr);
	/* A current value is writable through its target. */
	m->r_meta = zjs_map_meta(
	    &key, md, !zjs_vid_equal(&wr, &id) && node_has(node, &wr), &m->meta,
	    &m->st, err, sizeof(err));
	if (m->r_meta != 0)
		return;
	m->r_val = zjs_map_value(json_object_get(v, "value"), &m->meta, &m->st,
				 &m->val);
}

static void unmap(struct mapped *m)
{
	value_clear(&m->val);
	value_meta_clear(&m->meta);
}

/* The keys every value of the fixture gets: all named, and exactly these. */
static void test_fixture_keys(void **unused)
{
	static const char *const want[] = {
		"2/switch_binary/0/currentValue",
		"3/switch_multilevel/0/currentValue",
		"3/switch_multilevel/0/bright",
		"3/switch_multilevel/0/dim",
		"3/switch_multilevel/0/restore_previous",
		"4/sensor_binary/0/state",
		"5/sensor_multilevel/0/temperature",
		"5/sensor_multilevel/0/humidity",
		"6/meter/0/energy",
		"6/meter/0/power",
		"6/meter/0/reset",
	};
	char got[32][80], path[64];
	size_t ngot = 0, i, j, total = 0;
	json_t *n, *v;

	json_array_foreach(json_object_get(state, "nodes"), i, n)
	{
		int node =
		    (int)json_integer_value(json_object_get(n, "nodeId"));

		json_array_foreach(json_object_get(n, "values"), j, v)
		{
			struct mapped m;

			map_entry(node, v, &m);
			total++;
			assert_true(m.r_key == 0 || m.r_key == 1);
			if (m.r_key == 0) {
				assert_int_equal(m.r_meta, 0);
				assert_true(m.r_val == 0 || m.r_val == 1);
				assert_true(ngot < 32);
				snprintf(got[ngot++], sizeof(got[0]), "%d/%s",
					 node,
					 value_key_path(&m.meta.key, path,
							sizeof(path)));
			}
			unmap(&m);
		}
	}
	assert_int_equal(total, 47);
	assert_int_equal(ngot, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < ngot; i++)
		assert_string_equal(got[i], want[i]);
}

static void test_mock_metas(void **unused)
{
	struct mapped m;

	map_entry(2, entry(2, 0x25, "currentValue"), &m);
	assert_int_equal(m.meta.type, VALUE_BOOL);
	assert_true(m.meta.readable && m.meta.writable);
	assert_int_equal(m.r_val, 0);
	assert_false(m.val.u.b);
	unmap(&m);

	map_entry(3, entry(3, 0x26, "currentValue"), &m);
	assert_int_equal(m.meta.type, VALUE_INT);
	assert_true(m.meta.readable && m.meta.writable);
	assert_true(m.meta.min == 0 && m.meta.max == 99);
	assert_int_equal(m.val.u.i, 0);
	unmap(&m);

	/* OpenZWave's Bright and Dim buttons are zwave-js's Up and Down,
	 * true to start a level change, false to stop it. */
	map_entry(3, entry(3, 0x26, "Up"), &m);
	assert_string_equal(m.meta.key.property, "bright");
	assert_int_equal(m.meta.type, VALUE_BOOL);
	assert_true(!m.meta.readable && m.meta.writable);
	assert_int_equal(m.r_val, 1);
	unmap(&m);

	map_entry(4, entry(4, 0x30, "Motion"), &m);
	assert_int_equal(m.meta.type, VALUE_BOOL);
	assert_false(m.meta.writable);
	unmap(&m);

	map_entry(5, entry(5, 0x31, "Air temperature"), &m);
	assert_string_equal(m.meta.key.property, "temperature");
	assert_int_equal(m.meta.type, VALUE_FLOAT);
	assert_string_equal(m.meta.unit, "°C");
	assert_false(m.meta.writable);
	assert_int_equal(m.r_val, 0);
	assert_true(m.val.u.f == 21.5);
	unmap(&m);

	map_entry(5, entry(5, 0x31, "Humidity"), &m);
	assert_int_equal(m.meta.type, VALUE_FLOAT);
	assert_string_equal(m.meta.unit, "%");
	assert_true(m.val.u.f == 40);
	unmap(&m);

	/* The two meter values share "value": the key names them. */
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_array_get(node_values(6), i);

		map_entry(6, v, &m);
		assert_int_equal(m.meta.type, VALUE_FLOAT);
		assert_true(m.meta.readable && !m.meta.writable);
		if (strcmp(m.meta.key.property, "power") == 0) {
			assert_string_equal(m.meta.unit, "W");
			assert_true(m.val.u.f == 60); /* an integer in JSON */
		} else {
			assert_string_equal(m.meta.key.property, "energy");
			assert_string_equal(m.meta.unit, "kWh");
			assert_true(m.val.u.f == 12.5);
		}
		unmap(&m);
	}

	map_entry(6, entry(6, 0x32, "reset"), &m);
	assert_int_equal(m.meta.type, VALUE_BUTTON);
	assert_true(!m.meta.readable && m.meta.writable);
	assert_int_equal(m.r_val, 1);
	unmap(&m);
}

/* The targets, node info, Basic and durations are left out. */
static void test_left_out(void **unused)
{
	struct mapped m;

	map_entry(2, entry(2, 0x25, "targetValue"), &m);
	assert_int_equal(m.r_key, 1);
	map_entry(3, entry(3, 0x26, "targetValue"), &m);
	assert_int_equal(m.r_key, 1);
	map_entry(3, entry(3, 0x26, "duration"), &m);
	assert_int_equal(m.r_key, 1);
	map_entry(4, entry(4, 0x20, "currentValue"), &m);
	assert_int_equal(m.r_key, 1);
	map_entry(2, entry(2, 0x72, "productId"), &m);
	assert_int_equal(m.r_key, 1);
	map_entry(2, entry(2, 0x86, "firmwareVersions"), &m);
	assert_int_equal(m.r_key, 1);
}

static void vid_of(const char *text, struct zjs_vid *id)
{
	json_t *j = json_loads(text, 0, NULL);
	char err[128] = "";

	assert_non_null(j);
	assert_int_equal(zjs_vid_from_json(j, id, err, sizeof(err)), 0);
	json_decref(j);
}

static void test_write_vid(void **unused)
{
	struct zjs_vid r, w;

	vid_of("{\"commandClass\":37,\"endpoint\":0,"
	       "\"property\":\"currentValue\"}",
	       &r);
	zjs_map_write_vid(&r, &w);
	assert_string_equal(w.property, "targetValue");
	assert_int_equal(w.cc, 37);
	vid_of("{\"commandClass\":38,\"endpoint\":2,"
	       "\"property\":\"currentValue\"}",
	       &r);
	zjs_map_write_vid(&r, &w);
	assert_string_equal(w.property, "targetValue");
	assert_int_equal(w.endpoint, 2);
	vid_of("{\"commandClass\":98,\"endpoint\":0,"
	       "\"property\":\"currentMode\"}",
	       &r);
	zjs_map_write_vid(&r, &w);
	assert_string_equal(w.property, "targetMode");
	/* Anything else is written where it is read. */
	vid_of("{\"commandClass\":112,\"endpoint\":0,\"property\":1}", &r);
	zjs_map_write_vid(&r, &w);
	assert_true(zjs_vid_equal(&r, &w));
	vid_of("{\"commandClass\":49,\"endpoint\":0,"
	       "\"property\":\"currentValue\"}",
	       &r);
	zjs_map_write_vid(&r, &w);
	assert_string_equal(w.property, "currentValue");
}

/* The name each documented id gets (docs/VALUES.md). */
static void test_names(void **unused)
{
	static const struct {
		const char *vid, *name;
	} t[] = {
		{ "{\"commandClass\":48,\"property\":\"Any\"}", "state" },
		{ "{\"commandClass\":48,\"property\":\"General purpose\"}",
		  "state" },
		{ "{\"commandClass\":48,\"property\":\"Door/Window\"}",
		  "door" },
		{ "{\"commandClass\":48,\"property\":\"Water\"}", "water" },
		{ "{\"commandClass\":48,\"property\":\"Smoke\"}", "smoke" },
		{ "{\"commandClass\":49,\"property\":\"Illuminance\"}",
		  "illuminance" },
		{ "{\"commandClass\":49,\"property\":\"Power\"}", "power" },
		{ "{\"commandClass\":50,\"property\":\"value\","
		  "\"propertyKey\":65537}",
		  "energy" },
		{ "{\"commandClass\":50,\"property\":\"value\","
		  "\"propertyKey\":66049}",
		  "power" },
		{ "{\"commandClass\":50,\"property\":\"value\","
		  "\"propertyKey\":66561}",
		  "voltage" },
		{ "{\"commandClass\":50,\"property\":\"value\","
		  "\"propertyKey\":66817}",
		  "current" },
		{ "{\"commandClass\":50,\"property\":\"value\","
		  "\"propertyKey\":131073}",
		  "electric_kwh_produced" },
		{ "{\"commandClass\":67,\"property\":\"setpoint\","
		  "\"propertyKey\":1}",
		  "heating" },
		{ "{\"commandClass\":67,\"property\":\"setpoint\","
		  "\"propertyKey\":2}",
		  "cooling" },
		{ "{\"commandClass\":67,\"property\":\"setpoint\","
		  "\"propertyKey\":11}",
		  "setpoint_11" },
		{ "{\"commandClass\":98,\"property\":\"currentMode\"}",
		  "locked" },
		{ "{\"commandClass\":98,\"property\":\"boltStatus\"}",
		  "bolt_status" },
		{ "{\"commandClass\":128,\"property\":\"level\"}", "level" },
		{ "{\"commandClass\":112,\"property\":7}", "param_7" },
		{ "{\"commandClass\":112,\"property\":7,\"propertyKey\":255}",
		  "param_7_255" },
		{ "{\"commandClass\":113,\"property\":\"Home Security\","
		  "\"propertyKey\":\"Motion sensor status\"}",
		  "home_security_motion_sensor_stat" },
		{ "{\"commandClass\":91,\"property\":\"slowRefresh\"}",
		  "slow_refresh" },
		{ "{\"commandClass\":38,\"property\":\"restorePrevious\","
		  "\"endpoint\":1}",
		  "restore_previous" },
		{ "{\"commandClass\":153,\"property\":\"--\"}", "value" },
	};
	struct value_key key;
	struct zjs_vid id;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		vid_of(t[i].vid, &id);
		assert_int_equal(zjs_map_key(9, &id, NULL, &key), 0);
		assert_string_equal(key.property, t[i].name);
		assert_int_equal(key.node, 9);
		assert_int_equal(key.cc, id.cc);
		assert_int_equal(key.endpoint, id.endpoint);
	}
	assert_int_equal(strlen("home_security_motion_sensor_stat"),
			 ZW_PROPERTY_MAX - 16);
	vid_of("{\"commandClass\":37,\"property\":\"currentValue\"}", &id);
	assert_int_equal(zjs_map_key(0, &id, NULL, &key), -EINVAL);
	assert_int_equal(zjs_map_key(233, &id, NULL, &key), -EINVAL);
}

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* Stateless values and types zwgate does not show are left out. */
static void test_skipped(void **unused)
{
	static const char *const md[] = {
		"{\"type\":\"number\",\"stateful\":false}",
		"{\"type\":\"duration\"}",
		"{\"type\":\"any\"}",
		"{\"type\":\"buffer\"}",
		"{\"type\":\"string[]\"}",
	};
	struct value_meta meta;
	struct value_key key;
	struct zjs_vid id;
	char err[128];

	vid_of("{\"commandClass\":91,\"property\":\"scene\","
	       "\"propertyKey\":\"001\"}",
	       &id);
	for (size_t i = 0; i < sizeof(md) / sizeof(md[0]); i++) {
		json_t *j = load(md[i]);

		assert_int_equal(zjs_map_key(2, &id, j, &key), 1);
		json_decref(j);
	}
	vid_of("{\"commandClass\":91,\"property\":\"x\"}", &id);
	assert_int_equal(zjs_map_key(2, &id, NULL, &key), 0);
	for (size_t i = 1; i < sizeof(md) / sizeof(md[0]); i++) {
		json_t *j = load(md[i]);

		assert_int_equal(
		    zjs_map_meta(&key, j, false, &meta, NULL, err, sizeof(err)),
		    1);
		json_decref(j);
	}
}

/* An enum: items in the order of the numbers, index <-> number. */
static void test_enum(void **unused)
{
	json_t *md = load("{\"type\":\"number\",\"readable\":true,"
			  "\"writeable\":true,\"label\":\"Mode\","
			  "\"states\":{\"255\":\"Auto\",\"0\":\"Off\","
			  "\"16\":\"Eco\"}}"),
	       *j;
	struct value_key key = { .node = 2, .cc = 0x70, .property = "p" };
	struct value_meta meta;
	struct zjs_states st;
	struct value v;
	char err[128] = "";

	assert_int_equal(
	    zjs_map_meta(&key, md, false, &meta, &st, err, sizeof(err)), 0);
	assert_int_equal(meta.type, VALUE_ENUM);
	assert_int_equal(meta.nitems, 3);
	assert_string_equal(meta.items[0], "Off");
	assert_string_equal(meta.items[1], "Eco");
	assert_string_equal(meta.items[2], "Auto");
	assert_true(meta.writable && meta.readable);
	for (int64_t i = 0; i < 3; i++) {
		j = json_integer(st.num[i]);
		assert_int_equal(zjs_map_value(j, &meta, &st, &v), 0);
		assert_int_equal(v.type, VALUE_ENUM);
		assert_int_equal(v.u.i, i);
		json_decref(j);
		j = zjs_map_value_json(&v, &meta, &st);
		assert_true(json_is_integer(j));
		assert_int_equal(json_integer_value(j), st.num[i]);
		json_decref(j);
	}
	j = json_integer(255);
	assert_int_equal(zjs_map_value(j, &meta, &st, &v), 0);
	assert_int_equal(v.u.i, 2);
	json_decref(j);
	j = json_integer(1); /* not a state */
	assert_int_equal(zjs_map_value(j, &meta, &st, &v), -EINVAL);
	json_decref(j);
	v.type = VALUE_ENUM;
	v.u.i = 3;
	assert_null(zjs_map_value_json(&v, &meta, &st));
	value_meta_clear(&meta);
	json_decref(md);

	/* Two texts for one number: a number. */
	md = load("{\"type\":\"number\",\"states\":{\"1\":\"On\","
		  "\"01\":\"Also on\"}}");
	assert_int_equal(
	    zjs_map_meta(&key, md, false, &meta, &st, err, sizeof(err)), 0);
	assert_int_equal(meta.type, VALUE_INT);
	assert_null(meta.items);
	json_decref(md);

	/* One a user may type freely is a number. */
	md = load("{\"type\":\"number\",\"allowManualEntry\":true,\"min\":0,"
		  "\"max\":99,\"states\":{\"0\":\"Off\"}}");
	assert_int_equal(
	    zjs_map_meta(&key, md, false, &meta, &st, err, sizeof(err)), 0);
	assert_int_equal(meta.type, VALUE_INT);
	assert_int_equal(st.n, 0);
	json_decref(md);
}

/* Door Lock's mode is "locked": 255 is secured. */
static void test_lock(void **unused)
{
	json_t *md = load("{\"type\":\"number\",\"readable\":true,"
			  "\"writeable\":false,\"states\":{\"0\":\"Unsecured\","
			  "\"255\":\"Secured\"}}"),
	       *j;
	struct zjs_vid id;
	struct value_key key;
	struct value_meta meta;
	struct value v;
	char err[128];

	vid_of("{\"commandClass\":98,\"endpoint\":0,"
	       "\"property\":\"currentMode\"}",
	       &id);
	assert_int_equal(zjs_map_key(7, &id, md, &key), 0);
	assert_int_equal(
	    zjs_map_meta(&key, md, true, &meta, NULL, err, sizeof(err)), 0);
	assert_int_equal(meta.type, VALUE_BOOL);
	assert_true(meta.writable);
	j = json_integer(255);
	assert_int_equal(zjs_map_value(j, &meta, NULL, &v), 0);
	assert_true(v.u.b);
	json_decref(j);
	j = json_integer(1); /* unsecured with timeout */
	assert_int_equal(zjs_map_value(j, &meta, NULL, &v), 0);
	assert_false(v.u.b);
	json_decref(j);
	j = zjs_map_value_json(&v, &meta, NULL);
	assert_int_equal(json_integer_value(j), 0);
	json_decref(j);
	v.u.b = true;
	j = zjs_map_value_json(&v, &meta, NULL);
	assert_int_equal(json_integer_value(j), 255);
	json_decref(j);
	json_decref(md);
}

static void vid_round_trip(const char *text)
{
	json_t *in = load(text), *out;
	struct zjs_vid id;
	char err[128] = "";

	assert_int_equal(zjs_vid_from_json(in, &id, err, sizeof(err)), 0);
	out = zjs_vid_to_json(&id);
	assert_non_null(out);
	if (!json_equal(in, out)) {
		char *s = json_dumps(out, JSON_COMPACT);

		fail_msg("%s came back as %s", text, s);
	}
	json_decref(in);
	json_decref(out);
}

static void test_vid_json(void **unused)
{
	struct zjs_vid id, other;

	vid_round_trip("{\"commandClass\":37,\"endpoint\":0,"
		       "\"property\":\"currentValue\"}");
	vid_round_trip("{\"commandClass\":50,\"endpoint\":1,"
		       "\"property\":\"value\",\"propertyKey\":66049}");
	vid_round_trip("{\"commandClass\":112,\"endpoint\":0,\"property\":3,"
		       "\"propertyKey\":4278190080}");
	vid_round_trip("{\"commandClass\":113,\"endpoint\":0,"
		       "\"property\":\"Home Security\","
		       "\"propertyKey\":\"Motion sensor status\"}");
	vid_round_trip("{\"commandClass\":112,\"endpoint\":0,"
		       "\"property\":\"5\"}");
	/* An event's args: more than the id, and propertyKey null. */
	vid_of("{\"commandClass\":49,\"endpoint\":0,\"property\":\"Humidity\","
	       "\"propertyKey\":null,\"newValue\":41,\"prevValue\":40}",
	       &id);
	assert_false(id.has_key);
	vid_of("{\"commandClass\":112,\"property\":\"5\"}", &id);
	assert_false(id.property_is_num);
	assert_int_equal(id.endpoint, 0);
	/* "5" is not 5, and the key counts. */
	vid_of("{\"commandClass\":112,\"property\":5}", &other);
	assert_false(zjs_vid_equal(&id, &other));
	vid_of("{\"commandClass\":112,\"property\":\"5\"}", &other);
	assert_true(zjs_vid_equal(&id, &other));
	vid_of("{\"commandClass\":112,\"property\":\"5\","
	       "\"propertyKey\":1}",
	       &other);
	assert_false(zjs_vid_equal(&id, &other));
}

static void test_vid_bad(void **unused)
{
	static const struct {
		const char *json, *why;
	} t[] = {
		{ "{\"endpoint\":0,\"property\":\"x\"}", "commandClass" },
		{ "{\"commandClass\":\"37\",\"property\":\"x\"}",
		  "commandClass" },
		{ "{\"commandClass\":256,\"property\":\"x\"}", "commandClass" },
		{ "{\"commandClass\":37,\"endpoint\":300,\"property\":\"x\"}",
		  "endpoint" },
		{ "{\"commandClass\":37,\"endpoint\":-1,\"property\":\"x\"}",
		  "endpoint" },
		{ "{\"commandClass\":37,\"property\":{\"a\":1}}", "property" },
		{ "{\"commandClass\":37}", "property" },
		{ "{\"commandClass\":37,\"property\":1.5}", "property" },
		{ "{\"commandClass\":37,\"property\":\"x\","
		  "\"propertyKey\":[1]}",
		  "propertyKey" },
		{ "{\"commandClass\":37,\"property\":\"0123456789012345678901"
		  "234567890123456789012345678901234567890123\"}",
		  "property" },
		{ "[37]", "object" },
	};
	struct zjs_vid id;
	char err[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *j = load(t[i].json);

		err[0] = '\0';
		assert_int_equal(zjs_vid_from_json(j, &id, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, t[i].why))
			fail_msg("%s: '%s' does not say %s", t[i].json, err,
				 t[i].why);
		json_decref(j);
	}
}

/* Values of the wrong type are refused, both ways. */
static void test_wrong_types(void **unused)
{
	static const struct {
		enum value_type type;
		const char *json;
	} t[] = {
		{ VALUE_BOOL, "1" },	  { VALUE_BOOL, "\"true\"" },
		{ VALUE_INT, "\"5\"" },	  { VALUE_INT, "1.5" },
		{ VALUE_INT, "true" },	  { VALUE_FLOAT, "\"21.5\"" },
		{ VALUE_FLOAT, "false" }, { VALUE_STRING, "5" },
		{ VALUE_STRING, "[]" },	  { VALUE_ENUM, "\"Off\"" },
	};
	struct value_meta meta = { .type = VALUE_INT };
	struct zjs_states st = { .n = 1 };
	struct value v;
	json_t *j;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		j = json_loads(t[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		meta.type = t[i].type;
		if (zjs_map_value(j, &meta, &st, &v) != -EINVAL)
			fail_msg("%s taken as a %s", t[i].json,
				 value_type_name(t[i].type));
		json_decref(j);
	}
	/* A whole number is an INT even when sent as 3.0. */
	meta.type = VALUE_INT;
	j = json_real(3.0);
	assert_int_equal(zjs_map_value(j, &meta, NULL, &v), 0);
	assert_int_equal(v.u.i, 3);
	json_decref(j);
	/* No value yet. */
	assert_int_equal(zjs_map_value(NULL, &meta, NULL, &v), 1);
	j = json_null();
	assert_int_equal(zjs_map_value(j, &meta, NULL, &v), 1);
	/* zwgate's value of another type than the meta's. */
	v.type = VALUE_BOOL;
	v.u.b = true;
	assert_null(zjs_map_value_json(&v, &meta, NULL));
	v.type = VALUE_INT;
	v.u.i = 40;
	j = zjs_map_value_json(&v, &meta, NULL);
	assert_int_equal(json_integer_value(j), 40);
	json_decref(j);
	meta.type = VALUE_STRING;
	j = json_string("caf\u00e9");
	assert_int_equal(zjs_map_value(j, &meta, NULL, &v), 0);
	json_decref(j);
	j = zjs_map_value_json(&v, &meta, NULL);
	assert_string_equal(json_string_value(j), "café");
	json_decref(j);
	value_clear(&v);
}

static void test_meta_bad(void **unused)
{
	struct value_key key = { .node = 2, .cc = 0x25, .property = "x" };
	struct value_meta meta;
	char err[128] = "";
	json_t *j = load("{\"readable\":true}");

	assert_int_equal(
	    zjs_map_meta(&key, j, false, &meta, NULL, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "type"));
	json_decref(j);
	err[0] = '\0';
	assert_int_equal(
	    zjs_map_meta(&key, NULL, false, &meta, NULL, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "metadata"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_keys),
		cmocka_unit_test(test_mock_metas),
		cmocka_unit_test(test_left_out),
		cmocka_unit_test(test_write_vid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_vid_json),
		cmocka_unit_test(test_vid_bad),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_meta_bad),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
