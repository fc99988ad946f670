/* SPDX-License-Identifier: MIT */
/*
 * fs_job.h: a state file written off the loop.
 *
 * One file, dir/name, written whole by fs_write_atomic (temp file,
 * fsync, rename, fsync of the directory) in libuv's thread pool, so that
 * the loop never waits for the disk for it.  One write at a time: a
 * write asked for while one is out waits, and only the newest such waits
 * (the file's content is the newest one asked for, written after those
 * before it: the order of the writes is the order they were asked for,
 * minus the ones a newer one replaced).  done(ctx, r) follows each write
 * that ran, on the loop, with its result (0 or -errno).
 */
#ifndef ZWGATE_FS_JOB_H
#define ZWGATE_FS_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

struct fs_job;

typedef void (*fs_job_done_fn)(void *ctx, int result);

/* dir and name are copied.  NULL on ENOMEM. */
struct fs_job *fs_job_new(uv_loop_t *loop, const char *dir, const char *name,
			  mode_t mode, fs_job_done_fn done, void *ctx);

/* Write data (copied) as the file's content.  0 or -ENOMEM. */
int fs_job_write(struct fs_job *j, const void *data, size_t len);

/* A write is out or waiting. */
bool fs_job_busy(const struct fs_job *j);

/*
 * No more done(); a write that is out finishes and the job is freed
 * after it (the loop runs until then), one that waits is dropped.
 */
void fs_job_free(struct fs_job *j);

#endif
