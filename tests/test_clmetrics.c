/* The continual-learning figures (src/analysis/clmetrics.h) on small matrices
 * computed by hand: each expected value below is worked out in the comment
 * beside it from docs/metrics.md. */
#include <math.h>
#include <string.h>

#include "analysis/clmetrics.h"
#include "harness.h"

#define NA NAN
#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* T = 2, a domain stream (column j = phase j's domain):
 *   phase 0: 30 10  5
 *   phase 1: 35 40  8      (the first domain rose to 35 after phase 1)
 *   phase 2: 15 25 50 */
static const double R_A[9] = {30, 10, 5, 35, 40, 8, 15, 25, 50};
static const double R_JOINT[9] = {30, 10, 5, NA, NA, NA, 32, 45, 55};
static const double R_FT[9] = {30, 10, 5, 12, 50, 9, 6, 20, 60};

TEST(clmetrics_domain_stream_by_hand) {
    ClMatrix m = {2, 3, R_A}, j = {2, 3, R_JOINT}, ft = {2, 3, R_FT};
    ClFigures f;
    double intr[2];
    EXPECT(cl_figures(&m, CL_STREAM_DOMAIN, &j, &ft, &f, intr) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.last, 30), "last %.17g, want (15+25+50)/3 = 30", f.last);
    /* 1/3 (30 + (35+40)/2 + (15+25+50)/3) = 1/3 (30 + 37.5 + 30) = 32.5 */
    EXPECT(NEAR(f.avg_incremental, 32.5), "avg_incremental %.17g, want 32.5", f.avg_incremental);
    /* 1/2 ((15-30) + (25-40)) = -15: against R[j][j], not the best value */
    EXPECT(NEAR(f.bwt, -15), "bwt %.17g, want -15", f.bwt);
    /* 1/(2-1) (R[1][2] - R[0][2]) = 8 - 5 = 3 */
    EXPECT(NEAR(f.fwt, 3), "fwt %.17g, want 3", f.fwt);
    /* 1/2 ((max(30, 35) - 15) + (40 - 25)) = 1/2 (20 + 15) = 17.5 */
    EXPECT(NEAR(f.forgetting, 17.5), "forgetting %.17g, want 17.5", f.forgetting);
    /* 100 * 15 / 32 = 46.875 */
    EXPECT(NEAR(f.kept_pct, 46.875), "kept %.17g, want 46.875", f.kept_pct);
    /* 100 * ((40+50)/2) / ((50+60)/2) = 100 * 45 / 55 */
    EXPECT(NEAR(f.learned_pct, 100.0 * 45 / 55), "learned %.17g, want 81.81...", f.learned_pct);
    /* I_1 = 45 - 40, I_2 = 55 - 50 */
    EXPECT(NEAR(intr[0], 5) && NEAR(intr[1], 5), "intransigence %g %g, want 5 5", intr[0], intr[1]);
    /* the references themselves: joint keeps 100 %, finetune learns 100 % */
    EXPECT(cl_figures(&j, CL_STREAM_DOMAIN, &j, &ft, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.kept_pct, 100) && NEAR(f.last, (32 + 45 + 55) / 3.0), "joint kept %g last %g", f.kept_pct, f.last);
    EXPECT(isnan(f.bwt) && isnan(f.avg_incremental) && isnan(f.learned_pct),
           "joint has no phase-1 row: bwt %g avg %g learned %g must be NaN", f.bwt, f.avg_incremental, f.learned_pct);
    EXPECT(cl_figures(&ft, CL_STREAM_DOMAIN, &j, &ft, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.learned_pct, 100) && NEAR(f.kept_pct, 100.0 * 6 / 32), "finetune learned %g kept %g",
           f.learned_pct, f.kept_pct);
}

TEST(clmetrics_missing_cells_and_short_streams) {
    double r[9];
    memcpy(r, R_A, sizeof r);
    r[1 * 3 + 2] = NA; /* R[1][2]: FWT needs it, nothing else does */
    ClMatrix m = {2, 3, r};
    ClFigures f;
    EXPECT(cl_figures(&m, CL_STREAM_DOMAIN, NULL, NULL, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(isnan(f.fwt) && NEAR(f.bwt, -15) && NEAR(f.last, 30) && NEAR(f.forgetting, 17.5),
           "fwt %g (NaN) bwt %g last %g forgetting %g", f.fwt, f.bwt, f.last, f.forgetting);
    EXPECT(isnan(f.kept_pct) && isnan(f.learned_pct), "no joint/finetune: kept %g learned %g", f.kept_pct,
           f.learned_pct);
    r[1 * 3 + 2] = 8;
    r[1 * 3 + 0] = NA; /* R[1][0]: inside the forgetting max, which must not skip it */
    EXPECT(cl_figures(&m, CL_STREAM_DOMAIN, NULL, NULL, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(isnan(f.forgetting) && isnan(f.avg_incremental) && NEAR(f.bwt, -15), "forgetting %g avg %g bwt %g",
           f.forgetting, f.avg_incremental, f.bwt);
    /* T = 1: phase 0 and one stream phase. FWT needs T >= 2.
     *   20 4
     *   12 30   last 21, avg (20 + 21)/2 = 20.5, bwt = forgetting-with-sign: 12 - 20 = -8, forgetting 8 */
    const double r1[4] = {20, 4, 12, 30};
    ClMatrix m1 = {1, 2, r1};
    double intr[1] = {0};
    EXPECT(cl_figures(&m1, CL_STREAM_DOMAIN, NULL, NULL, &f, intr) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.last, 21) && NEAR(f.avg_incremental, 20.5) && NEAR(f.bwt, -8) && NEAR(f.forgetting, 8) &&
               isnan(f.fwt) && isnan(intr[0]),
           "T=1: last %g avg %g bwt %g forgetting %g fwt %g I %g", f.last, f.avg_incremental, f.bwt, f.forgetting,
           f.fwt, intr[0]);
    /* T = 0: only Last and the average */
    ClMatrix m0 = {0, 1, r1};
    EXPECT(cl_figures(&m0, CL_STREAM_DOMAIN, NULL, NULL, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.last, 20) && NEAR(f.avg_incremental, 20) && isnan(f.bwt) && isnan(f.forgetting), "T=0");
    /* a zero denominator is NaN, not infinity */
    const double z[4] = {0, 4, 0, 0};
    ClMatrix mz = {1, 2, z};
    EXPECT(cl_figures(&m1, CL_STREAM_DOMAIN, &mz, &mz, &f, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(isnan(f.kept_pct) && isnan(f.learned_pct), "zero denominators: kept %g learned %g", f.kept_pct,
           f.learned_pct);
}

TEST(clmetrics_sets_stream_only_last_and_average) {
    /* contiguous splits, T = 2, two listed test sets:
     *   10 20 | 20 30 | 30 50  -> last 40, avg (15 + 25 + 40) / 3 = 26.666... */
    const double r[6] = {10, 20, 20, 30, 30, 50};
    ClMatrix m = {2, 2, r};
    ClFigures f;
    double intr[2];
    EXPECT(cl_figures(&m, CL_STREAM_SETS, &m, &m, &f, intr) == MODX_OK, "%s", modx_last_error());
    EXPECT(NEAR(f.last, 40) && NEAR(f.avg_incremental, 80.0 / 3), "last %g avg %.17g", f.last, f.avg_incremental);
    EXPECT(isnan(f.bwt) && isnan(f.fwt) && isnan(f.forgetting) && isnan(f.kept_pct) && isnan(f.learned_pct) &&
               isnan(intr[0]) && isnan(intr[1]),
           "sets stream: only last and the average apply");
}

TEST(clmetrics_rejects_bad_shapes) {
    ClFigures f;
    ClMatrix m = {2, 2, R_A}, j = {2, 3, R_JOINT}, a = {2, 3, R_A}, neg = {-1, 3, R_A};
    EXPECT(cl_figures(&m, CL_STREAM_DOMAIN, NULL, NULL, &f, NULL) == MODX_ERR_INVALID, "2 columns for T = 2 accepted");
    EXPECT(strstr(modx_last_error(), "needs 3 columns"), "message: %s", modx_last_error());
    EXPECT(cl_figures(&m, CL_STREAM_SETS, &j, NULL, &f, NULL) == MODX_ERR_INVALID, "a joint of another shape");
    EXPECT(strstr(modx_last_error(), "joint matrix is 3 x 3"), "message: %s", modx_last_error());
    EXPECT(cl_figures(&neg, CL_STREAM_SETS, NULL, NULL, &f, NULL) == MODX_ERR_INVALID, "T = -1 accepted");
    EXPECT(cl_figures(&a, CL_STREAM_DOMAIN, NULL, &m, &f, NULL) == MODX_ERR_INVALID, "a finetune of another shape");
    EXPECT(isnan(f.last), "figures are NaN after a refusal");
}
