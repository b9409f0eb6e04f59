#include "nn/relu.h"
#include "nn/parallel.h"

void relu_forward(float *out, const float *inp, size_t n) {
    long N = (long)n;
#pragma omp parallel for schedule(static) NN_PAR_IF(N)
    for (long i = 0; i < N; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_forward_naive(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n) {
    long N = (long)n;
    if (dinp == dout) {
#pragma omp parallel for schedule(static) NN_PAR_IF(N)
        for (long i = 0; i < N; i++) dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
        return;
    }
#pragma omp parallel for schedule(static) NN_PAR_IF(N)
    for (long i = 0; i < N; i++) dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

void relu_backward_naive(float *dinp, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = out[i] > 0.0f ? dout[i] : 0.0f;
        if (dinp == dout) dinp[i] = g;
        else dinp[i] += g;
    }
}
