/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>
#include <string.h>

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
