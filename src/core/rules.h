/* SPDX-License-Identifier: MIT */
/*
 * rules.h: zwgate.rules(5), the language of local automation, parsed into
 * a tree that the engine (rules_engine_*) runs.
 *
 * The statements "rule", "scene" and "every" are read by conf's parser
 * through conf_rules_statements (conf_rules.c calls rules_parse_statement)
 * and kept in struct conf, so a reload with a bad rule file keeps the old
 * config and its rules.  Names
 * of nodes and values are kept as written, with their positions, and are
 * resolved against the registry later (the registry changes at run time).
 */
#ifndef ZWGATE_RULES_H
#define ZWGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "diag.h"
#include "lex.h"
#include "sched.h"

struct conf;

#define RULES_MAX	     10000 /* rules (with every-statements) */
#define RULES_SCENES_MAX     1000
#define RULES_TRIGGERS_MAX   32	  /* at, every and when clauses of a rule */
#define RULES_ACTIONS_MAX    64	  /* actions of one rule or scene */
#define RULES_COND_MAX	     64	  /* comparisons in the conditions of a rule */
#define RULES_COND_DEPTH     16	  /* nesting of { } and not in conditions */
#define RULES_NAME_MAX	     64	  /* bytes of a rule or scene name */
#define RULES_TOPIC_MAX	     256  /* bytes of a publish topic */
#define RULES_TEXT_MAX	     1024 /* bytes of a payload or a log line */
#define RULES_DURATION_MAX_S (7L * 86400) /* wait, for and every */
#define RULES_RUNS_DEFAULT   10 /* queued or parallel runs of a rule */
#define RULES_RUNS_MAX	     100
#define RULES_SCENE_DEPTH    8 /* scenes running scenes */
#define RULES_CATCH_UP_MAX_S 86400

/* Where something was written; file points into rules_set.files. */
struct rules_pos {
	const char *file;
	unsigned line, col;
};

/* "porch" switch: a node and one of its values, or a node alone. */
struct rules_ref {
	char *node;
	char *value; /* NULL: the node itself (dead/alive) */
	struct rules_pos pos, value_pos;
};

enum rules_cmp {
	RULES_EQ, /* is, == */
	RULES_NE, /* is not, != */
	RULES_LT,
	RULES_LE,
	RULES_GT,
	RULES_GE,
};

enum rules_trig_type {
	RULES_TRIG_AT,	    /* at 7:00 on mon..fri, at sunset -15m */
	RULES_TRIG_EVERY,   /* every 15m */
	RULES_TRIG_BECOMES, /* when REF becomes LIT: the value turns equal */
	RULES_TRIG_CHANGES, /* when REF changes */
	RULES_TRIG_CMP,	    /* when REF > LIT: the comparison turns true */
	RULES_TRIG_NODE,    /* when "x" goes dead / alive */
	RULES_TRIG_CLOUD,   /* when cloud goes offline / online */
	RULES_TRIG_START,   /* when gateway starts */
};

struct rules_trigger {
	enum rules_trig_type type;
	struct rules_pos pos;
	struct rules_ref ref; /* BECOMES, CHANGES, CMP, NODE */
	enum rules_cmp cmp;   /* CMP (BECOMES is EQ) */
	char *lit;	      /* BECOMES, CMP: the value as written */
	struct rules_pos lit_pos;
	long for_s;	      /* BECOMES, CMP: must hold this long; 0 */
	bool up;	      /* NODE: alive; CLOUD: online */
	struct sched_spec at; /* AT */
	long every_s;	      /* EVERY */
};

enum rules_cond_type {
	RULES_COND_AND,
	RULES_COND_OR,
	RULES_COND_NOT,
	RULES_COND_VALUE, /* REF op LIT */
	RULES_COND_NODE,  /* "x" is alive / dead */
	RULES_COND_TIME,  /* time between A and B, after A, before B */
	RULES_COND_DAY,	  /* day is mon..fri */
	RULES_COND_SUN,	  /* sun is up / down */
	RULES_COND_CLOUD, /* cloud is online / offline */
};

struct rules_cond {
	enum rules_cond_type type;
	struct rules_pos pos;
	struct rules_cond *a, *b; /* AND, OR: both; NOT: a */
	struct rules_ref ref;	  /* VALUE, NODE */
	enum rules_cmp cmp;	  /* VALUE */
	char *lit;		  /* VALUE */
	struct rules_pos lit_pos;
	/* TIME: from..to (may cross midnight); has_from/has_to for
	 * "after" and "before".  Only kind, seconds, sun, offset_s. */
	struct sched_spec from, to;
	bool has_from, has_to;
	uint8_t weekdays; /* DAY */
	bool up;	  /* NODE: alive; SUN: up; CLOUD: online */
};

enum rules_act_type {
	RULES_ACT_SET,	   /* set REF LIT */
	RULES_ACT_SCENE,   /* run "scene" */
	RULES_ACT_WAIT,	   /* wait DURATION */
	RULES_ACT_REFRESH, /* refresh "node" */
	RULES_ACT_PUBLISH, /* publish "topic" "payload" */
	RULES_ACT_LOG,	   /* log "text" */
};

struct rules_action {
	enum rules_act_type type;
	struct rules_pos pos;
	struct rules_ref ref; /* SET, REFRESH (node only) */
	char *text;	      /* SET: the value; SCENE: its name; PUBLISH:
			       * the topic; LOG: the line */
	struct rules_pos text_pos;
	char *payload; /* PUBLISH; $value, $node, $rule are replaced */
	long wait_s;   /* WAIT */
};

enum rules_mode {
	RULES_MODE_SINGLE,   /* a run in progress ignores new triggers */
	RULES_MODE_RESTART,  /* a new trigger cancels the run, starts anew */
	RULES_MODE_QUEUED,   /* runs one after the other, at most max_runs */
	RULES_MODE_PARALLEL, /* runs side by side, at most max_runs */
};

struct rules_rule {
	char *name;
	struct rules_pos pos;
	struct rules_trigger *trigs;
	size_t ntrigs;
	struct rules_cond *cond; /* NULL: always */
	struct rules_action *acts;
	size_t nacts;
	enum rules_mode mode;
	unsigned max_runs;
	long catch_up_s; /* a schedule missed by this much runs once */
	bool anonymous;	 /* an every-statement: named after its place */
};

struct rules_scene {
	char *name;
	struct rules_pos pos;
	struct rules_action *acts;
	size_t nacts;
};

struct rules_set {
	struct rules_rule *rules;
	size_t nrules, caprules;
	struct rules_scene *scenes;
	size_t nscenes, capscenes;
	char **files; /* names as shown in diagnostics */
	size_t nfiles;
};

/*
 * The parser of the statements "rule", "scene" and "every" (registered
 * into conf by conf_rules.c): reads one statement into c->rules.
 */
int rules_parse_statement(struct conf *c, struct lexer *lx,
			  const struct token *kw, const char *dir,
			  struct diag_list *diags);

/*
 * Checks that need every file read: scenes named by "run" exist and do
 * not run themselves.  Called by conf once the whole config was read.
 * 0, or -ENOMEM when the checks could not all be made (the config must
 * then not load: a scene loop would go unseen).
 */
int rules_validate(const struct rules_set *s, struct diag_list *diags);

struct rules_set *rules_set_free(struct rules_set *s);

/*
 * Warnings for names of nodes and values (and values written) that the
 * network does not have, at their positions: for a reload, when the
 * registry is known.  A missing node may come later, so not errors.
 */
struct registry;
void rules_check_names(const struct rules_set *s, const struct registry *reg,
		       struct diag_list *diags);

/* <, <=, >, >=: compared as numbers. */
static inline bool rules_cmp_is_ordered(enum rules_cmp c)
{
	return c != RULES_EQ && c != RULES_NE;
}

const struct rules_rule *rules_find_rule(const struct rules_set *s,
					 const char *name);
const struct rules_scene *rules_find_scene(const struct rules_set *s,
					   const char *name);

/* Words for the CLI and logs: "restart", "is", ">=", "sunset". */
const char *rules_mode_name(enum rules_mode m);
const char *rules_cmp_name(enum rules_cmp c);

/*
 * The engine (rules.c and its parts, see rules_int.h): runs a rules_set
 * against the registry.  Pure C: the caller passes the time in (wall
 * clock in seconds since the epoch, monotonic in ms), arms one timer for
 * rules_engine_next_deadline() and calls rules_engine_tick() when it
 * expires.  Actions go out through struct rules_actions, which returns
 * 0 or -errno.
 */
#define RULES_ECHO_MS	     5000  /* a change this soon after a rule's set */
#define RULES_LOOP_MAX	     10	   /* firings of a rule in one chain... */
#define RULES_LOOP_WINDOW_MS 60000 /* ...in this long: more is a loop */
/*
 * The backstop of the loop guard, whatever the chain: writes of one value
 * by rules fired by a report of a node that a rule wrote within
 * RULES_RATE_WINDOW_MS (a feedback).  More than RULES_RATE_SHORT_MAX in
 * RULES_RATE_SHORT_MS (3 a second: a fast loop, faster than any hand or
 * sensor), or more than RULES_RATE_MAX in RULES_RATE_WINDOW_MS (one every
 * 10 s for 10 minutes: a loop through a slow echo) is a loop.  A motion
 * light, a thermostat that follows a sensor, a schedule count nothing:
 * they are fired by another node, or by time.  What counts is a rule
 * that writes the node it watches (a lock relocked, a switch kept on) or
 * two that keep two switches alike: they write at the pace of a hand or
 * of the device's own reports; a light in its motion sensor's own node,
 * on and off at motion every 20 s for ever, writes 60 in 10 minutes.
 */
#define RULES_RATE_SHORT_MAX 30
#define RULES_RATE_SHORT_MS  10000
#define RULES_RATE_MAX	     60
#define RULES_RATE_WINDOW_MS 600000
#define RULES_TIMER_MAX_MS   60000 /* schedules recheck the wall clock */
#define RULES_WHY_MAX	     160
#define RULES_NO_DEADLINE    UINT64_MAX

struct registry_event;
struct registry_value;
struct value;
struct rules_engine;

struct rules_actions {
	int (*set_value)(void *ctx, const struct registry_value *v,
			 const struct value *val);
	int (*publish)(void *ctx, const char *topic, const char *payload);
	int (*refresh)(void *ctx, unsigned node);
	void (*log)(void *ctx, int prio, const char *msg); /* syslog prio */
	void *ctx;
};

struct rules_clock {
	zwtime_t wall; /* seconds since the epoch, 64 bits */
	uint64_t mono; /* ms, any origin */
	bool trusted;  /* see sched_clock_trusted */
};

/*
 * loc NULL: no location (sun schedules and conditions then never hold).
 * The set, registry and actions must outlive the engine.  0 or -ENOMEM.
 */
int rules_engine_new(const struct rules_set *set, struct registry *reg,
		     const struct rules_actions *act,
		     const struct sched_loc *loc, struct rules_engine **ret);
struct rules_engine *rules_engine_free(struct rules_engine *e);

/* Takes over enabled flags and history of rules of the same name. */
void rules_engine_adopt(struct rules_engine *e, const struct rules_engine *old);

/* Resolves names, plans schedules; fires "gateway starts" when boot. */
void rules_engine_start(struct rules_engine *e, const struct rules_clock *now,
			bool boot);
/* A registry event (registry_listen). */
void rules_engine_event(struct rules_engine *e, const struct registry_event *ev,
			const struct rules_clock *now);
/* Runs what is due. */
void rules_engine_tick(struct rules_engine *e, const struct rules_clock *now);
/* Monotonic ms of the next thing to do, or RULES_NO_DEADLINE. */
uint64_t rules_engine_next_deadline(const struct rules_engine *e);
/* The wall clock jumped, or became trusted: plan schedules again. */
void rules_engine_clock_jump(struct rules_engine *e,
			     const struct rules_clock *now);
void rules_engine_cloud(struct rules_engine *e, bool online,
			const struct rules_clock *now);

/*
 * By name: 0, -ENOENT; run ignores triggers and conditions.  Enabling a
 * rule also ends its pause for a loop (see rules_int.h, the loop guard).
 */
int rules_engine_run(struct rules_engine *e, const char *name,
		     const struct rules_clock *now);
int rules_engine_scene(struct rules_engine *e, const char *name,
		       const struct rules_clock *now);
int rules_engine_enable(struct rules_engine *e, const char *name, bool on);
/* 1: enabled, 0: disabled, -ENOENT. */
int rules_engine_enabled(const struct rules_engine *e, const char *name);

/* [{"name","enabled","paused","next","last_run","last_result","waiting",
 * ...}]: waiting says why a paused rule is ("paused: loop with rule ...") */
json_t *rules_engine_json(const struct rules_engine *e,
			  const struct rules_clock *now);
/* One rule with its clauses as text: NULL when there is none. */
json_t *rules_engine_rule_json(const struct rules_engine *e, const char *name,
			       const struct rules_clock *now);
/* {"disabled": [names]}: what is persisted; load applies it. */
json_t *rules_engine_state_json(const struct rules_engine *e);
void rules_engine_load_state(struct rules_engine *e, const json_t *state);

#endif
