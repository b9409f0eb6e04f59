/* Test helper: a Mod-X (or Mod-X without selection) loss term at α, the loss
 * `modx grad --old … --alpha A [--noselect]` runs. */
#ifndef MODX_TESTS_STRATEGY_UTIL_H
#define MODX_TESTS_STRATEGY_UTIL_H

#include "strategy/strategy.h"

static inline StepLossTerm test_modx_term(StrategyInst *si, double alpha, int select) {
    if (strategy_inst_named(si, select ? "modx" : "modx-noselect") != MODX_OK ||
        strategy_inst_set(si, "alpha", alpha, "test") != MODX_OK)
        CHECK(0, "%s", modx_last_error());
    return strategy_loss(si);
}

#endif
