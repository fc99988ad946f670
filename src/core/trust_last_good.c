/* SPDX-License-Identifier: MIT */
/*
 * trust_last_good.c: the last-good time in a file of its own.
 *
 * The last-good time (the time floor: the clock is never believed to be
 * before the last fully verified connection) rises every hour the link
 * is up.  It has its own file, <dir>/last-good, so that the daemon can
 * write it off the loop (fs_job) while the state file stays the loop's,
 * written in order with the slots it names.  The state keeps a
 * "last-good" too, the one known when it was last written; at open the
 * larger of the two counts, so neither write can lower it and neither
 * order of them matters.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fsutil.h"
#include "trust_store_int.h"

#define LAST_GOOD_MAX 256 /* bytes of the file */

int trust_store_last_good_text(const struct trust_store *s, char **text,
			       size_t *len)
{
	json_t *o =
	    json_pack("{s:I}", "last-good", (json_int_t)s->st.last_good);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!t)
		return -ENOMEM;
	*len = strlen(t);
	*text = t;
	return 0;
}

void trust_store_last_good_load(struct trust_store *s)
{
	char *path = fs_join(s->dir, TRUST_STORE_LAST_GOOD_NAME), *text = NULL;
	json_t *o = NULL, *v;
	size_t len;
	int r;

	if (!path)
		return;
	r = fs_read_file(path, LAST_GOOD_MAX, &text, &len);
	if (r == -ENOENT)
		goto out;
	if (r < 0) {
		trust_store_add_warning(s, "%s: %s; ignored", path,
					strerror(-r));
		goto out;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(o, "last-good");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		trust_store_add_warning(s,
					"%s: not {\"last-good\": seconds}; "
					"ignored",
					path);
		goto out;
	}
	if (json_integer_value(v) > s->st.last_good)
		s->st.last_good = json_integer_value(v);
out:
	json_decref(o);
	free(text);
	free(path);
}

void trust_store_write_done(struct trust_store *s, const char *name, int r)
{
	s->write_file = r < 0 ? name : NULL;
	s->write_error = r < 0 ? r : 0;
	s->write_failures += r < 0;
}
