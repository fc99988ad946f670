/* SPDX-License-Identifier: MIT */
/*
 * api_firmware.c: a device's firmware update (zwgatectl firmware update).
 *
 * An image (up to ZW_FIRMWARE_MAX) does not fit one request line
 * (ZWCTL_LINE_MAX), so it comes in chunks first:
 *   {"cmd":"firmware-upload","node":N,"file":NAME,"size":S,"offset":O,
 *    "data":BASE64[,"upload":ID]}
 * the first (offset 0) starts an upload and its reply names it ("upload":
 * ID); the next ones carry that id and continue where the last ended.
 * Then {"cmd":"firmware-update","node":N,"file":NAME,"size":S,
 * "upload":ID[,"target":T][,"timeout":SECONDS]} hands the whole image to
 * the backend and waits for its end, with progress, as a health check
 * does.  One upload at a time: a second is refused while the first is
 * alive; one with no chunk for API_UPLOAD_IDLE_MS is dropped, its memory
 * freed.  The update takes the upload, whether the backend starts it or
 * not.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "b64.h"
#include "log.h"
#include "registry.h"
#include "zw.h"

#define API_UPLOAD_IDLE_MS	   60000 /* unless deps.upload_idle_ms */
#define API_FIRMWARE_TIMEOUT_S	   3600
#define API_FIRMWARE_TIMEOUT_MAX_S 86400
#define API_FIRMWARE_ABORT_S	   20 /* for the backend's abort to end it */

struct api_upload {
	struct api *a;
	unsigned id;
	uint16_t node;
	char name[ZW_FIRMWARE_NAME_MAX + 1];
	unsigned char *data;
	size_t size, have;
	uv_timer_t idle;
};

static void upload_closed(uv_handle_t *h)
{
	struct api_upload *u = h->data;

	free(u->data);
	free(u);
}

void api_upload_drop(struct api *a)
{
	struct api_upload *u = a->upload;

	if (!u)
		return;
	a->upload = NULL;
	uv_close((uv_handle_t *)&u->idle, upload_closed);
}

static unsigned idle_ms(const struct api *a)
{
	return a->deps.upload_idle_ms ? a->deps.upload_idle_ms
				      : API_UPLOAD_IDLE_MS;
}

static void upload_idle(uv_timer_t *t)
{
	struct api_upload *u = t->data;

	log_warning("api: firmware upload %u (%s for node %u) dropped: no "
		    "chunk for %u s, %zu of %zu bytes came",
		    u->id, u->name, u->node, idle_ms(u->a) / 1000, u->have,
		    u->size);
	api_upload_drop(u->a);
}

/* node, file and size, as both commands have them. */
static int upload_args(struct api_call *c, const json_t *req,
		       struct registry_node **n, const char **file,
		       size_t *size)
{
	const json_t *sv = json_object_get(req, "size");
	int r = api_find_node(c, req, n);

	if (r < 0)
		return r;
	*file = api_arg_str(req, "file");
	if (!*file || !zw_firmware_name_ok(*file))
		return api_fail(c, -EINVAL,
				"'file' must be the image's file name, "
				"without its directory, ending in %s",
				ZW_FIRMWARE_EXTS);
	if (!json_is_integer(sv) || json_integer_value(sv) < 1)
		return api_fail(c, -EINVAL,
				"'size' must be the image's size "
				"in bytes");
	if (json_integer_value(sv) > ZW_FIRMWARE_MAX)
		return api_fail(c, -EFBIG,
				"the image is %lld bytes: zwgate takes at most "
				"%u (4 MiB)",
				(long long)json_integer_value(sv),
				ZW_FIRMWARE_MAX);
	*size = (size_t)json_integer_value(sv);
	return 0;
}

/* The upload req names, which must be the one under way. */
static int upload_of(struct api_call *c, const json_t *req, uint16_t node,
		     const char *file, size_t size, struct api_upload **ret)
{
	const json_t *id = json_object_get(req, "upload");
	struct api_upload *u = c->a->upload;

	if (!json_is_integer(id))
		return api_fail(c, -EINVAL,
				"'upload' must be the id the first chunk's "
				"reply gave");
	if (!u || json_integer_value(id) != u->id)
		return api_fail(c, -ENOENT,
				"no firmware upload %lld under way (one is "
				"dropped %u s after its last chunk)",
				(long long)json_integer_value(id),
				idle_ms(c->a) / 1000);
	if (u->node != node || strcmp(u->name, file) != 0 || u->size != size)
		return api_fail(c, -EINVAL,
				"upload %u is %s (%zu bytes) for node %u",
				u->id, u->name, u->size, u->node);
	*ret = u;
	return 0;
}

static int upload_start(struct api_call *c, uint16_t node, const char *file,
			size_t size, struct api_upload **ret)
{
	struct api *a = c->a;
	struct api_upload *u = a->upload;

	if (u)
		return api_fail(c, -EBUSY,
				"another firmware upload is under way (%s for "
				"node %u, %zu of %zu bytes); it is dropped "
				"%u s after its last chunk",
				u->name, u->node, u->have, u->size,
				idle_ms(a) / 1000);
	u = calloc(1, sizeof(*u));
	if (u)
		u->data = malloc(size);
	if (!u || !u->data) {
		if (u)
			free(u);
		return api_fail(c, -ENOMEM, "no memory for a %zu-byte image",
				size);
	}
	u->a = a;
	u->id = ++a->upload_ids;
	u->node = node;
	snprintf(u->name, sizeof(u->name), "%s", file);
	u->size = size;
	uv_timer_init(a->deps.loop, &u->idle);
	u->idle.data = u;
	uv_timer_start(&u->idle, upload_idle, idle_ms(a), 0);
	a->upload = u;
	*ret = u;
	return 0;
}

int api_firmware_upload(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *off = json_object_get(req, "offset");
	const char *data = api_arg_str(req, "data");
	struct registry_node *n;
	struct api_upload *u;
	const char *file;
	size_t size, len;
	long bytes;
	int r = upload_args(c, req, &n, &file, &size);

	if (r < 0)
		return r;
	if (!zw_can_update_firmware(api_zw(c->a)))
		return api_fail(c, -ENOTSUP,
				"the %s backend cannot update a device's "
				"firmware (backend zwavejs can)",
				zw_name(api_zw(c->a)));
	if (!json_is_integer(off) || json_integer_value(off) < 0)
		return api_fail(c, -EINVAL,
				"'offset' must be where the chunk "
				"goes, in bytes");
	len = data ? strlen(data) : 0;
	bytes = data ? b64_decoded_len(data, len) : -1;
	if (bytes < 1)
		return api_fail(c, -EINVAL,
				"'data' must be the chunk's bytes in base64");
	if ((json_int_t)bytes > (json_int_t)size - json_integer_value(off))
		return api_fail(c, -EINVAL,
				"the chunks are more than the %zu bytes of "
				"'size'",
				size);
	if (json_integer_value(off) == 0)
		r = upload_start(c, n->id, file, size, &u);
	else
		r = upload_of(c, req, n->id, file, size, &u);
	if (r < 0)
		return r;
	if ((size_t)json_integer_value(off) != u->have)
		return api_fail(c, -EINVAL,
				"a chunk at %lld, but %zu bytes came so far",
				(long long)json_integer_value(off), u->have);
	/* b64_decode writes the padding's bytes too: decode in place only
	 * when they fit. */
	if (len / 4 * 3 <= u->size - u->have) {
		b64_decode(data, len, u->data + u->have);
	} else {
		unsigned char *tmp = malloc(len / 4 * 3);

		if (!tmp)
			return api_fail(c, -ENOMEM, "out of memory");
		b64_decode(data, len, tmp);
		memcpy(u->data + u->have, tmp, (size_t)bytes);
		free(tmp);
	}
	u->have += (size_t)bytes;
	uv_timer_start(&u->idle, upload_idle, idle_ms(c->a), 0);
	*res = json_pack("{s:i,s:I,s:I}", "upload", u->id, "received",
			 (json_int_t)u->have, "size", (json_int_t)u->size);
	return *res ? 0 : -ENOMEM;
}

static int firmware_refused(struct api_call *c, int r, uint16_t node,
			    const char *file)
{
	switch (r) {
	case -ENOENT:
		return api_fail(c, r, "node %u is not known to the controller",
				node);
	case -EBUSY:
		return api_fail(c, r,
				"the controller is busy with a health check, a "
				"backup or another firmware update; try "
				"again");
	case -EBADMSG:
		return api_fail(c, r, "%s is not a zip archive", file);
	case -ENOTSUP:
		return api_fail(c, r,
				"the %s backend cannot update a device's "
				"firmware (backend zwavejs can)",
				zw_name(api_zw(c->a)));
	default:
		return api_command_error(c, r, "update a device's firmware");
	}
}

int api_firmware_update(struct api_call *c, const json_t *req, json_t **res)
{
	const json_t *tv = json_object_get(req, "target");
	const json_t *to = json_object_get(req, "timeout");
	unsigned timeout_s = API_FIRMWARE_TIMEOUT_S;
	struct zw_firmware fw = { .target = 0 };
	struct registry_node *n;
	struct api_upload *u;
	const char *file;
	size_t size;
	int r = upload_args(c, req, &n, &file, &size);

	(void)res;
	if (r < 0 || (r = upload_of(c, req, n->id, file, size, &u)) < 0)
		return r;
	if (u->have != u->size)
		return api_fail(c, -EINVAL,
				"upload %u is not whole: %zu of %zu bytes came",
				u->id, u->have, u->size);
	if (tv && (!json_is_integer(tv) || json_integer_value(tv) < 0 ||
		   json_integer_value(tv) > 255))
		return api_fail(c, -EINVAL,
				"'target' must be 0 (the device's own "
				"firmware) to 255");
	if (to && (!json_is_integer(to) || json_integer_value(to) < 1 ||
		   json_integer_value(to) > API_FIRMWARE_TIMEOUT_MAX_S))
		return api_fail(c, -EINVAL, "'timeout' must be 1 to %d seconds",
				API_FIRMWARE_TIMEOUT_MAX_S);
	if (tv)
		fw.target = (unsigned)json_integer_value(tv);
	if (to)
		timeout_s = (unsigned)json_integer_value(to);
	fw.name = u->name;
	fw.data = u->data;
	fw.len = u->size;
	api_command_listen(c, "firmware");
	r = zw_firmware_update(api_zw(c->a), n->id, &fw, timeout_s);
	log_info("api: firmware update of node %u with %s (%zu bytes): %s",
		 n->id, u->name, u->size, r < 0 ? strerror(-r) : "started");
	/* The backend has its own copy: the upload is spent either way. */
	api_upload_drop(c->a);
	if (r < 0)
		return firmware_refused(c, api_command_refused(c, r), n->id,
					file);
	/* Past its time the backend aborts, then waits for the end. */
	return api_command_wait(c, "firmware",
				timeout_s + API_FIRMWARE_ABORT_S);
}
