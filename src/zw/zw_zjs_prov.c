/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_prov.c: the zwavejs backend's SmartStart provisioning list.
 *
 * A SmartStart device joins by itself once its DSK (or its whole QR
 * code) is on the controller's list: zwgatectl provision add, list and
 * remove.  Each answer of the server ends the command with a
 * ZW_EV_CONTROLLER "provision" event, as an include's end does.
 *
 * Long Range (add --long-range): zwave-js joins a device by the entry's
 * "protocol", else by the first protocol its QR code lists, which is
 * Z-Wave's mesh for a device that has both.  A DSK's entry says Long
 * Range itself; a QR code is first parsed by the server
 * (utils.parse_qr_code_string: its checksum, the protocols it lists),
 * and its entry is then added with protocol Long Range, if it lists it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zw_zjs_int.h"

/* Entries a list shows (a reply line stays far under the control
 * socket's 64 KiB). */
#define ZJS_PROVISION_SHOWN    200
#define ZJS_PROVISION_STALE_MS 30000

/* A DSK: eight groups of five digits, each at most 65535, with '-'. */
bool zjs_dsk_valid(const char *s)
{
	for (int g = 0; g < 8; g++, s += 6) {
		if (strspn(s, "0123456789") != 5 || atol(s) > 65535 ||
		    s[5] != (g < 7 ? '-' : '\0'))
			return false;
	}
	return true;
}

/* A SmartStart QR code: "90", then digits (52 or more in all). */
bool zjs_qr_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 52 && n <= 512 && strncmp(s, "90", 2) == 0 &&
	       strspn(s, "0123456789") == n;
}

/* Node id or DSK, as unprovision_smart_start_node takes it. */
static json_t *zjs_dsk_or_node(const char *code)
{
	size_t len = strlen(code);
	long n = atol(code);

	if (zjs_dsk_valid(code))
		return json_string(code);
	if (len && len <= 4 && strspn(code, "0123456789") == len &&
	    zw_node_valid((unsigned long)n))
		return json_integer(n);
	return NULL;
}

/* zwave-js's Protocols. */
#define ZJS_PROTOCOL_LONG_RANGE 1

static json_t *zjs_classes_json(unsigned grant)
{
	json_t *classes = json_array();

	for (unsigned k = 0; classes && k < 8; k++)
		if (grant & (1u << k))
			json_array_append_new(classes, json_integer(k));
	return classes;
}

static json_t *zjs_entry(const char *code, unsigned grant)
{
	bool lr = grant & ZW_PROVISION_LONG_RANGE;

	if (zjs_qr_valid(code))
		return json_string(code);
	if (!zjs_dsk_valid(code))
		return NULL;
	grant &= ZW_SEC_ALL;
	/* SmartStart is S2 only: all of S2 unless told otherwise; Long
	 * Range has no S2 Unauthenticated. */
	if (!grant)
		grant = ZW_SEC_S2_ACCESS_CONTROL | ZW_SEC_S2_AUTHENTICATED |
			ZW_SEC_S2_UNAUTHENTICATED;
	if (!lr)
		return json_pack("{s:s, s:o}", "dsk", code, "securityClasses",
				 zjs_classes_json(grant));
	return json_pack("{s:s, s:o, s:i, s:[i]}", "dsk", code,
			 "securityClasses",
			 zjs_classes_json(grant & ZW_SEC_LONG_RANGE),
			 "protocol", ZJS_PROTOCOL_LONG_RANGE,
			 "supportedProtocols", ZJS_PROTOCOL_LONG_RANGE);
}

int zjs_provision(struct zw *base, const char *op, const char *code,
		  unsigned grant)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	json_t *arg;
	int r;

	if (!z->listening)
		return -ENODEV;
	/* The server answers at once; one that never did is forgotten. */
	if (z->prov_op &&
	    uv_now(z->loop) - z->prov_since < ZJS_PROVISION_STALE_MS)
		return -EBUSY;
	z->prov_op = NULL;
	if (strcmp(op, "list") == 0) {
		r = zjs_send(z, "provision",
			     "controller.get_provisioning_entries", NULL);
		op = "list";
	} else if (strcmp(op, "add") == 0 && code &&
		   (grant & ZW_PROVISION_LONG_RANGE) && zjs_qr_valid(code)) {
		r = zjs_send(z, "provision", "utils.parse_qr_code_string",
			     json_pack("{s:s}", "qr", code));
		op = "parse";
	} else if (strcmp(op, "add") == 0 && code) {
		if (!(arg = zjs_entry(code, grant)))
			return -EINVAL;
		r = zjs_send(z, "provision",
			     "controller.provision_smart_start_node",
			     json_pack("{s:o}", "entry", arg));
		op = "add";
	} else if (strcmp(op, "remove") == 0 && code) {
		if (!(arg = zjs_dsk_or_node(code)))
			return -EINVAL;
		r = zjs_send(z, "provision",
			     "controller.unprovision_smart_start_node",
			     json_pack("{s:o}", "dskOrNodeId", arg));
		op = "remove";
	} else {
		return -EINVAL;
	}
	if (r == 0) {
		z->prov_op = op;
		z->prov_since = uv_now(z->loop);
	}
	return r;
}

/* "12345-...  S2 Authenticated, ..." of one entry, into buf. */
static void zjs_entry_line(const json_t *e, char *buf, size_t len)
{
	const char *dsk = json_string_value(json_object_get(e, "dsk"));
	const json_t *cls = json_object_get(e, "securityClasses");
	const json_t *node = json_object_get(e, "nodeId");
	unsigned mask = 0;
	char names[96];
	size_t i;
	json_t *c;

	json_array_foreach(cls, i, c)
	{
		json_int_t k = json_integer_value(c);

		if (json_is_integer(c) && k >= 0 && k < 8)
			mask |= 1u << k;
	}
	zjs_classes(mask & ZW_SEC_ALL, names, sizeof(names));
	snprintf(buf, len, "%s  %s%s%s", dsk && zjs_dsk_valid(dsk) ? dsk : "?",
		 names,
		 json_integer_value(json_object_get(e, "protocol")) ==
			 ZJS_PROTOCOL_LONG_RANGE
		     ? "  Long Range"
		     : "",
		 json_is_integer(node) ? "  (included)" : "");
}

static void zjs_list_done(struct zw_zjs *z, const json_t *res)
{
	const json_t *entries = json_object_get(res, "entries");
	size_t all = json_array_size(entries), used;
	size_t n = all < ZJS_PROVISION_SHOWN ? all : ZJS_PROVISION_SHOWN;
	char *text, line[192];
	size_t i, cap = 128 + n * sizeof(line);
	json_t *e;

	text = malloc(cap);
	if (!text) {
		zjs_emit_command(z, "provision", 0, -ENOMEM,
				 "provision: out of memory");
		return;
	}
	used = (size_t)snprintf(text, cap, "provision: %zu entr%s", all,
				all == 1 ? "y" : "ies");
	json_array_foreach(entries, i, e)
	{
		if (i >= n)
			break;
		zjs_entry_line(e, line, sizeof(line));
		used += (size_t)snprintf(text + used, cap - used, "\n%s", line);
	}
	if (all > n)
		snprintf(text + used, cap - used, "\n... and %zu more",
			 all - n);
	zjs_emit_text(z, "provision", 0, 1, text);
	free(text);
}

/*
 * A QR code the server parsed, for add --long-range: its entry, to join
 * by Long Range with the classes Long Range has.  0, or -EINVAL with
 * why (the command has ended then).
 */
static int zjs_add_long_range(struct zw_zjs *z, const json_t *res)
{
	json_t *e =
	    json_deep_copy(json_object_get(res, "qrProvisioningInformation"));
	const json_t *protos = json_object_get(e, "supportedProtocols");
	const json_t *cls = json_object_get(e, "securityClasses");
	json_t *keep = json_array(), *c;
	bool offered = false;
	size_t i;
	int r = -EINVAL;

	json_array_foreach(protos, i, c)
	{
		if (json_integer_value(c) == ZJS_PROTOCOL_LONG_RANGE)
			offered = true;
	}
	json_array_foreach(cls, i, c)
	{
		json_int_t k = json_integer_value(c);

		if (k >= 0 && k < 8 && ((1u << k) & ZW_SEC_LONG_RANGE))
			json_array_append(keep, c);
	}
	if (!json_is_object(e) || !keep)
		zjs_emit_command(z, "provision", 0, -EIO,
				 "provision: the server sent no entry for the "
				 "QR code");
	else if (!offered)
		zjs_emit_command(z, "provision", 0, -EINVAL,
				 "provision: the device's QR code does not "
				 "offer Long Range");
	else if (!json_array_size(keep))
		zjs_emit_command(z, "provision", 0, -EINVAL,
				 "provision: the device asks for no class "
				 "Long Range has (S2 authenticated or access "
				 "control)");
	else if (json_object_set(e, "securityClasses", keep) < 0 ||
		 json_object_set_new(e, "protocol",
				     json_integer(ZJS_PROTOCOL_LONG_RANGE)) < 0)
		zjs_emit_command(z, "provision", 0, -ENOMEM,
				 "provision: out of memory");
	else if ((r = zjs_send(z, "provision",
			       "controller.provision_smart_start_node",
			       json_pack("{s:O}", "entry", e))) < 0)
		zjs_emit_command(z, "provision", 0, r,
				 "provision: cannot reach the server: %s",
				 strerror(-r));
	json_decref(keep);
	json_decref(e);
	return r;
}

void zjs_provision_result(struct zw_zjs *z, bool ok, const json_t *m)
{
	const char *op = z->prov_op;
	const char *why =
	    json_string_value(json_object_get(m, "zwaveErrorMessage"));

	z->prov_op = NULL;
	if (!op)
		return;
	if (!ok) {
		if (!why)
			why = json_string_value(json_object_get(m, "message"));
		if (!why || !*why)
			why =
			    json_string_value(json_object_get(m, "errorCode"));
		zjs_emit_command(z, "provision", 0, -EINVAL,
				 "provision: %s refused by the server: %s",
				 strcmp(op, "parse") == 0 ? "add" : op,
				 why ? why : "no reason given");
	} else if (strcmp(op, "list") == 0) {
		zjs_list_done(z, json_object_get(m, "result"));
	} else if (strcmp(op, "parse") == 0) {
		if (zjs_add_long_range(z, json_object_get(m, "result")) == 0) {
			z->prov_op = "add";
			z->prov_since = uv_now(z->loop);
		}
	} else {
		zjs_emit_command(z, "provision", 0, 1, "provision: %s",
				 strcmp(op, "add") == 0
				     ? "added: the device joins by "
				       "itself once powered"
				     : "removed");
	}
}
