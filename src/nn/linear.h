/* Fully connected layers over row-major activations (R rows of C values).
 *
 * linear: y = x·Wᵀ + b with W stored (OC, C) as in PyTorch's nn.Linear.
 * matmul: y = x·P with P stored (C, OC), as OpenCLIP's `proj` / `text_projection`
 *         (used as `x @ proj`), no bias.
 *
 * The fast kernels go through gemm_f32 (core/gemm.h) (one large GEMM over all R rows);
 * the *_naive kernels are plain loops kept as the reference they are tested
 * against. Backward kernels ADD into their outputs (+=); any of dinp, dweight,
 * dbias may be NULL to skip it. bias may be NULL (no bias). */
#ifndef MODX_NN_LINEAR_H
#define MODX_NN_LINEAR_H

/* out (R, OC) = inp (R, C) · weightᵀ (C, OC) + bias (OC). */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int R, int C, int OC);
void linear_forward_naive(float *out, const float *inp, const float *weight, const float *bias, int R, int C,
                          int OC);
/* dinp (R, C) += dout·W;  dweight (OC, C) += doutᵀ·inp;  dbias (OC) += Σ_rows dout. */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int R, int C, int OC);
/* The same with dinp = dout·W written, not added (its old contents unread). */
void linear_backward_set(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int R, int C, int OC);
void linear_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, int R, int C, int OC);

/* out (R, OC) = inp (R, C) · proj (C, OC). */
void matmul_forward(float *out, const float *inp, const float *proj, int R, int C, int OC);
void matmul_forward_naive(float *out, const float *inp, const float *proj, int R, int C, int OC);
/* dinp (R, C) += dout·projᵀ;  dproj (C, OC) += inpᵀ·dout. */
void matmul_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj, int R,
                     int C, int OC);
void matmul_backward_naive(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
                           int R, int C, int OC);

/* dbias (OC) += Σ over R rows of dout (R, OC); parallel over column blocks,
 * each column summed in row order, so the result does not depend on the
 * thread count (nor on the blocks' width, which follows it). */
void bias_backward(float *dbias, const float *dout, int R, int OC);

#endif
