/* SPDX-License-Identifier: MIT */
/*
 * trust_link_status.c: the trust link as JSON: the local status
 * (zwgatectl trust status), the health (P/health) and the public report
 * (P/trust, trust_report.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trust.h"
#include "trust_link.h"
#include "trust_link_int.h"
#include "trust_report.h"

static json_t *link_time(int64_t t)
{
	char buf[21];

	trust_time_format(t, buf);
	return json_string(buf);
}

/* json_object_set_new, which takes v (NULL: no memory) even when it
 * fails: 0 or -ENOMEM. */
static int link_put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static json_t *link_bundle(const struct trust_bundle *b, const char *from,
			   int64_t now)
{
	json_t *o = trust_bundle_info_json(b, now);

	if (o && from && link_put(o, "from", json_string(from)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *link_last(const struct trust_link *t)
{
	const struct trust_last *l = &t->last;
	json_t *o, *chain;

	if (!l->set)
		return json_null();
	chain = json_array();
	for (size_t i = 0; chain && i < l->v.nchain; i++)
		json_array_append_new(chain, json_string(l->v.chain[i]));
	o = json_pack(
	    "{s:o,s:b,s:s,s:I,s:s,s:b,s:o,s:s,s:s}", "at", link_time(l->at),
	    "ok", l->ok, "bundle", l->pending ? "pending" : "active", "version",
	    (json_int_t)l->version, "mode", trust_mode_name(l->v.mode),
	    "recovery", l->v.recovery, "chain", chain ? chain : json_array(),
	    "pin", l->v.pin, "reason", l->v.reason);
	return o;
}

static void link_warn(json_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void link_warn(json_t *w, const char *fmt, ...)
{
	char buf[TRUST_REASON_MAX + TRUST_SUBJECT_MAX];
	va_list ap;

	if (json_array_size(w) >= TRUST_LINK_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(w, json_string(buf));
}

static void link_warn_anchors(json_t *w, const json_t *info)
{
	const json_t *a;
	size_t i;

	json_array_foreach(json_object_get(info, "anchors"), i, a)
	{
		json_int_t d =
		    json_integer_value(json_object_get(a, "days_left"));
		const char *s =
		    json_string_value(json_object_get(a, "subject"));

		if (d < 0)
			link_warn(w, "anchor %s expired %lld days ago",
				  s ? s : "?", -(long long)d);
		else if (d < TRUST_WARN_DAYS)
			link_warn(w, "anchor %s expires in %lld days",
				  s ? s : "?", (long long)d);
	}
}

/* Pins of the bundle that the broker's chain does not use: the backups. */
static size_t link_backup_pins(const struct trust_link *t,
			       const struct trust_bundle *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->npins; i++) {
		bool in_chain = false;

		for (size_t j = 0; j < t->last.npins; j++)
			in_chain |= strcmp(b->pins[i], t->last.pins[j]) == 0;
		n += !in_chain;
	}
	return n;
}

static json_t *link_warnings(const struct trust_link *t,
			     const struct trust_store_info *si,
			     const json_t *info, int64_t now)
{
	const struct trust_bundle *b = si->active;
	json_t *w = json_array();
	char when[21];

	if (!w)
		return NULL;
	/* What the store set aside at start (a slot that does not verify,
	 * a floor lowered): someone may have written the state directory.
	 * The details name paths, for the local status only. */
	if (si->warning)
		link_warn(w, "the trust store found files at start that "
			     "it does not trust or cannot use (see "
			     "zwgatectl trust status)");
	trust_time_format(b->expires, when);
	if (now >= b->expires)
		link_warn(w,
			  "trust bundle version %llu expired on %s: "
			  "connecting with chain validation only (no "
			  "pins) until a new bundle arrives",
			  (unsigned long long)b->version, when);
	else if ((b->expires - now) / 86400 < TRUST_WARN_DAYS)
		link_warn(w,
			  "trust bundle version %llu expires in "
			  "%lld days (%s)",
			  (unsigned long long)b->version,
			  (long long)((b->expires - now) / 86400), when);
	link_warn_anchors(w, info);
	if (t->last.set && t->last.ok && !t->last.pending && t->last.npins &&
	    link_backup_pins(t, b) == 0)
		link_warn(w,
			  "no backup pin: every pin of bundle version "
			  "%llu is in the chain the broker presents",
			  (unsigned long long)b->version);
	return w;
}

static json_t *link_recovery(const struct trust_bundle *f, int64_t now)
{
	json_t *a = json_array();

	for (int i = 0; a && i < sk_X509_num(f->recovery); i++)
		json_array_append_new(
		    a,
		    trust_cert_info_json(sk_X509_value(f->recovery, i), now));
	return a;
}

static json_t *link_pending(const struct trust_store_info *si, int64_t now)
{
	json_t *o;

	if (!si->pending)
		return json_null();
	o = link_bundle(si->pending, si->pending_from, now);
	if (o && link_put(o, "tries", json_integer(si->pending_tries)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *trust_link_status_json(struct trust_link *t)
{
	struct trust_store_info si;
	struct trust_policy p;
	json_t *o, *active;
	bool pending;

	trust_link_policy(t, &p, &pending);
	trust_store_info(t->store, &si);
	active = link_bundle(si.active, si.active_from, p.now);
	if (!active)
		return NULL;
	o = json_pack("{s:s,s:{s:o,s:o,s:b},s:I,s:o,s:o,s:o,s:o}", "mode",
		      trust_mode_name(trust_policy_mode(&p)), "clock", "now",
		      link_time(p.now), "floor", link_time(p.floor), "synced",
		      p.clock_synced, "floor", (json_int_t)si.floor, "active",
		      active, "pending", link_pending(&si, p.now), "recovery",
		      link_recovery(si.factory, p.now), "last", link_last(t));
	if (!o)
		return NULL;
	/* A status with fields missing would say what is not so. */
	if ((si.dropped &&
	     link_put(o, "dropped", json_string(si.dropped)) < 0) ||
	    (si.write_file &&
	     link_put(o, "store_error", trust_link_store_error(t)) < 0) ||
	    (si.warning &&
	     link_put(o, "store_warning", json_string(si.warning)) < 0) ||
	    link_put(o, "warnings", link_warnings(t, &si, active, p.now)) < 0 ||
	    link_put(o, "alarm",
		     json_boolean(json_array_size(
			 json_object_get(o, "warnings")))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A file name of the store's, not a path: the cloud may ask for it. */
json_t *trust_link_store_error(const struct trust_link *t)
{
	struct trust_store_info si;
	char buf[128];

	trust_store_info(t->store, &si);
	if (!si.write_file)
		return NULL;
	snprintf(buf, sizeof(buf), "cannot write %s: %s", si.write_file,
		 strerror(-si.write_error));
	return json_string(buf);
}

json_t *trust_link_health_json(struct trust_link *t)
{
	json_t *s = trust_link_status_json(t), *h;

	if (!s)
		return NULL;
	h = json_pack("{s:s,s:O,s:O,s:O}", "trust",
		      json_is_true(json_object_get(s, "alarm")) ? "alarm"
								: "ok",
		      "mode", json_object_get(s, "mode"), "version",
		      json_object_get(json_object_get(s, "active"), "version"),
		      "alarms", json_object_get(s, "warnings"));
	json_decref(s);
	return h;
}

json_t *trust_link_report_json(struct trust_link *t)
{
	json_t *s = trust_link_status_json(t), *r;

	r = s ? trust_report_json(s) : NULL;
	json_decref(s);
	return r;
}
