/* SPDX-License-Identifier: MIT */
/*
 * automation.h: the rules engine (rules.h) on zwgated's loop.  One timer
 * for the engine's next deadline, a timerfd that reports wall-clock jumps,
 * the registry followed as a listener, actions sent to the backend, the
 * cloud's outbox and the journal; enabled/disabled rules kept in
 * <state-dir>/rules.json.  Daemon-side: logs what goes wrong.
 */
#ifndef ZWGATE_AUTOMATION_H
#define ZWGATE_AUTOMATION_H

#include <stdbool.h>

#include <jansson.h>

struct daemon;
struct conf;
struct diag_list;
struct automation;

#define AUTOMATION_STATE_FILE "rules.json"
#define AUTOMATION_POLL_MS    2000 /* cloud state and clock trust */

/* After the registry, the backend and the cloud.  0 or -errno, logged. */
int automation_start(struct daemon *d, struct automation **ret);
/*
 * The rules of c (the config being swapped in) replace the running ones,
 * keeping enabled flags and history by rule name.  Call before the old
 * config is freed.  0 or -ENOMEM (the old rules then go on).
 */
int automation_reload(struct automation *a, struct conf *c);
/* Warnings in diags for names in c's rules the network does not know. */
void automation_check(struct automation *a, const struct conf *c,
		      struct diag_list *diags);
/* Close the handles; freed once the loop has closed them.  NULL ok. */
void automation_stop(struct automation *a);

/* For the API: -ENOENT for an unknown name. */
json_t *automation_rules_json(struct automation *a);
json_t *automation_rule_json(struct automation *a, const char *name);
int automation_run(struct automation *a, const char *name);
int automation_scene(struct automation *a, const char *name);
int automation_enable(struct automation *a, const char *name, bool on);

#endif
