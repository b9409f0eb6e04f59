/* The aggregates of a run with "seeds" (src/run/seeds.h, docs/run-directory.md):
 * the mean ± sd over seeds of every continual-learning figure, of the accuracy
 * matrices and of the R@1 after the last phase, from each seed's run folder
 * RUN_DIR/seed-S (run_summary_build of each; metrics.jsonl for the last-phase
 * table). sd is the sample standard deviation (divisor n − 1; null with one
 * seed); a mean or sd is null when any seed's value is null.
 *
 * RUN_DIR/summary.json ("format": "modx-summary-seeds-1"):
 *   {"format", "run", "seeds": [0, 1, 2], "runs": ["seed-0", ...], "stream", "T",
 *    "phase0": {"compute": mean},
 *    "strategies": {NAME: {"matrix": {"phases", "test_sets", "r1": mean, "r1_sd": sd},
 *                          "last": mean, ..., "learned_pct": mean,   (the figures of modx-summary-1)
 *                          "sd": {"last": sd, ...},
 *                          "compute": mean of each key,
 *                          "per_seed": [{"seed": S, ...that seed's modx-summary-1 strategy object}, ...]}}}
 * RUN_DIR/summary.md: the figures (mean ± sd), compute (mean) and mean matrices.
 * RUN_DIR/results.md: R@1 on every test set after the last phase, mean ± sd. */
#ifndef MODX_ANALYSIS_SEED_SUMMARY_H
#define MODX_ANALYSIS_SEED_SUMMARY_H

#include "analysis/run_summary.h"
#include "core/error.h"
#include "run/experiment.h"

#define SEED_SUMMARY_FORMAT "modx-summary-seeds-1"
#define SEED_NFIG 7 /* ClFigures in order: last, avg_incremental, bwt, fwt, forgetting, kept_pct, learned_pct */

typedef struct {
    char *run;
    int n;                      /* seeds */
    int seeds[EXP_MAX_SEEDS];
    RunSummary *runs;           /* (n) each seed's summary */
    int ns, T, ncols;           /* as runs[0]; every seed agrees (checked) */
    double *fig_mean, *fig_sd;  /* (ns, SEED_NFIG) */
    double *r1_mean, *r1_sd;    /* (ns, (T + 1) * ncols) */
    RunCompute *compute;        /* (ns) means */
    RunCompute phase0;          /* mean */
    char **rows;                /* (nrows) "phase0", then the strategies */
    int nrows;
    char **tests;               /* (ntests) every test set, run.json order */
    int ntests;
    double *last_mean, *last_sd;/* (nrows, ntests + 1): R@1 after the last phase; column ntests: the mean over the domain test sets */
} SeedSummary;

/* Builds the aggregates of the run with seeds in dir (seeds from dir/experiment.json).
 * Errors name the seed's folder and file. Free with seed_summary_free (also after a failure). */
ModxStatus seed_summary_build(SeedSummary *s, const char *dir);
void seed_summary_free(SeedSummary *s);

/* The texts of summary.json, summary.md and results.md (malloc'd). */
ModxStatus seed_summary_json(const SeedSummary *s, char **text);
ModxStatus seed_summary_markdown(const SeedSummary *s, char **text);
ModxStatus seed_summary_results(const SeedSummary *s, char **text);

/* Builds and writes dir/summary.json, summary.md and results.md (atomically);
 * table (may be NULL) receives results.md's text plus the figures table, malloc'd. */
ModxStatus seed_summary_write_dir(const char *dir, char **table);

#endif
