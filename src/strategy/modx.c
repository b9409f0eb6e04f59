/* modx: Mod-X (SPEC §3): L_con + α·L_kl, the KL between the old and the new
 * model's off-diagonal similarity distributions on the rows where the old
 * model's argmax is right (selection); loss/modx.h holds the maths.
 * modx-noselect is the paper's ablation without selection; it lives here
 * because it is Mod-X with one switch off. */
#include "strategy/parts.h"

#include "loss/modx.h"

static const StrategyHyper HYPERS[] = {STRATEGY_ALPHA_HYPER};

static ModxStatus modx_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out, int select) {
    ModxLossResult r;
    modx_loss_forward_backward(&r, io->dV, io->dT, io->dscale, io->scratch, io->V, io->T, io->Vo, io->To, io->scale,
                               (float)strategy_hp(si, "alpha"), select, io->B, io->E);
    out->loss = r.loss, out->loss_con = r.loss_con, out->loss_kl = r.loss_kl;
    out->selected_i2t = r.selected_i2t, out->selected_t2i = r.selected_t2i;
    return MODX_OK;
}

ModxStatus strategy_modx_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out) {
    return modx_loss(si, io, out, 1);
}

static ModxStatus noselect_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out) {
    return modx_loss(si, io, out, 0);
}

const StrategyDesc strategy_modx = {
    .name = "modx",
    .summary = "Mod-X: contrastive + α·KL on the old model's off-diagonal distributions, with selection",
    .flags = STRATEGY_OLD_MODEL,
    .hypers = HYPERS,
    .n_hypers = 1,
    .loss = strategy_modx_loss,
};

const StrategyDesc strategy_modx_noselect = {
    .name = "modx-noselect",
    .summary = "Mod-X without selection (the ablation)",
    .flags = STRATEGY_OLD_MODEL,
    .hypers = HYPERS,
    .n_hypers = 1,
    .loss = noselect_loss,
};
