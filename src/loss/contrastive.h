/* Symmetric CLIP contrastive loss (SPEC §3), forward and backward in one call.
 *
 * V, T: (B, E) L2-normalised image and text features, row-major; pair i is
 * (V[i], T[i]). With s = exp(logit_scale) and logits = s·V·Tᵀ (B, B):
 *
 *   L_con = ½ [ CE(logits, diag) + CE(logitsᵀ, diag) ],
 *   CE(X, diag) = (1/B) Σ_i ( logsumexp_j X[i,j] − X[i,i] ).
 *
 * Gradients: with p_row = softmax over a row of logits, p_col = softmax over a
 * column, G[i,j] = (1/2B)·(p_row[i][j] + p_col[j][i] − 2·δij) = dL/dlogits[i,j];
 * dL/dV = s·G·T, dL/dT = s·Gᵀ·V, dL/dlogit_scale = Σ G∘logits.
 * The log-softmax subtracts each row's / column's maximum before exponentiating
 * and accumulates sums in double, so large scales (s = 100) do not overflow;
 * each row's CE term is kept as logsumexp − diagonal logit and p_ii − 1 is
 * formed with expm1, so a small loss at s = 100 keeps its relative precision.
 *
 * Conventions (as every _backward in modx): gradients are ADDED into dV, dT and
 * *dlogit_scale (+=), so the caller zeroes them first and several losses can
 * accumulate into the same buffers. Pass dV = dT = dlogit_scale = NULL for a
 * forward-only call. Deterministic: the same inputs give bit-identical outputs
 * for a fixed OpenMP thread count (row/column loops are static). */
#ifndef MODX_LOSS_CONTRASTIVE_H
#define MODX_LOSS_CONTRASTIVE_H

#include <stddef.h>

/* Floats of scratch memory contrastive_forward_backward needs for batch B
 * (B·B + 3·B). Allocate it once, outside the step loop. */
size_t contrastive_scratch_floats(int B);

/* Returns L_con; adds the gradients as described above when dV/dT/dlogit_scale
 * are non-NULL (each may be NULL on its own). The B×B products use gemm_f32.
 * scratch: contrastive_scratch_floats(B) floats, overwritten.
 * Requires B ≥ 1, E ≥ 1 (CHECKed: sizes come from the model, not from data). */
float contrastive_forward_backward(float *dV, float *dT, float *dlogit_scale, float *scratch,
                                   const float *V, const float *T, float logit_scale, int B, int E);

/* The same loss (returned in double, so finite differences of it are precise)
 * and gradients with plain loops in double precision and no BLAS:
 * the reference the optimised version is tested against (tests only; it
 * allocates 2·B doubles and CHECKs that the allocation succeeded). */
double contrastive_forward_backward_naive(float *dV, float *dT, float *dlogit_scale,
                                          const float *V, const float *T, float logit_scale, int B, int E);

#endif
