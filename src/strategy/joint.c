/* joint: the upper bound. Trains once, from phase 0's model, on the union of
 * all the data (phase 0's set and every phase, from one cache or from phase
 * 0's and the stream's: two loader parts, uniform or in the experiment's
 * "shares"), with train.joint_epochs and train.joint_weight_decay; reported
 * at phase N. */
#include "strategy/strategy.h"

const StrategyDesc strategy_joint = {
    .name = "joint",
    .summary = "the union of all the data at once, from phase 0 (upper bound)",
    .flags = STRATEGY_ONCE,
};
