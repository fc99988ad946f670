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
#include "zwtime.h"

#include "trust_link_int.h"

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

void trust_link_policy(const struct trust_link *t, struct trust_policy *p,
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

	trust_link_policy(t, &p, &pending);
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

	trust_link_policy(t, &p, &pending);
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

/* The store checks the first host; the others are the link's. */
static int link_uncovered(const struct trust_link *t,
			  const struct trust_bundle *b, char *why,
			  size_t whylen)
{
	for (size_t i = 1; t->hosts[i]; i++) {
		if (trust_bundle_covers(b, t->hosts[i]))
			continue;
		snprintf(why, whylen, "does not cover host %s", t->hosts[i]);
		return -EPERM;
	}
	return 0;
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
	} else if ((r = link_uncovered(t, b, why, whylen)) < 0) {
		/* a host the store does not look at */
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
		r = trust_store_offer(t->store, buf, len, link_now(),
				      t->hosts[0], why, whylen);
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
	for (size_t i = 0; o->hosts[i]; i++) {
		if (trust_bundle_covers(factory, o->hosts[i]))
			continue;
		snprintf(err, errlen,
			 "trust bundle %s does not cover the broker host %s",
			 o->bundle_path, o->hosts[i]);
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

static void link_free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A copy of v (NULL-ended), or NULL: no memory. */
static char **link_strings(const char *const *v)
{
	size_t n = 0;
	char **c;

	while (v[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++) {
		if (!(c[i] = strdup(v[i]))) {
			link_free_strings(c);
			return NULL;
		}
	}
	return c;
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
	t->hosts = link_strings(o->hosts);
	t->synced_file = o->synced_file ? strdup(o->synced_file) : NULL;
	if (!t->hosts || !t->hosts[0] || (o->synced_file && !t->synced_file)) {
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
	link_free_strings(t->hosts);
	free(t->synced_file);
	free(t);
	return r;
}

static void link_closed(uv_handle_t *h)
{
	struct trust_link *t = h->data;

	fs_job_free(t->last_good_job);
	trust_store_free(t->store);
	link_free_strings(t->hosts);
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
