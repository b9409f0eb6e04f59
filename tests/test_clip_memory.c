/* Config sizes near the limits: G² computed in checked 64-bit (image_size
 * 65536 with patch_size 1 is refused, not wrapped), and the training memory
 * estimate (clip/memory.h) that the training commands check before allocating:
 * it equals what the model and its arena really take, and a config inside the
 * per-key limits that would need terabytes is refused naming it. */
#include <stdio.h>
#include <string.h>

#include "clip/config.h"
#include "clip/memory.h"
#include "clip/model.h"
#include "harness.h"

static const char MICRO[] =
    "{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 2, \"width\": 32, \"patch_size\": 8, "
    "\"head_width\": 16}, \"text_cfg\": {\"context_length\": 8, \"vocab_size\": 64, \"width\": 32, \"heads\": 2, "
    "\"layers\": 2}}";

TEST(clip_config_patch_grid_overflow_refused) {
    const char *cases[] = {
        "{\"embed_dim\": 8, \"vision_cfg\": {\"image_size\": 65536, \"layers\": 1, \"width\": 64, \"patch_size\": 1}, "
        "\"text_cfg\": {\"context_length\": 4, \"vocab_size\": 8, \"width\": 8, \"heads\": 1, \"layers\": 1}}",
        "{\"embed_dim\": 8, \"vision_cfg\": {\"image_size\": 512, \"layers\": 1, \"width\": 64, \"patch_size\": 1}, "
        "\"text_cfg\": {\"context_length\": 4, \"vocab_size\": 8, \"width\": 8, \"heads\": 1, \"layers\": 1}}",
    };
    for (int i = 0; i < 2; i++) {
        ClipConfig cfg;
        ModxStatus st = clip_config_parse(&cfg, cases[i], "big.json");
        EXPECT(st == MODX_ERR_INVALID && strstr(modx_last_error(), "big.json") &&
                   strstr(modx_last_error(), "vision_cfg.image_size") && strstr(modx_last_error(), "too many"),
               "case %d: status %d, tokens %d: %s", i, st, cfg.vision.tokens, modx_last_error());
    }
    /* the largest grid that fits: 255² + 1 = 65026 tokens */
    ClipConfig cfg;
    const char *ok = "{\"embed_dim\": 8, \"vision_cfg\": {\"image_size\": 255, \"layers\": 1, \"width\": 64, "
                     "\"patch_size\": 1}, \"text_cfg\": {\"context_length\": 4, \"vocab_size\": 8, \"width\": 8, "
                     "\"heads\": 1, \"layers\": 1}}";
    EXPECT(clip_config_parse(&cfg, ok, "edge.json") == MODX_OK && cfg.vision.tokens == 255 * 255 + 1, "%s",
           modx_last_error());
}

static void estimate_matches_allocation(const ClipConfig *cfg);

TEST(clip_memory_estimate_matches_allocation) {
    ClipConfig cfg;
    EXPECT(clip_config_parse(&cfg, MICRO, "micro") == MODX_OK, "%s", modx_last_error());
    estimate_matches_allocation(&cfg);
    /* the ResNet tower's own activation arena counts too */
    EXPECT(clip_config_load(&cfg, "configs/rn-tiny.json") == MODX_OK, "%s", modx_last_error());
    estimate_matches_allocation(&cfg);
}

static void estimate_matches_allocation(const ClipConfig *cfg0) {
    ClipConfig cfg = *cfg0;
    ClipMemoryEstimate e;
    EXPECT(clip_memory_estimate(&cfg, 6, &e) == MODX_OK, "%s", modx_last_error());
    ClipModel *m = NULL;
    ClipActs *a = NULL;
    EXPECT(clip_model_new(&m, &cfg) == MODX_OK, "%s", modx_last_error());
    ModxStatus st = clip_acts_new(&a, &cfg, 6, 1);
    size_t np = clip_model_num_params(m), ab = st == MODX_OK ? clip_acts_bytes(a) : 0;
    clip_acts_free(a);
    clip_model_free(m);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    EXPECT(e.n_params == np && e.param_bytes == 16 * np && e.act_bytes == ab && e.total == 16 * np + ab,
           "estimate %llu params, %llu + %llu bytes; allocated %zu params, %zu arena bytes",
           (unsigned long long)e.n_params, (unsigned long long)e.param_bytes, (unsigned long long)e.act_bytes, np, ab);
    if (cfg.vision.resnet) return;
    EXPECT(clip_memory_check(&cfg, 6, e.total, "micro.json") == MODX_OK, "%s", modx_last_error());
    EXPECT(clip_memory_check(&cfg, 6, 0, "micro.json") == MODX_OK, "no budget must mean no limit");
    EXPECT(clip_memory_check(&cfg, 6, e.total - 1, "micro.json") == MODX_ERR_INVALID &&
               strstr(modx_last_error(), "micro.json") && strstr(modx_last_error(), "memory budget"),
           "%s", modx_last_error());
}

TEST(clip_memory_terabyte_config_refused) {
    /* every key inside its limit; the weights alone are ~ 64 layers × 2 towers × 12·65536² floats */
    const char *huge = "{\"embed_dim\": 65536, \"vision_cfg\": {\"image_size\": 224, \"layers\": 64, \"width\": 65536, "
                       "\"patch_size\": 14, \"head_width\": 64}, \"text_cfg\": {\"context_length\": 77, "
                       "\"vocab_size\": 65536, \"width\": 65536, \"heads\": 64, \"layers\": 64}}";
    ClipConfig cfg;
    EXPECT(clip_config_parse(&cfg, huge, "huge.json") == MODX_OK, "%s", modx_last_error());
    ClipMemoryEstimate e;
    EXPECT(clip_memory_estimate(&cfg, 256, &e) == MODX_OK, "%s", modx_last_error());
    EXPECT(e.total > ((uint64_t)1 << 40), "estimate %llu bytes", (unsigned long long)e.total);
    EXPECT(clip_memory_check(&cfg, 256, (uint64_t)64 << 30, "huge.json") == MODX_ERR_INVALID, "accepted");
    const char *msg = modx_last_error();
    EXPECT(strstr(msg, "huge.json") && strstr(msg, "batch 256") && strstr(msg, "64.0 GiB") && strstr(msg, "--max-memory"),
           "message: %s", msg);
}
