/* The image paths of a dataset cache, in a file beside it.
 *
 * `modx data prepare` (and a run preparing its datasets) writes, next to
 * CACHE, the file CACHE.paths: one JSON string per line, the path of image i
 * (as the annotations gave it, joined with the image root) on line i + 1. The
 * cache itself holds no paths; this file lets a user name an image by its path
 * (`modx zeroshot --labels`) and list them (`modx data info --list`). A cache
 * written without it (older builds, `modx data emoji`) has no paths: readers
 * get NULL, never an error. */
#ifndef MODX_DATA_CACHE_PATHS_H
#define MODX_DATA_CACHE_PATHS_H

#include <stdint.h>

#include "core/error.h"

/* CACHE.paths for a cache file, or DIR/dataset.cache.paths for the folder
 * `modx data prepare` wrote (malloc'd; NULL on out of memory). */
char *cache_paths_file(const char *cache_path);
/* Writes the n paths atomically. */
ModxStatus cache_paths_write(const char *cache_path, const char *const *paths, uint64_t n);
/* Reads them: *out = n malloc'd strings, or NULL when the file does not exist.
 * A file with another count of lines than n (a stale file) is an error. */
ModxStatus cache_paths_read(const char *cache_path, uint64_t n, char ***out);
void cache_paths_free(char **paths, uint64_t n);
/* The index of the image whose path is `want`, or ends with "/" + want (a path
 * relative to the image root); an unknown or ambiguous path is an error naming it. */
ModxStatus cache_paths_find(char *const *paths, uint64_t n, const char *want, uint64_t *index);

#endif
