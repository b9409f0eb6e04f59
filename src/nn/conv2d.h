/* 2-D convolution without bias, as torch.nn.Conv2d(Cin, Cout, K, stride, padding,
 * bias=False), over NCHW activations:
 *   out[b, o, y, x] = Σ_{c,ky,kx} weight[o, c, ky, kx] · inp[b, c, y·s + ky − p, x·s + kx − p]
 * (zero outside the image); Ho = (H + 2p − K)/s + 1, Wo likewise.
 *
 * The fast kernels lower the images with im2col into cols (Cin·K·K, G·Ho·Wo) and
 * do one matrix product per group of G images through the one GEMM dispatch
 * point (core/gemm.h), G = conv2d_group(d): as many images as fit 4 MiB of
 * scratch (small images: many; RN50's large layers: one). With G > 1 the output
 * and its gradient pass through a (Cout, G·Ho·Wo) matrix in the scratch; with
 * G = 1 a 1×1, stride-1, unpadded convolution uses the image itself as cols.
 * Groups run in order and G depends on the dims only, so weight gradients are
 * summed in a fixed order (deterministic for any thread count).
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
/* Images per product (≥ 1, ≤ B): see above. */
int conv2d_group(const Conv2dDims *d);
/* Floats of scratch the fast kernels need for d->B images: with G = 1,
 * Cin·K·K·Ho·Wo for the forward, twice that for the backward (0 for a plain
 * 1×1 convolution); with G > 1, G·(Cin·K·K + Cout)·Ho·Wo for the forward and
 * G·(2·Cin·K·K + Cout)·Ho·Wo for the backward. A smaller batch needs no more. */
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
