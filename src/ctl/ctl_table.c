/* SPDX-License-Identifier: MIT */
/*
 * ctl_table.c: what zwgatectl's printers are made of: tables with columns
 * as wide as their content, JSON values as people read them, and text
 * made safe for the terminal (a device's bytes can reach us).
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_int.h"

static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void ctl_table_add(struct ctl_table *t, const char *s)
{
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (!p)
			ctl_die(CTL_EXIT_FAILED, "out of memory");
		t->cells = p;
		t->cap = cap;
	}
	t->cells[t->ncells] = strdup(s ? s : "-");
	if (!t->cells[t->ncells])
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	ctl_sanitize(t->cells[t->ncells++]);
}

/* Two spaces between columns; the last one is not padded. */
void ctl_table_print(struct ctl_table *t)
{
	size_t w[16] = { 0 };

	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols, n = text_width(t->cells[i]);

		if (c < 16 && n > w[c])
			w[c] = n;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols;
		bool last = c + 1 == t->ncols || i + 1 == t->ncells;

		fputs(t->cells[i], stdout);
		if (last)
			fputc('\n', stdout);
		else
			printf("%*s", (int)(w[c] - text_width(t->cells[i]) + 2),
			       "");
	}
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

void ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++)
		ctl_table_add(t, cells[i]);
}

/* A JSON value as a person reads it; null and absent are "-". */
const char *ctl_fmt_json(const json_t *v, char *buf, size_t len)
{
	char *s;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_NULL:
		return "-";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%.10g", json_real_value(v));
		return buf;
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		return buf;
	default:
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
				      JSON_REAL_PRECISION(15));
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
		return buf;
	}
}

const char *ctl_fmt_field(const json_t *o, const char *key, char *buf,
			  size_t len)
{
	return ctl_fmt_json(json_object_get(o, key), buf, len);
}

bool ctl_json_is_scalar(const json_t *v)
{
	return v && !json_is_object(v) && !json_is_array(v);
}

/* Fields of o that are not in skip and are scalars, as "key value". */
void ctl_table_add_rest(struct ctl_table *t, const json_t *o,
			const char *const *skip, const char *indent)
{
	char k[CTL_CELL_MAX], buf[CTL_CELL_MAX];

	for (void *it = json_object_iter((json_t *)o); it;
	     it = json_object_iter_next((json_t *)o, it)) {
		const char *key = json_object_iter_key(it);
		const json_t *v = json_object_iter_value(it);
		size_t i;

		for (i = 0; skip[i] && strcmp(skip[i], key) != 0; i++)
			;
		if (skip[i] || !ctl_json_is_scalar(v))
			continue;
		snprintf(k, sizeof(k), "%s%s", indent, key);
		for (char *p = k; *p; p++)
			if (*p == '_')
				*p = ' ';
		ctl_table_add(t, k);
		ctl_table_add(t, ctl_fmt_json(v, buf, sizeof(buf)));
	}
}

/* One line of output, made safe for the terminal. */
void ctl_print_line(const char *fmt, ...)
{
	char line[3 * CTL_CELL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctl_sanitize(line);
	puts(line);
}

void ctl_print_lines(FILE *out, const json_t *lines)
{
	char buf[CTL_CELL_MAX * 4];

	for (size_t i = 0; i < json_array_size(lines); i++) {
		ctl_fmt_json(json_array_get(lines, i), buf, sizeof(buf));
		ctl_sanitize(buf);
		fprintf(out, "%s\n", buf);
	}
}

/* Anything the daemon says that we have no layout for. */
void ctl_print_json(const json_t *v)
{
	char *s =
	    json_dumps(v ? v : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY |
						JSON_REAL_PRECISION(15));

	if (!s)
		ctl_die(CTL_EXIT_FAILED, "out of memory");
	puts(s);
	free(s);
}
