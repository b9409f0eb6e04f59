#include "nn/attention.h"
#include "nn/parallel.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

/* Dot product with four partial sums (fixed order, so deterministic). */
static inline float dot4(const float *a, const float *b, int n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static inline void axpy(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

static void check_dims(int B, int N, int C, int NH) {
    CHECK(B >= 0 && N > 0 && C > 0 && NH > 0 && C % NH == 0, "bad attention dims B=%d N=%d C=%d NH=%d", B, N, C,
          NH);
}

static void attention_head_forward(float *out, float *att, const float *qkv, int b, int h, int N, int C, int NH,
                                   int causal) {
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    const float *base = qkv + (size_t)b * N * C3;
    float *P = att + ((size_t)b * NH + h) * N * N;
    for (int i = 0; i < N; i++) {
        const float *q = base + (size_t)i * C3 + h * HS;
        float *p = P + (size_t)i * N;
        int jn = causal ? i + 1 : N;
        float mx = -INFINITY;
        for (int j = 0; j < jn; j++) {
            const float *k = base + (size_t)j * C3 + C + h * HS;
            p[j] = dot4(q, k, HS) * scale;
            if (p[j] > mx) mx = p[j];
        }
        float sum = 0.0f;
        for (int j = 0; j < jn; j++) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < jn; j++) p[j] *= inv;
        for (int j = jn; j < N; j++) p[j] = 0.0f;
        float *o = out + ((size_t)b * N + i) * C + h * HS;
        for (int d = 0; d < HS; d++) o[d] = 0.0f;
        for (int j = 0; j < jn; j++) axpy(o, p[j], base + (size_t)j * C3 + 2 * C + h * HS, HS);
    }
}

void attention_forward(float *out, float *att, const float *qkv, int B, int N, int C, int NH, int causal) {
    check_dims(B, N, C, NH);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NH * N * N * (C / NH))
    for (int bh = 0; bh < B * NH; bh++) attention_head_forward(out, att, qkv, bh / NH, bh % NH, N, C, NH, causal);
}

void attention_forward_naive(float *out, float *att, const float *qkv, int B, int N, int C, int NH, int causal) {
    check_dims(B, N, C, NH);
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < N; i++) {
                float *p = att + (((size_t)b * NH + h) * N + i) * N;
                float mx = -INFINITY;
                for (int j = 0; j < N; j++) {
                    float s = 0.0f;
                    for (int d = 0; d < HS; d++)
                        s += qkv[((size_t)b * N + i) * C3 + h * HS + d] * qkv[((size_t)b * N + j) * C3 + C + h * HS + d];
                    s *= scale;
                    if (causal && j > i) s = -INFINITY;
                    p[j] = s;
                    if (s > mx) mx = s;
                }
                float sum = 0.0f;
                for (int j = 0; j < N; j++) {
                    p[j] = (causal && j > i) ? 0.0f : expf(p[j] - mx);
                    sum += p[j];
                }
                for (int j = 0; j < N; j++) p[j] /= sum;
                for (int d = 0; d < HS; d++) {
                    float s = 0.0f;
                    for (int j = 0; j < N; j++) s += p[j] * qkv[((size_t)b * N + j) * C3 + 2 * C + h * HS + d];
                    out[((size_t)b * N + i) * C + h * HS + d] = s;
                }
            }
}

static void attention_head_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                                    const float *att, int b, int h, int N, int C, int NH, int causal) {
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    const float *base = qkv + (size_t)b * N * C3;
    float *dbase = dqkv + (size_t)b * N * C3;
    const float *P = att + ((size_t)b * NH + h) * N * N;
    float *dS = datt + ((size_t)b * NH + h) * N * N;
    for (int i = 0; i < N; i++) {
        const float *dy = dout + ((size_t)b * N + i) * C + h * HS;
        const float *p = P + (size_t)i * N;
        float *ds = dS + (size_t)i * N;
        int jn = causal ? i + 1 : N;
        float dot = 0.0f;
        for (int j = 0; j < jn; j++) {
            /* dP_ij = dy_i · v_j;  dv_j += p_ij dy_i */
            ds[j] = dot4(dy, base + (size_t)j * C3 + 2 * C + h * HS, HS);
            dot += ds[j] * p[j];
            axpy(dbase + (size_t)j * C3 + 2 * C + h * HS, p[j], dy, HS);
        }
        for (int j = 0; j < jn; j++) ds[j] = p[j] * (ds[j] - dot) * scale;
        for (int j = jn; j < N; j++) ds[j] = 0.0f;
        /* dq_i += Σ_j ds_ij k_j;  dk_j += ds_ij q_i */
        float *dq = dbase + (size_t)i * C3 + h * HS;
        const float *q = base + (size_t)i * C3 + h * HS;
        for (int j = 0; j < jn; j++) {
            axpy(dq, ds[j], base + (size_t)j * C3 + C + h * HS, HS);
            axpy(dbase + (size_t)j * C3 + C + h * HS, ds[j], q, HS);
        }
    }
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att, int B,
                        int N, int C, int NH, int causal) {
    check_dims(B, N, C, NH);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NH * N * N * (C / NH))
    for (int bh = 0; bh < B * NH; bh++)
        attention_head_backward(dqkv, datt, dout, qkv, att, bh / NH, bh % NH, N, C, NH, causal);
}

void attention_backward_naive(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att,
                              int B, int N, int C, int NH, int causal) {
    check_dims(B, N, C, NH);
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
#define Q(b, i, d) qkv[((size_t)(b) * N + (i)) * C3 + h * HS + (d)]
#define K(b, i, d) qkv[((size_t)(b) * N + (i)) * C3 + C + h * HS + (d)]
#define V(b, i, d) qkv[((size_t)(b) * N + (i)) * C3 + 2 * C + h * HS + (d)]
#define DQ(b, i, d) dqkv[((size_t)(b) * N + (i)) * C3 + h * HS + (d)]
#define DK(b, i, d) dqkv[((size_t)(b) * N + (i)) * C3 + C + h * HS + (d)]
#define DV(b, i, d) dqkv[((size_t)(b) * N + (i)) * C3 + 2 * C + h * HS + (d)]
#define DY(b, i, d) dout[((size_t)(b) * N + (i)) * C + h * HS + (d)]
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *P = att + ((size_t)b * NH + h) * N * N;
            float *dP = datt + ((size_t)b * NH + h) * N * N;
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++) {
                    float s = 0.0f;
                    for (int d = 0; d < HS; d++) {
                        s += DY(b, i, d) * V(b, j, d);
                        DV(b, j, d) += P[i * N + j] * DY(b, i, d);
                    }
                    dP[i * N + j] = s;
                }
            for (int i = 0; i < N; i++) {
                float dot = 0.0f;
                for (int j = 0; j < N; j++) dot += P[i * N + j] * dP[i * N + j];
                for (int j = 0; j < N; j++) {
                    float ds = P[i * N + j] * (dP[i * N + j] - dot) * scale; /* 0 where masked */
                    for (int d = 0; d < HS; d++) {
                        DQ(b, i, d) += ds * K(b, j, d);
                        DK(b, j, d) += ds * Q(b, i, d);
                    }
                }
            }
        }
    (void)causal; /* masked probabilities are exactly zero, so the mask needs no special case */
#undef Q
#undef K
#undef V
#undef DQ
#undef DK
#undef DV
#undef DY
}
