/* Layer normalisation over the last dimension, as torch.nn.LayerNorm(C, eps=1e-5):
 * y = (x − mean) · rstd · weight + bias, rstd = 1/sqrt(var + eps), var biased.
 * Rows are independent; the forward caches mean and rstd (R each) for the backward. */
#ifndef MODX_NN_LAYERNORM_H
#define MODX_NN_LAYERNORM_H

#define LAYERNORM_EPS 1e-5f

/* out, inp (R, C); mean, rstd (R) written; weight, bias (C). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int R, int C);
void layernorm_forward_naive(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                             const float *bias, int R, int C);
/* dinp (R, C) += ∂/∂x; dweight, dbias (C) += (summed in row order, parallel over
 * column blocks: deterministic for any thread count). dinp/dweight/dbias may be NULL. */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int R, int C);
void layernorm_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                              const float *weight, const float *mean, const float *rstd, int R, int C);

#endif
