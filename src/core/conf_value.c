/* SPDX-License-Identifier: MIT */
/*
 * conf_value.c: what each type of value of zwgate.conf(5) means: numbers,
 * sizes, words, paths, strings and log levels, stored into struct conf by
 * conf_set_value with a message for a value that is not one.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "lex.h"
#include "loglevel.h"

#define CONF_LIST_MAX 256 /* "a, b or c" of a message */

/* Even entries mean true. */
static const char *const conf_bools[] = { "on", "off", "yes", "no", NULL };

/* "a, b or c" */
static const char *conf_list_words(const char *const *words, char *buf,
				   size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; words[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      i == 0	     ? ""
				      : words[i + 1] ? ", "
						     : " or ",
				      words[i]);
	return buf;
}

/* Decimal only: strtod would take "inf", hex and the locale's comma. */
static bool conf_parse_decimal(const char *s, double *ret)
{
	double m = 0, scale = 1;
	unsigned digits = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++)
		m = m * 10 + (*s - '0');
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (digits < 15) {
				m = m * 10 + (*s - '0');
				scale *= 10;
			}
		}
	}
	if (*s)
		return false;
	*ret = (neg ? -m : m) / scale;
	return true;
}

/* An integer key's words (outbox-sync always): true when a is one. */
static bool conf_set_uint_word(struct conf_parser *p, const struct conf_key *k,
			       const struct token *a)
{
	for (size_t i = 0; k->words && k->words[i]; i++) {
		if (strcmp(a->text, k->words[i]) == 0) {
			*(unsigned *)conf_field(p->c, k) =
			    (unsigned)k->values[i];
			return true;
		}
	}
	return false;
}

static bool conf_set_number(struct conf_parser *p, const struct conf_key *k,
			    const struct token *a, const char *shown)
{
	bool integer = k->type == CONF_UINT;
	char list[CONF_LIST_MAX], or [CONF_LIST_MAX + 8] = "";
	double v;

	if (integer && conf_set_uint_word(p, k, a))
		return true;
	if (!conf_parse_decimal(a->text, &v) || v < k->min || v > k->max ||
	    (integer && strchr(a->text, '.'))) {
		if (integer && k->words)
			snprintf(or, sizeof(or), " or %s",
				 conf_list_words(k->words, list, sizeof(list)));
		conf_error_at(p, a,
			      "%s must be %s between %.15g and %.15g%s, not %s",
			      k->name, integer ? "an integer" : "a number",
			      k->min, k->max, or, shown);
		return false;
	}
	if (integer)
		*(unsigned *)conf_field(p->c, k) = (unsigned)v;
	else
		*(double *)conf_field(p->c, k) = v;
	return true;
}

/* "16777216", "16384k", "16M": bytes, or KiB or MiB with a suffix. */
static bool conf_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0, unit = 1;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == 'k' || *s == 'K')
		unit = 1024;
	else if (*s == 'M')
		unit = 1024 * 1024;
	if (unit > 1)
		s++;
	if (*s || v > UINT64_MAX / unit)
		return false;
	*ret = v * unit;
	return true;
}

/* A size as it would be written: 65536 is "64k". */
static const char *conf_show_size(uint64_t v, char *buf, size_t len)
{
	if (v && v % (1024 * 1024) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v && v % 1024 == 0)
		snprintf(buf, len, "%lluk", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static bool conf_set_size(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a, const char *shown)
{
	char lo[32], hi[32];
	uint64_t v;

	if (conf_parse_size(a->text, &v) && v >= (uint64_t)k->min &&
	    v <= (uint64_t)k->max) {
		*(uint64_t *)conf_field(p->c, k) = v;
		return true;
	}
	conf_error_at(p, a,
		      "%s must be a size between %s and %s (bytes, or KiB "
		      "with k, MiB with M), not %s",
		      k->name, conf_show_size((uint64_t)k->min, lo, sizeof(lo)),
		      conf_show_size((uint64_t)k->max, hi, sizeof(hi)), shown);
	return false;
}

static bool conf_set_string(struct conf_parser *p, const struct conf_key *k,
			    const char *v)
{
	char **f = conf_field(p->c, k);
	char *s = strdup(v);

	if (!s)
		return conf_oom(p);
	free(*f);
	*f = s;
	return true;
}

/* One more of a list; the parser says when there are too many. */
static bool conf_add_string(struct conf_parser *p, const struct conf_key *k,
			    const char *v)
{
	char ***f = conf_field(p->c, k), **a;
	size_t n = 0;

	while (*f && (*f)[n])
		n++;
	a = realloc(*f, (n + 2) * sizeof(*a));
	if (!a)
		return conf_oom(p);
	*f = a;
	a[n] = strdup(v);
	a[n + 1] = NULL;
	return a[n] ? true : conf_oom(p);
}

static bool conf_set_path(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a)
{
	char **f = conf_field(p->c, k);
	char *s;

	if (!a->len) {
		conf_error_at(p, a, "%s must not be empty", k->name);
		return false;
	}
	s = a->text[0] == '/' ? strdup(a->text)
			      : conf_join(p->src->dir, a->text);
	if (!s)
		return conf_oom(p);
	if (strlen(s) >= PATH_MAX) {
		conf_error_at(p, a, "%s is too long (limit %d bytes)", k->name,
			      PATH_MAX - 1);
		free(s);
		return false;
	}
	free(*f);
	*f = s;
	return true;
}

static bool conf_set_word(struct conf_parser *p, const struct conf_key *k,
			  const struct token *a, const char *shown)
{
	const char *const *words = k->type == CONF_BOOL ? conf_bools : k->words;
	char list[CONF_LIST_MAX];

	for (size_t i = 0; words[i]; i++) {
		if (strcmp(a->text, words[i]) != 0)
			continue;
		if (k->type == CONF_BOOL) {
			*(bool *)conf_field(p->c, k) = i % 2 == 0;
			return true;
		}
		if (k->type == CONF_CHOICE) {
			*(int *)conf_field(p->c, k) = k->values[i];
			return true;
		}
		return conf_set_string(p, k, words[i]);
	}
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

static bool conf_set_log_level(struct conf_parser *p, const struct conf_key *k,
			       const struct token *a, const char *shown)
{
	const char *words[LOG_DEBUG - LOG_ERR + 2] = { NULL };
	char list[CONF_LIST_MAX];
	int prio = loglevel_from_name(a->text);

	if (prio >= LOG_ERR && prio <= LOG_DEBUG) {
		*(int *)conf_field(p->c, k) = prio;
		return true;
	}
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		words[i - LOG_ERR] = loglevel_name(i);
	conf_error_at(p, a, "%s must be %s, not %s", k->name,
		      conf_list_words(words, list, sizeof(list)), shown);
	return false;
}

bool conf_set_value(struct conf_parser *p, const struct conf_key *k,
		    const struct token *a)
{
	char shown[CONF_SHOW_MAX], msg[CONF_MSG_MAX];

	conf_show(a, shown, sizeof(shown));
	switch (k->type) {
	case CONF_STRING:
		if (k->check && !k->check(a->text, shown, msg, sizeof(msg))) {
			conf_error_at(p, a, "%s", msg);
			return false;
		}
		return conf_set_string(p, k, a->text);
	case CONF_STRINGS:
		if (k->check && !k->check(a->text, shown, msg, sizeof(msg))) {
			conf_error_at(p, a, "%s", msg);
			return false;
		}
		return conf_add_string(p, k, a->text);
	case CONF_PATH:
		return conf_set_path(p, k, a);
	case CONF_ENUM:
	case CONF_CHOICE:
	case CONF_BOOL:
		return conf_set_word(p, k, a, shown);
	case CONF_NUMBER:
	case CONF_UINT:
		return conf_set_number(p, k, a, shown);
	case CONF_SIZE:
		return conf_set_size(p, k, a, shown);
	case CONF_LOG_LEVEL:
		return conf_set_log_level(p, k, a, shown);
	case CONF_INCLUDE:
	case CONF_BLOCK:
		break;
	}
	return false;
}
