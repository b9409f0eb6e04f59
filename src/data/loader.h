/* Training batches from a dataset cache.
 *
 * A sample is an image with one of its captions. An epoch visits every image of
 * the subset once, in an order shuffled with (seed, epoch), and pairs each image
 * with one caption drawn with (seed, epoch, image): over the epochs every caption
 * is seen. Batch `step` is epoch = step / batches_per_epoch, position
 * step % batches_per_epoch in that epoch's order, so any batch can be computed
 * directly from (seed, step) without replaying the ones before it: resuming at a
 * global step gives exactly the batches of an uninterrupted run.
 *
 * drop_last = 1 (what contrastive training wants: every batch has B samples and
 * so the same number of negatives): batches_per_epoch = n / B, and the n % B
 * images at the end of each epoch's order are not seen that epoch (a different
 * set every epoch, since the order is reshuffled). drop_last = 0: ceil(n / B)
 * batches, the last one has count = n % B samples and zeroed padding rows.
 *
 * Pixels are normalised CLIP-style (image_normalize) into (B, 3, S, S) floats.
 * With prefetch = 1 a background thread prepares batch step+1 while the caller
 * uses batch step. Nothing is allocated after loader_create. */
#ifndef MODX_DATA_LOADER_H
#define MODX_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef struct {
    const Cache *cache;      /* borrowed; must outlive the loader */
    const uint32_t *images;  /* subset of image indices (copied); NULL = every image */
    size_t n_images;         /* length of `images` (ignored when images is NULL) */
    int batch;               /* B > 0 */
    uint64_t seed;
    int drop_last;           /* see above */
    int shuffle;             /* 0: the subset's own order every epoch (captions still drawn per epoch) */
    int prefetch;            /* 1: background thread */
} LoaderConfig;

typedef struct {
    int count;               /* samples filled (B unless the last batch with drop_last = 0) */
    int batch, image_size, context;
    uint64_t step, epoch;
    float *pixels;           /* (B, 3, S, S) */
    int32_t *tokens;         /* (B, T) */
    uint32_t *image_index;   /* (B) image of each sample in the cache */
    uint32_t *caption_index; /* (B) caption of each sample in the cache */
} Batch;

typedef struct DataLoader DataLoader;

ModxStatus loader_create(DataLoader **out, const LoaderConfig *cfg);
void loader_free(DataLoader *ld);

uint64_t loader_batches_per_epoch(const DataLoader *ld);
size_t loader_n_images(const DataLoader *ld);

/* Batch buffers sized for the loader (free with batch_free). */
ModxStatus batch_alloc(Batch *b, int batch, int image_size, int context);
void batch_free(Batch *b);

/* Computes batch `step` from scratch into `out` (allocated with batch_alloc for
 * this loader's sizes). Thread-compatible with loader_next on the same loader. */
void loader_batch_at(DataLoader *ld, uint64_t step, Batch *out);

/* The next batch of the sequential stream (step 0, 1, ...). The returned batch is
 * owned by the loader and valid until the next call of loader_next/loader_seek/loader_free. */
const Batch *loader_next(DataLoader *ld);
/* The next loader_next returns batch `step`. */
void loader_seek(DataLoader *ld, uint64_t step);
uint64_t loader_step(const DataLoader *ld);

/* The caption drawn for image `image` in epoch `epoch` (index into the cache). */
uint32_t loader_caption_for(const DataLoader *ld, uint64_t epoch, uint32_t image);

#endif
