#include "data/cacheset.h"

#include <stdlib.h>
#include <string.h>

ModxStatus cacheset_init(CacheSet *s, const Cache *const *caches, int n) {
    memset(s, 0, sizeof *s);
    s->caches = modx_calloc(n > 0 ? (size_t)n : 1, sizeof *s->caches, "cache set");
    s->image_base = modx_calloc((size_t)n + 1, sizeof *s->image_base, "cache set");
    s->caption_base = modx_calloc((size_t)n + 1, sizeof *s->caption_base, "cache set");
    if (!s->caches || !s->image_base || !s->caption_base) {
        cacheset_free(s);
        return MODX_ERR_NOMEM;
    }
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->caches[i] = caches[i];
        s->image_base[i + 1] = s->image_base[i] + caches[i]->n_images;
        s->caption_base[i + 1] = s->caption_base[i] + caches[i]->n_captions;
    }
    if (s->image_base[n] > UINT32_MAX || s->caption_base[n] > UINT32_MAX) {
        ModxStatus st = modx_fail(MODX_ERR_INVALID, "%d dataset caches hold %llu images and %llu captions in all; at "
                                  "most %u of each can be trained on together", n,
                                  (unsigned long long)s->image_base[n], (unsigned long long)s->caption_base[n],
                                  UINT32_MAX);
        cacheset_free(s);
        return st;
    }
    return MODX_OK;
}

void cacheset_free(CacheSet *s) {
    free(s->caches);
    free(s->image_base);
    free(s->caption_base);
    memset(s, 0, sizeof *s);
}

int cacheset_find(const CacheSet *s, const Cache *c) {
    for (int i = 0; i < s->n; i++)
        if (s->caches[i] == c) return i;
    return -1;
}

static int locate(const uint64_t *base, int n, uint32_t g, uint32_t *local) {
    CHECK(n > 0 && g < base[n], "global id %u outside the cache set (%llu)", g, (unsigned long long)(n > 0 ? base[n] : 0));
    int i = 0;
    while (g >= base[i + 1]) i++;
    *local = (uint32_t)(g - base[i]);
    return i;
}

int cacheset_image(const CacheSet *s, uint32_t g, uint32_t *local) { return locate(s->image_base, s->n, g, local); }
int cacheset_caption(const CacheSet *s, uint32_t g, uint32_t *local) { return locate(s->caption_base, s->n, g, local); }

ModxStatus cache_check_mixable(const Cache *a, const char *name_a, const Cache *b, const char *name_b) {
    if (a->image_size != b->image_size)
        return modx_fail(MODX_ERR_INVALID, "%s and %s cannot be mixed in one batch: image size %d px in the first, %d px "
                         "in the second (prepare both for the same size)", name_a, name_b, a->image_size, b->image_size);
    if (a->context != b->context)
        return modx_fail(MODX_ERR_INVALID, "%s and %s cannot be mixed in one batch: context length %d in the first, %d "
                         "in the second (prepare both for the same context length)", name_a, name_b, a->context,
                         b->context);
    if (a->vocab_crc != b->vocab_crc)
        return modx_fail(MODX_ERR_INVALID, "%s and %s cannot be mixed in one batch: tokenizer vocab CRC %08x in the "
                         "first, %08x in the second (tokenize both with the same tokenizer)", name_a, name_b,
                         a->vocab_crc, b->vocab_crc);
    return MODX_OK;
}
