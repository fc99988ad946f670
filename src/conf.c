/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "lex.h"
#include "log.h"

#define CONF_ERRORS_MAX	    20	/* errors of one load before giving up */
#define CONF_ARGS_MAX	    2	/* arguments of one key */
#define CONF_SUGGEST_MAX    64	/* longest word compared for a suggestion */
#define CONF_SHOW_MAX	    256 /* a token as shown in a message */
#define CONF_MSG_MAX	    512 /* a message built before diag_add */
#define CONF_TZ_NAME_MAX    255 /* a time zone name */
#define CONF_GROUP_NAME_MAX 32	/* a group name */
#define CONF_TZDIR	    "/usr/share/zoneinfo"
#define CONF_ALNUM \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

enum conf_type {
	CONF_STRING,	/* char *: a word or a string */
	CONF_PATH,	/* char *: made absolute against the file's dir */
	CONF_ENUM,	/* char *: one of words */
	CONF_BOOL,	/* bool: on, off, yes, no */
	CONF_NUMBER,	/* double in min..max */
	CONF_UINT,	/* unsigned in min..max */
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
 * so a new block (cloud { }) is a struct in conf.h, a table here and a
 * line in conf_top_keys.
 */
struct conf_key {
	const char *name;
	enum conf_type type;
	unsigned nargs;
	unsigned flags;
	size_t offset;
	const char *def; /* default of a string-like value */
	double def_num;	 /* default of a number, bool or level */
	double min, max;
	const char *const *words;    /* CONF_ENUM */
	const struct conf_key *keys; /* CONF_BLOCK, ended by a NULL name */
	/* An extra check of a string value: false with a message. */
	bool (*check)(const char *value, const char *shown, char *msg,
		      size_t len);
};

/*
 * Top-level statements that belong to another module's language: the
 * rules engine will add "rule", "scene" and "every" here, like
 *	{ "rule", rules_parse_statement },
 * A handler gets the lexer just after the keyword, reads its whole
 * statement (through its closing '}' or to the end of its line), reports
 * every problem to diags at the tokens' positions in lex_file(lx), stores
 * what it read in c, and returns 0 or -ENOMEM.  dir is the absolute
 * directory of the file, for relative paths.
 */
struct conf_stmt {
	const char *keyword;
	int (*parse)(struct conf *c, struct lexer *lx, const struct token *kw,
		     const char *dir, struct diag_list *diags);
};

static const struct conf_stmt conf_stmts[] = {
	{ .keyword = NULL },
};

static bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
				  size_t len);
static bool conf_check_timezone(const char *v, const char *shown, char *msg,
				size_t len);
static bool conf_check_group(const char *v, const char *shown, char *msg,
			     size_t len);

/* A key with one value at field of struct conf; a block of keys. */
/* clang-format off */
#define CONF_VALUE(key, t, field, ...) \
	{ .name = (key), .type = (t), .nargs = 1, \
	  .offset = offsetof(struct conf, field), __VA_ARGS__ }
#define CONF_BLOCK_OF(key, table, ...) \
	{ .name = (key), .type = CONF_BLOCK, .keys = (table), __VA_ARGS__ }
#define CONF_END { .name = NULL }
/* clang-format on */

static const char *const conf_backends[] = { "sim", "openzwave", NULL };
/* Even entries mean true. */
static const char *const conf_bools[] = { "on", "off", "yes", "no", NULL };

static const struct conf_key conf_zwave_keys[] = {
	CONF_VALUE("backend", CONF_ENUM, zwave.backend, .def = "sim",
		   .words = conf_backends),
	CONF_VALUE("sim-network", CONF_PATH, zwave.sim_network),
	CONF_VALUE("device", CONF_PATH, zwave.device, .def = "/dev/ttyACM0"),
	CONF_VALUE("network-key-file", CONF_PATH, zwave.network_key_file),
	CONF_END,
};

static const struct conf_key conf_location_keys[] = {
	CONF_VALUE("latitude", CONF_NUMBER, location.latitude,
		   .flags = CONF_REQUIRED, .min = -90, .max = 90),
	CONF_VALUE("longitude", CONF_NUMBER, location.longitude,
		   .flags = CONF_REQUIRED, .min = -180, .max = 180),
	CONF_VALUE("timezone", CONF_STRING, location.timezone,
		   .check = conf_check_timezone),
	CONF_END,
};

static const struct conf_key conf_control_keys[] = {
	CONF_VALUE("max-clients", CONF_UINT, control.max_clients, .def_num = 16,
		   .min = 1, .max = 64),
	CONF_VALUE("idle-timeout", CONF_UINT, control.idle_timeout_s,
		   .def_num = 300, .min = 1, .max = 86400),
	CONF_VALUE("group", CONF_STRING, control.group, .def = "zwgate",
		   .check = conf_check_group),
	CONF_END,
};

static const struct conf_key conf_top_keys[] = {
	CONF_VALUE("gateway-id", CONF_STRING, gateway_id,
		   .flags = CONF_REQUIRED, .check = conf_check_gateway_id),
	CONF_VALUE("log-level", CONF_LOG_LEVEL, log_level, .def_num = LOG_INFO),
	CONF_BLOCK_OF("zwave", conf_zwave_keys),
	CONF_BLOCK_OF("location", conf_location_keys, .flags = CONF_SET_FLAG,
		      .offset = offsetof(struct conf, location.set)),
	CONF_BLOCK_OF("control", conf_control_keys),
	{ .name = "include",
	  .type = CONF_INCLUDE,
	  .nargs = 1,
	  .flags = CONF_MULTI },
	CONF_END,
};

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
	unsigned depth;
	struct conf_src *up;
};

struct conf_parser {
	struct conf *c;
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

static void conf_parse_block(struct conf_parser *p, const struct conf_key *keys,
			     const struct conf_key *block, unsigned bline,
			     unsigned bcol);

/* Grows *itemsp (an array of size-byte items) to hold one more. */
static int conf_reserve(void *itemsp, size_t *cap, size_t n, size_t size)
{
	void *items;
	size_t ncap;

	if (n < *cap)
		return 0;
	memcpy(&items, itemsp, sizeof(items));
	ncap = *cap ? *cap * 2 : 8;
	items = realloc(items, ncap * size);
	if (!items)
		return -ENOMEM;
	memcpy(itemsp, &items, sizeof(items));
	*cap = ncap;
	return 0;
}

static bool conf_oom(struct conf_parser *p)
{
	p->err = -ENOMEM;
	return false;
}

/* strerror, lowercased like every other message ("no such file ..."). */
static const char *conf_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* A value as shown in messages: quoting never changes a value's meaning. */
static const char *conf_show(const struct token *t, char *buf, size_t len)
{
	struct token w = *t;

	if (w.type == TOK_STRING)
		w.type = TOK_WORD;
	return tok_describe(&w, buf, len);
}

static char *conf_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
		return NULL;
	return s;
}

/* Absolute, without "." components or doubled slashes; ".." is kept. */
static int conf_abs_path(const char *name, char **ret)
{
	char cwd[PATH_MAX], *s, *o;
	const char *in;

	if (name[0] == '/') {
		s = strdup(name);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		s = conf_join(cwd, name);
	}
	if (!s)
		return -ENOMEM;
	for (in = o = s; *in;) {
		if (in[0] == '/' && (in[1] == '/' || in[1] == '\0') && o != s) {
			in++;
		} else if (in[0] == '/' && in[1] == '.' &&
			   (in[2] == '/' || in[2] == '\0')) {
			in += 2;
		} else {
			*o++ = *in++;
		}
	}
	if (o == s)
		*o++ = '/';
	*o = '\0';
	*ret = s;
	return 0;
}

/* The directory part of path, with its '/' ("" when there is none). */
static char *conf_dir_prefix(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash ? (size_t)(slash - path) + 1 : 0);
}

static char *conf_dirname(const char *abs)
{
	const char *slash = strrchr(abs, '/');

	return strndup(abs, slash == abs ? 1 : (size_t)(slash - abs));
}

static void *conf_field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->offset;
}

static bool conf_is_string(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH ||
	       k->type == CONF_ENUM;
}

static int conf_set_defaults(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		void *f = conf_field(c, k);

		if (k->type == CONF_BLOCK && conf_set_defaults(c, k->keys) < 0)
			return -ENOMEM;
		if (conf_is_string(k) && k->def &&
		    !(*(char **)f = strdup(k->def)))
			return -ENOMEM;
		if (k->type == CONF_NUMBER)
			*(double *)f = k->def_num;
		else if (k->type == CONF_UINT)
			*(unsigned *)f = (unsigned)k->def_num;
		else if (k->type == CONF_LOG_LEVEL)
			*(int *)f = (int)k->def_num;
		else if (k->type == CONF_BOOL)
			*(bool *)f = k->def_num != 0;
	}
	return 0;
}

static void conf_free_values(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		if (k->type == CONF_BLOCK)
			conf_free_values(c, k->keys);
		else if (conf_is_string(k))
			free(*(char **)conf_field(c, k));
	}
}

struct conf *conf_free(struct conf *c)
{
	if (!c)
		return NULL;
	conf_free_values(c, conf_top_keys);
	free(c->path);
	for (char **f = c->files; f && *f; f++)
		free(*f);
	free(c->files);
	free(c);
	return NULL;
}

static struct conf *conf_new(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c && conf_set_defaults(c, conf_top_keys) < 0)
		return conf_free(c);
	return c;
}

static const struct conf_key *conf_find(const struct conf_key *keys,
					const char *name)
{
	for (const struct conf_key *k = keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static const struct conf_stmt *conf_find_stmt(const char *name)
{
	for (const struct conf_stmt *s = conf_stmts; s->keyword; s++)
		if (strcmp(s->keyword, name) == 0)
			return s;
	return NULL;
}

/* A word that starts a statement where keys are the valid keys. */
static bool conf_is_keyword(const struct conf_key *keys, bool top,
			    const char *name)
{
	return conf_find(keys, name) || (top && conf_find_stmt(name));
}

/*
 * The block (or top level: *ret_block NULL) holding name, other than
 * skip, for "'device' belongs in the zwave block".
 */
static bool conf_find_elsewhere(const struct conf_key *keys,
				const struct conf_key *block,
				const struct conf_key *skip, const char *name,
				const struct conf_key **ret_block)
{
	if (keys != skip &&
	    (conf_find(keys, name) || (!block && conf_find_stmt(name)))) {
		*ret_block = block;
		return true;
	}
	for (const struct conf_key *k = keys; k->name; k++)
		if (k->type == CONF_BLOCK &&
		    conf_find_elsewhere(k->keys, k, skip, name, ret_block))
			return true;
	return false;
}

/* Levenshtein distance, ignoring case. */
static unsigned conf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[CONF_SUGGEST_MAX + 1], diag, up, best;

	if (la > CONF_SUGGEST_MAX || lb > CONF_SUGGEST_MAX)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			up = row[j];
			best = (up < row[j - 1] ? up : row[j - 1]) + 1;
			if (tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]))
				best = diag < best ? diag : best;
			else
				best = diag + 1 < best ? diag + 1 : best;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void conf_consider(const char *word, const char *cand, const char **best,
			  unsigned *best_d)
{
	unsigned d = conf_distance(word, cand);
	unsigned len = (unsigned)strlen(cand);
	unsigned limit = len / 3 > 1 ? len / 3 : 1;

	if (d <= limit && d < len && d < *best_d) {
		*best = cand;
		*best_d = d;
	}
}

/* The closest key of the same kind (block or not), or NULL. */
static const char *conf_suggest(const struct conf_key *keys, bool top,
				const char *word, bool want_block)
{
	const char *best = NULL;
	unsigned best_d = UINT_MAX;

	for (const struct conf_key *k = keys; k->name; k++)
		if ((k->type == CONF_BLOCK) == want_block)
			conf_consider(word, k->name, &best, &best_d);
	for (const struct conf_stmt *s = conf_stmts; top && s->keyword; s++)
		conf_consider(word, s->keyword, &best, &best_d);
	return best;
}

static struct conf_seen *conf_seen_find(struct conf_parser *p,
					const struct conf_key *k)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (p->seen[i].key == k)
			return &p->seen[i];
	return NULL;
}

/*
 * Records the first use of k; for a second one, says so and returns
 * NULL.  value may be NULL (a block).
 */
static struct conf_seen *conf_seen_add(struct conf_parser *p,
				       const struct conf_key *k, unsigned line,
				       unsigned col, const char *value)
{
	struct conf_seen *s = conf_seen_find(p, k);
	char *v = NULL;

	if (s && !s->failed) {
		conf_error(p, line, col, "'%s' given twice (first at %s:%u:%u)",
			   k->name, s->file, s->line, s->col);
		return NULL;
	}
	if (value && !(v = strdup(value))) {
		conf_oom(p);
		return NULL;
	}
	if (!s) {
		if (conf_reserve(&p->seen, &p->capseen, p->nseen, sizeof(*s)) <
		    0) {
			free(v);
			conf_oom(p);
			return NULL;
		}
		s = &p->seen[p->nseen++];
	} else {
		free(s->value);
	}
	*s = (struct conf_seen){ .key = k,
				 .file = p->src->name,
				 .line = line,
				 .col = col,
				 .value = v };
	return s;
}

/*
 * A use of k whose value was missing: it was said, so the key must not
 * also be "missing required", but a later good use is no duplicate.
 */
static void conf_seen_failed(struct conf_parser *p, const struct conf_key *k,
			     unsigned line, unsigned col)
{
	struct conf_seen *s;

	if (k->flags & CONF_MULTI || conf_seen_find(p, k))
		return;
	s = conf_seen_add(p, k, line, col, NULL);
	if (s)
		s->failed = true;
}

/* Stops the load once it has said enough; later errors are noise. */
static bool conf_give_up(struct conf_parser *p)
{
	if (p->err || p->stopped)
		return true;
	if (p->diags->errors - p->errors0 < CONF_ERRORS_MAX ||
	    lex_peek(p->src->lx)->type == TOK_EOF)
		return false;
	diag_add(p->diags, p->src->name, 0, 0, false,
		 "too many errors; giving up");
	p->stopped = true;
	return true;
}

/* After a '{' at bline:bcol was read: through its matching '}'. */
static void conf_skip_block(struct conf_parser *p, unsigned bline,
			    unsigned bcol)
{
	const struct token *t;
	size_t depth = 1;

	while (depth) {
		t = lex_next(p->src->lx);
		if (t->type == TOK_LBRACE) {
			depth++;
		} else if (t->type == TOK_RBRACE) {
			depth--;
		} else if (t->type == TOK_EOF) {
			conf_error_at(p, t, "'{' at %u:%u is never closed",
				      bline, bcol);
			return;
		}
	}
}

/*
 * Recovery after an error: skips the rest of the statement, which ends
 * at a newline, a ';', a block, or the '}' of the enclosing block.
 */
static void conf_skip_statement(struct conf_parser *p)
{
	struct lexer *lx = p->src->lx;
	const struct token *t;

	for (;;) {
		t = lex_peek(lx);
		if (t->nl_before || t->type == TOK_EOF || t->type == TOK_RBRACE)
			return;
		lex_next(lx);
		if (t->type == TOK_SEMI)
			return;
		if (t->type == TOK_LBRACE) {
			conf_skip_block(p, t->line, t->col);
			return;
		}
	}
}

/* Skips what follows the token t just read as part of a bad statement. */
static void conf_skip_after(struct conf_parser *p, const struct token *t)
{
	if (t->type == TOK_LBRACE)
		conf_skip_block(p, t->line, t->col);
	else
		conf_skip_statement(p);
}

static const char *conf_where(const struct conf_key *block, char *buf,
			      size_t len)
{
	if (block)
		snprintf(buf, len, "in the %s block", block->name);
	else
		snprintf(buf, len, "at top level");
	return buf;
}

/* An unknown word t starting a statement: a key or a block (if '{'). */
static void conf_unknown(struct conf_parser *p, const struct conf_key *keys,
			 const struct conf_key *block, const struct token *t)
{
	bool is_block = lex_peek(p->src->lx)->type == TOK_LBRACE;
	const struct conf_key *other;
	char shown[CONF_SHOW_MAX], here[64], there[64], hint[96] = "";
	const char *best;

	tok_describe(t, shown, sizeof(shown));
	if (conf_find_elsewhere(conf_top_keys, NULL, keys, t->text, &other)) {
		conf_error_at(p, t, "%s belongs %s, not %s", shown,
			      conf_where(other, there, sizeof(there)),
			      conf_where(block, here, sizeof(here)));
	} else {
		best = conf_suggest(keys, !block, t->text, is_block);
		if (best)
			snprintf(hint, sizeof(hint), "; did you mean '%s'?",
				 best);
		if (block)
			snprintf(here, sizeof(here), " in %s block",
				 block->name);
		else
			here[0] = '\0';
		conf_error_at(p, t, "unknown %s %s%s%s",
			      is_block ? "block" : "key", shown, here, hint);
	}
	conf_skip_statement(p);
}

/* "a, b or c" */
static const char *conf_list_words(const char *const *words, char *buf,
				   size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; words[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      i == 0	     ? ""
				      : words[i + 1] ? ", "
						     : " or ",
				      words[i]);
	return buf;
}

/* Decimal only: strtod would take "inf", hex and the locale's comma. */
static bool conf_parse_decimal(const char *s, double *ret)
{
	double m = 0, scale = 1;
	unsigned digits = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		m = m * 10 + (*s - '0');
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (digits < 15) {
				m = m * 10 + (*s - '0');
				scale *= 10;
			}
		}
	}
	if (*s)
		return false;
	*ret = (neg ? -m : m) / scale;
	return true;
}

static bool conf_set_number(struct conf_parser *p, const struct conf_key *k,
			    const struct token *a, const char *shown)
{
	bool integer = k->type == CONF_UINT;
	double v;

	if (!conf_parse_decimal(a->text, &v) || v < k->min || v > k->max ||
	    (integer && strchr(a->text, '.'))) {
		conf_error_at(p, a,
			      "%s must be %s between %.15g and %.15g, not %s",
			      k->name, integer ? "an integer" : "a number",
			      k->min, k->max, shown);
		return false;
	}
	if (integer)
		*(unsigned *)conf_field(p->c, k) = (unsigned)v;
	else
		*(double *)conf_field(p->c, k) = v;
	return true;
}

static bool conf_set_string(struct conf_parser *p, const struct conf_key *k,
			    const char *v)
{
	char **f = conf_field(p->c, k);
	char *s = strdup(v);

	if (!s)
		return conf_oom(p);
	free(*f);
	*f = s;
	return true;
}

static bool conf_set_path(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a)
{
	char **f = conf_field(p->c, k);
	char *s;

	if (!a->len) {
		conf_error_at(p, a, "%s must not be empty", k->name);
		return false;
	}
	s = a->text[0] == '/' ? strdup(a->text)
			      : conf_join(p->src->dir, a->text);
	if (!s)
		return conf_oom(p);
	if (strlen(s) >= PATH_MAX) {
		conf_error_at(p, a, "%s is too long (limit %d bytes)", k->name,
			      PATH_MAX - 1);
		free(s);
		return false;
	}
	free(*f);
	*f = s;
	return true;
}

static bool conf_set_word(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a, const char *shown)
{
	const char *const *words = k->type == CONF_BOOL ? conf_bools : k->words;
	char list[256];

	for (size_t i = 0; words[i]; i++) {
		if (strcmp(a->text, words[i]) != 0)
			continue;
		if (k->type == CONF_BOOL) {
			*(bool *)conf_field(p->c, k) = i % 2 == 0;
			return true;
		}
		return conf_set_string(p, k, words[i]);
	}
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

static bool conf_set_log_level(struct conf_parser *p, const struct conf_key *k,
			       const struct token *a, const char *shown)
{
	const char *words[LOG_DEBUG - LOG_ERR + 2] = { NULL };
	char list[256];
	int prio = log_level_from_name(a->text);

	if (prio >= LOG_ERR && prio <= LOG_DEBUG) {
		*(int *)conf_field(p->c, k) = prio;
		return true;
	}
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		words[i - LOG_ERR] = log_level_name(i);
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

static void conf_include(struct conf_parser *p, const struct token *a);

/* Stores the value in p->args; true when it was valid. */
static bool conf_set(struct conf_parser *p, const struct conf_key *k)
{
	const struct token *a = &p->args[0];
	char shown[CONF_SHOW_MAX], msg[CONF_MSG_MAX];

	conf_show(a, shown, sizeof(shown));
	switch (k->type) {
	case CONF_STRING:
		if (k->check && !k->check(a->text, shown, msg, sizeof(msg))) {
			conf_error_at(p, a, "%s", msg);
			return false;
		}
		return conf_set_string(p, k, a->text);
	case CONF_PATH:
		return conf_set_path(p, k, a);
	case CONF_ENUM:
	case CONF_BOOL:
		return conf_set_word(p, k, a, shown);
	case CONF_NUMBER:
	case CONF_UINT:
		return conf_set_number(p, k, a, shown);
	case CONF_LOG_LEVEL:
		return conf_set_log_level(p, k, a, shown);
	case CONF_INCLUDE:
		conf_include(p, a);
		return true;
	case CONF_BLOCK:
		break;
	}
	return false;
}

static void conf_copy_arg(struct conf_parser *p, unsigned n,
			  const struct token *t)
{
	p->args[n] = *t;
	memcpy(p->argtext[n], t->text, t->len + 1);
	p->args[n].text = p->argtext[n];
}

static bool conf_ends_statement(const struct token *t)
{
	return t->nl_before || t->type == TOK_EOF || t->type == TOK_RBRACE ||
	       t->type == TOK_SEMI;
}

/*
 * Statements may share a line, so what follows the arguments on the same
 * line must start the next one; anything else is one argument too many.
 */
static void conf_check_extra(struct conf_parser *p, const struct conf_key *keys,
			     const struct conf_key *block,
			     const struct conf_key *k)
{
	struct lexer *lx = p->src->lx;
	const struct token *t = lex_peek(lx);
	char shown[CONF_SHOW_MAX], hint[96] = "";
	const char *best = NULL;

	if (conf_ends_statement(t) ||
	    (t->type == TOK_WORD && conf_is_keyword(keys, !block, t->text)))
		return;
	t = lex_next(lx);
	if (t->type == TOK_WORD)
		best = conf_suggest(keys, !block, t->text, false);
	if (best)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", best);
	if (t->type != TOK_ERROR)
		conf_error_at(p, t, "'%s' takes %u value%s; unexpected %s%s",
			      k->name, k->nargs, k->nargs == 1 ? "" : "s",
			      tok_describe(t, shown, sizeof(shown)), hint);
	conf_skip_after(p, t);
}

static void conf_value_statement(struct conf_parser *p,
				 const struct conf_key *keys,
				 const struct conf_key *block,
				 const struct conf_key *k, unsigned line,
				 unsigned col)
{
	struct lexer *lx = p->src->lx;
	const struct token *t;
	char shown[CONF_SHOW_MAX];
	bool bad = false, ok;

	for (unsigned n = 0; n < k->nargs; n++) {
		if (conf_ends_statement(lex_peek(lx))) {
			conf_error(p, line, col, "missing value for '%s'",
				   k->name);
			conf_seen_failed(p, k, line, col);
			return;
		}
		t = lex_next(lx);
		if (t->type == TOK_LBRACE || t->type == TOK_COMMA) {
			conf_error_at(p, t, "expected a value for '%s', not %s",
				      k->name,
				      tok_describe(t, shown, sizeof(shown)));
			conf_seen_failed(p, k, line, col);
			conf_skip_after(p, t);
			return;
		}
		bad |= t->type == TOK_ERROR;
		conf_copy_arg(p, n, t);
	}
	conf_show(&p->args[0], shown, sizeof(shown));
	if ((k->flags & CONF_MULTI) || conf_seen_add(p, k, line, col, shown)) {
		/* conf_set may read includes, which move p->seen. */
		ok = !bad && conf_set(p, k);
		if (ok && !(k->flags & CONF_MULTI))
			conf_seen_find(p, k)->ok = true;
	}
	conf_check_extra(p, keys, block, k);
}

static void conf_block_statement(struct conf_parser *p,
				 const struct conf_key *k, unsigned line,
				 unsigned col)
{
	struct lexer *lx = p->src->lx;
	const struct token *t = lex_peek(lx);
	struct conf_seen *s;
	char shown[CONF_SHOW_MAX];
	unsigned bline = t->line, bcol = t->col;

	if (t->type != TOK_LBRACE) {
		if (t->type != TOK_ERROR)
			conf_error_at(p, t, "expected '{' after '%s', not %s",
				      k->name,
				      tok_describe(t, shown, sizeof(shown)));
		conf_skip_statement(p);
		return;
	}
	lex_next(lx);
	s = conf_seen_add(p, k, line, col, NULL);
	if (!s) {
		conf_skip_block(p, bline, bcol);
		return;
	}
	s->ok = true;
	if (k->flags & CONF_SET_FLAG)
		*(bool *)conf_field(p->c, k) = true;
	conf_parse_block(p, k->keys, k, bline, bcol);
}

static void conf_foreign(struct conf_parser *p, const struct conf_stmt *s,
			 const struct token *kw)
{
	int r = s->parse(p->c, p->src->lx, kw, p->src->dir, p->diags);

	if (r < 0)
		p->err = r;
}

/* A statement starting with the word t. */
static void conf_statement(struct conf_parser *p, const struct conf_key *keys,
			   const struct conf_key *block, const struct token *t)
{
	const struct conf_key *k = conf_find(keys, t->text);
	const struct conf_stmt *s;

	if (!k && !block && (s = conf_find_stmt(t->text)))
		conf_foreign(p, s, t);
	else if (!k)
		conf_unknown(p, keys, block, t);
	else if (k->type == CONF_BLOCK)
		conf_block_statement(p, k, t->line, t->col);
	else
		conf_value_statement(p, keys, block, k, t->line, t->col);
}

/* The statements of a block (or of a file: block NULL) up to its end. */
static void conf_parse_block(struct conf_parser *p, const struct conf_key *keys,
			     const struct conf_key *block, unsigned bline,
			     unsigned bcol)
{
	const struct token *t;
	char shown[CONF_SHOW_MAX];

	while (!conf_give_up(p)) {
		t = lex_next(p->src->lx);
		switch (t->type) {
		case TOK_EOF:
			if (block)
				conf_error_at(p, t,
					      "'{' at %u:%u is never closed",
					      bline, bcol);
			return;
		case TOK_RBRACE:
			if (block)
				return;
			conf_error_at(p, t, "'}' without a matching '{'");
			break;
		case TOK_SEMI:
			break;
		case TOK_ERROR:
			conf_skip_statement(p);
			break;
		case TOK_WORD:
			conf_statement(p, keys, block, t);
			break;
		default:
			conf_error_at(p, t, "expected a key, not %s",
				      tok_describe(t, shown, sizeof(shown)));
			conf_skip_after(p, t);
			break;
		}
	}
}

static int conf_check_stat(const struct stat *st, char *err, size_t len)
{
	uid_t me = geteuid();
	unsigned mode = (unsigned)st->st_mode & 07777;

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, len, "is not a regular file");
		return -EINVAL;
	}
	if (st->st_uid != 0 && st->st_uid != me) {
		if (me == 0)
			snprintf(err, len,
				 "is owned by uid %u, not root; refusing it",
				 (unsigned)st->st_uid);
		else
			snprintf(err, len,
				 "is owned by uid %u, not root or uid %u; "
				 "refusing it",
				 (unsigned)st->st_uid, (unsigned)me);
		return -EPERM;
	}
	if (mode & S_IWOTH) {
		snprintf(err, len,
			 "is writable by others (mode %04o); "
			 "refusing it",
			 mode);
		return -EPERM;
	}
	if (mode & S_IWGRP) {
		snprintf(err, len,
			 "is writable by its group (mode %04o); "
			 "refusing it",
			 mode);
		return -EPERM;
	}
	return 0;
}

int conf_check_file_mode(const char *path, char *err, size_t len)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		conf_strerror(-r, err, len);
		return r;
	}
	return conf_check_stat(&st, err, len);
}

/* The whole file, growing past its stat size only up to the limit. */
static int conf_read_fd(int fd, const struct stat *st, char **ret,
			size_t *ret_len)
{
	size_t cap, len = 0;
	char *buf, *nbuf;
	ssize_t n;
	int r;

	*ret_len = (size_t)st->st_size;
	if (st->st_size > CONF_FILE_MAX)
		return -EFBIG;
	cap = (size_t)st->st_size + 1;
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			*ret_len = len;
			if (cap > CONF_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > CONF_FILE_MAX ? CONF_FILE_MAX + 1
						      : cap * 2;
			if (!(nbuf = realloc(buf, cap))) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static ssize_t conf_add_file(struct conf_parser *p, const char *path,
			     const char *name, const struct stat *st)
{
	struct conf_file *f;

	if (conf_reserve(&p->files, &p->capfiles, p->nfiles, sizeof(*f)) < 0) {
		conf_oom(p);
		return -ENOMEM;
	}
	f = &p->files[p->nfiles];
	*f = (struct conf_file){ .is_buffer = !st };
	if (st) {
		f->has_id = true;
		f->dev = st->st_dev;
		f->ino = st->st_ino;
	}
	f->path = strdup(path);
	f->name = strdup(name);
	if (!f->path || !f->name) {
		free(f->path);
		free(f->name);
		conf_oom(p);
		return -ENOMEM;
	}
	return (ssize_t)p->nfiles++;
}

static void conf_parse_data(struct conf_parser *p, size_t fi, const char *data,
			    size_t len)
{
	struct conf_src src = { .name = p->files[fi].name, .up = p->src };

	src.depth = p->src ? p->src->depth + 1 : 0;
	src.dir = conf_dirname(p->files[fi].path);
	src.shown_dir = conf_dir_prefix(src.name);
	src.lx = lex_new(src.name, data, len, p->diags);
	if (src.dir && src.shown_dir && src.lx) {
		p->files[fi].reading = true;
		p->src = &src;
		conf_parse_block(p, conf_top_keys, NULL, 0, 0);
		p->src = src.up;
		p->files[fi].reading = false;
	} else {
		conf_oom(p);
	}
	lex_free(src.lx);
	free(src.dir);
	free(src.shown_dir);
}

/* A file met before: an include cycle, or the same file twice. */
static bool conf_file_again(struct conf_parser *p, const struct stat *st,
			    const char *name, unsigned line, unsigned col)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct conf_file *f = &p->files[i];

		if (!f->has_id || f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		if (f->reading)
			conf_error(p, line, col,
				   "include cycle: '%s' is already being read",
				   name);
		else
			conf_error(p, line, col, "'%s' is already included",
				   name);
		return true;
	}
	return false;
}

/* Reads and parses path, included at line:col (0 for the main file). */
static void conf_read_file(struct conf_parser *p, const char *path,
			   const char *name, unsigned line, unsigned col)
{
	char msg[CONF_MSG_MAX], *data = NULL;
	struct stat st;
	size_t len;
	ssize_t fi;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		diag_add(p->diags, name, 0, 0, false, "%s",
			 conf_strerror(errno, msg, sizeof(msg)));
		goto out;
	}
	if (conf_check_stat(&st, msg, sizeof(msg)) < 0) {
		diag_add(p->diags, name, 0, 0, false, "%s", msg);
		goto out;
	}
	if (line && conf_file_again(p, &st, name, line, col))
		goto out;
	r = conf_read_fd(fd, &st, &data, &len);
	if (r == -EFBIG)
		diag_add(p->diags, name, 0, 0, false,
			 "file too large (%zu bytes, limit %d)", len,
			 CONF_FILE_MAX);
	else if (r == -ENOMEM)
		conf_oom(p);
	else if (r < 0)
		diag_add(p->diags, name, 0, 0, false, "read error: %s",
			 conf_strerror(-r, msg, sizeof(msg)));
	if (r < 0)
		goto out;
	fi = conf_add_file(p, path, name, &st);
	if (fi >= 0)
		conf_parse_data(p, (size_t)fi, data, len);
out:
	free(data);
	if (fd >= 0)
		close(fd);
}

/* The include pattern with the file's directory, its glob chars escaped. */
static char *conf_include_pattern(const struct conf_parser *p, const char *text)
{
	const char *dir = p->src->dir;
	char *esc, *o, *pattern;

	if (text[0] == '/')
		return strdup(text);
	if (!(esc = malloc(strlen(dir) * 2 + 1)))
		return NULL;
	for (o = esc; *dir; dir++) {
		if (strchr("*?[]\\", *dir))
			*o++ = '\\';
		*o++ = *dir;
	}
	*o = '\0';
	pattern = conf_join(esc, text);
	free(esc);
	return pattern;
}

/* A match as shown: relative ones keep the including file's spelling. */
static char *conf_include_name(const struct conf_parser *p, bool relative,
			       const char *match)
{
	const char *dir = p->src->dir;
	size_t dl = strcmp(dir, "/") ? strlen(dir) : 0;
	char *s;

	if (!relative || strncmp(match, dir, dl) != 0 || match[dl] != '/')
		return strdup(match);
	if (asprintf(&s, "%s%s", p->src->shown_dir, match + dl + 1) < 0)
		return NULL;
	return s;
}

/* a is p->args[0], which the included files reuse: copy what is needed. */
static void conf_include(struct conf_parser *p, const struct token *a)
{
	unsigned line = a->line, col = a->col;
	bool relative = a->text[0] != '/';
	char *pattern, *name;
	glob_t g;
	int r;

	if (!a->len) {
		conf_error_at(p, a, "include must not be empty");
		return;
	}
	if (p->src->depth >= CONF_INCLUDE_DEPTH) {
		conf_error_at(p, a, "includes nested too deep (limit %d)",
			      CONF_INCLUDE_DEPTH);
		return;
	}
	if (!(pattern = conf_include_pattern(p, a->text))) {
		conf_oom(p);
		return;
	}
	r = glob(pattern, 0, NULL, &g);
	free(pattern);
	if (r && r != GLOB_NOMATCH)
		conf_oom(p);
	for (size_t i = 0; !r && i < g.gl_pathc; i++) {
		if (p->err || p->stopped)
			break;
		if (p->nfiles >= CONF_FILES_MAX) {
			conf_error(p, line, col, "too many files (limit %d)",
				   CONF_FILES_MAX);
			break;
		}
		if (!(name = conf_include_name(p, relative, g.gl_pathv[i]))) {
			conf_oom(p);
			break;
		}
		conf_read_file(p, g.gl_pathv[i], name, line, col);
		free(name);
	}
	globfree(&g);
}

static bool conf_check_gateway_id(const char *v, const char *shown, char *msg,
				  size_t len)
{
	size_t n = strspn(v, CONF_ALNUM "-_");

	if (n && n <= CONF_GATEWAY_ID_MAX && !v[n])
		return true;
	snprintf(msg, len,
		 "gateway-id must be 1 to %d letters, digits, '-' or '_', "
		 "not %s",
		 CONF_GATEWAY_ID_MAX, shown);
	return false;
}

static bool conf_check_group(const char *v, const char *shown, char *msg,
			     size_t len)
{
	size_t n = strspn(v, CONF_ALNUM "-_.");

	if (n && n <= CONF_GROUP_NAME_MAX && !v[n] && v[0] != '-')
		return true;
	snprintf(msg, len, "group must be a group name, not %s", shown);
	return false;
}

/*
 * A name that stays inside the zone directory: "Europe/Paris", never
 * "/etc/passwd" or "../../etc/passwd".
 */
static bool conf_tz_name_ok(const char *v)
{
	size_t n = strspn(v, CONF_ALNUM "-_+./");

	if (!n || n > CONF_TZ_NAME_MAX || v[n])
		return false;
	for (const char *c = v;; c += n + 1) {
		n = strcspn(c, "/");
		if (n == 0 ||
		    (c[0] == '.' && (n == 1 || (n == 2 && c[1] == '.'))))
			return false;
		if (!c[n])
			return true;
	}
}

/* Known: a TZif file under $TZDIR, as tzset would read it. */
static bool conf_check_timezone(const char *v, const char *shown, char *msg,
				size_t len)
{
	const char *dir = getenv("TZDIR");
	char magic[4], *path;
	bool known = false;
	int fd;

	if (!conf_tz_name_ok(v)) {
		snprintf(msg, len,
			 "timezone must be a zone name like 'Europe/Paris', "
			 "not %s",
			 shown);
		return false;
	}
	if (!dir || !*dir)
		dir = CONF_TZDIR;
	if (asprintf(&path, "%s/%s", dir, v) < 0)
		path = NULL;
	fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
		  : -1;
	if (fd >= 0) {
		known = read(fd, magic, sizeof(magic)) == sizeof(magic) &&
			memcmp(magic, "TZif", sizeof(magic)) == 0;
		close(fd);
	}
	free(path);
	if (!known)
		snprintf(msg, len, "unknown timezone %s", shown);
	return known;
}

static const struct conf_seen *conf_seen_key(struct conf_parser *p,
					     const struct conf_key *keys,
					     const char *name)
{
	return conf_seen_find(p, conf_find(keys, name));
}

static const char *conf_main_name(const struct conf_parser *p)
{
	return p->files[0].name;
}

/* Required keys, in every block that was given. */
static void conf_validate_required(struct conf_parser *p,
				   const struct conf_key *keys,
				   const struct conf_key *block,
				   const struct conf_seen *bs)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		const struct conf_seen *s = conf_seen_find(p, k);

		if (k->type == CONF_BLOCK && s)
			conf_validate_required(p, k->keys, k, s);
		if (!(k->flags & CONF_REQUIRED) || s)
			continue;
		if (block)
			diag_add(p->diags, bs->file, bs->line, bs->col, false,
				 "missing required key '%s' in %s block",
				 k->name, block->name);
		else
			diag_add(p->diags, conf_main_name(p), 0, 0, false,
				 "missing required key '%s'", k->name);
	}
}

static void conf_validate_sim(struct conf_parser *p)
{
	const struct conf_seen *z = conf_seen_key(p, conf_top_keys, "zwave");
	const struct conf_seen *s =
	    conf_seen_key(p, conf_zwave_keys, "sim-network");
	char msg[CONF_MSG_MAX];
	struct stat st;
	int fd;

	if (!s && z)
		diag_add(p->diags, z->file, z->line, z->col, false,
			 "missing required key 'sim-network' in zwave block "
			 "(backend sim needs it)");
	else if (!s)
		diag_add(p->diags, conf_main_name(p), 0, 0, false,
			 "missing required key 'sim-network' in zwave block "
			 "(backend sim is the default)");
	if (!s || !s->ok)
		return;
	fd = open(p->c->zwave.sim_network,
		  O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		diag_add(p->diags, s->file, s->line, s->col, false,
			 "cannot read sim-network %s: %s", s->value,
			 conf_strerror(errno, msg, sizeof(msg)));
	else if (!S_ISREG(st.st_mode))
		diag_add(p->diags, s->file, s->line, s->col, false,
			 "sim-network %s is not a regular file", s->value);
	if (fd >= 0)
		close(fd);
}

/* Only a warning: Z-Wave sticks are plugged in after boot, too. */
static void conf_validate_device(struct conf_parser *p)
{
	const struct conf_seen *s = conf_seen_key(p, conf_zwave_keys, "device");
	struct stat st;

	if (stat(p->c->zwave.device, &st) == 0 || errno != ENOENT)
		return;
	if (s && s->ok)
		diag_add(p->diags, s->file, s->line, s->col, true,
			 "device %s does not exist (not plugged in?)",
			 s->value);
	else if (!s)
		diag_add(p->diags, conf_main_name(p), 0, 0, true,
			 "device '%s' does not exist (not plugged in?)",
			 p->c->zwave.device);
}

/* Checks of the config as a whole, once every file was read. */
static void conf_validate(struct conf_parser *p)
{
	const struct conf_seen *b =
	    conf_seen_key(p, conf_zwave_keys, "backend");

	conf_validate_required(p, conf_top_keys, NULL, NULL);
	if (b && !b->ok)
		return;
	if (strcmp(p->c->zwave.backend, "sim") == 0)
		conf_validate_sim(p);
	else
		conf_validate_device(p);
}

static int conf_take_files(struct conf_parser *p)
{
	size_t n = 0;

	p->c->files = calloc(p->nfiles + 1, sizeof(*p->c->files));
	if (!p->c->files)
		return -ENOMEM;
	for (size_t i = 0; i < p->nfiles; i++) {
		if (p->files[i].is_buffer)
			continue;
		p->c->files[n++] = p->files[i].path;
		p->files[i].path = NULL;
	}
	return 0;
}

static void conf_parser_free(struct conf_parser *p)
{
	for (size_t i = 0; i < p->nseen; i++)
		free(p->seen[i].value);
	free(p->seen);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].name);
	}
	free(p->files);
}

static void conf_parse_buffer(struct conf_parser *p, const char *name,
			      const char *data, size_t len)
{
	ssize_t fi;

	if (len > CONF_FILE_MAX) {
		diag_add(p->diags, name, 0, 0, false,
			 "file too large (%zu bytes, limit %d)", len,
			 CONF_FILE_MAX);
		return;
	}
	fi = conf_add_file(p, p->c->path, name, NULL);
	if (fi >= 0)
		conf_parse_data(p, (size_t)fi, data, len);
}

static int conf_load_main(const char *name, const char *data, size_t len,
			  bool from_file, struct diag_list *diags,
			  struct conf **ret)
{
	struct conf_parser p = { .diags = diags, .errors0 = diags->errors };
	char msg[CONF_MSG_MAX];
	int r;

	if (!(p.c = conf_new()))
		return -ENOMEM;
	r = conf_abs_path(name, &p.c->path);
	if (r == -ENOMEM) {
		p.err = r;
	} else if (r < 0) {
		diag_add(diags, name, 0, 0, false,
			 "cannot find the current directory: %s",
			 conf_strerror(-r, msg, sizeof(msg)));
	} else if (from_file) {
		conf_read_file(&p, p.c->path, name, 0, 0);
	} else {
		conf_parse_buffer(&p, name, data, len);
	}
	if (!p.err && !p.stopped && p.nfiles)
		conf_validate(&p);
	if (!p.err)
		p.err = conf_take_files(&p);
	if (!p.err && diags->errors > p.errors0)
		p.err = -EINVAL;
	if (!p.err) {
		*ret = p.c;
		p.c = NULL;
	}
	conf_parser_free(&p);
	conf_free(p.c);
	return p.err;
}

int conf_load(const char *path, struct diag_list *diags, struct conf **ret)
{
	return conf_load_main(path, NULL, 0, true, diags, ret);
}

int conf_load_buffer(const char *name, const char *data, size_t len,
		     struct diag_list *diags, struct conf **ret)
{
	return conf_load_main(name ? name : "<buffer>", data, len, false, diags,
			      ret);
}
