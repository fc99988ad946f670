/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "value.h"

static struct value_meta meta_of(enum value_type type, double min, double max)
{
	struct value_meta m;

	memset(&m, 0, sizeof(m));
	m.key.node = 2;
	m.key.cc = 0x25;
	snprintf(m.key.property, sizeof(m.key.property), "currentValue");
	m.type = type;
	m.min = min;
	m.max = max;
	m.readable = m.writable = true;
	return m;
}

/* An enum of three items, which the caller frees with value_meta_clear. */
static struct value_meta enum_meta(void)
{
	struct value_meta m = meta_of(VALUE_ENUM, 1, 0);

	assert_int_equal(value_meta_alloc_items(&m, 3), 0);
	snprintf(m.items[0], sizeof(m.items[0]), "off");
	snprintf(m.items[1], sizeof(m.items[1]), "heat");
	snprintf(m.items[2], sizeof(m.items[2]), "cool");
	return m;
}

/* Parse JSON text as a value of m; the reason lands in err. */
static int from_json_text(const char *json, const struct value_meta *m,
			  struct value *v, char *err, size_t errlen)
{
	json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
	int r;

	assert_non_null(j);
	r = value_from_json(j, m, v, err, errlen);
	json_decref(j);
	return r;
}

static void expect_bool(const char *json, const char *text, bool want)
{
	struct value_meta m = meta_of(VALUE_BOOL, 1, 0);
	struct value v = { .type = VALUE_INT, .u.i = 77 };
	char err[128] = "";

	if (json) {
		assert_int_equal(from_json_text(json, &m, &v, err, sizeof(err)),
				 0);
	} else {
		assert_int_equal(
		    value_from_text(text, &m, &v, err, sizeof(err)), 0);
	}
	assert_int_equal(v.type, VALUE_BOOL);
	assert_int_equal(v.u.b, want);
}

static void test_type_names(void **state)
{
	assert_string_equal(value_type_name(VALUE_BOOL), "bool");
	assert_string_equal(value_type_name(VALUE_INT), "int");
	assert_string_equal(value_type_name(VALUE_FLOAT), "float");
	assert_string_equal(value_type_name(VALUE_STRING), "string");
	assert_string_equal(value_type_name(VALUE_ENUM), "enum");
	assert_string_equal(value_type_name(VALUE_BUTTON), "button");
}

static void test_bool_ok(void **state)
{
	expect_bool("true", NULL, true);
	expect_bool("false", NULL, false);
	expect_bool("1", NULL, true);
	expect_bool("0", NULL, false);
	expect_bool("1.0", NULL, true);
	expect_bool("\"ON\"", NULL, true);
	expect_bool("\"off\"", NULL, false);
	expect_bool("\"Yes\"", NULL, true);
	expect_bool("\"no\"", NULL, false);
	expect_bool("\"TRUE\"", NULL, true);
	expect_bool("\"False\"", NULL, false);
	expect_bool("\"1\"", NULL, true);
	expect_bool("\"0\"", NULL, false);
	expect_bool(NULL, "on", true);
	expect_bool(NULL, "OFF", false);
	expect_bool(NULL, "yes", true);
	expect_bool(NULL, "0", false);
}

static void test_bool_bad(void **state)
{
	static const char *const bad[] = { "2",		"-1",	"0.5",
					   "null",	"[]",	"{}",
					   "\"maybe\"", "\"\"", "\" on\"",
					   "\"onn\"" };
	struct value_meta m = meta_of(VALUE_BOOL, 1, 0);
	struct value v;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    from_json_text(bad[i], &m, &v, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
	}
	from_json_text("\"maybe\"", &m, &v, err, sizeof(err));
	assert_string_equal(err, "maybe is not on or off");
	from_json_text("2", &m, &v, err, sizeof(err));
	assert_string_equal(err, "2 is not on or off");
	from_json_text("null", &m, &v, err, sizeof(err));
	assert_string_equal(err, "expected true or false");
	assert_int_equal(value_from_text("enabled", &m, &v, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(value_from_text(NULL, &m, &v, err, sizeof(err)),
			 -EINVAL);
}

static void expect_int(const char *json, const char *text, double min,
		       double max, int64_t want)
{
	struct value_meta m = meta_of(VALUE_INT, min, max);
	struct value v;
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	if (r != 0)
		print_error("parse of %s failed: %s\n", json ? json : text,
			    err);
	assert_int_equal(r, 0);
	assert_int_equal(v.type, VALUE_INT);
	assert_int_equal(v.u.i, want);
}

static void expect_int_error(const char *json, const char *text, double min,
			     double max, const char *want)
{
	struct value_meta m = meta_of(VALUE_INT, min, max);
	struct value v = { .type = VALUE_BOOL, .u.b = true };
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	assert_int_equal(r, -EINVAL);
	assert_string_equal(err, want);
	/* A failed parse leaves the result alone. */
	assert_int_equal(v.type, VALUE_BOOL);
	assert_true(v.u.b);
}

static void test_int(void **state)
{
	expect_int("40", NULL, 0, 99, 40);
	expect_int("\"40\"", NULL, 0, 99, 40);
	expect_int("40.0", NULL, 0, 99, 40);
	expect_int("0", NULL, 0, 99, 0);
	expect_int("99", NULL, 0, 99, 99);
	expect_int(NULL, "-5", -10, 10, -5);
	expect_int(NULL, "1e2", 0, 255, 100);
	expect_int(NULL, "123456789012", 1, 0, 123456789012LL);
	expect_int("-9223372036854775807", NULL, 1, 0, -9223372036854775807LL);

	expect_int_error("40.5", NULL, 0, 99, "40.5 is not a whole number");
	expect_int_error(NULL, "40.5", 0, 99, "40.5 is not a whole number");
	expect_int_error("150", NULL, 0, 99, "150 is out of range 0..99");
	expect_int_error(NULL, "150", 0, 99, "150 is out of range 0..99");
	expect_int_error(NULL, "-1", 0, 99, "-1 is out of range 0..99");
	expect_int_error(NULL, "100.0", 0, 99, "100.0 is out of range 0..99");
	expect_int_error(NULL, "99999999999999999999", 1, 0,
			 "99999999999999999999 is out of range");
	expect_int_error(NULL, "abc", 0, 99, "abc is not a number");
	expect_int_error(NULL, "0x10", 0, 99, "0x10 is not a number");
	expect_int_error(NULL, " 5", 0, 99, " 5 is not a number");
	expect_int_error(NULL, "5 ", 0, 99, "5  is not a number");
	expect_int_error(NULL, "inf", 1, 0, "inf is not a number");
	expect_int_error(NULL, "nan", 1, 0, "nan is not a number");
	expect_int_error(NULL, "", 1, 0, "the value is empty");
	expect_int_error(NULL, "1.", 1, 0, "1. is not a number");
	expect_int_error(NULL, "-", 1, 0, "- is not a number");
	expect_int_error("true", NULL, 0, 99, "expected a whole number");
	expect_int_error("[1]", NULL, 0, 99, "expected a whole number");
}

static void expect_float(const char *json, const char *text, double min,
			 double max, double want)
{
	struct value_meta m = meta_of(VALUE_FLOAT, min, max);
	struct value v;
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	assert_int_equal(r, 0);
	assert_int_equal(v.type, VALUE_FLOAT);
	assert_true(v.u.f == want);
}

static void expect_float_error(const char *json, const char *text, double min,
			       double max, const char *want)
{
	struct value_meta m = meta_of(VALUE_FLOAT, min, max);
	struct value v;
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	assert_int_equal(r, -EINVAL);
	assert_string_equal(err, want);
}

static void test_float(void **state)
{
	expect_float("21.5", NULL, 5, 30, 21.5);
	expect_float("21", NULL, 5, 30, 21.0);
	expect_float("\"21.5\"", NULL, 5, 30, 21.5);
	expect_float(NULL, "-3.25", 1, 0, -3.25);
	expect_float(NULL, "1e3", 1, 0, 1000.0);
	expect_float(NULL, "5", 5, 30, 5.0);
	expect_float(NULL, "30", 5, 30, 30.0);

	expect_float_error("30.5", NULL, 5, 30, "30.5 is out of range 5..30");
	expect_float_error(NULL, "4.99", 5, 30, "4.99 is out of range 5..30");
	expect_float_error(NULL, "-0.5", -0.25, 0.75,
			   "-0.5 is out of range -0.25..0.75");
	expect_float_error(NULL, "nan", 1, 0, "nan is not a number");
	expect_float_error(NULL, "NaN", 1, 0, "NaN is not a number");
	expect_float_error(NULL, "inf", 1, 0, "inf is not a number");
	expect_float_error(NULL, "-Infinity", 1, 0,
			   "-Infinity is not a number");
	expect_float_error(NULL, "1e999", 1, 0, "1e999 is not a finite number");
	expect_float_error(NULL, "2,5", 1, 0, "2,5 is not a number");
	expect_float_error("false", NULL, 1, 0, "expected a number");
	expect_float_error("null", NULL, 1, 0, "expected a number");
}

static void expect_enum(const char *json, const char *text, int64_t want)
{
	struct value_meta m = enum_meta();
	struct value v;
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	value_meta_clear(&m);
	assert_int_equal(r, 0);
	assert_int_equal(v.type, VALUE_ENUM);
	assert_int_equal(v.u.i, want);
}

static void expect_enum_error(const char *json, const char *text,
			      const char *want)
{
	struct value_meta m = enum_meta();
	struct value v;
	char err[128] = "";
	int r = json ? from_json_text(json, &m, &v, err, sizeof(err))
		     : value_from_text(text, &m, &v, err, sizeof(err));

	value_meta_clear(&m);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err, want);
}

static void test_enum(void **state)
{
	struct value_meta m = enum_meta();
	struct value v;
	char err[128];

	expect_enum("\"heat\"", NULL, 1);
	expect_enum("\"HEAT\"", NULL, 1);
	expect_enum(NULL, "Cool", 2);
	expect_enum("0", NULL, 0);
	expect_enum("2", NULL, 2);
	expect_enum("2.0", NULL, 2);
	expect_enum("\"1\"", NULL, 1);
	expect_enum(NULL, "2", 2);

	expect_enum_error("3", NULL, "3 is not one of: off, heat, cool");
	expect_enum_error("-1", NULL, "-1 is not one of: off, heat, cool");
	expect_enum_error("1.5", NULL, "1.5 is not one of: off, heat, cool");
	expect_enum_error(NULL, "dry", "dry is not one of: off, heat, cool");
	expect_enum_error(NULL, "-1", "-1 is not one of: off, heat, cool");
	expect_enum_error("true", NULL, "expected an item name or index");

	/* An exact match wins over one that ignores case. */
	snprintf(m.items[0], sizeof(m.items[0]), "Heat");
	assert_int_equal(value_from_text("heat", &m, &v, err, sizeof(err)), 0);
	assert_int_equal(v.u.i, 1);
	assert_int_equal(value_from_text("Heat", &m, &v, err, sizeof(err)), 0);
	assert_int_equal(v.u.i, 0);

	m.nitems = 0;
	assert_int_equal(value_from_text("0", &m, &v, err, sizeof(err)),
			 -EINVAL);
	value_meta_clear(&m);

	/* A count with no array behind it reads as no items. */
	m.nitems = 3;
	assert_int_equal(value_from_text("0", &m, &v, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "0: this value has no items");
}

/* The items are the meta's own: copies are deep, limits hold. */
static void test_meta_items(void **state)
{
	struct value_meta m = enum_meta(), c, none = meta_of(VALUE_INT, 0, 9);
	char(*items)[ZW_ENUM_ITEM_MAX] = m.items;

	assert_int_equal(value_meta_alloc_items(&m, 0), -EINVAL);
	assert_int_equal(value_meta_alloc_items(&m, ZW_ENUM_MAX + 1), -EINVAL);
	assert_ptr_equal(m.items, items);
	assert_int_equal(m.nitems, 3);

	assert_int_equal(value_meta_copy(&c, &m), 0);
	assert_ptr_not_equal(c.items, m.items);
	assert_int_equal(c.nitems, 3);
	assert_string_equal(c.items[2], "cool");
	assert_string_equal(c.key.property, "currentValue");
	snprintf(c.items[2], sizeof(c.items[2]), "dry");
	assert_string_equal(m.items[2], "cool");
	value_meta_clear(&c);
	assert_null(c.items);
	assert_int_equal(c.nitems, 0);

	/* Beyond the limit nothing is readable, and nothing is copied. */
	m.nitems = ZW_ENUM_MAX + 1;
	assert_int_equal(value_meta_nitems(&m), 0);
	assert_int_equal(value_meta_copy(&c, &m), 0);
	assert_null(c.items);
	assert_int_equal(c.nitems, 0);

	assert_int_equal(value_meta_alloc_items(&m, ZW_ENUM_MAX), 0);
	assert_int_equal(m.nitems, ZW_ENUM_MAX);
	assert_string_equal(m.items[ZW_ENUM_MAX - 1], "");
	value_meta_clear(&m);

	assert_int_equal(value_meta_copy(&c, &none), 0);
	assert_null(c.items);
	assert_int_equal(c.max, 9);
	value_meta_clear(NULL);
}

static void expect_string_error(const char *text, size_t len, const char *want)
{
	struct value_meta m = meta_of(VALUE_STRING, 1, 0);
	json_t *j = json_stringn_nocheck(text, len);
	struct value v = { .type = VALUE_INT, .u.i = 5 };
	char err[128] = "";

	assert_non_null(j);
	assert_int_equal(value_from_json(j, &m, &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_int_equal(v.type, VALUE_INT);
	json_decref(j);
	if (memchr(text, '\0', len))
		return;
	err[0] = '\0';
	assert_int_equal(value_from_text(text, &m, &v, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, want);
}

static void test_string(void **state)
{
	static const char utf8_bad[] = "a string must be valid UTF-8 without "
				       "control characters";
	struct value_meta m = meta_of(VALUE_STRING, 1, 0);
	char big[ZW_STRING_MAX + 1], err[128];
	struct value v;

	assert_int_equal(
	    from_json_text("\"K\\u00fcche\"", &m, &v, err, sizeof(err)), 0);
	assert_int_equal(v.type, VALUE_STRING);
	assert_string_equal(v.u.s, "K\xc3\xbc"
				   "che");
	value_clear(&v);
	assert_int_equal(v.type, VALUE_BOOL);

	memset(big, 'x', sizeof(big));
	big[ZW_STRING_MAX - 1] = '\0';
	assert_int_equal(value_from_text(big, &m, &v, err, sizeof(err)), 0);
	assert_int_equal(strlen(v.u.s), ZW_STRING_MAX - 1);
	value_clear(&v);
	big[ZW_STRING_MAX - 1] = 'x';
	big[ZW_STRING_MAX] = '\0';
	expect_string_error(big, ZW_STRING_MAX,
			    "a string is at most 255 bytes");

	expect_string_error("\xff", 1, utf8_bad);
	expect_string_error("\xc0\xaf", 2, utf8_bad);	      /* overlong */
	expect_string_error("\xed\xa0\x80", 3, utf8_bad);     /* surrogate */
	expect_string_error("\xf4\x90\x80\x80", 4, utf8_bad); /* > 10FFFF */
	expect_string_error("\xe2\x82", 2, utf8_bad);	      /* cut */
	expect_string_error("a\nb", 3, utf8_bad);
	expect_string_error("a\x7f", 2, utf8_bad);
	expect_string_error("\xc2\x85", 2, utf8_bad); /* C1 NEL */
	expect_string_error("a\0b", 3,
			    "a value cannot contain a NUL character");

	assert_int_equal(from_json_text("5", &m, &v, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "expected a string");
	assert_int_equal(from_json_text("\"\"", &m, &v, err, sizeof(err)), 0);
	assert_string_equal(v.u.s, "");
	value_clear(&v);
}

static void test_button(void **state)
{
	static const char *const good[] = { "true",	 "1",
					    "\"press\"", "\"PRESS\"",
					    "\"true\"",	 "\"1\"" };
	static const char *const bad[] = { "false", "0",    "2",
					   "\"x\"", "null", "\"0\"" };
	struct value_meta m = meta_of(VALUE_BUTTON, 1, 0);
	struct value v;
	char err[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v.type = VALUE_INT;
		assert_int_equal(
		    from_json_text(good[i], &m, &v, err, sizeof(err)), 0);
		assert_int_equal(v.type, VALUE_BUTTON);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    from_json_text(bad[i], &m, &v, err, sizeof(err)), -EINVAL);
		assert_string_equal(err,
				    "a button only takes true, 1 or press");
	}
	assert_int_equal(value_from_text("press", &m, &v, err, sizeof(err)), 0);
	assert_int_equal(value_from_text("nope", &m, &v, err, sizeof(err)),
			 -EINVAL);
}

/* Errors quote at most 32 bytes of input, whole characters, and never
 * control characters. */
static void test_error_echo(void **state)
{
	struct value_meta m = meta_of(VALUE_BOOL, 1, 0);
	char in[200], want[200], err[256], small[8];
	struct value v;

	memset(in, 'a', 100);
	in[100] = '\0';
	assert_int_equal(value_from_text(in, &m, &v, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%.32s... is not on or off", in);
	assert_string_equal(err, want);

	/* 31 'a' and then a two-byte character: cut before it. */
	memset(in, 'a', 31);
	snprintf(in + 31, sizeof(in) - 31, "\xc3\xa9zzz");
	value_from_text(in, &m, &v, err, sizeof(err));
	snprintf(want, sizeof(want), "%.31s... is not on or off", in);
	assert_string_equal(err, want);

	value_from_text("a\nb\x1b[31m\xff", &m, &v, err, sizeof(err));
	assert_string_equal(err, "a?b?[31m? is not on or off");

	value_from_text("maybe", &m, &v, small, sizeof(small));
	assert_string_equal(small, "maybe i");
	assert_int_equal(value_from_text("maybe", &m, &v, NULL, 0), -EINVAL);
}

static void test_to_json(void **state)
{
	struct value_meta m = meta_of(VALUE_FLOAT, 1, 0);
	struct value_meta e = enum_meta();
	struct value v = { .type = VALUE_FLOAT, .u.f = 21.456 };
	json_t *j;

	m.precision = 1;
	j = value_to_json(&v, &m);
	assert_true(json_is_real(j));
	assert_true(json_real_value(j) == 21.5);
	json_decref(j);

	m.precision = 2;
	v.u.f = -3.14159;
	j = value_to_json(&v, &m);
	assert_true(json_real_value(j) == -3.14);
	json_decref(j);

	m.precision = 0;
	j = value_to_json(&v, &m);
	assert_true(json_is_real(j));
	assert_true(json_real_value(j) == -3.14159);
	json_decref(j);

	v.u.f = NAN;
	j = value_to_json(&v, &m);
	assert_true(json_is_null(j));
	json_decref(j);

	v = (struct value){ .type = VALUE_ENUM, .u.i = 2 };
	j = value_to_json(&v, &e);
	assert_string_equal(json_string_value(j), "cool");
	json_decref(j);
	v.u.i = 7;
	j = value_to_json(&v, &e);
	assert_int_equal(json_integer_value(j), 7);
	json_decref(j);

	v = (struct value){ .type = VALUE_BOOL, .u.b = true };
	j = value_to_json(&v, NULL);
	assert_true(json_is_true(j));
	json_decref(j);

	v = (struct value){ .type = VALUE_INT, .u.i = -12 };
	j = value_to_json(&v, NULL);
	assert_true(json_is_integer(j));
	assert_int_equal(json_integer_value(j), -12);
	json_decref(j);

	v = (struct value){ .type = VALUE_STRING, .u.s = "hi" };
	j = value_to_json(&v, NULL);
	assert_string_equal(json_string_value(j), "hi");
	json_decref(j);

	v = (struct value){ .type = VALUE_STRING, .u.s = "\xff" };
	j = value_to_json(&v, NULL);
	assert_true(json_is_null(j));
	json_decref(j);

	v = (struct value){ .type = VALUE_BUTTON };
	j = value_to_json(&v, NULL);
	assert_true(json_is_null(j));
	json_decref(j);
	value_meta_clear(&e);
}

static void test_copy_equal_clear(void **state)
{
	struct value a = { .type = VALUE_STRING, .u.s = strdup("hello") };
	struct value b = { .type = VALUE_INT, .u.i = 1 };
	struct value f1 = { .type = VALUE_FLOAT, .u.f = 1.5 };
	struct value f2 = { .type = VALUE_FLOAT, .u.f = 1.5 };
	struct value i1 = { .type = VALUE_INT, .u.i = 1 };
	struct value e1 = { .type = VALUE_ENUM, .u.i = 1 };

	assert_non_null(a.u.s);
	assert_int_equal(value_copy(&b, &a), 0);
	assert_int_equal(b.type, VALUE_STRING);
	assert_ptr_not_equal(a.u.s, b.u.s);
	assert_true(value_equal(&a, &b));
	b.u.s[0] = 'j';
	assert_false(value_equal(&a, &b));
	assert_string_equal(a.u.s, "hello");
	value_clear(&a);
	value_clear(&b);
	assert_int_equal(a.type, VALUE_BOOL);
	assert_false(a.u.b);
	value_clear(NULL);

	assert_true(value_equal(&f1, &f2));
	f2.u.f = 1.25;
	assert_false(value_equal(&f1, &f2));
	assert_false(value_equal(&i1, &e1));
	assert_int_equal(value_copy(&b, &i1), 0);
	assert_true(value_equal(&b, &i1));
}

static void test_key_path(void **state)
{
	struct value_key k = { .node = 2, .cc = 0x25, .endpoint = 0 };
	char buf[128], small[10];

	snprintf(k.property, sizeof(k.property), "currentValue");
	assert_ptr_equal(value_key_path(&k, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "switch_binary/0/currentValue");
	k.cc = 0x99;
	k.endpoint = 1;
	snprintf(k.property, sizeof(k.property), "foo");
	assert_string_equal(value_key_path(&k, buf, sizeof(buf)),
			    "cc_0x99/1/foo");
	k.cc = 0x31;
	k.endpoint = 255;
	snprintf(k.property, sizeof(k.property), "temperature");
	assert_string_equal(value_key_path(&k, buf, sizeof(buf)),
			    "sensor_multilevel/255/temperature");
	assert_string_equal(value_key_path(&k, small, sizeof(small)),
			    "sensor_mu");
}

static void test_property_valid(void **state)
{
	char s[ZW_PROPERTY_MAX + 1];

	assert_true(value_property_valid("currentValue"));
	assert_true(value_property_valid("a"));
	assert_true(value_property_valid("x_y-Z09"));
	assert_false(value_property_valid(""));
	assert_false(value_property_valid(NULL));
	assert_false(value_property_valid("a/b"));
	assert_false(value_property_valid("a+"));
	assert_false(value_property_valid("#"));
	assert_false(value_property_valid("a b"));
	assert_false(value_property_valid("caf\xc3\xa9"));
	memset(s, 'p', sizeof(s));
	s[ZW_PROPERTY_MAX - 1] = '\0';
	assert_true(value_property_valid(s));
	s[ZW_PROPERTY_MAX - 1] = 'p';
	s[ZW_PROPERTY_MAX] = '\0';
	assert_false(value_property_valid(s));
}

static void test_text_helpers(void **state)
{
	static const char ok[] = "K\xc3\xbc"
				 "che \xe2\x82\xac \xf0\x9f\x92\xa1";
	char buf[8];

	assert_true(value_text_valid(ok, strlen(ok)));
	assert_true(value_text_valid("", 0));
	assert_false(value_text_valid("a\tb", 3));
	assert_false(value_text_valid("a\0b", 3));
	assert_false(value_text_valid("\xe0\x80\x80", 3));

	assert_int_equal(value_text_copy(buf, sizeof(buf), "abc"), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(value_text_copy(buf, sizeof(buf), "a\x01\xff"), 3);
	assert_string_equal(buf, "a??");
	/* Seven bytes fit; the euro sign would be cut, so it stops. */
	assert_int_equal(value_text_copy(buf, sizeof(buf), "abcde\xe2\x82\xac"),
			 5);
	assert_string_equal(buf, "abcde");
	assert_int_equal(value_text_copy(buf, 0, "abc"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_bool_ok),
		cmocka_unit_test(test_bool_bad),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_float),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_meta_items),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_button),
		cmocka_unit_test(test_error_echo),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_copy_equal_clear),
		cmocka_unit_test(test_key_path),
		cmocka_unit_test(test_property_valid),
		cmocka_unit_test(test_text_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
