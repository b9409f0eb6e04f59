/* The continual-learning figures of an accuracy matrix (SPEC §7; the
 * definitions with their index ranges are docs/metrics.md, which this code
 * follows line for line).
 *
 * R[i][j] = the mean of image->text and text->image R@1 (%) on test set j after
 * phase i, i = 0..T (phase 0 = the stream's starting point, T stream phases),
 * row-major, NaN where nothing was evaluated. Two kinds of stream:
 *   CL_STREAM_DOMAIN  one domain per phase: ncols == T + 1 and column j is the
 *                     test set of phase j's domain; every figure applies.
 *   CL_STREAM_SETS    random/contiguous splits: the columns are the listed test
 *                     sets, no column belongs to a phase; only Last and the
 *                     average incremental apply (the average then takes every
 *                     column of each row).
 * A figure is NaN when it does not apply (FWT with T < 2, BWT/forgetting with
 * T < 1, kept/learned without the joint/finetune matrix, a zero denominator)
 * or when a cell it needs is NaN.
 *
 *   ClMatrix m = {.T = 3, .ncols = 4, .r = r1};
 *   ClFigures f;
 *   double intr[3];   // I_j for j = 1..T at [j - 1]
 *   MODX_TRY(cl_figures(&m, CL_STREAM_DOMAIN, &joint, &finetune, &f, intr));
 */
#ifndef MODX_ANALYSIS_CLMETRICS_H
#define MODX_ANALYSIS_CLMETRICS_H

#include "core/error.h"

#define CL_MAX_PHASES 4096 /* T bound: keeps (T + 1) * ncols well inside size_t and int */

typedef enum { CL_STREAM_DOMAIN = 0, CL_STREAM_SETS = 1 } ClStreamKind;

typedef struct {
    int T;           /* stream phases after phase 0; rows 0..T */
    int ncols;       /* test sets */
    const double *r; /* (T + 1, ncols) R[i][j] in %, NaN = not evaluated */
} ClMatrix;

typedef struct {
    double last;            /* mean_{j=0..ncols-1} R[T][j] */
    double avg_incremental; /* 1/(T+1) sum_{i=0..T} mean_{j=0..i} R[i][j] (sets: mean over every j) */
    double bwt;             /* 1/T sum_{j=0..T-1} (R[T][j] - R[j][j]) */
    double fwt;             /* 1/(T-1) sum_{j=2..T} (R[j-1][j] - R[0][j]), T >= 2 */
    double forgetting;      /* 1/T sum_{j=0..T-1} (max_{l=j..T-1} R[l][j] - R[T][j]) */
    double kept_pct;        /* 100 R[T][0] / R_joint[T][0] */
    double learned_pct;     /* 100 mean_{j=1..T} R[j][j] / mean_{j=1..T} R_finetune[j][j] */
} ClFigures;

/* Every figure of `m`. joint and finetune (either may be NULL: their figures
 * are NaN then) must have m's shape. intransigence (may be NULL) receives T
 * values, I_j = R_joint[T][j] - R[j][j] at [j - 1] (NaN for CL_STREAM_SETS).
 * MODX_ERR_INVALID naming what differs: T outside [0, CL_MAX_PHASES], ncols < 1,
 * a NULL matrix, a domain stream whose ncols is not T + 1, a joint/finetune
 * matrix of another shape. */
ModxStatus cl_figures(const ClMatrix *m, ClStreamKind kind, const ClMatrix *joint, const ClMatrix *finetune,
                      ClFigures *out, double *intransigence);

#endif
