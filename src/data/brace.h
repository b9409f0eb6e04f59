/* Brace expansion of shard patterns, as webdataset (braceexpand) reads them:
 *
 *   "train-{0000..0127}.tar"  numeric range, zero-padded to the wider bound
 *                              when either bound has a leading zero
 *   "{a,b,c}.tar"             a list of alternatives (may be empty: "x{,-1}")
 *   "{0..9}-{a,b}.tar"        several groups: every combination, left to right
 *
 * A range may run downwards ({9..0}); ranges take non-negative integers. A
 * brace without a matching one, a group inside a group, or more than
 * BRACE_MAX_RESULTS names is an error naming the pattern. */
#ifndef MODX_DATA_BRACE_H
#define MODX_DATA_BRACE_H

#include <stddef.h>

#include "core/error.h"

#define BRACE_MAX_RESULTS 1000000

/* *out receives n malloc'd names (free each, then the array). */
ModxStatus brace_expand(const char *pattern, char ***out, size_t *n);
void brace_free(char **names, size_t n);

#endif
