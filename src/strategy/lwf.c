/* lwf: Learning without Forgetting for CLIP: L_con + λ·L_lwf, the KL between
 * the old and the new model's image–text logits at temperature τ
 * (loss/lwf.h); the old model's logits use its own logit_scale. */
#include "strategy/strategy.h"

#include "loss/contrastive.h"
#include "loss/lwf.h"

static const StrategyHyper HYPERS[] = {
    {"lambda", "lwf_lambda", 1.0, 0, 1e6, 0, "weight λ of the distillation term"},
    {"tau", "lwf_tau", 1.0, 1e-3, 1e3, 0, "distillation temperature τ"},
};

static ModxStatus lwf_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out) {
    float w = (float)si->hp[0], tau = (float)si->hp[1];
    if (!(tau > 0.0f)) return modx_fail(MODX_ERR_INVALID, "LwF temperature %g, expected > 0", tau);
    out->loss_con =
        contrastive_forward_backward(io->dV, io->dT, io->dscale, io->scratch, io->V, io->T, io->scale, io->B, io->E);
    out->loss_kl = lwf_forward_backward(io->dV, io->dT, io->dscale, io->scratch, io->V, io->T, io->Vo, io->To,
                                        io->scale, io->scale_old, tau, w, io->B, io->E);
    out->loss = (float)((double)out->loss_con + (double)w * out->loss_kl);
    out->selected_i2t = out->selected_t2i = io->B;
    return MODX_OK;
}

const StrategyDesc strategy_lwf = {
    .name = "lwf",
    .summary = "Learning without Forgetting: contrastive + λ·KL(old logits ‖ new logits) at temperature τ",
    .flags = STRATEGY_OLD_MODEL,
    .hypers = HYPERS,
    .n_hypers = 2,
    .loss = lwf_loss,
};
