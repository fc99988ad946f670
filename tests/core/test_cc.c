/* SPDX-License-Identifier: MIT */
/*
 * test_cc.c: command classes by number and by name (cc.c).
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc.h"

static void test_cc_names(void **state)
{
	static const struct {
		int cc;
		const char *name;
	} want[] = {
		{ 0x20, "basic" },
		{ 0x25, "switch_binary" },
		{ 0x26, "switch_multilevel" },
		{ 0x27, "switch_all" },
		{ 0x2b, "scene_activation" },
		{ 0x30, "sensor_binary" },
		{ 0x31, "sensor_multilevel" },
		{ 0x32, "meter" },
		{ 0x33, "color" },
		{ 0x40, "thermostat_mode" },
		{ 0x43, "thermostat_setpoint" },
		{ 0x5b, "central_scene" },
		{ 0x62, "door_lock" },
		{ 0x70, "configuration" },
		{ 0x71, "notification" },
		{ 0x72, "manufacturer_specific" },
		{ 0x75, "protection" },
		{ 0x80, "battery" },
		{ 0x81, "clock" },
		{ 0x84, "wake_up" },
		{ 0x85, "association" },
		{ 0x86, "version" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(cc_name((uint8_t)want[i].cc), want[i].name);
		assert_int_equal(cc_from_name(want[i].name), want[i].cc);
	}
	assert_null(cc_name(0x99));
	assert_null(cc_name(0x00));
	assert_int_equal(cc_from_name("alarm"), 0x71);
	assert_int_equal(cc_from_name("cc_0x99"), 0x99);
	assert_int_equal(cc_from_name("cc_0x25"), 0x25);
	assert_int_equal(cc_from_name("cc_0xAb"), 0xab);
	assert_int_equal(cc_from_name("cc_0x9"), -ENOENT);
	assert_int_equal(cc_from_name("cc_0x999"), -ENOENT);
	assert_int_equal(cc_from_name("cc_0xzz"), -ENOENT);
	assert_int_equal(cc_from_name("Switch_Binary"), -ENOENT);
	assert_int_equal(cc_from_name(""), -ENOENT);
	assert_int_equal(cc_from_name(NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
