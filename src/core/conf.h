/* SPDX-License-Identifier: MIT */
/*
 * conf.h: zwgate.conf(5), parsed into a fresh struct and validated whole.
 *
 * The daemon swaps a new struct conf in only when it loaded without an
 * error, so a broken file on SIGHUP leaves the running config alone.
 *
 * Grammar (see zwgate.conf(5)): a statement is a key followed by the
 * number of arguments its schema says, or by a { } block of statements.
 * Statements end at the last argument; ';' and newlines are optional
 * separators.  "include GLOB" reads more files (relative to the including
 * file's directory); a glob that matches nothing is not an error.
 * Relative paths in values are resolved against the directory of the file
 * they appear in.
 *
 * Later modules add blocks here (cloud { }).  Top-level statements that
 * another parser reads (rule, scene, every: the rules engine) are the
 * caller's to give, in struct conf_load_opts (conf_rules.h has those of
 * the rules engine): conf itself knows no other module's language.
 */
#ifndef ZWGATE_CONF_H
#define ZWGATE_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "diag.h"

struct conf;
struct lexer;
struct rules_set;
struct token;

/*
 * Top-level statements of another module's language, given by the caller
 * of conf_load.  parse gets the lexer just after the keyword (one of
 * keywords), reads its whole statement (through its closing '}' or to
 * the end of its line), reports every problem to diags at the tokens'
 * positions in lex_file(lx), stores what it read in c, and returns 0 or
 * -ENOMEM.  dir is the absolute directory of the file, for relative
 * paths.  validate, when not NULL, checks what was stored once every file
 * was read (0 or -ENOMEM); free, when not NULL, frees it (conf_free).
 */
struct conf_statements {
	const char *const *keywords; /* ended by NULL */
	int (*parse)(struct conf *c, struct lexer *lx, const struct token *kw,
		     const char *dir, struct diag_list *diags);
	int (*validate)(const struct conf *c, struct diag_list *diags);
	void (*free)(struct conf *c);
};

struct conf_load_opts {
	const struct conf_statements *statements; /* NULL: none */
};

#define CONF_FILE_MAX	    (1024 * 1024) /* bytes of one file */
#define CONF_INCLUDE_DEPTH  8		  /* include nesting */
#define CONF_FILES_MAX	    256		  /* files read through includes */
#define CONF_GATEWAY_ID_MAX 64
/* Not a gateway: <topic-prefix>/_fleet/ is every gateway's (the fleet's
 * trust bundle). */
#define CONF_GATEWAY_ID_FLEET "_fleet"

#define CONF_DEFAULT_PATH "/etc/zwgate/zwgate.conf"
#define CONF_HOSTS_MAX	  8 /* brokers of cloud { host } */

struct conf_zwave {
	char *backend;		/* "sim" (default), "openzwave", "zwavejs" */
	char *sim_network;	/* absolute path; required for sim */
	char *device;		/* default "/dev/ttyACM0" */
	char *network_key_file; /* may be NULL */
	char *server;		/* zwavejs: a ws:// URL (wsurl.h) */
};

struct conf_location {
	bool set;
	double latitude, longitude; /* degrees, north and east positive */
	char *timezone;		    /* TZ database name, NULL: system zone */
};

struct conf_control {
	unsigned max_clients;	 /* default 16, 1..64 */
	unsigned idle_timeout_s; /* default 300, 1..86400 */
	char *group;		 /* default "zwgate" */
};

/*
 * cloud { }: the MQTT link.  Absent block: no cloud at all (the gateway
 * runs its local automation alone).
 */
struct conf_cloud {
	bool set;		 /* the block was given */
	char **hosts;		 /* broker names, NULL-ended, required, 1 to
				  * CONF_HOSTS_MAX; TLS checks the one dialled */
	char **connect_to;	 /* addresses to dial instead, one for each
				  * host (keeps its name for TLS), or NULL */
	unsigned port;		 /* default 8883 (1883 with plaintext) */
	int protocol;		 /* 4 (MQTT 3.1.1, "3.1.1", default) or 5 */
	char *ca_file;		 /* plain CA file (no pins), or NULL */
	char *trust_bundle;	 /* factory trust bundle; default
				  * ZWGATE_TRUST_DIR/factory.bundle unless
				  * ca-file or insecure-plaintext is given */
	char *clock_synced_file; /* the clock is synchronised while this
				  * exists; NULL: the systemd-timesyncd
				  * flag file, or adjtimex */
	char *client_cert;	/* given together with client-key, or neither */
	char *client_key;	/* mode 0600 or stricter, else refused */
	char *topic_prefix;	/* default "zwgate"; topics under
				 * <prefix>/<gateway-id> */
	unsigned keepalive_s;	/* default 60, 5..3600 */
	bool discovery;		/* Home Assistant discovery, default on */
	char *discovery_prefix; /* default "homeassistant" */
	uint64_t outbox_max_bytes; /* default OUTBOX_DEFAULT_MAX_BYTES */
	unsigned outbox_sync_ms;   /* 0: "always"; default 1000 */
	bool insecure_plaintext;   /* only with a loopback host/connect-to */
	unsigned reconnect_max_s;  /* backoff cap, default 300, 1..3600 */
	bool allow_controller_ops; /* include, exclude, ... from the cloud;
				    * default no; a reload changes it */
};

struct conf {
	char *path;	  /* absolute path of the main file */
	char *gateway_id; /* required: [A-Za-z0-9_-], 1..64 */
	int log_level;	  /* syslog priority, default LOG_INFO */
	struct conf_zwave zwave;
	struct conf_location location;
	struct conf_control control;
	struct conf_cloud cloud;
	char **files;		 /* every file read, NULL-terminated */
	struct rules_set *rules; /* rule, scene, every; NULL: none */
	/* The statements it was loaded with, which free what they stored. */
	const struct conf_statements *statements;
};

/*
 * Reads path and everything it includes into a new struct.  opts (may be
 * NULL) adds the caller's statements.  Every problem goes to diags.
 * Returns 0 with *ret set when there was no error (warnings allowed);
 * -EINVAL when there were errors; -ENOMEM.  *ret is untouched on failure.
 */
int conf_load(const char *path, const struct conf_load_opts *opts,
	      struct diag_list *diags, struct conf **ret);
/* The same from a buffer (tests, fuzzing); name is used in diagnostics. */
int conf_load_buffer(const char *name, const char *data, size_t len,
		     const struct conf_load_opts *opts, struct diag_list *diags,
		     struct conf **ret);
struct conf *conf_free(struct conf *c);

/*
 * Refuses what sshd's StrictModes refuses: a file that is not regular,
 * is owned by someone other than root or us, or is writable by its group
 * or by others.  conf_load applies it to every file it reads.  0, or
 * -errno with a message for "file: message" in err.
 */
int conf_check_file_mode(const char *path, char *err, size_t len);

struct stat;

/*
 * The same judgement of a file already open, by its fstat, for a module
 * that reads a file the config names (tls.c): checking the descriptor it
 * reads leaves no time to swap the file between check and use.  0, or
 * -errno with a message that follows the file's name in err.
 */
int conf_check_stat(const struct stat *st, char *err, size_t len);

#endif
