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

static inline float quickgelu1(float x) { return x / (1.0f + expf(-QUICKGELU_ALPHA * x)); }
static inline float gelu1(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

/* pre (R, F) += bias, out = f(pre), row by row; f inlined into the vector loop. */
static inline void bias_act_forward(float *out, float *pre, const float *bias, int R, int F, int quick) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * F * 8)
    for (int r = 0; r < R; r++) {
        float *p = pre + (size_t)r * F, *o = out + (size_t)r * F;
#pragma omp simd
        for (int f = 0; f < F; f++) {
            float x = p[f] + bias[f];
            p[f] = x;
            o[f] = quick ? quickgelu1(x) : gelu1(x);
        }
    }
}

void quickgelu_bias_forward(float *out, float *pre, const float *bias, int R, int F) {
    bias_act_forward(out, pre, bias, R, F, 1);
}

void gelu_bias_forward(float *out, float *pre, const float *bias, int R, int F) {
    bias_act_forward(out, pre, bias, R, F, 0);
}

void quickgelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) NN_PAR_IF(n * 8)
    for (size_t k = 0; k < nblocks(n); k++) {
        size_t i1 = block_end(k, n);
#pragma omp simd
        for (size_t i = k * GELU_BLK; i < i1; i++) {
            out[i] = quickgelu1(inp[i]);
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
            out[i] = gelu1(inp[i]);
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
