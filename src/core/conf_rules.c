/* SPDX-License-Identifier: MIT */
/*
 * conf_rules.c: the rules engine's statements, as conf_load takes them:
 * rules_parse_statement reads them into c->rules, rules_validate checks
 * them once the whole config was read, rules_set_free frees them.
 */
#include "config.h"

#include <stddef.h>

#include "conf.h"
#include "conf_rules.h"
#include "rules.h"

static const char *const conf_rules_keywords[] = { "rule", "scene", "every",
						   NULL };

static int conf_rules_validate(const struct conf *c, struct diag_list *diags)
{
	return rules_validate(c->rules, diags);
}

static void conf_rules_free(struct conf *c)
{
	c->rules = rules_set_free(c->rules);
}

const struct conf_statements conf_rules_statements = {
	.keywords = conf_rules_keywords,
	.parse = rules_parse_statement,
	.validate = conf_rules_validate,
	.free = conf_rules_free,
};

const struct conf_load_opts conf_rules_load_opts = {
	.statements = &conf_rules_statements,
};
