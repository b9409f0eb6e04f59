/* The Hugging Face CLIP config (config.json) side of io/hf_names.h: the modx
 * model config of an HF-named checkpoint, from its tensor shapes plus
 * config.json, and config.json for a modx model. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/hf_names.h"

/* Sizes read from the tensor shapes of one tower. */
typedef struct {
    int width, layers, mlp, tokens; /* tokens: position_embedding rows */
    int patch, vocab;               /* vision: patch size; text: vocabulary */
} TowerShape;

static ModxStatus dims(const SafeTensors *st, const char *name, int ndim, int64_t *out) {
    const StTensorInfo *t = safetensors_find(st, name);
    if (!t)
        return modx_fail(MODX_ERR_FORMAT, "%s: missing tensor '%s' (needed to read the model size)",
                         safetensors_path(st), name);
    int bad = t->ndim != ndim;
    for (int d = 0; !bad && d < ndim; d++) bad = t->shape[d] < 1 || t->shape[d] > CLIP_MAX_DIM;
    if (bad)
        return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' has %d dimensions, expected %d with sizes in [1, %d]",
                         safetensors_path(st), name, t->ndim, ndim, CLIP_MAX_DIM);
    for (int d = 0; d < ndim; d++) out[d] = t->shape[d];
    return MODX_OK;
}

/* 1 + the highest layer index i of "<prefix>i." names (0 when none). */
static int count_layers(const SafeTensors *st, const char *prefix) {
    size_t n = strlen(prefix);
    long most = -1;
    for (int i = 0; i < safetensors_count(st); i++) {
        const char *name = safetensors_at(st, i)->name;
        if (strncmp(name, prefix, n)) continue;
        char *end;
        long k = strtol(name + n, &end, 10);
        if (end != name + n && *end == '.' && k >= 0 && k < CLIP_MAX_LAYERS * 16 && k > most) most = k;
    }
    return (int)(most + 1);
}

static ModxStatus tower_shape(const SafeTensors *st, int vision, TowerShape *t) {
    const char *m = vision ? "vision_model." : "text_model.";
    char name[128];
    int64_t a[4] = {0};
    memset(t, 0, sizeof *t);
    if (vision) {
        MODX_TRY(dims(st, "vision_model.embeddings.patch_embedding.weight", 4, a));
        t->width = (int)a[0], t->patch = (int)a[2];
    } else {
        MODX_TRY(dims(st, "text_model.embeddings.token_embedding.weight", 2, a));
        t->vocab = (int)a[0], t->width = (int)a[1];
    }
    snprintf(name, sizeof name, "%sembeddings.position_embedding.weight", m);
    MODX_TRY(dims(st, name, 2, a));
    t->tokens = (int)a[0];
    snprintf(name, sizeof name, "%sencoder.layers.", m);
    t->layers = count_layers(st, name);
    if (t->layers < 1)
        return modx_fail(MODX_ERR_FORMAT, "%s: no tensors '%s0.*': the %s tower has no layers", safetensors_path(st),
                         name, vision ? "image" : "text");
    snprintf(name, sizeof name, "%sencoder.layers.0.mlp.fc1.weight", m);
    MODX_TRY(dims(st, name, 2, a));
    t->mlp = (int)a[0];
    return MODX_OK;
}

/* ---- config.json ---- */

typedef struct {
    const cJSON *obj;
    const char *section, *src;
} HfSection;

static ModxStatus hf_int(const HfSection *s, const char *key, int def, int *out) {
    const cJSON *v = s->obj ? cJSON_GetObjectItemCaseSensitive(s->obj, key) : NULL;
    if (!v || cJSON_IsNull(v)) return *out = def, MODX_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > CLIP_MAX_DIM)
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s%s%s': expected a positive integer <= %d", s->src, s->section,
                         s->section[0] ? "." : "", key, CLIP_MAX_DIM);
    *out = (int)v->valuedouble;
    return MODX_OK;
}

/* A size config.json states must equal the one the tensors have (an absent key agrees). */
static ModxStatus hf_agrees(const HfSection *s, const char *key, int have, const char *tensor) {
    int v = have;
    MODX_TRY(hf_int(s, key, have, &v));
    if (v != have)
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s%s%s' is %d but the checkpoint's tensor %s gives %d", s->src,
                         s->section, s->section[0] ? "." : "", key, v, tensor, have);
    return MODX_OK;
}

/* The activation (1 = quick_gelu, 0 = exact gelu) and the layer-norm epsilon check. */
static ModxStatus hf_act(const HfSection *s, int *quick) {
    const cJSON *v = s->obj ? cJSON_GetObjectItemCaseSensitive(s->obj, "hidden_act") : NULL;
    const char *act = v && cJSON_IsString(v) ? v->valuestring : v ? NULL : "quick_gelu";
    if (!act || (strcmp(act, "quick_gelu") && strcmp(act, "gelu")))
        return modx_fail(MODX_ERR_UNSUPPORTED, "%s: key '%s.hidden_act': expected \"quick_gelu\" or \"gelu\", found %s",
                         s->src, s->section, act ? act : "a non-string");
    *quick = !strcmp(act, "quick_gelu");
    const cJSON *eps = s->obj ? cJSON_GetObjectItemCaseSensitive(s->obj, "layer_norm_eps") : NULL;
    if (eps && (!cJSON_IsNumber(eps) || fabs(eps->valuedouble - 1e-5) > 1e-12))
        return modx_fail(MODX_ERR_UNSUPPORTED, "%s: key '%s.layer_norm_eps': only 1e-05 is supported", s->src,
                         s->section);
    return MODX_OK;
}

static ModxStatus read_json(cJSON **out, const char *path) {
    uint8_t *buf = NULL;
    size_t n = 0;
    *out = NULL;
    MODX_TRY(io_read_file(path, &buf, &n));
    char *text = modx_calloc(n + 1, 1, "HF config");
    if (text) memcpy(text, buf, n);
    free(buf);
    if (!text) return MODX_ERR_NOMEM;
    *out = cJSON_Parse(text);
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return modx_fail(MODX_ERR_FORMAT, "%s: not a JSON object (expected a Hugging Face CLIP config.json)", path);
    }
    return MODX_OK;
}

int hf_config_file_is_hf(const char *path) {
    cJSON *j = NULL;
    if (read_json(&j, path) != MODX_OK) {
        modx_clear_error();
        return 0;
    }
    int hf = cJSON_GetObjectItemCaseSensitive(j, "vision_config") || cJSON_GetObjectItemCaseSensitive(j, "text_config");
    cJSON_Delete(j);
    return hf;
}

static ModxStatus tower_check(const HfSection *s, const TowerShape *t, int vision, int *heads) {
    const char *m = vision ? "vision_model" : "text_model";
    char what[160];
    snprintf(what, sizeof what, "%s.embeddings.%s.weight", m, vision ? "patch_embedding" : "token_embedding");
    MODX_TRY(hf_agrees(s, "hidden_size", t->width, what));
    snprintf(what, sizeof what, "count %s.encoder.layers.*", m);
    MODX_TRY(hf_agrees(s, "num_hidden_layers", t->layers, what));
    snprintf(what, sizeof what, "%s.encoder.layers.0.mlp.fc1.weight", m);
    MODX_TRY(hf_agrees(s, "intermediate_size", t->mlp, what));
    snprintf(what, sizeof what, "%s.embeddings.position_embedding.weight", m);
    if (vision) {
        int g = (int)lround(sqrt((double)(t->tokens - 1)));
        if (t->tokens < 2 || g * g + 1 != t->tokens)
            return modx_fail(MODX_ERR_FORMAT, "%s: tensor '%s' has %d rows, expected grid² + 1", s->src, what,
                             t->tokens);
        MODX_TRY(hf_agrees(s, "image_size", g * t->patch, what));
        MODX_TRY(hf_agrees(s, "patch_size", t->patch, "vision_model.embeddings.patch_embedding.weight"));
    } else {
        MODX_TRY(hf_agrees(s, "max_position_embeddings", t->tokens, what));
        MODX_TRY(hf_agrees(s, "vocab_size", t->vocab, "text_model.embeddings.token_embedding.weight"));
    }
    MODX_TRY(hf_int(s, "num_attention_heads", vision ? 12 : 8, heads));
    if (t->width % *heads)
        return modx_fail(MODX_ERR_FORMAT, "%s: key '%s.num_attention_heads' is %d, which does not divide the width %d",
                         s->src, s->section, *heads, t->width);
    return MODX_OK;
}

/* "config.json" beside the checkpoint (dst: cap bytes). */
static void beside(char *dst, size_t cap, const char *ckpt) {
    const char *slash = strrchr(ckpt, '/');
    int dir = slash ? (int)(slash - ckpt) : 0;
    snprintf(dst, cap, "%.*s%sconfig.json", dir, ckpt, slash ? "/" : "");
}

/* The OpenCLIP config text from the shapes and heads; mlp widths checked after parsing. */
static ModxStatus build(ClipConfig *cfg, const TowerShape *v, const TowerShape *t, int E, const int *heads, int quick,
                        const char *src) {
    char json[1024];
    snprintf(json, sizeof json,
             "{\"embed_dim\":%d,\"quick_gelu\":%s,\"vision_cfg\":{\"image_size\":%d,\"layers\":%d,\"width\":%d,"
             "\"patch_size\":%d,\"head_width\":%d,\"mlp_ratio\":%.17g},\"text_cfg\":{\"context_length\":%d,"
             "\"vocab_size\":%d,\"width\":%d,\"heads\":%d,\"layers\":%d,\"mlp_ratio\":%.17g}}",
             E, quick ? "true" : "false", (int)lround(sqrt((double)(v->tokens - 1))) * v->patch, v->layers, v->width,
             v->patch, v->width / heads[0], (double)v->mlp / v->width, t->tokens, t->vocab, t->width, heads[1],
             t->layers, (double)t->mlp / t->width);
    MODX_TRY(clip_config_parse(cfg, json, src));
    if (cfg->vision.mlp_width != v->mlp || cfg->text.mlp_width != t->mlp)
        return modx_fail(MODX_ERR_UNSUPPORTED, "%s: MLP widths %d and %d are not int(width * ratio) for any ratio",
                         src, v->mlp, t->mlp);
    return MODX_OK;
}

/* A tower's section: older config.json files also hold "<key>_dict", which
 * transformers lets override "<key>"; absent: transformers' defaults. */
static HfSection section(const cJSON *j, const char *key, const char *src) {
    char dict[32];
    snprintf(dict, sizeof dict, "%s_dict", key);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, dict);
    if (cJSON_IsObject(d)) return (HfSection){d, d->string, src};
    return (HfSection){cJSON_GetObjectItemCaseSensitive(j, key), key, src};
}

static ModxStatus derive(ClipConfig *cfg, const SafeTensors *st, const cJSON *j, const char *src) {
    TowerShape v, t;
    int64_t p[2];
    MODX_TRY(tower_shape(st, 1, &v));
    MODX_TRY(tower_shape(st, 0, &t));
    MODX_TRY(dims(st, "visual_projection.weight", 2, p));
    HfSection vs = section(j, "vision_config", src), ts = section(j, "text_config", src);
    HfSection top = {j, "", src};
    int heads[2], quick[2];
    MODX_TRY(tower_check(&vs, &v, 1, &heads[0]));
    MODX_TRY(tower_check(&ts, &t, 0, &heads[1]));
    MODX_TRY(hf_act(&vs, &quick[0]));
    MODX_TRY(hf_act(&ts, &quick[1]));
    if (quick[0] != quick[1])
        return modx_fail(MODX_ERR_UNSUPPORTED, "%s: the towers use different activations (hidden_act); modx uses one "
                         "for both", src);
    MODX_TRY(hf_agrees(&top, "projection_dim", (int)p[0], "visual_projection.weight"));
    char source[4200];
    snprintf(source, sizeof source, "%s (with the tensor shapes of %s)", src, safetensors_path(st));
    return build(cfg, &v, &t, (int)p[0], heads, quick[0], source);
}

int hf_config_beside_exists(const SafeTensors *st) {
    char path[4096];
    beside(path, sizeof path, safetensors_path(st));
    return io_file_exists(path);
}

ModxStatus hf_config_derive(ClipConfig *cfg, const SafeTensors *st, const char *hf_config_path) {
    char path[4096];
    if (hf_config_path) {
        snprintf(path, sizeof path, "%s", hf_config_path);
    } else {
        beside(path, sizeof path, safetensors_path(st));
        if (!io_file_exists(path))
            return modx_fail(MODX_ERR_INVALID,
                             "%s: a Hugging Face CLIP checkpoint without 'modx.config' metadata and with no "
                             "config.json beside it (%s): the tensor shapes give the sizes but not the attention "
                             "heads or the activation; pass --config with the model's config.json (Hugging Face) or "
                             "an OpenCLIP model config (e.g. configs/ViT-B-32.json)",
                             safetensors_path(st), path);
    }
    cJSON *j = NULL;
    MODX_TRY(read_json(&j, path));
    ModxStatus s = derive(cfg, st, j, path);
    cJSON_Delete(j);
    if (s != MODX_OK) modx_error_prefix("reading the config of %s: ", safetensors_path(st));
    return s;
}

char *hf_config_to_json(const ClipConfig *cfg) {
    if (cfg->vision.resnet) {
        modx_fail(MODX_ERR_UNSUPPORTED, "a ModifiedResNet (RN) model has no Hugging Face CLIP config");
        return NULL;
    }
    const ClipVisionConfig *v = &cfg->vision;
    const ClipTextConfig *t = &cfg->text;
    const char *act = cfg->quick_gelu ? "quick_gelu" : "gelu";
    char tmp[2048];
    int n = snprintf(tmp, sizeof tmp,
                     "{\n  \"architectures\": [\"CLIPModel\"],\n  \"model_type\": \"clip\",\n"
                     "  \"projection_dim\": %d,\n  \"logit_scale_init_value\": 2.6592,\n"
                     "  \"text_config\": {\"model_type\": \"clip_text_model\", \"hidden_size\": %d, "
                     "\"intermediate_size\": %d, \"num_attention_heads\": %d, \"num_hidden_layers\": %d, "
                     "\"max_position_embeddings\": %d, \"vocab_size\": %d, \"hidden_act\": \"%s\", "
                     "\"layer_norm_eps\": 1e-05, \"projection_dim\": %d},\n"
                     "  \"vision_config\": {\"model_type\": \"clip_vision_model\", \"hidden_size\": %d, "
                     "\"intermediate_size\": %d, \"num_attention_heads\": %d, \"num_hidden_layers\": %d, "
                     "\"image_size\": %d, \"patch_size\": %d, \"num_channels\": 3, \"hidden_act\": \"%s\", "
                     "\"layer_norm_eps\": 1e-05, \"projection_dim\": %d}\n}\n",
                     cfg->embed_dim, t->width, t->mlp_width, t->heads, t->layers, t->context_length, t->vocab_size, act,
                     cfg->embed_dim, v->width, v->mlp_width, v->heads, v->layers, v->image_size, v->patch_size, act,
                     cfg->embed_dim);
    CHECK(n > 0 && n < (int)sizeof tmp, "HF config JSON does not fit");
    char *out = modx_calloc((size_t)n + 1, 1, "HF config JSON");
    if (out) memcpy(out, tmp, (size_t)n + 1);
    return out;
}
