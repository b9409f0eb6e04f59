#include "nn/layernorm.h"
#include "nn/parallel.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>

/* Rows normalised side by side: each row's sums run in index order exactly as
 * they would alone (so the result is bit-identical to one row at a time), but
 * LN_ROWS independent chains keep the core busy instead of one add's latency. */
#define LN_ROWS 8

/* n ≤ LN_ROWS consecutive rows. Statistics in double, two passes: the mean
 * first, then the centred variance; the output in float. Called with n ==
 * LN_ROWS (a constant once inlined: the row loops unroll) or a tail. */
static inline void layernorm_rows(float *o, float *mean, float *rstd, const float *x, const float *w,
                                  const float *b, int n, int C) {
    double m[LN_ROWS] = {0}, v[LN_ROWS] = {0};
    for (int i = 0; i < C; i++)
        for (int r = 0; r < n; r++) m[r] += x[(size_t)r * C + i];
    for (int r = 0; r < n; r++) m[r] /= C;
    for (int i = 0; i < C; i++)
        for (int r = 0; r < n; r++) {
            double d = x[(size_t)r * C + i] - m[r];
            v[r] += d * d;
        }
    for (int r = 0; r < n; r++) {
        v[r] /= C;
        float s = (float)(1.0 / sqrt(v[r] + LAYERNORM_EPS));
        float mf = (float)m[r];
        const float *xr = x + (size_t)r * C;
        float *or = o + (size_t)r * C;
        for (int i = 0; i < C; i++) or[i] = (xr[i] - mf) * s * w[i] + b[i];
        mean[r] = mf;
        rstd[r] = s;
    }
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int R, int C) {
    int nblk = (R + LN_ROWS - 1) / LN_ROWS;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
    for (int k = 0; k < nblk; k++) {
        size_t r0 = (size_t)k * LN_ROWS;
        if (R - (int)r0 >= LN_ROWS)
            layernorm_rows(out + r0 * C, mean + r0, rstd + r0, inp + r0 * C, weight, bias, LN_ROWS, C);
        else
            layernorm_rows(out + r0 * C, mean + r0, rstd + r0, inp + r0 * C, weight, bias, R - (int)r0, C);
    }
}

void layernorm_forward_naive(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                             const float *bias, int R, int C) {
    for (int r = 0; r < R; r++) {
        const float *x = inp + (size_t)r * C;
        float m = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= C;
        float s = 1.0f / sqrtf(v + LAYERNORM_EPS);
        for (int i = 0; i < C; i++) out[(size_t)r * C + i] = (x[i] - m) * s * weight[i] + bias[i];
        mean[r] = m;
        rstd[r] = s;
    }
}

/* dinp of n ≤ LN_ROWS rows, side by side as in the forward (each row's float
 * sums in index order, as alone):
 *   dnorm = dout·w; dx += s·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat)) */
static inline void layernorm_rows_backward(float *dinp, const float *dout, const float *inp, const float *weight,
                                           const float *mean, const float *rstd, int n, int C) {
    float sum_d[LN_ROWS] = {0}, sum_dx[LN_ROWS] = {0};
    for (int i = 0; i < C; i++)
        for (int r = 0; r < n; r++) {
            float xh = (inp[(size_t)r * C + i] - mean[r]) * rstd[r];
            float dn = dout[(size_t)r * C + i] * weight[i];
            sum_d[r] += dn;
            sum_dx[r] += dn * xh;
        }
    for (int r = 0; r < n; r++) {
        const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
        float *dx = dinp + (size_t)r * C;
        float m = mean[r], s = rstd[r], sd = sum_d[r] / C, sdx = sum_dx[r] / C;
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s;
            dx[i] += s * (d[i] * weight[i] - sd - xh * sdx);
        }
    }
}

/* dweight, dbias += the sums over all rows of columns [c0, c1), each in row
 * order (nn/parallel.h's column blocks). */
enum { LN_PARAM_BLK = 256 };

static void layernorm_param_block(float *dweight, float *dbias, const float *dout, const float *inp,
                                  const float *mean, const float *rstd, int R, int C, int c0, int c1) {
    float aw[LN_PARAM_BLK] = {0}, ab[LN_PARAM_BLK] = {0};
    int w = c1 - c0;
    for (int r = 0; r < R; r++) {
        const float *x = inp + (size_t)r * C + c0, *d = dout + (size_t)r * C + c0;
        float m = mean[r], s = rstd[r];
#pragma omp simd
        for (int i = 0; i < w; i++) {
            aw[i] += d[i] * (x[i] - m) * s;
            ab[i] += d[i];
        }
    }
    for (int i = 0; i < w; i++) {
        if (dweight) dweight[c0 + i] += aw[i];
        if (dbias) dbias[c0 + i] += ab[i];
    }
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int R, int C) {
    if (dinp) {
        int nblk = (R + LN_ROWS - 1) / LN_ROWS;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
        for (int k = 0; k < nblk; k++) {
            size_t r0 = (size_t)k * LN_ROWS;
            const float *x = inp + r0 * C, *d = dout + r0 * C;
            if (R - (int)r0 >= LN_ROWS)
                layernorm_rows_backward(dinp + r0 * C, d, x, weight, mean + r0, rstd + r0, LN_ROWS, C);
            else
                layernorm_rows_backward(dinp + r0 * C, d, x, weight, mean + r0, rstd + r0, R - (int)r0, C);
        }
    }
    if (dweight || dbias) {
        int blk = nn_column_block(C, omp_get_max_threads(), LN_PARAM_BLK), nblk = (C + blk - 1) / blk;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
        for (int b = 0; b < nblk; b++)
            layernorm_param_block(dweight, dbias, dout, inp, mean, rstd, R, C, b * blk,
                                  b * blk + blk < C ? b * blk + blk : C);
    }
}

void layernorm_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                              const float *weight, const float *mean, const float *rstd, int R, int C) {
    for (int r = 0; r < R; r++) {
        const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
        float m = mean[r], s = rstd[r];
        float sum_d = 0.0f, sum_dx = 0.0f;
        for (int i = 0; i < C; i++) {
            sum_d += d[i] * weight[i];
            sum_dx += d[i] * weight[i] * (x[i] - m) * s;
        }
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - m) * s;
            if (dweight) dweight[i] += d[i] * xh;
            if (dbias) dbias[i] += d[i];
            if (dinp) dinp[(size_t)r * C + i] += s * (d[i] * weight[i] - sum_d / C - xh * sum_dx / C);
        }
    }
}
