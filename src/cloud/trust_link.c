/* SPDX-License-Identifier: MIT */
/*
 * trust_link.c: the trust modules on the live link (see trust_link.h).
 * One loop thread: the verify hook runs inside SSL_connect(), which
 * libmosquitto calls from the loop, so no state here needs a lock.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fs_job.h"
#include "fsutil.h"
#include "log.h"
#include "tls.h"
#include "trust.h"
#include "trust_link.h"
#include "trust_report.h"
#include "zwtime.h"

#define TRUST_LINK_WARN_MAX 24 /* warnings listed */

/* The outcome of the last handshake, for status. */
struct trust_last {
	bool set;
	int64_t at;
	bool ok;
	bool pending; /* made with the pending bundle */
	uint64_t version;
	struct trust_verdict v;
	size_t npins; /* pins of the verified chain's certificates */
	char pins[TRUST_CHAIN_MAX][TRUST_PIN_LEN + 1];
};

struct trust_link {
	uv_timer_t tick;
	struct trust_store *store;
	char *host;
	char *synced_file;
	int64_t build_time;
	struct trust_link_cbs cbs;

	bool verified;	   /* a handshake of the try under way verified */
	bool with_pending; /* ... with the pending bundle */
	bool connected;	   /* CONNACK seen, link not lost since */
	enum trust_mode link_mode; /* how the running link was verified */
	struct trust_last last;
	int64_t last_good_at;	      /* when last-good was written */
	struct fs_job *last_good_job; /* <dir>/last-good, off the loop */
	uint64_t dropped_version; /* the last bundle dropped after its tries */
	char *health;		  /* the last health, serialised */
	char *report;		  /* the last report, serialised */
	uint64_t reported_at;	  /* uv_now of the last health callback */
};

static int64_t link_now(void)
{
	return zwtime_now();
}

/*
 * systemd-timesyncd's flag file, else the kernel's view (which
 * ProtectClock= forbids asking: EPERM counts as "not synchronised").
 */
static bool link_synced(const struct trust_link *t)
{
	struct timex tx = { .modes = 0 };
	int r;

	if (t->synced_file)
		return access(t->synced_file, F_OK) == 0;
	if (access(TRUST_TIMESYNC_FLAG_FILE, F_OK) == 0)
		return true;
	r = adjtimex(&tx);
	return r >= 0 && r != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

static void link_policy(const struct trust_link *t, struct trust_policy *p,
			bool *pending)
{
	struct trust_store_info si;

	trust_store_info(t->store, &si);
	p->bundle = trust_store_current(t->store, pending);
	p->recovery = si.factory->recovery;
	p->now = link_now();
	p->floor = trust_store_time_floor(t->store, t->build_time);
	p->clock_synced = link_synced(t);
}

/* The pins of the verified chain: which pins a bundle holds in reserve. */
static void link_chain_pins(struct trust_link *t, X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int n = chain ? sk_X509_num(chain) : 0;

	t->last.npins = 0;
	for (int i = 0; i < n && t->last.npins < TRUST_CHAIN_MAX; i++)
		if (trust_pin_of_cert(sk_X509_value(chain, i),
				      t->last.pins[t->last.npins]) == 0)
			t->last.npins++;
}

int trust_link_verify(X509_STORE_CTX *ctx, void *arg)
{
	struct trust_link *t = arg;
	struct trust_verdict *v = &t->last.v;
	struct trust_policy p;
	bool pending;
	int ok;

	link_policy(t, &p, &pending);
	ok = trust_verify_chain(ctx, &p, v);
	t->last.set = true;
	t->last.at = p.now;
	t->last.ok = ok == 1;
	t->last.pending = pending;
	t->last.version = p.bundle->version;
	t->last.npins = 0;
	if (ok == 1 && !v->recovery)
		link_chain_pins(t, ctx);
	t->verified = true;
	t->with_pending = pending;
	if (ok != 1) {
		tls_note_error(v->reason);
		log_warning("trust: %s bundle version %llu refuses the broker: "
			    "%s",
			    pending ? "pending" : "active",
			    (unsigned long long)p.bundle->version, v->reason);
		return 0;
	}
	log_info("trust: broker chain verified (%s bundle version %llu%s, "
		 "%s mode, pin at depth %d)",
		 pending ? "pending" : "active",
		 (unsigned long long)p.bundle->version,
		 v->recovery ? " through the recovery root" : "",
		 trust_mode_name(v->mode), v->pin_depth);
	return 1;
}

static void link_health_changed(struct trust_link *t);

static uint64_t link_failures(const struct trust_link *t)
{
	struct trust_store_info si;

	trust_store_info(t->store, &si);
	return si.write_failures;
}

/*
 * When a write of the store failed since the count was "before" (a full
 * disk), the log names the file and the error; status keeps it.
 */
static void link_write_failed(struct trust_link *t, uint64_t before,
			      const char *what)
{
	struct trust_store_info si;

	trust_store_info(t->store, &si);
	if (si.write_failures > before && si.write_file)
		log_error("trust: %s: cannot write %s/%s: %s", what, si.dir,
			  si.write_file, strerror(-si.write_error));
}

/* A connection with the pending bundle ended: commit it or count a try. */
static void link_outcome(struct trust_link *t, bool ok, const char *why)
{
	struct trust_store_info si;
	uint64_t version, failures;
	int r;

	trust_store_info(t->store, &si);
	version = si.pending ? si.pending->version : 0;
	failures = link_failures(t);
	r = trust_store_tried(t->store, ok, why);
	if (r < 0)
		link_write_failed(t, failures,
				  "the outcome of a try is not saved");
	if (r == 1) {
		log_notice("trust: bundle version %llu committed: TLS and "
			   "CONNACK succeeded with it",
			   (unsigned long long)version);
	} else if (r == 2) {
		t->dropped_version = version;
		log_warning("trust: bundle version %llu dropped after %d "
			    "failed tries (%s); back to the active bundle",
			    (unsigned long long)version, TRUST_TRIES_MAX, why);
	} else if (!ok) {
		log_notice("trust: try with bundle version %llu failed: %s",
			   (unsigned long long)version, why);
	}
	link_health_changed(t);
}

static void link_last_good_done(void *ctx, int r)
{
	struct trust_link *t = ctx;
	uint64_t failures = link_failures(t);

	trust_store_write_done(t->store, TRUST_STORE_LAST_GOOD_NAME, r);
	if (r < 0)
		link_write_failed(t, failures,
				  "the last-good time is not saved");
}

/*
 * Raise the last-good time, and write it off the loop (fs_job): it rises
 * every TRUST_LINK_LAST_GOOD_S the link is up, and an SD card's fsync
 * must not hold the loop for it.  A failed write is tried again an hour
 * on, with the newer time.
 */
static void link_write_last_good(struct trust_link *t, int64_t now)
{
	char *text = NULL;
	size_t len;
	int r;

	t->last_good_at = now;
	if (trust_store_set_last_good(t->store, now) <= 0)
		return;
	r = trust_store_last_good_text(t->store, &text, &len);
	if (r == 0)
		r = fs_job_write(t->last_good_job, text, len);
	free(text);
	if (r < 0)
		log_error("trust: the last-good time is not saved: %s",
			  strerror(-r));
}

void trust_link_connected(struct trust_link *t)
{
	bool pending = t->verified && t->with_pending;

	t->connected = true;
	t->link_mode = t->last.v.mode;
	t->verified = false;
	if (pending && t->last.v.recovery)
		link_outcome(t, false,
			     "the broker verified only through the "
			     "recovery root");
	else if (pending)
		link_outcome(t, true, NULL);
	if (t->link_mode == TRUST_MODE_FULL && !t->last.v.recovery)
		link_write_last_good(t, link_now());
	link_health_changed(t);
}

void trust_link_failed(struct trust_link *t, const char *why)
{
	bool pending = t->verified && t->with_pending;

	t->connected = false;
	t->verified = false;
	if (pending)
		link_outcome(t, false, why);
}

void trust_link_disconnected(struct trust_link *t)
{
	t->connected = false;
	t->verified = false;
}

static void link_on_tick(uv_timer_t *h)
{
	struct trust_link *t = h->data;
	struct trust_policy p;
	bool pending;

	link_policy(t, &p, &pending);
	if (t->connected && t->link_mode == TRUST_MODE_CLOCK_UNKNOWN &&
	    trust_policy_mode(&p) != TRUST_MODE_CLOCK_UNKNOWN) {
		t->connected = false;
		log_notice("trust: the clock is trusted now; verifying the "
			   "broker again in full");
		t->cbs.reconnect(t->cbs.ctx,
				 "clock synchronised: verifying again in full");
	} else if (t->connected && t->link_mode == TRUST_MODE_FULL &&
		   p.now - t->last_good_at >= TRUST_LINK_LAST_GOOD_S) {
		link_write_last_good(t, p.now);
	}
	link_health_changed(t);
}

/*
 * The same bundle again must not make the link again: a bundle left
 * retained on P/trust/bundle/set comes back at every connect, and a
 * replayed one that failed its tries would make the link flap.
 */
static int link_again(struct trust_link *t, const void *buf, size_t len,
		      char *why, size_t whylen)
{
	struct trust_store_info si;
	struct trust_bundle *b;
	char err[TRUST_REASON_MAX];
	int r = 0;

	if (trust_bundle_parse(buf, len, &b, err, sizeof(err)) < 0)
		return 0; /* the store says why */
	trust_store_info(t->store, &si);
	if (b->version <= si.floor) {
		r = 0; /* the store's reason: the floor */
	} else if (si.pending && b->version == si.pending->version) {
		snprintf(why, whylen, "bundle version %llu is already pending",
			 (unsigned long long)b->version);
		r = -EALREADY;
	} else if (b->version <= t->dropped_version) {
		snprintf(why, whylen,
			 "bundle version %llu was dropped after %d failed "
			 "tries; a newer version is needed",
			 (unsigned long long)b->version, TRUST_TRIES_MAX);
		r = -ESTALE;
	}
	trust_bundle_free(b);
	return r;
}

int trust_link_offer(struct trust_link *t, const void *buf, size_t len,
		     bool replay, json_t **result, char *why, size_t whylen)
{
	struct trust_store_info si;
	char reason[TRUST_REASON_MAX + 64];
	uint64_t failures = link_failures(t);
	int r;

	r = link_again(t, buf, len, why, whylen);
	if (r == 0)
		r = trust_store_offer(t->store, buf, len, link_now(), t->host,
				      why, whylen);
	if (r < 0 && replay && (r == -ESTALE || r == -EALREADY)) {
		log_debug("trust: bundle ignored: %s", why);
		return r;
	}
	if (r < 0) {
		log_warning("trust: bundle refused: %s", why);
		link_write_failed(t, failures, "the bundle is not stored");
		return r;
	}
	trust_store_info(t->store, &si);
	*result = json_pack("{s:I,s:b,s:s}", "version",
			    (json_int_t)si.pending->version, "pending", 1,
			    "slot", si.pending_from + strlen("slot "));
	if (!*result) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	log_notice("trust: bundle version %llu accepted (%s); trying it",
		   (unsigned long long)si.pending->version, si.pending_from);
	snprintf(reason, sizeof(reason),
		 "trying the new trust bundle (version %llu)",
		 (unsigned long long)si.pending->version);
	t->cbs.reconnect(t->cbs.ctx, reason);
	link_health_changed(t);
	return 0;
}

static json_t *link_time(int64_t t)
{
	char buf[21];

	trust_time_format(t, buf);
	return json_string(buf);
}

/* json_object_set_new, which takes v (NULL: no memory) even when it
 * fails: 0 or -ENOMEM. */
static int link_put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static json_t *link_bundle(const struct trust_bundle *b, const char *from,
			   int64_t now)
{
	json_t *o = trust_bundle_info_json(b, now);

	if (o && from && link_put(o, "from", json_string(from)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *link_last(const struct trust_link *t)
{
	const struct trust_last *l = &t->last;
	json_t *o, *chain;

	if (!l->set)
		return json_null();
	chain = json_array();
	for (size_t i = 0; chain && i < l->v.nchain; i++)
		json_array_append_new(chain, json_string(l->v.chain[i]));
	o = json_pack(
	    "{s:o,s:b,s:s,s:I,s:s,s:b,s:o,s:s,s:s}", "at", link_time(l->at),
	    "ok", l->ok, "bundle", l->pending ? "pending" : "active", "version",
	    (json_int_t)l->version, "mode", trust_mode_name(l->v.mode),
	    "recovery", l->v.recovery, "chain", chain ? chain : json_array(),
	    "pin", l->v.pin, "reason", l->v.reason);
	return o;
}

static void link_warn(json_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void link_warn(json_t *w, const char *fmt, ...)
{
	char buf[TRUST_REASON_MAX + TRUST_SUBJECT_MAX];
	va_list ap;

	if (json_array_size(w) >= TRUST_LINK_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(w, json_string(buf));
}

static void link_warn_anchors(json_t *w, const json_t *info)
{
	const json_t *a;
	size_t i;

	json_array_foreach(json_object_get(info, "anchors"), i, a)
	{
		json_int_t d =
		    json_integer_value(json_object_get(a, "days_left"));
		const char *s =
		    json_string_value(json_object_get(a, "subject"));

		if (d < 0)
			link_warn(w, "anchor %s expired %lld days ago",
				  s ? s : "?", -(long long)d);
		else if (d < TRUST_WARN_DAYS)
			link_warn(w, "anchor %s expires in %lld days",
				  s ? s : "?", (long long)d);
	}
}

/* Pins of the bundle that the broker's chain does not use: the backups. */
static size_t link_backup_pins(const struct trust_link *t,
			       const struct trust_bundle *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->npins; i++) {
		bool in_chain = false;

		for (size_t j = 0; j < t->last.npins; j++)
			in_chain |= strcmp(b->pins[i], t->last.pins[j]) == 0;
		n += !in_chain;
	}
	return n;
}

static json_t *link_warnings(const struct trust_link *t,
			     const struct trust_store_info *si,
			     const json_t *info, int64_t now)
{
	const struct trust_bundle *b = si->active;
	json_t *w = json_array();
	char when[21];

	if (!w)
		return NULL;
	/* What the store set aside at start (a slot that does not verify,
	 * a floor lowered): someone may have written the state directory.
	 * The details name paths, for the local status only. */
	if (si->warning)
		link_warn(w, "the trust store found files at start that "
			     "it does not trust or cannot use (see "
			     "zwgatectl trust status)");
	trust_time_format(b->expires, when);
	if (now >= b->expires)
		link_warn(w,
			  "trust bundle version %llu expired on %s: "
			  "connecting with chain validation only (no "
			  "pins) until a new bundle arrives",
			  (unsigned long long)b->version, when);
	else if ((b->expires - now) / 86400 < TRUST_WARN_DAYS)
		link_warn(w,
			  "trust bundle version %llu expires in "
			  "%lld days (%s)",
			  (unsigned long long)b->version,
			  (long long)((b->expires - now) / 86400), when);
	link_warn_anchors(w, info);
	if (t->last.set && t->last.ok && !t->last.pending && t->last.npins &&
	    link_backup_pins(t, b) == 0)
		link_warn(w,
			  "no backup pin: every pin of bundle version "
			  "%llu is in the chain the broker presents",
			  (unsigned long long)b->version);
	return w;
}

static json_t *link_recovery(const struct trust_bundle *f, int64_t now)
{
	json_t *a = json_array();

	for (int i = 0; a && i < sk_X509_num(f->recovery); i++)
		json_array_append_new(
		    a,
		    trust_cert_info_json(sk_X509_value(f->recovery, i), now));
	return a;
}

static json_t *link_pending(const struct trust_store_info *si, int64_t now)
{
	json_t *o;

	if (!si->pending)
		return json_null();
	o = link_bundle(si->pending, si->pending_from, now);
	if (o && link_put(o, "tries", json_integer(si->pending_tries)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *trust_link_status_json(struct trust_link *t)
{
	struct trust_store_info si;
	struct trust_policy p;
	json_t *o, *active;
	bool pending;

	link_policy(t, &p, &pending);
	trust_store_info(t->store, &si);
	active = link_bundle(si.active, si.active_from, p.now);
	if (!active)
		return NULL;
	o = json_pack("{s:s,s:{s:o,s:o,s:b},s:I,s:o,s:o,s:o,s:o}", "mode",
		      trust_mode_name(trust_policy_mode(&p)), "clock", "now",
		      link_time(p.now), "floor", link_time(p.floor), "synced",
		      p.clock_synced, "floor", (json_int_t)si.floor, "active",
		      active, "pending", link_pending(&si, p.now), "recovery",
		      link_recovery(si.factory, p.now), "last", link_last(t));
	if (!o)
		return NULL;
	/* A status with fields missing would say what is not so. */
	if ((si.dropped &&
	     link_put(o, "dropped", json_string(si.dropped)) < 0) ||
	    (si.write_file &&
	     link_put(o, "store_error", trust_link_store_error(t)) < 0) ||
	    (si.warning &&
	     link_put(o, "store_warning", json_string(si.warning)) < 0) ||
	    link_put(o, "warnings", link_warnings(t, &si, active, p.now)) < 0 ||
	    link_put(o, "alarm",
		     json_boolean(json_array_size(
			 json_object_get(o, "warnings")))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A file name of the store's, not a path: the cloud may ask for it. */
json_t *trust_link_store_error(const struct trust_link *t)
{
	struct trust_store_info si;
	char buf[128];

	trust_store_info(t->store, &si);
	if (!si.write_file)
		return NULL;
	snprintf(buf, sizeof(buf), "cannot write %s: %s", si.write_file,
		 strerror(-si.write_error));
	return json_string(buf);
}

json_t *trust_link_health_json(struct trust_link *t)
{
	json_t *s = trust_link_status_json(t), *h;

	if (!s)
		return NULL;
	h = json_pack("{s:s,s:O,s:O,s:O}", "trust",
		      json_is_true(json_object_get(s, "alarm")) ? "alarm"
								: "ok",
		      "mode", json_object_get(s, "mode"), "version",
		      json_object_get(json_object_get(s, "active"), "version"),
		      "alarms", json_object_get(s, "warnings"));
	json_decref(s);
	return h;
}

json_t *trust_link_report_json(struct trust_link *t)
{
	json_t *s = trust_link_status_json(t), *r;

	r = s ? trust_report_json(s) : NULL;
	json_decref(s);
	return r;
}

/* s differs from *last (which then takes s); else s is freed. */
static bool link_differs(char **last, char *s)
{
	if (*last && strcmp(s, *last) == 0) {
		free(s);
		return false;
	}
	free(*last);
	*last = s;
	return true;
}

/*
 * Tell the cloud when the health or the report changed, or when the
 * report is TRUST_LINK_REPORT_S old on a live link, and the log what is
 * wrong.
 */
static void link_health_changed(struct trust_link *t)
{
	json_t *h = trust_link_health_json(t), *r = trust_link_report_json(t);
	char *hs = h ? json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *rs = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	uint64_t now = uv_now(t->tick.loop);
	bool changed = false, due;
	json_t *w;
	size_t i;

	if (hs && link_differs(&t->health, hs)) {
		json_array_foreach(json_object_get(h, "alarms"), i, w)
		    log_warning("trust: %s", json_string_value(w));
		changed = true;
	}
	if (rs)
		changed |= link_differs(&t->report, rs);
	json_decref(h);
	json_decref(r);
	due = t->connected &&
	      now - t->reported_at >= (uint64_t)TRUST_LINK_REPORT_S * 1000;
	if ((changed || due) && t->cbs.health) {
		t->reported_at = now;
		t->cbs.health(t->cbs.ctx);
	}
}

static int link_check(const struct stat *st, void *arg)
{
	struct fs_checked *f = arg;
	int r = conf_check_stat(st, f->why, f->whylen);

	f->said = r < 0;
	return r;
}

/*
 * The factory bundle is the root of every later one: like ca-file it is
 * held to the rules of config files, on the descriptor it is read from,
 * so that the file checked is the file trusted.
 */
static int link_factory(const char *path, struct trust_bundle **ret, char *err,
			size_t errlen)
{
	char why[256], said[128], *buf;
	struct fs_checked f = { NULL, path, said, sizeof(said), false };
	size_t len;
	int r;

	r = fs_read_checked(path, TRUST_BUNDLE_MAX, link_check, &f, &buf, &len);
	if (r < 0 && f.said)
		snprintf(err, errlen, "trust-bundle %s %s", path, f.why);
	else if (r == -EFBIG)
		snprintf(err, errlen, "%s: bundle is larger than %d bytes",
			 path, TRUST_BUNDLE_MAX);
	else if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	if (r < 0)
		return r;
	r = trust_bundle_parse(buf, len, ret, why, sizeof(why));
	free(buf);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return r;
}

static int link_store(struct trust_link *t, const struct trust_link_opts *o,
		      char *err, size_t errlen)
{
	struct trust_bundle *factory;
	char *dir;
	int r;

	r = link_factory(o->bundle_path, &factory, err, errlen);
	if (r < 0)
		return r;
	if (!trust_bundle_covers(factory, o->host)) {
		snprintf(err, errlen,
			 "trust bundle %s does not cover the broker host %s",
			 o->bundle_path, o->host);
		trust_bundle_free(factory);
		return -EINVAL;
	}
	dir = fs_join(o->state_dir, "trust");
	if (!dir) {
		trust_bundle_free(factory);
		return -ENOMEM;
	}
	r = trust_store_open(dir, factory, &t->store, err, errlen);
	free(dir);
	return r;
}

int trust_link_open(uv_loop_t *loop, const struct trust_link_opts *o,
		    const struct trust_link_cbs *cbs, struct trust_link **ret,
		    char *err, size_t errlen)
{
	struct trust_link *t = calloc(1, sizeof(*t));
	struct trust_store_info si;
	int r;

	if (!t)
		return -ENOMEM;
	t->cbs = *cbs;
	t->build_time = o->build_time;
	t->host = strdup(o->host);
	t->synced_file = o->synced_file ? strdup(o->synced_file) : NULL;
	if (!t->host || (o->synced_file && !t->synced_file)) {
		r = -ENOMEM;
		goto fail;
	}
	r = link_store(t, o, err, errlen);
	if (r < 0)
		goto fail;
	trust_store_info(t->store, &si);
	t->last_good_job = fs_job_new(loop, si.dir, TRUST_STORE_LAST_GOOD_NAME,
				      0600, link_last_good_done, t);
	if (!t->last_good_job) {
		trust_store_free(t->store);
		r = -ENOMEM;
		goto fail;
	}
	if (si.warning)
		log_warning("trust: %s", si.warning);
	log_info("trust: active bundle version %llu (%s), floor %llu%s",
		 (unsigned long long)si.active->version, si.active_from,
		 (unsigned long long)si.floor,
		 si.pending ? "; a pending bundle is tried first" : "");
	uv_timer_init(loop, &t->tick);
	t->tick.data = t;
	uv_timer_start(&t->tick, link_on_tick, TRUST_LINK_TICK_MS,
		       TRUST_LINK_TICK_MS);
	*ret = t; /* before the first health report, which may ask for it */
	link_health_changed(t);
	return 0;

fail:
	free(t->host);
	free(t->synced_file);
	free(t);
	return r;
}

static void link_closed(uv_handle_t *h)
{
	struct trust_link *t = h->data;

	fs_job_free(t->last_good_job);
	trust_store_free(t->store);
	free(t->host);
	free(t->synced_file);
	free(t->health);
	free(t->report);
	free(t);
}

void trust_link_close(struct trust_link *t)
{
	if (!t)
		return;
	uv_close((uv_handle_t *)&t->tick, link_closed);
}
