/* Data loader: determinism, resumability (batch k computed fresh equals batch k
 * of a sequential run, with and without prefetch), epoch coverage, caption
 * draws, drop-last, normalisation layout, and bad configurations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cache.h"
#include "data/image.h"
#include "data/loader.h"
#include "harness.h"

enum { LN = 13, LS = 4, LT = 6 };

typedef struct {
    Cache *cache;
    size_t n_caps;
} LoaderFixture;

/* 13 images, image i has 1 + i % 3 captions; caption tokens encode (image, caption). */
static int make_cache(LoaderFixture *fx) {
    static uint8_t pixels[LN * LS * LS * 3];
    static int32_t tokens[LN * 3 * LT];
    static uint32_t cap_img[LN * 3], dom[LN];
    static uint8_t split[LN];
    static char text_buf[LN * 3][16];
    static const char *texts[LN * 3];
    const char *names[2] = {"a", "b"};
    size_t m = 0;
    for (int i = 0; i < LN * LS * LS * 3; i++) pixels[i] = (uint8_t)((i * 37 + 11) & 0xff);
    for (uint32_t i = 0; i < LN; i++) {
        dom[i] = i % 2;
        split[i] = i < 10 ? 1 : 3;
        for (uint32_t k = 0; k < 1 + i % 3; k++, m++) {
            cap_img[m] = i;
            for (int t = 0; t < LT; t++) tokens[m * LT + t] = t == 0 ? 98 : t == 1 ? (int32_t)i : t == 2 ? (int32_t)k : t == 3 ? 99 : 0;
            snprintf(text_buf[m], sizeof text_buf[m], "img %u cap %u", i, k);
            texts[m] = text_buf[m];
        }
    }
    CacheMeta meta = {.n_images = LN, .n_captions = m, .image_size = LS, .context = LT, .vocab_size = 100,
                      .vocab_crc = 1, .tokens = tokens, .caption_image = cap_img, .image_domain = dom,
                      .image_split = split, .domain_names = names, .n_domains = 2, .caption_texts = texts};
    char path[512];
    snprintf(path, sizeof path, "%s/loader.cache", harness_tmpdir());
    if (cache_write(path, pixels, &meta) != MODX_OK) return 0;
    fx->n_caps = m;
    return cache_open(&fx->cache, path, 1) == MODX_OK;
}

static int same_batch(const Batch *a, const Batch *b) {
    size_t px = (size_t)a->batch * 3 * a->image_size * a->image_size;
    return a->count == b->count && a->step == b->step && a->epoch == b->epoch &&
           !memcmp(a->pixels, b->pixels, px * sizeof(float)) &&
           !memcmp(a->tokens, b->tokens, (size_t)a->batch * a->context * sizeof(int32_t)) &&
           !memcmp(a->image_index, b->image_index, (size_t)a->batch * 4) &&
           !memcmp(a->caption_index, b->caption_index, (size_t)a->batch * 4);
}

TEST(data_loader_resume_equals_sequential) {
    LoaderFixture fx;
    EXPECT(make_cache(&fx), "cache: %s", modx_last_error());
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        for (int drop = 0; drop < 2; drop++) {
            LoaderConfig cfg = {.cache = fx.cache, .batch = 4, .seed = 7, .drop_last = drop, .shuffle = 1, .prefetch = prefetch};
            DataLoader *seq, *fresh;
            EXPECT(loader_create(&seq, &cfg) == MODX_OK, "%s", modx_last_error());
            cfg.prefetch = 0;
            EXPECT(loader_create(&fresh, &cfg) == MODX_OK, "%s", modx_last_error());
            EXPECT(loader_batches_per_epoch(seq) == (drop ? 3u : 4u), "batches per epoch %llu",
                   (unsigned long long)loader_batches_per_epoch(seq));
            Batch b;
            EXPECT(batch_alloc(&b, 4, LS, LT) == MODX_OK, "alloc");
            /* Steps out of order on the fresh loader: each is computed from (seed, step) alone. */
            uint64_t probe[] = {9, 0, 17, 4, 3, 12};
            const Batch *got[20];
            Batch copies[20];
            for (int s = 0; s < 20; s++) {
                got[s] = loader_next(seq);
                EXPECT(batch_alloc(&copies[s], 4, LS, LT) == MODX_OK, "alloc");
                copies[s].count = got[s]->count;
                copies[s].step = got[s]->step;
                copies[s].epoch = got[s]->epoch;
                memcpy(copies[s].pixels, got[s]->pixels, sizeof(float) * 4 * 3 * LS * LS);
                memcpy(copies[s].tokens, got[s]->tokens, sizeof(int32_t) * 4 * LT);
                memcpy(copies[s].image_index, got[s]->image_index, 16);
                memcpy(copies[s].caption_index, got[s]->caption_index, 16);
                EXPECT(copies[s].step == (uint64_t)s, "sequential step %llu at %d", (unsigned long long)copies[s].step, s);
            }
            for (size_t k = 0; k < sizeof probe / sizeof *probe; k++) {
                loader_batch_at(fresh, probe[k], &b);
                EXPECT(same_batch(&b, &copies[probe[k]]), "prefetch=%d drop=%d: batch %llu differs from the sequential run",
                       prefetch, drop, (unsigned long long)probe[k]);
            }
            /* Seeking the sequential loader back resumes the same stream. */
            loader_seek(seq, 5);
            for (int s = 5; s < 9; s++) EXPECT(same_batch(loader_next(seq), &copies[s]), "after seek: batch %d differs", s);
            for (int s = 0; s < 20; s++) batch_free(&copies[s]);
            batch_free(&b);
            loader_free(seq);
            loader_free(fresh);
        }
    }
    cache_close(fx.cache);
}

TEST(data_loader_seed_epochs_and_captions) {
    LoaderFixture fx;
    EXPECT(make_cache(&fx), "cache: %s", modx_last_error());
    LoaderConfig cfg = {.cache = fx.cache, .batch = 5, .seed = 3, .drop_last = 0, .shuffle = 1};
    DataLoader *a, *b, *c;
    EXPECT(loader_create(&a, &cfg) == MODX_OK, "%s", modx_last_error());
    EXPECT(loader_create(&b, &cfg) == MODX_OK, "%s", modx_last_error());
    cfg.seed = 4;
    EXPECT(loader_create(&c, &cfg) == MODX_OK, "%s", modx_last_error());
    int differs = 0;
    int cap_seen[LN * 3] = {0};
    for (int epoch = 0; epoch < 12; epoch++) {
        int seen[LN] = {0};
        for (int k = 0; k < 3; k++) {
            const Batch *x = loader_next(a);
            Batch copy = *x; /* compare before the next call */
            const Batch *y = loader_next(b);
            EXPECT(same_batch(&copy, y), "same seed, different batch at epoch %d", epoch);
            const Batch *z = loader_next(c);
            differs |= memcmp(z->image_index, y->image_index, 5 * 4) != 0;
            EXPECT(y->count == (k < 2 ? 5 : 3), "batch %d count %d", k, y->count);
            for (int j = 0; j < y->count; j++) {
                uint32_t im = y->image_index[j], cap = y->caption_index[j];
                seen[im]++;
                EXPECT(fx.cache->caption_image[cap] == im, "caption %u is not of image %u", cap, im);
                EXPECT(y->tokens[j * LT + 1] == (int32_t)im && y->tokens[j * LT + 3] == 99, "tokens of sample %d", j);
                EXPECT(cap == loader_caption_for(b, (uint64_t)epoch, im), "caption draw differs");
                cap_seen[cap]++;
                /* CHW layout, CLIP normalisation of the cached uint8 pixels */
                const uint8_t *src = cache_image_pixels(fx.cache, im);
                for (int ch = 0; ch < 3; ch++) {
                    float want = ((float)src[(1 * LS + 2) * 3 + ch] / 255.0f - CLIP_MEAN[ch]) / CLIP_STD[ch];
                    float gotv = y->pixels[((size_t)j * 3 + ch) * LS * LS + 1 * LS + 2];
                    EXPECT(gotv > want - 1e-5f && gotv < want + 1e-5f, "pixel ch%d: %g vs %g", ch, gotv, want);
                }
            }
            if (y->count < 5) {
                for (int j = y->count * LT; j < 5 * LT; j++) EXPECT(y->tokens[j] == 0, "padding token %d not zero", j);
                EXPECT(y->pixels[(size_t)4 * 3 * LS * LS] == 0.0f, "padding pixels not zero");
            }
        }
        for (int i = 0; i < LN; i++) EXPECT(seen[i] == 1, "epoch %d: image %d seen %d times", epoch, i, seen[i]);
    }
    EXPECT(differs, "another seed gave the same order");
    for (size_t k = 0; k < fx.n_caps; k++) EXPECT(cap_seen[k] > 0, "caption %zu never drawn in 12 epochs", k);
    loader_free(a);
    loader_free(b);
    loader_free(c);
    cache_close(fx.cache);
}

TEST(data_loader_subset_and_errors) {
    LoaderFixture fx;
    EXPECT(make_cache(&fx), "cache: %s", modx_last_error());
    uint32_t subset[4] = {12, 3, 5, 7};
    LoaderConfig cfg = {.cache = fx.cache, .images = subset, .n_images = 4, .batch = 3, .seed = 1, .drop_last = 1, .shuffle = 1};
    DataLoader *ld;
    EXPECT(loader_create(&ld, &cfg) == MODX_OK, "%s", modx_last_error());
    EXPECT(loader_batches_per_epoch(ld) == 1, "one full batch of 3 from 4 images");
    for (int s = 0; s < 6; s++) {
        const Batch *b = loader_next(ld);
        EXPECT(b->count == 3 && b->epoch == (uint64_t)s, "count %d epoch %llu", b->count, (unsigned long long)b->epoch);
        for (int j = 0; j < 3; j++)
            EXPECT(b->image_index[j] == 12 || b->image_index[j] == 3 || b->image_index[j] == 5 || b->image_index[j] == 7,
                   "image %u not in the subset", b->image_index[j]);
    }
    loader_free(ld);
    /* unshuffled: the subset's own order */
    cfg.shuffle = 0;
    cfg.drop_last = 0;
    EXPECT(loader_create(&ld, &cfg) == MODX_OK, "%s", modx_last_error());
    const Batch *b = loader_next(ld);
    EXPECT(b->image_index[0] == 12 && b->image_index[1] == 3 && b->image_index[2] == 5, "order");
    b = loader_next(ld);
    EXPECT(b->count == 1 && b->image_index[0] == 7, "last partial batch");
    loader_free(ld);
    cfg.batch = 5;
    cfg.drop_last = 1;
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "no full batch of 5"), "%s",
           modx_last_error());
    subset[1] = 13;
    cfg.batch = 2;
    EXPECT(loader_create(&ld, &cfg) == MODX_ERR_INVALID && strstr(modx_last_error(), "image 13, expected < 13"), "%s",
           modx_last_error());
    cache_close(fx.cache);
}
