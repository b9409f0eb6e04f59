/* `modx watch`: continual training on a folder that grows.
 *
 * The watched folder receives webdataset shards. A shard NAME.tar is complete,
 * and may be taken, once the file NAME.tar.done exists beside it (its writer
 * creates the marker after closing the shard); a shard without its marker is
 * never opened, so a shard still being written is not read. Only names ending
 * in ".tar" that do not start with '.' count; other files are ignored.
 *
 * Whenever at least min_shards complete shards that no phase has taken are
 * there, all of them (in name order) become the next phase k: read (data/wds.h:
 * unsafe members refused, a caption over the limit an error naming the shard
 * and key) and prepared at the model's image size and context length with the
 * experiment's tokenizer into RUN_DIR/stream/phase<k>.cache, recorded in
 * RUN_DIR/watch.json (run/watch_state.h), trained with the experiment's one
 * strategy from phase k−1's model (its hooks around the trainer, as the
 * continual driver runs them), evaluated on the experiment's test sets, and
 * published as RUN_DIR/latest.safetensors (written to a temporary name and
 * renamed, so a reader sees the previous model or the new one, never a torn
 * file). Phase 0 is the experiment's phase0.checkpoint, or the freshly
 * initialised model, saved as RUN_DIR/phase0/model.safetensors, evaluated and
 * published the same way.
 *
 * RUN_DIR: experiment.json (the resolved experiment; a later start with a
 * different experiment is refused), watch.json, phase0/, <strategy>/phase<k>/
 * (model, optimizer state, the strategy's files), <strategy>/resume.* while a
 * phase trains, stream/phase<k>.cache, metrics.jsonl, results.csv/md and
 * latest.safetensors (docs/run-directory.md).
 *
 * Restart: a phase recorded in watch.json but not done resumes from the
 * trainer's resume checkpoint (train/trainer.h) or from its start, with
 * metrics.jsonl cut back, so a run killed at any point and started again ends
 * with the same files as one never stopped, no shard trained twice or
 * skipped. SIGINT/SIGTERM finish the step, write the resume checkpoint and
 * stop (*stopped = the signal). */
#ifndef MODX_RUN_WATCH_H
#define MODX_RUN_WATCH_H

#include "core/error.h"
#include "run/experiment.h"

#define WATCH_DONE_SUFFIX ".done"
#define WATCH_LATEST_FILE "latest.safetensors"

typedef struct {
    const char *dir;   /* the watched folder */
    int min_shards;    /* K ≥ 1: complete new shards needed for a phase */
    int once;          /* 1: process what is there, then return */
    double interval;   /* seconds between looks at the folder (polling) */
    int quiet;
} WatchOptions;

/* Watches opt->dir for experiment e (loaded with experiment_load_watch) into
 * run_dir until a signal (or, with once, until nothing is left to take).
 * The experiment must have exactly one strategy (not one that trains once on
 * all the data), a tokenizer, and no phase-0 training set. */
ModxStatus watch_run(const Experiment *e, const char *run_dir, const WatchOptions *opt, int *stopped);

#endif
