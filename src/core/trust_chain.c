/* SPDX-License-Identifier: MIT */
/*
 * trust_chain.c: the committed bundles the trust store keeps so that it
 * can verify its slots again at every start (trust_store_int.h).
 *
 * A slot on disk is believed only when its signatures hold: a bundle
 * was accepted on top of the bundle active then, so verifying it again
 * needs the signer keys and threshold of that bundle, and of every one
 * before it back to the factory bundle.  The store keeps, as
 * link-<version>.bundle, each committed bundle that changed the signer
 * keys or the threshold, and the last committed one (which vouches for
 * the version floor when its slot is lost).  At open each is verified
 * from the factory bundle through the ones before it, with the rules of
 * trust_bundle_accept but without the expiry: a bundle accepted once
 * stays accepted whatever the clock says at boot.
 *
 * A link is written only after the state file names its bundle as
 * committed, and it is believed for its signatures only: one that
 * verifies from the factory bundle was committed here (or at least
 * signed by the keys the chain trusted for it, who could offer it any
 * day), whatever the state file says.  So the newest of them is the
 * floor's witness even above the floor written in the state file: a
 * state file edited back to an older slot and a lower floor does not
 * bring an older bundle back while the newer links are there.
 *
 * The second half is that verification at open (trust_chain_verify_store):
 * the active slot on top of the kept bundles, the newest kept bundle
 * active again when the active one is older, the floor as far as they
 * vouch for it, the pending slot on top of the active bundle.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "trust_store_int.h"

#define LINK_PREFIX   "link-"
#define LINK_SUFFIX   ".bundle"
#define LINK_NAME_MAX 48
/* Verifying again: no time is too early for expiry (trust.h). */
#define CHAIN_NO_TIME INT64_MIN

bool trust_chain_is_link_name(const char *name, size_t len)
{
	size_t pre = strlen(LINK_PREFIX), suf = strlen(LINK_SUFFIX), digits;

	if (len <= pre + suf || strncmp(name, LINK_PREFIX, pre) != 0 ||
	    strncmp(name + len - suf, LINK_SUFFIX, suf) != 0)
		return false;
	digits = len - pre - suf;
	for (size_t i = 0; i < digits; i++)
		if (name[pre + i] < '0' || name[pre + i] > '9')
			return false;
	return digits <= 16 && name[pre] != '0';
}

static void link_name(uint64_t version, char out[LINK_NAME_MAX])
{
	snprintf(out, LINK_NAME_MAX, LINK_PREFIX "%" PRIu64 LINK_SUFFIX,
		 version);
}

struct trust_chain_cand {
	uint64_t version;
	struct trust_bundle *b;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct trust_chain_cand *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/*
 * One link file: its version (from its name), loaded and checked to
 * hold that version.  Returns 1 with *ret set, 0 when it is not wanted
 * (at or below the factory bundle: kept for a downgrade, not read), 0
 * with a warning when set aside, -ENOMEM.  Its version may be above the
 * floor of the state file: its signatures decide (trust_chain_load).
 */
static int trust_chain_read(struct trust_store *s, const char *name,
			    struct trust_chain_cand *ret)
{
	char err[TRUST_REASON_MAX], *path;
	uint64_t v = strtoull(name + strlen(LINK_PREFIX), NULL, 10);
	int r;

	if (v <= s->factory->version)
		return 0;
	path = fs_join(s->dir, name);
	if (!path)
		return -ENOMEM;
	r = trust_bundle_load(path, &ret->b, err, sizeof(err));
	free(path);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && ret->b->version != v) {
		snprintf(err, sizeof(err), "%s: holds version %" PRIu64, name,
			 ret->b->version);
		trust_bundle_free(ret->b);
		r = -EINVAL;
	}
	if (r < 0) {
		trust_store_add_warning(s, "kept bundle ignored: %s", err);
		trust_store_set_aside(s, name);
		return 0;
	}
	ret->version = v;
	return 1;
}

/* The names of the link files of the store's directory.  -errno. */
static int trust_chain_scan(struct trust_store *s,
			    struct trust_chain_cand **ret, size_t *n)
{
	struct trust_chain_cand *c = NULL, *bigger;
	size_t cap = 0;
	struct dirent *e;
	DIR *d = opendir(s->dir);
	int r = 0;

	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r >= 0 && (e = readdir(d))) {
		if (!trust_chain_is_link_name(e->d_name, strlen(e->d_name)))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			bigger = realloc(c, cap * sizeof(*c));
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			c = bigger;
		}
		r = trust_chain_read(s, e->d_name, &c[*n]);
		if (r == 1)
			(*n)++;
	}
	closedir(d);
	*ret = c;
	return r < 0 ? r : 0;
}

int trust_chain_load(struct trust_store *s)
{
	const struct trust_bundle *trusted = s->factory;
	char why[TRUST_REASON_MAX], name[LINK_NAME_MAX];
	struct trust_chain_cand *c = NULL;
	size_t n = 0;
	int r;

	r = trust_chain_scan(s, &c, &n);
	if (r == -ENOMEM) {
		for (size_t i = 0; i < n; i++)
			trust_bundle_free(c[i].b);
		free(c);
		return r;
	}
	if (r < 0)
		trust_store_add_warning(s,
					"%s: cannot list the kept bundles: %s",
					s->dir, strerror(-r));
	if (n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(c, n, sizeof(*c), cand_cmp);
	for (size_t i = 0; i < n; i++) {
		link_name(c[i].version, name);
		r = -ENOSPC;
		snprintf(why, sizeof(why), "more than %d are kept",
			 STORE_LINKS_MAX);
		if (s->nlinks < STORE_LINKS_MAX)
			r = trust_bundle_accept(trusted, trusted->version,
						c[i].b, CHAIN_NO_TIME, why,
						sizeof(why));
		if (r < 0) {
			trust_store_add_warning(
			    s,
			    "kept bundle %s does not verify "
			    "from the factory bundle: %s",
			    name, why);
			trust_store_set_aside(s, name);
			trust_bundle_free(c[i].b);
			continue;
		}
		s->link[s->nlinks++] = c[i].b;
		trusted = c[i].b;
	}
	free(c);
	return 0;
}

const struct trust_bundle *trust_chain_authority(const struct trust_store *s,
						 uint64_t version)
{
	const struct trust_bundle *b = s->factory;

	for (size_t i = 0; i < s->nlinks && s->link[i]->version < version; i++)
		b = s->link[i];
	return b;
}

uint64_t trust_chain_top(const struct trust_store *s, uint64_t floor,
			 const struct trust_bundle *extra)
{
	uint64_t top = 0;

	if (s->factory->version <= floor)
		top = s->factory->version;
	for (size_t i = 0; i < s->nlinks; i++)
		if (s->link[i]->version <= floor && s->link[i]->version > top)
			top = s->link[i]->version;
	if (extra && extra->version <= floor && extra->version > top)
		top = extra->version;
	return top;
}

bool trust_chain_has(const struct trust_store *s, const struct trust_bundle *b)
{
	for (size_t i = 0; i < s->nlinks; i++)
		if (s->link[i]->version == b->version)
			return true;
	return false;
}

/* A copy of b of the store's own, through its JSON. */
static int trust_chain_copy(const struct trust_bundle *b,
			    struct trust_bundle **ret, char **text, size_t *len)
{
	int r = trust_bundle_dump(b, text, len);

	if (r < 0)
		return r;
	r = trust_bundle_parse(*text, *len, ret, NULL, 0);
	if (r < 0) {
		free(*text);
		return r == -ENOMEM ? r : -EINVAL;
	}
	return 0;
}

int trust_chain_keep(struct trust_store *s, const struct trust_bundle *b)
{
	char name[LINK_NAME_MAX], *text;
	struct trust_bundle *copy;
	size_t len, at;
	int r;

	if (trust_chain_has(s, b))
		return 0;
	if (s->nlinks == STORE_LINKS_MAX)
		return -ENOSPC;
	r = trust_chain_copy(b, &copy, &text, &len);
	if (r < 0)
		return r;
	link_name(b->version, name);
	r = trust_store_write(s, name, text, len);
	free(text);
	if (r < 0) {
		trust_bundle_free(copy);
		return r;
	}
	for (at = 0; at < s->nlinks && s->link[at]->version < b->version; at++)
		;
	memmove(&s->link[at + 1], &s->link[at],
		(s->nlinks - at) * sizeof(s->link[0]));
	s->link[at] = copy;
	s->nlinks++;
	return 0;
}

bool trust_chain_changes_keys(const struct trust_store *s,
			      const struct trust_bundle *b)
{
	const struct trust_bundle *before =
	    trust_chain_authority(s, b->version);

	return !trust_bundle_same_signers(before, b) ||
	       before->threshold != b->threshold;
}

void trust_chain_prune(struct trust_store *s, uint64_t version)
{
	char name[LINK_NAME_MAX], *path;
	size_t i;

	for (i = 0; i < s->nlinks && s->link[i]->version != version; i++)
		;
	/* The last one vouches for the floor; a change of keys or
	 * threshold is needed to verify what came after it. */
	if (s->nlinks == 0 || i + 1 >= s->nlinks ||
	    trust_chain_changes_keys(s, s->link[i]))
		return;
	link_name(version, name);
	path = fs_join(s->dir, name);
	if (!path || (unlink(path) < 0 && errno != ENOENT)) {
		free(path);
		return;
	}
	free(path);
	fs_fsync_dir(s->dir);
	trust_bundle_free(s->link[i]);
	memmove(&s->link[i], &s->link[i + 1],
		(s->nlinks - i - 1) * sizeof(s->link[0]));
	s->nlinks--;
}

/* ---- the store verified again at open ------------------------------- */

/*
 * A package upgrade may bring a factory bundle newer than the committed
 * one: it becomes active (so does one as new: a slot is believed only
 * when it is newer than the factory bundle).  true when the state changed.
 */
static bool apply_factory(struct trust_store *s)
{
	if (s->st.active == SLOT_FACTORY ||
	    s->factory->version < s->slot[s->st.active]->version)
		return false;
	trust_bundle_free(s->slot[s->st.active]);
	s->slot[s->st.active] = NULL;
	s->st.active = SLOT_FACTORY;
	return true;
}

/*
 * The active slot must verify from the factory bundle through the kept
 * bundles before it, with the acceptance rules of an offer but no expiry
 * (trust_chain.c).  One that does not is set aside, and the factory
 * bundle used.  true when the state changed.
 */
static bool verify_active(struct trust_store *s)
{
	const struct trust_bundle *auth;
	char why[TRUST_REASON_MAX];
	int a = s->st.active;

	if (a == SLOT_FACTORY)
		return false;
	auth = trust_chain_authority(s, s->slot[a]->version);
	if (trust_bundle_accept(auth, auth->version, s->slot[a], CHAIN_NO_TIME,
				why, sizeof(why)) == 0)
		return false;
	trust_store_add_warning(
	    s,
	    "active %s (version %llu) does not verify from the "
	    "factory bundle: %s; using the factory bundle",
	    trust_store_slot_from[a], (unsigned long long)s->slot[a]->version,
	    why);
	trust_store_set_aside(s, trust_store_slot_file[a]);
	trust_bundle_free(s->slot[a]);
	s->slot[a] = NULL;
	s->st.active = SLOT_FACTORY;
	return true;
}

/* The slot the newest kept bundle goes to: one the state names for
 * nothing, else the active one (never the pending one). */
static int restore_slot(const struct trust_store *s)
{
	for (int i = 0; i < SLOT_COUNT; i++)
		if (i != s->st.active && i != s->st.pending)
			return i;
	return s->st.active;
}

/*
 * The newest kept bundle verified, so it was committed here: when the
 * active bundle is older (the state file edited back to an older slot,
 * or the active slot lost), the newest one is active again, written
 * back to a slot, and the floor rises to it.  Keeping the older bundle
 * with a raised floor would not do: its keys and pins, perhaps replaced
 * because they leaked, would still be trusted.  A slot that cannot be
 * written is a warning: memory has the bundle, and the next start
 * restores it again.  1 when the state changed, 0, -ENOMEM.
 */
static int restore_newest(struct trust_store *s)
{
	const struct trust_bundle *act = trust_store_active(s), *top;
	struct trust_bundle *copy;
	char name[LINK_NAME_MAX], *text;
	int slot = restore_slot(s), r;
	size_t len;

	if (s->nlinks == 0 || s->link[s->nlinks - 1]->version <= act->version)
		return 0;
	top = s->link[s->nlinks - 1];
	link_name(top->version, name);
	r = trust_chain_copy(top, &copy, &text, &len);
	if (r == -ENOMEM)
		return r;
	trust_store_add_warning(
	    s,
	    "kept bundle %s (version %" PRIu64 ") is newer than "
	    "the active %s (version %" PRIu64 ", floor %" PRIu64
	    "): it was committed here; %s",
	    name, top->version,
	    s->st.active == SLOT_FACTORY ? "factory bundle"
					 : trust_store_slot_from[s->st.active],
	    act->version, s->st.floor,
	    r < 0 ? "it cannot be copied" : "active again");
	if (r < 0)
		return 0;
	r = trust_store_write(s, trust_store_slot_file[slot], text, len);
	free(text);
	if (r < 0)
		trust_store_add_warning(s, "cannot write %s/%s: %s", s->dir,
					trust_store_slot_file[slot],
					strerror(-r));
	if (s->st.active != SLOT_FACTORY) {
		trust_bundle_free(s->slot[s->st.active]);
		s->slot[s->st.active] = NULL;
	}
	trust_bundle_free(s->slot[slot]);
	s->slot[slot] = copy;
	s->st.active = slot;
	if (s->st.floor < top->version)
		s->st.floor = top->version;
	return 1;
}

/*
 * The floor of the state file is believed only as far as a bundle that
 * verifies here vouches for it: the factory bundle, a kept one (the last
 * committed bundle is kept, so a lost slot does not lower it) or the
 * active one.  A floor written by hand above all of them would refuse
 * every bundle the operator has; it is lowered to the highest such
 * version.  It is never below the active bundle's.  true when changed.
 */
static bool limit_floor(struct trust_store *s)
{
	const struct trust_bundle *act = trust_store_active(s);
	uint64_t top = trust_chain_top(s, s->st.floor, act), was = s->st.floor;

	if (top < act->version)
		top = act->version;
	if (top == s->st.floor)
		return false;
	if (top < s->st.floor)
		trust_store_add_warning(
		    s,
		    "version floor %llu of %s/%s is above every "
		    "bundle that verifies here; the floor is "
		    "%llu",
		    (unsigned long long)was, s->dir, STORE_STATE_NAME,
		    (unsigned long long)top);
	s->st.floor = top;
	return true;
}

/*
 * A pending bundle not above the floor could never be committed: dropped
 * (a factory bundle newer than it came with a package upgrade).  One that
 * is not signed as an offer on top of the active bundle must be, or it
 * was never accepted here: set aside.  true when the state changed.
 */
static bool verify_pending(struct trust_store *s)
{
	char why[TRUST_REASON_MAX + 128], e[TRUST_REASON_MAX];
	int p = s->st.pending;
	uint64_t v;
	int r;

	if (p == SLOT_NONE)
		return false;
	v = s->slot[p]->version;
	if (v <= s->st.floor) {
		snprintf(why, sizeof(why),
			 "pending %s: version %llu is not above the floor %llu",
			 trust_store_slot_from[p], (unsigned long long)v,
			 (unsigned long long)s->st.floor);
		trust_store_drop_pending(s, why);
		return true;
	}
	r = trust_bundle_accept(trust_store_active(s), s->st.floor, s->slot[p],
				CHAIN_NO_TIME, e, sizeof(e));
	if (r == 0)
		return false;
	snprintf(why, sizeof(why),
		 "pending %s (version %llu) does not verify on top of the "
		 "active bundle: %s",
		 trust_store_slot_from[p], (unsigned long long)v, e);
	trust_store_add_warning(s, "%s", why);
	trust_store_set_aside(s, trust_store_slot_file[p]);
	trust_store_drop_pending(s, why);
	return true;
}

/*
 * At open every slot the state names is verified again (the bytes on
 * disk are believed for nothing but their signatures), in the order that
 * each step needs: the kept bundles, the active slot on top of them, the
 * newest kept bundle instead when it is newer, the floor as far as they
 * vouch for it, then the pending slot on top of the active bundle.
 */
int trust_chain_verify_store(struct trust_store *s, bool *changed)
{
	int r = trust_chain_load(s);

	if (r < 0)
		return r;
	*changed |= apply_factory(s);
	*changed |= verify_active(s);
	r = restore_newest(s);
	if (r < 0)
		return r;
	*changed |= r == 1;
	*changed |= limit_floor(s);
	*changed |= verify_pending(s);
	return 0;
}

/*
 * The active bundle is kept as a link (the floor's witness, and the
 * keys its successor is verified with); a store written before the
 * chain existed gets its first link here.  So is a factory bundle that
 * raised the floor (a package upgrade), so that a downgrade later keeps
 * the floor.  A failure is a warning: the active slot still verifies,
 * and the next commit tries again.
 */
void trust_chain_keep_active(struct trust_store *s, uint64_t was_floor)
{
	int r = 0;

	if (s->st.active != SLOT_FACTORY)
		r = trust_chain_keep(s, s->slot[s->st.active]);
	else if (was_floor && was_floor < s->factory->version)
		r = trust_chain_keep(s, s->factory);
	if (r < 0)
		trust_store_add_warning(
		    s, "cannot keep the active bundle in %s: %s", s->dir,
		    strerror(-r));
}

void trust_chain_free(struct trust_store *s)
{
	for (size_t i = 0; i < s->nlinks; i++)
		trust_bundle_free(s->link[i]);
	s->nlinks = 0;
}
