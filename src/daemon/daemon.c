/* SPDX-License-Identifier: MIT */
/*
 * daemon.c: zwgated's parts, put together.  The daemon owns the config,
 * the registry, the backend, the API, the control socket, the cloud link
 * and the rules engine; each part gets what it needs of the others
 * through the deps it is given here, and only this file knows them all.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "zwgate/control.h"

#include "api.h"
#include "automation.h"
#include "cloud.h"
#include "conf_rules.h"
#include "control.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "registry.h"
#include "zw.h"
#include "zwtime.h"

#define NAMES_FILE	 "names.json"
#define STATE_JSON_MAX	 (1024 * 1024) /* names.json, rules.json */
#define DAEMON_TOPIC_MAX 512	       /* a rule's publish, in full */

struct daemon {
	uv_loop_t *loop;
	struct daemon_opts opts;
	struct conf *conf;
	struct registry *reg;
	struct zw *zw;
	struct api *api;
	struct control *control;
	struct cloud *cloud;	       /* NULL without a cloud block */
	struct automation *automation; /* the rules engine */
	char *socket_path;
	char *names_path;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t watchdog;
	uint64_t watchdog_usec; /* 0: systemd watchdog off */
	uint64_t start_ms;	/* uv_now() at start */
	char status_line[256];	/* last STATUS= sent */
	bool stopping;
};

uint64_t daemon_wall_ms(void)
{
	int64_t ms = zwtime_now_ms(); /* past 2038 on a 32-bit time_t too */

	return ms > 0 ? (uint64_t)ms : 0;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void daemon_update_status(struct daemon *d)
{
	char line[sizeof(d->status_line)];

	if (!d->zw || !d->reg)
		return;
	snprintf(line, sizeof(line), "zwave %s: %s, %zu nodes; cloud: %s",
		 zw_name(d->zw), registry_controller_state(d->reg),
		 registry_node_count(d->reg), cloud_state_word(d->cloud));
	if (strcmp(line, d->status_line) == 0)
		return;
	memcpy(d->status_line, line, sizeof(line));
	sd_notifyf(0, "STATUS=%s", line);
}

/*
 * Once every node's interview is done, what the backend built and threw
 * away for it is free: OpenZWave's parse of its device database and its
 * interview buffers, on the malloc arenas of its own threads (0.7 MiB
 * with 20 devices).  glibc keeps that for the process; malloc_trim(0)
 * gives the free pages of every arena back, in a fraction of a
 * millisecond, once per interview.  The cloud's start-up burst is given
 * back by mqtt.c, once it is acknowledged.
 */
static void trim_heap(void)
{
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
}

/* Backend events go into the registry, stamped with the wall clock. */
static void on_zw_event(void *ctx, const struct zw_event *ev)
{
	struct daemon *d = ctx;
	int r = registry_apply(d->reg, ev, daemon_wall_ms());

	if (r < 0)
		log_warning("node %u: event %d ignored: %s", ev->node, ev->type,
			    strerror(-r));
	switch (ev->type) {
	case ZW_EV_READY:
		log_info("zwave %s: controller ready (%s)", zw_name(d->zw),
			 ev->u.message ? ev->u.message : "");
		break;
	case ZW_EV_FAILED:
		log_error("zwave %s: controller failed: %s", zw_name(d->zw),
			  ev->u.message ? ev->u.message : "unknown reason");
		break;
	case ZW_EV_ALL_QUERIED:
		log_info("zwave %s: all %zu nodes queried", zw_name(d->zw),
			 registry_node_count(d->reg));
		trim_heap();
		break;
	case ZW_EV_VALUE_CHANGED:
	case ZW_EV_VALUE_REMOVED:
	case ZW_EV_NOTIFICATION:
		/*
		 * The hot path: these change neither the controller state nor
		 * the node count, so STATUS= is not rebuilt for them.
		 */
		return;
	default:
		break;
	}
	daemon_update_status(d);
}

static gid_t lookup_group(const char *name)
{
	struct group *g = name ? getgrnam(name) : NULL;

	return g ? g->gr_gid : (gid_t)-1;
}

static void control_request(void *ctx, struct control_client *cl, json_t *req);

static void control_opts_from_conf(struct daemon *d, struct control_opts *o)
{
	*o = (struct control_opts){
		.max_clients = d->conf->control.max_clients,
		.idle_timeout_s = d->conf->control.idle_timeout_s,
		.group = lookup_group(d->conf->control.group),
		.on_request = control_request,
		.ctx = d,
	};
}

static void control_reply(void *ctx, const json_t *reply)
{
	struct control_client *cl = ctx;

	control_client_send(cl, reply);
	control_client_unref(cl);
}

static void control_progress(void *ctx, const json_t *msg)
{
	control_client_send(ctx, msg);
}

/*
 * A backup of the controller holds the network's keys, and a firmware
 * update puts code on a device (a lock's, say): only root and zwgated's
 * own user may do either, not every member of the control group.
 */
static bool control_denied(struct control_client *cl, const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	uid_t uid = control_client_uid(cl);
	bool backup = cmd && strcmp(cmd, "backup") == 0;
	json_t *reply;

	if (!cmd || uid == 0 || uid == geteuid() ||
	    (!backup && strcmp(cmd, "firmware-upload") != 0 &&
	     strcmp(cmd, "firmware-update") != 0))
		return false;
	reply = json_pack(
	    "{s:O?,s:b,s:s,s:s}", "id", json_object_get(req, "id"), "ok", 0,
	    "code", "EACCES", "error",
	    backup ? "backup hands over the network's keys: only root or "
		     "zwgated's own user may ask for it, not the control "
		     "group"
		   : "a firmware update puts code on a device: only root or "
		     "zwgated's own user may send one, not the control "
		     "group");
	if (reply)
		control_client_send(cl, reply);
	json_decref(reply);
	return true;
}

/* The client stays referenced until its reply is sent, maybe later. */
static void control_request(void *ctx, struct control_client *cl, json_t *req)
{
	struct daemon *d = ctx;

	if (control_denied(cl, req))
		return;
	api_request_progress(d->api, req, control_reply, control_progress,
			     control_client_ref(cl));
}

static void apply_log_level(struct daemon *d)
{
	log_set_level(d->opts.debug ? LOG_DEBUG : d->conf->log_level);
}

static bool str_differs(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b) != 0);
}

/* Two NULL-ended lists (or NULLs). */
static bool strs_differ(char **a, char **b)
{
	size_t i = 0;

	for (; a && b && a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return true;
	return (a && a[i]) || (b && b[i]);
}

/*
 * gateway-id, the zwave block and the cloud block are read by running
 * parts (backend, MQTT client, bridge) that a reload does not restart:
 * the new config keeps the running values, so that what d->conf says is
 * what runs, and the user is told to restart for the rest.
 */
static void keep_restart_only(struct conf *old, struct conf *c)
{
	struct conf_zwave z = c->zwave;
	struct conf_cloud cl = c->cloud;
	char *id = c->gateway_id;

	if (str_differs(id, old->gateway_id) ||
	    str_differs(z.backend, old->zwave.backend) ||
	    str_differs(z.sim_network, old->zwave.sim_network) ||
	    str_differs(z.device, old->zwave.device) ||
	    str_differs(z.server, old->zwave.server) ||
	    cl.set != old->cloud.set ||
	    strs_differ(cl.hosts, old->cloud.hosts) ||
	    strs_differ(cl.connect_to, old->cloud.connect_to) ||
	    cl.port != old->cloud.port)
		log_notice("gateway-id, the zwave block and the cloud block "
			   "take effect at the next start of zwgated");
	/* Except allow-controller-ops: taking the power back from the cloud
	 * must not wait for a restart. */
	old->cloud.allow_controller_ops = cl.allow_controller_ops;
	c->zwave = old->zwave;
	c->cloud = old->cloud;
	c->gateway_id = old->gateway_id;
	old->zwave = z;
	old->cloud = cl;
	old->gateway_id = id;
}

int daemon_reload(struct daemon *d, struct diag_list *diags)
{
	struct control_opts co;
	struct conf *c = NULL, *old;
	int r;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)monotonic_usec());
	r = conf_load(d->opts.config_path, &conf_rules_load_opts, diags, &c);
	if (r == -ENOMEM) {
		log_error("reload of %s ran out of memory; keeping the running "
			  "config",
			  d->opts.config_path);
		sd_notify(0, "READY=1");
		return r;
	}
	if (r < 0) {
		log_error("reload of %s failed with %zu error(s); keeping the "
			  "running config",
			  d->opts.config_path, diags->errors);
		sd_notify(0, "READY=1");
		return r;
	}
	keep_restart_only(d->conf, c);
	cloud_set_controller_ops(d->cloud, c->cloud.allow_controller_ops);
	automation_check(d->automation, c, diags);
	/*
	 * The new config is the running one before the engine is rebuilt:
	 * a rule that fires meanwhile (the link's state told to an engine
	 * made anew) publishes under the running topic prefix and gateway
	 * id.  The old config goes only after, as the old engine, which
	 * the new one adopts, reads its rules.
	 */
	old = d->conf;
	d->conf = c;
	automation_reload(d->automation, c);
	conf_free(old);
	apply_log_level(d);
	control_opts_from_conf(d, &co);
	control_set_opts(d->control, &co);
	log_info("config %s reloaded", d->opts.config_path);
	sd_notify(0, "READY=1");
	return 0;
}

static void log_diags(const struct diag_list *l)
{
	char buf[1024];

	for (size_t i = 0; i < l->n; i++)
		log_msg(l->items[i].warning ? LOG_WARNING : LOG_ERR, "%s",
			diag_format(&l->items[i], buf, sizeof(buf)));
	if (l->errors + l->warnings > l->n)
		log_error("... and %zu more", l->errors + l->warnings - l->n);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	struct diag_list diags;

	if (signum == SIGHUP) {
		diag_init(&diags);
		daemon_reload(d, &diags);
		log_diags(&diags);
		diag_clear(&diags);
		return;
	}
	log_info("signal %s: stopping", strsignal(signum));
	daemon_stop(d);
}

static void on_watchdog(uv_timer_t *t)
{
	sd_notify(0, "WATCHDOG=1");
}

static int start_signals(struct daemon *d)
{
	uv_signal_t *s[] = { &d->sig_term, &d->sig_int, &d->sig_hup };
	int nums[] = { SIGTERM, SIGINT, SIGHUP };
	int r;

	for (size_t i = 0; i < 3; i++) {
		r = uv_signal_init(d->loop, s[i]);
		if (r < 0) {
			log_error("signal handler: %s", uv_strerror(r));
			return r;
		}
		s[i]->data = d;
		r = uv_signal_start(s[i], on_signal, nums[i]);
		if (r < 0)
			return r;
	}
	/* A control client that goes away must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * The watchdog is fed from a loop timer at half the period systemd asked
 * for: a loop that stops turning stops feeding it.
 */
static void start_watchdog(struct daemon *d)
{
	uint64_t usec = 0;

	uv_timer_init(d->loop, &d->watchdog);
	d->watchdog.data = d;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	d->watchdog_usec = usec;
	uv_timer_start(&d->watchdog, on_watchdog, 0,
		       usec / 2000 ? usec / 2000 : 1);
}

/*
 * The state directory must be one zwgated can make files in: without it
 * nothing it learns survives a restart, so it does not start (systemd
 * tries again) rather than run on and lose it.  A full disk is no such
 * reason: an empty file takes no space, and a write that fails later is
 * reported where it fails.
 */
static int open_state_dir(struct daemon *d)
{
	const char *dir = d->opts.state_dir;
	int r = fs_ensure_dir(dir, 0700);

	if (r == 0)
		r = fs_probe_dir(dir);
	if (r < 0)
		log_error("state directory %s: %s; zwgated (uid %ld) must be "
			  "able to make files there: not starting",
			  dir, strerror(-r), (long)geteuid());
	return r;
}

/*
 * A JSON state file that cannot be read as an object (a directory in its
 * place, a file that is not ours to read, garbage) is set aside, never
 * deleted, and zwgated starts without it: node names or disabled rules
 * are not worth a home without its automation.
 */
static void check_state_file(struct daemon *d, const char *name)
{
	char *path = fs_join(d->opts.state_dir, name), *text = NULL;
	char *aside = NULL;
	json_t *o = NULL;
	size_t len;
	int r, a;

	if (!path)
		return;
	r = fs_read_file(path, STATE_JSON_MAX, &text, &len);
	if (r == 0) {
		o = json_loadb(text, len, 0, NULL);
		r = json_is_object(o) ? 0 : -EBADMSG;
	}
	if (r < 0 && r != -ENOENT && r != -ENOMEM) {
		a = fs_set_aside(d->opts.state_dir, name, &aside);
		if (a == 0)
			log_warning("%s: %s; kept it as %s, starting without "
				    "it",
				    path,
				    r == -EBADMSG ? "not a JSON object"
						  : strerror(-r),
				    aside);
		else
			log_warning("%s: %s, and it cannot be set aside: %s",
				    path, strerror(-r), strerror(-a));
	}
	json_decref(o);
	free(text);
	free(aside);
	free(path);
}

static int open_dirs(struct daemon *d)
{
	int r = open_state_dir(d);

	if (r < 0)
		return r;
	check_state_file(d, NAMES_FILE);
	check_state_file(d, AUTOMATION_STATE_FILE);
	if (mkdir(d->opts.runtime_dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		log_error("runtime directory %s: %s", d->opts.runtime_dir,
			  strerror(errno));
		return r;
	}
	d->names_path = fs_join(d->opts.state_dir, NAMES_FILE);
	d->socket_path = fs_join(d->opts.runtime_dir, ZWCTL_SOCKET_NAME);
	return d->names_path && d->socket_path ? 0 : -ENOMEM;
}

/* A user name the registry set aside (names.json, or a clash with what
 * a device reports): worth a warning, once, naming the node. */
static void on_name_set_aside(void *ctx, const char *msg)
{
	struct daemon *d = ctx;

	log_warning("node names (%s): %s", d->names_path, msg);
}

/* What the parts ask of the daemon: the running config and parts. */

static const struct conf *get_conf(void *ctx)
{
	struct daemon *d = ctx;

	return d->conf;
}

static struct zw *get_zw(void *ctx)
{
	struct daemon *d = ctx;

	return d->zw;
}

static struct cloud *get_cloud(void *ctx)
{
	struct daemon *d = ctx;

	return d->cloud;
}

static struct automation *get_automation(void *ctx)
{
	struct daemon *d = ctx;

	return d->automation;
}

static int reload_conf(void *ctx, struct diag_list *diags)
{
	return daemon_reload(ctx, diags);
}

static int open_api(struct daemon *d)
{
	struct api_deps deps = {
		.loop = d->loop,
		.reg = d->reg,
		.config_path = d->opts.config_path,
		.names_path = d->names_path,
		.ctx = d,
		.conf = get_conf,
		.zw = get_zw,
		.cloud = get_cloud,
		.automation = get_automation,
		.reload = reload_conf,
	};

	return api_new(&deps, &d->api);
}

/* The cloud's commands go to the API, as the control socket's do. */
static void cloud_api_call(void *ctx, const json_t *req, bridge_reply_fn reply,
			   void *reply_ctx)
{
	struct daemon *d = ctx;

	api_request(d->api, req, reply, reply_ctx);
}

/*
 * Error texts come from the API, which may name a file of the gateway
 * (a names file that cannot be written): those stay in the local log.
 */
static bool names_a_path(void *ctx, const char *s)
{
	const struct daemon *d = ctx;
	const char *paths[] = { d->names_path,
				d->socket_path,
				d->opts.state_dir,
				d->opts.runtime_dir,
				d->opts.config_path,
				d->conf ? d->conf->path : NULL,
				d->conf ? d->conf->zwave.sim_network : NULL,
				d->conf ? d->conf->zwave.device : NULL,
				d->conf ? d->conf->zwave.network_key_file
					: NULL };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (paths[i] && paths[i][0] && strstr(s, paths[i]))
			return true;
	return false;
}

void daemon_bridge_ops(struct daemon *d, struct bridge_ops *ret)
{
	*ret = (struct bridge_ops){
		.api_call = cloud_api_call,
		.errno_name = api_errno_name,
		.names_a_path = names_a_path,
		.ctx = d,
	};
}

/* The link came up or went down: STATUS= and the rules hear of it. */
static void on_cloud_state(void *ctx, enum cloud_state st)
{
	struct daemon *d = ctx;

	daemon_update_status(d);
	automation_cloud(d->automation, st == CLOUD_CONNECTED);
}

static int open_cloud(struct daemon *d)
{
	struct cloud_deps deps = {
		.loop = d->loop,
		.reg = d->reg,
		.state_dir = d->opts.state_dir,
		.ctx = d,
		.conf = get_conf,
		.on_state = on_cloud_state,
	};

	daemon_bridge_ops(d, &deps.bridge);
	return cloud_start(&deps, &d->cloud);
}

/* A rule's publish: under <topic-prefix>/<gateway-id>/, queued in the
 * outbox when offline. */
static int rule_publish(void *ctx, const char *topic, const char *payload)
{
	struct daemon *d = ctx;
	const struct conf *c = d->conf;
	char full[DAEMON_TOPIC_MAX];

	if (!d->cloud)
		return -ENOTCONN;
	if ((size_t)snprintf(full, sizeof(full), "%s/%s/%s",
			     c->cloud.topic_prefix, c->gateway_id,
			     topic) >= sizeof(full))
		return -ENAMETOOLONG;
	return cloud_publish(d->cloud, OUTBOX_EVENT, full, payload,
			     strlen(payload));
}

static int open_automation(struct daemon *d)
{
	struct automation_deps deps = {
		.loop = d->loop,
		.reg = d->reg,
		.state_dir = d->opts.state_dir,
		.ctx = d,
		.zw = get_zw,
		.publish = rule_publish,
	};

	return automation_start(&deps, d->conf, &d->automation);
}

static int open_registry(struct daemon *d)
{
	int r;

	d->reg = registry_new();
	if (!d->reg)
		return -ENOMEM;
	registry_set_warn(d->reg, on_name_set_aside, d);
	r = registry_load_names(d->reg, d->names_path);
	if (r < 0 && r != -ENOENT)
		log_warning("node names in %s not loaded: %s", d->names_path,
			    strerror(-r));
	return open_api(d);
}

/* What the backend needs of the configuration. */
static void zw_opts_from_conf(const struct daemon *d, struct zw_opts *o)
{
	*o = (struct zw_opts){
		.state_dir = d->opts.state_dir,
		.sim_network = d->conf->zwave.sim_network,
		.device = d->conf->zwave.device,
		.network_key_file = d->conf->zwave.network_key_file,
		.server = d->conf->zwave.server,
	};
}

static int open_backend(struct daemon *d)
{
	const struct zw_ops *ops = zw_backend(d->conf->zwave.backend);
	struct zw_opts zo;
	int r;

	if (!ops) {
		log_error("zwave backend '%s' is not built into this zwgated",
			  d->conf->zwave.backend);
		return -ENOTSUP;
	}
	zw_opts_from_conf(d, &zo);
	r = ops->open(d->loop, &zo, on_zw_event, d, &d->zw);
	if (r < 0)
		log_error("zwave backend %s did not open: %s", ops->name,
			  strerror(-r));
	return r;
}

static int open_control(struct daemon *d)
{
	struct control_opts co;
	int r;

	control_opts_from_conf(d, &co);
	r = control_start(d->loop, d->socket_path, &co, &d->control);
	if (r < 0)
		log_error("control socket %s: %s", d->socket_path,
			  r == -EADDRINUSE ? "another zwgated is running"
					   : strerror(-r));
	return r;
}

int daemon_start(struct daemon *d, uv_loop_t *loop,
		 const struct daemon_opts *opts)
{
	struct diag_list diags;
	int r;

	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->opts = *opts;
	d->start_ms = uv_now(loop);

	diag_init(&diags);
	r = conf_load(opts->config_path, &conf_rules_load_opts, &diags,
		      &d->conf);
	log_diags(&diags);
	diag_clear(&diags);
	if (r == -ENOMEM)
		log_error("%s: out of memory while reading it",
			  opts->config_path);
	if (r < 0)
		return r;
	apply_log_level(d);

	r = start_signals(d);
	if (r < 0)
		return r;
	start_watchdog(d);
	if ((r = open_dirs(d)) < 0 || (r = open_registry(d)) < 0 ||
	    (r = open_backend(d)) < 0 || (r = open_control(d)) < 0)
		return r;
	/* The cloud is never waited for: READY=1 follows at once. */
	if (d->conf->cloud.set && (r = open_cloud(d)) < 0)
		return r;
	if ((r = open_automation(d)) < 0)
		return r;

	log_info("zwgated %s started: gateway %s, backend %s, socket %s",
		 PACKAGE_VERSION, d->conf->gateway_id, zw_name(d->zw),
		 d->socket_path);
	daemon_update_status(d);
	sd_notify(0, "READY=1");
	return 0;
}

static void close_handle(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

void daemon_stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	api_shutdown(d->api);
	automation_stop(d->automation);
	d->automation = NULL;
	cloud_stop(d->cloud);
	d->cloud = NULL;
	control_stop(d->control);
	d->control = NULL;
	zw_close(d->zw);
	d->zw = NULL;
	close_handle((uv_handle_t *)&d->sig_term);
	close_handle((uv_handle_t *)&d->sig_int);
	close_handle((uv_handle_t *)&d->sig_hup);
	close_handle((uv_handle_t *)&d->watchdog);
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	api_free(d->api);
	d->api = NULL;
	registry_free(d->reg);
	d->reg = NULL;
	conf_free(d->conf);
	d->conf = NULL;
	free(d->names_path);
	free(d->socket_path);
	free(d);
}

struct daemon *daemon_new(void)
{
	return calloc(1, sizeof(struct daemon));
}

struct registry *daemon_registry(const struct daemon *d)
{
	return d->reg;
}

struct api *daemon_api(const struct daemon *d)
{
	return d->api;
}

const char *daemon_socket_path(const struct daemon *d)
{
	return d->socket_path;
}
