/* modx_model_*: load, build, save and describe a model (include/modx.h),
 * wrapping io/checkpoint.h and clip/model.h as `modx init` and `--ckpt` do. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "core/error.h"
#include "io/checkpoint.h"

static modx_status wrap(modx_model **out, ClipModel *clip, int has_seed, uint64_t seed) {
    modx_model *m = modx_calloc(1, sizeof *m, "model handle");
    if (!m) {
        clip_model_free(clip);
        return MODX_ERR_NOMEM;
    }
    m->clip = clip, m->has_seed = has_seed, m->seed = seed;
    *out = m;
    return MODX_OK;
}

modx_status modx_model_load(modx_model **out, const char *path, const char *config_path) {
    if (!out) return modx_fail(MODX_ERR_INVALID, "modx_model_load: out is NULL");
    *out = NULL;
    if (!path) return modx_fail(MODX_ERR_INVALID, "modx_model_load: checkpoint path is NULL");
    ClipModel *clip = NULL;
    MODX_TRY(checkpoint_load(&clip, path, config_path));
    return wrap(out, clip, 0, 0);
}

modx_status modx_model_init(modx_model **out, const char *config_path, uint64_t seed) {
    if (!out) return modx_fail(MODX_ERR_INVALID, "modx_model_init: out is NULL");
    *out = NULL;
    if (!config_path) return modx_fail(MODX_ERR_INVALID, "modx_model_init: config path is NULL");
    ClipConfig cfg;
    ClipModel *clip = NULL;
    MODX_TRY(clip_config_load(&cfg, config_path));
    MODX_TRY(clip_model_new(&clip, &cfg));
    clip_model_init(clip, seed);
    return wrap(out, clip, 1, seed);
}

modx_status modx_model_save(const modx_model *model, const char *path) {
    if (!model || !path) return modx_fail(MODX_ERR_INVALID, "modx_model_save: model or path is NULL");
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%" PRIu64, model->seed);
    CheckpointMeta meta[] = {{"modx.seed", seed_text}};
    return checkpoint_save(path, model->clip, model->clip->params, meta, model->has_seed ? 1 : 0);
}

void modx_model_free(modx_model *model) {
    if (!model) return;
    clip_model_free(model->clip);
    free(model);
}

int modx_model_image_size(const modx_model *model) { return model->clip->cfg.vision.image_size; }
int modx_model_context_length(const modx_model *model) { return model->clip->cfg.text.context_length; }
int modx_model_vocab_size(const modx_model *model) { return model->clip->cfg.text.vocab_size; }
int modx_model_embed_dim(const modx_model *model) { return model->clip->cfg.embed_dim; }
size_t modx_model_num_params(const modx_model *model) { return clip_model_num_params(model->clip); }
