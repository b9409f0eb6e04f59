#include "nn/attention.h"
#include "nn/parallel.h"

#include "core/gemm.h"
#include <math.h>
#include <stddef.h>

#include "core/error.h"

/* The softmax's exp comes vectorised from glibc's libmvec (see nn/gelu.c). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((simd("notinbranch"))) float expf(float);
#endif

static void check_dims(int B, int N, int C, int NH) {
    CHECK(B >= 0 && N > 0 && C > 0 && NH > 0 && C % NH == 0, "bad attention dims B=%d N=%d C=%d NH=%d", B, N, C,
          NH);
}

/* One (batch, head): S = scale·Q·Kᵀ (N, N) into att, row softmax in place
 * (masked entries exactly 0), then out = P·V. Q, K, V are strided views of
 * qkv (leading dimension 3C); the products are single-threaded gemm_f32 calls,
 * as each runs inside the parallel loop over (batch, head). */
static void attention_head_forward(float *out, float *att, const float *qkv, int b, int h, int N, int C, int NH,
                                   int causal) {
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    const float *Q = qkv + (size_t)b * N * C3 + (size_t)h * HS, *K = Q + C, *V = Q + 2 * C;
    float *P = att + ((size_t)b * NH + h) * N * N;
    gemm_f32(0, 1, N, N, HS, scale, Q, C3, K, C3, 0.0f, P, N);
    for (int i = 0; i < N; i++) {
        float *p = P + (size_t)i * N;
        int jn = causal ? i + 1 : N;
        float mx = -INFINITY;
        for (int j = 0; j < jn; j++) mx = p[j] > mx ? p[j] : mx;
#pragma omp simd
        for (int j = 0; j < jn; j++) p[j] = expf(p[j] - mx);
        float sum = 0.0f;
        for (int j = 0; j < jn; j++) sum += p[j];
        float inv = 1.0f / sum;
        for (int j = 0; j < jn; j++) p[j] *= inv;
        for (int j = jn; j < N; j++) p[j] = 0.0f;
    }
    gemm_f32(0, 0, N, HS, N, 1.0f, P, N, V, C3, 0.0f,
                out + (size_t)b * N * C + (size_t)h * HS, C);
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

/* One (batch, head), with dY the head's slice of dout:
 *   dP = dY·Vᵀ,  dV += Pᵀ·dY,  dS = P∘(dP − rowsum(P∘dP))·scale,
 *   dQ += dS·K,  dK += dSᵀ·Q.
 * Masked probabilities are exactly 0, so their dS is 0 as well. */
static void attention_head_backward(float *dqkv, float beta, float *datt, const float *dout, const float *qkv,
                                    const float *att, int b, int h, int N, int C, int NH, int causal) {
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    size_t off = (size_t)b * N * C3 + (size_t)h * HS;
    const float *Q = qkv + off, *K = Q + C, *V = Q + 2 * C;
    float *dQ = dqkv + off, *dK = dQ + C, *dV = dQ + 2 * C;
    const float *dY = dout + (size_t)b * N * C + (size_t)h * HS;
    const float *P = att + ((size_t)b * NH + h) * N * N;
    float *dS = datt + ((size_t)b * NH + h) * N * N;
    gemm_f32(0, 1, N, N, HS, 1.0f, dY, C, V, C3, 0.0f, dS, N);
    gemm_f32(1, 0, N, HS, N, 1.0f, P, N, dY, C, beta, dV, C3);
    for (int i = 0; i < N; i++) {
        const float *p = P + (size_t)i * N;
        float *ds = dS + (size_t)i * N;
        int jn = causal ? i + 1 : N;
        float dot = 0.0f;
        for (int j = 0; j < jn; j++) dot += ds[j] * p[j];
        for (int j = 0; j < jn; j++) ds[j] = p[j] * (ds[j] - dot) * scale;
        for (int j = jn; j < N; j++) ds[j] = 0.0f;
    }
    gemm_f32(0, 0, N, HS, N, 1.0f, dS, N, K, C3, beta, dQ, C3);
    gemm_f32(1, 0, N, HS, N, 1.0f, dS, N, Q, C3, beta, dK, C3);
}

/* beta 1 adds into dqkv, 0 writes it: each (batch, head) owns its slice. */
static void attention_bwd(float *dqkv, float beta, float *datt, const float *dout, const float *qkv,
                          const float *att, int B, int N, int C, int NH, int causal) {
    check_dims(B, N, C, NH);
#pragma omp parallel for schedule(static) NN_PAR_IF((long)B * NH * N * N * (C / NH))
    for (int bh = 0; bh < B * NH; bh++)
        attention_head_backward(dqkv, beta, datt, dout, qkv, att, bh / NH, bh % NH, N, C, NH, causal);
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att, int B,
                        int N, int C, int NH, int causal) {
    attention_bwd(dqkv, 1.0f, datt, dout, qkv, att, B, N, C, NH, causal);
}

void attention_backward_set(float *dqkv, float *datt, const float *dout, const float *qkv, const float *att, int B,
                            int N, int C, int NH, int causal) {
    attention_bwd(dqkv, 0.0f, datt, dout, qkv, att, B, N, C, NH, causal);
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
