#include "loss/modx.h"
#include "loss/rowmath.h"

#include "core/gemm.h"
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "loss/contrastive.h"

float modx_alpha_for_batch(int B) {
    CHECK(B >= 1, "batch %d", B);
    return MODX_ALPHA_REF * (float)MODX_ALPHA_REF_BATCH / (float)B;
}

size_t modx_scratch_floats(int B) {
    CHECK(B >= 1, "batch %d", B);
    size_t need = 2 * (size_t)B * (size_t)B + 6 * (size_t)B;
    size_t con = contrastive_scratch_floats(B);
    return need > con ? need : con;
}


/* First index of the maximum (torch.argmax: a NaN counts as the maximum). */
static int argmax_strided(const float *x, int n, size_t stride) {
    int best = 0;
    float mx = x[0];
    if (isnan(mx)) return 0;
    for (int j = 1; j < n; j++) {
        float v = x[(size_t)j * stride];
        if (isnan(v)) return j;
        if (v > mx) {
            mx = v;
            best = j;
        }
    }
    return best;
}

float modx_kl_forward_backward(float *dV, float *dT, float *scratch, uint8_t *keep_i2t, uint8_t *keep_t2i,
                               int *n_i2t, int *n_t2i, const float *V, const float *T, const float *V_old,
                               const float *T_old, float alpha, int select, int B, int E) {
    CHECK(B >= 1 && E >= 1, "modx kl: B %d E %d", B, E);
    const size_t BB = (size_t)B * (size_t)B;
    float *P = scratch;          /* (B, B) V·Tᵀ, later the gradient G */
    float *Q = P + BB;           /* (B, B) V_old·T_oldᵀ */
    float *pcol = Q + BB;        /* (B) logsumexp of P's columns */
    float *qcol = pcol + B;      /* (B) of Q's columns */
    float *mrow = qcol + B;      /* (B) 1 = row i of Q kept */
    float *mcol = mrow + B;      /* (B) 1 = row i of Q' (column i of Q) kept */
    float *klrow = mcol + B;     /* (B) KL of row i of P (0 when excluded) */
    float *klcol = klrow + B;    /* (B) KL of row i of P' */

    gemm_f32(0, 1, B, B, E, 1.0f, V, E, T, E, 0.0f, P, B);
    gemm_f32(0, 1, B, B, E, 1.0f, V_old, E, T_old, E, 0.0f, Q, B);

    /* Rows of P' = columns of P, against the columns of Q: selection, then KL
     * with the logsumexps in double (stored as float for the gradient pass). */
#pragma omp parallel for schedule(static)
    for (int j = 0; j < B; j++) {
        mrow[j] = !select || argmax_strided(Q + (size_t)j * B, B, 1) == j ? 1.0f : 0.0f;
        mcol[j] = !select || argmax_strided(Q + j, B, (size_t)B) == j ? 1.0f : 0.0f;
        const double pl = row_lse_strided(P + j, B, (size_t)B, 1.0), ql = row_lse_strided(Q + j, B, (size_t)B, 1.0);
        pcol[j] = (float)pl;
        qcol[j] = (float)ql;
        double kl = 0.0;
        if (mcol[j] != 0.0f) {
            for (int i = 0; i < B; i++) {
                const double lq = (double)Q[(size_t)i * B + j] - ql;
                const double lp = (double)P[(size_t)i * B + j] - pl;
                kl += exp(lq) * (lq - lp);
            }
        }
        klcol[j] = (float)kl;
    }

    /* KL of the rows of P, and the gradient G = dL_kl/dP written over P row
     * by row (the column pass above has finished reading P). */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        float *pi = P + (size_t)i * B;
        const float *qi = Q + (size_t)i * B;
        const int keep_r = mrow[i] != 0.0f;
        const double pl = row_lse_strided(pi, B, 1, 1.0), ql = row_lse_strided(qi, B, 1, 1.0);
        double kl = 0.0;
        for (int j = 0; j < B; j++) {
            double g = 0.0;
            if (keep_r) {
                const double lq = (double)qi[j] - ql;
                const double lp = (double)pi[j] - pl;
                kl += exp(lq) * (lq - lp);
                g += exp(lp) - exp(lq);
            }
            if (mcol[j] != 0.0f) g += exp((double)pi[j] - pcol[j]) - exp((double)qi[j] - qcol[j]);
            pi[j] = (float)(0.5 * g);
        }
        klrow[i] = (float)kl;
    }

    double sum_r = 0.0, sum_c = 0.0;
    int nr = 0, nc = 0;
    for (int i = 0; i < B; i++) {
        sum_r += klrow[i];
        sum_c += klcol[i];
        nr += mrow[i] != 0.0f;
        nc += mcol[i] != 0.0f;
        if (keep_i2t) keep_i2t[i] = mrow[i] != 0.0f;
        if (keep_t2i) keep_t2i[i] = mcol[i] != 0.0f;
    }
    if (n_i2t) *n_i2t = nr;
    if (n_t2i) *n_t2i = nc;

    const float *G = P;
    if (dV) gemm_f32(0, 0, B, E, B, alpha, G, B, T, E, 1.0f, dV, E);
    if (dT) gemm_f32(1, 0, B, E, B, alpha, G, B, V, E, 1.0f, dT, E);
    return (float)(0.5 * (sum_r + sum_c));
}

void modx_loss_forward_backward(ModxLossResult *out, float *dV, float *dT, float *dlogit_scale, float *scratch,
                                const float *V, const float *T, const float *V_old, const float *T_old,
                                float logit_scale, float alpha, int select, int B, int E) {
    const float con = contrastive_forward_backward(dV, dT, dlogit_scale, scratch, V, T, logit_scale, B, E);
    int nr = 0, nc = 0;
    const float kl = modx_kl_forward_backward(dV, dT, scratch, NULL, NULL, &nr, &nc, V, T, V_old, T_old, alpha,
                                              select, B, E);
    out->loss_con = con;
    out->loss_kl = kl;
    out->loss = (float)((double)con + (double)alpha * kl);
    out->selected_i2t = nr;
    out->selected_t2i = nc;
}


/* Straight from the definition: build P, Q, P', Q' in double, pick the rows,
 * sum KL(q‖p) row by row, and push p − q back through P and P'. */
double modx_kl_forward_backward_naive(float *dV, float *dT, uint8_t *keep_i2t, uint8_t *keep_t2i, const float *V,
                                     const float *T, const float *V_old, const float *T_old, float alpha,
                                     int select, int B, int E) {
    CHECK(B >= 1 && E >= 1, "modx kl naive: B %d E %d", B, E);
    const size_t BB = (size_t)B * (size_t)B;
    double *buf = malloc(5 * BB * sizeof *buf);
    CHECK(buf != NULL, "modx kl naive: out of memory for B %d", B);
    double *X[2], *Y[2], *G = buf + 4 * BB; /* X = current (P, P'), Y = old (Q, Q') */
    X[0] = buf; X[1] = buf + BB; Y[0] = buf + 2 * BB; Y[1] = buf + 3 * BB;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            X[0][(size_t)i * B + j] = row_dot_f64(V + (size_t)i * E, T + (size_t)j * E, E);
            X[1][(size_t)i * B + j] = row_dot_f64(T + (size_t)i * E, V + (size_t)j * E, E);
            Y[0][(size_t)i * B + j] = row_dot_f64(V_old + (size_t)i * E, T_old + (size_t)j * E, E);
            Y[1][(size_t)i * B + j] = row_dot_f64(T_old + (size_t)i * E, V_old + (size_t)j * E, E);
            G[(size_t)i * B + j] = 0.0;
        }
    double total = 0.0;
    for (int dir = 0; dir < 2; dir++) {
        for (int i = 0; i < B; i++) {
            const double *x = X[dir] + (size_t)i * B, *y = Y[dir] + (size_t)i * B;
            int am = 0;
            for (int j = 1; j < B; j++)
                if (y[j] > y[am]) am = j;
            const int keep = !select || am == i;
            uint8_t *keep_out = dir == 0 ? keep_i2t : keep_t2i;
            if (keep_out) keep_out[i] = (uint8_t)keep;
            if (!keep) continue;
            double mx = -INFINITY, my = -INFINITY, sx = 0.0, sy = 0.0;
            for (int j = 0; j < B; j++) {
                mx = fmax(mx, x[j]);
                my = fmax(my, y[j]);
            }
            for (int j = 0; j < B; j++) {
                sx += exp(x[j] - mx);
                sy += exp(y[j] - my);
            }
            for (int j = 0; j < B; j++) {
                const double lp = x[j] - mx - log(sx), lq = y[j] - my - log(sy);
                total += 0.5 * exp(lq) * (lq - lp);
                const double g = 0.5 * (exp(lp) - exp(lq));
                /* entry (i, j) of P' is entry (j, i) of P */
                if (dir == 0) G[(size_t)i * B + j] += g;
                else G[(size_t)j * B + i] += g;
            }
        }
    }
    for (int i = 0; i < B; i++)
        for (int k = 0; k < E; k++) {
            double gv = 0.0, gt = 0.0;
            for (int j = 0; j < B; j++) {
                gv += G[(size_t)i * B + j] * T[(size_t)j * E + k];
                gt += G[(size_t)j * B + i] * V[(size_t)j * E + k];
            }
            if (dV) dV[(size_t)i * E + k] += (float)(alpha * gv);
            if (dT) dT[(size_t)i * E + k] += (float)(alpha * gt);
        }
    free(buf);
    return total;
}
