/* Patch embedding of the ViT: Conv2d(3, C, kernel P, stride P, bias=False) on
 * images (B, 3, S, S), S divisible by P, as im2col + one GEMM.
 * cols (B*NP, 3*P*P) caches the unfolded patches, column index c*P*P + ky*P + kx
 * (the flattening of conv1.weight (C, 3, P, P)); patch p = gy*G + gx with
 * G = S/P, NP = G*G (the order of OpenCLIP's flatten(2).permute). out (B*NP, C). */
#ifndef MODX_NN_PATCH_H
#define MODX_NN_PATCH_H

void patch_embed_forward(float *out, float *cols, const float *images, const float *weight, int B, int S, int P,
                         int C);
void patch_embed_forward_naive(float *out, const float *images, const float *weight, int B, int S, int P, int C);
/* dweight (C, 3*P*P) +=; dimages (B, 3, S, S) += when not NULL. */
void patch_embed_backward(float *dimages, float *dweight, const float *dout, const float *cols,
                          const float *weight, int B, int S, int P, int C);
void patch_embed_backward_naive(float *dimages, float *dweight, const float *dout, const float *images,
                                const float *weight, int B, int S, int P, int C);

#endif
