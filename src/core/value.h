/* SPDX-License-Identifier: MIT */
/*
 * value.h: Z-Wave value identity, metadata and typed values.
 *
 * These are the words every module uses for "a value of a node": the
 * backends produce them, the registry stores them, the control socket, the
 * MQTT bridge and the rules engine read and parse them.  Plain C, no I/O.
 */
#ifndef ZWGATE_VALUE_H
#define ZWGATE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cc.h" /* a key names its command class: cc_name() */

/*
 * Z-Wave node ids: 1 to 232 on the mesh, 256 to 4000 for Long Range nodes
 * (zwave-js numbers them so; 233 to 255 are no node's).  Arrays indexed by
 * node id are ZW_NODE_MAX + 1 long; zw_node_valid() says which ids are
 * real.
 */
#define ZW_NODE_MIN	  1
#define ZW_NODE_MESH_MAX  232
#define ZW_NODE_LR_MIN	  256
#define ZW_NODE_MAX	  4000
#define ZW_NODE_RANGE_TXT "1..232 or 256..4000"

static inline bool zw_node_valid(unsigned long id)
{
	return (id >= ZW_NODE_MIN && id <= ZW_NODE_MESH_MAX) ||
	       (id >= ZW_NODE_LR_MIN && id <= ZW_NODE_MAX);
}

/* Limits on names that come from devices, files or users. */
#define ZW_PROPERTY_MAX	 48 /* "currentValue", "temperature": [A-Za-z0-9_-] */
#define ZW_UNIT_MAX	 16
#define ZW_LABEL_MAX	 64
#define ZW_ENUM_MAX	 32  /* items in an enum value */
#define ZW_ENUM_ITEM_MAX 32  /* bytes of one item, with the NUL */
#define ZW_STRING_MAX	 256 /* bytes of a string value, with the NUL */

enum value_type {
	VALUE_BOOL,
	VALUE_INT,
	VALUE_FLOAT,
	VALUE_STRING,
	VALUE_ENUM,   /* an integer index into zw_meta.items */
	VALUE_BUTTON, /* write-only: any write presses it */
};

/*
 * Identity of a value: the same shape as the MQTT topic
 * <node>/<cc>/<endpoint>/<property>.
 */
struct value_key {
	uint16_t node;
	uint8_t cc;	  /* command class number, e.g. 0x25 */
	uint8_t endpoint; /* 0 for the root device */
	char property[ZW_PROPERTY_MAX];
};

/*
 * What a value is.  Filled by a backend; copied by the registry.
 *
 * The items of an enum are behind a pointer, allocated for enums only and
 * exactly nitems long: inline, they made every value of every type carry
 * 1 KB, twice (in the backend and in the registry).  items belongs to
 * whoever filled the meta: a backend owns what it fills, the registry its
 * copies.  So a meta is copied with value_meta_copy, not by assignment, and
 * its owner releases it with value_meta_clear.  A meta passed in an event
 * is borrowed, as everything in it.
 */
struct value_meta {
	struct value_key key;
	enum value_type type;
	char unit[ZW_UNIT_MAX];	  /* "°C", "W", "" */
	char label[ZW_LABEL_MAX]; /* human text from the device, may be "" */
	double min, max;	  /* for INT and FLOAT; min > max: no range */
	uint8_t precision;	  /* decimals shown for FLOAT */
	bool readable, writable;
	size_t nitems;			 /* ENUM only; at most ZW_ENUM_MAX */
	char (*items)[ZW_ENUM_ITEM_MAX]; /* nitems texts, or NULL */
};

/* A typed value.  STRING owns its buffer only where a function says so. */
struct value {
	enum value_type type;
	union {
		bool b;
		int64_t i; /* INT and ENUM */
		double f;
		char *s;
	} u;
};

const char *value_type_name(enum value_type type);

/*
 * Give m room for n items (1 to ZW_ENUM_MAX), all "", in place of those it
 * had: 0, -EINVAL (n out of range) or -ENOMEM; m is untouched on failure.
 */
int value_meta_alloc_items(struct value_meta *m, size_t n);
/* Deep copy of src into dst, whose own items are not freed; 0, -ENOMEM.
 * *dst is untouched on failure. */
int value_meta_copy(struct value_meta *dst, const struct value_meta *src);
/* Release the items m owns; m is left with none.  m may be NULL. */
void value_meta_clear(struct value_meta *m);

/* The items of m that can be read: none when there is no array, or when
 * nitems is beyond the limit (a meta the registry would refuse). */
static inline size_t value_meta_nitems(const struct value_meta *m)
{
	return m->items && m->nitems <= ZW_ENUM_MAX ? m->nitems : 0;
}

/* Release what a value owns (a STRING's buffer); the value becomes BOOL 0. */
void value_clear(struct value *v);
/* Deep copy; 0 or -ENOMEM.  *dst is untouched on failure. */
int value_copy(struct value *dst, const struct value *src);
bool value_equal(const struct value *a, const struct value *b);

/* JSON form of a value: true, 12, 21.5, "text", enum as its item text. */
json_t *value_to_json(const struct value *v, const struct value_meta *meta);

/*
 * Parse what a user or the cloud sent for a write to a value of type meta:
 * JSON true/false, numbers, strings; "on"/"off"/"true"/"false"/"1"/"0" for
 * BOOL; an enum's item text or index; numbers given as strings.  Checks
 * type and range.  Returns 0, or -EINVAL with a reason in err.  A STRING
 * result owns its buffer (free with value_clear).
 */
int value_from_json(const json_t *in, const struct value_meta *meta,
		    struct value *ret, char *err, size_t errlen);
/* The same for a word typed on a command line or in a rule ("on", "40"). */
int value_from_text(const char *text, const struct value_meta *meta,
		    struct value *ret, char *err, size_t errlen);

static inline bool value_key_equal(const struct value_key *a,
				   const struct value_key *b)
{
	return a->node == b->node && a->cc == b->cc &&
	       a->endpoint == b->endpoint &&
	       __builtin_strcmp(a->property, b->property) == 0;
}

/* "switch_binary/0/currentValue" into buf; returns buf. */
char *value_key_path(const struct value_key *key, char *buf, size_t len);
/* Is s usable as a property (and so as a topic level)? */
bool value_property_valid(const char *s);

/* Are len bytes at s UTF-8 with no control character (C0, DEL, C1)? */
bool value_text_valid(const char *s, size_t len);
/*
 * Copy src into dst (size bytes with the NUL) as printable UTF-8: each
 * invalid or control byte becomes '?', and no character is cut in half.
 * Returns the bytes of src used: src[ret] != '\0' means it was cut.
 */
size_t value_text_copy(char *dst, size_t size, const char *src);

#endif
