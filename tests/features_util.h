/* Helpers shared by the loss and strategy tests: random L2-normalised feature
 * rows, noisy copies of them, and relative errors. */
#ifndef MODX_TEST_FEATURES_UTIL_H
#define MODX_TEST_FEATURES_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"

/* B rows of E N(0,1) entries, each scaled to unit length. */
static inline void rand_unit_rows(Rng *r, float *x, int B, int E) {
    for (int i = 0; i < B; i++) {
        double n2 = 0.0;
        for (int k = 0; k < E; k++) {
            x[(size_t)i * E + k] = (float)rng_normal(r);
            n2 += (double)x[(size_t)i * E + k] * x[(size_t)i * E + k];
        }
        for (int k = 0; k < E; k++) x[(size_t)i * E + k] = (float)(x[(size_t)i * E + k] / sqrt(n2));
    }
}

/* rows of y = unit(x + noise·N(0,1)) */
static inline void noisy_copy(Rng *r, float *y, const float *x, int B, int E, double noise) {
    for (int i = 0; i < B; i++) {
        double n2 = 0.0;
        for (int k = 0; k < E; k++) {
            double v = x[(size_t)i * E + k] + noise * rng_normal(r);
            y[(size_t)i * E + k] = (float)v;
            n2 += v * v;
        }
        for (int k = 0; k < E; k++) y[(size_t)i * E + k] = (float)(y[(size_t)i * E + k] / sqrt(n2));
    }
}

/* Zeroed floats (never a NULL for n = 0 unless out of memory). */
static inline float *fzalloc(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* max |got − want| / max |want| */
static inline double rel_err(const float *got, const float *want, size_t n) {
    double mx = 0.0, d = 0.0;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(want[i]));
        d = fmax(d, fabs((double)got[i] - want[i]));
    }
    return d / fmax(mx, 1e-30);
}

#endif
