/* Overflow-checked size arithmetic. Each returns 1 and stores the result when
 * it fits, 0 on overflow (and leaves *out untouched). Use these for every size
 * computed from input data before allocating or indexing. */
#ifndef MODX_CORE_SIZE_H
#define MODX_CORE_SIZE_H

#include <stddef.h>
#include <stdint.h>

static inline int size_mul(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int size_add(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int u64_mul(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

static inline int u64_add(uint64_t a, uint64_t b, uint64_t *out) {
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r)) return 0;
    *out = r;
    return 1;
}

#endif
