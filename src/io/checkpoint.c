#include "io/checkpoint.h"
#include "io/hf_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ModxStatus add_params(SafeTensorsWriter *w, const ClipModel *m, const float *buf, const char *prefix,
                             char (*names)[PARAM_NAME_MAX + 16]) {
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        const char *name = p->name;
        if (prefix) {
            snprintf(names[i], sizeof names[i], "%s%s", prefix, p->name);
            name = names[i];
        }
        MODX_TRY(safetensors_writer_add(w, name, ST_F32, p->ndim, p->shape, buf + p->offset));
    }
    return MODX_OK;
}

/* The model state (BatchNorm running statistics): F32, counters as I64 (written
 * from counts, which must stay alive until the writer saves). */
static ModxStatus add_state(SafeTensorsWriter *w, const ClipModel *m, int64_t *counts) {
    const ParamTable *t = &m->table;
    for (int i = 0, k = 0; i < t->state_count; i++) {
        const ParamInfo *p = &t->state_items[i];
        if (p->count) {
            counts[k] = llroundf(m->state[p->offset]);
            MODX_TRY(safetensors_writer_add(w, p->name, ST_I64, p->ndim, p->shape, &counts[k++]));
        } else {
            MODX_TRY(safetensors_writer_add(w, p->name, ST_F32, p->ndim, p->shape, m->state + p->offset));
        }
    }
    return MODX_OK;
}

static ModxStatus add_meta(SafeTensorsWriter *w, const CheckpointMeta *meta, int n_meta) {
    for (int i = 0; i < n_meta; i++) MODX_TRY(safetensors_writer_metadata(w, meta[i].key, meta[i].value));
    return MODX_OK;
}

ModxStatus checkpoint_save(const char *path, const ClipModel *m, const float *params, const CheckpointMeta *meta,
                           int n_meta) {
    return checkpoint_save_named(path, m, params, meta, n_meta, CKPT_NAMING_OPENCLIP);
}

ModxStatus checkpoint_save_named(const char *path, const ClipModel *m, const float *params, const CheckpointMeta *meta,
                                 int n_meta, CkptNaming naming) {
    SafeTensorsWriter *w = NULL;
    char *cfg = clip_config_to_json(&m->cfg);
    float *scratch = NULL;
    int64_t *counts = modx_calloc((size_t)m->table.state_count + 1, sizeof(int64_t), "checkpoint counters");
    ModxStatus st = cfg && counts ? safetensors_writer_new(&w) : MODX_ERR_NOMEM;
    /* transformers reads a safetensors file only with metadata format = pt */
    if (st == MODX_OK && naming == CKPT_NAMING_HF) st = safetensors_writer_metadata(w, "format", "pt");
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "modx.format", CHECKPOINT_FORMAT);
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "modx.config", cfg);
    if (st == MODX_OK) st = add_meta(w, meta, n_meta);
    if (st == MODX_OK && naming == CKPT_NAMING_HF) st = hf_add_params(w, m, params, &scratch);
    if (st == MODX_OK && naming != CKPT_NAMING_HF) st = add_params(w, m, params, NULL, NULL);
    if (st == MODX_OK) st = add_state(w, m, counts);
    if (st == MODX_OK) st = safetensors_writer_save(w, path);
    if (st != MODX_OK) modx_error_prefix("writing checkpoint %s: ", path);
    safetensors_writer_free(w);
    free(scratch);
    free(counts);
    free(cfg);
    return st;
}

static int ignorable(const char *name) {
    static const char *const skip[] = {"input_resolution", "context_length", "vocab_size", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strcmp(name, skip[i])) return 1;
    size_t n = strlen(name);
    return n >= 9 && !strcmp(name + n - 9, "attn_mask");
}

ModxStatus checkpoint_read_params(const SafeTensors *st, const ClipModel *m, float *params) {
    const char *path = safetensors_path(st);
    CkptNaming naming;
    MODX_TRY(ckpt_naming_detect(st, &naming));
    if (naming == CKPT_NAMING_HF) return hf_read_params(st, m, params);
    for (int i = 0; i < safetensors_count(st); i++) {
        const StTensorInfo *t = safetensors_at(st, i);
        if (!param_table_find(&m->table, t->name) && !param_table_find_state(&m->table, t->name) &&
            !ignorable(t->name))
            return modx_fail(MODX_ERR_FORMAT,
                             "%s: tensor '%s' is not a parameter of this model (config: vision width %d, "
                             "%d layers; text width %d, %d layers)",
                             path, t->name, m->cfg.vision.width, m->cfg.vision.layers, m->cfg.text.width,
                             m->cfg.text.layers);
    }
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        if (!safetensors_find(st, p->name)) {
            char shape[96];
            param_shape_str(p, shape, sizeof shape);
            return modx_fail(MODX_ERR_FORMAT, "%s: missing parameter '%s' (expected F32 %s)", path, p->name, shape);
        }
        MODX_TRY(safetensors_read_f32(st, p->name, p->ndim, p->shape, params + p->offset));
    }
    return MODX_OK;
}

ModxStatus checkpoint_read_state(const SafeTensors *st, const ClipModel *m) {
    const char *path = safetensors_path(st);
    for (int i = 0; i < m->table.state_count; i++) {
        const ParamInfo *p = &m->table.state_items[i];
        if (!safetensors_find(st, p->name))
            return modx_fail(MODX_ERR_FORMAT, "%s: missing model state '%s' (expected %s)", path, p->name,
                             p->count ? "an I64 scalar" : "F32 BatchNorm running statistics");
        if (p->count) {
            int32_t n = 0;
            MODX_TRY(safetensors_read_i32(st, p->name, 0, NULL, &n));
            if (n < 0) return modx_fail(MODX_ERR_FORMAT, "%s: '%s' is %d, expected >= 0", path, p->name, (int)n);
            m->state[p->offset] = (float)n;
        } else {
            MODX_TRY(safetensors_read_f32(st, p->name, p->ndim, p->shape, m->state + p->offset));
        }
    }
    return MODX_OK;
}

/* The model config of an open checkpoint (see checkpoint_load_default for the order). */
static ModxStatus resolve_config(ClipConfig *cfg, const SafeTensors *st, const char *config_path,
                                 const char *fallback) {
    const char *path = safetensors_path(st);
    CkptNaming naming;
    MODX_TRY(ckpt_naming_detect(st, &naming));
    if (config_path && hf_config_file_is_hf(config_path)) {
        if (naming != CKPT_NAMING_HF)
            return modx_fail(MODX_ERR_INVALID, "%s: --config %s is a Hugging Face config.json but the checkpoint has "
                             "OpenCLIP names; pass an OpenCLIP model config", path, config_path);
        return hf_config_derive(cfg, st, config_path);
    }
    if (config_path) return clip_config_load(cfg, config_path);
    const char *json = safetensors_metadata(st, "modx.config");
    if (json) {
        char source[4200];
        snprintf(source, sizeof source, "%s (metadata modx.config)", path);
        return clip_config_parse(cfg, json, source);
    }
    if (naming == CKPT_NAMING_HF && (!fallback || hf_config_beside_exists(st))) return hf_config_derive(cfg, st, NULL);
    if (fallback) return clip_config_load(cfg, fallback);
    return modx_fail(MODX_ERR_INVALID, "%s: no 'modx.config' metadata; pass the model config with --config CFG.json",
                     path);
}

ModxStatus checkpoint_check_is_model(const SafeTensors *st, const char *path) {
    const char *format = safetensors_metadata(st, "modx.format");
    if ((format && !strcmp(format, CHECKPOINT_FORMAT "-optim")) || safetensors_find(st, "exp_avg.logit_scale"))
        return modx_fail(MODX_ERR_INVALID, "%s: this is an optimizer-state file (AdamW moments, *.optim.safetensors), "
                         "not a model; give the model checkpoint beside it (the same name without .optim)", path);
    if (safetensors_find(st, "image_features") && safetensors_find(st, "text_features") && !safetensors_find(st, "logit_scale"))
        return modx_fail(MODX_ERR_INVALID, "%s: this is a probe features file (image_features, text_features), "
                         "not a model; give a model checkpoint (e.g. RUN_DIR/STRATEGY/phaseN.safetensors)", path);
    return MODX_OK;
}

ModxStatus checkpoint_load(ClipModel **out, const char *path, const char *config_path) {
    return checkpoint_load_default(out, path, config_path, NULL);
}

ModxStatus checkpoint_load_default(ClipModel **out, const char *path, const char *config_path,
                                   const char *fallback_config) {
    SafeTensors *st = NULL;
    ClipConfig cfg;
    ClipModel *m = NULL;
    *out = NULL;
    MODX_TRY(safetensors_open(&st, path));
    ModxStatus s = checkpoint_check_is_model(st, path);
    if (s == MODX_OK) s = resolve_config(&cfg, st, config_path, fallback_config);
    if (s == MODX_OK) s = clip_model_new(&m, &cfg);
    if (s == MODX_OK) s = checkpoint_read_params(st, m, m->params);
    if (s == MODX_OK) s = checkpoint_read_state(st, m);
    safetensors_close(st);
    if (s != MODX_OK) {
        clip_model_free(m);
        return s;
    }
    *out = m;
    return MODX_OK;
}

char *checkpoint_optim_path(const char *model_path) {
    static const char ext[] = ".safetensors";
    size_t n = strlen(model_path), ne = sizeof ext - 1;
    size_t stem = (n > ne && !strcmp(model_path + n - ne, ext)) ? n - ne : n;
    char *p = malloc(stem + sizeof ".optim.safetensors");
    if (!p) {
        modx_fail(MODX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(p, model_path, stem);
    strcpy(p + stem, ".optim.safetensors");
    return p;
}

ModxStatus checkpoint_save_optim(const char *path, const ClipModel *m, const OptimState *opt,
                                 const CheckpointMeta *meta, int n_meta) {
    SafeTensorsWriter *w = NULL;
    char (*names)[PARAM_NAME_MAX + 16] = calloc((size_t)m->table.count * 2, sizeof *names);
    int64_t step = opt->step;
    ModxStatus st = names ? safetensors_writer_new(&w) : modx_fail(MODX_ERR_NOMEM, "out of memory");
    if (st == MODX_OK) st = safetensors_writer_metadata(w, "modx.format", CHECKPOINT_FORMAT "-optim");
    if (st == MODX_OK) st = add_meta(w, meta, n_meta);
    if (st == MODX_OK) st = safetensors_writer_add(w, "step", ST_I64, 0, NULL, &step);
    if (st == MODX_OK) st = add_params(w, m, opt->m, "exp_avg.", names);
    if (st == MODX_OK) st = add_params(w, m, opt->v, "exp_avg_sq.", names + m->table.count);
    if (st == MODX_OK) st = safetensors_writer_save(w, path);
    if (st != MODX_OK) modx_error_prefix("writing optimizer state %s: ", path);
    safetensors_writer_free(w);
    free(names);
    return st;
}

ModxStatus checkpoint_load_optim(const char *path, const ClipModel *m, OptimState *opt) {
    SafeTensors *st = NULL;
    MODX_TRY(safetensors_open(&st, path));
    ModxStatus s = MODX_OK;
    int32_t step32 = 0;
    const StTensorInfo *t = safetensors_find(st, "step");
    if (!t) s = modx_fail(MODX_ERR_FORMAT, "%s: missing tensor 'step' (expected I64 scalar)", path);
    if (s == MODX_OK) s = safetensors_read_i32(st, "step", 0, NULL, &step32);
    for (int i = 0; s == MODX_OK && i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        char name[PARAM_NAME_MAX + 16];
        for (int k = 0; k < 2 && s == MODX_OK; k++) {
            snprintf(name, sizeof name, "%s%s", k ? "exp_avg_sq." : "exp_avg.", p->name);
            if (!safetensors_find(st, name))
                s = modx_fail(MODX_ERR_FORMAT, "%s: missing optimizer tensor '%s'", path, name);
            else
                s = safetensors_read_f32(st, name, p->ndim, p->shape, (k ? opt->v : opt->m) + p->offset);
        }
    }
    if (s == MODX_OK && step32 < 0) s = modx_fail(MODX_ERR_FORMAT, "%s: tensor 'step' is %d, expected >= 0", path, step32);
    /* Moments that would turn the next update into inf/NaN are refused here, naming the tensor. */
    for (int i = 0; s == MODX_OK && i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        for (size_t j = 0; j < p->numel; j++) {
            float a = opt->m[p->offset + j], b = opt->v[p->offset + j];
            if (!isfinite(a) || !isfinite(b) || b < 0) {
                s = modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s.%s' element %zu is %g, expected a finite%s value", path,
                              isfinite(a) ? "exp_avg_sq" : "exp_avg", p->name, j, isfinite(a) ? (double)b : (double)a,
                              isfinite(a) ? " non-negative" : "");
                break;
            }
        }
    }
    if (s == MODX_OK) opt->step = step32;
    safetensors_close(st);
    return s;
}
