/* SPDX-License-Identifier: MIT */
/*
 * fuzz_names.c: names.json of the state directory (the user's node
 * names, src/core/registry_names.c), which anyone who can write that
 * directory can write.  Loaded twice: into a registry whose nodes are
 * there first (devices reporting names, one of them "porch"), and into
 * one whose nodes come after the load, as at zwgated's start.
 *
 * Properties: a load ends in 0 or a clear refusal of the whole file;
 * every warning is one short line of printable text (refused input is
 * never quoted raw); afterwards every present node's name obeys
 * rename's rules and finds that node alone, by its text and in another
 * case; what was loaded is saved and loads back the same, with no
 * warning.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "registry.h"

#define FUZZ_WARN_MAX 256 /* bytes of one warning, as the registry says */

/* The devices and the names they report; no two alike. */
static const char *const fuzz_devices[] = {
	NULL,	       "Plug",	     "porch",		"lounge lamp",
	"hall sensor", "hall light", "freezer",		"garden sensor",
	"washer plug", "front door", "front door lock", NULL,
	"doorbell",
};
#define FUZZ_NODES (sizeof(fuzz_devices) / sizeof(fuzz_devices[0]))

static char fuzz_file[PATH_MAX], fuzz_saved[PATH_MAX];
static unsigned fuzz_warnings;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_path(fuzz_file, fuzz_dir(), "names.json");
	fuzz_path(fuzz_saved, fuzz_dir(), "saved.json");
	return 0;
}

static void on_warn(void *ctx, const char *msg)
{
	size_t len = strlen(msg);

	fuzz_check(len > 0 && len < FUZZ_WARN_MAX, "warning of %zu bytes", len);
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		fuzz_check(*p >= 0x20 && *p != 0x7f,
			   "control byte 0x%02x in "
			   "a warning: %s",
			   *p, msg);
	fuzz_warnings++;
	(void)ctx;
}

static void add_nodes(struct registry *r)
{
	for (unsigned id = ZW_NODE_MIN; id < FUZZ_NODES; id++) {
		struct zw_event ev = { .type = ZW_EV_NODE_ADDED, .node = id };

		ev.u.node.name = fuzz_devices[id];
		ev.u.node.status = ZW_NODE_ALIVE;
		fuzz_check(registry_apply(r, &ev, 1000) == 0, "node %u", id);
	}
}

static void upper(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32
							       : src[i]);
	dst[i] = '\0';
}

/* Every name a present node goes by finds it, and it alone. */
static void check_names(const struct registry *r)
{
	struct registry_node *n = NULL, *found;
	char folded[REGISTRY_NAME_MAX + 1];

	while ((n = registry_next_node(r, n))) {
		if (!n->name)
			continue;
		if (n->user_name)
			fuzz_check(!registry_name_problem(n->name),
				   "node %u: a bad name loaded", n->id);
		fuzz_check(registry_find_node(r, n->name, &found) == 0 &&
			       found == n,
			   "node %u: its name does not find it", n->id);
		upper(folded, n->name, sizeof(folded));
		fuzz_check(
		    registry_find_node(r, folded, &found) == 0 && found == n,
		    "node %u: its name in capitals does not find it", n->id);
	}
}

static bool same_names(const struct registry *a, const struct registry *b)
{
	for (unsigned id = ZW_NODE_MIN; id < FUZZ_NODES; id++) {
		const struct registry_node *x = registry_node(a, id),
					   *y = registry_node(b, id);

		if (x->user_name != y->user_name ||
		    (x->name == NULL) != (y->name == NULL) ||
		    (x->name && strcmp(x->name, y->name) != 0))
			return false;
	}
	return true;
}

static struct registry *load(bool nodes_first, int *ret)
{
	struct registry *r = registry_new();

	fuzz_check(r != NULL, "registry_new");
	registry_set_warn(r, on_warn, NULL);
	if (nodes_first)
		add_nodes(r);
	*ret = registry_load_names(r, fuzz_file);
	fuzz_check(*ret == 0 || *ret == -EINVAL || *ret == -EFBIG, "load: %d",
		   *ret);
	if (!nodes_first)
		add_nodes(r);
	check_names(r);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry *before, *after, *again;
	int r1, r2, r3;

	fuzz_write(fuzz_file, data, size, 0600);
	before = load(true, &r1);
	after = load(false, &r2);
	fuzz_check(r1 == r2, "two loads of one file: %d, %d", r1, r2);

	/* What loaded is saved, and loads back the same without a word. */
	fuzz_check(registry_save_names(before, fuzz_saved) == 0, "save");
	again = registry_new();
	fuzz_check(again != NULL, "registry_new");
	add_nodes(again);
	fuzz_warnings = 0;
	registry_set_warn(again, on_warn, NULL);
	r3 = registry_load_names(again, fuzz_saved);
	fuzz_check(r3 == 0, "reload of what was saved: %d", r3);
	fuzz_check(fuzz_warnings == 0, "reload of what was saved warned");
	fuzz_check(same_names(before, again), "reload changed the names");

	registry_free(before);
	registry_free(after);
	registry_free(again);
	return 0;
}
