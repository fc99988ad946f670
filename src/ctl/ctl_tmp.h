/* SPDX-License-Identifier: MIT */
/*
 * ctl_tmp.h: the temporary file a zwgatectl command writes before it
 * takes its final name (a backup, a keys file), removed when the
 * command is killed meanwhile (Ctrl-C, SIGTERM, SIGHUP, a closed pipe):
 * no part of a secret is left behind.  One at a time.
 */
#ifndef ZWGATE_CTL_TMP_H
#define ZWGATE_CTL_TMP_H

/* Remove path if a fatal signal comes; path stays valid until released. */
void ctl_tmp_guard(const char *path);

/* It is gone or has its final name: a signal no longer removes it. */
void ctl_tmp_release(void);

#endif
