/* fp32 → bf16 conversion (contract in bf16.h). */
#include "core/bf16.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#include <immintrin.h>
#define BF16_X86 1
#endif

/* Pack in parallel from this many elements on (below, waking the sleeping
 * threads of a passive OpenMP pool costs more than the conversion). */
#define BF16_PAR_MIN (1L << 16)

/* gemm_bf16_round without branches, so that loops of it vectorise. */
static inline uint16_t round_bits(uint32_t u) {
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t q = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? q : r);
}

void bf16_round_array_portable(uint16_t *out, const float *x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        out[i] = round_bits(u);
    }
}

#ifdef BF16_X86
/* 1 in the lanes of v that hold a denormal (exponent 0, mantissa not 0): the
 * lanes VCVTNE(2)PS2BF16 flushes to zero. */
__attribute__((target("avx512f"))) static inline __mmask16 denormal_lanes(__m512 v) {
    __m512i u = _mm512_castps_si512(v);
    __mmask16 exp0 = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_test_epi32_mask(exp0, u, _mm512_set1_epi32(0x007fffff));
}

/* 32 values per instruction; a block with a denormal and the tail go the
 * portable way. NaN, Inf, zeros and normals: the instruction's rounding is
 * gemm_bf16_round's (nearest even; NaN quieted by setting bit 6). */
__attribute__((target("avx512f,avx512bf16"))) static void round_array_native(uint16_t *out, const float *x,
                                                                              size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 lo = _mm512_loadu_ps(x + i), hi = _mm512_loadu_ps(x + i + 16);
        if (denormal_lanes(lo) | denormal_lanes(hi)) {
            bf16_round_array_portable(out + i, x + i, 32);
            continue;
        }
        __m512bh r = _mm512_cvtne2ps_pbh(hi, lo);
        _mm512_storeu_si512((void *)(out + i), (__m512i)r);
    }
    if (i < n) bf16_round_array_portable(out + i, x + i, n - i);
}
#endif

static int g_native;
static pthread_once_t g_native_once = PTHREAD_ONCE_INIT;

static void native_detect(void) {
#ifdef BF16_X86
    __builtin_cpu_init();
    g_native = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
#endif
}

int bf16_have_native(void) {
    pthread_once(&g_native_once, native_detect);
    return g_native;
}

void bf16_round_array(uint16_t *out, const float *x, size_t n) {
#ifdef BF16_X86
    if (bf16_have_native()) {
        round_array_native(out, x, n);
        return;
    }
#endif
    bf16_round_array_portable(out, x, n);
}

void bf16_pack(uint16_t *out, const float *X, int rows, int cols, int ld) {
    long n = (long)rows * cols;
    if (ld == cols) { /* contiguous: one array, cut into equal chunks */
        int nchunk = 64;
#pragma omp parallel for schedule(static) if (n >= BF16_PAR_MIN)
        for (int t = 0; t < nchunk; t++) {
            size_t a = (size_t)n * t / nchunk, b = (size_t)n * (t + 1) / nchunk;
            bf16_round_array(out + a, X + a, b - a);
        }
        return;
    }
#pragma omp parallel for schedule(static) if (n >= BF16_PAR_MIN)
    for (int r = 0; r < rows; r++) bf16_round_array(out + (size_t)r * cols, X + (size_t)r * ld, (size_t)cols);
}
