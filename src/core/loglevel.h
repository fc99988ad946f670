/* SPDX-License-Identifier: MIT */
/*
 * loglevel.h: the names of the log levels ("error" .. "debug") and the
 * syslog priorities they stand for, as the config (log-level), the
 * control API and the log share them.  Names only: logging is
 * src/sys/log.c's.
 */
#ifndef ZWGATE_LOGLEVEL_H
#define ZWGATE_LOGLEVEL_H

#include <syslog.h>

/* "debug" -> LOG_DEBUG ... (any case); -EINVAL for an unknown name. */
int loglevel_from_name(const char *name);
/* LOG_ERR .. LOG_DEBUG -> "error" .. "debug"; outside: the nearest. */
const char *loglevel_name(int prio);

#endif
