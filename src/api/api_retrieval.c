/* modx_retrieval_evaluate (include/modx.h): eval/retrieval.h's ranking, the
 * one `modx eval` reports. */
#include <stdlib.h>

#include "core/error.h"
#include "eval/retrieval.h"
#include "modx.h"

modx_status modx_retrieval_evaluate(modx_retrieval *out, const float *images, int n_images, const float *texts,
                                    int n_texts, int dim, const int32_t *text_image) {
    if (!out || !images || !texts)
        return modx_fail(MODX_ERR_INVALID, "modx_retrieval_evaluate: out, images or texts is NULL");
    if (!text_image && n_texts != n_images)
        return modx_fail(MODX_ERR_INVALID,
                         "modx_retrieval_evaluate: %d texts for %d images without a text_image map, expected one "
                         "text per image", n_texts, n_images);
    int32_t *pairs = NULL;
    if (!text_image && n_texts > 0) {
        if (!(pairs = modx_calloc((size_t)n_texts, sizeof *pairs, "retrieval pairs"))) return MODX_ERR_NOMEM;
        for (int j = 0; j < n_texts; j++) pairs[j] = j;
    }
    RetrievalMetrics r;
    modx_status st = retrieval_evaluate(&r, images, n_images, texts, n_texts, dim, text_image ? text_image : pairs,
                                        NULL, NULL);
    free(pairs);
    if (st != MODX_OK) return st;
    *out = (modx_retrieval){r.n_images, r.n_captions, r.i2t_r1, r.i2t_r5, r.i2t_r10, r.t2i_r1, r.t2i_r5, r.t2i_r10,
                            r.rsum, r.i2t_median_rank, r.i2t_mean_rank, r.t2i_median_rank, r.t2i_mean_rank};
    return MODX_OK;
}
