#include "eval/linprobe.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

#define LBFGS_MEMORY 10

LinProbeOptions linprobe_default_options(void) {
    LinProbeOptions o = {1e-4, 500, 1e-6};
    return o;
}

double linprobe_loss(const double *theta, const double *x, const int32_t *y, int N, int E, int K, double l2,
                     double *grad, double *z) {
    const double *W = theta, *b = theta + (size_t)K * E;
    /* z = x W^T + b */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, K, E, 1.0, x, E, W, E, 0.0, z, K);
    double loss = 0;
    for (int i = 0; i < N; i++) {
        double *zi = z + (size_t)i * K, mx = -INFINITY, se = 0;
        for (int k = 0; k < K; k++) {
            zi[k] += b[k];
            if (zi[k] > mx) mx = zi[k];
        }
        for (int k = 0; k < K; k++) se += exp(zi[k] - mx);
        loss += mx + log(se) - zi[y[i]];
        if (grad) /* zi becomes (softmax - onehot) / N */
            for (int k = 0; k < K; k++) zi[k] = (exp(zi[k] - mx) / se - (k == y[i])) / N;
    }
    loss /= N;
    double w2 = 0;
    for (size_t k = 0; k < (size_t)K * E; k++) w2 += W[k] * W[k];
    loss += 0.5 * l2 * w2;
    if (grad) {
        double *gW = grad, *gb = grad + (size_t)K * E;
        for (size_t k = 0; k < (size_t)K * E; k++) gW[k] = l2 * W[k];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, E, N, 1.0, z, K, x, E, 1.0, gW, E);
        for (int k = 0; k < K; k++) gb[k] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < K; k++) gb[k] += z[(size_t)i * K + k];
    }
    return loss;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t k = 0; k < n; k++) s += a[k] * b[k];
    return s;
}

static double max_abs(const double *a, size_t n) {
    double m = 0;
    for (size_t k = 0; k < n; k++) m = fabs(a[k]) > m ? fabs(a[k]) : m;
    return m;
}

static ModxStatus check_xy(const char *what, const float *x, int N, int E, const int32_t *y, int K) {
    if (N <= 0 || E <= 0 || K <= 0)
        return modx_fail(MODX_ERR_INVALID, "linear probe %s: expected positive sizes, got %d samples, width %d, %d classes",
                         what, N, E, K);
    size_t n;
    if (!size_mul((size_t)N, (size_t)E, &n)) return modx_fail(MODX_ERR_INVALID, "linear probe %s: size overflow", what);
    for (int i = 0; i < N; i++)
        if (y[i] < 0 || y[i] >= K)
            return modx_fail(MODX_ERR_INVALID, "linear probe %s: sample %d has label %d, expected [0, %d)", what, i,
                             (int)y[i], K);
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k])) return modx_fail(MODX_ERR_INVALID, "linear probe %s: feature value %zu is not finite", what, k);
    return MODX_OK;
}

ModxStatus linprobe_train(LinProbe *out, const float *x, int N, int E, const int32_t *y, int K,
                          const LinProbeOptions *opt) {
    memset(out, 0, sizeof *out);
    MODX_TRY(check_xy("training set", x, N, E, y, K));
    if (!(opt->l2 >= 0) || opt->max_iter <= 0 || !(opt->tol >= 0))
        return modx_fail(MODX_ERR_INVALID, "linear probe: options l2 %g (>= 0), max_iter %d (> 0), tol %g (>= 0)", opt->l2,
                         opt->max_iter, opt->tol);
    size_t P = (size_t)K * ((size_t)E + 1), nx = (size_t)N * E;
    ModxStatus st = MODX_OK;
    double *xd = modx_calloc(nx, sizeof *xd, "linear probe features");
    double *z = modx_calloc((size_t)N * K, sizeof *z, "linear probe logits");
    /* theta, gradient, direction, trial point, trial gradient, then the s/y history */
    double *buf = modx_calloc(P * (5 + 2 * LBFGS_MEMORY), sizeof *buf, "linear probe state");
    if (!xd || !z || !buf) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    for (size_t k = 0; k < nx; k++) xd[k] = x[k];
    double *th = buf, *g = th + P, *d = g + P, *th2 = d + P, *g2 = th2 + P, *S = g2 + P, *Y = S + P * LBFGS_MEMORY;
    double rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
    int nhist = 0, head = 0, it = 0;
    double f = linprobe_loss(th, xd, y, N, E, K, opt->l2, g, z);
    for (; it < opt->max_iter && max_abs(g, P) >= opt->tol; it++) {
        /* two-loop recursion: d = -H g */
        for (size_t k = 0; k < P; k++) d[k] = -g[k];
        for (int m = 0; m < nhist; m++) {
            int j = (head - 1 - m + LBFGS_MEMORY) % LBFGS_MEMORY;
            alpha[j] = rho[j] * dot(S + j * P, d, P);
            for (size_t k = 0; k < P; k++) d[k] -= alpha[j] * Y[j * P + k];
        }
        if (nhist) {
            int j = (head - 1 + LBFGS_MEMORY) % LBFGS_MEMORY;
            double gamma = dot(S + j * P, Y + j * P, P) / dot(Y + j * P, Y + j * P, P);
            for (size_t k = 0; k < P; k++) d[k] *= gamma;
        } else {
            double gn = sqrt(dot(g, g, P));
            for (size_t k = 0; k < P; k++) d[k] /= gn > 1 ? gn : 1;
        }
        for (int m = nhist - 1; m >= 0; m--) {
            int j = (head - 1 - m + LBFGS_MEMORY) % LBFGS_MEMORY;
            double beta = rho[j] * dot(Y + j * P, d, P);
            for (size_t k = 0; k < P; k++) d[k] += (alpha[j] - beta) * S[j * P + k];
        }
        double slope = dot(g, d, P);
        if (!(slope < 0)) { /* not a descent direction: restart from steepest descent */
            nhist = 0;
            for (size_t k = 0; k < P; k++) d[k] = -g[k];
            slope = -dot(g, g, P);
        }
        double step = 1, f2 = f;
        int accepted = 0;
        for (int ls = 0; ls < 40; ls++, step *= 0.5) {
            for (size_t k = 0; k < P; k++) th2[k] = th[k] + step * d[k];
            f2 = linprobe_loss(th2, xd, y, N, E, K, opt->l2, g2, z);
            if (!isfinite(f2)) continue;
            if (f2 <= f + 1e-4 * step * slope) {
                accepted = 1;
                break;
            }
        }
        if (!isfinite(f2) && !accepted) {
            st = modx_fail(MODX_ERR_NUMERIC, "linear probe: loss not finite at iteration %d", it);
            goto fail;
        }
        if (!accepted) break; /* no decrease possible at machine precision */
        double *s = S + head * P, *yv = Y + head * P;
        for (size_t k = 0; k < P; k++) {
            s[k] = th2[k] - th[k];
            yv[k] = g2[k] - g[k];
        }
        double sy = dot(s, yv, P);
        if (sy > 1e-12 * sqrt(dot(s, s, P) * dot(yv, yv, P))) {
            rho[head] = 1 / sy;
            head = (head + 1) % LBFGS_MEMORY;
            if (nhist < LBFGS_MEMORY) nhist++;
        }
        memcpy(th, th2, sizeof *th * P);
        memcpy(g, g2, sizeof *g * P);
        f = f2;
    }
    out->W = malloc(sizeof *out->W * (size_t)K * E);
    out->b = malloc(sizeof *out->b * (size_t)K);
    if (!out->W || !out->b) {
        linprobe_free(out);
        st = modx_fail(MODX_ERR_NOMEM, "linear probe: out of memory for %d x %d weights", K, E);
        goto fail;
    }
    memcpy(out->W, th, sizeof *th * (size_t)K * E);
    memcpy(out->b, th + (size_t)K * E, sizeof *th * (size_t)K);
    out->K = K;
    out->E = E;
    out->iters = it;
    out->loss = f;
    out->grad_max = max_abs(g, P);
fail:
    free(xd);
    free(z);
    free(buf);
    return st;
}

ModxStatus linprobe_accuracy(double *acc, const LinProbe *p, const float *x, int N, const int32_t *y, int32_t *pred) {
    MODX_TRY(check_xy("evaluation set", x, N, p->E, y, p->K));
    long correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : correct)
    for (int i = 0; i < N; i++) {
        int best = 0;
        double bz = -INFINITY;
        for (int k = 0; k < p->K; k++) {
            double z = p->b[k];
            for (int e = 0; e < p->E; e++) z += p->W[(size_t)k * p->E + e] * x[(size_t)i * p->E + e];
            if (z > bz) {
                bz = z;
                best = k;
            }
        }
        if (pred) pred[i] = best;
        correct += best == y[i];
    }
    *acc = 100.0 * correct / N;
    return MODX_OK;
}

void linprobe_free(LinProbe *p) {
    free(p->W);
    free(p->b);
    p->W = p->b = NULL;
}
