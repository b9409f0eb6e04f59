#include "analysis/procrustes.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

/* LAPACK (Fortran, column-major; character lengths passed as hidden trailing arguments). */
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *info,
             size_t jobu_len, size_t jobvt_len);
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *wr, double *wi,
            double *vl, const int *ldvl, double *vr, const int *ldvr, double *work, const int *lwork, int *info,
            size_t jobvl_len, size_t jobvr_len);

static ModxStatus check_finite(const double *x, size_t n, const char *what) {
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k])) return modx_fail(MODX_ERR_INVALID, "%s: value %zu is not finite", what, k);
    return MODX_OK;
}

ModxStatus procrustes_fit(double *R, ProcrustesFit *fit, const double *A, const double *B, int N, int E) {
    size_t ne, ee;
    if (N <= 0 || E <= 0 || !size_mul((size_t)N, (size_t)E, &ne) || !size_mul((size_t)E, (size_t)E, &ee))
        return modx_fail(MODX_ERR_INVALID, "procrustes: expected non-empty N x E matrices, got %d x %d", N, E);
    MODX_TRY(check_finite(A, ne, "procrustes: source matrix"));
    MODX_TRY(check_finite(B, ne, "procrustes: target matrix"));
    ModxStatus st = MODX_OK;
    double *buf = modx_calloc(ee * 3 + (size_t)E, sizeof *buf, "procrustes matrices");
    double *work = NULL, *P = NULL;
    if (!buf) return MODX_ERR_NOMEM;
    double *M = buf, *U = M + ee, *VT = U + ee, *S = VT + ee;
    /* Row-major B^T A, read column-major, is A^T B. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, E, E, N, 1.0, B, E, A, E, 0.0, M, E);
    int n = E, lwork = -1, info = 0;
    double wq = 0;
    dgesvd_("A", "A", &n, &n, M, &n, S, U, &n, VT, &n, &wq, &lwork, &info, 1, 1);
    if (info != 0) {
        st = modx_fail(MODX_ERR_NUMERIC, "procrustes: dgesvd workspace query failed (info %d) for %d x %d", info, E, E);
        goto fail;
    }
    lwork = (int)wq;
    work = modx_calloc((size_t)lwork, sizeof *work, "procrustes SVD workspace");
    if (!work) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    dgesvd_("A", "A", &n, &n, M, &n, S, U, &n, VT, &n, work, &lwork, &info, 1, 1);
    if (info != 0) {
        st = modx_fail(MODX_ERR_NUMERIC, "procrustes: dgesvd did not converge (info %d) for %d x %d", info, E, E);
        goto fail;
    }
    /* R = U VT (column-major); its row-major form is the column-major (U VT)^T = VT^T U^T. */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, E, E, E, 1.0, VT, E, U, E, 0.0, R, E);
    fit->sv_min_ratio = S[0] > 0 ? S[E - 1] / S[0] : 0;
    /* residual */
    P = modx_calloc(ne, sizeof *P, "procrustes residual");
    if (!P) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    memcpy(P, B, sizeof *P * ne);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, E, E, 1.0, A, E, R, E, -1.0, P, E);
    double r2 = 0, b2 = 0;
    for (size_t k = 0; k < ne; k++) {
        r2 += P[k] * P[k];
        b2 += B[k] * B[k];
    }
    fit->residual = b2 > 0 ? sqrt(r2 / b2) : sqrt(r2);
fail:
    free(buf);
    free(work);
    free(P);
    return st;
}

static int cmp_desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

ModxStatus orthogonal_angles(double *angles, const double *Q, int E) {
    size_t ee;
    if (E <= 0 || !size_mul((size_t)E, (size_t)E, &ee))
        return modx_fail(MODX_ERR_INVALID, "rotation angles: expected a non-empty square matrix, got %d x %d", E, E);
    MODX_TRY(check_finite(Q, ee, "rotation angles: matrix"));
    /* The eigenvalues of Q^T equal those of Q, so the row-major buffer is passed as is. */
    double *buf = modx_calloc(ee + 2 * (size_t)E, sizeof *buf, "eigenvalue workspace");
    double *work = NULL;
    if (!buf) return MODX_ERR_NOMEM;
    ModxStatus st = MODX_OK;
    double *A = buf, *wr = A + ee, *wi = wr + E, dummy = 0, wq = 0;
    memcpy(A, Q, sizeof *A * ee);
    int n = E, one = 1, lwork = -1, info = 0;
    dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, &wq, &lwork, &info, 1, 1);
    if (info != 0) {
        st = modx_fail(MODX_ERR_NUMERIC, "rotation angles: dgeev workspace query failed (info %d)", info);
        goto fail;
    }
    lwork = (int)wq;
    work = modx_calloc((size_t)lwork, sizeof *work, "eigenvalue workspace");
    if (!work) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    dgeev_("N", "N", &n, A, &n, wr, wi, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    if (info != 0) {
        st = modx_fail(MODX_ERR_NUMERIC, "rotation angles: dgeev did not converge (info %d) for %d x %d", info, E, E);
        goto fail;
    }
    for (int k = 0; k < E; k++) angles[k] = atan2(fabs(wi[k]), wr[k]);
    qsort(angles, (size_t)E, sizeof *angles, cmp_desc);
fail:
    free(buf);
    free(work);
    return st;
}
