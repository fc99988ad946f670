/* SPDX-License-Identifier: MIT */
/*
 * cc.h: Z-Wave command classes, by number and by name.
 *
 * The numbers every layer uses (the sim's templates, OpenZWave's values,
 * Home Assistant discovery) are defined here once; the names are how a
 * class travels in topics, the control socket and the rules
 * ("switch_binary", or "cc_0x99" for a class without a name).
 */
#ifndef ZWGATE_CC_H
#define ZWGATE_CC_H

#include <stdint.h>

#define CC_BASIC		 0x20
#define CC_SWITCH_BINARY	 0x25
#define CC_SWITCH_MULTILEVEL	 0x26
#define CC_SWITCH_ALL		 0x27
#define CC_SCENE_ACTIVATION	 0x2b
#define CC_SENSOR_BINARY	 0x30
#define CC_SENSOR_MULTILEVEL	 0x31
#define CC_METER		 0x32
#define CC_COLOR		 0x33
#define CC_THERMOSTAT_MODE	 0x40
#define CC_THERMOSTAT_SETPOINT	 0x43
#define CC_CENTRAL_SCENE	 0x5b
#define CC_DOOR_LOCK		 0x62
#define CC_CONFIGURATION	 0x70
#define CC_NOTIFICATION		 0x71
#define CC_MANUFACTURER_SPECIFIC 0x72
#define CC_PROTECTION		 0x75
#define CC_BATTERY		 0x80
#define CC_CLOCK		 0x81
#define CC_WAKE_UP		 0x84
#define CC_ASSOCIATION		 0x85
#define CC_VERSION		 0x86

/* Command classes by name ("switch_binary") and back; NULL / -ENOENT. */
const char *cc_name(uint8_t cc);
int cc_from_name(const char *name);

#endif
