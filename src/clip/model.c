#include "clip/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"
#include "nn/classtoken.h"
#include "nn/embedding.h"
#include "nn/l2norm.h"
#include "nn/layernorm.h"
#include "nn/linear.h"
#include "nn/patch.h"
#include "nn/pool.h"

struct ClipActs {
    ClipConfig cfg;
    int max_B, training;
    float *arena;
    size_t floats;
    int32_t *ints;
    /* image tower; R = B*N rows */
    float *v_cols;                                /* (B*NP, 3*P*P) */
    float *v_patch;                               /* (B*NP, C) */
    float *v_emb;                                 /* (R, C) class token + positions */
    float *v_lnpre, *v_lnpre_mean, *v_lnpre_rstd; /* (R, C), (R), (R): the residual stream input */
    ClipBlockActs v_blocks[CLIP_MAX_LAYERS];
    float *v_pooled;                                 /* (B, C) class token of the last block */
    float *v_lnpost, *v_lnpost_mean, *v_lnpost_rstd; /* (B, C), (B), (B) */
    float *v_proj;                                   /* (B, E) before normalisation */
    float *v_norm;                                   /* (B) */
    float *v_feat;                                   /* (B, E) */
    /* text tower; R = B*T rows */
    int32_t *t_tokens; /* (B, T) copy of the input */
    int32_t *t_eot;    /* (B) */
    float *t_emb;      /* (R, C) */
    ClipBlockActs t_blocks[CLIP_MAX_LAYERS];
    float *t_pooled;                        /* (B, C) EOT rows of the last block */
    float *t_lnf, *t_lnf_mean, *t_lnf_rstd; /* (B, C), (B), (B) */
    float *t_proj, *t_norm, *t_feat;        /* (B, E), (B), (B, E) */
    /* backward scratch (training only), sized for the larger tower */
    ClipBlockScratch s;
    float *d_res;    /* (R, C) running residual gradient */
    float *d_emb;    /* (R, C) */
    float *d_patch;  /* (B*NP, C) */
    float *d_pooled; /* (B, C) */
    float *d_lnout;  /* (B, C) */
    float *d_proj;   /* (B, E) */
    int B_image, B_text; /* batch of the last forward of each tower; 0 = none */
    ResnetActs *rn;      /* the ResNet tower's own arena (cfg.vision.resnet), else NULL */
};

/* ---------------- model ---------------- */

static float *bind_one(const ClipModel *m, float *base, const char *name) {
    const ParamInfo *p = param_table_find(&m->table, name);
    CHECK(p, "parameter '%s' missing from the table", name);
    return base + p->offset;
}

static void bind_blocks(const ClipModel *m, float *base, ClipBlockWeights *bw, int L, const char *prefix) {
    char n[PARAM_NAME_MAX + 32];
#define B1(field, suffix) \
    (snprintf(n, sizeof n, "%sresblocks.%d.%s", prefix, i, suffix), bw[i].field = bind_one(m, base, n))
    for (int i = 0; i < L; i++) {
        B1(ln_1_w, "ln_1.weight");
        B1(ln_1_b, "ln_1.bias");
        B1(in_proj_w, "attn.in_proj_weight");
        B1(in_proj_b, "attn.in_proj_bias");
        B1(out_proj_w, "attn.out_proj.weight");
        B1(out_proj_b, "attn.out_proj.bias");
        B1(ln_2_w, "ln_2.weight");
        B1(ln_2_b, "ln_2.bias");
        B1(c_fc_w, "mlp.c_fc.weight");
        B1(c_fc_b, "mlp.c_fc.bias");
        B1(c_proj_w, "mlp.c_proj.weight");
        B1(c_proj_b, "mlp.c_proj.bias");
    }
#undef B1
}

static void bind_vit(ClipVisionWeights *v, const ClipModel *m, float *base) {
    v->class_embedding = bind_one(m, base, "visual.class_embedding");
    v->positional_embedding = bind_one(m, base, "visual.positional_embedding");
    v->conv1 = bind_one(m, base, "visual.conv1.weight");
    v->ln_pre_w = bind_one(m, base, "visual.ln_pre.weight");
    v->ln_pre_b = bind_one(m, base, "visual.ln_pre.bias");
    bind_blocks(m, base, v->blocks, m->cfg.vision.layers, "visual.transformer.");
    v->ln_post_w = bind_one(m, base, "visual.ln_post.weight");
    v->ln_post_b = bind_one(m, base, "visual.ln_post.bias");
    v->proj = bind_one(m, base, "visual.proj");
}

void clip_weights_bind(ClipWeights *w, const ClipModel *m, float *base) {
    memset(w, 0, sizeof *w);
    if (m->cfg.vision.resnet)
        resnet_bind(&w->visual.rn, &m->cfg, &m->table, base, base == m->params ? m->state : NULL);
    else
        bind_vit(&w->visual, m, base);
    ClipTextWeights *t = &w->text;
    t->token_embedding = bind_one(m, base, "token_embedding.weight");
    t->positional_embedding = bind_one(m, base, "positional_embedding");
    bind_blocks(m, base, t->blocks, m->cfg.text.layers, "transformer.");
    t->ln_final_w = bind_one(m, base, "ln_final.weight");
    t->ln_final_b = bind_one(m, base, "ln_final.bias");
    t->text_projection = bind_one(m, base, "text_projection");
    w->logit_scale = bind_one(m, base, "logit_scale");
}

ModxStatus clip_model_new(ClipModel **out, const ClipConfig *cfg) {
    *out = NULL;
    ClipModel *m = modx_calloc(1, sizeof *m, "CLIP model");
    if (!m) return MODX_ERR_NOMEM;
    m->cfg = *cfg;
    ModxStatus st = clip_config_validate(&m->cfg, "model config");
    if (st) goto fail;
    if ((st = param_table_build(&m->table, &m->cfg))) goto fail;
    m->params = modx_calloc(m->table.total, sizeof(float), "CLIP parameters");
    if (m->table.state_total) m->state = modx_calloc(m->table.state_total, sizeof(float), "CLIP model state");
    if (!m->params || (m->table.state_total && !m->state)) {
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    param_table_init_state(&m->table, m->state);
    clip_weights_bind(&m->w, m, m->params);
    *out = m;
    return MODX_OK;
fail:
    clip_model_free(m);
    return st;
}

ModxStatus clip_model_clone(ClipModel **out, const ClipModel *src) {
    MODX_TRY(clip_model_new(out, &src->cfg));
    memcpy((*out)->params, src->params, src->table.total * sizeof(float));
    if (src->table.state_total) memcpy((*out)->state, src->state, src->table.state_total * sizeof(float));
    (*out)->bn_mode = src->bn_mode;
    return MODX_OK;
}

void clip_model_set_bn_mode(ClipModel *m, ClipBnMode mode) { m->bn_mode = mode; }

void clip_model_free(ClipModel *m) {
    if (!m) return;
    param_table_free(&m->table);
    free(m->params);
    free(m->state);
    free(m);
}

void clip_model_init(ClipModel *m, uint64_t seed) {
    param_table_init(&m->table, m->params, seed);
    param_table_init_state(&m->table, m->state);
}

size_t clip_model_num_params(const ClipModel *m) { return m->table.total; }

/* ---------------- activation arena ---------------- */

typedef struct {
    float *base; /* NULL in the sizing pass */
    size_t used;
    int overflow;
} Carver;

/* n1·n2·n3 floats, rounded up to 16 (64-byte alignment of every buffer). */
static float *carve(Carver *c, size_t n1, size_t n2, size_t n3) {
    size_t n;
    if (!size_mul(n1, n2, &n) || !size_mul(n, n3, &n) || !size_add(n, 15, &n)) {
        c->overflow = 1;
        return NULL;
    }
    n &= ~(size_t)15;
    float *p = c->base ? c->base + c->used : NULL;
    if (!size_add(c->used, n, &c->used)) c->overflow = 1;
    return p;
}

static void carve_blocks(Carver *c, ClipBlockActs *blk, int nbuf, size_t B, size_t N, size_t C, size_t NH,
                         size_t F) {
    size_t R = B * N;
    for (int l = 0; l < nbuf; l++) {
        ClipBlockActs *a = &blk[l];
        a->ln1 = carve(c, R, C, 1);
        a->ln1_mean = carve(c, R, 1, 1);
        a->ln1_rstd = carve(c, R, 1, 1);
        a->qkv = carve(c, R, 3 * C, 1);
        a->att = carve(c, B * NH, N, N);
        a->atty = carve(c, R, C, 1);
        a->res1 = carve(c, R, C, 1);
        a->ln2 = carve(c, R, C, 1);
        a->ln2_mean = carve(c, R, 1, 1);
        a->ln2_rstd = carve(c, R, 1, 1);
        a->fch = carve(c, R, F, 1);
        a->fch_act = carve(c, R, F, 1);
        a->res2 = carve(c, R, C, 1);
    }
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static void carve_vit(Carver *c, ClipActs *a, size_t B, size_t NP, size_t N, size_t VC, size_t P) {
    const ClipVisionConfig *v = &a->cfg.vision;
    a->v_cols = carve(c, B * NP, 3 * P * P, 1);
    a->v_patch = carve(c, B * NP, VC, 1);
    a->v_emb = carve(c, B * N, VC, 1);
    a->v_lnpre = carve(c, B * N, VC, 1);
    a->v_lnpre_mean = carve(c, B * N, 1, 1);
    a->v_lnpre_rstd = carve(c, B * N, 1, 1);
    carve_blocks(c, a->v_blocks, a->training ? v->layers : 1, B, N, VC, (size_t)v->heads, (size_t)v->mlp_width);
    a->v_pooled = carve(c, B, VC, 1);
    a->v_lnpost = carve(c, B, VC, 1);
    a->v_lnpost_mean = carve(c, B, 1, 1);
    a->v_lnpost_rstd = carve(c, B, 1, 1);
}

static void carve_text(Carver *c, ClipActs *a, size_t B, size_t T, size_t TC, size_t E) {
    const ClipTextConfig *t = &a->cfg.text;
    a->t_emb = carve(c, B * T, TC, 1);
    carve_blocks(c, a->t_blocks, a->training ? t->layers : 1, B, T, TC, (size_t)t->heads, (size_t)t->mlp_width);
    a->t_pooled = carve(c, B, TC, 1);
    a->t_lnf = carve(c, B, TC, 1);
    a->t_lnf_mean = carve(c, B, 1, 1);
    a->t_lnf_rstd = carve(c, B, 1, 1);
    a->t_proj = carve(c, B, E, 1);
    a->t_norm = carve(c, B, 1, 1);
    a->t_feat = carve(c, B, E, 1);
}

static void carve_all(Carver *c, ClipActs *a) {
    const ClipVisionConfig *v = &a->cfg.vision;
    const ClipTextConfig *t = &a->cfg.text;
    size_t B = (size_t)a->max_B, E = (size_t)a->cfg.embed_dim;
    size_t NP = (size_t)v->grid * v->grid, N = (size_t)v->tokens, VC = (size_t)v->width, P = (size_t)v->patch_size;
    size_t T = (size_t)t->context_length, TC = (size_t)t->width;
    if (v->resnet) /* the ResNet tower has its own arena; only the projection output lives here */
        N = 0, VC = 0;
    else
        carve_vit(c, a, B, NP, N, VC, P);
    a->v_proj = carve(c, B, E, 1);
    a->v_norm = carve(c, B, 1, 1);
    a->v_feat = carve(c, B, E, 1);
    carve_text(c, a, B, T, TC, E);
    if (!a->training) return;
    size_t RC = max_sz(B * N * VC, B * T * TC);
    size_t RF = max_sz(B * N * (size_t)v->mlp_width, B * T * (size_t)t->mlp_width);
    size_t ATT = max_sz(B * (size_t)v->heads * N * N, B * (size_t)t->heads * T * T);
    size_t CM = max_sz(VC, TC);
    a->s.d_ln = carve(c, RC, 1, 1);
    a->s.d_qkv = carve(c, RC, 3, 1);
    a->s.d_atty = carve(c, RC, 1, 1);
    a->s.d_fch = carve(c, RF, 1, 1);
    a->s.d_fch_act = carve(c, RF, 1, 1);
    a->s.d_att = carve(c, ATT, 1, 1);
    a->d_res = carve(c, RC, 1, 1);
    a->d_emb = carve(c, RC, 1, 1);
    a->d_patch = v->resnet ? NULL : carve(c, B * NP, VC, 1);
    a->d_pooled = carve(c, B, CM, 1);
    a->d_lnout = carve(c, B, CM, 1);
    a->d_proj = carve(c, B, E, 1);
}

ModxStatus clip_acts_new(ClipActs **out, const ClipConfig *cfg, int max_B, int training) {
    *out = NULL;
    if (max_B < 1)
        return modx_fail(MODX_ERR_INVALID, "activation arena: batch size must be at least 1, found %d", max_B);
    ClipActs *a = modx_calloc(1, sizeof *a, "CLIP activations");
    if (!a) return MODX_ERR_NOMEM;
    a->cfg = *cfg;
    a->max_B = max_B;
    a->training = training ? 1 : 0;
    ModxStatus st = clip_config_validate(&a->cfg, "model config");
    if (st) goto fail;
    if (a->cfg.vision.resnet && (st = resnet_acts_new(&a->rn, &a->cfg, max_B, a->training))) goto fail;
    Carver c = {NULL, 0, 0};
    carve_all(&c, a);
    size_t nint = (size_t)max_B * ((size_t)a->cfg.text.context_length + 1);
    if (c.overflow) {
        st = modx_fail(MODX_ERR_INVALID, "activation arena: size overflows for batch %d", max_B);
        goto fail;
    }
    a->floats = c.used;
    a->arena = modx_calloc(c.used, sizeof(float), "CLIP activation arena");
    a->ints = modx_calloc(nint, sizeof(int32_t), "CLIP token buffer");
    if (!a->arena || !a->ints) {
        modx_error_prefix("batch %d needs %.1f MiB: ", max_B, (double)c.used * 4.0 / 1048576.0);
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    c = (Carver){a->arena, 0, 0};
    carve_all(&c, a);
    CHECK(c.used == a->floats, "arena layout changed between passes");
    a->t_tokens = a->ints;
    a->t_eot = a->ints + (size_t)max_B * a->cfg.text.context_length;
    *out = a;
    return MODX_OK;
fail:
    clip_acts_free(a);
    return st;
}

void clip_acts_free(ClipActs *a) {
    if (!a) return;
    resnet_acts_free(a->rn);
    free(a->arena);
    free(a->ints);
    free(a);
}

size_t clip_acts_bytes(const ClipActs *a) {
    return (a->floats + (a->rn ? resnet_acts_floats(a->rn) : 0)) * sizeof(float) + (size_t)a->max_B * ((size_t)a->cfg.text.context_length + 1) * sizeof(int32_t);
}

ModxStatus clip_acts_size(const ClipConfig *cfg, int max_B, int training, uint64_t *bytes) {
    if (max_B < 1) return modx_fail(MODX_ERR_INVALID, "activation arena: batch size must be at least 1, found %d", max_B);
    ClipActs *a = modx_calloc(1, sizeof *a, "CLIP activations");
    if (!a) return MODX_ERR_NOMEM;
    a->cfg = *cfg;
    a->max_B = max_B;
    a->training = training ? 1 : 0;
    ModxStatus st = clip_config_validate(&a->cfg, "model config");
    Carver c = {NULL, 0, 0};
    if (st == MODX_OK) carve_all(&c, a); /* counts without a base */
    uint64_t floats = c.used, n = 0, rn = 0;
    if (st == MODX_OK && a->cfg.vision.resnet) st = resnet_acts_floats_for(&a->cfg, max_B, a->training, &rn);
    if (st == MODX_OK && !u64_add(floats, rn, &floats)) c.overflow = 1; /* the ResNet tower's own arena */
    if (st == MODX_OK && (c.overflow || !u64_mul(floats, sizeof(float), &n) ||
                          !u64_add(n, (uint64_t)max_B * ((uint64_t)a->cfg.text.context_length + 1) * sizeof(int32_t), &n)))
        st = modx_fail(MODX_ERR_INVALID, "activation arena: size overflows for batch %d", max_B);
    if (st == MODX_OK) *bytes = n;
    free(a);
    return st;
}

/* ---------------- forward ---------------- */

static ModxStatus check_batch(const ClipActs *a, int B, const char *what) {
    if (B < 1 || B > a->max_B)
        return modx_fail(MODX_ERR_INVALID, "%s: batch size %d outside [1, %d] (the activation arena's maximum)", what,
                         B, a->max_B);
    return MODX_OK;
}

static TransformerDims vision_dims(const ClipConfig *cfg, int B) {
    const ClipVisionConfig *v = &cfg->vision;
    return (TransformerDims){B, v->tokens, v->width, v->heads, v->mlp_width, v->layers, 0, cfg->quick_gelu};
}

static TransformerDims text_dims(const ClipConfig *cfg, int B) {
    const ClipTextConfig *t = &cfg->text;
    return (TransformerDims){B, t->context_length, t->width, t->heads, t->mlp_width, t->layers, 1, cfg->quick_gelu};
}

ModxStatus clip_encode_image(const ClipModel *m, ClipActs *a, const float *images, int B, float *features) {
    MODX_TRY(check_batch(a, B, "encode image"));
    const ClipConfig *cfg = &m->cfg;
    const ClipVisionConfig *v = &cfg->vision;
    const ClipVisionWeights *w = &m->w.visual;
    int C = v->width, N = v->tokens, NP = N - 1, E = cfg->embed_dim, R = B * N;
    a->B_image = 0;
    if (v->resnet) {
        int bn_train = m->bn_mode == CLIP_BN_AUTO ? a->training : m->bn_mode == CLIP_BN_TRAIN;
        resnet_forward(a->v_proj, &w->rn, a->rn, images, B, bn_train);
        l2norm_forward(a->v_feat, a->v_norm, a->v_proj, B, E);
        if (features) memcpy(features, a->v_feat, (size_t)B * E * sizeof(float));
        a->B_image = B;
        return MODX_OK;
    }
    patch_embed_forward(a->v_patch, a->v_cols, images, w->conv1, B, v->image_size, v->patch_size, C);
    classtoken_forward(a->v_emb, a->v_patch, w->class_embedding, w->positional_embedding, B, NP, C);
    layernorm_forward(a->v_lnpre, a->v_lnpre_mean, a->v_lnpre_rstd, a->v_emb, w->ln_pre_w, w->ln_pre_b, R, C);
    TransformerDims d = vision_dims(cfg, B);
    const float *x = transformer_forward(&d, w->blocks, a->v_blocks, a->training ? v->layers : 1, a->v_lnpre);
    /* ln_post is per token, so pooling first then normalising equals OpenCLIP's order. */
    pool_rows_forward(a->v_pooled, x, NULL, B, N, C);
    layernorm_forward(a->v_lnpost, a->v_lnpost_mean, a->v_lnpost_rstd, a->v_pooled, w->ln_post_w, w->ln_post_b, B,
                      C);
    matmul_forward(a->v_proj, a->v_lnpost, w->proj, B, C, E);
    l2norm_forward(a->v_feat, a->v_norm, a->v_proj, B, E);
    if (features) memcpy(features, a->v_feat, (size_t)B * E * sizeof(float));
    a->B_image = B;
    return MODX_OK;
}

ModxStatus clip_encode_text(const ClipModel *m, ClipActs *a, const int32_t *tokens, int B, float *features) {
    MODX_TRY(check_batch(a, B, "encode text"));
    const ClipConfig *cfg = &m->cfg;
    const ClipTextConfig *t = &cfg->text;
    const ClipTextWeights *w = &m->w.text;
    int C = t->width, T = t->context_length, E = cfg->embed_dim;
    a->B_text = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            int32_t id = tokens[(size_t)b * T + i];
            if (id < 0 || id >= t->vocab_size)
                return modx_fail(MODX_ERR_INVALID, "encode text: row %d position %d: token id %d outside [0, %d)", b,
                                 i, (int)id, t->vocab_size);
        }
    memcpy(a->t_tokens, tokens, (size_t)B * T * sizeof(int32_t));
    pool_argmax_positions(a->t_eot, a->t_tokens, B, T);
    embedding_forward(a->t_emb, a->t_tokens, w->token_embedding, w->positional_embedding, B, T, C, t->vocab_size);
    TransformerDims d = text_dims(cfg, B);
    const float *x = transformer_forward(&d, w->blocks, a->t_blocks, a->training ? t->layers : 1, a->t_emb);
    pool_rows_forward(a->t_pooled, x, a->t_eot, B, T, C);
    layernorm_forward(a->t_lnf, a->t_lnf_mean, a->t_lnf_rstd, a->t_pooled, w->ln_final_w, w->ln_final_b, B, C);
    matmul_forward(a->t_proj, a->t_lnf, w->text_projection, B, C, E);
    l2norm_forward(a->t_feat, a->t_norm, a->t_proj, B, E);
    if (features) memcpy(features, a->t_feat, (size_t)B * E * sizeof(float));
    a->B_text = B;
    return MODX_OK;
}

ModxStatus clip_forward(const ClipModel *m, ClipActs *a, const float *images, const int32_t *tokens, int B,
                        float *image_features, float *text_features) {
    MODX_TRY(clip_encode_image(m, a, images, B, image_features));
    return clip_encode_text(m, a, tokens, B, text_features);
}

/* ---------------- backward ---------------- */

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

static void vision_backward(const ClipModel *m, ClipActs *a, const float *dfeat, const ClipVisionWeights *g) {
    const ClipConfig *cfg = &m->cfg;
    const ClipVisionConfig *v = &cfg->vision;
    const ClipVisionWeights *w = &m->w.visual;
    int B = a->B_image, C = v->width, N = v->tokens, NP = N - 1, E = cfg->embed_dim, R = B * N;
    zero(a->d_proj, (size_t)B * E);
    l2norm_backward(a->d_proj, dfeat, a->v_feat, a->v_norm, B, E);
    if (v->resnet) {
        resnet_backward(&g->rn, &w->rn, a->rn, a->d_proj);
        return;
    }
    zero(a->d_lnout, (size_t)B * C);
    matmul_backward(a->d_lnout, g->proj, a->d_proj, a->v_lnpost, w->proj, B, C, E);
    zero(a->d_pooled, (size_t)B * C);
    layernorm_backward(a->d_pooled, g->ln_post_w, g->ln_post_b, a->d_lnout, a->v_pooled, w->ln_post_w,
                       a->v_lnpost_mean, a->v_lnpost_rstd, B, C);
    zero(a->d_res, (size_t)R * C);
    pool_rows_backward(a->d_res, a->d_pooled, NULL, B, N, C);
    TransformerDims d = vision_dims(cfg, B);
    transformer_backward(&d, w->blocks, g->blocks, a->v_blocks, &a->s, a->v_lnpre, a->d_res);
    zero(a->d_emb, (size_t)R * C);
    layernorm_backward(a->d_emb, g->ln_pre_w, g->ln_pre_b, a->d_res, a->v_emb, w->ln_pre_w, a->v_lnpre_mean,
                       a->v_lnpre_rstd, R, C);
    zero(a->d_patch, (size_t)B * NP * C);
    classtoken_backward(a->d_patch, g->class_embedding, g->positional_embedding, a->d_emb, B, NP, C);
    patch_embed_backward(NULL, g->conv1, a->d_patch, a->v_cols, w->conv1, B, v->image_size, v->patch_size, C);
}

static void text_backward(const ClipModel *m, ClipActs *a, const float *dfeat, const ClipTextWeights *g) {
    const ClipConfig *cfg = &m->cfg;
    const ClipTextConfig *t = &cfg->text;
    const ClipTextWeights *w = &m->w.text;
    int B = a->B_text, C = t->width, T = t->context_length, E = cfg->embed_dim, R = B * T;
    zero(a->d_proj, (size_t)B * E);
    l2norm_backward(a->d_proj, dfeat, a->t_feat, a->t_norm, B, E);
    zero(a->d_lnout, (size_t)B * C);
    matmul_backward(a->d_lnout, g->text_projection, a->d_proj, a->t_lnf, w->text_projection, B, C, E);
    zero(a->d_pooled, (size_t)B * C);
    layernorm_backward(a->d_pooled, g->ln_final_w, g->ln_final_b, a->d_lnout, a->t_pooled, w->ln_final_w,
                       a->t_lnf_mean, a->t_lnf_rstd, B, C);
    zero(a->d_res, (size_t)R * C);
    pool_rows_backward(a->d_res, a->d_pooled, a->t_eot, B, T, C);
    TransformerDims d = text_dims(cfg, B);
    transformer_backward(&d, w->blocks, g->blocks, a->t_blocks, &a->s, a->t_emb, a->d_res);
    embedding_backward(g->token_embedding, g->positional_embedding, a->d_res, a->t_tokens, B, T, C, t->vocab_size);
}

void clip_backward(const ClipModel *m, ClipActs *a, const float *d_image_features, const float *d_text_features,
                   float *grads) {
    CHECK(a->training, "clip_backward needs a training activation arena");
    ClipWeights g;
    clip_weights_bind(&g, m, grads);
    if (d_image_features) {
        CHECK(a->B_image > 0, "clip_backward: no image forward to differentiate");
        vision_backward(m, a, d_image_features, &g.visual);
    }
    if (d_text_features) {
        CHECK(a->B_text > 0, "clip_backward: no text forward to differentiate");
        text_backward(m, a, d_text_features, &g.text);
    }
}

ModxStatus clip_model_check_finite(const ClipModel *m, const char *source) {
    for (int i = 0; i < m->table.count; i++) {
        const ParamInfo *p = &m->table.items[i];
        const float *x = m->params + p->offset;
        for (size_t k = 0; k < p->numel; k++)
            if (!isfinite(x[k]))
                return modx_fail(MODX_ERR_NUMERIC, "%s: tensor '%s' element %zu is %g: expected finite weights (the "
                                 "checkpoint is corrupt or its training diverged)", source, p->name, k, (double)x[k]);
    }
    return MODX_OK;
}
