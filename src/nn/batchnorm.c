#include "nn/batchnorm.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>

#include "core/lanesum.h"

/* mean, rstd and the running-statistics update of channel c from the batch mean
 * m and biased variance v over n values (training mode). */
static void set_stats(float *mean, float *rstd, float *rm, float *rv, int c, double m, double v, double n) {
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(v + BATCHNORM_EPS));
    if (rm) rm[c] = (float)((1.0 - BATCHNORM_MOMENTUM) * rm[c] + BATCHNORM_MOMENTUM * m);
    if (rv) rv[c] = (float)((1.0 - BATCHNORM_MOMENTUM) * rv[c] + BATCHNORM_MOMENTUM * (n > 1 ? v * n / (n - 1) : v));
}

/* Σx of channel c, then Σ(x − m)² about the given m: each row of HW values
 * summed in core/lanesum.h's order, the rows added in batch order. */
static double channel_sum(const float *inp, int c, int B, int C, int HW) {
    double m = 0.0;
    for (int b = 0; b < B; b++) m += lanesum(inp + ((size_t)b * C + c) * HW, (size_t)HW);
    return m;
}

static double channel_m2(const float *inp, double m, int c, int B, int C, int HW) {
    double v = 0.0;
    for (int b = 0; b < B; b++) v += lanesum_dev2(inp + ((size_t)b * C + c) * HW, m, (size_t)HW);
    return v;
}

static void stats_channel(float *mean, float *rstd, float *rm, float *rv, const float *inp, int c, int B, int C,
                          int HW, int training) {
    if (!training) {
        *mean = rm[c];
        *rstd = (float)(1.0 / sqrt((double)rv[c] + BATCHNORM_EPS));
        return;
    }
    double n = (double)B * HW, m = channel_sum(inp, c, B, C, HW) / n;
    set_stats(mean, rstd, rm, rv, c, m, channel_m2(inp, m, c, B, C, HW) / n, n);
}

/* y = (x − mean)·rstd·w + b of channel c, as one multiply-add per value. */
static void apply_channel(float *out, const float *inp, float mean, float rstd, float w, float bias, int c, int B,
                          int C, int HW) {
    float s = rstd * w, t = bias - mean * s;
    for (int b = 0; b < B; b++) {
        const float *x = inp + ((size_t)b * C + c) * HW;
        float *y = out + ((size_t)b * C + c) * HW;
        for (int i = 0; i < HW; i++) y[i] = x[i] * s + t;
    }
}

void batchnorm_forward(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                       const float *inp, const float *weight, const float *bias, int B, int C, int HW, int training) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 4)
    for (int c = 0; c < C; c++) {
        stats_channel(&mean[c], &rstd[c], running_mean, running_var, inp, c, B, C, HW, training);
        apply_channel(out, inp, mean[c], rstd[c], weight[c], bias[c], c, B, C, HW);
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

/* Σ dy and Σ dy·x̂ of channel c (rows as in channel_sum). */
static void channel_sums(double *sdy, double *sdyx, const float *dout, const float *inp, float mean, float rstd,
                         int c, int B, int C, int HW) {
    double a = 0.0, b2 = 0.0;
    for (int b = 0; b < B; b++) {
        size_t o = ((size_t)b * C + c) * HW;
        double s1, s2;
        lanesum_y_yxhat(dout + o, inp + o, mean, rstd, (size_t)HW, &s1, &s2);
        a += s1, b2 += s2;
    }
    *sdy = a, *sdyx = b2;
}

/* dx += rstd·w·(dy − Σdy/n − x̂·Σdy·x̂/n) of channel c (training), rstd·w·dy (eval). */
static void dinp_channel(float *dinp, const float *dout, const float *inp, float mean, float rstd, float w,
                         double sdy, double sdyx, double n, int training, int c, int B, int C, int HW) {
    float k = rstd * w;
    float ma = training ? (float)(sdy / n) : 0.0f, mb = training ? (float)(sdyx / n) : 0.0f;
    for (int b = 0; b < B; b++) {
        const float *x = inp + ((size_t)b * C + c) * HW, *dy = dout + ((size_t)b * C + c) * HW;
        float *dx = dinp + ((size_t)b * C + c) * HW;
        for (int i = 0; i < HW; i++) dx[i] += k * (dy[i] - ma - (x[i] - mean) * rstd * mb);
    }
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
        if (dinp) dinp_channel(dinp, dout, inp, mean[c], rstd[c], weight[c], sdy, sdyx, n, training, c, B, C, HW);
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

/* ---------------- synchronised (sliced batch) ---------------- */

ModxStatus batchnorm_forward_sync(float *out, float *mean, float *rstd, float *running_mean, float *running_var,
                                  const float *inp, const float *weight, const float *bias, int B, int C, int HW,
                                  int training, const BatchnormSync *sync) {
    if (!training || !sync || sync->nslices <= 1) {
        batchnorm_forward(out, mean, rstd, running_mean, running_var, inp, weight, bias, B, C, HW, training);
        return MODX_OK;
    }
    size_t count = batchnorm_sync_slot(C);
    double *mine = sync->buf + (size_t)sync->slice * count, nr = (double)B * HW;
    mine[0] = nr;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 2)
    for (int c = 0; c < C; c++) {
        double S = channel_sum(inp, c, B, C, HW);
        mine[1 + c] = S;
        mine[1 + C + c] = nr > 0 ? channel_m2(inp, S / nr, c, B, C, HW) : 0.0;
    }
    MODX_TRY(sync->gather(sync->ctx, sync->buf, count));
    double n = 0.0;
    for (int r = 0; r < sync->nslices; r++) n += sync->buf[(size_t)r * count];
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 2)
    for (int c = 0; c < C; c++) {
        double S = 0.0, M2 = 0.0;
        for (int r = 0; r < sync->nslices; r++) S += sync->buf[(size_t)r * count + 1 + c];
        double m = n > 0 ? S / n : 0.0;
        for (int r = 0; r < sync->nslices; r++) {
            const double *p = sync->buf + (size_t)r * count;
            double d = p[0] > 0 ? p[1 + c] / p[0] - m : 0.0;
            M2 += p[1 + C + c] + p[0] * d * d;
        }
        set_stats(&mean[c], &rstd[c], running_mean, running_var, c, m, n > 0 ? M2 / n : 0.0, n);
        apply_channel(out, inp, mean[c], rstd[c], weight[c], bias[c], c, B, C, HW);
    }
    return MODX_OK;
}

ModxStatus batchnorm_backward_sync(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                   const float *mean, const float *rstd, const float *weight, int B, int C, int HW,
                                   int training, const BatchnormSync *sync) {
    if (!training || !sync || sync->nslices <= 1) {
        batchnorm_backward(dinp, dweight, dbias, dout, inp, mean, rstd, weight, B, C, HW, training);
        return MODX_OK;
    }
    size_t count = batchnorm_sync_slot(C);
    double *mine = sync->buf + (size_t)sync->slice * count;
    mine[0] = (double)B * HW;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 4)
    for (int c = 0; c < C; c++) {
        channel_sums(&mine[1 + c], &mine[1 + C + c], dout, inp, mean[c], rstd[c], c, B, C, HW);
        if (dweight) dweight[c] += (float)mine[1 + C + c]; /* this slice's share */
        if (dbias) dbias[c] += (float)mine[1 + c];
    }
    MODX_TRY(sync->gather(sync->ctx, sync->buf, count));
    if (!dinp) return MODX_OK;
    double n = 0.0;
    for (int r = 0; r < sync->nslices; r++) n += sync->buf[(size_t)r * count];
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW * 4)
    for (int c = 0; c < C; c++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int r = 0; r < sync->nslices; r++) {
            sdy += sync->buf[(size_t)r * count + 1 + c];
            sdyx += sync->buf[(size_t)r * count + 1 + C + c];
        }
        dinp_channel(dinp, dout, inp, mean[c], rstd[c], weight[c], sdy, sdyx, n, 1, c, B, C, HW);
    }
    return MODX_OK;
}
