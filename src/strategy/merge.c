/* merge: after each phase, the weight average of the phase end-points so far,
 * carried forward as the next phase's start (model merging across phases, the
 * best keep/learn trade in FoMo-in-Flux).
 *
 * Phase k starts from θ̄_{k−1} and fine-tunes it to θ_k; then
 *   θ̄_k = (1 − w_k)·θ̄_{k−1} + w_k·θ_k,   w_k = 1/(k + 1) (uniform: θ̄_k is the
 * mean of θ_0 … θ_k, phase 0's model counted), or w_k = weight when
 * "weight" > 0 (an exponential moving average that favours recent phases).
 * θ̄_k replaces the phase's checkpoint (WiSE-FT's mixing hooks, parts.h). */
#include "strategy/parts.h"

static const StrategyHyper HYPERS[] = {
    {"weight", "merge_weight", 0, 0, 1, 0, "weight of the newest end-point (0: the uniform mean of all so far)"},
};

static ModxStatus after(StrategyPhase *sp) {
    double w = sp->si->hp[0] > 0 ? sp->si->hp[0] : 1.0 / (sp->phase + 1);
    return strategy_mix_with_start(sp, w);
}

const StrategyDesc strategy_merge = {
    .name = "merge",
    .summary = "the weight average of the phase end-points so far, carried forward",
    .hypers = HYPERS,
    .n_hypers = 1,
    .before_phase = strategy_keep_start,
    .after_phase = after,
    .end_phase = strategy_free_state,
};
