/* modx+replay: Mod-X's loss on batches that mix in replayed past pairs. The
 * variant key distill_rows chooses where the distillation goes:
 *   all     the whole mixed batch (Mod-X's loss as it is);
 *   replay  only the replayed pairs: L = L_con(batch) + α·L_kl(the R replayed
 *           rows' own R×R similarities, with selection), so the new pairs
 *           learn freely and the old ones keep the old model's structure.
 * The trainer puts the R replayed pairs last (StepLossIO.replay_rows); with
 * no replayed rows the replay variant is the contrastive loss alone. */
#include "strategy/parts.h"

#include "loss/modx.h"

enum { ROWS_ALL, ROWS_REPLAY };
static const char *const ROWS[] = {"all", "replay", NULL};
static const char *const *const CHOICES[] = {NULL, NULL, NULL, ROWS};

static const StrategyHyper HYPERS[] = {
    STRATEGY_ALPHA_HYPER,
    STRATEGY_REPLAY_HYPERS,
    {"distill_rows", "distill_rows", ROWS_ALL, 0, 1, 1, "rows Mod-X distils: all (the whole batch) or replay (the replayed pairs)"},
};

ModxStatus strategy_modx_replay_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out) {
    if ((int)strategy_hp(si, "distill_rows") == ROWS_ALL) return strategy_modx_loss(si, io, out);
    MODX_TRY(step_loss_contrastive(NULL, io, out));
    int R = io->replay_rows, off = io->B - R, E = io->E;
    out->selected_i2t = out->selected_t2i = 0;
    if (R <= 0) return MODX_OK;
    size_t o = (size_t)off * (size_t)E;
    float alpha = (float)strategy_hp(si, "alpha");
    out->loss_kl = modx_kl_forward_backward(io->dV ? io->dV + o : NULL, io->dT ? io->dT + o : NULL, io->scratch, NULL,
                                            NULL, &out->selected_i2t, &out->selected_t2i, io->V + o, io->T + o,
                                            io->Vo + o, io->To + o, alpha, 1, R, E);
    out->loss += alpha * out->loss_kl;
    return MODX_OK;
}

const StrategyDesc strategy_modx_replay = {
    .name = "modx+replay",
    .summary = "Mod-X on batches mixed with a replay buffer of past pairs (distilled on all rows or the replayed ones)",
    .flags = STRATEGY_OLD_MODEL | STRATEGY_SHARED_CACHE,
    .hypers = HYPERS,
    .n_hypers = 4,
    .choices = CHOICES,
    .loss = strategy_modx_replay_loss,
    .before_phase = strategy_replay_before,
    .after_phase = strategy_replay_after,
    .end_phase = strategy_replay_end,
};
