/* SPDX-License-Identifier: MIT */
/*
 * registry_names.c: the user's node names, given by rename and kept in
 * the names file of the state directory.  Both obey one set of rules
 * (registry_name_problem and registry_name_holder): a name from the file is
 * believed no more than a name typed by a user, since anyone who can
 * write the state directory can write the file.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "registry.h"
#include "registry_int.h"

#define REGISTRY_NAMES_FILE_MAX 65536 /* bytes of the saved names file */
#define REGISTRY_WARN_MAX	256   /* bytes of one warning */

void registry_set_warn(struct registry *r, registry_warn_fn fn, void *ctx)
{
	r->warn = fn;
	r->warn_ctx = ctx;
}

static void names_warn(const struct registry *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void names_warn(const struct registry *r, const char *fmt, ...)
{
	char msg[REGISTRY_WARN_MAX];
	va_list ap;

	if (!r->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->warn(r->warn_ctx, msg);
}

const char *registry_name_problem(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || name[0] == ' ' || name[len - 1] == ' ')
		return "a name cannot be empty or start/end with a space";
	if (len > REGISTRY_NAME_MAX)
		return "a name is at most 64 bytes";
	if (strpbrk(name, "/+#"))
		return "names cannot contain '/', '+' or '#'";
	if (!value_text_valid(name, len))
		return "a name must be valid UTF-8 without control characters";
	if (registry_all_digits(name))
		return "a name cannot be only digits";
	return NULL;
}

/*
 * The node other than id that holds name (case-insensitively) when the
 * user names are names: by a user name there, present or remembered, or,
 * with r, by the name its device reports when it has no user name.
 * 0: nobody.
 */
static unsigned name_holder(const struct registry *r, char *const *names,
			    unsigned id, const char *name)
{
	for (unsigned i = ZW_NODE_MIN; i <= ZW_NODE_MAX; i++) {
		const char *held = names[i];

		if (i == id)
			continue;
		if (!held && r && r->nodes[i])
			held = r->device_names[i];
		if (held && strcasecmp(held, name) == 0)
			return i;
	}
	return 0;
}

unsigned registry_name_holder(const struct registry *r, unsigned id,
			      const char *name)
{
	return name ? name_holder(r, r->names, id, name) : 0;
}

const char *registry_device_name(const struct registry *r, unsigned id)
{
	return registry_id_valid(id) && r->nodes[id] ? r->device_names[id]
						     : NULL;
}

/*
 * An absent node cannot be named; but a name kept for an absent id can be
 * removed, or it would block that name for ever.  Removing the name of a
 * present node gives it back its device's name, which must then be free:
 * another node may have taken it while this one had a user name, and
 * two nodes of one name can be found by neither.  (Suppressing the
 * device name instead would leave a node without a name that nobody
 * chose.)  A device name that arrives later is settled by
 * registry_names_settle.
 */
int registry_rename(struct registry *r, unsigned id, const char *name)
{
	struct registry_node *n = registry_node(r, id);
	char *copy = NULL;

	if (!name || (!n && !(registry_id_valid(id) && r->names[id] && !*name)))
		return -ENOENT;
	if (*name) {
		if (registry_name_problem(name))
			return -EINVAL;
		if (name_holder(r, r->names, id, name))
			return -EEXIST;
		if (!(copy = strdup(name)))
			return -ENOMEM;
	} else if (n && r->names[id] && r->device_names[id] &&
		   name_holder(r, r->names, id, r->device_names[id])) {
		return -EEXIST;
	}
	free(r->names[id]);
	r->names[id] = copy;
	if (!n)
		return 0;
	registry_node_sync_name(r, n);
	registry_emit(r, REGISTRY_NODE_CHANGED, n, NULL, NULL);
	return 0;
}

/*
 * The device wins: the user name was given while that device was away
 * or reported another name, or was planted in the names file; rename
 * would refuse it now.  Rather than leave both nodes unreachable by the
 * name (it would be ambiguous), the user name goes; the node it leaves
 * goes by its own device name, which may set aside another in turn (at
 * most one a user name, so this ends).
 */
void registry_names_settle(struct registry *r, struct registry_node *n,
			   bool tell)
{
	const char *dev = r->device_names[n->id];
	unsigned id;

	if (r->names[n->id] || !dev)
		return;
	while ((id = name_holder(NULL, r->names, n->id, dev))) {
		struct registry_node *other = r->nodes[id];

		names_warn(r,
			   "node %u: name \"%s\" set aside: node %u's device "
			   "reports that name",
			   id, r->names[id], (unsigned)n->id);
		free(r->names[id]);
		r->names[id] = NULL;
		if (!other)
			continue;
		registry_node_sync_name(r, other);
		if (tell)
			registry_emit(r, REGISTRY_NODE_CHANGED, other, NULL,
				      NULL);
		registry_names_settle(r, other, tell);
	}
}

/* With a final newline, friendlier to cat. */
char *registry_names_text(const struct registry *r)
{
	json_t *o = json_object();
	char *text = NULL, *line = NULL;

	if (!o)
		return NULL;
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++) {
		char key[8];

		if (!r->names[id])
			continue;
		snprintf(key, sizeof(key), "%u", id);
		if (json_object_set_new(o, key, json_string(r->names[id])))
			goto out;
	}
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
out:
	free(text);
	json_decref(o);
	return line;
}

int registry_save_names(const struct registry *r, const char *path)
{
	char *dir = fs_dir_of(path), *text = registry_names_text(r);
	int err = -ENOMEM;

	if (dir && text)
		err = fs_write_atomic(dir, fs_base_of(path), text, strlen(text),
				      0600);
	free(dir);
	free(text);
	return err;
}

/* "12" -> 12: digits only, no leading zero, a node id
 * (ZW_NODE_RANGE_TXT); else 0. */
static unsigned parse_id(const char *s)
{
	unsigned id;

	if (!registry_all_digits(s) || s[0] == '0' || strlen(s) > 4)
		return 0;
	id = (unsigned)atoi(s);
	return registry_id_valid(id) ? id : 0;
}

/*
 * One entry of the file into cand[id], or set aside with a warning.  A
 * key or name that is refused is not quoted: it may be anything.
 */
static int names_take(const struct registry *r, const char *key, json_t *val,
		      char **cand)
{
	unsigned id = parse_id(key);
	const char *name = json_string_value(val), *why;

	if (!id) {
		names_warn(r, "an entry whose key is not a node number "
			      "(" ZW_NODE_RANGE_TXT ") set aside");
		return 0;
	}
	if (!name)
		why = "not a string";
	else if (strlen(name) != json_string_length(val))
		why = "a name cannot contain a NUL byte";
	else
		why = registry_name_problem(name);
	if (why) {
		names_warn(r, "node %u: name set aside: %s", id, why);
		return 0;
	}
	free(cand[id]);
	return (cand[id] = strdup(name)) ? 0 : -ENOMEM;
}

/*
 * Entries that are wrong in any way are set aside, not fatal: one bad
 * name must not cost the user all the others.  Two nodes with one name:
 * the lower node number keeps it, whatever the order in the file.
 */
static int names_parse(const struct registry *r, json_t *o, char **names,
		       char **cand)
{
	const char *key;
	json_t *val;
	int err = 0;

	json_object_foreach(o, key, val)
	{
		if ((err = names_take(r, key, val, cand)) < 0)
			break;
	}
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++) {
		unsigned holder;

		if (!cand[id] || err < 0)
			continue;
		holder = name_holder(NULL, names, id, cand[id]);
		if (!holder) {
			names[id] = cand[id];
			cand[id] = NULL;
			continue;
		}
		names_warn(r,
			   "node %u: name \"%s\" set aside: node %u has it "
			   "too (the lower node number keeps it)",
			   id, cand[id], holder);
	}
	for (unsigned id = 0; id <= ZW_NODE_MAX; id++)
		free(cand[id]);
	return err;
}

/*
 * Replace all user names, set aside those that clash with what present
 * devices report, and tell listeners whose name changed.
 */
/* Scratch of a load, on the heap: 4001 node ids do not belong on a stack. */
struct names_load {
	char *names[ZW_NODE_MAX + 1], *cand[ZW_NODE_MAX + 1];
	char *old[ZW_NODE_MAX + 1];
	const char *before[ZW_NODE_MAX + 1];
	bool changed[ZW_NODE_MAX + 1];
};

static void names_install(struct registry *r, struct names_load *l)
{
	char **names = l->names, **old = l->old;
	const char **before = l->before;
	bool *changed = l->changed;

	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++) {
		old[id] = r->names[id];
		r->names[id] = names[id];
		if (r->nodes[id]) {
			before[id] = r->nodes[id]->name;
			registry_node_sync_name(r, r->nodes[id]);
		}
	}
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++)
		if (r->nodes[id])
			registry_names_settle(r, r->nodes[id], false);
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++) {
		struct registry_node *n = r->nodes[id];

		changed[id] =
		    n && ((before[id] == NULL) != (n->name == NULL) ||
			  (before[id] && strcmp(before[id], n->name)));
		free(old[id]);
	}
	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++)
		if (changed[id] && r->nodes[id])
			registry_emit(r, REGISTRY_NODE_CHANGED, r->nodes[id],
				      NULL, NULL);
}

int registry_load_names(struct registry *r, const char *path)
{
	struct names_load *l;
	char *text;
	size_t len;
	json_t *o;
	int err = fs_read_file(path, REGISTRY_NAMES_FILE_MAX, &text, &len);

	if (err < 0)
		return err;
	o = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		json_decref(o);
		return -ENOMEM;
	}
	err = names_parse(r, o, l->names, l->cand);
	json_decref(o);
	if (err < 0) {
		for (unsigned id = 0; id <= ZW_NODE_MAX; id++)
			free(l->names[id]);
	} else {
		names_install(r, l);
	}
	free(l);
	return err;
}
