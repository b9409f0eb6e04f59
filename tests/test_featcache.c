/* The old model's feature cache (train/featcache.h): looked-up rows are bit
 * for bit the old model's forward of any batch of the same size (in fp32 and
 * bf16 products), rows outside the phase and its replay buffer are refused
 * (the step then forwards), and a cache over its memory room is not built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/config.h"
#include "clip/model.h"
#include "core/gemm.h"
#include "data/cache.h"
#include "data/image.h"
#include "harness.h"
#include "train/featcache.h"
#include "train/replay.h"

#define MICRO_CFG "tests/fixtures/clip_micro.json"
enum { FN = 10, FS = 16, FT = 8, FB = 4 };

/* 10 images of 16² pixels, image i has 1 + i % 2 captions of 8 tokens < 64. */
static Cache *feat_cache(void) {
    static uint8_t pixels[FN * FS * FS * 3];
    static int32_t tokens[FN * 2 * FT];
    static uint32_t cap_img[FN * 2], dom[FN];
    static uint8_t split[FN];
    static char text_buf[FN * 2][16];
    static const char *texts[FN * 2];
    const char *names[1] = {"d"};
    uint64_t m = 0;
    for (int i = 0; i < FN * FS * FS * 3; i++) pixels[i] = (uint8_t)((i * 37 + 11) & 0xff);
    for (uint32_t i = 0; i < FN; i++) {
        split[i] = 1;
        for (uint32_t k = 0; k < 1 + i % 2; k++, m++) {
            cap_img[m] = i;
            for (int t = 0; t < FT; t++) tokens[m * FT + t] = (int32_t)((i * 7 + k * 13 + (uint32_t)t * 5) % 63 + 1);
            snprintf(text_buf[m], sizeof text_buf[m], "img %u cap %u", i, k);
            texts[m] = text_buf[m];
        }
    }
    CacheMeta meta = {.n_images = FN, .n_captions = m, .image_size = FS, .context = FT, .vocab_size = 64,
                      .vocab_crc = 1, .tokens = tokens, .caption_image = cap_img, .image_domain = dom,
                      .image_split = split, .domain_names = names, .n_domains = 1, .caption_texts = texts};
    char path[512];
    snprintf(path, sizeof path, "%s/featcache.cache", harness_tmpdir());
    Cache *c = NULL;
    if (cache_write(path, pixels, &meta) != MODX_OK || cache_open(&c, path, 1) != MODX_OK) return NULL;
    return c;
}

/* The old model's forward of B pairs, as the step runs it. */
static int forward_pairs(const ClipModel *old, ClipActs *a, const Cache *c, const uint32_t *img, const uint32_t *cap,
                         float *V, float *T) {
    static float px[FB * 3 * FS * FS];
    static int32_t tok[FB * FT];
    for (int j = 0; j < FB; j++) {
        image_normalize(cache_image_pixels(c, img[j]), FS, px + (size_t)j * 3 * FS * FS);
        memcpy(tok + j * FT, cache_caption_tokens(c, cap[j]), FT * sizeof(int32_t));
    }
    return clip_forward(old, a, px, tok, FB, V, T) == MODX_OK;
}

static void check_lookups(GemmPrecision prec) {
    ClipConfig cfg;
    ClipModel *old = NULL;
    ClipActs *a = NULL, *b = NULL;
    Cache *c = feat_cache();
    ReplayBuffer rb;
    EXPECT(c && clip_config_load(&cfg, MICRO_CFG) == MODX_OK && clip_model_new(&old, &cfg) == MODX_OK &&
               clip_acts_new(&a, &cfg, FB, 0) == MODX_OK && clip_acts_new(&b, &cfg, FB, 0) == MODX_OK &&
               replay_new(&rb, 4, 3) == MODX_OK,
           "%s", modx_last_error());
    clip_model_init(old, 7);
    GemmPrecision was = gemm_set_layer_precision(prec);
    replay_offer(&rb, 0, 0), replay_offer(&rb, 3, 5); /* image 3's second caption is caption 5 */
    uint32_t phase[] = {1, 2, 4, 5, 7, 8, 9};
    OldFeatPlan p = {.old = old, .acts = a, .B = FB, .cache = c, .images = phase, .n_images = 7, .replay = &rb};
    OldFeatCache fc;
    int built = 0;
    EXPECT(oldfeat_build(&fc, &p, &built) == MODX_OK && built, "%s", modx_last_error());
    EXPECT(fc.n_img == 9 && fc.n_cap == 13, "rows %zu images, %zu captions", fc.n_img, fc.n_cap);
    /* image i's captions start at i + i / 2; batches of other compositions than the encoding chunks, replay rows among them */
    uint32_t bi[3][FB] = {{9, 1, 0, 5}, {4, 4, 3, 8}, {2, 7, 9, 1}}, bc[3][FB] = {{14, 2, 0, 8}, {6, 6, 5, 12}, {3, 11, 13, 1}};
    float V[FB * 16], T[FB * 16], Vc[FB * 16], Tc[FB * 16];
    for (int k = 0; k < 3; k++) {
        EXPECT(forward_pairs(old, b, c, bi[k], bc[k], V, T), "%s", modx_last_error());
        EXPECT(oldfeat_lookup(&fc, bi[k], bc[k], FB, Vc, Tc), "batch %d: a row missing", k);
        EXPECT(!memcmp(V, Vc, sizeof V) && !memcmp(T, Tc, sizeof T), "batch %d: cached features differ", k);
    }
    uint32_t miss_i[FB] = {1, 6, 2, 4}, miss_c[FB] = {2, 9, 3, 6}; /* image 6 is not in the phase */
    EXPECT(!oldfeat_lookup(&fc, miss_i, miss_c, FB, Vc, Tc), "a row outside the cache was looked up");
    uint32_t far_i[FB] = {1, 2, 4, 99}, far_c[FB] = {2, 3, 6, 7};
    EXPECT(!oldfeat_lookup(&fc, far_i, far_c, FB, Vc, Tc), "an index beyond the dataset was looked up");
    gemm_set_layer_precision(was);
    oldfeat_free(&fc);
    replay_free(&rb);
    clip_acts_free(a), clip_acts_free(b);
    clip_model_free(old);
    cache_close(c);
}

TEST(featcache_rows_equal_the_forward_fp32) { check_lookups(GEMM_F32); }
TEST(featcache_rows_equal_the_forward_bf16) { check_lookups(GEMM_BF16); }

TEST(featcache_over_its_room_is_not_built) {
    ClipConfig cfg;
    ClipModel *old = NULL;
    ClipActs *a = NULL;
    Cache *c = feat_cache();
    EXPECT(c && clip_config_load(&cfg, MICRO_CFG) == MODX_OK && clip_model_new(&old, &cfg) == MODX_OK &&
               clip_acts_new(&a, &cfg, FB, 0) == MODX_OK,
           "%s", modx_last_error());
    uint32_t phase[] = {0, 1, 2, 3, 4};
    OldFeatPlan p = {.old = old, .acts = a, .B = FB, .cache = c, .images = phase, .n_images = 5};
    uint64_t bytes = 0;
    EXPECT(oldfeat_bytes(&p, &bytes) == MODX_OK, "%s", modx_last_error());
    /* 5 images with 7 captions × 16 floats, and 4 bytes per dataset image (10) and caption (15) */
    EXPECT(bytes == (5 + 7) * 16 * 4 + (10 + 15) * 4, "cache bytes %llu", (unsigned long long)bytes);
    uint32_t drawn[] = {0, 0, 3, 3, 6};
    OldFeatPlan q = p;
    q.captions = drawn, q.n_captions = 5;
    uint64_t qbytes = 0;
    EXPECT(oldfeat_bytes(&q, &qbytes) == MODX_OK && qbytes == (5 + 3) * 16 * 4 + (10 + 15) * 4,
           "bytes with a caption list %llu", (unsigned long long)qbytes);
    OldFeatCache fc;
    int built = 1;
    p.room = bytes - 1;
    EXPECT(oldfeat_build(&fc, &p, &built) == MODX_OK && !built && !fc.V, "built over its room");
    uint32_t i4[FB] = {0, 1, 2, 3}, c4[FB] = {0, 1, 3, 4};
    float V[FB * 16], T[FB * 16];
    EXPECT(!oldfeat_lookup(&fc, i4, c4, FB, V, T), "an empty cache answered");
    p.room = bytes;
    EXPECT(oldfeat_build(&fc, &p, &built) == MODX_OK && built, "not built at its exact room");
    oldfeat_free(&fc);
    /* the room under a budget: what the model's training estimate and the frozen copy leave */
    uint64_t room = 0;
    EXPECT(oldfeat_room(&cfg, FB, 1024, &room) == MODX_OK && room == 1, "room %llu under 1 KiB", (unsigned long long)room);
    EXPECT(oldfeat_room(&cfg, FB, (uint64_t)1 << 40, &room) == MODX_OK && room > ((uint64_t)1 << 39), "room %llu",
           (unsigned long long)room);
    uint32_t bad[] = {0, 10};
    p.images = bad, p.n_images = 2;
    EXPECT(oldfeat_build(&fc, &p, &built) == MODX_ERR_INVALID && strstr(modx_last_error(), "image 10"),
           "an image outside the dataset: %s", modx_last_error());
    clip_acts_free(a);
    clip_model_free(old);
    cache_close(c);
}
