/* Finite-difference gradient checks shared by the nn and clip tests.
 *
 * A check perturbs entries of one float tensor by ±h, re-runs a scalar loss
 * (accumulated in double by the caller's callback) and compares the central
 * difference with the analytic gradient. Errors are reported relative to the
 * largest analytic gradient entry of that tensor (floor 1e-3), because float
 * round-off in the loss is absolute, not per entry. */
#ifndef MODX_TESTS_GRADCHECK_H
#define MODX_TESTS_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

typedef double (*GradcheckLoss)(void *ctx);

typedef struct {
    double max_abs;  /* max |fd − analytic| */
    double max_rel;  /* max_abs / max(|analytic|_∞, 1e-3) */
    size_t checked;
} GradcheckResult;

/* Checks up to `max_checks` entries of x (all when n <= max_checks, else a
 * seeded sample). `grad` is the analytic gradient of loss w.r.t. x. */
static inline GradcheckResult gradcheck_tensor(GradcheckLoss loss, void *ctx, float *x, const float *grad, size_t n,
                                               float h, size_t max_checks, uint64_t seed) {
    GradcheckResult r = {0, 0, 0};
    double gmax = 1e-3;
    for (size_t i = 0; i < n; i++)
        if (fabs(grad[i]) > gmax) gmax = fabs(grad[i]);
    Rng rng;
    rng_seed(&rng, seed);
    size_t m = n <= max_checks ? n : max_checks;
    for (size_t k = 0; k < m; k++) {
        size_t i = n <= max_checks ? k : (size_t)rng_below(&rng, n);
        float saved = x[i];
        x[i] = saved + h;
        double lp = loss(ctx);
        x[i] = saved - h;
        double lm = loss(ctx);
        x[i] = saved;
        /* the step actually taken in float */
        double fd = (lp - lm) / ((double)(saved + h) - (double)(saved - h));
        double err = fabs(fd - grad[i]);
        if (err > r.max_abs) r.max_abs = err;
        r.checked++;
    }
    r.max_rel = r.max_abs / gmax;
    return r;
}

/* Fills x (n) with N(0, std²) from a seeded stream. */
static inline void gradcheck_randn(float *x, size_t n, float std, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)(rng_normal(&rng) * std);
}

static inline double gradcheck_dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

#endif
