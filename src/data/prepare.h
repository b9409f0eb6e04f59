/* Dataset → binary cache: decode each image once (image_load, then
 * image_resize_crop to S×S), tokenize every caption (bpe_encode, context T) and
 * write the cache (cache.h) atomically. Images are decoded in parallel (OpenMP)
 * straight into the cache file's pixel area; every image has its own slot, so
 * the output does not depend on the thread count or schedule.
 *
 * An image that cannot be decoded, or a caption that cannot be tokenized, is an
 * error naming it; with skip_bad it is left out (an image left with no caption
 * is left out too) and listed in the report. */
#ifndef MODX_DATA_PREPARE_H
#define MODX_DATA_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/dataset.h"

/* Called now and then while images are decoded (from one thread at a time,
 * never concurrently): `done` of `total` images decoded after `seconds`. */
typedef void (*PrepareProgressFn)(void *ctx, size_t done, size_t total, double seconds);

typedef struct {
    const char *vocab_path; /* BPE merges file (bpe_load); its CRC-32 goes in the cache */
    int image_size;         /* S */
    int context;            /* T */
    int skip_bad;
    PrepareProgressFn progress; /* NULL: none */
    void *progress_ctx;
    uint64_t max_image_pixels; /* per image, checked from its header; 0: IMAGE_DEFAULT_MAX_PIXELS (image.h) */
} PrepareOptions;

typedef struct {
    size_t n_images, n_captions; /* written */
    char **skipped;              /* (n_skipped) owned messages */
    size_t n_skipped;
} PrepareReport;

ModxStatus data_prepare(const Dataset *ds, const PrepareOptions *opt, const char *out_path, PrepareReport *rep);
void prepare_report_free(PrepareReport *rep);

#endif
