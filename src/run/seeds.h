/* A run with "seeds" (docs/run-directory.md, docs/experiment.md): the whole
 * experiment once per listed seed, each seed's run (train.seed = S, phase 0
 * included) a complete run directory RUN_DIR/seed-S/ laid out as a run
 * without seeds, run one after the other in the listed order by the continual
 * driver (continual.h). RUN_DIR itself holds the experiment as given
 * (experiment.json, with "seeds"), the writer's lock and, written by the
 * analysis and report layers, the aggregates over seeds (summary.json,
 * summary.md, results.md, report.html: src/analysis/seed_summary.h).
 *
 * Datasets the run prepares are prepared once, by the first seed's run
 * (RUN_DIR/seed-S0/data/); the other seeds read that cache.
 *
 * Resume: `modx run --resume RUN_DIR` continues each seed's run where it
 * stopped (a finished one is left as it is, one not begun starts), so a run
 * killed anywhere ends byte-identical to an uninterrupted one. */
#ifndef MODX_RUN_SEEDS_H
#define MODX_RUN_SEEDS_H

#include "core/error.h"
#include "run/continual.h"
#include "run/experiment.h"

/* Runs (or resumes, opt->resume) every seed of e (e->n_seeds ≥ 1) into run_dir.
 * opt->only_strategy must be NULL (one strategy of one seed: modx continual
 * on that seed's folder). */
ModxStatus seeds_run(const Experiment *e, const char *run_dir, const RunOptions *opt);

/* 1 when run_dir is a run with seeds (no run.json of its own, an
 * experiment.json listing "seeds"), filling seeds[EXP_MAX_SEEDS] and *n; else 0. */
int seeds_of_run(const char *run_dir, int *seeds, int *n);

#endif
