/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

/*
 * Three token slots in a ring: the token returned by lex_next must survive
 * the next lex_next and a lex_peek after it, which together scan at most
 * two more tokens.
 */
#define LEX_SLOTS 3

/* Bytes of a token quoted by lex_tok_describe; longer ones are cut. */
#define LEX_DESCRIBE_MAX 32

struct lexer {
	char *file;
	const unsigned char *data;
	size_t len, pos;
	unsigned line, col;
	bool nl; /* a newline was seen since the last token */
	struct diag_list *diags;
	struct token slot[LEX_SLOTS];
	char text[LEX_SLOTS][LEX_TOKEN_MAX + 1];
	unsigned cur;
	bool peeked;
};

struct lexer *lex_new(const char *file, const char *data, size_t len,
		      struct diag_list *diags)
{
	struct lexer *lx = calloc(1, sizeof(*lx));

	if (!lx)
		return NULL;
	lx->file = strdup(file ? file : "");
	if (!lx->file) {
		free(lx);
		return NULL;
	}
	lx->data = (const unsigned char *)data;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->nl = true;
	lx->diags = diags;
	return lx;
}

struct lexer *lex_free(struct lexer *lx)
{
	if (lx) {
		free(lx->file);
		free(lx);
	}
	return NULL;
}

const char *lex_file(const struct lexer *lx)
{
	return lx->file;
}

static int lex_byte(const struct lexer *lx)
{
	return lx->pos < lx->len ? lx->data[lx->pos] : -1;
}

/* Columns count characters, not bytes: UTF-8 continuations don't move. */
static void lex_advance(struct lexer *lx)
{
	unsigned char c = lx->data[lx->pos++];

	if (c == '\n') {
		lx->line++;
		lx->col = 1;
		lx->nl = true;
	} else if ((c & 0xc0) != 0x80) {
		lx->col++;
	}
}

static bool lex_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool lex_is_control(int c)
{
	return (c >= 0 && c < 0x20 && !lex_is_space(c)) || c == 0x7f;
}

/* Control characters and NUL belong to a word, to be reported there. */
static bool lex_is_word_char(int c)
{
	return c == 0 || (c > 0 && !lex_is_space(c) && !strchr("{};,\"#", c));
}

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes), 0 if it is
 * not one: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t lex_utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min, cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, min = 0x80, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, min = 0x800, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Skips white space and comments; NUL and other bytes stop it. */
static void lex_skip_space(struct lexer *lx)
{
	int c;

	while ((c = lex_byte(lx)) >= 0) {
		if (lex_is_space(c)) {
			lex_advance(lx);
		} else if (c == '#') {
			while ((c = lex_byte(lx)) >= 0 && c != '\n') {
				if (c == 0)
					diag_add(lx->diags, lx->file, lx->line,
						 lx->col, false,
						 "NUL byte in file");
				lex_advance(lx);
			}
		} else {
			break;
		}
	}
}

/* The first error of a token is reported; the rest would be noise. */
struct lex_scan {
	struct token *t;
	char *buf;
	size_t len;
	bool failed;
	const char *what; /* "word" or "string" */
};

static void lex_fail(struct lexer *lx, struct lex_scan *s, unsigned line,
		     unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void lex_fail(struct lexer *lx, struct lex_scan *s, unsigned line,
		     unsigned col, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(lx->diags, lx->file, line, col, false, "%s", msg);
}

static void lex_append(struct lexer *lx, struct lex_scan *s, char c)
{
	if (s->len >= LEX_TOKEN_MAX) {
		lex_fail(lx, s, s->t->line, s->t->col,
			 "%s too long (limit %d bytes)", s->what,
			 LEX_TOKEN_MAX);
		return;
	}
	s->buf[s->len++] = c;
}

/* Copies one UTF-8 character, or reports the invalid byte and skips it. */
static void lex_take_char(struct lexer *lx, struct lex_scan *s)
{
	size_t n = lex_utf8_len(lx->data + lx->pos, lx->len - lx->pos);

	if (!n) {
		lex_fail(lx, s, lx->line, lx->col, "invalid UTF-8 in %s",
			 s->what);
		lex_advance(lx);
		return;
	}
	while (n--) {
		lex_append(lx, s, (char)lx->data[lx->pos]);
		lex_advance(lx);
	}
}

static void lex_word(struct lexer *lx, struct lex_scan *s)
{
	int c;

	s->what = "word";
	s->t->type = TOK_WORD;
	while (lex_is_word_char(c = lex_byte(lx))) {
		if (c == 0) {
			lex_fail(lx, s, lx->line, lx->col, "NUL byte in file");
			lex_advance(lx);
		} else if (lex_is_control(c)) {
			lex_fail(lx, s, lx->line, lx->col,
				 "invalid character 0x%02x", c);
			lex_advance(lx);
		} else {
			lex_take_char(lx, s);
		}
	}
}

/* After a backslash; a newline or the end is left to lex_string. */
static void lex_escape(struct lexer *lx, struct lex_scan *s)
{
	unsigned line = lx->line, col = lx->col;
	int c;

	lex_advance(lx);
	c = lex_byte(lx);
	if (c < 0 || c == '\n')
		return;
	if (c == '"' || c == '\\')
		lex_append(lx, s, (char)c);
	else if (c == 'n')
		lex_append(lx, s, '\n');
	else if (c == 't')
		lex_append(lx, s, '\t');
	else if (c > 0x20 && c < 0x7f)
		lex_fail(lx, s, line, col, "bad escape '\\%c' in string", c);
	else
		lex_fail(lx, s, line, col,
			 "bad escape in string: byte 0x%02x after '\\'", c);
	if (c >= 0x80)
		lex_take_char(lx, s);
	else
		lex_advance(lx);
}

static void lex_string(struct lexer *lx, struct lex_scan *s)
{
	int c;

	s->what = "string";
	s->t->type = TOK_STRING;
	lex_advance(lx);
	while ((c = lex_byte(lx)) != '"') {
		if (c < 0 || c == '\n') {
			/* Said even after another error: it explains what
			 * follows on the next line. */
			s->failed = false;
			lex_fail(lx, s, s->t->line, s->t->col,
				 "unterminated string");
			return;
		}
		if (c == '\\') {
			lex_escape(lx, s);
		} else if (c == 0) {
			lex_fail(lx, s, lx->line, lx->col, "NUL byte in file");
			lex_advance(lx);
		} else if (lex_is_control(c)) {
			lex_fail(lx, s, lx->line, lx->col,
				 "invalid character 0x%02x in string", c);
			lex_advance(lx);
		} else {
			lex_take_char(lx, s);
		}
	}
	lex_advance(lx);
}

static const enum tok_type lex_special[] = {
	['{'] = TOK_LBRACE,
	['}'] = TOK_RBRACE,
	[';'] = TOK_SEMI,
	[','] = TOK_COMMA,
};

static struct token *lex_scan(struct lexer *lx)
{
	struct lex_scan s = { 0 };
	struct token *t;
	int c;

	lx->cur = (lx->cur + 1) % LEX_SLOTS;
	t = &lx->slot[lx->cur];
	s.t = t;
	s.buf = lx->text[lx->cur];
	lex_skip_space(lx);
	*t = (struct token){ .line = lx->line,
			     .col = lx->col,
			     .nl_before = lx->nl };
	lx->nl = false;
	c = lex_byte(lx);
	if (c < 0) {
		t->type = TOK_EOF;
	} else if (c < 0x80 && c != 0 && strchr("{};,", c)) {
		t->type = lex_special[c];
		lex_advance(lx);
	} else if (c == '"') {
		lex_string(lx, &s);
	} else {
		lex_word(lx, &s);
	}
	s.buf[s.len] = '\0';
	t->text = s.buf;
	t->len = s.len;
	if (s.failed)
		t->type = TOK_ERROR;
	return t;
}

const struct token *lex_next(struct lexer *lx)
{
	if (lx->peeked) {
		lx->peeked = false;
		return &lx->slot[lx->cur];
	}
	return lex_scan(lx);
}

const struct token *lex_peek(struct lexer *lx)
{
	if (!lx->peeked) {
		lex_scan(lx);
		lx->peeked = true;
	}
	return &lx->slot[lx->cur];
}

/*
 * Copies text, escaped as it would be written in a string and shortened
 * to LEX_DESCRIBE_MAX bytes of it (never inside a UTF-8 sequence) with
 * "..." after: a diagnostic quotes a short token of what it did not
 * understand, never a whole line of it, since that may be a line of a
 * file that is no config at all (a key, a password file).
 */
static void lex_describe_text(const char *text, size_t len, bool quoted,
			      char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];

		size_t seq = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if ((c & 0xc0) != 0x80 && i + seq > LEX_DESCRIBE_MAX) {
			o += (size_t)snprintf(out + o, outlen - o, "...");
			break;
		}
		if (quoted && (c == '"' || c == '\\'))
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
		else if (c == '\n')
			o += (size_t)snprintf(out + o, outlen - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, outlen - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o +=
			    (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
}

const char *lex_tok_describe(const struct token *t, char *buf, size_t len)
{
	char text[LEX_DESCRIBE_MAX * 4 + 16]; /* each byte escaped, "..." */

	switch (t->type) {
	case TOK_WORD:
	case TOK_STRING:
		lex_describe_text(t->text, t->len, t->type == TOK_STRING, text,
				  sizeof(text));
		if (t->type == TOK_WORD)
			snprintf(buf, len, "'%s'", text);
		else
			snprintf(buf, len, "string \"%s\"", text);
		break;
	case TOK_LBRACE:
		snprintf(buf, len, "'{'");
		break;
	case TOK_RBRACE:
		snprintf(buf, len, "'}'");
		break;
	case TOK_SEMI:
		snprintf(buf, len, "';'");
		break;
	case TOK_COMMA:
		snprintf(buf, len, "','");
		break;
	case TOK_EOF:
		snprintf(buf, len, "end of file");
		break;
	default:
		snprintf(buf, len, "an invalid token");
		break;
	}
	return buf;
}
