/* SPDX-License-Identifier: MIT */
/*
 * fuzz_daemon.c: a whole zwgated for the harnesses that feed what a
 * client or the cloud sends (fuzz.h).  Each input gets a fresh daemon
 * in a fresh state directory, so that what one input did (a rename, a
 * dead node, a disabled rule) never decides what the next one finds,
 * and a crash replays alone.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "registry.h"

/* Turns of the loop until the simulated network is known; plenty. */
#define FUZZ_START_TURNS 64

/* tests/sim/basic.json, answering without delay. */
static const char fuzz_sim[] =
    "{ \"controller\": \"Fuzz controller\", \"report-delay-ms\": 0,\n"
    "  \"nodes\": [\n"
    "    { \"id\": 5, \"name\": \"washer plug\", \"device\": \"meter-plug\" "
    "},\n"
    "    { \"id\": 2, \"name\": \"porch\", \"location\": \"outside\",\n"
    "      \"device\": \"switch\" },\n"
    "    { \"id\": 3, \"name\": \"lounge lamp\", \"device\": \"dimmer\" },\n"
    "    { \"id\": 4, \"name\": \"hall sensor\", \"device\": "
    "\"motion-sensor\" },\n"
    "    { \"id\": 6, \"name\": \"front door\", \"device\": \"lock\",\n"
    "      \"dead\": true },\n"
    "    { \"id\": 7, \"name\": \"custom\", \"values\": [\n"
    "      { \"cc\": \"notification\", \"property\": \"mode\",\n"
    "        \"type\": \"enum\", \"items\": [\"idle\", \"armed\"],\n"
    "        \"value\": \"idle\", \"writable\": true },\n"
    "      { \"cc\": \"basic\", \"property\": \"ring\", \"type\": "
    "\"button\" },\n"
    "      { \"cc\": \"configuration\", \"property\": \"melody\",\n"
    "        \"type\": \"string\", \"writable\": true, \"value\": \"w\" },\n"
    "      { \"cc\": \"configuration\", \"property\": \"volume\",\n"
    "        \"type\": \"int\", \"writable\": true } ] },\n"
    "    { \"id\": 8, \"name\": \"bedroom\", \"device\": \"thermostat\" }\n"
    "  ] }\n";

/* Something for every rules command of the API to find. */
static const char fuzz_conf[] =
    "gateway-id \"fuzz-gw\"\n"
    "log-level error\n"
    "zwave { backend sim; sim-network \"sim.json\" }\n"
    "location { latitude 48.85 longitude 2.35 }\n"
    "control { idle-timeout 60 }\n"
    "scene \"evening\" { set \"lounge lamp\" level 40; run \"off\" }\n"
    "scene \"off\" { set \"porch\" switch off }\n"
    "rule \"porch\" {\n"
    "\twhen \"porch\" switch changes\n"
    "\tif \"hall sensor\" motion is false\n"
    "\tdo set \"lounge lamp\" level 10; wait 1h; run \"off\"\n"
    "\tmode queued max 3\n"
    "}\n"
    "every 1h do refresh \"bedroom\"\n";

static char fuzz_conf_path[PATH_MAX];

/* Written once: inputs never change them (reload re-reads them). */
static void fuzz_world(void)
{
	char path[PATH_MAX];

	if (fuzz_conf_path[0])
		return;
	fuzz_write(fuzz_path(path, fuzz_dir(), "sim.json"), fuzz_sim,
		   strlen(fuzz_sim), 0644);
	fuzz_path(fuzz_conf_path, fuzz_dir(), "zwgate.conf");
	fuzz_write(fuzz_conf_path, fuzz_conf, strlen(fuzz_conf), 0644);
}

void fuzz_daemon_turn(struct fuzz_daemon *f, unsigned turns)
{
	while (turns-- && uv_run(&f->loop, UV_RUN_NOWAIT))
		;
}

void fuzz_daemon_start(struct fuzz_daemon *f)
{
	struct daemon_opts o = { 0 };
	unsigned turns = FUZZ_START_TURNS;
	int r;

	fuzz_world();
	memset(f, 0, sizeof(*f));
	f->d = daemon_new();
	fuzz_check(f->d != NULL, "daemon_new");
	fuzz_path(f->state, fuzz_dir(), "state");
	fuzz_rm_rf(f->state);
	fuzz_check(uv_loop_init(&f->loop) == 0, "uv_loop_init");
	o.config_path = fuzz_conf_path;
	o.state_dir = f->state;
	o.runtime_dir = f->state;
	r = daemon_start(f->d, &f->loop, &o);
	fuzz_check(r == 0, "daemon_start: %s", strerror(-r));
	while (turns-- && registry_node_count(daemon_registry(f->d)) == 0)
		fuzz_daemon_turn(f, 1);
	fuzz_check(registry_node_count(daemon_registry(f->d)) > 0, "no nodes");
	/* The config says error; an input may not say more for long. */
	log_set_level(LOG_ERR);
}

void fuzz_daemon_stop(struct fuzz_daemon *f)
{
	daemon_stop(f->d);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	daemon_free(f->d);
	f->d = NULL;
	fuzz_check(uv_loop_close(&f->loop) == 0,
		   "a handle outlived the daemon");
	log_set_level(LOG_ERR);
}
