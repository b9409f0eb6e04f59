/* Elastic Weight Consolidation adapted to CLIP (SPEC §3 baselines).
 *
 * At the end of a phase the driver estimates a diagonal Fisher F of the
 * contrastive loss over that phase's data and keeps θ* = the phase's final
 * weights. During the next phase the loss gets a quadratic anchor
 *
 *   L_ewc(θ) = λ/2 · Σ_k F_k (θ_k − θ*_k)²,      dL_ewc/dθ_k = λ·F_k·(θ_k − θ*_k).
 *
 * All arrays have the model's flat parameter layout (clip/params.h), so a
 * Fisher or θ* buffer can be written with checkpoint_save like a model.
 * Every parameter takes part, logit_scale included.
 *
 * The Fisher is the EMPIRICAL Fisher over BATCHES: CLIP's contrastive loss is
 * defined per batch (each pair's term depends on the other pairs in the
 * batch), so there is no per-sample log-likelihood whose squared gradient
 * could be averaged. We use g_b = ∇θ L_con(batch b) (the gradient clip_step_run
 * produces) and
 *
 *   F = (1/N_b) Σ_b g_b ∘ g_b.
 *
 * Its scale therefore depends on the batch size (a batch gradient is an
 * average over B pairs, so its square shrinks roughly like 1/B); λ absorbs
 * that scale and must be tuned together with B.
 *
 * Usage:
 *   memset(fisher, 0, n·sizeof(float));
 *   for each of N_b batches of the finished phase: clip_step_run(...grads...);
 *       ewc_fisher_accumulate(fisher, grads, n);
 *   ewc_fisher_finish(fisher, n, N_b, &m->table);  theta_star = copy of m->params;
 *   ... next phase, each step after the backward:
 *   pen = ewc_penalty(grads, m->params, theta_star, fisher, lambda, n);  (loss += pen)
 * The penalty is a parameter-space term: it is added to the gradient after
 * the model's backward, never through the features. */
#ifndef MODX_LOSS_EWC_H
#define MODX_LOSS_EWC_H

#include <stddef.h>

#include "clip/params.h"
#include "core/error.h"

/* fisher[k] += grads[k]² for k < n (accumulated in float; each batch adds one
 * term, so float is ample for the thousands of batches of a phase). */
void ewc_fisher_accumulate(float *fisher, const float *grads, size_t n);

/* fisher[k] /= n_batches. Errors (MODX_ERR_INVALID) when n_batches < 1 or an
 * entry is not finite (naming the parameter through `table` when given, else
 * the flat index); the buffer is then left unspecified. */
ModxStatus ewc_fisher_finish(float *fisher, size_t n, long n_batches, const ParamTable *table);

/* Returns λ/2·Σ F (θ − θ*)² (summed in double, in a fixed order: the value does
 * not depend on the thread count) and, when grads is non-NULL, ADDS
 * λ·F∘(θ − θ*) into grads. lambda ≥ 0. */
double ewc_penalty(float *grads, const float *params, const float *theta_star, const float *fisher, float lambda,
                   size_t n);

#endif
