/* Small file helpers shared by every module: whole-file read, atomic write
 * (tmp + fsync + rename + directory fsync), mkdir -p and an existence test.
 * Errors are recorded with modx_fail and name the path and the errno text. */
#ifndef MODX_IO_FILE_H
#define MODX_IO_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Reads the whole file at `path` into a new buffer (*buf, free with free()) of
 * *n bytes; the buffer has one extra byte set to 0 so text can be used as a C
 * string. On failure *buf is NULL and *n is 0. */
ModxStatus io_read_file(const char *path, uint8_t **buf, size_t *n);

/* Writes `n` bytes to `path` atomically: see IoAtomicFile. */
ModxStatus io_write_atomic(const char *path, const void *data, size_t n);

/* An output file that appears at its final path only when complete.
 * io_atomic_open creates "<path>.tmp.<pid>.<n>", a name no other writer uses
 * (O_EXCL), after removing the temporary files of dead writers of `path`;
 * io_atomic_write appends to it; io_atomic_commit fsyncs it, renames it over
 * `path` and fsyncs the directory, so a crash leaves either the old file or the
 * new one, never a torn file. commit and abort always free the handle; on any
 * failure (including inside commit) the tmp file is removed and an existing
 * file at `path` is left untouched.
 * In a job of several ranks (core/dist.h) only rank 0 writes: on the others
 * the handle takes the bytes and drops them, and commit succeeds. */
typedef struct IoAtomicFile IoAtomicFile;
ModxStatus io_atomic_open(IoAtomicFile **out, const char *path);
ModxStatus io_atomic_write(IoAtomicFile *f, const void *data, size_t n);
ModxStatus io_atomic_commit(IoAtomicFile *f);
void io_atomic_abort(IoAtomicFile *f);

/* fsyncs the folder holding `path`, so renames and removals in it are durable
 * (file systems that cannot sync a folder are accepted). */
ModxStatus io_sync_parent_dir(const char *path);

/* Removes "<path>.tmp.<pid>[.<n>]" files whose process is gone (kill(pid, 0)
 * fails with ESRCH): what a killed writer of `path` left. Files of live
 * processes are kept. */
void io_remove_stale_tmp(const char *path);

/* Creates directory `path` and any missing parents (mode 0755). An existing
 * directory is fine; an existing non-directory component is an error. */
ModxStatus io_mkdir_p(const char *path);

/* 1 when `path` exists and is a regular file (after following links), else 0. */
int io_file_exists(const char *path);

/* 1 when `path` exists and is a directory, else 0. */
int io_dir_exists(const char *path);

#endif
