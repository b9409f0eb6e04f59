/* The dataset-reading options shared by `modx data check` and `modx data prepare`:
 * the first N_READ_OPTS entries of their option arrays, read by data_read_dataset
 * through the format registry (data/formats.h). */
#ifndef MODX_CLI_DATA_READ_H
#define MODX_CLI_DATA_READ_H

#include <stdio.h>

#include "cli/args.h"
#include "data/dataset.h"

#define READ_OPTS                                                                                          \
    {"--format", 1, NULL}, {"--input", 1, NULL}, {"--images", 1, NULL}, {"--split", 1, NULL},             \
        {"--domain", 1, NULL}, {"--skip-bad", 0, NULL}, {"--csv-img-key", 1, NULL},                        \
        {"--csv-caption-key", 1, NULL}, {"--csv-separator", 1, NULL}, {"--csv-domain-key", 1, NULL},       \
        {"--csv-split-key", 1, NULL}, {"--wds-domain", 1, NULL}
#define N_READ_OPTS 12

/* Reads the dataset the options name (every --input given, in order). Returns an
 * exit status (0 = ok); on failure ds is empty. */
int data_read_dataset(const char *cmd, const CliOpt *o, int argc, char **argv, Dataset *ds);

/* The help of the options above, with one line per known format. */
void data_print_read_help(FILE *f);

/* "skipped N item(s)WHEN:" and one indented line per message; nothing when n = 0. */
void data_print_skips(FILE *f, const char *when, char *const *msgs, size_t n);

#endif
