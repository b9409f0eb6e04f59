/* Hashing for the open-addressing tables (not for storage: values may change
 * between versions). hash_mix64: the 64-bit finaliser of MurmurHash3 (every
 * input bit affects every output bit); hash_fnv1a: 64-bit FNV-1a of n bytes. */
#ifndef MODX_CORE_HASH_H
#define MODX_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static inline uint64_t hash_fnv1a(const void *data, size_t n) {
    const uint8_t *s = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

#endif
