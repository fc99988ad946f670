/* SPDX-License-Identifier: MIT */
/*
 * cloud.c: the durable publish path.
 *
 *   bridge --cloud_publish--> outbox (on disk) --pump--> mqtt_publish
 *   broker --PUBACK--> mid -> seq --> outbox_ack
 *
 * The pump hands the broker what the outbox holds in sequence order,
 * keeping at most CLOUD_WINDOW messages in flight.  libmosquitto re-sends
 * its own in-flight QoS 1 messages after a reconnect of the same client
 * (message__reconnect_reset in lib/messages.c), so within one process the
 * pump only moves forward; after a restart everything the outbox kept is
 * sent again from the start.  At least once, as QoS 1 promises.
 *
 * The outbox's syncs run in libuv's thread pool: cloud_sync.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "cloud.h"
#include "conf.h"
#include "discovery.h"
#include "fsutil.h"
#include "log.h"
#include "mqtt.h"
#include "outbox.h"
#include "tls.h"
#include "trust_link.h"

#include "cloud_int.h"

static size_t mid_slot(int mid)
{
	return (size_t)mid & (CLOUD_MIDS - 1);
}

/* Linear probing; the table is at most half full. */
static void mid_put(struct cloud *c, int mid, uint64_t seq)
{
	size_t i = mid_slot(mid);

	while (c->mids[i].mid)
		i = (i + 1) & (CLOUD_MIDS - 1);
	c->mids[i] = (struct cloud_mid){ mid, seq };
	c->inflight++;
}

static bool mid_take(struct cloud *c, int mid, uint64_t *ret_seq)
{
	size_t i = mid_slot(mid), j;

	while (c->mids[i].mid != mid) {
		if (!c->mids[i].mid)
			return false;
		i = (i + 1) & (CLOUD_MIDS - 1);
	}
	*ret_seq = c->mids[i].seq;
	c->mids[i].mid = 0;
	c->inflight--;
	/* Re-insert the rest of the cluster so lookups never stop early. */
	for (j = (i + 1) & (CLOUD_MIDS - 1); c->mids[j].mid;
	     j = (j + 1) & (CLOUD_MIDS - 1)) {
		struct cloud_mid m = c->mids[j];

		c->mids[j].mid = 0;
		c->inflight--;
		mid_put(c, m.mid, m.seq);
	}
	return true;
}

/*
 * With "outbox-sync always" a message leaves for the broker only once it
 * is on disk (outbox_durable): one job's fdatasync covers every message
 * put while the one before was out, so the loop never waits for the card
 * and the card sees one sync per job, not per message.  While the outbox
 * cannot write (a full disk), what it holds in memory goes as before:
 * held back, it would never be acked, and the log never freed.
 */
void cloud_pump(struct cloud *c)
{
	uint64_t upto =
	    cloud_conf(c)->cloud.outbox_sync_ms == 0 && c->sync_error == 0
		? outbox_durable(c->ob)
		: UINT64_MAX;
	struct outbox_msg m;
	int mid, r;

	while (c->mqtt && c->inflight < CLOUD_WINDOW &&
	       outbox_next(c->ob, c->cursor, &m) == 0 && m.seq <= upto) {
		r = mqtt_publish(c->mqtt, m.topic, m.payload, m.len,
				 m.kind == OUTBOX_STATE, &mid);
		if (r == -ENOTCONN || r == -ENOMEM)
			break;
		c->cursor = m.seq;
		if (r < 0) {
			/* It would fail the same way forever: drop it. */
			log_warning("cloud: dropping a message to %s: %s",
				    m.topic, strerror(-r));
			c->unsendable++;
			outbox_ack(c->ob, m.seq);
			continue;
		}
		mid_put(c, mid, m.seq);
	}
	cloud_sync_soon(c);
}

int cloud_publish(struct cloud *c, enum outbox_kind kind, const char *topic,
		  const void *payload, size_t len)
{
	uint64_t seq;
	int r = outbox_put(c->ob, kind, topic, payload, len, &seq);

	/* These refuse the message; any other error is a failed write,
	 * which leaves it queued in memory for the sync timer to retry. */
	if (r == -EINVAL || r == -EFBIG || r == -EOVERFLOW || r == -ENOMEM) {
		log_warning("cloud: message to %s refused: %s", topic,
			    strerror(-r));
		return r;
	}
	if (r < 0)
		cloud_note_sync(c, r);
	else if (cloud_conf(c)->cloud.outbox_sync_ms == 0)
		cloud_sync_start(c);
	cloud_pump(c);
	return 0;
}

static int bridge_publish(void *ctx, enum outbox_kind kind, const char *topic,
			  const void *payload, size_t len)
{
	return cloud_publish(ctx, kind, topic, payload, len);
}

/* The broker in use or being tried. */
static const char *cloud_host(const struct cloud *c)
{
	struct mqtt_info mi;

	mqtt_get_info(c->mqtt, &mi);
	return mi.host ? mi.host : cloud_conf(c)->cloud.hosts[0];
}

static void on_connected(void *ctx, bool session_present)
{
	struct cloud *c = ctx;
	int mid;

	if (c->trust)
		trust_link_connected(c->trust);
	log_info("cloud: connected to %s (session %s)", cloud_host(c),
		 session_present ? "resumed" : "new");
	/* Not through the outbox: the last will says "offline" for us. */
	mqtt_publish(c->mqtt, c->status_topic, "online", 6, true, &mid);
	cloud_trust_publish(c);
	bridge_connected(c->bridge);
	/* One broker keeps what was retained there; several may not. */
	if (cloud_conf(c)->cloud.hosts[1])
		bridge_republish(c->bridge);
	cloud_pump(c);
	if (c->deps.on_state)
		c->deps.on_state(c->deps.ctx, CLOUD_CONNECTED);
}

static void on_disconnected(void *ctx, const char *why)
{
	struct cloud *c = ctx;

	log_notice("cloud: disconnected from %s: %s", cloud_host(c), why);
	if (c->trust)
		trust_link_disconnected(c->trust);
	if (c->deps.on_state)
		c->deps.on_state(c->deps.ctx, CLOUD_DISCONNECTED);
}

static void on_failed(void *ctx, const char *why)
{
	struct cloud *c = ctx;

	if (c->trust)
		trust_link_failed(c->trust, why);
}

/* Bundles are cloud_trust.c's; commands, retained or not, the bridge's. */
static void on_message(void *ctx, const char *topic, const void *payload,
		       size_t len, bool retained)
{
	struct cloud *c = ctx;

	if (!cloud_trust_message(c, topic, payload, len))
		bridge_message(c->bridge, topic, payload, len, retained);
}

static void on_published(void *ctx, int mid)
{
	struct cloud *c = ctx;
	uint64_t seq;

	if (!mid_take(c, mid, &seq))
		return; /* "online" and other direct messages */
	outbox_ack(c->ob, seq);
	cloud_pump(c);
}

static int cloud_tls(struct cloud *c)
{
	const struct conf_cloud *cc = &cloud_conf(c)->cloud;
	struct tls_opts o = {
		.host = cc->hosts[0], /* mqtt sets each one before its dial */
		.ca_file = cc->ca_file,
		.client_cert = cc->client_cert,
		.client_key = cc->client_key,
	};
	char err[512];
	int r;

	if (cc->insecure_plaintext) {
		log_warning("cloud: plaintext MQTT to %s%s (loopback only)",
			    cc->connect_to ? cc->connect_to[0] : cc->hosts[0],
			    cc->hosts[1] ? " and the others" : "");
		return 0;
	}
	r = cloud_trust_open(c, err, sizeof(err));
	if (r < 0) {
		log_error("cloud: trust: %s", err);
		return r;
	}
	if (c->trust) {
		o.verify = trust_link_verify;
		o.verify_arg = c->trust;
	}
	r = tls_ctx_new(&o, &c->ssl, err, sizeof(err));
	if (r < 0)
		log_error("cloud: %s", err);
	return r;
}

static int cloud_mqtt(struct cloud *c)
{
	const struct conf_cloud *cc = &cloud_conf(c)->cloud;
	const char *const *subs = bridge_subscriptions(c->bridge);
	struct mqtt_opts o = {
		.port = cc->port,
		.protocol = cc->protocol,
		.client_id = cloud_conf(c)->gateway_id,
		.keepalive_s = cc->keepalive_s,
		.ssl_ctx = c->ssl,
		.will_topic = c->status_topic,
		.will_payload = "offline",
		.max_payload = CLOUD_MAX_IN,
		.backoff_max_ms = cc->reconnect_max_s * 1000,
	};
	struct mqtt_cbs cbs = {
		.connected = on_connected,
		.disconnected = on_disconnected,
		.failed = on_failed,
		.message = on_message,
		.published = on_published,
		.ctx = c,
	};
	size_t n = 0;
	int r;

	for (n = 0; cc->hosts[n] && n < MQTT_HOSTS_MAX; n++) {
		o.hosts[n] = cc->hosts[n];
		o.connect_to[n] = cc->connect_to ? cc->connect_to[n] : NULL;
	}
	n = 0;
	/* Room for the trust topics (2); o.subs ends with a NULL. */
	while (subs && subs[n] && n < MQTT_SUBS_MAX - 2) {
		o.subs[n] = subs[n];
		n++;
	}
	n += cloud_trust_subscriptions(c, o.subs + n, MQTT_SUBS_MAX - n);
	r = mqtt_start(c->deps.loop, &o, &cbs, &c->mqtt);
	if (r < 0)
		log_error("cloud: MQTT client did not start: %s", strerror(-r));
	return r;
}

/*
 * Errors that say the outbox's files are not what they must be (a
 * directory or a FIFO where the log goes, a file where its directory
 * goes, a log another user owns, unreadable sectors), as opposed to a
 * second zwgated holding its lock, or no memory.
 */
static bool outbox_damaged(int r)
{
	return r == -EISDIR || r == -ENOTDIR || r == -EINVAL || r == -ELOOP ||
	       r == -EACCES || r == -EPERM || r == -EIO;
}

/*
 * A damaged outbox is set aside, never deleted, and the cloud link starts
 * with an empty one: the home must not stop for it.  What goes aside is
 * the directory when it is not one we can use, else its log.
 */
static int outbox_aside(const char *state_dir, const char *dir, int why)
{
	char *log = fs_join(dir, OUTBOX_LOG_NAME), *aside = NULL;
	const char *what = dir, *in = state_dir, *name = CLOUD_OUTBOX_DIR;
	struct stat st;
	int r;

	if (!log)
		return -ENOMEM;
	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(dir, R_OK | W_OK | X_OK) == 0) {
		what = log;
		in = dir;
		name = OUTBOX_LOG_NAME;
	}
	r = fs_set_aside(in, name, &aside);
	if (r < 0)
		log_error("outbox %s: %s, and it cannot be set aside: %s", what,
			  strerror(-why), strerror(-r));
	else
		log_warning("outbox %s: %s; kept it as %s, starting with an "
			    "empty outbox",
			    what, strerror(-why), aside);
	free(aside);
	free(log);
	return r;
}

/* What the start found in the outbox. */
static void outbox_report(const struct outbox *ob, const char *dir)
{
	struct outbox_stats st;

	outbox_get_stats(ob, &st);
	if (st.truncated && st.cut_error)
		log_warning("outbox %s: %llu byte(s) at its end were no whole "
			    "record (a write cut short by a crash or a full "
			    "disk, or damage) and were cut; they could not be "
			    "kept: %s",
			    outbox_path(ob), (unsigned long long)st.truncated,
			    strerror(-st.cut_error));
	else if (st.truncated)
		log_warning("outbox %s: %llu byte(s) at its end were no whole "
			    "record (a write cut short by a crash or a full "
			    "disk, or damage) and were cut; kept in %s/%s",
			    outbox_path(ob), (unsigned long long)st.truncated,
			    dir, OUTBOX_CUT_NAME);
	if (st.foreign)
		log_warning(
		    "outbox %s: %llu message(s) for topics that are not "
		    "this gateway's were dropped, not sent (a log "
		    "from another gateway, or planted)",
		    outbox_path(ob), (unsigned long long)st.foreign);
	if (st.recovered)
		log_info("outbox %s: %llu message(s) to send from before",
			 outbox_path(ob), (unsigned long long)st.recovered);
}

/*
 * The outbox sends only what this gateway could have put there: topics
 * under P/, and discovery configs of its own entities
 * ("<discovery-prefix>/+/<P as an id>_...").  A record for another topic
 * (say another gateway's P, or a config that would give Home Assistant
 * another gateway's entity with command topics of the writer's choice,
 * written into the file) would otherwise be published under this
 * gateway's identity.  Never the command topics the gateway subscribes
 * to either: the broker would send such a record back to it, and it
 * would be carried out as a command (a door unlocked at every start).
 */
static int cloud_outbox(struct cloud *c)
{
	const struct conf_cloud *cc = &cloud_conf(c)->cloud;
	const struct discovery_names dn = { .prefix = c->prefix };
	char own[OUTBOX_TOPIC_MAX], disc[OUTBOX_TOPIC_MAX];
	char value_set[OUTBOX_TOPIC_MAX], api_set[OUTBOX_TOPIC_MAX];
	char id[DISCOVERY_UID_MAX];
	const char *topics[] = { own, cc->discovery_prefix ? disc : NULL,
				 NULL };
	const char *refused[] = { value_set, api_set, c->bundle_in, NULL };
	struct outbox_opts o = {
		.max_bytes = cc->outbox_max_bytes,
		.sync_ms = cc->outbox_sync_ms,
		.keep_cut = true,
		.deferred = true, /* the jobs are cloud.c's */
		.topics = topics,
		.refused = refused,
	};
	char *dir = fs_join(c->deps.state_dir, CLOUD_OUTBOX_DIR);
	int r;

	if (!dir)
		return -ENOMEM;
	/* They fit: P and the discovery prefix are short (conf.c). */
	snprintf(own, sizeof(own), "%s/", c->prefix);
	snprintf(value_set, sizeof(value_set), BRIDGE_SUB_VALUE_SET, c->prefix);
	snprintf(api_set, sizeof(api_set), BRIDGE_SUB_API_SET, c->prefix);
	if (discovery_id_prefix(&dn, id, sizeof(id)) < 0) {
		free(dir);
		return -ENAMETOOLONG;
	}
	snprintf(disc, sizeof(disc), "%s/+/%s",
		 cc->discovery_prefix ? cc->discovery_prefix : "", id);
	r = outbox_open(dir, &o, &c->ob);
	if (outbox_damaged(r) && outbox_aside(c->deps.state_dir, dir, r) == 0)
		r = outbox_open(dir, &o, &c->ob);
	if (r < 0)
		log_error("outbox %s: %s", dir, strerror(-r));
	else
		outbox_report(c->ob, dir);
	free(dir);
	return r;
}

int cloud_start(const struct cloud_deps *deps, struct cloud **ret)
{
	const struct conf *conf = deps->conf(deps->ctx);
	struct cloud *c = calloc(1, sizeof(*c));
	struct bridge_deps bd;
	struct bridge_opts bo;
	struct bridge_out out;
	int r;

	if (!c)
		return -ENOMEM;
	c->deps = *deps;
	if (asprintf(&c->prefix, "%s/%s", conf->cloud.topic_prefix,
		     conf->gateway_id) < 0 ||
	    asprintf(&c->status_topic, "%s/status", c->prefix) < 0) {
		/* asprintf leaves its pointer undefined on failure */
		c->prefix = c->status_topic = NULL;
		cloud_stop(c);
		return -ENOMEM;
	}
	if (cloud_trust_topics(c) < 0) {
		cloud_stop(c);
		return -ENOMEM;
	}
	uv_timer_init(deps->loop, &c->sync_timer);
	c->sync_timer.data = c;
	bo = (struct bridge_opts){
		.prefix = c->prefix,
		.discovery = conf->cloud.discovery,
		.discovery_prefix = conf->cloud.discovery_prefix,
		.controller_ops = conf->cloud.allow_controller_ops,
	};
	bd = (struct bridge_deps){ .loop = deps->loop,
				   .reg = deps->reg,
				   .ops = deps->bridge };
	out = (struct bridge_out){ .publish = bridge_publish, .ctx = c };
	if ((r = cloud_outbox(c)) < 0 || (r = cloud_tls(c)) < 0 ||
	    (r = bridge_start(&bd, &bo, &out, &c->bridge)) < 0 ||
	    (r = cloud_mqtt(c)) < 0) {
		cloud_stop(c);
		return r;
	}
	*ret = c;
	return 0;
}

void cloud_stop(struct cloud *c)
{
	int mid;

	if (!c)
		return;
	if (c->mqtt) {
		/* A clean DISCONNECT suppresses the will: say it ourselves. */
		mqtt_publish(c->mqtt, c->status_topic, "offline", 7, true,
			     &mid);
		mqtt_stop(c->mqtt);
	}
	bridge_stop(c->bridge);
	c->stopping = true;
	if (c->ssl)
		SSL_CTX_free(c->ssl);
	trust_link_close(c->trust);
	free(c->prefix);
	free(c->status_topic);
	cloud_trust_free_topics(c);
	c->ssl = NULL;
	c->trust = NULL;
	c->prefix = c->status_topic = NULL;
	/* The outbox now, or when the job out is back: the loop runs until
	 * it is (a queued uv_work_t keeps it alive). */
	if (c->sync_timer.loop)
		uv_close((uv_handle_t *)&c->sync_timer, cloud_sync_closed);
	cloud_finish(c);
}

const char *cloud_state_word(const struct cloud *c)
{
	struct mqtt_info mi;

	if (!c || !c->mqtt)
		return "off";
	mqtt_get_info(c->mqtt, &mi);
	return mqtt_state_name(mi.state);
}

/* Adds key: v (taken) to o; false when it could not (no memory). */
static bool put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0;
}

static json_t *cloud_hosts_json(const struct cloud *c)
{
	char *const *h = cloud_conf(c)->cloud.hosts;
	json_t *a = json_array();

	for (size_t i = 0; a && h[i]; i++)
		if (json_array_append_new(a, json_string(h[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *cloud_status_json(const struct cloud *c)
{
	struct outbox_stats st;
	struct mqtt_info mi;
	json_t *o, *err;
	bool ok = true;

	mqtt_get_info(c->mqtt, &mi);
	outbox_get_stats(c->ob, &st);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "state",
		      mqtt_state_name(mi.state), "host", mi.host ? mi.host : "",
		      "connects", (json_int_t)mi.connects, "outbox_pending",
		      (json_int_t)st.pending, "outbox_dropped",
		      (json_int_t)st.dropped);
	if (!o)
		return NULL;
	if (cloud_conf(c)->cloud.hosts[1])
		ok &= put(o, "hosts", cloud_hosts_json(c));
	if (mi.connected_since_ms)
		ok &= put(o, "connected_since_ms",
			  json_integer((json_int_t)mi.connected_since_ms));
	if (mi.last_error[0])
		ok &= put(o, "last_error", json_string(mi.last_error));
	if (mi.state == MQTT_BACKOFF) {
		ok &= put(o, "attempt", json_integer(mi.attempt));
		ok &= put(o, "next_try_s",
			  json_integer(
			      (json_int_t)((mi.next_try_in_ms + 999) / 1000)));
	}
	ok &=
	    put(o, "outbox_unwritten", json_integer((json_int_t)st.unwritten));
	/* No path here: the cloud may ask for the status (the log names
	 * the file). */
	if (st.last_error)
		ok &= put(o, "outbox_error",
			  json_string(strerror(-st.last_error)));
	/* The log grows meanwhile; no message is at stake. */
	if (st.compact_error)
		ok &= put(o, "outbox_compact_error",
			  json_string(strerror(-st.compact_error)));
	if (st.recovered)
		ok &= put(o, "outbox_recovered",
			  json_integer((json_int_t)st.recovered));
	if (st.foreign)
		ok &= put(o, "outbox_foreign",
			  json_integer((json_int_t)st.foreign));
	if (st.truncated)
		ok &= put(o, "outbox_cut_bytes",
			  json_integer((json_int_t)st.truncated));
	if (c->unsendable)
		ok &= put(o, "unsendable",
			  json_integer((json_int_t)c->unsendable));
	if (c->trust && (err = trust_link_store_error(c->trust)))
		ok &= put(o, "trust_store_error", err);
	/* A status with fields missing would say what is not so. */
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void cloud_set_controller_ops(struct cloud *c, bool on)
{
	if (c && c->bridge)
		bridge_set_controller_ops(c->bridge, on);
}
