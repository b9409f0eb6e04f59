#include "cli/probe_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "data/dataset.h"
#include "data/phases.h"

int cli_probe_setup(const char *command, const char *cache_path, const char *split_text, const char *pairs_text,
                    Cache **cache, ProbeSet *ps) {
    memset(ps, 0, sizeof *ps);
    *cache = NULL;
    unsigned mask = 0;
    if (dataset_parse_splits(split_text ? split_text : "test", &mask) != MODX_OK) {
        fprintf(stderr, "modx %s: --split: %s\n", command, modx_last_error());
        return 2;
    }
    long pairs = 0;
    if (pairs_text && cli_int(command, "--pairs", pairs_text, 2, 0x7fffffffL, &pairs)) return 2;
    if (cache_open(cache, cache_path, 1) != MODX_OK) return cli_report_error(command);
    uint32_t *imgs = NULL;
    size_t n = 0;
    if (phases_subset_by_split(*cache, mask, &imgs, &n) != MODX_OK) {
        cache_close(*cache);
        *cache = NULL;
        return cli_report_error(command);
    }
    if (!pairs_text) pairs = n < PROBE_DEFAULT_PAIRS ? (long)n : PROBE_DEFAULT_PAIRS;
    ModxStatus st = probe_select(ps, *cache, cache_path, imgs, n, (int)pairs);
    free(imgs);
    if (st != MODX_OK) {
        cache_close(*cache);
        *cache = NULL;
        return cli_report_error(command);
    }
    return 0;
}
