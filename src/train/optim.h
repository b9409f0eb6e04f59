/* AdamW over one flat parameter buffer, as torch.optim.AdamW (decoupled
 * weight decay), with optional global-norm gradient clipping, a finiteness
 * check, and a clamp of one scalar parameter (logit_scale) after each update.
 *
 * The parameters, their gradients and the moments m, v share one layout: a
 * flat float buffer of n values. The model's parameter table describes it as a
 * list of segments {name, offset, count, decay}; only floats inside a segment
 * are updated, and weight decay applies only to segments with decay = 1 (SPEC
 * §4: OpenCLIP skips decay on gains, biases and logit_scale — the table makes
 * that choice, this module just follows the flags).
 *
 * One update, with lr from schedule.h and t = step + 1 (the step counter after
 * the update; bias correction uses t), elementwise over every segment:
 *   g       = grad · clip_coef     (clip_coef = 1 unless clipping bites, below)
 *   p      ← p · (1 − lr·wd)       (decayed segments only)
 *   m      ← β1·m + (1 − β1)·g
 *   v      ← β2·v + (1 − β2)·g²
 *   p      ← p − (lr / (1 − β1^t)) · m / ( sqrt(v) / sqrt(1 − β2^t) + ε )
 * then p[clamp_offset] ← min(max(p, lo), hi) when a clamp is set.
 * Clipping (cfg.grad_clip > 0), as torch.nn.utils.clip_grad_norm_: with the
 * global L2 norm N over all segments, clip_coef = min(1, grad_clip / (N + 1e-6)).
 *
 * Determinism: the update is elementwise (OpenMP, static schedule); the norm is
 * summed in double over fixed 4096-float blocks and the blocks are added in a
 * fixed order, so the result is bit-identical whatever the thread count.
 * State (m, v, step) is plain data: a checkpoint saves and restores it as is.
 * No memory is allocated by adamw_step. */
#ifndef MODX_TRAIN_OPTIM_H
#define MODX_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* ln 100: the upper clamp of logit_scale (SPEC §2); the lower clamp is 0. */
#define OPTIM_LOGIT_SCALE_MAX 4.605170185988091f

typedef struct {
    const char *name; /* tensor name for messages (not copied; may be NULL) */
    size_t offset;    /* first float in the flat buffer */
    size_t count;     /* number of floats */
    int decay;        /* 1: apply weight decay */
} OptimSegment;

typedef struct {
    double beta1;        /* 0.9 */
    double beta2;        /* 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* 0.1 continual, 0.01 joint (SPEC §4) */
    double grad_clip;    /* max global gradient L2 norm; ≤ 0 = no clipping */
} AdamWConfig;

typedef struct {
    AdamWConfig cfg;
    size_t n;             /* floats in the parameter buffer */
    float *m;             /* (n) first moments, zero at start */
    float *v;             /* (n) second moments, zero at start */
    int64_t step;         /* updates taken so far */
    OptimSegment *segs;   /* (nseg) owned copy */
    int nseg;
    double *block_sums;   /* (nblocks) scratch for the gradient norm */
    struct AdamWBlock *blocks; /* (nblocks) each segment cut into fixed ranges: the work items */
    size_t nblocks;
    int64_t clamp_offset; /* −1: no clamp */
    float clamp_lo, clamp_hi;
} AdamW;

/* β 0.9/0.999, ε 1e-8, weight decay 0.1, no clipping. */
AdamWConfig adamw_default_config(void);

/* Allocates zeroed moments for n floats and copies the segment list.
 * MODX_ERR_INVALID when a segment lies outside [0, n), segments overlap, or a
 * hyper-parameter is out of range (β in [0,1), ε > 0, wd ≥ 0); MODX_ERR_NOMEM.
 * On failure *opt is left freed (adamw_free is safe on it). */
ModxStatus adamw_init(AdamW *opt, const AdamWConfig *cfg, size_t n, const OptimSegment *segs, int nseg);
void adamw_free(AdamW *opt);

/* Clamp params[offset] to [lo, hi] after every update (logit_scale: 0, ln 100).
 * MODX_ERR_INVALID when offset ≥ n or lo > hi. */
ModxStatus adamw_set_clamp(AdamW *opt, size_t offset, float lo, float hi);

/* Global L2 norm of grads over the segments (deterministic, see above). */
double adamw_grad_norm(AdamW *opt, const float *grads);

/* One update with learning rate lr. Computes the gradient norm (stored in
 * *grad_norm when non-NULL, before clipping); if it is not finite, returns
 * MODX_ERR_NUMERIC with a message naming the update (0-based: opt->step) and
 * the first tensor holding a non-finite gradient, and changes nothing.
 * Otherwise clips (scaling grads in place, as torch does), updates params, m,
 * v, increments opt->step and applies the clamp. */
ModxStatus adamw_step(AdamW *opt, float *params, float *grads, double lr, double *grad_norm);

/* MODX_ERR_NUMERIC naming `step` when loss or grad_norm is NaN or infinite
 * ("step 12: loss is nan"), MODX_OK otherwise. The trainer calls it after the
 * backward pass; adamw_step makes the same gradient check itself. */
ModxStatus optim_check_finite(double loss, double grad_norm, int64_t step);

#endif
