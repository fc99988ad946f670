/* SPDX-License-Identifier: MIT */
/*
 * cloud_trust.c: the trust link's side of the cloud link.
 *
 * - Bundles come in on P/trust/bundle/set (the answer goes to
 *   P/trust/bundle) and on the fleet's retained <prefix>/_fleet/trust/
 *   bundle, which one publish sends to every gateway of the prefix,
 *   including one that comes back after months away.  Both go to
 *   trust_link_offer: the same rules, the same answers.  The fleet's
 *   bundle comes back at every connect, so a bundle that is not newer
 *   than the floor, or is already pending, is ignored there quietly.
 * - P/health and P/trust (trust_report.h), retained, whenever they
 *   change, at every connect (a clustered broker may keep retained
 *   messages per node, and this connect may be to another one) and
 *   once a day on a live link, so that P/trust's "ts" says when the
 *   gateway was last seen.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "cloud.h"
#include "conf.h"
#include "log.h"
#include "mqtt.h"
#include "trust.h"
#include "trust_link.h"
#include "zwtime.h"

#include "cloud_int.h"

int cloud_trust_topics(struct cloud *c)
{
	const struct conf *conf = cloud_conf(c);

	if (asprintf(&c->health_topic, "%s/health", c->prefix) < 0)
		c->health_topic = NULL;
	if (asprintf(&c->report_topic, "%s/trust", c->prefix) < 0)
		c->report_topic = NULL;
	if (asprintf(&c->bundle_in, "%s/trust/bundle/set", c->prefix) < 0)
		c->bundle_in = NULL;
	if (asprintf(&c->bundle_out, "%s/trust/bundle", c->prefix) < 0)
		c->bundle_out = NULL;
	if (asprintf(&c->fleet_in, "%s/" CLOUD_FLEET_BUNDLE,
		     conf->cloud.topic_prefix) < 0)
		c->fleet_in = NULL;
	return c->health_topic && c->report_topic && c->bundle_in &&
		       c->bundle_out && c->fleet_in
		   ? 0
		   : -ENOMEM;
}

void cloud_trust_free_topics(struct cloud *c)
{
	free(c->health_topic);
	free(c->report_topic);
	free(c->bundle_in);
	free(c->bundle_out);
	free(c->fleet_in);
	c->health_topic = c->report_topic = NULL;
	c->bundle_in = c->bundle_out = c->fleet_in = NULL;
}

/* The answer to a bundle goes to P/trust/bundle, not retained. */
static void cloud_bundle_in(struct cloud *c, const void *payload, size_t len,
			    bool fleet)
{
	char why[TRUST_LINK_WHY_MAX];
	json_t *res = NULL, *reply;
	char *s;
	int r;

	r = trust_link_offer(c->trust, payload, len, fleet, &res, why,
			     sizeof(why));
	if (fleet && (r == -EALREADY || r == -ESTALE)) {
		log_debug("cloud: the fleet's bundle on %s: %s", c->fleet_in,
			  why);
		return;
	}
	if (r < 0)
		reply = json_pack("{s:b,s:s,s:s}", "ok", 0, "code",
				  c->deps.bridge.errno_name(r), "error", why);
	else
		reply = json_pack("{s:b,s:o}", "ok", 1, "result", res);
	if (reply && fleet &&
	    json_object_set_new(reply, "topic", json_string(c->fleet_in)) < 0)
		json_decref(reply), reply = NULL;
	s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (s)
		cloud_publish(c, OUTBOX_EVENT, c->bundle_out, s, strlen(s));
	free(s);
	json_decref(reply);
}

/*
 * A bundle left retained on P/trust/bundle/set is taken like any other:
 * it is signed, so replaying it changes nothing (trust_link_offer says
 * so without making the link again).  An empty message there clears a
 * retained bundle and is no offer.
 */
bool cloud_trust_message(struct cloud *c, const char *topic,
			 const void *payload, size_t len)
{
	bool fleet;

	if (!c->trust)
		return false;
	fleet = strcmp(topic, c->fleet_in) == 0;
	if (!fleet && strcmp(topic, c->bundle_in) != 0)
		return false;
	if (len)
		cloud_bundle_in(c, payload, len, fleet);
	else
		log_debug("cloud: empty message on %s ignored", topic);
	return true;
}

size_t cloud_trust_subscriptions(struct cloud *c, const char **subs,
				 size_t room)
{
	size_t n = 0;

	if (c->trust && room >= 2) {
		subs[n++] = c->bundle_in;
		subs[n++] = c->fleet_in;
	}
	return n;
}

static void cloud_put_json(struct cloud *c, const char *topic, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s)
		cloud_publish(c, OUTBOX_STATE, topic, s, strlen(s));
	else
		log_warning("cloud: no memory for %s", topic);
	free(s);
	json_decref(o);
}

/* P/health and P/trust, retained. */
void cloud_trust_publish(struct cloud *c)
{
	const char *version = PACKAGE_VERSION;
	json_int_t now = zwtime_now_ms();
	json_t *r;

	if (!c->trust)
		return;
	cloud_put_json(c, c->health_topic, trust_link_health_json(c->trust));
	r = trust_link_report_json(c->trust);
	if (r && (json_object_set_new(r, "ts", json_integer(now)) < 0 ||
		  json_object_set_new(r, "software", json_string(version)) < 0))
		json_decref(r), r = NULL;
	cloud_put_json(c, c->report_topic, r);
}

static void trust_health(void *ctx)
{
	cloud_trust_publish(ctx);
}

static void trust_reconnect(void *ctx, const char *why)
{
	struct cloud *c = ctx;

	mqtt_reconnect(c->mqtt, why);
}

int cloud_trust_open(struct cloud *c, char *err, size_t errlen)
{
	const struct conf_cloud *cc = &cloud_conf(c)->cloud;
	struct trust_link_opts o = {
		.hosts = (const char *const *)cc->hosts,
		.bundle_path = cc->trust_bundle,
		.state_dir = c->deps.state_dir,
		.synced_file = cc->clock_synced_file,
		.build_time = ZWGATE_BUILD_TIME,
	};
	struct trust_link_cbs cbs = {
		.reconnect = trust_reconnect,
		.health = trust_health,
		.ctx = c,
	};

	if (!cc->trust_bundle)
		return 0;
	return trust_link_open(c->deps.loop, &o, &cbs, &c->trust, err, errlen);
}

static bool no_trust(const struct cloud *c, char *why, size_t whylen)
{
	if (c && c->trust)
		return false;
	snprintf(why, whylen, "no trust bundle is in use (%s)",
		 c ? "the cloud block uses ca-file or plaintext"
		   : "there is no cloud block");
	return true;
}

int cloud_trust_offer(struct cloud *c, const void *buf, size_t len,
		      json_t **result, char *why, size_t whylen)
{
	if (no_trust(c, why, whylen))
		return -ENOTSUP;
	return trust_link_offer(c->trust, buf, len, false, result, why, whylen);
}

json_t *cloud_trust_status(struct cloud *c, char *why, size_t whylen)
{
	json_t *o;

	if (no_trust(c, why, whylen))
		return NULL;
	o = trust_link_status_json(c->trust);
	if (!o)
		snprintf(why, whylen, "out of memory");
	return o;
}
