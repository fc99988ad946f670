/* SPDX-License-Identifier: MIT */
/*
 * zwgatectl: one request to zwgated over its control socket, one answer
 * printed for people (or as JSON with --json).  Plain blocking socket and
 * poll(2) with a deadline: no event loop needed for one exchange.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <libgen.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl_reset.h"
#include "ctl_trust.h"
#include "zwgate/control.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* an error reply, or the exchange broke */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_NOT_RUNNING = 3, /* no socket, or nothing listens on it */
	EXIT_DENIED = 4,      /* not root, not in the group */
	EXIT_TIMEOUT = 5,     /* zwgated said nothing in time */
};

_Static_assert((int)CTL_TRUST_OK == EXIT_OK &&
		   (int)CTL_TRUST_FAILED == EXIT_FAILED &&
		   (int)CTL_TRUST_USAGE == EXIT_USAGE,
	       "ctl_trust.c returns our exit codes");
_Static_assert((int)CTL_RESET_OK == EXIT_OK &&
		   (int)CTL_RESET_FAILED == EXIT_FAILED &&
		   (int)CTL_RESET_USAGE == EXIT_USAGE &&
		   (int)CTL_RESET_DENIED == EXIT_DENIED,
	       "ctl_reset.c returns our exit codes");

#define CTL_TIMEOUT_DEFAULT_S 10
#define CTL_TIMEOUT_MAX_S     86400
#define CTL_REQUEST_ID	      1
#define CTL_ARGS_MAX	      4
#define CTL_CELL_MAX	      256 /* bytes of one table cell (longer is cut) */

/* include and exclude: the longest time they may run */
#define CTL_COMMAND_TIMEOUT_MAX_S 600

/* "set" waits ZWCTL_SET_WAIT_MS on the daemon before it answers. */
_Static_assert(CTL_TIMEOUT_DEFAULT_S * 1000 > ZWCTL_SET_WAIT_MS,
	       "the default timeout must outlast a set's wait");

static const char *prog = "zwgatectl";

struct ctl {
	const char *socket;
	double timeout_s; /* 0: wait forever */
	bool json;
	bool no_wait;
	bool secure; /* include --secure */
};

/*
 * A command's arguments go into the request under keys (as many as there
 * are keys) unless it has its own build, which takes min..max of them.
 * print expects a result of type result (JSON_OBJECT is 0); one of
 * another type is printed as JSON.
 */
struct command {
	const char *name;
	const char *args; /* synopsis; NULL: none */
	const char *summary;
	const char *help;
	const char *keys[CTL_ARGS_MAX];
	int min, max;
	json_t *(*build)(const struct ctl *ctl, char **argv, int argc);
	void (*print)(const json_t *result);
	json_type result;
	bool any_result; /* print takes a result of any type */
};

/* A table of text cells, printed with columns as wide as their content. */
struct table {
	size_t ncols, ncells, cap;
	char **cells;
};

static void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/*
 * Text from the daemon can carry a device's bytes: control characters
 * (C0, DEL, and C1 as UTF-8) become '?' so none reaches the terminal.
 */
static void sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
}

static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void table_add(struct table *t, const char *s)
{
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (!p)
			die(EXIT_FAILED, "out of memory");
		t->cells = p;
		t->cap = cap;
	}
	t->cells[t->ncells] = strdup(s ? s : "-");
	if (!t->cells[t->ncells])
		die(EXIT_FAILED, "out of memory");
	sanitize(t->cells[t->ncells++]);
}

/* Two spaces between columns; the last one is not padded. */
static void table_print(struct table *t)
{
	size_t w[16] = { 0 };

	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols, n = text_width(t->cells[i]);

		if (c < 16 && n > w[c])
			w[c] = n;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols;
		bool last = c + 1 == t->ncols || i + 1 == t->ncells;

		fputs(t->cells[i], stdout);
		if (last)
			fputc('\n', stdout);
		else
			printf("%*s", (int)(w[c] - text_width(t->cells[i]) + 2),
			       "");
	}
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

static void table_row(struct table *t, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++)
		table_add(t, cells[i]);
}

/* A JSON value as a person reads it; null and absent are "-". */
static const char *fmt_json(const json_t *v, char *buf, size_t len)
{
	char *s;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL:
		return "-";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%.10g", json_real_value(v));
		return buf;
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		return buf;
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
				      JSON_REAL_PRECISION(15));
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
		return buf;
	}
}

static const char *fmt_field(const json_t *o, const char *key, char *buf,
			     size_t len)
{
	return fmt_json(json_object_get(o, key), buf, len);
}

static void fmt_uptime(json_int_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "s", s);
	else if (s < 3600)
		snprintf(buf, len,
			 "%" JSON_INTEGER_FORMAT "m %" JSON_INTEGER_FORMAT "s",
			 s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len,
			 "%" JSON_INTEGER_FORMAT "h %" JSON_INTEGER_FORMAT "m",
			 s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len,
			 "%" JSON_INTEGER_FORMAT "d %" JSON_INTEGER_FORMAT "h",
			 s / 86400, s % 86400 / 3600);
}

static bool json_is_scalar(const json_t *v)
{
	return v && !json_is_object(v) && !json_is_array(v);
}

/* Fields of o that are not in skip and are scalars, as "key value". */
static void table_add_rest(struct table *t, const json_t *o,
			   const char *const *skip, const char *indent)
{
	char k[CTL_CELL_MAX], buf[CTL_CELL_MAX];

	for (void *it = json_object_iter((json_t *)o); it;
	     it = json_object_iter_next((json_t *)o, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *v = json_object_iter_value(it);
		size_t i;

		for (i = 0; skip[i] && strcmp(skip[i], key) != 0; i++)
			;
		if (skip[i] || !json_is_scalar(v))
			continue;
		snprintf(k, sizeof(k), "%s%s", indent, key);
		for (char *p = k; *p; p++)
			if (*p == '_')
				*p = ' ';
		table_add(t, k);
		table_add(t, fmt_json(v, buf, sizeof(buf)));
	}
}

static json_int_t int_field(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* What is queued, and whether the state directory takes it. */
static void print_outbox(struct table *t, const json_t *c)
{
	json_int_t mem = int_field(c, "outbox_unwritten");
	json_int_t foreign = int_field(c, "outbox_foreign");
	char buf[CTL_CELL_MAX], why[CTL_CELL_MAX];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "%" JSON_INTEGER_FORMAT " pending, %" JSON_INTEGER_FORMAT
		     " dropped",
		     int_field(c, "outbox_pending"),
		     int_field(c, "outbox_dropped"));
	if (mem > 0 && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      ", %" JSON_INTEGER_FORMAT " in memory only", mem);
	/* Found at start for topics not this gateway's, and not sent. */
	if (foreign > 0 && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n,
			 ", %" JSON_INTEGER_FORMAT " not this gateway's",
			 foreign);
	table_add(t, "  outbox");
	table_add(t, buf);
	if (json_object_get(c, "outbox_error")) {
		snprintf(buf, sizeof(buf), "cannot write the outbox: %s",
			 fmt_field(c, "outbox_error", why, sizeof(why)));
		table_add(t, "  disk");
		table_add(t, buf);
	}
	if (json_object_get(c, "trust_store_error")) {
		table_add(t, "  trust store");
		table_add(t,
			  fmt_field(c, "trust_store_error", buf, sizeof(buf)));
	}
}

/* The cloud link in words: state, since when, why not, what is queued. */
static void print_cloud(struct table *t, const json_t *c)
{
	static const char *const shown[] = { "state",
					     "host",
					     "connected_since_ms",
					     "last_error",
					     "attempt",
					     "next_try_s",
					     "outbox_pending",
					     "outbox_dropped",
					     "outbox_unwritten",
					     "outbox_foreign",
					     "outbox_error",
					     "trust_store_error",
					     NULL };
	char buf[CTL_CELL_MAX], when[64];
	time_t since = (time_t)(int_field(c, "connected_since_ms") / 1000);
	struct tm tm;

	const char *host = json_string_value(json_object_get(c, "host"));

	snprintf(buf, sizeof(buf), "%s (%s)",
		 fmt_field(c, "state", when, sizeof(when)), host ? host : "?");
	table_add(t, "cloud");
	table_add(t, buf);
	if (since && localtime_r(&since, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm)) {
		table_add(t, "  connected since");
		table_add(t, when);
	}
	if (json_object_get(c, "last_error")) {
		table_add(t, "  last error");
		table_add(t, fmt_field(c, "last_error", buf, sizeof(buf)));
	}
	if (json_object_get(c, "next_try_s")) {
		snprintf(buf, sizeof(buf),
			 "attempt %" JSON_INTEGER_FORMAT
			 ", next in %" JSON_INTEGER_FORMAT " s",
			 int_field(c, "attempt"), int_field(c, "next_try_s"));
		table_add(t, "  reconnect");
		table_add(t, buf);
	}
	print_outbox(t, c);
	table_add_rest(t, c, shown, "  ");
}

static void print_status(const json_t *r)
{
	static const char *const keys[][2] = {
		{ "version", "version" }, { "uptime_s", "uptime" },
		{ "backend", "backend" }, { "controller", "controller" },
		{ "nodes", "nodes" },	  { "log_level", "log level" },
		{ "config", "config" },
	};
	static const char *const known[] = {
		"version",   "uptime_s", "backend", "controller", "nodes",
		"log_level", "config",	 "cloud",   NULL
	};
	struct table t = { .ncols = 2 };
	const json_t *cloud = json_object_get(r, "cloud");
	char buf[CTL_CELL_MAX];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(r, keys[i][0]);

		if (!v)
			continue;
		table_add(&t, keys[i][1]);
		if (json_is_integer(v) && strcmp(keys[i][0], "uptime_s") == 0) {
			fmt_uptime(json_integer_value(v), buf, sizeof(buf));
			table_add(&t, buf);
		} else {
			table_add(&t, fmt_json(v, buf, sizeof(buf)));
		}
	}
	table_add_rest(&t, r, known, "");
	if (json_is_object(cloud))
		print_cloud(&t, cloud);
	table_print(&t);
}

/* A node's "values": a count in "nodes", an array in "node". */
static const char *fmt_count(const json_t *v, char *buf, size_t len)
{
	if (json_is_array(v)) {
		snprintf(buf, len, "%zu", json_array_size(v));
		return buf;
	}
	return fmt_json(v, buf, len);
}

static void print_nodes(const json_t *r)
{
	static const char *const head[] = { "ID", "NAME", "STATUS", "PRODUCT",
					    "VALUES" };
	struct table t = { .ncols = 5 };
	char b[5][CTL_CELL_MAX];
	table_row(&t, head);
	for (size_t i = 0; i < json_array_size(r); i++) {
		const json_t *n = json_array_get(r, i);
		const char *row[] = {
			fmt_field(n, "id", b[0], sizeof(b[0])),
			fmt_field(n, "name", b[1], sizeof(b[1])),
			fmt_field(n, "status", b[2], sizeof(b[2])),
			fmt_field(n, "product", b[3], sizeof(b[3])),
			fmt_count(json_object_get(n, "values"), b[4],
				  sizeof(b[4])),
		};

		table_row(&t, row);
	}
	table_print(&t);
}

static const char *fmt_access(const json_t *v)
{
	bool r = json_is_true(json_object_get(v, "readable"));
	bool w = json_is_true(json_object_get(v, "writable"));

	return r ? (w ? "rw" : "r-") : (w ? "-w" : "--");
}

static const char *fmt_updated(const json_t *v, char *buf, size_t len)
{
	const json_t *u = json_object_get(v, "updated_ms");
	time_t t;
	struct tm tm;

	if (!json_is_number(u))
		return "-";
	t = (time_t)(json_number_value(u) / 1000);
	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		return "-";
	return buf;
}

static void print_values(const json_t *values)
{
	static const char *const head[] = { "PATH", "ALIAS",  "VALUE",
					    "UNIT", "ACCESS", "UPDATED" };
	struct table t = { .ncols = 6 };
	char b[6][CTL_CELL_MAX];
	if (!json_array_size(values)) {
		puts("(no values)");
		return;
	}
	table_row(&t, head);
	for (size_t i = 0; i < json_array_size(values); i++) {
		const json_t *v = json_array_get(values, i);
		const char *row[] = {
			fmt_field(v, "path", b[0], sizeof(b[0])),
			fmt_field(v, "alias", b[1], sizeof(b[1])),
			fmt_field(v, "value", b[2], sizeof(b[2])),
			json_is_string(json_object_get(v, "unit"))
			    ? fmt_field(v, "unit", b[3], sizeof(b[3]))
			    : "",
			fmt_access(v),
			fmt_updated(v, b[5], sizeof(b[5])),
		};

		table_row(&t, row);
	}
	table_print(&t);
}

static void print_node(const json_t *r)
{
	static const char *const keys[] = { "id",      "name",
					    "status",  "manufacturer",
					    "product", "location" };
	struct table t = { .ncols = 2 };
	char buf[CTL_CELL_MAX];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		table_add(&t, keys[i]);
		table_add(&t, fmt_field(r, keys[i], buf, sizeof(buf)));
	}
	table_print(&t);
	putchar('\n');
	print_values(json_object_get(r, "values"));
}

static void print_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* One line of output, made safe for the terminal. */
static void print_line(const char *fmt, ...)
{
	char line[3 * CTL_CELL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sanitize(line);
	puts(line);
}

static void print_get(const json_t *r)
{
	const json_t *unit = json_object_get(r, "unit");
	char p[CTL_CELL_MAX], v[CTL_CELL_MAX];

	print_line("%s = %s%s%s", fmt_field(r, "path", p, sizeof(p)),
		   fmt_field(r, "value", v, sizeof(v)),
		   json_string_length(unit) ? " " : "",
		   json_is_string(unit) ? json_string_value(unit) : "");
}

/* A node as people call it: its name, else its number. */
static const char *fmt_node(const json_t *r, char *buf, size_t len)
{
	const json_t *name = json_object_get(r, "name");
	char id[32];

	if (json_string_length(name))
		return fmt_json(name, buf, len);
	snprintf(buf, len, "node %s", fmt_field(r, "node", id, sizeof(id)));
	return buf;
}

static void print_set(const json_t *r)
{
	char n[CTL_CELL_MAX], p[CTL_CELL_MAX], v[CTL_CELL_MAX];

	print_line("%s %s = %s%s", fmt_node(r, n, sizeof(n)),
		   fmt_field(r, "path", p, sizeof(p)),
		   fmt_field(r, "value", v, sizeof(v)),
		   json_is_false(json_object_get(r, "confirmed"))
		       ? " (not confirmed yet)"
		       : "");
}

static void print_rename(const json_t *r)
{
	const json_t *name = json_object_get(r, "name");
	char n[32], v[CTL_CELL_MAX];

	if (json_string_length(name))
		print_line("node %s is now called %s",
			   fmt_field(r, "node", n, sizeof(n)),
			   fmt_json(name, v, sizeof(v)));
	else
		print_line("node %s has no name now",
			   fmt_field(r, "node", n, sizeof(n)));
}

static void print_lines(FILE *out, const json_t *lines)
{
	char buf[CTL_CELL_MAX * 4];

	for (size_t i = 0; i < json_array_size(lines); i++) {
		fmt_json(json_array_get(lines, i), buf, sizeof(buf));
		sanitize(buf);
		fprintf(out, "%s\n", buf);
	}
}

static void print_reload(const json_t *r)
{
	print_lines(stderr, json_object_get(r, "warnings"));
	puts(json_is_false(json_object_get(r, "reloaded"))
		 ? "configuration not reloaded"
		 : "configuration reloaded");
}

static void print_log_level(const json_t *r)
{
	char buf[CTL_CELL_MAX];

	print_line("log level is now %s",
		   fmt_field(r, "level", buf, sizeof(buf)));
}

static void print_sim(const json_t *r)
{
	static const char *const skip[] = { "node", NULL };
	struct table t = { .ncols = 2 };
	char buf[CTL_CELL_MAX];

	if (json_object_get(r, "running"))
		print_line("sim: %s",
			   json_is_true(json_object_get(r, "running"))
			       ? "a stream is running"
			       : "no stream is running");
	else
		print_line("sim: done on node %s",
			   fmt_field(r, "node", buf, sizeof(buf)));
	table_add_rest(&t, r, skip, "  ");
	table_print(&t);
}

/* Anything the daemon says that we have no layout for. */
static void print_json(const json_t *v)
{
	char *s =
	    json_dumps(v ? v : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY |
						JSON_REAL_PRECISION(15));

	if (!s)
		die(EXIT_FAILED, "out of memory");
	puts(s);
	free(s);
}

/* How each argument goes into the request; DATA, CODE, COUNT and RATE may
 * be JSON. */
static json_t *arg_json(const char *key, const char *s)
{
	bool scalar = strcmp(key, "data") == 0 || strcmp(key, "code") == 0 ||
		      strcmp(key, "count") == 0 || strcmp(key, "rate") == 0;
	json_t *v = scalar ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;

	if (v && json_is_scalar(v))
		return v;
	json_decref(v);
	v = json_string(s);
	if (!v)
		die(EXIT_USAGE, "%s: not UTF-8 text", key);
	return v;
}

/* {"id": 1, "cmd": cmd, ["op": op,] key: argument...} */
static json_t *request_new(const char *cmd, const char *op,
			   const char *const *keys, char **argv, int argc)
{
	json_t *req = json_pack("{s:i,s:s,s:s*}", "id", CTL_REQUEST_ID, "cmd",
				cmd, "op", op);

	if (!req)
		die(EXIT_FAILED, "out of memory");
	for (int i = 0; i < argc && keys[i]; i++)
		json_object_set_new(req, keys[i], arg_json(keys[i], argv[i]));
	return req;
}

static json_t *build_args(const struct ctl *ctl, const char *cmd,
			  const char *const *keys, char **argv, int argc)
{
	json_t *req = request_new(cmd, NULL, keys, argv, argc);

	if (ctl->no_wait)
		json_object_set_new(req, "wait", json_false());
	return req;
}

static void usage_short(const char *cmd, const char *args)
    __attribute__((noreturn));

static void usage_short(const char *cmd, const char *args)
{
	if (cmd) {
		fprintf(stderr, "usage: %s [options] %s%s%s\n", prog, cmd,
			*args ? " " : "", args);
		fprintf(stderr, "Try '%s help %s' for more.\n", prog, cmd);
	} else {
		fprintf(stderr,
			"usage: %s [-s SOCKET] [--json] [-t SECONDS] "
			"COMMAND [ARGS]\n",
			prog);
		fprintf(stderr, "Try '%s --help' for more.\n", prog);
	}
	exit(EXIT_USAGE);
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
				prog, s->op, n, n == 1 ? "" : "s");
			usage_short("sim", sim_args);
		}
		return request_new("sim", s->op, s->keys, argv + 1, argc - 1);
	}
	fprintf(stderr, "%s: unknown sim operation '%s'\n", prog, argv[0]);
	usage_short("sim", sim_args);
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
			fprintf(stderr,
				"%s: %s: bad time '%s' (1 to %d seconds)\n",
				prog, cmd, argv[0], CTL_COMMAND_TIMEOUT_MAX_S);
			usage_short(cmd, args);
		}
		json_object_set_new(req, "timeout", json_integer(t));
	}
	if (ctl->secure)
		json_object_set_new(req, "secure", json_true());
	return req;
}

static json_t *build_include(const struct ctl *ctl, char **argv, int argc)
{
	return build_command(ctl, "include", "[--secure] [SECONDS]", argv,
			     argc);
}

static json_t *build_exclude(const struct ctl *ctl, char **argv, int argc)
{
	return build_command(ctl, "exclude", "[SECONDS]", argv, argc);
}

static json_t *build_config_set(const struct ctl *ctl, char **argv, int argc)
{
	static const char *const keys[CTL_ARGS_MAX] = { "node", "param", "data",
							"size" };

	return request_new("config-set", NULL, keys, argv, argc);
}

static void print_command(const json_t *r)
{
	const json_t *text = json_object_get(r, "text");

	print_line("%s",
		   json_is_string(text) ? json_string_value(text) : "done");
}

static void print_cancel(const json_t *r)
{
	print_line("cancel sent to the controller");
}

static void print_heal(const json_t *r)
{
	print_line("healing the network: each node updates its routes "
		   "(progress in the daemon's log)");
}

static void print_refresh(const json_t *r)
{
	char n[32];

	print_line("node %s: interview started; its values follow",
		   fmt_field(r, "node", n, sizeof(n)));
}

static void print_config_set(const json_t *r)
{
	char b[4][32];

	print_line("node %s: parameter %s = %s (%s byte%s) sent",
		   fmt_field(r, "node", b[0], sizeof(b[0])),
		   fmt_field(r, "param", b[1], sizeof(b[1])),
		   fmt_field(r, "value", b[2], sizeof(b[2])),
		   fmt_field(r, "size", b[3], sizeof(b[3])),
		   json_integer_value(json_object_get(r, "size")) == 1 ? ""
								       : "s");
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
				prog, ops[i]);
			usage_short("rules", rules_args);
		}
		snprintf(cmd, sizeof(cmd), "rules-%s", ops[i]);
		return request_new(cmd, NULL, rules_keys, argv + 1, 1);
	}
	fprintf(stderr, "%s: unknown rules operation '%s'\n", prog, argv[0]);
	usage_short("rules", rules_args);
}

static json_t *build_scene(const struct ctl *ctl, char **argv, int argc)
{
	if (strcmp(argv[0], "run") != 0) {
		fprintf(stderr, "%s: unknown scene operation '%s'\n", prog,
			argv[0]);
		usage_short("scene", "run NAME");
	}
	return request_new("scene-run", NULL, rules_keys, argv + 1, 1);
}

static void print_rule_list(const json_t *r)
{
	static const char *const head[] = { "NAME",	"ENABLED", "NEXT",
					    "LAST RUN", "RESULT",  "WAITING" };
	static const char *const keys[] = {
		"name", "enabled", "next", "last_run", "last_result", "waiting"
	};
	struct table t = { .ncols = 6 };
	char b[6][CTL_CELL_MAX];
	const char *row[6];

	table_row(&t, head);
	for (size_t i = 0; i < json_array_size(r); i++) {
		for (size_t k = 0; k < 6; k++)
			row[k] = fmt_field(json_array_get(r, i), keys[k], b[k],
					   sizeof(b[k]));
		table_row(&t, row);
	}
	table_print(&t);
}

/* rules show: the rule's fields, then a table of its triggers. */
static void print_rule(const json_t *r)
{
	static const char *const keys[] = {
		"name", "enabled",  "paused",	   "mode",    "file",
		"next", "last_run", "last_result", "waiting", "running",
		"runs", "dropped",  "max_runs",	   "actions"
	};
	static const char *const head[] = { "TRIGGER", "LINE", "NODE",
					    "VALUE",   "NEXT", "WAITING" };
	static const char *const tkeys[] = { "type",  "line", "node",
					     "value", "next", "waiting" };
	const json_t *trigs = json_object_get(r, "triggers");
	struct table t = { .ncols = 2 };
	char b[6][CTL_CELL_MAX];
	const char *row[6];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		row[0] = keys[k];
		row[1] = fmt_field(r, keys[k], b[0], sizeof(b[0]));
		table_row(&t, row);
	}
	table_print(&t);
	t.ncols = 6;
	table_row(&t, head);
	for (size_t i = 0; i < json_array_size(trigs); i++) {
		for (size_t k = 0; k < 6; k++)
			row[k] = fmt_field(json_array_get(trigs, i), tkeys[k],
					   b[k], sizeof(b[k]));
		table_row(&t, row);
	}
	putchar('\n');
	table_print(&t);
}

static void print_rules(const json_t *r)
{
	char b[2][CTL_CELL_MAX];

	if (json_is_array(r))
		print_rule_list(r);
	else if (json_object_get(r, "triggers"))
		print_rule(r);
	else
		print_line("%s '%s': %s",
			   fmt_field(r, "kind", b[0], sizeof(b[0])),
			   fmt_field(r, "name", b[1], sizeof(b[1])),
			   json_string_value(json_object_get(r, "done")));
}

static const struct command commands[] = {
	{ .name = "status",
	  .summary = "version, uptime, backend, nodes, cloud link",
	  .help = "The daemon's version, uptime, Z-Wave backend and "
		  "controller state,\nnumber of nodes, log level, "
		  "configuration file and cloud link.",
	  .print = print_status },
	{ .name = "nodes",
	  .summary = "every node, one a line",
	  .help = "Every node, one a line: number, name, status, product, "
		  "number of values.",
	  .print = print_nodes,
	  .result = JSON_ARRAY },
	{ .name = "node",
	  .args = "NODE",
	  .summary = "one node with its values",
	  .help = "One node: its details and a table of its values (path, "
		  "short name,\nvalue, unit, access, time of the last "
		  "report).",
	  .keys = { "node" },
	  .print = print_node },
	{ .name = "get",
	  .args = "NODE VALUE",
	  .summary = "one value",
	  .help = "One value of a node.",
	  .keys = { "node", "value" },
	  .print = print_get },
	{ .name = "set",
	  .args = "[--no-wait] NODE VALUE DATA",
	  .summary = "write a value",
	  .help = "Write DATA to a value.  zwgated waits (a few seconds at "
		  "most) for the device\nto report the new value; with "
		  "--no-wait it answers at once.",
	  .keys = { "node", "value", "data" },
	  .print = print_set },
	{ .name = "rename",
	  .args = "NODE NAME",
	  .summary = "name a node (\"\": no name)",
	  .help = "Give a node a name; an empty NAME (\"\") removes it.",
	  .keys = { "node", "name" },
	  .print = print_rename },
	{ .name = "reload",
	  .summary = "re-read the configuration",
	  .help = "Re-read the configuration.  On an error the old one "
		  "stays, and the\nerrors are printed as file:line:col: "
		  "message.",
	  .print = print_reload },
	{ .name = "log-level",
	  .args = "LEVEL",
	  .summary = "debug, info, notice, warning or error",
	  .help = "Set the daemon's log level: debug, info, notice, warning "
		  "or error.",
	  .keys = { "level" },
	  .print = print_log_level },
	{ .name = "include",
	  .args = "[--secure] [SECONDS]",
	  .summary = "add a device to the network",
	  .help = "Put the controller in inclusion mode for SECONDS (default "
		  "60, at most 600)\nand show how it goes; press the "
		  "button of the device meanwhile.  With\n--secure the "
		  "device is included with S0 security (needs a network "
		  "key).\nExit status 0 once a device was added, 1 on a "
		  "timeout or failure.",
	  .min = 0,
	  .max = 1,
	  .build = build_include,
	  .print = print_command },
	{ .name = "exclude",
	  .args = "[SECONDS]",
	  .summary = "remove a device from the network",
	  .help = "Put the controller in exclusion mode for SECONDS (default "
		  "60, at most 600)\nand show how it goes; press the "
		  "button of the device meanwhile.",
	  .min = 0,
	  .max = 1,
	  .build = build_exclude,
	  .print = print_command },
	{ .name = "cancel",
	  .summary = "stop a running include or exclude",
	  .help = "Stop a running include or exclude; the zwgatectl waiting "
		  "for it says\n\"cancelled\".",
	  .print = print_cancel },
	{ .name = "heal",
	  .summary = "rebuild the network's routes",
	  .help = "Have every node update its neighbour list and its routes "
		  "to the\ncontroller.  Progress goes to the daemon's log.",
	  .print = print_heal },
	{ .name = "refresh",
	  .args = "NODE",
	  .summary = "interview a node again",
	  .help = "Interview a node again: its information and all its values "
		  "are\nreported anew (after a configuration change or a "
		  "firmware update).",
	  .keys = { "node" },
	  .print = print_refresh },
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
	  .print = print_config_set },
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
	  .print = print_sim },
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
	  .print = print_rules,
	  .result = JSON_ARRAY,
	  .any_result = true },
	{ .name = "scene",
	  .args = "run NAME",
	  .summary = "run a scene",
	  .help = "Run the actions of a scene of zwgate.rules(5) now.",
	  .min = 2,
	  .max = 2,
	  .build = build_scene,
	  .print = print_rules,
	  .any_result = true },
};

static const char *cmd_args(const struct command *c)
{
	return c->args ? c->args : "";
}

static void help_global(void)
{
	printf("usage: %s [-s SOCKET] [--json] [-t SECONDS] COMMAND [ARGS]\n"
	       "\n"
	       "Ask zwgated, the Z-Wave gateway daemon, over its control "
	       "socket.\n"
	       "\n"
	       "Commands:\n",
	       prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s", c->name,
			 c->args ? " " : "", cmd_args(c));
		printf("  %-32s %s\n", syn, c->summary);
	}
	printf("  %-32s %s\n", ctl_trust_synopsis, ctl_trust_summary);
	printf("  %-32s %s\n", "factory-reset [--yes-really]",
	       ctl_reset_summary);
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

static void help_command(const struct command *c)
{
	printf("usage: %s [options] %s%s%s\n\n%s\n", prog, c->name,
	       c->args ? " " : "", cmd_args(c), c->help);
}

/* The command names, one a line, for the shell completion. */
static void list_commands(void)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		puts(commands[i].name);
	puts("trust");
	puts("factory-reset");
	puts("help");
}

static const struct command *command_find(const char *name)
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
static int command_args(struct ctl *ctl, const struct command *c, char **argv,
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
			help_command(c);
			exit(EXIT_OK);
		} else if (opts && !strcmp(a, "--json")) {
			ctl->json = true;
		} else if (opts && !strcmp(a, "--no-wait") &&
			   !strcmp(c->name, "set")) {
			ctl->no_wait = true;
		} else if (opts && !strcmp(a, "--secure") &&
			   !strcmp(c->name, "include")) {
			ctl->secure = true;
		} else if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && !strncmp(a, "--", 2)) {
			fprintf(stderr, "%s: %s: unknown option '%s'\n", prog,
				c->name, a);
			usage_short(c->name, cmd_args(c));
		} else {
			argv[n++] = argv[i];
		}
	}
	if (n < min || n > max) {
		fprintf(stderr, "%s: %s: %s arguments\n", prog, c->name,
			n < min ? "missing" : "too many");
		usage_short(c->name, cmd_args(c));
	}
	return n;
}

static double parse_timeout(const char *s)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(t) || t < 0 ||
	    t > CTL_TIMEOUT_MAX_S) {
		fprintf(stderr, "%s: bad timeout '%s' (seconds, 0 to %d)\n",
			prog, s, CTL_TIMEOUT_MAX_S);
		usage_short(NULL, NULL);
	}
	return t;
}

static void parse_global(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* Not in --help: for completion/zwgatectl.bash. */
		{ "list-commands", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	opterr = 0; /* getopt would name us by argv[0], a path */
	while ((o = getopt_long(argc, argv, "+:s:t:hV", longopts, NULL)) !=
	       -1) {
		switch (o) {
		case 's':
			ctl->socket = optarg;
			break;
		case 't':
			ctl->timeout_s = parse_timeout(optarg);
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			help_global();
			exit(EXIT_OK);
		case 'V':
			printf("%s %s\n", prog, PACKAGE_VERSION);
			exit(EXIT_OK);
		case 'L':
			list_commands();
			exit(EXIT_OK);
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n",
				prog, argv[optind - 1]);
			usage_short(NULL, NULL);
		default:
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n",
					prog, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n",
					prog, argv[optind - 1]);
			usage_short(NULL, NULL);
		}
	}
}

static void die_timeout(const struct ctl *ctl) __attribute__((noreturn));

static void die_timeout(const struct ctl *ctl)
{
	die(EXIT_TIMEOUT, "no answer from zwgated within %g s", ctl->timeout_s);
}

/*
 * The group that would let us in, for the hint of a refused connect: the
 * socket's own (the daemon gives it the group of control { group }), or,
 * when we cannot even look at it, that of its directory, which is then
 * what refused us.  The configured name is not ours to read: only the
 * file system says which group it is.
 */
static void ctl_denied_group(const char *path, char *buf, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct group *gr;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(path, &st) < 0 && stat(dirname(dir), &st) < 0) {
		snprintf(buf, len,
			 "the group of control { group } in "
			 "zwgate.conf");
		return;
	}
	gr = getgrgid(st.st_gid);
	if (gr)
		snprintf(buf, len, "group %s", gr->gr_name);
	else
		snprintf(buf, len, "group %lu", (unsigned long)st.st_gid);
}

/*
 * SO_SNDTIMEO bounds connect() too: with the daemon's backlog full a
 * connect to a Unix socket sleeps until there is room.
 */
static int ctl_connect(const struct ctl *ctl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = ctl->socket;
	char group[128];
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		die(EXIT_USAGE, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(EXIT_FAILED, "socket: %s", strerror(errno));
	if (ctl->timeout_s > 0) {
		time_t sec = (time_t)ctl->timeout_s;
		struct timeval tv = {
			.tv_sec = sec,
			.tv_usec = (suseconds_t)((ctl->timeout_s - sec) * 1e6),
		};

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		die(EXIT_NOT_RUNNING, "zwgated is not running: no socket at %s",
		    path);
	case ECONNREFUSED:
		die(EXIT_NOT_RUNNING,
		    "zwgated is not running: nothing listens on %s", path);
	case EACCES:
	case EPERM:
		e = errno;
		ctl_denied_group(path, group, sizeof(group));
		die(EXIT_DENIED,
		    "cannot connect to %s: %s (are you root or in %s?)", path,
		    strerror(e), group);
	case EAGAIN:
	case EINPROGRESS:
		die_timeout(ctl);
	default:
		die(EXIT_FAILED, "cannot connect to %s: %s", path,
		    strerror(errno));
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A refused client may find the socket closed before its request is
 * out; the daemon's reason is still waiting to be read, so a failed
 * send is not fatal here.
 */
static void send_request(const struct ctl *ctl, int fd, const char *s,
			 size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die_timeout(ctl);
		if (n < 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void print_progress(const json_t *p)
{
	const json_t *text = json_object_get(p, "text");
	char buf[CTL_CELL_MAX * 2];

	if (!text)
		text = json_object_get(p, "message");
	fmt_json(json_is_string(text) ? text : p, buf, sizeof(buf));
	sanitize(buf);
	fprintf(stderr, "%s\n", buf);
}

/*
 * One line from the daemon: our reply (returned), our progress (printed;
 * *alive set), or something else (ignored).  A reply with "id": null
 * is ours too: it answers a request the daemon could not read, or the
 * connection itself (refused, too many clients).
 */
static json_t *take_line(const char *line, size_t len, bool *alive)
{
	json_t *m = json_loadb(line, len, 0, NULL);
	const json_t *id = json_object_get(m, "id");
	bool ours =
	    json_is_integer(id) && json_integer_value(id) == CTL_REQUEST_ID;

	if (ours && json_object_get(m, "progress")) {
		print_progress(json_object_get(m, "progress"));
		*alive = true;
	} else if (json_object_get(m, "ok") &&
		   (ours || !id || json_is_null(id))) {
		return m;
	}
	json_decref(m);
	return NULL;
}

static json_t *await_reply(const struct ctl *ctl, int fd)
{
	static char buf[ZWCTL_LINE_MAX];
	int64_t wait = (int64_t)(ctl->timeout_s * 1000);
	int64_t end = now_ms() + wait;
	size_t have = 0;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		bool alive = false;
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - buf);
			json_t *r = take_line(buf, len, &alive);

			if (r)
				return r;
			have -= len + 1;
			memmove(buf, nl + 1, have);
			if (alive)
				end = now_ms() + wait;
			continue;
		}
		if (have == sizeof(buf))
			die(EXIT_FAILED, "a line from zwgated is over %d bytes",
			    ZWCTL_LINE_MAX);
		n = wait ? end - now_ms() : -1;
		if (wait && n <= 0)
			die_timeout(ctl);
		n = poll(&p, 1, n > INT32_MAX ? INT32_MAX : (int)n);
		if (n < 0 && errno != EINTR)
			die(EXIT_FAILED, "poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			die(EXIT_FAILED,
			    "zwgated closed the connection without an answer");
		if (n < 0 && errno != EINTR)
			die(EXIT_FAILED, "reading from %s: %s", ctl->socket,
			    strerror(errno));
		if (n > 0)
			have += (size_t)n;
	}
}

static bool field_is(const json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v && strcmp(v, want) == 0;
}

static int report_error(const struct ctl *ctl, json_t *reply)
{
	const json_t *err = json_object_get(reply, "error");
	/* An "id": null EACCES is the daemon's peer check (SO_PEERCRED). */
	bool denied = json_is_null(json_object_get(reply, "id")) &&
		      field_is(reply, "code", "EACCES");
	char buf[CTL_CELL_MAX * 4];

	if (json_is_string(err))
		snprintf(buf, sizeof(buf), "%s", json_string_value(err));
	else
		snprintf(buf, sizeof(buf), "zwgated sent a malformed reply");
	sanitize(buf);
	fprintf(stderr, "%s: %s\n", prog, buf);
	print_lines(stderr, json_object_get(reply, "details"));
	if (ctl->json) {
		json_object_del(reply, "id");
		print_json(reply);
	}
	return denied ? EXIT_DENIED : EXIT_FAILED;
}

static int report(const struct ctl *ctl, const struct command *c, json_t *reply)
{
	const json_t *result = json_object_get(reply, "result");

	if (!json_is_true(json_object_get(reply, "ok")))
		return report_error(ctl, reply);
	if (ctl->json || !result ||
	    (json_typeof(result) != c->result && !c->any_result))
		print_json(result);
	else
		c->print(result);
	return EXIT_OK;
}

/* The request as one protocol line, newline included. */
static char *request_line(const json_t *req, size_t *len)
{
	char *s = json_dumps(req, JSON_COMPACT), *line;

	if (!s)
		die(EXIT_FAILED, "out of memory");
	*len = strlen(s) + 1;
	if (*len > ZWCTL_LINE_MAX)
		die(EXIT_USAGE, "request too large (limit %d bytes)",
		    ZWCTL_LINE_MAX);
	line = realloc(s, *len + 1);
	if (!line)
		die(EXIT_FAILED, "out of memory");
	memcpy(line + *len - 1, "\n", 2);
	return line;
}

/*
 * `trust`: its offline tools run and exit here; status and import come
 * back as a request sent like any other, printed by c's printer.
 */
static json_t *trust_request(struct ctl *ctl, int argc, char **argv,
			     struct command *c)
{
	json_t *req = NULL;
	int rc = ctl_trust_run(argc, argv, &ctl->json, &req, &c->print);

	if (rc != CTL_TRUST_SEND) {
		if (fflush(stdout) != 0 || ferror(stdout))
			die(EXIT_FAILED, "writing the output: %s",
			    strerror(errno));
		exit(rc);
	}
	json_object_set_new(req, "id", json_integer(CTL_REQUEST_ID));
	return req;
}

/*
 * help [COMMAND [SUBCOMMAND]]: "help trust keygen" is the help of
 * "trust keygen", which ctl_trust.c prints when asked with --help.
 */
static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		help_global();
	} else if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
		   !strcmp(argv[1], "--help")) {
		printf("usage: %s help [COMMAND [SUBCOMMAND]]\n\nThe summary "
		       "of commands, options and exit status, or the\nhelp "
		       "of one command.\n",
		       prog);
	} else if (!strcmp(argv[1], "trust") && argc > 2) {
		static char opt[] = "--help";
		char *sub[] = { argv[1], argv[2], opt, NULL };
		void (*print)(const json_t *result) = NULL;
		json_t *req = NULL;
		bool json = false;

		return ctl_trust_run(3, sub, &json, &req, &print);
	} else if (!strcmp(argv[1], "trust")) {
		ctl_trust_help(stdout);
	} else if (!strcmp(argv[1], "factory-reset")) {
		ctl_reset_help(stdout);
	} else if ((c = command_find(argv[1]))) {
		help_command(c);
	} else {
		fprintf(stderr, "%s: help: unknown command '%s'\n", prog,
			argv[1]);
		usage_short(NULL, NULL);
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct command trust = { .name = "trust" };
	struct ctl ctl = { .timeout_s = CTL_TIMEOUT_DEFAULT_S };
	const struct command *c;
	const char *env = getenv("ZWGATE_SOCKET");
	json_t *req, *reply;
	char *line;
	size_t len;
	int n, fd, rc;

	ctl.socket =
	    env && *env ? env : ZWCTL_DEFAULT_RUNTIME_DIR "/" ZWCTL_SOCKET_NAME;
	parse_global(&ctl, argc, argv);
	argv += optind;
	argc -= optind;
	if (!argc) {
		fprintf(stderr, "%s: no command given\n", prog);
		usage_short(NULL, NULL);
	}
	if (!strcmp(argv[0], "help"))
		return help(argc, argv);
	if (!strcmp(argv[0], "factory-reset"))
		return ctl_reset_run(argc, argv, ctl.socket);
	if (!strcmp(argv[0], "trust")) {
		req = trust_request(&ctl, argc, argv, &trust);
		c = &trust;
	} else if ((c = command_find(argv[0]))) {
		n = command_args(&ctl, c, argv + 1, argc - 1);
		req = c->build
			  ? c->build(&ctl, argv + 1, n)
			  : build_args(&ctl, c->name, c->keys, argv + 1, n);
	} else {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[0]);
		usage_short(NULL, NULL);
	}
	line = request_line(req, &len);
	json_decref(req);
	fd = ctl_connect(&ctl);
	send_request(&ctl, fd, line, len);
	free(line);
	reply = await_reply(&ctl, fd);
	close(fd);
	rc = report(&ctl, c, reply);
	json_decref(reply);
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_FAILED, "writing the output: %s", strerror(errno));
	return rc;
}
