#include "analysis/unitrows.h"

#include <math.h>
#include <stdlib.h>

#include "core/size.h"

ModxStatus analysis_unit_rows(double **out, const float *x, int N, int E, const char *what) {
    *out = NULL;
    size_t n;
    if (N <= 0 || E <= 0 || !size_mul((size_t)N, (size_t)E, &n))
        return modx_fail(MODX_ERR_INVALID, "%s: expected a non-empty N x E matrix, got %d x %d", what, N, E);
    double *u = modx_calloc(n, sizeof *u, what);
    if (!u) return MODX_ERR_NOMEM;
    for (int i = 0; i < N; i++) {
        const float *r = x + (size_t)i * E;
        double s = 0;
        for (int e = 0; e < E; e++) s += (double)r[e] * r[e];
        if (!isfinite(s) || s == 0) {
            free(u);
            return modx_fail(MODX_ERR_INVALID, "%s: row %d has norm %g, expected a finite non-zero feature vector", what, i,
                             sqrt(s));
        }
        double inv = 1 / sqrt(s);
        for (int e = 0; e < E; e++) u[(size_t)i * E + e] = r[e] * inv;
    }
    *out = u;
    return MODX_OK;
}

double analysis_angle(const double *a, const double *b, int E) {
    double d = 0;
    for (int e = 0; e < E; e++) d += a[e] * b[e];
    if (d > 1) d = 1;
    if (d < -1) d = -1;
    return acos(d);
}
