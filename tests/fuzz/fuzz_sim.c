/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sim.c: the simulated network's file (zwave { sim-network }, the
 * format at the top of src/zw/zw_sim.c), opened by the sim backend on a
 * loop that feeds a registry, as zwgated does.  A network that opens is
 * then used: its start events delivered, every writable value written
 * back with what it holds, every node refreshed, the network healed;
 * then closed, and the loop must end with no handle left.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "registry.h"
#include "zw.h"

#define FUZZ_TURNS 8

static char fuzz_file[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_path(fuzz_file, fuzz_dir(), "sim.json");
	return 0;
}

static void on_zw(void *ctx, const struct zw_event *ev)
{
	/* Refusals are the registry's to make: a -errno here is fine. */
	registry_apply(ctx, ev, 1000);
}

static void turn(uv_loop_t *loop)
{
	for (int i = 0; i < FUZZ_TURNS; i++)
		uv_run(loop, UV_RUN_NOWAIT);
}

static void use_network(struct zw *z, struct registry *reg, uv_loop_t *loop)
{
	struct registry_node *n = NULL;

	turn(loop);
	while ((n = registry_next_node(reg, n))) {
		for (size_t i = 0; i < n->nvalues; i++) {
			const struct registry_value *v = n->values[i];

			if (v->has_val && v->meta.writable)
				zw_set_value(z, &v->meta.key, &v->val);
		}
		zw_refresh(z, n->id);
	}
	zw_heal(z);
	turn(loop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zw_opts o = { .state_dir = fuzz_dir(),
			     .sim_network = fuzz_file };
	struct registry *reg = registry_new();
	struct zw *z = NULL;
	uv_loop_t loop;
	int r;

	fuzz_check(reg && uv_loop_init(&loop) == 0, "setup");
	fuzz_write(fuzz_file, data, size, 0644);
	r = zw_sim_ops.open(&loop, &o, on_zw, reg, &z);
	fuzz_check(r <= 0 && (r == 0) == (z != NULL), "open: %d", r);
	if (z) {
		use_network(z, reg, &loop);
		zw_close(z);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	fuzz_check(uv_loop_close(&loop) == 0, "a handle outlived the network");
	registry_free(reg);
	return 0;
}
