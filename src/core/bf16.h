/* fp32 → bf16 conversion of whole arrays and matrices: the operand packing of
 * gemm_bf16 (core/gemm.h).
 *
 * Every function rounds exactly as gemm_bf16_round does, bit for bit: round
 * to nearest, ties to even; ±Inf kept; NaN kept quiet (bit 6 of the bf16 set)
 * with its sign and top payload bits; denormals rounded like any other value
 * (not flushed). bf16_round_array picks, once per process, the CPU's
 * AVX512-BF16 conversion instructions when __builtin_cpu_supports says the
 * CPU has them (the lanes the instruction would flush, the denormals, are
 * redone the portable way), otherwise bf16_round_array_portable, a
 * branch-free loop the compiler vectorises for the target it builds for. */
#ifndef MODX_CORE_BF16_H
#define MODX_CORE_BF16_H

#include <stddef.h>
#include <stdint.h>

/* out[i] = the bf16 pattern of x[i], i < n. */
void bf16_round_array(uint16_t *out, const float *x, size_t n);
void bf16_round_array_portable(uint16_t *out, const float *x, size_t n);

/* 1 when bf16_round_array runs the AVX512-BF16 instructions here. */
int bf16_have_native(void);

/* X (rows × cols, row stride ld) rounded into the compact rows × cols array
 * `out`. Large matrices are split over the OpenMP threads (one thread inside
 * a parallel region); each element's result does not depend on the split. */
void bf16_pack(uint16_t *out, const float *X, int rows, int cols, int ld);

#endif
