/* Deterministic random numbers: xoshiro256** seeded through splitmix64.
 * The whole state is four uint64 words, so it can be saved in a checkpoint and
 * restored to continue the exact same sequence. Not for cryptography. */
#ifndef MODX_CORE_RNG_H
#define MODX_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

/* One splitmix64 step of x: a well-mixed 64-bit hash (seeds derived from seeds). */
uint64_t rng_mix64(uint64_t x);
/* Seeds the generator; the same seed always gives the same sequence. */
void rng_seed(Rng *rng, uint64_t seed);
/* Seeds an independent stream derived from (seed, stream), e.g. one per phase or worker. */
void rng_seed_stream(Rng *rng, uint64_t seed, uint64_t stream);
uint64_t rng_next_u64(Rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(Rng *rng);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(Rng *rng, uint64_t n);
/* Standard normal (Box-Muller, no cached second value so the state alone defines the stream). */
double rng_normal(Rng *rng);
/* Fisher-Yates shuffle of idx[0..n). */
void rng_shuffle_u32(Rng *rng, uint32_t *idx, uint64_t n);

#endif
