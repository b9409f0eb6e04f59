/* Spatial-disorder analysis on synthetic features with planted rotations. */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/features_file.h"
#include "analysis/procrustes.h"
#include "analysis/unitrows.h"
#include "core/error.h"
#include "core/rng.h"
#include "eval/retrieval.h"
#include "harness.h"
#include "io/file.h"

#define DEG (180.0 / M_PI)

/* Random orthogonal Q (E, E) row-major: Gram-Schmidt (twice) QR of a Gaussian matrix, in double. */
static void random_orthogonal(Rng *r, double *Q, int E) {
    for (int k = 0; k < E * E; k++) Q[k] = rng_normal(r);
    for (int i = 0; i < E; i++) { /* orthonormalise row i against rows < i */
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < i; j++) {
                double d = 0;
                for (int e = 0; e < E; e++) d += Q[i * E + e] * Q[j * E + e];
                for (int e = 0; e < E; e++) Q[i * E + e] -= d * Q[j * E + e];
            }
        double n = 0;
        for (int e = 0; e < E; e++) n += Q[i * E + e] * Q[i * E + e];
        for (int e = 0; e < E; e++) Q[i * E + e] /= sqrt(n);
    }
}

/* out_i = M x_i (column convention) for float rows x, in double, stored as float. */
static void apply(float *out, const double *M, const float *x, int N, int E) {
    for (int i = 0; i < N; i++)
        for (int r = 0; r < E; r++) {
            double s = 0;
            for (int e = 0; e < E; e++) s += M[r * E + e] * x[i * E + e];
            out[i * E + r] = (float)s;
        }
}

static void normalise(float *x, int N, int E) {
    for (int i = 0; i < N; i++) {
        double n = 0;
        for (int e = 0; e < E; e++) n += (double)x[i * E + e] * x[i * E + e];
        for (int e = 0; e < E; e++) x[i * E + e] = (float)(x[i * E + e] / sqrt(n));
    }
}

/* Image features and text features correlated with them (pair angles around 50 degrees). */
static void make_pairs(Rng *r, float *v, float *t, int N, int E) {
    for (int k = 0; k < N * E; k++) v[k] = (float)rng_normal(r);
    normalise(v, N, E);
    for (int k = 0; k < N * E; k++) t[k] = v[k] + 0.25f * (float)rng_normal(r);
    normalise(t, N, E);
}

static void givens(double *G, int E, double phi) {
    memset(G, 0, sizeof(double) * E * E);
    for (int e = 0; e < E; e++) G[e * E + e] = 1;
    G[0] = cos(phi);
    G[1] = -sin(phi);
    G[E] = sin(phi);
    G[E + 1] = cos(phi);
}

enum { AN = 300, AE = 24 };

TEST(analysis_same_rotation_both_modalities) {
    Rng r;
    rng_seed(&r, 101);
    static float va[AN * AE], ta[AN * AE], vb[AN * AE], tb[AN * AE];
    static double Q[AE * AE];
    make_pairs(&r, va, ta, AN, AE);
    random_orthogonal(&r, Q, AE);
    apply(vb, Q, va, AN, AE);
    apply(tb, Q, ta, AN, AE);
    AnalysisResult res;
    EXPECT(analysis_compute(&res, va, ta, vb, tb, AN, AE, NULL) == MODX_OK, "%s", modx_last_error());
    /* theta_i against arccos<f, Q f> computed in double */
    double theta[AN], maxerr = 0, mean = 0;
    EXPECT(rotation_angles(theta, va, vb, AN, AE) == MODX_OK, "%s", modx_last_error());
    for (int i = 0; i < AN; i++) {
        double f[AE], qf[AE], nf = 0, nq = 0, d = 0;
        for (int e = 0; e < AE; e++) f[e] = va[i * AE + e];
        for (int e = 0; e < AE; e++) {
            qf[e] = 0;
            for (int k = 0; k < AE; k++) qf[e] += Q[e * AE + k] * f[k];
        }
        for (int e = 0; e < AE; e++) {
            nf += f[e] * f[e];
            nq += qf[e] * qf[e];
            d += f[e] * qf[e];
        }
        double want = acos(d / sqrt(nf * nq));
        if (fabs(theta[i] - want) > maxerr) maxerr = fabs(theta[i] - want);
        mean += want * DEG / AN;
    }
    double topo = res.topology_v.mean_abs_change_deg, topo_t = res.topology_t.mean_abs_change_deg;
    double sp = res.topology_v.spearman, sp_t = res.topology_t.spearman, rel = res.relative.max_deg;
    double pair = res.pair.mean_abs_change_deg, rotmean = res.rotation_v.mean;
    int det = res.relative.determined;
    analysis_free(&res);
    EXPECT(maxerr < 1e-4, "theta vs arccos<f, Qf>: max error %g rad", maxerr);
    EXPECT(fabs(rotmean - mean) < 1e-4, "mean theta %g deg, want %g", rotmean, mean);
    EXPECT(rotmean > 30, "a random rotation should move samples a lot, mean theta %g deg", rotmean);
    EXPECT(topo <= 1e-4 && topo_t <= 1e-4, "topology change %g / %g deg", topo, topo_t);
    EXPECT(sp > 1 - 1e-9 && sp_t > 1 - 1e-9, "Spearman %.12f / %.12f", sp, sp_t);
    EXPECT(det && rel <= 1e-3, "relative rotation max %g deg (determined %d)", rel, det);
    EXPECT(pair <= 1e-4, "pair-angle change %g deg", pair);
    /* retrieval unchanged: one caption per image */
    int32_t map[AN], ra[2 * AN], rb[2 * AN];
    for (int i = 0; i < AN; i++) map[i] = i;
    RetrievalMetrics ma, mb;
    EXPECT(retrieval_evaluate(&ma, va, AN, ta, AN, AE, map, ra, ra + AN) == MODX_OK, "%s", modx_last_error());
    EXPECT(retrieval_evaluate(&mb, vb, AN, tb, AN, AE, map, rb, rb + AN) == MODX_OK, "%s", modx_last_error());
    int diff = 0;
    for (int k = 0; k < 2 * AN; k++) diff += ra[k] != rb[k];
    EXPECT(diff == 0 && ma.rsum == mb.rsum, "%d ranks changed; rsum %g vs %g", diff, ma.rsum, mb.rsum);
    EXPECT(ma.i2t_r1 < 100 && ma.i2t_r10 > 0, "degenerate retrieval case: R@1 %g R@10 %g", ma.i2t_r1, ma.i2t_r10);
}

TEST(analysis_text_only_givens_rotation) {
    Rng r;
    rng_seed(&r, 102);
    static float va[AN * AE], ta[AN * AE], vb[AN * AE], tb[AN * AE], tmp[AN * AE];
    static double Q[AE * AE], G[AE * AE];
    make_pairs(&r, va, ta, AN, AE);
    const double phi = 20.0 / DEG;
    givens(G, AE, phi);
    for (int variant = 0; variant < 2; variant++) {
        /* variant 0: image fixed, text rotated by G; variant 1: both rotated by Q on top (text by Q G). */
        if (variant == 0) {
            memcpy(vb, va, sizeof vb);
            apply(tb, G, ta, AN, AE);
        } else {
            random_orthogonal(&r, Q, AE);
            apply(vb, Q, va, AN, AE);
            apply(tmp, G, ta, AN, AE);
            apply(tb, Q, tmp, AN, AE);
        }
        AnalysisResult res;
        EXPECT(analysis_compute(&res, va, ta, vb, tb, AN, AE, NULL) == MODX_OK, "%s", modx_last_error());
        const RelativeRotation *q = &res.relative;
        double a0 = q->angles_deg[0], a1 = q->angles_deg[1], a2 = q->angles_deg[2], mean = q->mean_deg;
        double topo_t = res.topology_t.mean_abs_change_deg, sp_t = res.topology_t.spearman;
        double pair = res.pair.mean_abs_change_deg, resid = q->fit_t.residual;
        analysis_free(&res);
        EXPECT(fabs(a0 - 20) < 1e-3 && fabs(a1 - 20) < 1e-3, "variant %d: top angles %.6f %.6f, want 20", variant, a0, a1);
        EXPECT(a2 < 1e-3, "variant %d: third angle %g deg, want ~0", variant, a2);
        EXPECT(fabs(mean - 40.0 / AE) < 1e-3, "variant %d: mean angle %g, want %g", variant, mean, 40.0 / AE);
        EXPECT(topo_t < 1e-4 && sp_t > 1 - 1e-9, "variant %d: text topology %g deg, Spearman %.12f", variant, topo_t, sp_t);
        EXPECT(resid < 1e-6, "variant %d: text Procrustes residual %g", variant, resid);
        EXPECT(pair > 0.5, "variant %d: pair-angle change %g deg should be visible", variant, pair);
    }
}

TEST(analysis_noise_moves_figures_continuously) {
    Rng r;
    rng_seed(&r, 103);
    static float va[AN * AE], ta[AN * AE], vb[AN * AE], tb[AN * AE], nv[AN * AE], nt[AN * AE];
    static double Q[AE * AE];
    make_pairs(&r, va, ta, AN, AE);
    random_orthogonal(&r, Q, AE);
    for (int k = 0; k < AN * AE; k++) {
        nv[k] = (float)rng_normal(&r);
        nt[k] = (float)rng_normal(&r);
    }
    const double sig[6] = {0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1};
    double topo[6], pair[6], relmax[6], relmean[6], sp[6];
    for (int s = 0; s < 6; s++) {
        apply(vb, Q, va, AN, AE);
        apply(tb, Q, ta, AN, AE);
        for (int k = 0; k < AN * AE; k++) {
            vb[k] += (float)(sig[s] * nv[k] / sqrt(AE));
            tb[k] += (float)(sig[s] * nt[k] / sqrt(AE));
        }
        normalise(vb, AN, AE);
        normalise(tb, AN, AE);
        AnalysisResult res;
        EXPECT(analysis_compute(&res, va, ta, vb, tb, AN, AE, NULL) == MODX_OK, "%s", modx_last_error());
        topo[s] = res.topology_v.mean_abs_change_deg;
        sp[s] = res.topology_v.spearman;
        pair[s] = res.pair.mean_abs_change_deg;
        relmax[s] = res.relative.max_deg;
        relmean[s] = res.relative.mean_deg;
        analysis_free(&res);
    }
    for (int s = 1; s < 6; s++) {
        EXPECT(topo[s] > topo[s - 1] && pair[s] > pair[s - 1] && relmean[s] > relmean[s - 1] && relmax[s] > relmax[s - 1],
               "sigma %g -> %g: topology %g -> %g, pair %g -> %g, relative mean %g -> %g, max %g -> %g", sig[s - 1], sig[s],
               topo[s - 1], topo[s], pair[s - 1], pair[s], relmean[s - 1], relmean[s], relmax[s - 1], relmax[s]);
        EXPECT(sp[s] < sp[s - 1] + 1e-9, "Spearman rose with noise: %.9f -> %.9f", sp[s - 1], sp[s]);
    }
    /* small noise -> small figures, roughly linear in sigma */
    EXPECT(topo[1] < 0.1 && pair[1] < 0.1 && relmax[1] < 0.5, "sigma 1e-3: topology %g, pair %g, relative max %g deg",
           topo[1], pair[1], relmax[1]);
    double ratio = topo[3] / topo[1], ratio2 = relmean[3] / relmean[1];
    EXPECT(ratio > 5 && ratio < 20 && ratio2 > 5 && ratio2 < 20, "10x noise scaled topology by %g, relative mean by %g",
           ratio, ratio2);
    EXPECT(sp[5] < 1 && sp[5] > 0.9, "Spearman at sigma 0.1: %g", sp[5]);
}

static double residual2d(const double *A, const double *B, int N, const double *R) {
    double s = 0;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < 2; c++) {
            double v = A[i * 2] * R[c] + A[i * 2 + 1] * R[2 + c] - B[i * 2 + c];
            s += v * v;
        }
    return s;
}

TEST(analysis_procrustes_2d_grid) {
    enum { N = 50 };
    Rng r;
    rng_seed(&r, 104);
    double A[N * 2], B[N * 2];
    for (int reflect = 0; reflect < 2; reflect++) {
        double phi = 1.234 + reflect, c = cos(phi), s = sin(phi);
        /* planted row map b = a R0 (+ noise); R0 a rotation, or a reflection */
        double R0[4] = {c, s, reflect ? s : -s, reflect ? -c : c};
        for (int i = 0; i < N; i++) {
            A[i * 2] = rng_normal(&r);
            A[i * 2 + 1] = rng_normal(&r);
            for (int k = 0; k < 2; k++)
                B[i * 2 + k] = A[i * 2] * R0[k] + A[i * 2 + 1] * R0[2 + k] + 0.3 * rng_normal(&r);
        }
        double R[4];
        ProcrustesFit fit;
        EXPECT(procrustes_fit(R, &fit, A, B, N, 2) == MODX_OK, "%s", modx_last_error());
        double best = INFINITY, bestR[4] = {0};
        for (int k = 0; k < 200000; k++) { /* rotations and reflections on a 2pi/200000 grid */
            double t = 2 * M_PI * k / 200000, ct = cos(t), st = sin(t);
            double G[2][4] = {{ct, st, -st, ct}, {ct, st, st, -ct}};
            for (int g = 0; g < 2; g++) {
                double v = residual2d(A, B, N, G[g]);
                if (v < best) {
                    best = v;
                    memcpy(bestR, G[g], sizeof bestR);
                }
            }
        }
        double mine = residual2d(A, B, N, R), bnorm = 0, maxd = 0;
        for (int k = 0; k < N * 2; k++) bnorm += B[k] * B[k];
        for (int k = 0; k < 4; k++) maxd = fmax(maxd, fabs(R[k] - bestR[k]));
        EXPECT(mine <= best + 1e-9, "case %d: SVD fit residual %.12g above grid minimum %.12g", reflect, mine, best);
        EXPECT(best - mine < 1e-6 && maxd < 1e-4, "case %d: grid min %.12g vs fit %.12g, max |R - R_grid| %g", reflect,
               best, mine, maxd);
        EXPECT(fabs(fit.residual - sqrt(mine / bnorm)) < 1e-12, "case %d: reported residual %g want %g", reflect,
               fit.residual, sqrt(mine / bnorm));
        double det = R[0] * R[3] - R[1] * R[2];
        EXPECT(fabs(det - (reflect ? -1 : 1)) < 1e-12, "case %d: det %g", reflect, det);
    }
}

static double residual_nd(const double *A, const double *B, int N, int E, const double *R) {
    double s = 0;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < E; c++) {
            double v = -B[i * E + c];
            for (int k = 0; k < E; k++) v += A[i * E + k] * R[k * E + c];
            s += v * v;
        }
    return s;
}

TEST(analysis_procrustes_planted_and_optimal) {
    enum { N = 60, E = 10 };
    Rng r;
    rng_seed(&r, 105);
    double A[N * E], B[N * E], Q[E * E], R[E * E], P[E * E];
    random_orthogonal(&r, Q, E);
    for (int k = 0; k < N * E; k++) A[k] = rng_normal(&r);
    for (int noisy = 0; noisy < 2; noisy++) {
        for (int i = 0; i < N; i++)
            for (int c = 0; c < E; c++) {
                double v = 0;
                for (int k = 0; k < E; k++) v += A[i * E + k] * Q[k * E + c];
                B[i * E + c] = v + (noisy ? 0.05 * rng_normal(&r) : 0);
            }
        ProcrustesFit fit;
        EXPECT(procrustes_fit(R, &fit, A, B, N, E) == MODX_OK, "%s", modx_last_error());
        double maxd = 0, orth = 0;
        for (int k = 0; k < E * E; k++) maxd = fmax(maxd, fabs(R[k] - Q[k]));
        for (int i = 0; i < E; i++)
            for (int j = 0; j < E; j++) {
                double d = 0;
                for (int k = 0; k < E; k++) d += R[k * E + i] * R[k * E + j];
                orth = fmax(orth, fabs(d - (i == j)));
            }
        EXPECT(orth < 1e-12, "R^T R - I: %g", orth);
        if (!noisy) {
            EXPECT(maxd < 1e-10 && fit.residual < 1e-12, "exact case: max |R - Q| %g, residual %g", maxd, fit.residual);
            continue;
        }
        EXPECT(maxd < 0.05 && fit.residual > 0.01, "noisy case: max |R - Q| %g, residual %g", maxd, fit.residual);
        /* optimality: no small rotation in any coordinate plane, on either side, lowers the residual */
        double base = residual_nd(A, B, N, E, R);
        int worse = 0;
        for (int t = 0; t < 200; t++) {
            int p = (int)rng_below(&r, E), q = (int)rng_below(&r, E - 1);
            if (q >= p) q++;
            double eps = (t % 2 ? 1 : -1) * 1e-3, c = cos(eps), s = sin(eps);
            memcpy(P, R, sizeof P);
            for (int k = 0; k < E; k++) { /* P = R G(p, q, eps): mix columns p and q */
                double x = R[k * E + p], y = R[k * E + q];
                P[k * E + p] = c * x - s * y;
                P[k * E + q] = s * x + c * y;
            }
            worse += residual_nd(A, B, N, E, P) < base - 1e-12;
        }
        EXPECT(worse == 0, "%d of 200 perturbations lowered the residual below %g", worse, base);
    }
}

TEST(analysis_orthogonal_angles_known_spectrum) {
    enum { E = 6 };
    Rng r;
    rng_seed(&r, 106);
    /* blocks: rotation 10 deg, rotation 50 deg, -1, +1 -> angles 180, 50, 50, 10, 10, 0 */
    double D[E * E] = {0}, Q[E * E], M[E * E], T[E * E], ang[E];
    double a1 = 10 / DEG, a2 = 50 / DEG;
    D[0] = cos(a1), D[1] = -sin(a1), D[E] = sin(a1), D[E + 1] = cos(a1);
    D[2 * E + 2] = cos(a2), D[2 * E + 3] = -sin(a2), D[3 * E + 2] = sin(a2), D[3 * E + 3] = cos(a2);
    D[4 * E + 4] = -1, D[5 * E + 5] = 1;
    random_orthogonal(&r, Q, E);
    for (int i = 0; i < E; i++) /* M = Q D Q^T */
        for (int j = 0; j < E; j++) {
            T[i * E + j] = 0;
            for (int k = 0; k < E; k++) T[i * E + j] += Q[i * E + k] * D[k * E + j];
        }
    for (int i = 0; i < E; i++)
        for (int j = 0; j < E; j++) {
            M[i * E + j] = 0;
            for (int k = 0; k < E; k++) M[i * E + j] += T[i * E + k] * Q[j * E + k];
        }
    EXPECT(orthogonal_angles(ang, M, E) == MODX_OK, "%s", modx_last_error());
    const double want[E] = {180, 50, 50, 10, 10, 0};
    for (int k = 0; k < E; k++)
        EXPECT(fabs(ang[k] * DEG - want[k]) < 1e-6, "angle %d: %.9f deg, want %g", k, ang[k] * DEG, want[k]);
}

TEST(analysis_angle_stats_and_spearman_by_hand) {
    double th[11];
    for (int k = 0; k < 10; k++) th[k] = (10.0 * k) / DEG; /* 0, 10, ..., 90 */
    th[10] = M_PI;                                        /* 180 -> last bin */
    AngleStats s;
    EXPECT(angle_stats(&s, th, 10) == MODX_OK, "%s", modx_last_error());
    /* positions q (n - 1) = 0.9, 4.5, 8.1 over 0..90 step 10 */
    EXPECT(fabs(s.mean - 45) < 1e-9 && fabs(s.median - 45) < 1e-9 && fabs(s.p10 - 9) < 1e-9 && fabs(s.p90 - 81) < 1e-9,
           "mean %g median %g p10 %g p90 %g", s.mean, s.median, s.p10, s.p90);
    for (int b = 0; b < ANGLE_HIST_BINS; b++)
        EXPECT(s.hist[b] == (b % 2 == 0 && b <= 18), "bin %d count %lld", b, (long long)s.hist[b]);
    EXPECT(angle_stats(&s, th, 11) == MODX_OK && s.hist[ANGLE_HIST_BINS - 1] == 1 && s.max == 180, "180 deg not binned last");
    th[3] = -0.1;
    EXPECT(angle_stats(&s, th, 11) == MODX_ERR_INVALID, "negative angle accepted");
    /* ranks x (1, 2.5, 2.5, 4), y (1, 3, 2, 4): rho = 4.5 / sqrt(4.5 * 5) */
    const double x[4] = {1, 2, 2, 3}, y[4] = {1, 3, 2, 4};
    double rho;
    EXPECT(topology_spearman(&rho, x, y, 4) == MODX_OK, "%s", modx_last_error());
    EXPECT(fabs(rho - 4.5 / sqrt(22.5)) < 1e-12, "rho %.15f want %.15f", rho, 4.5 / sqrt(22.5));
    const double c[3] = {2, 2, 2};
    EXPECT(topology_spearman(&rho, x, c, 3) == MODX_OK && isnan(rho), "constant list rho %g", rho);
}

TEST(analysis_topology_by_hand_and_sampling) {
    /* 3 points on a circle in the plane at 0, 90, 180 deg (a) and 0, 60, 180 deg (b):
     * pair angles a (90, 180, 90), b (60, 180, 120) -> mean |change| 20 deg. */
    const float fa[3 * 2] = {1, 0, 0, 1, -1, 0};
    const float fb[3 * 2] = {1, 0, 0.5f, (float)(sqrt(3.0) / 2), -1, 0};
    TopologyChange t;
    EXPECT(topology_change(&t, fa, fb, 3, 2, 100, 1) == MODX_OK, "%s", modx_last_error());
    EXPECT(t.pairs_total == 3 && t.pairs_used == 3 && !t.subsampled, "pairs %lld/%lld", (long long)t.pairs_used,
           (long long)t.pairs_total);
    EXPECT(fabs(t.mean_abs_change_deg - 20) < 1e-4 && fabs(t.max_abs_change_deg - 30) < 1e-4, "mean %g max %g",
           t.mean_abs_change_deg, t.max_abs_change_deg);
    /* all pairs through several Gram blocks (N = 300 > 256 rows) against a direct double loop */
    {
        enum { NB = 300, EB = 5 };
        static float x[NB * EB], y[NB * EB];
        Rng q;
        rng_seed(&q, 109);
        for (int k = 0; k < NB * EB; k++) {
            x[k] = (float)rng_normal(&q);
            y[k] = x[k] + 0.5f * (float)rng_normal(&q);
        }
        double *ux, *uy, ma = 0, mb = 0, md = 0;
        EXPECT(analysis_unit_rows(&ux, x, NB, EB, "x") == MODX_OK, "%s", modx_last_error());
        EXPECT(analysis_unit_rows(&uy, y, NB, EB, "y") == MODX_OK, "%s", modx_last_error());
        for (int i = 0; i < NB; i++)
            for (int j = i + 1; j < NB; j++) {
                double p = analysis_angle(ux + i * EB, ux + j * EB, EB), s = analysis_angle(uy + i * EB, uy + j * EB, EB);
                ma += p;
                mb += s;
                md += fabs(p - s);
            }
        free(ux);
        free(uy);
        double np = NB * (NB - 1) / 2.0;
        EXPECT(topology_change(&t, x, y, NB, EB, 1 << 30, 1) == MODX_OK, "%s", modx_last_error());
        EXPECT(fabs(t.mean_angle_a_deg - ma / np * DEG) < 1e-9 && fabs(t.mean_angle_b_deg - mb / np * DEG) < 1e-9 &&
                   fabs(t.mean_abs_change_deg - md / np * DEG) < 1e-9,
               "Gram path %.12g %.12g %.12g vs direct %.12g %.12g %.12g", t.mean_angle_a_deg, t.mean_angle_b_deg,
               t.mean_abs_change_deg, ma / np * DEG, mb / np * DEG, md / np * DEG);
    }
    /* sampled pairs: deterministic and close to the full figure */
    enum { N = 120, E = 8 };
    Rng r;
    rng_seed(&r, 107);
    static float a[N * E], b[N * E];
    for (int k = 0; k < N * E; k++) {
        a[k] = (float)rng_normal(&r);
        b[k] = a[k] + 0.3f * (float)rng_normal(&r);
    }
    TopologyChange full, s1, s2;
    EXPECT(topology_change(&full, a, b, N, E, 1 << 30, 1) == MODX_OK, "%s", modx_last_error());
    EXPECT(topology_change(&s1, a, b, N, E, 3000, 7) == MODX_OK, "%s", modx_last_error());
    EXPECT(topology_change(&s2, a, b, N, E, 3000, 7) == MODX_OK, "%s", modx_last_error());
    EXPECT(full.pairs_used == N * (N - 1) / 2 && s1.pairs_used == 3000 && s1.subsampled, "pairs %lld / %lld",
           (long long)full.pairs_used, (long long)s1.pairs_used);
    EXPECT(s1.mean_abs_change_deg == s2.mean_abs_change_deg && s1.spearman == s2.spearman, "sampling not deterministic");
    EXPECT(fabs(s1.mean_abs_change_deg / full.mean_abs_change_deg - 1) < 0.1 && fabs(s1.spearman - full.spearman) < 0.05,
           "sample %g / %g vs full %g / %g", s1.mean_abs_change_deg, s1.spearman, full.mean_abs_change_deg, full.spearman);
}

TEST(analysis_json_and_errors) {
    enum { N = 40, E = 8 };
    Rng r;
    rng_seed(&r, 108);
    static float va[N * E], ta[N * E], vb[N * E], tb[N * E];
    make_pairs(&r, va, ta, N, E);
    make_pairs(&r, vb, tb, N, E);
    AnalysisResult res;
    EXPECT(analysis_compute(&res, va, ta, vb, tb, N, E, NULL) == MODX_OK, "%s", modx_last_error());
    cJSON *j = NULL;
    ModxStatus st = analysis_to_json(&res, &j);
    double relmax = res.relative.max_deg, rotmean = res.rotation_t.mean;
    analysis_free(&res);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    cJSON *hist = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rotation_v"), "hist");
    long total = 0;
    for (cJSON *h = hist ? hist->child : NULL; h; h = h->next) total += (long)h->valuedouble;
    cJSON *rel = cJSON_GetObjectItem(j, "relative_rotation");
    cJSON *angles = cJSON_GetObjectItem(rel, "angles_deg");
    double jmax = cJSON_GetNumberValue(cJSON_GetObjectItem(rel, "max_deg"));
    double jmean = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rotation_t"), "mean_deg"));
    int nang = cJSON_GetArraySize(angles), nh = cJSON_GetArraySize(hist);
    cJSON_Delete(j);
    EXPECT(nh == ANGLE_HIST_BINS && total == N, "histogram: %d bins, %ld samples", nh, total);
    EXPECT(nang == E && jmax == relmax && jmean == rotmean, "JSON figures: %d angles, max %g vs %g", nang, jmax, relmax);
    /* N < E: relative rotation not determined, the rest is computed; N = 2 has one pair -> Spearman null */
    EXPECT(analysis_compute(&res, va, ta, vb, tb, 2, E, NULL) == MODX_OK, "%s", modx_last_error());
    int det = res.relative.determined;
    st = analysis_to_json(&res, &j);
    analysis_free(&res);
    EXPECT(st == MODX_OK && !det, "N < E: determined %d", det);
    int sp_null = cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "topology_v"), "spearman"));
    int det_false = cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "relative_rotation"), "determined"));
    cJSON_Delete(j);
    EXPECT(sp_null && det_false, "JSON: spearman null %d, determined false %d", sp_null, det_false);
    /* a zero row is an error naming it */
    memset(tb + 5 * E, 0, sizeof(float) * E);
    EXPECT(analysis_compute(&res, va, ta, vb, tb, N, E, NULL) == MODX_ERR_INVALID, "zero feature row accepted");
    EXPECT(strstr(modx_last_error(), "row 5"), "message: %s", modx_last_error());
    tb[5 * E] = NAN;
    EXPECT(analysis_compute(&res, va, ta, vb, tb, N, E, NULL) == MODX_ERR_INVALID, "NaN accepted");
}

static double jnum(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItem(o, a);
    if (b) x = cJSON_GetObjectItem(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* Figures on the committed fixtures against the independent numpy computation
 * (tools/make_analysis_fixtures.py wrote analysis_expected.json). */
TEST(analysis_fixture_matches_numpy) {
    ProbeFeatures a, b;
    EXPECT(probe_features_load(&a, "tests/fixtures/analysis_a.safetensors") == MODX_OK, "%s", modx_last_error());
    EXPECT(probe_features_load(&b, "tests/fixtures/analysis_b.safetensors") == MODX_OK, "%s", modx_last_error());
    uint8_t *text = NULL;
    size_t len;
    EXPECT(io_read_file("tests/fixtures/analysis_expected.json", &text, &len) == MODX_OK, "%s", modx_last_error());
    cJSON *want = cJSON_Parse((const char *)text);
    free(text);
    AnalysisResult r;
    ModxStatus st = analysis_compute(&r, a.image, a.text, b.image, b.text, a.n, a.e, NULL);
    probe_features_free(&a);
    probe_features_free(&b);
    if (st != MODX_OK || !want) {
        cJSON_Delete(want);
        EXPECT(0, "compute: %s; expected JSON parsed: %d", modx_last_error(), want != NULL);
    }
    struct {
        const char *name;
        double got, want;
    } f[] = {
        {"rotation_v.mean", r.rotation_v.mean, jnum(want, "rotation_v", "mean_deg")},
        {"rotation_v.median", r.rotation_v.median, jnum(want, "rotation_v", "median_deg")},
        {"rotation_v.p10", r.rotation_v.p10, jnum(want, "rotation_v", "p10_deg")},
        {"rotation_v.p90", r.rotation_v.p90, jnum(want, "rotation_v", "p90_deg")},
        {"rotation_t.mean", r.rotation_t.mean, jnum(want, "rotation_t", "mean_deg")},
        {"rotation_t.median", r.rotation_t.median, jnum(want, "rotation_t", "median_deg")},
        {"rotation_t.p10", r.rotation_t.p10, jnum(want, "rotation_t", "p10_deg")},
        {"rotation_t.p90", r.rotation_t.p90, jnum(want, "rotation_t", "p90_deg")},
        {"topology_v.change", r.topology_v.mean_abs_change_deg, jnum(want, "topology_v", "mean_abs_change_deg")},
        {"topology_v.spearman", r.topology_v.spearman, jnum(want, "topology_v", "spearman")},
        {"topology_t.change", r.topology_t.mean_abs_change_deg, jnum(want, "topology_t", "mean_abs_change_deg")},
        {"topology_t.spearman", r.topology_t.spearman, jnum(want, "topology_t", "spearman")},
        {"pair.mean_a", r.pair.at_a.mean, jnum(want, "pair_angle", "mean_a_deg")},
        {"pair.mean_b", r.pair.at_b.mean, jnum(want, "pair_angle", "mean_b_deg")},
        {"pair.change", r.pair.mean_change_deg, jnum(want, "pair_angle", "mean_change_deg")},
        {"pair.abs_change", r.pair.mean_abs_change_deg, jnum(want, "pair_angle", "mean_abs_change_deg")},
        {"relative.max", r.relative.max_deg, jnum(want, "relative_rotation", "max_deg")},
        {"relative.mean", r.relative.mean_deg, jnum(want, "relative_rotation", "mean_deg")},
        {"relative.residual_v", r.relative.fit_v.residual, jnum(want, "relative_rotation", "residual_v")},
        {"relative.residual_t", r.relative.fit_t.residual, jnum(want, "relative_rotation", "residual_t")},
    };
    int bad = -1;
    double worst = 0;
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        double d = fabs(f[k].got - f[k].want);
        if (!(d <= worst)) worst = d, bad = (int)k;
    }
    const cJSON *ang = cJSON_GetObjectItem(cJSON_GetObjectItem(want, "relative_rotation"), "angles_deg");
    double angd = 0;
    for (int k = 0; k < r.e; k++) angd = fmax(angd, fabs(r.relative.angles_deg[k] - cJSON_GetArrayItem(ang, k)->valuedouble));
    int histbad = 0;
    const cJSON *hv = cJSON_GetObjectItem(cJSON_GetObjectItem(want, "rotation_v"), "hist");
    const cJSON *ht = cJSON_GetObjectItem(cJSON_GetObjectItem(want, "rotation_t"), "hist");
    for (int k = 0; k < ANGLE_HIST_BINS; k++)
        histbad += r.rotation_v.hist[k] != (int64_t)cJSON_GetArrayItem(hv, k)->valuedouble ||
                   r.rotation_t.hist[k] != (int64_t)cJSON_GetArrayItem(ht, k)->valuedouble;
    double relmax = r.relative.max_deg;
    analysis_free(&r);
    cJSON_Delete(want);
    EXPECT(worst < 1e-6, "worst figure %s: got %.12g want %.12g", f[bad].name, f[bad].got, f[bad].want);
    EXPECT(angd < 1e-6 && histbad == 0, "relative spectrum max diff %g deg, %d histogram bins differ", angd, histbad);
    EXPECT(fabs(relmax - 30) < 1, "planted 30-degree relative rotation came back as %g", relmax);
}

TEST(analysis_features_file_errors) {
    ProbeFeatures f;
    EXPECT(probe_features_load(&f, "tests/fixtures/analysis_bad.safetensors") == MODX_ERR_FORMAT, "file without text accepted");
    EXPECT(strstr(modx_last_error(), "analysis_bad.safetensors") && strstr(modx_last_error(), "'text_features' not found"),
           "message: %s", modx_last_error());
    EXPECT(probe_features_load(&f, "tests/fixtures/no_such_file.safetensors") != MODX_OK, "missing file accepted");
    EXPECT(strstr(modx_last_error(), "no_such_file.safetensors"), "message: %s", modx_last_error());
}
