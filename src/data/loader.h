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
 * uses batch step. Nothing is allocated after loader_create.
 *
 * Several parts (LoaderConfig.parts): the batches come from the union of
 * (cache, image subset) parts whose caches share image size and context
 * length (checked; cache_check_mixable checks the tokenizer with names).
 *   uniform (proportions = 0): the union is one list (part 0's images, then
 *     part 1's, ...) visited as above; an epoch sees every image of every
 *     part once. With one part this is exactly the single-cache loader: the
 *     same batches, bit for bit.
 *   proportions = 1: every batch takes k_p samples from part p, k_p the
 *     part's share of B (shares normalised, largest remainder; each k_p ≥ 1),
 *     part 0's first. Part p walks its own epochs (its images shuffled with
 *     (seed, p, its epoch), a caption per its epoch) through sample positions
 *     step·k_p ... step·k_p + k_p − 1, so a small part repeats sooner than a
 *     large one. An epoch is still ⌊n / B⌋ batches, n the union's size;
 *     drop_last must be 1.
 * A sample's part is in Batch.part; its image and caption index that part's
 * cache. Part p > 0 draws captions with a hash that also mixes in p. */
#ifndef MODX_DATA_LOADER_H
#define MODX_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef struct {
    const Cache *cache;      /* borrowed; must outlive the loader */
    const uint32_t *images;  /* subset (copied); NULL = every image */
    size_t n_images;
    double share;            /* proportions mode: > 0, relative to the other parts' */
} LoaderPart;

typedef struct {
    const Cache *cache;      /* borrowed; must outlive the loader (ignored when n_parts > 0) */
    const uint32_t *images;  /* subset of image indices (copied); NULL = every image */
    size_t n_images;         /* length of `images` (ignored when images is NULL) */
    int batch;               /* B > 0 */
    uint64_t seed;
    int drop_last;           /* see above */
    int shuffle;             /* 0: the subset's own order every epoch (captions still drawn per epoch) */
    int prefetch;            /* 1: background thread */
    const LoaderPart *parts; /* (n_parts) several parts, see above (copied); n_parts = 0: cache/images */
    int n_parts;
    int proportions;         /* 0: uniform over the union's images; 1: each part's share of every batch */
} LoaderConfig;

typedef struct {
    int count;               /* samples filled (B unless the last batch with drop_last = 0) */
    int batch, image_size, context;
    uint64_t step, epoch;
    float *pixels;           /* (B, 3, S, S) */
    int32_t *tokens;         /* (B, T) */
    uint32_t *image_index;   /* (B) image of each sample in the cache */
    uint32_t *caption_index; /* (B) caption of each sample in the cache */
    uint32_t *part;          /* (B) part of each sample (0 with one part) */
} Batch;

typedef struct DataLoader DataLoader;

ModxStatus loader_create(DataLoader **out, const LoaderConfig *cfg);
void loader_free(DataLoader *ld);

uint64_t loader_batches_per_epoch(const DataLoader *ld);
/* Images of the union of the parts. */
size_t loader_n_images(const DataLoader *ld);
int loader_n_parts(const DataLoader *ld);
/* Proportions mode: the samples part p gives every batch (uniform mode: 0). */
int loader_part_batch(const DataLoader *ld, int part);

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
/* The same for an image of part `part` (its cache's indices; the part's own epoch in proportions mode). */
uint32_t loader_part_caption_for(const DataLoader *ld, int part, uint64_t epoch, uint32_t image);

#endif
