#include "run/evalsets.h"

#include <signal.h>
#include <stdlib.h>

/* Test hook: with MODX_TEST_KILL_AFTER_EVALS=N the process sends itself
 * SIGKILL right after recording its N-th evaluation. */
static void maybe_kill_after_eval(void) {
    static long after = -2, done = 0;
    if (after == -2) {
        const char *v = getenv("MODX_TEST_KILL_AFTER_EVALS");
        after = v && *v ? strtol(v, NULL, 10) : -1;
    }
    if (after >= 0 && ++done >= after) raise(SIGKILL);
}

static ModxStatus retrieval_set(const EvalSets *ev, int t, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = ev->e;
    const ExpTestSet *ts = &e->tests[t];
    EncodedSet es;
    RetrievalMetrics rm;
    MODX_TRY(eval_encode_ranks(&es, m, ev->acts, ev->caches[ts->sel.dataset], ts->name, ev->tests[t].images,
                               ev->tests[t].n, e->hp.eval_batch));
    ModxStatus st = eval_retrieval(&rm, &es);
    if (st == MODX_OK && ev->on_encoded) st = ev->on_encoded(ev->ctx, t, &es);
    encoded_set_free(&es);
    MODX_TRY(st);
    MODX_TRY(runlog_eval(ev->log, label, phase, ts->name, &rm));
    maybe_kill_after_eval();
    progress_note(ev->progress, "  eval %-12s phase %d  %-14s i2t R@1 %5.1f  t2i R@1 %5.1f  rsum %6.1f", label, phase,
                  ts->name, rm.i2t_r1, rm.t2i_r1, rm.rsum);
    return MODX_OK;
}

ModxStatus evalsets_run(const EvalSets *ev, const ClipModel *m, const char *label, int phase) {
    const Experiment *e = ev->e;
    for (int t = 0; t < e->n_tests; t++) {
        if (e->tests[t].role == TESTSET_ZEROSHOT) {
            MODX_TRY(zs_sets_evaluate(ev->zs, e, t, m, ev->log, ev->progress, label, phase));
            maybe_kill_after_eval();
        } else {
            MODX_TRY(retrieval_set(ev, t, m, label, phase));
        }
    }
    return MODX_OK;
}
