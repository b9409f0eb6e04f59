#include "train/merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint.h"

void merge_params(float *out, const float *a, const float *b, size_t n, double t) {
    CHECK(t >= 0.0 && t <= 1.0, "merge: mix %g outside [0, 1]", t);
    if (t == 0.0) {
        if (out != a) memmove(out, a, n * sizeof *out);
        return;
    }
    if (t == 1.0) {
        if (out != b) memmove(out, b, n * sizeof *out);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++) out[k] = (float)((1.0 - t) * (double)a[k] + t * (double)b[k]);
}

ModxStatus merge_check_mix(double t) {
    if (!isfinite(t) || t < 0.0 || t > 1.0)
        return modx_fail(MODX_ERR_INVALID, "mix t = %g, expected a number in [0, 1] (0 = A, 1 = B)", t);
    return MODX_OK;
}

ModxStatus merge_check_compatible(const ClipModel *a, const ClipModel *b, const char *name_a, const char *name_b) {
    const ParamTable *ta = &a->table, *tb = &b->table;
    const int n = ta->count < tb->count ? ta->count : tb->count;
    char sa[96], sb[96];
    for (int i = 0; i < n; i++) {
        const ParamInfo *pa = &ta->items[i], *pb = &tb->items[i];
        if (strcmp(pa->name, pb->name))
            return modx_fail(MODX_ERR_INVALID,
                             "configs differ: parameter %d is '%s' in %s but '%s' in %s (different layer counts?)", i,
                             pa->name, name_a, pb->name, name_b);
        param_shape_str(pa, sa, sizeof sa);
        param_shape_str(pb, sb, sizeof sb);
        if (strcmp(sa, sb))
            return modx_fail(MODX_ERR_INVALID, "configs differ: parameter '%s' has shape %s in %s but %s in %s",
                             pa->name, sa, name_a, sb, name_b);
    }
    if (ta->count != tb->count) {
        const int more_a = ta->count > tb->count;
        return modx_fail(MODX_ERR_INVALID, "configs differ: parameter '%s' of %s is missing from %s",
                         (more_a ? ta : tb)->items[n].name, more_a ? name_a : name_b, more_a ? name_b : name_a);
    }
    /* Same shapes; settings such as heads or quick_gelu may still differ. */
    const ClipConfig *ca = &a->cfg, *cb = &b->cfg;
    const struct {
        const char *key;
        double va, vb;
    } f[] = {{"quick_gelu", ca->quick_gelu, cb->quick_gelu},
             {"vision_cfg.image_size", ca->vision.image_size, cb->vision.image_size},
             {"vision_cfg.head_width", ca->vision.head_width, cb->vision.head_width},
             {"vision_cfg.mlp_ratio", ca->vision.mlp_ratio, cb->vision.mlp_ratio},
             {"text_cfg.heads", ca->text.heads, cb->text.heads},
             {"text_cfg.mlp_ratio", ca->text.mlp_ratio, cb->text.mlp_ratio}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].va != f[i].vb)
            return modx_fail(MODX_ERR_INVALID,
                             "configs differ although every parameter shape agrees: %s is %g in %s but %g in %s",
                             f[i].key, f[i].va, name_a, f[i].vb, name_b);
    /* anything else the JSON form carries */
    char *ja = clip_config_to_json(ca), *jb = clip_config_to_json(cb);
    ModxStatus st = MODX_OK;
    if (!ja || !jb)
        st = MODX_ERR_NOMEM;
    else if (strcmp(ja, jb))
        st = modx_fail(MODX_ERR_INVALID, "configs differ: %s has %s, %s has %s", name_a, ja, name_b, jb);
    free(ja), free(jb);
    return st;
}

ModxStatus merge_checkpoints(const char *path_a, const char *path_b, double t, const char *out_path,
                             const char *config_path) {
    MODX_TRY(merge_check_mix(t));
    ClipModel *a = NULL, *b = NULL;
    ModxStatus st = checkpoint_load(&a, path_a, config_path);
    if (st == MODX_OK) st = checkpoint_load(&b, path_b, config_path);
    if (st == MODX_OK) st = merge_check_compatible(a, b, path_a, path_b);
    if (st == MODX_OK) {
        merge_params(a->params, a->params, b->params, a->table.total, t);
        /* BatchNorm running statistics mix like weights (counters are rounded when written) */
        if (a->table.state_total) merge_params(a->state, a->state, b->state, a->table.state_total, t);
        char mix[32];
        snprintf(mix, sizeof mix, "%.17g", t);
        CheckpointMeta meta[] = {{"modx.merge.a", path_a}, {"modx.merge.b", path_b}, {"modx.merge.mix", mix}};
        st = checkpoint_save(out_path, a, a->params, meta, 3);
    }
    clip_model_free(a);
    clip_model_free(b);
    return st;
}
