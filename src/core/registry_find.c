/* SPDX-License-Identifier: MIT */
/*
 * registry_find.c: a node or a value by what a user types: a node by id
 * or name, a value by path ("cc/endpoint/property"), alias, property or
 * command class.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry.h"
#include "registry_int.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

bool registry_all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Matches among present nodes: 0 found, -ENOENT, -ENOTUNIQ. */
static int find_by_name(const struct registry *r, const char *ref, bool fold,
			struct registry_node **ret)
{
	struct registry_node *found = NULL;

	for (unsigned id = ZW_NODE_MIN; id <= ZW_NODE_MAX; id++) {
		struct registry_node *n = r->nodes[id];

		if (!n || !n->name)
			continue;
		if (fold ? strcasecmp(n->name, ref) : strcmp(n->name, ref))
			continue;
		if (found)
			return -ENOTUNIQ;
		found = n;
	}
	if (!found)
		return -ENOENT;
	*ret = found;
	return 0;
}

/*
 * Two devices may report the same name; rather than pick one, such a
 * name is refused with -ENOTUNIQ.
 */
int registry_find_node(const struct registry *r, const char *ref,
		       struct registry_node **ret)
{
	struct registry_node *n;
	int err;

	if (!ref)
		return -ENOENT;
	if (registry_all_digits(ref)) {
		n = strlen(ref) <= 4 ? registry_node(r, (unsigned)atoi(ref))
				     : NULL;
		if (!n)
			return -ENOENT;
		*ret = n;
		return 0;
	}
	err = find_by_name(r, ref, false, ret);
	if (err == -ENOENT)
		err = find_by_name(r, ref, true, ret);
	return err;
}

/* "cc/endpoint/property" into a key (node left 0); false if not one. */
static bool parse_path(const char *spec, struct value_key *key)
{
	const char *s1 = strchr(spec, '/'), *s2;
	char cc[32], *end;
	long ep;
	int c;

	if (!s1 || (size_t)(s1 - spec) >= sizeof(cc))
		return false;
	memcpy(cc, spec, (size_t)(s1 - spec));
	cc[s1 - spec] = '\0';
	if ((c = cc_from_name(cc)) < 0)
		return false;
	s2 = strchr(s1 + 1, '/');
	if (!s2 || s2 == s1 + 1 || s1[1] < '0' || s1[1] > '9')
		return false;
	ep = strtol(s1 + 1, &end, 10);
	if (end != s2 || ep < 0 || ep > 255 || !value_property_valid(s2 + 1))
		return false;
	memset(key, 0, sizeof(*key));
	key->cc = (uint8_t)c;
	key->endpoint = (uint8_t)ep;
	snprintf(key->property, sizeof(key->property), "%s", s2 + 1);
	return true;
}

enum match_kind { MATCH_ALIAS, MATCH_PROPERTY, MATCH_CC };

static bool value_matches(const struct registry_value *v, enum match_kind kind,
			  const char *spec, int cc)
{
	switch (kind) {
	case MATCH_ALIAS:
		return v->alias && strcmp(v->alias, spec) == 0;
	case MATCH_PROPERTY:
		return strcmp(v->meta.key.property, spec) == 0;
	case MATCH_CC:
		return cc >= 0 && v->meta.key.cc == cc;
	}
	return false;
}

/* 1 and *ret set: one match; 0: none; -ENOTUNIQ: several. */
static int match_one(const struct registry_node *n, enum match_kind kind,
		     const char *spec, int cc, struct registry_value **ret)
{
	struct registry_value *found = NULL;

	for (size_t i = 0; i < n->nvalues; i++) {
		if (!value_matches(n->values[i], kind, spec, cc))
			continue;
		if (found)
			return -ENOTUNIQ;
		found = n->values[i];
	}
	if (!found)
		return 0;
	*ret = found;
	return 1;
}

/*
 * The first kind of match that finds anything decides: an ambiguous alias
 * must not fall through to some other value that happens to match a
 * weaker rule, since the user would then set what they did not mean.
 */
int registry_find_value(const struct registry_node *n, const char *spec,
			struct registry_value **ret)
{
	static const enum match_kind order[] = { MATCH_ALIAS, MATCH_PROPERTY,
						 MATCH_CC };
	struct registry_value *v;
	struct value_key key;
	int cc;

	if (!spec)
		return -ENOENT;
	if (strchr(spec, '/')) {
		if (!parse_path(spec, &key))
			return -ENOENT;
		key.node = n->id;
		if (!(v = registry_node_value(n, &key)))
			return -ENOENT;
		*ret = v;
		return 0;
	}
	cc = cc_from_name(spec);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		int m = match_one(n, order[i], spec, cc, ret);

		if (m != 0)
			return m < 0 ? m : 0;
	}
	return -ENOENT;
}
