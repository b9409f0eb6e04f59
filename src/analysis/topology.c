#include "analysis/topology.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/unitrows.h"
#include "core/rng.h"

/* Rows of the Gram matrix computed per dgemm call. */
#define TOPOLOGY_GRAM_ROWS 256

static double clamped_acos(double d) { return acos(d > 1 ? 1 : d < -1 ? -1 : d); }

typedef struct {
    double v;
    int64_t i;
} Keyed;

static int cmp_keyed(const void *a, const void *b) {
    const Keyed *x = a, *y = b;
    if (x->v != y->v) return (x->v > y->v) - (x->v < y->v);
    return (x->i > y->i) - (x->i < y->i);
}

/* Average 1-based ranks of x into r; k is scratch of n entries. */
static void average_ranks(const double *x, double *r, int64_t n, Keyed *k) {
    for (int64_t i = 0; i < n; i++) k[i] = (Keyed){x[i], i};
    qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    for (int64_t s = 0; s < n;) {
        int64_t e = s + 1;
        while (e < n && k[e].v == k[s].v) e++;
        double avg = 0.5 * (double)(s + 1 + e); /* mean of ranks s+1 .. e */
        for (int64_t t = s; t < e; t++) r[k[t].i] = avg;
        s = e;
    }
}

ModxStatus topology_spearman(double *rho, const double *x, const double *y, int64_t n) {
    *rho = NAN;
    if (n < 2) return MODX_OK;
    double *rx = modx_calloc((size_t)n, sizeof *rx, "spearman ranks");
    double *ry = modx_calloc((size_t)n, sizeof *ry, "spearman ranks");
    Keyed *k = modx_calloc((size_t)n, sizeof *k, "spearman ranks");
    if (!rx || !ry || !k) {
        free(rx);
        free(ry);
        free(k);
        return MODX_ERR_NOMEM;
    }
    average_ranks(x, rx, n, k);
    average_ranks(y, ry, n, k);
    double mean = 0.5 * (double)(n + 1), sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx > 0 && syy > 0) *rho = sxy / sqrt(sxx * syy);
    free(rx);
    free(ry);
    free(k);
    return MODX_OK;
}

/* Every pair's angle in a and in b: Gram rows in blocks by dgemm,
 * G = a[i0 : i0 + nb] a^T, then the pairs j > i of each row. */
static ModxStatus all_pair_angles(const double *a, const double *b, int N, int E, double *sa, double *sb) {
    int nb = N < TOPOLOGY_GRAM_ROWS ? N : TOPOLOGY_GRAM_ROWS;
    double *ga = modx_calloc((size_t)nb * (size_t)N, sizeof *ga, "topology Gram block");
    double *gb = modx_calloc((size_t)nb * (size_t)N, sizeof *gb, "topology Gram block");
    if (!ga || !gb) {
        free(ga), free(gb);
        return MODX_ERR_NOMEM;
    }
    for (int i0 = 0; i0 < N - 1; i0 += nb) {
        int rows = N - i0 < nb ? N - i0 : nb;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, N, E, 1.0, a + (size_t)i0 * E, E, a, E, 0.0, ga, N);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, N, E, 1.0, b + (size_t)i0 * E, E, b, E, 0.0, gb, N);
#pragma omp parallel for schedule(dynamic, 16)
        for (int r = 0; r < rows; r++) {
            int i = i0 + r;
            int64_t base = (int64_t)i * N - (int64_t)i * (i + 1) / 2; /* pairs before row i */
            for (int j = i + 1; j < N; j++) {
                int64_t p = base + (j - i - 1);
                sa[p] = clamped_acos(ga[(size_t)r * N + j]);
                sb[p] = clamped_acos(gb[(size_t)r * N + j]);
            }
        }
    }
    free(ga), free(gb);
    return MODX_OK;
}

/* `used` pairs drawn with the seed, their angles in a and in b. */
static ModxStatus sampled_pair_angles(const double *a, const double *b, int N, int E, int64_t used, uint64_t seed,
                                      double *sa, double *sb) {
    int32_t *pi = modx_calloc((size_t)used, sizeof *pi, "topology pair sample");
    int32_t *pj = modx_calloc((size_t)used, sizeof *pj, "topology pair sample");
    if (!pi || !pj) {
        free(pi), free(pj);
        return MODX_ERR_NOMEM;
    }
    Rng r;
    rng_seed(&r, seed);
    for (int64_t p = 0; p < used; p++) {
        int i = (int)rng_below(&r, (uint64_t)N), j = (int)rng_below(&r, (uint64_t)N - 1);
        if (j >= i) j++;
        pi[p] = i < j ? i : j;
        pj[p] = i < j ? j : i;
    }
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < used; p++) {
        sa[p] = analysis_angle(a + (size_t)pi[p] * E, a + (size_t)pj[p] * E, E);
        sb[p] = analysis_angle(b + (size_t)pi[p] * E, b + (size_t)pj[p] * E, E);
    }
    free(pi), free(pj);
    return MODX_OK;
}

ModxStatus topology_change(TopologyChange *out, const float *fa, const float *fb, int N, int E, int64_t max_pairs,
                           uint64_t seed) {
    memset(out, 0, sizeof *out);
    if (N < 2) return modx_fail(MODX_ERR_INVALID, "topology: expected at least 2 probe samples, got %d", N);
    if (max_pairs < 1) return modx_fail(MODX_ERR_INVALID, "topology: pair cap %lld, expected >= 1", (long long)max_pairs);
    int64_t total = (int64_t)N * (N - 1) / 2, used = total < max_pairs ? total : max_pairs;
    double *a = NULL, *b = NULL, *sa = NULL, *sb = NULL;
    ModxStatus st = analysis_unit_rows(&a, fa, N, E, "topology: features of a");
    if (!st) st = analysis_unit_rows(&b, fb, N, E, "topology: features of b");
    if (st) goto fail;
    sa = modx_calloc((size_t)used, sizeof *sa, "topology pair angles");
    sb = modx_calloc((size_t)used, sizeof *sb, "topology pair angles");
    if (!sa || !sb) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    st = used == total ? all_pair_angles(a, b, N, E, sa, sb) : sampled_pair_angles(a, b, N, E, used, seed, sa, sb);
    if (st) goto fail;
    double ma = 0, mb = 0, md = 0, mx = 0;
    for (int64_t p = 0; p < used; p++) {
        double d = fabs(sa[p] - sb[p]);
        ma += sa[p];
        mb += sb[p];
        md += d;
        if (d > mx) mx = d;
    }
    const double deg = 180.0 / M_PI;
    out->pairs_total = total;
    out->pairs_used = used;
    out->subsampled = used < total;
    out->mean_angle_a_deg = ma / (double)used * deg;
    out->mean_angle_b_deg = mb / (double)used * deg;
    out->mean_abs_change_deg = md / (double)used * deg;
    out->max_abs_change_deg = mx * deg;
    st = topology_spearman(&out->spearman, sa, sb, used);
fail:
    free(a);
    free(b);
    free(sa);
    free(sb);
    return st;
}
