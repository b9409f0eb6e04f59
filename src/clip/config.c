#include "clip/config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

static const char *json_type_name(const cJSON *v) {
    if (!v) return "nothing (key missing)";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsArray(v)) return "a list";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

static ModxStatus get_int(const cJSON *obj, const char *section, const char *key, int required, int def, int *out,
                          const char *src) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *dot = section[0] ? "." : "";
    if (!v) {
        if (required)
            return modx_fail(MODX_ERR_FORMAT, "%s: key '%s%s%s': expected a positive integer, found nothing (key missing)",
                             src, section, dot, key);
        *out = def;
        return MODX_OK;
    }
    if (!cJSON_IsNumber(v))
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s%s%s': expected a positive integer, found %s", src, section, dot,
                         key, json_type_name(v));
    double d = v->valuedouble;
    if (d != floor(d) || d < 1 || d > CLIP_MAX_DIM)
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s%s%s': expected a positive integer <= %d, found %g", src,
                         section, dot, key, CLIP_MAX_DIM, d);
    *out = (int)d;
    return MODX_OK;
}

static ModxStatus get_ratio(const cJSON *obj, const char *section, const char *key, double *out, const char *src) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = 4.0;
        return MODX_OK;
    }
    if (!cJSON_IsNumber(v))
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s.%s': expected a positive number <= 64, found %s", src, section,
                         key, json_type_name(v));
    if (!(v->valuedouble > 0) || v->valuedouble > 64)
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s.%s': expected a positive number <= 64, found %g", src, section,
                         key, v->valuedouble);
    *out = v->valuedouble;
    return MODX_OK;
}

/* Keys whose presence with a non-default value means maths we do not implement. */
typedef enum { UNSUP_NONNULL, UNSUP_TRUE, UNSUP_POSITIVE, UNSUP_NOT_STRING } UnsupKind;
typedef struct {
    const char *key;
    UnsupKind kind;
    const char *allowed; /* for UNSUP_NOT_STRING: the one accepted value */
    const char *what;
} UnsupKey;

static ModxStatus check_unsupported(const cJSON *obj, const char *section, const UnsupKey *keys, int n,
                                    const char *src) {
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i].key);
        if (!v || cJSON_IsNull(v)) continue;
        int bad = 0;
        switch (keys[i].kind) {
        case UNSUP_NONNULL: bad = 1; break;
        case UNSUP_TRUE: bad = !cJSON_IsFalse(v); break;
        case UNSUP_POSITIVE: bad = !(cJSON_IsNumber(v) && v->valuedouble == 0); break;
        case UNSUP_NOT_STRING: bad = !(cJSON_IsString(v) && !strcmp(v->valuestring, keys[i].allowed)); break;
        }
        if (bad)
            return modx_fail(MODX_ERR_UNSUPPORTED, "%s: key '%s%s%s': %s is not supported (only the plain ViT or "
                             "ModifiedResNet and text transformer of OpenAI CLIP are)", src, section, section[0] ? "." : "", keys[i].key,
                             keys[i].what);
    }
    return MODX_OK;
}

static const UnsupKey top_unsup[] = {
    {"init_logit_bias", UNSUP_NONNULL, NULL, "a logit bias (SigLIP)"},
};
static const UnsupKey vision_unsup[] = {
    {"timm_model_name", UNSUP_NONNULL, NULL, "a timm image tower"},
    {"ls_init_value", UNSUP_NONNULL, NULL, "layer scale"},
    {"attentional_pool", UNSUP_TRUE, NULL, "attentional pooling"},
    {"no_ln_pre", UNSUP_TRUE, NULL, "dropping ln_pre"},
    {"global_average_pool", UNSUP_TRUE, NULL, "global average pooling"},
    {"patch_dropout", UNSUP_POSITIVE, NULL, "patch dropout"},
    {"pool_type", UNSUP_NOT_STRING, "tok", "pooling other than the class token ('tok')"},
    {"pos_embed_type", UNSUP_NOT_STRING, "learnable", "a non-learnable positional embedding"},
};
static const UnsupKey text_unsup[] = {
    {"hf_model_name", UNSUP_NONNULL, NULL, "a Hugging Face text tower"},
    {"ls_init_value", UNSUP_NONNULL, NULL, "layer scale"},
    {"embed_cls", UNSUP_TRUE, NULL, "a text class token"},
    {"no_causal_mask", UNSUP_TRUE, NULL, "a text tower without causal mask"},
    {"proj_bias", UNSUP_TRUE, NULL, "a text projection bias"},
    {"pool_type", UNSUP_NOT_STRING, "argmax", "pooling other than the EOT token ('argmax')"},
};

/* vision_cfg.layers as a list: four positive stage depths (a ModifiedResNet). */
static ModxStatus get_stage_layers(ClipVisionConfig *v, const cJSON *vl, const char *src) {
    int n = cJSON_GetArraySize(vl);
    if (n != CLIP_RN_STAGES)
        return modx_fail(MODX_ERR_FORMAT, "%s: key 'vision_cfg.layers': a ModifiedResNet needs %d stage depths, "
                         "found a list of %d", src, CLIP_RN_STAGES, n);
    v->resnet = 1;
    v->layers = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(vl, i);
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 1 ||
            e->valuedouble > CLIP_MAX_LAYERS)
            return modx_fail(MODX_ERR_FORMAT, "%s: key 'vision_cfg.layers[%d]': expected a positive integer <= %d, "
                             "found %s", src, i, CLIP_MAX_LAYERS, cJSON_IsNumber(e) ? "another number" :
                             json_type_name(e));
        v->stage_layers[i] = (int)e->valuedouble;
        v->layers += v->stage_layers[i];
    }
    v->patch_size = CLIP_RN_STRIDE;
    return MODX_OK;
}

/* The ModifiedResNet's own rules (after the common range checks). */
static ModxStatus validate_resnet(ClipVisionConfig *v, const char *src) {
    if (v->image_size % CLIP_RN_STRIDE)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'vision_cfg.image_size': a ModifiedResNet needs a multiple of "
                         "%d, found %d", src, CLIP_RN_STRIDE, v->image_size);
    if (v->width % 2 || v->width > CLIP_MAX_DIM / 32)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'vision_cfg.width': a ModifiedResNet needs an even stem width "
                         "<= %d, found %d", src, CLIP_MAX_DIM / 32, v->width);
    if ((32 * v->width) % v->head_width)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'vision_cfg.head_width': must divide the attention-pool width "
                         "32·width = %d, found %d", src, 32 * v->width, v->head_width);
    for (int i = 0; i < CLIP_RN_STAGES; i++)
        if (v->stage_layers[i] < 1)
            return modx_fail(MODX_ERR_INVALID, "%s: key 'vision_cfg.layers[%d]': expected a positive integer, found %d",
                             src, i, v->stage_layers[i]);
    v->patch_size = CLIP_RN_STRIDE;
    v->mlp_ratio = 4.0; /* unused by the tower; fixed so the JSON form round-trips */
    return MODX_OK;
}

ModxStatus clip_config_validate(ClipConfig *cfg, const char *src) {
    ClipVisionConfig *v = &cfg->vision;
    ClipTextConfig *t = &cfg->text;
    const int dims[] = {cfg->embed_dim, v->image_size, v->layers, v->width, v->patch_size, v->head_width,
                        t->context_length, t->vocab_size, t->width, t->heads, t->layers};
    const char *names[] = {"embed_dim", "vision_cfg.image_size", "vision_cfg.layers", "vision_cfg.width",
                           "vision_cfg.patch_size", "vision_cfg.head_width", "text_cfg.context_length",
                           "text_cfg.vocab_size", "text_cfg.width", "text_cfg.heads", "text_cfg.layers"};
    for (int i = 0; i < 11; i++)
        if (dims[i] < 1 || dims[i] > CLIP_MAX_DIM)
            return modx_fail(MODX_ERR_INVALID, "%s: key '%s': expected a positive integer <= %d, found %d", src,
                             names[i], CLIP_MAX_DIM, dims[i]);
    if (v->layers > CLIP_MAX_LAYERS || t->layers > CLIP_MAX_LAYERS)
        return modx_fail(MODX_ERR_INVALID, "%s: key '%s': expected at most %d layers, found %d", src,
                         v->layers > CLIP_MAX_LAYERS ? "vision_cfg.layers" : "text_cfg.layers", CLIP_MAX_LAYERS,
                         v->layers > CLIP_MAX_LAYERS ? v->layers : t->layers);
    if (v->resnet) {
        ModxStatus st = validate_resnet(v, src);
        if (st) return st;
    }
    if (v->image_size % v->patch_size)
        return modx_fail(MODX_ERR_INVALID,
                         "%s: key 'vision_cfg.image_size': expected a multiple of patch_size %d, found %d", src,
                         v->patch_size, v->image_size);
    if (!v->resnet && v->width % v->head_width)
        return modx_fail(MODX_ERR_INVALID,
                         "%s: key 'vision_cfg.width': expected a multiple of head_width %d, found %d", src,
                         v->head_width, v->width);
    if (t->width % t->heads)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'text_cfg.width': expected a multiple of heads %d, found %d",
                         src, t->heads, t->width);
    if (!(v->mlp_ratio > 0 && v->mlp_ratio <= 64) || !(t->mlp_ratio > 0 && t->mlp_ratio <= 64))
        return modx_fail(MODX_ERR_INVALID, "%s: key 'mlp_ratio': expected a positive number <= 64", src);
    v->heads = v->resnet ? 32 * v->width / v->head_width : v->width / v->head_width;
    v->grid = v->image_size / v->patch_size;
    uint64_t patches = 0; /* checked 64-bit: G² overflows an int for G = 65536 */
    if (!u64_mul((uint64_t)v->grid, (uint64_t)v->grid, &patches) || patches > CLIP_MAX_DIM - 1)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'vision_cfg.image_size': %d / %d = %d patches per side, %llu per "
                         "image, is too many (max %d)", src, v->image_size, v->patch_size, v->grid,
                         (unsigned long long)patches, CLIP_MAX_DIM - 1);
    v->tokens = (int)patches + 1;
    v->mlp_width = (int)(v->width * v->mlp_ratio);
    t->mlp_width = (int)(t->width * t->mlp_ratio);
    if (v->mlp_width < 1 || t->mlp_width < 1 || v->mlp_width > 64 * CLIP_MAX_DIM || t->mlp_width > 64 * CLIP_MAX_DIM)
        return modx_fail(MODX_ERR_INVALID, "%s: key 'mlp_ratio': MLP width must be a positive integer", src);
    cfg->quick_gelu = cfg->quick_gelu ? 1 : 0;
    return MODX_OK;
}

ModxStatus clip_config_parse(ClipConfig *cfg, const char *json, const char *src) {
    memset(cfg, 0, sizeof *cfg);
    cJSON *root = cJSON_Parse(json);
    ModxStatus st = MODX_OK;
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        return modx_fail(MODX_ERR_FORMAT, "%s: not valid JSON (near offset %ld)", src,
                         where ? (long)(where - json) : -1L);
    }
    if (!cJSON_IsObject(root)) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: expected a JSON object at the top level, found %s", src,
                       json_type_name(root));
        goto fail;
    }
    const cJSON *vis = cJSON_GetObjectItemCaseSensitive(root, "vision_cfg");
    const cJSON *txt = cJSON_GetObjectItemCaseSensitive(root, "text_cfg");
    if ((st = check_unsupported(root, "", top_unsup, 1, src))) goto fail;
    if ((st = get_int(root, "", "embed_dim", 1, 0, &cfg->embed_dim, src))) goto fail;
    if (!cJSON_IsObject(vis) || !cJSON_IsObject(txt)) {
        const char *k = !cJSON_IsObject(vis) ? "vision_cfg" : "text_cfg";
        st = modx_fail(MODX_ERR_FORMAT, "%s: key '%s': expected an object, found %s", src, k,
                       json_type_name(!cJSON_IsObject(vis) ? vis : txt));
        goto fail;
    }
    if ((st = check_unsupported(vis, "vision_cfg", vision_unsup, (int)(sizeof vision_unsup / sizeof *vision_unsup),
                                src)))
        goto fail;
    if ((st = check_unsupported(txt, "text_cfg", text_unsup, (int)(sizeof text_unsup / sizeof *text_unsup), src)))
        goto fail;
    ClipVisionConfig *v = &cfg->vision;
    ClipTextConfig *t = &cfg->text;
    const cJSON *vl = cJSON_GetObjectItemCaseSensitive(vis, "layers");
    if ((st = get_int(vis, "vision_cfg", "image_size", 1, 0, &v->image_size, src))) goto fail;
    if (cJSON_IsArray(vl)) {
        if ((st = get_stage_layers(v, vl, src))) goto fail;
    } else {
        if ((st = get_int(vis, "vision_cfg", "layers", 1, 0, &v->layers, src))) goto fail;
        if ((st = get_int(vis, "vision_cfg", "patch_size", 1, 0, &v->patch_size, src))) goto fail;
    }
    if ((st = get_int(vis, "vision_cfg", "width", 1, 0, &v->width, src))) goto fail;
    if ((st = get_int(vis, "vision_cfg", "head_width", 0, 64, &v->head_width, src))) goto fail;
    if ((st = get_ratio(vis, "vision_cfg", "mlp_ratio", &v->mlp_ratio, src))) goto fail;
    if ((st = get_int(txt, "text_cfg", "context_length", 1, 0, &t->context_length, src))) goto fail;
    if ((st = get_int(txt, "text_cfg", "vocab_size", 1, 0, &t->vocab_size, src))) goto fail;
    if ((st = get_int(txt, "text_cfg", "width", 1, 0, &t->width, src))) goto fail;
    if ((st = get_int(txt, "text_cfg", "heads", 1, 0, &t->heads, src))) goto fail;
    if ((st = get_int(txt, "text_cfg", "layers", 1, 0, &t->layers, src))) goto fail;
    if ((st = get_ratio(txt, "text_cfg", "mlp_ratio", &t->mlp_ratio, src))) goto fail;
    const cJSON *qg = cJSON_GetObjectItemCaseSensitive(root, "quick_gelu");
    if (qg && !cJSON_IsBool(qg)) {
        st = modx_fail(MODX_ERR_FORMAT, "%s: key 'quick_gelu': expected true or false, found %s", src,
                       json_type_name(qg));
        goto fail;
    }
    cfg->quick_gelu = qg && cJSON_IsTrue(qg);
    st = clip_config_validate(cfg, src);
fail:
    cJSON_Delete(root);
    return st;
}

ModxStatus clip_config_load(ClipConfig *cfg, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return modx_fail(MODX_ERR_IO, "%s: cannot open model config", path);
    enum { MAX_CONFIG = 1 << 20 };
    char *buf = modx_calloc(MAX_CONFIG + 1, 1, "model config");
    if (!buf) {
        fclose(f);
        return MODX_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, MAX_CONFIG + 1, f);
    int err = ferror(f);
    fclose(f);
    ModxStatus st;
    if (err)
        st = modx_fail(MODX_ERR_IO, "%s: read error", path);
    else if (n > MAX_CONFIG)
        st = modx_fail(MODX_ERR_FORMAT, "%s: model config larger than %d bytes", path, MAX_CONFIG);
    else {
        buf[n] = 0;
        st = clip_config_parse(cfg, buf, path);
    }
    free(buf);
    return st;
}

char *clip_config_to_json(const ClipConfig *cfg) {
    const ClipVisionConfig *v = &cfg->vision;
    const ClipTextConfig *t = &cfg->text;
    char tmp[1024], vis[256];
    if (v->resnet)
        snprintf(vis, sizeof vis, "\"image_size\":%d,\"layers\":[%d,%d,%d,%d],\"width\":%d,\"head_width\":%d",
                 v->image_size, v->stage_layers[0], v->stage_layers[1], v->stage_layers[2], v->stage_layers[3],
                 v->width, v->head_width);
    else
        snprintf(vis, sizeof vis,
                 "\"image_size\":%d,\"layers\":%d,\"width\":%d,\"patch_size\":%d,\"head_width\":%d,"
                 "\"mlp_ratio\":%.17g",
                 v->image_size, v->layers, v->width, v->patch_size, v->head_width, v->mlp_ratio);
    int n = snprintf(tmp, sizeof tmp,
                     "{\"embed_dim\":%d,\"quick_gelu\":%s,\"vision_cfg\":{%s},"
                     "\"text_cfg\":{\"context_length\":%d,\"vocab_size\":%d,\"width\":%d,\"heads\":%d,"
                     "\"layers\":%d,\"mlp_ratio\":%.17g}}",
                     cfg->embed_dim, cfg->quick_gelu ? "true" : "false", vis, t->context_length, t->vocab_size,
                     t->width, t->heads, t->layers, t->mlp_ratio);
    CHECK(n > 0 && n < (int)sizeof tmp, "config JSON does not fit");
    char *out = modx_calloc((size_t)n + 1, 1, "model config JSON");
    if (out) memcpy(out, tmp, (size_t)n + 1);
    return out;
}
