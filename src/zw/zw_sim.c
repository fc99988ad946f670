/* SPDX-License-Identifier: MIT */
/*
 * zw_sim.c: the "sim" backend, a deterministic simulated Z-Wave network
 * described by a JSON file (zwave { sim-network FILE }, the format is in
 * zw_sim_parse.c).
 *
 * Events start on the first loop iteration after open; writes, refreshes
 * and heals are answered report-delay-ms later, in the order asked, from
 * one queue and one timer.  inject() plays the devices' side at once,
 * except for the benchmark's streams (op "stream", see sim_stream_send),
 * which run from the loop until they are done.
 *
 * The backend is split by concern: zw_sim.c (open, close, the events and
 * the report queue), zw_sim_parse.c (the network file into nodes and
 * values), zw_sim_json.c (reading the file, typed JSON fields),
 * zw_sim_inject.c (the control socket's "sim" requests) and
 * zw_sim_stream.c (the benchmark's streams and their statistics).
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

void sim_enter(struct zw_sim *z)
{
	z->depth++;
}

/*
 * Removed nodes are freed only once no call of ours is on the stack: an
 * event callback may remove the node whose values are being reported.
 */
void sim_leave(struct zw_sim *z)
{
	if (--z->depth > 0)
		return;
	while (z->zombies) {
		struct sim_node *n = z->zombies;

		z->zombies = n->next_zombie;
		sim_node_free(n);
	}
}

void sim_emit(struct zw_sim *z, const struct zw_event *ev)
{
	if (!z->closing)
		z->cb(z->ctx, ev);
}

void sim_emit_value(struct zw_sim *z, enum zw_event_type type,
		    const struct sim_value *v)
{
	struct zw_event ev = { .type = type, .node = v->meta.key.node };

	ev.u.value.meta = &v->meta;
	ev.u.value.val = v->has_val ? &v->val : NULL;
	sim_emit(z, &ev);
}

void sim_emit_status(struct zw_sim *z, const struct sim_node *n)
{
	struct zw_event ev = { .type = ZW_EV_NODE_STATUS, .node = n->id };

	ev.u.status = n->dead ? ZW_NODE_DEAD : ZW_NODE_ALIVE;
	sim_emit(z, &ev);
}

static void sim_emit_message(struct zw_sim *z, enum zw_event_type type,
			     const char *msg)
{
	struct zw_event ev = { .type = type };

	ev.u.message = msg;
	sim_emit(z, &ev);
}

/* NODE_ADDED, its VALUE_ADDEDs in file order, then its status. */
void sim_announce(struct zw_sim *z, struct sim_node *n)
{
	struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = n->id };

	ev.u.node.name = n->name;
	ev.u.node.location = n->location;
	ev.u.node.manufacturer = n->manufacturer;
	ev.u.node.product = n->product;
	ev.u.node.status = n->dead ? ZW_NODE_DEAD : ZW_NODE_ALIVE;
	sim_emit(z, &ev);
	for (size_t i = 0; i < n->nvalues && !n->removed; i++)
		sim_emit_value(z, ZW_EV_VALUE_ADDED, &n->values[i]);
	if (!n->removed)
		sim_emit_status(z, n);
}

static void sim_start_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;

	sim_enter(z);
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX && !z->closing; id++)
		if (z->net.nodes[id])
			sim_announce(z, z->net.nodes[id]);
	sim_emit_message(z, ZW_EV_READY, z->net.controller);
	sim_emit_message(z, ZW_EV_ALL_QUERIED, NULL);
	z->started = true;
	sim_leave(z);
}

/* Everything readable that has a value, as a refresh answers. */
static void sim_report_all(struct zw_sim *z, struct sim_node *n)
{
	for (size_t i = 0; i < n->nvalues && !n->removed; i++) {
		const struct sim_value *v = &n->values[i];

		if (v->meta.readable && v->has_val)
			sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
	}
}

/*
 * A metering plug switched off draws nothing, and real plugs say so at
 * once: report power 0 after the switch, so that rules on power see it.
 * Switching on leaves power alone (the load decides; inject it).
 */
static void sim_power_follows(struct zw_sim *z, struct sim_node *n,
			      const struct sim_value *sw)
{
	struct sim_value *p;

	if (!n->tmpl || !n->tmpl->power_follows_switch || n->removed ||
	    sw->meta.key.cc != CC_SWITCH_BINARY || sw->meta.key.endpoint != 0 ||
	    sw->val.u.b)
		return;
	p = sim_value_lookup(n, CC_METER, 0, "power");
	if (!p || p->meta.type != VALUE_FLOAT)
		return;
	p->val.u.f = 0;
	p->has_val = true;
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, p);
}

static void sim_deliver(struct zw_sim *z, struct sim_report *rep)
{
	struct sim_node *n = z->net.nodes[rep->key.node];
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION };
	struct sim_value *v;

	if (rep->kind == SIM_REP_HEAL) {
		sim_emit_message(z, ZW_EV_CONTROLLER, "heal done");
		return;
	}
	/* A node that died or left meanwhile answers nothing. */
	if (!n || n->serial != rep->serial || n->dead)
		return;
	if (rep->kind == SIM_REP_REFRESH) {
		sim_report_all(z, n);
		return;
	}
	v = sim_value_lookup(n, rep->key.cc, rep->key.endpoint,
			     rep->key.property);
	if (!v)
		return;
	if (rep->kind == SIM_REP_BUTTON) {
		ev.node = n->id;
		ev.u.notification.cc = v->meta.key.cc;
		ev.u.notification.endpoint = v->meta.key.endpoint;
		ev.u.notification.kind = "button";
		ev.u.notification.code = 0;
		ev.u.notification.text = v->meta.key.property;
		sim_emit(z, &ev);
		return;
	}
	value_clear(&v->val);
	v->val = rep->val;
	v->has_val = true;
	memset(&rep->val, 0, sizeof(rep->val));
	sim_emit_value(z, ZW_EV_VALUE_CHANGED, v);
	sim_power_follows(z, n, v);
}

static void sim_timer_cb(uv_timer_t *t)
{
	struct zw_sim *z = t->data;
	uint64_t now = uv_now(z->loop);
	struct sim_report rep;

	sim_enter(z);
	while (z->qlen > 0 && !z->closing) {
		if (z->queue[z->qhead].due > now)
			break;
		rep = z->queue[z->qhead];
		z->qhead = (z->qhead + 1) % z->qcap;
		z->qlen--;
		sim_deliver(z, &rep);
		value_clear(&rep.val);
	}
	if (z->qlen > 0 && !z->closing)
		uv_timer_start(t, sim_timer_cb, z->queue[z->qhead].due - now,
			       0);
	sim_leave(z);
}

static int sim_queue_grow(struct zw_sim *z)
{
	size_t cap = z->qcap ? 2 * z->qcap : 16;
	struct sim_report *q;

	if (cap > SIM_PENDING_MAX)
		cap = SIM_PENDING_MAX;
	q = calloc(cap, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t i = 0; i < z->qlen; i++)
		q[i] = z->queue[(z->qhead + i) % z->qcap];
	free(z->queue);
	z->queue = q;
	z->qcap = cap;
	z->qhead = 0;
	return 0;
}

/*
 * Queue rep (taking its value) for report-delay-ms from now.  The delay
 * is the same for all, so the queue stays in due order and one timer,
 * set for the head, serves it.
 */
static int sim_queue_push(struct zw_sim *z, const struct sim_report *rep)
{
	struct sim_report *slot;

	if (z->qlen >= SIM_PENDING_MAX)
		return -EBUSY;
	if (z->qlen == z->qcap && sim_queue_grow(z) < 0)
		return -ENOMEM;
	slot = &z->queue[(z->qhead + z->qlen) % z->qcap];
	*slot = *rep;
	slot->due = uv_now(z->loop) + z->net.delay_ms;
	if (z->qlen++ == 0)
		uv_timer_start(&z->timer, sim_timer_cb, z->net.delay_ms, 0);
	return 0;
}

struct sim_node *sim_node(struct zw_sim *z, unsigned id)
{
	return id >= ZW_NODE_MIN && id <= ZW_NODE_MAX ? z->net.nodes[id] : NULL;
}

/*
 * Checks go from the request's own faults (no such value, read-only,
 * wrong type) to the network's (node dead, queue full).
 */
static int sim_set_value(struct zw *zb, const struct value_key *key,
			 const struct value *val)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_VALUE };
	struct sim_node *n = sim_node(z, key->node);
	struct sim_value *v;
	int r;

	if (z->closing)
		return -ECANCELED;
	if (!n)
		return -ENOENT;
	v = sim_value_lookup(n, key->cc, key->endpoint, key->property);
	if (!v)
		return -ENOENT;
	if (!v->meta.writable)
		return -EACCES;
	if (v->meta.type != VALUE_BUTTON && !sim_val_ok(&v->meta, val))
		return -EINVAL;
	if (n->dead)
		return -EHOSTDOWN;
	rep.key = v->meta.key;
	rep.serial = n->serial;
	if (v->meta.type == VALUE_BUTTON)
		rep.kind = SIM_REP_BUTTON;
	else if (value_copy(&rep.val, val) < 0)
		return -ENOMEM;
	r = sim_queue_push(z, &rep);
	if (r < 0)
		value_clear(&rep.val);
	else
		sim_note_write(z, val);
	return r;
}

static int sim_refresh(struct zw *zb, uint16_t node)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_REFRESH };
	struct sim_node *n = sim_node(z, node);

	if (z->closing)
		return -ECANCELED;
	if (!n)
		return -ENOENT;
	if (n->dead)
		return -EHOSTDOWN;
	rep.key.node = node;
	rep.serial = n->serial;
	return sim_queue_push(z, &rep);
}

static int sim_heal(struct zw *zb)
{
	struct zw_sim *z = (struct zw_sim *)zb;
	struct sim_report rep = { .kind = SIM_REP_HEAL };

	if (z->closing)
		return -ECANCELED;
	return sim_queue_push(z, &rep);
}

static void sim_free(struct zw_sim *z)
{
	while (z->zombies) {
		struct sim_node *n = z->zombies;

		z->zombies = n->next_zombie;
		sim_node_free(n);
	}
	sim_net_clear(&z->net);
	for (size_t i = 0; i < z->qlen; i++)
		value_clear(&z->queue[(z->qhead + i) % z->qcap].val);
	free(z->queue);
	free(z->hist);
	free(z);
}

static void sim_close_cb(uv_handle_t *h)
{
	struct zw_sim *z = h->data;

	if (--z->handles == 0)
		sim_free(z);
}

static void sim_close(struct zw *zb)
{
	struct zw_sim *z = (struct zw_sim *)zb;

	if (z->closing)
		return;
	z->closing = true;
	uv_close((uv_handle_t *)&z->start, sim_close_cb);
	uv_close((uv_handle_t *)&z->timer, sim_close_cb);
	uv_close((uv_handle_t *)&z->stream_tick, sim_close_cb);
	uv_close((uv_handle_t *)&z->stream_send, sim_close_cb);
}

static int sim_open(uv_loop_t *loop, const struct zw_opts *opts, zw_event_fn cb,
		    void *ctx, struct zw **ret)
{
	const char *path = opts->sim_network;
	char err[SIM_ERR_MAX] = "";
	json_t *root = NULL;
	struct zw_sim *z;
	int r;

	if (!path) {
		log_error("zwave backend sim: no sim-network file configured");
		return -EINVAL;
	}
	r = sim_read(path, &root, err, sizeof(err));
	z = r < 0 ? NULL : calloc(1, sizeof(*z));
	if (r == 0 && !z)
		r = sim_errno(-ENOMEM, err, sizeof(err));
	if (r == 0)
		r = sim_net_parse(root, &z->net, err, sizeof(err));
	json_decref(root);
	if (r < 0) {
		if (z)
			sim_net_clear(&z->net);
		free(z);
		log_error("sim network %s: %s", path, err);
		return r;
	}
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++)
		if (z->net.nodes[id])
			z->net.nodes[id]->serial = ++z->serial;
	z->base.ops = &zw_sim_ops;
	z->loop = loop;
	z->cb = cb;
	z->ctx = ctx;
	/* The first events wait for the loop: our caller is not ready yet. */
	uv_timer_init(loop, &z->start);
	uv_timer_init(loop, &z->timer);
	uv_timer_init(loop, &z->stream_tick);
	uv_idle_init(loop, &z->stream_send);
	z->start.data = z->timer.data = z;
	z->stream_tick.data = z->stream_send.data = z;
	z->handles = 4;
	uv_timer_start(&z->start, sim_start_cb, 0, 0);
	*ret = &z->base;
	return 0;
}

const struct zw_ops zw_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.set_value = sim_set_value,
	.refresh = sim_refresh,
	/* No radio, nothing to include: the wrappers answer -ENOTSUP. */
	.include = NULL,
	.exclude = NULL,
	.cancel = NULL,
	.heal = sim_heal,
	.inject = sim_inject,
};
