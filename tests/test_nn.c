/* src/nn: naive-vs-fast kernel agreement on awkward shapes, finite-difference
 * checks of every backward, causality and thread-count determinism. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "harness.h"
#include "nn/attention.h"
#include "nn/classtoken.h"
#include "nn/embedding.h"
#include "nn/gelu.h"
#include "nn/l2norm.h"
#include "nn/layernorm.h"
#include "nn/linear.h"
#include "nn/patch.h"
#include "nn/pool.h"
#include "nn/residual.h"

static float *randn(size_t n, float std, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    gradcheck_randn(x, n, std, seed);
    return x;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* FD tolerance: relative to the largest gradient entry of the tensor. */
#define FD_TOL 1e-3
#define FD_REPORT(what, r)                                                                                       \
    do {                                                                                                         \
        printf("    fd %-28s max_abs %.2e max_rel %.2e (%zu entries)\n", what, (r).max_abs, (r).max_rel,       \
               (r).checked);                                                                                     \
        EXPECT((r).max_rel < FD_TOL, "%s: finite-difference rel error %.3e", what, (r).max_rel);              \
    } while (0)

/* ---------------- linear / matmul ---------------- */

static const int shapes3[][3] = {{1, 1, 1}, {7, 13, 5}, {17, 31, 29}, {3, 64, 97}, {2, 1, 11}};

TEST(nn_linear_naive_vs_fast) {
    for (size_t s = 0; s < sizeof shapes3 / sizeof *shapes3; s++) {
        int R = shapes3[s][0], C = shapes3[s][1], OC = shapes3[s][2];
        float *x = randn((size_t)R * C, 1, 1), *w = randn((size_t)OC * C, 1, 2), *b = randn(OC, 1, 3);
        float *dy = randn((size_t)R * OC, 1, 4);
        float *y1 = zeros((size_t)R * OC), *y2 = zeros((size_t)R * OC);
        float *dx1 = randn((size_t)R * C, 1, 5), *dx2 = randn((size_t)R * C, 1, 5);
        float *dw1 = zeros((size_t)OC * C), *dw2 = zeros((size_t)OC * C), *db1 = zeros(OC), *db2 = zeros(OC);
        for (int bias = 0; bias < 2; bias++) {
            linear_forward(y1, x, w, bias ? b : NULL, R, C, OC);
            linear_forward_naive(y2, x, w, bias ? b : NULL, R, C, OC);
            EXPECT_CLOSE("linear fwd", y1, y2, (size_t)R * OC, 1e-5, 1e-5);
        }
        linear_backward(dx1, dw1, db1, dy, x, w, R, C, OC);
        linear_backward_naive(dx2, dw2, db2, dy, x, w, R, C, OC);
        EXPECT_CLOSE("linear dx (accumulated)", dx1, dx2, (size_t)R * C, 1e-5, 1e-5);
        EXPECT_CLOSE("linear dw", dw1, dw2, (size_t)OC * C, 1e-5, 1e-5);
        EXPECT_CLOSE("linear db", db1, db2, OC, 1e-5, 1e-5);
        /* matmul with proj (C, OC) */
        matmul_forward(y1, x, w, R, C, OC);
        matmul_forward_naive(y2, x, w, R, C, OC);
        EXPECT_CLOSE("matmul fwd", y1, y2, (size_t)R * OC, 1e-5, 1e-5);
        matmul_backward(dx1, dw1, dy, x, w, R, C, OC);
        matmul_backward_naive(dx2, dw2, dy, x, w, R, C, OC);
        EXPECT_CLOSE("matmul dx", dx1, dx2, (size_t)R * C, 1e-5, 1e-5);
        EXPECT_CLOSE("matmul dproj", dw1, dw2, (size_t)OC * C, 1e-5, 1e-5);
        free(x), free(w), free(b), free(dy), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2);
        free(db1), free(db2);
    }
}

typedef struct {
    int R, C, OC, mode; /* mode 0 linear, 1 matmul */
    float *x, *w, *b, *y, *wy;
} LinCtx;

static double lin_loss(void *p) {
    LinCtx *c = p;
    if (c->mode == 0)
        linear_forward(c->y, c->x, c->w, c->b, c->R, c->C, c->OC);
    else
        matmul_forward(c->y, c->x, c->w, c->R, c->C, c->OC);
    return gradcheck_dot(c->y, c->wy, (size_t)c->R * c->OC);
}

TEST(nn_linear_matmul_fd) {
    for (int mode = 0; mode < 2; mode++) {
        LinCtx c = {5, 7, 3, mode, NULL, NULL, NULL, NULL, NULL};
        c.x = randn(35, 1, 10), c.w = randn(21, 1, 11), c.b = randn(3, 1, 12), c.y = zeros(15), c.wy = randn(15, 1, 13);
        float *dx = zeros(35), *dw = zeros(21), *db = zeros(3);
        if (mode == 0)
            linear_backward(dx, dw, db, c.wy, c.x, c.w, 5, 7, 3);
        else
            matmul_backward(dx, dw, c.wy, c.x, c.w, 5, 7, 3);
        GradcheckResult r = gradcheck_tensor(lin_loss, &c, c.x, dx, 35, 1e-2f, 100, 1);
        FD_REPORT(mode ? "matmul dx" : "linear dx", r);
        r = gradcheck_tensor(lin_loss, &c, c.w, dw, 21, 1e-2f, 100, 2);
        FD_REPORT(mode ? "matmul dproj" : "linear dw", r);
        if (mode == 0) {
            r = gradcheck_tensor(lin_loss, &c, c.b, db, 3, 1e-2f, 100, 3);
            FD_REPORT("linear db", r);
        }
        free(c.x), free(c.w), free(c.b), free(c.y), free(c.wy), free(dx), free(dw), free(db);
    }
}

/* ---------------- layernorm ---------------- */

TEST(nn_layernorm_naive_vs_fast) {
    static const int sh[][2] = {{1, 1}, {1, 2}, {7, 13}, {3, 97}, {65, 33}, {9, 600}}; /* 600: 3 column blocks */
    for (size_t s = 0; s < 6; s++) {
        int R = sh[s][0], C = sh[s][1];
        float *x = randn((size_t)R * C, 2, 1), *w = randn(C, 1, 2), *b = randn(C, 1, 3), *dy = randn((size_t)R * C, 1, 4);
        for (size_t i = 0; i < (size_t)R * C; i++) x[i] += 3.0f; /* offset mean */
        float *y1 = zeros((size_t)R * C), *y2 = zeros((size_t)R * C), *m1 = zeros(R), *m2 = zeros(R), *s1 = zeros(R),
              *s2 = zeros(R);
        layernorm_forward(y1, m1, s1, x, w, b, R, C);
        layernorm_forward_naive(y2, m2, s2, x, w, b, R, C);
        EXPECT_CLOSE("layernorm fwd", y1, y2, (size_t)R * C, 1e-4, 1e-5);
        EXPECT_CLOSE("layernorm rstd", s1, s2, R, 1e-4, 1e-4);
        float *dx1 = zeros((size_t)R * C), *dx2 = zeros((size_t)R * C), *dw1 = zeros(C), *dw2 = zeros(C),
              *db1 = zeros(C), *db2 = zeros(C);
        layernorm_backward(dx1, dw1, db1, dy, x, w, m1, s1, R, C);
        layernorm_backward_naive(dx2, dw2, db2, dy, x, w, m1, s1, R, C);
        EXPECT_CLOSE("layernorm dx", dx1, dx2, (size_t)R * C, 1e-4, 1e-4);
        EXPECT_CLOSE("layernorm dw", dw1, dw2, C, 1e-4, 1e-4);
        EXPECT_CLOSE("layernorm db", db1, db2, C, 1e-4, 1e-4);
        free(x), free(w), free(b), free(dy), free(y1), free(y2), free(m1), free(m2), free(s1), free(s2);
        free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    }
}

/* The fast kernels normalise LN_ROWS rows side by side; every row must come
 * out bit-identical to the row alone (R = 1 calls), block and tail rows alike. */
TEST(nn_layernorm_rows_side_by_side_bitwise) {
    static const int sh[][2] = {{37, 129}, {64, 128}, {9, 7}};
    for (size_t s = 0; s < 3; s++) {
        int R = sh[s][0], C = sh[s][1];
        size_t n = (size_t)R * C;
        float *x = randn(n, 2, 11), *w = randn(C, 1, 12), *b = randn(C, 1, 13), *dy = randn(n, 1, 14);
        for (size_t i = 0; i < n; i++) x[i] = x[i] * (1.0f + (float)(i % 5)) + 3.0f;
        float *y1 = zeros(n), *y2 = zeros(n), *m1 = zeros(R), *m2 = zeros(R), *s1 = zeros(R), *s2 = zeros(R);
        float *dx1 = randn(n, 1, 15), *dx2 = zeros(n);
        memcpy(dx2, dx1, n * sizeof(float));
        layernorm_forward(y1, m1, s1, x, w, b, R, C);
        layernorm_backward(dx1, NULL, NULL, dy, x, w, m1, s1, R, C);
        for (int r = 0; r < R; r++) {
            size_t o = (size_t)r * C;
            layernorm_forward(y2 + o, m2 + r, s2 + r, x + o, w, b, 1, C);
            layernorm_backward(dx2 + o, NULL, NULL, dy + o, x + o, w, m2 + r, s2 + r, 1, C);
        }
        EXPECT(!memcmp(y1, y2, n * sizeof(float)) && !memcmp(m1, m2, R * sizeof(float)) &&
                   !memcmp(s1, s2, R * sizeof(float)),
               "layernorm forward %dx%d: rows side by side differ from rows alone", R, C);
        EXPECT(!memcmp(dx1, dx2, n * sizeof(float)), "layernorm dx %dx%d: rows side by side differ from rows alone",
               R, C);
        free(x), free(w), free(b), free(dy), free(y1), free(y2), free(m1), free(m2), free(s1), free(s2);
        free(dx1), free(dx2);
    }
}

typedef struct {
    int R, C;
    float *x, *w, *b, *y, *m, *s, *wy;
} LnCtx;

static double ln_loss(void *p) {
    LnCtx *c = p;
    layernorm_forward(c->y, c->m, c->s, c->x, c->w, c->b, c->R, c->C);
    return gradcheck_dot(c->y, c->wy, (size_t)c->R * c->C);
}

TEST(nn_layernorm_fd) {
    LnCtx c = {4, 9, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    c.x = randn(36, 1, 1), c.w = randn(9, 1, 2), c.b = randn(9, 1, 3), c.y = zeros(36), c.m = zeros(4), c.s = zeros(4);
    c.wy = randn(36, 1, 4);
    ln_loss(&c);
    float *dx = zeros(36), *dw = zeros(9), *db = zeros(9);
    layernorm_backward(dx, dw, db, c.wy, c.x, c.w, c.m, c.s, 4, 9);
    GradcheckResult r = gradcheck_tensor(ln_loss, &c, c.x, dx, 36, 1e-2f, 100, 1);
    FD_REPORT("layernorm dx", r);
    r = gradcheck_tensor(ln_loss, &c, c.w, dw, 9, 1e-2f, 100, 2);
    FD_REPORT("layernorm dw", r);
    r = gradcheck_tensor(ln_loss, &c, c.b, db, 9, 1e-2f, 100, 3);
    FD_REPORT("layernorm db", r);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.m), free(c.s), free(c.wy), free(dx), free(dw), free(db);
}

/* ---------------- attention ---------------- */

TEST(nn_attention_naive_vs_fast) {
    static const int sh[][4] = {{1, 1, 4, 1}, {2, 7, 12, 3}, {3, 5, 10, 5}, {1, 13, 8, 2}, {2, 2, 3, 1}};
    for (size_t s = 0; s < 5; s++)
        for (int causal = 0; causal < 2; causal++) {
            int B = sh[s][0], N = sh[s][1], C = sh[s][2], NH = sh[s][3];
            size_t nq = (size_t)B * N * 3 * C, ny = (size_t)B * N * C, na = (size_t)B * NH * N * N;
            float *qkv = randn(nq, 1, 1 + s), *dy = randn(ny, 1, 2 + s);
            float *y1 = zeros(ny), *y2 = zeros(ny), *a1 = zeros(na), *a2 = zeros(na);
            attention_forward(y1, a1, qkv, B, N, C, NH, causal);
            attention_forward_naive(y2, a2, qkv, B, N, C, NH, causal);
            EXPECT_CLOSE("attention fwd", y1, y2, ny, 1e-5, 1e-5);
            EXPECT_CLOSE("attention probs", a1, a2, na, 1e-6, 1e-5);
            float *d1 = randn(nq, 1, 9), *d2 = randn(nq, 1, 9), *sc = zeros(na);
            attention_backward(d1, sc, dy, qkv, a1, B, N, C, NH, causal);
            attention_backward_naive(d2, sc, dy, qkv, a1, B, N, C, NH, causal);
            EXPECT_CLOSE("attention dqkv", d1, d2, nq, 1e-5, 1e-5);
            free(qkv), free(dy), free(y1), free(y2), free(a1), free(a2), free(d1), free(d2), free(sc);
        }
}

/* The fused bias passes against their unfused composition: residual
 * (a + bias) + b exactly, and the activation of pre + bias within libmvec's
 * ulps, pre left holding the biased values; rows of odd width, aliased out. */
TEST(nn_bias_fused_forward_passes) {
    int R = 9, C = 37;
    size_t n = (size_t)R * C;
    float *a = randn(n, 1, 60), *b = randn(n, 1, 61), *bias = randn(C, 1, 62), *want = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) want[i] = (a[i] + bias[i % C]) + b[i];
    residual_bias_forward(a, a, bias, b, R, C); /* out aliases a */
    EXPECT(!memcmp(a, want, n * sizeof(float)), "residual_bias_forward differs from (a + bias) + b");
    for (int k = 0; k < 2; k++) {
        float *pre = randn(n, 2, 63 + k), *pre2 = malloc(n * sizeof(float)), *out = zeros(n), *out2 = zeros(n);
        for (size_t i = 0; i < n; i++) pre2[i] = pre[i] + bias[i % C];
        if (k == 0) quickgelu_bias_forward(out, pre, bias, R, C), quickgelu_forward(out2, pre2, n);
        if (k == 1) gelu_bias_forward(out, pre, bias, R, C), gelu_forward(out2, pre2, n);
        EXPECT(!memcmp(pre, pre2, n * sizeof(float)), "bias-activation pass: pre does not hold pre + bias");
        EXPECT_CLOSE(k ? "gelu_bias_forward" : "quickgelu_bias_forward", out, out2, n, 1e-6, 1e-6);
        free(pre), free(pre2), free(out), free(out2);
    }
    free(a), free(b), free(bias), free(want);
}

/* bias_backward: every column summed in row order (as the naive loop), bit
 * for bit, for widths below, at and beyond its block cap, at 1-3 threads. */
TEST(nn_bias_backward_blocks_and_threads) {
    static const int ocs[] = {1, 17, 256, 300, 700};
    int saved = omp_get_max_threads();
    for (int i = 0; i < 5; i++)
        for (int nt = 1; nt <= 3; nt++) {
            int R = 70, OC = ocs[i];
            float *d = randn((size_t)R * OC, 1, 40 + i), *got = randn(OC, 1, 50), *want = malloc(OC * sizeof(float));
            memcpy(want, got, OC * sizeof(float));
            for (int o = 0; o < OC; o++) {
                float acc = 0.0f;
                for (int r = 0; r < R; r++) acc += d[(size_t)r * OC + o];
                want[o] += acc;
            }
            omp_set_num_threads(nt);
            bias_backward(got, d, R, OC);
            omp_set_num_threads(saved);
            EXPECT(!memcmp(got, want, OC * sizeof(float)), "bias_backward OC=%d threads=%d differs", OC, nt);
            free(d), free(got), free(want);
        }
}

/* The _set backward kernels write what the adding ones add to a zeroed
 * output, bit for bit, without reading the output (it starts as NaN). */
static float *nans(size_t n) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = NAN;
    return x;
}

static int same_bits_as_add(const char *what, const float *set, const float *add, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(set[i] == add[i])) {
            printf("    %s: entry %zu is %g written, %g added\n", what, i, set[i], add[i]);
            return 0;
        }
    return 1;
}

TEST(nn_backward_set_equals_add_on_zeros) {
    int B = 3, N = 7, C = 12, NH = 3, R = B * N, OC = 29;
    size_t nq = (size_t)B * N * 3 * C, ny = (size_t)B * N * C, na = (size_t)B * NH * N * N;
    float *qkv = randn(nq, 1, 31), *dy = randn(ny, 1, 32), *y = zeros(ny), *att = zeros(na), *sc = zeros(na);
    attention_forward(y, att, qkv, B, N, C, NH, 1);
    float *dset = nans(nq), *dadd = zeros(nq);
    attention_backward_set(dset, sc, dy, qkv, att, B, N, C, NH, 1);
    attention_backward(dadd, sc, dy, qkv, att, B, N, C, NH, 1);
    EXPECT(same_bits_as_add("attention dqkv", dset, dadd, nq), "attention_backward_set differs");
    float *x = randn((size_t)R * C, 1, 33), *w = randn((size_t)OC * C, 1, 34), *g = randn((size_t)R * OC, 1, 35);
    float *xset = nans((size_t)R * C), *xadd = zeros((size_t)R * C), *dw1 = zeros((size_t)OC * C);
    float *dw2 = zeros((size_t)OC * C), *db1 = zeros(OC), *db2 = zeros(OC);
    linear_backward_set(xset, dw1, db1, g, x, w, R, C, OC);
    linear_backward(xadd, dw2, db2, g, x, w, R, C, OC);
    EXPECT(same_bits_as_add("linear dinp", xset, xadd, (size_t)R * C), "linear_backward_set dinp differs");
    EXPECT(same_bits_as_add("linear dweight", dw1, dw2, (size_t)OC * C), "linear_backward_set dweight differs");
    EXPECT(same_bits_as_add("linear dbias", db1, db2, OC), "linear_backward_set dbias differs");
    size_t n = 5000; /* more than one 4096 block */
    float *a = randn(n, 2, 36), *da = randn(n, 1, 37), *gset = nans(n), *gadd = zeros(n);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < n; i++) gset[i] = NAN, gadd[i] = 0.0f;
        if (k == 0) quickgelu_backward_set(gset, da, a, n), quickgelu_backward(gadd, da, a, n);
        if (k == 1) gelu_backward_set(gset, da, a, n), gelu_backward(gadd, da, a, n);
        EXPECT(same_bits_as_add(k ? "gelu" : "quickgelu", gset, gadd, n), "gelu backward set differs");
    }
    free(qkv), free(dy), free(y), free(att), free(sc), free(dset), free(dadd), free(x), free(w), free(g);
    free(xset), free(xadd), free(dw1), free(dw2), free(db1), free(db2), free(a), free(da), free(gset), free(gadd);
}

typedef struct {
    int B, N, C, NH, causal;
    float *qkv, *y, *att, *wy;
} AttCtx;

static double att_loss(void *p) {
    AttCtx *c = p;
    attention_forward(c->y, c->att, c->qkv, c->B, c->N, c->C, c->NH, c->causal);
    return gradcheck_dot(c->y, c->wy, (size_t)c->B * c->N * c->C);
}

TEST(nn_attention_fd) {
    for (int causal = 0; causal < 2; causal++) {
        AttCtx c = {2, 5, 6, 2, causal, NULL, NULL, NULL, NULL};
        size_t nq = 2 * 5 * 18, ny = 2 * 5 * 6, na = 2 * 2 * 25;
        c.qkv = randn(nq, 1, 1), c.y = zeros(ny), c.att = zeros(na), c.wy = randn(ny, 1, 2);
        att_loss(&c);
        float *dq = zeros(nq), *sc = zeros(na);
        attention_backward(dq, sc, c.wy, c.qkv, c.att, 2, 5, 6, 2, causal);
        GradcheckResult r = gradcheck_tensor(att_loss, &c, c.qkv, dq, nq, 1e-2f, 1000, 1);
        FD_REPORT(causal ? "attention dqkv (causal)" : "attention dqkv", r);
        free(c.qkv), free(c.y), free(c.att), free(c.wy), free(dq), free(sc);
    }
}

TEST(nn_attention_causal_ignores_future) {
    int B = 1, N = 6, C = 8, NH = 2;
    size_t nq = (size_t)N * 3 * C;
    float *qkv = randn(nq, 1, 3), *y1 = zeros(N * C), *y2 = zeros(N * C), *att = zeros(NH * N * N);
    attention_forward(y1, att, qkv, B, N, C, NH, 1);
    for (int i = 3 * C * 4; i < (int)nq; i++) qkv[i] += 5.0f; /* change tokens 4 and 5 */
    attention_forward(y2, att, qkv, B, N, C, NH, 1);
    for (int i = 0; i < 4 * C; i++) EXPECT(y1[i] == y2[i], "output %d of an earlier token changed", i);
    int changed = 0;
    for (int i = 4 * C; i < N * C; i++) changed |= y1[i] != y2[i];
    EXPECT(changed, "later tokens did not change");
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) EXPECT(att[(h * N + i) * N + j] == 0.0f, "masked prob not zero");
    free(qkv), free(y1), free(y2), free(att);
}

TEST(nn_attention_deterministic_across_threads) {
    int B = 4, N = 17, C = 128, NH = 4; /* large enough for the parallel path */
    size_t nq = (size_t)B * N * 3 * C, ny = (size_t)B * N * C, na = (size_t)B * NH * N * N;
    float *qkv = randn(nq, 1, 4), *dy = randn(ny, 1, 5), *y = zeros(ny), *att = zeros(na), *sc = zeros(na);
    float *d1 = zeros(nq), *d2 = zeros(nq), *dw1 = zeros(C), *dw2 = zeros(C), *db1 = zeros(C), *db2 = zeros(C);
    float *mean = zeros(B * N), *rstd = zeros(B * N), *w = randn(C, 1, 6), *b = randn(C, 1, 7);
    int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t == 0 ? 1 : 3);
        attention_forward(y, att, qkv, B, N, C, NH, 1);
        attention_backward(t ? d2 : d1, sc, dy, qkv, att, B, N, C, NH, 1);
        layernorm_forward(y, mean, rstd, dy, w, b, B * N, C);
        layernorm_backward(NULL, t ? dw2 : dw1, t ? db2 : db1, y, dy, w, mean, rstd, B * N, C);
    }
    omp_set_num_threads(saved);
    EXPECT(!memcmp(d1, d2, nq * sizeof(float)), "attention backward differs between 1 and 3 threads");
    EXPECT(!memcmp(dw1, dw2, C * sizeof(float)) && !memcmp(db1, db2, C * sizeof(float)),
           "layernorm weight gradient differs between 1 and 3 threads");
    free(qkv), free(dy), free(y), free(att), free(sc), free(d1), free(d2), free(dw1), free(dw2), free(db1);
    free(db2), free(mean), free(rstd), free(w), free(b);
}

/* ---------------- activations ---------------- */

typedef struct {
    int gelu;
    size_t n;
    float *x, *y, *wy;
} ActCtx;

static double act_loss(void *p) {
    ActCtx *c = p;
    if (c->gelu)
        gelu_forward(c->y, c->x, c->n);
    else
        quickgelu_forward(c->y, c->x, c->n);
    return gradcheck_dot(c->y, c->wy, c->n);
}

TEST(nn_gelu_values_and_fd) {
    /* exact values: gelu(1) = Φ(1) = 0.8413447; quickgelu(1) = 1/(1+e^-1.702) */
    float one = 1.0f, y = 0;
    gelu_forward(&y, &one, 1);
    EXPECT(fabsf(y - 0.8413447f) < 1e-6f, "gelu(1) = %.8f", y);
    quickgelu_forward(&y, &one, 1);
    EXPECT(fabsf(y - 1.0f / (1.0f + expf(-1.702f))) < 1e-6f, "quickgelu(1) = %.8f", y);
    for (int g = 0; g < 2; g++) {
        ActCtx c = {g, 40, randn(40, 2, 1), zeros(40), randn(40, 1, 2)};
        float *dx = zeros(40);
        if (g)
            gelu_backward(dx, c.wy, c.x, 40);
        else
            quickgelu_backward(dx, c.wy, c.x, 40);
        GradcheckResult r = gradcheck_tensor(act_loss, &c, c.x, dx, 40, 1e-2f, 100, 1);
        FD_REPORT(g ? "gelu dx" : "quickgelu dx", r);
        free(c.x), free(c.y), free(c.wy), free(dx);
    }
}

/* ---------------- embeddings ---------------- */

typedef struct {
    int B, T, C, V;
    int32_t *tok;
    float *wte, *wpe, *y, *wy;
} EmbCtx;

static double emb_loss(void *p) {
    EmbCtx *c = p;
    embedding_forward(c->y, c->tok, c->wte, c->wpe, c->B, c->T, c->C, c->V);
    return gradcheck_dot(c->y, c->wy, (size_t)c->B * c->T * c->C);
}

TEST(nn_embedding_fd_and_naive) {
    int B = 3, T = 5, C = 7, V = 11;
    int32_t tok[15] = {1, 4, 4, 10, 0, 3, 3, 3, 2, 10, 0, 1, 9, 4, 7};
    EmbCtx c = {B, T, C, V, tok, randn(V * C, 1, 1), randn(T * C, 1, 2), zeros(B * T * C), randn(B * T * C, 1, 3)};
    float *dte = zeros(V * C), *dpe = zeros(T * C), *dte2 = zeros(V * C), *dpe2 = zeros(T * C);
    embedding_backward(dte, dpe, c.wy, tok, B, T, C, V);
    embedding_backward_naive(dte2, dpe2, c.wy, tok, B, T, C, V);
    EXPECT_CLOSE("embedding dwte fast vs naive", dte, dte2, V * C, 1e-6, 1e-6);
    EXPECT_CLOSE("embedding dwpe fast vs naive", dpe, dpe2, T * C, 1e-6, 1e-6);
    GradcheckResult r = gradcheck_tensor(emb_loss, &c, c.wte, dte, V * C, 1e-2f, 1000, 1);
    FD_REPORT("embedding dwte", r);
    r = gradcheck_tensor(emb_loss, &c, c.wpe, dpe, T * C, 1e-2f, 1000, 2);
    FD_REPORT("embedding dwpe", r);
    free(c.wte), free(c.wpe), free(c.y), free(c.wy), free(dte), free(dpe), free(dte2), free(dpe2);
}

typedef struct {
    int B, S, P, C;
    float *img, *w, *cols, *y, *wy;
} PatchCtx;

static double patch_loss(void *p) {
    PatchCtx *c = p;
    patch_embed_forward(c->y, c->cols, c->img, c->w, c->B, c->S, c->P, c->C);
    int G = c->S / c->P;
    return gradcheck_dot(c->y, c->wy, (size_t)c->B * G * G * c->C);
}

TEST(nn_patch_embed_naive_vs_fast_and_fd) {
    static const int sh[][4] = {{1, 1, 1, 1}, {2, 6, 3, 5}, {1, 10, 5, 7}, {3, 4, 2, 3}};
    for (int s = 0; s < 4; s++) {
        int B = sh[s][0], S = sh[s][1], P = sh[s][2], C = sh[s][3], G = S / P, K = 3 * P * P;
        size_t ni = (size_t)B * 3 * S * S, ny = (size_t)B * G * G * C;
        PatchCtx c = {B, S, P, C, randn(ni, 1, 1), randn((size_t)C * K, 1, 2), zeros((size_t)B * G * G * K),
                      zeros(ny), randn(ny, 1, 3)};
        float *y2 = zeros(ny);
        patch_loss(&c);
        patch_embed_forward_naive(y2, c.img, c.w, B, S, P, C);
        EXPECT_CLOSE("patch fwd", c.y, y2, ny, 1e-5, 1e-5);
        float *di = zeros(ni), *dw = zeros((size_t)C * K), *di2 = zeros(ni), *dw2 = zeros((size_t)C * K);
        patch_embed_backward(di, dw, c.wy, c.cols, c.w, B, S, P, C);
        patch_embed_backward_naive(di2, dw2, c.wy, c.img, c.w, B, S, P, C);
        EXPECT_CLOSE("patch dimages", di, di2, ni, 1e-5, 1e-5);
        EXPECT_CLOSE("patch dweight", dw, dw2, (size_t)C * K, 1e-5, 1e-5);
        if (s == 1) {
            GradcheckResult r = gradcheck_tensor(patch_loss, &c, c.w, dw, (size_t)C * K, 1e-2f, 200, 1);
            FD_REPORT("patch dweight", r);
            r = gradcheck_tensor(patch_loss, &c, c.img, di, ni, 1e-2f, 200, 2);
            FD_REPORT("patch dimages", r);
        }
        free(c.img), free(c.w), free(c.cols), free(c.y), free(c.wy), free(y2), free(di), free(dw), free(di2), free(dw2);
    }
}

typedef struct {
    int B, NP, C;
    float *patches, *cls, *pos, *y, *wy;
} ClsCtx;

static double cls_loss(void *p) {
    ClsCtx *c = p;
    classtoken_forward(c->y, c->patches, c->cls, c->pos, c->B, c->NP, c->C);
    return gradcheck_dot(c->y, c->wy, (size_t)c->B * (c->NP + 1) * c->C);
}

TEST(nn_classtoken_fd) {
    int B = 2, NP = 3, C = 5;
    ClsCtx c = {B, NP, C, randn(B * NP * C, 1, 1), randn(C, 1, 2), randn((NP + 1) * C, 1, 3),
                zeros(B * (NP + 1) * C), randn(B * (NP + 1) * C, 1, 4)};
    float *dp = zeros(B * NP * C), *dc = zeros(C), *dpos = zeros((NP + 1) * C);
    classtoken_backward(dp, dc, dpos, c.wy, B, NP, C);
    GradcheckResult r = gradcheck_tensor(cls_loss, &c, c.patches, dp, B * NP * C, 1e-2f, 100, 1);
    FD_REPORT("classtoken dpatches", r);
    r = gradcheck_tensor(cls_loss, &c, c.cls, dc, C, 1e-2f, 100, 2);
    FD_REPORT("classtoken dcls", r);
    r = gradcheck_tensor(cls_loss, &c, c.pos, dpos, (NP + 1) * C, 1e-2f, 100, 3);
    FD_REPORT("classtoken dpos", r);
    free(c.patches), free(c.cls), free(c.pos), free(c.y), free(c.wy), free(dp), free(dc), free(dpos);
}

/* ---------------- residual, l2norm, pooling ---------------- */

typedef struct {
    int R, C, kind; /* 0 residual, 1 l2norm, 2 pool */
    float *a, *b, *y, *norm, *wy;
    int32_t *pos;
} MiscCtx;

static double misc_loss(void *p) {
    MiscCtx *c = p;
    size_t n = (size_t)c->R * c->C;
    if (c->kind == 0) {
        residual_forward(c->y, c->a, c->b, n);
    } else if (c->kind == 1) {
        l2norm_forward(c->y, c->norm, c->a, c->R, c->C);
    } else {
        pool_rows_forward(c->y, c->a, c->pos, 2, c->R / 2, c->C);
        n = 2 * (size_t)c->C;
    }
    return gradcheck_dot(c->y, c->wy, n);
}

TEST(nn_residual_l2norm_pool_fd) {
    int R = 6, C = 5;
    size_t n = (size_t)R * C;
    int32_t pos[2] = {2, 0};
    MiscCtx c = {R, C, 0, randn(n, 1, 1), randn(n, 1, 2), zeros(n), zeros(R), randn(n, 1, 3), pos};
    float *da = zeros(n), *db = zeros(n);
    residual_backward(da, db, c.wy, n);
    GradcheckResult r = gradcheck_tensor(misc_loss, &c, c.a, da, n, 1e-2f, 100, 1);
    FD_REPORT("residual da", r);
    r = gradcheck_tensor(misc_loss, &c, c.b, db, n, 1e-2f, 100, 2);
    FD_REPORT("residual db", r);

    c.kind = 1;
    memset(da, 0, n * sizeof(float));
    misc_loss(&c);
    for (int i = 0; i < R; i++) {
        double s = 0;
        for (int j = 0; j < C; j++) s += (double)c.y[i * C + j] * c.y[i * C + j];
        EXPECT(fabs(s - 1.0) < 1e-6, "row %d norm² %g", i, s);
    }
    l2norm_backward(da, c.wy, c.y, c.norm, R, C);
    r = gradcheck_tensor(misc_loss, &c, c.a, da, n, 1e-3f, 100, 3);
    FD_REPORT("l2norm dx", r);

    c.kind = 2;
    memset(da, 0, n * sizeof(float));
    misc_loss(&c);
    EXPECT(c.y[0] == c.a[2 * C] && c.y[C] == c.a[3 * C], "pool gathered the wrong rows");
    pool_rows_backward(da, c.wy, pos, 2, R / 2, C);
    r = gradcheck_tensor(misc_loss, &c, c.a, da, n, 1e-2f, 100, 4);
    FD_REPORT("pool rows dx", r);

    int32_t tok[8] = {5, 9, 3, 9, 0, 0, 0, 0};
    int32_t p2[2];
    pool_argmax_positions(p2, tok, 2, 4);
    EXPECT(p2[0] == 1 && p2[1] == 0, "argmax positions %d %d (want first maximum: 1 0)", p2[0], p2[1]);
    free(c.a), free(c.b), free(c.y), free(c.norm), free(c.wy), free(da), free(db);
}

/* ---------------- PyTorch reference (tests/fixtures/nn_ref.safetensors) ---------------- */

#include "io/safetensors.h"
#include "refcheck.h"

#define REF_TOL 1e-5
#define REF_CMP(what, got, want, n, worst)                                   \
    do {                                                                     \
        double e_ = ref_rel_err((got), (want), (n));                         \
        if (e_ > (worst)) (worst) = e_;                                      \
        EXPECT(e_ <= REF_TOL, "%s: max rel error %.3e vs PyTorch", what, e_); \
    } while (0)

enum { REF_MAX = 64 };
typedef struct {
    SafeTensors *st;
    float *t[REF_MAX];
    int n;
} RefSet;

static float *ref_get(RefSet *r, const char *name) {
    CHECK(r->n < REF_MAX, "too many fixture tensors");
    float *x = ref_load(r->st, name, NULL);
    r->t[r->n++] = x;
    return x;
}

static void ref_free(RefSet *r) {
    for (int i = 0; i < r->n; i++) free(r->t[i]);
    safetensors_close(r->st);
}

TEST(nn_pytorch_reference_layers) {
    RefSet r = {0};
    EXPECT(safetensors_open(&r.st, "tests/fixtures/nn_ref.safetensors") == MODX_OK, "%s", modx_last_error());
    double worst = 0;
    float buf[4][1024];
    /* linear 7x13 -> 5 */
    {
        float *x = ref_get(&r, "linear.x"), *w = ref_get(&r, "linear.w"), *b = ref_get(&r, "linear.b");
        float *dy = ref_get(&r, "linear.dy"), *y = ref_get(&r, "linear.y"), *dx = ref_get(&r, "linear.dx");
        float *dw = ref_get(&r, "linear.dw"), *db = ref_get(&r, "linear.db");
        EXPECT(x && w && b && dy && y && dx && dw && db, "linear fixture incomplete");
        memset(buf, 0, sizeof buf);
        linear_forward(buf[0], x, w, b, 7, 13, 5);
        REF_CMP("linear y", buf[0], y, 35, worst);
        linear_backward(buf[1], buf[2], buf[3], dy, x, w, 7, 13, 5);
        REF_CMP("linear dx", buf[1], dx, 91, worst);
        REF_CMP("linear dw", buf[2], dw, 65, worst);
        REF_CMP("linear db", buf[3], db, 5, worst);
    }
    /* layernorm 6x11 */
    {
        float *x = ref_get(&r, "layernorm.x"), *w = ref_get(&r, "layernorm.w"), *b = ref_get(&r, "layernorm.b");
        float *dy = ref_get(&r, "layernorm.dy"), *y = ref_get(&r, "layernorm.y"), *dx = ref_get(&r, "layernorm.dx");
        float *dw = ref_get(&r, "layernorm.dw"), *db = ref_get(&r, "layernorm.db");
        EXPECT(x && w && b && dy && y && dx && dw && db, "layernorm fixture incomplete");
        memset(buf, 0, sizeof buf);
        float mean[6], rstd[6];
        layernorm_forward(buf[0], mean, rstd, x, w, b, 6, 11);
        REF_CMP("layernorm y", buf[0], y, 66, worst);
        layernorm_backward(buf[1], buf[2], buf[3], dy, x, w, mean, rstd, 6, 11);
        REF_CMP("layernorm dx", buf[1], dx, 66, worst);
        REF_CMP("layernorm dw", buf[2], dw, 11, worst);
        REF_CMP("layernorm db", buf[3], db, 11, worst);
    }
    /* activations and l2norm */
    for (int k = 0; k < 3; k++) {
        const char *pre = k == 0 ? "quickgelu" : k == 1 ? "gelu" : "l2norm";
        char n1[64], n2[64], n3[64], n4[64];
        snprintf(n1, 64, "%s.x", pre), snprintf(n2, 64, "%s.dy", pre), snprintf(n3, 64, "%s.y", pre);
        snprintf(n4, 64, "%s.dx", pre);
        float *x = ref_get(&r, n1), *dy = ref_get(&r, n2), *y = ref_get(&r, n3), *dx = ref_get(&r, n4);
        EXPECT(x && dy && y && dx, "%s fixture incomplete", pre);
        memset(buf, 0, sizeof buf);
        size_t n = k < 2 ? 37 : 45;
        float norm[5];
        if (k == 0) quickgelu_forward(buf[0], x, n), quickgelu_backward(buf[1], dy, x, n);
        if (k == 1) gelu_forward(buf[0], x, n), gelu_backward(buf[1], dy, x, n);
        if (k == 2) l2norm_forward(buf[0], norm, x, 5, 9), l2norm_backward(buf[1], dy, buf[0], norm, 5, 9);
        REF_CMP(n3, buf[0], y, n, worst);
        REF_CMP(n4, buf[1], dx, n, worst);
    }
    /* patch embedding B=2 S=12 P=4 C=5 */
    {
        float *img = ref_get(&r, "patch.images"), *w = ref_get(&r, "patch.w"), *dy = ref_get(&r, "patch.dy");
        float *y = ref_get(&r, "patch.y"), *dimg = ref_get(&r, "patch.dimages"), *dw = ref_get(&r, "patch.dw");
        EXPECT(img && w && dy && y && dimg && dw, "patch fixture incomplete");
        memset(buf, 0, sizeof buf);
        float cols[18 * 48];
        patch_embed_forward(buf[0], cols, img, w, 2, 12, 4, 5);
        REF_CMP("patch y", buf[0], y, 90, worst);
        patch_embed_backward(buf[1], buf[2], dy, cols, w, 2, 12, 4, 5);
        REF_CMP("patch dimages", buf[1], dimg, 864, worst);
        REF_CMP("patch dw", buf[2], dw, 240, worst);
    }
    /* torch.nn.MultiheadAttention: in_proj -> attention -> out_proj, B=2 N=5 C=12 NH=3 */
    for (int causal = 0; causal < 2; causal++) {
        const char *pre = causal ? "attn_causal" : "attn";
        const char *names[] = {"x", "y", "dy", "dx", "in_proj_weight", "in_proj_bias", "out_proj.weight",
                               "out_proj.bias", "din_proj_weight", "din_proj_bias", "dout_proj.weight",
                               "dout_proj.bias"};
        float *t[12];
        for (int i = 0; i < 12; i++) {
            char n[64];
            snprintf(n, sizeof n, "%s.%s", pre, names[i]);
            t[i] = ref_get(&r, n);
            EXPECT(t[i], "%s missing", n);
        }
        enum { B = 2, N = 5, C = 12, NH = 3, R = B * N };
        static float qkv[R * 3 * C], att[B * NH * N * N], atty[R * C], y[R * C];
        static float datty[R * C], dqkv[R * 3 * C], datt[B * NH * N * N], dx[R * C];
        static float dwi[3 * C * C], dbi[3 * C], dwo[C * C], dbo[C];
        memset(datty, 0, sizeof datty), memset(dqkv, 0, sizeof dqkv), memset(dx, 0, sizeof dx);
        memset(dwi, 0, sizeof dwi), memset(dbi, 0, sizeof dbi), memset(dwo, 0, sizeof dwo), memset(dbo, 0, sizeof dbo);
        linear_forward(qkv, t[0], t[4], t[5], R, C, 3 * C);
        attention_forward(atty, att, qkv, B, N, C, NH, causal);
        linear_forward(y, atty, t[6], t[7], R, C, C);
        REF_CMP(causal ? "causal attention y" : "attention y", y, t[1], R * C, worst);
        linear_backward(datty, dwo, dbo, t[2], atty, t[6], R, C, C);
        attention_backward(dqkv, datt, datty, qkv, att, B, N, C, NH, causal);
        linear_backward(dx, dwi, dbi, dqkv, t[0], t[4], R, C, 3 * C);
        REF_CMP("attention dx", dx, t[3], R * C, worst);
        REF_CMP("attention d in_proj_weight", dwi, t[8], 3 * C * C, worst);
        REF_CMP("attention d in_proj_bias", dbi, t[9], 3 * C, worst);
        REF_CMP("attention d out_proj.weight", dwo, t[10], C * C, worst);
        REF_CMP("attention d out_proj.bias", dbo, t[11], C, worst);
    }
    printf("    worst relative error vs PyTorch over all layers: %.3e\n", worst);
    ref_free(&r);
}
