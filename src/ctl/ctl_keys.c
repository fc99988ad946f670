/* SPDX-License-Identifier: MIT */
/*
 * ctl_keys.c: `zwgatectl keys generate FILE`.  A Z-Wave network's keys
 * are made once, when the network is: a device included with them talks
 * only to a controller that has them, so they are never replaced here.
 * The file appears whole or not at all (written under a temporary name
 * in FILE's directory, then linked to FILE, which fails when FILE
 * exists), with mode 0600 whatever the umask, and no key is printed.
 *
 * Its form is zwave-js's own option names, which the server's
 * configuration file turns into its securityKeys options:
 *   { "securityKeys": { "S2_Unauthenticated": "32 hex digits", ... },
 *     "securityKeysLongRange": { "S2_Authenticated": ..., ... } }
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_keys.h"
#include "ctl_tmp.h"
#include "fsutil.h"

#define KEYS_LEN  16 /* bytes: AES-128, every class */
#define KEYS_TEXT 1024

static const char prog[] = "zwgatectl";

const char ctl_keys_synopsis[] = "keys generate FILE";
const char ctl_keys_summary[] = "make Z-Wave JS network keys (offline)";

/* zwave-js's names: group (its option) and class, in file order. */
static const struct keys_class {
	const char *group;
	const char *name;
} keys_classes[] = {
	{ "securityKeys", "S2_Unauthenticated" },
	{ "securityKeys", "S2_Authenticated" },
	{ "securityKeys", "S2_AccessControl" },
	{ "securityKeys", "S0_Legacy" },
	{ "securityKeysLongRange", "S2_Authenticated" },
	{ "securityKeysLongRange", "S2_AccessControl" },
};

#define KEYS_N (sizeof(keys_classes) / sizeof(keys_classes[0]))

void ctl_keys_help(FILE *out)
{
	fprintf(out,
		"usage: %s %s\n"
		"\n"
		"Make the Z-Wave network keys of a new network for the Z-Wave "
		"JS server:\nS0, the three S2 classes and the two Long Range "
		"ones, 16 random bytes\neach, all different, as JSON in FILE, "
		"mode 0600.  The server's\nconfiguration reads them.\n"
		"\n"
		"FILE must not exist: keys are made once per network, and "
		"devices\nincluded with them talk to no controller without "
		"them.  Keep a copy\nwhere the gateway's backups go.  No key "
		"is printed.\n"
		"\n"
		"Exit status: 0 written; 1 FILE exists or could not be "
		"written; 2 usage\nerror.\n",
		prog, ctl_keys_synopsis);
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: keys: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s %s\nTry '%s help keys' for more.\n", prog,
		ctl_keys_synopsis, prog);
	return CTL_KEYS_USAGE;
}

/* FILE is there already (seen before writing, or by link()). */
static int exists(const char *path)
{
	fprintf(stderr,
		"%s: keys: %s exists: a network's keys are never replaced "
		"(devices included with them talk to no controller without "
		"them); remove it first only if no device uses them\n",
		prog, path);
	return CTL_KEYS_FAILED;
}

/*
 * A file system without modes (FAT, such as a Raspberry Pi's boot
 * partition) shows every file with the mount's mode and refuses or
 * ignores chmod: the keys would be readable by others.  Seen before any
 * key is written.
 */
static int modeless(const char *path)
{
	fprintf(stderr,
		"%s: keys: %s: its file system keeps no file modes (FAT?), "
		"so mode 0600 cannot keep the keys from other users: make "
		"FILE on the gateway's own file system, such as under "
		"/etc/zwgate\n",
		prog, path);
	return CTL_KEYS_FAILED;
}

static int failed(const char *path, const char *what, int err)
{
	fprintf(stderr, "%s: keys: %s: %s: %s\n", prog, path, what,
		strerror(err));
	return CTL_KEYS_FAILED;
}

/* KEYS_N random keys, all different; 0 or -errno. */
static int keys_random(unsigned char keys[KEYS_N][KEYS_LEN])
{
	for (size_t i = 0; i < KEYS_N; i++) {
		bool again;

		do {
			ssize_t n = getrandom(keys[i], KEYS_LEN, 0);

			if (n < 0 && errno != EINTR)
				return -errno;
			again = n != KEYS_LEN;
			/* zwave-js refuses a key used for two classes. */
			for (size_t j = 0; j < i && !again; j++)
				again = !memcmp(keys[i], keys[j], KEYS_LEN);
		} while (again);
	}
	return 0;
}

/* The JSON text of keys into buf; its length. */
static size_t keys_text(char *buf, unsigned char keys[KEYS_N][KEYS_LEN])
{
	size_t len = 0;

	len += (size_t)snprintf(buf + len, KEYS_TEXT - len, "{\n");
	for (size_t i = 0; i < KEYS_N; i++) {
		bool first = !i || strcmp(keys_classes[i].group,
					  keys_classes[i - 1].group);
		bool last =
		    i + 1 == KEYS_N ||
		    strcmp(keys_classes[i].group, keys_classes[i + 1].group);

		if (first)
			len += (size_t)snprintf(buf + len, KEYS_TEXT - len,
						"  \"%s\": {\n",
						keys_classes[i].group);
		len += (size_t)snprintf(buf + len, KEYS_TEXT - len,
					"    \"%s\": \"", keys_classes[i].name);
		for (size_t b = 0; b < KEYS_LEN; b++)
			len += (size_t)snprintf(buf + len, KEYS_TEXT - len,
						"%02x", keys[i][b]);
		len += (size_t)snprintf(buf + len, KEYS_TEXT - len, "\"%s\n",
					last ? "" : ",");
		if (last)
			len += (size_t)snprintf(buf + len, KEYS_TEXT - len,
						"  }%s\n",
						i + 1 == KEYS_N ? "" : ",");
	}
	len += (size_t)snprintf(buf + len, KEYS_TEXT - len, "}\n");
	return len;
}

static int generate(const char *path)
{
	unsigned char keys[KEYS_N][KEYS_LEN];
	char text[KEYS_TEXT], tmp[4096], buf[4096];
	const char *dir;
	struct stat st;
	size_t len;
	int fd, r;

	/* No core dump of ours holds them (best effort: it cannot fail
	 * for these arguments). */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (strlen(path) + sizeof("/.keys.XXXXXX") > sizeof(tmp))
		return failed(path, "the name is too long", ENAMETOOLONG);
	if (lstat(path, &st) == 0)
		return exists(path);
	if (errno != ENOENT)
		return failed(path, "cannot look at it", errno);
	/* First the random bytes, which may take long on a board that has
	 * just booted: Ctrl-C meanwhile leaves nothing. */
	r = keys_random(keys);
	if (r < 0)
		return failed(path, "no random bytes", -r);
	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	snprintf(tmp, sizeof(tmp), "%s/.keys.XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		explicit_bzero(keys, sizeof(keys));
		return failed(dir, "cannot write there", errno);
	}
	/* Killed while it writes or syncs (an SD card may take seconds):
	 * no part of the keys left. */
	ctl_tmp_guard(tmp);
	len = keys_text(text, keys);
	explicit_bzero(keys, sizeof(keys));
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == -EPERM || r == -EOPNOTSUPP ||
	    (r == 0 && (st.st_mode & 07777) != 0600)) {
		explicit_bzero(text, sizeof(text));
		close(fd);
		unlink(tmp);
		ctl_tmp_release();
		return modeless(path);
	}
	if (r == 0)
		r = fs_write_all(fd, text, len);
	explicit_bzero(text, sizeof(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* link() refuses an existing FILE, even one made meanwhile. */
	if (r == 0 && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	ctl_tmp_release();
	if (r == -EEXIST)
		return exists(path);
	if (r < 0)
		return failed(path, "cannot write it", -r);
	r = fs_fsync_dir(dir);
	if (r < 0)
		return failed(dir, "cannot sync the directory", -r);
	printf("%s: %zu network keys (S0, S2, Long Range), mode 0600\n", path,
	       KEYS_N);
	return CTL_KEYS_OK;
}

int ctl_keys_run(int argc, char **argv)
{
	if (argc < 2)
		return usage("no subcommand given");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		ctl_keys_help(stdout);
		return CTL_KEYS_OK;
	}
	if (strcmp(argv[1], "generate"))
		return usage("unknown subcommand '%s'", argv[1]);
	if (argc == 3 &&
	    (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		ctl_keys_help(stdout);
		return CTL_KEYS_OK;
	}
	if (argc < 3)
		return usage("generate: no FILE given");
	if (argc > 3)
		return usage("generate: one FILE only");
	if (!*argv[2])
		return usage("generate: FILE is empty");
	return generate(argv[2]);
}
