/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "registry.h"
#include "testutil.h"

#define T0	1700000000000ULL
#define LOG_MAX 64

/* What a listener saw, copied out while the event was live. */
struct seen {
	enum registry_event_type type;
	unsigned node;
	char path[128];
	char name[REGISTRY_NAME_MAX + 1];
	size_t nvalues;
	bool has_zw;
	bool found_self; /* registry_node() found the node during the call */
};

struct log {
	struct registry *r;
	size_t n;
	struct seen ev[LOG_MAX];
};

static void on_event(void *ctx, const struct registry_event *ev)
{
	struct log *l = ctx;
	struct seen *s;

	assert_true(l->n < LOG_MAX);
	s = &l->ev[l->n++];
	memset(s, 0, sizeof(*s));
	s->type = ev->type;
	s->has_zw = ev->zw != NULL;
	if (ev->node) {
		s->node = ev->node->id;
		s->nvalues = ev->node->nvalues;
		snprintf(s->name, sizeof(s->name), "%s",
			 ev->node->name ? ev->node->name : "");
		/* Reading the registry from a listener must be safe. */
		s->found_self = registry_node(l->r, ev->node->id) == ev->node;
		assert_int_equal(registry_node_count(l->r) > 0, true);
	}
	if (ev->value) {
		value_key_path(&ev->value->meta.key, s->path, sizeof(s->path));
		assert_ptr_equal(ev->value->node, ev->node);
	}
}

struct fixture {
	struct registry *r;
	struct log log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->r = registry_new();
	assert_non_null(f->r);
	f->log.r = f->r;
	assert_int_equal(registry_listen(f->r, on_event, &f->log), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_null(registry_free(f->r));
	free(f);
	return 0;
}

static struct value_meta meta(uint16_t node, uint8_t cc, uint8_t ep,
			      const char *prop, enum value_type type)
{
	struct value_meta m;

	memset(&m, 0, sizeof(m));
	m.key.node = node;
	m.key.cc = cc;
	m.key.endpoint = ep;
	snprintf(m.key.property, sizeof(m.key.property), "%s", prop);
	m.type = type;
	m.min = 1;
	m.max = 0;
	m.readable = true;
	return m;
}

static int node_added(struct registry *r, uint16_t node, const char *name,
		      uint64_t now)
{
	struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = node };

	ev.u.node.name = name;
	ev.u.node.manufacturer = "Aeotec";
	ev.u.node.product = "Smart Switch 6";
	ev.u.node.status = ZW_NODE_ALIVE;
	return registry_apply(r, &ev, now);
}

static int value_added(struct registry *r, const struct value_meta *m,
		       const struct value *val)
{
	struct zw_event ev = { .type = ZW_EV_VALUE_ADDED, .node = m->key.node };

	ev.u.value.meta = m;
	ev.u.value.val = val;
	return registry_apply(r, &ev, T0);
}

static int value_event(struct registry *r, enum zw_event_type type,
		       const struct value_meta *m, const struct value *val,
		       uint64_t now)
{
	struct zw_event ev = { .type = type, .node = m->key.node };

	ev.u.value.meta = m;
	ev.u.value.val = val;
	return registry_apply(r, &ev, now);
}

static int simple_event(struct registry *r, enum zw_event_type type,
			uint16_t node, const char *msg)
{
	struct zw_event ev = { .type = type, .node = node };

	ev.u.message = msg;
	return registry_apply(r, &ev, T0);
}

static void expect_seen(const struct log *l, size_t i,
			enum registry_event_type type, unsigned node,
			const char *path)
{
	assert_true(i < l->n);
	assert_int_equal(l->ev[i].type, type);
	assert_int_equal(l->ev[i].node, node);
	assert_string_equal(l->ev[i].path, path ? path : "");
}

static void test_node_added(void **state)
{
	struct fixture *f = *state;
	struct registry_node *n;

	assert_int_equal(node_added(f->r, 5, "Wall Plug", T0), 0);
	n = registry_node(f->r, 5);
	assert_non_null(n);
	assert_int_equal(n->id, 5);
	assert_string_equal(n->name, "Wall Plug");
	assert_false(n->user_name);
	assert_string_equal(n->manufacturer, "Aeotec");
	assert_string_equal(n->product, "Smart Switch 6");
	assert_null(n->location);
	assert_int_equal(n->status, ZW_NODE_ALIVE);
	assert_int_equal(registry_node_count(f->r), 1);
	assert_int_equal(f->log.n, 1);
	expect_seen(&f->log, 0, REGISTRY_NODE_ADDED, 5, NULL);
	assert_true(f->log.ev[0].found_self);
	assert_true(f->log.ev[0].has_zw);

	/* Sent again: the info changes, the node stays the same. */
	assert_int_equal(node_added(f->r, 5, "Plug", T0 + 5), 0);
	assert_ptr_equal(registry_node(f->r, 5), n);
	assert_string_equal(n->name, "Plug");
	assert_int_equal(n->updated_ms, T0 + 5);
	assert_int_equal(registry_node_count(f->r), 1);
	expect_seen(&f->log, 1, REGISTRY_NODE_CHANGED, 5, NULL);

	/* Device text is made printable and bounded. */
	assert_int_equal(node_added(f->r, 5, "bad\n\xff", T0), 0);
	assert_string_equal(n->name, "bad??");
}

static void test_node_status(void **state)
{
	struct fixture *f = *state;
	struct zw_event ev = { .type = ZW_EV_NODE_STATUS, .node = 9 };
	struct registry_node *n;

	ev.u.status = ZW_NODE_ASLEEP;
	assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	n = registry_node(f->r, 9);
	assert_non_null(n);
	assert_int_equal(n->status, ZW_NODE_ASLEEP);
	expect_seen(&f->log, 0, REGISTRY_NODE_ADDED, 9, NULL);

	ev.u.status = ZW_NODE_DEAD;
	assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	assert_int_equal(n->status, ZW_NODE_DEAD);
	expect_seen(&f->log, 1, REGISTRY_NODE_CHANGED, 9, NULL);
	/* The same status again is no news. */
	assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	assert_int_equal(f->log.n, 2);

	ev.u.status = (enum zw_node_status)42;
	assert_int_equal(registry_apply(f->r, &ev, T0), -EINVAL);
}

static void test_values_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct value_meta m = meta(3, 0x25, 0, "currentValue", VALUE_BOOL);
	struct value on = { .type = VALUE_BOOL, .u.b = true };
	struct value num = { .type = VALUE_INT, .u.i = 1 };
	struct registry_value *v;

	/* A value before its node's info creates the node. */
	assert_int_equal(value_added(f->r, &m, NULL), 0);
	expect_seen(&f->log, 0, REGISTRY_NODE_ADDED, 3, NULL);
	expect_seen(&f->log, 1, REGISTRY_VALUE_ADDED, 3,
		    "switch_binary/0/currentValue");
	v = registry_value(f->r, &m.key);
	assert_non_null(v);
	assert_false(v->has_val);
	assert_int_equal(v->updated_ms, 0);
	assert_string_equal(v->alias, "switch");
	assert_ptr_equal(v->node, registry_node(f->r, 3));

	assert_int_equal(
	    value_event(f->r, ZW_EV_VALUE_CHANGED, &m, &on, T0 + 1), 0);
	assert_true(v->has_val);
	assert_true(v->val.u.b);
	assert_int_equal(v->updated_ms, T0 + 1);
	expect_seen(&f->log, 2, REGISTRY_VALUE_CHANGED, 3,
		    "switch_binary/0/currentValue");
	/* The same report again still reaches the listeners. */
	assert_int_equal(
	    value_event(f->r, ZW_EV_VALUE_CHANGED, &m, &on, T0 + 2), 0);
	expect_seen(&f->log, 3, REGISTRY_VALUE_CHANGED, 3,
		    "switch_binary/0/currentValue");
	assert_int_equal(v->updated_ms, T0 + 2);

	/* Wrong type, missing value: refused, nothing changes. */
	assert_int_equal(
	    value_event(f->r, ZW_EV_VALUE_CHANGED, &m, &num, T0 + 3), -EINVAL);
	assert_int_equal(
	    value_event(f->r, ZW_EV_VALUE_CHANGED, &m, NULL, T0 + 3), -EINVAL);
	assert_int_equal(v->updated_ms, T0 + 2);
	assert_int_equal(f->log.n, 4);

	/* Adding the same key again updates the meta in place. */
	m.writable = true;
	assert_int_equal(value_added(f->r, &m, NULL), 0);
	assert_ptr_equal(registry_value(f->r, &m.key), v);
	assert_true(v->meta.writable);
	assert_true(v->has_val);
	assert_int_equal(registry_node(f->r, 3)->nvalues, 1);
	expect_seen(&f->log, 4, REGISTRY_VALUE_ADDED, 3,
		    "switch_binary/0/currentValue");

	assert_int_equal(value_event(f->r, ZW_EV_VALUE_REMOVED, &m, NULL, T0),
			 0);
	expect_seen(&f->log, 5, REGISTRY_VALUE_REMOVED, 3,
		    "switch_binary/0/currentValue");
	assert_null(registry_value(f->r, &m.key));
	assert_int_equal(registry_node(f->r, 3)->nvalues, 0);
	assert_int_equal(value_event(f->r, ZW_EV_VALUE_REMOVED, &m, NULL, T0),
			 -ENOENT);
	assert_int_equal(value_event(f->r, ZW_EV_VALUE_CHANGED, &m, &on, T0),
			 -ENOENT);
}

static void test_value_refused(void **state)
{
	struct fixture *f = *state;
	struct value_meta m = meta(3, 0x25, 0, "currentValue", VALUE_BOOL);
	struct value num = { .type = VALUE_INT, .u.i = 1 };
	struct zw_event ev = { .type = ZW_EV_VALUE_ADDED, .node = 4 };

	ev.u.value.meta = &m;
	assert_int_equal(registry_apply(f->r, &ev, T0), -EINVAL);
	assert_int_equal(value_added(f->r, &m, &num), -EINVAL);
	snprintf(m.key.property, sizeof(m.key.property), "a/b");
	assert_int_equal(value_added(f->r, &m, NULL), -EINVAL);
	m.key.property[0] = '\0';
	assert_int_equal(value_added(f->r, &m, NULL), -EINVAL);
	memset(m.key.property, 'x', sizeof(m.key.property));
	assert_int_equal(value_added(f->r, &m, NULL), -EINVAL);
	assert_int_equal(registry_node_count(f->r), 0);
	assert_int_equal(f->log.n, 0);
	/* A value event for a node that is not there. */
	m = meta(7, 0x25, 0, "currentValue", VALUE_BOOL);
	assert_int_equal(value_event(f->r, ZW_EV_VALUE_REMOVED, &m, NULL, T0),
			 -ENOENT);
}

static void test_string_value_copied(void **state)
{
	struct fixture *f = *state;
	struct value_meta m = meta(2, 0x99, 1, "text", VALUE_STRING);
	char buf[16];
	struct value s = { .type = VALUE_STRING, .u.s = buf };
	struct registry_value *v;

	snprintf(buf, sizeof(buf), "first");
	assert_int_equal(value_added(f->r, &m, &s), 0);
	v = registry_value(f->r, &m.key);
	assert_non_null(v);
	assert_ptr_not_equal(v->val.u.s, buf);
	snprintf(buf, sizeof(buf), "second");
	assert_string_equal(v->val.u.s, "first");
	assert_int_equal(value_event(f->r, ZW_EV_VALUE_CHANGED, &m, &s, T0), 0);
	assert_string_equal(v->val.u.s, "second");
	assert_null(v->alias);
}

/*
 * The registry keeps its own copy of an enum's items, exactly as many as
 * the backend gave, made printable; a new VALUE_ADDED replaces them.
 */
static void test_enum_items_copied(void **state)
{
	struct fixture *f = *state;
	struct value_meta m = meta(2, 0x40, 0, "mode", VALUE_ENUM);
	struct registry_value *v;

	assert_int_equal(value_meta_alloc_items(&m, 2), 0);
	snprintf(m.items[0], sizeof(m.items[0]), "off\x01");
	memset(m.items[1], 'x', sizeof(m.items[1])); /* no NUL */
	assert_int_equal(value_added(f->r, &m, NULL), 0);
	v = registry_value(f->r, &m.key);
	assert_non_null(v);
	assert_ptr_not_equal(v->meta.items, m.items);
	assert_int_equal(v->meta.nitems, 2);
	assert_string_equal(v->meta.items[0], "off?");
	assert_int_equal(strlen(v->meta.items[1]), ZW_ENUM_ITEM_MAX - 1);
	assert_int_equal(m.items[0][3], '\x01');

	assert_int_equal(value_meta_alloc_items(&m, 3), 0);
	snprintf(m.items[2], sizeof(m.items[2]), "cool");
	assert_int_equal(value_added(f->r, &m, NULL), 0);
	assert_ptr_equal(registry_value(f->r, &m.key), v);
	assert_int_equal(v->meta.nitems, 3);
	assert_string_equal(v->meta.items[0], "");
	assert_string_equal(v->meta.items[2], "cool");
	value_meta_clear(&m);
	assert_string_equal(v->meta.items[2], "cool");

	/* A count with no array, or beyond the limit, is refused. */
	m.nitems = 2;
	assert_int_equal(value_added(f->r, &m, NULL), -EINVAL);
	assert_int_equal(value_meta_alloc_items(&m, 1), 0);
	m.nitems = ZW_ENUM_MAX + 1;
	assert_int_equal(value_added(f->r, &m, NULL), -EINVAL);
	value_meta_clear(&m);
	assert_int_equal(v->meta.nitems, 3);
	assert_int_equal(value_event(f->r, ZW_EV_VALUE_REMOVED, &m, NULL, T0),
			 0);
}

static void test_notification(void **state)
{
	struct fixture *f = *state;
	struct zw_event ev = { .type = ZW_EV_NOTIFICATION, .node = 6 };

	ev.u.notification.cc = 0x5b;
	ev.u.notification.kind = "scene";
	ev.u.notification.code = 2;
	assert_int_equal(registry_apply(f->r, &ev, T0), -ENOENT);
	assert_int_equal(node_added(f->r, 6, NULL, T0), 0);
	assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	expect_seen(&f->log, 1, REGISTRY_NOTIFICATION, 6, NULL);
	assert_true(f->log.ev[1].has_zw);
}

static void test_controller(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(registry_controller_state(f->r), "starting");
	assert_false(registry_ready(f->r));
	assert_int_equal(simple_event(f->r, ZW_EV_READY, 0, "sim"), 0);
	assert_string_equal(registry_controller_state(f->r), "ready");
	assert_true(registry_ready(f->r));
	assert_int_equal(simple_event(f->r, ZW_EV_CONTROLLER, 0, "include"), 0);
	assert_int_equal(simple_event(f->r, ZW_EV_ALL_QUERIED, 0, NULL), 0);
	assert_true(registry_ready(f->r));
	assert_int_equal(simple_event(f->r, ZW_EV_FAILED, 0, "port gone"), 0);
	assert_string_equal(registry_controller_state(f->r),
			    "failed: port gone");
	assert_false(registry_ready(f->r));
	assert_int_equal(f->log.n, 4);
	for (size_t i = 0; i < 4; i++)
		expect_seen(&f->log, i, REGISTRY_CONTROLLER, 0, NULL);
	assert_int_equal(simple_event(f->r, ZW_EV_FAILED, 0, NULL), 0);
	assert_string_equal(registry_controller_state(f->r),
			    "failed: unknown reason");
}

static void test_node_removed(void **state)
{
	struct fixture *f = *state;
	struct value_meta a = meta(4, 0x25, 0, "currentValue", VALUE_BOOL);
	struct value_meta b = meta(4, 0x99, 0, "text", VALUE_STRING);
	struct value s = { .type = VALUE_STRING, .u.s = "kept" };
	struct zw_event ev = { .type = ZW_EV_NODE_REMOVED, .node = 4 };

	assert_int_equal(node_added(f->r, 4, "Lamp", T0), 0);
	assert_int_equal(value_added(f->r, &a, NULL), 0);
	assert_int_equal(value_added(f->r, &b, &s), 0);
	f->log.n = 0;
	assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	assert_int_equal(f->log.n, 1);
	expect_seen(&f->log, 0, REGISTRY_NODE_REMOVED, 4, NULL);
	/* The listener still saw the node, its name and its values. */
	assert_int_equal(f->log.ev[0].nvalues, 2);
	assert_string_equal(f->log.ev[0].name, "Lamp");
	assert_true(f->log.ev[0].found_self);
	assert_null(registry_node(f->r, 4));
	assert_null(registry_value(f->r, &a.key));
	assert_null(registry_value(f->r, &b.key));
	assert_int_equal(registry_node_count(f->r), 0);
	assert_int_equal(registry_apply(f->r, &ev, T0), -ENOENT);
	/* The node comes back without its old values. */
	assert_int_equal(node_added(f->r, 4, NULL, T0), 0);
	assert_int_equal(registry_node(f->r, 4)->nvalues, 0);
	assert_null(registry_node(f->r, 4)->name);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	struct value_meta m;
	struct zw_event ev = { .type = ZW_EV_NODE_STATUS };
	char prop[ZW_PROPERTY_MAX];

	/* Hundreds of events: more than the log keeps. */
	registry_unlisten(f->r, on_event, &f->log);
	assert_int_equal(node_added(f->r, 0, NULL, T0), -EINVAL);
	assert_int_equal(node_added(f->r, ZW_NODE_MAX + 1, NULL, T0), -EINVAL);
	/* 233..255 are no node's; Long Range ids run from 256 to 4000. */
	assert_int_equal(node_added(f->r, 233, NULL, T0), -EINVAL);
	assert_int_equal(node_added(f->r, 255, NULL, T0), -EINVAL);
	assert_int_equal(node_added(f->r, ZW_NODE_MAX, NULL, T0), 0);
	ev.node = ZW_NODE_MAX + 1;
	assert_int_equal(registry_apply(f->r, &ev, T0), -EINVAL);
	ev.node = 240;
	assert_int_equal(registry_apply(f->r, &ev, T0), -EINVAL);
	assert_null(registry_node(f->r, ZW_NODE_MAX + 1));
	assert_null(registry_node(f->r, 240));
	assert_null(registry_node(f->r, 0));
	assert_int_equal(registry_node_count(f->r), 1);

	for (unsigned i = 0; i < REGISTRY_VALUES_MAX; i++) {
		snprintf(prop, sizeof(prop), "p%u", i);
		m = meta(ZW_NODE_MAX, 0x70, 0, prop, VALUE_INT);
		assert_int_equal(value_added(f->r, &m, NULL), 0);
	}
	m = meta(ZW_NODE_MAX, 0x70, 0, "one_more", VALUE_INT);
	assert_int_equal(value_added(f->r, &m, NULL), -E2BIG);
	assert_int_equal(registry_node(f->r, ZW_NODE_MAX)->nvalues,
			 REGISTRY_VALUES_MAX);
	/* Updating a known value is still fine when full. */
	m = meta(ZW_NODE_MAX, 0x70, 0, "p7", VALUE_INT);
	assert_int_equal(value_added(f->r, &m, NULL), 0);
}

static void noop_listener(void *ctx, const struct registry_event *ev)
{
	(*(int *)ctx)++;
}

static void test_listeners(void **state)
{
	struct fixture *f = *state;
	int counts[REGISTRY_LISTENERS_MAX] = { 0 };

	/* The fixture's listener is the first of REGISTRY_LISTENERS_MAX. */
	for (int i = 1; i < REGISTRY_LISTENERS_MAX; i++)
		assert_int_equal(
		    registry_listen(f->r, noop_listener, &counts[i]), 0);
	assert_int_equal(registry_listen(f->r, noop_listener, &counts[0]),
			 -ENOSPC);
	assert_int_equal(node_added(f->r, 1, NULL, T0), 0);
	for (int i = 1; i < REGISTRY_LISTENERS_MAX; i++)
		assert_int_equal(counts[i], 1);
	registry_unlisten(f->r, noop_listener, &counts[3]);
	assert_int_equal(node_added(f->r, 1, NULL, T0), 0);
	assert_int_equal(counts[3], 1);
	assert_int_equal(counts[4], 2);
	assert_int_equal(registry_listen(f->r, noop_listener, &counts[0]), 0);
	assert_int_equal(counts[0], 0);
}

struct self_remover {
	struct registry *r;
	int calls;
};

static void remove_self(void *ctx, const struct registry_event *ev)
{
	struct self_remover *s = ctx;
	struct registry_node *n;

	s->calls++;
	registry_unlisten(s->r, remove_self, s);
	/* Reads and a rename are allowed from a listener. */
	assert_int_equal(registry_find_node(s->r, "1", &n), 0);
	assert_int_equal(registry_rename(s->r, 1, "from-listener"), 0);
}

static void test_listener_unlisten_in_call(void **state)
{
	struct fixture *f = *state;
	struct self_remover s = { f->r, 0 };
	int after = 0;

	assert_int_equal(registry_listen(f->r, remove_self, &s), 0);
	assert_int_equal(registry_listen(f->r, noop_listener, &after), 0);
	assert_int_equal(node_added(f->r, 1, NULL, T0), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(after, 2); /* NODE_ADDED, then the rename */
	assert_string_equal(registry_node(f->r, 1)->name, "from-listener");
	assert_int_equal(node_added(f->r, 1, NULL, T0), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(after, 3);
	/* The log listener saw the rename nested inside NODE_ADDED. */
	expect_seen(&f->log, 0, REGISTRY_NODE_ADDED, 1, NULL);
	expect_seen(&f->log, 1, REGISTRY_NODE_CHANGED, 1, NULL);
	assert_false(f->log.ev[1].has_zw);
}

static void test_next_node(void **state)
{
	struct fixture *f = *state;
	const unsigned ids[] = { 1, 7, 40, 232, 256, ZW_NODE_MAX };
	struct registry_node *n = NULL;
	size_t i = 0;

	for (size_t k = 6; k-- > 0;)
		assert_int_equal(node_added(f->r, (uint16_t)ids[k], NULL, T0),
				 0);
	while ((n = registry_next_node(f->r, n)))
		assert_int_equal(n->id, ids[i++]);
	assert_int_equal(i, 6);
}

static void test_find_node(void **state)
{
	struct fixture *f = *state;
	struct registry_node *n = NULL;

	assert_int_equal(node_added(f->r, 2, "Porch Light", T0), 0);
	assert_int_equal(node_added(f->r, 12, "porch light", T0), 0);
	assert_int_equal(node_added(f->r, 13, "Kitchen", T0), 0);
	assert_int_equal(node_added(f->r, 4000, "Far Lock", T0), 0);

	assert_int_equal(registry_find_node(f->r, "12", &n), 0);
	assert_int_equal(n->id, 12);
	/* A Long Range node by number and by name. */
	assert_int_equal(registry_find_node(f->r, "4000", &n), 0);
	assert_int_equal(n->id, 4000);
	assert_int_equal(registry_find_node(f->r, "far lock", &n), 0);
	assert_int_equal(n->id, 4000);
	assert_int_equal(registry_find_node(f->r, "Kitchen", &n), 0);
	assert_int_equal(n->id, 13);
	assert_int_equal(registry_find_node(f->r, "KITCHEN", &n), 0);
	assert_int_equal(n->id, 13);
	/* Exact first, then ignoring case. */
	assert_int_equal(registry_find_node(f->r, "porch light", &n), 0);
	assert_int_equal(n->id, 12);
	assert_int_equal(registry_find_node(f->r, "Porch Light", &n), 0);
	assert_int_equal(n->id, 2);
	assert_int_equal(registry_find_node(f->r, "PORCH LIGHT", &n),
			 -ENOTUNIQ);
	n = NULL;
	assert_int_equal(registry_find_node(f->r, "3", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "233", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "256", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "04000", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "40000", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "99999999999", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "nobody", &n), -ENOENT);
	assert_int_equal(registry_find_node(f->r, "", &n), -ENOENT);
	assert_null(n);

	assert_int_equal(registry_rename(f->r, 13, "Cellar"), 0);
	assert_int_equal(registry_find_node(f->r, "cellar", &n), 0);
	assert_int_equal(n->id, 13);
	assert_int_equal(registry_find_node(f->r, "Kitchen", &n), -ENOENT);
}

static struct registry_node *sample_node(struct registry *r)
{
	static const struct {
		uint8_t cc, ep;
		const char *prop;
		enum value_type type;
	} vals[] = {
		{ 0x25, 1, "currentValue", VALUE_BOOL },
		{ 0x25, 2, "currentValue", VALUE_BOOL },
		{ 0x31, 0, "temperature", VALUE_FLOAT },
		{ 0x80, 0, "level", VALUE_INT },
		{ 0x26, 0, "targetValue", VALUE_INT },
		{ 0x26, 0, "currentValue", VALUE_INT },
		{ 0x32, 0, "power", VALUE_FLOAT },
		{ 0x32, 1, "power", VALUE_FLOAT },
		{ 0x62, 0, "locked", VALUE_BOOL },
		{ 0x99, 0, "foo", VALUE_INT },
	};

	assert_int_equal(node_added(r, 8, "multi", T0), 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct value_meta m =
		    meta(8, vals[i].cc, vals[i].ep, vals[i].prop, vals[i].type);

		assert_int_equal(value_added(r, &m, NULL), 0);
	}
	return registry_node(r, 8);
}

static void expect_found(const struct registry_node *n, const char *spec,
			 const char *want)
{
	struct registry_value *v = NULL;
	char path[128];
	int r = registry_find_value(n, spec, &v);

	if (r != 0)
		print_error("find_value %s: %d\n", spec, r);
	assert_int_equal(r, 0);
	assert_string_equal(value_key_path(&v->meta.key, path, sizeof(path)),
			    want);
}

static void test_find_value(void **state)
{
	struct fixture *f = *state;
	struct registry_node *n = sample_node(f->r);
	struct registry_value *v = NULL;

	expect_found(n, "switch_binary/2/currentValue",
		     "switch_binary/2/currentValue");
	expect_found(n, "cc_0x25/1/currentValue",
		     "switch_binary/1/currentValue");
	expect_found(n, "cc_0x99/0/foo", "cc_0x99/0/foo");
	expect_found(n, "temperature", "sensor_multilevel/0/temperature");
	/* The alias wins over a property of the same word. */
	expect_found(n, "level", "switch_multilevel/0/currentValue");
	expect_found(n, "battery", "battery/0/level");
	expect_found(n, "lock", "door_lock/0/locked");
	expect_found(n, "targetValue", "switch_multilevel/0/targetValue");
	expect_found(n, "locked", "door_lock/0/locked");
	expect_found(n, "sensor_multilevel", "sensor_multilevel/0/temperature");
	expect_found(n, "door_lock", "door_lock/0/locked");
	expect_found(n, "foo", "cc_0x99/0/foo");

	assert_int_equal(registry_find_value(n, "switch", &v), -ENOTUNIQ);
	assert_int_equal(registry_find_value(n, "power", &v), -ENOTUNIQ);
	assert_int_equal(registry_find_value(n, "currentValue", &v), -ENOTUNIQ);
	assert_int_equal(registry_find_value(n, "switch_binary", &v),
			 -ENOTUNIQ);
	assert_int_equal(registry_find_value(n, "humidity", &v), -ENOENT);
	assert_int_equal(
	    registry_find_value(n, "switch_binary/0/currentValue", &v),
	    -ENOENT);
	assert_int_equal(
	    registry_find_value(n, "switch_binary/x/currentValue", &v),
	    -ENOENT);
	assert_int_equal(
	    registry_find_value(n, "switch_binary/256/currentValue", &v),
	    -ENOENT);
	assert_int_equal(registry_find_value(n, "nope/1/currentValue", &v),
			 -ENOENT);
	assert_int_equal(registry_find_value(n, "switch_binary/1/", &v),
			 -ENOENT);
	assert_int_equal(
	    registry_find_value(n, "switch_binary//currentValue", &v), -ENOENT);
	assert_int_equal(registry_find_value(n, "", &v), -ENOENT);
	assert_null(v);
}

static void test_aliases(void **state)
{
	static const struct {
		uint8_t cc;
		const char *prop, *alias;
	} want[] = {
		{ 0x25, "currentValue", "switch" },
		{ 0x26, "currentValue", "level" },
		{ 0x30, "motion", "motion" },
		{ 0x30, "door", "door" },
		{ 0x30, "water", "water" },
		{ 0x31, "temperature", "temperature" },
		{ 0x31, "humidity", "humidity" },
		{ 0x31, "illuminance", "illuminance" },
		{ 0x32, "power", "power" },
		{ 0x32, "energy", "energy" },
		{ 0x62, "locked", "lock" },
		{ 0x43, "heating", "setpoint" },
		{ 0x80, "level", "battery" },
		{ 0x26, "targetValue", NULL },
		{ 0x31, "motion", NULL },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct value_meta m =
		    meta(11, want[i].cc, 0, want[i].prop, VALUE_INT);
		struct registry_value *v;

		assert_int_equal(value_added(f->r, &m, NULL), 0);
		v = registry_value(f->r, &m.key);
		assert_non_null(v);
		if (want[i].alias)
			assert_string_equal(v->alias, want[i].alias);
		else
			assert_null(v->alias);
	}
}

static void test_name_rules(void **state)
{
	static const struct {
		const char *name, *problem;
	} cases[] = {
		{ "porch", NULL },
		{ "Küche 2", NULL },
		{ "a-b_c.d", NULL },
		{ "a/b", "names cannot contain '/', '+' or '#'" },
		{ "a+b", "names cannot contain '/', '+' or '#'" },
		{ "#1", "names cannot contain '/', '+' or '#'" },
		{ "123", "a name cannot be only digits" },
		{ "", "a name cannot be empty or start/end with a space" },
		{ " x", "a name cannot be empty or start/end with a space" },
		{ "x ", "a name cannot be empty or start/end with a space" },
		{ "a\tb", "a name must be valid UTF-8 without control "
			  "characters" },
		{ "\xff", "a name must be valid UTF-8 without control "
			  "characters" },
	};
	char long_name[REGISTRY_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = registry_name_problem(cases[i].name);

		if (cases[i].problem)
			assert_string_equal(p, cases[i].problem);
		else
			assert_null(p);
	}
	memset(long_name, 'n', sizeof(long_name));
	long_name[REGISTRY_NAME_MAX] = '\0';
	assert_null(registry_name_problem(long_name));
	long_name[REGISTRY_NAME_MAX] = 'n';
	long_name[REGISTRY_NAME_MAX + 1] = '\0';
	assert_string_equal(registry_name_problem(long_name),
			    "a name is at most 64 bytes");
}

static void test_rename(void **state)
{
	struct fixture *f = *state;
	struct registry_node *n;

	assert_int_equal(node_added(f->r, 2, "Plug", T0), 0);
	assert_int_equal(node_added(f->r, 3, "Sensor", T0), 0);
	n = registry_node(f->r, 2);
	f->log.n = 0;

	assert_int_equal(registry_rename(f->r, 2, "porch"), 0);
	assert_string_equal(n->name, "porch");
	assert_true(n->user_name);
	expect_seen(&f->log, 0, REGISTRY_NODE_CHANGED, 2, NULL);
	assert_string_equal(f->log.ev[0].name, "porch");

	/* A user name survives the device's info coming again. */
	assert_int_equal(node_added(f->r, 2, "Plug v2", T0), 0);
	assert_string_equal(n->name, "porch");

	assert_int_equal(registry_rename(f->r, 3, "PORCH"), -EEXIST);
	assert_int_equal(registry_rename(f->r, 3, "plug v2"), 0);
	assert_int_equal(registry_rename(f->r, 2, "Porch"), 0);
	assert_string_equal(n->name, "Porch");
	assert_int_equal(registry_rename(f->r, 2, "a/b"), -EINVAL);
	assert_int_equal(registry_rename(f->r, 2, "42"), -EINVAL);
	assert_int_equal(registry_rename(f->r, 4, "ghost"), -ENOENT);
	assert_int_equal(registry_rename(f->r, 0, "ghost"), -ENOENT);
	assert_int_equal(registry_rename(f->r, 500, "ghost"), -ENOENT);
	assert_string_equal(n->name, "Porch");

	/* Removing the user name brings the device's back, once node 3
	 * no longer holds it. */
	assert_int_equal(registry_rename(f->r, 2, ""), -EEXIST);
	assert_string_equal(n->name, "Porch");
	assert_int_equal(registry_rename(f->r, 3, ""), 0);
	assert_int_equal(registry_rename(f->r, 2, ""), 0);
	assert_string_equal(n->name, "Plug v2");
	assert_false(n->user_name);
	/* A device name blocks a user name that would clash with it. */
	assert_int_equal(registry_rename(f->r, 3, "PLUG V2"), -EEXIST);
}

static char *make_tmpdir(void)
{
	char buf[PATH_MAX], *dir;

	assert_int_equal(tu_tmpdir(buf, sizeof(buf), "registry"), 0);
	dir = strdup(buf);
	assert_non_null(dir);
	return dir;
}

static void rm_tree(const char *dir)
{
	assert_int_equal(tu_rm_rf(dir), 0);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 &&
					    strcmp(e->d_name, "..") != 0))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(tu_write_file(path, text, 0644), 0);
}

static void test_names_persist(void **state)
{
	struct fixture *f = *state;
	char *dir = make_tmpdir(), *path = fs_join(dir, "names.json");
	struct registry *r2 = registry_new();
	struct log log2 = { .r = r2 };
	struct stat st;
	char *text;

	assert_non_null(r2);
	assert_int_equal(registry_load_names(r2, path), -ENOENT);
	assert_int_equal(node_added(f->r, 2, "Plug", T0), 0);
	assert_int_equal(node_added(f->r, 30, NULL, T0), 0);
	assert_int_equal(node_added(f->r, 300, NULL, T0), 0);
	assert_int_equal(registry_rename(f->r, 2, "porch"), 0);
	assert_int_equal(registry_rename(f->r, 30, "Küche"), 0);
	assert_int_equal(registry_rename(f->r, 300, "gate"), 0);
	assert_int_equal(registry_save_names(f->r, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(fs_read_file(path, 4096, &text, NULL), 0);
	assert_non_null(strstr(text, "\"2\": \"porch\""));
	assert_non_null(strstr(text, "\"300\": \"gate\""));
	free(text);

	/* Node 2 is there before the load, node 30 comes later. */
	assert_int_equal(registry_listen(r2, on_event, &log2), 0);
	assert_int_equal(node_added(r2, 2, "Plug", T0), 0);
	assert_int_equal(registry_load_names(r2, path), 0);
	assert_string_equal(registry_node(r2, 2)->name, "porch");
	assert_true(registry_node(r2, 2)->user_name);
	expect_seen(&log2, 1, REGISTRY_NODE_CHANGED, 2, NULL);
	assert_int_equal(node_added(r2, 30, "Device", T0), 0);
	assert_string_equal(registry_node(r2, 30)->name, "Küche");
	assert_string_equal(log2.ev[2].name, "Küche");
	assert_int_equal(node_added(r2, 300, NULL, T0), 0);
	assert_string_equal(registry_node(r2, 300)->name, "gate");
	/* Names of absent nodes are remembered and block their name... */
	assert_int_equal(node_added(r2, 31, NULL, T0), 0);
	assert_int_equal(registry_load_names(r2, path), 0);
	assert_int_equal(registry_rename(r2, 31, "PORCH"), -EEXIST);
	/* ...until removed. */
	assert_int_equal(registry_rename(r2, 2, ""), 0);
	assert_int_equal(registry_rename(r2, 31, "PORCH"), 0);

	assert_null(registry_free(r2));
	free(path);
	rm_tree(dir);
	free(dir);
}

static void test_names_load_skips_bad(void **state)
{
	struct fixture *f = *state;
	char *dir = make_tmpdir(), *path = fs_join(dir, "names.json");

	write_file(path, "{\"1\": \"one\", \"0\": \"zero\", \"233\": \"big\","
			 " \"02\": \"lead\", \"x\": \"ex\", \"3\": 5,"
			 " \"4\": \"a/b\", \"5\": \"ONE\", \"6\": \"six\","
			 " \"7\": \"77\", \"8\": \"\", \"255\": \"hole\","
			 " \"4001\": \"far\", \"4000\": \"lr\"}\n");
	assert_int_equal(registry_load_names(f->r, path), 0);
	for (uint8_t id = 1; id <= 8; id++)
		assert_int_equal(node_added(f->r, id, NULL, T0), 0);
	assert_int_equal(node_added(f->r, 4000, NULL, T0), 0);
	assert_string_equal(registry_node(f->r, 1)->name, "one");
	assert_string_equal(registry_node(f->r, 6)->name, "six");
	assert_string_equal(registry_node(f->r, 4000)->name, "lr");
	for (uint8_t id = 2; id <= 8; id++)
		if (id != 6)
			assert_null(registry_node(f->r, id)->name);

	write_file(path, "[\"one\"]");
	assert_int_equal(registry_load_names(f->r, path), -EINVAL);
	write_file(path, "{\"1\": ");
	assert_int_equal(registry_load_names(f->r, path), -EINVAL);
	/* A failed load keeps the names there were. */
	assert_string_equal(registry_node(f->r, 1)->name, "one");

	/* Once node 6 is gone its name stays, can be removed, not set. */
	{
		struct zw_event ev = { .type = ZW_EV_NODE_REMOVED, .node = 6 };

		assert_int_equal(registry_apply(f->r, &ev, T0), 0);
	}
	assert_int_equal(registry_rename(f->r, 1, "SIX"), -EEXIST);
	assert_int_equal(registry_rename(f->r, 6, "other"), -ENOENT);
	assert_int_equal(registry_rename(f->r, 6, ""), 0);
	assert_int_equal(registry_rename(f->r, 6, ""), -ENOENT);
	assert_int_equal(registry_rename(f->r, 1, "SIX"), 0);
	free(path);
	rm_tree(dir);
	free(dir);
}

/* What the registry reported as set aside, one message a line. */
struct warned {
	size_t n;
	char text[2048];
};

static void on_warn(void *ctx, const char *msg)
{
	struct warned *w = ctx;
	size_t len = strlen(w->text);

	w->n++;
	snprintf(w->text + len, sizeof(w->text) - len, "%s\n", msg);
}

static bool warned_of(const struct warned *w, const char *needle)
{
	if (strstr(w->text, needle))
		return true;
	print_error("no warning \"%s\" in:\n%s", needle, w->text);
	return false;
}

/*
 * The names file is believed no more than rename: every entry that
 * rename would refuse is set aside with a warning naming its node, and
 * the rest load; of two nodes with one name the lower number keeps it,
 * whatever the order in the file.
 */
static void test_names_load_warns(void **state)
{
	struct fixture *f = *state;
	char *dir = make_tmpdir(), *path = fs_join(dir, "names.json");
	struct warned w = { 0 };
	char text[512];

	registry_set_warn(f->r, on_warn, &w);
	snprintf(text, sizeof(text),
		 "{\"9\": \"porch\", \"4\": \"PORCH\", \"5\": \"a+b\","
		 " \"6\": \"%065d\", \"7\": \"x\\u0001y\", \"8\": \"#\","
		 " \"x\": \"\\u001b[2J\", \"10\": 3, \"11\": \"hall\","
		 "  \"13\": \"14\", \"14\": \"kitchen\"}\n",
		 1);
	write_file(path, text);
	assert_int_equal(registry_load_names(f->r, path), 0);
	for (uint8_t id = 4; id <= 14; id++)
		assert_int_equal(node_added(f->r, id, NULL, T0), 0);
	assert_string_equal(registry_node(f->r, 4)->name, "PORCH");
	assert_string_equal(registry_node(f->r, 11)->name, "hall");
	assert_string_equal(registry_node(f->r, 14)->name, "kitchen");
	for (uint8_t id = 5; id <= 13; id++)
		if (id != 11 && id != 12)
			assert_null(registry_node(f->r, id)->name);
	assert_true(warned_of(&w, "node 9: name \"porch\" set aside: node 4 "
				  "has it too (the lower node number keeps "
				  "it)\n"));
	assert_true(warned_of(&w, "node 5: name set aside: names cannot "
				  "contain '/', '+' or '#'\n"));
	assert_true(warned_of(&w, "node 6: name set aside: a name is at most "
				  "64 bytes\n"));
	assert_true(warned_of(&w, "node 7: name set aside: a name must be "
				  "valid UTF-8 without control characters\n"));
	assert_true(warned_of(&w, "node 8: name set aside: names cannot "));
	assert_true(warned_of(&w, "an entry whose key is not a node number "
				  "(1..232 or 256..4000) set aside\n"));
	assert_true(warned_of(&w, "node 10: name set aside: not a string\n"));
	assert_true(warned_of(&w, "node 13: name set aside: a name cannot be "
				  "only digits\n"));
	assert_int_equal(w.n, 8);
	/* What was refused is never quoted: it may be anything. */
	assert_null(strstr(w.text, "\x1b"));
	assert_null(strstr(w.text, "a+b"));
	free(path);
	rm_tree(dir);
	free(dir);
}

/*
 * {"4":"porch"} planted beside the device that calls itself porch: the
 * device keeps its name, node 4's is set aside with a warning, and
 * "porch" still finds exactly one node, whichever comes first.
 */
static void test_names_device_clash(void **state)
{
	struct fixture *f = *state;
	char *dir = make_tmpdir(), *path = fs_join(dir, "names.json");
	struct warned w = { 0 };
	struct registry_node *n = NULL;

	registry_set_warn(f->r, on_warn, &w);
	write_file(path, "{\"4\": \"porch\"}\n");
	assert_int_equal(registry_load_names(f->r, path), 0);
	assert_int_equal(node_added(f->r, 4, "hall sensor", T0), 0);
	assert_string_equal(registry_node(f->r, 4)->name, "porch");
	assert_int_equal(node_added(f->r, 2, "porch", T0), 0);
	assert_string_equal(registry_node(f->r, 4)->name, "hall sensor");
	assert_false(registry_node(f->r, 4)->user_name);
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 2);
	assert_int_equal(w.n, 1);
	assert_true(warned_of(&w, "node 4: name \"porch\" set aside: node 2's "
				  "device reports that name\n"));
	/* Listeners heard of node 4's new name. */
	expect_seen(&f->log, 1, REGISTRY_NODE_CHANGED, 4, NULL);
	assert_string_equal(f->log.ev[1].name, "hall sensor");

	/* Both present before the load: set aside at the load. */
	w.n = 0;
	w.text[0] = '\0';
	write_file(path, "{\"4\": \"Porch\", \"5\": \"lounge\"}\n");
	assert_int_equal(registry_load_names(f->r, path), 0);
	assert_int_equal(w.n, 1);
	assert_true(warned_of(&w, "node 4: name \"Porch\" set aside: node 2's "
				  "device reports that name\n"));
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 2);

	/* Not a clash when the file renames the device's node too. */
	w.n = 0;
	write_file(path, "{\"2\": \"front\", \"4\": \"porch\"}\n");
	assert_int_equal(registry_load_names(f->r, path), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 4);
	free(path);
	rm_tree(dir);
	free(dir);
}

/*
 * Clearing a user name gives the node back its device's name: refused
 * when another node holds that name, by rename or by the names file,
 * or the name would find two nodes.
 */
static void test_rename_clear_clash(void **state)
{
	struct fixture *f = *state;
	char *dir = make_tmpdir(), *path = fs_join(dir, "names.json");
	struct registry_node *n = NULL;

	assert_int_equal(node_added(f->r, 7, "porch", T0), 0);
	assert_int_equal(node_added(f->r, 4, "hall sensor", T0), 0);
	assert_int_equal(registry_rename(f->r, 7, "kitchen"), 0);
	assert_int_equal(registry_rename(f->r, 4, "porch"), 0);
	assert_int_equal(registry_rename(f->r, 7, ""), -EEXIST);
	assert_string_equal(registry_node(f->r, 7)->name, "kitchen");
	assert_true(registry_node(f->r, 7)->user_name);
	assert_int_equal(registry_name_holder(f->r, 7, "PORCH"), 4);
	assert_string_equal(registry_device_name(f->r, 7), "porch");
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 4);
	/* Once node 4 lets the name go, node 7 can take its own back. */
	assert_int_equal(registry_rename(f->r, 4, ""), 0);
	assert_int_equal(registry_rename(f->r, 7, ""), 0);
	assert_string_equal(registry_node(f->r, 7)->name, "porch");
	assert_false(registry_node(f->r, 7)->user_name);
	/* Clearing a node without a user name changes nothing: still 0. */
	assert_int_equal(registry_rename(f->r, 7, ""), 0);

	/* The same from the names file. */
	write_file(path, "{\"4\": \"porch\", \"7\": \"kitchen\"}\n");
	assert_int_equal(registry_load_names(f->r, path), 0);
	assert_string_equal(registry_node(f->r, 4)->name, "porch");
	assert_int_equal(registry_rename(f->r, 7, ""), -EEXIST);
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 4);

	/* A device name held by a node without a user name counts too. */
	assert_int_equal(registry_rename(f->r, 4, ""), 0);
	assert_int_equal(node_added(f->r, 4, "porch", T0), 0);
	assert_string_equal(registry_node(f->r, 4)->name, "porch");
	assert_int_equal(registry_rename(f->r, 7, ""), -EEXIST);
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 4);
	free(path);
	rm_tree(dir);
	free(dir);
}

/*
 * The reverse: the device name arrives after another node took it as a
 * user name.  The device of a node without a user name wins (see
 * test_names_device_clash); that of a node with one does not, and
 * clearing the name is refused as above.
 */
static void test_names_device_arrives(void **state)
{
	struct fixture *f = *state;
	struct registry_node *n = NULL;

	assert_int_equal(node_added(f->r, 7, "garage", T0), 0);
	assert_int_equal(node_added(f->r, 4, "hall sensor", T0), 0);
	assert_int_equal(registry_rename(f->r, 7, "kitchen"), 0);
	assert_int_equal(registry_rename(f->r, 4, "porch"), 0);
	/* Node 7's device settles on "porch": node 7 keeps "kitchen". */
	assert_int_equal(node_added(f->r, 7, "porch", T0), 0);
	assert_string_equal(registry_node(f->r, 7)->name, "kitchen");
	assert_string_equal(registry_node(f->r, 4)->name, "porch");
	assert_int_equal(registry_rename(f->r, 7, ""), -EEXIST);
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 4);
	/* Node 9 without a user name reports "porch": node 4's name goes. */
	assert_int_equal(node_added(f->r, 9, "porch", T0), 0);
	assert_false(registry_node(f->r, 4)->user_name);
	assert_string_equal(registry_node(f->r, 4)->name, "hall sensor");
	assert_int_equal(registry_find_node(f->r, "porch", &n), 0);
	assert_int_equal(n->id, 9);
	assert_int_equal(registry_rename(f->r, 7, ""), -EEXIST);
}

static void test_write_atomic(void **state)
{
	char *dir = make_tmpdir(), *path = fs_join(dir, "state");
	char *tmp, *text;
	size_t len;
	struct stat st;
	mode_t old_umask;

	assert_int_equal(fs_write_atomic(dir, "state", "one\n", 4, 0600), 0);
	assert_int_equal(fs_read_file(path, 100, &text, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Replacing: a new inode takes the name, the old one is whole. */
	{
		int fd = open(path, O_RDONLY);
		char buf[8] = "";

		assert_true(fd >= 0);
		old_umask = umask(077);
		assert_int_equal(
		    fs_write_atomic(dir, "state", "second", 6, 0644), 0);
		umask(old_umask);
		assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
		assert_string_equal(buf, "one\n");
		close(fd);
	}
	assert_int_equal(fs_read_file(path, 100, &text, &len), 0);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(dir), 1);

	/* A temp file with our pid, left by a crash, is no obstacle. */
	assert_true(asprintf(&tmp, "%s/.state.tmp.%ld", dir, (long)getpid()) >
		    0);
	write_file(tmp, "stale");
	assert_int_equal(fs_write_atomic(dir, "state", "third", 5, 0600), 0);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(access(tmp, F_OK), -1);
	free(tmp);

	assert_int_equal(fs_write_atomic(dir, "a/b", "x", 1, 0600), -EINVAL);
	assert_int_equal(fs_write_atomic(dir, "", "x", 1, 0600), -EINVAL);
	assert_int_equal(fs_write_atomic(dir, "..", "x", 1, 0600), -EINVAL);
	assert_int_equal(
	    fs_write_atomic("/nonexistent/zwgate", "state", "x", 1, 0600),
	    -ENOENT);
	/* A rename that fails (onto a non-empty directory) leaves no temp. */
	tmp = fs_join(dir, "sub");
	assert_int_equal(mkdir(tmp, 0700), 0);
	free(tmp);
	tmp = fs_join(dir, "sub/x");
	write_file(tmp, "x");
	assert_true(fs_write_atomic(dir, "sub", "x", 1, 0600) < 0);
	assert_int_equal(count_entries(dir), 2);
	unlink(tmp);
	free(tmp);

	free(path);
	rm_tree(dir);
	free(dir);
}

static void test_read_file(void **state)
{
	char *dir = make_tmpdir(), *path = fs_join(dir, "f");
	char *text = NULL;
	size_t len = 99;

	write_file(path, "12345");
	assert_int_equal(fs_read_file(path, 5, &text, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "12345");
	free(text);
	text = NULL;
	assert_int_equal(fs_read_file(path, 4, &text, &len), -EFBIG);
	assert_null(text);
	assert_int_equal(fs_read_file(dir, 100, &text, &len), -EISDIR);
	assert_int_equal(fs_read_file("/dev/null", 100, &text, &len), -EINVAL);
	write_file(path, "");
	assert_int_equal(fs_read_file(path, 0, &text, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	unlink(path);
	assert_int_equal(fs_read_file(path, 100, &text, &len), -ENOENT);
	free(path);
	rm_tree(dir);
	free(dir);
}

static void test_ensure_dir(void **state)
{
	char *dir = make_tmpdir(), *sub = fs_join(dir, "state");
	char *file = fs_join(dir, "file"), *deep = fs_join(dir, "a/b");
	mode_t old_umask = umask(077);
	struct stat st;

	assert_int_equal(fs_ensure_dir(sub, 0750), 0);
	umask(old_umask);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(fs_ensure_dir(sub, 0700), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* An existing directory tighter than asked stays so. */
	assert_int_equal(fs_ensure_dir(sub, 0755), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	write_file(file, "x");
	assert_int_equal(fs_ensure_dir(file, 0700), -ENOTDIR);
	assert_int_equal(fs_ensure_dir(deep, 0700), -ENOENT);

	free(sub);
	free(file);
	free(deep);
	rm_tree(dir);
	free(dir);
}

static void test_join(void **state)
{
	char *s = fs_join("/var/lib/zwgate", "names.json");

	assert_string_equal(s, "/var/lib/zwgate/names.json");
	free(s);
	s = fs_join("/var/lib/zwgate/", "names.json");
	assert_string_equal(s, "/var/lib/zwgate/names.json");
	free(s);
	s = fs_join("", "x");
	assert_string_equal(s, "/x");
	free(s);
}

static json_t *value_json_of(struct registry *r, const struct value_meta *m)
{
	struct registry_value *v = registry_value(r, &m->key);

	assert_non_null(v);
	return registry_value_json(v);
}

static void test_json_views(void **state)
{
	struct fixture *f = *state;
	struct value_meta sw = meta(2, 0x25, 0, "currentValue", VALUE_BOOL);
	struct value_meta lvl = meta(2, 0x26, 1, "currentValue", VALUE_INT);
	struct value_meta t = meta(2, 0x40, 0, "mode", VALUE_ENUM);
	struct value_meta p = meta(2, 0x32, 0, "power", VALUE_FLOAT);
	struct value on = { .type = VALUE_BOOL, .u.b = true };
	struct value watts = { .type = VALUE_FLOAT, .u.f = 12.345 };
	json_t *j, *vals, *items;

	assert_int_equal(node_added(f->r, 2, "Plug", T0), 0);
	sw.writable = true;
	lvl.min = 0;
	lvl.max = 99;
	snprintf(lvl.label, sizeof(lvl.label), "Level");
	assert_int_equal(value_meta_alloc_items(&t, 2), 0);
	snprintf(t.items[0], sizeof(t.items[0]), "off");
	snprintf(t.items[1], sizeof(t.items[1]), "heat");
	snprintf(p.unit, sizeof(p.unit), "W");
	p.precision = 1;
	assert_int_equal(value_added(f->r, &sw, &on), 0);
	assert_int_equal(value_added(f->r, &lvl, NULL), 0);
	assert_int_equal(value_added(f->r, &t, NULL), 0);
	assert_int_equal(value_added(f->r, &p, &watts), 0);
	/* The registry keeps a copy of the items, not the backend's. */
	value_meta_clear(&t);

	j = registry_node_json(registry_node(f->r, 2), false);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "Plug");
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "alive");
	assert_string_equal(
	    json_string_value(json_object_get(j, "manufacturer")), "Aeotec");
	assert_string_equal(json_string_value(json_object_get(j, "product")),
			    "Smart Switch 6");
	assert_true(json_is_null(json_object_get(j, "location")));
	assert_int_equal(json_integer_value(json_object_get(j, "values")), 4);
	json_decref(j);

	j = registry_node_json(registry_node(f->r, 2), true);
	vals = json_object_get(j, "values");
	assert_true(json_is_array(vals));
	assert_int_equal(json_array_size(vals), 4);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(vals, 3), "path")),
	    "meter/0/power");
	json_decref(j);

	j = value_json_of(f->r, &sw);
	assert_string_equal(json_string_value(json_object_get(j, "path")),
			    "switch_binary/0/currentValue");
	assert_string_equal(json_string_value(json_object_get(j, "alias")),
			    "switch");
	assert_string_equal(json_string_value(json_object_get(j, "cc")),
			    "switch_binary");
	assert_int_equal(json_integer_value(json_object_get(j, "endpoint")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "property")),
			    "currentValue");
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "bool");
	assert_true(json_is_true(json_object_get(j, "value")));
	assert_true(json_is_true(json_object_get(j, "readable")));
	assert_true(json_is_true(json_object_get(j, "writable")));
	assert_int_equal(json_integer_value(json_object_get(j, "updated_ms")),
			 T0);
	assert_null(json_object_get(j, "unit"));
	assert_null(json_object_get(j, "label"));
	assert_null(json_object_get(j, "min"));
	assert_null(json_object_get(j, "max"));
	assert_null(json_object_get(j, "items"));
	json_decref(j);

	j = value_json_of(f->r, &lvl);
	assert_true(json_is_null(json_object_get(j, "value")));
	assert_true(json_is_null(json_object_get(j, "updated_ms")));
	assert_string_equal(json_string_value(json_object_get(j, "alias")),
			    "level");
	assert_int_equal(json_integer_value(json_object_get(j, "endpoint")), 1);
	assert_true(json_is_integer(json_object_get(j, "min")));
	assert_int_equal(json_integer_value(json_object_get(j, "min")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "max")), 99);
	assert_string_equal(json_string_value(json_object_get(j, "label")),
			    "Level");
	assert_false(json_is_true(json_object_get(j, "writable")));
	json_decref(j);

	j = value_json_of(f->r, &t);
	items = json_object_get(j, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_array_get(items, 1)),
			    "heat");
	assert_true(json_is_null(json_object_get(j, "alias")));
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "enum");
	json_decref(j);

	j = value_json_of(f->r, &p);
	assert_string_equal(json_string_value(json_object_get(j, "unit")), "W");
	assert_true(json_real_value(json_object_get(j, "value")) == 12.3);
	json_decref(j);

	assert_int_equal(registry_rename(f->r, 2, "porch"), 0);
	assert_int_equal(node_added(f->r, 3, NULL, T0), 0);
	j = registry_node_json(registry_node(f->r, 3), false);
	assert_true(json_is_null(json_object_get(j, "name")));
	json_decref(j);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_node_added),	     T(test_node_status),
		T(test_values_lifecycle),    T(test_value_refused),
		T(test_string_value_copied), T(test_enum_items_copied),
		T(test_notification),	     T(test_controller),
		T(test_node_removed),	     T(test_limits),
		T(test_listeners),	     T(test_listener_unlisten_in_call),
		T(test_next_node),	     T(test_find_node),
		T(test_find_value),	     T(test_aliases),
		T(test_name_rules),	     T(test_rename),
		T(test_names_persist),	     T(test_names_load_skips_bad),
		T(test_names_load_warns),    T(test_names_device_clash),
		T(test_rename_clear_clash),  T(test_names_device_arrives),
		T(test_write_atomic),	     T(test_read_file),
		T(test_ensure_dir),	     T(test_join),
		T(test_json_views),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
