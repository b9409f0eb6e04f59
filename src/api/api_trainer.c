/* modx_trainer_* (include/modx.h): one training step with a named strategy —
 * train/step.h's forward + loss + backward, then train/optim.h's AdamW with
 * the logit_scale clamp, the same calls train/trainer.c makes per step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/error.h"
#include "train/experiment.h"
#include "train/optim.h"
#include "train/step.h"

/* The hyperparameters a strategy's step loss may read (the names and
 * defaults of an experiment file's "train" object). */
typedef struct {
    double alpha, lwf_lambda, lwf_tau;
} ApiHyper;

struct modx_trainer {
    modx_model *model;
    const modx_model *old; /* NULL unless the strategy distils */
    char strategy[32];
    ApiHyper hyper;
    double lr;
    ClipStep *step;
    AdamW opt;
    OptimSegment *segs;
    float *grads; /* (table.total) */
    int max_B;
};

/* THE strategy name → step loss mapping of the public API, in one place.
 * Fills `spec` (what clip_step_run_loss optimises), *needs_old (1 when the
 * step runs the frozen previous model) and *keys (the NULL-terminated
 * hyperparameter names the strategy reads, besides "lr"). Built on today's
 * strategy_parse / StrategyKind and StepLossSpec, mirroring train/trainer.c's
 * loss_spec; when strategies become registered units with their own
 * hyperparameters, this function becomes a registry lookup and nothing else
 * in src/api changes. */
static modx_status strategy_step_loss(const char *name, const ApiHyper *h, StepLossSpec *spec, int *needs_old,
                                      const char *const **keys) {
    static const char *const none[] = {NULL}, *const modx[] = {"alpha", NULL},
                             *const lwf[] = {"lwf_lambda", "lwf_tau", NULL};
    StrategyKind k;
    MODX_TRY(strategy_parse(name, &k));
    *spec = (StepLossSpec){STEP_LOSS_CONTRASTIVE, 0.0f, 1.0f};
    *keys = none;
    switch (k) {
    case STRATEGY_MODX:
    case STRATEGY_MODX_REPLAY: *spec = (StepLossSpec){STEP_LOSS_MODX, (float)h->alpha, 1.0f}, *keys = modx; break;
    case STRATEGY_MODX_NOSELECT: *spec = (StepLossSpec){STEP_LOSS_MODX_NOSELECT, (float)h->alpha, 1.0f}, *keys = modx; break;
    case STRATEGY_LWF: *spec = (StepLossSpec){STEP_LOSS_LWF, (float)h->lwf_lambda, (float)h->lwf_tau}, *keys = lwf; break;
    case STRATEGY_EWC:
        return modx_fail(MODX_ERR_UNSUPPORTED, "strategy 'ewc': a single step needs the previous phase's Fisher "
                                               "information, which the library API does not take yet");
    default: break; /* joint, finetune, replay, wiseft: the contrastive loss */
    }
    *needs_old = spec->kind != STEP_LOSS_CONTRASTIVE;
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
    if (strlen(strategy) >= sizeof t->strategy) return strategy_parse(strategy, &(StrategyKind){0});
    if (!(lr >= 0 && isfinite(lr)) || !(weight_decay >= 0 && isfinite(weight_decay)) || max_batch < 1)
        return modx_fail(MODX_ERR_INVALID, "modx_trainer_new: lr %g, weight_decay %g, max_batch %d; expected lr >= 0, "
                         "weight_decay >= 0, max_batch >= 1", lr, weight_decay, max_batch);
    StepLossSpec spec;
    int needs_old = 0;
    const char *const *keys;
    t->hyper = (ApiHyper){1.0, 1.0, 1.0};
    MODX_TRY(strategy_step_loss(strategy, &t->hyper, &spec, &needs_old, &keys));
    if (needs_old && !old)
        return modx_fail(MODX_ERR_INVALID, "strategy '%s' needs the old model (the frozen previous phase), got NULL",
                         strategy);
    if (needs_old) MODX_TRY(check_old(model->clip, old->clip, strategy));
    strcpy(t->strategy, strategy);
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

/* One hyperparameter's range. */
static modx_status set_hyper(modx_trainer *t, const char *key, double value) {
    double lo = 0, hi = 1e6, *dst = NULL;
    if (!strcmp(key, "alpha")) dst = &t->hyper.alpha;
    else if (!strcmp(key, "lwf_lambda")) dst = &t->hyper.lwf_lambda;
    else if (!strcmp(key, "lwf_tau")) dst = &t->hyper.lwf_tau, lo = 1e-3, hi = 1e3;
    CHECK(dst, "strategy_step_loss lists a key '%s' that set_hyper does not know", key);
    if (!(value >= lo && value <= hi))
        return modx_fail(MODX_ERR_INVALID, "strategy '%s': %s = %g, expected a value in [%g, %g]", t->strategy, key,
                         value, lo, hi);
    *dst = value;
    return MODX_OK;
}

modx_status modx_trainer_set(modx_trainer *trainer, const char *key, double value) {
    if (!trainer || !key) return modx_fail(MODX_ERR_INVALID, "modx_trainer_set: trainer or key is NULL");
    if (!strcmp(key, "lr")) {
        if (!(value >= 0 && isfinite(value)))
            return modx_fail(MODX_ERR_INVALID, "strategy '%s': lr = %g, expected a finite value >= 0",
                             trainer->strategy, value);
        trainer->lr = value;
        return MODX_OK;
    }
    StepLossSpec spec;
    int needs_old;
    const char *const *keys;
    MODX_TRY(strategy_step_loss(trainer->strategy, &trainer->hyper, &spec, &needs_old, &keys));
    for (int i = 0; keys[i]; i++)
        if (!strcmp(keys[i], key)) return set_hyper(trainer, key, value);
    return modx_fail(MODX_ERR_INVALID, "strategy '%s' has no hyperparameter '%s' (it takes lr%s%s%s%s)",
                     trainer->strategy, key, keys[0] ? ", " : "", keys[0] ? keys[0] : "",
                     keys[0] && keys[1] ? ", " : "", keys[0] && keys[1] ? keys[1] : "");
}

modx_status modx_trainer_step(modx_trainer *trainer, const float *pixels, const int32_t *tokens, int B, float *loss) {
    if (!trainer || !pixels || !tokens) return modx_fail(MODX_ERR_INVALID, "modx_trainer_step: a NULL argument");
    modx_trainer *t = trainer;
    if (B < 1 || B > t->max_B)
        return modx_fail(MODX_ERR_INVALID, "modx_trainer_step: batch of %d pairs, expected 1 to %d (max_batch)", B,
                         t->max_B);
    StepLossSpec spec;
    int needs_old;
    const char *const *keys;
    MODX_TRY(strategy_step_loss(t->strategy, &t->hyper, &spec, &needs_old, &keys));
    StepLoss sl;
    ClipModel *m = t->model->clip;
    MODX_TRY(clip_step_run_loss(t->step, pixels, tokens, B, &spec, t->grads, &sl));
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
