/* SPDX-License-Identifier: MIT */
/*
 * conf_int.h: what the files of the config module share: conf.c (the
 * schema, loading), conf_value.c (the meaning of values), conf_check.c
 * (checks of single values), conf_validate.c (checks of a config as a
 * whole), conf_parse.c (the engine: statements and blocks read by the key
 * tables, duplicates, error recovery, suggestions), conf_file.c (reading
 * files, their modes) and conf_include.c.  Outside them, only
 * tests/core/test_conf.c includes it.
 */
#ifndef ZWGATE_CONF_INT_H
#define ZWGATE_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "conf.h"
#include "diag.h"
#include "lex.h"

#define CONF_ARGS_MAX 2	  /* arguments of one key */
#define CONF_SHOW_MAX 256 /* a token as shown in a message */
#define CONF_MSG_MAX  512 /* a message built before diag_add */

enum conf_type {
	CONF_STRING,	/* char *: a word or a string */
	CONF_STRINGS,	/* char **, NULL-ended: 1..max of them on the key's
			 * line (check applies to each) */
	CONF_PATH,	/* char *: made absolute against the file's dir */
	CONF_ENUM,	/* char *: one of words */
	CONF_CHOICE,	/* int: values[i] for words[i] */
	CONF_BOOL,	/* bool: on, off, yes, no */
	CONF_NUMBER,	/* double in min..max */
	CONF_UINT,	/* unsigned in min..max, or values[i] for words[i] */
	CONF_SIZE,	/* uint64_t in min..max, with a suffix k or M */
	CONF_LOG_LEVEL, /* int: a syslog priority by name */
	CONF_BLOCK,	/* { keys } */
	CONF_INCLUDE,	/* include GLOB */
};

#define CONF_REQUIRED 0x1 /* must be given (in its block, if that is) */
#define CONF_MULTI    0x2 /* may be given more than once */
#define CONF_SET_FLAG 0x4 /* block: offset is a bool set when given */

/*
 * The schema.  A key's value lives at offset in struct conf, whatever
 * block the key is in; defaults, freeing and validation walk these tables,
 * so a new block is a struct in conf.h, a table in conf.c and a line in
 * conf_top_keys.
 */
struct conf_key {
	const char *name;
	enum conf_type type;
	unsigned nargs;
	unsigned flags;
	size_t offset;
	const char *def; /* default of a string-like value */
	double def_num;	 /* default of a number, bool, choice or level */
	double min, max;
	const char *const *words;    /* CONF_ENUM, CONF_CHOICE, CONF_UINT */
	const int *values;	     /* CONF_CHOICE, CONF_UINT: of words */
	const struct conf_key *keys; /* CONF_BLOCK, ended by a NULL name */
	/* An extra check of a string value: false with a message. */
	bool (*check)(const char *value, const char *shown, char *msg,
		      size_t len);
};

/* A key with one value at field of struct conf; a block of keys. */
/* clang-format off */
#define CONF_VALUE(key, t, field, ...) \
	{ .name = (key), .type = (t), .nargs = 1, \
	  .offset = offsetof(struct conf, field), __VA_ARGS__ }
#define CONF_BLOCK_OF(key, table, ...) \
	{ .name = (key), .type = CONF_BLOCK, .keys = (table), __VA_ARGS__ }
#define CONF_END { .name = NULL }
/* clang-format on */

/* In conf.c: the schema (the blocks conf_validate.c looks into, too). */
extern const struct conf_key conf_top_keys[];
extern const struct conf_key conf_zwave_keys[];
extern const struct conf_key conf_cloud_keys[];

/* Where a key was first given, for "given twice" and later checks. */
struct conf_seen {
	const struct conf_key *key;
	const char *file;
	unsigned line, col;
	char *value; /* the first argument, as shown in messages */
	bool ok;     /* the value was valid and stored */
	bool failed; /* a statement without a value: said, and not a use */
};

/* A file read, or being read (the main buffer has no identity). */
struct conf_file {
	char *path; /* absolute */
	char *name; /* as shown in diagnostics */
	dev_t dev;
	ino_t ino;
	bool has_id, reading, is_buffer;
};

/* The file being parsed; the including one is up. */
struct conf_src {
	struct lexer *lx;
	const char *name;
	char *dir;	 /* absolute */
	char *shown_dir; /* "" or the directory part of name, with '/' */
	/* Real path (symbolic links resolved) of the directory tree that
	 * its relative includes must stay in. */
	char *root;
	unsigned depth;
	struct conf_src *up;
};

struct conf_parser {
	struct conf *c;
	const struct conf_statements *stmts; /* the caller's, or NULL */
	struct diag_list *diags;
	size_t errors0; /* diags->errors when the load began */
	int err;	/* -ENOMEM once an allocation failed */
	bool stopped;	/* too many errors */
	struct conf_src *src;
	struct conf_seen *seen;
	size_t nseen, capseen;
	struct conf_file *files;
	size_t nfiles, capfiles;
	struct token args[CONF_ARGS_MAX];
	char argtext[CONF_ARGS_MAX][LEX_TOKEN_MAX + 1];
};

#define conf_error(p, line, col, ...) \
	diag_add((p)->diags, (p)->src->name, line, col, false, __VA_ARGS__)
#define conf_error_at(p, t, ...) conf_error(p, (t)->line, (t)->col, __VA_ARGS__)

static inline void *conf_field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->offset;
}

/* conf_value.c: stores the value a (a token of the statement of k). */
bool conf_set_value(struct conf_parser *p, const struct conf_key *k,
		    const struct token *a);

/*
 * conf_check.c: the checks of single values (struct conf_key's check):
 * true, or false with a message in msg.
 */
bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
			   size_t len);
bool conf_check_timezone(const char *v, const char *shown, char *msg,
			 size_t len);
bool conf_check_group(const char *v, const char *shown, char *msg, size_t len);
bool conf_check_host(const char *v, const char *shown, char *msg, size_t len);
bool conf_check_zjs_server(const char *v, const char *shown, char *msg,
			   size_t len);
bool conf_check_address(const char *v, const char *shown, char *msg,
			size_t len);
bool conf_check_topic_prefix(const char *v, const char *shown, char *msg,
			     size_t len);
bool conf_check_discovery_prefix(const char *v, const char *shown, char *msg,
				 size_t len);

/* conf_validate.c: the checks of the config as a whole, once every file
 * was read. */
void conf_validate(struct conf_parser *p);

/* conf_parse.c (the engine) and conf_file.c (its files). */

/* Reads the main file (conf_load) or a buffer (conf_load_buffer). */
void conf_parse_file(struct conf_parser *p, const char *path, const char *name);
void conf_parse_buffer(struct conf_parser *p, const char *name,
		       const char *data, size_t len);
/*
 * Reads and parses path, included at line:col (0 for the main file),
 * opened as open_path.  With want, open_path is the real path of an
 * include, checked, and want its lstat: the file opened must be that
 * one (conf_fd_is), not whatever took its place since.
 */
void conf_read_file(struct conf_parser *p, const char *open_path,
		    const char *path, const char *name, const char *root,
		    const struct stat *want, unsigned line, unsigned col);
/*
 * The statements of the file p->src, to its end; an included file only
 * if it starts like a config file.
 */
void conf_parse_statements(struct conf_parser *p);
/* Grows *itemsp (an array of size-byte items) to hold one more. */
int conf_reserve(void *itemsp, size_t *cap, size_t n, size_t size);
/* Gives c->files the paths of the files read.  0 or -ENOMEM. */
int conf_take_files(struct conf_parser *p);
void conf_parser_free(struct conf_parser *p);

/* Sets p->err to -ENOMEM; returns false, for "return conf_oom(p)". */
bool conf_oom(struct conf_parser *p);
const struct conf_key *conf_find(const struct conf_key *keys, const char *name);
struct conf_seen *conf_seen_find(struct conf_parser *p,
				 const struct conf_key *k);

/* strerror, lowercased like every other message ("no such file ..."). */
const char *conf_strerror(int e, char *buf, size_t len);
/* A value as shown in messages: quoting never changes a value's meaning. */
const char *conf_show(const struct token *t, char *buf, size_t len);
/* dir/name, without a doubled '/' when dir is "/"; NULL on ENOMEM. */
char *conf_join(const char *dir, const char *name);
/* conf_include.c: the include statement, a pattern of files. */
void conf_include(struct conf_parser *p, const struct token *a);
/*
 * Is fd (whose fstat is st), opened by the real path real, the file that
 * want (an lstat of real) found: the same device and inode, and, where
 * /proc tells, still at real?
 */
bool conf_fd_is(int fd, const struct stat *st, const char *real,
		const struct stat *want);

/* Absolute, without "." components or doubled slashes.  0 or -errno. */
int conf_abs_path(const char *name, char **ret);

/*
 * The parts of conf_check_file_mode: a regular file owned by root or us
 * (conf_check_owner), and not writable by its group or others.  0, or
 * -errno with a message that follows the file's name in err.
 */
int conf_check_owner(const struct stat *st, char *err, size_t len);

#endif
