#include "analysis/deviation.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/unitrows.h"

ModxStatus deviation_pair_angles(PairDeviation *out, const float *va, const float *ta, const float *vb, const float *tb,
                                 int N, int E) {
    memset(out, 0, sizeof *out);
    double *th = NULL;
    ModxStatus st = MODX_OK;
    if (N <= 0) return modx_fail(MODX_ERR_INVALID, "pair deviation: expected at least one pair, got %d", N);
    th = modx_calloc((size_t)N * 2, sizeof *th, "pair angles");
    if (!th) return MODX_ERR_NOMEM;
    double *ta_ang = th, *tb_ang = th + N;
    /* the pair angle is a "rotation" between the two modalities' rows */
    if ((st = rotation_angles(ta_ang, va, ta, N, E))) {
        modx_error_prefix("pair angles at a: ");
        goto fail;
    }
    if ((st = rotation_angles(tb_ang, vb, tb, N, E))) {
        modx_error_prefix("pair angles at b: ");
        goto fail;
    }
    if ((st = angle_stats(&out->at_a, ta_ang, N)) || (st = angle_stats(&out->at_b, tb_ang, N))) goto fail;
    double s = 0, sa = 0, mx = 0;
    for (int i = 0; i < N; i++) {
        double d = tb_ang[i] - ta_ang[i];
        s += d;
        sa += fabs(d);
        if (fabs(d) > mx) mx = fabs(d);
    }
    const double deg = 180.0 / M_PI;
    out->mean_change_deg = s / N * deg;
    out->mean_abs_change_deg = sa / N * deg;
    out->max_abs_change_deg = mx * deg;
fail:
    free(th);
    return st;
}

static void spectrum_summary(const double *ang, int E, double *mx, double *mean) {
    double s = 0;
    for (int k = 0; k < E; k++) s += ang[k];
    *mx = ang[0] * (180.0 / M_PI); /* sorted descending */
    *mean = s / E * (180.0 / M_PI);
}

ModxStatus deviation_relative_rotation(RelativeRotation *out, const float *va, const float *ta, const float *vb,
                                       const float *tb, int N, int E) {
    memset(out, 0, sizeof *out);
    out->E = E;
    if (N <= 0 || E <= 0)
        return modx_fail(MODX_ERR_INVALID, "relative rotation: expected non-empty N x E features, got %d x %d", N, E);
    if (N < E) return MODX_OK; /* not determined */
    double *a = NULL, *b = NULL, *c = NULL, *d = NULL, *R = NULL, *ang = NULL;
    ModxStatus st = analysis_unit_rows(&a, va, N, E, "relative rotation: image features of a");
    if (!st) st = analysis_unit_rows(&b, vb, N, E, "relative rotation: image features of b");
    if (!st) st = analysis_unit_rows(&c, ta, N, E, "relative rotation: text features of a");
    if (!st) st = analysis_unit_rows(&d, tb, N, E, "relative rotation: text features of b");
    if (st) goto fail;
    size_t ee = (size_t)E * E;
    R = modx_calloc(ee * 3, sizeof *R, "relative rotation matrices");
    ang = modx_calloc((size_t)E, sizeof *ang, "relative rotation angles");
    if (!R || !ang) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    double *RV = R, *RT = R + ee, *Mr = R + 2 * ee;
    if ((st = procrustes_fit(RV, &out->fit_v, a, b, N, E)) || (st = procrustes_fit(RT, &out->fit_t, c, d, N, E)))
        goto fail;
    if ((st = orthogonal_angles(ang, RV, E))) goto fail;
    spectrum_summary(ang, E, &out->rot_v_max_deg, &out->rot_v_mean_deg);
    if ((st = orthogonal_angles(ang, RT, E))) goto fail;
    spectrum_summary(ang, E, &out->rot_t_max_deg, &out->rot_t_mean_deg);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, E, E, E, 1.0, RV, E, RT, E, 0.0, Mr, E);
    if ((st = orthogonal_angles(ang, Mr, E))) goto fail;
    spectrum_summary(ang, E, &out->max_deg, &out->mean_deg);
    for (int k = 0; k < E; k++) ang[k] *= 180.0 / M_PI;
    out->angles_deg = ang;
    ang = NULL;
    out->determined = 1;
fail:
    free(a);
    free(b);
    free(c);
    free(d);
    free(R);
    free(ang);
    return st;
}

void relative_rotation_free(RelativeRotation *r) {
    free(r->angles_deg);
    r->angles_deg = NULL;
}
