/* SPDX-License-Identifier: MIT */
/*
 * coalesce.c: one timer per job; the window is open while it runs.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "coalesce.h"

struct coalesce {
	uv_timer_t timer; /* first: the handle is the allocation */
	unsigned window_ms;
	coalesce_fn *fn;
	void *ctx;
	bool again; /* asked for while the window was open */
};

static void on_window_end(uv_timer_t *t);

static void run(struct coalesce *c)
{
	c->again = false;
	uv_timer_start(&c->timer, on_window_end, c->window_ms, 0);
	c->fn(c->ctx);
}

static void on_window_end(uv_timer_t *t)
{
	struct coalesce *c = t->data;

	if (c->again)
		run(c);
}

int coalesce_new(uv_loop_t *loop, unsigned window_ms, coalesce_fn *fn,
		 void *ctx, struct coalesce **ret)
{
	struct coalesce *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->window_ms = window_ms;
	c->fn = fn;
	c->ctx = ctx;
	*ret = c;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void coalesce_free(struct coalesce *c)
{
	if (c)
		uv_close((uv_handle_t *)&c->timer, on_closed);
}

bool coalesce_kick(struct coalesce *c)
{
	if (uv_is_active((uv_handle_t *)&c->timer)) {
		c->again = true;
		return false;
	}
	run(c);
	return true;
}
