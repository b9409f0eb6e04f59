/* The loader over several (cache, subset) parts: one part gives exactly the
 * single-cache batches; uniform mixing visits every image of every part once
 * an epoch; stated shares give each part its share of every batch; any batch
 * is computed from (seed, step) alone (resume); caches that differ are
 * refused; and the cache set's global ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/cacheset.h"
#include "data/loader.h"
#include "harness.h"

/* A cache of n images of S px, image i with 1 + i % 2 captions of T tokens
 * (token 1 = tag, 2 = image), tokenizer CRC `crc`. */
static Cache *parts_cache(const char *name, int n, int S, int T, uint32_t crc, int tag) {
    uint8_t *pixels = calloc((size_t)n * S * S * 3, 1);
    int32_t *tokens = calloc((size_t)n * 2 * T, sizeof *tokens);
    uint32_t *cap_img = calloc((size_t)n * 2, sizeof *cap_img), *dom = calloc((size_t)n, sizeof *dom);
    uint8_t *split = calloc((size_t)n, 1);
    const char **texts = calloc((size_t)n * 2, sizeof *texts);
    const char *names[1] = {"d"};
    size_t m = 0;
    for (int i = 0; i < n * S * S * 3; i++) pixels[i] = (uint8_t)((i * 31 + tag * 7) & 0xff);
    for (int i = 0; i < n; i++) {
        split[i] = 1;
        for (int k = 0; k < 1 + i % 2; k++, m++) {
            cap_img[m] = (uint32_t)i;
            tokens[m * T] = 98, tokens[m * T + 1] = tag, tokens[m * T + 2] = i;
            texts[m] = "caption";
        }
    }
    CacheMeta meta = {.n_images = (uint64_t)n, .n_captions = m, .image_size = S, .context = T, .vocab_size = 100,
                      .vocab_crc = crc, .tokens = tokens, .caption_image = cap_img, .image_domain = dom,
                      .image_split = split, .domain_names = names, .n_domains = 1, .caption_texts = texts};
    char path[512];
    snprintf(path, sizeof path, "%s/%s.cache", harness_tmpdir(), name);
    Cache *c = NULL;
    if (cache_write(path, pixels, &meta) != MODX_OK || cache_open(&c, path, 1) != MODX_OK) c = NULL;
    free(pixels), free(tokens), free(cap_img), free(dom), free(split), free(texts);
    return c;
}

static int same(const Batch *a, const Batch *b) {
    size_t px = (size_t)a->batch * 3 * a->image_size * a->image_size;
    return a->count == b->count && a->step == b->step && a->epoch == b->epoch &&
           !memcmp(a->pixels, b->pixels, px * sizeof(float)) &&
           !memcmp(a->tokens, b->tokens, (size_t)a->batch * a->context * sizeof(int32_t)) &&
           !memcmp(a->image_index, b->image_index, (size_t)a->batch * 4) &&
           !memcmp(a->caption_index, b->caption_index, (size_t)a->batch * 4) &&
           !memcmp(a->part, b->part, (size_t)a->batch * 4);
}

TEST(data_loader_parts_one_part_is_the_single_cache_loader) {
    Cache *a = parts_cache("one", 11, 4, 5, 1, 1);
    EXPECT(a, "cache: %s", modx_last_error());
    uint32_t subset[7] = {10, 2, 3, 5, 8, 9, 0};
    LoaderPart part = {.cache = a, .images = subset, .n_images = 7, .share = 1};
    LoaderConfig single = {.cache = a, .images = subset, .n_images = 7, .batch = 3, .seed = 5, .drop_last = 1, .shuffle = 1};
    LoaderConfig parts = {.batch = 3, .seed = 5, .drop_last = 1, .shuffle = 1, .parts = &part, .n_parts = 1};
    DataLoader *l1, *l2;
    EXPECT(loader_create(&l1, &single) == MODX_OK && loader_create(&l2, &parts) == MODX_OK, "%s", modx_last_error());
    Batch b1, b2;
    EXPECT(batch_alloc(&b1, 3, 4, 5) == MODX_OK && batch_alloc(&b2, 3, 4, 5) == MODX_OK, "alloc");
    for (uint64_t s = 0; s < 12; s++) {
        loader_batch_at(l1, s, &b1);
        loader_batch_at(l2, s, &b2);
        EXPECT(same(&b1, &b2), "step %llu differs between one part and the single-cache config", (unsigned long long)s);
    }
    batch_free(&b1), batch_free(&b2);
    loader_free(l1), loader_free(l2);
    cache_close(a);
}

/* Every (part, image) of the union counted over the batches of one epoch. */
static void count_epoch(DataLoader *ld, uint64_t epoch, int B, int *count_a, int *count_b, int *per_image) {
    Batch b;
    EXPECT(batch_alloc(&b, B, 4, 5) == MODX_OK, "alloc");
    uint64_t bpe = loader_batches_per_epoch(ld);
    for (uint64_t s = epoch * bpe; s < (epoch + 1) * bpe; s++) {
        loader_batch_at(ld, s, &b);
        for (int j = 0; j < b.count; j++) {
            (b.part[j] ? count_b : count_a)[0]++;
            per_image[b.part[j] * 100 + b.image_index[j]]++;
            EXPECT(b.tokens[j * 5 + 1] == (int)b.part[j] + 1 && b.tokens[j * 5 + 2] == (int)b.image_index[j],
                   "sample %d of step %llu: tokens of another part or image", j, (unsigned long long)s);
        }
    }
    batch_free(&b);
}

TEST(data_loader_parts_uniform_and_shares) {
    Cache *a = parts_cache("pa", 6, 4, 5, 1, 1), *bc = parts_cache("pb", 18, 4, 5, 1, 2);
    EXPECT(a && bc, "cache: %s", modx_last_error());
    LoaderPart parts[2] = {{.cache = a, .share = 1}, {.cache = bc, .share = 3}};
    /* uniform: one epoch visits each of the 6 + 18 images once */
    LoaderConfig cfg = {.batch = 4, .seed = 9, .drop_last = 1, .shuffle = 1, .parts = parts, .n_parts = 2};
    DataLoader *ld;
    EXPECT(loader_create(&ld, &cfg) == MODX_OK, "%s", modx_last_error());
    EXPECT(loader_batches_per_epoch(ld) == 6 && loader_n_images(ld) == 24, "6 batches of 4 from 24 images");
    for (uint64_t e = 0; e < 2; e++) {
        int na = 0, nb = 0, per[200] = {0};
        count_epoch(ld, e, 4, &na, &nb, per);
        EXPECT(na == 6 && nb == 18, "epoch %llu: %d of part 0, %d of part 1, expected 6 and 18", (unsigned long long)e, na, nb);
        for (int i = 0; i < 6; i++) EXPECT(per[i] == 1, "part 0 image %d seen %d times", i, per[i]);
        for (int i = 0; i < 18; i++) EXPECT(per[100 + i] == 1, "part 1 image %d seen %d times", i, per[100 + i]);
    }
    loader_free(ld);
    /* shares 1:1 with B = 4: two samples of each part in every batch; part 0 (6 images) cycles twice an epoch */
    parts[1].share = 1;
    cfg.proportions = 1;
    EXPECT(loader_create(&ld, &cfg) == MODX_OK, "%s", modx_last_error());
    EXPECT(loader_part_batch(ld, 0) == 2 && loader_part_batch(ld, 1) == 2, "k = %d, %d", loader_part_batch(ld, 0),
           loader_part_batch(ld, 1));
    int na = 0, nb = 0, per[200] = {0};
    count_epoch(ld, 0, 4, &na, &nb, per);
    EXPECT(na == 12 && nb == 12, "1:1 shares over an epoch: %d and %d samples, expected 12 and 12", na, nb);
    for (int i = 0; i < 6; i++) EXPECT(per[i] == 2, "part 0 image %d seen %d times, expected twice", i, per[i]);
    for (int i = 0; i < 12; i++) EXPECT(per[100 + i] <= 1, "part 1 image %d repeated within its first pass", i);
    loader_free(ld);
    /* shares 1:3 (largest remainder): k = 1, 3 */
    parts[1].share = 3;
    EXPECT(loader_create(&ld, &cfg) == MODX_OK, "%s", modx_last_error());
    na = nb = 0;
    memset(per, 0, sizeof per);
    count_epoch(ld, 1, 4, &na, &nb, per);
    EXPECT(na == 6 && nb == 18, "1:3 shares: %d and %d, expected 6 and 18", na, nb);
    loader_free(ld);
    cache_close(a), cache_close(bc);
}

TEST(data_loader_parts_resume_equals_sequential) {
    Cache *a = parts_cache("ra", 7, 4, 5, 1, 1), *bc = parts_cache("rb", 9, 4, 5, 1, 2);
    EXPECT(a && bc, "cache: %s", modx_last_error());
    uint32_t sub[5] = {8, 1, 4, 6, 0};
    LoaderPart parts[2] = {{.cache = a, .share = 2}, {.cache = bc, .images = sub, .n_images = 5, .share = 1}};
    for (int prop = 0; prop < 2; prop++) {
        LoaderConfig cfg = {.batch = 3, .seed = 4, .drop_last = 1, .shuffle = 1, .prefetch = 1, .parts = parts,
                            .n_parts = 2, .proportions = prop};
        DataLoader *seq, *fresh;
        EXPECT(loader_create(&seq, &cfg) == MODX_OK, "%s", modx_last_error());
        cfg.prefetch = 0;
        EXPECT(loader_create(&fresh, &cfg) == MODX_OK, "%s", modx_last_error());
        Batch copies[15], b;
        EXPECT(batch_alloc(&b, 3, 4, 5) == MODX_OK, "alloc");
        for (int s = 0; s < 15; s++) {
            const Batch *g = loader_next(seq);
            EXPECT(batch_alloc(&copies[s], 3, 4, 5) == MODX_OK, "alloc");
            copies[s].count = g->count, copies[s].step = g->step, copies[s].epoch = g->epoch;
            memcpy(copies[s].pixels, g->pixels, sizeof(float) * 3 * 3 * 16);
            memcpy(copies[s].tokens, g->tokens, sizeof(int32_t) * 3 * 5);
            memcpy(copies[s].image_index, g->image_index, 12);
            memcpy(copies[s].caption_index, g->caption_index, 12);
            memcpy(copies[s].part, g->part, 12);
        }
        uint64_t probe[] = {14, 0, 7, 3, 11};
        for (int k = 0; k < 5; k++) {
            loader_batch_at(fresh, probe[k], &b);
            EXPECT(same(&b, &copies[probe[k]]), "proportions=%d: batch %llu differs from the sequential run", prop,
                   (unsigned long long)probe[k]);
        }
        for (int s = 0; s < 15; s++) batch_free(&copies[s]);
        batch_free(&b);
        loader_free(seq), loader_free(fresh);
    }
    cache_close(a), cache_close(bc);
}

TEST(data_loader_parts_refused) {
    Cache *a = parts_cache("xa", 6, 4, 5, 1, 1), *s8 = parts_cache("xs", 6, 8, 5, 1, 2);
    Cache *t6 = parts_cache("xt", 6, 4, 6, 1, 2), *v2 = parts_cache("xv", 6, 4, 5, 2, 2);
    EXPECT(a && s8 && t6 && v2, "cache: %s", modx_last_error());
    LoaderPart parts[2] = {{.cache = a, .share = 1}, {.cache = s8, .share = 1}};
    LoaderConfig cfg = {.batch = 4, .seed = 1, .drop_last = 1, .shuffle = 1, .parts = parts, .n_parts = 2};
    DataLoader *ld = NULL;
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "image size 8") &&
               strstr(modx_last_error(), "cannot be mixed"), "%s", modx_last_error());
    parts[1].cache = a;
    parts[1].share = 0;
    cfg.proportions = 1;
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "share 0"), "%s", modx_last_error());
    parts[1].share = 100; /* part 0 gets round(4/101) = 0 samples */
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "gives no sample"), "%s",
           modx_last_error());
    parts[1].share = 1;
    cfg.drop_last = 0;
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "drop_last"), "%s", modx_last_error());
    /* the named check: image size, context length, tokenizer */
    EXPECT(cache_check_mixable(a, "A.cache", a, "A2.cache") == MODX_OK, "%s", modx_last_error());
    EXPECT(cache_check_mixable(a, "A.cache", s8, "S.cache") == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "A.cache and S.cache cannot be mixed") &&
               strstr(modx_last_error(), "image size 4 px in the first, 8 px"), "%s", modx_last_error());
    EXPECT(cache_check_mixable(a, "A.cache", t6, "T.cache") == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "T.cache") && strstr(modx_last_error(), "context length 5 in the first, 6"),
           "%s", modx_last_error());
    EXPECT(cache_check_mixable(a, "A.cache", v2, "V.cache") == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "V.cache") && strstr(modx_last_error(), "tokenizer vocab CRC 00000001 in the first, 00000002"),
           "%s", modx_last_error());
    cache_close(a), cache_close(s8), cache_close(t6), cache_close(v2);
}

TEST(data_cacheset_global_ids) {
    Cache *a = parts_cache("ga", 5, 4, 5, 1, 1), *bc = parts_cache("gb", 4, 4, 5, 1, 2);
    EXPECT(a && bc, "cache: %s", modx_last_error());
    const Cache *list[2] = {bc, a};
    CacheSet s;
    EXPECT(cacheset_init(&s, list, 2) == MODX_OK, "%s", modx_last_error());
    /* bc: 4 images, 6 captions (1 + i % 2); a: 5 images, 7 captions */
    EXPECT(s.image_base[1] == 4 && s.image_base[2] == 9 && s.caption_base[1] == 6 && s.caption_base[2] == 13, "bases");
    uint32_t local;
    EXPECT(cacheset_image(&s, 3, &local) == 0 && local == 3, "image 3 in cache 0");
    EXPECT(cacheset_image(&s, 4, &local) == 1 && local == 0, "image 4 is cache 1's first");
    EXPECT(cacheset_caption(&s, 12, &local) == 1 && local == 6, "caption 12 is cache 1's last");
    EXPECT(cacheset_find(&s, a) == 1 && cacheset_find(&s, bc) == 0, "find");
    cacheset_free(&s);
    cache_close(a), cache_close(bc);
}
