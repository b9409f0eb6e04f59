#include "nn/pool.h"

#include <stddef.h>

#include "core/error.h"

void pool_rows_forward(float *out, const float *inp, const int32_t *pos, int B, int N, int C) {
    for (int b = 0; b < B; b++) {
        int p = pos ? pos[b] : 0;
        CHECK(p >= 0 && p < N, "pool position %d outside [0, %d)", p, N);
        const float *src = inp + ((size_t)b * N + p) * C;
        for (int c = 0; c < C; c++) out[(size_t)b * C + c] = src[c];
    }
}

void pool_rows_backward(float *dinp, const float *dout, const int32_t *pos, int B, int N, int C) {
    for (int b = 0; b < B; b++) {
        int p = pos ? pos[b] : 0;
        CHECK(p >= 0 && p < N, "pool position %d outside [0, %d)", p, N);
        float *g = dinp + ((size_t)b * N + p) * C;
        for (int c = 0; c < C; c++) g[c] += dout[(size_t)b * C + c];
    }
}

void pool_argmax_positions(int32_t *pos, const int32_t *tokens, int B, int T) {
    for (int b = 0; b < B; b++) {
        const int32_t *t = tokens + (size_t)b * T;
        int best = 0;
        for (int i = 1; i < T; i++)
            if (t[i] > t[best]) best = i;
        pos[b] = best;
    }
}
