/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cc.h"
#include "value.h"

/* Bytes of user input quoted back in an error message. */
#define ECHO_MAX 32
/* Bytes of the item list shown when an enum item is unknown. */
#define ITEMS_SHOWN_MAX 160
/* Integers beyond this lose precision as doubles. */
#define EXACT_INT_MAX 9007199254740992.0

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *value_type_name(enum value_type type)
{
	switch (type) {
	case VALUE_BOOL:
		return "bool";
	case VALUE_INT:
		return "int";
	case VALUE_FLOAT:
		return "float";
	case VALUE_STRING:
		return "string";
	case VALUE_ENUM:
		return "enum";
	case VALUE_BUTTON:
		return "button";
	}
	return "unknown";
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes available) and
 * its code point, or 0: overlong forms, surrogates and code points past
 * U+10FFFF are refused, as RFC 3629 says.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min_cp[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* C0, DEL and C1 controls: nothing a name, unit or message should hold. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

bool value_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t k = utf8_decode(p + i, len - i, &cp);

		if (k == 0 || is_control(cp))
			return false;
		i += k;
	}
	return true;
}

size_t value_text_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t len = strlen(src), in = 0, out = 0;
	uint32_t cp;

	if (size == 0)
		return 0;
	while (in < len) {
		size_t k = utf8_decode(p + in, len - in, &cp);
		bool bad = k == 0 || is_control(cp);
		size_t outk = bad ? 1 : k;

		if (out + outk >= size)
			break;
		if (bad)
			dst[out] = '?';
		else
			memcpy(dst + out, p + in, k);
		out += outk;
		in += bad ? 1 : k;
	}
	dst[out] = '\0';
	return in;
}

void value_clear(struct value *v)
{
	if (!v)
		return;
	if (v->type == VALUE_STRING)
		free(v->u.s);
	v->type = VALUE_BOOL;
	v->u.b = false;
}

int value_copy(struct value *dst, const struct value *src)
{
	struct value tmp = *src;

	if (src->type == VALUE_STRING && src->u.s) {
		tmp.u.s = strdup(src->u.s);
		if (!tmp.u.s)
			return -ENOMEM;
	}
	*dst = tmp;
	return 0;
}

int value_meta_alloc_items(struct value_meta *m, size_t n)
{
	char(*items)[ZW_ENUM_ITEM_MAX];

	if (n == 0 || n > ZW_ENUM_MAX)
		return -EINVAL;
	items = calloc(n, sizeof(*items));
	if (!items)
		return -ENOMEM;
	free(m->items);
	m->items = items;
	m->nitems = n;
	return 0;
}

/* Only the items that can be read are copied, so that the copy's nitems
 * is always the length of its array. */
int value_meta_copy(struct value_meta *dst, const struct value_meta *src)
{
	struct value_meta tmp = *src;

	tmp.nitems = value_meta_nitems(src);
	tmp.items = NULL;
	if (tmp.nitems) {
		tmp.items = malloc(tmp.nitems * sizeof(*tmp.items));
		if (!tmp.items)
			return -ENOMEM;
		memcpy(tmp.items, src->items, tmp.nitems * sizeof(*tmp.items));
	}
	*dst = tmp;
	return 0;
}

void value_meta_clear(struct value_meta *m)
{
	if (!m)
		return;
	free(m->items);
	m->items = NULL;
	m->nitems = 0;
}

bool value_equal(const struct value *a, const struct value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case VALUE_BOOL:
		return a->u.b == b->u.b;
	case VALUE_INT:
	case VALUE_ENUM:
		return a->u.i == b->u.i;
	case VALUE_FLOAT:
		return a->u.f == b->u.f;
	case VALUE_STRING:
		if (!a->u.s || !b->u.s)
			return a->u.s == b->u.s;
		return strcmp(a->u.s, b->u.s) == 0;
	case VALUE_BUTTON:
		return true;
	}
	return false;
}

/*
 * Rounding here rather than at print time keeps every consumer (MQTT,
 * control socket, rules) showing the same number.  Values too large to
 * scale exactly are left alone.
 */
static double round_to(double f, unsigned precision)
{
	double scale = pow(10.0, precision), x = f * scale;

	if (!isfinite(x) || fabs(x) >= EXACT_INT_MAX)
		return f;
	return round(x) / scale;
}

json_t *value_to_json(const struct value *v, const struct value_meta *meta)
{
	const char *item;
	json_t *j;

	switch (v->type) {
	case VALUE_BOOL:
		return json_boolean(v->u.b);
	case VALUE_INT:
		return json_integer(v->u.i);
	case VALUE_FLOAT:
		if (!isfinite(v->u.f))
			return json_null();
		if (meta && meta->precision > 0)
			return json_real(round_to(v->u.f, meta->precision));
		return json_real(v->u.f);
	case VALUE_ENUM:
		if (!meta || v->u.i < 0 ||
		    (uint64_t)v->u.i >= value_meta_nitems(meta))
			return json_integer(v->u.i);
		item = meta->items[v->u.i];
		j = json_stringn(item, strnlen(item, ZW_ENUM_ITEM_MAX));
		return j ? j : json_integer(v->u.i);
	case VALUE_STRING:
		/* A device may send bytes that are not UTF-8: show null. */
		j = json_string(v->u.s ? v->u.s : "");
		return j ? j : json_null();
	case VALUE_BUTTON:
		break;
	}
	return json_null();
}

/* State of one parse: where errors go and how the input is shown. */
struct parse {
	const struct value_meta *meta;
	char *err;
	size_t errlen;
	char shown[ECHO_MAX + 4];
};

static int parse_fail(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * What the user sent, for error messages: at most ECHO_MAX bytes, whole
 * characters only, unprintable bytes as '?', "..." when cut.  Input must
 * never turn an error message into a way to inject text into logs.
 */
static void parse_show(struct parse *p, const char *text)
{
	size_t used = value_text_copy(p->shown, ECHO_MAX + 1, text);

	if (text[used] != '\0')
		strcat(p->shown, "...");
}

static void parse_show_number(struct parse *p, const json_t *in)
{
	if (json_is_integer(in))
		snprintf(p->shown, sizeof(p->shown), "%" PRId64,
			 (int64_t)json_integer_value(in));
	else
		snprintf(p->shown, sizeof(p->shown), "%.15g",
			 json_number_value(in));
}

static bool has_range(const struct value_meta *m)
{
	return m->min <= m->max;
}

static int out_of_range(struct parse *p)
{
	if (!has_range(p->meta))
		return parse_fail(p, "%s is out of range", p->shown);
	return parse_fail(p, "%s is out of range %.15g..%.15g", p->shown,
			  p->meta->min, p->meta->max);
}

static int int_checked(struct parse *p, int64_t i, struct value *ret)
{
	const struct value_meta *m = p->meta;

	if (has_range(m) && ((double)i < m->min || (double)i > m->max))
		return out_of_range(p);
	ret->type = VALUE_INT;
	ret->u.i = i;
	return 0;
}

static int int_from_double(struct parse *p, double d, struct value *ret)
{
	if (!isfinite(d))
		return parse_fail(p, "%s is not a number", p->shown);
	if (d != trunc(d))
		return parse_fail(p, "%s is not a whole number", p->shown);
	if (fabs(d) >= EXACT_INT_MAX)
		return out_of_range(p);
	return int_checked(p, (int64_t)d, ret);
}

static int float_checked(struct parse *p, double d, struct value *ret)
{
	const struct value_meta *m = p->meta;

	if (!isfinite(d))
		return parse_fail(p, "%s is not a finite number", p->shown);
	if (has_range(m) && (d < m->min || d > m->max))
		return out_of_range(p);
	ret->type = VALUE_FLOAT;
	ret->u.f = d;
	return 0;
}

/* The items of an enum as "a, b, c", shortened to fit. */
static void items_list(const struct value_meta *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < value_meta_nitems(m); i++) {
		char item[ZW_ENUM_ITEM_MAX];
		char tmp[ZW_ENUM_ITEM_MAX];

		memcpy(tmp, m->items[i], sizeof(tmp));
		tmp[sizeof(tmp) - 1] = '\0';
		value_text_copy(item, sizeof(item), tmp);
		if (off + strlen(item) + 2 + 4 >= len) {
			snprintf(buf + off, len - off, "%s...", i ? ", " : "");
			return;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "", item);
	}
}

static int not_an_item(struct parse *p)
{
	char list[ITEMS_SHOWN_MAX];

	if (value_meta_nitems(p->meta) == 0)
		return parse_fail(p, "%s: this value has no items", p->shown);
	items_list(p->meta, list, sizeof(list));
	return parse_fail(p, "%s is not one of: %s", p->shown, list);
}

static int enum_index(struct parse *p, int64_t i, struct value *ret)
{
	if (i < 0 || (uint64_t)i >= value_meta_nitems(p->meta))
		return not_an_item(p);
	ret->type = VALUE_ENUM;
	ret->u.i = i;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_digits(const char *s)
{
	while (is_digit(*s))
		s++;
	return s;
}

/*
 * JSON's number grammar, checked before strtod so that what strtod also
 * takes (hex, "inf", "nan", leading spaces) never gets in.
 */
static bool number_syntax(const char *s, bool *integral)
{
	*integral = true;
	if (*s == '-')
		s++;
	if (!is_digit(*s))
		return false;
	s = skip_digits(s);
	if (*s == '.') {
		*integral = false;
		if (!is_digit(*++s))
			return false;
		s = skip_digits(s);
	}
	if (*s == 'e' || *s == 'E') {
		*integral = false;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digit(*s))
			return false;
		s = skip_digits(s);
	}
	return *s == '\0';
}

static int text_int(struct parse *p, const char *text, struct value *ret)
{
	bool integral;
	long long ll;

	if (!number_syntax(text, &integral))
		return parse_fail(p, "%s is not a number", p->shown);
	if (!integral)
		return int_from_double(p, strtod(text, NULL), ret);
	errno = 0;
	ll = strtoll(text, NULL, 10);
	if (errno == ERANGE)
		return out_of_range(p);
	return int_checked(p, ll, ret);
}

static int text_float(struct parse *p, const char *text, struct value *ret)
{
	bool integral;

	if (!number_syntax(text, &integral))
		return parse_fail(p, "%s is not a number", p->shown);
	return float_checked(p, strtod(text, NULL), ret);
}

static int text_bool(struct parse *p, const char *text, struct value *ret)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(text, yes[i]) == 0 ||
		    strcasecmp(text, no[i]) == 0) {
			ret->type = VALUE_BOOL;
			ret->u.b = strcasecmp(text, yes[i]) == 0;
			return 0;
		}
	}
	return parse_fail(p, "%s is not on or off", p->shown);
}

/* An item's text (exact, then ignoring case), or its index in digits. */
static int text_enum(struct parse *p, const char *text, struct value *ret)
{
	const struct value_meta *m = p->meta;
	size_t n = value_meta_nitems(m);

	for (size_t i = 0; i < n; i++)
		if (strncmp(m->items[i], text, ZW_ENUM_ITEM_MAX) == 0)
			return enum_index(p, (int64_t)i, ret);
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(m->items[i], text, ZW_ENUM_ITEM_MAX) == 0)
			return enum_index(p, (int64_t)i, ret);
	if (is_digit(text[0]) && *skip_digits(text) == '\0' &&
	    strlen(text) <= 3)
		return enum_index(p, strtoll(text, NULL, 10), ret);
	return not_an_item(p);
}

static int text_string(struct parse *p, const char *text, size_t len,
		       struct value *ret)
{
	char *s;

	if (len > ZW_STRING_MAX - 1)
		return parse_fail(p, "a string is at most %d bytes",
				  ZW_STRING_MAX - 1);
	if (!value_text_valid(text, len))
		return parse_fail(p, "a string must be valid UTF-8 without "
				     "control characters");
	s = strdup(text);
	if (!s)
		return -ENOMEM;
	ret->type = VALUE_STRING;
	ret->u.s = s;
	return 0;
}

static int button_pressed(struct parse *p, struct value *ret)
{
	ret->type = VALUE_BUTTON;
	ret->u.b = true;
	return 0;
}

static int text_button(struct parse *p, const char *text, struct value *ret)
{
	if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
	    strcasecmp(text, "press") == 0)
		return button_pressed(p, ret);
	return parse_fail(p, "a button only takes true, 1 or press");
}

static int parse_text(struct parse *p, const char *text, size_t len,
		      struct value *ret)
{
	parse_show(p, text);
	if (len == 0 && p->meta->type != VALUE_STRING)
		return parse_fail(p, "the value is empty");
	switch (p->meta->type) {
	case VALUE_BOOL:
		return text_bool(p, text, ret);
	case VALUE_INT:
		return text_int(p, text, ret);
	case VALUE_FLOAT:
		return text_float(p, text, ret);
	case VALUE_STRING:
		return text_string(p, text, len, ret);
	case VALUE_ENUM:
		return text_enum(p, text, ret);
	case VALUE_BUTTON:
		return text_button(p, text, ret);
	}
	return parse_fail(p, "unknown value type");
}

int value_from_text(const char *text, const struct value_meta *meta,
		    struct value *ret, char *err, size_t errlen)
{
	struct parse p = { .meta = meta, .err = err, .errlen = errlen };

	if (!meta)
		return -EINVAL;
	if (!text)
		return parse_fail(&p, "no value given");
	return parse_text(&p, text, strlen(text), ret);
}

static int expected(struct parse *p)
{
	switch (p->meta->type) {
	case VALUE_BOOL:
		return parse_fail(p, "expected true or false");
	case VALUE_INT:
		return parse_fail(p, "expected a whole number");
	case VALUE_FLOAT:
		return parse_fail(p, "expected a number");
	case VALUE_STRING:
		return parse_fail(p, "expected a string");
	case VALUE_ENUM:
		return parse_fail(p, "expected an item name or index");
	case VALUE_BUTTON:
		return parse_fail(p, "a button only takes true, 1 or press");
	}
	return parse_fail(p, "unknown value type");
}

static int json_bool(struct parse *p, bool b, struct value *ret)
{
	if (p->meta->type == VALUE_BOOL) {
		ret->type = VALUE_BOOL;
		ret->u.b = b;
		return 0;
	}
	if (p->meta->type == VALUE_BUTTON && b)
		return button_pressed(p, ret);
	return expected(p);
}

static int json_number(struct parse *p, const json_t *in, struct value *ret)
{
	double d = json_number_value(in);

	parse_show_number(p, in);
	switch (p->meta->type) {
	case VALUE_BOOL:
		if (d == 0 || d == 1)
			return json_bool(p, d == 1, ret);
		return parse_fail(p, "%s is not on or off", p->shown);
	case VALUE_INT:
		if (json_is_integer(in))
			return int_checked(p, json_integer_value(in), ret);
		return int_from_double(p, d, ret);
	case VALUE_FLOAT:
		return float_checked(p, d, ret);
	case VALUE_ENUM:
		if (json_is_integer(in))
			return enum_index(p, json_integer_value(in), ret);
		if (d != trunc(d) || fabs(d) > ZW_ENUM_MAX)
			return not_an_item(p);
		return enum_index(p, (int64_t)d, ret);
	case VALUE_BUTTON:
		if (d == 1)
			return button_pressed(p, ret);
		return expected(p);
	case VALUE_STRING:
		break;
	}
	return expected(p);
}

int value_from_json(const json_t *in, const struct value_meta *meta,
		    struct value *ret, char *err, size_t errlen)
{
	struct parse p = { .meta = meta, .err = err, .errlen = errlen };
	const char *s;

	if (!meta)
		return -EINVAL;
	if (!in)
		return parse_fail(&p, "no value given");
	switch (json_typeof(in)) {
	case JSON_TRUE:
	case JSON_FALSE:
		return json_bool(&p, json_is_true(in), ret);
	case JSON_INTEGER:
	case JSON_REAL:
		return json_number(&p, in, ret);
	case JSON_STRING:
		s = json_string_value(in);
		if (strlen(s) != json_string_length(in))
			return parse_fail(&p, "a value cannot contain a NUL "
					      "character");
		return parse_text(&p, s, json_string_length(in), ret);
	default:
		return expected(&p);
	}
}

char *value_key_path(const struct value_key *key, char *buf, size_t len)
{
	const char *name = cc_name(key->cc);

	if (len == 0)
		return buf;
	if (name)
		snprintf(buf, len, "%s/%u/%.*s", name, key->endpoint,
			 ZW_PROPERTY_MAX, key->property);
	else
		snprintf(buf, len, "cc_0x%02x/%u/%.*s", key->cc, key->endpoint,
			 ZW_PROPERTY_MAX, key->property);
	return buf;
}

bool value_property_valid(const char *s)
{
	size_t len;

	if (!s)
		return false;
	len = strnlen(s, ZW_PROPERTY_MAX);
	if (len == 0 || len >= ZW_PROPERTY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(is_digit(c) || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '_' || c == '-'))
			return false;
	}
	return true;
}
