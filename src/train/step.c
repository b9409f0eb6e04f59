#include "train/step.h"

#include <stdlib.h>
#include <string.h>

#include "clip/resnet.h"
#include "core/dist.h"
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
    s->local_B = (max_B + dist_size() - 1) / dist_size(); /* a rank forwards its slice only (dist_slice) */
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
    if (st == MODX_OK) st = clip_acts_new(&s->acts, &m->cfg, s->local_B, 1);
    if (st == MODX_OK && old) st = clip_acts_new(&s->old_acts, &old->cfg, s->local_B, 0);
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

void clip_step_old_rows(ClipStep *s, const OldFeatCache *fc, const uint32_t *img, const uint32_t *cap) {
    s->oldfeat = fc, s->old_img = img, s->old_cap = cap;
}

/* The old model's features of the batch: from the cache when the rows are
 * there (bit-identical to the forward, train/featcache.h), else its forward. */
static ModxStatus old_features(ClipStep *s, const float *images, const int32_t *texts, int lo, int nb) {
    const uint32_t *img = s->old_img, *cap = s->old_cap;
    size_t off = (size_t)lo * s->E;
    s->old_img = s->old_cap = NULL; /* one step only */
    if (img && oldfeat_lookup(s->oldfeat, img + lo, cap + lo, nb, s->Vo + off, s->To + off)) {
        s->old_lookups++;
        return MODX_OK;
    }
    return clip_forward(s->old, s->old_acts, images, texts, nb, s->Vo + off, s->To + off);
}

ModxStatus clip_step_run(ClipStep *s, const float *images, const int32_t *texts, int B, const StepLossTerm *loss,
                         float *grads, StepLoss *out) {
    CHECK(B >= 1 && B <= s->max_B, "batch %d outside [1, %d]", B, s->max_B);
    if (loss->needs_old && !s->old)
        return modx_fail(MODX_ERR_INVALID, "the %s loss needs the old model (the previous phase's weights)",
                         loss->name ? loss->name : "strategy's");
    MODX_TRY(dist_check_batch(B, "the training batch"));
    const ClipModel *m = s->m;
    size_t nf = (size_t)B * (size_t)s->E;
    memset(s->dV, 0, nf * sizeof(float));
    memset(s->dT, 0, nf * sizeof(float));
    memset(grads, 0, m->table.total * sizeof(float));
    memset(out, 0, sizeof *out);
    /* This rank's slice of the batch (all of it in a job of one), then every rank's features. */
    int lo, nb;
    dist_slice(B, &lo, &nb);
    const float *img = images + (size_t)lo * 3 * m->cfg.vision.image_size * m->cfg.vision.image_size;
    const int32_t *txt = texts + (size_t)lo * m->cfg.text.context_length;
    size_t off = (size_t)lo * s->E;
    MODX_TRY(clip_forward(m, s->acts, img, txt, nb, s->V + off, s->T + off));
    if (loss->needs_old) MODX_TRY(old_features(s, img, txt, lo, nb));
    MODX_TRY(step_gather_features(s, nb, loss->needs_old));
    float dscale = 0;
    StepLossIO io = {.V = s->V, .T = s->T, .Vo = loss->needs_old ? s->Vo : NULL, .To = loss->needs_old ? s->To : NULL,
                     .scale = clip_logit_scale(m), .scale_old = loss->needs_old ? clip_logit_scale(s->old) : 0.0f,
                     .B = B, .E = s->E, .replay_rows = s->replay_rows < B ? s->replay_rows : 0, .scratch = s->scratch, .dV = s->dV, .dT = s->dT, .dscale = &dscale};
    MODX_TRY(loss->fn ? loss->fn(loss->ctx, &io, out) : step_loss_contrastive(NULL, &io, out));
    clip_backward(m, s->acts, s->dV + off, s->dT + off, grads);
    MODX_TRY(dist_sum_f32(grads, m->table.total)); /* the ranks' slices, added in rank order */
    grads[m->w.logit_scale - m->params] += dscale; /* every rank computed the whole batch's loss */
    return MODX_OK;
}

ModxStatus step_gather_features(ClipStep *s, int nb, int old) {
    size_t n = (size_t)nb * (size_t)s->E;
    MODX_TRY(dist_allgather_f32(s->V, n));
    MODX_TRY(dist_allgather_f32(s->T, n));
    if (old) MODX_TRY(dist_allgather_f32(s->Vo, n));
    if (old) MODX_TRY(dist_allgather_f32(s->To, n));
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
