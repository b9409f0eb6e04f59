/* Elementwise activations of the MLP. OpenCLIP picks one per model through the
 * config's "quick_gelu" flag:
 *   quickgelu(x) = x·sigmoid(1.702·x)            (OpenAI CLIP)
 *   gelu(x)      = x·Φ(x) = ½x(1 + erf(x/√2))    (torch.nn.GELU(), exact, no tanh)
 * Forward writes out (n); backward adds dinp (n) += f'(inp)·dout, its _set
 * form writes dinp = f'(inp)·dout (the same values on a zeroed dinp, without
 * the zeroing pass). Parallel over
 * fixed blocks of 4096 (elementwise, so deterministic); the exp/erf of the
 * vectorised loops come from glibc's libmvec (a few ulp, as PyTorch's own). */
#ifndef MODX_NN_GELU_H
#define MODX_NN_GELU_H

#include <stddef.h>

void quickgelu_forward(float *out, const float *inp, size_t n);
void quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n);
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);
/* pre (R, F) += bias (F) on every row, then out = f(pre): the bias of the
 * product that made pre, added in the activation's pass (linear_forward
 * without bias, then this; pre keeps the biased values for the backward). */
void quickgelu_bias_forward(float *out, float *pre, const float *bias, int R, int F);
void gelu_bias_forward(float *out, float *pre, const float *bias, int R, int F);
void quickgelu_backward_set(float *dinp, const float *dout, const float *inp, size_t n);
void gelu_backward_set(float *dinp, const float *dout, const float *inp, size_t n);

#endif
