/* SPDX-License-Identifier: MIT */
/*
 * log.h: the daemon's log, to the journal with priorities when systemd
 * started us, to stderr otherwise.  Library-style modules (conf, registry,
 * value, lex) never log: they return -errno and their caller logs once.
 * Never pass a secret to these functions.
 */
#ifndef ZWGATE_LOG_H
#define ZWGATE_LOG_H

#include <stdarg.h>
#include <syslog.h>

/* ident: "zwgated".  Chooses the journal if stderr is connected to it. */
void log_init(const char *ident);
void log_set_level(int prio); /* LOG_ERR .. LOG_DEBUG */
int log_get_level(void);
/* loglevel_from_name and loglevel_name (loglevel.h), for the layers
 * above that already log. */
int log_level_from_name(const char *name);
const char *log_level_name(int prio);

void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_error(...)	 log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	 log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	 log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
