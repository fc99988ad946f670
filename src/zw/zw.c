/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "zw.h"
#ifdef HAVE_ZWAVEJS
#include "zw_zjs_ws.h"
#endif

/* Only the backends compiled in: a config naming another one fails. */
static const struct zw_ops *const zw_backends[] = {
	&zw_sim_ops,
#ifdef HAVE_OPENZWAVE
	&zw_ozw_ops,
#endif
#ifdef HAVE_ZWAVEJS
	&zw_zjs_ops,
#endif
};

#define ZW_NBACKENDS (sizeof(zw_backends) / sizeof(zw_backends[0]))

static const char *const zw_names[] = {
	"sim",
#ifdef HAVE_OPENZWAVE
	"openzwave",
#endif
#ifdef HAVE_ZWAVEJS
	"zwavejs",
#endif
	NULL,
};

const struct zw_ops *zw_backend(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ZW_NBACKENDS; i++)
		if (strcmp(zw_backends[i]->name, name) == 0)
			return zw_backends[i];
	return NULL;
}

const char *const *zw_backend_names(void)
{
	return zw_names;
}

void zw_after_loop(void)
{
#ifdef HAVE_ZWAVEJS
	zjs_ws_after_loop();
#endif
}

bool zw_firmware_name_ok(const char *name)
{
	static const char *const exts[] = { ".bin", ".hex", ".ota",
					    ".otz", ".gbl", ".hec",
					    ".exe", ".ex_", ".zip" };
	size_t len = name ? strlen(name) : 0;

	if (len < 5 || len > ZW_FIRMWARE_NAME_MAX || strchr(name, '/'))
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(name + len - 4, exts[i]) == 0)
			return true;
	return false;
}
