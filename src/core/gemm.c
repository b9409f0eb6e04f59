/* The matrix-product dispatch point (contract in gemm.h).
 *
 * Why oneDNN. Candidates were Debian's well-kept libraries that pick their
 * kernels from the CPU itself, measured as bench/bench_gemm does (2 threads,
 * OMP_WAIT_POLICY=passive, GFLOP/s of the best of ≥ 1 s of repeats) on this
 * machine (AMD EPYC, AVX-512 + AVX512-BF16, 2 cores shared with other jobs,
 * so figures wander by ±30%; orderings held across repeats):
 *
 *   product (row-major)            OpenBLAS 0.3.21   oneDNN 2.6.3   BLIS 0.9.0
 *                                  (Haswell, as CI)  dnnl_sgemm     (generic / skx forced)
 *   2048²·2048  NN                  19-54             41-59          7 / 32
 *   2048²·2048  NT                  29-46             46-66          10 / 42
 *   6400×1536·512 NT (small qkv)    38-85             65-73          11 / 38
 *   1536×512·6400 TN (small dW)     31-66             54-59          7 / 12
 *
 * (the upper OpenBLAS figures are its SkylakeX kernels, reachable only by
 * setting OPENBLAS_CORETYPE before the library loads: a re-exec of the
 * process, which would also change the environment CI must keep.)
 * - OpenBLAS obeys OPENBLAS_CORETYPE=Haswell (AVX2) at load time; a program
 *   can only override it by re-executing itself or dlopen-ing a private copy
 *   after setenv, both fragile, so it stays at about half the machine.
 * - BLIS (libblis-openmp) selects its 'generic' sub-configuration on this CPU
 *   (no native AMD-Zen4 / AVX-512 match in Debian's build): 4-6× slower;
 *   even with BLIS_ARCH_TYPE=skx it trails oneDNN.
 * - oneDNN dispatches on CPUID features (avx512_core, avx512_core_bf16) and
 *   is the library PyTorch's CPU kernels use; its dnnl_sgemm is ~2× OpenBLAS's
 *   Haswell kernels at 2048² and on the step's shapes, and its bf16 matmul
 *   roughly doubles fp32 again. bench/run.sh prints both peaks each run; in a
 *   quieter moment (load ~4): 2048² fp32 164 GFLOP/s, bf16 278 GFLOP/s,
 *   OpenBLAS Haswell 85 GFLOP/s (README, Performance, has the step figures).
 * Determinism: dnnl_sgemm splits work by a fixed plan for a given shape and
 * thread count and sums split-K partials in a fixed order, so results repeat
 * bit for bit (tests/test_gemm.c checks it); inside an OpenMP parallel region
 * it runs on the calling thread only. */
#include "core/gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Loops with fewer scalar operations than this stay on the calling thread. */
#define GEMM_PAR_MIN_WORK (1L << 15)

static void check_args(int transA, int transB, int M, int N, int K, int lda, int ldb, int ldc) {
    CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative dims M=%d N=%d K=%d", M, N, K);
    int acols = transA ? M : K, bcols = transB ? K : N;
    CHECK(lda >= (acols > 1 ? acols : 1) && ldb >= (bcols > 1 ? bcols : 1) && ldc >= (N > 1 ? N : 1),
          "gemm: leading dims lda=%d ldb=%d ldc=%d too small for M=%d N=%d K=%d (transA=%d transB=%d)", lda, ldb,
          ldc, M, N, K, transA, transB);
}

/* C = beta·C (beta == 0 writes zeros): the product of an empty K. */
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

/* The arguments checked; 1 when there is nothing to multiply (done here). */
static int trivial_product(int transA, int transB, int M, int N, int K, int lda, int ldb, float beta, float *C,
                           int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return 1;
    if (K == 0) scale_c(M, N, beta, C, ldc);
    return K == 0;
}

void gemm_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
    if (trivial_product(transA, transB, M, N, K, lda, ldb, beta, C, ldc)) return;
    dnnl_status_t st = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C,
                                  ldc);
    CHECK(st == dnnl_success, "gemm_f32: dnnl_sgemm failed (status %d) on M=%d N=%d K=%d", (int)st, M, N, K);
}

/* The naive product; `round` makes operands bf16 first. */
static void gemm_naive(int round, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = transB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (round) a = gemm_bf16_to_f32(gemm_bf16_round(a)), b = gemm_bf16_to_f32(gemm_bf16_round(b));
                s += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
}

void gemm_f32_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    gemm_naive(0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    check_args(transA, transB, M, N, K, lda, ldb, ldc);
    gemm_naive(1, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

uint16_t gemm_bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: keep it quiet */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float gemm_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* X (rows, cols; row stride ld) rounded to bf16 into a compact rows×cols array. */
static void bf16_pack(uint16_t *out, const float *X, int rows, int cols, int ld) {
#pragma omp parallel for schedule(static) if ((long)rows * cols >= GEMM_PAR_MIN_WORK)
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) out[(size_t)r * cols + c] = gemm_bf16_round(X[(size_t)r * ld + c]);
}

static dnnl_engine_t g_engine;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_create(void) {
    dnnl_status_t st = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    CHECK(st == dnnl_success, "gemm: oneDNN CPU engine could not be created (status %d)", (int)st);
}

/* The bf16 matmul primitive for these shapes, strides, alpha and beta (oneDNN
 * keeps created primitives in its own cache, so a repeated shape is cheap). */
static dnnl_primitive_t bf16_primitive(int transA, int transB, int M, int N, int K, float alpha, float beta,
                                       int ldc, dnnl_memory_desc_t *a_md, dnnl_memory_desc_t *b_md,
                                       dnnl_memory_desc_t *c_md) {
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N};
    dnnl_dims_t as = {transA ? 1 : K, transA ? M : 1}, bs = {transB ? 1 : N, transB ? K : 1}, cs = {ldc, 1};
    CHECK(dnnl_memory_desc_init_by_strides(a_md, 2, ad, dnnl_bf16, as) == dnnl_success &&
              dnnl_memory_desc_init_by_strides(b_md, 2, bd, dnnl_bf16, bs) == dnnl_success &&
              dnnl_memory_desc_init_by_strides(c_md, 2, cd, dnnl_f32, cs) == dnnl_success,
          "gemm_bf16: memory descriptors M=%d N=%d K=%d", M, N, K);
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    int ok = dnnl_matmul_desc_init(&md, a_md, b_md, NULL, c_md) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success &&
             (alpha == 1.0f || dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) == dnnl_success) &&
             dnnl_post_ops_create(&po) == dnnl_success &&
             (beta == 0.0f || dnnl_post_ops_append_sum(po, beta) == dnnl_success) &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &md, attr, g_engine, NULL) == dnnl_success &&
             dnnl_primitive_create(&prim, pd) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    CHECK(ok, "gemm_bf16: oneDNN bf16 matmul unavailable for M=%d N=%d K=%d", M, N, K);
    return prim;
}

/* C = alpha·Ab·Bb + beta·C on the packed bf16 operands. */
static void bf16_matmul(int transA, int transB, int M, int N, int K, float alpha, const uint16_t *Ab,
                        const uint16_t *Bb, float beta, float *C, int ldc) {
    pthread_once(&g_engine_once, engine_create);
    dnnl_memory_desc_t a_md, b_md, c_md;
    dnnl_primitive_t prim = bf16_primitive(transA, transB, M, N, K, alpha, beta, ldc, &a_md, &b_md, &c_md);
    dnnl_stream_t stream = NULL;
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL;
    int ok = dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags) == dnnl_success &&
             dnnl_memory_create(&am, &a_md, g_engine, (void *)Ab) == dnnl_success &&
             dnnl_memory_create(&bm, &b_md, g_engine, (void *)Bb) == dnnl_success &&
             dnnl_memory_create(&cm, &c_md, g_engine, C) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
        ok = dnnl_primitive_execute(prim, stream, 3, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
    }
    if (am) dnnl_memory_destroy(am);
    if (bm) dnnl_memory_destroy(bm);
    if (cm) dnnl_memory_destroy(cm);
    if (stream) dnnl_stream_destroy(stream);
    dnnl_primitive_destroy(prim);
    CHECK(ok, "gemm_bf16: oneDNN bf16 matmul failed on M=%d N=%d K=%d", M, N, K);
}

void gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc) {
    if (trivial_product(transA, transB, M, N, K, lda, ldb, beta, C, ldc)) return;
    uint16_t *Ab = malloc(((size_t)M * K + (size_t)K * N) * sizeof(uint16_t));
    CHECK(Ab, "gemm_bf16: out of memory for bf16 operands M=%d N=%d K=%d", M, N, K);
    uint16_t *Bb = Ab + (size_t)M * K;
    bf16_pack(Ab, A, transA ? K : M, transA ? M : K, lda);
    bf16_pack(Bb, B, transB ? N : K, transB ? K : N, ldb);
    bf16_matmul(transA, transB, M, N, K, alpha, Ab, Bb, beta, C, ldc);
    free(Ab);
}

void gemm(GemmPrecision prec, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc) {
    if (prec == GEMM_BF16) gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else gemm_f32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static GemmPrecision g_layer_precision = GEMM_F32;

GemmPrecision gemm_set_layer_precision(GemmPrecision p) {
    GemmPrecision old = g_layer_precision;
    g_layer_precision = p;
    return old;
}

GemmPrecision gemm_layer_precision(void) { return g_layer_precision; }

void gemm_layer(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc) {
    gemm(g_layer_precision, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
