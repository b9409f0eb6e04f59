/* modx+replay: Mod-X's loss on batches that mix in replayed past pairs (the
 * distillation covers the whole mixed batch). */
#include "strategy/parts.h"

static const StrategyHyper HYPERS[] = {STRATEGY_ALPHA_HYPER, STRATEGY_REPLAY_HYPERS};

const StrategyDesc strategy_modx_replay = {
    .name = "modx+replay",
    .summary = "Mod-X on batches mixed with a replay buffer of past pairs",
    .flags = STRATEGY_OLD_MODEL | STRATEGY_SHARED_CACHE,
    .hypers = HYPERS,
    .n_hypers = 3,
    .loss = strategy_modx_loss,
    .before_phase = strategy_replay_before,
    .after_phase = strategy_replay_after,
    .end_phase = strategy_replay_end,
};
