#include "nn/attnpool.h"
#include "nn/linear.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* tok[b, 0] = mean of the HW tokens + pos[0]; tok[b, 1+i] = x[b, :, i] + pos[1+i]. */
static void tokens_forward(const AttnPoolActs *a, const float *inp, const float *pos, const AttnPoolDims *d) {
    int C = d->C, HW = d->HW, N = HW + 1;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)d->B * C * HW)
    for (int bc = 0; bc < d->B * C; bc++) {
        int b = bc / C, c = bc % C;
        const float *x = inp + (size_t)bc * HW;
        float *t = a->tok + (size_t)b * N * C;
        double s = 0.0;
        for (int i = 0; i < HW; i++) {
            s += x[i];
            t[(size_t)(1 + i) * C + c] = x[i] + pos[(size_t)(1 + i) * C + c];
        }
        t[c] = (float)(s / HW) + pos[c];
        a->tok0[(size_t)b * C + c] = t[c];
    }
}

/* att and o from q, k, v; one task per (batch, head). */
static void attend(const AttnPoolActs *a, const AttnPoolDims *d) {
    int C = d->C, N = d->HW + 1, HS = C / d->NH;
    float scale = 1.0f / sqrtf((float)HS);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)d->B * N * C)
    for (int bh = 0; bh < d->B * d->NH; bh++) {
        int b = bh / d->NH, h = bh % d->NH;
        const float *q = a->q + (size_t)b * C + h * HS;
        float *p = a->att + (size_t)bh * N, mx = -INFINITY;
        for (int j = 0; j < N; j++) {
            const float *k = a->k + ((size_t)b * N + j) * C + h * HS;
            float s = 0.0f;
            for (int e = 0; e < HS; e++) s += q[e] * k[e];
            p[j] = s * scale;
            if (p[j] > mx) mx = p[j];
        }
        float z = 0.0f;
        for (int j = 0; j < N; j++) z += (p[j] = expf(p[j] - mx));
        for (int j = 0; j < N; j++) p[j] /= z;
        float *o = a->o + (size_t)b * C + h * HS;
        for (int e = 0; e < HS; e++) o[e] = 0.0f;
        for (int j = 0; j < N; j++) {
            const float *v = a->v + ((size_t)b * N + j) * C + h * HS;
            for (int e = 0; e < HS; e++) o[e] += p[j] * v[e];
        }
    }
}

void attnpool_forward(float *out, const AttnPoolActs *a, const float *inp, const AttnPoolWeights *w,
                      const AttnPoolDims *d) {
    int B = d->B, C = d->C, N = d->HW + 1;
    tokens_forward(a, inp, w->pos, d);
    linear_forward(a->q, a->tok0, w->q_w, w->q_b, B, C, C);
    linear_forward(a->k, a->tok, w->k_w, w->k_b, B * N, C, C);
    linear_forward(a->v, a->tok, w->v_w, w->v_b, B * N, C, C);
    attend(a, d);
    linear_forward(out, a->o, w->c_w, w->c_b, B, C, d->E);
}

void attnpool_forward_naive(float *out, const AttnPoolActs *a, const float *inp, const AttnPoolWeights *w,
                            const AttnPoolDims *d) {
    int B = d->B, C = d->C, HW = d->HW, N = HW + 1;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float s = 0.0f;
            for (int i = 0; i < HW; i++) {
                float x = inp[((size_t)b * C + c) * HW + i];
                s += x;
                a->tok[((size_t)b * N + 1 + i) * C + c] = x + w->pos[(size_t)(1 + i) * C + c];
            }
            a->tok[(size_t)b * N * C + c] = a->tok0[(size_t)b * C + c] = s / HW + w->pos[c];
        }
    linear_forward_naive(a->q, a->tok0, w->q_w, w->q_b, B, C, C);
    linear_forward_naive(a->k, a->tok, w->k_w, w->k_b, B * N, C, C);
    linear_forward_naive(a->v, a->tok, w->v_w, w->v_b, B * N, C, C);
    attend(a, d);
    linear_forward_naive(out, a->o, w->c_w, w->c_b, B, C, d->E);
}

/* dq, dk, dv (overwritten) from do; one task per (batch, head). */
static void attend_backward(const AttnPoolActs *s, const AttnPoolActs *a, const AttnPoolDims *d) {
    int C = d->C, N = d->HW + 1, HS = C / d->NH;
    float scale = 1.0f / sqrtf((float)HS);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)d->B * N * C)
    for (int bh = 0; bh < d->B * d->NH; bh++) {
        int b = bh / d->NH, h = bh % d->NH;
        const float *p = a->att + (size_t)bh * N, *q = a->q + (size_t)b * C + h * HS;
        const float *dO = s->o + (size_t)b * C + h * HS;
        float *dq = s->q + (size_t)b * C + h * HS, dot = 0.0f;
        /* dp_j = do·v_j (kept in the scratch's att); ds_j = p_j (dp_j − Σ_k p_k dp_k) */
        float *dp = s->att + (size_t)bh * N;
        for (int j = 0; j < N; j++) {
            const float *v = a->v + ((size_t)b * N + j) * C + h * HS;
            float *dv = s->v + ((size_t)b * N + j) * C + h * HS;
            float g = 0.0f;
            for (int e = 0; e < HS; e++) {
                g += dO[e] * v[e];
                dv[e] = p[j] * dO[e];
            }
            dp[j] = g;
            dot += p[j] * g;
        }
        for (int e = 0; e < HS; e++) dq[e] = 0.0f;
        for (int j = 0; j < N; j++) {
            float ds = p[j] * (dp[j] - dot) * scale;
            const float *k = a->k + ((size_t)b * N + j) * C + h * HS;
            float *dk = s->k + ((size_t)b * N + j) * C + h * HS;
            for (int e = 0; e < HS; e++) {
                dq[e] += ds * k[e];
                dk[e] = ds * q[e];
            }
        }
    }
}

void attnpool_backward(float *dinp, const AttnPoolWeights *g, const AttnPoolActs *s, const float *dout,
                       const AttnPoolActs *a, const AttnPoolWeights *w, const AttnPoolDims *d) {
    int B = d->B, C = d->C, HW = d->HW, N = HW + 1;
    memset(s->o, 0, (size_t)B * C * sizeof(float));
    linear_backward(s->o, g->c_w, g->c_b, dout, a->o, w->c_w, B, C, d->E);
    attend_backward(s, a, d);
    memset(s->tok, 0, (size_t)B * N * C * sizeof(float));
    memset(s->tok0, 0, (size_t)B * C * sizeof(float));
    linear_backward(s->tok, g->k_w, g->k_b, s->k, a->tok, w->k_w, B * N, C, C);
    linear_backward(s->tok, g->v_w, g->v_b, s->v, a->tok, w->v_w, B * N, C, C);
    linear_backward(s->tok0, g->q_w, g->q_b, s->q, a->tok0, w->q_w, B, C, C);
    /* positions: Σ over the batch in order; x: scatter token rows back to NCHW */
    if (g->pos)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < N; j++) {
                const float *t = s->tok + ((size_t)b * N + j) * C, *t0 = s->tok0 + (size_t)b * C;
                float *gp = g->pos + (size_t)j * C;
                for (int c = 0; c < C; c++) gp[c] += t[c] + (j == 0 ? t0[c] : 0.0f);
            }
    if (!dinp) return;
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * C * HW)
    for (int bc = 0; bc < B * C; bc++) {
        int b = bc / C, c = bc % C;
        const float *t = s->tok + (size_t)b * N * C;
        float m = (t[c] + s->tok0[(size_t)b * C + c]) / (float)HW;
        float *dx = dinp + (size_t)bc * HW;
        for (int i = 0; i < HW; i++) dx[i] += t[(size_t)(1 + i) * C + c] + m;
    }
}

/* Plain loops, token by token and head by head (the reference of the above). */
void attnpool_backward_naive(float *dinp, const AttnPoolWeights *g, const AttnPoolActs *s, const float *dout,
                             const AttnPoolActs *a, const AttnPoolWeights *w, const AttnPoolDims *d) {
    int B = d->B, C = d->C, HW = d->HW, N = HW + 1, HS = C / d->NH;
    float scale = 1.0f / sqrtf((float)HS);
    memset(s->o, 0, (size_t)B * C * sizeof(float));
    linear_backward_naive(s->o, g->c_w, g->c_b, dout, a->o, w->c_w, B, C, d->E);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < d->NH; h++) {
            const float *p = a->att + ((size_t)b * d->NH + h) * N;
            float dot = 0.0f;
            for (int j = 0; j < N; j++) {
                float g2 = 0.0f;
                for (int e = 0; e < HS; e++) {
                    size_t kv = ((size_t)b * N + j) * C + h * HS + e;
                    g2 += s->o[(size_t)b * C + h * HS + e] * a->v[kv];
                    s->v[kv] = p[j] * s->o[(size_t)b * C + h * HS + e];
                }
                s->att[((size_t)b * d->NH + h) * N + j] = g2;
                dot += p[j] * g2;
            }
            for (int e = 0; e < HS; e++) s->q[(size_t)b * C + h * HS + e] = 0.0f;
            for (int j = 0; j < N; j++) {
                float ds = p[j] * (s->att[((size_t)b * d->NH + h) * N + j] - dot) * scale;
                for (int e = 0; e < HS; e++) {
                    size_t kv = ((size_t)b * N + j) * C + h * HS + e;
                    s->q[(size_t)b * C + h * HS + e] += ds * a->k[kv];
                    s->k[kv] = ds * a->q[(size_t)b * C + h * HS + e];
                }
            }
        }
    memset(s->tok, 0, (size_t)B * N * C * sizeof(float));
    memset(s->tok0, 0, (size_t)B * C * sizeof(float));
    linear_backward_naive(s->tok, g->k_w, g->k_b, s->k, a->tok, w->k_w, B * N, C, C);
    linear_backward_naive(s->tok, g->v_w, g->v_b, s->v, a->tok, w->v_w, B * N, C, C);
    linear_backward_naive(s->tok0, g->q_w, g->q_b, s->q, a->tok0, w->q_w, B, C, C);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float t0 = s->tok[(size_t)b * N * C + c] + s->tok0[(size_t)b * C + c];
            if (g->pos) g->pos[c] += t0;
            for (int i = 0; i < HW; i++) {
                float t = s->tok[((size_t)b * N + 1 + i) * C + c];
                if (g->pos) g->pos[(size_t)(1 + i) * C + c] += t;
                if (dinp) dinp[((size_t)b * C + c) * HW + i] += t + t0 / (float)HW;
            }
        }
}
