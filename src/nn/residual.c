#include "nn/residual.h"
#include "nn/parallel.h"

void residual_forward(float *out, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        if (da) da[i] += dout[i];
        if (db) db[i] += dout[i];
    }
}

void residual_bias_forward(float *out, const float *a, const float *bias, const float *b, int R, int C) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C)
    for (int r = 0; r < R; r++) {
        size_t o = (size_t)r * C;
#pragma omp simd
        for (int c = 0; c < C; c++) out[o + c] = (a[o + c] + bias[c]) + b[o + c];
    }
}
