/* Retrieval, zero-shot and linear-probe checks on synthetic features. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/retrieval.h"
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
