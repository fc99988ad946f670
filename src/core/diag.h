/* SPDX-License-Identifier: MIT */
/*
 * diag.h: diagnostics of the config and rules parsers, printed as
 * "file:line:col: message" (or "file:line:col: warning: message").
 */
#ifndef ZWGATE_DIAG_H
#define ZWGATE_DIAG_H

#include <stdbool.h>
#include <stdio.h>

/* At most this many are kept; more are counted but not stored. */
#define DIAG_MAX 100

struct diag {
	char *file;
	unsigned line, col; /* 1-based; 0 when the file as a whole is meant */
	bool warning;
	char *msg;
};

struct diag_list {
	struct diag *items;
	size_t n, cap;
	size_t errors, warnings; /* counted, including those not stored */
	size_t lost;		 /* not stored for want of memory */
};

void diag_init(struct diag_list *l);
void diag_clear(struct diag_list *l);
/*
 * Adds one; an allocation failure still counts the error or warning, and
 * counts it as lost (a caller that must show every diagnostic checks).
 */
void diag_add(struct diag_list *l, const char *file, unsigned line,
	      unsigned col, bool warning, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Prints every stored diagnostic, one a line. */
void diag_print(const struct diag_list *l, FILE *out);
/* Formats one as "file:line:col: [warning: ]msg" into buf. */
char *diag_format(const struct diag *d, char *buf, size_t len);

#endif
