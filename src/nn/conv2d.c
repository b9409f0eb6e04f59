#include "nn/conv2d.h"
#include "nn/parallel.h"

#include <string.h>

#include "core/error.h"
#include "core/gemm.h"

static int plain_1x1(const Conv2dDims *d) { return d->K == 1 && d->stride == 1 && d->pad == 0; }

/* Images per product: as many as fit CONV_GROUP_FLOATS of scratch (their
 * columns, column gradients and output), at least 1, at most B. Depends on
 * the dims only, so results do not depend on the thread count. */
#define CONV_GROUP_FLOATS ((size_t)1 << 20)

static size_t group_floats_per_image(const Conv2dDims *d) {
    return (2 * (size_t)d->Cin * d->K * d->K + (size_t)d->Cout) * (size_t)conv2d_out_h(d) * conv2d_out_w(d);
}

int conv2d_group(const Conv2dDims *d) {
    size_t per = group_floats_per_image(d), g = per ? CONV_GROUP_FLOATS / per : 1;
    return g < 1 ? 1 : g > (size_t)d->B ? (d->B > 0 ? d->B : 1) : (int)g;
}

size_t conv2d_scratch_floats(const Conv2dDims *d, int backward) {
    size_t G = (size_t)conv2d_group(d), HWo = (size_t)conv2d_out_h(d) * conv2d_out_w(d);
    size_t cols = (size_t)d->Cin * d->K * d->K * HWo;
    if (G > 1) return G * (backward ? group_floats_per_image(d) : cols + (size_t)d->Cout * HWo);
    if (plain_1x1(d)) return 0;
    return backward ? 2 * cols : cols;
}

/* cols (Cin·K·K rows of stride ld): image g of the G images at x (each
 * Cin, H, W) in columns [g·Ho·Wo, (g + 1)·Ho·Wo) of every row. */
static void im2col(float *cols, size_t ld, const float *x, int G, const Conv2dDims *d, int Ho, int Wo) {
    int KK = d->K * d->K, rows = d->Cin * KK;
    size_t in_img = (size_t)d->Cin * d->H * d->W;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)rows * Ho * Wo * G)
    for (int r = 0; r < rows; r++) {
        int c = r / KK, ky = (r % KK) / d->K, kx = r % d->K;
        for (int g = 0; g < G; g++) {
            float *col = cols + (size_t)r * ld + (size_t)g * Ho * Wo;
            const float *xc = x + g * in_img + (size_t)c * d->H * d->W;
            for (int y = 0; y < Ho; y++) {
                int iy = y * d->stride + ky - d->pad;
                for (int xo = 0; xo < Wo; xo++) {
                    int ix = xo * d->stride + kx - d->pad;
                    col[y * Wo + xo] =
                        (iy >= 0 && iy < d->H && ix >= 0 && ix < d->W) ? xc[(size_t)iy * d->W + ix] : 0.0f;
                }
            }
        }
    }
}

/* dx (G images of Cin, H, W) += the scatter of dcols (rows of stride ld, as
 * im2col lays them out); one thread per input channel (disjoint outputs). */
static void col2im_add(float *dx, const float *dcols, size_t ld, int G, const Conv2dDims *d, int Ho, int Wo) {
    int KK = d->K * d->K;
    size_t in_img = (size_t)d->Cin * d->H * d->W;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)d->Cin * KK * Ho * Wo * G)
    for (int c = 0; c < d->Cin; c++)
        for (int g = 0; g < G; g++) {
            float *xc = dx + g * in_img + (size_t)c * d->H * d->W;
            for (int k = 0; k < KK; k++) {
                int ky = k / d->K, kx = k % d->K;
                const float *col = dcols + ((size_t)c * KK + k) * ld + (size_t)g * Ho * Wo;
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

/* G NCHW images (each C, HW) to one (C, G·HW) matrix, and back. */
static void images_to_matrix(float *mat, const float *img, int G, int C, int HW) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)G * C * HW)
    for (int c = 0; c < C; c++)
        for (int g = 0; g < G; g++)
            memcpy(mat + ((size_t)c * G + g) * HW, img + ((size_t)g * C + c) * HW, (size_t)HW * sizeof(float));
}

static void matrix_to_images(float *img, const float *mat, int G, int C, int HW) {
#pragma omp parallel for schedule(static) NN_PAR_IF((long)G * C * HW)
    for (int c = 0; c < C; c++)
        for (int g = 0; g < G; g++)
            memcpy(img + ((size_t)g * C + c) * HW, mat + ((size_t)c * G + g) * HW, (size_t)HW * sizeof(float));
}

/* Images [b0, b0 + G) forward: one product over their G·Ho·Wo columns. */
static void forward_group(float *out, float *scratch, const float *inp, const float *weight, const Conv2dDims *d,
                          int b0, int G) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), Kc = d->Cin * d->K * d->K, N = G * Ho * Wo;
    size_t in_img = (size_t)d->Cin * d->H * d->W, out_img = (size_t)d->Cout * Ho * Wo;
    const float *cols = inp + b0 * in_img;
    float *y = out + b0 * out_img;
    if (G > 1 || !plain_1x1(d)) {
        im2col(scratch, (size_t)N, inp + b0 * in_img, G, d, Ho, Wo);
        cols = scratch;
    }
    if (G > 1) y = scratch + (size_t)Kc * N;
    gemm_layer(0, 0, d->Cout, N, Kc, 1.0f, weight, Kc, cols, N, 0.0f, y, N);
    if (G > 1) matrix_to_images(out + b0 * out_img, y, G, d->Cout, Ho * Wo);
}

void conv2d_forward(float *out, float *scratch, const float *inp, const float *weight, const Conv2dDims *d) {
    CHECK(d->K > 0 && d->stride > 0 && d->pad >= 0 && d->H + 2 * d->pad >= d->K, "bad conv dims");
    int G = conv2d_group(d);
    for (int b0 = 0; b0 < d->B; b0 += G) forward_group(out, scratch, inp, weight, d, b0, d->B - b0 < G ? d->B - b0 : G);
}

/* Images [b0, b0 + G) backward; scratch: cols, dcols, then dy as one matrix. */
static void backward_group(float *dinp, float *dweight, float *scratch, const float *dout, const float *inp,
                           const float *weight, const Conv2dDims *d, int b0, int G) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d), Kc = d->Cin * d->K * d->K, N = G * Ho * Wo;
    size_t in_img = (size_t)d->Cin * d->H * d->W, out_img = (size_t)d->Cout * Ho * Wo;
    int direct = G == 1 && plain_1x1(d); /* the image itself is its cols */
    float *dcols = direct ? NULL : scratch + (size_t)Kc * N;
    const float *dy = dout + b0 * out_img;
    if (G > 1) {
        float *m = scratch + 2 * (size_t)Kc * N;
        images_to_matrix(m, dy, G, d->Cout, Ho * Wo);
        dy = m;
    }
    if (dweight) {
        const float *cols = inp + b0 * in_img;
        if (!direct) {
            im2col(scratch, (size_t)N, inp + b0 * in_img, G, d, Ho, Wo);
            cols = scratch;
        }
        /* dW (Cout, Kc) += dy (Cout, N) · colsᵀ */
        gemm_layer(0, 1, d->Cout, Kc, N, 1.0f, dy, N, cols, N, 1.0f, dweight, Kc);
    }
    if (!dinp) return;
    /* dcols (Kc, N) = Wᵀ · dy; a plain 1×1 image adds straight into dinp */
    float *target = direct ? dinp + b0 * in_img : dcols;
    gemm_layer(1, 0, Kc, N, d->Cout, 1.0f, weight, Kc, dy, N, direct ? 1.0f : 0.0f, target, N);
    if (!direct) col2im_add(dinp + b0 * in_img, dcols, (size_t)N, G, d, Ho, Wo);
}

void conv2d_backward(float *dinp, float *dweight, float *scratch, const float *dout, const float *inp,
                     const float *weight, const Conv2dDims *d) {
    int G = conv2d_group(d);
    for (int b0 = 0; b0 < d->B; b0 += G)
        backward_group(dinp, dweight, scratch, dout, inp, weight, d, b0, d->B - b0 < G ? d->B - b0 : G);
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
