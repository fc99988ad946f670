/* SPDX-License-Identifier: MIT */
/*
 * conf.c: the schema of zwgate.conf(5) (the key tables), a new config
 * with its defaults, freeing one, and loading: conf_load and
 * conf_load_buffer.  What a value means is conf_value.c's, the checks of
 * single values conf_check.c's, of the config as a whole conf_validate.c's;
 * reading files and statements is conf_parse.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "diag.h"
#include "loglevel.h"
#include "outbox.h"

#define CONF_MQTT_TLS_PORT 8883
#define CONF_OUTBOX_MAX	   (1024.0 * 1024 * 1024) /* outbox-max-bytes */

static const char *const conf_backends[] = { "sim", "openzwave", "zwavejs",
					     NULL };

const struct conf_key conf_zwave_keys[] = {
	CONF_VALUE("backend", CONF_ENUM, zwave.backend, .def = "sim",
		   .words = conf_backends),
	CONF_VALUE("sim-network", CONF_PATH, zwave.sim_network),
	CONF_VALUE("device", CONF_PATH, zwave.device, .def = "/dev/ttyACM0"),
	CONF_VALUE("network-key-file", CONF_PATH, zwave.network_key_file),
	CONF_VALUE("server", CONF_STRING, zwave.server,
		   .def = "ws://127.0.0.1:3000",
		   .check = conf_check_zjs_server),
	CONF_END,
};

static const struct conf_key conf_location_keys[] = {
	CONF_VALUE("latitude", CONF_NUMBER, location.latitude,
		   .flags = CONF_REQUIRED, .min = -90, .max = 90),
	CONF_VALUE("longitude", CONF_NUMBER, location.longitude,
		   .flags = CONF_REQUIRED, .min = -180, .max = 180),
	CONF_VALUE("timezone", CONF_STRING, location.timezone,
		   .check = conf_check_timezone),
	CONF_END,
};

static const struct conf_key conf_control_keys[] = {
	CONF_VALUE("max-clients", CONF_UINT, control.max_clients, .def_num = 16,
		   .min = 1, .max = 64),
	CONF_VALUE("idle-timeout", CONF_UINT, control.idle_timeout_s,
		   .def_num = 300, .min = 1, .max = 86400),
	CONF_VALUE("group", CONF_STRING, control.group, .def = "zwgate",
		   .check = conf_check_group),
	CONF_END,
};

/* MQTT protocol levels, as CONNECT says them. */
static const char *const conf_protocols[] = { "3.1.1", "5", NULL };
static const int conf_protocol_levels[] = { 4, 5 };
static const char *const conf_sync_words[] = { "always", NULL };
static const int conf_sync_values[] = { 0 };

const struct conf_key conf_cloud_keys[] = {
	CONF_VALUE("host", CONF_STRINGS, cloud.hosts, .flags = CONF_REQUIRED,
		   .max = CONF_HOSTS_MAX, .check = conf_check_host),
	CONF_VALUE("connect-to", CONF_STRINGS, cloud.connect_to,
		   .max = CONF_HOSTS_MAX, .check = conf_check_address),
	CONF_VALUE("port", CONF_UINT, cloud.port, .def_num = CONF_MQTT_TLS_PORT,
		   .min = 1, .max = 65535),
	CONF_VALUE("protocol", CONF_CHOICE, cloud.protocol, .def_num = 4,
		   .words = conf_protocols, .values = conf_protocol_levels),
	CONF_VALUE("ca-file", CONF_PATH, cloud.ca_file),
	CONF_VALUE("trust-bundle", CONF_PATH, cloud.trust_bundle),
	CONF_VALUE("clock-synchronized-file", CONF_PATH,
		   cloud.clock_synced_file),
	CONF_VALUE("client-cert", CONF_PATH, cloud.client_cert),
	CONF_VALUE("client-key", CONF_PATH, cloud.client_key),
	CONF_VALUE("topic-prefix", CONF_STRING, cloud.topic_prefix,
		   .def = "zwgate", .check = conf_check_topic_prefix),
	CONF_VALUE("keepalive", CONF_UINT, cloud.keepalive_s, .def_num = 60,
		   .min = 5, .max = 3600),
	CONF_VALUE("discovery", CONF_BOOL, cloud.discovery, .def_num = 1),
	CONF_VALUE("discovery-prefix", CONF_STRING, cloud.discovery_prefix,
		   .def = "homeassistant",
		   .check = conf_check_discovery_prefix),
	CONF_VALUE("outbox-max-bytes", CONF_SIZE, cloud.outbox_max_bytes,
		   .def_num = OUTBOX_DEFAULT_MAX_BYTES,
		   .min = OUTBOX_MIN_MAX_BYTES, .max = CONF_OUTBOX_MAX),
	CONF_VALUE("outbox-sync", CONF_UINT, cloud.outbox_sync_ms,
		   .def_num = OUTBOX_DEFAULT_SYNC_MS, .min = 10, .max = 60000,
		   .words = conf_sync_words, .values = conf_sync_values),
	CONF_VALUE("insecure-plaintext", CONF_BOOL, cloud.insecure_plaintext),
	CONF_VALUE("reconnect-max-delay", CONF_UINT, cloud.reconnect_max_s,
		   .def_num = 300, .min = 1, .max = 3600),
	CONF_VALUE("allow-controller-ops", CONF_BOOL,
		   cloud.allow_controller_ops),
	CONF_END,
};

const struct conf_key conf_top_keys[] = {
	CONF_VALUE("gateway-id", CONF_STRING, gateway_id,
		   .flags = CONF_REQUIRED, .check = conf_check_gateway_id),
	CONF_VALUE("log-level", CONF_LOG_LEVEL, log_level, .def_num = LOG_INFO),
	CONF_BLOCK_OF("zwave", conf_zwave_keys),
	CONF_BLOCK_OF("location", conf_location_keys, .flags = CONF_SET_FLAG,
		      .offset = offsetof(struct conf, location.set)),
	CONF_BLOCK_OF("control", conf_control_keys),
	CONF_BLOCK_OF("cloud", conf_cloud_keys, .flags = CONF_SET_FLAG,
		      .offset = offsetof(struct conf, cloud.set)),
	{ .name = "include",
	  .type = CONF_INCLUDE,
	  .nargs = 1,
	  .flags = CONF_MULTI },
	CONF_END,
};

static bool conf_is_string(const struct conf_key *k)
{
	return k->type == CONF_STRING || k->type == CONF_PATH ||
	       k->type == CONF_ENUM;
}

static void conf_free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int conf_set_defaults(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		void *f = conf_field(c, k);

		if (k->type == CONF_BLOCK && conf_set_defaults(c, k->keys) < 0)
			return -ENOMEM;
		if (conf_is_string(k) && k->def &&
		    !(*(char **)f = strdup(k->def)))
			return -ENOMEM;
		if (k->type == CONF_NUMBER)
			*(double *)f = k->def_num;
		else if (k->type == CONF_UINT)
			*(unsigned *)f = (unsigned)k->def_num;
		else if (k->type == CONF_SIZE)
			*(uint64_t *)f = (uint64_t)k->def_num;
		else if (k->type == CONF_LOG_LEVEL || k->type == CONF_CHOICE)
			*(int *)f = (int)k->def_num;
		else if (k->type == CONF_BOOL)
			*(bool *)f = k->def_num != 0;
	}
	return 0;
}

static void conf_free_values(struct conf *c, const struct conf_key *keys)
{
	for (const struct conf_key *k = keys; k->name; k++) {
		if (k->type == CONF_BLOCK)
			conf_free_values(c, k->keys);
		else if (conf_is_string(k))
			free(*(char **)conf_field(c, k));
		else if (k->type == CONF_STRINGS)
			conf_free_strings(*(char ***)conf_field(c, k));
	}
}

struct conf *conf_free(struct conf *c)
{
	if (!c)
		return NULL;
	conf_free_values(c, conf_top_keys);
	free(c->path);
	for (char **f = c->files; f && *f; f++)
		free(*f);
	free(c->files);
	if (c->statements && c->statements->free)
		c->statements->free(c);
	free(c);
	return NULL;
}

static struct conf *conf_new(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c && conf_set_defaults(c, conf_top_keys) < 0)
		return conf_free(c);
	return c;
}

static int conf_load_main(const char *name, const char *data, size_t len,
			  bool from_file, const struct conf_load_opts *opts,
			  struct diag_list *diags, struct conf **ret)
{
	struct conf_parser p = {
		.stmts = opts ? opts->statements : NULL,
		.diags = diags,
		.errors0 = diags->errors,
	};
	size_t lost0 = diags->lost;
	char msg[CONF_MSG_MAX];
	int r;

	if (!(p.c = conf_new()))
		return -ENOMEM;
	p.c->statements = p.stmts;
	r = conf_abs_path(name, &p.c->path);
	if (r == -ENOMEM) {
		p.err = r;
	} else if (r < 0) {
		diag_add(diags, name, 0, 0, false,
			 "cannot find the current directory: %s",
			 conf_strerror(-r, msg, sizeof(msg)));
	} else if (from_file) {
		conf_parse_file(&p, p.c->path, name);
	} else {
		conf_parse_buffer(&p, name, data, len);
	}
	if (!p.err && !p.stopped && p.nfiles)
		conf_validate(&p);
	if (!p.err)
		p.err = conf_take_files(&p);
	/* A warning that could not be stored would go unseen: zwgated -n
	 * and a reload must show all of them, or not load. */
	if (!p.err && diags->lost > lost0)
		p.err = -ENOMEM;
	if (!p.err && diags->errors > p.errors0)
		p.err = -EINVAL;
	if (!p.err) {
		*ret = p.c;
		p.c = NULL;
	}
	conf_parser_free(&p);
	conf_free(p.c);
	return p.err;
}

int conf_load(const char *path, const struct conf_load_opts *opts,
	      struct diag_list *diags, struct conf **ret)
{
	return conf_load_main(path, NULL, 0, true, opts, diags, ret);
}

int conf_load_buffer(const char *name, const char *data, size_t len,
		     const struct conf_load_opts *opts, struct diag_list *diags,
		     struct conf **ret)
{
	return conf_load_main(name ? name : "<buffer>", data, len, false, opts,
			      diags, ret);
}
