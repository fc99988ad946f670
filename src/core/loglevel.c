/* SPDX-License-Identifier: MIT */
/*
 * loglevel.c: the names of the log levels and their syslog priorities.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "loglevel.h"

static const struct {
	const char *name;
	int prio;
} loglevels[] = {
	{ "error", LOG_ERR },	  { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

int loglevel_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(loglevels) / sizeof(loglevels[0]); i++)
		if (strcasecmp(name, loglevels[i].name) == 0)
			return loglevels[i].prio;
	return -EINVAL;
}

const char *loglevel_name(int prio)
{
	for (size_t i = 0; i < sizeof(loglevels) / sizeof(loglevels[0]); i++)
		if (loglevels[i].prio == prio)
			return loglevels[i].name;
	return prio < LOG_ERR ? "error" : "debug";
}
