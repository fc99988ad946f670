/* SPDX-License-Identifier: MIT */
/*
 * rules_guard.c: the loop guard of the rules engine (see rules_int.h).
 *
 * A report carries no mark of who caused it, so the first report of a
 * value after a rule wrote it, less than RULES_ECHO_MS later, is taken
 * as the write's answer (a backend answers within a second or two), and
 * the reports of a node after a rule refreshed it.  Only the first: a
 * report after that is someone else's (a user at the switch, a device),
 * so that two rules that keep two switches alike are no loop however
 * fast the user toggles one.
 * Counting firings per chain, not per rule, is what catches a loop
 * through several rules, and what keeps a busy but straight chain (a
 * motion sensor that turns a light on and off through two rules, a
 * schedule, A then B then C) from ever counting as one: each of its
 * rules fires once a chain.
 *
 * Chains are lost all the same: a stale report first answers the write,
 * a rule watches another value of the node written, an answer is later
 * than RULES_ECHO_MS.  So the backstop follows no chain: a rule fired by
 * any report of a node that a rule wrote lately is in a feedback, and
 * its writes are counted per value (a loop writes one value again and
 * again; per node, a scene that writes five values of one device would
 * count five times).  Rules fired by a sensor or a clock never count.
 * Everything is in fixed tables: the guard costs the same however many
 * rules there are, and forgets the oldest, the least busy first.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"

struct rg_member {
	size_t rule;
	unsigned n; /* firings in the chain's current window */
};

struct rg_chain {
	uint32_t id;	/* 0: a free slot */
	uint64_t since; /* the window's start */
	uint64_t last;	/* last firing: the oldest is reused */
	struct rg_member m[RULES_GUARD_RULES];
	size_t nm;
};

struct rg_write {
	const void *v;
	uint32_t chain; /* 0: answered, or forgotten */
	uint64_t at;
	bool once; /* a write: its first report answers it */
};

/* A write of a value by a rule fired by a feedback. */
struct rg_rate_write {
	uint64_t at;
	size_t rule;
};

/* The last RULES_RATE_MAX such writes of a value, a ring. */
struct rg_rate {
	const void *v; /* NULL: a free slot */
	size_t n, next;
	struct rg_rate_write w[RULES_RATE_MAX];
};

struct rg_node {
	const void *node; /* NULL: a free slot */
	uint64_t at;	  /* a rule's last write of one of its values */
};

#define RG_HASH_BITS 6

struct rules_guard {
	struct rg_chain chains[RULES_GUARD_CHAINS];
	struct rg_write writes[RULES_GUARD_WRITES]; /* a ring */
	size_t nwrites;
	uint32_t next_id;
	/* Live entries of the ring by a hash of v: a report of a value no
	 * rule touched (nearly all of them) costs one look, not a scan. */
	uint16_t live[1u << RG_HASH_BITS];
	struct rg_node nodes[RULES_RATE_NODES];
	struct rg_rate rates[RULES_RATE_VALUES];
	uint64_t last_write; /* of any rule, of any node; 0: none */
};

static size_t rg_hash(const void *v)
{
	/* Fibonacci hashing: allocations share their low bits. */
	return (size_t)(((uint64_t)(uintptr_t)v * 0x9e3779b97f4a7c15ULL) >>
			(64 - RG_HASH_BITS));
}

/* An entry of the ring is answered, forgotten or overwritten. */
static void slot_clear(struct rules_guard *g, struct rg_write *w)
{
	if (w->chain)
		g->live[rg_hash(w->v)]--;
	*w = (struct rg_write){ 0 };
}

int rules_guard_new(struct rules_guard **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct rules_guard *rules_guard_free(struct rules_guard *g)
{
	free(g);
	return NULL;
}

static void note(struct rules_guard *g, const void *v, uint32_t chain,
		 uint64_t now, bool once)
{
	struct rg_write *w;

	if (!chain)
		return;
	w = &g->writes[g->nwrites++ % RULES_GUARD_WRITES];
	slot_clear(g, w);
	*w = (struct rg_write){ v, chain, now, once };
	g->live[rg_hash(v)]++;
}

/* A slot of the table of nodes written lately: its own, a free one, or
 * the one written the longest ago. */
static struct rg_node *node_slot(struct rules_guard *g, const void *node)
{
	struct rg_node *o = &g->nodes[0];

	for (size_t i = 0; i < RULES_RATE_NODES; i++) {
		if (g->nodes[i].node == node)
			return &g->nodes[i];
		if (o->node && (!g->nodes[i].node || g->nodes[i].at < o->at))
			o = &g->nodes[i];
	}
	return o;
}

void rules_guard_wrote(struct rules_guard *g, const void *v, const void *node,
		       uint32_t chain, uint64_t now)
{
	struct rg_node *s;

	note(g, v, chain, now, true);
	if (!node)
		return;
	s = node_slot(g, node);
	*s = (struct rg_node){ node, now };
	g->last_write = now;
}

void rules_guard_refreshed(struct rules_guard *g, const void *node,
			   uint32_t chain, uint64_t now)
{
	note(g, node, chain, now, false);
}

uint32_t rules_guard_report(struct rules_guard *g, const void *v,
			    const void *node, uint64_t now)
{
	size_t n =
	    g->nwrites < RULES_GUARD_WRITES ? g->nwrites : RULES_GUARD_WRITES;
	struct rg_write *first = NULL, *refresh = NULL;
	uint32_t chain;

	if (!g->live[rg_hash(v)] && (!node || !g->live[rg_hash(node)]))
		return 0;

	/* Newest first, down to RULES_ECHO_MS ago; the oldest write not
	 * answered yet is the one this report answers (two writes of a
	 * value, off then on, are answered in their order). */
	for (size_t k = 1; k <= n; k++) {
		struct rg_write *w =
		    &g->writes[(g->nwrites - k) % RULES_GUARD_WRITES];

		if (!w->chain)
			continue;
		if (now - w->at > RULES_ECHO_MS)
			break; /* older ones are older still */
		if (w->once && w->v == v)
			first = w;
		else if (!w->once && node && w->v == node && !refresh)
			refresh = w;
	}
	if (first) {
		chain = first->chain;
		slot_clear(g, first);
		return chain;
	}
	return refresh ? refresh->chain : 0;
}

void rules_guard_forget(struct rules_guard *g, const void *v)
{
	for (size_t k = 0; k < RULES_GUARD_WRITES; k++)
		if (g->writes[k].v == v)
			slot_clear(g, &g->writes[k]);
	for (size_t k = 0; k < RULES_RATE_NODES; k++)
		if (g->nodes[k].node == v)
			g->nodes[k] = (struct rg_node){ 0 };
	for (size_t k = 0; k < RULES_RATE_VALUES; k++)
		if (g->rates[k].v == v)
			g->rates[k].v = NULL;
}

bool rules_guard_feedback(struct rules_guard *g, const void *node, uint64_t now)
{
	/* Nearly every report: no rule wrote anything lately. */
	if (!node || !g->last_write ||
	    now - g->last_write > RULES_RATE_WINDOW_MS)
		return false;
	for (size_t i = 0; i < RULES_RATE_NODES; i++)
		if (g->nodes[i].node == node)
			return now - g->nodes[i].at <= RULES_RATE_WINDOW_MS;
	return false;
}

/* Writes of ring r at most ms before now. */
static size_t rate_since(const struct rg_rate *r, uint64_t now, uint64_t ms)
{
	size_t c = 0;

	for (size_t i = 0; i < r->n; i++)
		c += now - r->w[i].at <= ms;
	return c;
}

/* When ring r was last written; 0: never. */
static uint64_t rate_last(const struct rg_rate *r)
{
	return r->v && r->n
		   ? r->w[(r->next + RULES_RATE_MAX - 1) % RULES_RATE_MAX].at
		   : 0;
}

/*
 * The ring of v: its own, a free one, else the one with the fewest
 * writes in the window (a loop's has many), the oldest of those.
 */
static struct rg_rate *rate_slot(struct rules_guard *g, const void *v,
				 uint64_t now)
{
	struct rg_rate *o = NULL;
	size_t on = 0;

	for (size_t i = 0; i < RULES_RATE_VALUES; i++) {
		struct rg_rate *r = &g->rates[i];
		size_t c;

		if (r->v == v)
			return r;
		c = r->v ? rate_since(r, now, RULES_RATE_WINDOW_MS) : 0;
		if (!o || c < on || (c == on && rate_last(r) < rate_last(o))) {
			o = r;
			on = c;
		}
	}
	o->v = v;
	o->n = o->next = 0;
	return o;
}

bool rules_guard_rate(struct rules_guard *g, const void *v, size_t rule,
		      uint64_t now, size_t *rules, size_t max, size_t *n)
{
	struct rg_rate *r = rate_slot(g, v, now);

	*n = 0;
	/* This write would be one more than either limit allows. */
	if (rate_since(r, now, RULES_RATE_SHORT_MS) + 1 <=
		RULES_RATE_SHORT_MAX &&
	    rate_since(r, now, RULES_RATE_WINDOW_MS) + 1 <= RULES_RATE_MAX) {
		r->w[r->next] = (struct rg_rate_write){ now, rule };
		r->next = (r->next + 1) % RULES_RATE_MAX;
		if (r->n < RULES_RATE_MAX)
			r->n++;
		return true;
	}
	if (max)
		rules[(*n)++] = rule;
	for (size_t i = 0; i < r->n; i++) {
		size_t k;

		if (now - r->w[i].at > RULES_RATE_WINDOW_MS)
			continue;
		for (k = 0; k < *n && rules[k] != r->w[i].rule; k++)
			;
		if (k == *n && *n < max)
			rules[(*n)++] = r->w[i].rule;
	}
	r->v = NULL;
	return false;
}

static struct rg_chain *chain_find(struct rules_guard *g, uint32_t id)
{
	for (size_t i = 0; id && i < RULES_GUARD_CHAINS; i++)
		if (g->chains[i].id == id)
			return &g->chains[i];
	return NULL;
}

/* The most firings of one rule in chain c's window: 1 in a straight one. */
static unsigned chain_most(const struct rg_chain *c)
{
	unsigned most = 0;

	for (size_t i = 0; i < c->nm; i++)
		if (c->m[i].n > most)
			most = c->m[i].n;
	return most;
}

/*
 * A slot for chain id: a free one, else one that waits for no answer to
 * a write (it cannot go on), of those the one whose rules fired the
 * fewest times, of those the one idle the longest.  So a looping chain
 * outlives a crowd of new ones (a sensor that fires a rule that logs, 40
 * times a second), which would otherwise end it and its counts with it.
 */
static struct rg_chain *chain_new(struct rules_guard *g, uint32_t id,
				  uint64_t now)
{
	struct rg_chain *c = NULL, *o;
	bool waits[RULES_GUARD_CHAINS] = { false };
	unsigned cm = 0, m;
	size_t i, ci = 0;

	for (i = 0; i < RULES_GUARD_CHAINS; i++)
		if (!g->chains[i].id) {
			c = &g->chains[i];
			goto done;
		}
	/* Full: a chain with a write still to be answered goes on. */
	for (size_t k = 0; k < RULES_GUARD_WRITES; k++) {
		const struct rg_write *w = &g->writes[k];

		if (!w->chain || now - w->at > RULES_ECHO_MS)
			continue; /* none, or answered by nothing now */
		for (i = 0; i < RULES_GUARD_CHAINS; i++)
			if (g->chains[i].id == w->chain) {
				waits[i] = true;
				break;
			}
	}
	for (i = 0; i < RULES_GUARD_CHAINS; i++) {
		o = &g->chains[i];
		m = chain_most(o);
		if (!c || waits[i] < waits[ci] ||
		    (waits[i] == waits[ci] &&
		     (m < cm || (m == cm && o->last < c->last)))) {
			c = o;
			ci = i;
			cm = m;
		}
	}
done:
	*c = (struct rg_chain){ .id = id, .since = now, .last = now };
	return c;
}

/* The chain's count of rule; NULL when the chain follows too many. */
static struct rg_member *chain_member(struct rg_chain *c, size_t rule)
{
	size_t i, low = 0;

	for (i = 0; i < c->nm; i++)
		if (c->m[i].rule == rule)
			return &c->m[i];
	if (c->nm < RULES_GUARD_RULES) {
		c->m[c->nm] = (struct rg_member){ rule, 0 };
		return &c->m[c->nm++];
	}
	/* Full: a rule seen once is no part of a loop (yet). */
	for (i = 1; i < c->nm; i++)
		if (c->m[i].n < c->m[low].n)
			low = i;
	if (c->m[low].n > 1)
		return NULL;
	c->m[low] = (struct rg_member){ rule, 0 };
	return &c->m[low];
}

static void chain_end(struct rules_guard *g, struct rg_chain *c)
{
	for (size_t k = 0; k < RULES_GUARD_WRITES; k++)
		if (g->writes[k].chain == c->id)
			slot_clear(g, &g->writes[k]);
	*c = (struct rg_chain){ 0 };
}

uint32_t rules_guard_fire(struct rules_guard *g, uint32_t cause, size_t rule,
			  uint64_t now, bool *loop, size_t *rules, size_t max,
			  size_t *n)
{
	struct rg_chain *c = chain_find(g, cause);
	struct rg_member *m;
	uint32_t id;

	*loop = false;
	*n = 0;
	if (!c) {
		if (!(id = cause)) {
			if (!++g->next_id)
				++g->next_id; /* 0 means none */
			id = g->next_id;
		}
		c = chain_new(g, id, now);
	}
	c->last = now;
	if (now - c->since > RULES_LOOP_WINDOW_MS) {
		/* A new window: a slow cycle (a pump run every hour by two
		 * rules) is meant, and never reaches the limit. */
		c->since = now;
		for (size_t i = 0; i < c->nm; i++)
			c->m[i].n = 0;
	}
	if (!(m = chain_member(c, rule)) || ++m->n <= RULES_LOOP_MAX)
		return c->id;
	*loop = true;
	if (max)
		rules[(*n)++] = rule;
	for (size_t i = 0; i < c->nm; i++)
		if (c->m[i].rule != rule && c->m[i].n > 1 && *n < max)
			rules[(*n)++] = c->m[i].rule;
	chain_end(g, c);
	return 0;
}

/* Appends text to buf (len bytes) at *o while it fits; false: no more. */
static bool why_add(char *buf, size_t len, size_t *o, const char *text)
{
	size_t n = strlen(text);

	if (*o + n + sizeof(", ...") >= len)
		return false;
	memcpy(buf + *o, text, n + 1);
	*o += n;
	return true;
}

/* "A", "B", "C" of names[n] but names[skip], as many as fit. */
static void why_names(const char *const *names, size_t n, size_t skip,
		      char *buf, size_t len, size_t *o)
{
	char name[RULES_NAME_MAX + 8];
	bool first = true;

	for (size_t k = 0; k < n; k++) {
		if (k == skip)
			continue;
		snprintf(name, sizeof(name), "%s\"%s\"", first ? "" : ", ",
			 names[k]);
		first = false;
		if (!why_add(buf, len, o, name)) {
			memcpy(buf + *o, ", ...", sizeof(", ..."));
			return;
		}
	}
}

void rules_guard_why(const char *const *names, size_t n, size_t self, char *buf,
		     size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (n == 1) {
		snprintf(buf, len, "paused: it triggers itself");
		return;
	}
	why_add(buf, len, &o,
		n == 2 ? "paused: loop with rule "
		       : "paused: loop with rules ");
	why_names(names, n, self, buf, len, &o);
}

void rules_guard_message(const char *const *names, size_t n, char *buf,
			 size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (n == 1) {
		snprintf(buf, len,
			 "rule \"%s\" triggers itself through its own actions "
			 "(%d times in %d s): paused until it is enabled again "
			 "or the rules are reloaded",
			 names[0], RULES_LOOP_MAX + 1,
			 RULES_LOOP_WINDOW_MS / 1000);
		return;
	}
	why_add(buf, len, &o, "rules ");
	why_names(names, n, SIZE_MAX, buf, len, &o);
	o = strlen(buf);
	snprintf(buf + o, len - o,
		 " trigger each other in a loop (one of them %d times in %d "
		 "s): paused until each is enabled again or the rules are "
		 "reloaded",
		 RULES_LOOP_MAX + 1, RULES_LOOP_WINDOW_MS / 1000);
}

void rules_guard_rate_why(const char *const *names, size_t n, size_t self,
			  const char *what, char *buf, size_t len)
{
	size_t o;

	snprintf(buf, len, "paused: writes %s too often", what);
	o = strlen(buf);
	if (n < 2 ||
	    !why_add(buf, len, &o, n == 2 ? ", with rule " : ", with rules "))
		return;
	why_names(names, n, self, buf, len, &o);
}

void rules_guard_rate_message(const char *const *names, size_t n,
			      const char *what, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	why_add(buf, len, &o, n == 1 ? "rule " : "rules ");
	why_names(names, n, SIZE_MAX, buf, len, &o);
	o = strlen(buf);
	snprintf(buf + o, len - o,
		 " %s %s too often, each time for a report of a node "
		 "that a rule wrote (more than %d times in %d s or %d in %d "
		 "s): a loop; paused until %s enabled again or the rules are "
		 "reloaded",
		 n == 1 ? "writes" : "write", what, RULES_RATE_SHORT_MAX,
		 RULES_RATE_SHORT_MS / 1000, RULES_RATE_MAX,
		 RULES_RATE_WINDOW_MS / 1000, n == 1 ? "it is" : "each is");
}
