/* SPDX-License-Identifier: MIT */
/*
 * rules_int.h: what the parts of the rules module share and nothing else
 * uses: the checks of what a rule publishes (rules_publish.c) and the
 * loop guard (rules_guard.c).
 */
#ifndef ZWGATE_RULES_INT_H
#define ZWGATE_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a rule may publish (rules_publish.c).
 *
 * A publish topic is relative to <topic-prefix>/<gateway-id>/ and must
 * stay a topic of the rule's own: no empty, "." or ".." level, no
 * leading or trailing '/', no wildcard, no '$', no control character,
 * and none of the gateway's own topics of zwgate.conf(5), MQTT TOPICS:
 * no first level of the contract (RULES_TOPIC_RESERVED) and no last
 * level "set", which is how every command to a gateway ends.  0, or
 * -EINVAL with why.
 */
int rules_topic_check(const char *topic, char *why, size_t len);

/* What $value, $node and $rule stand for in one run. */
struct rules_subst {
	const char *value; /* the value in JSON ("on" quoted, 21.5); NULL:
			    * too long to be substituted */
	const char *node;  /* a name, as is */
	const char *rule;
};

/*
 * in with $value, $node and $rule replaced, into out (len bytes).  With
 * json (a publish payload that begins with '{', '[' or '"'), each lands
 * escaped for where it is: inside a JSON string as the string's escaped
 * text, elsewhere as a JSON value ($node and $rule as strings), so no
 * name or value can end a string or add a key.  Otherwise (a log line,
 * a value to set, a payload of plain text) names are put as they are and
 * $value as JSON.  0; -E2BIG when the result does not fit (nothing is
 * to be sent then: a cut JSON text could change meaning); -EOVERFLOW
 * when $value is used and too long.
 */
int rules_expand(const char *in, const struct rules_subst *s, bool json,
		 char *out, size_t len);

/* Does a publish payload read as JSON for rules_expand? */
bool rules_payload_is_json(const char *payload);

/*
 * The loop guard (rules_guard.c): it follows chains of causes.  A rule
 * that fires for a report no rule caused (a device, a schedule, the
 * cloud) starts a new chain; its run's writes and refreshes are noted
 * with the chain, and the first report of a value a rule of the chain
 * wrote (or any of a node it refreshed) within RULES_ECHO_MS belongs to
 * that chain, and so do the rules it fires.  A chain that
 * fires one rule more than RULES_LOOP_MAX times within
 * RULES_LOOP_WINDOW_MS is a loop: through one rule or any number.
 * Chains are 32-bit ids, 0 meaning none; rules are the engine's indexes.
 */
#define RULES_GUARD_CHAINS 32  /* chains followed at once */
#define RULES_GUARD_RULES  16  /* rules followed in one chain */
#define RULES_GUARD_WRITES 256 /* recent writes kept for their reports */
#define RULES_RATE_NODES   32  /* nodes written lately, for feedback */
#define RULES_RATE_VALUES  32  /* values whose write rate is followed */

struct rules_guard;

int rules_guard_new(struct rules_guard **ret); /* 0 or -ENOMEM */
struct rules_guard *rules_guard_free(struct rules_guard *g);

/* A run of chain wrote value v of node (stable pointers) at now (ms). */
void rules_guard_wrote(struct rules_guard *g, const void *v, const void *node,
		       uint32_t chain, uint64_t now);
/* A run of chain asked node (a stable pointer) for its values. */
void rules_guard_refreshed(struct rules_guard *g, const void *node,
			   uint32_t chain, uint64_t now);
/*
 * A report of value v of node at now: the chain it belongs to, 0: none.
 * Called for every report, since the first one after a write answers it.
 */
uint32_t rules_guard_report(struct rules_guard *g, const void *v,
			    const void *node, uint64_t now);
/*
 * Rule number rule fires for cause (0: a new chain).  Returns the chain
 * of its run.  *loop is set when the chain loops: then the rules in the
 * loop (those it fired more than once, and rule) are in rules[*n], at
 * most max of them, and the chain is ended.
 */
uint32_t rules_guard_fire(struct rules_guard *g, uint32_t cause, size_t rule,
			  uint64_t now, bool *loop, size_t *rules, size_t max,
			  size_t *n);
/*
 * For the rules names[n] of a loop: what names[self] waits for
 * ("paused: loop with rule \"B\"", "paused: it triggers itself"), and
 * the journal's line.  Cut with ", ..." to fit len.
 */
void rules_guard_why(const char *const *names, size_t n, size_t self, char *buf,
		     size_t len);
void rules_guard_message(const char *const *names, size_t n, char *buf,
			 size_t len);
/*
 * The backstop, which needs no chain: chains are lost when an echo is
 * late, when a stale report comes first, when a rule watches another
 * value of the node it wrote or when too many chains run at once.
 *
 * Is a report of node (or its status) a feedback: did a rule write a
 * value of node within RULES_RATE_WINDOW_MS?  Any report, any value.
 */
bool rules_guard_feedback(struct rules_guard *g, const void *node,
			  uint64_t now);
/*
 * Rule number rule, fired by a feedback, is about to write value v at
 * now.  true: it may.  false: that write would be one too many (see
 * RULES_RATE_MAX); it is not to be made, the rules that wrote v for a
 * feedback within the window are in rules[*n] (rule first, at most max)
 * and the count of v starts again.
 */
bool rules_guard_rate(struct rules_guard *g, const void *v, size_t rule,
		      uint64_t now, size_t *rules, size_t max, size_t *n);
/*
 * For the rules names[n] that write what ("node 8's switch") too
 * often: what names[self] waits for and the journal's line.
 */
void rules_guard_rate_why(const char *const *names, size_t n, size_t self,
			  const char *what, char *buf, size_t len);
void rules_guard_rate_message(const char *const *names, size_t n,
			      const char *what, char *buf, size_t len);
/* v is gone: its pointer may come back as another value. */
void rules_guard_forget(struct rules_guard *g, const void *v);

#endif
