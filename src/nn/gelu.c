#include "nn/gelu.h"
#include "nn/parallel.h"

#include <math.h>

#define QUICKGELU_ALPHA 1.702f

void quickgelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x / (1.0f + expf(-QUICKGELU_ALPHA * x));
    }
}

void quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float s = 1.0f / (1.0f + expf(-QUICKGELU_ALPHA * x));
        dinp[i] += dout[i] * (s + QUICKGELU_ALPHA * x * s * (1.0f - s));
    }
}

void gelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    }
}

void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
        float pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}
