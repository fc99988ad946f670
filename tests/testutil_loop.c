/* SPDX-License-Identifier: MIT */
/*
 * The loop half of the unit tests' helpers (testutil.h): kept apart from
 * testutil.c so that a core test, which runs no loop, links no libuv
 * (tools/layering checks the core tests' binaries).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "testutil.h"

struct until {
	bool (*done)(void *arg);
	void *arg;
	bool rang;
};

static void wake(uv_timer_t *t)
{
	((struct until *)t->data)->rang = true;
}

/*
 * Just before the loop would block: a condition that a timer or an idle
 * callback of this iteration made true stops it, so that the poll does
 * not sleep until the next event (at worst, the deadline's timer).  So
 * does the deadline's timer when it rang in this iteration, before the
 * poll: a one-shot timer that has rung is no longer there to end the
 * poll, which then slept until some other event, for ever when none came
 * (a hang of test_bridge under valgrind, whose slowness makes the timer
 * come due between two iterations).  Stopped, tu_run_until sets it
 * again or ends.
 */
static void check_done(uv_prepare_t *p)
{
	struct until *u = p->data;

	if (u->rang || u->done(u->arg))
		uv_stop(p->loop);
}

bool tu_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg,
		  unsigned ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
	struct until u = { .done = done, .arg = arg };
	uv_timer_t timer;
	uv_prepare_t prepare;
	bool ok;

	/* Fails only for a loop that is not one: then no waiting at all. */
	if (uv_timer_init(loop, &timer) < 0 ||
	    uv_prepare_init(loop, &prepare) < 0)
		return done(arg);
	timer.data = prepare.data = &u;
	uv_update_time(loop);
	/* Fail only on a closing handle or a NULL callback. */
	(void)uv_timer_start(&timer, wake, ms, 0);
	(void)uv_prepare_start(&prepare, check_done);
	while (!(ok = done(arg))) {
		uint64_t now = uv_hrtime();

		if (now >= end)
			break;
		/*
		 * The loop's clock (whole, cached milliseconds) may ring the
		 * timer a little before the deadline: set it again, or the
		 * next UV_RUN_ONCE would sleep until some other event.
		 */
		if (u.rang) {
			u.rang = false;
			(void)uv_timer_start(&timer, wake,
					     (end - now) / 1000000u + 1, 0);
		}
		uv_run(loop, UV_RUN_ONCE);
	}
	uv_close((uv_handle_t *)&timer, NULL);
	uv_close((uv_handle_t *)&prepare, NULL);
	/* The closes complete at the end of this loop iteration. */
	uv_run(loop, UV_RUN_NOWAIT);
	return ok;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

void tu_run_for(uv_loop_t *loop, unsigned ms)
{
	tu_run_until(loop, never, NULL, ms);
}

static void close_one(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int tu_loop_close(uv_loop_t *loop)
{
	uv_walk(loop, close_one, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return uv_loop_close(loop);
}

bool tu_loop_drain(uv_loop_t *loop, unsigned ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;

	while (uv_run(loop, UV_RUN_NOWAIT) && uv_hrtime() < end)
		uv_sleep(1);
	if (!uv_loop_alive(loop))
		return true;
	fprintf(stderr, "still active on the loop after %u ms:\n", ms);
	uv_print_active_handles(loop, stderr);
	return false;
}
