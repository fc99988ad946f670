/* SPDX-License-Identifier: MIT */
/*
 * trust_store.c: <state-dir>/trust, where bundles offered by the cloud or
 * the operator wait (pending) until a connection proves them, and where
 * the version floor keeps an old bundle from ever coming back.
 *
 * On disk a slot is written whole before the state file names it, and the
 * active slot is never the target of an offer, so a crash at any point
 * leaves the old state naming whole, proven bundles.  In memory a change
 * is made only after the disk has it, so a failed write changes nothing.
 *
 * Whoever can write the directory could write any bundle and any state,
 * so at open the slots are believed only for their signatures: verified
 * again from the factory bundle through the committed bundles kept for
 * that (trust_chain.c), and set aside with a warning when they do not.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "trust_store_int.h"

#define STORE_STATE_MAX	  4096		      /* bytes of the state file */
#define STORE_VERSION_MAX ((uint64_t)1 << 53) /* JSON-safe integers */
#define STR_(x)		  #x
#define STR(x)		  STR_(x)
#define TRIES_MAX_STR	  STR(TRUST_TRIES_MAX)

const char *const trust_store_slot_file[SLOT_COUNT] = { "slot-a.bundle",
							"slot-b.bundle" };
const char *const trust_store_slot_from[SLOT_COUNT] = { "slot a", "slot b" };
static const char *const slot_key[SLOT_COUNT] = { "a", "b" };

static void set_msg(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void trust_store_add_warning(struct trust_store *s, const char *fmt, ...)
{
	size_t used = strlen(s->warning);
	va_list ap;

	if (used > 0 && used + 2 < sizeof(s->warning)) {
		memcpy(s->warning + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(s->warning + used, sizeof(s->warning) - used, fmt, ap);
	va_end(ap);
}

const struct trust_bundle *trust_store_active(const struct trust_store *s)
{
	return s->st.active == SLOT_FACTORY ? s->factory
					    : s->slot[s->st.active];
}

static void set_dropped(struct trust_store_state *st, const char *why)
{
	size_t n = strnlen(why, sizeof(st->dropped) - 1);

	/* Cut to fit: the reason of a dropped bundle is for people. */
	st->has_dropped = true;
	memcpy(st->dropped, why, n);
	st->dropped[n] = '\0';
}

/* ---- the state file ------------------------------------------------ */

static json_t *slot_json(int slot)
{
	return slot < 0 ? json_null() : json_string(slot_key[slot]);
}

static int state_dump(const struct trust_store_state *st, char **ret,
		      size_t *len)
{
	char *text, *bigger;
	json_t *o;

	o = json_pack("{s:s?,s:o,s:I,s:I,s:I,s:s?}", "active",
		      st->active == SLOT_FACTORY ? "factory"
						 : slot_key[st->active],
		      "pending", slot_json(st->pending), "tries",
		      (json_int_t)st->tries, "floor", (json_int_t)st->floor,
		      "last-good", (json_int_t)st->last_good, "dropped",
		      st->has_dropped ? st->dropped : NULL);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	*len = strlen(text);
	/* json_dumps leaves room for nothing more; add the final newline. */
	bigger = realloc(text, *len + 2);
	if (!bigger) {
		free(text);
		return -ENOMEM;
	}
	memcpy(bigger + *len, "\n", 2);
	*ret = bigger;
	*len += 1;
	return 0;
}

int trust_store_write(struct trust_store *s, const char *name, const void *data,
		      size_t len)
{
	int r = fs_write_atomic(s->dir, name, data, len, 0600);

	trust_store_write_done(s, name, r);
	return r;
}

static int state_write(struct trust_store *s,
		       const struct trust_store_state *st)
{
	char *text;
	size_t len;
	int r;

	r = state_dump(st, &text, &len);
	if (r < 0)
		return r;
	r = trust_store_write(s, STORE_STATE_NAME, text, len);
	free(text);
	if (r == 0)
		s->saved = true;
	return r;
}

static int state_bad(char *err, size_t errlen, const char *path,
		     const char *key, const char *what)
{
	set_msg(err, errlen, "%s: \"%s\": %s", path, key, what);
	return -EINVAL;
}

/* "a" or "b"; for active also "factory"; for pending also null. */
static int state_slot(json_t *o, const char *key, bool active, int *ret)
{
	json_t *v = json_object_get(o, key);
	const char *str = json_string_value(v);

	if (!active && json_is_null(v)) {
		*ret = SLOT_NONE;
		return 0;
	}
	if (active && str && strcmp(str, "factory") == 0) {
		*ret = SLOT_FACTORY;
		return 0;
	}
	for (int i = 0; str && i < SLOT_COUNT; i++) {
		if (strcmp(str, slot_key[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "last-good" (the time floor) is unix seconds past 2038 too. */
_Static_assert(sizeof(json_int_t) == 8, "json_int_t must be 64 bits");

static int state_int(json_t *o, const char *key, json_int_t max,
		     json_int_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return -EINVAL;
	*ret = json_integer_value(v);
	return 0;
}

static int state_dropped(json_t *o, struct trust_store_state *st)
{
	json_t *v = json_object_get(o, "dropped");

	if (json_is_null(v)) {
		st->has_dropped = false;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= TRUST_REASON_MAX)
		return -EINVAL;
	set_dropped(st, json_string_value(v));
	return 0;
}

/*
 * Keys this version does not know are ignored, so that the state a newer
 * daemon wrote stays readable after a downgrade; the floor in it must.
 */
static int state_parse(json_t *o, const char *path,
		       struct trust_store_state *st, char *err, size_t errlen)
{
	json_int_t tries, floor, last_good;

	if (!json_is_object(o))
		return state_bad(err, errlen, path, "", "not a JSON object");
	if (state_slot(o, "active", true, &st->active) < 0)
		return state_bad(err, errlen, path, "active",
				 "not \"factory\", \"a\" or \"b\"");
	if (state_slot(o, "pending", false, &st->pending) < 0)
		return state_bad(err, errlen, path, "pending",
				 "not null, \"a\" or \"b\"");
	if (st->pending != SLOT_NONE && st->pending == st->active)
		return state_bad(err, errlen, path, "pending",
				 "names the active slot");
	if (state_int(o, "tries", TRUST_TRIES_MAX - 1, &tries) < 0)
		return state_bad(err, errlen, path, "tries",
				 "not an integer below " TRIES_MAX_STR);
	if (state_int(o, "floor", STORE_VERSION_MAX - 1, &floor) < 0)
		return state_bad(err, errlen, path, "floor",
				 "not an integer from 0 to 2^53-1");
	if (state_int(o, "last-good", INT64_MAX, &last_good) < 0)
		return state_bad(err, errlen, path, "last-good",
				 "not a non-negative integer");
	if (state_dropped(o, st) < 0)
		return state_bad(err, errlen, path, "dropped",
				 "not null or a string under 256 bytes");
	st->tries = (unsigned)tries;
	st->floor = (uint64_t)floor;
	st->last_good = last_good;
	return 0;
}

/*
 * A bundle file of the store's (a slot, a kept bundle) in dir, whose name
 * is copied into name; false when there is none.
 */
static bool find_bundle_file(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		found = strcmp(e->d_name, trust_store_slot_file[SLOT_A]) == 0 ||
			strcmp(e->d_name, trust_store_slot_file[SLOT_B]) == 0 ||
			trust_chain_is_link_name(e->d_name, strlen(e->d_name));
		if (found)
			snprintf(name, len, "%s", e->d_name);
	}
	closedir(d);
	return found;
}

/*
 * Bundles without the state that names them: the state was removed or
 * lost (the store writes it before any bundle).  Starting afresh would
 * forget the version floor without a word, so the owner decides.
 */
static int state_missing(struct trust_store *s, char *err, size_t errlen)
{
	char name[256];

	if (!find_bundle_file(s->dir, name, sizeof(name)))
		return 1;
	set_msg(err, errlen,
		"%s/%s is missing, but %s is there: refusing to start without "
		"the version floor; to start again from the factory bundle, "
		"stop zwgated and run 'zwgatectl factory-reset' (or move %s "
		"away), else restore the state file",
		s->dir, STORE_STATE_NAME, name, s->dir);
	return -ENOENT;
}

/* A missing state file is a fresh store: 1.  0 when read, or -errno. */
static int state_load(struct trust_store *s, char *err, size_t errlen)
{
	char *path = fs_join(s->dir, STORE_STATE_NAME), *text = NULL;
	json_error_t jerr;
	json_t *o = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = fs_read_file(path, STORE_STATE_MAX, &text, &len);
	if (r == -ENOENT) {
		r = state_missing(s, err, errlen);
	} else if (r == -EFBIG) {
		set_msg(err, errlen, "%s: larger than %d bytes", path,
			STORE_STATE_MAX);
	} else if (r < 0) {
		set_msg(err, errlen, "%s: %s", path, strerror(-r));
	} else if (!(o = json_loadb(text, len, JSON_REJECT_DUPLICATES,
				    &jerr))) {
		set_msg(err, errlen, "%s: not JSON: line %d: %s", path,
			jerr.line, jerr.text);
		r = -EINVAL;
	} else {
		r = state_parse(o, path, &s->st, err, errlen);
		s->saved = r == 0;
	}
	json_decref(o);
	free(text);
	free(path);
	return r;
}

/* ---- open ---------------------------------------------------------- */

/* ".<name>.tmp.<pid>", as fs_write_atomic names its temp files. */
static bool is_our_temp(const char *name)
{
	static const char *const ours[] = { "slot-a.bundle", "slot-b.bundle",
					    STORE_STATE_NAME,
					    TRUST_STORE_LAST_GOOD_NAME };
	const char *tmp = strstr(name, ".tmp.");
	size_t n;

	if (name[0] != '.' || !tmp || !tmp[5] ||
	    strspn(tmp + 5, "0123456789") != strlen(tmp + 5))
		return false;
	n = (size_t)(tmp - name - 1);
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (n == strlen(ours[i]) && strncmp(name + 1, ours[i], n) == 0)
			return true;
	return trust_chain_is_link_name(name + 1, n);
}

/*
 * A kill between a temp file's creation and its rename leaves it behind.
 * The store has one writer (the daemon), so any such file is dead.
 */
static void remove_temps(struct trust_store *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *path;

		if (!is_our_temp(e->d_name))
			continue;
		path = fs_join(s->dir, e->d_name);
		if (path && unlink(path) < 0 && errno != ENOENT)
			trust_store_add_warning(s, "cannot remove %s: %s", path,
						strerror(errno));
		free(path);
	}
	closedir(d);
}

static int load_slot(struct trust_store *s, int slot, char *err, size_t errlen)
{
	char *path = fs_join(s->dir, trust_store_slot_file[slot]);
	int r;

	if (!path)
		return -ENOMEM;
	r = trust_bundle_load(path, &s->slot[slot], err, errlen);
	free(path);
	return r;
}

/*
 * A file that does not load or verify is set aside (never deleted: it may
 * be wanted, it may be the trace of an attack, and a directory in its
 * place would keep every later write from being made).  It is gone
 * already when missing.
 */
void trust_store_set_aside(struct trust_store *s, const char *name)
{
	char *aside = NULL;
	int r = fs_set_aside(s->dir, name, &aside);

	if (r == 0)
		trust_store_add_warning(s, "kept it as %s", aside);
	else if (r != -ENOENT)
		trust_store_add_warning(s, "%s/%s cannot be set aside: %s",
					s->dir, name, strerror(-r));
	free(aside);
}

static void aside_slot(struct trust_store *s, int slot)
{
	trust_store_set_aside(s, trust_store_slot_file[slot]);
}

/*
 * A slot named by the state that does not load is ignored: an unusable
 * active slot gives way to the factory bundle, then to the newest kept
 * bundle if there is one (trust_chain.c; the floor stays, so this opens
 * no door to an old bundle), an unusable pending one is dropped.
 * 1 when the state changed, 0 when not, -ENOMEM.
 */
static int load_slots(struct trust_store *s)
{
	char e[TRUST_REASON_MAX], why[TRUST_REASON_MAX + 64];
	int changed = 0, r;

	if (s->st.active != SLOT_FACTORY) {
		r = load_slot(s, s->st.active, e, sizeof(e));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			trust_store_add_warning(
			    s,
			    "active %s ignored: %s; using the factory "
			    "bundle",
			    trust_store_slot_from[s->st.active], e);
			aside_slot(s, s->st.active);
			s->st.active = SLOT_FACTORY;
			changed = 1;
		}
	}
	if (s->st.pending != SLOT_NONE) {
		r = load_slot(s, s->st.pending, e, sizeof(e));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			snprintf(why, sizeof(why), "pending %s ignored: %s",
				 trust_store_slot_from[s->st.pending], e);
			trust_store_add_warning(s, "%s", why);
			aside_slot(s, s->st.pending);
			set_dropped(&s->st, why);
			s->st.pending = SLOT_NONE;
			s->st.tries = 0;
			changed = 1;
		}
	}
	return changed;
}

void trust_store_drop_pending(struct trust_store *s, const char *why)
{
	trust_bundle_free(s->slot[s->st.pending]);
	s->slot[s->st.pending] = NULL;
	s->st.pending = SLOT_NONE;
	s->st.tries = 0;
	set_dropped(&s->st, why);
}

static int trust_store_init(struct trust_store *s, const char *dir, char *err,
			    size_t errlen)
{
	bool changed = false;
	uint64_t was_floor;
	int r;

	r = fs_ensure_dir(dir, 0700);
	if (r < 0) {
		set_msg(err, errlen, "%s: cannot create the directory: %s", dir,
			strerror(-r));
		return r;
	}
	remove_temps(s);
	r = state_load(s, err, errlen);
	if (r < 0)
		return r;
	/* A fresh store writes its state at once: from then on a bundle
	 * file without a state file means the state was lost. */
	changed = r == 1;
	trust_store_last_good_load(s);
	was_floor = s->st.floor;
	r = load_slots(s);
	if (r < 0)
		return r;
	changed |= r == 1;
	r = trust_chain_verify_store(s, &changed);
	if (r < 0)
		return r;
	if (changed) {
		r = state_write(s, &s->st);
		if (r < 0)
			trust_store_add_warning(s, "cannot save %s/state: %s",
						s->dir, strerror(-r));
	}
	if (s->saved)
		trust_chain_keep_active(s, was_floor);
	return 0;
}

int trust_store_open(const char *dir, struct trust_bundle *factory,
		     struct trust_store **ret, char *err, size_t errlen)
{
	struct trust_store *s;
	int r;

	if (!factory) {
		set_msg(err, errlen, "no factory bundle");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		trust_bundle_free(factory);
		return -ENOMEM;
	}
	s->factory = factory;
	s->st.active = SLOT_FACTORY;
	s->st.pending = SLOT_NONE;
	s->dir = strdup(dir);
	r = s->dir ? trust_store_init(s, dir, err, errlen) : -ENOMEM;
	if (r == -ENOMEM)
		set_msg(err, errlen, "%s: %s", dir, strerror(ENOMEM));
	if (r < 0) {
		trust_store_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void trust_store_free(struct trust_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < SLOT_COUNT; i++)
		trust_bundle_free(s->slot[i]);
	trust_chain_free(s);
	trust_bundle_free(s->factory);
	free(s->dir);
	free(s);
}

void trust_store_info(const struct trust_store *s, struct trust_store_info *ret)
{
	int p = s->st.pending;

	*ret = (struct trust_store_info){
		.factory = s->factory,
		.active = trust_store_active(s),
		.active_from = s->st.active == SLOT_FACTORY
				   ? "factory"
				   : trust_store_slot_from[s->st.active],
		.pending = p == SLOT_NONE ? NULL : s->slot[p],
		.pending_from =
		    p == SLOT_NONE ? NULL : trust_store_slot_from[p],
		.pending_tries = s->st.tries,
		.floor = s->st.floor,
		.last_good = s->st.last_good,
		.dropped = s->st.has_dropped ? s->st.dropped : NULL,
		.warning = s->warning[0] ? s->warning : NULL,
		.dir = s->dir,
		.write_file = s->write_file,
		.write_error = s->write_error,
		.write_failures = s->write_failures,
	};
}

/* ---- offer --------------------------------------------------------- */

/*
 * The slot an offer goes to: never the active one; one that holds
 * nothing the state names if there is one, else the pending one.
 */
static int offer_slot(const struct trust_store *s)
{
	for (int i = 0; i < SLOT_COUNT; i++)
		if (i != s->st.active && i != s->st.pending)
			return i;
	return s->st.pending;
}

/*
 * Write the slot, then the state naming it.  When the state cannot be
 * written, the slot is put back as it was, so that the state on disk
 * never names a bundle it did not mean: the pending bundle's old bytes
 * are written again, and a slot the state does not name is removed (on a
 * full disk that gives its space back).  The undo is not a write of the
 * store's own: it leaves the failure known.
 */
static int write_offer(struct trust_store *s, int slot, const void *buf,
		       size_t len, const struct trust_store_state *next)
{
	char *path, *old = NULL;
	size_t oldlen = 0;
	int r;

	path = fs_join(s->dir, trust_store_slot_file[slot]);
	if (!path)
		return -ENOMEM;
	if (slot == s->st.pending &&
	    fs_read_file(path, TRUST_BUNDLE_MAX, &old, &oldlen) < 0)
		old = NULL;
	r = trust_store_write(s, trust_store_slot_file[slot], buf, len);
	if (r == 0) {
		r = state_write(s, next);
		if (r < 0 && old)
			fs_write_atomic(s->dir, trust_store_slot_file[slot],
					old, oldlen, 0600);
		else if (r < 0 && slot != s->st.pending)
			unlink(path);
	}
	free(old);
	free(path);
	return r;
}

/*
 * The clock may be wrong; expiry is judged at no earlier a time than the
 * store knows has passed.
 */
static int64_t offer_now(const struct trust_store *s, int64_t now)
{
	int64_t floor = trust_store_time_floor(s, INT64_MIN);

	return now > floor ? now : floor;
}

int trust_store_offer(struct trust_store *s, const void *buf, size_t len,
		      int64_t now, const char *host, char *why, size_t whylen)
{
	struct trust_bundle *cand = NULL;
	struct trust_store_state next;
	int slot, r;

	set_msg(why, whylen, "%s", "");
	r = trust_bundle_parse(buf, len, &cand, why, whylen);
	if (r < 0)
		return r;
	r = trust_bundle_accept(trust_store_active(s), s->st.floor, cand,
				offer_now(s, now), why, whylen);
	if (r < 0)
		goto out;
	if (host && !trust_bundle_covers(cand, host)) {
		set_msg(why, whylen, "does not cover host %s", host);
		r = -EPERM;
		goto out;
	}
	/* A store that could not write its state at open writes it before
	 * a slot: a bundle file never exists without the state. */
	if (!s->saved && (r = state_write(s, &s->st)) < 0) {
		set_msg(why, whylen, "cannot store: %s: %s", STORE_STATE_NAME,
			strerror(-r));
		goto out;
	}
	slot = offer_slot(s);
	next = s->st;
	next.pending = slot;
	next.tries = 0;
	r = write_offer(s, slot, buf, len, &next);
	if (r < 0) {
		set_msg(why, whylen, "cannot store: %s: %s",
			s->write_file ? s->write_file
				      : trust_store_slot_file[slot],
			strerror(-r));
		goto out;
	}
	if (s->st.pending != SLOT_NONE && s->st.pending != slot) {
		trust_bundle_free(s->slot[s->st.pending]);
		s->slot[s->st.pending] = NULL;
	}
	trust_bundle_free(s->slot[slot]);
	s->slot[slot] = cand;
	cand = NULL;
	s->st = next;
out:
	trust_bundle_free(cand);
	return r;
}

/* ---- tries --------------------------------------------------------- */

const struct trust_bundle *trust_store_current(const struct trust_store *s,
					       bool *is_pending)
{
	bool pending = s->st.pending != SLOT_NONE;

	if (is_pending)
		*is_pending = pending;
	return pending ? s->slot[s->st.pending] : trust_store_active(s);
}

/*
 * Commit the pending bundle.  When the active bundle it was accepted on
 * top of changed the keys or the threshold, that one must be kept first
 * (the pending one is verified with its keys at the next open): if it
 * cannot be, nothing is committed, and the next connection tries again.
 * Then the state names the new bundle, and it is kept in turn (the
 * floor's witness), the old one removed unless it changed the keys.
 * Memory follows the outcome when only the state cannot be written, so
 * that the link is not stuck; the bundle then stays pending on disk, to
 * be tried again at the next start.
 */
static int commit_pending(struct trust_store *s)
{
	int p = s->st.pending, old = s->st.active, r = 0;
	uint64_t old_version = trust_store_active(s)->version;

	if (old != SLOT_FACTORY && trust_chain_changes_keys(s, s->slot[old]))
		r = trust_chain_keep(s, s->slot[old]);
	if (r < 0)
		return r;
	if (old != SLOT_FACTORY) {
		trust_bundle_free(s->slot[old]);
		s->slot[old] = NULL;
	}
	s->st.active = p;
	s->st.pending = SLOT_NONE;
	s->st.tries = 0;
	if (s->st.floor < s->slot[p]->version)
		s->st.floor = s->slot[p]->version;
	s->st.has_dropped = false;
	r = state_write(s, &s->st);
	if (r == 0 && trust_chain_keep(s, s->slot[p]) == 0 &&
	    old != SLOT_FACTORY)
		trust_chain_prune(s, old_version);
	return r < 0 ? r : 1;
}

int trust_store_tried(struct trust_store *s, bool ok, const char *why)
{
	char reason[TRUST_REASON_MAX];
	int ret = 0, r;

	if (s->st.pending == SLOT_NONE)
		return 0;
	if (ok)
		return commit_pending(s);
	if (++s->st.tries >= TRUST_TRIES_MAX) {
		if (why && *why)
			snprintf(reason, sizeof(reason), "%s", why);
		else
			snprintf(reason, sizeof(reason), "failed %d tries",
				 TRUST_TRIES_MAX);
		trust_store_drop_pending(s, reason);
		ret = 2;
	}
	r = state_write(s, &s->st);
	return r < 0 ? r : ret;
}

int trust_store_set_last_good(struct trust_store *s, int64_t t)
{
	/* The time floor only rises: an older time says nothing new. */
	if (t <= s->st.last_good)
		return 0;
	s->st.last_good = t;
	return 1;
}

int64_t trust_store_time_floor(const struct trust_store *s, int64_t build_time)
{
	int64_t t = build_time;

	if (s->st.last_good > t)
		t = s->st.last_good;
	if (trust_store_active(s)->issued_at > t)
		t = trust_store_active(s)->issued_at;
	return t;
}
