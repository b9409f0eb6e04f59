#include "loss/lwf.h"
#include "loss/rowmath.h"

#include "core/gemm.h"
#include <math.h>
#include <stdlib.h>

#include "core/error.h"

size_t lwf_scratch_floats(int B) {
    CHECK(B >= 1, "batch %d", B);
    return 2 * (size_t)B * (size_t)B + 7 * (size_t)B;
}


/* H(softmax(q/τ), softmax(x/τ)) = lse(x/τ) − Σ softmax(q/τ)·x/τ, given both lse. */
static double soft_ce_strided(const float *x, const float *q, int n, size_t stride, double inv_tau, double lse_x,
                              double lse_q) {
    double dot = 0.0;
    for (int j = 0; j < n; j++)
        dot += exp((double)q[(size_t)j * stride] * inv_tau - lse_q) * ((double)x[(size_t)j * stride] * inv_tau);
    return lse_x - dot;
}

float lwf_forward_backward(float *dV, float *dT, float *dlogit_scale, float *scratch, const float *V, const float *T,
                           const float *V_old, const float *T_old, float logit_scale, float logit_scale_old, float tau,
                           float weight, int B, int E) {
    CHECK(B >= 1 && E >= 1, "lwf: B %d E %d", B, E);
    CHECK(tau > 0.0f, "lwf: temperature %g must be > 0", tau);
    const size_t BB = (size_t)B * (size_t)B;
    float *Z = scratch;       /* (B, B) s·V·Tᵀ, later the gradient G */
    float *Zo = Z + BB;       /* (B, B) s°·V°·T°ᵀ */
    float *pmax = Zo + BB;    /* (B) largest entry of Z's column j */
    float *qmax = pmax + B;   /* (B) of Zo's column j */
    float *pcol = qmax + B;   /* (B) logsumexp of Z's column j / τ, minus pmax/τ */
    float *qcol = pcol + B;   /* (B) the same for Zo */
    float *hcol = qcol + B;   /* (B) soft CE of column j */
    float *hrow = hcol + B;   /* (B) soft CE of row i */
    float *drow = hrow + B;   /* (B) row i's share of Σ G∘Z */
    const double inv_tau = 1.0 / tau;
    const float s = expf(logit_scale), so = expf(logit_scale_old);

    gemm_f32(0, 1, B, B, E, s, V, E, T, E, 0.0f, Z, B);
    gemm_f32(0, 1, B, B, E, so, V_old, E, T_old, E, 0.0f, Zo, B);

    /* Columns (text→image rows) first: the row pass overwrites Z with G.
     * Each column keeps its max and its logsumexp relative to it, so the
     * row pass can form the column softmax without float rounding of a large
     * logsumexp (p − q is tiny when both are nearly one-hot, at s = 100). */
#pragma omp parallel for schedule(static)
    for (int j = 0; j < B; j++) {
        pmax[j] = row_max_strided(Z + j, B, (size_t)B);
        qmax[j] = row_max_strided(Zo + j, B, (size_t)B);
        const double rp = row_lse_rel_strided(Z + j, B, (size_t)B, inv_tau, pmax[j]);
        const double rq = row_lse_rel_strided(Zo + j, B, (size_t)B, inv_tau, qmax[j]);
        pcol[j] = (float)rp;
        qcol[j] = (float)rq;
        hcol[j] = (float)soft_ce_strided(Z + j, Zo + j, B, (size_t)B, inv_tau, (double)pmax[j] * inv_tau + rp,
                                         (double)qmax[j] * inv_tau + rq);
    }

    const int want_grad = dV || dT || dlogit_scale;
    const double gscale = 0.5 / ((double)B * tau);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        float *zi = Z + (size_t)i * B;
        const float *oi = Zo + (size_t)i * B;
        const double lp = row_lse_strided(zi, B, 1, inv_tau), lq = row_lse_strided(oi, B, 1, inv_tau);
        hrow[i] = (float)soft_ce_strided(zi, oi, B, 1, inv_tau, lp, lq);
        if (!want_grad) continue;
        double part = 0.0;
        for (int j = 0; j < B; j++) {
            const double u = (double)zi[j] * inv_tau, uo = (double)oi[j] * inv_tau;
            const double pc = exp(((double)zi[j] - pmax[j]) * inv_tau - (double)pcol[j]);
            const double qc = exp(((double)oi[j] - qmax[j]) * inv_tau - (double)qcol[j]);
            const double g = gscale * ((exp(u - lp) - exp(uo - lq)) + (pc - qc));
            part += g * zi[j];
            zi[j] = (float)g;
        }
        drow[i] = (float)part;
    }

    double sum = 0.0;
    for (int i = 0; i < B; i++) sum += (double)hrow[i] + (double)hcol[i];
    const float loss = (float)(0.5 * sum / B);
    if (!want_grad) return loss;
    if (dlogit_scale) {
        double dls = 0.0;
        for (int i = 0; i < B; i++) dls += drow[i];
        *dlogit_scale += (float)(weight * dls);
    }
    /* dV += λ·s·G·T, dT += λ·s·Gᵀ·V */
    const float ws = weight * s;
    const float *G = Z;
    if (dV) gemm_f32(0, 0, B, E, B, ws, G, B, T, E, 1.0f, dV, E);
    if (dT) gemm_f32(1, 0, B, E, B, ws, G, B, V, E, 1.0f, dT, E);
    return loss;
}


/* Straight from the definition: both logit matrices in double, then for each
 * direction and row the softmaxes, −Σ q log p, and p − q pushed back. */
double lwf_forward_backward_naive(float *dV, float *dT, float *dlogit_scale, const float *V, const float *T,
                                  const float *V_old, const float *T_old, float logit_scale, float logit_scale_old,
                                  float tau, float weight, int B, int E) {
    CHECK(B >= 1 && E >= 1, "lwf naive: B %d E %d", B, E);
    CHECK(tau > 0.0f, "lwf naive: temperature %g must be > 0", tau);
    const size_t BB = (size_t)B * (size_t)B;
    const double s = exp((double)logit_scale), so = exp((double)logit_scale_old);
    double *buf = malloc((3 * BB + 2 * (size_t)B) * sizeof *buf);
    CHECK(buf != NULL, "lwf naive: out of memory for B %d", B);
    double *Z = buf, *Zo = buf + BB, *G = buf + 2 * BB, *x = buf + 3 * BB, *y = x + B;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            Z[(size_t)i * B + j] = s * row_dot_f64(V + (size_t)i * E, T + (size_t)j * E, E);
            Zo[(size_t)i * B + j] = so * row_dot_f64(V_old + (size_t)i * E, T_old + (size_t)j * E, E);
            G[(size_t)i * B + j] = 0.0;
        }
    double total = 0.0;
    for (int dir = 0; dir < 2; dir++)
        for (int i = 0; i < B; i++) {
            /* row i of Z (dir 0) or of Zᵀ (dir 1), divided by τ */
            double mx = -INFINITY, my = -INFINITY, sx = 0.0, sy = 0.0;
            for (int j = 0; j < B; j++) {
                const size_t at = dir == 0 ? (size_t)i * B + j : (size_t)j * B + i;
                x[j] = Z[at] / tau;
                y[j] = Zo[at] / tau;
                mx = fmax(mx, x[j]);
                my = fmax(my, y[j]);
            }
            for (int j = 0; j < B; j++) {
                sx += exp(x[j] - mx);
                sy += exp(y[j] - my);
            }
            for (int j = 0; j < B; j++) {
                const double logp = x[j] - mx - log(sx), q = exp(y[j] - my - log(sy));
                total -= q * logp;
                const size_t at = dir == 0 ? (size_t)i * B + j : (size_t)j * B + i;
                G[at] += (exp(logp) - q) * 0.5 / ((double)B * tau);
            }
        }
    const double loss = 0.5 * total / B;
    double dls = 0.0;
    for (size_t k = 0; k < BB; k++) dls += G[k] * Z[k];
    for (int i = 0; i < B; i++)
        for (int k = 0; k < E; k++) {
            double gv = 0.0, gt = 0.0;
            for (int j = 0; j < B; j++) {
                gv += G[(size_t)i * B + j] * T[(size_t)j * E + k];
                gt += G[(size_t)j * B + i] * V[(size_t)j * E + k];
            }
            if (dV) dV[(size_t)i * E + k] += (float)(weight * s * gv);
            if (dT) dT[(size_t)i * E + k] += (float)(weight * s * gt);
        }
    if (dlogit_scale) *dlogit_scale += (float)(weight * dls);
    free(buf);
    return loss;
}
