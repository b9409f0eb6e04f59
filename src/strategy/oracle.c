/* oracle: after every phase k, retrain from the starting model (phase 0's
 * end point) on all the data seen so far: phase 0's set and phases 1 … k,
 * train.epochs passes over it. The compute-hungry upper bound TiC-CLIP
 * compares against; its steps grow with k and show in each phase's compute
 * record. Its data mix is cumulative's with policy `all` and no budget
 * (the same loader parts, so the same pairs every epoch). */
#include "strategy/parts.h"

static ModxStatus before(StrategyPhase *sp) {
    return strategy_mix_before(sp, 0, 0, 1.0);
}

const StrategyDesc strategy_oracle = {
    .name = "oracle",
    .summary = "retrain from the starting model on all the data so far after every phase",
    .flags = STRATEGY_FROM_START | STRATEGY_SHARED_CACHE,
    .before_phase = before,
    .end_phase = strategy_mix_end,
};
