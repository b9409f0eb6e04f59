/* The layers of the ModifiedResNet tower (src/nn conv2d, batchnorm, relu,
 * avgpool, attnpool): naive-vs-fast agreement on awkward shapes and
 * finite-difference checks of every backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "harness.h"
#include "nn/attnpool.h"
#include "nn/avgpool.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/relu.h"

static float *randn(size_t n, float std, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    gradcheck_randn(x, n, std, seed);
    return x;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

#define FD_TOL 1e-3
#define FD_REPORT(what, r)                                                                                   \
    do {                                                                                                     \
        printf("    fd %-28s max_abs %.2e max_rel %.2e (%zu entries)\n", what, (r).max_abs, (r).max_rel,   \
               (r).checked);                                                                                 \
        EXPECT((r).max_rel < FD_TOL, "%s: finite-difference rel error %.3e", what, (r).max_rel);          \
    } while (0)

/* ---------------- conv2d ---------------- */

typedef struct {
    Conv2dDims d;
    float *x, *w, *y, *wy, *scratch;
} ConvCtx;

static size_t conv_out_n(const Conv2dDims *d) {
    return (size_t)d->B * d->Cout * conv2d_out_h(d) * conv2d_out_w(d);
}

static double conv_loss(void *p) {
    ConvCtx *c = p;
    conv2d_forward(c->y, c->scratch, c->x, c->w, &c->d);
    return gradcheck_dot(c->y, c->wy, conv_out_n(&c->d));
}

TEST(rn_conv2d_naive_vs_fast_and_fd) {
    /* the last: 2 images per product (conv2d_group), so 3 images make a full and a partial group */
    static const Conv2dDims shapes[] = {{2, 3, 7, 6, 4, 3, 2, 1}, {1, 5, 5, 5, 3, 1, 1, 0}, {2, 4, 6, 6, 5, 3, 1, 1},
                                        {1, 2, 4, 5, 3, 3, 1, 0}, {3, 2, 3, 3, 2, 1, 1, 0}, {2, 3, 8, 8, 2, 1, 2, 0},
                                        {3, 16, 40, 40, 8, 3, 1, 1}};
    EXPECT(conv2d_group(&shapes[6]) == 2 && conv2d_group(&shapes[4]) == 3, "conv2d_group: %d and %d images",
           conv2d_group(&shapes[6]), conv2d_group(&shapes[4]));
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const Conv2dDims *d = &shapes[s];
        size_t nx = (size_t)d->B * d->Cin * d->H * d->W, nw = (size_t)d->Cout * d->Cin * d->K * d->K;
        size_t ny = conv_out_n(d);
        ConvCtx c = {*d, randn(nx, 1, 1), randn(nw, 1, 2), zeros(ny), randn(ny, 1, 3),
                     zeros(conv2d_scratch_floats(d, 1))};
        float *y2 = zeros(ny), *dx = randn(nx, 1, 4), *dx2 = randn(nx, 1, 4), *dw = zeros(nw), *dw2 = zeros(nw);
        conv_loss(&c);
        conv2d_forward_naive(y2, c.x, c.w, d);
        EXPECT_CLOSE("conv2d fwd", c.y, y2, ny, 1e-5, 1e-5);
        conv2d_backward(dx, dw, c.scratch, c.wy, c.x, c.w, d);
        conv2d_backward_naive(dx2, dw2, c.wy, c.x, c.w, d);
        EXPECT_CLOSE("conv2d dinp (accumulated)", dx, dx2, nx, 1e-5, 1e-5);
        EXPECT_CLOSE("conv2d dweight", dw, dw2, nw, 1e-5, 1e-5);
        memset(dx, 0, nx * sizeof(float));
        memset(dw, 0, nw * sizeof(float));
        conv2d_backward(dx, dw, c.scratch, c.wy, c.x, c.w, d);
        GradcheckResult r = gradcheck_tensor(conv_loss, &c, c.x, dx, nx, 1e-2f, 150, s);
        FD_REPORT("conv2d dinp", r);
        r = gradcheck_tensor(conv_loss, &c, c.w, dw, nw, 1e-2f, 150, s + 10);
        FD_REPORT("conv2d dweight", r);
        free(c.x), free(c.w), free(c.y), free(c.wy), free(c.scratch), free(y2), free(dx), free(dx2), free(dw);
        free(dw2);
    }
}

/* ---------------- batchnorm ---------------- */

typedef struct {
    int B, C, HW, training;
    float *x, *w, *b, *rm, *rv, *y, *wy, *mean, *rstd;
} BnCtx;

static double bn_loss(void *p) {
    BnCtx *c = p;
    /* training: batch statistics, running ones left alone; eval: the running ones */
    batchnorm_forward(c->y, c->mean, c->rstd, c->training ? NULL : c->rm, c->training ? NULL : c->rv, c->x, c->w,
                      c->b, c->B, c->C, c->HW, c->training);
    return gradcheck_dot(c->y, c->wy, (size_t)c->B * c->C * c->HW);
}

TEST(rn_batchnorm_naive_vs_fast_and_fd) {
    static const int sh[][3] = {{2, 3, 5}, {1, 4, 7}, {5, 2, 1}, {3, 6, 4}};
    for (int s = 0; s < 4; s++)
        for (int tr = 0; tr < 2; tr++) {
            int B = sh[s][0], C = sh[s][1], HW = sh[s][2];
            size_t n = (size_t)B * C * HW;
            BnCtx c = {B, C, HW, tr, randn(n, 2, 1), randn(C, 1, 2), randn(C, 1, 3), randn(C, 0.5f, 4),
                       zeros(C), zeros(n), randn(n, 1, 5), zeros(C), zeros(C)};
            for (int i = 0; i < C; i++) c.rv[i] = 0.5f + 0.1f * (float)i;
            float *rm2 = malloc(C * sizeof(float)), *rv2 = malloc(C * sizeof(float));
            memcpy(rm2, c.rm, C * sizeof(float)), memcpy(rv2, c.rv, C * sizeof(float));
            float *y2 = zeros(n), *m2 = zeros(C), *r2 = zeros(C);
            batchnorm_forward(c.y, c.mean, c.rstd, c.rm, c.rv, c.x, c.w, c.b, B, C, HW, tr);
            batchnorm_forward_naive(y2, m2, r2, rm2, rv2, c.x, c.w, c.b, B, C, HW, tr);
            EXPECT_CLOSE("batchnorm fwd", c.y, y2, n, 1e-5, 1e-5);
            EXPECT_CLOSE("batchnorm running mean", c.rm, rm2, C, 1e-6, 1e-6);
            EXPECT_CLOSE("batchnorm running var", c.rv, rv2, C, 1e-6, 1e-6);
            if (tr && B * HW > 1) { /* the update: 0.9·r + 0.1·stat, unbiased variance */
                double m = 0, v = 0;
                for (int b = 0; b < B; b++)
                    for (int i = 0; i < HW; i++) m += c.x[((size_t)b * C) * HW + i];
                m /= B * HW;
                for (int b = 0; b < B; b++)
                    for (int i = 0; i < HW; i++) v += (c.x[((size_t)b * C) * HW + i] - m) * (c.x[((size_t)b * C) * HW + i] - m);
                float want_rv = (float)(0.9 * 0.5 + 0.1 * v / (B * HW - 1));
                EXPECT(fabsf(c.rv[0] - want_rv) < 1e-5f, "running var %g, want %g", c.rv[0], want_rv);
            }
            float *dx = zeros(n), *dw = zeros(C), *db = zeros(C), *dx2 = zeros(n), *dw2 = zeros(C), *db2 = zeros(C);
            bn_loss(&c);
            batchnorm_backward(dx, dw, db, c.wy, c.x, c.mean, c.rstd, c.w, B, C, HW, tr);
            batchnorm_backward_naive(dx2, dw2, db2, c.wy, c.x, c.mean, c.rstd, c.w, B, C, HW, tr);
            EXPECT_CLOSE("batchnorm dinp", dx, dx2, n, 1e-5, 1e-4);
            EXPECT_CLOSE("batchnorm dweight", dw, dw2, C, 1e-5, 1e-4);
            EXPECT_CLOSE("batchnorm dbias", db, db2, C, 1e-5, 1e-4);
            if (B * HW > 1) {
                GradcheckResult r = gradcheck_tensor(bn_loss, &c, c.x, dx, n, 1e-2f, 120, s);
                FD_REPORT(tr ? "batchnorm dinp (train)" : "batchnorm dinp (eval)", r);
                r = gradcheck_tensor(bn_loss, &c, c.w, dw, C, 1e-2f, 50, s + 1);
                FD_REPORT("batchnorm dweight", r);
                r = gradcheck_tensor(bn_loss, &c, c.b, db, C, 1e-2f, 50, s + 2);
                FD_REPORT("batchnorm dbias", r);
            }
            free(c.x), free(c.w), free(c.b), free(c.rm), free(c.rv), free(c.y), free(c.wy), free(c.mean);
            free(c.rstd), free(rm2), free(rv2), free(y2), free(m2), free(r2), free(dx), free(dw), free(db);
            free(dx2), free(dw2), free(db2);
        }
}

/* ---------------- relu, avgpool ---------------- */

typedef struct {
    int BC, H, W, k;
    float *x, *y, *wy;
} PoolCtx;

static double pool_loss(void *p) {
    PoolCtx *c = p;
    avgpool_forward(c->y, c->x, c->BC, c->H, c->W, c->k);
    return gradcheck_dot(c->y, c->wy, (size_t)c->BC * (c->H / c->k) * (c->W / c->k));
}

static double relu_loss(void *p) {
    PoolCtx *c = p;
    relu_forward(c->y, c->x, (size_t)c->BC);
    return gradcheck_dot(c->y, c->wy, (size_t)c->BC);
}

TEST(rn_relu_avgpool_naive_vs_fast_and_fd) {
    static const int sh[][4] = {{3, 4, 4, 2}, {2, 5, 7, 2}, {4, 6, 6, 3}, {1, 1, 1, 1}};
    for (int s = 0; s < 4; s++) {
        int BC = sh[s][0], H = sh[s][1], W = sh[s][2], k = sh[s][3];
        size_t nx = (size_t)BC * H * W, ny = (size_t)BC * (H / k) * (W / k);
        PoolCtx c = {BC, H, W, k, randn(nx, 1, 1), zeros(ny), randn(ny, 1, 2)};
        float *y2 = zeros(ny), *dx = randn(nx, 1, 3), *dx2 = randn(nx, 1, 3);
        pool_loss(&c);
        avgpool_forward_naive(y2, c.x, BC, H, W, k);
        EXPECT_CLOSE("avgpool fwd", c.y, y2, ny, 1e-6, 1e-6);
        avgpool_backward(dx, c.wy, BC, H, W, k);
        avgpool_backward_naive(dx2, c.wy, BC, H, W, k);
        EXPECT_CLOSE("avgpool dinp (accumulated)", dx, dx2, nx, 1e-6, 1e-6);
        memset(dx, 0, nx * sizeof(float));
        avgpool_backward(dx, c.wy, BC, H, W, k);
        GradcheckResult r = gradcheck_tensor(pool_loss, &c, c.x, dx, nx, 1e-2f, 100, s);
        FD_REPORT("avgpool dinp", r);
        free(c.x), free(c.y), free(c.wy), free(y2), free(dx), free(dx2);
    }
    /* relu: values kept away from 0 so the central difference does not straddle the kink */
    size_t n = 257;
    PoolCtx c = {(int)n, 1, 1, 1, randn(n, 1, 7), zeros(n), randn(n, 1, 8)};
    for (size_t i = 0; i < n; i++) c.x[i] += c.x[i] > 0 ? 0.05f : -0.05f;
    float *y2 = zeros(n), *dx = randn(n, 1, 9), *dx2 = randn(n, 1, 9), *inplace = malloc(n * sizeof(float));
    relu_loss(&c);
    relu_forward_naive(y2, c.x, n);
    EXPECT_CLOSE("relu fwd", c.y, y2, n, 0, 0);
    relu_backward(dx, c.wy, c.y, n);
    relu_backward_naive(dx2, c.wy, c.y, n);
    EXPECT_CLOSE("relu dinp (accumulated)", dx, dx2, n, 0, 0);
    memcpy(inplace, c.wy, n * sizeof(float));
    relu_backward(inplace, inplace, c.y, n);
    memset(dx, 0, n * sizeof(float));
    relu_backward(dx, c.wy, c.y, n);
    EXPECT_CLOSE("relu in place", inplace, dx, n, 0, 0);
    GradcheckResult r = gradcheck_tensor(relu_loss, &c, c.x, dx, n, 1e-2f, 257, 1);
    FD_REPORT("relu dinp", r);
    free(c.x), free(c.y), free(c.wy), free(y2), free(dx), free(dx2), free(inplace);
}

/* ---------------- attention pooling ---------------- */

typedef struct {
    AttnPoolDims d;
    AttnPoolWeights w;
    AttnPoolActs a;
    float *x, *y, *wy;
} ApCtx;

static void ap_acts(AttnPoolActs *a, const AttnPoolDims *d) {
    size_t N = (size_t)d->HW + 1, C = (size_t)d->C;
    a->tok = zeros(d->B * N * C), a->tok0 = zeros(d->B * C), a->q = zeros(d->B * C);
    a->k = zeros(d->B * N * C), a->v = zeros(d->B * N * C), a->att = zeros(d->B * d->NH * N);
    a->o = zeros(d->B * C);
}

static void ap_acts_free(AttnPoolActs *a) {
    free(a->tok), free(a->tok0), free(a->q), free(a->k), free(a->v), free(a->att), free(a->o);
}

static double ap_loss(void *p) {
    ApCtx *c = p;
    attnpool_forward(c->y, &c->a, c->x, &c->w, &c->d);
    return gradcheck_dot(c->y, c->wy, (size_t)c->d.B * c->d.E);
}

TEST(rn_attnpool_naive_vs_fast_and_fd) {
    static const AttnPoolDims shapes[] = {{2, 8, 4, 2, 5}, {1, 6, 1, 3, 4}, {3, 4, 9, 1, 3}};
    for (int s = 0; s < 3; s++) {
        AttnPoolDims d = shapes[s];
        size_t C = (size_t)d.C, N = (size_t)d.HW + 1, E = (size_t)d.E, nx = (size_t)d.B * C * d.HW;
        float sc = 1.0f / sqrtf((float)C);
        ApCtx c = {d, {randn(N * C, 0.5f, 1), randn(C * C, sc, 2), randn(C, 0.1f, 3), randn(C * C, sc, 4),
                       randn(C, 0.1f, 5), randn(C * C, sc, 6), randn(C, 0.1f, 7), randn(E * C, sc, 8),
                       randn(E, 0.1f, 9)},
                   {0}, randn(nx, 1, 10), zeros(d.B * E), randn(d.B * E, 1, 11)};
        AttnPoolWeights g = {zeros(N * C), zeros(C * C), zeros(C), zeros(C * C), zeros(C), zeros(C * C), zeros(C),
                             zeros(E * C), zeros(E)};
        AttnPoolActs scratch, a2;
        ap_acts(&c.a, &d), ap_acts(&scratch, &d), ap_acts(&a2, &d);
        float *y2 = zeros(d.B * E), *dx = zeros(nx);
        ap_loss(&c);
        attnpool_forward_naive(y2, &a2, c.x, &c.w, &d);
        EXPECT_CLOSE("attnpool fwd", c.y, y2, d.B * E, 1e-5, 1e-5);
        attnpool_backward(dx, &g, &scratch, c.wy, &c.a, &c.w, &d);
        { /* the naive backward, from the same forward, into fresh gradients */
            AttnPoolWeights g2 = {zeros(N * C), zeros(C * C), zeros(C), zeros(C * C), zeros(C), zeros(C * C),
                                  zeros(C), zeros(E * C), zeros(E)};
            AttnPoolActs s2;
            ap_acts(&s2, &d);
            float *dx2 = zeros(nx);
            attnpool_backward_naive(dx2, &g2, &s2, c.wy, &c.a, &c.w, &d);
            int same = harness_close_f32(__FILE__, __LINE__, "attnpool dinp naive", dx, dx2, nx, 1e-5, 1e-5);
            float **ga = (float **)&g, **gb = (float **)&g2;
            size_t sz[9] = {N * C, C * C, C, C * C, C, C * C, C, E * C, E};
            for (int t = 0; same && t < 9; t++)
                same = harness_close_f32(__FILE__, __LINE__, "attnpool weight grad naive", ga[t], gb[t], sz[t], 1e-5,
                                         1e-5);
            for (int t = 0; t < 9; t++) free(gb[t]);
            ap_acts_free(&s2);
            free(dx2);
            EXPECT(same, "attnpool: naive and fast backward differ (shape %d)", s);
        }
        GradcheckResult r = gradcheck_tensor(ap_loss, &c, c.x, dx, nx, 1e-2f, 100, s);
        FD_REPORT("attnpool dinp", r);
        float **wp = (float **)&c.w, **gp = (float **)&g;
        size_t sizes[9] = {N * C, C * C, C, C * C, C, C * C, C, E * C, E};
        static const char *const names[9] = {"pos", "q_w", "q_b", "k_w", "k_b", "v_w", "v_b", "c_w", "c_b"};
        for (int t = 0; t < 9; t++) {
            char what[64];
            snprintf(what, sizeof what, "attnpool d%s", names[t]);
            r = gradcheck_tensor(ap_loss, &c, wp[t], gp[t], sizes[t], 1e-2f, 60, (uint64_t)(s * 10 + t));
            if (t == 4) { /* q·b_k is the same for every key: softmax ignores it, the gradient is 0 */
                EXPECT(r.max_abs < 1e-4, "attnpool dk_b: |fd − analytic| %.3e", r.max_abs);
                continue;
            }
            FD_REPORT(what, r);
        }
        for (int t = 0; t < 9; t++) free(wp[t]), free(gp[t]);
        ap_acts_free(&c.a), ap_acts_free(&scratch), ap_acts_free(&a2);
        free(c.x), free(c.y), free(c.wy), free(y2), free(dx);
    }
}
