#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TESTS 4096

typedef struct {
    const char *name;
    TestFn fn;
    const char *file;
} TestCase;

static TestCase tests[MAX_TESTS];
static int n_tests;
static int current_failed;

void harness_register(const char *name, TestFn fn, const char *file) {
    if (n_tests >= MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        abort();
    }
    tests[n_tests++] = (TestCase){name, fn, file};
}

void harness_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    if (!current_failed) fprintf(stdout, "    at %s:%d: ", file, line);
    current_failed = 1;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    if (fmt[0] && fmt[strlen(fmt) - 1] != ' ') fputc('\n', stdout);
    fflush(stdout);
}

int harness_close_f32(const char *file, int line, const char *what, const float *got, const float *want,
                      size_t n, double tol_abs, double tol_rel) {
    double maxw = 0, maxd = 0;
    size_t first_bad = n, maxi = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)want[i]) > maxw) maxw = fabs((double)want[i]);
    double tol = tol_abs + tol_rel * maxw;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol)) { /* also catches NaN */
            if (first_bad == n) first_bad = i;
            if (isnan(d)) d = INFINITY;
        }
        if (d > maxd || (i == 0)) {
            if (d > maxd) maxd = d;
            maxi = i;
        }
    }
    if (first_bad == n) return 1;
    harness_fail(file, line,
                 "%s: %zu elements, max |diff| %.3g at [%zu] (tolerance %.3g, max|want| %.3g); "
                 "first mismatch [%zu]: got %.9g want %.9g\n",
                 what, n, maxd, maxi, tol, maxw, first_bad, (double)got[first_bad], (double)want[first_bad]);
    return 0;
}

static char tmpdir[256];

const char *harness_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/modx-test-%ld", base && base[0] ? base : "/tmp", (long)getpid());
        mkdir(tmpdir, 0700);
    }
    return tmpdir;
}

static int cmp_case(const void *a, const void *b) {
    const TestCase *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : getenv("MODX_TEST_FILTER");
    int passed = 0, failed = 0;
    qsort(tests, (size_t)n_tests, sizeof tests[0], cmp_case);
    for (int i = 0; i < n_tests; i++) {
        if (filter && filter[0] && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter)) continue;
        current_failed = 0;
        fprintf(stdout, "... %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
        if (current_failed) {
            failed++;
            fprintf(stdout, "FAIL %s (%s)\n", tests[i].name, tests[i].file);
        } else {
            passed++;
            fprintf(stdout, "ok   %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "harness: could not remove %s\n", tmpdir);
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
