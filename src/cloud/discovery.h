/* SPDX-License-Identifier: MIT */
/*
 * discovery.h: Home Assistant MQTT discovery, the bridge's helper.  For
 * each value of the registry: which Home Assistant component shows it,
 * the retained config topic "<discovery_prefix>/<component>/<unique>/config"
 * and the config's JSON.  Pure: no I/O, no libuv; the bridge decides when
 * configs are sent.
 */
#ifndef ZWGATE_DISCOVERY_H
#define ZWGATE_DISCOVERY_H

#include <stddef.h>

#include <jansson.h>

#include "registry.h"

/* Bytes of a unique_id, with the NUL: P (64 + 1 + 64), node, cc word,
 * endpoint and property (48) fit. */
#define DISCOVERY_UID_MAX 256

/* Where the gateway's topics live; all borrowed. */
struct discovery_names {
	const char *prefix;	      /* P: "zwgate/home-42" */
	const char *discovery_prefix; /* "homeassistant" */
};

/* "switch", "light", "sensor", ... or NULL when v gets no entity. */
const char *discovery_component(const struct registry_value *v);

/*
 * "<P>_<node>_<cc>_<endpoint>_<property>" limited to [A-Za-z0-9_-]
 * (the '/' of P as '_': "zwgate_home-42_6_door_lock_0_locked") into
 * buf.  0 or -ENAMETOOLONG.
 */
int discovery_unique_id(const struct discovery_names *dn,
			const struct registry_value *v, char *buf, size_t len);

/*
 * What every unique_id of this gateway starts with ("zwgate_home-42_"),
 * and so the third level of each of its config topics.  0 or
 * -ENAMETOOLONG.
 */
int discovery_id_prefix(const struct discovery_names *dn, char *buf,
			size_t len);

/* The config topic of v into buf.  0, -ENOENT (no entity), -ENAMETOOLONG. */
int discovery_topic(const struct discovery_names *dn,
		    const struct registry_value *v, char *buf, size_t len);

/*
 * The config of v: a new reference, or NULL when v gets no entity or on
 * allocation failure.  Says nothing of the node but its name,
 * manufacturer and product (never its location).
 */
json_t *discovery_config(const struct discovery_names *dn,
			 const struct registry_value *v);

#endif
