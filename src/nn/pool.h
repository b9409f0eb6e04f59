/* Row gathering for pooling: out[b, :] = inp[b*N + pos[b], :] — the class token
 * of the ViT (pos = 0) and the EOT token of the text tower (pos = argmax id).
 * The backward scatters dout back to those rows. inp (B*N, C); out (B, C). */
#ifndef MODX_NN_POOL_H
#define MODX_NN_POOL_H

#include <stdint.h>

/* pos NULL means position 0 for every row. */
void pool_rows_forward(float *out, const float *inp, const int32_t *pos, int B, int N, int C);
/* dinp (B*N, C) += scatter of dout (B, C). */
void pool_rows_backward(float *dinp, const float *dout, const int32_t *pos, int B, int N, int C);
/* EOT positions: pos[b] = index of the first maximal id in tokens[b*T..b*T+T). */
void pool_argmax_positions(int32_t *pos, const int32_t *tokens, int B, int T);

#endif
