/* SPDX-License-Identifier: MIT */
/*
 * test_api_firmware.c: firmware-upload and firmware-update
 * (api_firmware.c) on the API fixture.  The sim backend has no firmware
 * update; a backend of this file's, swapped in for a test, takes the
 * image and remembers it, and its end comes as the backend's
 * ZW_EV_CONTROLLER event through the registry, as a real one's does.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "api_fixture.h"
#include "b64.h"
#include "registry.h"
#include "testutil.h"
#include "zw.h"

#define IMAGE_LEN 100000
#define CHUNK	  32768

/* What the backend was given. */
static struct {
	int calls, ret;
	uint16_t node;
	char name[ZW_FIRMWARE_NAME_MAX + 1];
	unsigned char *data;
	size_t len;
	unsigned target, timeout_s;
} got;

static int fake_update(struct zw *z, uint16_t node,
		       const struct zw_firmware *fw, unsigned timeout_s)
{
	(void)z;
	got.calls++;
	got.node = node;
	snprintf(got.name, sizeof(got.name), "%s", fw->name);
	free(got.data);
	got.data = malloc(fw->len);
	assert_non_null(got.data);
	memcpy(got.data, fw->data, fw->len);
	got.len = fw->len;
	got.target = fw->target;
	got.timeout_s = timeout_s;
	return got.ret;
}

static const struct zw_ops fake_ops = {
	.name = "fake",
	.firmware_update = fake_update,
};
static struct zw fake = { .ops = &fake_ops };
static struct zw *sim;
static unsigned char image[IMAGE_LEN];

static int setup(void **state)
{
	struct fx *f;
	int r = api_fx_setup(state);

	f = *state;
	sim = f->zw;
	f->zw = &fake;
	memset(&got, 0, sizeof(got));
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (unsigned char)(i * 7 + i / 251);
	return r;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->zw = sim;
	free(got.data);
	got.data = NULL;
	return api_fx_teardown(state);
}

static const char *last_error(struct fx *f)
{
	return json_string_value(json_object_get(api_fx_last(f), "error"));
}

static json_int_t last_int(struct fx *f, const char *key)
{
	return json_integer_value(
	    json_object_get(json_object_get(api_fx_last(f), "result"), key));
}

/* One firmware-upload request of image[off..off+n) for node 2; upload
 * 0: none given (a first chunk). */
static void chunk(struct fx *f, const char *file, size_t size, size_t off,
		  size_t n, json_int_t upload)
{
	char *b64 = b64_encode(image + off, n);
	json_t *req =
	    json_pack("{s:i,s:s,s:s,s:s,s:I,s:I,s:s}", "id", 1, "cmd",
		      "firmware-upload", "node", "2", "file", file, "size",
		      (json_int_t)size, "offset", (json_int_t)off, "data", b64);
	char *text;

	assert_non_null(req);
	if (upload)
		json_object_set_new(req, "upload", json_integer(upload));
	text = json_dumps(req, JSON_COMPACT);
	assert_int_equal(api_fx_req(f, text), 1);
	free(text);
	free(b64);
	json_decref(req);
}

/* The whole image up in CHUNK pieces: its upload id. */
static json_int_t upload_all(struct fx *f, const char *file, size_t size)
{
	json_int_t id = 0;

	for (size_t off = 0; off < size; off += CHUNK) {
		chunk(f, file, size, off,
		      size - off < CHUNK ? size - off : CHUNK, id);
		assert_true(
		    json_is_true(json_object_get(api_fx_last(f), "ok")));
		id = last_int(f, "upload");
		assert_int_equal(last_int(f, "received"),
				 off + CHUNK < size ? off + CHUNK : size);
	}
	return id;
}

static size_t update(struct fx *f, const char *file, size_t size, json_int_t id,
		     const char *extra)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "{\"id\":2,\"cmd\":\"firmware-update\",\"node\":2,\"file\":"
		 "\"%s\",\"size\":%zu,\"upload\":%lld%s}",
		 file, size, (long long)id, extra);
	return api_fx_req(f, text);
}

/* The backend's word about the update (result 0: progress). */
static void backend_says(struct fx *f, int result, const char *text)
{
	struct zw_event ev = { .type = ZW_EV_CONTROLLER };

	ev.command = "firmware";
	ev.node = 2;
	ev.result = result;
	ev.u.message = text;
	registry_apply(f->reg, &ev, 2000);
}

/* The image goes up in four chunks and reaches the backend whole. */
static void test_upload_and_update(void **state)
{
	struct fx *f = *state;
	json_int_t id = upload_all(f, "lock-2.4.gbl", IMAGE_LEN);
	size_t n = json_array_size(f->replies);

	assert_true(id > 0);
	assert_int_equal(got.calls, 0);
	/* The update waits for the backend's end. */
	assert_int_equal(update(f, "lock-2.4.gbl", IMAGE_LEN, id,
				",\"target\":2,\"timeout\":120"),
			 0);
	assert_int_equal(got.calls, 1);
	assert_int_equal(got.node, 2);
	assert_string_equal(got.name, "lock-2.4.gbl");
	assert_int_equal(got.len, IMAGE_LEN);
	assert_memory_equal(got.data, image, IMAGE_LEN);
	assert_int_equal(got.target, 2);
	assert_int_equal(got.timeout_s, 120);
	backend_says(f, 0, "firmware: node 2: 10 of 40 fragments sent");
	assert_int_equal(json_array_size(f->replies), n);
	backend_says(f, 1, "firmware: node 2: done");
	assert_int_equal(json_array_size(f->replies), n + 1);
	assert_true(json_is_true(json_object_get(api_fx_last(f), "ok")));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(api_fx_last(f), "result"), "text")),
	    "firmware: node 2: done");
	/* The update took the upload. */
	assert_int_equal(update(f, "lock-2.4.gbl", IMAGE_LEN, id, ""), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	/* A failure ends it with the backend's words. */
	id = upload_all(f, "lock.bin", 1000);
	assert_int_equal(update(f, "lock.bin", 1000, id, ""), 0);
	backend_says(f, -EIO, "firmware: node 2: failed: the transfer failed");
	assert_string_equal(api_fx_code(api_fx_last(f)), "EIO");
	assert_string_equal(last_error(f),
			    "firmware: node 2: failed: the transfer failed");
}

/* Every bad argument, said; nothing reaches the backend. */
static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	json_int_t id;

	chunk(f, "lock.txt", 1000, 0, 100, 0);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_non_null(strstr(last_error(f), "'file' must be the image's file "
					      "name, without its directory, "
					      "ending in .bin, .hex"));
	chunk(f, "../lock.bin", 1000, 0, 100, 0);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	chunk(f, "lock.bin", ZW_FIRMWARE_MAX + 1, 0, 100, 0);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EFBIG");
	assert_string_equal(last_error(f), "the image is 4194305 bytes: zwgate "
					   "takes at most 4194304 (4 MiB)");
	chunk(f, "lock.bin", 50, 0, 100, 0);
	assert_string_equal(last_error(f),
			    "the chunks are more than the 50 bytes of 'size'");
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"firmware-upload\","
				    "\"node\":2,\"file\":\"a.bin\",\"size\":"
				    "9,\"offset\":0,\"data\":\"Zm9v Zg==\"}"),
			 1);
	assert_string_equal(last_error(f),
			    "'data' must be the chunk's bytes in base64");
	assert_int_equal(api_fx_req(f,
				    "{\"id\":1,\"cmd\":\"firmware-upload\","
				    "\"node\":99,\"file\":\"a.bin\",\"size\":"
				    "9,\"offset\":0,\"data\":\"Zm9v\"}"),
			 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	/* Chunks in their order, of the upload they name. */
	chunk(f, "lock.bin", 1000, 0, 100, 0);
	id = last_int(f, "upload");
	chunk(f, "lock.bin", 1000, 200, 100, id);
	assert_string_equal(last_error(f),
			    "a chunk at 200, but 100 bytes came so far");
	chunk(f, "lock.bin", 1000, 100, 100, 0);
	assert_string_equal(last_error(f),
			    "'upload' must be the id the first chunk's reply "
			    "gave");
	chunk(f, "lock.bin", 1000, 100, 100, id + 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	chunk(f, "other.bin", 1000, 100, 100, id);
	assert_non_null(strstr(last_error(f), "is lock.bin (1000 bytes) for "
					      "node 2"));
	/* One at a time. */
	chunk(f, "second.bin", 1000, 0, 100, 0);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EBUSY");
	assert_non_null(strstr(last_error(f), "another firmware upload is "
					      "under way (lock.bin for node "
					      "2, 100 of 1000 bytes)"));
	/* Not whole; a bad target; a bad timeout. */
	assert_int_equal(update(f, "lock.bin", 1000, id, ""), 1);
	assert_non_null(strstr(last_error(f), "is not whole: 100 of 1000"));
	chunk(f, "lock.bin", 1000, 100, 900, id);
	assert_int_equal(update(f, "lock.bin", 1000, id, ",\"target\":256"), 1);
	assert_string_equal(last_error(f), "'target' must be 0 (the device's "
					   "own firmware) to 255");
	assert_int_equal(update(f, "lock.bin", 1000, id, ",\"timeout\":0"), 1);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EINVAL");
	assert_int_equal(got.calls, 0);
	/* The backend's refusal, in words; the upload is spent. */
	got.ret = -EBUSY;
	assert_int_equal(update(f, "lock.bin", 1000, id, ""), 1);
	assert_string_equal(last_error(f),
			    "the controller is busy with a health check, a "
			    "backup or another firmware update; try again");
	assert_int_equal(got.calls, 1);
	chunk(f, "second.bin", 1000, 0, 100, 0);
	assert_true(json_is_true(json_object_get(api_fx_last(f), "ok")));
}

/* An upload nobody finishes is dropped: a new one may start. */
static void test_idle_upload_dropped(void **state)
{
	struct fx *f = *state;
	json_int_t id;

	chunk(f, "lock.bin", 1000, 0, 100, 0);
	id = last_int(f, "upload");
	chunk(f, "next.bin", 1000, 0, 100, 0);
	assert_string_equal(api_fx_code(api_fx_last(f)), "EBUSY");
	tu_run_for(&f->loop, API_FX_UPLOAD_IDLE_MS + 300);
	chunk(f, "lock.bin", 1000, 100, 100, id);
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOENT");
	chunk(f, "next.bin", 1000, 0, 100, 0);
	assert_true(json_is_true(json_object_get(api_fx_last(f), "ok")));
	assert_true(last_int(f, "upload") > id);
}

/* The sim backend has none: refused at the first chunk. */
static void test_sim_refuses(void **state)
{
	struct fx *f = *state;

	f->zw = sim;
	chunk(f, "lock.bin", 1000, 0, 100, 0);
	f->zw = &fake;
	assert_string_equal(api_fx_code(api_fx_last(f)), "ENOTSUP");
	assert_string_equal(last_error(f),
			    "the sim backend cannot update a device's firmware "
			    "(backend zwavejs can)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload_and_update, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_upload_dropped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sim_refuses, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
