/* SPDX-License-Identifier: MIT */
/*
 * conf_include.c: the include statement of zwgate.conf(5).  A pattern
 * of files, relative to the including file's directory or absolute; each
 * file it matches is read as a config.  Where a match may lead is the
 * point of this file: whoever can put a symbolic link where a pattern
 * looks must not make the daemon read, and quote, any file root can read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "lex.h"

/* The include pattern with the file's directory, its glob chars escaped. */
static char *conf_include_pattern(const struct conf_parser *p, const char *text)
{
	const char *dir = p->src->dir;
	char *esc, *o, *pattern;

	if (text[0] == '/')
		return strdup(text);
	if (!(esc = malloc(strlen(dir) * 2 + 1)))
		return NULL;
	for (o = esc; *dir; dir++) {
		if (strchr("*?[]\\", *dir))
			*o++ = '\\';
		*o++ = *dir;
	}
	*o = '\0';
	pattern = conf_join(esc, text);
	free(esc);
	return pattern;
}

/* A match as shown: relative ones keep the including file's spelling. */
static char *conf_include_name(const struct conf_parser *p, bool relative,
			       const char *match)
{
	const char *dir = p->src->dir;
	size_t dl = strcmp(dir, "/") ? strlen(dir) : 0;
	char *s;

	if (!relative || strncmp(match, dir, dl) != 0 || match[dl] != '/')
		return strdup(match);
	if (asprintf(&s, "%s%s", p->src->shown_dir, match + dl + 1) < 0)
		return NULL;
	return s;
}

/* Is the real path real inside the directory tree root? */
static bool conf_within(const char *real, const char *root)
{
	size_t len = strlen(root);

	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(real, root, len) == 0 &&
	       (real[len] == '/' || real[len] == '\0');
}

/*
 * The directory a pattern with wildcards stays in: its components before
 * the first one with a wildcard ('*', '?' or '['), unescaped.  0 with
 * *ret NULL when the pattern has no wildcard; -ENOMEM.
 */
static int conf_pattern_dir(const char *pattern, char **ret)
{
	size_t slash = 0, i;
	char *dir, *o;

	*ret = NULL;
	for (i = 0; pattern[i]; i++) {
		if (pattern[i] == '\\' && pattern[i + 1])
			i++;
		else if (strchr("*?[", pattern[i]))
			break;
		if (pattern[i] == '/')
			slash = i;
	}
	if (!pattern[i])
		return 0;
	if (!(dir = o = malloc(slash + 2)))
		return -ENOMEM;
	for (i = 0; i < slash; i++) {
		if (pattern[i] == '\\' && i + 1 < slash)
			i++;
		*o++ = pattern[i];
	}
	if (o == dir)
		*o++ = '/';
	*o = '\0';
	*ret = dir;
	return 0;
}

bool conf_fd_is(int fd, const struct stat *st, const char *real,
		const struct stat *want)
{
	char proc[32], buf[PATH_MAX];
	ssize_t n;

	if (st->st_dev != want->st_dev || st->st_ino != want->st_ino)
		return false;
	/* A directory of the path swapped between the check and the open
	 * can bring the same file to both; the kernel knows where the
	 * file opened is.  Without /proc, the inode has to do. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf));
	if (n < 0)
		return true;
	return (size_t)n < sizeof(buf) && strncmp(buf, real, (size_t)n) == 0 &&
	       real[n] == '\0';
}

/*
 * One file a pattern matched.  A relative pattern stays in the tree of
 * the including file; an absolute one with a wildcard in the directory
 * before its first wildcard (dir: the real path of conf_pattern_dir's),
 * so that a link planted in /etc/zwgate/conf.d cannot lead to
 * /etc/shadow.  A match that a symbolic link (or "..") takes out of them
 * is refused.  Only an absolute path without a wildcard is followed
 * wherever it leads: the config's owner named that very file.  A checked file
 * is opened by its real path and must be the one checked (conf_fd_is).
 */
static void conf_include_one(struct conf_parser *p, const char *match,
			     const char *name, bool relative, const char *dir,
			     unsigned line, unsigned col)
{
	char msg[CONF_MSG_MAX], *real;
	struct stat want;

	if (!relative && !dir) {
		conf_read_file(p, match, match, name, NULL, NULL, line, col);
		return;
	}
	if (!(real = realpath(match, NULL))) {
		if (errno == ENOMEM)
			conf_oom(p);
		else
			diag_add(p->diags, name, 0, 0, false, "%s",
				 conf_strerror(errno, msg, sizeof(msg)));
		return;
	}
	if (relative && !conf_within(real, p->src->root))
		conf_error(p, line, col,
			   "'%s' is outside the configuration directory (by a "
			   "symbolic link or '..'); not read: include a file "
			   "from elsewhere by its absolute path",
			   name);
	else if (dir && !conf_within(real, dir))
		conf_error(p, line, col,
			   "'%s' is outside the directory of the pattern (by a "
			   "symbolic link or '..'); not read: include a file "
			   "from elsewhere by its absolute path, without "
			   "wildcards",
			   name);
	else if (lstat(real, &want) < 0)
		diag_add(p->diags, name, 0, 0, false, "%s",
			 conf_strerror(errno, msg, sizeof(msg)));
	else
		conf_read_file(p, real, match, name,
			       relative ? p->src->root : NULL, &want, line,
			       col);
	free(real);
}

/* a is p->args[0], which the included files reuse: copy what is needed. */
void conf_include(struct conf_parser *p, const struct token *a)
{
	unsigned line = a->line, col = a->col;
	bool relative = a->text[0] != '/';
	char msg[CONF_MSG_MAX], *pattern, *name, *dir = NULL, *real = NULL;
	glob_t g;
	int r;

	if (!a->len) {
		conf_error_at(p, a, "include must not be empty");
		return;
	}
	if (p->src->depth >= CONF_INCLUDE_DEPTH) {
		conf_error_at(p, a, "includes nested too deep (limit %d)",
			      CONF_INCLUDE_DEPTH);
		return;
	}
	if (!(pattern = conf_include_pattern(p, a->text)) ||
	    conf_pattern_dir(pattern, &dir) < 0) {
		free(pattern);
		conf_oom(p);
		return;
	}
	r = glob(pattern, 0, NULL, &g);
	free(pattern);
	if (r && r != GLOB_NOMATCH)
		conf_oom(p);
	if (!r && !relative && dir && !(real = realpath(dir, NULL))) {
		if (errno == ENOMEM)
			conf_oom(p);
		else
			conf_error(p, line, col, "'%s': %s", dir,
				   conf_strerror(errno, msg, sizeof(msg)));
	}
	for (size_t i = 0; !r && (relative || !dir || real) && i < g.gl_pathc;
	     i++) {
		if (p->err || p->stopped)
			break;
		if (p->nfiles >= CONF_FILES_MAX) {
			conf_error(p, line, col, "too many files (limit %d)",
				   CONF_FILES_MAX);
			break;
		}
		if (!(name = conf_include_name(p, relative, g.gl_pathv[i]))) {
			conf_oom(p);
			break;
		}
		conf_include_one(p, g.gl_pathv[i], name, relative,
				 relative ? NULL : real, line, col);
		free(name);
	}
	globfree(&g);
	free(dir);
	free(real);
}
