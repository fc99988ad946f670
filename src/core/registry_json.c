/* SPDX-License-Identifier: MIT */
/*
 * registry_json.c: a node and a value as JSON, for the control API and
 * the cloud: NULL when any part could not be made.
 */
#include "config.h"

#include <stdio.h>

#include "registry.h"
#include "registry_int.h"

static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

/* min and max only where they mean something: numbers with a range. */
static int range_json(json_t *o, const struct value_meta *m)
{
	int bad = 0;

	if (m->min > m->max)
		return 0;
	if (m->type == VALUE_INT) {
		bad |= json_object_set_new(o, "min",
					   json_integer((json_int_t)m->min));
		bad |= json_object_set_new(o, "max",
					   json_integer((json_int_t)m->max));
	} else if (m->type == VALUE_FLOAT) {
		bad |= json_object_set_new(o, "min", json_real(m->min));
		bad |= json_object_set_new(o, "max", json_real(m->max));
	}
	return bad;
}

static json_t *items_json(const struct value_meta *m)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < value_meta_nitems(m); i++) {
		if (json_array_append_new(a, str_or_null(m->items[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* "updated_ms" and every "ts" are ms since 1970: past 2^31 since 1970-01-25,
 * so jansson's integers must be 64 bits on every architecture. */
_Static_assert(sizeof(json_int_t) == 8, "json_int_t must be 64 bits");

static json_t *time_json(uint64_t ms)
{
	return ms ? json_integer((json_int_t)ms) : json_null();
}

json_t *registry_value_json(const struct registry_value *v)
{
	const struct value_meta *m = &v->meta;
	const char *cc = cc_name(m->key.cc);
	char path[ZW_PROPERTY_MAX + 32], ccbuf[8];
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	if (!cc) {
		snprintf(ccbuf, sizeof(ccbuf), "cc_0x%02x", m->key.cc);
		cc = ccbuf;
	}
	value_key_path(&m->key, path, sizeof(path));
	bad |= json_object_set_new(o, "path", json_string(path));
	bad |= json_object_set_new(o, "alias", str_or_null(v->alias));
	bad |= json_object_set_new(o, "cc", json_string(cc));
	bad |=
	    json_object_set_new(o, "endpoint", json_integer(m->key.endpoint));
	bad |= json_object_set_new(o, "property", json_string(m->key.property));
	bad |= json_object_set_new(o, "type",
				   json_string(value_type_name(m->type)));
	bad |= json_object_set_new(
	    o, "value", v->has_val ? value_to_json(&v->val, m) : json_null());
	if (m->unit[0])
		bad |= json_object_set_new(o, "unit", str_or_null(m->unit));
	if (m->label[0])
		bad |= json_object_set_new(o, "label", str_or_null(m->label));
	bad |= json_object_set_new(o, "readable", json_boolean(m->readable));
	bad |= json_object_set_new(o, "writable", json_boolean(m->writable));
	bad |= range_json(o, m);
	if (m->type == VALUE_ENUM)
		bad |= json_object_set_new(o, "items", items_json(m));
	bad |= json_object_set_new(o, "updated_ms", time_json(v->updated_ms));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *values_json(const struct registry_node *n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n->nvalues; i++) {
		if (json_array_append_new(a,
					  registry_value_json(n->values[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *registry_node_json(const struct registry_node *n, bool with_values)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "id", json_integer(n->id));
	bad |= json_object_set_new(o, "name", str_or_null(n->name));
	bad |= json_object_set_new(o, "status",
				   json_string(zw_node_status_name(n->status)));
	bad |= json_object_set_new(o, "manufacturer",
				   str_or_null(n->manufacturer));
	bad |= json_object_set_new(o, "product", str_or_null(n->product));
	bad |= json_object_set_new(o, "location", str_or_null(n->location));
	bad |= json_object_set_new(o, "values",
				   with_values
				       ? values_json(n)
				       : json_integer((json_int_t)n->nvalues));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
