/* SPDX-License-Identifier: MIT */
/*
 * zw_sim_json.c: the sim backend's reading of its network file, and
 * the typed fields of its JSON objects with the errors they give.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cc.h"
#include "log.h"
#include "zw_sim_int.h"

__attribute__((format(printf, 3, 4))) int sim_fail(char *err, size_t errlen,
						   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Put "node 3: " before a message a callee wrote. */
__attribute__((format(printf, 3, 4))) void sim_prefix(char *err, size_t errlen,
						      const char *fmt, ...)
{
	char pre[SIM_ERR_MAX], tmp[2 * SIM_ERR_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), "%s%s", pre, err);
	snprintf(err, errlen, "%s", tmp);
}

int sim_check_keys(const json_t *obj, const char *const *keys, char *err,
		   size_t errlen)
{
	for (void *it = json_object_iter((json_t *)obj); it;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *k = json_object_iter_key(it);
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i])
			return sim_fail(err, errlen, "unknown field '%s'", k);
	}
	return 0;
}

/* An optional string of at most max bytes; *ret stays NULL if absent. */
int sim_str(const json_t *obj, const char *key, size_t max, const char **ret,
	    char *err, size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_string(j))
		return sim_fail(err, errlen, "%s must be a string", key);
	if (json_string_length(j) > max)
		return sim_fail(err, errlen, "%s is longer than %zu bytes", key,
				max);
	if (!value_text_valid(json_string_value(j), json_string_length(j)))
		return sim_fail(err, errlen, "%s has a control character", key);
	*ret = json_string_value(j);
	return 0;
}

int sim_bool(const json_t *obj, const char *key, bool *val, char *err,
	     size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return sim_fail(err, errlen, "%s must be true or false", key);
	*val = json_is_true(j);
	return 0;
}

int sim_int(const json_t *obj, const char *key, json_int_t min, json_int_t max,
	    json_int_t *val, char *err, size_t errlen)
{
	const json_t *j = json_object_get(obj, key);

	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max)
		return sim_fail(err, errlen,
				"%s must be an integer from %lld to %lld", key,
				(long long)min, (long long)max);
	*val = json_integer_value(j);
	return 0;
}

int sim_errno(int r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", strerror(-r));
	return r;
}

/*
 * The whole file, at most SIM_FILE_MAX bytes.  Reading to the end, not
 * trusting st_size, keeps the limit true for a file that grows meanwhile.
 */
static int sim_slurp(int fd, char **ret, size_t *retlen, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf, *nbuf;
	ssize_t k;

	if (fstat(fd, &st) < 0)
		return sim_errno(-errno, err, errlen);
	if (!S_ISREG(st.st_mode))
		return sim_fail(err, errlen, "not a regular file");
	if (st.st_size > SIM_FILE_MAX)
		return sim_fail(err, errlen, "larger than %d bytes",
				SIM_FILE_MAX);
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	while (buf) {
		if (len == cap && cap > SIM_FILE_MAX) {
			free(buf);
			return sim_fail(err, errlen, "larger than %d bytes",
					SIM_FILE_MAX);
		}
		if (len == cap) {
			cap =
			    cap * 2 > SIM_FILE_MAX ? SIM_FILE_MAX + 1 : cap * 2;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				break;
			buf = nbuf;
		}
		k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return sim_errno(-errno, err, errlen);
		}
		if (k == 0) {
			*ret = buf;
			*retlen = len;
			return 0;
		}
		len += (size_t)k;
	}
	free(buf);
	return sim_errno(-ENOMEM, err, errlen);
}

int sim_read(const char *path, json_t **ret, char *err, size_t errlen)
{
	json_error_t jerr;
	size_t len = 0;
	char *buf = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return sim_errno(-errno, err, errlen);
	r = sim_slurp(fd, &buf, &len, err, errlen);
	close(fd);
	if (r < 0)
		return r;
	*ret = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!*ret)
		return sim_fail(err, errlen, "line %d column %d: %s", jerr.line,
				jerr.column, jerr.text);
	return 0;
}
