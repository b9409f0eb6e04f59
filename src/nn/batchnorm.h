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

#endif
