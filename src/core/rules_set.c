/* SPDX-License-Identifier: MIT */
/*
 * rules_set.c: a parsed rules_set as a whole: freeing it, finding rules
 * and scenes by name, the words of modes and comparisons, the checks
 * that need every file read (rules_validate) and those against a known
 * network (rules_check_names).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "rules.h"
#include "rules_int.h"
#include "value.h"

const char *const rules_mode_words[] = { "single", "restart", "queued",
					 "parallel", NULL };
const char *const rules_cmp_words[] = {
	"==", "!=", "<", "<=", ">", ">=", NULL
};

/* Freeing the tree. */

void rules_rp_cond_free(struct rules_cond *c)
{
	if (!c)
		return;
	rules_rp_cond_free(c->a);
	rules_rp_cond_free(c->b);
	free(c->ref.node);
	free(c->ref.value);
	free(c->lit);
	free(c);
}

static void rp_trig_clear(struct rules_trigger *g)
{
	free(g->ref.node);
	free(g->ref.value);
	free(g->lit);
}

void rules_rp_act_clear(struct rules_action *a)
{
	free(a->ref.node);
	free(a->ref.value);
	free(a->text);
	free(a->payload);
}

void rules_rp_rule_clear(struct rules_rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->ntrigs; i++)
		rp_trig_clear(&r->trigs[i]);
	free(r->trigs);
	rules_rp_cond_free(r->cond);
	for (size_t i = 0; i < r->nacts; i++)
		rules_rp_act_clear(&r->acts[i]);
	free(r->acts);
}

void rules_rp_scene_clear(struct rules_scene *sc)
{
	free(sc->name);
	for (size_t i = 0; i < sc->nacts; i++)
		rules_rp_act_clear(&sc->acts[i]);
	free(sc->acts);
}

/* The set as a whole. */

/* How deep scene sc runs scenes: memo[i] 0 unknown, -1 being looked at. */
static int rp_scene_depth(const struct rules_set *s, size_t i, int *memo)
{
	const struct rules_scene *sc = &s->scenes[i];
	const struct rules_scene *sub;
	int d, deepest = 1;

	if (memo[i])
		return memo[i];
	memo[i] = -1;
	for (size_t k = 0; k < sc->nacts; k++) {
		if (sc->acts[k].type != RULES_ACT_SCENE ||
		    !(sub = rules_find_scene(s, sc->acts[k].text)))
			continue;
		d = rp_scene_depth(s, (size_t)(sub - s->scenes), memo);
		if (d < 0 || d + 1 > RULES_SCENE_DEPTH) {
			deepest = -1;
			break;
		}
		if (d + 1 > deepest)
			deepest = d + 1;
	}
	memo[i] = deepest;
	return deepest;
}

static void rp_check_runs(const struct rules_set *s,
			  const struct rules_action *acts, size_t n,
			  struct diag_list *diags)
{
	for (size_t k = 0; k < n; k++) {
		const struct rules_action *a = &acts[k];

		if (a->type == RULES_ACT_SCENE && !rules_find_scene(s, a->text))
			diag_add(diags, a->text_pos.file, a->text_pos.line,
				 a->text_pos.col, false, "no scene \"%s\"",
				 a->text);
	}
}

int rules_validate(const struct rules_set *s, struct diag_list *diags)
{
	int *memo;

	if (!s)
		return 0;
	for (size_t i = 0; i < s->nrules; i++)
		rp_check_runs(s, s->rules[i].acts, s->rules[i].nacts, diags);
	for (size_t i = 0; i < s->nscenes; i++)
		rp_check_runs(s, s->scenes[i].acts, s->scenes[i].nacts, diags);
	if (!s->nscenes)
		return 0;
	if (!(memo = calloc(s->nscenes, sizeof(*memo))))
		return -ENOMEM;
	for (size_t i = 0; i < s->nscenes; i++)
		if (rp_scene_depth(s, i, memo) < 0 && memo[i] != -2) {
			const struct rules_scene *sc = &s->scenes[i];

			diag_add(diags, sc->pos.file, sc->pos.line, sc->pos.col,
				 false,
				 "scene \"%s\" runs itself, or scenes more "
				 "than %d deep",
				 sc->name, RULES_SCENE_DEPTH);
			memo[i] = -2;
		}
	free(memo);
	return 0;
}

struct rules_set *rules_set_free(struct rules_set *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->nrules; i++)
		rules_rp_rule_clear(&s->rules[i]);
	free(s->rules);
	for (size_t i = 0; i < s->nscenes; i++)
		rules_rp_scene_clear(&s->scenes[i]);
	free(s->scenes);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
	return NULL;
}

const struct rules_rule *rules_find_rule(const struct rules_set *s,
					 const char *name)
{
	for (size_t i = 0; s && i < s->nrules; i++)
		if (strcmp(s->rules[i].name, name) == 0)
			return &s->rules[i];
	return NULL;
}

const struct rules_scene *rules_find_scene(const struct rules_set *s,
					   const char *name)
{
	for (size_t i = 0; s && i < s->nscenes; i++)
		if (strcmp(s->scenes[i].name, name) == 0)
			return &s->scenes[i];
	return NULL;
}

const char *rules_mode_name(enum rules_mode m)
{
	return (unsigned)m < 4 ? rules_mode_words[m] : "?";
}

const char *rules_cmp_name(enum rules_cmp c)
{
	return (unsigned)c < 6 ? rules_cmp_words[c] : "?";
}

/* Names against a known network. */

static void check_ref(const struct registry *reg, const struct rules_ref *ref,
		      const char *lit, const struct rules_pos *lit_pos,
		      struct diag_list *diags)
{
	struct registry_node *n;
	struct registry_value *v;
	struct value val;
	char err[128];
	int r;

	if (!ref->node)
		return;
	if (registry_find_node(reg, ref->node, &n) < 0) {
		diag_add(diags, ref->pos.file, ref->pos.line, ref->pos.col,
			 true, "no node \"%s\" in the network (yet)",
			 ref->node);
		return;
	}
	if (!ref->value)
		return;
	r = registry_find_value(n, ref->value, &v);
	if (r < 0) {
		diag_add(diags, ref->value_pos.file, ref->value_pos.line,
			 ref->value_pos.col, true,
			 r == -ENOTUNIQ ? "\"%s\" names more than one value of "
					  "node \"%s\""
					: "no value \"%s\" on node \"%s\"",
			 ref->value, ref->node);
		return;
	}
	if (lit && value_from_text(lit, &v->meta, &val, err, sizeof(err)) < 0)
		diag_add(diags, lit_pos->file, lit_pos->line, lit_pos->col,
			 true, "\"%s\" %s: %s", ref->node, ref->value, err);
	else if (lit)
		value_clear(&val);
}

static void check_cond(const struct registry *reg, const struct rules_cond *c,
		       struct diag_list *diags)
{
	if (!c)
		return;
	check_cond(reg, c->a, diags);
	check_cond(reg, c->b, diags);
	if (c->type == RULES_COND_VALUE || c->type == RULES_COND_NODE)
		check_ref(reg, &c->ref,
			  rules_cmp_is_ordered(c->cmp) ? NULL : c->lit,
			  &c->lit_pos, diags);
}

static void check_acts(const struct registry *reg,
		       const struct rules_action *acts, size_t n,
		       struct diag_list *diags)
{
	for (size_t i = 0; i < n; i++) {
		const struct rules_action *a = &acts[i];
		/* A value with $value in it is known only at run time. */
		const char *lit =
		    a->type == RULES_ACT_SET && !strchr(a->text, '$') ? a->text
								      : NULL;

		if (a->type == RULES_ACT_SET || a->type == RULES_ACT_REFRESH)
			check_ref(reg, &a->ref, lit, &a->text_pos, diags);
	}
}

void rules_check_names(const struct rules_set *s, const struct registry *reg,
		       struct diag_list *diags)
{
	for (size_t i = 0; s && i < s->nrules; i++) {
		const struct rules_rule *r = &s->rules[i];

		for (size_t k = 0; k < r->ntrigs; k++) {
			const struct rules_trigger *t = &r->trigs[k];

			check_ref(reg, &t->ref,
				  t->type == RULES_TRIG_BECOMES ? t->lit : NULL,
				  &t->lit_pos, diags);
		}
		check_cond(reg, r->cond, diags);
		check_acts(reg, r->acts, r->nacts, diags);
	}
	for (size_t i = 0; s && i < s->nscenes; i++)
		check_acts(reg, s->scenes[i].acts, s->scenes[i].nacts, diags);
}
