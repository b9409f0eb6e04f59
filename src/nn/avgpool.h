/* k×k average pooling with stride k over NCHW activations, as torch.nn.AvgPool2d(k):
 * out (B, C, H/k, W/k) (floored; the remainder rows/columns are dropped), each the
 * mean of its k·k window. The backward ADDS dout/k² into each window of dinp. */
#ifndef MODX_NN_AVGPOOL_H
#define MODX_NN_AVGPOOL_H

/* BC = B·C planes of H×W. */
void avgpool_forward(float *out, const float *inp, int BC, int H, int W, int k);
void avgpool_forward_naive(float *out, const float *inp, int BC, int H, int W, int k);
void avgpool_backward(float *dinp, const float *dout, int BC, int H, int W, int k);
void avgpool_backward_naive(float *dinp, const float *dout, int BC, int H, int W, int k);

#endif
