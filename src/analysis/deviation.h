/* Inter-modal deviation (SPEC §6). For probe pairs (v_i, t_i) seen by
 * checkpoints a and b:
 *  - the pair angle arccos<v_i, t_i> at a and at b, and its change b - a;
 *  - the relative rotation of the modalities: orthogonal Procrustes maps
 *    R_V (V_a -> V_b) and R_T (T_a -> T_b) and the angle spectrum of
 *    R_V^T R_T. If both modalities move by the same orthogonal map, every
 *    image-text cosine is unchanged and the spectrum is all zeros; its
 *    non-zero angles are the part of the motion that breaks retrieval. */
#ifndef MODX_ANALYSIS_DEVIATION_H
#define MODX_ANALYSIS_DEVIATION_H

#include "analysis/procrustes.h"
#include "analysis/rotation.h"
#include "core/error.h"

typedef struct {
    AngleStats at_a, at_b;      /* pair-angle distributions, degrees */
    double mean_change_deg;     /* mean of (angle_b - angle_a) */
    double mean_abs_change_deg; /* mean of |angle_b - angle_a| */
    double max_abs_change_deg;
} PairDeviation;

/* va, ta, vb, tb (N, E); row i of va/ta is the pair i seen by a. */
ModxStatus deviation_pair_angles(PairDeviation *out, const float *va, const float *ta, const float *vb, const float *tb,
                                 int N, int E);

typedef struct {
    int determined;          /* 0 when N < E: the Procrustes maps are not unique and nothing below is set */
    int E;
    ProcrustesFit fit_v, fit_t;
    double max_deg, mean_deg;        /* over the E angles of R_V^T R_T */
    double *angles_deg;              /* (E) descending; owned */
    double rot_v_max_deg, rot_v_mean_deg; /* angle spectrum of R_V itself (how far vision turned as a whole) */
    double rot_t_max_deg, rot_t_mean_deg; /* and of R_T */
} RelativeRotation;

/* Fits R_V, R_T in double on re-normalised rows and fills out. N < E is not an
 * error: out->determined = 0. Free with relative_rotation_free. */
ModxStatus deviation_relative_rotation(RelativeRotation *out, const float *va, const float *ta, const float *vb,
                                       const float *tb, int N, int E);
void relative_rotation_free(RelativeRotation *r);

#endif
