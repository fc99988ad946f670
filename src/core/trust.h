/* SPDX-License-Identifier: MIT */
/*
 * trust.h: what the gateway trusts when it connects to the cloud, and how
 * that can change without ever cutting the gateway off (docs/DESIGN.md,
 * "Trust model").  Plain C over OpenSSL and jansson with an injected
 * clock: no libuv, no mosquitto, so every rule here is tested directly.
 *
 *   trust_bundle.c  the bundle: reading and checking it, its canonical
 *                   signed bytes, the acceptance rules
 *   trust_keys.c    Ed25519 keys and signatures, pins
 *   trust_json.c    the bundle as JSON, its report, time stamps
 *   trust_verify.c  the chain decision of one handshake (anchors, pins,
 *                   host, the unknown-clock policy)
 *   trust_store.c   <state-dir>/trust: slots A/B, pending/active, tries,
 *                   the version floor and the last-good time
 *   trust_chain.c   the committed bundles it keeps, and its slots
 *                   verified again at every start
 *
 * The glue that hands this to OpenSSL's handshake and to the MQTT link is
 * trust_link.c.
 *
 * A bundle file is JSON (UTF-8, at most TRUST_BUNDLE_MAX bytes):
 *
 *   {
 *     "format": 1,
 *     "version": 7,                         1 .. 2^53-1
 *     "issued-at": "2026-11-23T18:00:00Z",  RFC 3339, UTC, "Z"
 *     "expires": "2027-11-23T00:00:00Z",    after issued-at
 *     "hosts": ["broker.example.com"],      1..TRUST_ITEMS_MAX names
 *     "anchors": ["-----BEGIN CERTIFICATE-----\n..."],  1..MAX CA certs
 *     "recovery": ["-----BEGIN CERTIFICATE-----\n..."], 0..MAX CA certs
 *     "pins": ["base64 SHA-256 of DER SPKI", ...],       2..MAX
 *     "signers": ["base64 raw Ed25519 public key", ...], 1..MAX
 *     "threshold": 2,                       1 .. number of signers
 *     "signatures": [{"key": "base64 raw", "sig": "base64 64 bytes"}]
 *   }
 *
 * Every key but "recovery" and "signatures" is required; an unknown key,
 * a duplicate key or a wrong type is an error, so that nothing in a
 * bundle goes unsigned.  "recovery" is honoured only in the factory
 * bundle: the operator's offline recovery roots, which stay trusted (with
 * their own key as the pin) whatever bundle is active.
 *
 * What is signed is not the JSON text but canonical bytes made from the
 * parsed fields (trust_bundle_tbs), so that re-indenting a bundle or
 * adding a signature never invalidates the others:
 *
 *   "zwgate-trust-bundle 1\n"
 *   "version <decimal>\n"
 *   "issued-at <unix seconds, decimal>\n"
 *   "expires <unix seconds, decimal>\n"
 *   "host <name>\n"              one per host, in file order
 *   "anchor <base64 of DER>\n"   one per anchor, in file order
 *   "recovery <base64 of DER>\n" one per recovery root, in file order
 *   "pin <base64>\n"             one per pin, in file order
 *   "signer <base64>\n"          one per signer, in file order
 *   "threshold <decimal>\n"
 *
 * Base64 is standard (RFC 4648 section 4) with padding and no line
 * breaks.  An Ed25519 signature is over exactly these bytes (pure
 * Ed25519, no pre-hash).
 */
#ifndef ZWGATE_TRUST_H
#define ZWGATE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define TRUST_FORMAT	  1
#define TRUST_BUNDLE_MAX  (32 * 1024) /* bytes of a bundle file */
#define TRUST_ITEMS_MAX	  16	      /* hosts, anchors, pins, signers, sigs */
#define TRUST_HOST_MAX	  253
#define TRUST_PIN_LEN	  44 /* base64 of 32 bytes */
#define TRUST_KEY_LEN	  32 /* raw Ed25519 public key */
#define TRUST_SIG_LEN	  64 /* Ed25519 signature */
#define TRUST_TRIES_MAX	  3  /* a pending bundle's failed tries */
#define TRUST_REASON_MAX  256
#define TRUST_CHAIN_MAX	  6 /* certificates recorded of a chain */
#define TRUST_SUBJECT_MAX 128
#define TRUST_WARN_DAYS	  60 /* an anchor expiring sooner is a warning */

struct trust_sig {
	unsigned char key[TRUST_KEY_LEN];
	unsigned char sig[TRUST_SIG_LEN];
};

struct trust_bundle {
	unsigned format;
	uint64_t version;
	int64_t issued_at; /* unix seconds */
	int64_t expires;   /* unix seconds */
	size_t nhosts;
	char *hosts[TRUST_ITEMS_MAX];
	STACK_OF(X509) * anchors;  /* never NULL once parsed */
	STACK_OF(X509) * recovery; /* never NULL, may be empty */
	size_t npins;
	char pins[TRUST_ITEMS_MAX][TRUST_PIN_LEN + 1];
	size_t nsigners;
	unsigned char signers[TRUST_ITEMS_MAX][TRUST_KEY_LEN];
	unsigned threshold;
	size_t nsigs;
	struct trust_sig sigs[TRUST_ITEMS_MAX];
};

/* ---- trust_bundle.c ------------------------------------------------ */

/*
 * Parse and check a bundle (the rules in the comment above).  0 with *ret
 * set, or -EINVAL with a sentence in err naming the field ("pins[1]: not
 * base64 of 32 bytes", "anchors[0]: not a CA certificate", "bundle is
 * larger than 32768 bytes", "not JSON: line 3: ..."), -EFBIG for a bundle
 * over TRUST_BUNDLE_MAX, -ENOMEM.  Signatures are parsed, not checked.
 */
int trust_bundle_parse(const void *buf, size_t len, struct trust_bundle **ret,
		       char *err, size_t errlen);
/* Read path (at most TRUST_BUNDLE_MAX bytes) and parse it; err names it. */
int trust_bundle_load(const char *path, struct trust_bundle **ret, char *err,
		      size_t errlen);
void trust_bundle_free(struct trust_bundle *b);

/* A new empty bundle (format 1, empty stacks) to fill in; NULL: ENOMEM. */
struct trust_bundle *trust_bundle_new(void);

/*
 * Check the fields of a bundle made in memory (what parse checks after
 * reading JSON).  0 or -EINVAL with err.
 */
int trust_bundle_check(const struct trust_bundle *b, char *err, size_t errlen);

/* The canonical signed bytes (see above), malloc'd, NUL-terminated. */
int trust_bundle_tbs(const struct trust_bundle *b, char **ret, size_t *retlen);

/* Does the bundle cover this broker host name (exact, case-insensitive)? */
bool trust_bundle_covers(const struct trust_bundle *b, const char *host);

/* Does the bundle list this pin? */
bool trust_bundle_has_pin(const struct trust_bundle *b, const char *pin);

/*
 * Would cand be accepted on top of the trusted bundle?  The rules, in
 * this order, the first that fails giving the reason:
 *   1. signed by at least trusted->threshold distinct keys of
 *      trusted->signers;
 *   2. cand->version > floor;
 *   3. cand->expires > now (now: the caller's best idea of the time,
 *      never below the time floor);
 *   4. when cand's signer set differs from trusted's: also signed by at
 *      least cand->threshold distinct keys of cand->signers.
 * now = INT64_MIN leaves rule 3 out: a bundle accepted before is
 * verified again (the store at open).
 * 0, or -EPERM (1, 4), -ESTALE (2), -ETIME (3) with why in words, e.g.
 * "signed by 1 distinct trusted key; 2 are required",
 * "version 3 is not above the floor 3",
 * "expired on 2026-01-01T00:00:00Z",
 * "changes the signer keys but is signed by 0 of its new keys; 2 are
 * required".
 */
int trust_bundle_accept(const struct trust_bundle *trusted, uint64_t floor,
			const struct trust_bundle *cand, int64_t now, char *why,
			size_t whylen);

/* ---- trust_keys.c -------------------------------------------------- */

/*
 * Add the signature of key (an Ed25519 private key) over the bundle's
 * canonical bytes; a signature by the same key is replaced, not added.
 * 0, -ENOSPC (TRUST_ITEMS_MAX signatures), -EINVAL (not Ed25519) with err.
 */
int trust_bundle_sign(struct trust_bundle *b, EVP_PKEY *key, char *err,
		      size_t errlen);

/*
 * How many distinct keys of keys[0..nkeys) have a valid signature in b.
 * A key that signed twice counts once; a signature by a key not in keys,
 * or that does not verify, counts for nothing.
 */
unsigned trust_bundle_count_signers(const struct trust_bundle *b,
				    const unsigned char (*keys)[TRUST_KEY_LEN],
				    size_t nkeys);

/* Do a and b have the same set of signer keys (order ignored)? */
bool trust_bundle_same_signers(const struct trust_bundle *a,
			       const struct trust_bundle *b);

/* The pin of a certificate: base64 SHA-256 of its DER SPKI.  0 or -errno. */
int trust_pin_of_cert(X509 *x, char out[TRUST_PIN_LEN + 1]);
/* The pin of the first certificate of a PEM file; err names the file. */
int trust_pin_of_file(const char *path, char out[TRUST_PIN_LEN + 1], char *err,
		      size_t errlen);

/*
 * Operator keys.  keygen writes path (PKCS#8 PEM Ed25519 private key,
 * mode 0600, refused with -EEXIST if path or path.pub exists) and
 * path.pub (SubjectPublicKeyInfo PEM, mode 0644): the same formats as
 * `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`, so
 * operators can make keys either way.
 */
int trust_key_generate(const char *path, char *err, size_t errlen);
/* A private key file: Ed25519, not readable by group or others. */
int trust_key_load_private(const char *path, EVP_PKEY **ret, char *err,
			   size_t errlen);
/* A public key file (SPKI PEM), or a private key file (its public half). */
int trust_key_load_public(const char *path, unsigned char out[TRUST_KEY_LEN],
			  char *err, size_t errlen);
/* Raw public key of an Ed25519 EVP_PKEY.  0 or -EINVAL. */
int trust_key_raw_public(EVP_PKEY *key, unsigned char out[TRUST_KEY_LEN]);

/* ---- trust_json.c -------------------------------------------------- */

/*
 * The bundle as JSON text: two-space indent, keys in the order above,
 * a final newline.  Parsing it gives the same bundle.  Malloc'd.
 */
int trust_bundle_dump(const struct trust_bundle *b, char **ret, size_t *retlen);

/*
 * For status and `zwgatectl trust verify`: a new JSON object
 *   {"version":N,"issued_at":"..Z","expires":"..Z","days_left":D,
 *    "hosts":[..],"threshold":K,"signers":["b64",..],
 *    "anchors":[CERT..],"recovery":[CERT..],"pins":["b64",..]}
 * with CERT = {"subject":"CN=..,O=..","key":"RSA 2048"|"EC P-384"|
 *   "Ed25519"|..,"not_after":"..Z","days_left":D,"pin":"b64"}.
 * days_left is counted from now and negative once past.  NULL: ENOMEM.
 */
json_t *trust_bundle_info_json(const struct trust_bundle *b, int64_t now);
/* The same CERT object for one certificate. */
json_t *trust_cert_info_json(X509 *x, int64_t now);

/* "2026-11-23T18:00:00Z" <-> unix seconds.  0 or -EINVAL. */
int trust_time_parse(const char *s, int64_t *ret);
void trust_time_format(int64_t t, char out[21]);

/* ---- trust_verify.c ------------------------------------------------ */

enum trust_mode {
	TRUST_MODE_FULL,	   /* chain, host, times, pins */
	TRUST_MODE_CLOCK_UNKNOWN,  /* no time checks; pin required; leaf
				    * notAfter must not be before the floor */
	TRUST_MODE_BUNDLE_EXPIRED, /* chain, host, times; pins not required
				    * (an alarm is raised elsewhere) */
};

struct trust_policy {
	const struct trust_bundle *bundle; /* anchors and pins */
	/* Recovery roots (the factory's), tried when the bundle's anchors
	 * do not verify the chain, each with its own key as the only pin.
	 * NULL or empty: none. */
	STACK_OF(X509) * recovery;
	int64_t now;	   /* the system clock, unix seconds */
	int64_t floor;	   /* time floor: the clock cannot be before this */
	bool clock_synced; /* timesync or adjtimex says so */
};

/* Which mode a policy verifies in (clock below floor or unsynchronised:
 * CLOCK_UNKNOWN; else bundle past expiry: BUNDLE_EXPIRED; else FULL). */
enum trust_mode trust_policy_mode(const struct trust_policy *p);
const char *trust_mode_name(enum trust_mode m); /* "full", "clock-unknown",
						   "bundle-expired" */

struct trust_verdict {
	bool ok;
	enum trust_mode mode;
	bool recovery;		       /* verified through a recovery root */
	char reason[TRUST_REASON_MAX]; /* why not, in words; "" when ok */
	char pin[TRUST_PIN_LEN + 1];   /* the pin that matched, "" if none */
	int pin_depth;		       /* its depth in the chain, -1 if none */
	size_t nchain;		       /* subjects of the verified chain */
	char chain[TRUST_CHAIN_MAX][TRUST_SUBJECT_MAX]; /* leaf first */
	int64_t leaf_not_after;				/* unix seconds */
};

/*
 * Decide one chain.  ctx is initialised by the caller with the leaf, the
 * untrusted certificates the server sent, and a verify param carrying the
 * host name (OpenSSL hands exactly that to SSL_CTX_set_cert_verify_callback).
 * This sets ctx's trusted stack to the bundle's anchors only (never a
 * store's or the OS's), sets X509_V_FLAG_NO_CHECK_TIME in CLOCK_UNKNOWN
 * mode and where p->now does not fit a time_t (never
 * X509_VERIFY_PARAM_set_time: its time_t is 32 bits on armhf), runs
 * X509_verify_cert, checks every date of the verified chain against
 * p->now itself (64 bits) unless in CLOCK_UNKNOWN mode, then
 * matches pins against X509_STORE_CTX_get0_chain() (the verified chain,
 * not what the server sent): any certificate of it whose SPKI pin the
 * bundle lists.  In CLOCK_UNKNOWN mode a leaf whose notAfter is before
 * the floor is refused.  When that fails and recovery roots are given,
 * the chain is verified again in a fresh context (same leaf, untrusted
 * and param) against them.  Returns 1 (accept) or 0 (refuse), with v
 * filled either way; on refusal ctx's error is set (X509_V_ERR_* or
 * X509_V_ERR_APPLICATION_VERIFICATION for a pin or floor failure).
 */
int trust_verify_chain(X509_STORE_CTX *ctx, const struct trust_policy *p,
		       struct trust_verdict *v);

/* ---- trust_store.c ------------------------------------------------- */

/*
 * <state-dir>/trust (mode 0700):
 *   slot-a.bundle, slot-b.bundle   bundles as received (0600)
 *   link-<version>.bundle          committed bundles kept to verify the
 *                                  slots again (trust_chain.c): each
 *                                  one that changed the signer keys or
 *                                  the threshold, and the last one
 *   state                          JSON: {"active":"factory"|"a"|"b",
 *                                  "pending":null|"a"|"b","tries":N,
 *                                  "floor":N,"last-good":T,
 *                                  "dropped":"reason"|null}
 * Every file is written with fs_write_atomic.  The state is written
 * when the store is made, and a slot is written whole before the state
 * names it, so a bundle file without a state file means that the state
 * was lost: open refuses (-ENOENT) rather than forget the floor.  A
 * slot that does not parse (a torn write from before fs_write_atomic, a
 * disk fault) is set aside with a warning, and temp files left by a
 * kill are removed at open.
 *
 * Nothing on disk is believed for being there: at open the kept
 * bundles are verified from the factory bundle, each on top of the one
 * before it, the active slot on top of them and the pending slot on top
 * of the active bundle, with trust_bundle_accept and no expiry (a
 * bundle accepted once stays accepted, whatever the clock at boot).
 * What does not verify is set aside with a warning; the floor of the
 * state is lowered to the highest version a verified bundle vouches
 * for.
 */
struct trust_store;

struct trust_store_info {
	const struct trust_bundle *factory;
	const struct trust_bundle *active;
	const char *active_from;	    /* "factory", "slot a", "slot b" */
	const struct trust_bundle *pending; /* NULL: none */
	const char *pending_from;	    /* "slot a", "slot b", NULL */
	unsigned pending_tries;		    /* failed tries so far */
	uint64_t floor;			    /* version floor */
	int64_t last_good;		    /* unix seconds, 0: never */
	const char *dropped;	 /* why the last pending bundle was dropped,
				    NULL if none was */
	const char *warning;	 /* what open found wrong and worked around
				    (a slot ignored or set aside as it does
				    not verify, the floor lowered, a state
				    not saved), NULL: nothing */
	const char *dir;	 /* the store's directory */
	const char *write_file;	 /* in dir: the last file that could not be
				    written (a full disk), NULL once a write
				    succeeded again */
	int write_error;	 /* its -errno */
	uint64_t write_failures; /* failed writes since open */
};

/*
 * Open (creating dir 0700 if needed).  factory is the configured factory
 * bundle; the store takes it over (frees it).  If the factory bundle's
 * version is above the committed one (a package upgrade), it becomes
 * the active bundle.  An unreadable state file is an error (-errno with
 * err); a missing one is a fresh store (active: factory), unless a
 * bundle file is there (-ENOENT, err saying what to do).
 */
int trust_store_open(const char *dir, struct trust_bundle *factory,
		     struct trust_store **ret, char *err, size_t errlen);
void trust_store_free(struct trust_store *s);
void trust_store_info(const struct trust_store *s,
		      struct trust_store_info *ret);

/*
 * A bundle offered (bytes as received).  Parsed, checked with
 * trust_bundle_accept against the active bundle and the floor at time
 * now, required to cover host; then written to the slot that is not the
 * active one and made pending (tries 0), replacing a pending one.
 * 0, or -errno with why in words (parse errors as trust_bundle_parse
 * gives them, the reasons of trust_bundle_accept, "does not cover host
 * broker.example.com", "cannot store: slot-b.bundle: No space left
 * on device").  On any error nothing changed, on disk or in memory.
 */
int trust_store_offer(struct trust_store *s, const void *buf, size_t len,
		      int64_t now, const char *host, char *why, size_t whylen);

/* The bundle the next handshake uses: the pending one if any, else the
 * active one.  *is_pending says which. */
const struct trust_bundle *trust_store_current(const struct trust_store *s,
					       bool *is_pending);

/*
 * The outcome of a connection made with the pending bundle: ok (TLS and
 * CONNACK succeeded) commits it (active, floor raised to its version,
 * dropped cleared); a failure counts a try and the TRUST_TRIES_MAX-th
 * drops it (active unchanged, dropped = why).  Persisted.  Returns 1 when
 * committed, 2 when dropped, 0 when merely counted or when no bundle was
 * pending, -errno if the state could not be written (memory still
 * follows the outcome so the link is not stuck) or, on a commit, if the
 * active bundle changed the signer keys and cannot be kept (the pending
 * bundle would not verify at the next start without it: nothing is
 * committed).
 */
int trust_store_tried(struct trust_store *s, bool ok, const char *why);

/*
 * The last time a fully verified connection was seen: 1 when it rose,
 * and is to be written to <dir>/last-good (trust_last_good.c), 0 when t
 * is not newer.  It writes nothing itself: the caller writes
 * trust_store_last_good_text as TRUST_STORE_LAST_GOOD_NAME (off the
 * loop, fs_job) and reports with trust_store_write_done.  The state file
 * carries it too, as known at its own writes; at open the larger counts.
 */
#define TRUST_STORE_LAST_GOOD_NAME "last-good"
int trust_store_set_last_good(struct trust_store *s, int64_t t);
int trust_store_last_good_text(const struct trust_store *s, char **text,
			       size_t *len);

/* The result of a write of the store's file `name` (a static string)
 * made by the caller, for trust_store_info's write_file and
 * write_failures. */
void trust_store_write_done(struct trust_store *s, const char *name, int r);

/* max(build_time, last-good, active bundle's issued-at). */
int64_t trust_store_time_floor(const struct trust_store *s, int64_t build_time);

#endif
