/* Several open dataset caches trained on together: one index space over all
 * their images and captions, and the check that they can share a batch.
 *
 * Global ids: cache i's image j is image_base[i] + j, its caption k is
 * caption_base[i] + k, the bases being the running totals of the caches
 * before it (in the order given). A replay buffer (train/replay.h) stores
 * such ids, so its pairs may come from any of the caches; with one cache the
 * ids are the cache's own indices.
 *
 * Mixing: caches whose images or captions share a batch must have the same
 * image size, context length and tokenizer (vocab CRC); cache_check_mixable
 * refuses others with an error naming both caches and the field. */
#ifndef MODX_DATA_CACHESET_H
#define MODX_DATA_CACHESET_H

#include <stdint.h>

#include "core/error.h"
#include "data/cache.h"

typedef struct {
    int n;
    const Cache **caches;    /* (n) borrowed */
    uint64_t *image_base;    /* (n + 1) image_base[n] = all images */
    uint64_t *caption_base;  /* (n + 1) */
} CacheSet;

/* Bases for `n` caches (copied pointers); more than 2³² images or captions
 * in all is MODX_ERR_INVALID. */
ModxStatus cacheset_init(CacheSet *s, const Cache *const *caches, int n);
void cacheset_free(CacheSet *s);

/* The index of cache `c` in the set, −1 when absent. */
int cacheset_find(const CacheSet *s, const Cache *c);
/* The cache of global image id g (CHECKed < all images) and its index there. */
int cacheset_image(const CacheSet *s, uint32_t g, uint32_t *local);
/* The cache of global caption id g and its index there. */
int cacheset_caption(const CacheSet *s, uint32_t g, uint32_t *local);

/* MODX_ERR_INVALID "A and B cannot be mixed: image size 64 px in A, 32 px in
 * B" (or context length, or tokenizer vocab CRC) when they differ. */
ModxStatus cache_check_mixable(const Cache *a, const char *name_a, const Cache *b, const char *name_b);

#endif
