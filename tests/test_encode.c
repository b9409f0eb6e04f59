/* eval_encode: batched encoding of a cache subset equals the model's own
 * forward on the same normalised pixels and tokens; captions follow their images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/image.h"
#include "eval/encode.h"
#include "harness.h"

TEST(encode_subset_matches_direct_forward) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    EXPECT(!clip_config_load(&cfg, "configs/micro.json") && !clip_model_new(&m, &cfg), "%s", modx_last_error());
    clip_model_init(m, 9);
    enum { N = 7, M = 12 };
    int S = cfg.vision.image_size, T = cfg.text.context_length, V = cfg.text.vocab_size, E = cfg.embed_dim;
    uint8_t *pixels = malloc((size_t)N * S * S * 3);
    int32_t tokens[M * 64];
    uint32_t cap_img[M], dom[N] = {0};
    uint8_t split[N] = {0};
    const char *names[1] = {"d"};
    const char *texts[M];
    Rng r;
    rng_seed(&r, 4);
    for (size_t i = 0; i < (size_t)N * S * S * 3; i++) pixels[i] = (uint8_t)rng_below(&r, 256);
    memset(tokens, 0, sizeof tokens);
    for (int j = 0; j < M; j++) {
        cap_img[j] = (uint32_t)(j % N);
        texts[j] = "caption";
        int len = 2 + (int)rng_below(&r, (uint64_t)(T - 1));
        tokens[j * T] = V - 2;
        for (int t = 1; t < len - 1; t++) tokens[j * T + t] = 1 + (int)rng_below(&r, (uint64_t)(V - 3));
        tokens[j * T + len - 1] = V - 1;
    }
    CacheMeta meta = {N, M, S, T, V, 0, tokens, cap_img, dom, split, names, 1, texts};
    char path[512];
    snprintf(path, sizeof path, "%s/enc.cache", harness_tmpdir());
    Cache *c = NULL;
    EXPECT(!cache_write(path, pixels, &meta) && !cache_open(&c, path, 1), "%s", modx_last_error());
    uint32_t subset[3] = {5, 1, 3};
    EncodedSet s;
    EXPECT(!eval_encode(&s, m, c, "enc.cache", subset, 3, 2), "%s", modx_last_error());
    /* captions of images 5, 1, 3 in cache order: j % 7 in {5,1,3} → j = 1, 3, 5, 8, 10 */
    EXPECT(s.n_images == 3 && s.n_captions == 5, "got %d images, %d captions", s.n_images, s.n_captions);
    uint32_t want_ids[5] = {1, 3, 5, 8, 10};
    int32_t want_img[5] = {1, 2, 0, 1, 2};
    for (int k = 0; k < 5; k++)
        EXPECT(s.caption_ids[k] == want_ids[k] && s.caption_image[k] == want_img[k], "caption %d: id %u image %d", k,
               s.caption_ids[k], s.caption_image[k]);
    /* direct forward, one batch */
    ClipActs *a = NULL;
    float *pix = malloc(sizeof(float) * 3 * S * S * 5), fi[3 * 64], ft[5 * 64];
    int32_t tok[5 * 64];
    EXPECT(!clip_acts_new(&a, &cfg, 5, 0), "%s", modx_last_error());
    for (int b = 0; b < 3; b++) image_normalize(cache_image_pixels(c, subset[b]), S, pix + (size_t)b * 3 * S * S);
    for (int k = 0; k < 5; k++) memcpy(tok + k * T, cache_caption_tokens(c, want_ids[k]), sizeof(int32_t) * T);
    EXPECT(!clip_encode_image(m, a, pix, 3, fi) && !clip_encode_text(m, a, tok, 5, ft), "%s", modx_last_error());
    EXPECT_CLOSE("image features", s.image_features, fi, (size_t)3 * E, 1e-6, 0);
    EXPECT_CLOSE("text features", s.text_features, ft, (size_t)5 * E, 1e-6, 0);
    RetrievalMetrics rm;
    EXPECT(!eval_retrieval(&rm, &s) && rm.n_images == 3 && rm.n_captions == 5, "%s", modx_last_error());
    EXPECT(rm.i2t_r10 == 100.0 && rm.t2i_r10 == 100.0, "R@10 with 3 images must be 100");
    /* a cache at another resolution is refused with its name */
    ClipConfig other = cfg;
    other.vision.image_size = 2 * S;
    ClipModel *m2 = NULL;
    EXPECT(!clip_config_validate(&other, "test") && !clip_model_new(&m2, &other), "%s", modx_last_error());
    EncodedSet s2;
    EXPECT(eval_encode(&s2, m2, c, "enc.cache", subset, 3, 2) == MODX_ERR_INVALID, "size mismatch accepted");
    EXPECT(strstr(modx_last_error(), "enc.cache") && strstr(modx_last_error(), "px"), "message: %s", modx_last_error());
    clip_model_free(m2);
    clip_acts_free(a);
    free(pix), free(pixels);
    encoded_set_free(&s);
    cache_close(c);
    clip_model_free(m);
}
