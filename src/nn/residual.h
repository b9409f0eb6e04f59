/* Residual connection: out = a + b elementwise (n values); out may alias a or b.
 * The backward sends dout to both branches: da += dout, db += dout (either may be NULL). */
#ifndef MODX_NN_RESIDUAL_H
#define MODX_NN_RESIDUAL_H

#include <stddef.h>

void residual_forward(float *out, const float *a, const float *b, size_t n);
void residual_backward(float *da, float *db, const float *dout, size_t n);

#endif
