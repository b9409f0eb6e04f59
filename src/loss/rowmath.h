/* Row helpers shared by the losses: strided max, log-sum-exp (max-subtracted,
 * summed in double, optionally at a temperature) and double-precision dots. */
#ifndef MODX_LOSS_ROWMATH_H
#define MODX_LOSS_ROWMATH_H

#include <math.h>
#include <stddef.h>

/* The largest of n floats at `stride` (n ≥ 1). */
static inline float row_max_strided(const float *x, int n, size_t stride) {
    float mx = x[0];
    for (int j = 1; j < n; j++)
        if (x[(size_t)j * stride] > mx) mx = x[(size_t)j * stride];
    return mx;
}

/* logsumexp of x[k·stride]·inv_tau over n entries MINUS mx·inv_tau (mx = the
 * largest entry), in double: a number in [0, log n] that keeps its relative
 * precision when stored as float, however large the logits are. */
static inline double row_lse_rel_strided(const float *x, int n, size_t stride, double inv_tau, float mx) {
    double sum = 0.0;
    for (int j = 0; j < n; j++) sum += exp(((double)x[(size_t)j * stride] - mx) * inv_tau);
    return log(sum);
}

/* logsumexp of x[k·stride]·inv_tau over n entries (inv_tau = 1: plain logits). */
static inline double row_lse_strided(const float *x, int n, size_t stride, double inv_tau) {
    const float mx = row_max_strided(x, n, stride);
    return (double)mx * inv_tau + row_lse_rel_strided(x, n, stride, inv_tau, mx);
}

/* Σ a[k]·b[k] in double. */
static inline double row_dot_f64(const float *a, const float *b, int n) {
    double d = 0.0;
    for (int k = 0; k < n; k++) d += (double)a[k] * b[k];
    return d;
}

#endif
