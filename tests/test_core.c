#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/size.h"
#include "harness.h"

TEST(rng_same_seed_same_stream) {
    Rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) EXPECT(rng_next_u64(&a) == rng_next_u64(&b), "diverged at %d", i);
    rng_seed(&b, 43);
    EXPECT(rng_next_u64(&a) != rng_next_u64(&b), "different seeds gave the same value");
}

TEST(rng_state_copy_resumes_exactly) {
    Rng a, b;
    rng_seed(&a, 7);
    for (int i = 0; i < 17; i++) rng_normal(&a);
    b = a; /* the state alone defines the rest of the stream */
    for (int i = 0; i < 100; i++) EXPECT(rng_normal(&a) == rng_normal(&b), "diverged at %d", i);
}

TEST(rng_moments) {
    Rng r;
    rng_seed(&r, 1);
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        s += x;
        s2 += x * x;
        u += rng_uniform(&r);
    }
    EXPECT(s / n > -0.01 && s / n < 0.01, "normal mean %g", s / n);
    EXPECT(s2 / n > 0.98 && s2 / n < 1.02, "normal variance %g", s2 / n);
    EXPECT(u / n > 0.495 && u / n < 0.505, "uniform mean %g", u / n);
    for (int i = 0; i < 1000; i++) EXPECT(rng_below(&r, 7) < 7, "rng_below out of range");
}

TEST(rng_shuffle_is_permutation) {
    Rng r;
    rng_seed(&r, 3);
    uint32_t idx[100];
    int seen[100] = {0};
    for (uint32_t i = 0; i < 100; i++) idx[i] = i;
    rng_shuffle_u32(&r, idx, 100);
    for (int i = 0; i < 100; i++) seen[idx[i]]++;
    for (int i = 0; i < 100; i++) EXPECT(seen[i] == 1, "index %d seen %d times", i, seen[i]);
}

TEST(size_overflow_detected) {
    size_t out = 0;
    EXPECT(size_mul(SIZE_MAX / 2, 3, &out) == 0, "mul overflow not detected");
    EXPECT(size_add(SIZE_MAX, 1, &out) == 0, "add overflow not detected");
    EXPECT(size_mul(1000, 1000, &out) == 1 && out == 1000000, "mul wrong");
}

TEST(error_message_and_prefix) {
    ModxStatus st = modx_fail(MODX_ERR_FORMAT, "tensor '%s': expected %d", "x", 3);
    EXPECT(st == MODX_ERR_FORMAT, "status not returned");
    modx_error_prefix("%s: ", "file.safetensors");
    EXPECT(!strcmp(modx_last_error(), "file.safetensors: tensor 'x': expected 3"), "got '%s'", modx_last_error());
    modx_clear_error();
    EXPECT(modx_last_error()[0] == 0, "not cleared");
}
