/* Sums in double over float arrays, in a fixed order that vectorises: 16
 * interleaved partial sums (sum j takes elements j, j + 16, j + 32, …), the
 * tail after them in order, then the 16 sums in order. A single running sum
 * is a chain of dependent additions, ~4 cycles an element; these run 16 at a
 * time. The order depends only on n, never on the thread count or the
 * compiler's vector width, so results are deterministic. */
#ifndef MODX_CORE_LANESUM_H
#define MODX_CORE_LANESUM_H

#include <stddef.h>

#define LANESUM_LANES 16

static inline double lanesum_finish(const double *acc, double tail) {
    double s = 0.0;
    for (int j = 0; j < LANESUM_LANES; j++) s += acc[j];
    return s + tail;
}

/* Σ x[k] */
static inline double lanesum(const float *x, size_t n) {
    double acc[LANESUM_LANES] = {0}, tail = 0.0;
    size_t k = 0;
    for (; k + LANESUM_LANES <= n; k += LANESUM_LANES)
        for (int j = 0; j < LANESUM_LANES; j++) acc[j] += x[k + j];
    for (; k < n; k++) tail += x[k];
    return lanesum_finish(acc, tail);
}

/* Σ x[k]² (each square in double) */
static inline double lanesum_sq(const float *x, size_t n) {
    double acc[LANESUM_LANES] = {0}, tail = 0.0;
    size_t k = 0;
    for (; k + LANESUM_LANES <= n; k += LANESUM_LANES)
        for (int j = 0; j < LANESUM_LANES; j++) acc[j] += (double)x[k + j] * x[k + j];
    for (; k < n; k++) tail += (double)x[k] * x[k];
    return lanesum_finish(acc, tail);
}

/* Σ (x[k] − m)² in double */
static inline double lanesum_dev2(const float *x, double m, size_t n) {
    double acc[LANESUM_LANES] = {0}, tail = 0.0;
    size_t k = 0;
    for (; k + LANESUM_LANES <= n; k += LANESUM_LANES)
        for (int j = 0; j < LANESUM_LANES; j++) acc[j] += (x[k + j] - m) * (x[k + j] - m);
    for (; k < n; k++) tail += (x[k] - m) * (x[k] - m);
    return lanesum_finish(acc, tail);
}

/* *s1 = Σ y[k], *s2 = Σ y[k]·((x[k] − a)·b), the bracket in float (BatchNorm's Σdy and Σdy·x̂) */
static inline void lanesum_y_yxhat(const float *y, const float *x, float a, float b, size_t n, double *s1,
                                   double *s2) {
    double acc1[LANESUM_LANES] = {0}, acc2[LANESUM_LANES] = {0}, t1 = 0.0, t2 = 0.0;
    size_t k = 0;
    for (; k + LANESUM_LANES <= n; k += LANESUM_LANES)
        for (int j = 0; j < LANESUM_LANES; j++) {
            acc1[j] += y[k + j];
            acc2[j] += (double)y[k + j] * ((x[k + j] - a) * b);
        }
    for (; k < n; k++) t1 += y[k], t2 += (double)y[k] * ((x[k] - a) * b);
    *s1 = lanesum_finish(acc1, t1);
    *s2 = lanesum_finish(acc2, t2);
}

#endif
