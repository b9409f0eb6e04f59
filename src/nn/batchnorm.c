#include "nn/batchnorm.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>

static void stats_channel(float *mean, float *rstd, float *rm, float *rv, const float *inp, int c, int B, int C,
                          int HW, int training) {
    if (!training) {
        *mean = rm[c];
        *rstd = (float)(1.0 / sqrt((double)rv[c] + BATCHNORM_EPS));
        return;
    }
    double n = (double)B * HW, m = 0.0, v = 0.0;
    for (int b = 0; b < B; b++) {
        const float *x = inp + ((size_t)b * C + c) * HW;
        for (int i = 0; i < HW; i++) m += x[i];
    }
    m /= n;
    for (int b = 0; b < B; b++) {
        const float *x = inp + ((size_t)b * C + c) * HW;
        for (int i = 0; i < HW; i++) v += (x[i] - m) * (x[i] - m);
    }
    v /= n;
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(v + BATCHNORM_EPS));
    if (rm) rm[c] = (float)((1.0 - BATCHNORM_MOMENTUM) * rm[c] + BATCHNORM_MOMENTUM * m);
    if (rv) rv[c] = (float)((1.0 - BATCHNORM_MOMENTUM) * rv[c] + BATCHNORM_MOMENTUM * (n > 1 ? v * n / (n - 1) : v));
}

void batchnorm_forward(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                       const float *inp, const float *weight, const float *bias, int B, int C, int HW, int training) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 4)
    for (int c = 0; c < C; c++) {
        stats_channel(&mean[c], &rstd[c], running_mean, running_var, inp, c, B, C, HW, training);
        float s = rstd[c] * weight[c], t = bias[c] - mean[c] * s;
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW;
            float *y = out + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * s + t;
        }
    }
}

void batchnorm_forward_naive(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                             const float *inp, const float *weight, const float *bias, int B, int C, int HW,
                             int training) {
    for (int c = 0; c < C; c++) {
        stats_channel(&mean[c], &rstd[c], running_mean, running_var, inp, c, B, C, HW, training);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                size_t k = ((size_t)b * C + c) * HW + i;
                out[k] = (inp[k] - mean[c]) * rstd[c] * weight[c] + bias[c];
            }
    }
}

/* Σ dy and Σ dy·x̂ of channel c. */
static void channel_sums(double *sdy, double *sdyx, const float *dout, const float *inp, float mean, float rstd,
                         int c, int B, int C, int HW) {
    double a = 0.0, b2 = 0.0;
    for (int b = 0; b < B; b++) {
        const float *x = inp + ((size_t)b * C + c) * HW, *dy = dout + ((size_t)b * C + c) * HW;
        for (int i = 0; i < HW; i++) {
            a += dy[i];
            b2 += (double)dy[i] * ((x[i] - mean) * rstd);
        }
    }
    *sdy = a, *sdyx = b2;
}

void batchnorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                        int training) {
    double n = (double)B * HW;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 4)
    for (int c = 0; c < C; c++) {
        double sdy, sdyx;
        channel_sums(&sdy, &sdyx, dout, inp, mean[c], rstd[c], c, B, C, HW);
        if (dweight) dweight[c] += (float)sdyx;
        if (dbias) dbias[c] += (float)sdy;
        if (!dinp) continue;
        float k = rstd[c] * weight[c];
        float ma = training ? (float)(sdy / n) : 0.0f, mb = training ? (float)(sdyx / n) : 0.0f;
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)b * C + c) * HW, *dy = dout + ((size_t)b * C + c) * HW;
            float *dx = dinp + ((size_t)b * C + c) * HW;
            for (int i = 0; i < HW; i++) dx[i] += k * (dy[i] - ma - (x[i] - mean[c]) * rstd[c] * mb);
        }
    }
}

void batchnorm_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                              const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                              int training) {
    int n = B * HW;
    for (int c = 0; c < C; c++) {
        float sdy = 0.0f, sdyx = 0.0f;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++) {
                size_t k = ((size_t)b * C + c) * HW + i;
                sdy += dout[k];
                sdyx += dout[k] * (inp[k] - mean[c]) * rstd[c];
            }
        if (dweight) dweight[c] += sdyx;
        if (dbias) dbias[c] += sdy;
        for (int b = 0; dinp && b < B; b++)
            for (int i = 0; i < HW; i++) {
                size_t k = ((size_t)b * C + c) * HW + i;
                float xh = (inp[k] - mean[c]) * rstd[c];
                float g = training ? dout[k] - sdy / n - xh * sdyx / n : dout[k];
                dinp[k] += rstd[c] * weight[c] * g;
            }
    }
}
