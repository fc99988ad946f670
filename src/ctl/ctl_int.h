/* SPDX-License-Identifier: MIT */
/*
 * ctl_int.h: what the files of zwgatectl share.  zwgatectl.c has the
 * global options and main; ctl_commands.c the table of commands and how
 * their arguments become a request; ctl_client.c the exchange on the
 * control socket; ctl_print.c the printers of replies, built on the
 * tables and safe text of ctl_table.c.
 */
#ifndef ZWGATE_CTL_INT_H
#define ZWGATE_CTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl_text.h"

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,	  /* an error reply, or the exchange broke */
	CTL_EXIT_USAGE = 2,	  /* bad command line */
	CTL_EXIT_NOT_RUNNING = 3, /* no socket, or nothing listens on it */
	CTL_EXIT_DENIED = 4,	  /* not root, not in the group */
	CTL_EXIT_TIMEOUT = 5,	  /* zwgated said nothing in time */
};

#define CTL_TIMEOUT_DEFAULT_S 10
#define CTL_TIMEOUT_MAX_S     86400
#define CTL_REQUEST_ID	      1
#define CTL_ARGS_MAX	      4
#define CTL_CELL_MAX	      256 /* bytes of one table cell (longer is cut) */

extern const char ctl_prog[]; /* "zwgatectl", in every message */

struct ctl {
	const char *socket;
	double timeout_s; /* 0: wait forever */
	bool json;
	bool no_wait;
	bool secure;	   /* include --secure */
	bool long_range;   /* provision add --long-range */
	const char *grant; /* include --grant CLASS,... */
	const char *pin;   /* include --pin PIN */
	int target;	   /* firmware update --target N; -1: none */
};

/*
 * A command's arguments go into the request under keys (as many as there
 * are keys) unless it has its own build, which takes min..max of them.
 * print expects a result of type result (JSON_OBJECT is 0); one of
 * another type is printed as JSON.
 */
struct ctl_command {
	const char *name;
	const char *args; /* synopsis; NULL: none */
	const char *summary;
	const char *help;
	const char *keys[CTL_ARGS_MAX];
	int min, max;
	json_t *(*build)(const struct ctl *ctl, char **argv, int argc);
	void (*print)(const json_t *result);
	/* Before print (--json too): keep what the reply brought (a file
	 * written), adding to result what print says of it; NULL: none. */
	void (*save)(json_t *result);
	json_type result;
	bool any_result; /* print takes a result of any type */
};

/* A table of text cells, printed with columns as wide as their content. */
struct ctl_table {
	size_t ncols, ncells, cap;
	char **cells;
};

/* ---- zwgatectl.c ---------------------------------------------------- */

/* "zwgatectl: " and the message on stderr, then exit(code). */
void ctl_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* The short usage of cmd (NULL: of zwgatectl) on stderr, then exit 2. */
void ctl_usage(const char *cmd, const char *args) __attribute__((noreturn));

/* ---- ctl_commands.c: the commands and their requests ---------------- */

/* o[key] = v, which o takes; dies when that fails (out of memory). */
void ctl_json_set(json_t *o, const char *key, json_t *v);

json_t *ctl_build_args(const struct ctl *ctl, const char *cmd,
		       const char *const *keys, char **argv, int argc);
const struct ctl_command *ctl_command_find(const char *name);
int ctl_command_args(struct ctl *ctl, const struct ctl_command *c, char **argv,
		     int argc);
void ctl_help_global(void);
void ctl_help_command(const struct ctl_command *c);
void ctl_list_commands(void);

/* ---- ctl_client.c: one exchange with zwgated ------------------------ */

char *ctl_request_line(const json_t *req, size_t *len);
int ctl_connect(const struct ctl *ctl);
void ctl_send_request(const struct ctl *ctl, int fd, const char *s, size_t len);
json_t *ctl_await_reply(const struct ctl *ctl, int fd);
int ctl_report(const struct ctl *ctl, const struct ctl_command *c,
	       json_t *reply);

/* ---- ctl_table.c: tables and lines for the terminal ----------------- */

void ctl_table_add(struct ctl_table *t, const char *s);
void ctl_table_print(struct ctl_table *t);
void ctl_table_row(struct ctl_table *t, const char *const *cells);
void ctl_table_add_rest(struct ctl_table *t, const json_t *o,
			const char *const *skip, const char *indent);
const char *ctl_fmt_json(const json_t *v, char *buf, size_t len);
const char *ctl_fmt_field(const json_t *o, const char *key, char *buf,
			  size_t len);
bool ctl_json_is_scalar(const json_t *v);
void ctl_print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_print_lines(FILE *out, const json_t *lines);
void ctl_print_json(const json_t *v);

/* ---- ctl_print.c: the printers of results, one a command ------------ */

void ctl_print_status(const json_t *r);
void ctl_print_nodes(const json_t *r);
void ctl_print_node(const json_t *r);
void ctl_print_get(const json_t *r);
void ctl_print_set(const json_t *r);
void ctl_print_rename(const json_t *r);
void ctl_print_reload(const json_t *r);
void ctl_print_log_level(const json_t *r);
void ctl_print_sim(const json_t *r);
void ctl_print_command(const json_t *r);
void ctl_print_cancel(const json_t *r);
void ctl_print_given(const json_t *r);
void ctl_print_text_lines(const json_t *r);

/* ---- ctl_firmware.c -------------------------------------------------- */

#define CTL_FIRMWARE_ARGS "update NODE FILE [--target N]"
/* firmware update NODE FILE: FILE uploaded in chunks first, then the
 * request that starts the update. */
json_t *ctl_build_firmware(const struct ctl *ctl, char **argv, int argc);

/* ---- ctl_backup.c ---------------------------------------------------- */

/* A progress line's "data": the next characters of the reply's data. */
void ctl_data_take(const json_t *progress);
/* backup FILE: the request, a temporary file next to FILE made first. */
json_t *ctl_build_backup(const struct ctl *ctl, char **argv, int argc);
/* The data into FILE (0600), then "file" and "bytes" into r. */
void ctl_save_backup(json_t *r);
void ctl_print_backup(const json_t *r);
void ctl_print_heal(const json_t *r);
void ctl_print_refresh(const json_t *r);
void ctl_print_config_set(const json_t *r);
void ctl_print_rules(const json_t *r);

#endif
