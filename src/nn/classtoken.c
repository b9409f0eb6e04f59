#include "nn/classtoken.h"
#include "nn/parallel.h"

#include <stddef.h>

void classtoken_forward(float *out, const float *patches, const float *cls, const float *pos, int B, int NP, int C) {
    int N = NP + 1;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * N * C)
    for (int bn = 0; bn < B * N; bn++) {
        int b = bn / N, n = bn % N;
        const float *src = n == 0 ? cls : patches + ((size_t)b * NP + n - 1) * C;
        const float *p = pos + (size_t)n * C;
        float *o = out + (size_t)bn * C;
        for (int c = 0; c < C; c++) o[c] = src[c] + p[c];
    }
}

void classtoken_backward(float *dpatches, float *dcls, float *dpos, const float *dout, int B, int NP, int C) {
    int N = NP + 1;
    if (dpatches) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NP * C)
        for (int bp = 0; bp < B * NP; bp++) {
            int b = bp / NP, p = bp % NP;
            const float *d = dout + ((size_t)b * N + 1 + p) * C;
            float *g = dpatches + (size_t)bp * C;
            for (int c = 0; c < C; c++) g[c] += d[c];
        }
    }
    if (dpos) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * N * C)
        for (int n = 0; n < N; n++)
            for (int b = 0; b < B; b++) {
                const float *d = dout + ((size_t)b * N + n) * C;
                float *g = dpos + (size_t)n * C;
                for (int c = 0; c < C; c++) g[c] += d[c];
            }
    }
    if (dcls)
        for (int b = 0; b < B; b++) {
            const float *d = dout + (size_t)b * N * C;
            for (int c = 0; c < C; c++) dcls[c] += d[c];
        }
}
