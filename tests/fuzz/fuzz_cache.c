/* Fuzz target: the dataset cache header and section validation from memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t *buf = malloc(size + 8); /* the reader wants 8-byte alignment */
    if (!buf) return 0;
    memcpy(buf, data, size);
    for (int verify = 0; verify < 2; verify++) {
        Cache *c = NULL;
        if (cache_open_mem(&c, buf, size, "fuzz", verify) == MODX_OK) {
            /* Touch everything a reader may touch. */
            volatile uint64_t sink = 0;
            for (uint64_t i = 0; i < c->n_captions; i++) {
                size_t len;
                const char *t = cache_caption_text(c, i, &len);
                sink += (uint64_t)len + (unsigned char)t[len] + (uint64_t)cache_caption_tokens(c, i)[c->context - 1];
                sink += cache_image_pixels(c, c->caption_image[i])[0];
            }
            for (uint64_t d = 0; d < c->n_domains; d++) sink += strlen(c->domain_names[d]);
            (void)sink;
            cache_close(c);
        }
    }
    free(buf);
    return 0;
}
