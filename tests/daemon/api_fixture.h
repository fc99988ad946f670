/* SPDX-License-Identifier: MIT */
/*
 * api_fixture.h: the API on its own deps, without a daemon, for
 * test_api.c and test_api_save.c: the sim backend (tests/sim/basic.json)
 * on a libuv loop feeding a registry, and an API whose getters and
 * reload callback are the fixture's.  Replies are recorded as they come.
 * The config has rules (API_FX_RULES), run only once
 * api_fx_start_automation is called; names.json and rules.json are kept
 * in state_dir, a directory of dir.
 */
#ifndef ZWGATE_TESTS_API_FIXTURE_H
#define ZWGATE_TESTS_API_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#define API_FX_GW	 "test-gw"
#define API_FX_WAIT_MS	 10000 /* for what must come: generous, for qemu */
#define API_FX_SETTLE_MS 60    /* several report delays of basic.json (10 ms) */
#define API_FX_NNODES	 7
/* A firmware upload with no chunk for this long is dropped. */
#define API_FX_UPLOAD_IDLE_MS 1000
#define API_FX_RULES                                                      \
	"rule \"up\" { when cloud goes online; do publish \"alerts/up\" " \
	"\"yes\" }\n"                                                     \
	"rule \"down\" { when cloud goes offline; do publish "            \
	"\"alerts/down\" \"no\" }\n"

struct fx {
	uv_loop_t loop;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct api *api;
	struct automation *automation; /* NULL until started */
	char dir[64];
	char state_dir[96];
	char conf_path[128];
	char names_path[128];
	char sim_path[PATH_MAX];
	bool queried;
	json_t *replies; /* every reply, in order */
	unsigned reloads;
	int reload_result; /* what the reload callback returns */
	/* Called with each reply as it comes, before it is recorded. */
	void (*on_reply)(struct fx *f, const json_t *reply);
};

/* cmocka's setup and teardown: *state is the struct fx. */
int api_fx_setup(void **state);
int api_fx_teardown(void **state);
/* The rules engine behind the API's rule commands. */
void api_fx_start_automation(struct fx *f);
/* Send a request (JSON text); the number of replies it got at once. */
size_t api_fx_req(struct fx *f, const char *text);
/* Run the loop until there are n replies in all; asserts it. */
void api_fx_wait_replies(struct fx *f, size_t n);
/* The last reply, and a reply's "code" (NULL: none). */
const json_t *api_fx_last(struct fx *f);
const char *api_fx_code(const json_t *reply);

#endif
