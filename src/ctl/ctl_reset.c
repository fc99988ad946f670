/* SPDX-License-Identifier: MIT */
/*
 * ctl_reset.c: `zwgatectl factory-reset`.  It erases what the gateway
 * learnt since it was installed, and nothing else: the configuration
 * under /etc and the rules' enabled state stay.  zwgated must be stopped,
 * because it holds names, outbox and trust state in memory and would
 * write them back; two signs tell that it runs: its control socket
 * answers, or it holds the outbox's lock (when -s names another socket).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_reset.h"

/* zwgated's default --state-dir (zwgated.c). */
#define RESET_STATE_DIR	 LOCALSTATEDIR "/lib/zwgate"
#define RESET_DEPTH_MAX	 8 /* directories within an erased one */
#define RESET_NAMES_TEMP ".names.json.tmp." /* fs_write_atomic's, + pid */
#define RESET_CONFIRM	 "--yes-really"

static const char prog[] = "zwgatectl";

const char ctl_reset_synopsis[] =
    "factory-reset [--state-dir DIR] [" RESET_CONFIRM "]";
const char ctl_reset_summary[] = "erase names, outbox, trust, OZW cache";

/* What is erased: the files of daemon.c, cloud.c, trust_link.c, zw_ozw.cc. */
static const struct reset_item {
	const char *name;
	const char *what;
} reset_items[] = {
	{ "names.json", "node names" },
	{ "outbox", "messages waiting for the cloud" },
	{ "trust", "trust bundles received, trust state" },
	{ "openzwave", "OpenZWave's cache of the network" },
};

#define RESET_NITEMS (sizeof(reset_items) / sizeof(reset_items[0]))

void ctl_reset_help(FILE *out)
{
	fprintf(out,
		"usage: %s [-s SOCKET] %s\n"
		"\n"
		"Erase what the gateway learnt, in its state directory "
		"(default\n%s):\n"
		"  names.json   node names\n"
		"  outbox/      messages waiting for the cloud\n"
		"  trust/       trust bundles received, trust state\n"
		"  openzwave/   OpenZWave's cache of the network\n"
		"and nothing else: the configuration and the rules' enabled "
		"state stay.\nzwgated must be stopped first (it is asked "
		"on SOCKET).  Without\n%s it only prints what would be "
		"erased, and exits 2.\n"
		"\n"
		"Exit status: 0 erased; 1 zwgated runs, or something could "
		"not be erased;\n2 usage error or not confirmed; 4 "
		"permission denied (run it as root or\nthe zwgate user).\n",
		prog, ctl_reset_synopsis, RESET_STATE_DIR, RESET_CONFIRM);
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: factory-reset: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"\nusage: %s %s\nTry '%s help factory-reset' for "
		"more.\n",
		prog, ctl_reset_synopsis, prog);
	return CTL_RESET_USAGE;
}

/*
 * Does zwgated answer on socket?  0 no, 1 yes, -errno when we cannot
 * tell (printed).
 */
static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 1 : -errno;
	close(fd);
	if (r == -ENOENT || r == -ENOTDIR || r == -ECONNREFUSED)
		return 0;
	if (r < 0)
		fprintf(stderr,
			"%s: factory-reset: cannot tell whether zwgated runs: "
			"%s: %s\n",
			prog, path, strerror(-r));
	return r;
}

/* Does a process hold the outbox log's lock (outbox.c)? */
static bool outbox_locked(int dfd)
{
	int fd = openat(dfd, "outbox/log",
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/*
 * Remove name in dfd and, for a directory, all it holds.  Symbolic links
 * are removed, never followed.  0 or -errno of the first failure.
 */
static int remove_at(int dfd, const char *name, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *dir;
	int fd, r = 0, r2;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	if (depth >= RESET_DEPTH_MAX)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r2 = remove_at(fd, e->d_name, depth + 1);
		if (r2 < 0 && r == 0)
			r = r2;
	}
	closedir(dir);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* The items present, printed (dry run) or erased.  Exit code. */
static int reset_items_do(int dfd, const char *state, bool erase)
{
	int rc = CTL_RESET_OK, found = 0;
	struct dirent *e;
	struct stat st;
	DIR *dir;

	for (size_t i = 0; i < RESET_NITEMS; i++) {
		const struct reset_item *it = &reset_items[i];
		bool isdir;
		int r;

		if (fstatat(dfd, it->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		isdir = S_ISDIR(st.st_mode);
		found++;
		if (!erase) {
			printf("  %s/%s%-*s %s\n", state, it->name,
			       (int)(12 - strlen(it->name)), isdir ? "/" : "",
			       it->what);
			continue;
		}
		r = remove_at(dfd, it->name, 0);
		if (r < 0) {
			fprintf(stderr, "%s: factory-reset: %s/%s: %s\n", prog,
				state, it->name, strerror(-r));
			rc = r == -EACCES || r == -EPERM ? CTL_RESET_DENIED
							 : CTL_RESET_FAILED;
		} else {
			printf("erased %s/%s%s\n", state, it->name,
			       isdir ? "/" : "");
		}
	}
	/* A names file half-written when the daemon died. */
	dir = erase ? fdopendir(dup(dfd)) : NULL;
	while (dir && (e = readdir(dir)))
		if (!strncmp(e->d_name, RESET_NAMES_TEMP,
			     strlen(RESET_NAMES_TEMP)))
			unlinkat(dfd, e->d_name, 0);
	if (dir)
		closedir(dir);
	if (!found)
		printf("nothing to erase in %s\n", state);
	return rc;
}

static int reset(const char *state, const char *socket, bool confirmed)
{
	int dfd, r, rc;

	r = socket_answers(socket);
	if (r < 0)
		return r == -EACCES || r == -EPERM ? CTL_RESET_DENIED
						   : CTL_RESET_FAILED;
	dfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = errno;
		fprintf(stderr, "%s: factory-reset: state directory %s: %s%s\n",
			prog, state, strerror(r),
			r == EACCES ? " (run it as root or the zwgate user)"
				    : "");
		return r == EACCES ? CTL_RESET_DENIED : CTL_RESET_FAILED;
	}
	if (r == 1 || outbox_locked(dfd)) {
		fprintf(stderr,
			"%s: factory-reset: zwgated is running (%s); stop it "
			"first (systemctl stop zwgated): it keeps this state "
			"in memory and would write it back\n",
			prog,
			r == 1 ? "it answers on the control socket"
			       : "it holds the outbox's lock");
		close(dfd);
		return CTL_RESET_FAILED;
	}
	if (!confirmed) {
		printf("factory-reset would erase:\n");
		reset_items_do(dfd, state, false);
		printf("and nothing else (the configuration stays).\n");
		fprintf(stderr,
			"%s: factory-reset: not confirmed: run it again with "
			"%s to erase\n",
			prog, RESET_CONFIRM);
		close(dfd);
		return CTL_RESET_USAGE;
	}
	rc = reset_items_do(dfd, state, true);
	if (fsync(dfd) < 0 && errno != EINVAL && rc == CTL_RESET_OK)
		rc = CTL_RESET_FAILED;
	close(dfd);
	return rc;
}

int ctl_reset_run(int argc, char **argv, const char *socket)
{
	const char *state = RESET_STATE_DIR;
	bool confirmed = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			ctl_reset_help(stdout);
			return CTL_RESET_OK;
		} else if (!strcmp(a, RESET_CONFIRM)) {
			confirmed = true;
		} else if (!strncmp(a, "--state-dir=", 12)) {
			state = a + 12;
		} else if (!strcmp(a, "--state-dir")) {
			if (++i == argc)
				return usage("--state-dir needs a directory");
			state = argv[i];
		} else if (a[0] == '-') {
			return usage("unknown option '%s'", a);
		} else {
			return usage("unexpected argument '%s'", a);
		}
	}
	if (!*state)
		return usage("--state-dir is empty");
	return reset(state, socket, confirmed);
}
