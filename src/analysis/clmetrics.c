#include "analysis/clmetrics.h"

#include <math.h>
#include <stddef.h>

static double at(const ClMatrix *m, int i, int j) { return m->r[(size_t)i * (size_t)m->ncols + (size_t)j]; }

static ModxStatus cl_check(const ClMatrix *m, const char *what, const ClMatrix *like) {
    if (!m || !m->r) return modx_fail(MODX_ERR_INVALID, "cl_figures: the %s matrix is NULL", what);
    if (m->T < 0 || m->T > CL_MAX_PHASES || m->ncols < 1)
        return modx_fail(MODX_ERR_INVALID, "cl_figures: the %s matrix has T = %d and %d columns, expected T in [0, %d] "
                         "and at least one column", what, m->T, m->ncols, CL_MAX_PHASES);
    if (like && (m->T != like->T || m->ncols != like->ncols))
        return modx_fail(MODX_ERR_INVALID, "cl_figures: the %s matrix is %d x %d, expected the strategy's %d x %d",
                         what, m->T + 1, m->ncols, like->T + 1, like->ncols);
    return MODX_OK;
}

/* mean_{j=0..n-1} R[i][j]; NaN when a cell is. */
static double row_mean(const ClMatrix *m, int i, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += at(m, i, j);
    return s / n;
}

/* mean_{j=1..T} R[j][j]: what each phase learned, on its own domain right after it. */
static double diag_mean(const ClMatrix *m) {
    if (m->T < 1) return NAN;
    double s = 0;
    for (int j = 1; j <= m->T; j++) s += at(m, j, j);
    return s / m->T;
}

static double ratio_pct(double num, double den) { return isfinite(num) && isfinite(den) && den != 0 ? 100.0 * num / den : NAN; }

static void domain_figures(const ClMatrix *m, ClFigures *f) {
    int T = m->T;
    if (T >= 1) {
        double b = 0, fg = 0;
        for (int j = 0; j < T; j++) {
            b += at(m, T, j) - at(m, j, j);
            double best = at(m, j, j); /* max_{l=j..T-1} R[l][j]; NaN propagates (fmax would skip it) */
            for (int l = j + 1; l < T; l++) best = isnan(best) || isnan(at(m, l, j)) ? NAN : fmax(best, at(m, l, j));
            fg += best - at(m, T, j);
        }
        f->bwt = b / T;
        f->forgetting = fg / T;
    }
    if (T >= 2) {
        double s = 0;
        for (int j = 2; j <= T; j++) s += at(m, j - 1, j) - at(m, 0, j);
        f->fwt = s / (T - 1);
    }
}

ModxStatus cl_figures(const ClMatrix *m, ClStreamKind kind, const ClMatrix *joint, const ClMatrix *finetune,
                      ClFigures *out, double *intransigence) {
    *out = (ClFigures){NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    MODX_TRY(cl_check(m, "strategy", NULL));
    if (joint) MODX_TRY(cl_check(joint, "joint", m));
    if (finetune) MODX_TRY(cl_check(finetune, "finetune", m));
    if (kind != CL_STREAM_DOMAIN && kind != CL_STREAM_SETS)
        return modx_fail(MODX_ERR_INVALID, "cl_figures: stream kind %d, expected domain (0) or sets (1)", (int)kind);
    int T = m->T, domain = kind == CL_STREAM_DOMAIN;
    if (domain && m->ncols != T + 1)
        return modx_fail(MODX_ERR_INVALID, "cl_figures: a domain stream with T = %d needs %d columns (one per phase), "
                         "found %d", T, T + 1, m->ncols);
    out->last = row_mean(m, T, m->ncols);
    double s = 0;
    for (int i = 0; i <= T; i++) s += row_mean(m, i, domain ? i + 1 : m->ncols);
    out->avg_incremental = s / (T + 1);
    for (int j = 1; intransigence && j <= T; j++)
        intransigence[j - 1] = domain && joint ? at(joint, T, j) - at(m, j, j) : NAN;
    if (!domain) return MODX_OK;
    domain_figures(m, out);
    if (joint) out->kept_pct = ratio_pct(at(m, T, 0), at(joint, T, 0));
    if (finetune) out->learned_pct = ratio_pct(diag_mean(m), diag_mean(finetune));
    return MODX_OK;
}
