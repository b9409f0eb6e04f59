/* Checkpoints under Hugging Face transformers names (io/hf_names.h) against the
 * PyTorch references: tests/fixtures/hf_{micro,gelu}/ (tools/gen_hf_fixtures.py)
 * hold the weights of clip_{micro,gelu}_ckpt.safetensors under HF names, as a
 * hub folder (model.safetensors without modx metadata + config.json). Features
 * match PyTorch, conversions are bit-identical both ways, and bad files give
 * errors naming the file and tensor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "harness.h"
#include "io/checkpoint.h"
#include "io/hf_names.h"
#include "io/safetensors.h"

#define FIX "tests/fixtures/"

static const char *const CASES[][2] = {{"clip_micro", "hf_micro"}, {"clip_gelu", "hf_gelu"}};

/* Features of the case's batch through m equal the PyTorch expected ones (1e-5). */
static int features_match(const ClipModel *m, const char *prefix) {
    char path[256];
    SafeTensors *batch = NULL, *exp = NULL;
    snprintf(path, sizeof path, FIX "%s_batch.safetensors", prefix);
    if (safetensors_open(&batch, path)) return 0;
    snprintf(path, sizeof path, FIX "%s_expected.safetensors", prefix);
    if (safetensors_open(&exp, path)) return safetensors_close(batch), 0;
    const ClipConfig *c = &m->cfg;
    int B = (int)safetensors_find(batch, "images")->shape[0], E = c->embed_dim, S = c->vision.image_size;
    int64_t is[4] = {B, 3, S, S}, ts[2] = {B, c->text.context_length}, fs[2] = {B, E};
    float *img = calloc((size_t)B * 3 * S * S, sizeof(float)), *v = calloc((size_t)B * E, sizeof(float));
    float *t = calloc((size_t)B * E, sizeof(float)), *want = calloc((size_t)B * E, sizeof(float));
    int32_t *ids = calloc((size_t)B * (size_t)c->text.context_length, sizeof(int32_t));
    ClipActs *a = NULL;
    int ok = img && v && t && want && ids && !safetensors_read_f32(batch, "images", 4, is, img) &&
             !safetensors_read_i32(batch, "texts", 2, ts, ids) && !clip_acts_new(&a, c, B, 0) &&
             !clip_encode_image(m, a, img, B, v) && !clip_encode_text(m, a, ids, B, t);
    if (!ok) harness_fail(__FILE__, __LINE__, "%s: %s", prefix, modx_last_error());
    ok = ok && !safetensors_read_f32(exp, "image_features", 2, fs, want) &&
         harness_close_f32(__FILE__, __LINE__, "image_features", v, want, (size_t)B * E, 1e-5, 0);
    ok = ok && !safetensors_read_f32(exp, "text_features", 2, fs, want) &&
         harness_close_f32(__FILE__, __LINE__, "text_features", t, want, (size_t)B * E, 1e-5, 0);
    clip_acts_free(a);
    free(img), free(v), free(t), free(want), free(ids);
    safetensors_close(batch), safetensors_close(exp);
    return ok;
}

/* The HF hub folder loads with its config from the tensor shapes + config.json,
 * gives the OpenCLIP file's config and bit-identical parameters, and PyTorch's features. */
TEST(hf_checkpoint_features_match_pytorch) {
    for (int k = 0; k < 2; k++) {
        char hf[256], oc[256], cfgp[256];
        snprintf(hf, sizeof hf, FIX "%s/model.safetensors", CASES[k][1]);
        snprintf(oc, sizeof oc, FIX "%s_ckpt.safetensors", CASES[k][0]);
        snprintf(cfgp, sizeof cfgp, FIX "%s.json", CASES[k][0]);
        ClipModel *h = NULL, *o = NULL;
        EXPECT(!checkpoint_load(&h, hf, NULL), "%s: %s", hf, modx_last_error());
        EXPECT(!checkpoint_load(&o, oc, cfgp), "%s: %s", oc, modx_last_error());
        char *a = clip_config_to_json(&h->cfg), *b = clip_config_to_json(&o->cfg);
        int same_cfg = a && b && !strcmp(a, b);
        if (!same_cfg) harness_fail(__FILE__, __LINE__, "config from HF shapes %s, OpenCLIP %s", a, b);
        free(a), free(b);
        int same = same_cfg && h->table.total == o->table.total &&
                   !memcmp(h->params, o->params, o->table.total * sizeof(float));
        int feats = same && features_match(h, CASES[k][0]);
        clip_model_free(h), clip_model_free(o);
        EXPECT(same, "%s: parameters differ from %s", hf, oc);
        EXPECT(feats, "%s: features differ from PyTorch", hf);
    }
}

/* Every tensor of a (the HF fixture, less position_ids) is in b with the same
 * dtype, shape and bytes, and b has no others: what strict=True loading checks. */
static int same_tensors(const char *pa, const char *pb) {
    SafeTensors *a = NULL, *b = NULL;
    if (safetensors_open(&a, pa) || safetensors_open(&b, pb)) {
        harness_fail(__FILE__, __LINE__, "%s", modx_last_error());
        safetensors_close(a);
        return 0;
    }
    int ok = 1, na = 0;
    for (int i = 0; ok && i < safetensors_count(a); i++) {
        const StTensorInfo *x = safetensors_at(a, i), *y = safetensors_find(b, x->name);
        if (strstr(x->name, "position_ids")) continue;
        na++;
        ok = y && y->dtype == x->dtype && y->ndim == x->ndim && !memcmp(y->shape, x->shape, sizeof x->shape) &&
             x->end - x->begin == y->end - y->begin &&
             !memcmp(safetensors_data(a, x), safetensors_data(b, y), x->end - x->begin);
        if (!ok) harness_fail(__FILE__, __LINE__, "tensor '%s' of %s differs in %s", x->name, pa, pb);
    }
    if (ok && na != safetensors_count(b))
        ok = 0, harness_fail(__FILE__, __LINE__, "%s has %d tensors, %s %d", pb, safetensors_count(b), pa, na);
    safetensors_close(a), safetensors_close(b);
    return ok;
}

/* OpenCLIP → HF → OpenCLIP through the writer: the HF file equals the PyTorch-written
 * one tensor for tensor, and the way back equals the OpenCLIP original. */
TEST(hf_conversion_is_lossless_both_ways) {
    for (int k = 0; k < 2; k++) {
        char oc[256], cfgp[256], want_hf[256], hf[512], back[512];
        snprintf(oc, sizeof oc, FIX "%s_ckpt.safetensors", CASES[k][0]);
        snprintf(cfgp, sizeof cfgp, FIX "%s.json", CASES[k][0]);
        snprintf(want_hf, sizeof want_hf, FIX "%s/model.safetensors", CASES[k][1]);
        snprintf(hf, sizeof hf, "%s/%s_hf.safetensors", harness_tmpdir(), CASES[k][0]);
        snprintf(back, sizeof back, "%s/%s_back.safetensors", harness_tmpdir(), CASES[k][0]);
        ClipModel *m = NULL, *h = NULL;
        EXPECT(!checkpoint_load(&m, oc, cfgp), "%s", modx_last_error());
        EXPECT(!checkpoint_save_named(hf, m, m->params, NULL, 0, CKPT_NAMING_HF), "%s", modx_last_error());
        EXPECT(!checkpoint_load(&h, hf, NULL), "config from metadata: %s", modx_last_error());
        EXPECT(!checkpoint_save_named(back, h, h->params, NULL, 0, CKPT_NAMING_OPENCLIP), "%s", modx_last_error());
        clip_model_free(m), clip_model_free(h);
        EXPECT(same_tensors(want_hf, hf), "HF file written by modx differs from the PyTorch one");
        EXPECT(same_tensors(oc, back), "OpenCLIP -> HF -> OpenCLIP is not bit-identical");
    }
}

/* A copy of src without tensor `drop` (NULL: none), plus one F32 tensor `add` of shape (d0, d1). */
static const char *rewrite(const char *src, const char *name, const char *drop, const char *add, int64_t d0,
                           int64_t d1) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", harness_tmpdir(), name);
    SafeTensors *st = NULL;
    SafeTensorsWriter *w = NULL;
    float *zeros = calloc((size_t)(d0 * d1 + 1), sizeof(float));
    int64_t shape[2] = {d0, d1};
    int ok = zeros && !safetensors_open(&st, src) && !safetensors_writer_new(&w);
    for (int i = 0; ok && i < safetensors_count(st); i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        if (drop && !strcmp(t->name, drop)) continue;
        if (add && !strcmp(t->name, add)) continue;
        ok = !safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, safetensors_data(st, t));
    }
    ok = ok && (!add || !safetensors_writer_add(w, add, ST_F32, 2, shape, zeros)) && !safetensors_writer_save(w, path);
    safetensors_writer_free(w);
    safetensors_close(st);
    free(zeros);
    if (!ok) harness_fail(__FILE__, __LINE__, "rewrite %s: %s", src, modx_last_error());
    return path;
}

static int fails_with(const char *path, const char *config, ModxStatus code, const char *a, const char *b) {
    ClipModel *m = NULL;
    ModxStatus s = checkpoint_load(&m, path, config);
    clip_model_free(m);
    const char *msg = modx_last_error();
    if (s == code && strstr(msg, path) && strstr(msg, a) && (!b || strstr(msg, b))) return 1;
    harness_fail(__FILE__, __LINE__, "%s: status %d, message: %s", path, s, msg);
    return 0;
}

#define HF FIX "hf_micro/model.safetensors"
#define HFCFG FIX "hf_micro/config.json"

TEST(hf_bad_checkpoints_name_file_and_tensor) {
    const char *p;
    p = rewrite(HF, "mixed.safetensors", NULL, "visual.proj", 32, 16);
    EXPECT(fails_with(p, HFCFG, MODX_ERR_FORMAT, "mixed checkpoint naming", "'visual.proj'"), "mixed naming");
    p = rewrite(FIX "clip_micro_ckpt.safetensors", "mixed2.safetensors", NULL, "text_model.x", 1, 1);
    EXPECT(fails_with(p, NULL, MODX_ERR_FORMAT, "mixed checkpoint naming", "'text_model.x'"), "mixed naming 2");
    p = rewrite(FIX "clip_micro_batch.safetensors", "unknown.safetensors", NULL, NULL, 1, 1);
    EXPECT(fails_with(p, FIX "clip_micro.json", MODX_ERR_FORMAT, "unknown checkpoint naming", NULL), "unknown");
    p = rewrite(HF, "missing.safetensors", "text_model.encoder.layers.1.self_attn.k_proj.bias", NULL, 1, 1);
    EXPECT(fails_with(p, HFCFG, MODX_ERR_FORMAT, "missing tensor 'text_model.encoder.layers.1.self_attn.k_proj.bias'",
                      "transformer.resblocks.1.attn.in_proj_bias"),
           "missing tensor");
    /* the projection in OpenCLIP's (C, E) orientation instead of HF's (E, C) */
    p = rewrite(HF, "shape.safetensors", NULL, "visual_projection.weight", 32, 16);
    EXPECT(fails_with(p, FIX "clip_micro.json", MODX_ERR_FORMAT, "visual_projection.weight", "[16, 32]"), "shape");
    p = rewrite(HF, "extra.safetensors", NULL, "vision_model.encoder.layers.0.extra", 1, 1);
    EXPECT(fails_with(p, HFCFG, MODX_ERR_FORMAT, "'vision_model.encoder.layers.0.extra' is not a Hugging Face", NULL),
           "unknown HF tensor");
    /* no metadata, no config.json beside: the heads are not in the shapes */
    p = rewrite(HF, "model.safetensors", NULL, NULL, 1, 1);
    EXPECT(fails_with(p, NULL, MODX_ERR_INVALID, "--config", "attention heads"), "no config");
    /* config.json contradicting the tensors */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad_config.json", harness_tmpdir());
    FILE *f = fopen(bad, "w");
    EXPECT(f, "open %s", bad);
    fputs("{\"vision_config\": {\"hidden_size\": 64, \"num_attention_heads\": 2}, \"text_config\": {}}", f);
    fclose(f);
    EXPECT(fails_with(HF, bad, MODX_ERR_FORMAT, "vision_config.hidden_size", "patch_embedding"), "config mismatch");
    /* older config.json files: "text_config_dict" overrides "text_config" (transformers' rule) */
    f = fopen(bad, "w");
    EXPECT(f, "open %s", bad);
    fputs("{\"vision_config\": {\"num_attention_heads\": 2}, \"text_config\": {\"num_attention_heads\": 2}, "
          "\"text_config_dict\": {\"num_attention_heads\": 2, \"hidden_act\": \"gelu\"}}", f);
    fclose(f);
    EXPECT(fails_with(HF, bad, MODX_ERR_UNSUPPORTED, "different activations", NULL), "text_config_dict");
    /* an HF config.json for an OpenCLIP-named file */
    EXPECT(fails_with(FIX "clip_gelu_ckpt.safetensors", HFCFG, MODX_ERR_INVALID, "OpenCLIP names", NULL), "wrong cfg");
}

/* A ModifiedResNet has no HF naming; an OpenCLIP file without a config takes the fallback one. */
TEST(hf_rn_refused_and_fallback_config) {
    ClipModel *m = NULL;
    EXPECT(!checkpoint_load(&m, FIX "rn_tiny_ckpt.safetensors", FIX "rn_tiny.json"), "%s", modx_last_error());
    char path[512];
    snprintf(path, sizeof path, "%s/rn_hf.safetensors", harness_tmpdir());
    ModxStatus s = checkpoint_save_named(path, m, m->params, NULL, 0, CKPT_NAMING_HF);
    clip_model_free(m);
    EXPECT(s == MODX_ERR_UNSUPPORTED && strstr(modx_last_error(), "ModifiedResNet"), "status %d: %s", s,
           modx_last_error());
    FILE *f = fopen(path, "rb");
    EXPECT(!f, "a refused RN conversion left %s behind", path);
    m = NULL;
    EXPECT(!checkpoint_load_default(&m, FIX "clip_gelu_ckpt.safetensors", NULL, FIX "clip_gelu.json"), "%s",
           modx_last_error());
    EXPECT(m->cfg.text.layers == 3, "fallback config not used");
    clip_model_free(m);
}
