#include "nn/l2norm.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>

void l2norm_forward(float *out, float *norm, const float *inp, int R, int C) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C)
    for (int r = 0; r < R; r++) {
        const float *x = inp + (size_t)r * C;
        double s = 0.0;
        for (int c = 0; c < C; c++) s += (double)x[c] * x[c];
        float n = (float)sqrt(s);
        norm[r] = n;
        float inv = 1.0f / (n > L2NORM_EPS ? n : L2NORM_EPS);
        for (int c = 0; c < C; c++) out[(size_t)r * C + c] = x[c] * inv;
    }
}

void l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int R, int C) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C)
    for (int r = 0; r < R; r++) {
        const float *y = out + (size_t)r * C, *d = dout + (size_t)r * C;
        float *dx = dinp + (size_t)r * C;
        if (norm[r] > L2NORM_EPS) {
            float dot = 0.0f;
            for (int c = 0; c < C; c++) dot += y[c] * d[c];
            float inv = 1.0f / norm[r];
            for (int c = 0; c < C; c++) dx[c] += (d[c] - y[c] * dot) * inv;
        } else {
            for (int c = 0; c < C; c++) dx[c] += d[c] / L2NORM_EPS;
        }
    }
}
