/* SPDX-License-Identifier: MIT */
/*
 * replay.c: main() for a harness built without libFuzzer (fuzz.h).
 *
 *	replay-<name> [FILE | DIR]...
 *
 * runs each file (each file of a directory, in name order) once through
 * the harness; without arguments, $top_srcdir/tests/fuzz/<name>/, the
 * committed seeds and the inputs that once crashed it.  A crash fails
 * the test; so does a directory with no input in it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "fuzz.h"

/* Larger than any committed input; libFuzzer's -max_len is far less. */
#define REPLAY_INPUT_MAX (4 * 1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned replay_done;

static int replay_file(const char *path)
{
	char *buf;
	size_t len;
	int r = fs_read_file(path, REPLAY_INPUT_MAX, &buf, &len);

	if (r < 0) {
		printf("not ok - %s: %s\n", path, strerror(-r));
		return r;
	}
	/* Flushed first: if the input crashes us, the log says which. */
	printf("# %s\n", path);
	fflush(stdout);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	printf("ok %u - %s\n", ++replay_done, path);
	return 0;
}

static int replay_input_name(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int replay_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n = scandir(dir, &names, replay_input_name, alphasort), r = 0;

	if (n < 0) {
		printf("not ok - %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	if (n == 0) {
		printf("not ok - %s: no input in it\n", dir);
		r = -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		if (r == 0)
			r = replay_file(fuzz_path(path, dir, names[i]->d_name));
		free(names[i]);
	}
	free(names);
	return r;
}

static int replay(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return replay_dir(path);
	return replay_file(path);
}

int main(int argc, char **argv)
{
	const char *srcdir = getenv("top_srcdir");
	const char *name = strrchr(argv[0], '/');
	char dir[PATH_MAX];
	int r = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	name = name ? name + 1 : argv[0];
	if (strncmp(name, "replay-", 7) == 0)
		name += 7;
	if (argc < 2) {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s",
			 srcdir && *srcdir ? srcdir : ".", name);
		r = replay(dir);
	}
	for (int i = 1; r == 0 && i < argc; i++)
		r = replay(argv[i]);
	printf("# %u passed, %d failed\n", replay_done, r < 0);
	return r < 0;
}
