/* SPDX-License-Identifier: MIT */
/* fs_read_checked: the file it checks is the file it reads; the rule for
 * a secret's file, fs_check_secret_mode. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "testutil.h"

static char tmp[256];

static int setup(void **state)
{
	(void)state;
	return tu_tmpdir(tmp, sizeof(tmp), "fsutil") < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rm_rf(tmp);
}

static void put(const char *name, const char *text, mode_t mode)
{
	char *path = fs_join(tmp, name);

	assert_non_null(path);
	assert_int_equal(tu_write_file(path, text, mode), 0);
	free(path);
}

/* A key's rule, as tls.c's: nothing for the group or others. */
struct seen {
	int calls;
	mode_t mode;
	const char *swap_from; /* renamed over swap_to during the check */
	const char *swap_to;
};

static int check_private(const struct stat *st, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->mode = st->st_mode & 07777;
	if (s->swap_from)
		assert_int_equal(rename(s->swap_from, s->swap_to), 0);
	return s->mode & 077 ? -EACCES : 0;
}

static int read_private(const char *name, struct seen *s, char **ret)
{
	char *path = fs_join(tmp, name);
	size_t len = 0;
	int r;

	assert_non_null(path);
	*ret = NULL;
	r = fs_read_checked(path, 4096, check_private, s, ret, &len);
	if (r == 0)
		assert_int_equal(len, strlen(*ret));
	free(path);
	return r;
}

static void test_mode_refused(void **state)
{
	struct seen s = { 0 };
	char *data;

	(void)state;
	put("ok.key", "secret\n", 0600);
	assert_int_equal(read_private("ok.key", &s, &data), 0);
	assert_string_equal(data, "secret\n");
	fs_free_secret(data, strlen(data));
	put("loose.key", "secret\n", 0640);
	assert_int_equal(read_private("loose.key", &s, &data), -EACCES);
	assert_null(data);
	assert_int_equal(s.mode, 0640);
	assert_int_equal(s.calls, 2);
}

/* A symbolic link is followed, and the file it leads to is judged. */
static void test_symlink_target_checked(void **state)
{
	char *link = fs_join(tmp, "link.key");
	struct seen s = { 0 };
	char *data;

	(void)state;
	assert_non_null(link);
	put("target.key", "target\n", 0644);
	assert_int_equal(symlink("target.key", link), 0);
	assert_int_equal(read_private("link.key", &s, &data), -EACCES);
	assert_int_equal(s.mode, 0644);
	put("target.key", "target\n", 0600);
	assert_int_equal(read_private("link.key", &s, &data), 0);
	assert_string_equal(data, "target\n");
	free(data);
	free(link);
}

/*
 * The race itself: the file is replaced at its path while it is being
 * checked; what comes back is the checked file, not its replacement.
 */
static void test_reads_what_it_checked(void **state)
{
	char *from = fs_join(tmp, "evil.key"), *to = fs_join(tmp, "k.key");
	struct seen s = { 0 };
	char *data;

	(void)state;
	assert_non_null(from);
	assert_non_null(to);
	put("k.key", "checked\n", 0600);
	put("evil.key", "swapped in\n", 0600);
	s.swap_from = from;
	s.swap_to = to;
	assert_int_equal(read_private("k.key", &s, &data), 0);
	assert_string_equal(data, "checked\n");
	free(data);
	/* The path does hold the other file now. */
	s.swap_from = NULL;
	assert_int_equal(read_private("k.key", &s, &data), 0);
	assert_string_equal(data, "swapped in\n");
	free(data);
	free(from);
	free(to);
}

/* Whatever the check says, only a regular file is read: a FIFO does not
 * hang us. */
static void test_not_regular(void **state)
{
	char *fifo = fs_join(tmp, "fifo");
	struct seen s = { 0 };
	char *data;
	size_t len;

	(void)state;
	assert_non_null(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(read_private("fifo", &s, &data), -EINVAL);
	assert_int_equal(s.calls, 1);
	assert_int_equal(fs_read_checked(tmp, 4096, NULL, NULL, &data, &len),
			 -EISDIR);
	assert_int_equal(read_private("missing", &s, &data), -ENOENT);
	assert_int_equal(s.calls, 1);
	put("big", "0123456789", 0600);
	free(fifo);
	fifo = fs_join(tmp, "big");
	assert_int_equal(
	    fs_read_checked(fifo, 9, check_private, &s, &data, &len), -EFBIG);
	free(fifo);
}

/* A secret's file: regular, and nothing for its group or others. */
static void test_secret_mode(void **state)
{
	static const struct {
		mode_t mode;
		int want;
	} rows[] = {
		{ S_IFREG | 0600, 0 },	     { S_IFREG | 0400, 0 },
		{ S_IFREG | 0700, 0 },	     { S_IFREG | 0640, -EACCES },
		{ S_IFREG | 0620, -EACCES }, { S_IFREG | 0610, -EACCES },
		{ S_IFREG | 0604, -EACCES }, { S_IFREG | 0602, -EACCES },
		{ S_IFREG | 0601, -EACCES }, { S_IFDIR | 0700, -EINVAL },
		{ S_IFIFO | 0600, -EINVAL }, { S_IFLNK | 0600, -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct stat st = { .st_mode = rows[i].mode };
		int r = fs_check_secret_mode(&st);

		if (r != rows[i].want)
			fail_msg("mode 0%o: %d, wanted %d",
				 (unsigned)rows[i].mode, r, rows[i].want);
	}
}

/* A path's directory and last component (names.json's, rules'). */
static void test_dir_and_base(void **state)
{
	static const char *const cases[][3] = {
		{ "/var/lib/zwgate/names.json", "/var/lib/zwgate",
		  "names.json" },
		{ "/names.json", "/", "names.json" },
		{ "names.json", ".", "names.json" },
		{ "state/names.json", "state", "names.json" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = fs_dir_of(cases[i][0]);

		assert_non_null(d);
		assert_string_equal(d, cases[i][1]);
		assert_string_equal(fs_base_of(cases[i][0]), cases[i][2]);
		free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_refused),
		cmocka_unit_test(test_symlink_target_checked),
		cmocka_unit_test(test_reads_what_it_checked),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_secret_mode),
		cmocka_unit_test(test_dir_and_base),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
