/* SPDX-License-Identifier: MIT */
/*
 * zw_sim_stream.c: the sim backend's benchmark streams (inject ops
 * "stream", "stream-event" and "stats") and the ages of the stamps
 * written back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cc.h"
#include "log.h"
#include "zw_sim_int.h"
#include "zwtime.h"

static uint64_t sim_clock_us(clockid_t id)
{
	struct timespec ts;

	/* The wall clock past 2038 on a 32-bit time_t too. */
	if (id == CLOCK_REALTIME)
		return (uint64_t)zwtime_now_us();
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static size_t sim_hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < SIM_HIST_EXACT)
		return (size_t)us;
	if (us >= (uint64_t)1 << SIM_HIST_TOP_BIT)
		us = ((uint64_t)1 << SIM_HIST_TOP_BIT) - 1;
	e = 63u - (unsigned)__builtin_clzll(us);
	return SIM_HIST_EXACT + (e - 6) * (1u << SIM_HIST_SUB_BITS) +
	       ((us >> (e - SIM_HIST_SUB_BITS)) &
		((1u << SIM_HIST_SUB_BITS) - 1));
}

/* The middle of bucket i, in us (the value itself while exact). */
static uint64_t sim_hist_mid(size_t i)
{
	size_t k = i - SIM_HIST_EXACT;
	unsigned e = 6 + (unsigned)(k >> SIM_HIST_SUB_BITS);
	uint64_t sub = k & ((1u << SIM_HIST_SUB_BITS) - 1);

	if (i < SIM_HIST_EXACT)
		return i;
	return (((uint64_t)1 << SIM_HIST_SUB_BITS) + sub)
		   << (e - SIM_HIST_SUB_BITS) |
	       (uint64_t)1 << (e - SIM_HIST_SUB_BITS - 1);
}

/* The age below which a share q (0..1] of the samples lie. */
static uint64_t sim_hist_quantile(const struct sim_hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;

	for (size_t i = 0; i < SIM_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want && seen > 0)
			return sim_hist_mid(i) < h->max ? sim_hist_mid(i)
							: h->max;
	}
	return h->max;
}

/*
 * A write of an int that lies between the stream's first stamp and now
 * is a stamp coming back (a rule copied it, see zwgate.rules(5) $value):
 * its age is what the gateway took from the report to the command.
 */
void sim_note_write(struct zw_sim *z, const struct value *val)
{
	struct sim_hist *h = z->hist;
	uint64_t now, age;

	if (!h || !val || val->type != VALUE_INT || !z->stream.first_stamp ||
	    val->u.i < z->stream.first_stamp)
		return;
	now = sim_clock_us(CLOCK_REALTIME);
	if ((uint64_t)val->u.i > now)
		return;
	age = now - (uint64_t)val->u.i;
	h->b[sim_hist_bucket(age)]++;
	h->n++;
	h->sum += age;
	if (age > h->max)
		h->max = age;
}

/*
 * Benchmark streams.  Each report carries a stamp, CLOCK_REALTIME in us
 * (an int value, or an event's code), so that whoever receives it (an
 * MQTT subscriber, a write to a simulated node) knows its age without a
 * table of what was sent when.  Stamps strictly increase: every report
 * is a change.  Reports go out from an idle handle, at most
 * SIM_STREAM_BATCH per loop turn, so that the daemon's I/O runs between
 * batches; at a rate, a 1 ms timer starts it when reports are due.
 */
static void sim_stream_end(struct zw_sim *z, const char *why)
{
	struct sim_stream *s = &z->stream;

	s->running = false;
	s->t_end_us = sim_clock_us(CLOCK_MONOTONIC);
	snprintf(s->stopped, sizeof(s->stopped), "%s", why ? why : "");
	uv_idle_stop(&z->stream_send);
	uv_timer_stop(&z->stream_tick);
}

/* The stream's node, or NULL once it is gone or dead (the stream ends). */
static struct sim_node *sim_stream_node(struct zw_sim *z)
{
	struct sim_node *n = sim_node(z, z->stream.node);

	if (!n || n->removed || n->serial != z->stream.serial) {
		sim_stream_end(z, "the node was removed");
		return NULL;
	}
	if (n->dead) {
		sim_stream_end(z, "the node went dead");
		return NULL;
	}
	return n;
}

static void sim_stream_report(struct zw_sim *z, struct sim_node *n,
			      int64_t stamp)
{
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION, .node = n->id };
	struct sim_stream *s = &z->stream;
	struct sim_value *v;

	if (s->event) {
		ev.u.notification.cc = sim_event_kinds[s->kind].cc;
		ev.u.notification.kind = sim_event_kinds[s->kind].kind;
		ev.u.notification.code = stamp;
		sim_emit(z, &ev);
		return;
	}
	v = sim_value_lookup(n, s->key.cc, s->key.endpoint, s->key.property);
	if (!v) {
		sim_stream_end(z, "the value was removed");
		return;
	}
	v->val.u.i = stamp;
	v->has_val = true;
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
}

/* Up to n reports; the stream ends after its last. */
static void sim_stream_send(struct zw_sim *z, uint64_t n)
{
	struct sim_stream *s = &z->stream;
	struct sim_node *node;
	int64_t stamp;

	sim_enter(z);
	while (n-- > 0 && s->running && !z->closing &&
	       (node = sim_stream_node(z))) {
		stamp = (int64_t)sim_clock_us(CLOCK_REALTIME);
		if (stamp <= s->last_stamp)
			stamp = s->last_stamp + 1;
		if (!s->first_stamp)
			s->first_stamp = stamp;
		s->last_stamp = stamp;
		sim_stream_report(z, node, stamp);
		if (++s->sent == s->count && s->running)
			sim_stream_end(z, NULL);
	}
	sim_leave(z);
}

/* Reports due by now: all of them flat out, else rate * elapsed. */
static uint64_t sim_stream_due(const struct sim_stream *s)
{
	uint64_t el = sim_clock_us(CLOCK_MONOTONIC) - s->t0_us, due;

	if (!s->rate)
		return s->count;
	due = 1 + (uint64_t)((double)s->rate * (double)el / 1e6);
	return due < s->count ? due : s->count;
}

static void sim_stream_send_cb(uv_idle_t *h)
{
	struct zw_sim *z = h->data;
	uint64_t due = sim_stream_due(&z->stream);
	uint64_t n = due > z->stream.sent ? due - z->stream.sent : 0;

	if (n > SIM_STREAM_BATCH)
		n = SIM_STREAM_BATCH;
	sim_stream_send(z, n);
	/* Caught up with the rate: the tick starts it again. */
	if (z->stream.running && z->stream.sent >= due)
		uv_idle_stop(h);
}

static void sim_stream_tick_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;

	if (sim_stream_due(&z->stream) > z->stream.sent)
		uv_idle_start(&z->stream_send, sim_stream_send_cb);
}

/* What a stream reports: node, and a value that takes stamps or a kind. */
static int sim_stream_target(struct zw_sim *z, const json_t *req, bool event,
			     struct sim_stream *s, char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(req, "kind"));
	struct value stamp = { .type = VALUE_INT };
	struct sim_value *v = NULL;
	struct sim_node *n;
	char path[SIM_PATH_MAX];
	int r;

	r = sim_find_node(z, req, &n, err, errlen);
	if (r == 0)
		r = sim_node_usable(n, err, errlen);
	if (r == 0 && !event)
		r = sim_find_value(
		    n, json_string_value(json_object_get(req, "value")), &v,
		    err, errlen);
	if (r < 0)
		return r;
	s->node = n->id;
	s->serial = n->serial;
	s->event = event;
	if (event) {
		s->kind = sim_event_kind(kind);
		return s->kind < SIM_NEVENT_KINDS
			   ? 0
			   : sim_fail(err, errlen,
				      "kind must be scene, "
				      "button or notification");
	}
	value_key_path(&v->meta.key, path, sizeof(path));
	stamp.u.i = (int64_t)sim_clock_us(CLOCK_REALTIME);
	if (v->meta.type != VALUE_INT || !sim_val_ok(&v->meta, &stamp))
		return sim_fail(err, errlen,
				"node %u: %s cannot take stamps (an int "
				"without a range below %lld)",
				n->id, path, (long long)stamp.u.i);
	s->key = v->meta.key;
	return 0;
}

static int sim_stream_args(const json_t *req, struct sim_stream *s, char *err,
			   size_t errlen)
{
	json_int_t count = 0, rate = 0;

	if (!json_object_get(req, "count"))
		return sim_fail(err, errlen, "missing count");
	if (sim_int(req, "count", 1, SIM_STREAM_COUNT_MAX, &count, err,
		    errlen) < 0 ||
	    sim_int(req, "rate", 0, SIM_STREAM_RATE_MAX, &rate, err, errlen) <
		0)
		return -EINVAL;
	s->count = (uint64_t)count;
	s->rate = (uint64_t)rate;
	return 0;
}

static json_t *sim_stream_json(const struct sim_stream *s)
{
	char path[SIM_PATH_MAX];

	value_key_path(&s->key, path, sizeof(path));
	return json_pack(
	    "{s:i,s:s,s:I,s:I}", "node", s->node, s->event ? "kind" : "value",
	    s->event ? sim_event_kinds[s->kind].kind : path, "count",
	    (json_int_t)s->count, "rate", (json_int_t)s->rate);
}

/* "stream" and "stream-event": count reports at rate (0: flat out). */
int sim_op_stream(struct zw_sim *z, const json_t *req, bool event, json_t **ret,
		  char *err, size_t errlen)
{
	struct sim_stream s = { .running = true };
	int r;

	if (z->stream.running) {
		snprintf(err, errlen, "a stream is running (%llu of %llu sent)",
			 (unsigned long long)z->stream.sent,
			 (unsigned long long)z->stream.count);
		return -EBUSY;
	}
	r = sim_stream_target(z, req, event, &s, err, errlen);
	if (r == 0)
		r = sim_stream_args(req, &s, err, errlen);
	if (r < 0)
		return r;
	if (!z->hist && !(z->hist = malloc(sizeof(*z->hist))))
		return sim_errno(-ENOMEM, err, errlen);
	*ret = sim_stream_json(&s);
	if (!*ret)
		return sim_errno(-ENOMEM, err, errlen);
	memset(z->hist, 0, sizeof(*z->hist));
	s.t0_us = sim_clock_us(CLOCK_MONOTONIC);
	z->stream = s;
	uv_idle_start(&z->stream_send, sim_stream_send_cb);
	if (s.rate)
		uv_timer_start(&z->stream_tick, sim_stream_tick_cb,
			       SIM_STREAM_TICK_MS, SIM_STREAM_TICK_MS);
	return 0;
}

/*
 * o[key] = v, taking v (also when it is NULL or the set fails); a failure
 * sets *r to -ENOMEM.  Skips the set once an earlier one failed (*r < 0),
 * so that a run of them needs one check at the end.
 */
static void sim_json_set(json_t *o, const char *key, json_t *v, int *r)
{
	if (*r < 0) {
		json_decref(v);
		return;
	}
	if (json_object_set_new(o, key, v) < 0)
		*r = -ENOMEM;
}

static int sim_stats_writes(const struct sim_hist *h, json_t *o)
{
	static const struct {
		const char *key;
		double q;
	} qs[] = {
		{ "write_p50_us", 0.5 },
		{ "write_p90_us", 0.9 },
		{ "write_p99_us", 0.99 },
		{ "write_p999_us", 0.999 },
	};
	int r = 0;

	sim_json_set(o, "writes", json_integer((json_int_t)h->n), &r);
	for (size_t i = 0; h->n && i < sizeof(qs) / sizeof(qs[0]); i++)
		sim_json_set(
		    o, qs[i].key,
		    json_integer((json_int_t)sim_hist_quantile(h, qs[i].q)),
		    &r);
	if (h->n) {
		sim_json_set(o, "write_max_us",
			     json_integer((json_int_t)h->max), &r);
		sim_json_set(o, "write_mean_us",
			     json_integer((json_int_t)(h->sum / h->n)), &r);
	}
	return r;
}

/* "stats": the last stream's progress, and the ages of stamps written. */
int sim_op_stats(struct zw_sim *z, json_t **ret, char *err, size_t errlen)
{
	const struct sim_stream *s = &z->stream;
	uint64_t end = s->running ? sim_clock_us(CLOCK_MONOTONIC) : s->t_end_us;
	uint64_t el = s->count ? end - s->t0_us : 0;
	json_t *o = s->count ? sim_stream_json(s) : json_object();
	int r = o ? 0 : -ENOMEM;

	sim_json_set(o, "running", json_boolean(s->running), &r);
	sim_json_set(o, "sent", json_integer((json_int_t)s->sent), &r);
	sim_json_set(o, "elapsed_us", json_integer((json_int_t)el), &r);
	if (el)
		sim_json_set(o, "sent_per_s",
			     json_integer((json_int_t)((double)s->sent * 1e6 /
						       (double)el)),
			     &r);
	if (s->stopped[0])
		sim_json_set(o, "stopped", json_string(s->stopped), &r);
	if (r == 0 && z->hist)
		r = sim_stats_writes(z->hist, o);
	if (r < 0) {
		json_decref(o);
		return sim_errno(-ENOMEM, err, errlen);
	}
	*ret = o;
	return 0;
}
