#include "nn/embedding.h"
#include "nn/parallel.h"

#include <stddef.h>

#include "core/error.h"

void embedding_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe, int B, int T, int C,
                       int V) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * T * C)
    for (int bt = 0; bt < B * T; bt++) {
        int32_t id = tokens[bt];
        CHECK(id >= 0 && id < V, "token id %d outside [0, %d)", (int)id, V);
        const float *e = wte + (size_t)id * C, *p = wpe + (size_t)(bt % T) * C;
        float *o = out + (size_t)bt * C;
        for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
    }
}

void embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T, int C,
                        int V) {
    enum { BLK = 64 };
    int nblk = (C + BLK - 1) / BLK;
    if (dwte) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * T * C)
        for (int blk = 0; blk < nblk; blk++) {
            int c0 = blk * BLK, c1 = c0 + BLK < C ? c0 + BLK : C;
            for (int bt = 0; bt < B * T; bt++) {
                int32_t id = tokens[bt];
                CHECK(id >= 0 && id < V, "token id %d outside [0, %d)", (int)id, V);
                float *g = dwte + (size_t)id * C;
                const float *d = dout + (size_t)bt * C;
                for (int c = c0; c < c1; c++) g[c] += d[c];
            }
        }
    }
    if (dwpe) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * T * C)
        for (int t = 0; t < T; t++) {
            float *g = dwpe + (size_t)t * C;
            for (int b = 0; b < B; b++) {
                const float *d = dout + ((size_t)b * T + t) * C;
                for (int c = 0; c < C; c++) g[c] += d[c];
            }
        }
    }
}

void embedding_backward_naive(float *dwte, float *dwpe, const float *dout, const int32_t *tokens, int B, int T,
                              int C, int V) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t id = tokens[b * T + t];
            CHECK(id >= 0 && id < V, "token id %d outside [0, %d)", (int)id, V);
            for (int c = 0; c < C; c++) {
                float d = dout[((size_t)b * T + t) * C + c];
                if (dwte) dwte[(size_t)id * C + c] += d;
                if (dwpe) dwpe[(size_t)t * C + c] += d;
            }
        }
}
