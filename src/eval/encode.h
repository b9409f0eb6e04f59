/* Encoding a set of images of a dataset cache, and all their captions, with a
 * model: the features every evaluation (retrieval, zero-shot, analysis) starts
 * from. The model runs forward only, in batches, with an inference arena. */
#ifndef MODX_EVAL_ENCODE_H
#define MODX_EVAL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "clip/model.h"
#include "core/error.h"
#include "data/cache.h"
#include "eval/retrieval.h"

typedef struct {
    int n_images, n_captions, E;
    float *image_features;  /* (n_images, E) L2-normalised, in the order of the given image list */
    float *text_features;   /* (n_captions, E) L2-normalised, captions in cache order */
    int32_t *caption_image; /* (n_captions) index into the image list */
    uint32_t *caption_ids;  /* (n_captions) caption index in the cache */
} EncodedSet;

/* Encodes cache images `images[0..n)` (indices into the cache) and every
 * caption of those images, `batch` at a time. The cache must match the model:
 * image size, context length, token ids below the vocabulary size (errors name
 * the cache `name`). */
ModxStatus eval_encode(EncodedSet *out, const ClipModel *m, const Cache *c, const char *name, const uint32_t *images,
                       size_t n, int batch);
/* The same with the caller's inference arena `acts` (clip_acts_new(&acts, &m->cfg, batch, 0)), so that
 * evaluations one after the other reuse memory already touched instead of faulting in a fresh arena
 * each time (the continual driver evaluates every test set after every phase). Same features. */
ModxStatus eval_encode_acts(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                            const uint32_t *images, size_t n, int batch);
/* eval_encode by every rank of a job together (core/dist.h; all must call it
 * alike): batch k is encoded by rank k mod N and broadcast, so every rank ends
 * with the whole set, equal to eval_encode's. In a job of one: eval_encode.
 * acts: the caller's arena as for eval_encode_acts, or NULL for one of its own. */
ModxStatus eval_encode_ranks(EncodedSet *out, const ClipModel *m, ClipActs *acts, const Cache *c, const char *name,
                             const uint32_t *images, size_t n, int batch);
void encoded_set_free(EncodedSet *s);

/* Retrieval metrics (SPEC §5) of an encoded set. */
ModxStatus eval_retrieval(RetrievalMetrics *out, const EncodedSet *s);

#endif
