/* wiseft: WiSE-FT across phases: fine-tune, then mix with the previous
 * phase's weights, θ = (1 − t)·θ_{k−1} + t·θ_k (train/merge.h); the next phase
 * starts from the mix, which replaces the phase's checkpoint. The two hooks
 * are lent to other weight-space strategies (parts.h). */
#include "strategy/parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"
#include "train/merge.h"

static const StrategyHyper HYPERS[] = {
    {"mix", "wiseft_mix", 0.5, 0, 1, 0, "t in θ = (1 − t)·θ_prev + t·θ_new"},
};

/* The starting weights, then the model state (BatchNorm running statistics of
 * a ResNet tower), which is mixed like the weights. */
ModxStatus strategy_keep_start(StrategyPhase *sp) {
    size_t n = sp->model->table.total, ns = sp->model->table.state_total;
    float *start = malloc((n + ns + 1) * sizeof(float));
    if (!start) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    memcpy(start, sp->model->params, n * sizeof(float));
    if (ns) memcpy(start + n, sp->model->state, ns * sizeof(float));
    sp->state = start;
    return MODX_OK;
}

ModxStatus strategy_mix_with_start(StrategyPhase *sp, double t) {
    ClipModel *m = sp->model;
    const float *start = sp->state;
    size_t n = m->table.total, ns = m->table.state_total;
    merge_params(m->params, start, m->params, n, t);
    if (ns) merge_params(m->state, start + n, m->state, ns, t);
    char mix[32], ph[16];
    snprintf(mix, sizeof mix, "%.17g", t);
    snprintf(ph, sizeof ph, "%d", sp->phase);
    CheckpointMeta meta[] = {{"modx.strategy", sp->si->name}, {"modx.phase", ph}, {"modx.merge.mix", mix}};
    return checkpoint_save(sp->out_path, m, m->params, meta, 3);
}

void strategy_free_state(StrategyPhase *sp) {
    free(sp->state);
    sp->state = NULL;
}

static ModxStatus after(StrategyPhase *sp) { return strategy_mix_with_start(sp, sp->si->hp[0]); }

const StrategyDesc strategy_wiseft = {
    .name = "wiseft",
    .summary = "fine-tune, then mix each phase's weights with the previous phase's (WiSE-FT)",
    .hypers = HYPERS,
    .n_hypers = 1,
    .before_phase = strategy_keep_start,
    .after_phase = after,
    .end_phase = strategy_free_state,
};
