#include "eval/probe.h"

#include <stdlib.h>
#include <string.h>

#include "eval/encode.h"
#include "io/checkpoint.h"

void probe_set_free(ProbeSet *ps) {
    if (!ps) return;
    free(ps->images), free(ps->captions);
    memset(ps, 0, sizeof *ps);
}

ModxStatus probe_select(ProbeSet *out, const Cache *c, const char *name, const uint32_t *images, size_t n_images,
                        int P) {
    memset(out, 0, sizeof *out);
    if (P == 0) P = n_images > (size_t)INT32_MAX ? -1 : (int)n_images;
    if (P < 2 || (size_t)P > n_images)
        return modx_fail(MODX_ERR_INVALID, "%s: probe set of %d pairs requested from %zu images; expected 2 to %zu", name,
                         P, n_images, n_images);
    /* first caption of every image, -1 = none yet */
    int64_t *first = malloc((size_t)c->n_images * sizeof *first);
    out->images = modx_calloc((size_t)P, sizeof(uint32_t), "probe images");
    out->captions = modx_calloc((size_t)P, sizeof(uint32_t), "probe captions");
    if (!first || !out->images || !out->captions) {
        free(first);
        probe_set_free(out);
        return modx_fail(MODX_ERR_NOMEM, "%s: out of memory selecting %d probe pairs", name, P);
    }
    ModxStatus st = MODX_OK;
    for (uint64_t i = 0; i < c->n_images; i++) first[i] = -1;
    for (uint64_t j = c->n_captions; j-- > 0;) first[c->caption_image[j]] = (int64_t)j;
    for (int i = 0; i < P && st == MODX_OK; i++) {
        uint32_t im = images[i];
        if (im >= c->n_images) {
            st = modx_fail(MODX_ERR_INVALID, "%s: probe image %d is index %u, but the cache holds %llu images", name, i,
                           im, (unsigned long long)c->n_images);
        } else if (first[im] == -1) {
            st = modx_fail(MODX_ERR_INVALID, "%s: probe image %d (cache image %u) has no caption", name, i, im);
        } else if (first[im] == -2) {
            st = modx_fail(MODX_ERR_INVALID, "%s: cache image %u is listed twice among the first %d probe images", name,
                           im, P);
        } else {
            out->images[i] = im;
            out->captions[i] = (uint32_t)first[im];
            first[im] = -2;
        }
    }
    free(first);
    if (st != MODX_OK) {
        probe_set_free(out);
        return st;
    }
    out->n = P;
    return MODX_OK;
}

ModxStatus probe_from_encoded(ProbeFeatures *out, const EncodedSet *s, const uint32_t *images, const char *name,
                              const ProbeSet *ps) {
    memset(out, 0, sizeof *out);
    if (ps->n < 1 || ps->n > s->n_images)
        return modx_fail(MODX_ERR_INVALID, "%s: %d probe pairs but %d encoded images", name, ps->n, s->n_images);
    for (int i = 0; i < ps->n; i++)
        if (images[i] != ps->images[i])
            return modx_fail(MODX_ERR_INVALID, "%s: probe image %d is cache image %u but the encoded list has %u there "
                             "(the probe set is the first pairs of this image list: probe_select)", name, i,
                             ps->images[i], images[i]);
    int E = s->E;
    out->n = ps->n, out->e = E;
    out->image = modx_calloc((size_t)ps->n * (size_t)E, sizeof(float), "probe image features");
    out->text = modx_calloc((size_t)ps->n * (size_t)E, sizeof(float), "probe text features");
    ModxStatus st = out->image && out->text ? MODX_OK : MODX_ERR_NOMEM;
    if (st == MODX_OK) memcpy(out->image, s->image_features, (size_t)ps->n * (size_t)E * sizeof(float));
    /* caption rows are in cache order; pick each pair's caption */
    int found = 0;
    for (int k = 0; st == MODX_OK && k < s->n_captions; k++) {
        int i = s->caption_image[k];
        if (i < ps->n && s->caption_ids[k] == ps->captions[i]) {
            memcpy(out->text + (size_t)i * E, s->text_features + (size_t)k * E, (size_t)E * sizeof(float));
            found++;
        }
    }
    if (st == MODX_OK && found != ps->n)
        st = modx_fail(MODX_ERR_INVALID, "%s: %d of %d probe captions were encoded; the probe set does not match the "
                       "cache (select it with probe_select on this cache)", name, found, ps->n);
    if (st != MODX_OK) probe_features_free(out);
    return st;
}

ModxStatus probe_encode(ProbeFeatures *out, const ClipModel *m, const Cache *c, const char *name, const ProbeSet *ps,
                        int batch) {
    memset(out, 0, sizeof *out);
    if (ps->n < 1 || batch < 1)
        return modx_fail(MODX_ERR_INVALID, "%s: probe encoding needs pairs and a positive batch, got %d pairs, batch %d",
                         name, ps->n, batch);
    EncodedSet s;
    MODX_TRY(eval_encode(&s, m, c, name, ps->images, (size_t)ps->n, batch));
    ModxStatus st = probe_from_encoded(out, &s, ps->images, name, ps);
    encoded_set_free(&s);
    return st;
}

ModxStatus probe_encode_checkpoint(ProbeFeatures *out, const char *ckpt_path, const char *config_path, const Cache *c,
                                   const char *name, const ProbeSet *ps, int batch) {
    memset(out, 0, sizeof *out);
    ClipModel *m = NULL;
    MODX_TRY(checkpoint_load_default(&m, ckpt_path, NULL, config_path));
    ModxStatus st = clip_model_check_finite(m, ckpt_path);
    if (st == MODX_OK && (st = probe_encode(out, m, c, name, ps, batch)) != MODX_OK) modx_error_prefix("%s: ", ckpt_path);
    clip_model_free(m);
    return st;
}
