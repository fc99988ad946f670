/* SPDX-License-Identifier: MIT */
/*
 * zw_zjs_fw.c: the zwavejs backend's firmware update of a device
 * (zwgatectl firmware update), a job of zw_zjs_job.c's kind.
 *
 * The image goes to the server in one node.update_firmware command, as
 * base64.  The server (3.x) hands every file to a zip reader first and
 * fails on any that is not a zip ("invalid zip data"), so an image that
 * is not one goes inside a zip made here: one entry, stored, under the
 * file's name (its extension says zwave-js which format it is).  A .zip
 * goes as it is.  Progress comes as "firmware update progress" events
 * (a line at each quarter); the end is the command's result: zwave-js's
 * status, in words.  cancel aborts it on the server.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "log.h"
#include "zw_zjs_int.h"

#define ZIP_LOCAL_LEN	30
#define ZIP_CENTRAL_LEN 46
#define ZIP_END_LEN	22

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c = 0xffffffffu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static unsigned char *put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p = put16(p, v & 0xffff);
	return put16(p, v >> 16);
}

/* A header's common part: version, flags, method (stored), time, date
 * (1980-01-01), CRC, sizes and the name's length. */
static unsigned char *zip_common(unsigned char *p, uint32_t crc, size_t len,
				 size_t name_len)
{
	p = put16(p, 10);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, 0x21);
	p = put32(p, crc);
	p = put32(p, (uint32_t)len);
	p = put32(p, (uint32_t)len);
	return put16(p, (unsigned)name_len);
}

/* fw as the one entry of a stored zip (malloc'd, its size in *ret_len);
 * the entry's extension in lower case, as zwave-js's zip reader wants. */
static unsigned char *zip_wrap(const struct zw_firmware *fw, size_t *ret_len)
{
	size_t nl = strlen(fw->name), len = fw->len;
	size_t total =
	    ZIP_LOCAL_LEN + nl + len + ZIP_CENTRAL_LEN + nl + ZIP_END_LEN;
	unsigned char *z = malloc(total), *p = z, *name;
	uint32_t crc = crc32_of(fw->data, len);

	if (!z)
		return NULL;
	p = put32(p, 0x04034b50);
	p = zip_common(p, crc, len, nl);
	p = put16(p, 0); /* no extra field */
	name = p;
	memcpy(p, fw->name, nl);
	for (size_t i = nl - 4; i < nl; i++)
		name[i] = (unsigned char)tolower(name[i]);
	p += nl;
	memcpy(p, fw->data, len);
	p += len;
	p = put32(p, 0x02014b50);
	p = put16(p, 20); /* made by */
	p = zip_common(p, crc, len, nl);
	p = put16(p, 0); /* extra */
	p = put16(p, 0); /* comment */
	p = put16(p, 0); /* disk */
	p = put16(p, 0); /* internal attributes */
	p = put32(p, 0); /* external attributes */
	p = put32(p, 0); /* the local header's offset */
	memcpy(p, name, nl);
	p += nl;
	p = put32(p, 0x06054b50);
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, 1);
	p = put16(p, 1);
	p = put32(p, (uint32_t)(ZIP_CENTRAL_LEN + nl));
	p = put32(p, (uint32_t)(ZIP_LOCAL_LEN + nl + len));
	put16(p, 0);
	*ret_len = total;
	return z;
}

static bool is_zip_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcasecmp(name + n - 4, ".zip") == 0;
}

/* The "updates" argument: the file in base64, in a zip unless it is one. */
static json_t *fw_updates(const struct zw_firmware *fw)
{
	unsigned char *zip = NULL;
	size_t len = fw->len;
	char *b64;
	json_t *u;

	if (!is_zip_name(fw->name) && !(zip = zip_wrap(fw, &len)))
		return NULL;
	b64 = b64_encode(zip ? zip : fw->data, len);
	free(zip);
	if (!b64)
		return NULL;
	u = json_pack("[{s:s, s:s}]", "filename", fw->name, "file", b64);
	free(b64);
	if (u && fw->target &&
	    json_object_set_new(json_array_get(u, 0), "firmwareTarget",
				json_integer(fw->target)) < 0) {
		json_decref(u);
		return NULL;
	}
	return u;
}

int zjs_firmware(struct zw *base, uint16_t node, const struct zw_firmware *fw,
		 unsigned timeout_s)
{
	struct zw_zjs *z = (struct zw_zjs *)base;
	json_t *updates;
	int r;

	if (!zw_firmware_name_ok(fw->name) || !fw->len ||
	    fw->len > ZW_FIRMWARE_MAX || fw->target > 255 || !timeout_s)
		return -EINVAL;
	/* A zip says so in its first bytes: anything else is refused here,
	 * not by the server's zip reader. */
	if (is_zip_name(fw->name) &&
	    (fw->len < 4 || memcmp(fw->data, "PK\3\4", 4) != 0))
		return -EBADMSG;
	if (!z->listening)
		return -ENODEV;
	if (!z->nodes[node].known)
		return -ENOENT;
	if (z->job.name)
		return -EBUSY;
	updates = fw_updates(fw);
	if (!updates)
		return -ENOMEM;
	r = zjs_send(
	    z, "firmware", "node.update_firmware",
	    json_pack("{s:i, s:o}", "nodeId", node, "updates", updates));
	if (r < 0)
		return r;
	zjs_job_start(z, "firmware", node, timeout_s);
	zjs_emit_command(z, "firmware", node, 0,
			 "firmware: node %u: sending %s (%zu bytes%s) to the "
			 "device",
			 node, fw->name, fw->len,
			 fw->target ? ", to a target other than its own "
				      "firmware"
				    : "");
	return 0;
}

/*
 * "firmware update progress": a line at each of the first three
 * quarters.  Not "all sent": zwave-js throttles these events and sends
 * the last one 250 ms late, after its update's end, where it could be
 * taken for the next update's; the end's own line follows anyway.
 */
void zjs_fw_progress(struct zw_zjs *z, const json_t *ev)
{
	const json_t *p = json_object_get(ev, "progress");
	json_int_t sent =
	    json_integer_value(json_object_get(p, "sentFragments"));
	json_int_t all =
	    json_integer_value(json_object_get(p, "totalFragments"));
	unsigned quarter;

	if (all <= 0 || sent < 0 || sent >= all)
		return;
	quarter = (unsigned)(sent * 4 / all);
	if (quarter <= z->job.shown)
		return;
	z->job.shown = quarter;
	zjs_emit_command(z, "firmware", z->job.node, 0,
			 "firmware: node %u: %lld of %lld fragments sent",
			 z->job.node, (long long)sent, (long long)all);
}

/* zwave-js's FirmwareUpdateStatus in words. */
static const char *fw_status_text(json_int_t s)
{
	switch (s) {
	case -1:
		return "the device stopped answering (timed out)";
	case 0:
		return "the device found the image damaged (checksum)";
	case 1:
		return "the transfer failed";
	case 2:
		return "the image is for another manufacturer's device";
	case 3:
		return "the image is for another device (firmware id)";
	case 4:
		return "the device has no such firmware target";
	case 5:
	case 6:
		return "the device cannot read the image's header";
	case 7:
		return "the device has not enough memory for it";
	case 8:
		return "the image is for another hardware version";
	case 253:
		return "done; the device waits to be told to switch to it";
	case 254:
		return "done";
	case 255:
		return "done; the device restarts with it";
	default:
		return "the device said an unknown status";
	}
}

/* The server's answer to node.update_firmware (m: the whole result). */
void zjs_fw_result(struct zw_zjs *z, bool ok, const json_t *m)
{
	const json_t *res =
	    json_object_get(json_object_get(m, "result"), "result");
	const json_t *status = json_object_get(res, "status");
	json_int_t wait = json_integer_value(json_object_get(res, "waitTime"));
	char text[200];

	if (z->job.aborting) {
		zjs_job_end(z, z->job.timed_out ? -ETIMEDOUT : -ECANCELED,
			    z->job.timed_out ? "timed out; aborted"
					     : "cancelled");
		return;
	}
	if (!ok || !json_is_integer(status)) {
		zjs_job_refused(z, m, "refused");
		return;
	}
	if (!json_is_true(json_object_get(res, "success"))) {
		snprintf(text, sizeof(text), "failed: %s (status %lld)",
			 fw_status_text(json_integer_value(status)),
			 (long long)json_integer_value(status));
		zjs_job_end(z, -EIO, text);
		return;
	}
	snprintf(text, sizeof(text), "%s%s",
		 fw_status_text(json_integer_value(status)),
		 json_is_true(json_object_get(res, "reInterview"))
		     ? "; zwave-js interviews it again"
		     : "");
	if (wait > 0)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 " in %lld s", (long long)wait);
	zjs_job_end(z, 1, text);
}
