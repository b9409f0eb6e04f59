/* The machine's matrix-product peak as modx reaches it: 2048² products through
 * core/gemm.h in fp32 (gemm_f32) and bf16 (gemm_bf16, operand rounding
 * included), next to OpenBLAS's cblas_sgemm in the environment as it is
 * (OPENBLAS_CORETYPE as set), then the products of the tiny and small steps
 * at batch 128. GFLOP/s = 2·M·N·K / the best time of ≥ 1 s of repeats.
 *
 *   bench_gemm [--shapes] [--layouts M N K]
 * Prints "peak fp32 F GFLOP/s", "peak bf16 G GFLOP/s" on its first lines, then
 * the time of a 32³ product (a call's fixed cost); --layouts adds the bf16
 * product of one shape under each transpose combination. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"

typedef void (*GemmFn)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void openblas_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                          int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

static double gflops(GemmFn f, int ta, int tb, int M, int N, int K) {
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)M * N * sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 13) * 0.01f - 0.06f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 7) * 0.02f - 0.06f;
    f(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N); /* warm-up */
    double best = 1e30, total = 0;
    for (int reps = 0; total < 1.0 || reps < 3; reps++) {
        double t0 = now_s();
        f(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        double t = now_s() - t0;
        total += t;
        if (t < best) best = t;
    }
    free(A), free(B), free(C);
    return 2.0 * M * N * K / best / 1e9;
}

/* The step's big products: rows R = B·tokens, width C, for qkv/out/MLP in
 * forward (NT) and backward (NN for dinp, TN for dweight). */
static void step_shapes(const char *name, int R, int C) {
    int sh[][5] = {{0, 1, R, 3 * C, C}, {0, 1, R, 4 * C, C}, {0, 1, R, C, 4 * C},
                   {0, 0, R, C, 4 * C}, {1, 0, 4 * C, C, R}};
    const char *what[] = {"qkv fwd NT", "mlp-up fwd NT", "mlp-down fwd NT", "mlp-up dinp NN", "mlp-up dW TN"};
    for (int i = 0; i < 5; i++)
        printf("  %-6s %-16s M=%5d N=%5d K=%5d: oneDNN %6.1f  bf16 %6.1f  OpenBLAS %6.1f GFLOP/s\n", name, what[i],
               sh[i][2], sh[i][3], sh[i][4], gflops(gemm_f32, sh[i][0], sh[i][1], sh[i][2], sh[i][3], sh[i][4]),
               gflops(gemm_bf16, sh[i][0], sh[i][1], sh[i][2], sh[i][3], sh[i][4]),
               gflops(openblas_gemm, sh[i][0], sh[i][1], sh[i][2], sh[i][3], sh[i][4]));
}

/* bf16 GFLOP/s of one shape under each transpose combination. */
static void layouts(int M, int N, int K) {
    const char *name[] = {"NN", "NT", "TN", "TT"};
    for (int t = 0; t < 4; t++)
        printf("  bf16 %s M=%5d N=%5d K=%5d: %6.1f GFLOP/s\n", name[t], M, N, K, gflops(gemm_bf16, t >> 1, t & 1, M, N, K));
}

/* Microseconds per call of a small product (the fixed cost of a call). */
static double call_us(GemmFn f, int n) { return 2.0 * n * n * n / gflops(f, 0, 1, n, n, n) / 1e3; }

int main(int argc, char **argv) {
    int shapes = 0, lay[3] = {0, 0, 0};
    if (argc == 2 && !strcmp(argv[1], "--fp32-peak")) { /* bench/run.sh: the peak just before a step's row */
        printf("peak fp32 %.1f GFLOP/s (gemm_f32, 2048², threads=%d)\n", gflops(gemm_f32, 0, 1, 2048, 2048, 2048),
               omp_get_max_threads());
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shapes")) shapes = 1;
        else if (!strcmp(argv[i], "--layouts") && i + 3 < argc)
            for (int j = 0; j < 3; j++) lay[j] = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_gemm [--shapes] [--layouts M N K] | --fp32-peak\n");
            return 2;
        }
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    int n = 2048;
    printf("peak fp32 %.1f GFLOP/s (gemm_f32, oneDNN, %d² products, threads=%d)\n", gflops(gemm_f32, 0, 1, n, n, n), n,
           omp_get_max_threads());
    printf("peak bf16 %.1f GFLOP/s (gemm_bf16, oneDNN bf16 matmul with operand rounding, %d²)\n",
           gflops(gemm_bf16, 0, 1, n, n, n), n);
    printf("openblas fp32 %.1f GFLOP/s (cblas_sgemm, OPENBLAS_CORETYPE=%s, %d²)\n", gflops(openblas_gemm, 0, 1, n, n, n),
           ct ? ct : "unset", n);
    printf("call cost (32³ NT product): fp32 %.1f us, bf16 %.1f us\n", call_us(gemm_f32, 32), call_us(gemm_bf16, 32));
    if (shapes) {
        step_shapes("tiny", 128 * 17, 128);
        step_shapes("small", 128 * 65, 256);
    }
    if (lay[0] > 0 && lay[1] > 0 && lay[2] > 0) layouts(lay[0], lay[1], lay[2]);
    return 0;
}
