/* The run directory's layout and its run.json (docs/run-directory.md): the
 * one module that knows where a run's files live and reads and writes
 * run.json — the continual driver writes it, `modx analyze` and
 * `modx report` read it. (metrics.jsonl and the results tables: runlog.h.) */
#ifndef MODX_RUN_RUNDIR_H
#define MODX_RUN_RUNDIR_H

#include <stddef.h>

#include "core/error.h"
#include "train/runlog.h" /* RUN_PHASE0 */

#define RUN_FORMAT "modx-run-1"
#define RUN_JOINT "joint"    /* the upper bound the figures compare with (strategy/joint.c) */

typedef enum { RUN_SET_DOMAIN = 0, RUN_SET_HELDOUT = 1, RUN_SET_TRAIN_SAMPLE = 2, RUN_SET_ZEROSHOT = 3 } RunSetRole;

typedef struct {
    char *name;
    RunSetRole role;
    int first_phase; /* RUN_SET_DOMAIN: the first phase that trains this domain; else -1 */
    long images;     /* images in the set, −1 when run.json does not say */
} RunTestSet;

typedef struct {
    char *name;
    double seed;               /* NaN when absent */
    char **strategies;         /* (nstrategies) names (a strategy's, or a variant's) */
    char **bases;              /* (nstrategies) the registered strategy each runs ("bases"; default: its name) */
    int nstrategies;
    int phases;                /* N continual phases after phase 0 */
    char **phase_names;        /* (nphase_names) may be 0 */
    int nphase_names;
    RunTestSet *test_sets;     /* (ntest_sets) */
    int ntest_sets;
    char *probe_test_set;      /* NULL when run.json has no "probe" */
    int probe_pairs;           /* 0 when absent */
    char *status;              /* "running" or "done" */
    int *completed;            /* (nstrategies) last completed phase; see run_info_load */
    int phase0_done;           /* the shared phase-0 model is trained and evaluated */
    double metrics_bytes;      /* metrics.jsonl's size when the last phase completed (−1: unknown) */
} RunInfo;

/* Reads DIR/run.json. Errors (MODX_ERR_FORMAT, MODX_ERR_IO) name the file and
 * the item: a missing or mistyped field, an unknown format, a test-set role
 * other than domain/heldout/train_sample, a strategy repeated, a completed
 * phase outside [0, phases]. "completed" may be absent or partial: a strategy
 * it does not list has completed every phase when status is "done", none
 * otherwise. Free with run_info_free. */
ModxStatus run_info_load(RunInfo *out, const char *dir);
void run_info_free(RunInfo *r);

/* Writes DIR/run.json atomically: every field above (completed phases ≥ 1
 * only; "phase0": 0 when phase0_done; metrics_bytes when ≥ 0). */
ModxStatus run_info_save(const RunInfo *r, const char *dir);

/* A run file's path into buf: DIR/phase0/FILE for RUN_PHASE0 (any phase),
 * DIR/STRATEGY/FILE for phase < 0, else DIR/STRATEGY/phase<k>/FILE; FILE ""
 * gives the folder without a trailing '/'. 0 when it does not fit. */
int run_path(char *buf, size_t cap, const char *dir, const char *strategy, int phase, const char *file);
/* DIR/data/NAME.cache: where a run prepares an experiment dataset given as a
 * source (format + input); 0 when it does not fit. */
int run_data_cache_path(char *buf, size_t cap, const char *dir, const char *name);

/* A run with "seeds" (src/run/seeds.h): DIR/seed-<S> is seed S's complete run directory; 0 when
 * the path does not fit. */
#define RUN_SEED_PREFIX "seed-"
int run_seed_dir(char *buf, size_t cap, const char *dir, int seed);

/* One writer per run directory: an advisory lock (flock) on DIR/.modx.lock,
 * held for as long as the process writes the run and released by the kernel
 * when it exits or dies, so a killed run never leaves a stale lock. The file
 * holds the holder's pid and command line; a second writer is refused at once
 * with MODX_ERR_INVALID naming them. `command` is what this process is (its
 * command line, for the next one's message). */
typedef struct {
    int fd; /* −1: not held */
} RunLock;
#define RUN_LOCK_FILE ".modx.lock"
ModxStatus run_lock(RunLock *l, const char *dir, const char *command);
void run_unlock(RunLock *l);

/* The random stream of test set t's seeded sample is RUN_TEST_SAMPLE_STREAM + t
 * (with train.seed): the driver draws it, the report's gallery redraws it. */
#define RUN_TEST_SAMPLE_STREAM 0x5a3d1eull

/* The last phase whose checkpoint (and probe) a strategy has: completed[s]
 * for continual strategies; for one that trains once (joint), phases when it
 * completed (>= 1), else 0 (nothing). */
int run_info_last_phase(const RunInfo *r, int s);
/* 1 when strategy s trains once on all the data (its base is a STRATEGY_ONCE
 * strategy, e.g. joint): one checkpoint, at phase N. */
int run_info_trains_once(const RunInfo *r, int s);

/* Relative path of the probe features of strategy s at `phase` (phase 0 is
 * the shared "phase0/probe.safetensors") into buf; 0 when it does not fit. */
#define RUN_PROBE_FILE "probe.safetensors"
#define RUN_MODEL_FILE "model.safetensors"
int run_probe_relpath(char *buf, size_t cap, const RunInfo *r, int s, int phase);

#endif
