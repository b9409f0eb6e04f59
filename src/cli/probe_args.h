/* Shared by `modx analyze --ckpt` and `modx probe`: open a cache and select the
 * probe pairs from --split/--pairs (src/eval/probe.h). */
#ifndef MODX_CLI_PROBE_ARGS_H
#define MODX_CLI_PROBE_ARGS_H

#include "data/cache.h"
#include "eval/probe.h"

#define PROBE_DEFAULT_PAIRS 1000 /* when --pairs is not given: min(this, images in the split) */

/* Opens `cache_path`, takes the images whose split is in `split_text` (default
 * "test") in cache order and selects the first `pairs_text` of them (NULL =
 * min(PROBE_DEFAULT_PAIRS, available)). Prints errors; returns the exit status
 * (0 ok, 1 bad data, 2 bad usage). */
int cli_probe_setup(const char *command, const char *cache_path, const char *split_text, const char *pairs_text,
                    Cache **cache, ProbeSet *ps);

#endif
