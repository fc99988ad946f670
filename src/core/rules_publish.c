/* SPDX-License-Identifier: MIT */
/*
 * rules_publish.c: what a rule's publish may send.  Its topic is checked
 * once, at load, so that a rule can neither command the gateway through
 * the broker (a message on an inbound topic comes back and is carried
 * out, past the loop guard and the split between local rules and the
 * cloud) nor speak for it on the topics of the contract; its payload is
 * built at run time with every substitution escaped for where it lands.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "rules_int.h"
#include "value.h"

/*
 * The first levels of zwgate.conf(5), MQTT TOPICS: the gateway's own
 * state, events, answers and commands.
 */
static const char *const rules_topic_reserved[] = {
	"api", "error", "event", "health", "node", "status", "trust", NULL,
};

/* Is the first level p (lvl bytes) one of the contract's?  Says why. */
static bool reserved(const char *p, size_t lvl, char *why, size_t len)
{
	for (size_t i = 0; rules_topic_reserved[i]; i++) {
		const char *w = rules_topic_reserved[i];

		if (strlen(w) == lvl && memcmp(p, w, lvl) == 0) {
			snprintf(why, len,
				 "\"%s\" and the topics under it are the "
				 "gateway's own (zwgate.conf(5), MQTT TOPICS): "
				 "not for a rule",
				 w);
			return true;
		}
	}
	return false;
}

int rules_topic_check(const char *topic, char *why, size_t len)
{
	size_t n = strlen(topic), lvl;
	const char *p, *end;

	if (n == 0 || n > RULES_TOPIC_MAX) {
		snprintf(why, len, "a topic has 1 to %d bytes",
			 RULES_TOPIC_MAX);
		return -EINVAL;
	}
	if (strpbrk(topic, "+#") || !value_text_valid(topic, n)) {
		snprintf(why, len,
			 "a topic has no '+', '#' or control characters");
		return -EINVAL;
	}
	if (strchr(topic, '$')) {
		snprintf(why, len,
			 "a topic has no '$' ($value, $node and $rule are "
			 "replaced in payloads only)");
		return -EINVAL;
	}
	if (topic[0] == '/' || topic[n - 1] == '/') {
		snprintf(why, len,
			 "a topic is relative to the gateway's prefix: no "
			 "'/' at its start or end");
		return -EINVAL;
	}
	for (p = topic;; p = end + 1) {
		end = strchr(p, '/');
		lvl = end ? (size_t)(end - p) : strlen(p);
		if (lvl == 0 || (lvl == 1 && p[0] == '.') ||
		    (lvl == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(why, len,
				 "a topic has no empty, '.' or '..' level");
			return -EINVAL;
		}
		if (p == topic && reserved(p, lvl, why, len))
			return -EINVAL;
		if (!end)
			break;
	}
	if (strcmp(p, "set") == 0) {
		snprintf(
		    why, len,
		    "a topic ending in \"/set\" is a command to a gateway: "
		    "not for a rule");
		return -EINVAL;
	}
	return 0;
}

bool rules_payload_is_json(const char *payload)
{
	payload += strspn(payload, " \t\r\n");
	return *payload == '{' || *payload == '[' || *payload == '"';
}

/* Appends n bytes of s; false when they do not fit. */
static bool put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	if (n >= len - *o)
		return false;
	memcpy(out + *o, s, n);
	*o += n;
	return true;
}

/* s escaped as the inside of a JSON string (RFC 8259, section 7). */
static bool put_escaped(char *out, size_t len, size_t *o, const char *s)
{
	char u[8];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok;

		if (c == '"' || c == '\\') {
			u[0] = '\\';
			u[1] = (char)c;
			ok = put(out, len, o, u, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			ok = put(out, len, o, u, 6);
		} else {
			ok = put(out, len, o, s, 1);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* One substitution k (0 $value, 1 $node, 2 $rule) in its context. */
static int put_subst(const struct rules_subst *s, unsigned k, bool json,
		     bool in_string, char *out, size_t len, size_t *o)
{
	const char *v = k == 0 ? s->value : k == 1 ? s->node : s->rule;
	size_t n;

	if (!v)
		return -EOVERFLOW;
	if (k == 0) {
		/* Already JSON: a string's inside is escaped already. */
		n = strlen(v);
		if (json && in_string && n >= 2 && v[0] == '"')
			return put(out, len, o, v + 1, n - 2) ? 0 : -E2BIG;
		return put(out, len, o, v, n) ? 0 : -E2BIG;
	}
	if (!json)
		return put(out, len, o, v, strlen(v)) ? 0 : -E2BIG;
	if (!in_string && !put(out, len, o, "\"", 1))
		return -E2BIG;
	if (!put_escaped(out, len, o, v))
		return -E2BIG;
	if (!in_string && !put(out, len, o, "\"", 1))
		return -E2BIG;
	return 0;
}

int rules_expand(const char *in, const struct rules_subst *s, bool json,
		 char *out, size_t len)
{
	static const char *const names[] = { "$value", "$node", "$rule" };
	bool in_string = false;
	size_t o = 0;
	unsigned k;
	int r = 0;

	if (len == 0)
		return -E2BIG;
	while (*in && r == 0) {
		for (k = 0; k < 3; k++)
			if (strncmp(in, names[k], strlen(names[k])) == 0)
				break;
		if (k < 3) {
			r = put_subst(s, k, json, in_string, out, len, &o);
			in += strlen(names[k]);
			continue;
		}
		/* Where the template's own JSON strings begin and end. */
		if (json && in_string && *in == '\\' && in[1]) {
			r = put(out, len, &o, in, 2) ? 0 : -E2BIG;
			in += 2;
			continue;
		}
		if (json && *in == '"')
			in_string = !in_string;
		r = put(out, len, &o, in++, 1) ? 0 : -E2BIG;
	}
	/* What fit, for a log line; a payload is not sent on an error. */
	out[o] = '\0';
	return r;
}
