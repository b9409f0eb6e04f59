#include "eval/retrieval.h"

#include "core/gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"


static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void rank_summary(const int32_t *rank, int n, double *r1, double *r5, double *r10, double *medr,
                         double *meanr, int32_t *scratch) {
    long c1 = 0, c5 = 0, c10 = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        c1 += rank[i] < 1;
        c5 += rank[i] < 5;
        c10 += rank[i] < 10;
        sum += rank[i];
        scratch[i] = rank[i];
    }
    qsort(scratch, (size_t)n, sizeof *scratch, cmp_i32);
    double med = (n % 2) ? scratch[n / 2] : 0.5 * ((double)scratch[n / 2 - 1] + scratch[n / 2]);
    *r1 = 100.0 * c1 / n;
    *r5 = 100.0 * c5 / n;
    *r10 = 100.0 * c10 / n;
    *medr = floor(med) + 1;
    *meanr = sum / n + 1;
}

void retrieval_metrics_from_ranks(RetrievalMetrics *out, const int32_t *i2t_rank, int N, const int32_t *t2i_rank,
                                  int M) {
    CHECK(N > 0 && M > 0, "empty rank lists");
    memset(out, 0, sizeof *out);
    out->n_images = N;
    out->n_captions = M;
    int32_t *scratch = malloc(sizeof(int32_t) * (size_t)(N > M ? N : M));
    CHECK(scratch, "out of memory for %d ranks", N > M ? N : M);
    rank_summary(i2t_rank, N, &out->i2t_r1, &out->i2t_r5, &out->i2t_r10, &out->i2t_median_rank,
                 &out->i2t_mean_rank, scratch);
    rank_summary(t2i_rank, M, &out->t2i_r1, &out->t2i_r5, &out->t2i_r10, &out->t2i_median_rank,
                 &out->t2i_mean_rank, scratch);
    free(scratch);
    out->rsum = out->i2t_r1 + out->i2t_r5 + out->i2t_r10 + out->t2i_r1 + out->t2i_r5 + out->t2i_r10;
}

/* Checks sizes and the caption map; builds the image -> captions lists (CSR,
 * captions in increasing index order). */
static ModxStatus check_map(int N, int M, const int32_t *txt2img, int32_t **start_out, int32_t **list_out) {
    *start_out = *list_out = NULL;
    if (N <= 0 || M <= 0)
        return modx_fail(MODX_ERR_INVALID, "retrieval: expected at least one image and one caption, got %d images, %d captions", N, M);
    int32_t *start = modx_calloc((size_t)N + 1, sizeof *start, "retrieval caption lists");
    int32_t *list = modx_calloc((size_t)M, sizeof *list, "retrieval caption lists");
    if (!start || !list) {
        free(start);
        free(list);
        return MODX_ERR_NOMEM;
    }
    for (int c = 0; c < M; c++) {
        if (txt2img[c] < 0 || txt2img[c] >= N) {
            free(start);
            free(list);
            return modx_fail(MODX_ERR_INVALID, "retrieval: caption %d maps to image %d, expected an index in [0, %d)", c,
                             (int)txt2img[c], N);
        }
        start[txt2img[c] + 1]++;
    }
    for (int i = 0; i < N; i++) {
        if (start[i + 1] == 0) {
            free(start);
            free(list);
            return modx_fail(MODX_ERR_INVALID,
                             "retrieval: image %d has no captions (every image needs at least one caption in the map)", i);
        }
        start[i + 1] += start[i];
    }
    int32_t *fill = modx_calloc((size_t)N, sizeof *fill, "retrieval caption lists");
    if (!fill) {
        free(start);
        free(list);
        return MODX_ERR_NOMEM;
    }
    for (int c = 0; c < M; c++) {
        int i = txt2img[c];
        list[start[i] + fill[i]++] = c;
    }
    free(fill);
    *start_out = start;
    *list_out = list;
    return MODX_OK;
}

static ModxStatus check_finite(const float *x, size_t n, const char *what) {
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k]))
            return modx_fail(MODX_ERR_INVALID, "retrieval: %s value %zu is %g, expected a finite number", what, k,
                             (double)x[k]);
    return MODX_OK;
}

/* Number of the n candidates (values v[k * stride]) ranked ahead of candidate own. */
static int32_t count_ahead(const float *v, size_t stride, int n, int own) {
    float so = v[(size_t)own * stride];
    int32_t ahead = 0;
    for (int k = 0; k < own; k++) ahead += v[(size_t)k * stride] >= so;
    for (int k = own + 1; k < n; k++) ahead += v[(size_t)k * stride] > so;
    return ahead;
}

/* Image->text rank of one image from its row of scores over all M captions. */
static int32_t i2t_rank_row(const float *row, int M, const int32_t *own, int nown) {
    int best = own[0]; /* own captions come in increasing order, so ">" keeps the lowest index on ties */
    for (int k = 1; k < nown; k++)
        if (row[own[k]] > row[best]) best = own[k];
    return count_ahead(row, 1, M, best);
}

static ModxStatus finish(RetrievalMetrics *out, int32_t *i2t, int N, int32_t *t2i, int M, int32_t *i2t_out,
                         int32_t *t2i_out) {
    retrieval_metrics_from_ranks(out, i2t, N, t2i, M);
    if (i2t_out) memcpy(i2t_out, i2t, sizeof(int32_t) * (size_t)N);
    if (t2i_out) memcpy(t2i_out, t2i, sizeof(int32_t) * (size_t)M);
    return MODX_OK;
}

ModxStatus retrieval_evaluate(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                              const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank) {
    return retrieval_evaluate_blocked(out, img, N, txt, M, E, txt2img, i2t_rank, t2i_rank, RETRIEVAL_BLOCK_FLOATS);
}

ModxStatus retrieval_evaluate_blocked(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                                      const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank,
                                      size_t block_floats) {
    if (E <= 0) return modx_fail(MODX_ERR_INVALID, "retrieval: embedding width %d, expected > 0", E);
    int32_t *start = NULL, *list = NULL;
    MODX_TRY(check_map(N, M, txt2img, &start, &list));
    ModxStatus st = MODX_OK;
    int32_t *i2t = NULL, *t2i = NULL;
    float *block = NULL;
    size_t ni, nt;
    if (!size_mul((size_t)N, (size_t)E, &ni) || !size_mul((size_t)M, (size_t)E, &nt)) {
        st = modx_fail(MODX_ERR_INVALID, "retrieval: feature sizes overflow (%d x %d, %d x %d)", N, E, M, E);
        goto fail;
    }
    if ((st = check_finite(img, ni, "image feature")) || (st = check_finite(txt, nt, "caption feature"))) goto fail;

    size_t rows_i = block_floats / (size_t)M, rows_t = block_floats / (size_t)N;
    if (rows_i < 1) rows_i = 1;
    if (rows_t < 1) rows_t = 1;
    if (rows_i > (size_t)N) rows_i = (size_t)N;
    if (rows_t > (size_t)M) rows_t = (size_t)M;
    size_t need = rows_i * (size_t)M > rows_t * (size_t)N ? rows_i * (size_t)M : rows_t * (size_t)N;
    i2t = modx_calloc((size_t)N, sizeof *i2t, "retrieval ranks");
    t2i = modx_calloc((size_t)M, sizeof *t2i, "retrieval ranks");
    block = modx_calloc(need, sizeof *block, "retrieval score block");
    if (!i2t || !t2i || !block) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }

    /* image -> text: block (rows, M) = img[i0 : i0 + rows] * txt^T */
    for (size_t i0 = 0; i0 < (size_t)N; i0 += rows_i) {
        int rows = (int)((size_t)N - i0 < rows_i ? (size_t)N - i0 : rows_i);
        gemm_f32(0, 1, rows, M, E, 1.0f, img + i0 * (size_t)E, E, txt, E,
                    0.0f, block, M);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            size_t i = i0 + (size_t)r;
            i2t[i] = i2t_rank_row(block + (size_t)r * (size_t)M, M, list + start[i], start[i + 1] - start[i]);
        }
    }
    /* text -> image: block (rows, N) = txt[c0 : c0 + rows] * img^T */
    for (size_t c0 = 0; c0 < (size_t)M; c0 += rows_t) {
        int rows = (int)((size_t)M - c0 < rows_t ? (size_t)M - c0 : rows_t);
        gemm_f32(0, 1, rows, N, E, 1.0f, txt + c0 * (size_t)E, E, img, E,
                    0.0f, block, N);
#pragma omp parallel for schedule(static)
        for (int r = 0; r < rows; r++) {
            size_t c = c0 + (size_t)r;
            t2i[c] = count_ahead(block + (size_t)r * (size_t)N, 1, N, txt2img[c]);
        }
    }
    st = finish(out, i2t, N, t2i, M, i2t_rank, t2i_rank);
fail:
    free(block);
    free(i2t);
    free(t2i);
    free(start);
    free(list);
    return st;
}

ModxStatus retrieval_evaluate_scores(RetrievalMetrics *out, const float *scores, int N, int M,
                                     const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank) {
    int32_t *start = NULL, *list = NULL;
    MODX_TRY(check_map(N, M, txt2img, &start, &list));
    ModxStatus st = MODX_OK;
    int32_t *i2t = NULL, *t2i = NULL;
    size_t nm;
    if (!size_mul((size_t)N, (size_t)M, &nm)) {
        st = modx_fail(MODX_ERR_INVALID, "retrieval: score matrix size overflows (%d x %d)", N, M);
        goto fail;
    }
    if ((st = check_finite(scores, nm, "score"))) goto fail;
    i2t = modx_calloc((size_t)N, sizeof *i2t, "retrieval ranks");
    t2i = modx_calloc((size_t)M, sizeof *t2i, "retrieval ranks");
    if (!i2t || !t2i) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        i2t[i] = i2t_rank_row(scores + (size_t)i * (size_t)M, M, list + start[i], start[i + 1] - start[i]);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < M; c++) t2i[c] = count_ahead(scores + c, (size_t)M, N, txt2img[c]);
    st = finish(out, i2t, N, t2i, M, i2t_rank, t2i_rank);
fail:
    free(i2t);
    free(t2i);
    free(start);
    free(list);
    return st;
}

/* ---- reference implementation ---- */

/* score(i, c) from features (double dot) or from a score matrix. */
typedef struct {
    const float *img, *txt, *scores;
    int M, E;
} ScoreSource;

static double score_at(const ScoreSource *s, int i, int c) {
    if (s->scores) return s->scores[(size_t)i * (size_t)s->M + (size_t)c];
    double d = 0;
    for (int e = 0; e < s->E; e++) d += (double)s->img[(size_t)i * s->E + e] * s->txt[(size_t)c * s->E + e];
    return d;
}

static ModxStatus bruteforce(RetrievalMetrics *out, const ScoreSource *s, int N, int M, const int32_t *txt2img,
                             int32_t *i2t_rank, int32_t *t2i_rank) {
    int32_t *start = NULL, *list = NULL;
    MODX_TRY(check_map(N, M, txt2img, &start, &list));
    free(start);
    free(list);
    ModxStatus st = MODX_OK;
    int32_t *i2t = modx_calloc((size_t)N, sizeof *i2t, "retrieval ranks");
    int32_t *t2i = modx_calloc((size_t)M, sizeof *t2i, "retrieval ranks");
    double *row = modx_calloc((size_t)(N > M ? N : M), sizeof *row, "retrieval scores");
    if (!i2t || !t2i || !row) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < M; c++) {
            row[c] = score_at(s, i, c);
            if (!isfinite(row[c])) {
                st = modx_fail(MODX_ERR_INVALID, "retrieval: score (%d, %d) is not finite", i, c);
                goto fail;
            }
        }
        int32_t best = INT32_MAX;
        for (int c = 0; c < M; c++) {
            if (txt2img[c] != i) continue;
            int32_t r = 0;
            for (int j = 0; j < M; j++)
                if (j != c && (row[j] > row[c] || (row[j] == row[c] && j < c))) r++;
            if (r < best) best = r;
        }
        i2t[i] = best;
    }
    for (int c = 0; c < M; c++) {
        for (int k = 0; k < N; k++) row[k] = score_at(s, k, c);
        int g = txt2img[c];
        int32_t r = 0;
        for (int k = 0; k < N; k++)
            if (k != g && (row[k] > row[g] || (row[k] == row[g] && k < g))) r++;
        t2i[c] = r;
    }
    st = finish(out, i2t, N, t2i, M, i2t_rank, t2i_rank);
fail:
    free(i2t);
    free(t2i);
    free(row);
    return st;
}

ModxStatus retrieval_bruteforce(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                                const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank) {
    if (E <= 0) return modx_fail(MODX_ERR_INVALID, "retrieval: embedding width %d, expected > 0", E);
    ScoreSource s = {img, txt, NULL, M, E};
    return bruteforce(out, &s, N, M, txt2img, i2t_rank, t2i_rank);
}

ModxStatus retrieval_bruteforce_scores(RetrievalMetrics *out, const float *scores, int N, int M,
                                       const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank) {
    ScoreSource s = {NULL, NULL, scores, M, 0};
    return bruteforce(out, &s, N, M, txt2img, i2t_rank, t2i_rank);
}
