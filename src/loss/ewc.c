#include "loss/ewc.h"

#include <math.h>

void ewc_fisher_accumulate(float *fisher, const float *grads, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++) fisher[k] += grads[k] * grads[k];
}

/* The parameter holding flat index k, or NULL. */
static const ParamInfo *param_at(const ParamTable *t, size_t k) {
    for (int i = 0; t && i < t->count; i++)
        if (k >= t->items[i].offset && k < t->items[i].offset + t->items[i].numel) return &t->items[i];
    return NULL;
}

ModxStatus ewc_fisher_finish(float *fisher, size_t n, long n_batches, const ParamTable *table) {
    if (n_batches < 1)
        return modx_fail(MODX_ERR_INVALID, "EWC Fisher: %ld batches accumulated, expected at least 1", n_batches);
    const float inv = (float)(1.0 / (double)n_batches);
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(fisher[k])) {
            const ParamInfo *p = param_at(table, k);
            if (p)
                return modx_fail(MODX_ERR_INVALID,
                                 "EWC Fisher: non-finite value %g in parameter '%s' (element %zu): a gradient "
                                 "of the previous phase overflowed",
                                 fisher[k], p->name, k - p->offset);
            return modx_fail(MODX_ERR_INVALID, "EWC Fisher: non-finite value %g at flat index %zu", fisher[k], k);
        }
        fisher[k] *= inv;
    }
    return MODX_OK;
}

/* Fixed chunking: the partial sums and their order do not depend on the
 * number of threads. */
#define EWC_CHUNKS 256

double ewc_penalty(float *grads, const float *params, const float *theta_star, const float *fisher, float lambda,
                   size_t n) {
    double part[EWC_CHUNKS];
    const size_t chunk = (n + EWC_CHUNKS - 1) / EWC_CHUNKS;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < EWC_CHUNKS; c++) {
        const size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double acc = 0.0;
        for (size_t k = lo; k < hi; k++) {
            const double d = (double)params[k] - (double)theta_star[k];
            acc += (double)fisher[k] * d * d;
            if (grads) grads[k] += (float)((double)lambda * fisher[k] * d);
        }
        part[c] = acc;
    }
    double sum = 0.0;
    for (int c = 0; c < EWC_CHUNKS; c++) sum += part[c];
    return 0.5 * (double)lambda * sum;
}
