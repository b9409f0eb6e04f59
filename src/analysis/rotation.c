#include "analysis/rotation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/unitrows.h"

ModxStatus rotation_angles(double *theta, const float *fa, const float *fb, int N, int E) {
    double *a = NULL, *b = NULL;
    ModxStatus st = analysis_unit_rows(&a, fa, N, E, "rotation: features of a");
    if (!st) st = analysis_unit_rows(&b, fb, N, E, "rotation: features of b");
    if (!st)
        for (int i = 0; i < N; i++) theta[i] = analysis_angle(a + (size_t)i * E, b + (size_t)i * E, E);
    free(a);
    free(b);
    return st;
}

static int cmp_f64(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double percentile(const double *sorted, int n, double q) {
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return sorted[n - 1];
    double f = pos - lo;
    return sorted[lo] + f * (sorted[lo + 1] - sorted[lo]);
}

ModxStatus angle_stats(AngleStats *out, const double *theta_rad, int n) {
    memset(out, 0, sizeof *out);
    if (n <= 0) return modx_fail(MODX_ERR_INVALID, "angle statistics: expected at least one angle, got %d", n);
    double *s = modx_calloc((size_t)n, sizeof *s, "angle statistics");
    if (!s) return MODX_ERR_NOMEM;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double t = theta_rad[i];
        if (!(t >= 0 && t <= M_PI)) {
            free(s);
            return modx_fail(MODX_ERR_INVALID, "angle statistics: angle %d is %g rad, expected a value in [0, pi]", i, t);
        }
        double deg = t * (180.0 / M_PI);
        s[i] = deg;
        sum += deg;
        /* + 1e-9: a bin edge k * 5 deg that comes back as 5k - 1e-14 after the
         * radian round trip is counted in bin k, as written */
        int bin = (int)(deg / ANGLE_HIST_WIDTH_DEG + 1e-9);
        if (bin >= ANGLE_HIST_BINS) bin = ANGLE_HIST_BINS - 1;
        out->hist[bin]++;
    }
    qsort(s, (size_t)n, sizeof *s, cmp_f64);
    out->n = n;
    out->mean = sum / n;
    out->median = percentile(s, n, 0.5);
    out->p10 = percentile(s, n, 0.1);
    out->p90 = percentile(s, n, 0.9);
    out->min = s[0];
    out->max = s[n - 1];
    free(s);
    return MODX_OK;
}
