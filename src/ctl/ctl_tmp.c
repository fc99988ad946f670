/* SPDX-License-Identifier: MIT */
/* ctl_tmp.c: a temporary file a fatal signal removes (see ctl_tmp.h). */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#include "ctl_tmp.h"

static const char *volatile guarded;

/* unlink and raise are async-signal-safe. */
static void on_signal(int sig)
{
	const char *p = guarded;

	if (p)
		unlink(p);
	signal(sig, SIG_DFL);
	raise(sig);
}

void ctl_tmp_guard(const char *path)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa = { .sa_handler = on_signal };

	guarded = path;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

void ctl_tmp_release(void)
{
	guarded = NULL;
}
