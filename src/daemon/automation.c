/* SPDX-License-Identifier: MIT */
/*
 * automation.c: the rules engine on the daemon's loop.
 *
 * Wall-clock jumps come from a timerfd armed far in the future with
 * TFD_TIMER_CANCEL_ON_SET: any settimeofday/clock_settime/NTP step makes
 * its read fail with ECANCELED.  A slow poll (AUTOMATION_POLL_MS) follows
 * the clock's trust, which has no event of its own; the engine checks
 * wall times against the wall clock when its timers expire anyway, so a
 * missed jump is caught within a minute.  The cloud link's state comes
 * from the daemon (automation_cloud) as it changes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "automation.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "registry.h"
#include "rules.h"
#include "sched.h"
#include "state_save.h"
#include "zw.h"
#include "zwtime.h"

#define AUTOMATION_SYNC_FILE "/run/systemd/timesync/synchronized"
#define AUTOMATION_STATE_MAX (1024 * 1024)
#define AUTOMATION_FAR_S     (10L * 365 * 86400) /* the timerfd's expiry */

struct automation {
	struct automation_deps deps;
	struct rules_engine *e;
	struct rules_actions act;
	uv_timer_t timer, poll_timer;
	uv_poll_t jump;
	int jump_fd;
	struct state_save *state; /* rules.json, written off the loop */
	unsigned open_handles;
	bool trusted, stopping;
	bool cloud_up; /* as automation_cloud last said */
};

static struct rules_clock clock_now(struct automation *a)
{
	struct rules_clock c = { .wall = zwtime_now(),
				 .mono = uv_now(a->deps.loop) };
	struct timex tx = { 0 };
	int s;

	/* Synchronised (systemd-timesyncd, or the kernel's NTP state), or
	 * past the build time: see zwgate.rules(5), TIME. */
	if (access(AUTOMATION_SYNC_FILE, F_OK) == 0)
		c.trusted = true;
	else if ((s = adjtimex(&tx)) >= 0 && s != TIME_ERROR &&
		 !(tx.status & STA_UNSYNC))
		c.trusted = true;
	else
		c.trusted = sched_clock_trusted(c.wall, ZWGATE_BUILD_TIME, -1);
	return c;
}

static void on_timer(uv_timer_t *t);

/* The one timer follows the engine's next deadline. */
static void rearm(struct automation *a)
{
	uint64_t next = rules_engine_next_deadline(a->e);
	uint64_t now = uv_now(a->deps.loop);

	if (a->stopping || !a->e)
		return;
	if (next == RULES_NO_DEADLINE) {
		uv_timer_stop(&a->timer);
		return;
	}
	uv_timer_start(&a->timer, on_timer, next > now ? next - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct automation *a = t->data;
	struct rules_clock now = clock_now(a);

	if (!a->e)
		return;
	rules_engine_tick(a->e, &now);
	rearm(a);
}

static void on_registry(void *ctx, const struct registry_event *ev)
{
	struct automation *a = ctx;
	struct rules_clock now = clock_now(a);

	if (!a->e)
		return;
	rules_engine_event(a->e, ev, &now);
	rearm(a);
}

static void on_poll_timer(uv_timer_t *t)
{
	struct automation *a = t->data;
	struct rules_clock now = clock_now(a);

	if (!a->e)
		return;
	if (now.trusted != a->trusted) {
		a->trusted = now.trusted;
		log_info("rules: the clock is %s trusted", now.trusted
							       ? "now"
							       : "no "
								 "longer");
		rules_engine_clock_jump(a->e, &now);
	}
	rearm(a);
}

/*
 * Far ahead, on 64 bits: with a 32-bit time_t, now + 10 years overflowed
 * from 2028 on, the expiry fell in the past and the timerfd fired at
 * once, again and again (zwtime_timerfd_at arms it on 64 bits on every
 * build, past 2038 too).
 */
static int jump_arm(int fd)
{
	return zwtime_timerfd_at(fd, zwtime_now() + AUTOMATION_FAR_S);
}

static void on_jump(uv_poll_t *p, int status, int events)
{
	struct automation *a = p->data;
	struct rules_clock now;
	uint64_t n;

	if (read(a->jump_fd, &n, sizeof(n)) < 0 && errno != ECANCELED)
		return; /* EAGAIN: nothing */
	jump_arm(a->jump_fd);
	if (!a->e)
		return;
	now = clock_now(a);
	a->trusted = now.trusted;
	log_notice("rules: the wall clock was set; planning schedules again");
	rules_engine_clock_jump(a->e, &now);
	rearm(a);
}

/* Actions. */

static int act_set(void *ctx, const struct registry_value *v,
		   const struct value *val)
{
	struct automation *a = ctx;

	struct zw *zw = a->deps.zw ? a->deps.zw(a->deps.ctx) : NULL;

	return zw ? zw_set_value(zw, &v->meta.key, val) : -ECANCELED;
}

/* Under <topic-prefix>/<gateway-id>/, queued in the outbox when offline. */
static int act_publish(void *ctx, const char *topic, const char *payload)
{
	struct automation *a = ctx;

	return a->deps.publish ? a->deps.publish(a->deps.ctx, topic, payload)
			       : -ENOTCONN;
}

static int act_refresh(void *ctx, unsigned node)
{
	struct automation *a = ctx;

	struct zw *zw = a->deps.zw ? a->deps.zw(a->deps.ctx) : NULL;

	return zw ? zw_refresh(zw, (uint16_t)node) : -ECANCELED;
}

static void act_log(void *ctx, int prio, const char *msg)
{
	log_msg(prio, "%s", msg);
}

/* Rules state: which rules are disabled. */

static void load_state(struct automation *a)
{
	char *path = fs_join(a->deps.state_dir, AUTOMATION_STATE_FILE);
	char *data = NULL;
	json_error_t err;
	json_t *j;
	size_t len;
	int r;

	if (!path)
		return;
	r = fs_read_file(path, AUTOMATION_STATE_MAX, &data, &len);
	if (r == 0) {
		j = json_loadb(data, len, 0, &err);
		if (j)
			rules_engine_load_state(a->e, j);
		else
			log_warning("%s: %s; all rules enabled", path,
				    err.text);
		json_decref(j);
	} else if (r != -ENOENT) {
		log_warning("%s: %s; all rules enabled", path, strerror(-r));
	}
	free(data);
	free(path);
}

/* A rule enabled or disabled, waiting for rules.json to hold it. */
struct enable_wait {
	struct state_save_wait wait; /* first: the list's entry */
	char *name;
	bool on, was; /* what it set, what it replaced */
	automation_saved_fn saved;
	void *ctx;
};

/* The rules' state into a->state; w (NULL: none) waits for it. */
static int save_state(struct automation *a, struct state_save_wait *w)
{
	json_t *j = rules_engine_state_json(a->e);
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	int r = -ENOMEM;

	if (s)
		r = state_save_write(a->state, s, strlen(s), w);
	if (r < 0)
		log_error("rules: cannot save %s/%s: %s", a->deps.state_dir,
			  AUTOMATION_STATE_FILE, strerror(-r));
	free(s);
	json_decref(j);
	return r;
}

/* The first change still waiting for a write that is of rule name. */
static struct enable_wait *later_change(struct automation *a, const char *name)
{
	for (struct state_save_wait *l = state_save_waiting(a->state); l;
	     l = l->next)
		if (strcmp(((struct enable_wait *)l)->name, name) == 0)
			return (struct enable_wait *)l;
	return NULL;
}

/*
 * A write of rules.json completed; list: the rules enabled or disabled
 * it held, newest first.  Unsaved, a change is undone as names.json's
 * renames are (api_nodes.c, api_names_saved): a later change of the
 * rule that still waits for its write takes over what to go back to;
 * else the rule goes back, if it is still as the change set it.  The
 * state is written again when an undone change may still reach the
 * file.  Cancelled (the automation stops), nothing is undone.
 */
static void on_state_saved(void *ctx, struct state_save_wait *list, int result)
{
	struct automation *a = ctx;
	bool failed = result < 0 && result != -ECANCELED, undone = false;

	if (failed)
		log_error("rules: cannot save %s/%s: %s", a->deps.state_dir,
			  AUTOMATION_STATE_FILE, strerror(-result));
	for (struct state_save_wait *w = list, *next; w; w = next) {
		struct enable_wait *ew = (struct enable_wait *)w, *later;

		next = w->next;
		if (failed && (later = later_change(a, ew->name)))
			later->was = ew->was;
		else if (failed && a->e &&
			 rules_engine_enabled(a->e, ew->name) == ew->on &&
			 ew->was != ew->on) {
			rules_engine_enable(a->e, ew->name, ew->was);
			undone = true;
		}
		ew->saved(ew->ctx, result);
		free(ew->name);
		free(ew);
	}
	if (undone && !a->stopping && state_save_busy(a->state))
		save_state(a, NULL);
}

/* The engine of a config's rules; TZ of its location. */
static int engine_for(struct automation *a, const struct conf *c,
		      struct rules_engine **ret)
{
	struct sched_loc loc = { c->location.latitude, c->location.longitude };
	int r;

	if (c->location.timezone)
		setenv("TZ", c->location.timezone, 1);
	else
		unsetenv("TZ");
	tzset();
	r = rules_engine_new(c->rules, a->deps.reg, &a->act,
			     c->location.set ? &loc : NULL, ret);
	if (r < 0)
		log_error("rules: %s", strerror(-r));
	return r;
}

static void log_counts(const struct conf *c, const char *what)
{
	log_info("rules %s: %zu rules, %zu scenes", what,
		 c->rules ? c->rules->nrules : 0,
		 c->rules ? c->rules->nscenes : 0);
}

static void start_jump_watch(struct automation *a)
{
	const char *why = NULL;
	int r = 0;

	a->jump_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->jump_fd < 0)
		r = -errno;
	else
		r = jump_arm(a->jump_fd);
	if (r < 0)
		why = strerror(-r);
	else if ((r = uv_poll_init(a->deps.loop, &a->jump, a->jump_fd)) < 0)
		why = uv_strerror(r);
	if (why) {
		log_warning("rules: no notice of clock jumps (%s); schedules "
			    "check the clock every minute",
			    why);
		if (a->jump_fd >= 0)
			close(a->jump_fd);
		a->jump_fd = -1;
		return;
	}
	a->jump.data = a;
	a->open_handles++;
	/* The handle is open either way (automation_stop closes it); a
	 * poll that does not start only loses the notice of jumps. */
	r = uv_poll_start(&a->jump, UV_READABLE, on_jump);
	if (r < 0)
		log_warning("rules: no notice of clock jumps (%s); schedules "
			    "check the clock every minute",
			    uv_strerror(r));
}

int automation_start(const struct automation_deps *deps, const struct conf *c,
		     struct automation **ret)
{
	struct automation *a = calloc(1, sizeof(*a));
	struct rules_clock now;
	int r;

	if (!a)
		return -ENOMEM;
	a->deps = *deps;
	a->jump_fd = -1;
	a->act = (struct rules_actions){ act_set, act_publish, act_refresh,
					 act_log, a };
	if ((r = engine_for(a, c, &a->e)) < 0) {
		free(a);
		return r;
	}
	load_state(a);
	a->state =
	    state_save_new(deps->loop, deps->state_dir, AUTOMATION_STATE_FILE,
			   0600, on_state_saved, a);
	if (!a->state) {
		rules_engine_free(a->e);
		free(a);
		return -ENOMEM;
	}
	uv_timer_init(deps->loop, &a->timer);
	uv_timer_init(deps->loop, &a->poll_timer);
	a->timer.data = a->poll_timer.data = a;
	a->open_handles += 2;
	uv_timer_start(&a->poll_timer, on_poll_timer, AUTOMATION_POLL_MS,
		       AUTOMATION_POLL_MS);
	start_jump_watch(a);
	if ((r = registry_listen(deps->reg, on_registry, a)) < 0) {
		log_error("rules: cannot follow the registry: %s",
			  strerror(-r));
		*ret = a;
		return r;
	}
	now = clock_now(a);
	a->trusted = now.trusted;
	if (!now.trusted)
		log_notice("rules: the clock is not trusted yet; schedules "
			   "wait for it");
	rules_engine_start(a->e, &now, true);
	log_counts(c, "loaded");
	rearm(a);
	*ret = a;
	return 0;
}

int automation_reload(struct automation *a, struct conf *c)
{
	struct rules_engine *e;
	struct rules_clock now;

	if (!a)
		return 0;
	if (engine_for(a, c, &e) < 0) {
		/* The old engine reads the old config, which goes now. */
		a->e = rules_engine_free(a->e);
		log_error("rules: stopped until the next reload");
		return -ENOMEM;
	}
	if (a->e)
		rules_engine_adopt(e, a->e);
	rules_engine_free(a->e);
	a->e = e;
	now = clock_now(a);
	rules_engine_start(a->e, &now, false);
	/* An engine made without the old one (which a failed reload
	 * dropped) learns the link's state here. */
	rules_engine_cloud(a->e, a->cloud_up, &now);
	log_counts(c, "reloaded");
	rearm(a);
	return 0;
}

void automation_check(struct automation *a, const struct conf *c,
		      struct diag_list *diags)
{
	if (a && registry_node_count(a->deps.reg))
		rules_check_names(c->rules, a->deps.reg, diags);
}

static void on_closed(uv_handle_t *h)
{
	struct automation *a = h->data;

	if (--a->open_handles)
		return;
	if (a->jump_fd >= 0)
		close(a->jump_fd);
	free(a);
}

void automation_stop(struct automation *a)
{
	if (!a || a->stopping)
		return;
	a->stopping = true;
	registry_unlisten(a->deps.reg, on_registry, a);
	/* Answers what waits (cancelled); a write out finishes. */
	state_save_free(a->state);
	a->state = NULL;
	a->e = rules_engine_free(a->e);
	if (a->jump_fd >= 0)
		uv_close((uv_handle_t *)&a->jump, on_closed);
	uv_close((uv_handle_t *)&a->poll_timer, on_closed);
	uv_close((uv_handle_t *)&a->timer, on_closed);
}

void automation_cloud(struct automation *a, bool connected)
{
	struct rules_clock now;

	if (!a)
		return;
	a->cloud_up = connected;
	if (!a->e)
		return;
	now = clock_now(a);
	rules_engine_cloud(a->e, connected, &now);
	rearm(a);
}

/* The API. */

json_t *automation_rules_json(struct automation *a)
{
	struct rules_clock now;

	if (!a || !a->e)
		return json_array();
	now = clock_now(a);
	return rules_engine_json(a->e, &now);
}

json_t *automation_rule_json(struct automation *a, const char *name)
{
	struct rules_clock now;

	if (!a || !a->e)
		return NULL;
	now = clock_now(a);
	return rules_engine_rule_json(a->e, name, &now);
}

int automation_run(struct automation *a, const char *name)
{
	struct rules_clock now;
	int r;

	if (!a || !a->e)
		return -ENOENT;
	now = clock_now(a);
	r = rules_engine_run(a->e, name, &now);

	rearm(a);
	return r;
}

int automation_scene(struct automation *a, const char *name)
{
	struct rules_clock now;
	int r;

	if (!a || !a->e)
		return -ENOENT;
	now = clock_now(a);
	r = rules_engine_scene(a->e, name, &now);

	rearm(a);
	return r;
}

int automation_enable(struct automation *a, const char *name, bool on,
		      automation_saved_fn saved, void *ctx)
{
	struct enable_wait *ew;
	int was = a && a->e ? rules_engine_enabled(a->e, name) : -ENOENT;
	int r;

	if (was < 0)
		return was;
	if (!(ew = calloc(1, sizeof(*ew))) || !(ew->name = strdup(name))) {
		free(ew);
		return -ENOMEM;
	}
	*ew = (struct enable_wait){ .name = ew->name,
				    .on = on,
				    .was = was,
				    .saved = saved,
				    .ctx = ctx };
	rules_engine_enable(a->e, name, on);
	log_info("rule \"%s\" %s", name, on ? "enabled" : "disabled");
	if ((r = save_state(a, &ew->wait)) < 0) {
		/* Unsaved, it would change back at the next start: undo. */
		rules_engine_enable(a->e, name, was);
		free(ew->name);
		free(ew);
	}
	return r;
}
