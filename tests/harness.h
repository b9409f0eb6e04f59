/* A small test harness. Every tests/test_*.c is linked into one binary,
 * build/tests/unit; TEST() registers a case at load time. The binary runs all
 * cases (or those whose name contains argv[1]), prints one line per case and
 * closes with "N passed, N failed", exiting non-zero if any failed.
 *
 * EXPECT* stop the current case on the first failure and print what differed.
 * Fixtures are read relative to the repository root (the runner's cwd). */
#ifndef MODX_TEST_HARNESS_H
#define MODX_TEST_HARNESS_H

#include <stddef.h>

typedef void (*TestFn)(void);
void harness_register(const char *name, TestFn fn, const char *file);
/* Marks the running case failed with a message. */
void harness_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Compares two float arrays; on failure reports max abs diff, the first index
 * past tolerance and both values. tol_rel is relative to max|expected| (0 = absolute only). */
int harness_close_f32(const char *file, int line, const char *what, const float *got, const float *want,
                      size_t n, double tol_abs, double tol_rel);
/* Path of a scratch directory private to this test process (created on first use). */
const char *harness_tmpdir(void);

#define TEST(name)                                                                        \
    static void name(void);                                                               \
    __attribute__((constructor)) static void harness_reg_##name(void) {                   \
        harness_register(#name, name, __FILE__);                                          \
    }                                                                                     \
    static void name(void)

#define EXPECT(cond, ...)                                           \
    do {                                                            \
        if (!(cond)) {                                              \
            harness_fail(__FILE__, __LINE__, "EXPECT(%s): ", #cond); \
            harness_fail(__FILE__, __LINE__, __VA_ARGS__);          \
            return;                                                 \
        }                                                           \
    } while (0)

/* Both sides within tol_abs + tol_rel * max|want| elementwise. */
#define EXPECT_CLOSE(what, got, want, n, tol_abs, tol_rel)                                        \
    do {                                                                                          \
        if (!harness_close_f32(__FILE__, __LINE__, (what), (got), (want), (n), (tol_abs), (tol_rel))) \
            return;                                                                               \
    } while (0)

#endif
