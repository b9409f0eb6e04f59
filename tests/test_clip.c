/* src/clip: config parsing and its errors, the parameter table (ViT-B/32 count,
 * decay mask, init), and finite-difference checks of the whole model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/config.h"
#include "clip/model.h"
#include "clip/params.h"
#include "gradcheck.h"
#include "harness.h"

/* ---------------- config ---------------- */

TEST(clip_config_shipped_files) {
    ClipConfig c;
    EXPECT(clip_config_load(&c, "configs/ViT-B-32.json") == MODX_OK, "%s", modx_last_error());
    EXPECT(c.embed_dim == 512 && c.vision.image_size == 224 && c.vision.layers == 12 && c.vision.width == 768 &&
               c.vision.patch_size == 32 && c.vision.heads == 12 && c.vision.tokens == 50 &&
               c.vision.mlp_width == 3072,
           "ViT-B-32 vision fields wrong");
    EXPECT(c.text.context_length == 77 && c.text.vocab_size == 49408 && c.text.width == 512 && c.text.heads == 8 &&
               c.text.layers == 12 && c.text.mlp_width == 2048 && c.quick_gelu == 1,
           "ViT-B-32 text fields wrong");
    EXPECT(clip_config_load(&c, "configs/tiny.json") == MODX_OK, "%s", modx_last_error());
    EXPECT(c.vision.heads == 4 && c.vision.tokens == 17 && c.text.heads == 4 && c.embed_dim == 128, "tiny wrong");
    EXPECT(clip_config_load(&c, "configs/small.json") == MODX_OK, "%s", modx_last_error());
    EXPECT(c.vision.heads == 8 && c.vision.tokens == 65 && c.text.vocab_size == 8192, "small wrong");
    EXPECT(clip_config_load(&c, "configs/micro.json") == MODX_OK, "%s", modx_last_error());
    EXPECT(c.vision.heads == 2 && c.vision.tokens == 5 && c.text.context_length == 8, "micro wrong");
}

TEST(clip_config_defaults_and_roundtrip) {
    ClipConfig c, c2;
    const char *j = "{\"embed_dim\": 8, \"vision_cfg\": {\"image_size\": 16, \"layers\": 1, \"width\": 128,"
                    " \"patch_size\": 4}, \"text_cfg\": {\"context_length\": 5, \"vocab_size\": 10, \"width\": 6,"
                    " \"heads\": 3, \"layers\": 1, \"mlp_ratio\": 2.5}, \"custom_text\": true}";
    EXPECT(clip_config_parse(&c, j, "inline") == MODX_OK, "%s", modx_last_error());
    EXPECT(c.vision.head_width == 64 && c.vision.heads == 2 && c.vision.mlp_width == 512, "vision defaults");
    EXPECT(c.quick_gelu == 0, "quick_gelu must default to false (exact GELU)");
    EXPECT(c.text.mlp_width == 15, "text mlp width %d (int(6*2.5) = 15)", c.text.mlp_width);
    char *s = clip_config_to_json(&c);
    EXPECT(s, "to_json failed");
    ModxStatus st = clip_config_parse(&c2, s, "roundtrip");
    free(s);
    EXPECT(st == MODX_OK, "%s", modx_last_error());
    EXPECT(!memcmp(&c, &c2, sizeof c), "config changed through JSON");
}

static void expect_config_error(const char *json, ModxStatus want, const char *needle, int *ok) {
    ClipConfig c;
    ModxStatus st = clip_config_parse(&c, json, "bad.json");
    *ok = st == want && strstr(modx_last_error(), needle) && strstr(modx_last_error(), "bad.json");
    if (!*ok) printf("    config %s -> status %d '%s' (want %d containing '%s')\n", json, st, modx_last_error(), want, needle);
}

#define GOOD_TEXT "\"text_cfg\": {\"context_length\": 8, \"vocab_size\": 64, \"width\": 32, \"heads\": 2, \"layers\": 2}"
#define GOOD_VIS "\"vision_cfg\": {\"image_size\": 16, \"layers\": 2, \"width\": 32, \"patch_size\": 8, \"head_width\": 16}"

TEST(clip_config_errors) {
    static const struct {
        const char *json;
        ModxStatus st;
        const char *needle;
    } cases[] = {
        {"{\"embed_dim\": 16, " GOOD_VIS "}", MODX_ERR_FORMAT, "text_cfg"},
        {"{" GOOD_VIS ", " GOOD_TEXT "}", MODX_ERR_FORMAT, "embed_dim"},
        {"{\"embed_dim\": \"16\", " GOOD_VIS ", " GOOD_TEXT "}", MODX_ERR_FORMAT, "found a string"},
        {"{\"embed_dim\": 16.5, " GOOD_VIS ", " GOOD_TEXT "}", MODX_ERR_FORMAT, "found 16.5"},
        {"{\"embed_dim\": -3, " GOOD_VIS ", " GOOD_TEXT "}", MODX_ERR_FORMAT, "embed_dim"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 20, \"layers\": 2, \"width\": 32, \"patch_size\": 8},"
         " " GOOD_TEXT "}", MODX_ERR_INVALID, "vision_cfg.image_size"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 2, \"width\": 40, \"patch_size\": 8,"
         " \"head_width\": 16}, " GOOD_TEXT "}", MODX_ERR_INVALID, "head_width"},
        {"{\"embed_dim\": 16, " GOOD_VIS ", \"text_cfg\": {\"context_length\": 8, \"vocab_size\": 64, \"width\": 32,"
         " \"heads\": 3, \"layers\": 2}}", MODX_ERR_INVALID, "text_cfg.width"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 0, \"width\": 32, \"patch_size\": 8},"
         " " GOOD_TEXT "}", MODX_ERR_FORMAT, "vision_cfg.layers"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 224, \"layers\": [3, 4, 6], \"width\": 64,"
         " \"patch_size\": null}, " GOOD_TEXT "}", MODX_ERR_FORMAT, "ModifiedResNet needs 4 stage depths"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 224, \"layers\": [3, 0, 6, 3], \"width\": 64},"
         " " GOOD_TEXT "}", MODX_ERR_FORMAT, "vision_cfg.layers[1]"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 200, \"layers\": [3, 4, 6, 3], \"width\": 64},"
         " " GOOD_TEXT "}", MODX_ERR_INVALID, "multiple of 32"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 224, \"layers\": [3, 4, 6, 3], \"width\": 63},"
         " " GOOD_TEXT "}", MODX_ERR_INVALID, "even stem width"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"timm_model_name\": \"vit_x\", \"image_size\": 16}, " GOOD_TEXT "}",
         MODX_ERR_UNSUPPORTED, "timm_model_name"},
        {"{\"embed_dim\": 16, " GOOD_VIS ", \"text_cfg\": {\"hf_model_name\": \"roberta-base\"}}",
         MODX_ERR_UNSUPPORTED, "hf_model_name"},
        {"{\"embed_dim\": 16, " GOOD_VIS ", " GOOD_TEXT ", \"quick_gelu\": 1}", MODX_ERR_FORMAT, "quick_gelu"},
        {"{\"embed_dim\": 16, " GOOD_VIS ", " GOOD_TEXT, MODX_ERR_FORMAT, "not valid JSON"},
        {"[1, 2]", MODX_ERR_FORMAT, "top level"},
        {"{\"embed_dim\": 16, \"vision_cfg\": 3, " GOOD_TEXT "}", MODX_ERR_FORMAT, "vision_cfg"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 2, \"width\": 32, \"patch_size\": 8,"
         " \"mlp_ratio\": \"x\"}, " GOOD_TEXT "}", MODX_ERR_FORMAT, "vision_cfg.mlp_ratio"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 2, \"width\": 32, \"patch_size\": 8,"
         " \"ls_init_value\": 0.1}, " GOOD_TEXT "}", MODX_ERR_UNSUPPORTED, "layer scale"},
        {"{\"embed_dim\": 16, \"vision_cfg\": {\"image_size\": 16, \"layers\": 100, \"width\": 32, \"patch_size\": 8},"
         " " GOOD_TEXT "}", MODX_ERR_INVALID, "at most 64 layers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int ok;
        expect_config_error(cases[i].json, cases[i].st, cases[i].needle, &ok);
        EXPECT(ok, "config error case %zu", i);
    }
    ClipConfig c;
    EXPECT(clip_config_load(&c, "configs/does-not-exist.json") == MODX_ERR_IO, "missing file");
    EXPECT(strstr(modx_last_error(), "does-not-exist.json"), "message lacks the path: %s", modx_last_error());
}

/* ---------------- parameter table ---------------- */

TEST(clip_params_vit_b32_count_and_shapes) {
    ClipConfig c;
    EXPECT(clip_config_load(&c, "configs/ViT-B-32.json") == MODX_OK, "%s", modx_last_error());
    ParamTable t;
    EXPECT(param_table_build(&t, &c) == MODX_OK, "%s", modx_last_error());
    EXPECT(t.total == 151277313u, "ViT-B/32 has %zu parameters, want 151277313", t.total);
    EXPECT(t.count == 5 + 12 * 12 + 3 + 2 + 12 * 12 + 3 + 1, "table has %d entries", t.count);
    size_t off = 0;
    for (int i = 0; i < t.count; i++) {
        EXPECT(t.items[i].offset == off, "entry %s not packed", t.items[i].name);
        off += t.items[i].numel;
        for (int j = 0; j < i; j++) EXPECT(strcmp(t.items[i].name, t.items[j].name), "duplicate %s", t.items[i].name);
    }
    static const struct {
        const char *name;
        int ndim;
        int64_t shape[4];
        int decay;
    } want[] = {
        {"visual.class_embedding", 1, {768}, 0},
        {"visual.positional_embedding", 2, {50, 768}, 1},
        {"visual.conv1.weight", 4, {768, 3, 32, 32}, 1},
        {"visual.ln_pre.weight", 1, {768}, 0},
        {"visual.transformer.resblocks.11.attn.in_proj_weight", 2, {2304, 768}, 1},
        {"visual.transformer.resblocks.0.attn.in_proj_bias", 1, {2304}, 0},
        {"visual.transformer.resblocks.3.attn.out_proj.weight", 2, {768, 768}, 1},
        {"visual.transformer.resblocks.3.mlp.c_fc.weight", 2, {3072, 768}, 1},
        {"visual.transformer.resblocks.3.mlp.c_proj.weight", 2, {768, 3072}, 1},
        {"visual.transformer.resblocks.3.mlp.c_proj.bias", 1, {768}, 0},
        {"visual.ln_post.bias", 1, {768}, 0},
        {"visual.proj", 2, {768, 512}, 1},
        {"token_embedding.weight", 2, {49408, 512}, 1},
        {"positional_embedding", 2, {77, 512}, 1},
        {"transformer.resblocks.11.ln_2.weight", 1, {512}, 0},
        {"transformer.resblocks.0.mlp.c_fc.weight", 2, {2048, 512}, 1},
        {"ln_final.weight", 1, {512}, 0},
        {"text_projection", 2, {512, 512}, 1},
        {"logit_scale", 0, {0}, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const ParamInfo *p = param_table_find(&t, want[i].name);
        EXPECT(p, "missing %s", want[i].name);
        EXPECT(p->ndim == want[i].ndim, "%s ndim %d", want[i].name, p->ndim);
        for (int d = 0; d < p->ndim; d++)
            EXPECT(p->shape[d] == want[i].shape[d], "%s dim %d = %lld", want[i].name, d, (long long)p->shape[d]);
        EXPECT(p->decay == want[i].decay, "%s decay flag %d", want[i].name, p->decay);
    }
    EXPECT(param_table_find(&t, "logit_scale")->numel == 1, "logit_scale numel");
    EXPECT(!param_table_find(&t, "visual.transformer.resblocks.12.ln_1.weight"), "block 12 should not exist");
    char buf[64];
    param_shape_str(param_table_find(&t, "visual.conv1.weight"), buf, sizeof buf);
    EXPECT(!strcmp(buf, "(768, 3, 32, 32)"), "shape string '%s'", buf);
    EXPECT(param_decays("foo.bn1.weight", 2) == 0 && param_decays("x.weight", 1) == 0 && param_decays("w", 2) == 1,
           "decay rule");
    param_table_free(&t);
}

static void stats(const float *x, size_t n, double *mean, double *std, double *maxabs) {
    double s = 0, s2 = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        if (fabs(x[i]) > m) m = fabs(x[i]);
    }
    *mean = s / n;
    *std = sqrt(s2 / n - (*mean) * (*mean));
    *maxabs = m;
}

TEST(clip_params_init) {
    ClipConfig c;
    EXPECT(clip_config_load(&c, "configs/tiny.json") == MODX_OK, "%s", modx_last_error());
    ClipModel *m;
    EXPECT(clip_model_new(&m, &c) == MODX_OK, "%s", modx_last_error());
    clip_model_init(m, 1234);
    double mean, sd, mx;
    const float *p;
#define STAT(name) (p = m->params + param_table_find(&m->table, name)->offset, \
                    stats(p, param_table_find(&m->table, name)->numel, &mean, &sd, &mx))
    STAT("token_embedding.weight");
    EXPECT(fabs(sd - 0.02) < 0.001 && fabs(mean) < 0.001, "token_embedding std %g", sd);
    STAT("positional_embedding");
    EXPECT(fabs(sd - 0.01) < 0.001, "positional_embedding std %g", sd);
    STAT("transformer.resblocks.2.attn.in_proj_weight");
    EXPECT(fabs(sd - 1 / sqrt(128.0)) < 0.002, "text in_proj std %g (want 128^-0.5)", sd);
    STAT("transformer.resblocks.2.mlp.c_proj.weight");
    EXPECT(fabs(sd - 1 / sqrt(128.0) / sqrt(8.0)) < 0.001, "text c_proj std %g", sd);
    STAT("transformer.resblocks.2.mlp.c_fc.weight");
    EXPECT(fabs(sd - 1 / sqrt(256.0)) < 0.001, "text c_fc std %g", sd);
    STAT("visual.transformer.resblocks.1.attn.in_proj_weight");
    double xb = sqrt(6.0 / (128 + 384));
    EXPECT(mx <= xb && mx > 0.95 * xb && fabs(sd - xb / sqrt(3.0)) < 0.002, "vision xavier max %g std %g", mx, sd);
    STAT("visual.transformer.resblocks.1.mlp.c_proj.bias");
    EXPECT(mx <= 1 / sqrt(512.0) && mx > 0.8 / sqrt(512.0), "c_proj bias bound %g", mx);
    STAT("visual.conv1.weight");
    EXPECT(mx <= 1 / sqrt(192.0) && fabs(sd - 1 / sqrt(192.0) / sqrt(3.0)) < 0.002, "conv1 init max %g sd %g", mx, sd);
    STAT("visual.class_embedding");
    EXPECT(fabs(sd - 1 / sqrt(128.0)) < 0.02, "class_embedding std %g", sd);
    STAT("transformer.resblocks.0.attn.in_proj_bias");
    EXPECT(mx == 0, "in_proj_bias not zero");
    STAT("visual.ln_post.weight");
    EXPECT(mean == 1 && sd == 0, "ln weight not 1");
    EXPECT(fabsf(clip_logit_scale(m) - logf(1 / 0.07f)) < 1e-6f, "logit_scale %g", clip_logit_scale(m));
#undef STAT
    /* deterministic in the seed */
    float *copy = malloc(m->table.total * sizeof(float));
    memcpy(copy, m->params, m->table.total * sizeof(float));
    clip_model_init(m, 1234);
    EXPECT(!memcmp(copy, m->params, m->table.total * sizeof(float)), "same seed, different init");
    clip_model_init(m, 1235);
    EXPECT(memcmp(copy, m->params, m->table.total * sizeof(float)), "different seed, same init");
    free(copy);
    clip_model_free(m);
}

/* ---------------- whole model ---------------- */

typedef struct {
    ClipModel *m;
    ClipActs *a;
    int B;
    float *images, *wv, *wt, *fv, *ft;
    int32_t *tokens;
} ModelCtx;

static double model_loss(void *p) {
    ModelCtx *c = p;
    ModxStatus st = clip_forward(c->m, c->a, c->images, c->tokens, c->B, c->fv, c->ft);
    CHECK(st == MODX_OK, "%s", modx_last_error());
    int E = c->m->cfg.embed_dim;
    return gradcheck_dot(c->fv, c->wv, (size_t)c->B * E) + gradcheck_dot(c->ft, c->wt, (size_t)c->B * E);
}

static void model_ctx_init(ModelCtx *c, ClipModel *m, int B, int training) {
    const ClipConfig *cfg = &m->cfg;
    int S = cfg->vision.image_size, T = cfg->text.context_length, E = cfg->embed_dim;
    c->m = m;
    c->B = B;
    CHECK(clip_acts_new(&c->a, cfg, B, training) == MODX_OK, "%s", modx_last_error());
    c->images = malloc((size_t)B * 3 * S * S * sizeof(float));
    gradcheck_randn(c->images, (size_t)B * 3 * S * S, 1, 77);
    c->wv = malloc((size_t)B * E * sizeof(float));
    c->wt = malloc((size_t)B * E * sizeof(float));
    gradcheck_randn(c->wv, (size_t)B * E, 1, 78);
    gradcheck_randn(c->wt, (size_t)B * E, 1, 79);
    c->fv = malloc((size_t)B * E * sizeof(float));
    c->ft = malloc((size_t)B * E * sizeof(float));
    c->tokens = calloc((size_t)B * T, sizeof(int32_t));
    int V = cfg->text.vocab_size;
    for (int b = 0; b < B; b++) {
        /* [SOT, words..., EOT, 0 padding]; EOT (V−1) at a different position per row */
        int len = 2 + (b * 3) % (T - 1);
        c->tokens[b * T] = V - 2;
        for (int i = 1; i < len - 1; i++) c->tokens[b * T + i] = 1 + (b * 7 + i * 5) % (V - 3);
        c->tokens[b * T + len - 1] = V - 1;
    }
}

static void model_ctx_free(ModelCtx *c) {
    clip_acts_free(c->a);
    free(c->images), free(c->wv), free(c->wt), free(c->fv), free(c->ft), free(c->tokens);
}

static void run_model_fd(int quick_gelu, double *worst_out) {
    ClipConfig cfg;
    CHECK(clip_config_load(&cfg, "configs/micro.json") == MODX_OK, "%s", modx_last_error());
    cfg.quick_gelu = quick_gelu;
    ClipModel *m;
    CHECK(clip_model_new(&m, &cfg) == MODX_OK, "%s", modx_last_error());
    clip_model_init(m, 5);
    /* non-trivial LayerNorm gains/biases so their gradients are exercised */
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        if (p->init == PARAM_INIT_CONST && p->ndim == 1)
            for (size_t k = 0; k < p->numel; k++) m->params[p->offset + k] += 0.1f * sinf((float)(k + 3 * i));
    }
    ModelCtx c;
    model_ctx_init(&c, m, 3, 1);
    model_loss(&c);
    float *g = calloc(m->table.total, sizeof(float));
    clip_backward(m, c.a, c.wv, c.wt, g);
    double worst = 0;
    size_t checked = 0;
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        GradcheckResult r =
            gradcheck_tensor(model_loss, &c, m->params + p->offset, g + p->offset, p->numel, 3e-3f, 6, 100 + i);
        checked += r.checked;
        if (r.max_rel > worst) worst = r.max_rel;
        if (r.max_rel > 5e-3) printf("    fd %s: max_abs %.3e max_rel %.3e\n", p->name, r.max_abs, r.max_rel);
    }
    printf("    whole model (%s): %zu entries of %d tensors, worst max_rel %.3e\n", quick_gelu ? "quickgelu" : "gelu",
           checked, m->table.count, worst);
    /* the logit_scale is not used by the model: zero gradient */
    CHECK(g[param_table_find(&m->table, "logit_scale")->offset] == 0.0f, "logit_scale got a gradient");
    *worst_out = worst;
    free(g);
    model_ctx_free(&c);
    clip_model_free(m);
}

TEST(clip_model_fd_whole_model) {
    double worst;
    run_model_fd(1, &worst);
    EXPECT(worst < 5e-3, "quickgelu model: FD rel error %.3e", worst);
    run_model_fd(0, &worst);
    EXPECT(worst < 5e-3, "gelu model: FD rel error %.3e", worst);
}

TEST(clip_model_inference_matches_training_and_accumulates) {
    ClipConfig cfg;
    EXPECT(clip_config_load(&cfg, "configs/micro.json") == MODX_OK, "%s", modx_last_error());
    ClipModel *m;
    EXPECT(clip_model_new(&m, &cfg) == MODX_OK, "%s", modx_last_error());
    clip_model_init(m, 9);
    ModelCtx tr, inf;
    model_ctx_init(&tr, m, 4, 1);
    model_ctx_init(&inf, m, 4, 0);
    EXPECT(clip_acts_bytes(inf.a) < clip_acts_bytes(tr.a), "inference arena not smaller");
    model_loss(&tr);
    model_loss(&inf);
    int E = cfg.embed_dim;
    EXPECT_CLOSE("image features inference vs training", inf.fv, tr.fv, 4 * E, 0, 0);
    EXPECT_CLOSE("text features inference vs training", inf.ft, tr.ft, 4 * E, 0, 0);
    for (int b = 0; b < 4; b++) {
        double n = gradcheck_dot(tr.fv + b * E, tr.fv + b * E, E);
        EXPECT(fabs(n - 1) < 1e-5, "image feature %d norm² %g", b, n);
    }
    /* batch rows are independent: a batch of 1 gives row 0 */
    float f1[64];
    EXPECT(clip_encode_image(m, inf.a, inf.images, 1, f1) == MODX_OK, "%s", modx_last_error());
    EXPECT_CLOSE("batch of one", f1, tr.fv, E, 1e-6, 0);
    /* backward accumulates */
    size_t P = m->table.total;
    float *g1 = calloc(P, sizeof(float)), *g2 = calloc(P, sizeof(float));
    clip_backward(m, tr.a, tr.wv, tr.wt, g1);
    clip_backward(m, tr.a, tr.wv, tr.wt, g2);
    clip_backward(m, tr.a, tr.wv, tr.wt, g2);
    for (size_t i = 0; i < P; i++) g1[i] *= 2;
    EXPECT_CLOSE("two backwards = twice one", g2, g1, P, 1e-6, 1e-6);
    /* image-only backward leaves text gradients untouched */
    memset(g1, 0, P * sizeof(float));
    clip_backward(m, tr.a, tr.wv, NULL, g1);
    const ParamInfo *te = param_table_find(&m->table, "token_embedding.weight");
    const ParamInfo *cv = param_table_find(&m->table, "visual.conv1.weight");
    double st = 0, sv = 0;
    for (size_t i = 0; i < te->numel; i++) st += fabs(g1[te->offset + i]);
    for (size_t i = 0; i < cv->numel; i++) sv += fabs(g1[cv->offset + i]);
    EXPECT(st == 0 && sv > 0, "image-only backward: text grad %g, conv grad %g", st, sv);
    /* the logit_scale index points at the parameter; a clone is equal and independent */
    EXPECT(m->params[clip_logit_scale_index(m)] == clip_logit_scale(m), "logit_scale index");
    ClipModel *old;
    EXPECT(clip_model_clone(&old, m) == MODX_OK, "%s", modx_last_error());
    EXPECT(!memcmp(old->params, m->params, P * sizeof(float)), "clone differs");
    m->params[0] += 1.0f;
    EXPECT(old->params[0] != m->params[0] && old->w.visual.class_embedding == old->params, "clone shares memory");
    clip_model_free(old);
    free(g1), free(g2);
    model_ctx_free(&tr);
    model_ctx_free(&inf);
    clip_model_free(m);
}

TEST(clip_model_text_ignores_tokens_after_eot) {
    ClipConfig cfg;
    EXPECT(clip_config_load(&cfg, "configs/micro.json") == MODX_OK, "%s", modx_last_error());
    ClipModel *m;
    EXPECT(clip_model_new(&m, &cfg) == MODX_OK, "%s", modx_last_error());
    clip_model_init(m, 3);
    ClipActs *a;
    EXPECT(clip_acts_new(&a, &cfg, 2, 0) == MODX_OK, "%s", modx_last_error());
    int32_t tok[16] = {62, 5, 9, 63, 0, 0, 0, 0, 62, 5, 9, 63, 7, 1, 2, 3};
    float f[32];
    EXPECT(clip_encode_text(m, a, tok, 2, f) == MODX_OK, "%s", modx_last_error());
    EXPECT_CLOSE("text after EOT changes nothing (causal + EOT pooling)", f + 16, f, 16, 1e-6, 0);
    tok[2] = 10;
    float f2[16];
    EXPECT(clip_encode_text(m, a, tok, 1, f2) == MODX_OK, "%s", modx_last_error());
    EXPECT(memcmp(f2, f, sizeof f2), "a token before EOT changed nothing");
    /* invalid input: ids and batch sizes */
    tok[5] = 64;
    EXPECT(clip_encode_text(m, a, tok, 1, f) == MODX_ERR_INVALID, "id = V accepted");
    EXPECT(strstr(modx_last_error(), "position 5") && strstr(modx_last_error(), "64"), "msg: %s", modx_last_error());
    tok[5] = -1;
    EXPECT(clip_encode_text(m, a, tok, 1, f) == MODX_ERR_INVALID, "negative id accepted");
    EXPECT(clip_encode_text(m, a, tok, 3, f) == MODX_ERR_INVALID, "batch above max accepted");
    EXPECT(clip_encode_text(m, a, tok, 0, f) == MODX_ERR_INVALID, "empty batch accepted");
    ClipActs *bad;
    EXPECT(clip_acts_new(&bad, &cfg, 0, 1) == MODX_ERR_INVALID, "max_B 0 accepted");
    clip_acts_free(a);
    clip_model_free(m);
}

/* ---------------- PyTorch reference (tests/fixtures/clip_micro_ref.safetensors) ---------------- */

#include "io/safetensors.h"
#include "refcheck.h"

TEST(clip_model_pytorch_reference) {
    SafeTensors *st;
    EXPECT(safetensors_open(&st, "tests/fixtures/clip_micro_ref.safetensors") == MODX_OK, "%s", modx_last_error());
    const char *cfg_json = safetensors_metadata(st, "config");
    EXPECT(cfg_json, "fixture lacks the config metadata");
    ClipConfig cfg;
    EXPECT(clip_config_parse(&cfg, cfg_json, "fixture config") == MODX_OK, "%s", modx_last_error());
    ClipModel *m;
    EXPECT(clip_model_new(&m, &cfg) == MODX_OK, "%s", modx_last_error());
    /* every table entry loads by its OpenCLIP name with the table's shape ... */
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        EXPECT(safetensors_read_f32(st, p->name, p->ndim, p->shape, m->params + p->offset) == MODX_OK, "%s",
               modx_last_error());
    }
    /* ... and the PyTorch state dict has no tensor the table lacks */
    int n_state = 0;
    for (int i = 0; i < safetensors_count(st); i++) {
        const char *n = safetensors_at(st, i)->name;
        if (!strncmp(n, "input.", 6) || !strncmp(n, "output.", 7) || !strncmp(n, "grad.", 5)) continue;
        n_state++;
        EXPECT(param_table_find(&m->table, n), "state-dict tensor '%s' is not in the parameter table", n);
    }
    EXPECT(n_state == m->table.count, "state dict has %d tensors, table %d", n_state, m->table.count);
    int B = 3, S = cfg.vision.image_size, T = cfg.text.context_length, E = cfg.embed_dim;
    float *images = ref_load(st, "input.images", NULL), *wv = ref_load(st, "input.wv", NULL);
    float *wt = ref_load(st, "input.wt", NULL), *fv_ref = ref_load(st, "output.image_features", NULL);
    float *ft_ref = ref_load(st, "output.text_features", NULL);
    int32_t *tokens = malloc((size_t)B * T * sizeof(int32_t));
    EXPECT(images && wv && wt && fv_ref && ft_ref, "fixture incomplete");
    EXPECT(safetensors_read_i32(st, "input.tokens", 2, (const int64_t[]){B, T}, tokens) == MODX_OK, "%s",
           modx_last_error());
    (void)S;
    ClipActs *a;
    EXPECT(clip_acts_new(&a, &cfg, B, 1) == MODX_OK, "%s", modx_last_error());
    float *fv = malloc((size_t)B * E * sizeof(float)), *ft = malloc((size_t)B * E * sizeof(float));
    EXPECT(clip_forward(m, a, images, tokens, B, fv, ft) == MODX_OK, "%s", modx_last_error());
    double e_fv = ref_rel_err(fv, fv_ref, (size_t)B * E), e_ft = ref_rel_err(ft, ft_ref, (size_t)B * E);
    printf("    features vs PyTorch: image %.3e, text %.3e (max rel)\n", e_fv, e_ft);
    EXPECT(e_fv <= 1e-5 && e_ft <= 1e-5, "features differ from PyTorch: %.3e %.3e", e_fv, e_ft);
    float *g = calloc(m->table.total, sizeof(float));
    clip_backward(m, a, wv, wt, g);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        char n[PARAM_NAME_MAX + 8];
        snprintf(n, sizeof n, "grad.%s", p->name);
        float *gr = ref_load(st, n, NULL);
        EXPECT(gr, "missing %s", n);
        double e = ref_rel_err(g + p->offset, gr, p->numel);
        free(gr);
        if (e > worst) worst = e, worst_name = p->name;
    }
    printf("    gradients vs PyTorch: worst max rel %.3e (%s), %d tensors\n", worst, worst_name, m->table.count);
    EXPECT(worst <= 1e-5, "gradient of %s differs from PyTorch: %.3e", worst_name, worst);
    free(g), free(fv), free(ft), free(images), free(wv), free(wt), free(fv_ref), free(ft_ref), free(tokens);
    clip_acts_free(a);
    clip_model_free(m);
    safetensors_close(st);
}
