#include "eval/encode.h"

#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "data/image.h"

void encoded_set_free(EncodedSet *s) {
    if (!s) return;
    free(s->image_features), free(s->text_features), free(s->caption_image), free(s->caption_ids);
    memset(s, 0, sizeof *s);
}

static ModxStatus check_compat(const ClipModel *m, const Cache *c, const char *name) {
    const ClipConfig *cfg = &m->cfg;
    if (c->image_size != cfg->vision.image_size)
        return modx_fail(MODX_ERR_INVALID, "%s: images are %d px but the model expects %d px (prepare the data with --size %d)",
                         name, c->image_size, cfg->vision.image_size, cfg->vision.image_size);
    if (c->context != cfg->text.context_length)
        return modx_fail(MODX_ERR_INVALID, "%s: captions have context %d but the model expects %d (prepare with --context %d)",
                         name, c->context, cfg->text.context_length, cfg->text.context_length);
    if (c->vocab_size > cfg->text.vocab_size)
        return modx_fail(MODX_ERR_INVALID, "%s: tokenizer has %d ids but the model's vocabulary holds %d", name,
                         c->vocab_size, cfg->text.vocab_size);
    return MODX_OK;
}

/* Every batch's rows from the rank that encoded it (batch k: rank k mod N). */
static ModxStatus share_batches(float *f, size_t n, int batch, int E) {
    for (size_t i0 = 0, k = 0; i0 < n; i0 += (size_t)batch, k++) {
        size_t B = n - i0 < (size_t)batch ? n - i0 : (size_t)batch;
        MODX_TRY(dist_bcast(f + i0 * (size_t)E, B * (size_t)E * sizeof(float), (int)(k % (size_t)dist_size())));
    }
    return MODX_OK;
}

static ModxStatus encode(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                         const uint32_t *images, size_t n, int batch, int N, int me);

/* encode() with an arena of its own when the caller gives none. */
static ModxStatus encode_own_acts(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c,
                                  const char *name, const uint32_t *images, size_t n, int batch, int N, int me) {
    memset(out, 0, sizeof *out);
    if (acts) return encode(out, m, acts, c, name, images, n, batch, N, me);
    MODX_TRY(check_compat(m, c, name));
    if (batch < 1) return modx_fail(MODX_ERR_INVALID, "%s: evaluation batch %d, expected >= 1", name, batch);
    MODX_TRY(clip_acts_new(&acts, &m->cfg, batch, 0));
    ModxStatus st = encode(out, m, acts, c, name, images, n, batch, N, me);
    clip_acts_free(acts);
    return st;
}

ModxStatus eval_encode(EncodedSet *out, const ClipModel *m, const Cache *c, const char *name, const uint32_t *images,
                       size_t n, int batch) {
    return encode_own_acts(out, m, NULL, c, name, images, n, batch, 1, 0);
}

ModxStatus eval_encode_ranks(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                             const uint32_t *images, size_t n, int batch) {
    return encode_own_acts(out, m, acts, c, name, images, n, batch, dist_size(), dist_rank());
}

ModxStatus eval_encode_acts(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                            const uint32_t *images, size_t n, int batch) {
    return encode(out, m, acts, c, name, images, n, batch, 1, 0);
}

static ModxStatus encode(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                         const uint32_t *images, size_t n, int batch, int N, int me) {
    memset(out, 0, sizeof *out);
    MODX_TRY(check_compat(m, c, name));
    if (n == 0 || n > (size_t)INT32_MAX) return modx_fail(MODX_ERR_INVALID, "%s: an evaluation needs 1 to 2^31 images, got %zu", name, n);
    int E = m->cfg.embed_dim, S = c->image_size, T = c->context;
    int32_t *local = malloc((size_t)c->n_images * sizeof(int32_t));
    if (!local) return modx_fail(MODX_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < c->n_images; i++) local[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (images[i] >= c->n_images) {
            free(local);
            return modx_fail(MODX_ERR_INVALID, "%s: image index %u out of range (%llu images)", name, images[i],
                             (unsigned long long)c->n_images);
        }
        local[images[i]] = (int32_t)i;
    }
    size_t M = 0;
    for (uint64_t j = 0; j < c->n_captions; j++) M += local[c->caption_image[j]] >= 0;
    out->n_images = (int)n, out->n_captions = (int)M, out->E = E;
    out->image_features = modx_calloc(n * (size_t)E, sizeof(float), "image features");
    out->text_features = modx_calloc(M * (size_t)E, sizeof(float), "text features");
    out->caption_image = modx_calloc(M, sizeof(int32_t), "caption map");
    out->caption_ids = modx_calloc(M, sizeof(uint32_t), "caption ids");
    float *pix = modx_calloc((size_t)batch * 3 * S * S, sizeof(float), "image batch");
    int32_t *tok = modx_calloc((size_t)batch * T, sizeof(int32_t), "text batch");
    ModxStatus st = (out->image_features && out->text_features && out->caption_image && out->caption_ids && pix && tok)
                        ? MODX_OK
                        : MODX_ERR_NOMEM;
    for (size_t j = 0, k = 0; st == MODX_OK && j < c->n_captions; j++)
        if (local[c->caption_image[j]] >= 0) out->caption_image[k] = local[c->caption_image[j]], out->caption_ids[k++] = (uint32_t)j;
    /* In a job of several ranks (core/dist.h) batch k is rank k mod N's; the
     * batches are the same as in one process, so the features are too. */
    for (size_t i0 = 0, k = 0; st == MODX_OK && i0 < n; i0 += (size_t)batch, k++) {
        if ((int)(k % (size_t)N) != me) continue;
        int B = (int)(n - i0 < (size_t)batch ? n - i0 : (size_t)batch);
        for (int b = 0; b < B; b++) image_normalize(cache_image_pixels(c, images[i0 + b]), S, pix + (size_t)b * 3 * S * S);
        st = clip_encode_image(m, acts, pix, B, out->image_features + i0 * (size_t)E);
    }
    for (size_t j0 = 0, k = 0; st == MODX_OK && j0 < M; j0 += (size_t)batch, k++) {
        if ((int)(k % (size_t)N) != me) continue;
        int B = (int)(M - j0 < (size_t)batch ? M - j0 : (size_t)batch);
        for (int b = 0; b < B; b++) memcpy(tok + (size_t)b * T, cache_caption_tokens(c, out->caption_ids[j0 + b]), (size_t)T * sizeof(int32_t));
        st = clip_encode_text(m, acts, tok, B, out->text_features + j0 * (size_t)E);
    }
    if (st == MODX_OK && N > 1) st = share_batches(out->image_features, n, batch, E);
    if (st == MODX_OK && N > 1) st = share_batches(out->text_features, M, batch, E);
    if (st != MODX_OK) modx_error_prefix("encoding %s: ", name);
    free(pix), free(tok), free(local);
    if (st != MODX_OK) encoded_set_free(out);
    return st;
}

ModxStatus eval_retrieval(RetrievalMetrics *out, const EncodedSet *s) {
    return retrieval_evaluate(out, s->image_features, s->n_images, s->text_features, s->n_captions, s->E,
                              s->caption_image, NULL, NULL);
}
