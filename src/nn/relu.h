/* ReLU over n values: out = max(x, 0). The backward masks by the forward's output
 * (out > 0 ⇔ x > 0), so it needs only the output; it ADDS into dinp. dinp may
 * alias dout (in place: dout is read before dinp is written, element by element). */
#ifndef MODX_NN_RELU_H
#define MODX_NN_RELU_H

#include <stddef.h>

void relu_forward(float *out, const float *inp, size_t n);
void relu_forward_naive(float *out, const float *inp, size_t n);
/* dinp += dout · [out > 0]; with dinp == dout the mask is applied in place (=). */
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);
void relu_backward_naive(float *dinp, const float *dout, const float *out, size_t n);

#endif
