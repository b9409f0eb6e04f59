/* The run's records (docs/run-directory.md): metrics.jsonl, one JSON object
 * per line (a logged training step or an evaluation), appended and flushed
 * line by line; and results.csv / results.md, strategy × phase × test set,
 * rewritten atomically from the evaluations so far.
 *
 * A resumed run truncates metrics.jsonl back to the size it had when the
 * checkpoint it resumes from was written (runlog_offset / runlog_truncate),
 * so steps that are trained again are not logged twice. */
#ifndef MODX_TRAIN_RUNLOG_H
#define MODX_TRAIN_RUNLOG_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "eval/retrieval.h"

/* The strategy name of the shared phase 0 in metrics.jsonl, the results and
 * the run directory (RUN_DIR/phase0/). */
#define RUN_PHASE0 "phase0"

/* A strategy or variant name is at most 63 characters (STRATEGY_NAME_MAX,
 * EXP_NAME_MAX), a test set's too. */
#define RUNLOG_NAME_MAX 64

typedef struct {
    char strategy[RUNLOG_NAME_MAX];
    int phase;
    char test_set[RUNLOG_NAME_MAX];
    RetrievalMetrics m;
} EvalRecord;

/* A zero-shot evaluation ("zeroshot" line): top-1/top-5 accuracy in %. */
typedef struct {
    char strategy[RUNLOG_NAME_MAX];
    int phase;
    char test_set[RUNLOG_NAME_MAX];
    int images, classes, templates;
    double top1, top5;
} ZeroShotRecord;

typedef struct {
    char *path; /* metrics.jsonl */
    FILE *f;
    EvalRecord *evals;
    int n_evals, cap_evals;
    ZeroShotRecord *zs;
    int n_zs, cap_zs;
} RunLog;

/* Opens RUN_DIR/metrics.jsonl for appending (created when missing) and reads
 * back the evaluations already in it (a resumed run). */
ModxStatus runlog_open(RunLog *log, const char *run_dir);
void runlog_close(RunLog *log);
/* Current size of metrics.jsonl in bytes. */
uint64_t runlog_offset(RunLog *log);
/* Cuts metrics.jsonl back to `offset` bytes and forgets evaluations past it. */
ModxStatus runlog_truncate(RunLog *log, uint64_t offset);

typedef struct {
    const char *strategy;
    int phase;
    int64_t step, steps;
    double loss, loss_con, loss_kl, lr, samples_per_s;
    double epoch;       /* fractional epoch reached: step / batches per epoch */
    double logit_scale; /* the model's logit_scale after the step */
} StepRecord;

ModxStatus runlog_step(RunLog *log, const StepRecord *r);

/* What a phase cost (one "compute" line when it ends; docs/metrics.md):
 * pair-level passes, so strategies compare at equal compute whatever the batch. */
typedef struct {
    const char *strategy;
    int phase;
    int64_t samples;               /* training pairs the phase's steps processed (steps × batch) */
    int64_t forward_passes;        /* pair forwards through the trained model (steps, and the strategy's own) */
    int64_t backward_passes;       /* pair backwards through it */
    int64_t frozen_forward_passes; /* pair forwards through frozen models (Mod-X/LwF's old model) */
    double matmul_flops;           /* the matrix-product FLOPs of all of these */
    double train_s;                /* wall time this process spent training the phase */
    int64_t peak_rss_bytes;        /* the process's peak resident memory so far */
} ComputeRecord;
ModxStatus runlog_compute(RunLog *log, const ComputeRecord *r);
/* The evaluation cost of a phase: a second "compute" line for (strategy, phase), written after the
 * probe features and every test set were evaluated, with "eval_s" (their wall time) only; a reader
 * merges the keys of a phase's compute lines (a later line's keys win). */
ModxStatus runlog_eval_time(RunLog *log, const char *strategy, int phase, double eval_s);
ModxStatus runlog_eval(RunLog *log, const char *strategy, int phase, const char *test_set, const RetrievalMetrics *m);

/* A zero-shot test set's accuracy: {"type": "zeroshot", "strategy", "phase", "test_set", "images",
 * "classes", "templates", "top1", "top5"}; r's strategy/phase/test_set name it. */
ModxStatus runlog_zeroshot(RunLog *log, const ZeroShotRecord *r);
/* The latest zero-shot evaluation of (strategy, phase, test set), NULL when none. */
const ZeroShotRecord *runlog_find_zeroshot(const RunLog *log, const char *strategy, int phase, const char *test_set);

/* Reads metrics.jsonl at `path` (its first `limit` bytes) and calls fn for
 * each complete line with the parsed object and its "type" ("step", "eval"):
 * the one reader of the format (the run log, the report). Blank lines are
 * skipped; an unfinished last line (a killed or still running run) is left
 * out; a line that is not an object with a string "type" is an error naming
 * path:line; the first error fn returns stops the reading. */
struct cJSON;
typedef ModxStatus (*RunLogLineFn)(void *ctx, const struct cJSON *o, const char *type, const char *path, long line);
ModxStatus runlog_each_line(const char *path, uint64_t limit, RunLogLineFn fn, void *ctx);

/* The latest evaluation of (strategy, phase, test set), NULL when none. */
const EvalRecord *runlog_find_eval(const RunLog *log, const char *strategy, int phase, const char *test_set);

/* Writes RUN_DIR/results.csv and RUN_DIR/results.md from the evaluations.
 * strategies[0..ns) in display order ("phase0" first is added by the writer),
 * tests[0..nt) test set names, roles[] their roles ("zeroshot": a zero-shot
 * set, whose rows carry zs_top1/zs_top5 and no retrieval figures), n_phases N. */
ModxStatus runlog_write_results(const RunLog *log, const char *run_dir, const char *title, const char *const *strategies,
                                int ns, const char *const *tests, const char *const *roles, int nt, int n_phases);

/* The results table after the last phase (R@1 mean of both directions per test
 * set, and the mean over the sets whose role is "domain": the one definition
 * of "mean" the report uses too; no mean column without such a set; then a
 * zero-shot set's top-1, outside the mean), as Markdown, malloc'd.
 * roles[t]: "domain", "heldout", "train_sample" or "zeroshot". */
char *runlog_final_table(const RunLog *log, const char *const *strategies, int ns, const char *const *tests,
                         const char *const *roles, int nt, int n_phases);

#endif
