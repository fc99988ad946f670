/* SPDX-License-Identifier: MIT */
/*
 * ctl_fleet.c: `zwgatectl fleet`, the operator's view of a fleet of
 * gateways through the broker alone, with the operator's own
 * credentials: never a gateway's socket.  status (who holds which trust
 * bundle), publish-bundle (the fleet's retained bundle) and can-retire
 * (would retiring a root now cut a gateway off).  zwgate-trust(7) has
 * the runbook that uses them.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_fleet.h"
#include "ctl_fleet_int.h"
#include "ctl_int.h"
#include "trust.h"
#include "zwtime.h"

#define FLEET_IDS_MAX	   100000
#define FLEET_WINDOW_DAYS  90
#define FLEET_BUNDLE_TOPIC "_fleet/trust/bundle"
#define FLEET_WAIT_DEFAULT 5 /* s */
#define FLEET_BUNDLE_MAX   (1024 * 1024)

const char ctl_fleet_synopsis[] = "fleet status|publish-bundle|can-retire";
const char ctl_fleet_summary[] = "the fleet's trust, through the broker";

struct fleet_args {
	const char *anchor;   /* can-retire --anchor */
	const char *new_root; /* can-retire --new-root */
	unsigned window_days;
	const char *ids_file;
	char **ids;
	size_t nids;
};

void ctl_fleet_help(FILE *out)
{
	fprintf(out,
		"usage: %s fleet status [BROKER OPTIONS] [--json] [ID...]\n"
		"       %s fleet publish-bundle [BROKER OPTIONS] FILE\n"
		"       %s fleet can-retire --anchor PEM [--new-root PEM]\n"
		"                 [--window DAYS] [BROKER OPTIONS] [ID...]\n"
		"\n"
		"The fleet's trust, read from and written to the broker with "
		"the\noperator's credentials (no gateway is asked):\n"
		"  status          every gateway: online or last seen, "
		"software,\n"
		"                  active and pending bundle, alarms\n"
		"  publish-bundle  FILE, retained on "
		"PREFIX/" FLEET_BUNDLE_TOPIC ",\n"
		"                  which every gateway takes\n"
		"  can-retire      whether a gateway online or seen within "
		"DAYS (%d)\n"
		"                  would be cut off if the root PEM were "
		"retired now\n"
		"\n"
		"Broker options (as mosquitto_sub's):\n"
		"  -h HOST         broker; again for each node of a cluster "
		"that keeps\n"
		"                  retained messages per node (RabbitMQ)\n"
		"  -p PORT         default 8883\n"
		"  --connect-to ADDR  dial ADDR for the -h of the same rank, "
		"which\n"
		"                  stays the name verified\n"
		"  --cafile FILE   the broker's CA (required)\n"
		"  --cert FILE --key FILE   a client certificate\n"
		"  --prefix P      the gateways' topic-prefix (default "
		"zwgate)\n"
		"  --wait SECONDS  longest wait for what is retained (default "
		"%d)\n"
		"  --ids FILE      the gateways to look at, one a line, as ID "
		"args\n"
		"Without IDs every gateway of the prefix is read, which needs "
		"a broker\nthat sends retained messages to wildcard "
		"subscriptions (mosquitto;\nnot RabbitMQ 3.10).\n"
		"Exit status: 0 done (can-retire: yes), 1 failed (can-retire: "
		"no),\n2 usage.\n",
		ctl_prog, ctl_prog, ctl_prog, FLEET_WINDOW_DAYS,
		FLEET_WAIT_DEFAULT);
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: fleet: ", ctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s help fleet'.\n", ctl_prog);
	return CTL_FLEET_USAGE;
}

static bool parse_uint(const char *s, unsigned long max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* --ids FILE: one id a line; blank lines and # comments skipped. */
static int read_ids(struct fleet_args *a)
{
	FILE *fp = fopen(a->ids_file, "re");
	char line[256];

	if (!fp) {
		fprintf(stderr, "%s: fleet: %s: %s\n", ctl_prog, a->ids_file,
			strerror(errno));
		return CTL_FLEET_FAILED;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *s = line + strspn(line, " \t"), **v;

		s[strcspn(s, " \t\r\n#")] = '\0';
		if (!*s)
			continue;
		if (a->nids >= FLEET_IDS_MAX ||
		    !(v = realloc(a->ids, (a->nids + 1) * sizeof(*v))) ||
		    !(v[a->nids] = strdup(s))) {
			fclose(fp);
			fprintf(stderr, "%s: fleet: %s: too many ids\n",
				ctl_prog, a->ids_file);
			return CTL_FLEET_FAILED;
		}
		a->ids = v;
		a->nids++;
	}
	fclose(fp);
	return CTL_FLEET_OK;
}

/* An id as the gateways' config allows it (zwgate.conf(5)). */
static bool id_ok(const char *id)
{
	size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			      "vwxyz0123456789-_");

	return n && n <= FLEET_ID_MAX && !id[n] && strcmp(id, "_fleet");
}

/* CTL_FLEET_OK with *next the first operand, CTL_FLEET_USAGE (said),
 * or -1: the help was printed. */
static int parse(int argc, char **argv, struct fleet_opts *o,
		 struct fleet_args *a, int *next)
{
	static const struct option longopts[] = {
		{ "cafile", required_argument, NULL, 'C' },
		{ "connect-to", required_argument, NULL, 'T' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "wait", required_argument, NULL, 'w' },
		{ "ids", required_argument, NULL, 'I' },
		{ "anchor", required_argument, NULL, 'a' },
		{ "new-root", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned wait = FLEET_WAIT_DEFAULT;
	int c;

	optind = 0; /* 0: GNU getopt starts over (zwgatectl.c used "+") */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			if (o->nhosts == FLEET_BROKERS_MAX)
				return usage("at most 8 brokers (-h)");
			o->hosts[o->nhosts++] = optarg;
			break;
		case 'p':
			if (!parse_uint(optarg, 65535, &o->port) || !o->port)
				return usage("bad port '%s'", optarg);
			break;
		case 'C':
			o->cafile = optarg;
			break;
		case 'T':
			if (o->nconnect == FLEET_BROKERS_MAX)
				return usage("at most 8 --connect-to");
			o->connect_to[o->nconnect++] = optarg;
			break;
		case 'c':
			o->cert = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'P':
			if (!*optarg || strchr(optarg, '+') ||
			    strchr(optarg, '#') ||
			    optarg[strlen(optarg) - 1] == '/')
				return usage("bad topic prefix '%s'", optarg);
			o->prefix = optarg;
			break;
		case 'w':
			if (!parse_uint(optarg, 3600, &wait) || !wait)
				return usage("bad --wait '%s' (1 to 3600 s)",
					     optarg);
			break;
		case 'I':
			a->ids_file = optarg;
			break;
		case 'a':
			a->anchor = optarg;
			break;
		case 'n':
			a->new_root = optarg;
			break;
		case 'W':
			if (!parse_uint(optarg, 36500, &a->window_days))
				return usage("bad --window '%s' (days)",
					     optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'H':
			ctl_fleet_help(stdout);
			return -1;
		case ':':
			return usage("option '%s' needs an argument",
				     argv[optind - 1]);
		default:
			return usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	o->wait_ms = wait * 1000;
	if (!o->nhosts)
		return usage("no broker: give -h HOST");
	if (!o->cafile)
		return usage("no --cafile: the broker is always verified");
	if (o->nconnect && o->nconnect != o->nhosts)
		return usage("%zu --connect-to for %zu -h: give one for each",
			     o->nconnect, o->nhosts);
	if (!o->cert != !o->key)
		return usage("--cert and --key go together");
	*next = optind;
	return CTL_FLEET_OK;
}

static void print_time(int64_t ms, char *buf, size_t len)
{
	zwtime_t t = (zwtime_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || zwtime_to_local(t, &tm) < 0 ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, len, "-");
}

static json_t *gw_json(const struct fleet_gw *g)
{
	json_t *o = json_pack("{s:s,s:s}", "id", g->id, "state",
			      g->status[0] ? g->status : "unknown");

	if (o && g->report) {
		json_object_set_new(o, "seen_ms", json_integer(g->ts));
		json_object_set(o, "software",
				json_object_get(g->report, "software"));
		json_object_set_new(o, "active",
				    json_integer(fleet_active_version(g)));
		json_object_set(o, "pending",
				json_object_get(g->report, "pending"));
		json_object_set(o, "trust",
				json_object_get(g->report, "trust"));
		json_object_set(o, "alarms",
				json_object_get(g->report, "alarms"));
		json_object_set_new(o, "broker", json_string(g->broker));
	}
	return o;
}

static int print_json_list(const struct fleet *f,
			   bool (*pick)(const struct fleet *,
					const struct fleet_gw *),
			   json_t *top)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < f->n; i++)
		if (!pick || pick(f, &f->gw[i]))
			json_array_append_new(a, gw_json(&f->gw[i]));
	if (top)
		json_object_set_new(top, "gateways", a);
	json_dumpf(top ? top : a, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(top ? top : a);
	return CTL_FLEET_OK;
}

static void print_row(const struct fleet_gw *g)
{
	char seen[32], active[24], pending[32], alarms[96];
	const char *sw =
	    json_string_value(json_object_get(g->report, "software"));
	const json_t *first =
	    json_array_get(json_object_get(g->report, "alarms"), 0);

	print_time(g->ts, seen, sizeof(seen));
	if (g->report)
		snprintf(active, sizeof(active), "%lld",
			 (long long)fleet_active_version(g));
	else
		snprintf(active, sizeof(active), "-");
	if (fleet_pending_version(g))
		snprintf(pending, sizeof(pending), "%lld",
			 (long long)fleet_pending_version(g));
	else
		snprintf(pending, sizeof(pending), "-");
	if (fleet_alarms(g))
		snprintf(alarms, sizeof(alarms), "%zu: %.80s", fleet_alarms(g),
			 json_string_value(first) ? json_string_value(first)
						  : "?");
	else
		snprintf(alarms, sizeof(alarms), g->report ? "0" : "-");
	printf("%-20s %-8s %-16s %-9s %-6s %-7s %s\n", g->id,
	       g->status[0] ? g->status : "unknown", seen, sw ? sw : "-",
	       active, pending, alarms);
}

/* "; bundle 9 active on 198, 8 on 2": how far a rollout is. */
static void print_versions(const struct fleet *f)
{
	int64_t done = INT64_MAX;

	for (;;) {
		int64_t v = -1;
		size_t n = 0;

		for (size_t i = 0; i < f->n; i++) {
			int64_t a = f->gw[i].report
					? fleet_active_version(&f->gw[i])
					: -1;

			if (a < done && a > v)
				v = a;
		}
		if (v < 0)
			return;
		for (size_t i = 0; i < f->n; i++)
			n += f->gw[i].report &&
			     fleet_active_version(&f->gw[i]) == v;
		printf(done == INT64_MAX ? "; bundle %lld active on %zu"
					 : ", %lld on %zu",
		       (long long)v, n);
		done = v;
	}
}

static int cmd_status(struct fleet *f)
{
	size_t online = 0, reports = 0;

	if (f->o.json)
		return print_json_list(f, NULL, NULL);
	printf("%-20s %-8s %-16s %-9s %-6s %-7s %s\n", "GATEWAY", "STATE",
	       "REPORTED", "SOFTWARE", "ACTIVE", "PENDING", "ALARMS");
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_gw *g = &f->gw[i];

		online += !strcmp(g->status, "online");
		reports += g->report != NULL;
		print_row(g);
	}
	printf("%zu gateway%s, %zu online, %zu with a trust report", f->n,
	       f->n == 1 ? "" : "s", online, reports);
	print_versions(f);
	putchar('\n');
	if (!f->n && !f->nids)
		printf("(a broker that sends no retained message to a "
		       "wildcard subscription,\nlike RabbitMQ 3.10, needs "
		       "you to name the gateways: ID... or --ids FILE)\n");
	return CTL_FLEET_OK;
}

static int cmd_publish(struct fleet *f, const char *file)
{
	char err[512], topic[512], when[21];
	struct trust_bundle *b = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	FILE *fp = fopen(file, "re");
	int rc = CTL_FLEET_FAILED;

	if (!fp) {
		fprintf(stderr, "%s: fleet: %s: %s\n", ctl_prog, file,
			strerror(errno));
		return CTL_FLEET_FAILED;
	}
	buf = malloc(FLEET_BUNDLE_MAX + 1);
	if (buf)
		len = fread(buf, 1, FLEET_BUNDLE_MAX + 1, fp);
	fclose(fp);
	if (!buf || len > FLEET_BUNDLE_MAX || len == 0) {
		fprintf(stderr, "%s: fleet: %s: %s\n", ctl_prog, file,
			!buf  ? "out of memory"
			: len ? "larger than 1 MiB: not a trust bundle"
			      : "empty");
		goto out;
	}
	/* The gateways judge its signatures; a file that is no bundle at
	 * all, or has expired, would only be refused by every one. */
	if (trust_bundle_parse(buf, len, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: fleet: %s: not a trust bundle: %s\n",
			ctl_prog, file, err);
		goto out;
	}
	if (b->expires <= zwtime_now()) {
		trust_time_format(b->expires, when);
		fprintf(stderr, "%s: fleet: %s: expired on %s\n", ctl_prog,
			file, when);
		goto out;
	}
	snprintf(topic, sizeof(topic), "%s/%s", f->o.prefix,
		 FLEET_BUNDLE_TOPIC);
	rc = CTL_FLEET_OK;
	for (size_t i = 0; i < f->o.nhosts; i++) {
		if (fleet_publish(&f->o, f->o.hosts[i], topic, buf, len, err,
				  sizeof(err)) < 0) {
			fprintf(stderr, "%s: fleet: %s\n", ctl_prog, err);
			rc = CTL_FLEET_FAILED;
			continue;
		}
		printf("bundle version %llu retained on %s at %s\n",
		       (unsigned long long)b->version, topic, f->o.hosts[i]);
	}
out:
	trust_bundle_free(b);
	free(buf);
	return rc;
}

/* The pins of a report's active bundle: its anchors', its own. */
static bool has_pin(const json_t *a, const char *key, const char *pin)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v)
	{
		const char *s = key ? json_string_value(json_object_get(v, key))
				    : json_string_value(v);

		if (s && !strcmp(s, pin))
			return true;
	}
	return false;
}

/*
 * Safe without the old root: the active bundle holds another anchor that
 * it also pins (with --new-root: that one).  A pending bundle does not
 * count: it is not committed until the gateway connected with it.
 */
static bool keeps_link(const struct fleet_gw *g, const char *old,
		       const char *new_root)
{
	const json_t *act = json_object_get(g->report, "active");
	const json_t *anchors = json_object_get(act, "anchors");
	const json_t *pins = json_object_get(act, "pins");
	const json_t *x;
	size_t i;

	if (new_root)
		return has_pin(anchors, "pin", new_root) &&
		       has_pin(pins, NULL, new_root);
	json_array_foreach(anchors, i, x)
	{
		const char *p = json_string_value(json_object_get(x, "pin"));

		if (p && strcmp(p, old) && has_pin(pins, NULL, p))
			return true;
	}
	return false;
}

struct retire {
	char old[TRUST_PIN_LEN + 1];
	char new_root[TRUST_PIN_LEN + 1];
	bool with_new;
	int64_t since_ms; /* seen after this: counted */
};

static bool counted(const struct retire *r, const struct fleet_gw *g)
{
	return !strcmp(g->status, "online") || g->ts >= r->since_ms ||
	       !g->report;
}

static int cmd_can_retire(struct fleet *f, const struct fleet_args *a)
{
	struct retire r = { 0 };
	char err[512], seen[32];
	size_t cut = 0, checked = 0, old = 0;
	json_t *top, *list;

	if (trust_pin_of_file(a->anchor, r.old, err, sizeof(err)) < 0 ||
	    (a->new_root && trust_pin_of_file(a->new_root, r.new_root, err,
					      sizeof(err)) < 0)) {
		fprintf(stderr, "%s: fleet: %s\n", ctl_prog, err);
		return CTL_FLEET_FAILED;
	}
	r.with_new = a->new_root != NULL;
	r.since_ms = zwtime_now_ms() - (int64_t)a->window_days * 86400000;
	list = json_array();
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_gw *g = &f->gw[i];

		if (!counted(&r, g)) {
			old++;
			continue;
		}
		checked++;
		if (g->report &&
		    keeps_link(g, r.old, r.with_new ? r.new_root : NULL))
			continue;
		cut++;
		json_array_append_new(list, gw_json(g));
	}
	if (f->o.json) {
		top = json_pack("{s:b,s:s,s:I,s:I,s:I}", "can_retire", !cut,
				"pin", r.old, "checked", (json_int_t)checked,
				"not_seen", (json_int_t)old, "window_days",
				(json_int_t)a->window_days);
		json_object_set_new(top, "cut_off", list);
		json_dumpf(top, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(top);
		return cut ? CTL_FLEET_FAILED : CTL_FLEET_OK;
	}
	if (!cut)
		printf("yes: none of %zu gateway%s online or seen within %u "
		       "days depends on %s (pin %s)%s\n",
		       checked, checked == 1 ? "" : "s", a->window_days,
		       a->anchor, r.old,
		       old ? "; some not seen for longer are not counted" : "");
	else
		printf("no: %zu of %zu gateway%s would be cut off:\n", cut,
		       checked, checked == 1 ? "" : "s");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *g = json_array_get(list, i);

		print_time(json_integer_value(json_object_get(g, "seen_ms")),
			   seen, sizeof(seen));
		if (json_object_get(g, "active"))
			printf("  %-20s %-8s reported %s, active bundle %lld\n",
			       json_string_value(json_object_get(g, "id")),
			       json_string_value(json_object_get(g, "state")),
			       seen,
			       (long long)json_integer_value(
				   json_object_get(g, "active")));
		else
			printf("  %-20s %-8s no trust report\n",
			       json_string_value(json_object_get(g, "id")),
			       json_string_value(json_object_get(g, "state")));
	}
	if (old)
		printf("%zu gateway%s not seen within %u days not counted\n",
		       old, old == 1 ? "" : "s", a->window_days);
	json_decref(list);
	return cut ? CTL_FLEET_FAILED : CTL_FLEET_OK;
}

int ctl_fleet_run(int argc, char **argv, bool json)
{
	struct fleet f = { .o = { .port = 8883, .prefix = "zwgate" } };
	struct fleet_args a = { .window_days = FLEET_WINDOW_DAYS };
	const char *sub = argc > 1 ? argv[1] : NULL;
	char err[512];
	int i = 0, rc;

	f.o.json = json;
	if (!sub)
		return usage("no subcommand: status, publish-bundle or "
			     "can-retire");
	if (strcmp(sub, "status") && strcmp(sub, "publish-bundle") &&
	    strcmp(sub, "can-retire") && strcmp(sub, "--help"))
		return usage("unknown subcommand '%s'", sub);
	if (!strcmp(sub, "--help")) {
		ctl_fleet_help(stdout);
		return CTL_FLEET_OK;
	}
	rc = parse(argc - 1, argv + 1, &f.o, &a, &i);
	if (rc != CTL_FLEET_OK)
		return rc < 0 ? CTL_FLEET_OK : rc;
	i += 1; /* into argv */
	if (!strcmp(sub, "publish-bundle")) {
		if (argc - i != 1)
			return usage("publish-bundle takes one FILE");
		return cmd_publish(&f, argv[i]);
	}
	if (!strcmp(sub, "can-retire") && !a.anchor)
		return usage("can-retire needs --anchor PEM");
	if (a.ids_file && (rc = read_ids(&a)) != CTL_FLEET_OK)
		return rc;
	for (; i < argc; i++) {
		char **v;

		if (!id_ok(argv[i]))
			return usage("'%s' is not a gateway id", argv[i]);
		v = realloc(a.ids, (a.nids + 1) * sizeof(*v));
		if (!v || !(v[a.nids] = strdup(argv[i])))
			return CTL_FLEET_FAILED;
		a.ids = v;
		a.nids++;
	}
	f.ids = (const char *const *)a.ids;
	f.nids = a.nids;
	rc = fleet_read(&f, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s: fleet: %s\n", ctl_prog, err);
	else if (f.bad)
		fprintf(stderr,
			"%s: fleet: %u trust report%s that %s not JSON "
			"ignored\n",
			ctl_prog, f.bad, f.bad == 1 ? "" : "s",
			f.bad == 1 ? "is" : "are");
	if (rc == 0 && !strcmp(sub, "status")) {
		rc = cmd_status(&f);
		rc = f.failed ? CTL_FLEET_FAILED : rc;
	} else if (rc == 0 && f.failed) {
		/* What the broker not read holds could say "no". */
		fprintf(stderr,
			"%s: fleet: can-retire: cannot tell with %zu of %zu "
			"brokers not read\n",
			ctl_prog, f.failed, f.o.nhosts);
		rc = CTL_FLEET_FAILED;
	} else if (rc == 0) {
		rc = cmd_can_retire(&f, &a);
	} else {
		rc = CTL_FLEET_FAILED;
	}
	fleet_free(&f);
	for (size_t k = 0; k < a.nids; k++)
		free(a.ids[k]);
	free(a.ids);
	return rc;
}
