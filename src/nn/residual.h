/* Residual connection: out = a + b elementwise (n values); out may alias a or b.
 * The backward sends dout to both branches: da += dout, db += dout (either may be NULL). */
#ifndef MODX_NN_RESIDUAL_H
#define MODX_NN_RESIDUAL_H

#include <stddef.h>

void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);
/* out (R, C) = (a + bias) + b, bias (C) added to every row of a first: the
 * bias of the linear layer that made a, added in the residual's pass instead
 * of a pass of its own (linear_forward without bias, then this). out may alias
 * a or b. Its backward is residual_backward's plus bias_backward on dout. */
void residual_bias_forward(float *out, const float *a, const float *bias, const float *b, int R, int C);

#endif
