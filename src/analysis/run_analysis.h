/* `modx analyze RUN_DIR`: the spatial-disorder analysis of every strategy of a
 * run directory (docs/run-directory.md), from its probe feature files:
 *   - every consecutive phase pair k-1 -> k (k = 1 .. last completed phase;
 *     phase 0 is the shared phase0/probe.safetensors), kind "step";
 *   - phase 0 -> the last completed phase, kind "overall".
 * "joint" has one checkpoint (phase N), so only its "overall" comparison.
 * The result goes to RUN_DIR/analysis.json (atomically; structure in
 * docs/run-directory.md) and a table to `summary`. */
#ifndef MODX_ANALYSIS_RUN_ANALYSIS_H
#define MODX_ANALYSIS_RUN_ANALYSIS_H

#include <stdio.h>

#include "analysis/analysis.h"
#include "core/error.h"

#define ANALYSIS_FORMAT "modx-analysis-1"
#define ANALYSIS_KIND_STEP "step"
#define ANALYSIS_KIND_OVERALL "overall"

/* A run with "seeds" (src/run/seeds.h): each seed's folder in turn.
 * opt NULL = defaults; summary NULL = print nothing. Errors name the file:
 * run.json problems (run_info_load), a missing or malformed probe file of a
 * completed phase, probe files of different sizes. */
ModxStatus run_analyze(const char *dir, const AnalysisOptions *opt, FILE *summary);

#endif
