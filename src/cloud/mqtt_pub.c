/* SPDX-License-Identifier: MIT */
/*
 * mqtt_pub.c: MQTT messages: publishing at QoS 1 and its PUBACK, the
 * count in flight and the heap trim once it drains, and incoming
 * messages handed to the user.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#include <mosquitto.h>

#include "log.h"
#include "mqtt.h"
#include "mqtt_int.h"

void mqtt_on_message(struct mosquitto *mosq, void *obj,
		     const struct mosquitto_message *msg,
		     const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->stopping || !m->cbs.message)
		return;
	if (msg->payloadlen < 0 || (unsigned)msg->payloadlen > m->max_payload) {
		log_debug("mqtt: dropped a %d-byte message on %s (limit %u)",
			  msg->payloadlen, msg->topic, m->max_payload);
	} else {
		mqtt_enter(m);
		m->cbs.message(m->cbs.ctx, msg->topic, msg->payload,
			       (size_t)msg->payloadlen, msg->retain);
		mqtt_leave(m);
	}
	errno = saved;
}

/*
 * The first time the queue is empty after a CONNACK, what the link had
 * to catch up on has all been acknowledged: at start-up some 1500
 * retained states and discovery configs (0.8 MB at 232 nodes, half in
 * libmosquitto's queue, half in the outbox, which frees its copies in
 * the published() callback just returned from), after an outage its
 * replay.  glibc keeps such a burst of small blocks for the process, as
 * later blocks pin the heap's top; malloc_trim(0) gives its free pages
 * back.  Once per connect, off the steady path: its walk of the heap
 * (0.1 ms at 232 nodes) costs nothing per message.
 */
static void mqtt_trim(struct mqtt *m)
{
	if (!m->trim_due || m->inflight > 0)
		return;
	m->trim_due = false;
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

/*
 * PUBACK.  libmosquitto forgets the message whatever the reason code; a
 * MQTT 5 refusal (not authorised, quota) will not go better when sent
 * again, so it counts as done, with a warning.
 */
void mqtt_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
		     const mosquitto_property *props)
{
	struct mqtt *m = obj;
	int saved = errno;

	(void)mosq;
	(void)props;
	if (m->inflight > 0)
		m->inflight--;
	if (reason >= 0x80)
		log_warning("mqtt: broker refused message %d: %s", mid,
			    mosquitto_reason_string(reason));
	if (!m->stopping && m->cbs.published) {
		mqtt_enter(m);
		m->cbs.published(m->cbs.ctx, mid);
		if (mqtt_leave(m))
			mqtt_trim(m);
	}
	errno = saved;
}

/*
 * QoS 1.  Once libmosquitto has queued the message it keeps it until
 * the PUBACK, through any number of reconnects of this client:
 * mosquitto_connect_bind_async() marks every unacknowledged QoS 1 message
 * for sending again (message__reconnect_reset()), and after the next
 * CONNACK it sends them again with DUP set and the same mid
 * (message__retry_check()); the PUBACK then calls published() once, as
 * for any message.  So a write that fails after the message was queued
 * (ERRNO, CONN_LOST) is a success here: the message is on its way, the
 * broken socket shows up on the poll.  Beyond the broker's receive
 * maximum (20 unless it says otherwise) messages wait in libmosquitto
 * and still count as in flight.  (-ENOMEM can come after the queueing
 * too; published() may then name a mid the caller never got, which it
 * must ignore.)
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
		 size_t len, bool retain, int *ret_mid)
{
	int rc, mid = 0;

	if (!m || m->stopping || m->state != MQTT_CONNECTED)
		return -ENOTCONN;
	if (!topic || (len && !payload))
		return -EINVAL;
	if (len > INT_MAX)
		return -E2BIG;
	rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, 1,
			       retain);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_ERRNO &&
	    rc != MOSQ_ERR_CONN_LOST)
		return mqtt_to_errno(rc);
	m->inflight++;
	if (ret_mid)
		*ret_mid = mid;
	mqtt_update_poll(m);
	return 0;
}

unsigned mqtt_inflight(const struct mqtt *m)
{
	return m ? m->inflight : 0;
}
