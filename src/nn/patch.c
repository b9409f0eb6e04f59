#include "nn/patch.h"
#include "nn/parallel.h"

#include "core/gemm.h"
#include <stddef.h>

#include "core/error.h"

void patch_embed_forward(float *out, float *cols, const float *images, const float *weight, int B, int S, int P,
                         int C) {
    CHECK(P > 0 && S % P == 0, "image size %d not divisible by patch %d", S, P);
    int G = S / P, NP = G * G, K = 3 * P * P;
    if (B == 0) return;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NP * 3 * P * P)
    for (int bp = 0; bp < B * NP; bp++) {
        int b = bp / NP, p = bp % NP, gy = p / G, gx = p % G;
        float *col = cols + (size_t)bp * K;
        for (int c = 0; c < 3; c++)
            for (int ky = 0; ky < P; ky++) {
                const float *src = images + (((size_t)b * 3 + c) * S + (size_t)gy * P + ky) * S + (size_t)gx * P;
                for (int kx = 0; kx < P; kx++) col[(c * P + ky) * P + kx] = src[kx];
            }
    }
    gemm_layer(0, 1, B * NP, C, K, 1.0f, cols, K, weight, K, 0.0f, out, C);
}

void patch_embed_forward_naive(float *out, const float *images, const float *weight, int B, int S, int P, int C) {
    int G = S / P, NP = G * G;
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++)
                for (int o = 0; o < C; o++) {
                    float s = 0.0f;
                    for (int c = 0; c < 3; c++)
                        for (int ky = 0; ky < P; ky++)
                            for (int kx = 0; kx < P; kx++)
                                s += images[(((size_t)b * 3 + c) * S + gy * P + ky) * S + gx * P + kx] *
                                     weight[(((size_t)o * 3 + c) * P + ky) * P + kx];
                    out[((size_t)b * NP + gy * G + gx) * C + o] = s;
                }
}

void patch_embed_backward(float *dimages, float *dweight, const float *dout, const float *cols,
                          const float *weight, int B, int S, int P, int C) {
    CHECK(P > 0 && S % P == 0, "image size %d not divisible by patch %d", S, P);
    int G = S / P, NP = G * G, K = 3 * P * P;
    if (B == 0) return;
    if (dweight)
        gemm_layer(1, 0, C, K, B * NP, 1.0f, dout, C, cols, K, 1.0f, dweight, K);
    if (dimages) {
        /* Patches do not overlap (stride = kernel), so each pixel has one source. */
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NP * 3 * P * P * C)
        for (int bp = 0; bp < B * NP; bp++) {
            int b = bp / NP, p = bp % NP, gy = p / G, gx = p % G;
            const float *d = dout + (size_t)bp * C;
            for (int c = 0; c < 3; c++)
                for (int ky = 0; ky < P; ky++)
                    for (int kx = 0; kx < P; kx++) {
                        float s = 0.0f;
                        int k = (c * P + ky) * P + kx;
                        for (int o = 0; o < C; o++) s += d[o] * weight[(size_t)o * K + k];
                        dimages[(((size_t)b * 3 + c) * S + (size_t)gy * P + ky) * S + (size_t)gx * P + kx] += s;
                    }
        }
    }
}

void patch_embed_backward_naive(float *dimages, float *dweight, const float *dout, const float *images,
                                const float *weight, int B, int S, int P, int C) {
    int G = S / P, NP = G * G;
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++)
                for (int o = 0; o < C; o++) {
                    float d = dout[((size_t)b * NP + gy * G + gx) * C + o];
                    for (int c = 0; c < 3; c++)
                        for (int ky = 0; ky < P; ky++)
                            for (int kx = 0; kx < P; kx++) {
                                size_t pi = (((size_t)b * 3 + c) * S + gy * P + ky) * S + gx * P + kx;
                                size_t wi = (((size_t)o * 3 + c) * P + ky) * P + kx;
                                if (dweight) dweight[wi] += d * images[pi];
                                if (dimages) dimages[pi] += d * weight[wi];
                            }
                }
}
