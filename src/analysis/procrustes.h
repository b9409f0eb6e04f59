/* Orthogonal Procrustes and the rotation angles of an orthogonal matrix, in
 * double precision through LAPACK (dgesvd_, dgeev_ from libopenblas).
 * Matrices are row-major; the column-major LAPACK calls are wrapped here. */
#ifndef MODX_ANALYSIS_PROCRUSTES_H
#define MODX_ANALYSIS_PROCRUSTES_H

#include "core/error.h"

typedef struct {
    double residual;   /* ||A R - B||_F / ||B||_F */
    double sv_min_ratio; /* smallest / largest singular value of A^T B; near 0 = R poorly determined */
} ProcrustesFit;

/* R (E, E) = argmin over orthogonal R of ||A R - B||_F for A, B (N, E):
 * R = U W^T from the SVD A^T B = U S W^T. R may have determinant -1 (the
 * problem is over all orthogonal maps, not only rotations). The fit is unique
 * only when A^T B has full rank (needs N >= E); see sv_min_ratio.
 * Errors: sizes not positive, non-finite input, LAPACK failure (MODX_ERR_NUMERIC). */
ModxStatus procrustes_fit(double *R, ProcrustesFit *fit, const double *A, const double *B, int N, int E);

/* The rotation angles of an orthogonal Q (E, E): |arg lambda| in radians for
 * each of its E eigenvalues lambda (complex pairs give the angle twice; +1
 * gives 0, -1 gives pi), sorted in decreasing order into angles (E). */
ModxStatus orthogonal_angles(double *angles, const double *Q, int E);

#endif
