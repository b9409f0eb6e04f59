#include "run/zeroshot_sets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/zeroshot_run.h"

ModxStatus zs_sets_init(ZsSets *zs, const Experiment *e) {
    memset(zs, 0, sizeof *zs);
    zs->sets = calloc((size_t)e->n_tests + 1, sizeof *zs->sets);
    if (!zs->sets) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    zs->n_tests = e->n_tests;
    int any = 0;
    for (int t = 0; t < e->n_tests; t++) {
        zs->sets[t].test = -1;
        any |= e->tests[t].role == TESTSET_ZEROSHOT;
    }
    if (!any) return MODX_OK;
    ModxStatus st = bpe_load(&zs->bpe, e->tokenizer);
    if (st != MODX_OK) modx_error_prefix("%s: 'tokenizer' (zero-shot prompts): ", e->path);
    return st;
}

/* The labelled images, classes and templates of set x (test set t). */
static ModxStatus set_fill(ZsSet *x, const Experiment *e, const ExpTestSet *ts, const Cache *c, uint32_t **images,
                           size_t *n) {
    const ExpZeroShot *q = &ts->zs;
    MODX_TRY(zs_read_templates(q->templates, &x->templates));
    if (q->classes) MODX_TRY(zs_read_lines(q->classes, "class names", &x->classes));
    if (q->labels == ZS_LABELS_FILE) {
        MODX_TRY(zs_label_file(&x->z, c, e->datasets[ts->sel.dataset].cache, q->labels_file));
        uint32_t *copy = malloc((size_t)x->z.n * sizeof *copy);
        if (!copy) return modx_fail(MODX_ERR_NOMEM, "out of memory");
        memcpy(copy, x->z.images, (size_t)x->z.n * sizeof *copy);
        free(*images);
        *images = copy, *n = (size_t)x->z.n;
    } else {
        MODX_TRY(zs_label_images(&x->z, c, (ZsLabelSource)q->labels, *images, *n));
    }
    if (x->z.n < 1) return modx_fail(MODX_ERR_INVALID, "no images to classify");
    const ZsNames *cls = x->classes.n ? &x->classes : &x->z.seen;
    return zs_class_labels(cls, &x->z, q->classes, &x->labels);
}

ModxStatus zs_sets_add(ZsSets *zs, const Experiment *e, int t, const Cache *c, uint32_t **images, size_t *n) {
    ZsSet *x = &zs->sets[t];
    x->test = t;
    x->cache = c;
    ModxStatus st = set_fill(x, e, &e->tests[t], c, images, n);
    if (st != MODX_OK) modx_error_prefix("%s: test set '%s' (zero-shot): ", e->path, e->tests[t].name);
    return st;
}

ModxStatus zs_sets_evaluate(const ZsSets *zs, const Experiment *e, int t, const ClipModel *m, RunLog *log,
                            Progress *progress, const char *label, int phase) {
    const ZsSet *x = &zs->sets[t];
    const ExpTestSet *ts = &e->tests[t];
    const ZsNames *cls = x->classes.n ? &x->classes : &x->z.seen;
    ZeroShotResult res;
    ModxStatus st = zeroshot_run(&res, m, zs->bpe, x->cache, ts->name, x->z.images, x->labels, x->z.n,
                                 (const char *const *)cls->items, cls->n, (const char *const *)x->templates.items,
                                 x->templates.n, e->hp.eval_batch, NULL);
    if (st != MODX_OK) {
        modx_error_prefix("test set '%s' (zero-shot): ", ts->name);
        return st;
    }
    ZeroShotRecord r = {.phase = phase, .images = res.n, .classes = cls->n, .templates = x->templates.n,
                        .top1 = res.top1, .top5 = res.top5};
    snprintf(r.strategy, sizeof r.strategy, "%s", label);
    snprintf(r.test_set, sizeof r.test_set, "%s", ts->name);
    MODX_TRY(runlog_zeroshot(log, &r));
    progress_note(progress, "  eval %-12s phase %d  %-14s zero-shot top-1 %5.1f  top-5 %5.1f  (%d classes)", label,
                  phase, ts->name, res.top1, res.top5, cls->n);
    return MODX_OK;
}

void zs_sets_free(ZsSets *zs) {
    for (int t = 0; t < zs->n_tests && zs->sets; t++) {
        ZsSet *x = &zs->sets[t];
        zs_labelled_free(&x->z);
        free(x->labels);
        zs_names_free(&x->classes), zs_names_free(&x->templates);
    }
    free(zs->sets);
    bpe_free(zs->bpe);
    memset(zs, 0, sizeof *zs);
}
