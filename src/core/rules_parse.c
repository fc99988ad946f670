/* SPDX-License-Identifier: MIT */
/*
 * rules_parse.c: zwgate.rules(5) statements into struct rules_set.
 *
 * One function a construct, each returning false after it reported an
 * error; the clause (or the statement, outside a rule's braces) is then
 * skipped, so one load reports every bad clause of every file.  This
 * file reads the statements (rule, scene, every); the words are read by
 * rules_parse_words.c, conditions by rules_parse_cond.c, the other
 * clauses by rules_parse_clause.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "rules.h"
#include "rules_int.h"
#include "value.h"

/* The clauses up to '}'; false when the file ended first. */
static bool rp_rule_body(struct rules_rp *p, struct rules_rule *r,
			 const struct token *open)
{
	unsigned bline = open->line, bcol = open->col;
	const struct token *t;
	struct token kw;
	char kwtext[16];

	for (;;) {
		t = rules_rp_take(p);
		if (t->type == TOK_RBRACE)
			return true;
		if (t->type == TOK_EOF) {
			rules_rp_error(p, t->line, t->col,
				       "'{' at %u:%u is never closed", bline,
				       bcol);
			return false;
		}
		if (t->type == TOK_SEMI)
			continue;
		kw = *t;
		snprintf(kwtext, sizeof(kwtext), "'%s'",
			 t->type == TOK_WORD ? t->text : "?");
		if (!rules_rp_clause(p, r, &kw) ||
		    !rules_rp_clause_end(p, kwtext))
			rules_rp_skip(p);
		if (p->err)
			return false;
	}
}

/* After a bad name: the rest of the statement, with its { } block. */
static void rp_skip_statement(struct rules_rp *p, const struct token *t)
{
	if (t->type != TOK_LBRACE) {
		rules_rp_skip(p);
		if (lex_peek(p->lx)->type != TOK_LBRACE)
			return;
		rules_rp_take(p);
	}
	rules_rp_skip_block(p);
}

static bool rp_name_ok(struct rules_rp *p, const struct token *t,
		       const char *what)
{
	if (t->type != TOK_STRING && t->type != TOK_WORD) {
		char after[RULES_RP_SHOW_MAX];

		snprintf(after, sizeof(after), "'%s'", what);
		return rules_rp_expected(p, t, "a name in quotes", after);
	}
	if (t->len == 0 || t->len > RULES_NAME_MAX ||
	    !value_text_valid(t->text, t->len)) {
		rules_rp_error(p, t->line, t->col,
			       "a %s name has 1 to %d bytes of printable text",
			       what, RULES_NAME_MAX);
		return false;
	}
	return true;
}

static bool rp_rule_check(struct rules_rp *p, struct rules_rule *r)
{
	const struct rules_rule *o;

	if (!r->ntrigs)
		rules_rp_error(p, r->pos.line, r->pos.col,
			       "rule \"%s\" has no at, every or when clause",
			       r->name);
	else if (!r->nacts)
		rules_rp_error(p, r->pos.line, r->pos.col,
			       "rule \"%s\" has no do clause", r->name);
	else if ((o = rules_find_rule(p->s, r->name)))
		rules_rp_error(p, r->pos.line, r->pos.col,
			       "rule \"%s\" is already defined at %s:%u:%u",
			       r->name, o->pos.file, o->pos.line, o->pos.col);
	else if (p->s->nrules >= RULES_MAX)
		rules_rp_error(p, r->pos.line, r->pos.col, "at most %d rules",
			       RULES_MAX);
	else
		return true;
	return false;
}

static bool rp_add_rule(struct rules_rp *p, struct rules_rule *r)
{
	struct rules_set *s = p->s;
	struct rules_rule *n;

	if (!rp_rule_check(p, r))
		return false;
	if (s->nrules == s->caprules) {
		size_t cap = s->caprules ? 2 * s->caprules : 16;

		if (!(n = realloc(s->rules, cap * sizeof(*n))))
			return rules_rp_oom(p);
		s->rules = n;
		s->caprules = cap;
	}
	if (!r->max_runs)
		r->max_runs = r->mode == RULES_MODE_QUEUED ||
				      r->mode == RULES_MODE_PARALLEL
				  ? RULES_RUNS_DEFAULT
				  : 1;
	s->rules[s->nrules++] = *r;
	memset(r, 0, sizeof(*r));
	return true;
}

static void rp_rule(struct rules_rp *p, const struct token *kw)
{
	struct rules_rule r = { .pos = rules_rp_pos(p, kw),
				.catch_up_s = SCHED_CATCH_UP_DEFAULT_S };
	const struct token *t = rules_rp_next(p);
	unsigned before = (unsigned)p->diags->errors;

	if (!rp_name_ok(p, t, "rule")) {
		rp_skip_statement(p, t);
		return;
	}
	if (!rules_rp_dup(p, t, &r.name))
		return;
	t = rules_rp_take(p);
	if (t->type != TOK_LBRACE) {
		rules_rp_expected(p, t, "'{'", "the rule's name");
		rules_rp_skip(p);
	} else if (rp_rule_body(p, &r, t) && p->diags->errors == before) {
		rp_add_rule(p, &r);
	}
	rules_rp_rule_clear(&r);
}

static bool rp_add_scene(struct rules_rp *p, struct rules_scene *sc)
{
	struct rules_set *s = p->s;
	const struct rules_scene *o = rules_find_scene(s, sc->name);
	struct rules_scene *n;

	if (o) {
		rules_rp_error(p, sc->pos.line, sc->pos.col,
			       "scene \"%s\" is already defined at %s:%u:%u",
			       sc->name, o->pos.file, o->pos.line, o->pos.col);
		return false;
	}
	if (s->nscenes >= RULES_SCENES_MAX) {
		rules_rp_error(p, sc->pos.line, sc->pos.col,
			       "at most %d scenes", RULES_SCENES_MAX);
		return false;
	}
	if (s->nscenes == s->capscenes) {
		size_t cap = s->capscenes ? 2 * s->capscenes : 8;

		if (!(n = realloc(s->scenes, cap * sizeof(*n))))
			return rules_rp_oom(p);
		s->scenes = n;
		s->capscenes = cap;
	}
	s->scenes[s->nscenes++] = *sc;
	memset(sc, 0, sizeof(*sc));
	return true;
}

/* scene "name" { action; action } */
static void rp_scene(struct rules_rp *p, const struct token *kw)
{
	struct rules_scene sc = { .pos = rules_rp_pos(p, kw) };
	const struct token *t = rules_rp_next(p);
	unsigned before = (unsigned)p->diags->errors;
	unsigned bline, bcol;

	if (!rp_name_ok(p, t, "scene")) {
		rp_skip_statement(p, t);
		return;
	}
	if (!rules_rp_dup(p, t, &sc.name))
		return;
	t = rules_rp_take(p);
	if (t->type != TOK_LBRACE) {
		rules_rp_expected(p, t, "'{'", "the scene's name");
		rules_rp_skip(p);
		goto out;
	}
	bline = t->line;
	bcol = t->col;
	while (!p->err) {
		t = lex_peek(p->lx);
		if (t->type == TOK_RBRACE || t->type == TOK_EOF)
			break;
		if (t->type == TOK_SEMI)
			rules_rp_take(p);
		else if (!rules_rp_actions_list(p, &sc.acts, &sc.nacts, true))
			rules_rp_skip(p);
		else if (!rules_rp_clause_end(p, "an action"))
			rules_rp_skip(p);
	}
	t = rules_rp_take(p);
	if (t->type == TOK_EOF) {
		rules_rp_error(p, t->line, t->col,
			       "'{' at %u:%u is never closed", bline, bcol);
	} else if (!sc.nacts) {
		rules_rp_error(p, sc.pos.line, sc.pos.col,
			       "scene \"%s\" has no action", sc.name);
	} else if (p->diags->errors == before) {
		rp_add_scene(p, &sc);
	}
out:
	rules_rp_scene_clear(&sc);
}

/* every 15m [on DAYS] [if COND] do ACTIONS, to the end of the line */
static void rp_every(struct rules_rp *p, const struct token *kw)
{
	struct rules_rule r = { .pos = rules_rp_pos(p, kw),
				.catch_up_s = SCHED_CATCH_UP_DEFAULT_S,
				.anonymous = true };
	struct rules_trigger *g = rules_rp_add_trig(p, &r, kw);
	const struct token *t;
	const char *base;
	char name[RULES_NAME_MAX + 1];

	if (!g || !rules_rp_trig_every(p, kw, g))
		goto skip;
	t = rules_rp_next(p);
	if (rules_rp_is(t, "if")) {
		if (!rules_rp_clause_if(p, &r, t))
			goto skip;
		t = rules_rp_next(p);
	}
	if (!rules_rp_is(t, "do")) {
		rules_rp_expected(p, t, "'do' or 'if'", "the interval");
		goto skip;
	}
	if (!rules_rp_actions_list(p, &r.acts, &r.nacts, false) ||
	    !rules_rp_clause_end(p, "the actions"))
		goto skip;
	base = strrchr(p->file, '/');
	snprintf(name, sizeof(name), "every@%s:%u", base ? base + 1 : p->file,
		 kw->line);
	if (!(r.name = strdup(name)))
		rules_rp_oom(p);
	else
		rp_add_rule(p, &r);
	rules_rp_rule_clear(&r);
	return;
skip:
	rules_rp_skip(p);
	rules_rp_rule_clear(&r);
}

/* The file's name, kept once in s->files for the positions. */
static const char *rp_intern(struct rules_set *s, const char *file)
{
	char **n;

	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], file) == 0)
			return s->files[i];
	if (!(n = realloc(s->files, (s->nfiles + 1) * sizeof(*n))))
		return NULL;
	s->files = n;
	if (!(n[s->nfiles] = strdup(file)))
		return NULL;
	return n[s->nfiles++];
}

int rules_parse_statement(struct conf *c, struct lexer *lx,
			  const struct token *kw, const char *dir,
			  struct diag_list *diags)
{
	struct rules_rp p = { .lx = lx, .diags = diags };
	struct token k = *kw;
	char word[8];

	if (!c->rules && !(c->rules = calloc(1, sizeof(*c->rules))))
		return -ENOMEM;
	p.s = c->rules;
	if (!(p.file = rp_intern(p.s, lex_file(lx))))
		return -ENOMEM;
	snprintf(word, sizeof(word), "%s", kw->text);
	k.text = word;
	if (strcmp(word, "rule") == 0) {
		p.in_braces = true;
		rp_rule(&p, &k);
	} else if (strcmp(word, "scene") == 0) {
		p.in_braces = true;
		rp_scene(&p, &k);
	} else {
		rp_every(&p, &k);
	}
	return p.err;
}
