/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "loglevel.h"

static const char *log_ident = "zwgate";
static int log_level = LOG_INFO;
static bool log_journal;

/*
 * systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * stderr; only when stderr still is that stream do we talk to the journal
 * directly (with priorities and fields), as sd_journal_print does.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *ident)
{
	log_ident = ident;
	log_journal = stderr_is_journal();
}

void log_set_level(int prio)
{
	if (prio < LOG_ERR)
		prio = LOG_ERR;
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	log_level = prio;
}

int log_get_level(void)
{
	return log_level;
}

int log_level_from_name(const char *name)
{
	return loglevel_from_name(name);
}

const char *log_level_name(int prio)
{
	return loglevel_name(prio);
}

void log_vmsg(int prio, const char *fmt, va_list ap)
{
	static const char *const tag[] = {
		"emerg",   "alert",  "crit", "error",
		"warning", "notice", "info", "debug"
	};

	if (prio > log_level)
		return;
	if (log_journal) {
		sd_journal_printv(prio, fmt, ap);
		return;
	}
	fprintf(stderr, "%s: %s: ", log_ident, tag[prio & 7]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}
