/* SPDX-License-Identifier: MIT */
/*
 * conf_parse.c: the engine of zwgate.conf(5).  It cuts a file into
 * statements and { } blocks as the key tables of conf.c say, hands the
 * caller's statements to their parser, records where each key was given,
 * recovers after an error so that one load reports every problem, and
 * suggests the key that was probably meant.  Reading the files is
 * conf_file.c's; what a value means is conf_value.c's (conf_set_value);
 * the config as a whole is conf_validate.c's.
 */
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
#include "conf_int.h"
#include "lex.h"

#define CONF_ERRORS_MAX	 20 /* errors of one load before giving up */
#define CONF_SUGGEST_MAX 64 /* longest word compared for a suggestion */

static void conf_parse_block(struct conf_parser *p, const struct conf_key *keys,
			     const struct conf_key *block, unsigned bline,
			     unsigned bcol);

/* Grows *itemsp (an array of size-byte items) to hold one more. */
int conf_reserve(void *itemsp, size_t *cap, size_t n, size_t size)
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

bool conf_oom(struct conf_parser *p)
{
	p->err = -ENOMEM;
	return false;
}

const char *conf_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

const char *conf_show(const struct token *t, char *buf, size_t len)
{
	struct token w = *t;

	if (w.type == TOK_STRING)
		w.type = TOK_WORD;
	return lex_tok_describe(&w, buf, len);
}

char *conf_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
		return NULL;
	return s;
}

const struct conf_key *conf_find(const struct conf_key *keys, const char *name)
{
	for (const struct conf_key *k = keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Is name the keyword of a statement of the caller's (conf_statements)? */
static bool conf_find_stmt(const struct conf_parser *p, const char *name)
{
	const struct conf_statements *st = p->stmts;

	for (size_t i = 0; st && st->keywords[i]; i++)
		if (strcmp(st->keywords[i], name) == 0)
			return true;
	return false;
}

/* A word that starts a statement where keys are the valid keys. */
static bool conf_is_keyword(const struct conf_parser *p,
			    const struct conf_key *keys, bool top,
			    const char *name)
{
	return conf_find(keys, name) || (top && conf_find_stmt(p, name));
}

/*
 * The block (or top level: *ret_block NULL) holding name, other than
 * skip, for "'device' belongs in the zwave block".
 */
static bool conf_find_elsewhere(const struct conf_parser *p,
				const struct conf_key *keys,
				const struct conf_key *block,
				const struct conf_key *skip, const char *name,
				const struct conf_key **ret_block)
{
	if (keys != skip &&
	    (conf_find(keys, name) || (!block && conf_find_stmt(p, name)))) {
		*ret_block = block;
		return true;
	}
	for (const struct conf_key *k = keys; k->name; k++)
		if (k->type == CONF_BLOCK &&
		    conf_find_elsewhere(p, k->keys, k, skip, name, ret_block))
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
static const char *conf_suggest(const struct conf_parser *p,
				const struct conf_key *keys, bool top,
				const char *word, bool want_block)
{
	const char *best = NULL;
	unsigned best_d = UINT_MAX;

	for (const struct conf_key *k = keys; k->name; k++)
		if ((k->type == CONF_BLOCK) == want_block)
			conf_consider(word, k->name, &best, &best_d);
	for (size_t i = 0; top && p->stmts && p->stmts->keywords[i]; i++)
		conf_consider(word, p->stmts->keywords[i], &best, &best_d);
	return best;
}

struct conf_seen *conf_seen_find(struct conf_parser *p,
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

	lex_tok_describe(t, shown, sizeof(shown));
	if (conf_find_elsewhere(p, conf_top_keys, NULL, keys, t->text,
				&other)) {
		conf_error_at(p, t, "%s belongs %s, not %s", shown,
			      conf_where(other, there, sizeof(there)),
			      conf_where(block, here, sizeof(here)));
	} else {
		best = conf_suggest(p, keys, !block, t->text, is_block);
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

/* Stores the value in p->args; true when it was valid. */
static bool conf_set(struct conf_parser *p, const struct conf_key *k)
{
	if (k->type != CONF_INCLUDE)
		return conf_set_value(p, k, &p->args[0]);
	conf_include(p, &p->args[0]);
	return true;
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
	    (t->type == TOK_WORD && conf_is_keyword(p, keys, !block, t->text)))
		return;
	t = lex_next(lx);
	if (t->type == TOK_WORD)
		best = conf_suggest(p, keys, !block, t->text, false);
	if (best)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", best);
	if (t->type != TOK_ERROR)
		conf_error_at(p, t, "'%s' takes %u value%s; unexpected %s%s",
			      k->name, k->nargs, k->nargs == 1 ? "" : "s",
			      lex_tok_describe(t, shown, sizeof(shown)), hint);
	conf_skip_after(p, t);
}

/*
 * The further values of a list, up to k->max in all: what follows on the
 * key's line, up to a keyword that starts the next statement.  false
 * when one was not valid (each is said), or there were too many (said
 * once, and the rest read).
 */
static bool conf_more_values(struct conf_parser *p, const struct conf_key *keys,
			     const struct conf_key *block,
			     const struct conf_key *k, bool ok)
{
	struct lexer *lx = p->src->lx;
	const struct token *t;
	unsigned n = 1;

	for (;;) {
		t = lex_peek(lx);
		if (conf_ends_statement(t) ||
		    (t->type != TOK_STRING && t->type != TOK_WORD) ||
		    (t->type == TOK_WORD &&
		     conf_is_keyword(p, keys, !block, t->text)))
			return ok;
		t = lex_next(lx);
		if (++n == (unsigned)k->max + 1)
			conf_error_at(p, t, "'%s' takes at most %u values",
				      k->name, (unsigned)k->max);
		if (n > (unsigned)k->max) {
			ok = false; /* the rest of the list is read, unused */
			continue;
		}
		conf_copy_arg(p, 0, t);
		ok = conf_set_value(p, k, &p->args[0]) && ok;
	}
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
			conf_error_at(
			    p, t, "expected a value for '%s', not %s", k->name,
			    lex_tok_describe(t, shown, sizeof(shown)));
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
		if (k->type == CONF_STRINGS)
			ok &= conf_more_values(p, keys, block, k, ok);
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
			conf_error_at(
			    p, t, "expected '{' after '%s', not %s", k->name,
			    lex_tok_describe(t, shown, sizeof(shown)));
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

static void conf_foreign(struct conf_parser *p, const struct token *kw)
{
	int r = p->stmts->parse(p->c, p->src->lx, kw, p->src->dir, p->diags);

	if (r < 0)
		p->err = r;
}

/* A statement starting with the word t. */
static void conf_statement(struct conf_parser *p, const struct conf_key *keys,
			   const struct conf_key *block, const struct token *t)
{
	const struct conf_key *k = conf_find(keys, t->text);

	if (!k && !block && conf_find_stmt(p, t->text))
		conf_foreign(p, t);
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
			conf_error_at(
			    p, t, "expected a key, not %s",
			    lex_tok_describe(t, shown, sizeof(shown)));
			conf_skip_after(p, t);
			break;
		}
	}
}

/*
 * An included file must start like a config file: with a key, a
 * statement, or a word close enough to one to be its typo.  Anything
 * else (a key file, a password file, /etc/shadow that an include pattern
 * matched) is refused whole, without quoting a byte of it: one line of
 * such a file in a diagnostic would be one line too many.
 */
static bool conf_looks_like_config(struct conf_parser *p)
{
	const struct token *t = lex_peek(p->src->lx);
	const struct conf_key *other;

	if (t->type == TOK_EOF)
		return true;
	if (t->type == TOK_WORD &&
	    (conf_find_elsewhere(p, conf_top_keys, NULL, NULL, t->text,
				 &other) ||
	     conf_suggest(p, conf_top_keys, true, t->text, false) ||
	     conf_suggest(p, conf_top_keys, true, t->text, true)))
		return true;
	conf_error_at(p, t,
		      "does not look like a zwgate configuration file (it "
		      "does not start with a key); not read");
	return false;
}

void conf_parse_statements(struct conf_parser *p)
{
	if (p->src->depth == 0 || conf_looks_like_config(p))
		conf_parse_block(p, conf_top_keys, NULL, 0, 0);
}
