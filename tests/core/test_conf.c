/* SPDX-License-Identifier: MIT */
/*
 * Tests of diag, lex and conf: the tokenizer, valid configs read from
 * buffers and from temporary files, and the example config
 * (tests/conf/golden.sh checks the diagnostics of tests/conf/bad-*.conf).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_rules.h"
#include "diag.h"
#include "lex.h"
#include "log.h"
#include "outbox.h"
#include "testutil.h"

/* Each test gets a fresh temporary directory as its state. */
struct fixture {
	char dir[PATH_MAX];
	struct diag_list diags;
	struct conf *conf;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tu_tmpdir(f->dir, sizeof(f->dir), "conf") < 0) {
		free(f);
		return -1;
	}
	diag_init(&f->diags);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = tu_rm_rf(f->dir);

	conf_free(f->conf);
	diag_clear(&f->diags);
	free(f);
	return r;
}

/* Writes dir/name (making one level of subdirectory if needed). */
static void write_file(const char *dir, const char *name, const char *text,
		       mode_t mode)
{
	char path[PATH_MAX], sub[PATH_MAX];
	const char *slash = strrchr(name, '/');

	if (slash) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - name),
			 name);
		mkdir(sub, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(tu_write_file(path, text, mode), 0);
}

static char *join(const char *dir, const char *name)
{
	char *s;

	assert_true(asprintf(&s, "%s/%s", dir, name) > 0);
	return s;
}

/* Everything diag_print would print, as one string (caller frees). */
static char *diags_text(const struct diag_list *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	diag_print(l, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void assert_diags(const struct diag_list *l, const char *want)
{
	char *got = diags_text(l);

	if (strcmp(got, want) != 0)
		print_error("diagnostics:\n%s\nwanted:\n%s\n", got, want);
	assert_string_equal(got, want);
	free(got);
}

/* Loads text written as dir/zwgate.conf, by its absolute path. */
static int load_text(struct fixture *f, const char *text)
{
	char *path = join(f->dir, "zwgate.conf");
	int r;

	write_file(f->dir, "zwgate.conf", text, 0644);
	r = conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf);
	free(path);
	return r;
}

/* ---- diag ---- */

static void test_diag_format(void **state)
{
	struct diag_list l;
	char buf[64];

	diag_init(&l);
	diag_add(&l, "a.conf", 3, 7, false, "bad %s", "thing");
	diag_add(&l, "a.conf", 0, 0, false, "no such file");
	diag_add(&l, "b.conf", 1, 2, true, "careful");
	diag_add(&l, NULL, 0, 0, false, "no file at all");
	assert_int_equal(l.n, 4);
	assert_int_equal(l.errors, 3);
	assert_int_equal(l.warnings, 1);
	assert_string_equal(diag_format(&l.items[0], buf, sizeof(buf)),
			    "a.conf:3:7: bad thing");
	assert_string_equal(diag_format(&l.items[1], buf, sizeof(buf)),
			    "a.conf: no such file");
	assert_string_equal(diag_format(&l.items[2], buf, sizeof(buf)),
			    "b.conf:1:2: warning: careful");
	assert_string_equal(diag_format(&l.items[3], buf, sizeof(buf)),
			    "no file at all");
	assert_string_equal(diag_format(&l.items[0], buf, 10), "a.conf:3:");
	assert_diags(&l, "a.conf:3:7: bad thing\n"
			 "a.conf: no such file\n"
			 "b.conf:1:2: warning: careful\n"
			 "no file at all\n");
	diag_clear(&l);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.errors, 0);
	assert_null(l.items);
}

static void test_diag_limit(void **state)
{
	struct diag_list l;

	diag_init(&l);
	for (int i = 0; i < DIAG_MAX + 5; i++)
		diag_add(&l, "f", (unsigned)i + 1, 1, i % 2, "n %d", i);
	assert_int_equal(l.n, DIAG_MAX);
	assert_int_equal(l.errors + l.warnings, DIAG_MAX + 5);
	assert_int_equal(l.warnings, (DIAG_MAX + 5) / 2);
	assert_string_equal(l.items[DIAG_MAX - 1].msg, "n 99");
	diag_clear(&l);
}

/* ---- lex ---- */

static void expect_tok(struct lexer *lx, enum tok_type type, const char *text,
		       unsigned line, unsigned col, bool nl)
{
	const struct token *t = lex_next(lx);

	assert_int_equal(t->type, type);
	if (text) {
		assert_string_equal(t->text, text);
		assert_int_equal(t->len, strlen(text));
	}
	assert_int_equal(t->line, line);
	assert_int_equal(t->col, col);
	assert_int_equal(t->nl_before, nl);
}

static void test_lex_tokens(void **state)
{
	static const char src[] = "key value # comment { \"\n"
				  "blk {a;b,c}\t\"s \\\"q\\\" \\\\ \\n\\t\"\r\n"
				  "  \"caf\xc3\xa9\" x\xc3\xa9y z";
	struct diag_list l;
	struct lexer *lx;

	diag_init(&l);
	lx = lex_new("t.conf", src, sizeof(src) - 1, &l);
	assert_non_null(lx);
	assert_string_equal(lex_file(lx), "t.conf");
	expect_tok(lx, TOK_WORD, "key", 1, 1, true);
	expect_tok(lx, TOK_WORD, "value", 1, 5, false);
	expect_tok(lx, TOK_WORD, "blk", 2, 1, true);
	expect_tok(lx, TOK_LBRACE, NULL, 2, 5, false);
	expect_tok(lx, TOK_WORD, "a", 2, 6, false);
	expect_tok(lx, TOK_SEMI, NULL, 2, 7, false);
	expect_tok(lx, TOK_WORD, "b", 2, 8, false);
	expect_tok(lx, TOK_COMMA, NULL, 2, 9, false);
	expect_tok(lx, TOK_WORD, "c", 2, 10, false);
	expect_tok(lx, TOK_RBRACE, NULL, 2, 11, false);
	expect_tok(lx, TOK_STRING, "s \"q\" \\ \n\t", 2, 13, false);
	expect_tok(lx, TOK_STRING, "caf\xc3\xa9", 3, 3, true);
	/* Columns count characters: the é of "café" is one. */
	expect_tok(lx, TOK_WORD, "x\xc3\xa9y", 3, 10, false);
	expect_tok(lx, TOK_WORD, "z", 3, 14, false);
	expect_tok(lx, TOK_EOF, NULL, 3, 15, false);
	expect_tok(lx, TOK_EOF, NULL, 3, 15, false);
	assert_int_equal(l.errors, 0);
	lex_free(lx);
	diag_clear(&l);
}

static void test_lex_lookahead(void **state)
{
	static const char src[] = "one two three\nfour";
	const struct token *a, *b, *p;
	struct diag_list l;
	struct lexer *lx;

	diag_init(&l);
	lx = lex_new("t", src, sizeof(src) - 1, &l);
	a = lex_next(lx);
	p = lex_peek(lx);
	assert_ptr_equal(lex_peek(lx), p);
	assert_string_equal(p->text, "two");
	b = lex_next(lx);
	assert_ptr_equal(b, p);
	/* a stays valid through the next lex_next and a peek after it. */
	p = lex_peek(lx);
	assert_string_equal(a->text, "one");
	assert_string_equal(b->text, "two");
	assert_string_equal(p->text, "three");
	assert_false(p->nl_before);
	lex_next(lx);
	p = lex_peek(lx);
	assert_string_equal(p->text, "four");
	assert_true(p->nl_before);
	assert_null(lex_free(lx));
	assert_null(lex_free(NULL));
	diag_clear(&l);
}

static void test_lex_describe(void **state)
{
	static const char src[] =
	    "word \"a \\\"b\\\"\\n\" { } ; , "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "
	    "ccccccccccccccccccccccccccccccc\xc3\xa9 "
	    "\"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\"";
	/* At most 32 bytes of a token, never a line, never half a UTF-8
	 * character. */
	const char *want[] = {
		"'word'",
		"string \"a \\\"b\\\"\\n\"",
		"'{'",
		"'}'",
		"';'",
		"','",
		"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'",
		"'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'",
		"'ccccccccccccccccccccccccccccccc...'",
		"string \"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\"",
		"end of file",
	};
	struct diag_list l;
	struct lexer *lx;
	char buf[128];

	diag_init(&l);
	lx = lex_new("t", src, sizeof(src) - 1, &l);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(
		    lex_tok_describe(lex_next(lx), buf, sizeof(buf)), want[i]);
	assert_string_equal(lex_tok_describe(lex_next(lx), buf, 4), "end");
	lex_free(lx);
	diag_clear(&l);
}

/* Each bad token is one TOK_ERROR and one diagnostic; lexing goes on. */
static void test_lex_errors(void **state)
{
	static const struct {
		const char *src;
		size_t len;
		const char *diag;
	} cases[] = {
		{ "\"ab\\q\" ok", 9, "t:1:4: bad escape '\\q' in string\n" },
		{ "\"open\nok", 8, "t:1:1: unterminated string\n" },
		{ "\"a\001\" ok", 7,
		  "t:1:3: invalid character 0x01 in string\n" },
		{ "a\002b ok", 6, "t:1:2: invalid character 0x02\n" },
		{ "a\0b ok", 6, "t:1:2: NUL byte in file\n" },
		{ "\"\xc3\x28\" ok", 7, "t:1:2: invalid UTF-8 in string\n" },
		{ "\xf5\x80\x80\x80 ok", 7, "t:1:1: invalid UTF-8 in word\n" },
		{ "\xe0\x80\x80 ok", 6, "t:1:1: invalid UTF-8 in word\n" },
	};
	const struct token *t;
	struct diag_list l;
	struct lexer *lx;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		diag_init(&l);
		lx = lex_new("t", cases[i].src, cases[i].len, &l);
		assert_int_equal(lex_next(lx)->type, TOK_ERROR);
		t = lex_next(lx);
		assert_int_equal(t->type, TOK_WORD);
		assert_string_equal(t->text, "ok");
		assert_int_equal(lex_next(lx)->type, TOK_EOF);
		assert_diags(&l, cases[i].diag);
		lex_free(lx);
		diag_clear(&l);
	}
}

static void test_lex_too_long(void **state)
{
	char src[LEX_TOKEN_MAX + 8];
	const struct token *t;
	struct diag_list l;
	struct lexer *lx;

	/* Exactly the limit is fine; one more byte is not. */
	memset(src, 'w', sizeof(src));
	src[LEX_TOKEN_MAX] = ' ';
	diag_init(&l);
	lx = lex_new("t", src, LEX_TOKEN_MAX + 1, &l);
	t = lex_next(lx);
	assert_int_equal(t->type, TOK_WORD);
	assert_int_equal(t->len, LEX_TOKEN_MAX);
	lex_free(lx);
	lx = lex_new("t", src, LEX_TOKEN_MAX + 3, &l);
	assert_int_equal(lex_next(lx)->type, TOK_WORD);
	assert_int_equal(lex_next(lx)->type, TOK_WORD);
	lex_free(lx);
	src[LEX_TOKEN_MAX] = 'w';
	lx = lex_new("t", src, LEX_TOKEN_MAX + 1, &l);
	assert_int_equal(lex_next(lx)->type, TOK_ERROR);
	assert_int_equal(lex_next(lx)->type, TOK_EOF);
	assert_diags(&l, "t:1:1: word too long (limit 1024 bytes)\n");
	lex_free(lx);
	diag_clear(&l);
}

/* ---- conf: the caller's statements ---- */

/* "widget WORD": a language of the caller's, as the rules engine's. */
static unsigned widget_parsed, widget_validated, widget_freed;

static int widget_parse(struct conf *c, struct lexer *lx,
			const struct token *kw, const char *dir,
			struct diag_list *diags)
{
	const struct token *t = lex_next(lx);

	(void)c;
	(void)dir;
	if (t->type != TOK_WORD)
		diag_add(diags, lex_file(lx), t->line, t->col, false,
			 "%s wants a word", kw->text);
	else
		widget_parsed++;
	return 0;
}

static int widget_validate(const struct conf *c, struct diag_list *diags)
{
	(void)c;
	(void)diags;
	widget_validated++;
	return 0;
}

static void widget_free(struct conf *c)
{
	(void)c;
	widget_freed++;
}

static const char *const widget_keywords[] = { "widget", NULL };
static const struct conf_statements widget_statements = {
	.keywords = widget_keywords,
	.parse = widget_parse,
	.validate = widget_validate,
	.free = widget_free,
};

/*
 * conf reads another module's statements only when its caller gives
 * them: with them, each goes to its parser, is validated once and freed
 * with the config; without them, they are unknown keys, and so are the
 * rules engine's.
 */
static void test_caller_statements(void **state)
{
	struct fixture *f = *state;
	const struct conf_load_opts opts = { .statements = &widget_statements };
	char *net = join(f->dir, "net.json"), *text, *got;

	write_file(f->dir, "net.json", "{}\n", 0644);
	assert_true(asprintf(&text,
			     "gateway-id gw1\nzwave { sim-network %s }\n"
			     "widget a\nwidget b\n",
			     net) > 0);
	widget_parsed = widget_validated = widget_freed = 0;
	assert_int_equal(conf_load_buffer("w.conf", text, strlen(text), &opts,
					  &f->diags, &f->conf),
			 0);
	assert_int_equal(widget_parsed, 2);
	assert_int_equal(widget_validated, 1);
	assert_int_equal(widget_freed, 0);
	f->conf = conf_free(f->conf);
	assert_int_equal(widget_freed, 1);
	assert_int_equal(f->diags.n, 0);

	assert_int_equal(conf_load_buffer("w.conf", text, strlen(text), NULL,
					  &f->diags, &f->conf),
			 -EINVAL);
	assert_int_equal(widget_parsed, 2);
	assert_int_equal(f->diags.errors, 2);
	got = diags_text(&f->diags);
	assert_non_null(strstr(got, "w.conf:3:1: unknown key 'widget'"));
	free(got);
	free(text);
	diag_clear(&f->diags);
	diag_init(&f->diags);

	/* A near miss of a caller's keyword is suggested. */
	assert_true(asprintf(&text,
			     "gateway-id gw1\nzwave { sim-network %s }\n"
			     "widgte a\n",
			     net) > 0);
	assert_int_equal(conf_load_buffer("w.conf", text, strlen(text), &opts,
					  &f->diags, &f->conf),
			 -EINVAL);
	assert_diags(&f->diags, "w.conf:3:1: unknown key 'widgte'; "
				"did you mean 'widget'?\n");
	diag_clear(&f->diags);
	diag_init(&f->diags);

	/* Rules are the rules engine's: not read without its statements. */
	free(text);
	assert_true(asprintf(&text,
			     "gateway-id gw1\nzwave { sim-network %s }\n"
			     "scene s { }\n",
			     net) > 0);
	assert_int_equal(conf_load_buffer("w.conf", text, strlen(text), NULL,
					  &f->diags, &f->conf),
			 -EINVAL);
	assert_null(f->conf);
	free(text);
	free(net);
}

/* ---- conf: valid configs ---- */

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	char *net = join(f->dir, "net.json"), *text, cwd[PATH_MAX], *path;
	const struct conf *c;

	write_file(f->dir, "net.json", "{}\n", 0644);
	assert_true(asprintf(&text, "gateway-id gw1\nzwave { sim-network %s }",
			     net) > 0);
	assert_int_equal(conf_load_buffer("mem.conf", text, strlen(text),
					  &conf_rules_load_opts, &f->diags,
					  &f->conf),
			 0);
	c = f->conf;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	path = join(cwd, "mem.conf");
	assert_string_equal(c->path, path);
	assert_string_equal(c->gateway_id, "gw1");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_string_equal(c->zwave.backend, "sim");
	assert_string_equal(c->zwave.sim_network, net);
	assert_string_equal(c->zwave.device, "/dev/ttyACM0");
	assert_null(c->zwave.network_key_file);
	assert_false(c->location.set);
	assert_null(c->location.timezone);
	assert_int_equal(c->control.max_clients, 16);
	assert_int_equal(c->control.idle_timeout_s, 300);
	assert_string_equal(c->control.group, "zwgate");
	/* A buffer is not a file. */
	assert_non_null(c->files);
	assert_null(c->files[0]);
	assert_int_equal(f->diags.n, 0);
	free(path);
	free(net);
	free(text);
}

static void test_every_key(void **state)
{
	struct fixture *f = *state;
	const struct conf *c;
	char *path = join(f->dir, "zwgate.conf");
	char *key = join(f->dir, "secrets/network.key");
	char *net = join(f->dir, "sim/net.json");

	write_file(f->dir, "secrets/network.key",
		   "00112233445566778899aabbccddeeff\n", 0600);
	assert_int_equal(
	    load_text(f, "# every key\n"
			 "gateway-id \"home-42_x\"; log-level DEBUG\n"
			 "zwave {\n"
			 "\tbackend openzwave\n"
			 "\tsim-network \"sim/net.json\"\n"
			 "\tdevice /dev/null\n"
			 "\tnetwork-key-file \"secrets/network.key\"\n"
			 "}\n"
			 "location { latitude -33.8688; longitude 151.2093;"
			 " timezone \"Australia/Sydney\" }\n"
			 "control\n{\n max-clients 64  idle-timeout 86400 "
			 " group \"zw.gate_1\"\n}\n"),
	    0);
	c = f->conf;
	assert_string_equal(c->path, path);
	assert_string_equal(c->gateway_id, "home-42_x");
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_string_equal(c->zwave.backend, "openzwave");
	assert_string_equal(c->zwave.sim_network, net);
	assert_string_equal(c->zwave.device, "/dev/null");
	assert_string_equal(c->zwave.network_key_file, key);
	assert_true(c->location.set);
	assert_true(fabs(c->location.latitude + 33.8688) < 1e-12);
	assert_true(fabs(c->location.longitude - 151.2093) < 1e-12);
	assert_string_equal(c->location.timezone, "Australia/Sydney");
	assert_int_equal(c->control.max_clients, 64);
	assert_int_equal(c->control.idle_timeout_s, 86400);
	assert_string_equal(c->control.group, "zw.gate_1");
	assert_string_equal(c->files[0], path);
	assert_null(c->files[1]);
	assert_int_equal(f->diags.n, 0);
	free(path);
	free(key);
	free(net);
}

/* Boundaries of every range are accepted; log levels by any case. */
static void test_limits_accepted(void **state)
{
	struct fixture *f = *state;

	write_file(f->dir, "net.json", "{}", 0644);
	assert_int_equal(load_text(f, "gateway-id " /* 64 characters */
				      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
				      "log-level Warning\n"
				      "zwave { sim-network net.json }\n"
				      "location { latitude -90 longitude +180 "
				      "timezone UTC }\n"
				      "control { max-clients 1 idle-timeout 1 "
				      "group \"_g\" }\n"),
			 0);
	assert_int_equal(strlen(f->conf->gateway_id), CONF_GATEWAY_ID_MAX);
	assert_int_equal(f->conf->log_level, LOG_WARNING);
	assert_true(f->conf->location.latitude == -90);
	assert_true(f->conf->location.longitude == 180);
	assert_int_equal(f->conf->control.max_clients, 1);
	assert_int_equal(f->conf->control.idle_timeout_s, 1);
}

static void test_include_glob(void **state)
{
	struct fixture *f = *state;
	const char *want[] = { "zwgate.conf", "conf.d/10-a.conf",
			       "conf.d/15-z.conf", "conf.d/20-b.conf",
			       "conf.d/more/m.conf" };
	char *net = join(f->dir, "conf.d/net.json");
	size_t i;

	write_file(f->dir, "conf.d/20-b.conf",
		   "location { latitude 1 longitude 2 }\n"
		   "include \"more/*.conf\"\n",
		   0644);
	write_file(f->dir, "conf.d/10-a.conf", "gateway-id from-a\n", 0644);
	write_file(f->dir, "conf.d/15-z.conf",
		   "zwave { sim-network \"net.json\" }\n", 0600);
	write_file(f->dir, "conf.d/net.json", "{}", 0644);
	write_file(f->dir, "conf.d/ignored.txt", "garbage\n", 0644);
	write_file(f->dir, "conf.d/more/m.conf", "log-level warning\n", 0644);
	assert_int_equal(load_text(f, "include \"conf.d/*.conf\"\n"
				      "include \"nothing/*.conf\"\n"
				      "control { group g }\n"),
			 0);
	assert_string_equal(f->conf->gateway_id, "from-a");
	/* Relative to the file it is in, not to the main file. */
	assert_string_equal(f->conf->zwave.sim_network, net);
	assert_true(f->conf->location.set);
	assert_int_equal(f->conf->log_level, LOG_WARNING);
	assert_string_equal(f->conf->control.group, "g");
	for (i = 0; f->conf->files[i]; i++) {
		char *p = join(f->dir, want[i]);

		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_string_equal(f->conf->files[i], p);
		free(p);
	}
	assert_int_equal(i, sizeof(want) / sizeof(want[0]));
	free(net);
}

/* Diagnostics name included files as the including file was named. */
/* A private key as an include pattern may meet it (made for the test). */
#define PEM_BODY \
	"MC4CAQAwBQYDK2VwBCIEIHnLwG3uNCzQzQ7xUQ2sD3Ad2gGbO6wpfVSbQ0MpMuSL"
#define PEM_KEY                                                        \
	"-----BEGIN PRIVATE KEY-----\n" PEM_BODY "\n-----END PRIVATE " \
	"KEY-----\n"

/* Loads dir/etc/zwgate.conf: a good config and then text. */
static int load_etc(struct fixture *f, const char *text)
{
	char *path = join(f->dir, "etc/zwgate.conf"), *conf;
	int r;

	diag_clear(&f->diags);
	conf_free(f->conf);
	f->conf = NULL;
	assert_true(asprintf(&conf,
			     "gateway-id gw1\nzwave { sim-network net.json }\n"
			     "%s\n",
			     text) > 0);
	write_file(f->dir, "etc/zwgate.conf", conf, 0644);
	r = conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf);
	free(conf);
	free(path);
	return r;
}

static void assert_said(const struct diag_list *l, const char *needle,
			bool want)
{
	char *got = diags_text(l);

	if ((strstr(got, needle) != NULL) != want)
		print_error("diagnostics:\n%s\n%s: \"%s\"\n", got,
			    want ? "wanted" : "must not say", needle);
	assert_true((strstr(got, needle) != NULL) == want);
	free(got);
}

/*
 * A relative include stays in the config's directory tree, and a match
 * of a wildcard in the pattern's directory: a symbolic link or ".." out
 * of them is refused with a clear error, an absolute path is the config
 * saying where to go, and a matched file that is no config at all (a
 * key) is refused without quoting a byte of it.
 */
static void test_include_outside(void **state)
{
	struct fixture *f = *state;
	char *out = join(f->dir, "outside");
	char *link_out = join(f->dir, "etc/out.d/link.conf");
	char *link_in = join(f->dir, "etc/in.d/link.conf"), *text;

	write_file(f->dir, "outside/extra.conf", "log-level debug\n", 0644);
	write_file(f->dir, "outside/secret.key", PEM_KEY, 0600);
	write_file(f->dir, "etc/net.json", "{}\n", 0644);
	write_file(f->dir, "etc/more/in.conf", "log-level debug\n", 0644);
	write_file(f->dir, "etc/keys.d/client.conf", PEM_KEY, 0600);
	write_file(f->dir, "etc/out.d/.keep", "", 0644);
	write_file(f->dir, "etc/in.d/.keep", "", 0644);
	write_file(f->dir, "etc/in.d/sub/in.conf", "log-level debug\n", 0644);
	assert_int_equal(symlink("../../outside/extra.conf", link_out), 0);
	assert_int_equal(symlink("../more/in.conf", link_in), 0);

	assert_int_equal(load_etc(f, ""), 0);
	assert_int_equal(f->conf->log_level, LOG_INFO);

	assert_int_equal(load_etc(f, "include \"out.d/*.conf\""), -EINVAL);
	assert_said(&f->diags,
		    "/etc/out.d/link.conf' is outside the "
		    "configuration directory (by a symbolic link or '..'); "
		    "not read: include a file from elsewhere by its absolute "
		    "path\n",
		    true);
	assert_int_equal(load_etc(f, "include \"../outside/extra.conf\""),
			 -EINVAL);
	assert_said(&f->diags, "/etc/../outside/extra.conf' is outside", true);

	/* A relative pattern's link that stays in the tree, even out of the
	 * pattern's directory (rules.d/x.rules -> ../shared.rules), one
	 * that stays in that directory, and an absolute path without a
	 * wildcard: read. */
	assert_int_equal(load_etc(f, "include \"in.d/*.conf\""), 0);
	assert_int_equal(f->conf->log_level, LOG_DEBUG);
	unlink(link_in);
	assert_int_equal(symlink("sub/in.conf", link_in), 0);
	assert_int_equal(load_etc(f, "include \"in.d/*.conf\""), 0);
	assert_int_equal(f->conf->log_level, LOG_DEBUG);
	assert_true(asprintf(&text, "include \"%s/extra.conf\"", out) > 0);
	assert_int_equal(load_etc(f, text), 0);
	assert_int_equal(f->conf->log_level, LOG_DEBUG);
	free(text);

	/* The key, by an in-tree pattern or by a link out of the tree. */
	assert_int_equal(load_etc(f, "include \"keys.d/*\""), -EINVAL);
	assert_said(&f->diags,
		    "/etc/keys.d/client.conf:1:1: does not look like a zwgate "
		    "configuration file (it does not start with a key); not "
		    "read\n",
		    true);
	assert_said(&f->diags, "MC4CAQ", false);
	assert_said(&f->diags, "BEGIN", false);
	unlink(link_out);
	assert_int_equal(symlink("../../outside/secret.key", link_out), 0);
	assert_int_equal(load_etc(f, "include \"out.d/*.conf\""), -EINVAL);
	assert_said(&f->diags, "/etc/out.d/link.conf' is outside", true);
	assert_said(&f->diags, "MC4CAQ", false);
	free(out);
	free(link_out);
	free(link_in);
}

/*
 * The file opened for an include must be the one checked: not another
 * inode, and (where /proc tells) not the same inode reached by another
 * path, as when a directory of the path was swapped in between.
 */
static void test_include_fd_is(void **state)
{
	struct fixture *f = *state;
	char *a = join(f->dir, "fd/a.conf"), *b = join(f->dir, "fd/b.conf");
	char *hard = join(f->dir, "fd/hard.conf");
	struct stat st, want;
	int fd;

	write_file(f->dir, "fd/a.conf", "log-level debug\n", 0644);
	write_file(f->dir, "fd/b.conf", "log-level debug\n", 0644);
	assert_int_equal(link(a, hard), 0);
	fd = open(a, O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(lstat(a, &want), 0);
	assert_true(conf_fd_is(fd, &st, a, &want));
	assert_int_equal(lstat(b, &want), 0);
	assert_false(conf_fd_is(fd, &st, b, &want));
	assert_int_equal(lstat(hard, &want), 0);
	if (access("/proc/self/fd", F_OK) == 0)
		assert_false(conf_fd_is(fd, &st, hard, &want));
	close(fd);
	free(a);
	free(b);
	free(hard);
}

static void test_include_names(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf"), *want;
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	assert_true(cwd >= 0);
	write_file(f->dir, "zwgate.conf", "include \"conf.d/*.conf\"\n", 0644);
	write_file(f->dir, "conf.d/a.conf", "\n  log-level info\n  bogus 1\n",
		   0644);
	assert_int_equal(
	    conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf),
	    -EINVAL);
	assert_true(asprintf(&want,
			     "%s/conf.d/a.conf:3:3: unknown key 'bogus'\n"
			     "%s: missing required key 'gateway-id'\n"
			     "%s: missing required key 'sim-network' in zwave "
			     "block (backend sim is the default)\n",
			     f->dir, path, path) > 0);
	assert_diags(&f->diags, want);
	diag_clear(&f->diags);
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(conf_load("./zwgate.conf", &conf_rules_load_opts,
				   &f->diags, &f->conf),
			 -EINVAL);
	assert_int_equal(fchdir(cwd), 0);
	assert_diags(&f->diags,
		     "./conf.d/a.conf:3:3: unknown key 'bogus'\n"
		     "./zwgate.conf: missing required key 'gateway-id'\n"
		     "./zwgate.conf: missing required key 'sim-network' in "
		     "zwave block (backend sim is the default)\n");
	assert_null(f->conf);
	close(cwd);
	free(path);
	free(want);
}

/* An absolute pattern; a directory whose name is itself a glob. */
static void test_include_absolute(void **state)
{
	struct fixture *f = *state;
	char *dir = join(f->dir, "we[ir]d*"), *main, *text, *net;

	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(dir, "inc/a.conf", "gateway-id a\n", 0644);
	write_file(dir, "net.json", "{}", 0644);
	write_file(f->dir, "abs/b.conf", "log-level error\n", 0644);
	assert_true(asprintf(&text,
			     "include inc/*.conf\ninclude \"%s/abs/*.conf\"\n"
			     "zwave { sim-network net.json }\n",
			     f->dir) > 0);
	write_file(dir, "zwgate.conf", text, 0644);
	main = join(dir, "zwgate.conf");
	net = join(dir, "net.json");
	assert_int_equal(
	    conf_load(main, &conf_rules_load_opts, &f->diags, &f->conf), 0);
	assert_string_equal(f->conf->gateway_id, "a");
	assert_int_equal(f->conf->log_level, LOG_ERR);
	assert_string_equal(f->conf->zwave.sim_network, net);
	assert_non_null(f->conf->files[2]);
	assert_null(f->conf->files[3]);
	free(dir);
	free(main);
	free(text);
	free(net);
}

/* Loaded by a relative name: conf->path is still absolute. */
static void test_relative_name(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf");
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	int r;

	assert_true(cwd >= 0);
	write_file(f->dir, "net.json", "{}", 0644);
	write_file(f->dir, "zwgate.conf",
		   "gateway-id x zwave { sim-network net.json }", 0644);
	assert_int_equal(chdir(f->dir), 0);
	r = conf_load(".//zwgate.conf", &conf_rules_load_opts, &f->diags,
		      &f->conf);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_int_equal(r, 0);
	assert_string_equal(f->conf->path, path);
	assert_string_equal(f->conf->files[0], path);
	free(path);
}

/* The same key where the first use lacked its value: one error only. */
static void test_missing_then_given(void **state)
{
	struct fixture *f = *state;

	write_file(f->dir, "net.json", "{}", 0644);
	assert_int_equal(load_text(f, "gateway-id\ngateway-id ok\n"
				      "zwave { sim-network net.json }\n"),
			 -EINVAL);
	assert_int_equal(f->diags.errors, 1);
	assert_string_equal(f->diags.items[0].msg,
			    "missing value for 'gateway-id'");
}

static void test_warning_only(void **state)
{
	struct fixture *f = *state;
	char *want;

	assert_int_equal(load_text(f, "gateway-id w\nzwave {\n"
				      "\tbackend openzwave\n"
				      "\tdevice \"/nonexistent/ttyACM9\"\n}\n"),
			 0);
	assert_non_null(f->conf);
	assert_int_equal(f->diags.errors, 0);
	assert_int_equal(f->diags.warnings, 1);
	assert_true(asprintf(&want,
			     "%s/zwgate.conf:4:2: warning: device "
			     "'/nonexistent/ttyACM9' does not exist (not "
			     "plugged in?)\n",
			     f->dir) > 0);
	assert_diags(&f->diags, want);
	free(want);
	/* The default device, if this machine has none. */
	f->conf = conf_free(f->conf);
	diag_clear(&f->diags);
	assert_int_equal(load_text(f, "gateway-id w\n"
				      "zwave { backend openzwave }\n"),
			 0);
	if (access("/dev/ttyACM0", F_OK) == 0 || errno != ENOENT) {
		assert_int_equal(f->diags.warnings, 0);
		return;
	}
	assert_true(asprintf(&want,
			     "%s/zwgate.conf: warning: device '/dev/ttyACM0' "
			     "does not exist (not plugged in?)\n",
			     f->dir) > 0);
	assert_diags(&f->diags, want);
	free(want);
}

/* Errors already in the list are not this load's. */
static void test_prior_diags(void **state)
{
	struct fixture *f = *state;

	diag_add(&f->diags, "other", 1, 1, false, "an older error");
	write_file(f->dir, "net.json", "{}", 0644);
	assert_int_equal(load_text(f, "gateway-id x\n"
				      "zwave { sim-network net.json }\n"),
			 0);
	assert_int_equal(f->diags.errors, 1);
}

static void test_timezone_tzdir(void **state)
{
	struct fixture *f = *state;
	char *tzdir = join(f->dir, "zones");
	const char *old = getenv("TZDIR");
	char *saved = old ? strdup(old) : NULL;

	write_file(f->dir, "net.json", "{}", 0644);
	assert_int_equal(mkdir(tzdir, 0755), 0);
	write_file(tzdir, "Test/Zone", "TZif2 and more", 0644);
	write_file(tzdir, "Test/Fake", "not a zone", 0644);
	setenv("TZDIR", tzdir, 1);
	assert_int_equal(load_text(f, "gateway-id x\n"
				      "zwave { sim-network net.json }\n"
				      "location { latitude 0 longitude 0 "
				      "timezone Test/Zone }\n"),
			 0);
	assert_string_equal(f->conf->location.timezone, "Test/Zone");
	f->conf = conf_free(f->conf);
	assert_int_equal(load_text(f, "gateway-id x\n"
				      "zwave { sim-network net.json }\n"
				      "location { latitude 0 longitude 0 "
				      "timezone Test/Fake }\n"),
			 -EINVAL);
	assert_string_equal(f->diags.items[0].msg,
			    "unknown timezone 'Test/Fake'");
	if (saved)
		setenv("TZDIR", saved, 1);
	else
		unsetenv("TZDIR");
	free(saved);
	free(tzdir);
}

/* ---- conf: the cloud block ---- */

/* For another load in the same test. */
static void reset(struct fixture *f)
{
	f->conf = conf_free(f->conf);
	diag_clear(&f->diags);
}

/*
 * Writes the stand-in TLS files (conf checks only that they exist and
 * their modes) and loads a config whose cloud block holds body.
 */
static int load_cloud(struct fixture *f, const char *body)
{
	char *text;
	int r;

	reset(f);
	write_file(f->dir, "net.json", "{}", 0644);
	write_file(f->dir, "tls/ca.crt", "ca\n", 0644);
	write_file(f->dir, "tls/client.crt", "cert\n", 0644);
	write_file(f->dir, "tls/client.keyfile", "key\n", 0600);
	assert_true(asprintf(&text,
			     "gateway-id gw\nzwave { sim-network net.json }\n"
			     "cloud {\n%s\n}\n",
			     body) > 0);
	r = load_text(f, text);
	free(text);
	return r;
}

/* The load failed with exactly one error, msg (or loaded: msg NULL). */
static void assert_cloud(struct fixture *f, const char *body, const char *msg)
{
	int r = load_cloud(f, body);

	if (!msg) {
		if (r != 0)
			diag_print(&f->diags, stderr);
		assert_int_equal(r, 0);
		assert_int_equal(f->diags.errors, 0);
		return;
	}
	if (r != -EINVAL || f->diags.errors != 1 ||
	    strcmp(f->diags.items[0].msg, msg) != 0) {
		print_error("cloud { %s }: wanted \"%s\"\n", body, msg);
		diag_print(&f->diags, stderr);
	}
	assert_int_equal(r, -EINVAL);
	assert_int_equal(f->diags.errors, 1);
	assert_string_equal(f->diags.items[0].msg, msg);
}

static void test_cloud_absent(void **state)
{
	struct fixture *f = *state;

	write_file(f->dir, "net.json", "{}", 0644);
	assert_int_equal(load_text(f, "gateway-id x\n"
				      "zwave { sim-network net.json }\n"),
			 0);
	assert_false(f->conf->cloud.set);
	assert_null(f->conf->cloud.hosts);
}

static void test_cloud_defaults(void **state)
{
	struct fixture *f = *state;
	const struct conf_cloud *cl;
	char *ca = join(f->dir, "tls/ca.crt");

	assert_cloud(f, "host mqtt.example.net\nca-file tls/ca.crt", NULL);
	cl = &f->conf->cloud;
	assert_true(cl->set);
	assert_string_equal(cl->hosts[0], "mqtt.example.net");
	assert_null(cl->hosts[1]);
	assert_null(cl->connect_to);
	assert_int_equal(cl->port, 8883);
	assert_int_equal(cl->protocol, 4);
	assert_string_equal(cl->ca_file, ca);
	assert_null(cl->client_cert);
	assert_null(cl->client_key);
	assert_string_equal(cl->topic_prefix, "zwgate");
	assert_int_equal(cl->keepalive_s, 60);
	assert_true(cl->discovery);
	assert_string_equal(cl->discovery_prefix, "homeassistant");
	assert_true(cl->outbox_max_bytes == OUTBOX_DEFAULT_MAX_BYTES);
	assert_true(cl->outbox_max_bytes == 16 * 1024 * 1024);
	assert_int_equal(cl->outbox_sync_ms, 1000);
	assert_false(cl->insecure_plaintext);
	assert_int_equal(f->diags.n, 0);
	free(ca);
}

/*
 * Neither ca-file nor trust-bundle: the factory bundle the package ships
 * (which a build tree's prefix does not hold), named in the error.
 */
static void test_cloud_trust_default(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	if (access(ZWGATE_TRUST_DIR "/factory.bundle", R_OK) == 0)
		tu_skip("a factory bundle is installed in " ZWGATE_TRUST_DIR);
	snprintf(msg, sizeof(msg),
		 "cannot read the factory trust bundle '%s': no such file or "
		 "directory (set trust-bundle or ca-file in the cloud block)",
		 ZWGATE_TRUST_DIR "/factory.bundle");
	assert_cloud(f, "host mqtt.example.net", msg);
}

static void test_cloud_trust_bundle(void **state)
{
	struct fixture *f = *state;
	char *bundle = join(f->dir, "tls/ca.crt");
	char *synced = join(f->dir, "synced");

	assert_cloud(f,
		     "host mqtt.example.net\ntrust-bundle tls/ca.crt\n"
		     "clock-synchronized-file synced",
		     NULL);
	assert_string_equal(f->conf->cloud.trust_bundle, bundle);
	assert_string_equal(f->conf->cloud.clock_synced_file, synced);
	assert_null(f->conf->cloud.ca_file);
	free(bundle);
	free(synced);
}

/* Every key, in a file included from a subdirectory: paths follow it. */
static void test_cloud_every_key(void **state)
{
	struct fixture *f = *state;
	const struct conf_cloud *cl;
	char *ca = join(f->dir, "conf.d/tls/ca.crt");
	char *cert = join(f->dir, "conf.d/tls/client.crt");
	char *key = join(f->dir, "conf.d/tls/client.keyfile");

	write_file(f->dir, "net.json", "{}", 0644);
	write_file(f->dir, "conf.d/cloud.conf",
		   "cloud {\n"
		   "\thost \"broker-1.example.net\"\n"
		   "\tconnect-to \"2001:db8::7\"\n"
		   "\tport 1\n"
		   "\tprotocol 5\n"
		   "\tca-file \"tls/ca.crt\"\n"
		   "\tclient-cert tls/client.crt\n"
		   "\tclient-key \"tls/client.keyfile\"\n"
		   "\ttopic-prefix \"homes/eu-1/zw_gate\"\n"
		   "\tkeepalive 3600\n"
		   "\tdiscovery off\n"
		   "\tdiscovery-prefix ha\n"
		   "\toutbox-max-bytes 1024M\n"
		   "\toutbox-sync always\n"
		   "\tinsecure-plaintext no\n"
		   "}\n",
		   0644);
	/* After conf.d: write_file makes one level of directory. */
	write_file(f->dir, "conf.d/tls/ca.crt", "ca\n", 0644);
	write_file(f->dir, "conf.d/tls/client.crt", "cert\n", 0644);
	write_file(f->dir, "conf.d/tls/client.keyfile", "key\n", 0400);
	assert_int_equal(load_text(f, "gateway-id x\n"
				      "zwave { sim-network net.json }\n"
				      "include \"conf.d/*.conf\"\n"),
			 0);
	cl = &f->conf->cloud;
	assert_true(cl->set);
	assert_string_equal(cl->hosts[0], "broker-1.example.net");
	assert_string_equal(cl->connect_to[0], "2001:db8::7");
	assert_int_equal(cl->port, 1);
	assert_int_equal(cl->protocol, 5);
	assert_string_equal(cl->ca_file, ca);
	assert_string_equal(cl->client_cert, cert);
	assert_string_equal(cl->client_key, key);
	assert_string_equal(cl->topic_prefix, "homes/eu-1/zw_gate");
	assert_int_equal(cl->keepalive_s, 3600);
	assert_false(cl->discovery);
	assert_string_equal(cl->discovery_prefix, "ha");
	assert_true(cl->outbox_max_bytes == 1024ULL * 1024 * 1024);
	assert_int_equal(cl->outbox_sync_ms, 0);
	assert_false(cl->insecure_plaintext);
	assert_int_equal(f->diags.n, 0);
	free(ca);
	free(cert);
	free(key);
}

static void test_cloud_numbers(void **state)
{
	static const struct {
		const char *text;
		unsigned port, keepalive, sync;
	} ok[] = {
		{ "port 65535 keepalive 5 outbox-sync 10", 65535, 5, 10 },
		{ "port 1883 keepalive 60 outbox-sync 60000", 1883, 60, 60000 },
		{ "protocol 3.1.1 outbox-sync always", 8883, 60, 0 },
	};
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "port 0",
		  "port must be an integer between 1 and 65535, not '0'" },
		{ "port 443.0",
		  "port must be an integer between 1 and 65535, not '443.0'" },
		{ "keepalive 4",
		  "keepalive must be an integer between 5 and 3600, not '4'" },
		{ "protocol 4", "protocol must be 3.1.1 or 5, not '4'" },
		{ "protocol 5.0", "protocol must be 3.1.1 or 5, not '5.0'" },
		{ "outbox-sync 9", "outbox-sync must be an integer between 10 "
				   "and 60000 or always, not '9'" },
		{ "outbox-sync 60001", "outbox-sync must be an integer between "
				       "10 and 60000 or always, not '60001'" },
		{ "outbox-sync Always", "outbox-sync must be an integer "
					"between 10 and 60000 or always, "
					"not 'Always'" },
		{ "discovery maybe",
		  "discovery must be on, off, yes or no, not 'maybe'" },
	};
	struct fixture *f = *state;
	char body[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(body, sizeof(body), "host h ca-file tls/ca.crt %s",
			 ok[i].text);
		assert_cloud(f, body, NULL);
		assert_int_equal(f->conf->cloud.port, ok[i].port);
		assert_int_equal(f->conf->cloud.keepalive_s, ok[i].keepalive);
		assert_int_equal(f->conf->cloud.outbox_sync_ms, ok[i].sync);
		assert_int_equal(f->conf->cloud.protocol, 4);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "host h ca-file tls/ca.crt %s",
			 bad[i].text);
		assert_cloud(f, body, bad[i].msg);
	}
}

static void test_cloud_sizes(void **state)
{
	static const struct {
		const char *text;
		unsigned long long bytes;
	} ok[] = {
		{ "65536", 65536 },	    { "64k", 65536 },
		{ "64K", 65536 },	    { "16M", 16777216 },
		{ "100000", 100000 },	    { "1073741824", 1073741824 },
		{ "1048576k", 1073741824 },
	};
	static const char *const bad[] = {
		"65535",
		"63k",
		"1025M",
		"1073741825",
		"16m",
		"1.5M",
		"-1",
		"+16M",
		"M",
		"16MB",
		"1G",
		"18446744073709551616",
		"18014398509482048k",
	};
	struct fixture *f = *state;
	char body[256], msg[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(body, sizeof(body),
			 "host h ca-file tls/ca.crt outbox-max-bytes %s",
			 ok[i].text);
		assert_cloud(f, body, NULL);
		assert_true(f->conf->cloud.outbox_max_bytes == ok[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "host h ca-file tls/ca.crt outbox-max-bytes %s",
			 bad[i]);
		snprintf(msg, sizeof(msg),
			 "outbox-max-bytes must be a size between 64k and "
			 "1024M (bytes, or KiB with k, MiB with M), not '%s'",
			 bad[i]);
		assert_cloud(f, body, msg);
	}
}

static void test_cloud_hosts(void **state)
{
	static const char *const ok[] = {
		"localhost",	    "a",
		"mqtt.example.net", "MQTT-1.Example.NET",
		"10.0.0.1",	    "::1",
		"fe80::1:2",	    "xn--bcher-kva.example",
		"1a.example",	    "192.168.1.1a",
	};
	static const char *const bad[] = {
		"-a.example", "a-.example", "a..b",  "a.",
		".a",	      "999.1.1.1",  "1.2.3", "1.2.3.4.",
		"[::1]",      "mqtt_x",	    "a b",   "h\xc3\xa9.example",
		"::1::2",     "a:b",
	};
	struct fixture *f = *state;
	char body[512], msg[512], label[CONF_GATEWAY_ID_MAX + 1];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(body, sizeof(body), "host \"%s\" ca-file tls/ca.crt",
			 ok[i]);
		assert_cloud(f, body, NULL);
		assert_string_equal(f->conf->cloud.hosts[0], ok[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "host \"%s\" ca-file tls/ca.crt",
			 bad[i]);
		snprintf(msg, sizeof(msg),
			 "host must be a DNS name or an IP address, not '%s'",
			 bad[i]);
		assert_cloud(f, body, msg);
	}
	/* 253 bytes of 63-byte labels is the longest name; 64 is no label. */
	memset(label, 'a', sizeof(label));
	snprintf(body, sizeof(body),
		 "host %.63s.%.63s.%.63s.%.61s ca-file tls/ca.crt", label,
		 label, label, label);
	assert_cloud(f, body, NULL);
	assert_int_equal(strlen(f->conf->cloud.hosts[0]), 253);
	snprintf(body, sizeof(body),
		 "host %.63s.%.63s.%.63s.%.62s ca-file tls/ca.crt", label,
		 label, label, label);
	assert_int_equal(load_cloud(f, body), -EINVAL);
	snprintf(body, sizeof(body), "host %.64s.example ca-file tls/ca.crt",
		 label);
	assert_int_equal(load_cloud(f, body), -EINVAL);
	assert_string_equal(f->diags.items[0].msg + strlen("host must be"),
			    " a DNS name or an IP address, not "
			    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

/* Several brokers: one host line, and one connect-to for each. */
static void test_cloud_brokers(void **state)
{
	struct fixture *f = *state;
	const struct conf_cloud *cl;

	assert_cloud(f,
		     "host \"a.example\" b.example \"c.example\"\n"
		     "connect-to 127.0.0.1 \"::1\" 127.0.0.3 port 8884\n"
		     "ca-file tls/ca.crt",
		     NULL);
	cl = &f->conf->cloud;
	assert_string_equal(cl->hosts[0], "a.example");
	assert_string_equal(cl->hosts[1], "b.example");
	assert_string_equal(cl->hosts[2], "c.example");
	assert_null(cl->hosts[3]);
	assert_string_equal(cl->connect_to[1], "::1");
	assert_string_equal(cl->connect_to[2], "127.0.0.3");
	assert_null(cl->connect_to[3]);
	assert_int_equal(cl->port, 8884);
	/* Each is checked; a bad one is named. */
	assert_cloud(f, "host a.example \"b_x\" ca-file tls/ca.crt",
		     "host must be a DNS name or an IP address, not 'b_x'");
	assert_cloud(f, "host a b c d e f g h i ca-file tls/ca.crt",
		     "'host' takes at most 8 values");
	assert_cloud(f, "host a b\nconnect-to 127.0.0.1\nca-file tls/ca.crt",
		     "connect-to gives 1 address for 2 hosts: give one for "
		     "each host, in the same order");
	assert_cloud(f,
		     "host a\nconnect-to 127.0.0.1 127.0.0.2\n"
		     "ca-file tls/ca.crt",
		     "connect-to gives 2 addresses for 1 host: give one for "
		     "each host, in the same order");
	/* The list ends with its line: the next line's word is a key. */
	assert_cloud(f, "host a\nb.example\nca-file tls/ca.crt",
		     "unknown key 'b.example' in cloud block");
	/* Plaintext: every address dialled must be loopback. */
	assert_cloud(f,
		     "host localhost 127.0.0.2 10.0.0.1\n"
		     "insecure-plaintext yes",
		     "insecure-plaintext is only allowed towards a loopback "
		     "address, not '10.0.0.1'");
	assert_cloud(f,
		     "host a b\nconnect-to 127.0.0.1 ::1\n"
		     "insecure-plaintext yes",
		     NULL);
}

static void test_cloud_connect_to(void **state)
{
	static const char *const ok[] = { "127.0.0.1", "192.0.2.1", "::1",
					  "2001:db8::1", "::ffff:10.0.0.1" };
	static const char *const bad[] = { "localhost", "example.com",
					   "1.2.3.4.5", "10.0.0.256",
					   "[::1]",	"2001:db8::1/64" };
	struct fixture *f = *state;
	char body[256], msg[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(body, sizeof(body),
			 "host h connect-to \"%s\" ca-file tls/ca.crt", ok[i]);
		assert_cloud(f, body, NULL);
		assert_string_equal(f->conf->cloud.connect_to[0], ok[i]);
		assert_string_equal(f->conf->cloud.hosts[0], "h");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "host h connect-to \"%s\" ca-file tls/ca.crt", bad[i]);
		snprintf(msg, sizeof(msg),
			 "connect-to must be an IP address, not '%s'", bad[i]);
		assert_cloud(f, body, msg);
	}
}

/* 16 and 64 bytes */
#define A16 "aaaaaaaaaaaaaaaa"
#define A64 A16 A16 A16 A16

static void test_cloud_prefixes(void **state)
{
	static const char *const ok[] = { "a", "zw/gate", "A-b_c/1/2", A64 };
	static const struct {
		const char *value, *why;
	} bad[] = {
		{ "a+b", "must not hold the MQTT wildcards '+' and '#'" },
		{ "home/#", "must not hold the MQTT wildcards '+' and '#'" },
		{ "a b", "must be letters, digits, '-', '_' and '/'" },
		{ "caf\xc3\xa9", "must be letters, digits, '-', '_' and '/'" },
		{ "a.b", "must be letters, digits, '-', '_' and '/'" },
		{ "", "must be 1 to 64 bytes long" },
		{ A64 "a", "must be 1 to 64 bytes long" },
		{ "/a",
		  "must not start or end with '/' or have an empty level" },
		{ "a/",
		  "must not start or end with '/' or have an empty level" },
		{ "a//b",
		  "must not start or end with '/' or have an empty level" },
		{ "/",
		  "must not start or end with '/' or have an empty level" },
	};
	static const char *const keys[] = { "topic-prefix",
					    "discovery-prefix" };
	struct fixture *f = *state;
	char body[256], msg[256], shown[64];

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			snprintf(body, sizeof(body),
				 "host h ca-file tls/ca.crt %s \"%s\"", keys[k],
				 ok[i]);
			assert_cloud(f, body, NULL);
			assert_string_equal(k ? f->conf->cloud.discovery_prefix
					      : f->conf->cloud.topic_prefix,
					    ok[i]);
		}
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(body, sizeof(body),
				 "host h ca-file tls/ca.crt %s \"%s\"", keys[k],
				 bad[i].value);
			/* Long values are cut when shown. */
			snprintf(shown, sizeof(shown), "%.32s%s", bad[i].value,
				 strlen(bad[i].value) > 32 ? "..." : "");
			snprintf(msg, sizeof(msg), "%s %s, not '%s'", keys[k],
				 bad[i].why, shown);
			assert_cloud(f, body, msg);
		}
	}
}

static void test_cloud_plaintext(void **state)
{
	static const char *const loopback[] = {
		"host 127.0.0.1",
		"host 127.255.3.4",
		"host localhost",
		"host LOCALHOST",
		"host ::1",
		"host mqtt.example.net connect-to 127.0.0.1",
		"host mqtt.example.net connect-to ::1",
		"host mqtt.example.net connect-to ::ffff:127.0.0.2",
	};
	static const struct {
		const char *text, *shown;
	} remote[] = {
		{ "host 128.0.0.1", "'128.0.0.1'" },
		{ "host localhost.example", "'localhost.example'" },
		{ "host ::2", "'::2'" },
		{ "host localhost connect-to 10.0.0.1", "'10.0.0.1'" },
		{ "host 127.0.0.1 connect-to ::ffff:10.0.0.1",
		  "'::ffff:10.0.0.1'" },
	};
	struct fixture *f = *state;
	char body[256], msg[256];

	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		snprintf(body, sizeof(body), "%s insecure-plaintext yes",
			 loopback[i]);
		assert_cloud(f, body, NULL);
		assert_true(f->conf->cloud.insecure_plaintext);
		assert_int_equal(f->conf->cloud.port, 1883);
		assert_null(f->conf->cloud.ca_file);
		assert_int_equal(f->diags.n, 0);
	}
	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		snprintf(body, sizeof(body), "%s insecure-plaintext on",
			 remote[i].text);
		snprintf(msg, sizeof(msg),
			 "insecure-plaintext is only allowed towards a "
			 "loopback address, not %s",
			 remote[i].shown);
		assert_cloud(f, body, msg);
	}
	/* A port given stays; off is TLS as usual. */
	assert_cloud(f, "host ::1 port 8883 insecure-plaintext yes", NULL);
	assert_int_equal(f->conf->cloud.port, 8883);
	assert_cloud(f, "host ::1 insecure-plaintext off ca-file tls/ca.crt",
		     NULL);
	assert_int_equal(f->conf->cloud.port, 8883);
	assert_false(f->conf->cloud.insecure_plaintext);
	/* A bad value is one error, not also "ca-file required". */
	assert_cloud(f, "host ::1 insecure-plaintext maybe",
		     "insecure-plaintext must be on, off, yes or no, not "
		     "'maybe'");
}

/* TLS files given with plaintext are dropped, with a warning each. */
static void test_cloud_plaintext_files(void **state)
{
	struct fixture *f = *state;
	char *want;

	assert_cloud(f,
		     "host 127.0.0.1\ninsecure-plaintext yes\n"
		     "ca-file tls/ca.crt\nclient-cert tls/none.crt\n"
		     "client-key tls/client.keyfile",
		     NULL);
	assert_null(f->conf->cloud.ca_file);
	assert_null(f->conf->cloud.client_cert);
	assert_null(f->conf->cloud.client_key);
	assert_true(asprintf(&want,
			     "%1$s/zwgate.conf:6:1: warning: ca-file is not "
			     "used with insecure-plaintext; ignoring it\n"
			     "%1$s/zwgate.conf:7:1: warning: client-cert is "
			     "not used with insecure-plaintext; ignoring it\n"
			     "%1$s/zwgate.conf:8:1: warning: client-key is not "
			     "used with insecure-plaintext; ignoring it\n",
			     f->dir) > 0);
	assert_diags(&f->diags, want);
	free(want);
}

static void test_cloud_tls_files(void **state)
{
	struct fixture *f = *state;

	assert_cloud(f, "host h ca-file tls/ca.crt trust-bundle tls/ca.crt",
		     "trust-bundle and ca-file exclude each other "
		     "(trust-bundle supersedes ca-file)");
	assert_cloud(f, "host h ca-file tls/none.crt",
		     "cannot read ca-file 'tls/none.crt': no such file or "
		     "directory");
	assert_cloud(f, "host h ca-file tls",
		     "ca-file 'tls' is not a regular "
		     "file");
	assert_cloud(f, "host h ca-file tls/ca.crt client-cert tls/client.crt",
		     "client-cert is given without client-key");
	assert_cloud(f,
		     "host h ca-file tls/ca.crt client-key tls/client.keyfile",
		     "client-key is given without client-cert");
	assert_cloud(f,
		     "host h ca-file tls/ca.crt client-cert tls/none.crt "
		     "client-key tls/client.keyfile",
		     "cannot read client-cert 'tls/none.crt': no such file or "
		     "directory");
	assert_cloud(f,
		     "host h ca-file tls/ca.crt client-cert tls/client.crt "
		     "client-key tls/none.keyfile",
		     "cannot read client-key 'tls/none.keyfile': no such file "
		     "or directory");
	assert_cloud(f,
		     "host h ca-file tls/ca.crt client-cert tls/client.crt "
		     "client-key tls/client.keyfile",
		     NULL);
	/* A CA file that anyone may write is anyone's CA. */
	write_file(f->dir, "tls/open.crt", "ca\n", 0664);
	reset(f);
	assert_int_equal(load_text(f,
				   "gateway-id gw\n"
				   "zwave { sim-network net.json }\n"
				   "cloud { host h ca-file tls/open.crt }\n"),
			 -EINVAL);
	assert_string_equal(f->diags.items[0].msg,
			    "ca-file 'tls/open.crt' is writable by its group "
			    "(mode 0664); refusing it");
}

static void test_cloud_key_mode(void **state)
{
	static const struct {
		mode_t mode;
		const char *what; /* NULL: accepted */
	} cases[] = {
		{ 0600, NULL },
		{ 0400, NULL },
		{ 0700, NULL },
		{ 0644, "readable by others (mode 0644)" },
		{ 0604, "readable by others (mode 0604)" },
		{ 0602, "writable by others (mode 0602)" },
		{ 0601, "executable by others (mode 0601)" },
		{ 0640, "readable by its group (mode 0640)" },
		{ 0620, "writable by its group (mode 0620)" },
		{ 0610, "executable by its group (mode 0610)" },
		{ 0666, "readable by others (mode 0666)" },
	};
	struct fixture *f = *state;
	char *key = join(f->dir, "k/client.keyfile"), msg[256];

	write_file(f->dir, "k/client.keyfile", "key\n", 0600);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(chmod(key, cases[i].mode), 0);
		if (cases[i].what)
			snprintf(msg, sizeof(msg),
				 "client-key 'k/client.keyfile' is %s; it must "
				 "be 0600 or stricter, like an ssh key",
				 cases[i].what);
		assert_cloud(f,
			     "host h ca-file tls/ca.crt client-cert "
			     "tls/client.crt client-key k/client.keyfile",
			     cases[i].what ? msg : NULL);
	}
	free(key);
}

static void test_cloud_key_owner(void **state)
{
	struct fixture *f = *state;
	char *key = join(f->dir, "tls/client.keyfile");

	if (geteuid() != 0) {
		free(key);
		tu_skip("only root can give a file away");
	}
	assert_cloud(f,
		     "host h ca-file tls/ca.crt client-cert tls/client.crt "
		     "client-key tls/client.keyfile",
		     NULL);
	assert_int_equal(chown(key, 12345, 12345), 0);
	reset(f);
	assert_int_equal(load_text(f, "gateway-id gw\n"
				      "zwave { sim-network net.json }\n"
				      "cloud { host h ca-file tls/ca.crt "
				      "client-cert tls/client.crt "
				      "client-key tls/client.keyfile }\n"),
			 -EINVAL);
	assert_string_equal(f->diags.items[0].msg,
			    "client-key 'tls/client.keyfile' is owned by uid "
			    "12345, not root; refusing it");
	free(key);
}

/* One load reports every bad value of the block, then the block. */
static void test_cloud_many_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_cloud(f, "port 0\nprotocol 6\nhost \"\"\n"
				       "bogus 1\nclient-cert tls/client.crt"),
			 -EINVAL);
	assert_int_equal(f->diags.errors, 6);
	assert_string_equal(f->diags.items[3].msg,
			    "unknown key 'bogus' in cloud block");
	assert_non_null(strstr(f->diags.items[4].msg,
			       "cannot read the factory trust bundle"));
	assert_string_equal(f->diags.items[5].msg,
			    "client-cert is given without client-key");
	assert_null(f->conf);
}

/* ---- conf: errors ---- */

static void test_error_leaves_ret(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)&c;
	static const char bad[] = "gateway-id x\nlatitude 95\n";
	char *missing = join(f->dir, "missing.conf"), *want;

	assert_int_equal(conf_load_buffer("b.conf", bad, sizeof(bad) - 1,
					  &conf_rules_load_opts, &f->diags, &c),
			 -EINVAL);
	assert_ptr_equal(c, (struct conf *)&c);
	assert_string_equal(f->diags.items[0].msg,
			    "'latitude' belongs in the location block, not at "
			    "top level");
	diag_clear(&f->diags);
	assert_int_equal(
	    conf_load(missing, &conf_rules_load_opts, &f->diags, &c), -EINVAL);
	assert_ptr_equal(c, (struct conf *)&c);
	assert_true(
	    asprintf(&want, "%s: no such file or directory\n", missing) > 0);
	assert_diags(&f->diags, want);
	assert_int_equal(f->diags.items[0].line, 0);
	assert_null(conf_free(NULL));
	free(missing);
	free(want);
}

static void test_file_mode(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf"), *want;
	char err[128];

	write_file(f->dir, "zwgate.conf", "gateway-id x\n", 0664);
	assert_int_equal(conf_check_file_mode(path, err, sizeof(err)), -EPERM);
	assert_string_equal(
	    err, "is writable by its group (mode 0664); refusing it");
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(conf_check_file_mode(path, err, sizeof(err)), -EPERM);
	assert_string_equal(err,
			    "is writable by others (mode 0646); refusing it");
	assert_int_equal(
	    conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf),
	    -EINVAL);
	assert_true(asprintf(&want,
			     "%s: is writable by others (mode 0646); "
			     "refusing it\n",
			     path) > 0);
	assert_diags(&f->diags, want);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(conf_check_file_mode(path, err, sizeof(err)), 0);
	assert_int_equal(conf_check_file_mode(f->dir, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "is not a regular file");
	free(path);
	path = join(f->dir, "nope");
	assert_int_equal(conf_check_file_mode(path, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no such file or directory");
	free(path);
	free(want);
}

/* An included file is held to the same rules, under its own name. */
static void test_include_mode(void **state)
{
	struct fixture *f = *state;
	char *want;

	write_file(f->dir, "n.json", "{}", 0644);
	write_file(f->dir, "conf.d/a.conf", "log-level debug\n", 0666);
	assert_int_equal(load_text(f, "gateway-id x\ninclude conf.d/*\n"
				      "zwave { sim-network n.json }\n"),
			 -EINVAL);
	assert_true(asprintf(&want,
			     "%s/conf.d/a.conf: is writable by others (mode "
			     "0666); refusing it\n",
			     f->dir) > 0);
	assert_diags(&f->diags, want);
	free(want);
}

static void test_owner(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf");
	char err[128];

	if (geteuid() != 0) {
		free(path);
		tu_skip("only root can give a file away");
	}
	write_file(f->dir, "zwgate.conf", "gateway-id x\n", 0644);
	assert_int_equal(chown(path, 12345, 12345), 0);
	assert_int_equal(conf_check_file_mode(path, err, sizeof(err)), -EPERM);
	assert_string_equal(err,
			    "is owned by uid 12345, not root; refusing it");
	free(path);
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf");

	if (geteuid() == 0) {
		free(path);
		tu_skip("root reads anything");
	}
	write_file(f->dir, "zwgate.conf", "gateway-id x\n", 0);
	assert_int_equal(
	    conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf),
	    -EINVAL);
	assert_string_equal(f->diags.items[0].file, path);
	assert_string_equal(f->diags.items[0].msg, "permission denied");
	free(path);
}

static void test_dangling_include(void **state)
{
	struct fixture *f = *state;
	char *link = join(f->dir, "conf.d/a.conf");

	write_file(f->dir, "conf.d/keep", "", 0644);
	assert_int_equal(symlink("/nonexistent/zwgate.conf", link), 0);
	assert_int_equal(load_text(f, "include \"conf.d/*.conf\"\n"), -EINVAL);
	assert_string_equal(f->diags.items[0].file, link);
	assert_string_equal(f->diags.items[0].msg, "no such file or directory");
	assert_int_equal(f->diags.items[0].line, 0);
	free(link);
}

static void test_file_too_large(void **state)
{
	struct fixture *f = *state;
	static const char head[] = "gateway-id big\nzwave { sim-network n }\n";
	char *big = malloc(CONF_FILE_MAX + 2);
	char *path = join(f->dir, "zwgate.conf"), *want;

	assert_non_null(big);
	write_file(f->dir, "n", "{}", 0644);
	memset(big, '\n', CONF_FILE_MAX + 1);
	memcpy(big, head, sizeof(head) - 1);
	/* Exactly the limit loads (modes set whatever the umask). */
	assert_int_equal(tu_write(path, big, CONF_FILE_MAX, 0644), 0);
	assert_int_equal(
	    conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf), 0);
	f->conf = conf_free(f->conf);
	/* One byte more does not. */
	assert_int_equal(tu_write(path, big, CONF_FILE_MAX + 1, 0644), 0);
	assert_int_equal(
	    conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf),
	    -EINVAL);
	assert_true(asprintf(&want,
			     "%s: file too large (1048577 bytes, limit "
			     "1048576)\n",
			     path) > 0);
	assert_diags(&f->diags, want);
	diag_clear(&f->diags);
	assert_int_equal(conf_load_buffer("mem", big, CONF_FILE_MAX + 1,
					  &conf_rules_load_opts, &f->diags,
					  &f->conf),
			 -EINVAL);
	assert_diags(&f->diags,
		     "mem: file too large (1048577 bytes, limit 1048576)\n");
	free(big);
	free(path);
	free(want);
}

static void test_too_many_files(void **state)
{
	struct fixture *f = *state;
	char name[64];
	size_t n;

	write_file(f->dir, "n.json", "{}", 0644);
	/* The main file and CONF_FILES_MAX - 1 included ones: the limit. */
	for (int i = 0; i < CONF_FILES_MAX - 1; i++) {
		snprintf(name, sizeof(name), "d/%03d.conf", i);
		write_file(f->dir, name, "# nothing\n", 0644);
	}
	assert_int_equal(load_text(f, "gateway-id x\ninclude \"d/*.conf\"\n"
				      "zwave { sim-network n.json }\n"),
			 0);
	for (n = 0; f->conf->files[n]; n++)
		;
	assert_int_equal(n, CONF_FILES_MAX);
	f->conf = conf_free(f->conf);
	write_file(f->dir, "d/999.conf", "# one too many\n", 0644);
	assert_int_equal(load_text(f, "gateway-id x\ninclude \"d/*.conf\"\n"
				      "zwave { sim-network n.json }\n"),
			 -EINVAL);
	assert_int_equal(f->diags.errors, 1);
	assert_string_equal(f->diags.items[0].msg,
			    "too many files (limit 256)");
	assert_int_equal(f->diags.items[0].line, 2);
	assert_int_equal(f->diags.items[0].col, 9);
}

static void test_path_too_long(void **state)
{
	struct fixture *f = *state;
	char name[PATH_MAX], text[LEX_TOKEN_MAX + 64], *got;
	size_t o = 0;

	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "/%0200d", i);
	snprintf(name + o, sizeof(name) - o, "/x.conf");
	snprintf(text, sizeof(text), "zwave { device %01000d }\n", 7);
	assert_int_equal(conf_load_buffer(name, text, strlen(text),
					  &conf_rules_load_opts, &f->diags,
					  &f->conf),
			 -EINVAL);
	got = diags_text(&f->diags);
	assert_non_null(strstr(got, "x.conf:1:16: device is too long (limit "
				    "4095 bytes)\n"));
	free(got);
}

static void test_cwd_gone(void **state)
{
	struct fixture *f = *state;
	char *gone = join(f->dir, "gone");
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	int r;

	assert_true(cwd >= 0);
	assert_int_equal(mkdir(gone, 0755), 0);
	assert_int_equal(chdir(gone), 0);
	assert_int_equal(rmdir(gone), 0);
	r = conf_load_buffer("rel.conf", "gateway-id x\n", 13,
			     &conf_rules_load_opts, &f->diags, &f->conf);
	assert_int_equal(fchdir(cwd), 0);
	assert_int_equal(r, -EINVAL);
	assert_diags(&f->diags, "rel.conf: cannot find the current directory: "
				"no such file or directory\n");
	close(cwd);
	free(gone);
}

/*
 * The golden diagnostics of tests/conf/bad-*.conf are checked once, by
 * tests/conf/golden.sh, through "zwgated -n" on a copy whose modes it
 * sets.
 */

/* ---- the example config ---- */

static void test_example_config(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf");
	char *rules = join(f->dir, "rules.d/example.rules");
	char *net = join(f->dir, "sim-network.json");
	char *rulesd = join(f->dir, "rules.d");

	/*
	 * A copy with the modes an install gives: a checkout made under
	 * umask 002 has group-writable files, which conf_load refuses.
	 */
	assert_int_equal(mkdir(rulesd, 0755), 0);
	assert_int_equal(tu_copy_src("etc/zwgate.conf", path, 0644), 0);
	assert_int_equal(tu_copy_src("etc/sim-network.json", net, 0644), 0);
	assert_int_equal(tu_copy_src("etc/rules.d/example.rules", rules, 0644),
			 0);
	if (conf_load(path, &conf_rules_load_opts, &f->diags, &f->conf) != 0)
		diag_print(&f->diags, stderr);
	assert_non_null(f->conf);
	assert_int_equal(f->diags.errors, 0);
	assert_string_equal(f->conf->gateway_id, "demo-gateway");
	assert_string_equal(f->conf->zwave.backend, "sim");
	assert_true(f->conf->location.set);
	/* Its cloud block is an example, commented out. */
	assert_false(f->conf->cloud.set);
	free(path);
	free(rules);
	free(net);
	free(rulesd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_diag_limit),
		cmocka_unit_test(test_lex_tokens),
		cmocka_unit_test(test_lex_lookahead),
		cmocka_unit_test(test_lex_describe),
		cmocka_unit_test(test_lex_errors),
		cmocka_unit_test(test_lex_too_long),
		T(test_defaults),
		T(test_every_key),
		T(test_caller_statements),
		T(test_limits_accepted),
		T(test_include_glob),
		T(test_include_names),
		T(test_include_outside),
		T(test_include_fd_is),
		T(test_include_absolute),
		T(test_relative_name),
		T(test_missing_then_given),
		T(test_warning_only),
		T(test_prior_diags),
		T(test_timezone_tzdir),
		T(test_cloud_absent),
		T(test_cloud_defaults),
		T(test_cloud_trust_default),
		T(test_cloud_trust_bundle),
		T(test_cloud_every_key),
		T(test_cloud_numbers),
		T(test_cloud_sizes),
		T(test_cloud_hosts),
		T(test_cloud_brokers),
		T(test_cloud_connect_to),
		T(test_cloud_prefixes),
		T(test_cloud_plaintext),
		T(test_cloud_plaintext_files),
		T(test_cloud_tls_files),
		T(test_cloud_key_mode),
		T(test_cloud_key_owner),
		T(test_cloud_many_errors),
		T(test_error_leaves_ret),
		T(test_file_mode),
		T(test_include_mode),
		T(test_owner),
		T(test_unreadable),
		T(test_dangling_include),
		T(test_file_too_large),
		T(test_too_many_files),
		T(test_path_too_long),
		T(test_cwd_gone),
		T(test_example_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
