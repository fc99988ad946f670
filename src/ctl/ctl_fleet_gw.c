/* SPDX-License-Identifier: MIT */
/*
 * ctl_fleet_gw.c: what the gateways of a prefix say about themselves,
 * read from every broker given: each one's retained P/status and P/trust
 * (zwgate.conf(5), MQTT TOPICS).  A clustered broker may keep retained
 * messages per node (RabbitMQ 3.10 does), so the newest P/trust (its
 * "ts") decides which broker speaks for a gateway: the gateway sends it
 * at every connect, so that is the one it used last, and its P/status
 * there is the one that holds.  RabbitMQ 3.10 also sends no retained
 * message to a wildcard subscription: there the gateways must be named.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_fleet_int.h"

static struct fleet_gw *gw_find(struct fleet *f, const char *id, size_t len)
{
	struct fleet_gw *g;

	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->gw[i].id) == len && !memcmp(f->gw[i].id, id, len))
			return &f->gw[i];
	if (len == 0 || len > FLEET_ID_MAX)
		return NULL;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		struct fleet_gw *a = realloc(f->gw, cap * sizeof(*a));

		if (!a)
			return NULL;
		f->gw = a;
		f->cap = cap;
	}
	g = &f->gw[f->n++];
	memset(g, 0, sizeof(*g));
	memcpy(g->id, id, len);
	return g;
}

static void on_report(struct fleet *f, struct fleet_gw *g, const char *broker,
		      const void *payload, size_t len)
{
	json_t *r = json_loadb(payload, len, 0, NULL);
	json_int_t ts = json_integer_value(json_object_get(r, "ts"));

	if (!json_is_object(r)) {
		f->bad++;
		json_decref(r);
		return;
	}
	if (g->report && ts <= g->ts) {
		json_decref(r);
		return;
	}
	json_decref(g->report);
	g->report = r;
	g->ts = ts;
	g->broker = broker;
}

static void on_msg(void *ctx, const char *broker, const char *topic,
		   const void *payload, size_t len)
{
	struct fleet *f = ctx;
	size_t plen = strlen(f->o.prefix);
	const char *id, *rest;
	struct fleet_gw *g;

	if (strncmp(topic, f->o.prefix, plen) != 0 || topic[plen] != '/')
		return;
	id = topic + plen + 1;
	rest = strchr(id, '/');
	if (!rest || ((size_t)(rest - id) == strlen("_fleet") &&
		      !memcmp(id, "_fleet", strlen("_fleet"))))
		return;
	rest++;
	if (strcmp(rest, "status") && strcmp(rest, "trust"))
		return;
	if (len == 0) /* a retained message cleared */
		return;
	g = gw_find(f, id, (size_t)(rest - 1 - id));
	if (!g)
		return;
	if (!strcmp(rest, "trust")) {
		on_report(f, g, broker, payload, len);
		return;
	}
	snprintf(g->seen_status[f->broker], sizeof(g->seen_status[0]), "%.*s",
		 (int)(len < 15 ? len : 15), (const char *)payload);
}

/* The filters for one broker: named gateways, or a wildcard. */
static const char **filters_of(const struct fleet *f, size_t *n)
{
	size_t k = f->nids ? 2 * f->nids : 2;
	const char **v = calloc(k, sizeof(*v));
	char *s;

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < (f->nids ? f->nids : 1); i++) {
		const char *id = f->nids ? f->ids[i] : "+";

		if (asprintf(&s, "%s/%s/status", f->o.prefix, id) < 0)
			break;
		v[(*n)++] = s;
		if (asprintf(&s, "%s/%s/trust", f->o.prefix, id) < 0)
			break;
		v[(*n)++] = s;
	}
	return v;
}

static void filters_free(const char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i]);
	free(v);
}

/* A gateway's status: where its newest report came from, else any. */
static void settle(struct fleet *f, struct fleet_gw *g)
{
	size_t from = FLEET_BROKERS_MAX;

	for (size_t i = 0; i < f->o.nhosts; i++)
		if (g->broker == f->o.hosts[i])
			from = i;
	if (from < FLEET_BROKERS_MAX && g->seen_status[from][0]) {
		memcpy(g->status, g->seen_status[from], sizeof(g->status));
		return;
	}
	for (size_t i = 0; i < f->o.nhosts; i++)
		if (g->seen_status[i][0] &&
		    (!g->status[0] || !strcmp(g->seen_status[i], "online")))
			memcpy(g->status, g->seen_status[i], sizeof(g->status));
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct fleet_gw *)a)->id,
		      ((const struct fleet_gw *)b)->id);
}

int fleet_read(struct fleet *f, char *err, size_t errlen)
{
	size_t n;
	const char **filters = filters_of(f, &n);
	int r = 0;

	if (!filters || n != (f->nids ? 2 * f->nids : 2)) {
		filters_free(filters, n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Named gateways are listed even when nothing was heard of them. */
	for (size_t i = 0; i < f->nids; i++)
		if (!gw_find(f, f->ids[i], strlen(f->ids[i]))) {
			snprintf(err, errlen, "out of memory");
			r = -1;
		}
	/* A broker that fails is said and counted; the others are read. */
	for (f->broker = 0; r == 0 && f->broker < f->o.nhosts; f->broker++) {
		if (fleet_collect(&f->o, f->o.hosts[f->broker], filters, n,
				  on_msg, f, err, errlen) == 0)
			continue;
		fprintf(stderr, "zwgatectl: fleet: %s\n", err);
		f->failed++;
	}
	if (r == 0 && f->failed == f->o.nhosts) {
		snprintf(err, errlen, "no broker could be read");
		r = -1;
	}
	filters_free(filters, n);
	for (size_t i = 0; i < f->n; i++)
		settle(f, &f->gw[i]);
	if (f->n) /* qsort wants an array, even of none */
		qsort(f->gw, f->n, sizeof(*f->gw), by_id);
	return r;
}

void fleet_free(struct fleet *f)
{
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->gw[i].report);
	free(f->gw);
	f->gw = NULL;
	f->n = f->cap = 0;
}

int64_t fleet_active_version(const struct fleet_gw *g)
{
	return json_integer_value(
	    json_object_get(json_object_get(g->report, "active"), "version"));
}

int64_t fleet_pending_version(const struct fleet_gw *g)
{
	return json_integer_value(
	    json_object_get(json_object_get(g->report, "pending"), "version"));
}

size_t fleet_alarms(const struct fleet_gw *g)
{
	return json_array_size(json_object_get(g->report, "alarms"));
}
