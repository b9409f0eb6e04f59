/* Token + positional embedding of the text tower:
 * out[b, t, :] = wte[tokens[b, t], :] + wpe[t, :].
 * Token ids must lie in [0, V) (the model validates them before calling; a bad
 * id here is a bug and aborts). The backward scatters into dwte: parallel over
 * channel blocks with rows visited in order, so it is deterministic. */
#ifndef MODX_NN_EMBEDDING_H
#define MODX_NN_EMBEDDING_H

#include <stdint.h>

/* out (B*T, C); tokens (B*T); wte (V, C); wpe (T, C). */
void embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C,
                       int V);
/* dwte (V, C) += scatter of dout; dwpe (T, C) += Σ_b dout[b]. Either may be NULL. */
void embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C,
                        int V);
void embedding_backward_naive(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T,
                              int C, int V);

#endif
