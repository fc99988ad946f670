/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diag_init(struct diag_list *l)
{
	memset(l, 0, sizeof(*l));
}

void diag_clear(struct diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].file);
		free(l->items[i].msg);
	}
	free(l->items);
	diag_init(l);
}

static int diag_grow(struct diag_list *l)
{
	size_t cap;
	struct diag *items;

	if (l->n < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 8;
	if (cap > DIAG_MAX)
		cap = DIAG_MAX;
	items = realloc(l->items, cap * sizeof(*items));
	if (!items)
		return -1;
	l->items = items;
	l->cap = cap;
	return 0;
}

/*
 * Counting comes first so that a full list or a failed allocation still
 * makes the caller see the error: a config must never load because its
 * diagnostic could not be stored.
 */
void diag_add(struct diag_list *l, const char *file, unsigned line,
	      unsigned col, bool warning, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;
	char *msg;
	char *f;
	int r;

	if (warning)
		l->warnings++;
	else
		l->errors++;
	if (l->n >= DIAG_MAX)
		return;
	if (diag_grow(l) < 0) {
		l->lost++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		l->lost++;
		return;
	}
	f = strdup(file ? file : "");
	if (!f) {
		free(msg);
		l->lost++;
		return;
	}
	d = &l->items[l->n++];
	d->file = f;
	d->line = line;
	d->col = col;
	d->warning = warning;
	d->msg = msg;
}

/* "file:line:col: ", "file: " or nothing, to match diag_format. */
static int diag_prefix(const struct diag *d, char *buf, size_t len)
{
	if (!d->file[0])
		return snprintf(buf, len, "%s", "");
	if (!d->line)
		return snprintf(buf, len, "%s: ", d->file);
	return snprintf(buf, len, "%s:%u:%u: ", d->file, d->line, d->col);
}

char *diag_format(const struct diag *d, char *buf, size_t len)
{
	int n;

	if (!len)
		return buf;
	n = diag_prefix(d, buf, len);
	if (n < 0 || (size_t)n >= len)
		return buf;
	snprintf(buf + n, len - n, "%s%s", d->warning ? "warning: " : "",
		 d->msg);
	return buf;
}

/* Printed piecewise: a message can be longer than any fixed buffer. */
void diag_print(const struct diag_list *l, FILE *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct diag *d = &l->items[i];

		if (d->file[0] && d->line)
			fprintf(out, "%s:%u:%u: ", d->file, d->line, d->col);
		else if (d->file[0])
			fprintf(out, "%s: ", d->file);
		fprintf(out, "%s%s\n", d->warning ? "warning: " : "", d->msg);
	}
}
