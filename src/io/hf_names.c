#include "io/hf_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HF_NAME_MAX 96

/* How an HF tensor holds its modx parameter. */
typedef enum {
    HF_COPY,      /* the same values, the same shape */
    HF_TRANSPOSE, /* (C, E) parameter stored as (E, C) */
    HF_SLICE,     /* part `part` (q, k, v) of a packed in_proj: a contiguous third */
} HfKind;

typedef struct {
    char name[HF_NAME_MAX];
    const ParamInfo *p;
    HfKind kind;
    int part;
    int ndim;
    int64_t shape[PARAM_MAX_DIMS];
} HfTensor;

const char *ckpt_naming_name(CkptNaming n) { return n == CKPT_NAMING_HF ? "hf" : "openclip"; }

int ckpt_naming_parse(const char *s, CkptNaming *out) {
    if (!strcmp(s, "hf")) return *out = CKPT_NAMING_HF, 1;
    if (!strcmp(s, "openclip")) return *out = CKPT_NAMING_OPENCLIP, 1;
    return 0;
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

static int is_hf_name(const char *s) {
    return starts(s, "vision_model.") || starts(s, "text_model.") || !strcmp(s, "visual_projection.weight") ||
           !strcmp(s, "text_projection.weight");
}

static int is_openclip_name(const char *s) {
    return starts(s, "visual.") || starts(s, "transformer.") || starts(s, "token_embedding.") ||
           !strcmp(s, "positional_embedding") || starts(s, "ln_final.") || !strcmp(s, "text_projection");
}

ModxStatus ckpt_naming_detect(const SafeTensors *st, CkptNaming *out) {
    const char *hf = NULL, *oc = NULL;
    int n = safetensors_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = safetensors_at(st, i)->name;
        if (!hf && is_hf_name(name)) hf = name;
        if (!oc && is_openclip_name(name)) oc = name;
    }
    const char *path = safetensors_path(st);
    if (hf && oc)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: mixed checkpoint naming: tensor '%s' has an OpenCLIP name and '%s' a Hugging Face one; "
                         "a checkpoint uses one naming",
                         path, oc, hf);
    if (!hf && !oc && n > 0)
        return modx_fail(MODX_ERR_FORMAT,
                         "%s: unknown checkpoint naming: no tensor has an OpenCLIP CLIP name (visual.*, transformer.*, "
                         "token_embedding.weight, ...) or a Hugging Face one (vision_model.*, text_model.*, ...); "
                         "first tensor '%s'",
                         path, safetensors_at(st, 0)->name);
    *out = hf ? CKPT_NAMING_HF : CKPT_NAMING_OPENCLIP;
    return MODX_OK;
}

/* ---- the name map ---- */

static const char *const EXACT[][2] = {
    {"visual.class_embedding", "vision_model.embeddings.class_embedding"},
    {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"},
    {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"},
    {"visual.ln_pre.weight", "vision_model.pre_layrnorm.weight"},
    {"visual.ln_pre.bias", "vision_model.pre_layrnorm.bias"},
    {"visual.ln_post.weight", "vision_model.post_layernorm.weight"},
    {"visual.ln_post.bias", "vision_model.post_layernorm.bias"},
    {"visual.proj", "visual_projection.weight"},
    {"token_embedding.weight", "text_model.embeddings.token_embedding.weight"},
    {"positional_embedding", "text_model.embeddings.position_embedding.weight"},
    {"ln_final.weight", "text_model.final_layer_norm.weight"},
    {"ln_final.bias", "text_model.final_layer_norm.bias"},
    {"text_projection", "text_projection.weight"},
    {"logit_scale", "logit_scale"},
};

static const char *const TOWER[][2] = {
    {"visual.transformer.resblocks.", "vision_model.encoder.layers."},
    {"transformer.resblocks.", "text_model.encoder.layers."},
};

static const char *const BLOCK[][2] = {
    {"ln_1.", "layer_norm1."},
    {"ln_2.", "layer_norm2."},
    {"attn.out_proj.", "self_attn.out_proj."},
    {"mlp.c_fc.", "mlp.fc1."},
    {"mlp.c_proj.", "mlp.fc2."},
};

/* The HF entries of one parameter (1, or 3 for a packed in_proj). */
static int map_block(const ParamInfo *p, const char *hf_prefix, const char *rest, HfTensor *e) {
    char *dot;
    long i = strtol(rest, &dot, 10);
    if (dot == rest || *dot != '.') return 0;
    const char *tail = dot + 1;
    for (size_t k = 0; k < sizeof BLOCK / sizeof BLOCK[0]; k++)
        if (starts(tail, BLOCK[k][0])) {
            snprintf(e->name, HF_NAME_MAX, "%s%ld.%s%s", hf_prefix, i, BLOCK[k][1], tail + strlen(BLOCK[k][0]));
            return 1;
        }
    const char *what = !strcmp(tail, "attn.in_proj_weight") ? "weight" : !strcmp(tail, "attn.in_proj_bias") ? "bias" : NULL;
    if (!what) return 0;
    static const char qkv[3] = {'q', 'k', 'v'};
    for (int part = 0; part < 3; part++) {
        e[part] = e[0];
        snprintf(e[part].name, HF_NAME_MAX, "%s%ld.self_attn.%c_proj.%s", hf_prefix, i, qkv[part], what);
        e[part].kind = HF_SLICE, e[part].part = part;
        e[part].shape[0] = p->shape[0] / 3;
    }
    return 3;
}

static int map_param(const ParamInfo *p, HfTensor *e) {
    memset(e, 0, sizeof *e);
    e->p = p, e->kind = HF_COPY, e->ndim = p->ndim;
    memcpy(e->shape, p->shape, sizeof e->shape);
    for (size_t k = 0; k < sizeof EXACT / sizeof EXACT[0]; k++)
        if (!strcmp(p->name, EXACT[k][0])) {
            snprintf(e->name, HF_NAME_MAX, "%s", EXACT[k][1]);
            if (!strcmp(p->name, "visual.proj") || !strcmp(p->name, "text_projection")) {
                e->kind = HF_TRANSPOSE;
                e->shape[0] = p->shape[1], e->shape[1] = p->shape[0];
            }
            return 1;
        }
    for (size_t k = 0; k < sizeof TOWER / sizeof TOWER[0]; k++)
        if (starts(p->name, TOWER[k][0])) return map_block(p, TOWER[k][1], p->name + strlen(TOWER[k][0]), e);
    return 0;
}

/* The HF entries of every parameter of m, in table order (*out malloc'd). */
static ModxStatus hf_map(const ClipModel *m, HfTensor **out, int *n) {
    *out = NULL, *n = 0;
    if (m->cfg.vision.resnet)
        return modx_fail(MODX_ERR_UNSUPPORTED,
                         "a ModifiedResNet (RN) image tower has no Hugging Face CLIP naming (transformers' CLIPModel "
                         "is ViT only); keep the OpenCLIP naming for RN models");
    HfTensor *e = modx_calloc((size_t)m->table.count * 3, sizeof *e, "HF name map");
    if (!e) return MODX_ERR_NOMEM;
    int k = 0;
    for (int i = 0; i < m->table.count; i++) {
        int got = map_param(&m->table.items[i], e + k);
        if (!got) {
            free(e);
            return modx_fail(MODX_ERR_UNSUPPORTED, "parameter '%s' has no Hugging Face CLIP name",
                             m->table.items[i].name);
        }
        k += got;
    }
    *out = e, *n = k;
    return MODX_OK;
}

static void shape_str(const HfTensor *e, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < e->ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", d ? ", " : "", (long long)e->shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, ")");
}

/* ---- reading ---- */

static int ignorable(const char *name) {
    size_t n = strlen(name);
    return n >= 12 && !strcmp(name + n - 12, "position_ids");
}

static ModxStatus check_known(const SafeTensors *st, const HfTensor *e, int n, const ClipModel *m) {
    for (int i = 0; i < safetensors_count(st); i++) {
        const char *name = safetensors_at(st, i)->name;
        int known = ignorable(name);
        for (int k = 0; !known && k < n; k++) known = !strcmp(name, e[k].name);
        if (!known)
            return modx_fail(MODX_ERR_FORMAT,
                             "%s: tensor '%s' is not a Hugging Face CLIP parameter of this model (config: vision "
                             "width %d, %d layers; text width %d, %d layers)",
                             safetensors_path(st), name, m->cfg.vision.width, m->cfg.vision.layers, m->cfg.text.width,
                             m->cfg.text.layers);
    }
    return MODX_OK;
}

static ModxStatus read_one(const SafeTensors *st, const HfTensor *e, float *params, float *tmp) {
    const ParamInfo *p = e->p;
    if (e->kind == HF_COPY) return safetensors_read_f32(st, e->name, e->ndim, e->shape, params + p->offset);
    if (e->kind == HF_SLICE) {
        size_t third = p->numel / 3;
        return safetensors_read_f32(st, e->name, e->ndim, e->shape, params + p->offset + (size_t)e->part * third);
    }
    MODX_TRY(safetensors_read_f32(st, e->name, e->ndim, e->shape, tmp));
    size_t rows = (size_t)e->shape[0], cols = (size_t)e->shape[1];
    float *dst = params + p->offset;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * rows + r] = tmp[r * cols + c];
    return MODX_OK;
}

ModxStatus hf_read_params(const SafeTensors *st, const ClipModel *m, float *params) {
    HfTensor *e = NULL;
    int n = 0;
    ModxStatus s = hf_map(m, &e, &n);
    if (s != MODX_OK) {
        modx_error_prefix("%s: ", safetensors_path(st));
        return s;
    }
    size_t big = 0;
    for (int k = 0; k < n; k++)
        if (e[k].kind == HF_TRANSPOSE && e[k].p->numel > big) big = e[k].p->numel;
    float *tmp = modx_calloc(big + 1, sizeof(float), "projection transpose");
    s = tmp ? check_known(st, e, n, m) : MODX_ERR_NOMEM;
    for (int k = 0; s == MODX_OK && k < n; k++) {
        if (!safetensors_find(st, e[k].name)) {
            char shape[96];
            shape_str(&e[k], shape, sizeof shape);
            s = modx_fail(MODX_ERR_FORMAT, "%s: missing tensor '%s' (expected F32 %s; modx parameter '%s')",
                          safetensors_path(st), e[k].name, shape, e[k].p->name);
        } else {
            s = read_one(st, &e[k], params, tmp);
        }
    }
    free(tmp);
    free(e);
    return s;
}

/* ---- writing ---- */

ModxStatus hf_add_params(SafeTensorsWriter *w, const ClipModel *m, const float *params, float **scratch) {
    HfTensor *e = NULL;
    int n = 0;
    *scratch = NULL;
    MODX_TRY(hf_map(m, &e, &n));
    size_t total = 0;
    for (int k = 0; k < n; k++)
        if (e[k].kind == HF_TRANSPOSE) total += e[k].p->numel;
    float *buf = modx_calloc(total + 1, sizeof(float), "transposed projections");
    ModxStatus s = buf ? MODX_OK : MODX_ERR_NOMEM;
    size_t used = 0;
    for (int k = 0; s == MODX_OK && k < n; k++) {
        const ParamInfo *p = e[k].p;
        const float *src = params + p->offset;
        if (e[k].kind == HF_SLICE) {
            src += (size_t)e[k].part * (p->numel / 3);
        } else if (e[k].kind == HF_TRANSPOSE) {
            size_t rows = (size_t)p->shape[0], cols = (size_t)p->shape[1];
            float *dst = buf + used;
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
            src = dst, used += p->numel;
        }
        s = safetensors_writer_add(w, e[k].name, ST_F32, e[k].ndim, e[k].shape, src);
    }
    free(e);
    if (s != MODX_OK) {
        free(buf);
        return s;
    }
    *scratch = buf;
    return MODX_OK;
}
