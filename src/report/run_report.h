/* The report of a run directory (docs/run-directory.md): reads run.json,
 * metrics.jsonl ("eval" lines) and analysis.json (written by `modx analyze
 * RUN_DIR`), fills a Report and writes it with report_write.
 *
 * What goes where:
 *   summary       run.json (name, status, strategies, phases, test sets, probe, seed)
 *                 and experiment.json's top-level scalar settings when present
 *   results       every numeric field of every eval line (strategy, phase, test set,
 *                 metric); phase-0 lines (strategy "phase0") become phase 0 of every
 *                 strategy that has no phase-0 line of its own; a later line for the
 *                 same (strategy, phase, test set) replaces an earlier one (a resumed run)
 *   histograms    the "overall" comparisons (phase 0 -> last): rotation histograms
 *                 (5-degree bins, trimmed above the largest angle seen) per modality
 *   topology      the "step" comparisons k-1 -> k: mean rotation and mean |S_a - S_b|
 *                 per modality, at phase k
 *   inter-modal   the "step" comparisons: the mean angle of R_V^T R_T, at phase k
 *                 (absent when the probe set has fewer pairs than dimensions)
 *   figures       run_summary_build (src/analysis/run_summary.h): the accuracy matrix
 *                 and continual-learning figures per strategy, which report_run_write
 *                 also writes to DIR/summary.json and DIR/summary.md */
#ifndef MODX_REPORT_RUN_REPORT_H
#define MODX_REPORT_RUN_REPORT_H

#include <stdio.h>

#include "core/error.h"

/* Writes html_path (atomically) and, when regions_path is not NULL, the plot
 * regions file. Errors name the file and the item (line number for
 * metrics.jsonl): missing run.json / metrics.jsonl / analysis.json, malformed
 * JSON, an unknown strategy or test set, a missing or mistyped field. */
ModxStatus report_run_write(const char *dir, const char *html_path, const char *regions_path);

/* The end of `modx run` (unless --no-report): run_analyze(dir) (writes
 * DIR/analysis.json, table to `log`), then DIR/report.html, whose path is
 * printed to `log` ("report: PATH"). log may be NULL. */
ModxStatus report_run_finish(const char *dir, FILE *log);

#endif
