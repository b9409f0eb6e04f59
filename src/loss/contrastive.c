#include "loss/contrastive.h"
#include "loss/rowmath.h"

#include "core/gemm.h"
#include <math.h>
#include <stdlib.h>

#include "core/error.h"

size_t contrastive_scratch_floats(int B) {
    CHECK(B >= 1, "batch %d", B);
    return (size_t)B * (size_t)B + 3 * (size_t)B;
}



float contrastive_forward_backward(float *dV, float *dT, float *dlogit_scale, float *scratch,
                                   const float *V, const float *T, float logit_scale, int B, int E) {
    CHECK(B >= 1 && E >= 1, "contrastive: B %d E %d", B, E);
    const size_t BB = (size_t)B * (size_t)B;
    float *logits = scratch;     /* (B, B), later overwritten by G */
    float *diag = scratch + BB;  /* (B) logits[i,i] */
    float *row_r = diag + B;     /* (B) logsumexp(row i) − logits[i,i]: row i's CE term */
    float *col_r = row_r + B;    /* (B) logsumexp(column j) − logits[j,j] */
    const float s = expf(logit_scale);

    /* logits = s · V · Tᵀ */
    gemm_f32(0, 1, B, B, E, s, V, E, T, E, 0.0f, logits, B);

    /* The CE terms are kept relative to the diagonal logit: when the loss is
     * small (a trained model at s = 100) logsumexp ≈ diagonal ≈ 100, and
     * storing the difference keeps its relative precision in float. */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        const double d = logits[(size_t)i * B + i];
        diag[i] = (float)d;
        row_r[i] = (float)(row_lse_strided(logits + (size_t)i * B, B, 1, 1.0) - d);
        col_r[i] = (float)(row_lse_strided(logits + i, B, (size_t)B, 1.0) - d);
    }
    double loss_sum = 0.0;
    for (int i = 0; i < B; i++) loss_sum += (double)row_r[i] + (double)col_r[i];
    const float loss = (float)(0.5 * loss_sum / B);
    if (!dV && !dT && !dlogit_scale) return loss;

    /* G[i,j] = (p_row + p_col − 2δ)/(2B), written over logits, with
     * log p_row[i][j] = (x − diag_i) − row_r_i, log p_col[j][i] = (x − diag_j) − col_r_j.
     * Row i's share of Σ G∘logits then replaces row_r[i] (only row i reads it),
     * and the rows are summed serially: the result does not depend on the
     * thread count. */
    const double inv2b = 0.5 / B;
    float *G = logits;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        float *gi = G + (size_t)i * B;
        const double di = diag[i], ri = row_r[i];
        double part = 0.0;
        for (int j = 0; j < B; j++) {
            const double x = gi[j];
            double g = exp((x - di) - ri) + exp((x - (double)diag[j]) - (double)col_r[j]);
            if (i == j) g = expm1(-ri) + expm1(-(double)col_r[j]); /* p − 1 without cancellation */
            g *= inv2b;
            part += g * x;
            gi[j] = (float)g;
        }
        row_r[i] = (float)part;
    }
    if (dlogit_scale) {
        double dls = 0.0;
        for (int i = 0; i < B; i++) dls += row_r[i];
        *dlogit_scale += (float)dls;
    }
    /* dV += s·G·T, dT += s·Gᵀ·V */
    if (dV) gemm_f32(0, 0, B, E, B, s, G, B, T, E, 1.0f, dV, E);
    if (dT) gemm_f32(1, 0, B, E, B, s, G, B, V, E, 1.0f, dT, E);
    return loss;
}

double contrastive_forward_backward_naive(float *dV, float *dT, float *dlogit_scale,
                                         const float *V, const float *T, float logit_scale, int B, int E) {
    CHECK(B >= 1 && E >= 1, "contrastive: B %d E %d", B, E);
    const double s = exp((double)logit_scale);
    double *row_lse = malloc(2 * (size_t)B * sizeof *row_lse);
    CHECK(row_lse != NULL, "contrastive naive: out of memory for B %d", B);
    double *col_lse = row_lse + B;
#define LOGIT(i, j) (s * row_dot_f64(V + (size_t)(i) * E, T + (size_t)(j) * E, E))
    for (int i = 0; i < B; i++) {
        double mr = -INFINITY, mc = -INFINITY;
        for (int j = 0; j < B; j++) {
            mr = fmax(mr, LOGIT(i, j));
            mc = fmax(mc, LOGIT(j, i));
        }
        double sr = 0.0, sc = 0.0;
        for (int j = 0; j < B; j++) {
            sr += exp(LOGIT(i, j) - mr);
            sc += exp(LOGIT(j, i) - mc);
        }
        row_lse[i] = mr + log(sr);
        col_lse[i] = mc + log(sc);
    }
    double loss = 0.0;
    for (int i = 0; i < B; i++) loss += row_lse[i] + col_lse[i] - 2.0 * LOGIT(i, i);
    loss *= 0.5 / B;
    double dls = 0.0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const double x = LOGIT(i, j);
            const double g = (exp(x - row_lse[i]) + exp(x - col_lse[j]) - (i == j ? 2.0 : 0.0)) * (0.5 / B);
            dls += g * x;
            for (int k = 0; k < E; k++) {
                if (dV) dV[(size_t)i * E + k] += (float)(s * g * T[(size_t)j * E + k]);
                if (dT) dT[(size_t)j * E + k] += (float)(s * g * V[(size_t)i * E + k]);
            }
        }
#undef LOGIT
    if (dlogit_scale) *dlogit_scale += (float)dls;
    free(row_lse);
    return loss;
}
