/* Learning without Forgetting adapted to CLIP (SPEC §3 baselines).
 *
 * The old model (frozen at the end of the previous phase, forward only) and
 * the current model see the same batch. Each model's logits are its own
 * scaled cosine matrix, as in its contrastive loss:
 *   Z  = s  · V  · Tᵀ,       s  = exp(logit_scale)       (current model)
 *   Z° = s° · V° · T°ᵀ,      s° = exp(logit_scale_old)   (old model, its OWN scale)
 * V, T, V_old, T_old: (B, E) L2-normalised features, row-major. With a
 * temperature τ > 0 (default 1) and, for a row vector x,
 * H(q, x) = −Σ_j softmax(q/τ)_j · log softmax(x/τ)_j (soft cross-entropy):
 *
 *   L_lwf = ½ [ (1/B) Σ_i H(Z°_i, Z_i) + (1/B) Σ_j H(Z°ᵀ_j, Zᵀ_j) ]
 *
 * i.e. image→text rows of Z and text→image rows (columns of Z), both
 * directions, every row (no selection, unlike Mod-X), a MEAN over rows like
 * CLIP's contrastive loss (so its size does not depend on B). The diagonal is
 * included. No τ² factor: with τ ≠ 1 multiply the weight by τ² yourself for
 * Hinton's gradient scaling. The old model's scale is used for its targets
 * because that is the distribution it actually predicts; the old scale is a
 * constant (no gradient).
 *
 * Note H(q, p) = KL(q ‖ p) + entropy(q): L_lwf is never below the mean entropy
 * of the old model's rows, and it equals that entropy, with zero gradient,
 * when the current model equals the old one.
 *
 * Gradient: with p = softmax(Z_i/τ), q = softmax(Z°_i/τ) over a row, and the
 * same over a column,
 *   G[i,j] = dL/dZ[i,j] = (p_row(i)[j] − q_row(i)[j] + p_col(j)[i] − q_col(j)[i]) / (2Bτ),
 *   dL/dV = s·G·T, dL/dT = s·Gᵀ·V, dL/dlogit_scale = Σ G∘Z.
 *
 * Training loss: L = L_con + λ·L_lwf, λ the caller's weight (LWF_WEIGHT_DEFAULT).
 *
 * Conventions (as contrastive.h): gradients are ADDED (+=) into dV, dT and
 * *dlogit_scale, each of which may be NULL (all NULL = forward only); the
 * logsumexps are max-subtracted and summed in double; deterministic for a
 * fixed thread count. */
#ifndef MODX_LOSS_LWF_H
#define MODX_LOSS_LWF_H

#include <stddef.h>

/* Defaults: the distillation weight λ and temperature τ. λ = 1 weighs the
 * distillation like the contrastive loss (both are means over rows). */
#define LWF_WEIGHT_DEFAULT 1.0f
#define LWF_TAU_DEFAULT 1.0f

/* Floats of scratch memory lwf_forward_backward needs for batch B
 * (2·B·B + 7·B). Allocate it once, outside the step loop. */
size_t lwf_scratch_floats(int B);

/* Returns L_lwf (before the weight) and adds weight·dL_lwf/d{V, T, logit_scale}.
 * scratch: lwf_scratch_floats(B) floats, overwritten. Requires B ≥ 1, E ≥ 1,
 * tau > 0 (CHECKed: these come from the program, not from data). */
float lwf_forward_backward(float *dV, float *dT, float *dlogit_scale, float *scratch, const float *V, const float *T,
                           const float *V_old, const float *T_old, float logit_scale, float logit_scale_old, float tau,
                           float weight, int B, int E);

/* The same with plain double loops and no BLAS, loss returned in double (the
 * reference the BLAS version is tested against; tests only; allocates and
 * CHECKs the allocation). */
double lwf_forward_backward_naive(float *dV, float *dT, float *dlogit_scale, const float *V, const float *T,
                                  const float *V_old, const float *T_old, float logit_scale, float logit_scale_old,
                                  float tau, float weight, int B, int E);

#endif
