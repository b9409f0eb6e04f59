#include "nn/gelu.h"
#include "nn/parallel.h"

#include <math.h>

#define QUICKGELU_ALPHA 1.702f

/* Lets the vectorised loops below call glibc's vector expf/erff (libmvec,
 * within a few ulp; math.h only declares these variants under -ffast-math). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) float erff(float);
#endif

/* Fixed blocks (a multiple of any vector width): which elements take the
 * vector or the scalar exp depends only on n, never on the thread count. */
#define GELU_BLK ((size_t)4096)
static inline size_t nblocks(size_t n) { return (n + GELU_BLK - 1) / GELU_BLK; }
static inline size_t block_end(size_t k, size_t n) { return n - k * GELU_BLK < GELU_BLK ? n : (k + 1) * GELU_BLK; }

void quickgelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t k = 0; k < nblocks(n); k++) {
        size_t i1 = block_end(k, n);
#pragma omp simd
        for (size_t i = k * GELU_BLK; i < i1; i++) {
            float x = inp[i];
            out[i] = x / (1.0f + expf(-QUICKGELU_ALPHA * x));
        }
    }
}

/* dinp (+)= f'(inp)·dout: `add` chooses += or =, the same value either way
 * (0 + v is v), so the set form only saves the caller zeroing dinp. */
static inline void quickgelu_bwd(float *dinp, const float *dout, const float *inp, size_t n, int add) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t k = 0; k < nblocks(n); k++) {
        size_t i1 = block_end(k, n);
#pragma omp simd
        for (size_t i = k * GELU_BLK; i < i1; i++) {
            float x = inp[i];
            float s = 1.0f / (1.0f + expf(-QUICKGELU_ALPHA * x));
            float g = dout[i] * (s + QUICKGELU_ALPHA * x * s * (1.0f - s));
            dinp[i] = add ? dinp[i] + g : g;
        }
    }
}

void quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    quickgelu_bwd(dinp, dout, inp, n, 1);
}

void quickgelu_backward_set(float *dinp, const float *dout, const float *inp, size_t n) {
    quickgelu_bwd(dinp, dout, inp, n, 0);
}

void gelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t k = 0; k < nblocks(n); k++) {
        size_t i1 = block_end(k, n);
#pragma omp simd
        for (size_t i = k * GELU_BLK; i < i1; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
        }
    }
}

static inline void gelu_bwd(float *dinp, const float *dout, const float *inp, size_t n, int add) {
    const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t k = 0; k < nblocks(n); k++) {
        size_t i1 = block_end(k, n);
#pragma omp simd
        for (size_t i = k * GELU_BLK; i < i1; i++) {
            float x = inp[i];
            float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
            float pdf = inv_sqrt_2pi * expf(-0.5f * x * x);
            float g = dout[i] * (cdf + x * pdf);
            dinp[i] = add ? dinp[i] + g : g;
        }
    }
}

void gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) { gelu_bwd(dinp, dout, inp, n, 1); }

void gelu_backward_set(float *dinp, const float *dout, const float *inp, size_t n) {
    gelu_bwd(dinp, dout, inp, n, 0);
}
