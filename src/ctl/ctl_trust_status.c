/* SPDX-License-Identifier: MIT */
/*
 * ctl_trust_status.c: the readable report of `zwgatectl trust status` and
 * `trust import`, printed from what zwgated answers (ctl_trust.h).  Every
 * line goes through ctl_sanitize: the daemon's answer quotes
 * certificates, and those can hold anything.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_trust.h"
#include "trust.h"

#define LABEL_WIDTH 16

static void kv(int indent, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "  key          value", made safe for the terminal. */
static void kv(int indent, const char *key, const char *fmt, ...)
{
	char line[CTL_TRUST_LINE_MAX];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "%*s%-*s ", indent, "",
		     LABEL_WIDTH - indent - 1, key);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	ctl_sanitize(line);
	puts(line);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *fmt_days(const json_t *o, char *buf, size_t len)
{
	json_int_t d = num(o, "days_left");

	if (!json_is_integer(json_object_get(o, "days_left")))
		snprintf(buf, len, "?");
	else if (d == 0)
		snprintf(buf, len, "today");
	else if (d > 0)
		snprintf(buf, len, "in %" JSON_INTEGER_FORMAT " day%s", d,
			 d == 1 ? "" : "s");
	else
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT " day%s ago", -d,
			 d == -1 ? "" : "s");
	return buf;
}

/* An anchor or recovery root: subject, key, expiry, pin. */
static void print_cert(int indent, const char *label, const json_t *cert)
{
	char days[64];

	kv(indent, label, "%s", str(cert, "subject"));
	kv(indent, "", "%s, expires %s (%s)", str(cert, "key"),
	   str(cert, "not_after"), fmt_days(cert, days, sizeof(days)));
	kv(indent, "", "pin %s", str(cert, "pin"));
}

/* The anchor whose key a pin is, to say what a pin stands for. */
static const char *pin_owner(const json_t *b, const char *pin)
{
	const json_t *anchors = json_object_get(b, "anchors");

	for (size_t i = 0; i < json_array_size(anchors); i++) {
		const json_t *a = json_array_get(anchors, i);

		if (!strcmp(str(a, "pin"), pin))
			return str(a, "subject");
	}
	return NULL;
}

/* Each pin, and what it is the key of. */
static void print_pins(const json_t *b, const char *matched)
{
	const json_t *pins = json_object_get(b, "pins");

	for (size_t i = 0; i < json_array_size(pins); i++) {
		const char *pin = json_string_value(json_array_get(pins, i));
		const char *owner = pin ? pin_owner(b, pin) : NULL;
		bool used = pin && matched && !strcmp(matched, pin);

		if (!pin)
			continue;
		kv(2, "pin", "%s", pin);
		kv(2, "", "%s%s%s", owner ? "key of anchor " : "",
		   owner ? owner
			 : "not an anchor's key (an intermediate or a backup)",
		   used ? "; matched by the last connection" : "");
	}
}

static void print_list(int indent, const char *label, const json_t *arr)
{
	char line[CTL_TRUST_LINE_MAX] = "";
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (s && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      "%s%s", i ? ", " : "", s);
	}
	kv(indent, label, "%s", n ? line : "-");
}

static void print_bundle(const char *label, const json_t *b,
			 const char *matched)
{
	const json_t *anchors = json_object_get(b, "anchors");
	char days[64];
	size_t nkeys;

	putchar('\n');
	if (!json_is_object(b)) {
		kv(0, label, "none");
		return;
	}
	if (json_object_get(b, "tries"))
		kv(0, label,
		   "version %" JSON_INTEGER_FORMAT
		   " (%s), failed tries %" JSON_INTEGER_FORMAT " of %d",
		   num(b, "version"), str(b, "from"), num(b, "tries"),
		   TRUST_TRIES_MAX);
	else
		kv(0, label, "version %" JSON_INTEGER_FORMAT " (%s)",
		   num(b, "version"), str(b, "from"));
	kv(2, "issued", "%s", str(b, "issued_at"));
	kv(2, "expires", "%s (%s)", str(b, "expires"),
	   fmt_days(b, days, sizeof(days)));
	print_list(2, "hosts", json_object_get(b, "hosts"));
	nkeys = json_array_size(json_object_get(b, "signers"));
	kv(2, "signers",
	   "%zu key%s; %" JSON_INTEGER_FORMAT " must sign the next bundle",
	   nkeys, nkeys == 1 ? "" : "s", num(b, "threshold"));
	for (size_t i = 0; i < json_array_size(anchors); i++)
		print_cert(2, "anchor", json_array_get(anchors, i));
	print_pins(b, matched);
}

static void print_last(const json_t *last)
{
	const json_t *chain = json_object_get(last, "chain");
	const char *pin = json_string_value(json_object_get(last, "pin"));

	putchar('\n');
	if (!json_is_object(last)) {
		kv(0, "last connection", "none yet");
		return;
	}
	if (json_is_true(json_object_get(last, "ok")))
		kv(0, "last connection", "%s, accepted", str(last, "at"));
	else
		kv(0, "last connection", "%s, refused: %s", str(last, "at"),
		   str(last, "reason"));
	kv(2, "bundle", "%s, version %" JSON_INTEGER_FORMAT,
	   str(last, "bundle"), num(last, "version"));
	kv(2, "mode", "%s%s", str(last, "mode"),
	   json_is_true(json_object_get(last, "recovery"))
	       ? ", through a recovery root"
	       : "");
	for (size_t i = 0; i < json_array_size(chain); i++) {
		const char *s = json_string_value(json_array_get(chain, i));

		kv(2, i ? "" : "chain", "%s", s ? s : "?");
	}
	kv(2, "pin matched", "%s", pin && *pin ? pin : "none");
}

static void print_warnings(const json_t *r)
{
	const json_t *w = json_object_get(r, "warnings");
	char line[CTL_TRUST_LINE_MAX];

	if (json_is_true(json_object_get(r, "alarm")))
		puts("ALARM: the gateway's trust needs its operator "
		     "(see zwgate-trust(7))");
	for (size_t i = 0; i < json_array_size(w); i++) {
		const char *t = json_string_value(json_array_get(w, i));

		snprintf(line, sizeof(line), "WARNING: %s", t ? t : "?");
		ctl_sanitize(line);
		puts(line);
	}
	/* What the store set aside or worked around at start, in full. */
	if (json_is_string(json_object_get(r, "store_warning"))) {
		snprintf(line, sizeof(line), "WARNING: at start: %s",
			 str(r, "store_warning"));
		ctl_sanitize(line);
		puts(line);
	}
	if (json_is_true(json_object_get(r, "alarm")) || json_array_size(w))
		putchar('\n');
}

void ctl_trust_print_status(const json_t *r)
{
	const json_t *clock = json_object_get(r, "clock");
	const json_t *last = json_object_get(r, "last");
	const json_t *rec = json_object_get(r, "recovery");
	const char *matched = json_string_value(json_object_get(last, "pin"));

	print_warnings(r);
	kv(0, "mode", "%s", str(r, "mode"));
	kv(0, "clock", "%s, %s; time floor %s", str(clock, "now"),
	   json_is_true(json_object_get(clock, "synced")) ? "synchronised"
							  : "not synchronised",
	   str(clock, "floor"));
	kv(0, "version floor", "%" JSON_INTEGER_FORMAT, num(r, "floor"));
	print_bundle("active bundle", json_object_get(r, "active"), matched);
	print_bundle("pending bundle", json_object_get(r, "pending"), NULL);
	if (json_is_string(json_object_get(r, "dropped")))
		kv(0, "last dropped", "%s", str(r, "dropped"));
	if (json_array_size(rec))
		putchar('\n');
	for (size_t i = 0; i < json_array_size(rec); i++)
		print_cert(0, "recovery root", json_array_get(rec, i));
	print_last(last);
}

void ctl_trust_print_import(const json_t *r)
{
	char line[CTL_TRUST_LINE_MAX];

	snprintf(line, sizeof(line),
		 "accepted bundle version %" JSON_INTEGER_FORMAT
		 " (slot %s): pending; the link is being made again to try it",
		 num(r, "version"), str(r, "slot"));
	ctl_sanitize(line);
	puts(line);
}
