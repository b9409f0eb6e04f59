/* modx grad — features, losses and every parameter gradient for one batch:
 * the interoperability and debugging door (any framework can check us through it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "clip/model.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "strategy/strategy.h"
#include "train/step.h"

static const char usage[] =
    "usage: modx grad --ckpt CKPT --batch BATCH.safetensors [--config CFG.json]\n"
    "                 [--old OLD_CKPT --alpha A] [--noselect] [--eval] --out OUT.safetensors\n"
    "  BATCH holds `images` (F32, B x 3 x S x S, already normalised) and `texts` (I32 or I64, B x T).\n"
    "  OUT holds image_features, text_features (L2-normalised, B x E), scalars loss, loss_con,\n"
    "  loss_kl (0 without --old) and grad.<name> for every parameter (OpenCLIP names).\n"
    "  --ckpt CKPT        the model (required)\n"
    "  --batch BATCH      the batch file (required)\n"
    "  --out OUT          the file to write (required)\n"
    "  --config CFG.json  the model config, needed only when CKPT carries no modx.config metadata\n"
    "  --old OLD_CKPT     the frozen old model: the loss is then Mod-X's, L_con + A * L_kl (default: none,\n"
    "                     the contrastive loss alone)\n"
    "  --alpha A          the weight of the distillation term (required with --old)\n"
    "  --noselect         Mod-X without the selection of correctly retrieved rows (default: with it)\n"
    "  --eval             BatchNorm (ResNet image towers) in eval mode, with the running statistics\n"
    "                     (default: batch statistics, as training does; the old model is always in eval mode)\n";

typedef struct {
    ClipModel *m, *old;
    ClipStep *step;
    SafeTensors *batch;
    float *images, *grads;
    int32_t *texts;
} GradRun;

static void grad_run_free(GradRun *r) {
    clip_step_free(r->step);
    clip_model_free(r->m);
    clip_model_free(r->old);
    safetensors_close(r->batch);
    free(r->images), free(r->grads), free(r->texts);
}

static ModxStatus read_batch(GradRun *r, const char *path, int *B_out) {
    const ClipConfig *c = &r->m->cfg;
    MODX_TRY(safetensors_open(&r->batch, path));
    const StTensorInfo *im = safetensors_find(r->batch, "images"), *tx = safetensors_find(r->batch, "texts");
    if (!im || !tx)
        return modx_fail(MODX_ERR_FORMAT, "%s: missing tensor '%s' (a batch holds 'images' and 'texts')", path,
                         im ? "texts" : "images");
    if (im->ndim != 4 || im->shape[0] < 1 || im->shape[0] > 65536)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor 'images' must be B x 3 x %d x %d with 1 <= B <= 65536", path,
                         c->vision.image_size, c->vision.image_size);
    int B = (int)im->shape[0];
    int64_t ishape[4] = {B, 3, c->vision.image_size, c->vision.image_size};
    int64_t tshape[2] = {B, c->text.context_length};
    size_t npix = (size_t)B * 3 * (size_t)c->vision.image_size * (size_t)c->vision.image_size;
    r->images = modx_calloc(npix, sizeof(float), "batch images");
    r->texts = modx_calloc((size_t)B * (size_t)c->text.context_length, sizeof(int32_t), "batch texts");
    if (!r->images || !r->texts) return MODX_ERR_NOMEM;
    MODX_TRY(safetensors_read_f32(r->batch, "images", 4, ishape, r->images));
    MODX_TRY(safetensors_read_i32(r->batch, "texts", 2, tshape, r->texts));
    *B_out = B;
    return MODX_OK;
}

static ModxStatus write_result(const GradRun *r, const StepLoss *l, int B, const char *out) {
    const ClipModel *m = r->m;
    SafeTensorsWriter *w = NULL;
    int64_t fshape[2] = {B, m->cfg.embed_dim};
    char(*names)[PARAM_NAME_MAX + 8] = calloc((size_t)m->table.count, sizeof *names);
    ModxStatus st = names ? safetensors_writer_new(&w) : modx_fail(MODX_ERR_NOMEM, "out of memory");
    if (st == MODX_OK) st = safetensors_writer_add(w, "image_features", ST_F32, 2, fshape, r->step->V);
    if (st == MODX_OK) st = safetensors_writer_add(w, "text_features", ST_F32, 2, fshape, r->step->T);
    if (st == MODX_OK) st = safetensors_writer_add(w, "loss", ST_F32, 0, NULL, &l->loss);
    if (st == MODX_OK) st = safetensors_writer_add(w, "loss_con", ST_F32, 0, NULL, &l->loss_con);
    if (st == MODX_OK) st = safetensors_writer_add(w, "loss_kl", ST_F32, 0, NULL, &l->loss_kl);
    for (int i = 0; st == MODX_OK && i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        snprintf(names[i], sizeof names[i], "grad.%s", p->name);
        st = safetensors_writer_add(w, names[i], ST_F32, p->ndim, p->shape, r->grads + p->offset);
    }
    if (st == MODX_OK) st = safetensors_writer_save(w, out);
    safetensors_writer_free(w);
    free(names);
    return st;
}

static ModxStatus run(GradRun *r, const char *ckpt, const char *config, const char *batch, const char *old,
                      double alpha, int select, int eval, const char *out) {
    int B = 0;
    MODX_TRY(checkpoint_load(&r->m, ckpt, config));
    if (eval) clip_model_set_bn_mode(r->m, CLIP_BN_EVAL);
    MODX_TRY(read_batch(r, batch, &B));
    if (old) {
        MODX_TRY(checkpoint_load(&r->old, old, config));
        if (r->old->table.total != r->m->table.total)
            return modx_fail(MODX_ERR_INVALID, "%s: the old model's config differs from that of %s", old, ckpt);
    }
    if (!(r->grads = modx_calloc(r->m->table.total, sizeof(float), "gradients"))) return MODX_ERR_NOMEM;
    MODX_TRY(clip_step_new(&r->step, r->m, r->old, B));
    /* With an old model: Mod-X (or its ablation without selection) at α; else the contrastive loss. */
    StrategyInst si;
    StepLossTerm loss = {0};
    if (old) {
        MODX_TRY(strategy_inst_named(&si, select ? "modx" : "modx-noselect"));
        MODX_TRY(strategy_inst_set(&si, "alpha", alpha, "--alpha"));
        loss = strategy_loss(&si);
    }
    StepLoss l;
    MODX_TRY(clip_step_run(r->step, r->images, r->texts, B, &loss, r->grads, &l));
    if (old)
        fprintf(stderr, "mod-x: %d/%d image->text rows and %d/%d text->image rows distilled\n", l.selected_i2t, B,
                l.selected_t2i, B);
    MODX_TRY(write_result(r, &l, B, out));
    printf("loss %.7g (contrastive %.7g, kl %.7g), B = %d -> %s\n", l.loss, l.loss_con, l.loss_kl, B, out);
    return MODX_OK;
}

MODX_COMMAND(grad, "grad", "features, losses and all parameter gradients for one batch") {
    if (cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
    CliOpt o[] = {{"--config", 1, 0}, {"--ckpt", 1, 0}, {"--batch", 1, 0}, {"--old", 1, 0},
                  {"--alpha", 1, 0},  {"--out", 1, 0},  {"--noselect", 0, 0}, {"--eval", 0, 0}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, o, 8, pos, 0, &npos)) return 2;
    if (cli_require("grad", &o[1]) || cli_require("grad", &o[2]) || cli_require("grad", &o[5])) return 2;
    double alpha = 0;
    if (o[4].value && cli_double("grad", "--alpha", o[4].value, &alpha)) return 2;
    if (o[3].value && !o[4].value) {
        fputs("modx grad: --old needs --alpha (the weight of the distillation term)\n", stderr);
        return 2;
    }
    GradRun r;
    memset(&r, 0, sizeof r);
    ModxStatus st = run(&r, o[1].value, o[0].value, o[2].value, o[3].value, alpha, !o[6].value, !!o[7].value,
                        o[5].value);
    grad_run_free(&r);
    return st == MODX_OK ? 0 : cli_report_error("grad");
}
