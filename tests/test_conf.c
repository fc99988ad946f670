/* SPDX-License-Identifier: MIT */
/*
 * Tests of diag, lex and conf: the tokenizer, valid configs read from
 * buffers and from temporary files, and the golden diagnostics of
 * tests/conf/bad-*.conf.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "diag.h"
#include "lex.h"
#include "log.h"

/* Each test gets a fresh temporary directory as its state. */
struct fixture {
	char dir[PATH_MAX];
	struct diag_list diags;
	struct conf *conf;
};

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/zwgate-conf.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
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

	rm_rf(f->dir);
	conf_free(f->conf);
	diag_clear(&f->diags);
	free(f);
	return 0;
}

/* Writes dir/name (making one level of subdirectory if needed). */
static void write_file(const char *dir, const char *name, const char *text,
		       mode_t mode)
{
	char path[PATH_MAX], sub[PATH_MAX];
	const char *slash = strrchr(name, '/');
	FILE *fp;

	if (slash) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - name),
			 name);
		mkdir(sub, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
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
	r = conf_load(path, &f->diags, &f->conf);
	free(path);
	return r;
}

static const char *top_srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : ".";
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
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *want[] = {
		"'word'",
		"string \"a \\\"b\\\"\\n\"",
		"'{'",
		"'}'",
		"';'",
		"','",
		"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'",
		"end of file",
	};
	struct diag_list l;
	struct lexer *lx;
	char buf[128];

	diag_init(&l);
	lx = lex_new("t", src, sizeof(src) - 1, &l);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(
		    tok_describe(lex_next(lx), buf, sizeof(buf)), want[i]);
	assert_string_equal(tok_describe(lex_next(lx), buf, 4), "end");
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
					  &f->diags, &f->conf),
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
static void test_include_names(void **state)
{
	struct fixture *f = *state;
	char *path = join(f->dir, "zwgate.conf"), *want;
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	assert_true(cwd >= 0);
	write_file(f->dir, "zwgate.conf", "include \"conf.d/*.conf\"\n", 0644);
	write_file(f->dir, "conf.d/a.conf", "\n  bogus 1\n", 0644);
	assert_int_equal(conf_load(path, &f->diags, &f->conf), -EINVAL);
	assert_true(asprintf(&want,
			     "%s/conf.d/a.conf:2:3: unknown key 'bogus'\n"
			     "%s: missing required key 'gateway-id'\n"
			     "%s: missing required key 'sim-network' in zwave "
			     "block (backend sim is the default)\n",
			     f->dir, path, path) > 0);
	assert_diags(&f->diags, want);
	diag_clear(&f->diags);
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(conf_load("./zwgate.conf", &f->diags, &f->conf),
			 -EINVAL);
	assert_int_equal(fchdir(cwd), 0);
	assert_diags(&f->diags,
		     "./conf.d/a.conf:2:3: unknown key 'bogus'\n"
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
	assert_int_equal(conf_load(main, &f->diags, &f->conf), 0);
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
	r = conf_load(".//zwgate.conf", &f->diags, &f->conf);
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

/* ---- conf: errors ---- */

static void test_error_leaves_ret(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)&c;
	static const char bad[] = "gateway-id x\nlatitude 95\n";
	char *missing = join(f->dir, "missing.conf"), *want;

	assert_int_equal(
	    conf_load_buffer("b.conf", bad, sizeof(bad) - 1, &f->diags, &c),
	    -EINVAL);
	assert_ptr_equal(c, (struct conf *)&c);
	assert_string_equal(f->diags.items[0].msg,
			    "'latitude' belongs in the location block, not at "
			    "top level");
	diag_clear(&f->diags);
	assert_int_equal(conf_load(missing, &f->diags, &c), -EINVAL);
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
	assert_int_equal(conf_load(path, &f->diags, &f->conf), -EINVAL);
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
		skip();
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
		skip(); /* root reads anything */
	}
	write_file(f->dir, "zwgate.conf", "gateway-id x\n", 0);
	assert_int_equal(conf_load(path, &f->diags, &f->conf), -EINVAL);
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
	FILE *fp;

	assert_non_null(big);
	write_file(f->dir, "n", "{}", 0644);
	memset(big, '\n', CONF_FILE_MAX + 1);
	memcpy(big, head, sizeof(head) - 1);
	/* Exactly the limit loads. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(big, 1, CONF_FILE_MAX, fp), CONF_FILE_MAX);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_load(path, &f->diags, &f->conf), 0);
	f->conf = conf_free(f->conf);
	/* One byte more does not. */
	fp = fopen(path, "a");
	assert_int_equal(fputc('\n', fp), '\n');
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(conf_load(path, &f->diags, &f->conf), -EINVAL);
	assert_true(asprintf(&want,
			     "%s: file too large (1048577 bytes, limit "
			     "1048576)\n",
			     path) > 0);
	assert_diags(&f->diags, want);
	diag_clear(&f->diags);
	assert_int_equal(conf_load_buffer("mem", big, CONF_FILE_MAX + 1,
					  &f->diags, &f->conf),
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
	assert_int_equal(
	    conf_load_buffer(name, text, strlen(text), &f->diags, &f->conf),
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
	r = conf_load_buffer("rel.conf", "gateway-id x\n", 13, &f->diags,
			     &f->conf);
	assert_int_equal(fchdir(cwd), 0);
	assert_int_equal(r, -EINVAL);
	assert_diags(&f->diags, "rel.conf: cannot find the current directory: "
				"no such file or directory\n");
	close(cwd);
	free(gone);
}

/* ---- golden files ---- */

/* git keeps no group-write bit, but a checkout's umask may add it. */
static int drop_write(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	if (flag == FTW_F && (st->st_mode & 022))
		chmod(path, st->st_mode & 07755);
	return 0;
}

static char *read_all(const char *path)
{
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];
	FILE *fp = fopen(path, "r");
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	if (!fp) {
		fclose(out);
		free(buf);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(fp);
	fclose(out);
	return buf;
}

/* Loads one bad-*.conf by relative name; 0 if its .err matches. */
static int golden_case(const char *name)
{
	struct conf *c = (struct conf *)&c;
	struct diag_list l;
	char err[PATH_MAX], *want, *got;
	int r, bad = 0;

	snprintf(err, sizeof(err), "%.*s.err", (int)(strlen(name) - 5), name);
	want = read_all(err);
	diag_init(&l);
	r = conf_load(name, &l, &c);
	got = diags_text(&l);
	if (!want) {
		print_error("%s: missing %s; it would be:\n%s", name, err, got);
		bad = 1;
	} else if (r != -EINVAL || c != (struct conf *)&c) {
		print_error("%s: loaded (%d) instead of failing\n", name, r);
		bad = 1;
	} else if (strcmp(want, got) != 0) {
		print_error("%s: diagnostics differ\n--- wanted\n%s--- got\n%s",
			    name, want, got);
		bad = 1;
	}
	if (r == 0)
		conf_free(c);
	diag_clear(&l);
	free(want);
	free(got);
	return bad;
}

static void test_golden(void **state)
{
	char dir[PATH_MAX];
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	glob_t confs, errs;
	int failed = 0;

	assert_true(cwd >= 0);
	snprintf(dir, sizeof(dir), "%s/tests/conf", top_srcdir());
	assert_int_equal(nftw(dir, drop_write, 16, FTW_PHYS), 0);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(glob("bad-*.conf", 0, NULL, &confs), 0);
	assert_int_equal(glob("bad-*.err", 0, NULL, &errs), 0);
	for (size_t i = 0; i < confs.gl_pathc; i++)
		failed += golden_case(confs.gl_pathv[i]);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	/* Every case has its .err and no .err is left without a case. */
	assert_true(confs.gl_pathc >= 25);
	assert_int_equal(confs.gl_pathc, errs.gl_pathc);
	globfree(&confs);
	globfree(&errs);
	assert_int_equal(failed, 0);
}

static void test_example_config(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/etc/zwgate.conf", top_srcdir());
	nftw(path, drop_write, 1, FTW_PHYS);
	if (conf_load(path, &f->diags, &f->conf) != 0)
		diag_print(&f->diags, stderr);
	assert_non_null(f->conf);
	assert_int_equal(f->diags.errors, 0);
	assert_string_equal(f->conf->gateway_id, "demo-gateway");
	assert_string_equal(f->conf->zwave.backend, "sim");
	assert_true(f->conf->location.set);
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
		T(test_limits_accepted),
		T(test_include_glob),
		T(test_include_names),
		T(test_include_absolute),
		T(test_relative_name),
		T(test_missing_then_given),
		T(test_warning_only),
		T(test_prior_diags),
		T(test_timezone_tzdir),
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
		T(test_golden),
		T(test_example_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
