/* SPDX-License-Identifier: MIT */
/*
 * trust_store_int.h: what trust_store.c and trust_chain.c share, and
 * nothing else includes: the store itself, its state and its slots.
 */
#ifndef ZWGATE_TRUST_STORE_INT_H
#define ZWGATE_TRUST_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "trust.h"

#define STORE_WARNING_MAX 1024
#define STORE_STATE_NAME  "state"
#define STORE_LINKS_MAX	  32 /* bundles kept in the chain */

enum {
	SLOT_FACTORY = -1, /* as the active slot */
	SLOT_NONE = -1,	   /* as the pending slot */
	SLOT_A = 0,
	SLOT_B = 1,
	SLOT_COUNT = 2,
};

/* What the state file holds. */
struct trust_store_state {
	int active;  /* SLOT_FACTORY, SLOT_A or SLOT_B */
	int pending; /* SLOT_NONE, SLOT_A or SLOT_B */
	unsigned tries;
	uint64_t floor; /* never below the active bundle's version */
	int64_t last_good;
	bool has_dropped;
	char dropped[TRUST_REASON_MAX];
};

struct trust_store {
	char *dir;
	struct trust_bundle *factory;
	/* The bundles of the slots the state names; NULL for the others. */
	struct trust_bundle *slot[SLOT_COUNT];
	struct trust_store_state st;
	bool saved; /* the state file exists (read or written) */
	/* The chain (trust_chain.c): committed bundles kept as
	 * link-<version>.bundle, verified from the factory bundle, in
	 * version order. */
	size_t nlinks;
	struct trust_bundle *link[STORE_LINKS_MAX];
	char warning[STORE_WARNING_MAX];
	const char *write_file; /* the last file that could not be written */
	int write_error;	/* its -errno, until a write succeeds */
	uint64_t write_failures;
};

extern const char
    *const trust_store_slot_file[SLOT_COUNT]; /* "slot-a.bundle" */
extern const char *const trust_store_slot_from[SLOT_COUNT]; /* "slot a" */

/* The active bundle: the factory bundle or a slot's. */
const struct trust_bundle *trust_store_active(const struct trust_store *s);

/* Forget the pending bundle (its slot stays), dropped = why. */
void trust_store_drop_pending(struct trust_store *s, const char *why);

/* Append a sentence to the store's warning ("; " between two). */
void trust_store_add_warning(struct trust_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set dir/name aside as name.damaged (fs_set_aside), saying so. */
void trust_store_set_aside(struct trust_store *s, const char *name);

/* Every write goes through here, so that the last failure is known. */
int trust_store_write(struct trust_store *s, const char *name, const void *data,
		      size_t len);

/* Raise the last-good time to <dir>/last-good's (trust_last_good.c). */
void trust_store_last_good_load(struct trust_store *s);

/* ---- trust_chain.c --------------------------------------------------- */

/*
 * Read the kept bundles (link-<version>.bundle) whose version is above
 * the factory bundle's, and verify each from the factory bundle through
 * the ones before it; what does not load or verify is set aside with a
 * warning.  One that verifies was committed here, even above the floor
 * of the state file.  0 or -ENOMEM.
 */
int trust_chain_load(struct trust_store *s);

/* The bundle a bundle of this version was accepted on top of: the last
 * kept bundle below version, else the factory bundle. */
const struct trust_bundle *trust_chain_authority(const struct trust_store *s,
						 uint64_t version);

/* The highest version at most floor that a verified bundle vouches for
 * (the factory bundle, a kept one, extra), or 0 if none does. */
uint64_t trust_chain_top(const struct trust_store *s, uint64_t floor,
			 const struct trust_bundle *extra);

/* Is a bundle of b's version kept? */
bool trust_chain_has(const struct trust_store *s, const struct trust_bundle *b);

/* Keep b (a committed bundle) as a link, written whole.  0 or -errno. */
int trust_chain_keep(struct trust_store *s, const struct trust_bundle *b);

/* Does b change the signer keys or the threshold of the bundle before
 * it (trust_chain_authority)? */
bool trust_chain_changes_keys(const struct trust_store *s,
			      const struct trust_bundle *b);

/*
 * Remove the kept bundle of this version unless a later one needs it
 * (it changed the signer keys or the threshold).  Best effort.
 */
void trust_chain_prune(struct trust_store *s, uint64_t version);

/* Is name one of the chain's files ("link-<digits>.bundle")? */
bool trust_chain_is_link_name(const char *name, size_t len);

/*
 * Verify the store just read (state, slots) again: the kept bundles, the
 * active slot on top of them (the newest kept bundle instead, written
 * back to a slot, when it is newer), the floor as far as they vouch for
 * it, the pending slot on top of the active bundle; what does not verify
 * is set aside with a warning.  *changed is set when the state changed.  0 or
 * -ENOMEM.
 */
int trust_chain_verify_store(struct trust_store *s, bool *changed);

/* Keep the active bundle (and a factory bundle that raised the floor
 * from was_floor) as a link; a failure is a warning. */
void trust_chain_keep_active(struct trust_store *s, uint64_t was_floor);

void trust_chain_free(struct trust_store *s);

#endif
