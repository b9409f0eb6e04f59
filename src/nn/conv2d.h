/* 2-D convolution without bias, as torch.nn.Conv2d(Cin, Cout, K, stride, padding,
 * bias=False), over NCHW activations:
 *   out[b, o, y, x] = Σ_{c,ky,kx} weight[o, c, ky, kx] · inp[b, c, y·s + ky − p, x·s + kx − p]
 * (zero outside the image); Ho = (H + 2p − K)/s + 1, Wo likewise.
 *
 * The fast kernels lower each image with im2col into cols (Cin·K·K, Ho·Wo) and do
 * one matrix product per image through the one GEMM dispatch point (core/gemm.h);
 * a 1×1, stride-1, unpadded convolution uses the image itself as cols. Images run
 * in order, so weight gradients are summed in a fixed order (deterministic).
 * The *_naive kernels are direct loops kept as the reference. Backward kernels ADD
 * into dinp and dweight (+=); either may be NULL. */
#ifndef MODX_NN_CONV2D_H
#define MODX_NN_CONV2D_H

#include <stddef.h>

typedef struct {
    int B, Cin, H, W;  /* input (B, Cin, H, W) */
    int Cout, K, stride, pad;
} Conv2dDims;

static inline int conv2d_out_h(const Conv2dDims *d) { return (d->H + 2 * d->pad - d->K) / d->stride + 1; }
static inline int conv2d_out_w(const Conv2dDims *d) { return (d->W + 2 * d->pad - d->K) / d->stride + 1; }
/* Floats of scratch the fast kernels need (0 for a plain 1×1 convolution):
 * Cin·K·K·Ho·Wo for the forward, twice that for the backward. */
size_t conv2d_scratch_floats(const Conv2dDims *d, int backward);

/* out (B, Cout, Ho, Wo); weight (Cout, Cin, K, K); scratch as above. */
void conv2d_forward(float *out, float *scratch, const float *inp, const float *weight, const Conv2dDims *d);
void conv2d_forward_naive(float *out, const float *inp, const float *weight, const Conv2dDims *d);
/* dinp (B, Cin, H, W) += ∂/∂inp; dweight (Cout, Cin, K, K) += ∂/∂weight. */
void conv2d_backward(float *dinp, float *dweight, float *scratch, const float *dout, const float *inp,
                     const float *weight, const Conv2dDims *d);
void conv2d_backward_naive(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const Conv2dDims *d);

#endif
