/* The whole model against the independent PyTorch implementation
 * (tools/clip_ref.py, fixtures from tools/gen_clip_ref.py): features, losses and
 * every parameter gradient, for the contrastive and the Mod-X loss, in process
 * and through `modx grad`; plus checkpoint round trips and bad checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip/model.h"
#include "harness.h"
#include "strategy_util.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "train/step.h"

#define FIX "tests/fixtures/"
#define CFG FIX "clip_micro.json"

/* Two PyTorch-written cases: the micro config (QuickGELU, modx.config in the
 * metadata) and another ViT shape with exact GELU and MLP ratio 2, written with
 * no modx metadata (so its config comes from --config). */
static const char *const CASES[] = {"clip_micro", "clip_gelu"};

typedef struct {
    ClipModel *m, *old;
    SafeTensors *batch, *exp;
    float *images, *grads;
    int32_t *texts;
    int B;
} Ref;

static void ref_free(Ref *r) {
    clip_model_free(r->m);
    clip_model_free(r->old);
    safetensors_close(r->batch);
    safetensors_close(r->exp);
    free(r->images), free(r->grads), free(r->texts);
}

static int ref_open(Ref *r, const char *prefix) {
    char cfg[256], ckpt[256], old[256], batch[256], exp[256];
    snprintf(cfg, sizeof cfg, FIX "%s.json", prefix);
    snprintf(ckpt, sizeof ckpt, FIX "%s_ckpt.safetensors", prefix);
    snprintf(old, sizeof old, FIX "%s_old.safetensors", prefix);
    snprintf(batch, sizeof batch, FIX "%s_batch.safetensors", prefix);
    snprintf(exp, sizeof exp, FIX "%s_expected.safetensors", prefix);
    memset(r, 0, sizeof *r);
    if (checkpoint_load(&r->m, ckpt, cfg) || checkpoint_load(&r->old, old, cfg) || safetensors_open(&r->batch, batch) ||
        safetensors_open(&r->exp, exp))
        return 0;
    const ClipConfig *c = &r->m->cfg;
    r->B = (int)safetensors_find(r->batch, "images")->shape[0];
    int64_t is[4] = {r->B, 3, c->vision.image_size, c->vision.image_size}, ts[2] = {r->B, c->text.context_length};
    r->images = calloc((size_t)(is[0] * is[1] * is[2] * is[3]), sizeof(float));
    r->texts = calloc((size_t)(ts[0] * ts[1]), sizeof(int32_t));
    r->grads = calloc(r->m->table.total, sizeof(float));
    return r->images && r->texts && r->grads && !safetensors_read_f32(r->batch, "images", 4, is, r->images) &&
           !safetensors_read_i32(r->batch, "texts", 2, ts, r->texts);
}

/* Compares features, losses and all gradients of `got` (a file or in-memory
 * values) with case `which` of the expected file. */
static int check_against(const Ref *r, const char *which, const float *V, const float *T, float loss, float loss_con,
                         float loss_kl, const float *grads) {
    int E = r->m->cfg.embed_dim;
    size_t nf = (size_t)r->B * (size_t)E;
    int64_t fs[2] = {r->B, E};
    float *want = calloc(r->m->table.total > nf ? r->m->table.total : nf, sizeof(float));
    float s[3];
    char name[128];
    int ok = want != NULL;
    ok = ok && !safetensors_read_f32(r->exp, "image_features", 2, fs, want) &&
         harness_close_f32(__FILE__, __LINE__, "image_features", V, want, nf, 1e-5, 0);
    ok = ok && !safetensors_read_f32(r->exp, "text_features", 2, fs, want) &&
         harness_close_f32(__FILE__, __LINE__, "text_features", T, want, nf, 1e-5, 0);
    const char *ln[3] = {"loss", "loss_con", "loss_kl"};
    float lv[3] = {loss, loss_con, loss_kl};
    for (int k = 0; ok && k < 3; k++) {
        snprintf(name, sizeof name, "%s.%s", which, ln[k]);
        ok = !safetensors_read_f32(r->exp, name, 0, NULL, &s[k]) &&
             harness_close_f32(__FILE__, __LINE__, name, &lv[k], &s[k], 1, 1e-7, 1e-5);
    }
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; ok && i < r->m->table.count; i++) {
        const ParamInfo *p = &r->m->table.items[i];
        snprintf(name, sizeof name, "%s.grad.%s", which, p->name);
        ok = !safetensors_read_f32(r->exp, name, p->ndim, p->shape, want + p->offset) &&
             harness_close_f32(__FILE__, __LINE__, name, grads + p->offset, want + p->offset, p->numel, 0, 1e-3);
        double maxw = 0, maxd = 0;
        for (size_t j = 0; j < p->numel; j++) {
            double w = want[p->offset + j], d = grads[p->offset + j] - w;
            if (w < 0) w = -w;
            if (d < 0) d = -d;
            if (w > maxw) maxw = w;
            if (d > maxd) maxd = d;
        }
        if (maxw > 0 && maxd / maxw > worst) worst = maxd / maxw, worst_name = p->name;
    }
    if (ok) printf("%s: worst gradient rel. error %.2e (%s)\n", which, worst, worst_name);
    if (!want) harness_fail(__FILE__, __LINE__, "out of memory");
    else if (!ok && modx_last_error()[0]) harness_fail(__FILE__, __LINE__, "%s", modx_last_error());
    free(want);
    return ok;
}

static void run_case(const char *prefix, const char *which, int modx) {
    Ref r;
    ClipStep *s = NULL;
    StepLoss l;
    StrategyInst si;
    StepLossTerm con = {0}, mx = test_modx_term(&si, 2.0, 1);
    int ok = ref_open(&r, prefix) && !clip_step_new(&s, r.m, modx ? r.old : NULL, r.B) &&
             !clip_step_run(s, r.images, r.texts, r.B, modx ? &mx : &con, r.grads, &l);
    if (!ok) {
        harness_fail(__FILE__, __LINE__, "%s: setup failed: %s", prefix, modx_last_error());
    } else if (modx && !(l.selected_i2t > 0 && l.selected_i2t < r.B && l.selected_t2i > 0 && l.selected_t2i < r.B)) {
        harness_fail(__FILE__, __LINE__, "%s: the Mod-X case must mix selected and excluded rows", prefix);
    } else {
        printf("    %s, ", prefix);
        check_against(&r, which, s->V, s->T, l.loss, l.loss_con, l.loss_kl, r.grads);
    }
    clip_step_free(s);
    ref_free(&r);
}

TEST(model_ref_contrastive_matches_pytorch) {
    for (int c = 0; c < 2; c++) run_case(CASES[c], "contrastive", 0);
}

TEST(model_ref_modx_matches_pytorch) {
    for (int c = 0; c < 2; c++) run_case(CASES[c], "modx", 1);
}

/* Same check through the command line: `modx grad` writes a file that must
 * reproduce the PyTorch features, losses and gradients. */
static void grad_cli_case(const char *prefix) {
    const char *modx = getenv("MODX");
    EXPECT(modx && modx[0], "MODX (path of the modx binary) is not set; run through tests/run.sh");
    char out[512], cmd[2048];
    snprintf(out, sizeof out, "%s/grad-%s.safetensors", harness_tmpdir(), prefix);
    snprintf(cmd, sizeof cmd,
             "'%s' grad --config " FIX "%s.json --ckpt " FIX "%s_ckpt.safetensors --batch " FIX
             "%s_batch.safetensors --old " FIX "%s_old.safetensors --alpha 2 --out '%s' >/dev/null 2>&1",
             modx, prefix, prefix, prefix, prefix, out);
    EXPECT(system(cmd) == 0, "modx grad failed: %s", cmd);
    Ref r;
    SafeTensors *got = NULL;
    EXPECT(ref_open(&r, prefix), "setup: %s", modx_last_error());
    int E = r.m->cfg.embed_dim;
    int64_t fs[2] = {r.B, E};
    float *V = calloc((size_t)r.B * E, sizeof(float)), *T = calloc((size_t)r.B * E, sizeof(float)), l[3];
    int ok = V && T && !safetensors_open(&got, out) && !safetensors_read_f32(got, "image_features", 2, fs, V) &&
             !safetensors_read_f32(got, "text_features", 2, fs, T) && !safetensors_read_f32(got, "loss", 0, NULL, &l[0]) &&
             !safetensors_read_f32(got, "loss_con", 0, NULL, &l[1]) &&
             !safetensors_read_f32(got, "loss_kl", 0, NULL, &l[2]);
    char name[128];
    for (int i = 0; ok && i < r.m->table.count; i++) {
        const ParamInfo *p = &r.m->table.items[i];
        snprintf(name, sizeof name, "grad.%s", p->name);
        ok = !safetensors_read_f32(got, name, p->ndim, p->shape, r.grads + p->offset);
    }
    if (!ok) harness_fail(__FILE__, __LINE__, "reading %s: %s", out, modx_last_error());
    else printf("    %s via modx grad, ", prefix), check_against(&r, "modx", V, T, l[0], l[1], l[2], r.grads);
    safetensors_close(got);
    free(V), free(T);
    ref_free(&r);
}

TEST(model_ref_grad_cli_matches_pytorch) {
    for (int c = 0; c < 2; c++) grad_cli_case(CASES[c]);
}

TEST(checkpoint_round_trip_and_config_metadata) {
    ClipConfig cfg;
    ClipModel *m = NULL, *back = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/init.safetensors", harness_tmpdir());
    EXPECT(!clip_config_load(&cfg, CFG) && !clip_model_new(&m, &cfg), "%s", modx_last_error());
    clip_model_init(m, 5);
    EXPECT(!checkpoint_save(path, m, m->params, NULL, 0), "%s", modx_last_error());
    EXPECT(!checkpoint_load(&back, path, NULL), "config from metadata: %s", modx_last_error());
    EXPECT(back->table.total == m->table.total, "layout differs");
    EXPECT(!memcmp(back->params, m->params, m->table.total * sizeof(float)), "parameters differ after round trip");
    clip_model_free(back);
    clip_model_free(m);
}

TEST(checkpoint_optimizer_round_trip) {
    ClipConfig cfg;
    ClipModel *m = NULL;
    AdamW a, b;
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    EXPECT(!clip_config_load(&cfg, CFG) && !clip_model_new(&m, &cfg), "%s", modx_last_error());
    OptimSegment seg = {"all", 0, m->table.total, 1};
    AdamWConfig ac = adamw_default_config();
    EXPECT(!adamw_init(&a, &ac, m->table.total, &seg, 1) && !adamw_init(&b, &ac, m->table.total, &seg, 1), "init");
    for (size_t i = 0; i < a.n; i++) a.m[i] = (float)i * 0.5f, a.v[i] = (float)i * 0.25f;
    a.step = 17;
    char path[512];
    snprintf(path, sizeof path, "%s/x.safetensors", harness_tmpdir());
    char *op = checkpoint_optim_path(path);
    EXPECT(op && strstr(op, "/x.optim.safetensors"), "optim path %s", op ? op : "(null)");
    OptimState sa = {a.m, a.v, a.step}, sb = {b.m, b.v, 0};
    ModxStatus s1 = checkpoint_save_optim(op, m, &sa, NULL, 0), s2 = checkpoint_load_optim(op, m, &sb);
    int same = !memcmp(a.m, b.m, a.n * sizeof(float)) && !memcmp(a.v, b.v, a.n * sizeof(float)) && sb.step == 17;
    /* a negative second moment would make the next update NaN: refused, naming the tensor */
    a.v[3] = -1.0f;
    ModxStatus s3 = checkpoint_save_optim(op, m, &sa, NULL, 0), s4 = checkpoint_load_optim(op, m, &sb);
    int named = s4 == MODX_ERR_FORMAT && strstr(modx_last_error(), "exp_avg_sq.") != NULL;
    free(op);
    adamw_free(&a), adamw_free(&b);
    clip_model_free(m);
    EXPECT(s1 == MODX_OK && s2 == MODX_OK && s3 == MODX_OK, "save/load failed");
    EXPECT(same, "optimizer state differs after round trip");
    EXPECT(named, "a negative exp_avg_sq was accepted or not named (status %d)", s4);
}

/* A checkpoint for another model: missing, extra and mis-shaped tensors are
 * errors naming the file and the tensor. */
TEST(checkpoint_mismatch_errors_name_tensor) {
    ClipModel *m = NULL;
    char msg[2048];
    /* micro checkpoint read with the tiny config: shapes differ */
    EXPECT(checkpoint_load(&m, FIX "clip_micro_ckpt.safetensors", "configs/tiny.json") == MODX_ERR_FORMAT,
           "mismatched config accepted");
    snprintf(msg, sizeof msg, "%s", modx_last_error());
    EXPECT(strstr(msg, "clip_micro_ckpt.safetensors") && strstr(msg, "'"), "message: %s", msg);
    /* a checkpoint without one tensor */
    SafeTensors *st = NULL;
    EXPECT(!safetensors_open(&st, FIX "clip_micro_ckpt.safetensors"), "%s", modx_last_error());
    SafeTensorsWriter *w = NULL;
    EXPECT(!safetensors_writer_new(&w), "writer");
    for (int i = 0; i < safetensors_count(st); i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        if (strcmp(t->name, "visual.proj"))
            safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, safetensors_data(st, t));
    }
    char path[512];
    snprintf(path, sizeof path, "%s/missing.safetensors", harness_tmpdir());
    ModxStatus s = safetensors_writer_save(w, path);
    safetensors_writer_free(w);
    safetensors_close(st);
    EXPECT(s == MODX_OK, "%s", modx_last_error());
    EXPECT(checkpoint_load(&m, path, CFG) == MODX_ERR_FORMAT, "missing tensor accepted");
    EXPECT(strstr(modx_last_error(), "missing parameter 'visual.proj'"), "message: %s", modx_last_error());
    /* no config anywhere */
    EXPECT(checkpoint_load(&m, path, NULL) == MODX_ERR_INVALID, "no config accepted");
    EXPECT(strstr(modx_last_error(), "--config"), "message: %s", modx_last_error());
}
