/* The one matrix-product dispatch point. Every single-precision product in
 * src/ goes through gemm_f32 (or gemm_bf16 / gemm when a product may run in
 * bf16); nothing else calls a BLAS sgemm.
 *
 * All matrices are row-major. With op(X) = X or Xᵀ:
 *     C (M, N) = alpha · op(A) (M, K) · op(B) (K, N) + beta · C
 * transA/transB are 0 (as stored) or 1 (transposed); lda/ldb/ldc are the row
 * strides of A, B, C as stored (A is M×K when !transA, K×M when transA).
 * beta == 0 overwrites C without reading it (NaNs in C do not propagate);
 * M, N or K may be 0 (K == 0 scales C by beta).
 *
 * gemm_f32 runs oneDNN's dnnl_sgemm, which picks its kernels from the CPU's
 * own features (AVX-512 here), whatever OPENBLAS_CORETYPE says; see gemm.c for
 * the measurements behind that choice. It uses omp_get_max_threads() threads
 * of our OpenMP pool, or one thread when called inside a parallel region (the
 * per-head attention products), so it never oversubscribes. Same inputs and
 * thread count give bit-identical C.
 *
 * gemm_bf16 rounds both operands to bf16 (round to nearest even, as
 * gemm_bf16_round) and multiplies them with fp32 accumulation into an fp32 C
 * (oneDNN's bf16 matmul: AVX512-BF16 dot products). Operands keep 8 significant
 * bits (relative error ≤ 2⁻⁸ each); accumulation is fp32. It may be called
 * from several threads at once (and inside parallel regions): its primitive
 * cache and operand buffers are shared under a lock, each call using its own
 * buffer, scratchpad and stream while it runs. Same inputs and thread count
 * give bit-identical C.
 *
 * The *_ref functions are the naive loops (fp32 accumulation in k order) the
 * fast paths are tested against. Failures of the library (only on invalid
 * arguments, i.e. bugs, or on running out of memory for packing buffers) abort
 * through CHECK: products are called from kernels that return void. */
#ifndef MODX_CORE_GEMM_H
#define MODX_CORE_GEMM_H

#include <stdint.h>

/* The precision of a product's operands: the flag that selects gemm_bf16.
 * Accumulation and the output are fp32 in both cases. */
typedef enum {
    GEMM_F32 = 0,  /* fp32 operands (the default) */
    GEMM_BF16 = 1, /* operands rounded to bf16, fp32 accumulation */
} GemmPrecision;

void gemm_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);
void gemm_f32_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

void gemm_bf16(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc);
/* How many times gemm_bf16 has made a oneDNN primitive: once per distinct
 * (transA, transB, M, N, K, alpha, beta, ldc, thread count), the primitives
 * being kept for the process's life (the first 128 keys; later keys get a
 * primitive per call). */
long gemm_bf16_plan_misses(void);
/* The naive product of the bf16-rounded operands (fp32 accumulation). */
void gemm_bf16_ref(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);

/* gemm_f32 or gemm_bf16 by `prec`. */
void gemm(GemmPrecision prec, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc);

/* The layers' products (nn/: linear, patch embedding, convolutions; not the
 * losses, not evaluation's similarity matrices, not the per-head attention
 * products, whose N ≤ 77 products cost less in fp32 than their bf16 set-up)
 * run through gemm_layer at the process's layer precision, GEMM_F32 unless a
 * trainer sets GEMM_BF16 for its phase (train.precision). Set it from one
 * thread while no product runs; returns the previous value. */
GemmPrecision gemm_set_layer_precision(GemmPrecision p);
GemmPrecision gemm_layer_precision(void);
void gemm_layer(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc);

/* Wall time in products, for benchmarks: between gemm_stats_start() and
 * gemm_stats_stop(), every gemm_f32 / gemm_bf16 call made outside any OpenMP
 * parallel region, active or not (so all of a step's products but the
 * per-head attention products, which run inside one, even with one thread)
 * adds its wall time and its 2·M·N·K FLOPs.
 * Off by default: then a product costs one flag test more. Start and stop
 * from one thread while no product runs. */
typedef struct {
    long calls;     /* products timed */
    double flops;   /* their 2·M·N·K, summed */
    double seconds; /* their wall time, summed */
} GemmStats;
void gemm_stats_start(void);
GemmStats gemm_stats_stop(void);

/* x rounded to bf16 (round to nearest, ties to even; NaN stays NaN), as its
 * 16-bit pattern, and that pattern back as a float (exact). */
uint16_t gemm_bf16_round(float x);
float gemm_bf16_to_f32(uint16_t h);

#endif
