/* finetune: plain sequential fine-tuning with the contrastive loss (CLIP_ct
 * in the Mod-X paper), the baseline every continual strategy must beat. */
#include "strategy/strategy.h"

const StrategyDesc strategy_finetune = {
    .name = "finetune",
    .summary = "plain sequential fine-tuning (contrastive loss only)",
};
