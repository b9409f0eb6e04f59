/* src/core/gemm: the dispatch point against its naive reference on awkward
 * shapes (every transpose combination, padded leading dimensions, beta 0 and
 * 1, M/N/K in {1, 7, 33, 129}), bit-identical repeats, nesting inside an
 * OpenMP parallel region, and the bf16 product against the reference on
 * bf16-rounded operands and against fp32. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bf16.h"
#include "core/gemm.h"
#include "gradcheck.h"
#include "harness.h"

typedef void (*GemmFn)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);

#define PAD_SENTINEL 12345.0f

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float *A, *B, *C1, *C2;
} Case;

/* Random A, B and C (C2 a copy of C1, padding columns set to PAD_SENTINEL). */
static void case_init(Case *c, int ta, int tb, int M, int N, int K, int pad, uint64_t seed) {
    c->ta = ta, c->tb = tb, c->M = M, c->N = N, c->K = K;
    int arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    c->lda = acols + pad, c->ldb = bcols + pad, c->ldc = N + pad;
    c->A = malloc((size_t)arows * c->lda * sizeof(float));
    c->B = malloc((size_t)brows * c->ldb * sizeof(float));
    c->C1 = malloc((size_t)M * c->ldc * sizeof(float));
    c->C2 = malloc((size_t)M * c->ldc * sizeof(float));
    gradcheck_randn(c->A, (size_t)arows * c->lda, 1.0f, seed);
    gradcheck_randn(c->B, (size_t)brows * c->ldb, 1.0f, seed + 1);
    gradcheck_randn(c->C1, (size_t)M * c->ldc, 1.0f, seed + 2);
    for (int i = 0; i < M; i++)
        for (int j = N; j < c->ldc; j++) c->C1[(size_t)i * c->ldc + j] = PAD_SENTINEL;
    memcpy(c->C2, c->C1, (size_t)M * c->ldc * sizeof(float));
}

static void case_free(Case *c) { free(c->A), free(c->B), free(c->C1), free(c->C2); }

static void case_run(const Case *c, GemmFn f, float alpha, float beta, float *C) {
    f(c->ta, c->tb, c->M, c->N, c->K, alpha, c->A, c->lda, c->B, c->ldb, beta, C, c->ldc);
}

/* Σ_k |a_ik·b_kj|: the scale of element (i, j)'s terms. */
static double abs_terms(const Case *c, int i, int j) {
    double s = 0;
    for (int k = 0; k < c->K; k++) {
        float a = c->ta ? c->A[(size_t)k * c->lda + i] : c->A[(size_t)i * c->lda + k];
        float b = c->tb ? c->B[(size_t)j * c->ldb + k] : c->B[(size_t)k * c->ldb + j];
        s += fabs((double)a * b);
    }
    return s;
}

/* Fast vs reference on one case (alpha 0.75). Tolerance: fp32 accumulation
 * over K unit-variance terms, plus op_tol·Σ|a·b| for operand rounding (bf16:
 * each operand is off by ≤ 2^-8 relative, so each term by ≤ ~2^-7). */
static int case_agrees(const Case *c, GemmFn fast, GemmFn ref, float beta, double op_tol, char *why, size_t n) {
    case_run(c, fast, 0.75f, beta, c->C1);
    case_run(c, ref, 0.75f, beta, c->C2);
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->ldc; j++) {
            float x = c->C1[(size_t)i * c->ldc + j], y = c->C2[(size_t)i * c->ldc + j];
            double tol = 2e-6 * sqrt((double)c->K + 1) * (c->K + 1);
            if (op_tol > 0 && j < c->N) tol += op_tol * 0.75 * abs_terms(c, i, j);
            int bad = j >= c->N ? x != PAD_SENTINEL : !(fabs((double)x - y) <= tol);
            if (bad) {
                snprintf(why, n, "ta=%d tb=%d M=%d N=%d K=%d lda=%d ldb=%d ldc=%d beta=%g: C[%d][%d] %.7g vs %.7g "
                         "(tol %.2e)", c->ta, c->tb, c->M, c->N, c->K, c->lda, c->ldb, c->ldc, beta, i, j, x, y, tol);
                return 0;
            }
        }
    return 1;
}

static const int dims4[] = {1, 7, 33, 129};

/* Every transpose combination, minimal and padded leading dims, beta 0 and 1,
 * M, N, K over dims4 (beta 0 starts from NaN in C: it must not be read). */
static int sweep(GemmFn fast, GemmFn ref, double op_tol, char *why, size_t n) {
    uint64_t seed = 100;
    for (int t = 0; t < 4; t++)
        for (int pad = 0; pad <= 3; pad += 3)
            for (int bi = 0; bi < 2; bi++)
                for (int m = 0; m < 4; m++)
                    for (int nn = 0; nn < 4; nn++)
                        for (int k = 0; k < 4; k++) {
                            Case c;
                            case_init(&c, t >> 1, t & 1, dims4[m], dims4[nn], dims4[k], pad, seed++);
                            if (bi == 0)
                                for (int i = 0; i < c.M; i++)
                                    for (int j = 0; j < c.N; j++)
                                        c.C1[(size_t)i * c.ldc + j] = c.C2[(size_t)i * c.ldc + j] = NAN;
                            int ok = case_agrees(&c, fast, ref, (float)bi, op_tol, why, n);
                            case_free(&c);
                            if (!ok) return 0;
                        }
    return 1;
}

TEST(gemm_f32_fast_vs_ref_awkward_shapes) {
    char why[256];
    EXPECT(sweep(gemm_f32, gemm_f32_ref, 0.0, why, sizeof why), "gemm_f32 vs gemm_f32_ref: %s", why);
}

TEST(gemm_f32_empty_k_scales_c) {
    float C[6] = {1, 2, 3, NAN, 5, 6}, A[1] = {0}, B[1] = {0};
    gemm_f32(0, 0, 2, 2, 0, 1.0f, A, 1, B, 2, 0.5f, C, 3); /* K = 0: C = 0.5·C, padding (C[2], C[5]) kept */
    EXPECT(C[0] == 0.5f && C[1] == 1.0f && C[2] == 3.0f && isnan(C[3]) && C[4] == 2.5f && C[5] == 6.0f,
           "K=0 beta=0.5: got %g %g %g %g %g %g", C[0], C[1], C[2], C[3], C[4], C[5]);
    gemm_f32(0, 0, 2, 2, 0, 1.0f, A, 1, B, 2, 0.0f, C, 3);
    EXPECT(C[0] == 0.0f && C[3] == 0.0f && C[2] == 3.0f, "K=0 beta=0 must zero C (NaN too): got %g %g", C[0], C[3]);
}

/* A product big enough to be split over threads, twice per thread count:
 * bit-identical each time. */
TEST(gemm_f32_deterministic_repeats) {
    int saved = omp_get_max_threads();
    const int M = 301, N = 257, K = 1031;
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t == 0 ? 1 : 2);
        for (int tr = 0; tr < 4; tr++) {
            Case c;
            case_init(&c, tr >> 1, tr & 1, M, N, K, 1, 7);
            case_run(&c, gemm_f32, 1.0f, 1.0f, c.C1);
            case_run(&c, gemm_f32, 1.0f, 1.0f, c.C2);
            int same = !memcmp(c.C1, c.C2, (size_t)M * c.ldc * sizeof(float));
            case_free(&c);
            if (!same) omp_set_num_threads(saved);
            EXPECT(same, "gemm_f32 %dx%dx%d (trans %d) not bit-identical on repeat with %d threads", M, N, K, tr,
                   t == 0 ? 1 : 2);
        }
    }
    omp_set_num_threads(saved);
}

/* Called from inside a parallel region (as attention's per-head products),
 * every call runs on its own thread and gives what one thread gives outside. */
TEST(gemm_f32_inside_parallel_region) {
    enum { NC = 6, M = 50, N = 50, K = 32 };
    Case c;
    case_init(&c, 0, 1, M, N, K, 0, 11);
    float *out = calloc((size_t)NC * M * N, sizeof(float)), *want = calloc((size_t)M * N, sizeof(float));
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    case_run(&c, gemm_f32, 0.5f, 0.0f, want);
    omp_set_num_threads(2);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < NC; i++) case_run(&c, gemm_f32, 0.5f, 0.0f, out + (size_t)i * M * N);
    omp_set_num_threads(saved);
    int same = 1;
    for (int i = 0; i < NC; i++) same &= !memcmp(out + (size_t)i * M * N, want, (size_t)M * N * sizeof(float));
    case_free(&c), free(out), free(want);
    EXPECT(same, "gemm_f32 inside a parallel region differs from the single-threaded product");
}

TEST(gemm_bf16_round_to_nearest_even) {
    EXPECT(gemm_bf16_round(1.0f) == 0x3f80, "1.0 -> %#x", gemm_bf16_round(1.0f));
    EXPECT(gemm_bf16_round(1.0f + 0x1p-8f) == 0x3f80, "1+2^-8 (tie) rounds to even 0x3f80, got %#x",
           gemm_bf16_round(1.0f + 0x1p-8f));
    EXPECT(gemm_bf16_round(1.0f + 3 * 0x1p-8f) == 0x3f82, "1+3·2^-8 (tie) rounds to even 0x3f82, got %#x",
           gemm_bf16_round(1.0f + 3 * 0x1p-8f));
    EXPECT(gemm_bf16_round(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81, "just above the tie rounds up, got %#x",
           gemm_bf16_round(1.0f + 0x1p-8f + 0x1p-20f));
    EXPECT(gemm_bf16_round(-2.0f) == 0xc000, "-2 -> %#x", gemm_bf16_round(-2.0f));
    EXPECT(gemm_bf16_round(INFINITY) == 0x7f80, "inf -> %#x", gemm_bf16_round(INFINITY));
    EXPECT(isnan(gemm_bf16_to_f32(gemm_bf16_round(NAN))), "NaN must stay NaN");
    EXPECT(gemm_bf16_to_f32(0x3fc0) == 1.5f, "0x3fc0 -> %g", gemm_bf16_to_f32(0x3fc0));
}

TEST(gemm_bf16_vs_ref_on_rounded_operands) {
    char why[256];
    EXPECT(sweep(gemm_bf16, gemm_bf16_ref, 0.0, why, sizeof why), "gemm_bf16 vs gemm_bf16_ref: %s", why);
}

/* bf16 accuracy: |ã·b̃ − a·b| ≤ (2u + u²)|a·b| with u = 2^-8 (bf16 keeps 8 significant bits). */
TEST(gemm_bf16_vs_f32_within_bf16_accuracy) {
    char why[256];
    EXPECT(sweep(gemm_bf16, gemm_f32_ref, 1.01 * 0x1p-7, why, sizeof why), "gemm_bf16 vs fp32 reference: %s", why);
}

TEST(gemm_precision_flag_selects_kernel) {
    Case c;
    case_init(&c, 1, 0, 9, 11, 13, 2, 5);
    float *C3 = malloc((size_t)c.M * c.ldc * sizeof(float));
    memcpy(C3, c.C1, (size_t)c.M * c.ldc * sizeof(float));
    gemm(GEMM_BF16, c.ta, c.tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 0.0f, c.C1, c.ldc);
    case_run(&c, gemm_bf16, 1.0f, 0.0f, c.C2);
    int same_bf16 = !memcmp(c.C1, c.C2, (size_t)c.M * c.ldc * sizeof(float));
    gemm(GEMM_F32, c.ta, c.tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 0.0f, c.C1, c.ldc);
    case_run(&c, gemm_f32, 1.0f, 0.0f, C3);
    int same_f32 = !memcmp(c.C1, C3, (size_t)c.M * c.ldc * sizeof(float));
    case_free(&c), free(C3);
    EXPECT(same_bf16 && same_f32, "gemm(prec) must equal gemm_bf16 / gemm_f32 (bf16 %d, f32 %d)", same_bf16, same_f32);
}

/* The float values a conversion must get right: every sign/exponent/top-7
 * mantissa pattern (all NaN, Inf, zero and denormal classes) with low halves
 * at and around the rounding tie, and a few random ones. */
static float *conversion_inputs(size_t *n) {
    static const uint32_t lows[] = {0x0000, 0x0001, 0x4000, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff, 0x1234, 0x9abc};
    size_t nl = sizeof lows / sizeof lows[0];
    *n = 65536 * nl;
    float *x = malloc(*n * sizeof(float));
    for (uint32_t hi = 0; hi < 65536; hi++)
        for (size_t l = 0; l < nl; l++) {
            uint32_t u = hi << 16 | lows[l];
            memcpy(&x[hi * nl + l], &u, sizeof u);
        }
    return x;
}

typedef void (*RoundFn)(uint16_t *, const float *, size_t);

/* f over the inputs in pieces of awkward lengths and offsets: every element
 * equal to gemm_bf16_round's. Returns the first mismatch's index or -1. */
static long conversion_mismatch(RoundFn f, const float *x, size_t n, uint16_t *out) {
    memset(out, 0xaa, n * sizeof(uint16_t));
    for (size_t at = 0, len = 1; at < n; at += len, len = len * 7 % 101 + 1) f(out + at, x + at, at + len > n ? n - at : len);
    for (size_t i = 0; i < n; i++)
        if (out[i] != gemm_bf16_round(x[i])) return (long)i;
    return -1;
}

TEST(gemm_bf16_conversion_equals_round_bit_for_bit) {
    size_t n;
    float *x = conversion_inputs(&n);
    uint16_t *out = malloc(n * sizeof(uint16_t));
    long bad_fast = conversion_mismatch(bf16_round_array, x, n, out);
    uint16_t got_fast = bad_fast >= 0 ? out[bad_fast] : 0;
    long bad_port = conversion_mismatch(bf16_round_array_portable, x, n, out);
    uint16_t got_port = bad_port >= 0 ? out[bad_port] : 0;
    float xf = bad_fast >= 0 ? x[bad_fast] : 0.0f, xp = bad_port >= 0 ? x[bad_port] : 0.0f;
    uint32_t uf, up;
    memcpy(&uf, &xf, sizeof uf), memcpy(&up, &xp, sizeof up);
    free(x), free(out);
    EXPECT(bad_fast < 0, "bf16_round_array (native %d): %#010x -> %#06x, gemm_bf16_round gives %#06x",
           bf16_have_native(), uf, got_fast, gemm_bf16_round(xf));
    EXPECT(bad_port < 0, "bf16_round_array_portable: %#010x -> %#06x, gemm_bf16_round gives %#06x", up, got_port,
           gemm_bf16_round(xp));
}

/* Packing a strided matrix (ld > cols) large enough to be split over threads. */
TEST(gemm_bf16_pack_strided_rows) {
    const int rows = 300, cols = 257, ld = 263;
    float *X = malloc((size_t)rows * ld * sizeof(float));
    gradcheck_randn(X, (size_t)rows * ld, 1.0f, 3);
    X[5] = 1e-40f, X[ld + 7] = -INFINITY, X[2 * ld + 9] = NAN; /* a denormal, an Inf, a NaN */
    uint16_t *out = malloc((size_t)rows * cols * sizeof(uint16_t));
    bf16_pack(out, X, rows, cols, ld);
    long bad = -1;
    for (int r = 0; r < rows && bad < 0; r++)
        for (int c = 0; c < cols; c++)
            if (out[(size_t)r * cols + c] != gemm_bf16_round(X[(size_t)r * ld + c])) {
                bad = (long)r * cols + c;
                break;
            }
    free(X), free(out);
    EXPECT(bad < 0, "bf16_pack: element %ld (row %ld) differs from gemm_bf16_round", bad, bad / cols);
}

static const int dims3[] = {1, 3, 17};

/* gemm_bf16 against its reference on M, N, K in {1, 3, 17}, every transpose,
 * ld = cols and cols + 5, alpha 1 and -1.5, beta 0, 1 and 0.5. */
TEST(gemm_bf16_vs_ref_small_shapes_alpha_beta) {
    static const float betas[] = {0.0f, 1.0f, 0.5f}, alphas[] = {1.0f, -1.5f};
    uint64_t seed = 900;
    for (int t = 0; t < 4; t++)
        for (int pad = 0; pad <= 5; pad += 5)
            for (int m = 0; m < 3; m++)
                for (int nn = 0; nn < 3; nn++)
                    for (int k = 0; k < 3; k++)
                        for (int ab = 0; ab < 6; ab++) {
                            Case c;
                            case_init(&c, t >> 1, t & 1, dims3[m], dims3[nn], dims3[k], pad, seed++);
                            float alpha = alphas[ab / 3], beta = betas[ab % 3];
                            case_run(&c, gemm_bf16, alpha, beta, c.C1);
                            case_run(&c, gemm_bf16_ref, alpha, beta, c.C2);
                            double worst = 0;
                            for (int i = 0; i < c.M; i++)
                                for (int j = 0; j < c.ldc; j++) {
                                    float x = c.C1[(size_t)i * c.ldc + j], y = c.C2[(size_t)i * c.ldc + j];
                                    double d = j >= c.N ? (x != PAD_SENTINEL) * 1e9 : fabs((double)x - y);
                                    if (!(d <= worst)) worst = isnan(d) ? 1e9 : d;
                                }
                            case_free(&c);
                            EXPECT(worst <= 1e-4, "ta=%d tb=%d M=%d N=%d K=%d pad=%d alpha=%g beta=%g: off by %g",
                                   t >> 1, t & 1, dims3[m], dims3[nn], dims3[k], pad, alpha, beta, worst);
                        }
}

/* The primitive cache: a new key makes one primitive, a repeat none and
 * gives the same bits; a key differing only in alpha or beta gets its own. */
TEST(gemm_bf16_cache_hits_give_identical_results) {
    Case c;
    case_init(&c, 1, 0, 67, 45, 131, 2, 21);
    float *C0 = malloc((size_t)c.M * c.ldc * sizeof(float)), *C3 = malloc((size_t)c.M * c.ldc * sizeof(float));
    memcpy(C0, c.C1, (size_t)c.M * c.ldc * sizeof(float));
    memcpy(C3, c.C1, (size_t)c.M * c.ldc * sizeof(float));
    long m0 = gemm_bf16_plan_misses();
    case_run(&c, gemm_bf16, 0.5f, 0.5f, c.C1);
    long m1 = gemm_bf16_plan_misses();
    case_run(&c, gemm_bf16, 0.5f, 0.5f, c.C2);
    long m2 = gemm_bf16_plan_misses();
    int same = !memcmp(c.C1, c.C2, (size_t)c.M * c.ldc * sizeof(float));
    case_run(&c, gemm_bf16, 1.0f, 0.5f, C3); /* other alpha: its own primitive, its own result */
    case_run(&c, gemm_bf16_ref, 1.0f, 0.5f, C0);
    long m3 = gemm_bf16_plan_misses();
    double worst = 0;
    for (int i = 0; i < c.M; i++)
        for (int j = 0; j < c.N; j++) worst = fmax(worst, fabs((double)C3[(size_t)i * c.ldc + j] - C0[(size_t)i * c.ldc + j]));
    case_free(&c), free(C0), free(C3);
    EXPECT(m1 == m0 + 1 && m2 == m1 && m3 == m2 + 1, "primitives made: %ld, %ld on repeat, %ld for a new alpha (want 1, 0, 1)",
           m1 - m0, m2 - m1, m3 - m2);
    EXPECT(same, "gemm_bf16 repeated on a cached primitive is not bit-identical");
    EXPECT(worst <= 1e-3, "gemm_bf16 with alpha 1 after alpha 0.5 on the same shape: off the reference by %g", worst);
}

/* Bit-identical repeats at 1 and 2 threads (a primitive per thread count),
 * and calls from inside a parallel region equal the one-thread product. */
TEST(gemm_bf16_deterministic_and_inside_parallel_region) {
    int saved = omp_get_max_threads();
    enum { NC = 6 };
    Case c;
    case_init(&c, 0, 1, 301, 257, 515, 1, 31);
    size_t sz = (size_t)c.M * c.ldc;
    float *one = malloc(sz * sizeof(float)), *out = malloc(NC * sz * sizeof(float));
    int same = 1;
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        case_run(&c, gemm_bf16, 1.0f, 0.0f, c.C1);
        case_run(&c, gemm_bf16, 1.0f, 0.0f, c.C2);
        same &= !memcmp(c.C1, c.C2, sz * sizeof(float));
        if (t == 1) memcpy(one, c.C1, sz * sizeof(float));
    }
    for (int i = 0; i < NC; i++) memcpy(out + (size_t)i * sz, c.C1, sz * sizeof(float)); /* the padding too */
    omp_set_num_threads(2);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < NC; i++) case_run(&c, gemm_bf16, 1.0f, 0.0f, out + (size_t)i * sz);
    omp_set_num_threads(saved);
    int inside = 1;
    for (int i = 0; i < NC; i++) inside &= !memcmp(out + (size_t)i * sz, one, sz * sizeof(float));
    case_free(&c), free(one), free(out);
    EXPECT(same, "gemm_bf16 not bit-identical on repeat");
    EXPECT(inside, "gemm_bf16 inside a parallel region differs from the single-threaded product");
}

/* gemm_stats counts the products called outside parallel regions (active or
 * not: one thread, or an if(0) region) between start and stop, in fp32 and
 * bf16, with their 2·M·N·K, and nothing else. */
TEST(gemm_stats_count_top_level_products_only) {
    Case c, d;
    case_init(&c, 0, 1, 7, 33, 129, 0, 21);
    case_init(&d, 1, 0, 17, 5, 3, 2, 22);
    case_run(&c, gemm_f32, 1.0f, 0.0f, c.C1); /* before start: not counted */
    gemm_stats_start();
    case_run(&c, gemm_f32, 1.0f, 0.0f, c.C1);
    case_run(&d, gemm_bf16, 1.0f, 1.0f, d.C1);
    size_t nc = (size_t)c.M * c.ldc;
    float *out = calloc(4 * nc, sizeof(float));
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < 4; i++) case_run(&c, gemm_f32, 1.0f, 0.0f, out + (size_t)i * nc);
#pragma omp parallel num_threads(1) /* an inactive region: its products are not counted either */
    case_run(&c, gemm_f32, 1.0f, 0.0f, out);
#pragma omp parallel for schedule(static) if (0)
    for (int i = 0; i < 2; i++) case_run(&c, gemm_f32, 1.0f, 0.0f, out + (size_t)i * nc);
    omp_set_num_threads(saved);
    free(out);
    GemmStats s = gemm_stats_stop();
    case_run(&c, gemm_f32, 1.0f, 0.0f, c.C1); /* after stop: not counted */
    GemmStats after = gemm_stats_stop();
    case_free(&c), case_free(&d);
    EXPECT(s.calls == 2, "gemm_stats counted %ld products, expected 2", s.calls);
    EXPECT(s.flops == 2.0 * (7 * 33 * 129 + 17 * 5 * 3), "gemm_stats counted %.0f FLOPs", s.flops);
    EXPECT(s.seconds > 0.0, "gemm_stats timed %g s", s.seconds);
    EXPECT(after.calls == 2 && after.flops == s.flops, "products after stop were counted (%ld)", after.calls);
}
