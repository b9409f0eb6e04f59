/* Pieces one strategy unit lends another (modx+replay is Mod-X's loss with
 * replay's buffer); each is defined in the file of the strategy it belongs to. */
#ifndef MODX_STRATEGY_PARTS_H
#define MODX_STRATEGY_PARTS_H

#include "strategy/strategy.h"

/* modx.c: L_con + α·L_kl with selection; reads the instance's "alpha". */
ModxStatus strategy_modx_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out);

/* modx_replay.c: Mod-X with the distillation on every row or (distill_rows
 * = replay) on the batch's replayed rows only (StepLossIO.replay_rows). */
ModxStatus strategy_modx_replay_loss(const StrategyInst *si, const StepLossIO *io, StepLoss *out);

/* zscl.c: λ·L_lwf (τ = 1) between the current model's and the starting
 * model's (io->Vo, To, scale_old) logits on a reference batch; reads "lambda". */
ModxStatus strategy_zscl_term(const StrategyInst *si, const StepLossIO *io, StepLoss *out);

/* replay.c: the buffer hooks; read the instance's "buffer" and "fraction". */
ModxStatus strategy_replay_before(StrategyPhase *sp);
ModxStatus strategy_replay_after(StrategyPhase *sp);
void strategy_replay_end(StrategyPhase *sp);

/* wiseft.c: weight-space mixing with the phase's starting weights θ_{k−1}.
 * keep_start (before_phase) copies them into sp->state; mix_with_start
 * (after_phase) sets θ = (1 − t)·θ_{k−1} + t·θ_k and rewrites the phase's
 * checkpoint with it (metadata modx.merge.mix = t); free_state (end_phase). */
ModxStatus strategy_keep_start(StrategyPhase *sp);
ModxStatus strategy_mix_with_start(StrategyPhase *sp, double t);
void strategy_free_state(StrategyPhase *sp);

/* cumulative.c: the phase's data as loader parts (sp->parts, mixed
 * uniformly): one per earlier phase with the pairs `policy` (0 all, 1 equal,
 * 2 exponential with `decay`, 3 reservoir) keeps under `budget` pairs (0: all
 * of them), then this phase's images; mix_end frees them (sp->state). */
ModxStatus strategy_mix_before(StrategyPhase *sp, int policy, size_t budget, double decay);
void strategy_mix_end(StrategyPhase *sp);

#define STRATEGY_ALPHA_HYPER \
    {"alpha", "alpha", 1.0, 0, 1e6, 0, "Mod-X distillation weight α (scale as α·B = 20·280, loss/modx.h)"}
#define STRATEGY_REPLAY_HYPERS                                                                              \
    {"buffer", "buffer", 1000, 1, 2147483647.0, 1, "replay buffer size in pairs"},                          \
        {"fraction", "replay_fraction", 0.5, 0, 0.9, 0, "share of each batch drawn from the replay buffer"}

#endif
