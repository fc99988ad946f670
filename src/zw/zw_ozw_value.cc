/* SPDX-License-Identifier: MIT */
/*
 * zw_ozw_value.cc: the openzwave backend's values: ValueID to registry
 * key, meta and value, and a registry value back into a ValueID (loop
 * thread).
 */
#include "config.h"

#include "zw_ozw_int.h"

/* ------------------------------------------------------------------ */
/* Values: ValueID to registry key, meta and value.                    */

struct ozw_name {
	uint8_t cc;
	int index;	   /* -1: any */
	const char *label; /* NULL: any */
	const char *property;
};

/* clang-format off */
static const struct ozw_name ozw_names[] = {
	{ CC_SWITCH_BINARY, 0, nullptr, "currentValue" },
	{ CC_SWITCH_MULTILEVEL, 0, nullptr, "currentValue" },
	{ CC_SWITCH_MULTILEVEL, 9, nullptr, "targetValue" },
	{ CC_SENSOR_BINARY, -1, "Sensor", "state" },
	{ CC_SENSOR_BINARY, -1, "Door/Window", "door" },
	{ CC_SENSOR_BINARY, -1, "Flood", "water" },
	{ CC_SENSOR_BINARY, -1, "Water", "water" },
	{ CC_SENSOR_MULTILEVEL, 1, nullptr, "temperature" },
	{ CC_SENSOR_MULTILEVEL, 3, nullptr, "illuminance" },
	{ CC_SENSOR_MULTILEVEL, 5, nullptr, "humidity" },
	{ CC_METER, -1, "Electric - kWh", "energy" },
	{ CC_METER, -1, "Electric - W", "power" },
	{ CC_METER, -1, "Electric - V", "voltage" },
	{ CC_METER, -1, "Electric - A", "current" },
	{ CC_THERMOSTAT_SETPOINT, 1, nullptr, "heating" },
	{ CC_THERMOSTAT_SETPOINT, 2, nullptr, "cooling" },
	{ CC_DOOR_LOCK, 0, nullptr, "locked" },
	{ CC_BATTERY, 0, nullptr, "level" },
};
/* clang-format on */

/* "Air Temperature" -> "air_temperature"; "" -> "value". */
static std::string ozw_sanitize(const std::string &label)
{
	std::string s;

	for (char c : label) {
		if (isalnum((unsigned char)c))
			s += (char)tolower((unsigned char)c);
		else if (!s.empty() && s.back() != '_')
			s += '_';
	}
	while (!s.empty() && s.back() == '_')
		s.pop_back();
	if (s.size() > ZW_PROPERTY_MAX - 16)
		s.resize(ZW_PROPERTY_MAX - 16);
	return s.empty() ? "value" : s;
}

static std::string ozw_base_name(const ValueID &v, const std::string &label)
{
	uint8_t cc = v.GetCommandClassId();
	int index = v.GetIndex();
	char buf[32];

	for (const struct ozw_name &n : ozw_names)
		if (n.cc == cc && (n.index < 0 || n.index == index) &&
		    (!n.label || label == n.label))
			return n.property;
	if (cc == CC_CONFIGURATION) {
		snprintf(buf, sizeof(buf), "param_%d", index);
		return buf;
	}
	return ozw_sanitize(label);
}

/* A property free on the endpoint: the name, then name_<index>, ... */
static void ozw_key_for(struct zw_ozw *z, const ValueID &v,
			const std::string &label, struct value_key *key)
{
	std::string base = ozw_base_name(v, label), name = base;
	unsigned inst = v.GetInstance();

	memset(key, 0, sizeof(*key));
	key->node = v.GetNodeId();
	key->cc = v.GetCommandClassId();
	key->endpoint = (uint8_t)(inst > 0 ? inst - 1 : 0);
	for (unsigned n = 0;; n++) {
		snprintf(key->property, sizeof(key->property), "%s",
			 name.c_str());
		if (!z->paths.count(ozw_path(key)))
			return;
		name = base + "_" + std::to_string(v.GetIndex());
		if (n > 0)
			name += "_" + std::to_string(n + 1);
	}
}

static bool ozw_zw_type(const ValueID &v, size_t nitems, enum value_type *ret)
{
	switch (v.GetType()) {
	case ValueID::ValueType_Bool:
		*ret = VALUE_BOOL;
		return true;
	case ValueID::ValueType_Byte:
	case ValueID::ValueType_Short:
	case ValueID::ValueType_Int:
		*ret = VALUE_INT;
		return true;
	case ValueID::ValueType_Decimal:
		*ret = VALUE_FLOAT;
		return true;
	case ValueID::ValueType_List:
		*ret = nitems <= ZW_ENUM_MAX ? VALUE_ENUM : VALUE_STRING;
		return true;
	case ValueID::ValueType_String:
	case ValueID::ValueType_Raw:
		*ret = VALUE_STRING;
		return true;
	case ValueID::ValueType_Button:
		*ret = VALUE_BUTTON;
		return true;
	default:
		return false; /* schedule, bit set */
	}
}

static void ozw_range(const ValueID &v, const ozw_vsnap &s, struct value_meta *m)
{
	m->min = 1; /* min > max: no range */
	m->max = 0;
	if (m->type != VALUE_INT && m->type != VALUE_FLOAT)
		return;
	if (s.min < s.max) {
		m->min = s.min;
		m->max = s.max;
	} else if (v.GetType() == ValueID::ValueType_Byte) {
		m->min = 0;
		m->max = 255;
	} else if (v.GetType() == ValueID::ValueType_Short) {
		m->min = INT16_MIN;
		m->max = INT16_MAX;
	}
}

static void ozw_unit(uint8_t cc, const std::string &units, struct value_meta *m)
{
	bool temp = cc == CC_SENSOR_MULTILEVEL || cc == CC_THERMOSTAT_SETPOINT;

	if (temp && (units == "C" || units == "F"))
		snprintf(m->unit, sizeof(m->unit), "°%s", units.c_str());
	else
		value_text_copy(m->unit, sizeof(m->unit), units.c_str());
}

/* Meta of e from what the watcher saw; false for a type we do not show. */
static bool ozw_meta_fill(ozw_entry *e, const ozw_vsnap &s)
{
	struct value_meta *m = &e->meta;
	const ValueID &v = e->vid;

	if (!ozw_zw_type(v, s.items.size(), &m->type))
		return false;
	e->list_as_string =
	    v.GetType() == ValueID::ValueType_List && m->type == VALUE_STRING;
	ozw_unit(v.GetCommandClassId(), s.units, m);
	value_text_copy(m->label, sizeof(m->label), s.label.c_str());
	ozw_range(v, s, m);
	m->precision = m->type == VALUE_FLOAT ? s.precision : 0;
	m->readable = !s.writeonly && m->type != VALUE_BUTTON;
	m->writable = !s.readonly;
	e->items = s.items;
	value_meta_clear(m);
	if (m->type == VALUE_ENUM && !s.items.empty()) {
		if (value_meta_alloc_items(m, s.items.size()) < 0)
			throw std::bad_alloc();
		for (size_t i = 0; i < m->nitems; i++)
			value_text_copy(m->items[i], ZW_ENUM_ITEM_MAX,
				     s.items[i].c_str());
	}
	return true;
}

/* The value as the registry takes it; buf holds a STRING's text. */
static bool ozw_val_fill(const ozw_entry &e, const ozw_vsnap &s,
			 struct value *v, char *buf, size_t len)
{
	if (!s.has_val && !e.list_as_string)
		return false;
	memset(v, 0, sizeof(*v));
	v->type = e.meta.type;
	switch (e.meta.type) {
	case VALUE_BOOL:
		v->u.b = s.b;
		return true;
	case VALUE_INT:
		v->u.i = s.i;
		return true;
	case VALUE_FLOAT:
		v->u.f = s.f;
		return true;
	case VALUE_ENUM:
		v->u.i = s.i;
		return s.i >= 0 && (size_t)s.i < e.meta.nitems;
	case VALUE_STRING:
		value_text_copy(buf, len, s.s.c_str());
		v->u.s = buf;
		return true;
	case VALUE_BUTTON:
		break;
	}
	return false;
}

static void ozw_emit_value(struct zw_ozw *z, enum zw_event_type type,
			   const ozw_entry &e, const ozw_vsnap &s)
{
	char buf[ZW_STRING_MAX];
	struct zw_event ev;
	struct value val;
	bool has = ozw_val_fill(e, s, &val, buf, sizeof(buf));

	if (type == ZW_EV_VALUE_CHANGED && !has)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.node = e.meta.key.node;
	ev.u.value.meta = &e.meta;
	ev.u.value.val = has ? &val : nullptr;
	ozw_emit(z, &ev);
}

static bool ozw_shown_genre(const ValueID &v)
{
	return v.GetGenre() == ValueID::ValueGenre_User ||
	       v.GetGenre() == ValueID::ValueGenre_Config;
}

static void ozw_on_value_added(struct zw_ozw *z, const ozw_item &it)
{
	uint64_t id = it.vid.GetId();
	auto found = z->values.find(id);
	ozw_entry e;
	char path[128];

	if (!ozw_shown_genre(it.vid))
		return;
	if (found != z->values.end())
		e = found->second;
	else
		ozw_key_for(z, it.vid, it.val.label, &e.meta.key);
	e.vid = it.vid;
	if (!ozw_meta_fill(&e, it.val)) {
		log_debug("zwave openzwave: node %u: %s value '%s' not shown",
			  it.node, it.vid.GetTypeAsString().c_str(),
			  it.val.label.c_str());
		return;
	}
	if (found == z->values.end())
		log_debug("zwave openzwave: node %u: %s is %s", it.node,
			  value_key_path(&e.meta.key, path, sizeof(path)),
			  it.vid.GetAsString().c_str());
	z->paths[ozw_path(&e.meta.key)] = id;
	ozw_entry &stored = z->values[id] = std::move(e);
	ozw_emit_value(z, ZW_EV_VALUE_ADDED, stored, it.val);
}

void ozw_on_value(struct zw_ozw *z, const ozw_item &it)
{
	auto found = z->values.find(it.vid.GetId());

	switch (it.type) {
	case Notification::Type_ValueAdded:
		ozw_on_value_added(z, it);
		break;
	case Notification::Type_ValueChanged:
	case Notification::Type_ValueRefreshed:
		/* A refresh is news too: it confirms a write of the same
		 * value, and "21 again" may matter to a trigger. */
		if (found != z->values.end())
			ozw_emit_value(z, ZW_EV_VALUE_CHANGED, found->second,
				       it.val);
		break;
	case Notification::Type_ValueRemoved:
		ozw_forget_value(z, it.vid.GetId(), true);
		break;
	default:
		break;
	}
}


static bool ozw_parse_hex(const char *s, std::vector<uint8_t> *out)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > 255)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		char b[3] = { s[i], s[i + 1], 0 }, *end;

		if (!isxdigit((unsigned char)b[0]) ||
		    !isxdigit((unsigned char)b[1]))
			return false;
		out->push_back((uint8_t)strtoul(b, &end, 16));
	}
	return true;
}

/* An integer for a Byte, Short or Int ValueID, range-checked. */
static bool ozw_set_int(const ValueID &v, int64_t i)
{
	Manager *m = Manager::Get();

	switch (v.GetType()) {
	case ValueID::ValueType_Byte:
		return i >= 0 && i <= UINT8_MAX && m->SetValue(v, (uint8)i);
	case ValueID::ValueType_Short:
		return i >= INT16_MIN && i <= INT16_MAX &&
		       m->SetValue(v, (int16)i);
	default:
		return i >= INT32_MIN && i <= INT32_MAX &&
		       m->SetValue(v, (int32)i);
	}
}

static bool ozw_set(const ozw_entry &e, const struct value *val)
{
	Manager *m = Manager::Get();
	const ValueID &v = e.vid;
	std::vector<uint8_t> raw;

	switch (e.meta.type) {
	case VALUE_BOOL:
		return m->SetValue(v, val->u.b);
	case VALUE_INT:
		return ozw_set_int(v, val->u.i);
	case VALUE_FLOAT:
		return m->SetValue(v, (float)val->u.f);
	case VALUE_ENUM:
		return val->u.i >= 0 && (size_t)val->u.i < e.items.size() &&
		       m->SetValueListSelection(v, e.items[val->u.i]);
	case VALUE_STRING:
		if (e.list_as_string)
			return m->SetValueListSelection(v, val->u.s);
		if (v.GetType() == ValueID::ValueType_Raw)
			return ozw_parse_hex(val->u.s, &raw) && !raw.empty() &&
			       m->SetValue(v, raw.data(), (uint8)raw.size());
		return m->SetValue(v, std::string(val->u.s));
	case VALUE_BUTTON:
		/* A press is a press and a release, as on the device. */
		return m->PressButton(v) && m->ReleaseButton(v);
	}
	return false;
}

int ozw_set_value(struct zw *zb, const struct value_key *key,
		  const struct value *val)
{
	struct zw_ozw *z = ozw_of(zb);
	const ozw_entry *e;
	int r;

	if (z->closing)
		return -ECANCELED;
	e = ozw_entry_of(z, key);
	if (!e)
		return -ENOENT;
	if (!e->meta.writable)
		return -EACCES;
	if (e->meta.type != VALUE_BUTTON &&
	    (!val || val->type != e->meta.type ||
	     (val->type == VALUE_STRING && !val->u.s)))
		return -EINVAL;
	r = ozw_usable(z);
	if (r < 0)
		return r;
	try {
		if (Manager::Get()->IsNodeFailed(z->home, key->node))
			return -EHOSTDOWN;
		return ozw_set(*e, val) ? 0 : -EINVAL;
	} catch (...) {
		return -EIO;
	}
}
