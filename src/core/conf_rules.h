/* SPDX-License-Identifier: MIT */
/*
 * conf_rules.h: the rules engine's statements of zwgate.conf(5) ("rule",
 * "scene", "every"), for the callers of conf_load that read rules:
 *	struct conf_load_opts o = { .statements = &conf_rules_statements };
 * The glue between conf and rules lives here, so that neither the config
 * parser knows the rules nor the rules know where they are read from.
 */
#ifndef ZWGATE_CONF_RULES_H
#define ZWGATE_CONF_RULES_H

#include "conf.h"

extern const struct conf_statements conf_rules_statements;
/* Options with those statements and nothing else. */
extern const struct conf_load_opts conf_rules_load_opts;

#endif
