/* The continual driver: every strategy of an experiment over the whole
 * stream, writing the run directory of docs/run-directory.md.
 *
 * Order: phase 0 once (trained on the experiment's phase-0 set, or the
 * initialised model, or a given checkpoint), evaluated and probed; then for
 * each strategy (or variant) in the experiment's order, phases 1..N, each
 * starting from the previous phase's saved checkpoint (phase 1 from
 * phase0/model.safetensors), a STRATEGY_OLD_MODEL strategy with a frozen copy
 * of those weights as the old model (forward only). Around the trainer the
 * driver calls the strategy's hooks (src/strategy/strategy.h: EWC's Fisher,
 * replay's buffer, WiSE-FT's and merge's mixing live there, not here). After
 * each phase: checkpoint, probe features, every test set evaluated,
 * results.csv/md and run.json rewritten. A STRATEGY_ONCE strategy (joint)
 * trains once on the union of all phases from phase 0 and reports at phase N.
 * The optimizer is fresh at the start of every phase (its schedule is per phase).
 * Loader seeds: phase k of every strategy uses the same seed (mix of the
 * experiment seed and k), so the strategies see the same batches.
 *
 * Resume: run.json's "completed" says which phases are done; a strategy's
 * unfinished phase continues from its resume checkpoint (trainer.h), and
 * metrics.jsonl is cut back to where that checkpoint was written. */
#ifndef MODX_RUN_CONTINUAL_H
#define MODX_RUN_CONTINUAL_H

#include "core/error.h"
#include "run/experiment.h"

typedef struct {
    int quiet;          /* no progress output */
    int resume;         /* continue the run in run_dir (its experiment.json) */
    const char *only_strategy; /* run just this strategy or variant (modx continual); NULL: all */
    uint64_t max_memory; /* --max-memory in bytes (0: none given): the old-feature cache's budget (train/trainer.h) */
} RunOptions;

/* Runs (or resumes) the experiment into run_dir. Everything about the
 * experiment and its data is checked before any training starts. */
ModxStatus continual_run(const Experiment *e, const char *run_dir, const RunOptions *opt);

/* Loads RUN_DIR/experiment.json (the resolved copy a run wrote). */
ModxStatus continual_load_run_experiment(Experiment *e, const char *run_dir);

/* The results table after the last phase, as Markdown (malloc'd), from RUN_DIR's metrics. */
ModxStatus continual_final_table(const char *run_dir, char **table);

#endif
