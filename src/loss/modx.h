/* The Mod-X loss (SPEC §3): contrastive loss plus distillation of the old
 * model's off-diagonal information, with selection of the rows the old model
 * got right.
 *
 * V, T: (B, E) L2-normalised features of the CURRENT model; V_old, T_old: (B, E)
 * features of the OLD model (the frozen model at the end of the previous phase)
 * on the same batch — constants: no gradient flows into them.
 * Raw cosine matrices, no temperature and no logit_scale:
 *   P = V·Tᵀ, P' = T·Vᵀ = Pᵀ        (current model)
 *   Q = V_old·T_oldᵀ, Q' = Qᵀ        (old model)
 * Selection (select != 0): row i of Q is kept when its argmax is i, where the
 * argmax is the FIRST maximal index (torch.argmax semantics); otherwise row i
 * is excluded and contributes exactly 0 to the loss and to every gradient.
 * The same is done independently for the rows of Q' (= the columns of Q).
 * With select == 0 every row is kept (the "modx-noselect" ablation).
 *
 *   L_kl = ½ [ Σ_{i kept in Q}  KL(softmax(Q_i)  ‖ softmax(P_i))
 *            + Σ_{i kept in Q'} KL(softmax(Q'_i) ‖ softmax(P'_i)) ]
 *   L    = L_con + α·L_kl        (L_con: contrastive.h, which uses logit_scale)
 *
 * L_kl is a SUM over rows and entries (diagonal included), not a mean.
 * Gradient: with p = softmax(P_i), q = softmax(Q_i), dKL_i/dP_i = p − q, so
 *   dL_kl/dP[i,j] = ½ [ m_i·(p_row(i)[j] − q_row(i)[j]) + m'_j·(p_col(j)[i] − q_col(j)[i]) ]
 * and dV = α·G·T, dT = α·Gᵀ·V. logit_scale gets gradient only from L_con.
 *
 * How α should scale with the batch size B. The reference run used α = 20 at
 * B = 280. L_con is a MEAN over the B rows, so its size does not depend on B,
 * while L_kl is a SUM over B rows (each row's KL is itself O(1)), so it grows
 * linearly with B. To keep the same balance between the two terms at another
 * batch size, keep α·B constant. Our recommendation:
 *       α_B = 20 · 280 / B = 5600 / B     (e.g. B = 64 → α = 87.5; B = 1024 → α ≈ 5.47).
 * (A per-row KL term at B = 280 weighs 20/280 relative to the per-row CE terms
 * of the mean; α·B constant keeps that per-row weight whatever B is.)
 *
 * Conventions: gradients are ADDED (+=) into dV, dT, dlogit_scale; any may be
 * NULL (all NULL = forward only). Deterministic for a fixed thread count. */
#ifndef MODX_LOSS_MODX_H
#define MODX_LOSS_MODX_H

#include <stddef.h>
#include <stdint.h>

/* The reference setting and the batch-size rule above. */
#define MODX_ALPHA_REF 20.0f
#define MODX_ALPHA_REF_BATCH 280
/* α for batch size B by the rule α·B = 20·280 (B ≥ 1). */
float modx_alpha_for_batch(int B);

typedef struct {
    float loss;       /* L_con + α·L_kl */
    float loss_con;   /* contrastive part */
    float loss_kl;    /* L_kl, before multiplying by α */
    int selected_i2t; /* rows of Q kept (image→text); B when select is off */
    int selected_t2i; /* rows of Q' kept (text→image); B when select is off */
} ModxLossResult;

/* Floats of scratch memory needed by modx_kl_forward_backward and
 * modx_loss_forward_backward for batch B (2·B·B + 6·B). Allocate once. */
size_t modx_scratch_floats(int B);

/* The distillation term alone. Returns L_kl and adds α·dL_kl/dV, α·dL_kl/dT.
 * keep_i2t / keep_t2i (B entries each, may be NULL) receive 1 for a kept row
 * and 0 for an excluded row; *n_i2t / *n_t2i (may be NULL) the kept counts. */
float modx_kl_forward_backward(float *dV, float *dT, float *scratch, uint8_t *keep_i2t, uint8_t *keep_t2i,
                               int *n_i2t, int *n_t2i, const float *V, const float *T, const float *V_old,
                               const float *T_old, float alpha, int select, int B, int E);

/* The whole Mod-X loss: fills *out and adds dL/dV, dL/dT, dL/dlogit_scale
 * (L = L_con + α·L_kl). scratch: modx_scratch_floats(B) floats. */
void modx_loss_forward_backward(ModxLossResult *out, float *dV, float *dT, float *dlogit_scale, float *scratch,
                                const float *V, const float *T, const float *V_old, const float *T_old,
                                float logit_scale, float alpha, int select, int B, int E);

/* Plain double-precision loops for L_kl (returned in double, so finite
 * differences of it are precise) and α·its gradients, no BLAS (tests only;
 * allocates and CHECKs). Same arguments as modx_kl_forward_backward. */
double modx_kl_forward_backward_naive(float *dV, float *dT, uint8_t *keep_i2t, uint8_t *keep_t2i, const float *V,
                                     const float *T, const float *V_old, const float *T_old, float alpha,
                                     int select, int B, int E);

#endif
