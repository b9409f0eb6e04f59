/* wiseft: WiSE-FT across phases: fine-tune, then mix with the previous
 * phase's weights, θ = (1 − t)·θ_{k−1} + t·θ_k (train/merge.h); the next phase
 * starts from the mix, which replaces the phase's checkpoint. */
#include "strategy/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"
#include "train/merge.h"

static const StrategyHyper HYPERS[] = {
    {"mix", "wiseft_mix", 0.5, 0, 1, 0, "t in θ = (1 − t)·θ_prev + t·θ_new"},
};

static ModxStatus before(StrategyPhase *sp) {
    size_t n = sp->model->table.total;
    float *prev = malloc(n * sizeof(float));
    if (!prev) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    memcpy(prev, sp->model->params, n * sizeof(float));
    sp->state = prev;
    return MODX_OK;
}

static ModxStatus after(StrategyPhase *sp) {
    ClipModel *m = sp->model;
    double t = sp->si->hp[0];
    merge_params(m->params, sp->state, m->params, m->table.total, t);
    char mix[32], ph[16];
    snprintf(mix, sizeof mix, "%.17g", t);
    snprintf(ph, sizeof ph, "%d", sp->phase);
    CheckpointMeta meta[] = {{"modx.strategy", sp->si->name}, {"modx.phase", ph}, {"modx.merge.mix", mix}};
    return checkpoint_save(sp->out_path, m, m->params, meta, 3);
}

static void end(StrategyPhase *sp) {
    free(sp->state);
    sp->state = NULL;
}

const StrategyDesc strategy_wiseft = {
    .name = "wiseft",
    .summary = "fine-tune, then mix each phase's weights with the previous phase's (WiSE-FT)",
    .hypers = HYPERS,
    .n_hypers = 1,
    .before_phase = before,
    .after_phase = after,
    .end_phase = end,
};
