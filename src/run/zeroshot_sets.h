/* A run's zero-shot test sets ("role": "zeroshot", docs/experiment.md): their
 * classes, templates and labelled images set up and checked before any
 * training, and after every phase each set's top-1/top-5 accuracy
 * (eval/zeroshot_run.h, the computation of `modx zeroshot`) written to
 * metrics.jsonl as a "zeroshot" line. */
#ifndef MODX_RUN_ZEROSHOT_SETS_H
#define MODX_RUN_ZEROSHOT_SETS_H

#include <stddef.h>
#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "eval/zeroshot_labels.h"
#include "run/experiment.h"
#include "tok/bpe.h"
#include "train/progress.h"
#include "train/runlog.h"

typedef struct {
    int test;          /* index into Experiment.tests; −1: not a zero-shot set */
    const Cache *cache;
    ZsLabelled z;      /* the images and their labels */
    int32_t *labels;   /* (z.n) class of each image */
    ZsNames classes, templates;
} ZsSet;

typedef struct {
    ZsSet *sets;       /* (n_tests), by test-set index */
    int n_tests;
    Bpe *bpe;          /* the experiment's tokenizer, when a zero-shot set needs it */
} ZsSets;

/* Allocates one slot per test set; loads the tokenizer when any is zero-shot. */
ModxStatus zs_sets_init(ZsSets *zs, const Experiment *e);
/* Test set t (a zero-shot one) over its selection's images: *images / *n
 * become the labels file's images when the set has one (the old list freed).
 * Errors name the experiment file and the test set. */
ModxStatus zs_sets_add(ZsSets *zs, const Experiment *e, int t, const Cache *c, uint32_t **images, size_t *n);
/* Evaluates test set t with model m and appends the "zeroshot" line. */
ModxStatus zs_sets_evaluate(const ZsSets *zs, const Experiment *e, int t, const ClipModel *m, RunLog *log,
                            Progress *progress, const char *label, int phase);
void zs_sets_free(ZsSets *zs);

#endif
