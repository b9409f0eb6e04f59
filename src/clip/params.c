#include "clip/params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/size.h"

int param_decays(const char *name, int ndim) {
    if (ndim < 2) return 0;
    if (strstr(name, "bn") || strstr(name, "ln") || strstr(name, "bias") || strstr(name, "logit_scale")) return 0;
    return 1;
}

typedef struct {
    ParamTable *t;
    int cap, state_cap;
    int overflow;
    int to_state; /* 1: add() appends to the state list */
} Builder;

static void add(Builder *b, ParamInitKind init, float arg, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add(Builder *b, ParamInitKind init, float arg, int ndim, const int64_t *shape, const char *fmt, ...) {
    ParamInfo *p;
    size_t *total = b->to_state ? &b->t->state_total : &b->t->total;
    if (b->to_state) {
        CHECK(b->t->state_count < b->state_cap, "state table capacity %d exceeded", b->state_cap);
        p = &b->t->state_items[b->t->state_count++];
    } else {
        CHECK(b->t->count < b->cap, "parameter table capacity %d exceeded", b->cap);
        p = &b->t->items[b->t->count++];
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    CHECK(n > 0 && n < (int)sizeof p->name, "parameter name too long");
    p->ndim = ndim;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        if (!size_mul(numel, (size_t)shape[i], &numel)) b->overflow = 1;
    }
    p->numel = numel;
    p->offset = *total;
    if (!size_add(*total, numel, total)) b->overflow = 1;
    p->decay = b->to_state ? 0 : param_decays(p->name, ndim);
    p->state = b->to_state;
    p->count = 0;
    p->init = init;
    p->init_arg = arg;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

/* One pre-LN residual block; attention/MLP init depends on the tower. */
static void add_block(Builder *b, const char *prefix, int i, int C, int F, int text, int L) {
    float bound_c = 1.0f / sqrtf((float)C), bound_f = 1.0f / sqrtf((float)F);
    add(b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(C), "%sresblocks.%d.ln_1.weight", prefix, i);
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "%sresblocks.%d.ln_1.bias", prefix, i);
    if (text)
        add(b, PARAM_INIT_NORMAL, powf((float)C, -0.5f), 2, SHAPE(3 * C, C), "%sresblocks.%d.attn.in_proj_weight",
            prefix, i);
    else
        add(b, PARAM_INIT_UNIFORM, sqrtf(6.0f / (float)(C + 3 * C)), 2, SHAPE(3 * C, C),
            "%sresblocks.%d.attn.in_proj_weight", prefix, i);
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(3 * C), "%sresblocks.%d.attn.in_proj_bias", prefix, i);
    float proj_std = powf((float)C, -0.5f) * powf(2.0f * (float)L, -0.5f);
    if (text)
        add(b, PARAM_INIT_NORMAL, proj_std, 2, SHAPE(C, C), "%sresblocks.%d.attn.out_proj.weight", prefix, i);
    else
        add(b, PARAM_INIT_UNIFORM, bound_c, 2, SHAPE(C, C), "%sresblocks.%d.attn.out_proj.weight", prefix, i);
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "%sresblocks.%d.attn.out_proj.bias", prefix, i);
    add(b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(C), "%sresblocks.%d.ln_2.weight", prefix, i);
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "%sresblocks.%d.ln_2.bias", prefix, i);
    if (text)
        add(b, PARAM_INIT_NORMAL, powf(2.0f * (float)C, -0.5f), 2, SHAPE(F, C), "%sresblocks.%d.mlp.c_fc.weight",
            prefix, i);
    else
        add(b, PARAM_INIT_UNIFORM, bound_c, 2, SHAPE(F, C), "%sresblocks.%d.mlp.c_fc.weight", prefix, i);
    add(b, PARAM_INIT_UNIFORM, bound_c, 1, SHAPE(F), "%sresblocks.%d.mlp.c_fc.bias", prefix, i);
    if (text)
        add(b, PARAM_INIT_NORMAL, proj_std, 2, SHAPE(C, F), "%sresblocks.%d.mlp.c_proj.weight", prefix, i);
    else
        add(b, PARAM_INIT_UNIFORM, bound_f, 2, SHAPE(C, F), "%sresblocks.%d.mlp.c_proj.weight", prefix, i);
    add(b, PARAM_INIT_UNIFORM, bound_f, 1, SHAPE(C), "%sresblocks.%d.mlp.c_proj.bias", prefix, i);
}

/* A conv weight (Cout, Cin, K, K): PyTorch's default kaiming_uniform(a=√5) = U(±1/sqrt(fan_in)). */
static void add_conv(Builder *b, int Cout, int Cin, int K, const char *prefix, const char *name) {
    add(b, PARAM_INIT_UNIFORM, 1.0f / sqrtf((float)Cin * K * K), 4, SHAPE(Cout, Cin, K, K), "%s%s.weight", prefix,
        name);
}

/* BatchNorm2d(C): weight (= gain) and bias parameters, then its three state entries. */
static void add_bn(Builder *b, int C, float gain, const char *prefix, const char *name) {
    add(b, PARAM_INIT_CONST, gain, 1, SHAPE(C), "%s%s.weight", prefix, name);
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "%s%s.bias", prefix, name);
    b->to_state = 1;
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "%s%s.running_mean", prefix, name);
    add(b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(C), "%s%s.running_var", prefix, name);
    add(b, PARAM_INIT_CONST, 0.0f, 0, SHAPE(0), "%s%s.num_batches_tracked", prefix, name);
    b->t->state_items[b->t->state_count - 1].count = 1;
    b->to_state = 0;
}

static void add_resnet_block(Builder *b, int stage, int i, int inplanes, int planes, int stride) {
    char pre[PARAM_NAME_MAX];
    snprintf(pre, sizeof pre, "visual.layer%d.%d.", stage + 1, i);
    add_conv(b, planes, inplanes, 1, pre, "conv1");
    add_bn(b, planes, 1.0f, pre, "bn1");
    add_conv(b, planes, planes, 3, pre, "conv2");
    add_bn(b, planes, 1.0f, pre, "bn2");
    add_conv(b, 4 * planes, planes, 1, pre, "conv3");
    add_bn(b, 4 * planes, 0.0f, pre, "bn3"); /* OpenCLIP init_parameters: every block's bn3 gain is zero */
    if (stride > 1 || inplanes != 4 * planes) {
        add_conv(b, 4 * planes, inplanes, 1, pre, "downsample.0");
        add_bn(b, 4 * planes, 1.0f, pre, "downsample.1");
    }
}

static void add_resnet(Builder *b, const ClipConfig *cfg) {
    const ClipVisionConfig *v = &cfg->vision;
    int w = v->width, C = 32 * w, E = cfg->embed_dim;
    add_conv(b, w / 2, 3, 3, "visual.", "conv1");
    add_bn(b, w / 2, 1.0f, "visual.", "bn1");
    add_conv(b, w / 2, w / 2, 3, "visual.", "conv2");
    add_bn(b, w / 2, 1.0f, "visual.", "bn2");
    add_conv(b, w, w / 2, 3, "visual.", "conv3");
    add_bn(b, w, 1.0f, "visual.", "bn3");
    int inplanes = w;
    for (int s = 0; s < CLIP_RN_STAGES; s++)
        for (int i = 0; i < v->stage_layers[s]; i++) {
            add_resnet_block(b, s, i, inplanes, w << s, i == 0 && s > 0 ? 2 : 1);
            inplanes = 4 * (w << s);
        }
    float std = powf((float)C, -0.5f);
    add(b, PARAM_INIT_NORMAL, std, 2, SHAPE(v->tokens, C), "visual.attnpool.positional_embedding");
    static const char *const proj[3] = {"k_proj", "q_proj", "v_proj"};
    for (int k = 0; k < 3; k++) {
        add(b, PARAM_INIT_NORMAL, std, 2, SHAPE(C, C), "visual.attnpool.%s.weight", proj[k]);
        add(b, PARAM_INIT_UNIFORM, std, 1, SHAPE(C), "visual.attnpool.%s.bias", proj[k]);
    }
    add(b, PARAM_INIT_NORMAL, std, 2, SHAPE(E, C), "visual.attnpool.c_proj.weight");
    add(b, PARAM_INIT_UNIFORM, std, 1, SHAPE(E), "visual.attnpool.c_proj.bias");
}

static void add_vit(Builder *b, const ClipConfig *cfg) {
    const ClipVisionConfig *v = &cfg->vision;
    int C = v->width, E = cfg->embed_dim, P = v->patch_size;
    float vscale = powf((float)C, -0.5f);
    add(b, PARAM_INIT_NORMAL, vscale, 1, SHAPE(C), "visual.class_embedding");
    add(b, PARAM_INIT_NORMAL, vscale, 2, SHAPE(v->tokens, C), "visual.positional_embedding");
    add(b, PARAM_INIT_UNIFORM, 1.0f / sqrtf(3.0f * P * P), 4, SHAPE(C, 3, P, P), "visual.conv1.weight");
    add(b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(C), "visual.ln_pre.weight");
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "visual.ln_pre.bias");
    for (int i = 0; i < v->layers; i++) add_block(b, "visual.transformer.", i, C, v->mlp_width, 0, v->layers);
    add(b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(C), "visual.ln_post.weight");
    add(b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(C), "visual.ln_post.bias");
    add(b, PARAM_INIT_NORMAL, vscale, 2, SHAPE(C, E), "visual.proj");
}

ModxStatus param_table_build(ParamTable *t, const ClipConfig *cfg) {
    memset(t, 0, sizeof *t);
    const ClipVisionConfig *v = &cfg->vision;
    const ClipTextConfig *x = &cfg->text;
    int cap = 8 + 12 * v->layers + 6 + 12 * x->layers + 1 + (v->resnet ? 20 : 0);
    int state_cap = v->resnet ? 9 + 12 * v->layers : 0;
    t->items = modx_calloc((size_t)cap, sizeof(ParamInfo), "parameter table");
    if (!t->items) return MODX_ERR_NOMEM;
    if (state_cap && !(t->state_items = modx_calloc((size_t)state_cap, sizeof(ParamInfo), "state table"))) {
        param_table_free(t);
        return MODX_ERR_NOMEM;
    }
    Builder b = {t, cap, state_cap, 0, 0};
    int E = cfg->embed_dim;
    if (v->resnet)
        add_resnet(&b, cfg);
    else
        add_vit(&b, cfg);
    int TC = x->width;
    add(&b, PARAM_INIT_NORMAL, 0.02f, 2, SHAPE(x->vocab_size, TC), "token_embedding.weight");
    add(&b, PARAM_INIT_NORMAL, 0.01f, 2, SHAPE(x->context_length, TC), "positional_embedding");
    for (int i = 0; i < x->layers; i++) add_block(&b, "transformer.", i, TC, x->mlp_width, 1, x->layers);
    add(&b, PARAM_INIT_CONST, 1.0f, 1, SHAPE(TC), "ln_final.weight");
    add(&b, PARAM_INIT_CONST, 0.0f, 1, SHAPE(TC), "ln_final.bias");
    add(&b, PARAM_INIT_NORMAL, powf((float)TC, -0.5f), 2, SHAPE(TC, E), "text_projection");
    add(&b, PARAM_INIT_CONST, (float)log(1.0 / 0.07), 0, SHAPE(0), "logit_scale");
    if (b.overflow) {
        param_table_free(t);
        return modx_fail(MODX_ERR_INVALID, "model config: parameter count overflows size_t");
    }
    return MODX_OK;
}

void param_table_free(ParamTable *t) {
    if (!t) return;
    free(t->items);
    free(t->state_items);
    memset(t, 0, sizeof *t);
}

const ParamInfo *param_table_find(const ParamTable *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (!strcmp(t->items[i].name, name)) return &t->items[i];
    return NULL;
}

void param_table_init(const ParamTable *t, float *params, uint64_t seed) {
    for (int i = 0; i < t->count; i++) {
        const ParamInfo *p = &t->items[i];
        float *x = params + p->offset;
        Rng rng;
        rng_seed_stream(&rng, seed, (uint64_t)i);
        for (size_t k = 0; k < p->numel; k++) {
            switch (p->init) {
            case PARAM_INIT_CONST: x[k] = p->init_arg; break;
            case PARAM_INIT_NORMAL: x[k] = (float)(rng_normal(&rng) * p->init_arg); break;
            case PARAM_INIT_UNIFORM: x[k] = (float)((2.0 * rng_uniform(&rng) - 1.0) * p->init_arg); break;
            }
        }
    }
}

const ParamInfo *param_table_find_state(const ParamTable *t, const char *name) {
    for (int i = 0; i < t->state_count; i++)
        if (!strcmp(t->state_items[i].name, name)) return &t->state_items[i];
    return NULL;
}

void param_table_init_state(const ParamTable *t, float *state) {
    for (int i = 0; i < t->state_count; i++) {
        const ParamInfo *p = &t->state_items[i];
        for (size_t k = 0; k < p->numel; k++) state[p->offset + k] = p->init_arg;
    }
}

void param_shape_str(const ParamInfo *p, char *buf, size_t cap) {
    size_t used = 0;
    used += (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < p->ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)p->shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, ")");
}
