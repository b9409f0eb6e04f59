#include "nn/linear.h"
#include "nn/parallel.h"

#include "core/gemm.h"
#include <omp.h>
#include <stddef.h>

#include "core/error.h"

void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int R, int C, int OC) {
    CHECK(R >= 0 && C > 0 && OC > 0, "bad dims R=%d C=%d OC=%d", R, C, OC);
    if (R == 0) return;
    float beta = 0.0f;
    if (bias) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * OC)
        for (int r = 0; r < R; r++) {
            float *o = out + (size_t)r * OC;
            for (int j = 0; j < OC; j++) o[j] = bias[j];
        }
        beta = 1.0f;
    }
    gemm_layer(0, 1, R, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

void linear_forward_naive(float *out, const float *inp, const float *weight, const float *bias, int R, int C,
                          int OC) {
    for (int r = 0; r < R; r++)
        for (int o = 0; o < OC; o++) {
            float s = bias ? bias[o] : 0.0f;
            for (int i = 0; i < C; i++) s += inp[(size_t)r * C + i] * weight[(size_t)o * C + i];
            out[(size_t)r * OC + o] = s;
        }
}

/* Columns [o0, o1) (at most BIAS_BLK) summed over all rows, each in row order
 * (nn/parallel.h's column blocks). */
enum { BIAS_BLK = 256 };

static void bias_block(float *dbias, const float *dout, int R, int OC, int o0, int o1) {
    float acc[BIAS_BLK] = {0};
    int w = o1 - o0;
    for (int r = 0; r < R; r++) {
        const float *d = dout + (size_t)r * OC + o0;
#pragma omp simd
        for (int o = 0; o < w; o++) acc[o] += d[o];
    }
    for (int o = 0; o < w; o++) dbias[o0 + o] += acc[o];
}

void bias_backward(float *dbias, const float *dout, int R, int OC) {
    int blk = nn_column_block(OC, omp_get_max_threads(), BIAS_BLK);
    int nblk = (OC + blk - 1) / blk;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)R * OC)
    for (int b = 0; b < nblk; b++) bias_block(dbias, dout, R, OC, b * blk, b * blk + blk < OC ? b * blk + blk : OC);
}

/* linear_backward with dinp = dinp_beta·dinp + dout·W (beta 1: add, 0: set). */
static void linear_bwd(float *dinp, float dinp_beta, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int R, int C, int OC) {
    CHECK(R >= 0 && C > 0 && OC > 0, "bad dims R=%d C=%d OC=%d", R, C, OC);
    if (R == 0) return; /* dinp (R, C) is empty */
    if (dinp)
        gemm_layer(0, 0, R, C, OC, 1.0f, dout, OC, weight, C, dinp_beta, dinp, C);
    if (dweight)
        gemm_layer(1, 0, OC, C, R, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) bias_backward(dbias, dout, R, OC);
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                     const float *weight, int R, int C, int OC) {
    linear_bwd(dinp, 1.0f, dweight, dbias, dout, inp, weight, R, C, OC);
}

void linear_backward_set(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, int R, int C, int OC) {
    linear_bwd(dinp, 0.0f, dweight, dbias, dout, inp, weight, R, C, OC);
}

void linear_backward_naive(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                           const float *weight, int R, int C, int OC) {
    for (int r = 0; r < R; r++)
        for (int o = 0; o < OC; o++) {
            float d = dout[(size_t)r * OC + o];
            if (dbias) dbias[o] += d;
            for (int i = 0; i < C; i++) {
                if (dinp) dinp[(size_t)r * C + i] += d * weight[(size_t)o * C + i];
                if (dweight) dweight[(size_t)o * C + i] += d * inp[(size_t)r * C + i];
            }
        }
}

void matmul_forward(float *out, const float *inp, const float *proj, int R, int C, int OC) {
    CHECK(R >= 0 && C > 0 && OC > 0, "bad dims R=%d C=%d OC=%d", R, C, OC);
    if (R == 0) return;
    gemm_layer(0, 0, R, OC, C, 1.0f, inp, C, proj, OC, 0.0f, out, OC);
}

void matmul_forward_naive(float *out, const float *inp, const float *proj, int R, int C, int OC) {
    for (int r = 0; r < R; r++)
        for (int o = 0; o < OC; o++) {
            float s = 0.0f;
            for (int i = 0; i < C; i++) s += inp[(size_t)r * C + i] * proj[(size_t)i * OC + o];
            out[(size_t)r * OC + o] = s;
        }
}

void matmul_backward(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj, int R,
                     int C, int OC) {
    CHECK(R >= 0 && C > 0 && OC > 0, "bad dims R=%d C=%d OC=%d", R, C, OC);
    if (R == 0) return;
    if (dinp)
        gemm_layer(0, 1, R, C, OC, 1.0f, dout, OC, proj, OC, 1.0f, dinp, C);
    if (dproj)
        gemm_layer(1, 0, C, OC, R, 1.0f, inp, C, dout, OC, 1.0f, dproj, OC);
}

void matmul_backward_naive(float *dinp, float *dproj, const float *dout, const float *inp, const float *proj,
                           int R, int C, int OC) {
    for (int r = 0; r < R; r++)
        for (int o = 0; o < OC; o++) {
            float d = dout[(size_t)r * OC + o];
            for (int i = 0; i < C; i++) {
                if (dinp) dinp[(size_t)r * C + i] += d * proj[(size_t)i * OC + o];
                if (dproj) dproj[(size_t)i * OC + o] += d * inp[(size_t)r * C + i];
            }
        }
}
