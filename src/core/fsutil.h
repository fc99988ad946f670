/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h: durable small-file I/O for state files, and reads of files
 * that must pass a check first (keys, CA files).
 */
#ifndef ZWGATE_FSUTIL_H
#define ZWGATE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Write data as dir/name so that after a crash the file is either the old
 * one or the new one, whole: temp file in dir, write, fsync, rename,
 * fsync dir.  0 or -errno; on failure the old file is untouched.
 */
int fs_write_atomic(const char *dir, const char *name, const void *data,
		    size_t len, mode_t mode);

/*
 * Read a whole file of at most max bytes into a NUL-terminated buffer.
 * 0, -ENOENT, -EFBIG (larger than max), or -errno.  Caller frees *ret.
 */
int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

struct stat;

/*
 * Judges an opened file by its fstat: 0, or -errno (with its reason put
 * wherever arg says).
 */
typedef int (*fs_check_fn)(const struct stat *st, void *arg);

/*
 * fs_read_file for a file that must pass check first (a private key's
 * mode, a CA file's owner): path is opened once, and check sees the
 * fstat of that descriptor, which is then the one read.  Checking the
 * path and opening it again would let the file be swapped in between.
 * A symbolic link is followed; the check applies to the file it leads
 * to, which is the file read.  0, check's -errno, -EINVAL (not a regular
 * file), -EFBIG, or -errno.  check NULL: any regular file.
 */
int fs_read_checked(const char *path, size_t max, fs_check_fn check, void *arg,
		    char **ret, size_t *ret_len);

/*
 * The usual arg of such a check: the file's name for the sentence (what
 * may be NULL), the caller's buffer for the reason, and whether the
 * check wrote one (else the caller words fs_read_checked's own error).
 */
struct fs_checked {
	const char *what; /* "client-key", ... */
	const char *path;
	char *why;
	size_t whylen;
	bool said; /* why holds the check's reason */
};

/*
 * The rule for a secret's file (a private key, a signing key), as ssh
 * has it: a regular file (else -EINVAL) with no bit at all for its group
 * or others (else -EACCES); 0 if it holds.  The owner is not judged
 * here.  Callers word the refusal for the file they read.
 */
int fs_check_secret_mode(const struct stat *st);

/* Wipe and free what fs_read_checked read of a secret; NULL ok. */
void fs_free_secret(char *buf, size_t len);

/*
 * Make sure dir exists as a directory with exactly mode (creating it with
 * mode if missing, tightening it if looser).  0 or -errno.
 */
int fs_ensure_dir(const char *dir, mode_t mode);

/* Write all of data to fd, again after EINTR; 0 or -errno. */
int fs_write_all(int fd, const void *data, size_t len);

/*
 * fsync a directory, so that a rename or a new file in it survives a
 * crash.  0 or -errno (EINVAL from a file system that cannot is 0).
 */
int fs_fsync_dir(const char *dir);

/* dir + "/" + name into a new string, or NULL. */
char *fs_join(const char *dir, const char *name);

/* path's directory ("." without a slash, "/" for "/name") into a new
 * string, or NULL; and its last component, within path. */
char *fs_dir_of(const char *path);
const char *fs_base_of(const char *path);

/*
 * Can files be made in dir?  A temp file is created and removed again:
 * this sees what permissions do not (a read-only mount, an immutable
 * directory).  Creating an empty file takes no data blocks, so a full
 * disk passes.  0 or -errno.
 */
int fs_probe_dir(const char *dir);

/*
 * Keep a damaged state file (or directory) instead of deleting it:
 * dir/name is renamed to dir/name.damaged, or name.damaged.1 ..
 * name.damaged.9 when those are taken, never replacing one.  0 with
 * *ret_aside the new path (caller frees), -EEXIST when all ten are
 * taken, or -errno.
 */
int fs_set_aside(const char *dir, const char *name, char **ret_aside);

/*
 * Write bytes [from, to) of the open file fd as dir/name, atomically as
 * fs_write_atomic does, copying through buf (bufsize bytes).  0 or
 * -errno; on failure dir/name is untouched.
 */
int fs_copy_out(int fd, uint64_t from, uint64_t to, void *buf, size_t bufsize,
		const char *dir, const char *name, mode_t mode);

#endif
