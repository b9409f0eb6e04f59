/* One training step's maths on a batch: forward the current model, the loss
 * (contrastive, or a distillation strategy against a frozen old model run
 * forward only: Mod-X, Mod-X without selection, LwF), and the backward into a
 * flat gradient buffer (logit_scale's gradient included).
 * Strategies that live outside the loss: EWC is a parameter-space term the
 * driver adds after the step (loss/ewc.h: ewc_penalty(grads, ...)); replay
 * only changes which pairs make up the batch (train/replay.h) and combines
 * with any kind below; WiSE-FT merges weights after training (train/merge.h).
 * All buffers are allocated once for a maximum batch; a step allocates nothing.
 * `modx grad` and the trainer both use this, so what the CLI exposes for
 * checking is exactly what training computes. */
#ifndef MODX_TRAIN_STEP_H
#define MODX_TRAIN_STEP_H

#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "train/optim.h"

/* The loss a step optimises. The kinds other than CONTRASTIVE need the old model. */
typedef enum {
    STEP_LOSS_CONTRASTIVE,   /* L_con (plain fine-tuning, joint training; also EWC and replay) */
    STEP_LOSS_MODX,          /* L_con + weight·L_kl, selection on (loss/modx.h) */
    STEP_LOSS_MODX_NOSELECT, /* the same without selection (the ablation) */
    STEP_LOSS_LWF,           /* L_con + weight·L_lwf at temperature tau (loss/lwf.h); the old
                                model's logits use the old model's own logit_scale */
} StepLossKind;

typedef struct {
    StepLossKind kind;
    float weight; /* α for Mod-X (modx_alpha_for_batch), λ for LwF (LWF_WEIGHT_DEFAULT) */
    float tau;    /* LwF temperature (LWF_TAU_DEFAULT); unused by the other kinds */
} StepLossSpec;

typedef struct {
    float loss;     /* the total the step differentiated */
    float loss_con; /* contrastive part */
    float loss_kl;  /* the distillation term before its weight: Mod-X's L_kl or LwF's L_lwf;
                       0 for CONTRASTIVE */
    int selected_i2t, selected_t2i; /* Mod-X rows distilled (B when selection is off) */
} StepLoss;

typedef struct {
    const ClipModel *m;
    const ClipModel *old; /* NULL: contrastive only */
    ClipActs *acts, *old_acts;
    int max_B, E;
    float *V, *T;   /* (max_B, E) current features of the last step */
    float *Vo, *To; /* (max_B, E) old features */
    float *dV, *dT; /* (max_B, E) */
    float *scratch;
} ClipStep;

/* old may be NULL (then only STEP_LOSS_CONTRASTIVE runs). Both models must
 * share embed_dim. */
ModxStatus clip_step_new(ClipStep **out, const ClipModel *m, const ClipModel *old, int max_B);
void clip_step_free(ClipStep *s);
/* Zeroes grads (m's flat layout) and fills it with dL/dθ for the batch.
 * With an old model: L = L_con + alpha·L_kl (select = 0: no selection, the ablation). */
ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, float alpha, int select,
                         float *grads, StepLoss *out);
/* The same for any loss kind: zeroes grads and fills it with dL/dθ. A kind
 * that needs the old model on a step made without one is MODX_ERR_INVALID.
 * clip_step_run(…, alpha, select, …) is this with CONTRASTIVE when the step has
 * no old model, else MODX (select ≠ 0) or MODX_NOSELECT, weight = alpha. */
ModxStatus clip_step_run_loss(ClipStep *s, const float *images, const int32_t *texts, int B,
                              const StepLossSpec *spec, float *grads, StepLoss *out);

/* The optimizer's segment list for m's flat layout: one segment per parameter
 * tensor, with the table's weight-decay flag. *segs is malloc'd. */
ModxStatus clip_optim_segments(const ClipModel *m, OptimSegment **segs, int *n);

/* Forward FLOPs of one pair through both towers (multiply-add = 2 FLOPs,
 * matrix products and attention only); a training step costs about 3× this. */
double clip_forward_flops_per_pair(const ClipConfig *c);

#endif
