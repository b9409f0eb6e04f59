/* One training step's maths on a batch: forward the current model (and, when
 * the step has one, the frozen old model, forward only), the loss term the
 * caller gives (a strategy's: src/strategy/; or the contrastive loss alone),
 * and the backward into a flat gradient buffer (logit_scale's gradient
 * included). Terms outside the loss (EWC's penalty) are StepPenalty hooks the
 * trainer adds after the step; replay only changes which pairs make up the
 * batch (train/replay.h); WiSE-FT merges weights after a phase (train/merge.h).
 * All buffers are allocated once for a maximum batch; a step allocates nothing.
 * `modx grad` and the trainer both use this, so what the CLI exposes for
 * checking is exactly what training computes. */
#ifndef MODX_TRAIN_STEP_H
#define MODX_TRAIN_STEP_H

#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "train/featcache.h"
#include "train/optim.h"

typedef struct {
    float loss;     /* the total the step differentiated */
    float loss_con; /* contrastive part */
    float loss_kl;  /* the distillation term before its weight: Mod-X's L_kl or LwF's L_lwf;
                       0 for the contrastive loss alone */
    int selected_i2t, selected_t2i; /* Mod-X rows distilled (B when selection is off) */
} StepLoss;

/* What a loss term sees: the batch's features and where its gradients go. */
typedef struct {
    const float *V, *T;   /* (B, E) current features */
    const float *Vo, *To; /* (B, E) the old model's features, NULL without an old model */
    float scale;          /* the current model's logit scale */
    float scale_old;      /* the old model's (0 without one) */
    int B, E;
    int replay_rows;      /* the batch's last replay_rows rows are replayed past pairs (0: none) */
    float *scratch;       /* step_loss_scratch_floats(max_B) floats */
    float *dV, *dT;       /* (B, E) zeroed; the loss writes dL/dV, dL/dT */
    float *dscale;        /* zeroed; the loss writes dL/d(logit scale) */
} StepLossIO;

/* A step's loss: fn computes the loss and its feature gradients (ctx is its
 * own, e.g. a strategy instance); fn NULL is the contrastive loss alone.
 * needs_old: the step must have an old model. */
typedef struct {
    ModxStatus (*fn)(const void *ctx, const StepLossIO *io, StepLoss *out);
    const void *ctx;
    int needs_old;
    const char *name; /* for messages */
} StepLossTerm;

/* A parameter-space term added after the step's backward (EWC): adds its
 * gradient into grads and returns its value. fn NULL: none. */
typedef struct {
    double (*fn)(void *ctx, float *grads, const float *params, size_t n);
    void *ctx;
    int64_t *step; /* when set, the trainer stores the step's index (0-based) there before calling fn */
} StepPenalty;

/* Scratch floats any step loss may use for a batch of max_B. */
size_t step_loss_scratch_floats(int max_B);
/* The contrastive loss alone, as a StepLossTerm fn (ctx unused). */
ModxStatus step_loss_contrastive(const void *ctx, const StepLossIO *io, StepLoss *out);

typedef struct {
    const ClipModel *m;
    const ClipModel *old; /* NULL: contrastive only */
    ClipActs *acts, *old_acts; /* forward arenas of local_B rows */
    int max_B, E;
    int local_B; /* the most rows this rank forwards: ⌈max_B / ranks⌉ (max_B in a job of one) */
    float *V, *T;   /* (max_B, E) current features of the last step */
    float *Vo, *To; /* (max_B, E) old features */
    float *dV, *dT; /* (max_B, E) */
    float *scratch;
    int replay_rows; /* set by the caller: the batch's last rows that are replayed pairs (StepLossIO) */
    /* The old model's features looked up instead of forwarded (train/featcache.h):
     * the cache and the next step's rows (image, caption per pair), set by
     * clip_step_old_rows for one clip_step_run; NULL: forward the old model. */
    const OldFeatCache *oldfeat;
    const uint32_t *old_img, *old_cap;
    int64_t old_lookups; /* steps whose old features came from the cache */
} ClipStep;

/* old may be NULL (then only terms without needs_old run). Both models must
 * share embed_dim. */
ModxStatus clip_step_new(ClipStep **out, const ClipModel *m, const ClipModel *old, int max_B);
void clip_step_free(ClipStep *s);
/* Zeroes grads (m's flat layout) and fills it with dL/dθ of `loss` for the
 * batch. A term that needs the old model on a step made without one is
 * MODX_ERR_INVALID. */
ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, const StepLossTerm *loss,
                         float *grads, StepLoss *out);

/* Data parallelism (core/dist.h): clip_step_run forwards only this rank's
 * slice of the batch (rows [lo, lo + B/N)), all-gathers the features (and the
 * old model's) into V, T (Vo, To) so every rank computes the loss of the
 * whole batch, back-propagates its slice's rows of dV, dT, and sums the
 * parameter gradients over the ranks in rank order. In a job of one this is
 * the plain step. nb: rows per rank; old: gather Vo, To too. */
ModxStatus step_gather_features(ClipStep *s, int nb, int old);
/* The next clip_step_run reads the old model's features of pair j from fc
 * (image img[j], caption cap[j]) instead of forwarding the old model; a batch
 * with a row fc lacks is forwarded. The arrays must live until that run. */
void clip_step_old_rows(ClipStep *s, const OldFeatCache *fc, const uint32_t *img, const uint32_t *cap);

/* The optimizer's segment list for m's flat layout: one segment per parameter
 * tensor, with the table's weight-decay flag. *segs is malloc'd. */
ModxStatus clip_optim_segments(const ClipModel *m, OptimSegment **segs, int *n);

/* Forward FLOPs of one pair through both towers (multiply-add = 2 FLOPs,
 * matrix products and attention only); a training step costs about 3× this. */
double clip_forward_flops_per_pair(const ClipConfig *c);

#endif
