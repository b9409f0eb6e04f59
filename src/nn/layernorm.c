#include "nn/layernorm.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>

static void layernorm_row(float *o, float *mean, float *rstd, const float *x, const float *w, const float *b,
                          int C) {
    /* Two passes in double: the mean first, then the centred variance. */
    double m = 0.0;
    for (int i = 0; i < C; i++) m += x[i];
    m /= C;
    double v = 0.0;
    for (int i = 0; i < C; i++) {
        double d = x[i] - m;
        v += d * d;
    }
    v /= C;
    float s = (float)(1.0 / sqrt(v + LAYERNORM_EPS));
    float mf = (float)m;
    for (int i = 0; i < C; i++) o[i] = (x[i] - mf) * s * w[i] + b[i];
    *mean = mf;
    *rstd = s;
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, int R, int C) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
    for (int r = 0; r < R; r++)
        layernorm_row(out + (size_t)r * C, mean + r, rstd + r, inp + (size_t)r * C, weight, bias, C);
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

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, const float *mean, const float *rstd, int R, int C) {
    if (dinp) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
        for (int r = 0; r < R; r++) {
            const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
            float *dx = dinp + (size_t)r * C;
            float m = mean[r], s = rstd[r];
            /* dnorm = dout·w; dx = s·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat)) */
            float sum_d = 0.0f, sum_dx = 0.0f;
            for (int i = 0; i < C; i++) {
                float xh = (x[i] - m) * s;
                float dn = d[i] * weight[i];
                sum_d += dn;
                sum_dx += dn * xh;
            }
            sum_d /= C;
            sum_dx /= C;
            for (int i = 0; i < C; i++) {
                float xh = (x[i] - m) * s;
                dx[i] += s * (d[i] * weight[i] - sum_d - xh * sum_dx);
            }
        }
    }
    if (dweight || dbias) {
        enum { BLK = 32 };
        int nblk = (C + BLK - 1) / BLK;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * C * 4)
        for (int blk = 0; blk < nblk; blk++) {
            int c0 = blk * BLK, c1 = c0 + BLK < C ? c0 + BLK : C;
            float aw[BLK] = {0}, ab[BLK] = {0};
            for (int r = 0; r < R; r++) {
                const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
                float m = mean[r], s = rstd[r];
                for (int i = c0; i < c1; i++) {
                    aw[i - c0] += d[i] * (x[i] - m) * s;
                    ab[i - c0] += d[i];
                }
            }
            for (int i = c0; i < c1; i++) {
                if (dweight) dweight[i] += aw[i - c0];
                if (dbias) dbias[i] += ab[i - c0];
            }
        }
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
