#include "nn/conv2d.h"
#include "nn/parallel.h"

#include <string.h>

#include "core/error.h"
#include "core/gemm.h"

static int plain_1x1(const Conv2dDims *d) { return d->K == 1 && d->stride == 1 && d->pad == 0; }

size_t conv2d_scratch_floats(const Conv2dDims *d, int backward) {
    if (plain_1x1(d)) return 0;
    size_t n = (size_t)d->Cin * d->K * d->K * (size_t)conv2d_out_h(d) * (size_t)conv2d_out_w(d);
    return backward ? 2 * n : n;
}

/* cols (Cin·K·K, Ho·Wo) of one image x (Cin, H, W). */
static void im2col(float *cols, const float *x, const Conv2dDims *d, int Ho, int Wo) {
    int KK = d->K * d->K, rows = d->Cin * KK;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)rows * Ho * Wo)
    for (int r = 0; r < rows; r++) {
        int c = r / KK, ky = (r % KK) / d->K, kx = r % d->K;
        float *col = cols + (size_t)r * Ho * Wo;
        const float *xc = x + (size_t)c * d->H * d->W;
        for (int y = 0; y < Ho; y++) {
            int iy = y * d->stride + ky - d->pad;
            for (int xo = 0; xo < Wo; xo++) {
                int ix = xo * d->stride + kx - d->pad;
                col[y * Wo + xo] = (iy >= 0 && iy < d->H && ix >= 0 && ix < d->W) ? xc[(size_t)iy * d->W + ix] : 0.0f;
            }
        }
    }
}

/* dx (Cin, H, W) += the scatter of dcols; one thread per input channel (disjoint outputs). */
static void col2im_add(float *dx, const float *dcols, const Conv2dDims *d, int Ho, int Wo) {
    int KK = d->K * d->K;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)d->Cin * KK * Ho * Wo)
    for (int c = 0; c < d->Cin; c++) {
        float *xc = dx + (size_t)c * d->H * d->W;
        for (int k = 0; k < KK; k++) {
            int ky = k / d->K, kx = k % d->K;
            const float *col = dcols + ((size_t)c * KK + k) * Ho * Wo;
            for (int y = 0; y < Ho; y++) {
                int iy = y * d->stride + ky - d->pad;
                if (iy < 0 || iy >= d->H) continue;
                for (int xo = 0; xo < Wo; xo++) {
                    int ix = xo * d->stride + kx - d->pad;
                    if (ix >= 0 && ix < d->W) xc[(size_t)iy * d->W + ix] += col[y * Wo + xo];
                }
            }
        }
    }
}

void conv2d_forward(float *out, float *scratch, const float *inp, const float *weight, const Conv2dDims *d) {
    CHECK(d->K > 0 && d->stride > 0 && d->pad >= 0 && d->H + 2 * d->pad >= d->K, "bad conv dims");
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), Kc = d->Cin * d->K * d->K, HWo = Ho * Wo;
    size_t in_img = (size_t)d->Cin * d->H * d->W, out_img = (size_t)d->Cout * HWo;
    for (int b = 0; b < d->B; b++) {
        const float *cols = inp + b * in_img;
        if (!plain_1x1(d)) {
            im2col(scratch, inp + b * in_img, d, Ho, Wo);
            cols = scratch;
        }
        gemm_layer(0, 0, d->Cout, HWo, Kc, 1.0f, weight, Kc, cols, HWo, 0.0f, out + b * out_img, HWo);
    }
}

void conv2d_backward(float *dinp, float *dweight, float *scratch, const float *dout, const float *inp,
                     const float *weight, const Conv2dDims *d) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), Kc = d->Cin * d->K * d->K, HWo = Ho * Wo;
    size_t in_img = (size_t)d->Cin * d->H * d->W, out_img = (size_t)d->Cout * HWo;
    int plain = plain_1x1(d);
    float *dcols = plain ? NULL : scratch + (size_t)Kc * HWo;
    for (int b = 0; b < d->B; b++) {
        const float *dy = dout + b * out_img;
        if (dweight) {
            const float *cols = inp + b * in_img;
            if (!plain) {
                im2col(scratch, inp + b * in_img, d, Ho, Wo);
                cols = scratch;
            }
            /* dW (Cout, Kc) += dy (Cout, HWo) · colsᵀ */
            gemm_layer(0, 1, d->Cout, Kc, HWo, 1.0f, dy, HWo, cols, HWo, 1.0f, dweight, Kc);
        }
        if (!dinp) continue;
        /* dcols (Kc, HWo) = Wᵀ · dy; a plain 1×1 adds straight into dinp */
        float *target = plain ? dinp + b * in_img : dcols;
        gemm_layer(1, 0, Kc, HWo, d->Cout, 1.0f, weight, Kc, dy, HWo, plain ? 1.0f : 0.0f, target, HWo);
        if (!plain) col2im_add(dinp + b * in_img, dcols, d, Ho, Wo);
    }
}

static float px(const float *inp, const Conv2dDims *d, int b, int c, int y, int x) {
    if (y < 0 || y >= d->H || x < 0 || x >= d->W) return 0.0f;
    return inp[(((size_t)b * d->Cin + c) * d->H + y) * d->W + x];
}

void conv2d_forward_naive(float *out, const float *inp, const float *weight, const Conv2dDims *d) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), K = d->K;
    for (int b = 0; b < d->B; b++)
        for (int o = 0; o < d->Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    float s = 0.0f;
                    for (int c = 0; c < d->Cin; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++)
                                s += weight[(((size_t)o * d->Cin + c) * K + ky) * K + kx] *
                                     px(inp, d, b, c, y * d->stride + ky - d->pad, x * d->stride + kx - d->pad);
                    out[(((size_t)b * d->Cout + o) * Ho + y) * Wo + x] = s;
                }
}

void conv2d_backward_naive(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const Conv2dDims *d) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), K = d->K;
    for (int b = 0; b < d->B; b++)
        for (int o = 0; o < d->Cout; o++)
            for (int y = 0; y < Ho; y++)
                for (int x = 0; x < Wo; x++) {
                    float g = dout[(((size_t)b * d->Cout + o) * Ho + y) * Wo + x];
                    for (int c = 0; c < d->Cin; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                int iy = y * d->stride + ky - d->pad, ix = x * d->stride + kx - d->pad;
                                if (iy < 0 || iy >= d->H || ix < 0 || ix >= d->W) continue;
                                size_t wi = (((size_t)o * d->Cin + c) * K + ky) * K + kx;
                                size_t ii = (((size_t)b * d->Cin + c) * d->H + iy) * d->W + ix;
                                if (dweight) dweight[wi] += g * inp[ii];
                                if (dinp) dinp[ii] += g * weight[wi];
                            }
                }
}
