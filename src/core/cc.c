/* SPDX-License-Identifier: MIT */
/*
 * cc.c: the names of the command classes in cc.h.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	uint8_t cc;
	const char *name;
} cc_names[] = {
	{ CC_BASIC, "basic" },
	{ CC_SWITCH_BINARY, "switch_binary" },
	{ CC_SWITCH_MULTILEVEL, "switch_multilevel" },
	{ CC_SWITCH_ALL, "switch_all" },
	{ CC_SCENE_ACTIVATION, "scene_activation" },
	{ CC_SENSOR_BINARY, "sensor_binary" },
	{ CC_SENSOR_MULTILEVEL, "sensor_multilevel" },
	{ CC_METER, "meter" },
	{ CC_COLOR, "color" },
	{ CC_THERMOSTAT_MODE, "thermostat_mode" },
	{ CC_THERMOSTAT_SETPOINT, "thermostat_setpoint" },
	{ CC_CENTRAL_SCENE, "central_scene" },
	{ CC_DOOR_LOCK, "door_lock" },
	{ CC_CONFIGURATION, "configuration" },
	{ CC_NOTIFICATION, "notification" },
	{ CC_MANUFACTURER_SPECIFIC, "manufacturer_specific" },
	{ CC_PROTECTION, "protection" },
	{ CC_BATTERY, "battery" },
	{ CC_CLOCK, "clock" },
	{ CC_WAKE_UP, "wake_up" },
	{ CC_ASSOCIATION, "association" },
	{ CC_VERSION, "version" },
};

/* Older names still found in documentation and other gateways. */
static const struct {
	uint8_t cc;
	const char *name;
} cc_aliases[] = {
	{ CC_NOTIFICATION, "alarm" },
};

const char *cc_name(uint8_t cc)
{
	for (size_t i = 0; i < ARRAY_SIZE(cc_names); i++)
		if (cc_names[i].cc == cc)
			return cc_names[i].name;
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unnamed classes travel as "cc_0x%02x" (see value_key_path); exactly two hex
 * digits, so that each class has one spelling in topics.
 */
int cc_from_name(const char *name)
{
	if (!name)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(cc_names); i++)
		if (strcmp(cc_names[i].name, name) == 0)
			return cc_names[i].cc;
	for (size_t i = 0; i < ARRAY_SIZE(cc_aliases); i++)
		if (strcmp(cc_aliases[i].name, name) == 0)
			return cc_aliases[i].cc;
	if (strncmp(name, "cc_0x", 5) == 0 && hex_digit(name[5]) >= 0 &&
	    hex_digit(name[6]) >= 0 && name[7] == '\0')
		return hex_digit(name[5]) << 4 | hex_digit(name[6]);
	return -ENOENT;
}
