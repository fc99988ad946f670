/* SPDX-License-Identifier: MIT */
/*
 * ctl_commands.c: the commands of zwgatectl that are requests to zwgated:
 * their table (synopsis, summary, help, printer), the options and
 * arguments after a command, and the request they make.  The summary of
 * them all is `zwgatectl --help`.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_int.h"
#include "ctl_fleet.h"
#include "ctl_keys.h"
#include "ctl_reset.h"
#include "ctl_trust.h"
#include "zwgate/control.h"

#define INCLUDE_ARGS "[--secure [--grant CLASS,...] [--pin PIN]] [SECONDS]"

/* include and exclude: the longest time they may run */
#define CTL_COMMAND_TIMEOUT_MAX_S 600

void ctl_json_set(json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, v) < 0)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
}

/* How each argument goes into the request; DATA, CODE, COUNT and RATE may
 * be JSON. */
static json_t *arg_json(const char *key, const char *s)
{
	bool scalar = strcmp(key, "data") == 0 || strcmp(key, "code") == 0 ||
		      strcmp(key, "count") == 0 || strcmp(key, "rate") == 0;
	json_t *v = scalar ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;

	if (v && ctl_json_is_scalar(v))
		return v;
	json_decref(v);
	v = json_string(s);
	if (!v)
		ctl_die(CTL_EXIT_USAGE, "%s: not UTF-8 text", key);
	return v;
}

/* {"id": 1, "cmd": cmd, ["op": op,] key: argument...} */
static json_t *request_new(const char *cmd, const char *op,
			   const char *const *keys, char **argv, int argc)
{
	json_t *req = json_pack("{s:i,s:s,s:s*}", "id", CTL_REQUEST_ID, "cmd",
				cmd, "op", op);

	if (!req)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	for (int i = 0; i < argc && keys[i]; i++)
		ctl_json_set(req, keys[i], arg_json(keys[i], argv[i]));
	return req;
}

json_t *ctl_build_args(const struct ctl *ctl, const char *cmd,
		       const char *const *keys, char **argv, int argc)
{
	json_t *req = request_new(cmd, NULL, keys, argv, argc);

	if (ctl->no_wait)
		ctl_json_set(req, "wait", json_false());
	return req;
}

static const struct sim_op {
	const char *op;
	const char *keys[CTL_ARGS_MAX];
} sim_ops[] = {
	{ "emit", { "node", "value", "data" } },
	{ "dead", { "node" } },
	{ "alive", { "node" } },
	{ "event", { "node", "kind", "code" } },
	{ "stream", { "node", "value", "count", "rate" } },
	{ "stream-event", { "node", "kind", "count", "rate" } },
	{ "stats", { NULL } },
};

static const char sim_args[] = "OP [NODE ARGS]";

static json_t *build_sim(const struct ctl *ctl, char **argv, int argc)
{
	for (size_t i = 0; i < sizeof(sim_ops) / sizeof(sim_ops[0]); i++) {
		const struct sim_op *s = &sim_ops[i];
		int n = 0;

		if (strcmp(argv[0], s->op) != 0)
			continue;
		while (n < CTL_ARGS_MAX && s->keys[n])
			n++;
		if (argc - 1 != n) {
			fprintf(stderr, "%s: sim %s takes %d argument%s\n",
				ctl_prog, s->op, n, n == 1 ? "" : "s");
			ctl_usage("sim", sim_args);
		}
		return request_new("sim", s->op, s->keys, argv + 1, argc - 1);
	}
	fprintf(stderr, "%s: unknown sim operation '%s'\n", ctl_prog, argv[0]);
	ctl_usage("sim", sim_args);
}

/* "authenticated,s0" as ["authenticated","s0"] ("none": []); the
 * daemon checks the names. */
static json_t *grant_list(const char *text)
{
	json_t *a = json_array();
	char *copy = strdup(text), *save = NULL;

	if (!a || !copy) {
		fprintf(stderr, "%s: out of memory\n", ctl_prog);
		exit(CTL_EXIT_FAILED);
	}
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "none") != 0 &&
		    json_array_append_new(a, json_string(t)) < 0) {
			fprintf(stderr, "%s: --grant: '%s' is not a class\n",
				ctl_prog, t);
			exit(CTL_EXIT_USAGE);
		}
	free(copy);
	if (json_array_size(a) == 0 && strcmp(text, "none") != 0) {
		fprintf(stderr,
			"%s: --grant: no class given (access-control, "
			"authenticated, unauthenticated, s0, or none)\n",
			ctl_prog);
		exit(CTL_EXIT_USAGE);
	}
	return a;
}

/* include [--secure] [SECONDS] and exclude [SECONDS]. */
static json_t *build_command(const struct ctl *ctl, const char *cmd,
			     const char *args, char **argv, int argc)
{
	static const char *const none[CTL_ARGS_MAX] = { NULL };
	json_t *req = request_new(cmd, NULL, none, argv, 0);
	char *end;
	long t;

	if (argc == 1) {
		errno = 0;
		t = strtol(argv[0], &end, 10);
		if (errno || end == argv[0] || *end || t < 1 ||
		    t > CTL_COMMAND_TIMEOUT_MAX_S) {
			fprintf(
			    stderr, "%s: %s: bad time '%s' (1 to %d seconds)\n",
			    ctl_prog, cmd, argv[0], CTL_COMMAND_TIMEOUT_MAX_S);
			ctl_usage(cmd, args);
		}
		ctl_json_set(req, "timeout", json_integer(t));
	}
	if (ctl->secure)
		ctl_json_set(req, "secure", json_true());
	if (ctl->grant)
		ctl_json_set(req, "grant", grant_list(ctl->grant));
	if (ctl->pin)
		ctl_json_set(req, "pin", json_string(ctl->pin));
	return req;
}

static json_t *build_include(const struct ctl *ctl, char **argv, int argc)
{
	return build_command(ctl, "include", INCLUDE_ARGS, argv, argc);
}

/* provision add CODE [--grant ...] [--long-range] | remove CODE | list */
static json_t *build_provision(const struct ctl *ctl, char **argv, int argc)
{
	static const char *const none[CTL_ARGS_MAX] = { NULL };
	json_t *req = request_new("provision", NULL, none, argv, 0);

	/* Both as strings: a node id is a code too. */
	ctl_json_set(req, "op", json_string(argv[0]));
	if (argc > 1)
		ctl_json_set(req, "code", json_string(argv[1]));
	if (ctl->grant)
		ctl_json_set(req, "grant", grant_list(ctl->grant));
	if (ctl->long_range)
		ctl_json_set(req, "long_range", json_true());
	return req;
}

static json_t *build_exclude(const struct ctl *ctl, char **argv, int argc)
{
	return build_command(ctl, "exclude", "[SECONDS]", argv, argc);
}

/* health NODE [ROUNDS] */
static json_t *build_health(const struct ctl *ctl, char **argv, int argc)
{
	static const char *const keys[CTL_ARGS_MAX] = { "node" };
	json_t *req = request_new("health", NULL, keys, argv, 1);
	char *end;
	long n;

	if (argc == 2) {
		errno = 0;
		n = strtol(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || n < 1 || n > 10) {
			fprintf(stderr,
				"%s: health: bad number of rounds '%s' (1 to "
				"10)\n",
				ctl_prog, argv[1]);
			ctl_usage("health", "NODE [ROUNDS]");
		}
		ctl_json_set(req, "rounds", json_integer(n));
	}
	return req;
}

static json_t *build_config_set(const struct ctl *ctl, char **argv, int argc)
{
	static const char *const keys[CTL_ARGS_MAX] = { "node", "param", "data",
							"size" };

	return request_new("config-set", NULL, keys, argv, argc);
}

/* rules [show|run|enable|disable NAME] and scene run NAME */
static const char rules_args[] = "[show|run|enable|disable NAME]";
static const char *const rules_keys[CTL_ARGS_MAX] = { "name" };

static json_t *build_rules(const struct ctl *ctl, char **argv, int argc)
{
	static const char *const ops[] = { "show", "run", "enable", "disable" };
	char cmd[32];

	if (argc == 0)
		return request_new("rules", NULL, rules_keys, argv, 0);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(argv[0], ops[i]) != 0)
			continue;
		if (argc != 2) {
			fprintf(stderr, "%s: rules %s takes a rule name\n",
				ctl_prog, ops[i]);
			ctl_usage("rules", rules_args);
		}
		snprintf(cmd, sizeof(cmd), "rules-%s", ops[i]);
		return request_new(cmd, NULL, rules_keys, argv + 1, 1);
	}
	fprintf(stderr, "%s: unknown rules operation '%s'\n", ctl_prog,
		argv[0]);
	ctl_usage("rules", rules_args);
}

static json_t *build_scene(const struct ctl *ctl, char **argv, int argc)
{
	if (strcmp(argv[0], "run") != 0) {
		fprintf(stderr, "%s: unknown scene operation '%s'\n", ctl_prog,
			argv[0]);
		ctl_usage("scene", "run NAME");
	}
	return request_new("scene-run", NULL, rules_keys, argv + 1, 1);
}

static const struct ctl_command commands[] = {
	{ .name = "status",
	  .summary = "version, uptime, backend, nodes, cloud link",
	  .help = "The daemon's version, uptime, Z-Wave backend and "
		  "controller state,\nnumber of nodes, log level, "
		  "configuration file and cloud link.",
	  .print = ctl_print_status },
	{ .name = "nodes",
	  .summary = "every node, one a line",
	  .help = "Every node, one a line: number, name, status, product, "
		  "number of values.",
	  .print = ctl_print_nodes,
	  .result = JSON_ARRAY },
	{ .name = "node",
	  .args = "NODE",
	  .summary = "one node with its values",
	  .help = "One node: its details and a table of its values (path, "
		  "short name,\nvalue, unit, access, time of the last "
		  "report).",
	  .keys = { "node" },
	  .print = ctl_print_node },
	{ .name = "get",
	  .args = "NODE VALUE",
	  .summary = "one value",
	  .help = "One value of a node.",
	  .keys = { "node", "value" },
	  .print = ctl_print_get },
	{ .name = "set",
	  .args = "[--no-wait] NODE VALUE DATA",
	  .summary = "write a value",
	  .help = "Write DATA to a value.  zwgated waits (a few seconds at "
		  "most) for the device\nto report the new value; with "
		  "--no-wait it answers at once.",
	  .keys = { "node", "value", "data" },
	  .print = ctl_print_set },
	{ .name = "rename",
	  .args = "NODE NAME",
	  .summary = "name a node (\"\": no name)",
	  .help = "Give a node a name; an empty NAME (\"\") removes it.",
	  .keys = { "node", "name" },
	  .print = ctl_print_rename },
	{ .name = "reload",
	  .summary = "re-read the configuration",
	  .help = "Re-read the configuration.  On an error the old one "
		  "stays, and the\nerrors are printed as file:line:col: "
		  "message.",
	  .print = ctl_print_reload },
	{ .name = "log-level",
	  .args = "LEVEL",
	  .summary = "debug, info, notice, warning or error",
	  .help = "Set the daemon's log level: debug, info, notice, warning "
		  "or error.",
	  .keys = { "level" },
	  .print = ctl_print_log_level },
	{ .name = "include",
	  .args = INCLUDE_ARGS,
	  .summary = "add a device to the network",
	  .help = "Put the controller in inclusion mode for SECONDS (default "
		  "60, at most 600)\nand show how it goes; press the "
		  "button of the device meanwhile.  With\n--secure the "
		  "device is included with the best security it offers: "
		  "S0 with\nbackend openzwave (needs a network key), S2 or "
		  "S0 with backend zwavejs.\nS2 (zwavejs): the progress "
		  "shows the classes the device asks for;\n--grant "
		  "grants only those listed (access-control, authenticated,"
		  "\nunauthenticated, s0, or none), and --pin gives the "
		  "device's PIN, the\nfirst five digits of its DSK, which "
		  "the authenticated classes need (or\ngive it with "
		  "include-pin when asked).  A device added with less "
		  "security\nthan it asked for is said so loudly.\nExit "
		  "status 0 once a device was added, 1 on a timeout or "
		  "failure.",
	  .min = 0,
	  .max = 1,
	  .build = build_include,
	  .print = ctl_print_command },
	{ .name = "include-pin",
	  .args = "PIN",
	  .summary = "give an S2 device's PIN to the running include",
	  .help = "Give the PIN the running include asks for: the first "
		  "five digits of the\ndevice's DSK, on the device or its "
		  "box (backend zwavejs).",
	  .keys = { "pin" },
	  .print = ctl_print_given },
	{ .name = "provision",
	  .args = "add QR-CODE|DSK [--grant CLASS,...] [--long-range] | remove "
		  "DSK|NODE | list",
	  .summary = "SmartStart: devices that join by themselves",
	  .help = "Put a SmartStart device on the controller's list by its "
		  "QR code (the digits\nunder it, 90...) or its DSK "
		  "(12345-12345-...): powered on, it joins by\nitself, with "
		  "S2 (all of it, or the classes --grant lists);\n"
		  "--long-range: by Z-Wave Long Range, with S2 "
		  "authenticated or access control.\nlist shows the list, "
		  "remove takes a device off it (backend zwavejs).",
	  .min = 1,
	  .max = 2,
	  .build = build_provision,
	  .print = ctl_print_text_lines },
	{ .name = "exclude",
	  .args = "[SECONDS]",
	  .summary = "remove a device from the network",
	  .help = "Put the controller in exclusion mode for SECONDS (default "
		  "60, at most 600)\nand show how it goes; press the "
		  "button of the device meanwhile.",
	  .min = 0,
	  .max = 1,
	  .build = build_exclude,
	  .print = ctl_print_command },
	{ .name = "cancel",
	  .summary = "stop a running include, exclude or health check",
	  .help = "Stop a running include, exclude or health check; the "
		  "zwgatectl waiting\nfor it says \"cancelled\".",
	  .print = ctl_print_cancel },
	{ .name = "heal",
	  .summary = "rebuild the network's routes",
	  .help = "Have every node update its neighbour list and its routes "
		  "to the\ncontroller.  Progress goes to the daemon's log.",
	  .print = ctl_print_heal },
	{ .name = "refresh",
	  .args = "NODE",
	  .summary = "interview a node again",
	  .help = "Interview a node again: its information and all its values "
		  "are\nreported anew (after a configuration change or a "
		  "firmware update).",
	  .keys = { "node" },
	  .print = ctl_print_refresh },
	{ .name = "health",
	  .args = "NODE [ROUNDS]",
	  .summary = "check a node's link to the controller",
	  .help = "Check the link between a node and the controller "
		  "(backend zwavejs): ROUNDS\n(default 3, at most 10) of "
		  "10 pings each, with each round's latency,\nlost pings "
		  "and neighbours, then the rating of the worst round, 0 "
		  "to 10:\n10 excellent, 7-9 good, 4-6 acceptable, 1-3 "
		  "poor, 0 failing (no answer).\nA sleeping node is "
		  "checked once it wakes up; cancel stops the check.\n"
		  "Exit status 0 once the check ran, whatever the rating; "
		  "1 if it could not.",
	  .min = 1,
	  .max = 2,
	  .build = build_health,
	  .print = ctl_print_command },
	{ .name = "backup",
	  .args = "FILE",
	  .summary = "the controller's memory (its network) into FILE",
	  .help = "Read the controller's memory, its NVM (backend zwavejs): "
		  "the network, its\nnodes and its keys, into FILE, made "
		  "mode 0600 by the user who runs\nzwgatectl.  Z-Wave "
		  "stops meanwhile (seconds to a minute).  Keep FILE\nas "
		  "secret as the network keys: only root and zwgated's "
		  "user may ask\nfor it, and the cloud never can.",
	  .min = 1,
	  .max = 1,
	  .build = ctl_build_backup,
	  .save = ctl_save_backup,
	  .print = ctl_print_backup },
	{ .name = "firmware",
	  .args = CTL_FIRMWARE_ARGS,
	  .summary = "update a device's firmware over the air",
	  .help = "Send the firmware image FILE to NODE and show how it goes "
		  "(backend\nzwavejs): FILE is read by the user who runs "
		  "zwgatectl, up to 4 MiB,\nnamed by its format: .bin, .hex, "
		  ".ota, .otz, .gbl, .hec, .exe, .ex_ or a\n.zip holding "
		  "one.  --target N sends it to the device's firmware "
		  "target N\n(0, the default, is its own firmware).  The "
		  "device checks the image and\nrestarts with it; zwave-js "
		  "interviews it again.  Minutes for a large\nimage; a "
		  "sleeping device starts when it wakes up.  cancel aborts "
		  "it.\nOnly root and zwgated's user may send one, and the "
		  "cloud only with\ncloud { allow-controller-ops yes }.  "
		  "Use the maker's image for exactly\nthis device: the "
		  "device refuses one for another, but not a bad one\nfor "
		  "itself.",
	  .min = 3,
	  .max = 3,
	  .build = ctl_build_firmware,
	  .print = ctl_print_command },
	{ .name = "config-set",
	  .args = "NODE PARAM VALUE [SIZE]",
	  .summary = "set a configuration parameter of a node",
	  .help = "Set configuration parameter PARAM (1-255) of a node to the "
		  "integer VALUE,\nsent as SIZE bytes (1, 2 or 4; default: "
		  "the fewest that hold VALUE;\nthe device's manual says "
		  "which).  The node's report follows as the\nvalue "
		  "configuration/<endpoint>/param_<PARAM>.",
	  .min = 3,
	  .max = 4,
	  .build = build_config_set,
	  .print = ctl_print_config_set },
	{ .name = "sim",
	  .args = sim_args,
	  .summary = "drive the simulated network",
	  .help = "Drive the simulated Z-Wave network (backend \"sim\" "
		  "only).  OP is one of:\n"
		  "  emit NODE VALUE DATA   a report from the device\n"
		  "  dead NODE              the node stops answering\n"
		  "  alive NODE             the node answers again\n"
		  "  event NODE KIND CODE   a scene or button notification\n"
		  "  stream NODE VALUE COUNT RATE\n"
		  "                         COUNT reports of stamps (the "
		  "time in us) at RATE\n"
		  "                         per second (0: as fast as "
		  "the loop takes them)\n"
		  "  stream-event NODE KIND COUNT RATE\n"
		  "                         ... as events with the stamp "
		  "for code\n"
		  "  stats                  the stream's progress and the "
		  "ages of stamps\n"
		  "                         written back to nodes",
	  .min = 1,
	  .max = 5,
	  .build = build_sim,
	  .print = ctl_print_sim },
	{ .name = "rules",
	  .args = rules_args,
	  .summary = "the rules; show, run, enable or disable one",
	  .help = "Without arguments, every rule: enabled, next time it "
		  "fires (local time),\nlast run and its result, and why it "
		  "waits.  With one:\n"
		  "  show NAME      its details and triggers\n"
		  "  run NAME       run its actions now (no trigger, no "
		  "condition)\n"
		  "  enable NAME    let it run again\n"
		  "  disable NAME   stop it from running (kept across "
		  "restarts)",
	  .min = 0,
	  .max = 2,
	  .build = build_rules,
	  .print = ctl_print_rules,
	  .result = JSON_ARRAY,
	  .any_result = true },
	{ .name = "scene",
	  .args = "run NAME",
	  .summary = "run a scene",
	  .help = "Run the actions of a scene of zwgate.rules(5) now.",
	  .min = 2,
	  .max = 2,
	  .build = build_scene,
	  .print = ctl_print_rules,
	  .any_result = true },
};

static const char *cmd_args(const struct ctl_command *c)
{
	return c->args ? c->args : "";
}

void ctl_help_global(void)
{
	printf("usage: %s [-s SOCKET] [--json] [-t SECONDS] COMMAND [ARGS]\n"
	       "\n"
	       "Ask zwgated, the Z-Wave gateway daemon, over its control "
	       "socket.\n"
	       "\n"
	       "Commands:\n",
	       ctl_prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct ctl_command *c = &commands[i];
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s", c->name,
			 c->args ? " " : "", cmd_args(c));
		printf("  %-32s %s\n", syn, c->summary);
	}
	printf("  %-32s %s\n", ctl_trust_synopsis, ctl_trust_summary);
	printf("  %-32s %s\n", "factory-reset [--yes-really]",
	       ctl_reset_summary);
	printf("  %-32s %s\n", ctl_keys_synopsis, ctl_keys_summary);
	printf("  %-32s %s\n", ctl_fleet_synopsis, ctl_fleet_summary);
	printf("  %-32s %s\n", "help [COMMAND]", "this text, or more on one");
	printf("\n"
	       "NODE is a node's number or name.  VALUE is a path such as\n"
	       "switch_binary/0/currentValue or a short form such as switch.\n"
	       "DATA is sent as JSON when it reads as a JSON scalar (true, "
	       "40, -12.5,\n"
	       "'\"on\"'), else as a string.\n"
	       "\n"
	       "Options:\n"
	       "  -s, --socket=PATH    the control socket (default: "
	       "$ZWGATE_SOCKET,\n"
	       "                       else %s/%s)\n"
	       "  -t, --timeout=SECS   wait this long for zwgated to say "
	       "something\n"
	       "                       (default %d; 0: no limit)\n"
	       "      --json           print the result as JSON\n"
	       "  -h, --help           print this help\n"
	       "  -V, --version        print the version\n"
	       "\n"
	       "Exit status:\n"
	       "  0  success                   3  zwgated is not running\n"
	       "  1  zwgated answered an error 4  permission denied\n"
	       "     or the exchange broke     5  no answer in time\n"
	       "  2  usage error\n",
	       ZWCTL_DEFAULT_RUNTIME_DIR, ZWCTL_SOCKET_NAME,
	       CTL_TIMEOUT_DEFAULT_S);
}

void ctl_help_command(const struct ctl_command *c)
{
	printf("usage: %s [options] %s%s%s\n\n%s\n", ctl_prog, c->name,
	       c->args ? " " : "", cmd_args(c), c->help);
}

/* The command names, one a line, for the shell completion. */
void ctl_list_commands(void)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		puts(commands[i].name);
	puts("trust");
	puts("factory-reset");
	puts("keys");
	puts("fleet");
	puts("help");
}

const struct ctl_command *ctl_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * Options after the command: --help, --json, --no-wait (set), "--".
 * Anything else is an argument, so that "-12.5" is DATA, not an option.
 * Returns the number of arguments, compacted to the front of argv.
 */
/* firmware update --target N: 0 (the device's own firmware) to 255. */
static int firmware_target(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = s ? strtol(s, &end, 10) : -1;
	if (!s || errno || end == s || *end || n < 0 || n > 255) {
		fprintf(stderr,
			"%s: firmware: --target needs a number, 0 (the "
			"device's own firmware) to 255\n",
			ctl_prog);
		ctl_usage("firmware", CTL_FIRMWARE_ARGS);
	}
	return (int)n;
}

int ctl_command_args(struct ctl *ctl, const struct ctl_command *c, char **argv,
		     int argc)
{
	int min = c->min, max = c->max;
	bool opts = true;
	int n = 0;

	if (!c->build)
		for (min = max = 0; max < CTL_ARGS_MAX && c->keys[max];)
			min = ++max;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (opts && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			ctl_help_command(c);
			exit(CTL_EXIT_OK);
		} else if (opts && !strcmp(a, "--json")) {
			ctl->json = true;
		} else if (opts && !strcmp(a, "--no-wait") &&
			   !strcmp(c->name, "set")) {
			ctl->no_wait = true;
		} else if (opts && !strcmp(a, "--secure") &&
			   !strcmp(c->name, "include")) {
			ctl->secure = true;
		} else if (opts && !strcmp(a, "--long-range") &&
			   !strcmp(c->name, "provision")) {
			ctl->long_range = true;
		} else if (opts &&
			   ((!strcmp(a, "--grant") &&
			     !strcmp(c->name, "provision")) ||
			    ((!strcmp(a, "--grant") || !strcmp(a, "--pin")) &&
			     !strcmp(c->name, "include")))) {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"%s: include: %s needs a value\n",
					ctl_prog, a);
				ctl_usage(c->name, cmd_args(c));
			}
			*(a[2] == 'g' ? &ctl->grant : &ctl->pin) = argv[++i];
		} else if (opts && !strcmp(a, "--target") &&
			   !strcmp(c->name, "firmware")) {
			ctl->target =
			    firmware_target(i + 1 < argc ? argv[++i] : NULL);
		} else if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && !strncmp(a, "--", 2)) {
			fprintf(stderr, "%s: %s: unknown option '%s'\n",
				ctl_prog, c->name, a);
			ctl_usage(c->name, cmd_args(c));
		} else {
			argv[n++] = argv[i];
		}
	}
	if (n < min || n > max) {
		fprintf(stderr, "%s: %s: %s arguments\n", ctl_prog, c->name,
			n < min ? "missing" : "too many");
		ctl_usage(c->name, cmd_args(c));
	}
	return n;
}
