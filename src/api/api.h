/* What the public API's handles hold (include/modx.h declares them opaque).
 * Shared by the src/api files only; nothing else in the library uses them.
 * The API is a thin layer: every function here wraps the internal one that
 * the CLI uses for the same job, so the library and `modx` compute the same
 * bits. */
#ifndef MODX_API_API_H
#define MODX_API_API_H

#include <stdint.h>

#include "clip/model.h"
#include "modx.h"

struct modx_model {
    ClipModel *clip; /* owned */
    int has_seed;    /* 1: built by modx_model_init; the seed goes into saved metadata */
    uint64_t seed;
};

/* Rows per forward call of modx_encode_images / modx_encode_texts. */
#define API_ENCODE_BATCH 64

#endif
