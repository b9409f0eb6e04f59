#include "train/step.h"

#include <stdlib.h>
#include <string.h>

#include "clip/resnet.h"
#include "loss/contrastive.h"
#include "loss/lwf.h"
#include "loss/modx.h"

void clip_step_free(ClipStep *s) {
    if (!s) return;
    clip_acts_free(s->acts);
    clip_acts_free(s->old_acts);
    free(s->V), free(s->T), free(s->Vo), free(s->To), free(s->dV), free(s->dT), free(s->scratch);
    free(s);
}

ModxStatus clip_step_new(ClipStep **out, const ClipModel *m, const ClipModel *old, int max_B) {
    *out = NULL;
    if (old && old->cfg.embed_dim != m->cfg.embed_dim)
        return modx_fail(MODX_ERR_INVALID, "old model embed_dim %d differs from the current model's %d",
                         old->cfg.embed_dim, m->cfg.embed_dim);
    ClipStep *s = modx_calloc(1, sizeof *s, "training step");
    if (!s) return MODX_ERR_NOMEM;
    s->m = m, s->old = old, s->max_B = max_B, s->E = m->cfg.embed_dim;
    size_t nf = (size_t)max_B * (size_t)s->E;
    size_t ns = contrastive_scratch_floats(max_B);
    if (modx_scratch_floats(max_B) > ns) ns = modx_scratch_floats(max_B);
    if (lwf_scratch_floats(max_B) > ns) ns = lwf_scratch_floats(max_B);
    ModxStatus st = MODX_OK;
    if (!(s->V = modx_calloc(nf, sizeof(float), "features")) || !(s->T = modx_calloc(nf, sizeof(float), "features")) ||
        !(s->dV = modx_calloc(nf, sizeof(float), "feature gradients")) ||
        !(s->dT = modx_calloc(nf, sizeof(float), "feature gradients")) ||
        !(s->scratch = modx_calloc(ns, sizeof(float), "loss scratch")))
        st = MODX_ERR_NOMEM;
    if (st == MODX_OK && old &&
        (!(s->Vo = modx_calloc(nf, sizeof(float), "old features")) ||
         !(s->To = modx_calloc(nf, sizeof(float), "old features"))))
        st = MODX_ERR_NOMEM;
    if (st == MODX_OK) st = clip_acts_new(&s->acts, &m->cfg, max_B, 1);
    if (st == MODX_OK && old) st = clip_acts_new(&s->old_acts, &old->cfg, max_B, 0);
    if (st != MODX_OK) {
        clip_step_free(s);
        return st;
    }
    *out = s;
    return MODX_OK;
}

static const char *const kind_names[] = {"contrastive", "modx", "modx-noselect", "lwf"};

/* The loss and its gradient w.r.t. the features (into s->dV, s->dT, *dscale). */
static void step_loss(ClipStep *s, const StepLossSpec *spec, int B, float *dscale, StepLoss *out) {
    const float ls = clip_logit_scale(s->m);
    if (spec->kind == STEP_LOSS_CONTRASTIVE) {
        out->loss = out->loss_con =
            contrastive_forward_backward(s->dV, s->dT, dscale, s->scratch, s->V, s->T, ls, B, s->E);
        out->selected_i2t = out->selected_t2i = 0;
    } else if (spec->kind == STEP_LOSS_LWF) {
        out->loss_con = contrastive_forward_backward(s->dV, s->dT, dscale, s->scratch, s->V, s->T, ls, B, s->E);
        out->loss_kl = lwf_forward_backward(s->dV, s->dT, dscale, s->scratch, s->V, s->T, s->Vo, s->To, ls,
                                            clip_logit_scale(s->old), spec->tau, spec->weight, B, s->E);
        out->loss = (float)((double)out->loss_con + (double)spec->weight * out->loss_kl);
        out->selected_i2t = out->selected_t2i = B;
    } else {
        ModxLossResult r;
        modx_loss_forward_backward(&r, s->dV, s->dT, dscale, s->scratch, s->V, s->T, s->Vo, s->To, ls, spec->weight,
                                   spec->kind == STEP_LOSS_MODX, B, s->E);
        out->loss = r.loss, out->loss_con = r.loss_con, out->loss_kl = r.loss_kl;
        out->selected_i2t = r.selected_i2t, out->selected_t2i = r.selected_t2i;
    }
}

ModxStatus clip_step_run_loss(ClipStep *s, const float *images, const int32_t *texts, int B,
                              const StepLossSpec *spec, float *grads, StepLoss *out) {
    CHECK(B >= 1 && B <= s->max_B, "batch %d outside [1, %d]", B, s->max_B);
    CHECK((unsigned)spec->kind <= STEP_LOSS_LWF, "unknown step loss kind %d", (int)spec->kind);
    if (spec->kind != STEP_LOSS_CONTRASTIVE && !s->old)
        return modx_fail(MODX_ERR_INVALID, "the %s loss needs the old model (the previous phase's weights)",
                         kind_names[spec->kind]);
    if (spec->kind == STEP_LOSS_LWF && !(spec->tau > 0.0f))
        return modx_fail(MODX_ERR_INVALID, "LwF temperature %g, expected > 0", spec->tau);
    const ClipModel *m = s->m;
    size_t nf = (size_t)B * (size_t)s->E;
    memset(s->dV, 0, nf * sizeof(float));
    memset(s->dT, 0, nf * sizeof(float));
    memset(grads, 0, m->table.total * sizeof(float));
    memset(out, 0, sizeof *out);
    MODX_TRY(clip_forward(m, s->acts, images, texts, B, s->V, s->T));
    if (spec->kind != STEP_LOSS_CONTRASTIVE)
        MODX_TRY(clip_forward(s->old, s->old_acts, images, texts, B, s->Vo, s->To));
    float dscale = 0;
    step_loss(s, spec, B, &dscale, out);
    clip_backward(m, s->acts, s->dV, s->dT, grads);
    grads[m->w.logit_scale - m->params] += dscale;
    return MODX_OK;
}

ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, float alpha, int select,
                         float *grads, StepLoss *out) {
    StepLossSpec spec = {STEP_LOSS_CONTRASTIVE, alpha, 1.0f};
    if (s->old) spec.kind = select ? STEP_LOSS_MODX : STEP_LOSS_MODX_NOSELECT;
    return clip_step_run_loss(s, images, texts, B, &spec, grads, out);
}

ModxStatus clip_optim_segments(const ClipModel *m, OptimSegment **segs, int *n) {
    OptimSegment *s = modx_calloc((size_t)m->table.count, sizeof *s, "optimizer segments");
    if (!s) return MODX_ERR_NOMEM;
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        s[i] = (OptimSegment){p->name, p->offset, p->numel, p->decay};
    }
    *segs = s;
    *n = m->table.count;
    return MODX_OK;
}

static double tower_flops(double n_tok, double width, double mlp, double layers) {
    double per_layer = 2 * n_tok * width * (3 * width) /* qkv */ + 2 * 2 * n_tok * n_tok * width /* QK^T, AV */ +
                       2 * n_tok * width * width /* out proj */ + 2 * 2 * n_tok * width * mlp /* c_fc, c_proj */;
    return layers * per_layer;
}

double clip_forward_flops_per_pair(const ClipConfig *c) {
    const ClipVisionConfig *v = &c->vision;
    const ClipTextConfig *t = &c->text;
    double patches = (double)v->grid * v->grid, f;
    if (v->resnet) {
        f = resnet_forward_flops(c);
    } else {
        f = 2 * patches * v->width * 3.0 * v->patch_size * v->patch_size; /* conv1 */
        f += tower_flops(v->tokens, v->width, v->mlp_width, v->layers) + 2.0 * v->width * c->embed_dim;
    }
    f += tower_flops(t->context_length, t->width, t->mlp_width, t->layers) + 2.0 * t->width * c->embed_dim;
    return f;
}
