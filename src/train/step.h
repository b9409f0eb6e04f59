/* One training step's maths on a batch: forward the current model, the loss
 * (contrastive, or Mod-X against a frozen old model run forward only), and the
 * backward into a flat gradient buffer (logit_scale's gradient included).
 * All buffers are allocated once for a maximum batch; a step allocates nothing.
 * `modx grad` and the trainer both use this, so what the CLI exposes for
 * checking is exactly what training computes. */
#ifndef MODX_TRAIN_STEP_H
#define MODX_TRAIN_STEP_H

#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "train/optim.h"

typedef struct {
    float loss, loss_con, loss_kl; /* loss_kl before α; 0 without an old model */
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

/* old may be NULL. Both models must share embed_dim. */
ModxStatus clip_step_new(ClipStep **out, const ClipModel *m, const ClipModel *old, int max_B);
void clip_step_free(ClipStep *s);
/* Zeroes grads (m's flat layout) and fills it with dL/dθ for the batch.
 * With an old model: L = L_con + alpha·L_kl (select = 0: no selection, the ablation). */
ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, float alpha, int select,
                         float *grads, StepLoss *out);

/* The optimizer's segment list for m's flat layout: one segment per parameter
 * tensor, with the table's weight-decay flag. *segs is malloc'd. */
ModxStatus clip_optim_segments(const ClipModel *m, OptimSegment **segs, int *n);

/* Forward FLOPs of one pair through both towers (multiply-add = 2 FLOPs,
 * matrix products and attention only); a training step costs about 3× this. */
double clip_forward_flops_per_pair(const ClipConfig *c);

#endif
