/* modx_trainer_* (include/modx.h): one training step with a named strategy —
 * train/step.h's forward + loss + backward, then train/optim.h's AdamW with
 * the logit_scale clamp, the same calls train/trainer.c makes per step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/error.h"
#include "strategy/strategy.h"
#include "train/optim.h"
#include "train/step.h"

struct modx_trainer {
    modx_model *model;
    const modx_model *old; /* NULL unless the strategy distils */
    StrategyInst si;       /* the strategy and its hyperparameters (src/strategy/) */
    double lr;
    ClipStep *step;
    AdamW opt;
    OptimSegment *segs;
    float *grads; /* (table.total) */
    int max_B;
};

/* The strategy a single step can run: its loss term alone (a step of a
 * strategy that needs state made before the phase, EWC's Fisher, is refused). */
static modx_status trainer_strategy(StrategyInst *si, const char *name) {
    MODX_TRY(strategy_inst_named(si, name));
    if (si->desc->flags & STRATEGY_PHASE_STATE)
        return modx_fail(MODX_ERR_UNSUPPORTED, "strategy '%s': a single step needs state built before the phase (%s), "
                         "which the library API does not take yet", name, si->desc->summary);
    return MODX_OK;
}

static modx_status check_old(const ClipModel *m, const ClipModel *o, const char *strategy) {
    if (o->cfg.embed_dim != m->cfg.embed_dim || o->cfg.vision.image_size != m->cfg.vision.image_size ||
        o->cfg.text.context_length != m->cfg.text.context_length)
        return modx_fail(MODX_ERR_INVALID,
                         "strategy '%s': the old model takes %d px images, context %d, embed_dim %d; expected the "
                         "model's %d px, %d, %d", strategy, o->cfg.vision.image_size, o->cfg.text.context_length,
                         o->cfg.embed_dim, m->cfg.vision.image_size, m->cfg.text.context_length, m->cfg.embed_dim);
    return MODX_OK;
}

/* Checks the arguments of modx_trainer_new and fills the plain fields. */
static modx_status trainer_args(modx_trainer *t, modx_model *model, const modx_model *old, const char *strategy,
                                double lr, double weight_decay, int max_batch) {
    if (!model || !strategy) return modx_fail(MODX_ERR_INVALID, "modx_trainer_new: model or strategy is NULL");
    if (!(lr >= 0 && isfinite(lr)) || !(weight_decay >= 0 && isfinite(weight_decay)) || max_batch < 1)
        return modx_fail(MODX_ERR_INVALID, "modx_trainer_new: lr %g, weight_decay %g, max_batch %d; expected lr >= 0, "
                         "weight_decay >= 0, max_batch >= 1", lr, weight_decay, max_batch);
    MODX_TRY(trainer_strategy(&t->si, strategy));
    int needs_old = (t->si.desc->flags & STRATEGY_OLD_MODEL) != 0;
    if (needs_old && !old)
        return modx_fail(MODX_ERR_INVALID, "strategy '%s' needs the old model (the frozen previous phase), got NULL",
                         strategy);
    if (needs_old) MODX_TRY(check_old(model->clip, old->clip, strategy));
    t->model = model, t->old = needs_old ? old : NULL, t->lr = lr, t->max_B = max_batch;
    return MODX_OK;
}

modx_status modx_trainer_new(modx_trainer **out, modx_model *model, const modx_model *old, const char *strategy,
                             double lr, double weight_decay, int max_batch) {
    if (!out) return modx_fail(MODX_ERR_INVALID, "modx_trainer_new: out is NULL");
    *out = NULL;
    modx_trainer *t = modx_calloc(1, sizeof *t, "trainer");
    if (!t) return MODX_ERR_NOMEM;
    modx_status st = trainer_args(t, model, old, strategy, lr, weight_decay, max_batch);
    if (st != MODX_OK) goto fail;
    const ClipModel *m = model->clip;
    int nseg = 0;
    AdamWConfig ac = adamw_default_config();
    ac.weight_decay = weight_decay;
    if ((st = clip_optim_segments(m, &t->segs, &nseg)) != MODX_OK) goto fail;
    if ((st = adamw_init(&t->opt, &ac, m->table.total, t->segs, nseg)) != MODX_OK) goto fail;
    if ((st = adamw_set_clamp(&t->opt, clip_logit_scale_index(m), 0.0f, OPTIM_LOGIT_SCALE_MAX)) != MODX_OK) goto fail;
    if ((st = clip_step_new(&t->step, m, t->old ? t->old->clip : NULL, max_batch)) != MODX_OK) goto fail;
    if (!(t->grads = modx_calloc(m->table.total, sizeof(float), "gradients"))) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    *out = t;
    return MODX_OK;
fail:
    modx_trainer_free(t);
    return st;
}

modx_status modx_trainer_set(modx_trainer *trainer, const char *key, double value) {
    if (!trainer || !key) return modx_fail(MODX_ERR_INVALID, "modx_trainer_set: trainer or key is NULL");
    const char *name = trainer->si.name;
    if (!strcmp(key, "lr")) {
        if (!(value >= 0 && isfinite(value)))
            return modx_fail(MODX_ERR_INVALID, "strategy '%s': lr = %g, expected a finite value >= 0", name, value);
        trainer->lr = value;
        return MODX_OK;
    }
    /* the strategy's own key (e.g. "lambda"), or its experiment "train" key (e.g. "lwf_lambda") */
    const StrategyDesc *d = trainer->si.desc;
    for (int i = 0; i < d->n_hypers; i++)
        if (!strcmp(d->hypers[i].key, key) || !strcmp(d->hypers[i].train_key, key))
            return strategy_inst_set(&trainer->si, d->hypers[i].key, value, name);
    char list[256] = "lr";
    for (int i = 0; i < d->n_hypers; i++) strcat(list, ", "), strcat(list, d->hypers[i].key);
    return modx_fail(MODX_ERR_INVALID, "strategy '%s' has no hyperparameter '%s' (it takes %s)", name, key, list);
}

modx_status modx_trainer_step(modx_trainer *trainer, const float *pixels, const int32_t *tokens, int B, float *loss) {
    if (!trainer || !pixels || !tokens) return modx_fail(MODX_ERR_INVALID, "modx_trainer_step: a NULL argument");
    modx_trainer *t = trainer;
    if (B < 1 || B > t->max_B)
        return modx_fail(MODX_ERR_INVALID, "modx_trainer_step: batch of %d pairs, expected 1 to %d (max_batch)", B,
                         t->max_B);
    StepLossTerm term = strategy_loss(&t->si);
    StepLoss sl;
    ClipModel *m = t->model->clip;
    MODX_TRY(clip_step_run(t->step, pixels, tokens, B, &term, t->grads, &sl));
    MODX_TRY(optim_check_finite(sl.loss, 0, t->opt.step));
    MODX_TRY(adamw_step(&t->opt, m->params, t->grads, t->lr, NULL));
    if (loss) *loss = sl.loss;
    return MODX_OK;
}

int64_t modx_trainer_steps(const modx_trainer *trainer) { return trainer->opt.step; }

void modx_trainer_free(modx_trainer *trainer) {
    if (!trainer) return;
    clip_step_free(trainer->step);
    adamw_free(&trainer->opt);
    free(trainer->segs);
    free(trainer->grads);
    free(trainer);
}
