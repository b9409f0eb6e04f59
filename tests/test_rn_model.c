/* The CLIP model with the ModifiedResNet image tower (configs/rn-tiny.json):
 * finite-difference checks of every parameter gradient with BatchNorm in
 * training and in eval mode, the BatchNorm mode rules (running statistics
 * updated by training forwards only, forward-only arenas in eval mode), and the
 * checkpoint round trip of the model state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "gradcheck.h"
#include "harness.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "train/merge.h"

#define RN_CFG "configs/rn-tiny.json"

typedef struct {
    ClipModel *m;
    ClipActs *a;
    int B;
    float *images, *wv, *fv;
} RnCtx;

static double rn_loss(void *p) {
    RnCtx *c = p;
    ModxStatus st = clip_encode_image(c->m, c->a, c->images, c->B, c->fv);
    CHECK(st == MODX_OK, "%s", modx_last_error());
    return gradcheck_dot(c->fv, c->wv, (size_t)c->B * c->m->cfg.embed_dim);
}

/* A model with every gain and bias non-trivial (bn3 gains are 0 at init). */
static ClipModel *rn_model(void) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    CHECK(clip_config_load(&cfg, RN_CFG) == MODX_OK && clip_model_new(&m, &cfg) == MODX_OK, "%s",
          modx_last_error());
    clip_model_init(m, 5);
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        if (p->init == PARAM_INIT_CONST && p->ndim == 1)
            for (size_t k = 0; k < p->numel; k++) m->params[p->offset + k] += 0.3f * sinf((float)(k + 3 * i) + 1.0f);
    }
    return m;
}

static void rn_ctx_init(RnCtx *c, ClipModel *m, int B, int training) {
    int S = m->cfg.vision.image_size, E = m->cfg.embed_dim;
    c->m = m, c->B = B;
    CHECK(clip_acts_new(&c->a, &m->cfg, B, training) == MODX_OK, "%s", modx_last_error());
    c->images = malloc((size_t)B * 3 * S * S * sizeof(float));
    gradcheck_randn(c->images, (size_t)B * 3 * S * S, 1, 77);
    c->wv = malloc((size_t)B * E * sizeof(float));
    gradcheck_randn(c->wv, (size_t)B * E, 1, 78);
    c->fv = malloc((size_t)B * E * sizeof(float));
}

static void rn_ctx_free(RnCtx *c) {
    clip_acts_free(c->a);
    free(c->images), free(c->wv), free(c->fv);
}

/* Float finite differences through 14 convolutions, ReLUs and BatchNorms are
 * limited: in eval mode by round-off (|fd − analytic| ~1e-4 where gradients are
 * small) and by ReLU kinks a shifted channel crosses, in training mode by curvature (batch statistics over as few as 12
 * values; the error shrinks ~h² with the step). So eval mode is held to 5e-2 of
 * the tensor's largest gradient or 5e-4 absolute, training mode to 0.2 (a sign
 * and scale check); the exact check of both modes is the PyTorch comparison in
 * tests/test_rn_ref.c (gradients agree to ~5e-6). */
static void rn_fd(ClipBnMode mode) {
    float fd_h = mode == CLIP_BN_EVAL ? 3e-3f : 1e-3f;
    double tol = mode == CLIP_BN_EVAL ? 5e-2 : 0.2;
    if (getenv("RN_FD_H")) fd_h = (float)atof(getenv("RN_FD_H"));
    ClipModel *m = rn_model();
    RnCtx c;
    rn_ctx_init(&c, m, 3, 1);
    /* running statistics away from (0, 1) for the eval case */
    for (int k = 0; k < 3; k++) rn_loss(&c);
    clip_model_set_bn_mode(m, mode);
    rn_loss(&c);
    float *g = calloc(m->table.total, sizeof(float));
    clip_backward(m, c.a, c.wv, NULL, g);
    double worst = 0;
    const char *worst_name = "";
    int nvis = 0;
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        if (strncmp(p->name, "visual.", 7)) continue;
        nvis++;
        GradcheckResult r =
            gradcheck_tensor(rn_loss, &c, m->params + p->offset, g + p->offset, p->numel, fd_h, 5, 100 + i);
        double rel = mode == CLIP_BN_EVAL && r.max_abs < 5e-4 ? 0 : r.max_rel;
        if (rel > worst) worst = rel, worst_name = p->name;
        if (getenv("RN_FD_VERBOSE")) printf("      %-48s max_abs %.2e max_rel %.2e\n", p->name, r.max_abs, r.max_rel);
    }
    printf("    %s mode: %d image-tower tensors, worst fd max_rel %.3e (%s)\n", mode == CLIP_BN_EVAL ? "eval" : "train",
           nvis, worst, worst_name);
    free(g);
    rn_ctx_free(&c);
    clip_model_free(m);
    EXPECT(worst < tol, "finite differences disagree: %.3e at %s", worst, worst_name);
}

TEST(rn_model_fd_train_mode) { rn_fd(CLIP_BN_AUTO); }

TEST(rn_model_fd_eval_mode) { rn_fd(CLIP_BN_EVAL); }

static float state_of(const ClipModel *m, const char *name) {
    const ParamInfo *p = param_table_find_state(&m->table, name);
    CHECK(p, "no state %s", name);
    return m->state[p->offset];
}

TEST(rn_model_bn_modes_and_state) {
    ClipModel *m = rn_model();
    EXPECT(m->table.state_count > 0 && m->state, "a ResNet model has state");
    RnCtx tr, inf;
    rn_ctx_init(&tr, m, 2, 1);
    rn_ctx_init(&inf, m, 2, 0);
    float *before = malloc(m->table.state_total * sizeof(float)), *f1 = malloc(2 * 16 * sizeof(float));
    memcpy(before, m->state, m->table.state_total * sizeof(float));
    rn_loss(&inf); /* forward-only arena: eval mode, state untouched */
    EXPECT(!memcmp(before, m->state, m->table.state_total * sizeof(float)), "an eval forward changed the state");
    memcpy(f1, inf.fv, 2 * 16 * sizeof(float));
    clip_model_set_bn_mode(m, CLIP_BN_EVAL); /* a training arena in eval mode computes the same features */
    rn_loss(&tr);
    EXPECT_CLOSE("eval features, training vs forward-only arena", tr.fv, f1, 32, 0, 0);
    EXPECT(!memcmp(before, m->state, m->table.state_total * sizeof(float)), "eval mode changed the state");
    clip_model_set_bn_mode(m, CLIP_BN_AUTO);
    rn_loss(&tr); /* training mode: every BatchNorm counts one batch and moves its statistics */
    EXPECT(state_of(m, "visual.bn1.num_batches_tracked") == 1.0f, "num_batches_tracked not 1");
    EXPECT(state_of(m, "visual.layer4.0.downsample.1.num_batches_tracked") == 1.0f, "num_batches_tracked not 1");
    EXPECT(state_of(m, "visual.layer1.0.bn2.running_var") != 1.0f, "running_var not updated");
    clip_model_set_bn_mode(m, CLIP_BN_TRAIN); /* forced training mode also on a forward-only arena */
    rn_loss(&inf);
    EXPECT(state_of(m, "visual.bn1.num_batches_tracked") == 2.0f, "CLIP_BN_TRAIN did not update");
    EXPECT_CLOSE("train-mode features, both arenas", inf.fv, tr.fv, 32, 1e-6, 0);
    /* clone copies state; checkpoints keep it (counters as I64) */
    ClipModel *c2 = NULL, *back = NULL;
    EXPECT(!clip_model_clone(&c2, m), "%s", modx_last_error());
    EXPECT(!memcmp(c2->state, m->state, m->table.state_total * sizeof(float)), "clone lost the state");
    char path[512];
    snprintf(path, sizeof path, "%s/rn.safetensors", harness_tmpdir());
    EXPECT(!checkpoint_save(path, m, m->params, NULL, 0), "%s", modx_last_error());
    EXPECT(!checkpoint_load(&back, path, NULL), "%s", modx_last_error());
    EXPECT(!memcmp(back->params, m->params, m->table.total * sizeof(float)), "parameters differ");
    EXPECT(!memcmp(back->state, m->state, m->table.state_total * sizeof(float)), "state differs after round trip");
    SafeTensors *st = NULL;
    EXPECT(!safetensors_open(&st, path), "%s", modx_last_error());
    const StTensorInfo *t = safetensors_find(st, "visual.layer2.0.bn3.num_batches_tracked");
    int ok = t && t->dtype == ST_I64 && t->ndim == 0;
    safetensors_close(st);
    EXPECT(ok, "num_batches_tracked is not an I64 scalar in the checkpoint");
    clip_model_free(back), clip_model_free(c2);
    free(before), free(f1);
    rn_ctx_free(&tr), rn_ctx_free(&inf);
    clip_model_free(m);
}

/* WiSE-FT merging (modx merge) mixes the running statistics like weights. */
TEST(rn_merge_mixes_state) {
    ClipModel *a = rn_model(), *b = rn_model(), *m = NULL;
    for (size_t i = 0; i < a->table.state_total; i++) a->state[i] = 1.0f, b->state[i] = 3.0f;
    char pa[512], pb[512], pm[512];
    snprintf(pa, sizeof pa, "%s/ma.safetensors", harness_tmpdir());
    snprintf(pb, sizeof pb, "%s/mb.safetensors", harness_tmpdir());
    snprintf(pm, sizeof pm, "%s/mm.safetensors", harness_tmpdir());
    int ok = !checkpoint_save(pa, a, a->params, NULL, 0) && !checkpoint_save(pb, b, b->params, NULL, 0) &&
             !merge_checkpoints(pa, pb, 0.25, pm, NULL) && !checkpoint_load(&m, pm, NULL);
    float rv = ok ? state_of(m, "visual.layer1.0.bn2.running_var") : 0;
    float nbt = ok ? state_of(m, "visual.bn1.num_batches_tracked") : 0;
    clip_model_free(a), clip_model_free(b), clip_model_free(m);
    EXPECT(ok, "%s", modx_last_error());
    EXPECT(rv == 1.5f, "merged running_var %g, want 0.75·1 + 0.25·3 = 1.5", rv);
    EXPECT(nbt == 2.0f, "merged num_batches_tracked %g, want round(1.5) = 2", nbt);
}
