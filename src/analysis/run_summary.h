/* RUN_DIR/summary.json and RUN_DIR/summary.md: the continual-learning summary
 * of a run (SPEC §7, docs/metrics.md) built from the run's own records —
 * run.json (strategies, phases, test sets), metrics.jsonl ("eval" lines: the
 * accuracy matrix; "step" lines and, when the trainer writes them, "compute"
 * lines: the compute accounting) and experiment.json ("train"."batch").
 *
 * The matrix of strategy S: R[i][j] = (i2t_R@1 + t2i_R@1) / 2 of S's latest
 * eval line at phase i on column j; row 0 comes from the "phase0" lines when S
 * has no phase-0 line of its own. Columns:
 *   domain stream  every phase 0..T has exactly one domain test set (run.json
 *                  "first_phase"): column j is phase j's domain, every figure applies;
 *   otherwise      the domain and held-out test sets in run.json order (all
 *                  test sets when there are none), only Last and the average.
 * "joint" and "finetune", when the run has them, are the references of
 * intransigence, kept_pct and learned_pct.
 *
 *   {"format": "modx-summary-1", "run": NAME, "stream": "domain" | "sets", "T": 3,
 *    "phase0": {"compute": {...}},
 *    "strategies": {NAME: {"matrix": {"phases": [0, 1, ..., T], "test_sets": [...], "r1": [[...], ...]},
 *                          "last": x, "avg_incremental": x, "bwt": x, "fwt": x, "forgetting": x,
 *                          "kept_pct": x, "learned_pct": x, "intransigence": [I_1, ..., I_T],
 *                          "compute": {...},
 *                          "zeroshot": {"phases": [0, ..., T], "test_sets": [...],
 *                                       "top1": [[...], ...], "top5": [[...], ...]}}}}
 * null = not evaluated / does not apply. "compute" keys: see RunCompute.
 * "zeroshot" (only when the run has zero-shot test sets, "role": "zeroshot"):
 * Z[i][j] = top-1 (top-5) accuracy (%) on zero-shot set j after phase i, row 0
 * from "phase0" as for R; these sets are never columns of R. */
#ifndef MODX_ANALYSIS_RUN_SUMMARY_H
#define MODX_ANALYSIS_RUN_SUMMARY_H

#include "analysis/clmetrics.h"
#include "core/error.h"

#define SUMMARY_FORMAT "modx-summary-1"

/* One strategy's training cost over its own phases (phase 0 is counted once,
 * under "phase0"). NaN = unknown. */
typedef struct {
    double steps;          /* "train_steps": optimizer steps (the last "step" of each phase's step lines) */
    double samples;        /* "train_samples": steps x batch (replayed pairs included: they fill the batch) */
    double train_s;        /* "train_wall_s": sum over step lines of (step - previous step) x batch / samples_per_s */
    /* From "compute" lines ({"type": "compute", "strategy", "phase", KEY: number, ...}), summed over phases;
     * NaN until the trainer writes them. "samples" and "train_s" there replace the values derived above. */
    double forward_passes;        /* "forward_passes": forward passes of the trained model (samples) */
    double backward_passes;       /* "backward_passes" */
    double frozen_forward_passes; /* "frozen_forward_passes": forwards of frozen models (old model, teacher) */
    double matmul_flops;          /* "matmul_flops": matrix-product FLOPs, training only */
    double peak_rss_bytes;        /* "peak_rss_bytes": the largest over phases */
    double eval_s;                /* "eval_wall_s": evaluation time after the phases */
} RunCompute;

typedef struct {
    char *name;
    double *r1;             /* (T + 1, ncols) */
    ClFigures fig;
    double *intransigence;  /* (T) I_j at [j - 1] */
    double *zs_top1, *zs_top5; /* (T + 1, nzs) zero-shot accuracy (%), NaN = not evaluated */
    RunCompute compute;
} RunSummaryStrategy;

typedef struct {
    char *run;
    int T;
    ClStreamKind kind;
    char **cols;            /* (ncols) test-set names */
    int ncols;
    char **zs_cols;         /* (nzs) zero-shot test-set names */
    int nzs;
    RunSummaryStrategy *s;  /* (ns) in run.json order */
    int ns;
    RunCompute phase0;
} RunSummary;

/* Builds the summary of the run directory `dir`. Errors name the file: run.json
 * (run_info_load), a missing metrics.jsonl, a malformed line. Free with
 * run_summary_free (also after a failure). */
ModxStatus run_summary_build(RunSummary *out, const char *dir);
void run_summary_free(RunSummary *s);

/* summary.json as text (malloc'd, NUL-terminated) and summary.md (the figures
 * table, the compute table and each strategy's matrix). */
ModxStatus run_summary_json(const RunSummary *s, char **text);
ModxStatus run_summary_markdown(const RunSummary *s, char **text);

/* Strategy k's summary.json object and a compute object, as cJSON items
 * (cJSON *, owned by the caller); NULL when out of memory. */
void *run_summary_strategy_object(const RunSummary *s, int k);
void *run_summary_compute_object(const RunCompute *c);

/* Writes DIR/summary.json and DIR/summary.md, each atomically. */
ModxStatus run_summary_write(const RunSummary *s, const char *dir);

#endif
