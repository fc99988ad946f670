/* SPDX-License-Identifier: MIT */
/*
 * ctl_print.c: the printers of zwgatectl: each command's result for
 * people (--json prints the result as it came instead).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl_int.h"
#include "zwtime.h"

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

static json_int_t int_field(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* What is queued, and whether the state directory takes it. */
static void print_outbox(struct ctl_table *t, const json_t *c)
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
	ctl_table_add(t, "  outbox");
	ctl_table_add(t, buf);
	if (json_object_get(c, "outbox_error")) {
		snprintf(buf, sizeof(buf), "cannot write the outbox: %s",
			 ctl_fmt_field(c, "outbox_error", why, sizeof(why)));
		ctl_table_add(t, "  disk");
		ctl_table_add(t, buf);
	}
	if (json_object_get(c, "trust_store_error")) {
		ctl_table_add(t, "  trust store");
		ctl_table_add(
		    t, ctl_fmt_field(c, "trust_store_error", buf, sizeof(buf)));
	}
}

/* Several brokers: all of them, in the config's order. */
static void print_brokers(struct ctl_table *t, const json_t *hosts)
{
	char buf[CTL_CELL_MAX];
	const json_t *h;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(hosts, i, h)
	{
		int w =
		    snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
			     json_is_string(h) ? json_string_value(h) : "?");

		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			break;
		n += (size_t)w;
	}
	if (!n)
		return;
	ctl_table_add(t, "  brokers");
	ctl_table_add(t, buf);
}

/* The cloud link in words: state, since when, why not, what is queued. */
static void print_cloud(struct ctl_table *t, const json_t *c)
{
	static const char *const shown[] = { "state",
					     "host",
					     "hosts",
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
	zwtime_t since = (zwtime_t)(int_field(c, "connected_since_ms") / 1000);
	struct tm tm;

	const char *host = json_string_value(json_object_get(c, "host"));

	snprintf(buf, sizeof(buf), "%s (%s)",
		 ctl_fmt_field(c, "state", when, sizeof(when)),
		 host ? host : "?");
	ctl_table_add(t, "cloud");
	ctl_table_add(t, buf);
	print_brokers(t, json_object_get(c, "hosts"));
	if (since && zwtime_to_local(since, &tm) == 0 &&
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm)) {
		ctl_table_add(t, "  connected since");
		ctl_table_add(t, when);
	}
	if (json_object_get(c, "last_error")) {
		ctl_table_add(t, "  last error");
		ctl_table_add(t,
			      ctl_fmt_field(c, "last_error", buf, sizeof(buf)));
	}
	if (json_object_get(c, "next_try_s")) {
		snprintf(buf, sizeof(buf),
			 "attempt %" JSON_INTEGER_FORMAT
			 ", next in %" JSON_INTEGER_FORMAT " s",
			 int_field(c, "attempt"), int_field(c, "next_try_s"));
		ctl_table_add(t, "  reconnect");
		ctl_table_add(t, buf);
	}
	print_outbox(t, c);
	ctl_table_add_rest(t, c, shown, "  ");
}

void ctl_print_status(const json_t *r)
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
	struct ctl_table t = { .ncols = 2 };
	const json_t *cloud = json_object_get(r, "cloud");
	char buf[CTL_CELL_MAX];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(r, keys[i][0]);

		if (!v)
			continue;
		ctl_table_add(&t, keys[i][1]);
		if (json_is_integer(v) && strcmp(keys[i][0], "uptime_s") == 0) {
			fmt_uptime(json_integer_value(v), buf, sizeof(buf));
			ctl_table_add(&t, buf);
		} else {
			ctl_table_add(&t, ctl_fmt_json(v, buf, sizeof(buf)));
		}
	}
	ctl_table_add_rest(&t, r, known, "");
	if (json_is_object(cloud))
		print_cloud(&t, cloud);
	ctl_table_print(&t);
}

/* A node's "values": a count in "nodes", an array in "node". */
static const char *fmt_count(const json_t *v, char *buf, size_t len)
{
	if (json_is_array(v)) {
		snprintf(buf, len, "%zu", json_array_size(v));
		return buf;
	}
	return ctl_fmt_json(v, buf, len);
}

void ctl_print_nodes(const json_t *r)
{
	static const char *const head[] = { "ID", "NAME", "STATUS", "PRODUCT",
					    "VALUES" };
	struct ctl_table t = { .ncols = 5 };
	char b[5][CTL_CELL_MAX];
	ctl_table_row(&t, head);
	for (size_t i = 0; i < json_array_size(r); i++) {
		const json_t *n = json_array_get(r, i);
		const char *row[] = {
			ctl_fmt_field(n, "id", b[0], sizeof(b[0])),
			ctl_fmt_field(n, "name", b[1], sizeof(b[1])),
			ctl_fmt_field(n, "status", b[2], sizeof(b[2])),
			ctl_fmt_field(n, "product", b[3], sizeof(b[3])),
			fmt_count(json_object_get(n, "values"), b[4],
				  sizeof(b[4])),
		};

		ctl_table_row(&t, row);
	}
	ctl_table_print(&t);
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
	struct tm tm;

	if (!json_is_number(u))
		return "-";
	/* A double holds every ms up to 2^53: the year 285 000. */
	if (zwtime_to_local((zwtime_t)(json_number_value(u) / 1000), &tm) < 0 ||
	    !strftime(buf, len, "%H:%M:%S", &tm))
		return "-";
	return buf;
}

static void print_values(const json_t *values)
{
	static const char *const head[] = { "PATH", "ALIAS",  "VALUE",
					    "UNIT", "ACCESS", "UPDATED" };
	struct ctl_table t = { .ncols = 6 };
	char b[6][CTL_CELL_MAX];
	if (!json_array_size(values)) {
		puts("(no values)");
		return;
	}
	ctl_table_row(&t, head);
	for (size_t i = 0; i < json_array_size(values); i++) {
		const json_t *v = json_array_get(values, i);
		const char *row[] = {
			ctl_fmt_field(v, "path", b[0], sizeof(b[0])),
			ctl_fmt_field(v, "alias", b[1], sizeof(b[1])),
			ctl_fmt_field(v, "value", b[2], sizeof(b[2])),
			json_is_string(json_object_get(v, "unit"))
			    ? ctl_fmt_field(v, "unit", b[3], sizeof(b[3]))
			    : "",
			fmt_access(v),
			fmt_updated(v, b[5], sizeof(b[5])),
		};

		ctl_table_row(&t, row);
	}
	ctl_table_print(&t);
}

void ctl_print_node(const json_t *r)
{
	static const char *const keys[] = { "id",      "name",
					    "status",  "manufacturer",
					    "product", "location" };
	struct ctl_table t = { .ncols = 2 };
	char buf[CTL_CELL_MAX];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ctl_table_add(&t, keys[i]);
		ctl_table_add(&t, ctl_fmt_field(r, keys[i], buf, sizeof(buf)));
	}
	ctl_table_print(&t);
	putchar('\n');
	print_values(json_object_get(r, "values"));
}

void ctl_print_get(const json_t *r)
{
	const json_t *unit = json_object_get(r, "unit");
	char p[CTL_CELL_MAX], v[CTL_CELL_MAX];

	ctl_print_line("%s = %s%s%s", ctl_fmt_field(r, "path", p, sizeof(p)),
		       ctl_fmt_field(r, "value", v, sizeof(v)),
		       json_string_length(unit) ? " " : "",
		       json_is_string(unit) ? json_string_value(unit) : "");
}

/* A node as people call it: its name, else its number. */
static const char *fmt_node(const json_t *r, char *buf, size_t len)
{
	const json_t *name = json_object_get(r, "name");
	char id[32];

	if (json_string_length(name))
		return ctl_fmt_json(name, buf, len);
	snprintf(buf, len, "node %s", ctl_fmt_field(r, "node", id, sizeof(id)));
	return buf;
}

void ctl_print_set(const json_t *r)
{
	char n[CTL_CELL_MAX], p[CTL_CELL_MAX], v[CTL_CELL_MAX];

	ctl_print_line("%s %s = %s%s", fmt_node(r, n, sizeof(n)),
		       ctl_fmt_field(r, "path", p, sizeof(p)),
		       ctl_fmt_field(r, "value", v, sizeof(v)),
		       json_is_false(json_object_get(r, "confirmed"))
			   ? " (not confirmed yet)"
			   : "");
}

void ctl_print_rename(const json_t *r)
{
	const json_t *name = json_object_get(r, "name");
	char n[32], v[CTL_CELL_MAX];

	if (json_string_length(name))
		ctl_print_line("node %s is now called %s",
			       ctl_fmt_field(r, "node", n, sizeof(n)),
			       ctl_fmt_json(name, v, sizeof(v)));
	else
		ctl_print_line("node %s has no name now",
			       ctl_fmt_field(r, "node", n, sizeof(n)));
}

void ctl_print_reload(const json_t *r)
{
	ctl_print_lines(stderr, json_object_get(r, "warnings"));
	puts(json_is_false(json_object_get(r, "reloaded"))
		 ? "configuration not reloaded"
		 : "configuration reloaded");
}

void ctl_print_log_level(const json_t *r)
{
	char buf[CTL_CELL_MAX];

	ctl_print_line("log level is now %s",
		       ctl_fmt_field(r, "level", buf, sizeof(buf)));
}

void ctl_print_sim(const json_t *r)
{
	static const char *const skip[] = { "node", NULL };
	struct ctl_table t = { .ncols = 2 };
	char buf[CTL_CELL_MAX];

	if (json_object_get(r, "running"))
		ctl_print_line("sim: %s",
			       json_is_true(json_object_get(r, "running"))
				   ? "a stream is running"
				   : "no stream is running");
	else
		ctl_print_line("sim: done on node %s",
			       ctl_fmt_field(r, "node", buf, sizeof(buf)));
	ctl_table_add_rest(&t, r, skip, "  ");
	ctl_table_print(&t);
}

void ctl_print_command(const json_t *r)
{
	const json_t *text = json_object_get(r, "text");

	ctl_print_line("%s",
		       json_is_string(text) ? json_string_value(text) : "done");
}

/* A command's text of several lines (provision list), line by line. */
void ctl_print_text_lines(const json_t *r)
{
	const char *text = json_string_value(json_object_get(r, "text"));
	const char *nl;

	if (!text) {
		ctl_print_line("done");
		return;
	}
	for (; (nl = strchr(text, '\n')); text = nl + 1)
		ctl_print_line("%.*s", (int)(nl - text), text);
	ctl_print_line("%s", text);
}

void ctl_print_cancel(const json_t *r)
{
	ctl_print_line("cancel sent to the controller");
}

void ctl_print_given(const json_t *r)
{
	ctl_print_line("PIN given to the running include");
}

void ctl_print_heal(const json_t *r)
{
	ctl_print_line("healing the network: each node updates its routes "
		       "(progress in the daemon's log)");
}

void ctl_print_refresh(const json_t *r)
{
	char n[32];

	ctl_print_line("node %s: interview started; its values follow",
		       ctl_fmt_field(r, "node", n, sizeof(n)));
}

void ctl_print_config_set(const json_t *r)
{
	char b[4][32];

	ctl_print_line(
	    "node %s: parameter %s = %s (%s byte%s) sent",
	    ctl_fmt_field(r, "node", b[0], sizeof(b[0])),
	    ctl_fmt_field(r, "param", b[1], sizeof(b[1])),
	    ctl_fmt_field(r, "value", b[2], sizeof(b[2])),
	    ctl_fmt_field(r, "size", b[3], sizeof(b[3])),
	    json_integer_value(json_object_get(r, "size")) == 1 ? "" : "s");
}

static void print_rule_list(const json_t *r)
{
	static const char *const head[] = { "NAME",	"ENABLED", "NEXT",
					    "LAST RUN", "RESULT",  "WAITING" };
	static const char *const keys[] = {
		"name", "enabled", "next", "last_run", "last_result", "waiting"
	};
	struct ctl_table t = { .ncols = 6 };
	char b[6][CTL_CELL_MAX];
	const char *row[6];

	ctl_table_row(&t, head);
	for (size_t i = 0; i < json_array_size(r); i++) {
		for (size_t k = 0; k < 6; k++)
			row[k] = ctl_fmt_field(json_array_get(r, i), keys[k],
					       b[k], sizeof(b[k]));
		ctl_table_row(&t, row);
	}
	ctl_table_print(&t);
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
	struct ctl_table t = { .ncols = 2 };
	char b[6][CTL_CELL_MAX];
	const char *row[6];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		row[0] = keys[k];
		row[1] = ctl_fmt_field(r, keys[k], b[0], sizeof(b[0]));
		ctl_table_row(&t, row);
	}
	ctl_table_print(&t);
	t.ncols = 6;
	ctl_table_row(&t, head);
	for (size_t i = 0; i < json_array_size(trigs); i++) {
		for (size_t k = 0; k < 6; k++)
			row[k] = ctl_fmt_field(json_array_get(trigs, i),
					       tkeys[k], b[k], sizeof(b[k]));
		ctl_table_row(&t, row);
	}
	putchar('\n');
	ctl_table_print(&t);
}

void ctl_print_rules(const json_t *r)
{
	char b[2][CTL_CELL_MAX];

	if (json_is_array(r))
		print_rule_list(r);
	else if (json_object_get(r, "triggers"))
		print_rule(r);
	else
		ctl_print_line("%s '%s': %s",
			       ctl_fmt_field(r, "kind", b[0], sizeof(b[0])),
			       ctl_fmt_field(r, "name", b[1], sizeof(b[1])),
			       json_string_value(json_object_get(r, "done")));
}
