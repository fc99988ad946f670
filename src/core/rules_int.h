/* SPDX-License-Identifier: MIT */
/*
 * rules_int.h: what the parts of the rules module share and nothing else
 * uses: the checks of what a rule publishes (rules_publish.c), the
 * loop guard (rules_guard.c), the parser's state and functions, which
 * its parts share (rules_parse.c, rules_parse_words.c,
 * rules_parse_cond.c, rules_parse_clause.c, rules_set.c), and the
 * engine's (rules.c, rules_match.c, rules_run.c, rules_timer.c,
 * rules_view.c).
 */
#ifndef ZWGATE_RULES_INT_H
#define ZWGATE_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lex.h"
#include "registry.h"
#include "rules.h"
#include "value.h"

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

/*
 * The parser (rules_parse.c and its parts): one function a construct,
 * each returning false after it reported an error (see rules_parse.c).
 */
#define RULES_RP_SHOW_MAX 128 /* a token as shown in a message */

struct rules_rp {
	struct rules_set *s;
	struct lexer *lx;
	struct diag_list *diags;
	const char *file; /* interned in s->files */
	int err;	  /* -ENOMEM */
	unsigned depth;	  /* of conditions */
	unsigned nconds;
	unsigned group; /* inside { } of conditions: newlines are blanks */
	bool in_braces;
	unsigned last_line, last_end; /* just after the last token read */
	struct token eol; /* what rules_rp_next gives at a newline */
};

/* The words of modes and comparisons, in the order of their enums. */
extern const char *const rules_mode_words[];
extern const char *const rules_cmp_words[];

/* rules_parse_words.c: tokens, errors, the words of the language */
int rules_rp_word_index(const char *const *words, const char *w);
bool rules_rp_is(const struct token *t, const char *w);
bool rules_rp_in(const struct token *t, const char *const *words);
/* A statement or clause ends here. */
bool rules_rp_at_end(const struct token *t);
const struct token *rules_rp_take(struct rules_rp *p);
/*
 * The next token of a clause, which ends at a newline (outside { } of
 * conditions): there, an end-of-line token is given, not consumed.
 */
const struct token *rules_rp_peek(struct rules_rp *p);
const struct token *rules_rp_next(struct rules_rp *p);
void rules_rp_error(struct rules_rp *p, unsigned line, unsigned col,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "expected WHAT after AFTER, not TOKEN" at t. */
bool rules_rp_expected(struct rules_rp *p, const struct token *t,
		       const char *what, const char *after);
bool rules_rp_oom(struct rules_rp *p);
struct rules_pos rules_rp_pos(const struct rules_rp *p, const struct token *t);
bool rules_rp_dup(struct rules_rp *p, const struct token *t, char **ret);
/* Skips what is left of a clause, with the { } blocks in it. */
void rules_rp_skip(struct rules_rp *p);
/* After a '{' was read: through its matching '}'. */
void rules_rp_skip_block(struct rules_rp *p);
/* "12", "-12.5": decimal only, as in zwgate.conf. */
bool rules_rp_number(const char *s, double *ret);
/* A duration token after `after`: 1 s to RULES_DURATION_MAX_S. */
bool rules_rp_duration(struct rules_rp *p, const char *after, long *ret);
/* A day list after `after`: "mon..fri", "sat,sun", "mon, wed". */
bool rules_rp_days_list(struct rules_rp *p, const char *after, uint8_t *ret);
/* 23:30, sunset, sunset -15m, dawn + 1h */
bool rules_rp_timepoint(struct rules_rp *p, const char *after,
			struct sched_spec *ret);
bool rules_rp_node_name(struct rules_rp *p, const struct token *t,
			const char *after, struct rules_ref *ref);
/* The value name after a node: "switch", "level", "currentValue". */
bool rules_rp_value_name(struct rules_rp *p, struct rules_ref *ref);
/* A value as written: a word or a string ("on", "40", "-12", "text"). */
bool rules_rp_literal(struct rules_rp *p, const char *after, bool numeric,
		      char **ret, struct rules_pos *pos);
/* is, is not, ==, !=, <, <=, >, >= */
bool rules_rp_cmp(struct rules_rp *p, const struct token *t,
		  enum rules_cmp *ret);
const char *rules_rp_lit_after(enum rules_cmp c);
/* Both a word pair: "goes dead", "is online" into *up. */
bool rules_rp_updown(struct rules_rp *p, const char *after, const char *up,
		     const char *down, bool *ret);

/* rules_parse_cond.c: conditions */
/* if: several are joined by "and". */
bool rules_rp_clause_if(struct rules_rp *p, struct rules_rule *r,
			const struct token *kw);

/* rules_parse_clause.c: triggers, actions, the other clauses */
bool rules_rp_trig_every(struct rules_rp *p, const struct token *kw,
			 struct rules_trigger *g);
/*
 * Actions separated by ';' or newlines.  In braces, a new line that starts
 * with an action word goes on; anything else ends the list (a clause
 * keyword, '}', or the end of an every-statement's line).
 */
bool rules_rp_actions_list(struct rules_rp *p, struct rules_action **acts,
			   size_t *n, bool nl);
struct rules_trigger *rules_rp_add_trig(struct rules_rp *p,
					struct rules_rule *r,
					const struct token *kw);
bool rules_rp_clause(struct rules_rp *p, struct rules_rule *r,
		     const struct token *kw);
/* A clause ends at a newline, ';' or '}'. */
bool rules_rp_clause_end(struct rules_rp *p, const char *what);

/* rules_set.c: freeing the parts of the tree */
void rules_rp_cond_free(struct rules_cond *c);
void rules_rp_act_clear(struct rules_action *a);
void rules_rp_rule_clear(struct rules_rule *r);
void rules_rp_scene_clear(struct rules_scene *sc);

/*
 * The engine's state (see rules.h, rules_engine_*).  Its timers are one
 * heap of monotonic deadlines (rules_timer.c); its triggers are indexed
 * by value pointer and node id (rules_match.c); runs go action by action
 * (rules_run.c).
 */
#define RULES_RT_SHOWN_MAX  128		   /* $node, a rule's place */
#define RULES_RT_VALUE_MAX  RULES_TEXT_MAX /* $value in JSON */
#define RULES_RT_RESULT_MAX 192

enum rules_rt_timer_type {
	RULES_RT_T_AT,
	RULES_RT_T_EVERY,
	RULES_RT_T_FOR,
	RULES_RT_T_WAIT
};

struct rules_rt_timer {
	uint64_t due;
	size_t idx; /* in the heap; SIZE_MAX: not armed */
	enum rules_rt_timer_type type;
	void *owner;
};

struct rules_rt_rule;

struct rules_rt_trig {
	const struct rules_trigger *t;
	struct rules_rt_rule *rule;
	struct rules_rt_timer timer;
	zwtime_t next_wall, last_fired; /* AT */
	char why[RULES_WHY_MAX];	/* AT without a next time; unresolved */
	struct registry_value *val;	/* resolved value, or NULL */
	int node;			/* resolved node id, or 0 */
	bool known, holds, dead;	/* last state seen */
	struct value last;		/* CHANGES: the value before */
	bool has_last;
	uint32_t for_chain; /* FOR: the chain of the report it waits on */
	bool for_feedback;  /* FOR: that report was a feedback */
	struct rules_rt_trig *next; /* in its index bucket */
};

struct rules_rt_frame {
	const struct rules_action *acts;
	size_t n, pc;
};

struct rules_rt_run {
	struct rules_engine *e;
	struct rules_rt_rule *rule; /* NULL: a scene run from outside */
	struct rules_rt_timer timer;
	struct rules_rt_frame stack[RULES_SCENE_DEPTH + 1];
	unsigned depth;
	bool started, failed;
	bool value_long; /* $value did not fit: not substituted */
	uint32_t chain;	 /* of the loop guard; 0: none */
	bool feedback;	 /* fired by a feedback: its writes are counted */
	char value[RULES_RT_VALUE_MAX], node[RULES_RT_SHOWN_MAX];
	char result[RULES_RT_RESULT_MAX];
	struct rules_rt_run *next;
};

struct rules_rt_rule {
	const struct rules_rule *r;
	struct rules_rt_trig *trigs;
	bool enabled;
	struct rules_rt_run *runs; /* started first, then queued */
	unsigned nruns;
	bool loop_paused; /* until enabled again or reloaded */
	char paused_why[RULES_WHY_MAX];
	zwtime_t last_run;
	char
	    last_result[RULES_RT_RESULT_MAX + 16]; /* "failed: " and a result */
	unsigned long runs_total, dropped;
};

struct rules_engine {
	const struct rules_set *set;
	struct registry *reg;
	const struct rules_actions *act;
	struct sched_loc loc;
	bool has_loc, cloud_online;
	struct rules_clock now;
	struct rules_rt_rule *rules;
	size_t nrules;
	struct rules_rt_trig **buckets; /* by registry_value pointer */
	size_t nbuckets;		/* a power of two */
	struct rules_rt_trig *by_node[ZW_NODE_MAX + 1];
	struct rules_rt_trig *other; /* cloud and start triggers */
	struct rules_rt_timer **heap;
	size_t nheap, capheap;
	struct rules_rt_run *scene_runs;
	struct rules_guard *guard;
	char *node_names[ZW_NODE_MAX + 1];	 /* as the index was built */
	const struct registry_value *gone_value; /* being removed */
	const struct registry_node *gone_node;
};

/* rules_run.c */
void rules_rt_log(struct rules_engine *e, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * A trigger fired, for a report of the loop guard's chain cause (0:
 * none), a feedback or not: conditions, the guard, mode, then a run.
 */
void rules_rule_fire(struct rules_engine *e, struct rules_rt_trig *g,
		     uint32_t cause, bool feedback);
/* A run of rr (NULL: a scene from outside) of acts[n]; NULL: no memory. */
struct rules_rt_run *rules_run_new(struct rules_engine *e,
				   struct rules_rt_rule *rr,
				   const struct rules_action *acts, size_t n);
void rules_run_begin(struct rules_rt_run *run);
/* Goes on until a wait or the end. */
void rules_run_step(struct rules_rt_run *run);
void rules_run_free(struct rules_engine *e, struct rules_rt_run *run);
/* Appends a run to the rule's list as its mode says; NULL: dropped. */
struct rules_rt_run *rules_rule_add_run(struct rules_engine *e,
					struct rules_rt_rule *rr);
void rules_rule_cancel_runs(struct rules_engine *e, struct rules_rt_rule *rr);

/* rules_match.c */
/* v in JSON; false when it did not fit (cut JSON is no value). */
bool rules_val_show(const struct value *v, const struct value_meta *meta,
		    char *buf, size_t len);
/* A node and value by name, as written in a rule. */
struct registry_value *rules_find_value(struct rules_engine *e,
					const struct rules_ref *ref,
					struct registry_node **node);
bool rules_cond_eval(struct rules_engine *e, const struct rules_cond *c);
/* Does the comparison of a value trigger hold now? */
bool rules_trig_holds(const struct rules_rt_trig *g);
/* Resolves every name again (see rules_match.c). */
void rules_index_build(struct rules_engine *e);

/* rules_timer.c */
void rules_timer_stop(struct rules_engine *e, struct rules_rt_timer *t);
/* Arms (or moves) t; false only when memory ran out (then logged). */
bool rules_timer_start(struct rules_engine *e, struct rules_rt_timer *t,
		       uint64_t due);
/* Plans the next firing of an AT trigger after max(now, the last one). */
void rules_at_plan(struct rules_engine *e, struct rules_rt_trig *g);

/* rules.c */
struct rules_rt_rule *rules_rule_by_name(const struct rules_engine *e,
					 const char *name);

#endif
