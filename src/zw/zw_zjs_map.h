/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_map.h: zwave-js values (as @zwave-js/server sends them) to
 * zwgate's registry keys, metas and values, and back.  Pure: no I/O.
 *
 * The keys are the ones the OpenZWave backend gives for the same devices
 * (docs/VALUES.md has the table), so that rules and topics work on either
 * backend.
 */
#ifndef ZWGATE_ZW_ZJS_MAP_H
#define ZWGATE_ZW_ZJS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "value.h"

#define ZJS_VID_TEXT_MAX 64

/* zwave-js's own id of a value: what its commands and events carry. */
struct zjs_vid {
	uint8_t cc, endpoint;
	char property[ZJS_VID_TEXT_MAX]; /* a string, or a number as text */
	bool property_is_num;
	char property_key[ZJS_VID_TEXT_MAX]; /* "" when none */
	bool has_key, key_is_num;
};

/*
 * The zwave-js numbers behind an enum's items: item i is state num[i].
 * Filled by zjs_map_meta (in ascending order of the numbers), kept by the
 * caller beside the meta, and given back to read and write the value.
 */
struct zjs_states {
	size_t n;
	int64_t num[ZW_ENUM_MAX];
};

/* From a value entry or an event's args: 0 or -EINVAL (with a reason). */
int zjs_vid_from_json(const json_t *obj, struct zjs_vid *id, char *err,
		      size_t len);
/* Same value?  (Compare ids with this, not memcmp.) */
bool zjs_vid_equal(const struct zjs_vid *a, const struct zjs_vid *b);
/* {"commandClass":..,"endpoint":..,"property":..,["propertyKey":..]}, with
 * numbers as numbers; NULL when out of memory. */
json_t *zjs_vid_to_json(const struct zjs_vid *id);

/*
 * The registry key for node's value id: 0; 1 for a value zwgate leaves
 * out (targetValue of a switch: currentValue stands for it; node info;
 * Basic; values without state or of a type it does not show, when
 * metadata, which may be NULL, says so); -EINVAL when it cannot be named.
 * The key is not yet made unique on its endpoint.
 */
int zjs_map_key(uint16_t node, const struct zjs_vid *id, const json_t *metadata,
		struct value_key *key);

/*
 * The meta (type, unit, label, range, enum items, readable, writable)
 * from zwave-js metadata; key copied in.  writable_override makes it
 * writable: the caller passes true for the currentValue of a switch whose
 * node has the targetValue (zjs_map_write_vid's id).  states (may be
 * NULL) gets an enum's numbers.  0; 1 for a type zwgate does not show;
 * -EINVAL with a reason; -ENOMEM.  The meta's items are the caller's
 * (value_meta_clear).
 */
int zjs_map_meta(const struct value_key *key, const json_t *metadata,
		 bool writable_override, struct value_meta *meta,
		 struct zjs_states *states, char *err, size_t len);

/*
 * A zwave-js JSON value into a value of meta's type (a STRING owns its
 * buffer: value_clear frees it): 0; 1 when there is no value (NULL, JSON
 * null, or a button); -EINVAL for a value of the wrong type, or an enum's
 * number that is not one of states; -ENOMEM.
 */
int zjs_map_value(const json_t *v, const struct value_meta *meta,
		  const struct zjs_states *states, struct value *out);

/* The other way, for node.set_value: a zwgate value as the JSON zwave-js
 * wants; NULL when it does not fit meta (or out of memory). */
json_t *zjs_map_value_json(const struct value *v, const struct value_meta *meta,
			   const struct zjs_states *states);

/* The id to write for a value read as id (currentValue -> targetValue of
 * a switch, currentMode -> targetMode of a door lock). */
void zjs_map_write_vid(const struct zjs_vid *read, struct zjs_vid *write);

#endif
