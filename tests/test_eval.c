/* Retrieval, zero-shot and linear-probe checks on synthetic features. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/linprobe.h"
#include "eval/retrieval.h"
#include "eval/zeroshot.h"
#include "harness.h"

static int metrics_equal(const RetrievalMetrics *a, const RetrievalMetrics *b) {
    return a->i2t_r1 == b->i2t_r1 && a->i2t_r5 == b->i2t_r5 && a->i2t_r10 == b->i2t_r10 && a->t2i_r1 == b->t2i_r1 &&
           a->t2i_r5 == b->t2i_r5 && a->t2i_r10 == b->t2i_r10 && a->rsum == b->rsum &&
           a->i2t_median_rank == b->i2t_median_rank && a->i2t_mean_rank == b->i2t_mean_rank &&
           a->t2i_median_rank == b->t2i_median_rank && a->t2i_mean_rank == b->t2i_mean_rank;
}

/* Returns the first index where the rank lists differ, or -1. */
static int first_diff(const int32_t *a, const int32_t *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return i;
    return -1;
}

/* 1..7 captions per image, shuffled order. Returns M. */
static int random_map(Rng *r, int N, int32_t *map, int cap) {
    int M = 0;
    for (int i = 0; i < N; i++) {
        int k = 1 + (int)rng_below(r, 7);
        for (int j = 0; j < k && M < cap; j++) map[M++] = i;
    }
    for (int c = M - 1; c > 0; c--) {
        int j = (int)rng_below(r, (uint64_t)c + 1);
        int32_t t = map[c];
        map[c] = map[j];
        map[j] = t;
    }
    return M;
}

TEST(eval_retrieval_hand_ties) {
    /* 3 images, 5 captions; equal scores are written with the same literal so they compare equal. */
    const float S[3 * 5] = {
        0.5f, 0.9f, 0.9f, 0.4f, 0.9f, /* image 0, own captions 0,1 */
        0.7f, 0.7f, 0.7f, 0.2f, 0.3f, /* image 1, own caption 2 */
        0.5f, 0.4f, 0.8f, 0.4f, 0.4f, /* image 2, own captions 3,4 */
    };
    const int32_t map[5] = {0, 0, 1, 2, 2};
    /* i2t: image 0: best own = caption 1 (0.9 ties with 2 and 4, which have higher indices) -> 0.
     *      image 1: caption 2 at 0.7, captions 0 and 1 tie with lower index -> 2.
     *      image 2: own 3 and 4 tie at 0.4, best = 3; ahead: c0 0.5, c2 0.8, c1 0.4 (lower index) -> 3.
     * t2i: c0 column (0.5, 0.7, 0.5), own 0: image 1 ahead, image 2 ties with higher index -> 1.
     *      c1 (0.9, 0.7, 0.4) own 0 -> 0.  c2 (0.9, 0.7, 0.8) own 1 -> 2.
     *      c3 (0.4, 0.2, 0.4) own 2: image 0 ties with lower index -> 1.  c4 (0.9, 0.3, 0.4) own 2 -> 1. */
    const int32_t want_i2t[3] = {0, 2, 3}, want_t2i[5] = {1, 0, 2, 1, 1};
    int32_t i2t[3], t2i[5];
    RetrievalMetrics m, b;
    EXPECT(retrieval_evaluate_scores(&m, S, 3, 5, map, i2t, t2i) == MODX_OK, "%s", modx_last_error());
    int d = first_diff(i2t, want_i2t, 3);
    EXPECT(d < 0, "i2t rank of image %d: got %d want %d", d, i2t[d < 0 ? 0 : d], want_i2t[d < 0 ? 0 : d]);
    d = first_diff(t2i, want_t2i, 5);
    EXPECT(d < 0, "t2i rank of caption %d: got %d want %d", d, t2i[d < 0 ? 0 : d], want_t2i[d < 0 ? 0 : d]);
    EXPECT(fabs(m.i2t_r1 - 100.0 / 3) < 1e-9 && m.i2t_r5 == 100 && m.i2t_r10 == 100, "i2t R@K %g %g %g", m.i2t_r1,
           m.i2t_r5, m.i2t_r10);
    EXPECT(m.t2i_r1 == 20 && m.t2i_r5 == 100 && m.t2i_r10 == 100, "t2i R@K %g %g %g", m.t2i_r1, m.t2i_r5, m.t2i_r10);
    EXPECT(fabs(m.rsum - (100.0 / 3 + 200 + 20 + 200)) < 1e-9, "rsum %g", m.rsum);
    /* medians: i2t ranks {0,2,3} -> 2 -> 3 (1-based); t2i {0,1,1,1,2} -> 1 -> 2. means: 5/3+1, 5/5+1. */
    EXPECT(m.i2t_median_rank == 3 && fabs(m.i2t_mean_rank - (5.0 / 3 + 1)) < 1e-12, "i2t medr %g meanr %g",
           m.i2t_median_rank, m.i2t_mean_rank);
    EXPECT(m.t2i_median_rank == 2 && m.t2i_mean_rank == 2, "t2i medr %g meanr %g", m.t2i_median_rank, m.t2i_mean_rank);
    int32_t bi[3], bt[5];
    EXPECT(retrieval_bruteforce_scores(&b, S, 3, 5, map, bi, bt) == MODX_OK, "%s", modx_last_error());
    EXPECT(first_diff(bi, want_i2t, 3) < 0 && first_diff(bt, want_t2i, 5) < 0, "brute force disagrees with hand ranks");
    EXPECT(metrics_equal(&m, &b), "metrics differ from brute force");
}

TEST(eval_retrieval_all_equal_scores) {
    /* Every score equal: an image's rank is the index of its first caption, a caption's is its image's index. */
    enum { N = 4, M = 9 };
    const int32_t map[M] = {2, 0, 3, 1, 0, 2, 3, 1, 1};
    const int32_t want_i2t[N] = {1, 3, 0, 2};
    float S[N * M];
    for (int k = 0; k < N * M; k++) S[k] = 0.25f;
    int32_t i2t[N], t2i[M];
    RetrievalMetrics m;
    EXPECT(retrieval_evaluate_scores(&m, S, N, M, map, i2t, t2i) == MODX_OK, "%s", modx_last_error());
    for (int i = 0; i < N; i++) EXPECT(i2t[i] == want_i2t[i], "image %d rank %d want %d", i, i2t[i], want_i2t[i]);
    for (int c = 0; c < M; c++) EXPECT(t2i[c] == map[c], "caption %d rank %d want %d", c, t2i[c], map[c]);
    /* The same through features: zero vectors give all-zero scores. */
    float img[N * 2] = {0}, txt[M * 2] = {0};
    EXPECT(retrieval_evaluate(&m, img, N, txt, M, 2, map, i2t, t2i) == MODX_OK, "%s", modx_last_error());
    for (int i = 0; i < N; i++) EXPECT(i2t[i] == want_i2t[i], "features: image %d rank %d", i, i2t[i]);
    for (int c = 0; c < M; c++) EXPECT(t2i[c] == map[c], "features: caption %d rank %d", c, t2i[c]);
}

/* Compares blocked (several block sizes), score-matrix and brute-force paths. */
static void check_paths(const float *img, int N, const float *txt, int M, int E, const int32_t *map, int *ok,
                        int *mismatches) {
    int32_t *ri = malloc(sizeof(int32_t) * N * 2), *rt = malloc(sizeof(int32_t) * M * 2);
    RetrievalMetrics ref, got;
    *ok = retrieval_bruteforce(&ref, img, N, txt, M, E, map, ri, rt) == MODX_OK;
    *mismatches = 0;
    size_t blocks[4] = {1, (size_t)3 * M + 1, (size_t)7 * N + 5, RETRIEVAL_BLOCK_FLOATS};
    for (int b = 0; b < 4 && *ok; b++) {
        *ok = retrieval_evaluate_blocked(&got, img, N, txt, M, E, map, ri + N, rt + M, blocks[b]) == MODX_OK;
        *mismatches += (first_diff(ri, ri + N, N) >= 0) + (first_diff(rt, rt + M, M) >= 0) + !metrics_equal(&ref, &got);
    }
    free(ri);
    free(rt);
}

TEST(eval_retrieval_random_matches_bruteforce) {
    Rng r;
    rng_seed(&r, 11);
    enum { N = 61, E = 24, CAP = 61 * 7 };
    int32_t map[CAP];
    int M = random_map(&r, N, map, CAP);
    float *img = malloc(sizeof(float) * N * E), *txt = malloc(sizeof(float) * M * E);
    for (int k = 0; k < N * E; k++) img[k] = (float)rng_normal(&r);
    for (int c = 0; c < M; c++)
        for (int e = 0; e < E; e++) /* captions correlated with their image so ranks spread over 0..N */
            txt[c * E + e] = img[map[c] * E + e] + 1.5f * (float)rng_normal(&r);
    int ok, mism;
    check_paths(img, N, txt, M, E, map, &ok, &mism);
    EXPECT(ok, "%s", modx_last_error());
    EXPECT(mism == 0, "%d mismatching comparisons against brute force (M=%d)", mism, M);
    RetrievalMetrics m;
    EXPECT(retrieval_evaluate(&m, img, N, txt, M, E, map, NULL, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(m.i2t_r1 > 0 && m.i2t_r1 < 100 && m.t2i_r10 > m.t2i_r1, "degenerate random case: %g %g", m.i2t_r1, m.t2i_r10);
    free(img);
    free(txt);
}

TEST(eval_retrieval_quantised_ties_match_bruteforce) {
    /* Entries in {-1, -0.5, 0, 0.5, 1}: every dot product is exact in float, so scores tie often and all paths
     * see the same values. */
    Rng r;
    rng_seed(&r, 12);
    enum { N = 40, E = 3, CAP = 40 * 7 };
    int32_t map[CAP];
    int M = random_map(&r, N, map, CAP);
    float img[N * E], txt[CAP * E];
    for (int k = 0; k < N * E; k++) img[k] = 0.5f * ((float)rng_below(&r, 5) - 2);
    for (int k = 0; k < M * E; k++) txt[k] = 0.5f * ((float)rng_below(&r, 5) - 2);
    int ok, mism;
    check_paths(img, N, txt, M, E, map, &ok, &mism);
    EXPECT(ok, "%s", modx_last_error());
    EXPECT(mism == 0, "%d mismatching comparisons against brute force", mism);
    /* The score-matrix path agrees with the brute force on the same (exact) scores. */
    float *S = malloc(sizeof(float) * N * M);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < M; c++) {
            double d = 0;
            for (int e = 0; e < E; e++) d += img[i * E + e] * txt[c * E + e];
            S[i * M + c] = (float)d;
        }
    int32_t a[N + CAP], b[N + CAP];
    RetrievalMetrics ma, mb;
    EXPECT(retrieval_evaluate_scores(&ma, S, N, M, map, a, a + N) == MODX_OK, "%s", modx_last_error());
    EXPECT(retrieval_bruteforce(&mb, img, N, txt, M, E, map, b, b + N) == MODX_OK, "%s", modx_last_error());
    int d = first_diff(a, b, N + M);
    EXPECT(d < 0, "scores path rank %d: %d vs brute force %d", d, a[d < 0 ? 0 : d], b[d < 0 ? 0 : d]);
    EXPECT(metrics_equal(&ma, &mb), "metrics differ");
    int ties = 0;
    for (int c = 1; c < M; c++) ties += S[c] == S[0];
    EXPECT(ties > 3, "expected many tied scores, got %d", ties);
    free(S);
}

TEST(eval_retrieval_rejects_bad_input) {
    const float S[2 * 3] = {1, 0, 0, 0, 1, 0};
    const int32_t map_missing[3] = {0, 0, 0}; /* image 1 has no captions */
    RetrievalMetrics m;
    EXPECT(retrieval_evaluate_scores(&m, S, 2, 3, map_missing, NULL, NULL) == MODX_ERR_INVALID, "no-caption image accepted");
    EXPECT(strstr(modx_last_error(), "image 1 has no captions"), "message: %s", modx_last_error());
    EXPECT(retrieval_bruteforce_scores(&m, S, 2, 3, map_missing, NULL, NULL) == MODX_ERR_INVALID, "brute force accepted it");
    float img[2 * 3] = {1, 0, 0, 0, 1, 0}, txt[3 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    EXPECT(retrieval_evaluate(&m, img, 2, txt, 3, 3, map_missing, NULL, NULL) == MODX_ERR_INVALID, "features path accepted it");
    const int32_t map_range[3] = {0, 1, 2};
    EXPECT(retrieval_evaluate_scores(&m, S, 2, 3, map_range, NULL, NULL) == MODX_ERR_INVALID, "out-of-range map accepted");
    EXPECT(strstr(modx_last_error(), "caption 2 maps to image 2"), "message: %s", modx_last_error());
    const int32_t map_ok[3] = {0, 1, 1};
    txt[5] = NAN;
    EXPECT(retrieval_evaluate(&m, img, 2, txt, 3, 3, map_ok, NULL, NULL) == MODX_ERR_INVALID, "NaN feature accepted");
    EXPECT(retrieval_evaluate(&m, img, 0, txt, 3, 3, map_ok, NULL, NULL) == MODX_ERR_INVALID, "N = 0 accepted");
    txt[5] = 0;
    EXPECT(retrieval_evaluate(&m, img, 2, txt, 3, 3, map_ok, NULL, NULL) == MODX_OK, "%s", modx_last_error());
    /* image 0 -> caption 0 first; image 1: captions 1 (score 1) and 2 (score 0) -> 0. */
    EXPECT(m.i2t_r1 == 100 && m.t2i_r1 == 100.0 * 2 / 3, "tiny case R@1 %g %g", m.i2t_r1, m.t2i_r1);
}

/* ---- zero-shot ---- */

TEST(eval_zeroshot_prompt_format) {
    char buf[64];
    EXPECT(zeroshot_format_prompt(buf, sizeof buf, "a photo of a {}.", "dog") == MODX_OK, "%s", modx_last_error());
    EXPECT(!strcmp(buf, "a photo of a dog."), "got '%s'", buf);
    EXPECT(zeroshot_format_prompt(buf, sizeof buf, "{} and {}", "x") == MODX_OK && !strcmp(buf, "x and x"), "got '%s'", buf);
    EXPECT(zeroshot_format_prompt(buf, sizeof buf, "no hole", "x") == MODX_ERR_INVALID, "template without {} accepted");
    EXPECT(zeroshot_format_prompt(buf, 8, "a photo of a {}.", "dog") == MODX_ERR_INVALID, "overflow accepted");
}

TEST(eval_zeroshot_classifier_and_ties) {
    /* class 0 prompts (3,0,0), (0,4,0) -> normalised, mean (.5,.5,0), renormalised (1,1,0)/sqrt2;
     * class 1 prompts (0,0,2), (0,0,5) -> (0,0,1); class 2 prompts (1,0,0), (2,0,0) -> (1,0,0). */
    const float pf[3 * 2 * 3] = {3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 5, 1, 0, 0, 2, 0, 0};
    float cls[9];
    EXPECT(zeroshot_classifier(cls, pf, 3, 2, 3) == MODX_OK, "%s", modx_last_error());
    const float r = (float)(1 / sqrt(2.0));
    const float want[9] = {r, r, 0, 0, 0, 1, 1, 0, 0};
    EXPECT_CLOSE("classifier", cls, want, 9, 1e-7, 0);
    /* Hand classifier with exact values; image 1 ties classes 0 and 2 (lower index wins), image 2 ties
     * classes 1 and 2 with label 2 (class 1 is ahead -> top-1 wrong, top-5 right). */
    const float C[3 * 2] = {1, 0, 0, 1, 0.5f, 0.5f};
    const float img[4 * 2] = {0, 1, 1, 0.5f, 0.5f, 1, 1, 0};
    /* scores: img0 (0, 1, .5) label 1 -> rank 0; img1 (1, .5, .75) label 0 -> 0;
     *         img2 (.5, 1, .75) label 2 -> rank 1; img3 (1, 0, .5) label 1 -> rank 2. */
    const int32_t labels[4] = {1, 0, 2, 1};
    ZeroShotResult z;
    int32_t pred[4];
    EXPECT(zeroshot_evaluate(&z, img, 4, C, 3, 2, labels, pred) == MODX_OK, "%s", modx_last_error());
    EXPECT(z.n == 4 && z.top1 == 50 && z.top5 == 100, "top1 %g top5 %g", z.top1, z.top5);
    EXPECT(pred[0] == 1 && pred[1] == 0 && pred[2] == 1 && pred[3] == 0, "pred %d %d %d %d", pred[0], pred[1], pred[2], pred[3]);
    const float tie[2] = {1, 1}; /* scores (1, 1, 1): class k has rank k */
    const int32_t l2[1] = {2};
    EXPECT(zeroshot_evaluate(&z, tie, 1, C, 3, 2, l2, pred) == MODX_OK && z.top1 == 0 && pred[0] == 0, "tie: top1 %g pred %d",
           z.top1, pred[0]);
    const int32_t bad[1] = {3};
    EXPECT(zeroshot_evaluate(&z, tie, 1, C, 3, 2, bad, NULL) == MODX_ERR_INVALID, "label 3 of 3 classes accepted");
    const float zero[2 * 3] = {0};
    EXPECT(zeroshot_classifier(cls, zero, 1, 2, 3) == MODX_ERR_INVALID, "zero prompt feature accepted");
}

TEST(eval_zeroshot_synthetic_top5) {
    /* 12 classes; image = its class direction + noise; top-5 counts an image iff fewer than 5 classes beat it. */
    enum { K = 12, P = 3, E = 16, N = 300 };
    Rng r;
    rng_seed(&r, 21);
    float pf[K * P * E], cls[K * E], img[N * E];
    int32_t lab[N];
    for (int k = 0; k < K * P * E; k++) pf[k] = (float)rng_normal(&r);
    EXPECT(zeroshot_classifier(cls, pf, K, P, E) == MODX_OK, "%s", modx_last_error());
    for (int i = 0; i < N; i++) {
        lab[i] = (int32_t)rng_below(&r, K);
        for (int e = 0; e < E; e++) img[i * E + e] = cls[lab[i] * E + e] + 0.35f * (float)rng_normal(&r);
    }
    long c1 = 0, c5 = 0;
    for (int i = 0; i < N; i++) {
        double s[K];
        for (int k = 0; k < K; k++) {
            s[k] = 0;
            for (int e = 0; e < E; e++) s[k] += (double)img[i * E + e] * cls[k * E + e];
        }
        int ahead = 0;
        for (int k = 0; k < K; k++) ahead += s[k] > s[lab[i]];
        c1 += ahead == 0;
        c5 += ahead < 5;
    }
    ZeroShotResult z;
    EXPECT(zeroshot_evaluate(&z, img, N, cls, K, E, lab, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(z.top1 == 100.0 * c1 / N && z.top5 == 100.0 * c5 / N, "top1 %g (want %g) top5 %g (want %g)", z.top1,
           100.0 * c1 / N, z.top5, 100.0 * c5 / N);
    EXPECT(z.top1 > 20 && z.top1 < 100 && z.top5 > z.top1, "degenerate case: top1 %g top5 %g", z.top1, z.top5);
}

/* ---- linear probe ---- */

TEST(eval_linprobe_gradient_check) {
    enum { N = 7, E = 4, K = 3, P = K * (E + 1) };
    Rng r;
    rng_seed(&r, 31);
    double x[N * E], th[P], g[P], gn[P], z[N * K];
    int32_t y[N];
    for (int k = 0; k < N * E; k++) x[k] = rng_normal(&r);
    for (int k = 0; k < P; k++) th[k] = rng_normal(&r);
    for (int i = 0; i < N; i++) y[i] = (int32_t)rng_below(&r, K);
    linprobe_loss(th, x, y, N, E, K, 0.3, g, z);
    double maxrel = 0;
    for (int k = 0; k < P; k++) {
        double h = 1e-5, keep = th[k];
        th[k] = keep + h;
        double fp = linprobe_loss(th, x, y, N, E, K, 0.3, NULL, z);
        th[k] = keep - h;
        double fm = linprobe_loss(th, x, y, N, E, K, 0.3, NULL, z);
        th[k] = keep;
        gn[k] = (fp - fm) / (2 * h);
        double rel = fabs(gn[k] - g[k]) / (fabs(g[k]) + 1e-6);
        if (rel > maxrel) maxrel = rel;
    }
    EXPECT(maxrel < 1e-6, "max relative gradient error %g", maxrel);
}

TEST(eval_linprobe_separable) {
    enum { K = 4, E = 8, NTR = 160, NTE = 80 };
    Rng r;
    rng_seed(&r, 32);
    float xtr[NTR * E], xte[NTE * E];
    int32_t ytr[NTR], yte[NTE];
    for (int i = 0; i < NTR + NTE; i++) {
        float *x = i < NTR ? xtr + i * E : xte + (i - NTR) * E;
        int32_t c = (int32_t)(i % K);
        (i < NTR ? ytr : yte)[i < NTR ? i : i - NTR] = c;
        for (int e = 0; e < E; e++) x[e] = (e == c ? 2.0f : 0.0f) + 0.4f * (float)rng_normal(&r);
    }
    LinProbeOptions o = linprobe_default_options();
    o.l2 = 1e-2;
    LinProbe p, q;
    EXPECT(linprobe_train(&p, xtr, NTR, E, ytr, K, &o) == MODX_OK, "%s", modx_last_error());
    double atr, ate;
    EXPECT(linprobe_accuracy(&atr, &p, xtr, NTR, ytr, NULL) == MODX_OK, "%s", modx_last_error());
    EXPECT(linprobe_accuracy(&ate, &p, xte, NTE, yte, NULL) == MODX_OK, "%s", modx_last_error());
    int conv = p.grad_max < o.tol, iters = p.iters;
    double loss = p.loss;
    EXPECT(atr == 100 && ate == 100, "train %g%% test %g%%", atr, ate);
    EXPECT(conv && iters < o.max_iter, "not converged: %d iterations, max |grad| %g", iters, p.grad_max);
    EXPECT(loss < 0.2 && loss > 0, "final loss %g", loss);
    /* deterministic: a second run gives bit-identical weights */
    EXPECT(linprobe_train(&q, xtr, NTR, E, ytr, K, &o) == MODX_OK, "%s", modx_last_error());
    int same = !memcmp(p.W, q.W, sizeof(double) * K * E) && !memcmp(p.b, q.b, sizeof(double) * K);
    linprobe_free(&p);
    linprobe_free(&q);
    EXPECT(same, "two runs differ");
    ytr[5] = K;
    EXPECT(linprobe_train(&p, xtr, NTR, E, ytr, K, &o) == MODX_ERR_INVALID, "label K accepted");
}

TEST(eval_linprobe_symmetric_optimum) {
    /* Two classes at x = +-1 (1-D), two samples each. By symmetry b1 - b0 = 0 and w0 = -w1; the optimum
     * margin d = w1 - w0 solves the stationarity condition below, found here by bisection. */
    const float x[4] = {1, 1, -1, -1};
    const int32_t y[4] = {1, 1, 0, 0};
    LinProbeOptions o = linprobe_default_options();
    o.l2 = 0.1;
    o.tol = 1e-10;
    LinProbe p;
    EXPECT(linprobe_train(&p, x, 4, 1, y, 2, &o) == MODX_OK, "%s", modx_last_error());
    double d = p.W[1] - p.W[0], bd = p.b[1] - p.b[0], sum = p.W[0] + p.W[1];
    linprobe_free(&p);
    /* with logits w_k x: margin d = w1 - w0, and the penalty keeps w0 = -w1 (sum 0).
     * gradient in w1: -(1 - sigmoid(d)) + l2 w1 = 0 with w1 = d / 2. */
    double lo = 0, hi = 20;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        double gval = -(1 - 1 / (1 + exp(-mid))) + o.l2 * mid / 2;
        if (gval < 0) lo = mid; else hi = mid;
    }
    EXPECT(fabs(d - lo) < 1e-8 && fabs(bd) < 1e-9 && fabs(sum) < 1e-9, "margin %.12g want %.12g, bias diff %g, sum %g", d,
           lo, bd, sum);
}
