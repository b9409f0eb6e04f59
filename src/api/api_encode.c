/* modx_encode_images, modx_encode_texts and modx_similarity (include/modx.h):
 * the towers of clip/model.h run forward only on an inference arena, in
 * batches of API_ENCODE_BATCH rows, as eval/encode.c does for a cache. */
#include <stdlib.h>

#include "api/api.h"
#include "core/error.h"

typedef enum { TOWER_IMAGE, TOWER_TEXT } Tower;

/* Encodes n rows of `in` (images or token rows) with one tower. */
static modx_status encode_rows(const modx_model *model, Tower tower, const void *in, int n, float *features) {
    const char *what = tower == TOWER_IMAGE ? "modx_encode_images" : "modx_encode_texts";
    if (!model || !in || !features) return modx_fail(MODX_ERR_INVALID, "%s: model, input or features is NULL", what);
    if (n < 1) return modx_fail(MODX_ERR_INVALID, "%s: %d rows, expected at least 1", what, n);
    const ClipModel *m = model->clip;
    size_t E = (size_t)m->cfg.embed_dim, S = (size_t)m->cfg.vision.image_size;
    size_t in_row = tower == TOWER_IMAGE ? 3 * S * S : (size_t)m->cfg.text.context_length;
    int max_B = n < API_ENCODE_BATCH ? n : API_ENCODE_BATCH;
    ClipActs *acts = NULL;
    modx_status st = clip_acts_new(&acts, &m->cfg, max_B, 0);
    for (int i0 = 0; st == MODX_OK && i0 < n; i0 += max_B) {
        int B = n - i0 < max_B ? n - i0 : max_B;
        float *f = features + (size_t)i0 * E;
        if (tower == TOWER_IMAGE)
            st = clip_encode_image(m, acts, (const float *)in + (size_t)i0 * in_row, B, f);
        else
            st = clip_encode_text(m, acts, (const int32_t *)in + (size_t)i0 * in_row, B, f);
        if (st != MODX_OK) modx_error_prefix("%s: rows %d to %d: ", what, i0, i0 + B - 1);
    }
    clip_acts_free(acts);
    return st;
}

modx_status modx_encode_images(const modx_model *model, const float *pixels, int n, float *features) {
    return encode_rows(model, TOWER_IMAGE, pixels, n, features);
}

modx_status modx_encode_texts(const modx_model *model, const int32_t *tokens, int n, float *features) {
    return encode_rows(model, TOWER_TEXT, tokens, n, features);
}

modx_status modx_similarity(const float *a, int n, const float *b, int m, int dim, float *out) {
    if (!a || !b || !out) return modx_fail(MODX_ERR_INVALID, "modx_similarity: a, b or out is NULL");
    if (n < 1 || m < 1 || dim < 1)
        return modx_fail(MODX_ERR_INVALID, "modx_similarity: sizes %d x %d of dimension %d, expected all >= 1", n, m,
                         dim);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            const float *x = a + (size_t)i * (size_t)dim, *y = b + (size_t)j * (size_t)dim;
            double s = 0;
            for (int k = 0; k < dim; k++) s += (double)x[k] * (double)y[k];
            out[(size_t)i * (size_t)m + (size_t)j] = (float)s;
        }
    return MODX_OK;
}
