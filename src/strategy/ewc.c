/* ewc: Elastic Weight Consolidation: L_con + λ/2·Σ F (θ − θ*)², where θ* is the
 * previous phase's model and F the empirical batch Fisher of its contrastive
 * loss on the previous phase's data (loss/ewc.h); phase 1 uses phase 0's data
 * (no penalty when phase 0 trained on nothing). */
#include "strategy/strategy.h"

#include <stdlib.h>
#include <string.h>

#include "data/loader.h"
#include "loss/ewc.h"

static const StrategyHyper HYPERS[] = {
    {"lambda", "ewc_lambda", 1.0, 0, 1e12, 0, "weight λ of the penalty"},
    {"batches", "ewc_batches", 0, 0, 1000000, 1, "batches of the finished phase for the Fisher (0: one epoch)"},
};

typedef struct {
    float *fisher, *theta; /* (n) F and θ* */
    float lambda;
} Ewc;

/* The empirical Fisher of the contrastive loss of m on a set of images. A
 * ResNet tower's BatchNorm runs on its running statistics (eval mode) here,
 * so the Fisher leaves the model's state as the previous phase ended it. */
static ModxStatus compute_fisher(StrategyPhase *sp, long max_batches, float *fisher) {
    ClipModel *m = sp->model;
    int B = sp->batch;
    clip_model_set_bn_mode(m, CLIP_BN_EVAL);
    LoaderConfig lc = {.cache = sp->prev_cache, .images = sp->prev_images, .n_images = sp->n_prev, .batch = B,
                       .seed = sp->prev_seed, .drop_last = 1, .shuffle = 1, .prefetch = 0};
    DataLoader *ld = NULL;
    ClipStep *step = NULL;
    Batch b;
    memset(&b, 0, sizeof b);
    size_t n = m->table.total;
    float *grads = modx_calloc(n, sizeof(float), "gradients");
    ModxStatus st = grads ? loader_create(&ld, &lc) : MODX_ERR_NOMEM;
    if (st == MODX_OK) st = clip_step_new(&step, m, NULL, B);
    if (st == MODX_OK) st = batch_alloc(&b, B, sp->prev_cache->image_size, sp->prev_cache->context);
    long nb = ld ? (long)loader_batches_per_epoch(ld) : 0;
    if (max_batches > 0 && max_batches < nb) nb = max_batches;
    memset(fisher, 0, n * sizeof(float));
    StepLossTerm con = {0};
    for (long k = 0; st == MODX_OK && k < nb; k++) {
        loader_batch_at(ld, (uint64_t)k, &b);
        StepLoss sl;
        st = clip_step_run(step, b.pixels, b.tokens, B, &con, grads, &sl);
        if (st == MODX_OK) ewc_fisher_accumulate(fisher, grads, n);
    }
    if (st == MODX_OK) st = ewc_fisher_finish(fisher, n, nb, &m->table);
    sp->extra_passes = (int64_t)nb * B;
    clip_model_set_bn_mode(m, CLIP_BN_AUTO);
    batch_free(&b);
    clip_step_free(step);
    loader_free(ld);
    free(grads);
    return st;
}

static double penalty(void *ctx, float *grads, const float *params, size_t n) {
    const Ewc *w = ctx;
    return ewc_penalty(grads, params, w->theta, w->fisher, w->lambda, n);
}

static ModxStatus before(StrategyPhase *sp) {
    if (!sp->n_prev) return MODX_OK;
    size_t n = sp->model->table.total;
    Ewc *w = modx_calloc(1, sizeof *w, "EWC state");
    if (!w) return MODX_ERR_NOMEM;
    sp->state = w;
    w->lambda = (float)sp->si->hp[0];
    w->fisher = modx_calloc(n, sizeof(float), "EWC Fisher");
    w->theta = malloc(n * sizeof(float));
    if (!w->fisher || !w->theta) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    memcpy(w->theta, sp->model->params, n * sizeof(float));
    progress_note(sp->progress, "%s phase %d: Fisher of phase %d's model on its data", sp->si->name, sp->phase,
                  sp->phase - 1);
    MODX_TRY(compute_fisher(sp, (long)sp->si->hp[1], w->fisher));
    sp->penalty = (StepPenalty){penalty, w, NULL};
    return MODX_OK;
}

static void end(StrategyPhase *sp) {
    Ewc *w = sp->state;
    if (!w) return;
    free(w->fisher), free(w->theta), free(w);
    sp->state = NULL;
}

const StrategyDesc strategy_ewc = {
    .name = "ewc",
    .summary = "Elastic Weight Consolidation: contrastive + λ/2·Σ F (θ − θ*)² around the previous phase's model",
    .flags = STRATEGY_PHASE_STATE,
    .hypers = HYPERS,
    .n_hypers = 2,
    .before_phase = before,
    .end_phase = end,
};
