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
    size_t ns = step_loss_scratch_floats(max_B);
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

size_t step_loss_scratch_floats(int max_B) {
    size_t ns = contrastive_scratch_floats(max_B);
    if (modx_scratch_floats(max_B) > ns) ns = modx_scratch_floats(max_B);
    if (lwf_scratch_floats(max_B) > ns) ns = lwf_scratch_floats(max_B);
    return ns;
}

ModxStatus step_loss_contrastive(const void *ctx, const StepLossIO *io, StepLoss *out) {
    (void)ctx;
    out->loss = out->loss_con =
        contrastive_forward_backward(io->dV, io->dT, io->dscale, io->scratch, io->V, io->T, io->scale, io->B, io->E);
    out->selected_i2t = out->selected_t2i = 0;
    return MODX_OK;
}

ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, const StepLossTerm *loss,
                         float *grads, StepLoss *out) {
    CHECK(B >= 1 && B <= s->max_B, "batch %d outside [1, %d]", B, s->max_B);
    if (loss->needs_old && !s->old)
        return modx_fail(MODX_ERR_INVALID, "the %s loss needs the old model (the previous phase's weights)",
                         loss->name ? loss->name : "strategy's");
    const ClipModel *m = s->m;
    size_t nf = (size_t)B * (size_t)s->E;
    memset(s->dV, 0, nf * sizeof(float));
    memset(s->dT, 0, nf * sizeof(float));
    memset(grads, 0, m->table.total * sizeof(float));
    memset(out, 0, sizeof *out);
    MODX_TRY(clip_forward(m, s->acts, images, texts, B, s->V, s->T));
    if (loss->needs_old) MODX_TRY(clip_forward(s->old, s->old_acts, images, texts, B, s->Vo, s->To));
    float dscale = 0;
    StepLossIO io = {.V = s->V, .T = s->T, .Vo = loss->needs_old ? s->Vo : NULL, .To = loss->needs_old ? s->To : NULL,
                     .scale = clip_logit_scale(m), .scale_old = loss->needs_old ? clip_logit_scale(s->old) : 0.0f,
                     .B = B, .E = s->E, .replay_rows = s->replay_rows < B ? s->replay_rows : 0, .scratch = s->scratch, .dV = s->dV, .dT = s->dT, .dscale = &dscale};
    MODX_TRY(loss->fn ? loss->fn(loss->ctx, &io, out) : step_loss_contrastive(NULL, &io, out));
    clip_backward(m, s->acts, s->dV, s->dT, grads);
    grads[m->w.logit_scale - m->params] += dscale;
    return MODX_OK;
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
