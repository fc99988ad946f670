/* SPDX-License-Identifier: MIT */
/*
 * cloud.h: the cloud link: the MQTT client, the outbox that makes it
 * durable, and the bridge that decides what is said.  Every message goes
 * into the outbox first and leaves it only when the broker acknowledged
 * it (PUBACK), so an outage or a crash loses nothing that was accepted.
 */
#ifndef ZWGATE_CLOUD_H
#define ZWGATE_CLOUD_H

#include <jansson.h>

#include "outbox.h"

struct daemon;
struct cloud;

/* Start from d->conf->cloud (which must be set).  0 or -errno, logged. */
int cloud_start(struct daemon *d, struct cloud **ret);
/* Publish "offline", disconnect, sync the outbox, close.  NULL ok. */
void cloud_stop(struct cloud *c);

/* Queue a message for the broker.  0 or -errno. */
int cloud_publish(struct cloud *c, enum outbox_kind kind, const char *topic,
		  const void *payload, size_t len);

/* {"state":"connected","since":..,"last_error":..,"outbox":{..}} */
json_t *cloud_status_json(const struct cloud *c);
/*
 * The trust commands of the control socket (trust-import, trust-status).
 * Without a trust bundle in use: -ENOTSUP / NULL with why.
 */
int cloud_trust_offer(struct cloud *c, const void *buf, size_t len,
		      json_t **result, char *why, size_t whylen);
json_t *cloud_trust_status(struct cloud *c, char *why, size_t whylen);

/* One word for STATUS=: "connected", "connecting", "offline". */
const char *cloud_state_word(const struct cloud *c);

#endif
