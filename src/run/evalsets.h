/* Evaluating an experiment's test sets after a phase: the one loop the
 * continual driver (src/run/continual.c) and modx watch (src/run/watch.c)
 * share. A zero-shot set is classified (src/run/zeroshot_sets.h); any other is
 * encoded (by every rank of a job together: eval_encode_ranks) and scored by
 * retrieval. Each result is appended to metrics.jsonl and noted on the
 * progress line, in the order of the test sets. */
#ifndef MODX_RUN_EVALSETS_H
#define MODX_RUN_EVALSETS_H

#include <stddef.h>
#include <stdint.h>

#include "clip/model.h"
#include "eval/encode.h"
#include "run/experiment.h"
#include "run/zeroshot_sets.h"
#include "train/progress.h"
#include "train/runlog.h"

/* A list of cache images (a test set's, a phase's). */
typedef struct {
    uint32_t *images;
    size_t n;
} ImageList;

typedef struct {
    const Experiment *e;
    Cache *const *caches;          /* (e->n_datasets) the test sets' datasets */
    const ImageList *tests;        /* (e->n_tests) each test set's images */
    const ZsSets *zs;
    ClipActs *acts;                /* an inference arena of eval_batch rows kept across calls; NULL: one per set */
    RunLog *log;
    Progress *progress;
    /* Called with a retrieval set's encoding before its line is logged (so a
     * file it writes, e.g. the probe, is there before the evaluation counts as
     * done); NULL: none. */
    ModxStatus (*on_encoded)(void *ctx, int t, const EncodedSet *es);
    void *ctx;
} EvalSets;

/* Every test set of ev->e with model m, recorded as (label, phase). */
ModxStatus evalsets_run(const EvalSets *ev, const ClipModel *m, const char *label, int phase);

#endif
