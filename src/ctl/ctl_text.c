/* SPDX-License-Identifier: MIT */
/*
 * ctl_text.c: text made safe for the terminal (ctl_text.h).
 */
#include "config.h"

#include "ctl_text.h"

void ctl_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
}
