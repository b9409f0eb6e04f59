/* Pillow-exact bicubic resampling (see resize.h for the algorithm). */
#include "data/resize.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

#define RESIZE_PRECISION_BITS 22 /* 32 - 8 - 2, as Pillow: room for 8-bit values and overshoot */
#define RESIZE_SUPPORT 2.0      /* bicubic support before stretching */

/* Cubic convolution kernel with a = -0.5 (Keys). */
static double resize_cubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

typedef struct {
    int ksize;      /* stride of k: the most taps any output can use */
    int *bounds;    /* (n, 2): first input index, number of taps */
    int32_t *k;     /* (n, ksize): fixed-point coefficients */
} ResizeCoeffs;

static void coeffs_free(ResizeCoeffs *c) {
    free(c->bounds);
    free(c->k);
    c->bounds = NULL;
    c->k = NULL;
}

/* Coefficients mapping `in_size` samples to `out_size`, for outputs
 * [first, first + n) only; identical to Pillow's precompute_coeffs followed by
 * normalize_coeffs_8bpc for those outputs. */
static ModxStatus coeffs_build(ResizeCoeffs *c, int in_size, int out_size, int first, int n) {
    double scale = (double)((float)in_size - 0.0f) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = RESIZE_SUPPORT * filterscale;
    double ss = 1.0 / filterscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    size_t nk;
    if (!size_mul((size_t)n, (size_t)c->ksize, &nk))
        return modx_fail(MODX_ERR_NOMEM, "resize: coefficient table %d x %d overflows", n, c->ksize);
    c->bounds = modx_calloc((size_t)n * 2, sizeof *c->bounds, "resize coefficient bounds");
    c->k = modx_calloc(nk, sizeof *c->k, "resize coefficients");
    double *w = modx_calloc((size_t)c->ksize, sizeof *w, "resize kernel weights");
    if (!c->bounds || !c->k || !w) {
        free(w);
        coeffs_free(c);
        return MODX_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        CHECK(xmax >= 0 && xmax <= c->ksize, "resize: %d taps for kernel size %d", xmax, c->ksize);
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = resize_cubic((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = c->k + (size_t)i * c->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            /* round half away from zero, as Pillow */
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << RESIZE_PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << RESIZE_PRECISION_BITS));
        }
        c->bounds[2 * i] = xmin;
        c->bounds[2 * i + 1] = xmax;
    }
    free(w);
    return MODX_OK;
}

static inline uint8_t clip8(int32_t v) {
    v >>= RESIZE_PRECISION_BITS; /* arithmetic shift: negative sums clip to 0 */
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* rows × cw × 3 output from rows of `src` (stride in bytes), horizontal taps. */
static void resample_horizontal(const uint8_t *src, size_t stride, int rows, const ResizeCoeffs *c, int cw,
                                uint8_t *dst) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *row = src + (size_t)y * stride;
        uint8_t *o = dst + (size_t)y * cw * 3;
        for (int j = 0; j < cw; j++) {
            const int32_t *k = c->k + (size_t)j * c->ksize;
            const uint8_t *p = row + (size_t)c->bounds[2 * j] * 3;
            int taps = c->bounds[2 * j + 1];
            int32_t s0 = 1 << (RESIZE_PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int t = 0; t < taps; t++) {
                s0 += p[3 * t] * k[t];
                s1 += p[3 * t + 1] * k[t];
                s2 += p[3 * t + 2] * k[t];
            }
            o[3 * j] = clip8(s0);
            o[3 * j + 1] = clip8(s1);
            o[3 * j + 2] = clip8(s2);
        }
    }
}

/* ch output rows of `width` bytes each from rows of `src` (row 0 = bounds origin). */
static void resample_vertical(const uint8_t *src, size_t stride, int origin, const ResizeCoeffs *c, int ch,
                              int width, int32_t *acc, uint8_t *dst) {
    for (int i = 0; i < ch; i++) {
        const int32_t *k = c->k + (size_t)i * c->ksize;
        int ymin = c->bounds[2 * i] - origin, taps = c->bounds[2 * i + 1];
        for (int j = 0; j < width; j++) acc[j] = 1 << (RESIZE_PRECISION_BITS - 1);
        for (int t = 0; t < taps; t++) {
            const uint8_t *row = src + (size_t)(ymin + t) * stride;
            int32_t kt = k[t];
            for (int j = 0; j < width; j++) acc[j] += row[j] * kt;
        }
        uint8_t *o = dst + (size_t)i * width;
        for (int j = 0; j < width; j++) o[j] = clip8(acc[j]);
    }
}

ModxStatus resize_bicubic_rgb8(const uint8_t *in, int w, int h, int ow, int oh, int x0, int y0, int cw, int ch,
                               uint8_t *out) {
    CHECK(in && out && w > 0 && h > 0 && ow > 0 && oh > 0, "resize: bad sizes %dx%d -> %dx%d", w, h, ow, oh);
    CHECK(cw > 0 && ch > 0 && x0 >= 0 && y0 >= 0 && x0 <= ow - cw && y0 <= oh - ch,
          "resize: window %d,%d %dx%d outside %dx%d", x0, y0, cw, ch, ow, oh);
    ModxStatus st = MODX_OK;
    ResizeCoeffs cx = {0}, cy = {0};
    uint8_t *tmp = NULL;
    int32_t *acc = NULL;
    int need_h = ow != w, need_v = oh != h;
    int ys = y0, ye = y0 + ch; /* input rows the vertical pass reads */
    if (need_v) {
        if ((st = coeffs_build(&cy, h, oh, y0, ch)) != MODX_OK) goto fail;
        ys = cy.bounds[0];
        ye = cy.bounds[2 * (ch - 1)] + cy.bounds[2 * (ch - 1) + 1];
    }
    const uint8_t *src;
    size_t stride;
    if (need_h) {
        if ((st = coeffs_build(&cx, w, ow, x0, cw)) != MODX_OK) goto fail;
        tmp = modx_calloc((size_t)(ye - ys) * cw, 3, "resize intermediate rows");
        if (!tmp) {
            st = MODX_ERR_NOMEM;
            goto fail;
        }
        resample_horizontal(in + (size_t)ys * w * 3, (size_t)w * 3, ye - ys, &cx, cw, tmp);
        src = tmp;
        stride = (size_t)cw * 3;
    } else {
        src = in + ((size_t)ys * w + x0) * 3;
        stride = (size_t)w * 3;
    }
    if (need_v) {
        acc = modx_calloc((size_t)cw * 3, sizeof *acc, "resize accumulator");
        if (!acc) {
            st = MODX_ERR_NOMEM;
            goto fail;
        }
        resample_vertical(src, stride, ys, &cy, ch, cw * 3, acc, out);
    } else {
        for (int i = 0; i < ch; i++) memcpy(out + (size_t)i * cw * 3, src + (size_t)i * stride, (size_t)cw * 3);
    }
fail:
    coeffs_free(&cx);
    coeffs_free(&cy);
    free(tmp);
    free(acc);
    return st;
}

ModxStatus resize_shorter_side_dims(int w, int h, int size, int *out_w, int *out_h) {
    if (w < 1 || h < 1) return modx_fail(MODX_ERR_INVALID, "resize: image is %dx%d pixels, expected at least 1x1", w, h);
    if (size < 1 || size > RESIZE_MAX_SIZE)
        return modx_fail(MODX_ERR_INVALID, "resize: size %d outside [1, %d]", size, RESIZE_MAX_SIZE);
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    /* Python: int(size * long / short), a correctly rounded true division, then truncation */
    double l = (double)((int64_t)size * longer) / (double)shorter;
    if (l >= (double)INT_MAX)
        return modx_fail(MODX_ERR_INVALID, "resize: %dx%d to shorter side %d gives a longer side of %.0f pixels", w,
                         h, size, l);
    int nl = (int)l;
    *out_w = w <= h ? size : nl;
    *out_h = w <= h ? nl : size;
    return MODX_OK;
}

int resize_center_offset(int len, int crop) {
    CHECK(len >= crop, "center crop %d larger than %d", crop, len);
    int d = len - crop, k = d / 2;
    if (d % 2 == 0) return k;
    return (k % 2 == 0) ? k : k + 1; /* round(k + 0.5) with ties to even */
}
