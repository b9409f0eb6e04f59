/* Row-wise L2 normalisation, as torch.nn.functional.normalize(x, dim=-1):
 * y = x / max(‖x‖, 1e-12). norm (R) caches ‖x‖ for the backward. */
#ifndef MODX_NN_L2NORM_H
#define MODX_NN_L2NORM_H

#define L2NORM_EPS 1e-12f

/* out, inp (R, C); norm (R). */
void l2norm_forward(float *out, float *norm, const float *inp, int R, int C);
/* dinp (R, C) += (dout − y·(y·dout)) / ‖x‖  (dout / eps when ‖x‖ < eps). */
void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int R, int C);

#endif
