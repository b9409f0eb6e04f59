/* Batch normalisation over NCHW activations, as torch.nn.BatchNorm2d(C) with
 * eps 1e-5 and momentum 0.1:
 *   training: mean_c, var_c over (B, H, W) (biased variance), y = (x − mean)·rstd·w + b
 *             with rstd = 1/sqrt(var + eps); when running_mean/var are given they are
 *             updated as r ← (1 − 0.1)·r + 0.1·stat, with the UNBIASED variance
 *             var·n/(n − 1) (n = B·H·W; PyTorch refuses n = 1 in training, here it
 *             keeps the biased value);
 *   eval:     mean = running_mean, rstd = 1/sqrt(running_var + eps), nothing updated.
 * The forward writes mean and rstd (C) for the backward. Statistics are summed in
 * double, one channel per thread, so results do not depend on the thread count.
 * Backward kernels ADD into dinp, dweight, dbias (any may be NULL). */
#ifndef MODX_NN_BATCHNORM_H
#define MODX_NN_BATCHNORM_H

#include <stddef.h>

#include "core/error.h"

#define BATCHNORM_EPS 1e-5f
#define BATCHNORM_MOMENTUM 0.1f

/* out, inp (B, C, HW); weight, bias (C); mean, rstd (C) written. */
void batchnorm_forward(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                       const float *inp, const float *weight, const float *bias, int B, int C, int HW, int training);
void batchnorm_forward_naive(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *inp, const float *weight, const float *bias, int B, int C, int HW,
                             int training);
/* training selects the batch-statistics gradient (mean and rstd depend on x). */
void batchnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                        int training);
void batchnorm_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                              const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                              int training);

/* ---------------- synchronised BatchNorm (one batch split into slices) ----------------
 * Data parallelism splits a batch into R slices (one per rank, B_r images each);
 * in training mode the statistics must be those of the whole batch. Each slice
 * computes per-channel partials of its rows, the partials of every slice are
 * gathered (the hook), and every slice combines them in slice order 0, 1, …, R−1
 * (never in arrival order), in double:
 *   forward:  slot = [n_r, S_r (C), M2_r (C)], S_r = Σx, M2_r = Σ(x − S_r/n_r)² of
 *             slice r; n = Σn_r, mean = ΣS_r / n, n·var = Σ M2_r + n_r·(S_r/n_r − mean)²
 *             (Chan's combination of centred sums: the two-pass statistics of the
 *             whole batch up to reassociation in double);
 *   backward: slot = [n_r, Σdy (C), Σdy·x̂ (C)]; dx uses the sums over all slices
 *             and n, while dweight += Σdy·x̂ and dbias += Σdy of THIS slice only (the
 *             gradient sum over ranks adds the slices: nothing is counted twice).
 * Every slice ends with the same mean, rstd and running statistics. The hook
 * moves (2·C + 1) doubles per slice per call: one call per BN layer forward, one
 * per BN layer backward. Eval mode (training = 0) never calls the hook. */

/* buf holds nslices slots of count doubles; the hook fills every slot but the
 * caller's (buf + slice·count) from the other slices. */
typedef ModxStatus (*BatchnormGatherFn)(void *ctx, double *buf, size_t count);

typedef struct {
    BatchnormGatherFn gather;
    void *ctx;
    int slice, nslices;
    double *buf; /* nslices · batchnorm_sync_slot(maxC) doubles, owned by the caller */
} BatchnormSync;

/* Doubles in one slice's slot for layers of up to C channels. */
static inline size_t batchnorm_sync_slot(int C) { return 2 * (size_t)C + 1; }

/* As batchnorm_forward over this slice (B rows of the whole batch); training mode
 * uses the whole batch's statistics through sync. Errors: the hook's. */
ModxStatus batchnorm_forward_sync(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                                  const float *inp, const float *weight, const float *bias, int B, int C, int HW,
                                  int training, const BatchnormSync *sync);
/* As batchnorm_backward over this slice, mean and rstd from batchnorm_forward_sync. */
ModxStatus batchnorm_backward_sync(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                   const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                                   int training, const BatchnormSync *sync);

#endif
