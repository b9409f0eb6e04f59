#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/lanesum.h"
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

/* core/lanesum.h: each sum equals the documented order written out (16
 * interleaved partial sums, the tail, then the 16 in order), bit for bit, for
 * lengths around the lane count; and the exact sum within rounding. */
static double lane_order_ref(const double *t, size_t n) {
    double acc[16] = {0}, tail = 0.0, s = 0.0;
    size_t full = n / 16 * 16;
    for (size_t k = 0; k < full; k++) acc[k % 16] += t[k];
    for (size_t k = full; k < n; k++) tail += t[k];
    for (int j = 0; j < 16; j++) s += acc[j];
    return s + tail;
}

TEST(lanesum_fixed_order) {
    static const size_t ns[] = {0, 1, 15, 16, 17, 100, 1000};
    float x[1000], y[1000];
    double t[1000];
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 1000; i++) x[i] = (float)rng_normal(&r) + 0.5f, y[i] = (float)rng_normal(&r);
    for (size_t q = 0; q < sizeof ns / sizeof *ns; q++) {
        size_t n = ns[q];
        long double exact = 0;
        for (size_t k = 0; k < n; k++) t[k] = x[k], exact += x[k];
        EXPECT(lanesum(x, n) == lane_order_ref(t, n), "lanesum n=%zu", n);
        EXPECT(fabsl(lanesum(x, n) - exact) <= 1e-12L * (1 + n), "lanesum n=%zu far from the exact sum", n);
        for (size_t k = 0; k < n; k++) t[k] = (double)x[k] * x[k];
        EXPECT(lanesum_sq(x, n) == lane_order_ref(t, n), "lanesum_sq n=%zu", n);
        for (size_t k = 0; k < n; k++) t[k] = (x[k] - 0.25) * (x[k] - 0.25);
        EXPECT(lanesum_dev2(x, 0.25, n) == lane_order_ref(t, n), "lanesum_dev2 n=%zu", n);
        double s1, s2;
        lanesum_y_yxhat(y, x, 0.5f, 1.5f, n, &s1, &s2);
        for (size_t k = 0; k < n; k++) t[k] = y[k];
        EXPECT(s1 == lane_order_ref(t, n), "lanesum_y_yxhat sum n=%zu", n);
        for (size_t k = 0; k < n; k++) t[k] = (double)y[k] * ((x[k] - 0.5f) * 1.5f);
        EXPECT(s2 == lane_order_ref(t, n), "lanesum_y_yxhat weighted sum n=%zu", n);
    }
}
