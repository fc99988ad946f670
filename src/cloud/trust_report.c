/* SPDX-License-Identifier: MIT */
/*
 * trust_report.c: what a gateway trusts, for everyone on the broker to
 * read (P/trust, see trust_report.h).
 */
#include "config.h"

#include "trust_report.h"

/* The parts of a certificate's info that identify it; no key sizes. */
static json_t *report_certs(const json_t *certs)
{
	json_t *a = json_array(), *c, *o;
	size_t i;

	json_array_foreach(certs, i, c)
	{
		o = json_pack("{s:O,s:O,s:O}", "subject",
			      json_object_get(c, "subject"), "pin",
			      json_object_get(c, "pin"), "not_after",
			      json_object_get(c, "not_after"));
		if (!a || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* A bundle as trust_bundle_info_json said it, without its signers. */
static json_t *report_bundle(const json_t *b)
{
	json_t *o;

	if (!json_is_object(b))
		return json_null();
	o = json_pack("{s:O,s:O,s:O,s:o,s:O}", "version",
		      json_object_get(b, "version"), "expires",
		      json_object_get(b, "expires"), "hosts",
		      json_object_get(b, "hosts"), "anchors",
		      report_certs(json_object_get(b, "anchors")), "pins",
		      json_object_get(b, "pins"));
	if (o && json_object_get(b, "tries") &&
	    json_object_set(o, "tries", json_object_get(b, "tries")) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *trust_report_json(const json_t *status)
{
	const json_t *warnings = json_object_get(status, "warnings");

	return json_pack(
	    "{s:s,s:O,s:o,s:o,s:O,s:O}", "trust",
	    json_array_size(warnings) ? "alarm" : "ok", "mode",
	    json_object_get(status, "mode"), "active",
	    report_bundle(json_object_get(status, "active")), "pending",
	    report_bundle(json_object_get(status, "pending")), "floor",
	    json_object_get(status, "floor"), "alarms", warnings);
}
