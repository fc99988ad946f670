/* SPDX-License-Identifier: MIT */
/*
 * ctl_text.h: text made safe for the terminal, for every zwgatectl
 * command (the ones on the control socket and the offline trust tools).
 */
#ifndef ZWGATE_CTL_TEXT_H
#define ZWGATE_CTL_TEXT_H

/*
 * Text from the daemon, a device or a certificate can hold anything:
 * control bytes (C0, DEL, and C1 as UTF-8) become '?' in place, so none
 * reaches the terminal.
 */
void ctl_sanitize(char *s);

#endif
