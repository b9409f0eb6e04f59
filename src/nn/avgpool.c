#include "nn/avgpool.h"
#include "nn/parallel.h"

#include <stddef.h>

void avgpool_forward(float *out, const float *inp, int BC, int H, int W, int k) {
    int Ho = H / k, Wo = W / k;
    float inv = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)BC * H * W)
    for (int p = 0; p < BC; p++) {
        const float *x = inp + (size_t)p * H * W;
        float *y = out + (size_t)p * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float s = 0.0f;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) s += x[(size_t)(oy * k + dy) * W + ox * k + dx];
                y[oy * Wo + ox] = s * inv;
            }
    }
}

void avgpool_forward_naive(float *out, const float *inp, int BC, int H, int W, int k) {
    int Ho = H / k, Wo = W / k;
    for (int p = 0; p < BC; p++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float s = 0.0f;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) s += inp[((size_t)p * H + oy * k + dy) * W + ox * k + dx];
                out[((size_t)p * Ho + oy) * Wo + ox] = s / (float)(k * k);
            }
}

void avgpool_backward(float *dinp, const float *dout, int BC, int H, int W, int k) {
    int Ho = H / k, Wo = W / k;
    float inv = 1.0f / (float)(k * k);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)BC * H * W)
    for (int p = 0; p < BC; p++) {
        float *dx = dinp + (size_t)p * H * W;
        const float *dy = dout + (size_t)p * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float g = dy[oy * Wo + ox] * inv;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++) dx[(size_t)(oy * k + a) * W + ox * k + b] += g;
            }
    }
}

void avgpool_backward_naive(float *dinp, const float *dout, int BC, int H, int W, int k) {
    int Ho = H / k, Wo = W / k;
    for (int p = 0; p < BC; p++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                        dinp[((size_t)p * H + oy * k + a) * W + ox * k + b] +=
                            dout[((size_t)p * Ho + oy) * Wo + ox] / (float)(k * k);
}
