/* SPDX-License-Identifier: MIT */
/*
 * lex.h: the tokenizer shared by zwgate.conf and zwgate.rules.
 *
 * Tokens are words (any run of characters other than white space and the
 * specials below), double-quoted strings with C escapes (\" \\ \n \t),
 * and the specials { } ; ,.  '#' starts a comment to the end of the line.
 * A token records whether a newline came before it, so that a parser can
 * end a statement at the end of a line without newline tokens.
 */
#ifndef ZWGATE_LEX_H
#define ZWGATE_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define LEX_TOKEN_MAX 1024 /* bytes in one word or string */

enum tok_type {
	TOK_EOF,
	TOK_WORD,
	TOK_STRING,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_SEMI,
	TOK_COMMA,
	TOK_ERROR, /* a diagnostic was added; the lexer skipped past it */
};

struct token {
	enum tok_type type;
	char *text; /* WORD and STRING: NUL-terminated, owned by the lexer */
	size_t len;
	unsigned line, col;
	bool nl_before; /* a newline (or the start of file) came before it */
};

struct lexer;

/*
 * A lexer over data (borrowed, must outlive the lexer) read from file (a
 * name for diagnostics, copied).  NULL on allocation failure.
 */
struct lexer *lex_new(const char *file, const char *data, size_t len,
		      struct diag_list *diags);
struct lexer *lex_free(struct lexer *lx);

/*
 * The next token.  Its text stays valid until the second next call of
 * lex_next (so one token of look-ahead through lex_peek is safe).
 */
const struct token *lex_next(struct lexer *lx);
const struct token *lex_peek(struct lexer *lx);
const char *lex_file(const struct lexer *lx);
/*
 * "'word'", "string \"x\"", "'{'", "end of file" into buf; returns buf.
 * At most 32 bytes of a word or string are quoted, escaped to printable
 * text, with "..." when cut.
 */
const char *lex_tok_describe(const struct token *t, char *buf, size_t len);

#endif
