/* Image<->text retrieval with several captions per image (COCO 5k / Flickr30K 1k
 * protocol, SPEC §5).
 *
 * Scores are plain dot products score(i, c) = <img_i, txt_c> (the caller passes
 * L2-normalised features, so these are cosines). Ranks are 0-based counts of
 * candidates ranked ahead:
 *   image->text: for image i, caption c is ahead of caption c' iff
 *       score(i, c) > score(i, c') or (score(i, c) == score(i, c') and c < c');
 *       the image's rank is the best (smallest) rank among its own captions.
 *   text->image: for caption c with own image g, image k is ahead iff
 *       score(k, c) > score(g, c) or (score(k, c) == score(g, c) and k < g).
 * R@K = 100 * (fraction of queries with 0-based rank < K). Median and mean rank
 * are reported 1-based, as the usual evaluation code does:
 *   median_rank = floor(median of 0-based ranks) + 1   (median of an even count
 *                 = mean of the two middle values),
 *   mean_rank   = mean of 0-based ranks + 1.
 * rsum = the sum of the six R@K figures (0..600).
 * Each direction compares scores taken from one gemm_f32 product, so the tie rule
 * applies to those float values; two identical caption vectors get equal
 * scores only as far as the BLAS kernel rounds them alike (exactly
 * representable products always do; the tests rely on that). */
#ifndef MODX_EVAL_RETRIEVAL_H
#define MODX_EVAL_RETRIEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    int n_images, n_captions;
    double i2t_r1, i2t_r5, i2t_r10;         /* percent */
    double t2i_r1, t2i_r5, t2i_r10;         /* percent */
    double rsum;
    double i2t_median_rank, i2t_mean_rank;  /* 1-based */
    double t2i_median_rank, t2i_mean_rank;  /* 1-based */
} RetrievalMetrics;

/* Evaluates retrieval from features: img (N, E), txt (M, E), row-major;
 * txt2img (M) maps each caption to its image in [0, N). Scores are computed
 * with gemm_f32 in blocks of rows so the full N x M matrix is never held
 * (5k x 25k runs in well under 100 MB); ranking runs in parallel over rows.
 * i2t_rank (N) and t2i_rank (M), when not NULL, receive the 0-based ranks.
 * Errors (MODX_ERR_INVALID): N, M or E not positive, a caption mapped outside
 * [0, N), an image without captions, a non-finite feature value. */
ModxStatus retrieval_evaluate(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                              const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank);

/* Largest score block retrieval_evaluate holds at once, in floats (64 MB). */
#define RETRIEVAL_BLOCK_FLOATS ((size_t)16 << 20)

/* retrieval_evaluate with a chosen block size (at least one row is always
 * held); tests use tiny blocks to cover the block edges. */
ModxStatus retrieval_evaluate_blocked(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                                      const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank,
                                      size_t block_floats);

/* The same ranking from a precomputed score matrix scores (N, M), row-major,
 * scores[i * M + c] = score(image i, caption c). Same errors (a non-finite
 * score is rejected). */
ModxStatus retrieval_evaluate_scores(RetrievalMetrics *out, const float *scores, int N, int M,
                                     const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank);

/* Reference implementation: scores in double by plain loops, each rank found by
 * comparing the own candidate against every other one exactly as the rule above
 * states (i2t: every own caption is ranked and the minimum kept). Quadratic and
 * single-threaded; for tests. Same arguments and errors as retrieval_evaluate. */
ModxStatus retrieval_bruteforce(RetrievalMetrics *out, const float *img, int N, const float *txt, int M, int E,
                                const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank);

/* Reference implementation on a precomputed score matrix (N, M). */
ModxStatus retrieval_bruteforce_scores(RetrievalMetrics *out, const float *scores, int N, int M,
                                       const int32_t *txt2img, int32_t *i2t_rank, int32_t *t2i_rank);

/* Fills the metrics from 0-based ranks (i2t_rank: N images, t2i_rank: M captions). */
void retrieval_metrics_from_ranks(RetrievalMetrics *out, const int32_t *i2t_rank, int N, const int32_t *t2i_rank,
                                  int M);

#endif
