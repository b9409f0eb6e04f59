#include "clip/resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist.h"
#include "core/size.h"
#include "nn/avgpool.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/parallel.h"
#include "nn/relu.h"

/* ---------------- binding ---------------- */

static float *bind_param(const ParamTable *t, float *base, const char *prefix, const char *name) {
    char full[PARAM_NAME_MAX];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const ParamInfo *p = param_table_find(t, full);
    CHECK(p, "parameter %s missing from the table", full);
    return base + p->offset;
}

static float *bind_state(const ParamTable *t, float *state, const char *prefix, const char *bn, const char *what) {
    if (!state) return NULL;
    char full[PARAM_NAME_MAX];
    snprintf(full, sizeof full, "%s%s.%s", prefix, bn, what);
    const ParamInfo *p = param_table_find_state(t, full);
    CHECK(p, "state %s missing from the table", full);
    return state + p->offset;
}

static void bind_convbn(RnConvBn *c, const ParamTable *t, float *params, float *state, const char *prefix,
                        const char *conv, const char *bn) {
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", conv);
    c->conv = bind_param(t, params, prefix, name);
    snprintf(name, sizeof name, "%s.weight", bn);
    c->bn_w = bind_param(t, params, prefix, name);
    snprintf(name, sizeof name, "%s.bias", bn);
    c->bn_b = bind_param(t, params, prefix, name);
    c->rm = bind_state(t, state, prefix, bn, "running_mean");
    c->rv = bind_state(t, state, prefix, bn, "running_var");
    c->nbt = bind_state(t, state, prefix, bn, "num_batches_tracked");
}

/* Block geometry (inplanes, planes, stride, input size, downsample) of cfg. */
static void fill_geometry(ResnetWeights *w, const ClipVisionConfig *v) {
    memset(w, 0, sizeof *w);
    int inplanes = v->width, S = v->image_size / 4;
    for (int s = 0; s < CLIP_RN_STAGES; s++)
        for (int i = 0; i < v->stage_layers[s]; i++) {
            RnBlock *b = &w->blocks[w->nblocks++];
            b->inplanes = inplanes, b->planes = v->width << s, b->stride = i == 0 && s > 0 ? 2 : 1, b->S = S;
            b->has_down = b->stride > 1 || inplanes != 4 * b->planes;
            inplanes = 4 * b->planes, S /= b->stride;
        }
}

void resnet_bind(ResnetWeights *w, const ClipConfig *cfg, const ParamTable *t, float *params, float *state) {
    const ClipVisionConfig *v = &cfg->vision;
    fill_geometry(w, v);
    bind_convbn(&w->stem[0], t, params, state, "visual.", "conv1", "bn1");
    bind_convbn(&w->stem[1], t, params, state, "visual.", "conv2", "bn2");
    bind_convbn(&w->stem[2], t, params, state, "visual.", "conv3", "bn3");
    int k = 0;
    for (int s = 0; s < CLIP_RN_STAGES; s++)
        for (int i = 0; i < v->stage_layers[s]; i++) {
            RnBlock *b = &w->blocks[k++];
            char pre[PARAM_NAME_MAX];
            snprintf(pre, sizeof pre, "visual.layer%d.%d.", s + 1, i);
            bind_convbn(&b->c1, t, params, state, pre, "conv1", "bn1");
            bind_convbn(&b->c2, t, params, state, pre, "conv2", "bn2");
            bind_convbn(&b->c3, t, params, state, pre, "conv3", "bn3");
            if (b->has_down) bind_convbn(&b->down, t, params, state, pre, "downsample.0", "downsample.1");
        }
    AttnPoolWeights *p = &w->pool;
    p->pos = bind_param(t, params, "visual.attnpool.", "positional_embedding");
    p->q_w = bind_param(t, params, "visual.attnpool.", "q_proj.weight");
    p->q_b = bind_param(t, params, "visual.attnpool.", "q_proj.bias");
    p->k_w = bind_param(t, params, "visual.attnpool.", "k_proj.weight");
    p->k_b = bind_param(t, params, "visual.attnpool.", "k_proj.bias");
    p->v_w = bind_param(t, params, "visual.attnpool.", "v_proj.weight");
    p->v_b = bind_param(t, params, "visual.attnpool.", "v_proj.bias");
    p->c_w = bind_param(t, params, "visual.attnpool.", "c_proj.weight");
    p->c_b = bind_param(t, params, "visual.attnpool.", "c_proj.bias");
}

/* ---------------- activations ---------------- */

typedef struct {
    float *conv, *act; /* (B, C, H, W): convolution output; BN (+ ReLU) output */
    float *mean, *rstd; /* (C) */
} RnConvBnActs;

typedef struct {
    RnConvBnActs c1, c2, c3, down;
    float *pool2; /* (B, planes, So, So) after the stride pool (== c2.act when stride 1) */
    float *dpool; /* (B, inplanes, So, So) pooled input of the downsample branch (== x when stride 1) */
    float *out;   /* (B, 4·planes, So, So) */
} RnBlockActs;

struct ResnetActs {
    ClipConfig cfg;
    ResnetWeights geo; /* geometry only (pointers unbound) */
    int max_B, training, B, bn_train; /* B, bn_train: of the last forward */
    float *arena;
    size_t floats;
    RnConvBnActs stem[3];
    float *images;    /* (B, 3, S, S) copy of the input (training only: conv1's weight gradient) */
    float *stem_pool; /* (B, w, S/4, S/4) */
    RnBlockActs blocks[CLIP_MAX_LAYERS];
    AttnPoolActs pool;
    float *scratch; /* conv scratch (one group of images, nn/conv2d.h) */
    /* backward (training only) */
    float *d[5];      /* each the largest activation: two ping-pong gradients and three temporaries */
    AttnPoolActs dpool;
    BatchnormSync sync; /* training-mode statistics over every slice of the batch (nslices > 1) */
};

typedef struct {
    float *base; /* NULL in the sizing pass */
    size_t used, peak;
    int overflow;
} Carver;

static float *carve(Carver *c, size_t n1, size_t n2) {
    size_t n;
    if (!size_mul(n1, n2, &n) || !size_add(n, 15, &n)) {
        c->overflow = 1;
        return NULL;
    }
    n &= ~(size_t)15;
    float *p = c->base ? c->base + c->used : NULL;
    if (!size_add(c->used, n, &c->used)) c->overflow = 1;
    if (c->used > c->peak) c->peak = c->used;
    return p;
}

static void carve_convbn(Carver *c, RnConvBnActs *x, size_t B, size_t C, size_t HW) {
    x->conv = carve(c, B * C, HW);
    x->act = carve(c, B * C, HW);
    x->mean = carve(c, C, 1);
    x->rstd = carve(c, C, 1);
}

/* ---------------- geometry ---------------- */

static Conv2dDims stem_dims(const ClipVisionConfig *v, int i, int B) {
    int w = v->width, S = v->image_size;
    if (i == 0) return (Conv2dDims){B, 3, S, S, w / 2, 3, 2, 1};
    return (Conv2dDims){B, w / 2, S / 2, S / 2, i == 1 ? w / 2 : w, 3, 1, 1};
}

/* which: 0 conv1, 1 conv2, 2 conv3, 3 downsample conv */
static Conv2dDims block_dims(const RnBlock *b, int which, int B) {
    int So = b->S / b->stride;
    switch (which) {
    case 0: return (Conv2dDims){B, b->inplanes, b->S, b->S, b->planes, 1, 1, 0};
    case 1: return (Conv2dDims){B, b->planes, b->S, b->S, b->planes, 3, 1, 1};
    case 2: return (Conv2dDims){B, b->planes, So, So, 4 * b->planes, 1, 1, 0};
    default: return (Conv2dDims){B, b->inplanes, So, So, 4 * b->planes, 1, 1, 0};
    }
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Per image: the largest activation (floats), the largest block output; the
 * conv scratch for a batch of max_B (convolutions group images). */
static void plan_sizes(const ResnetActs *a, size_t *act, size_t *out, size_t *scratch) {
    const ClipVisionConfig *v = &a->cfg.vision;
    size_t S2 = (size_t)v->image_size / 2;
    *act = (size_t)v->width * S2 * S2, *out = 0, *scratch = 0;
    for (int i = 0; i < 3; i++) {
        Conv2dDims d = stem_dims(v, i, a->max_B);
        *scratch = max_sz(*scratch, conv2d_scratch_floats(&d, a->training));
    }
    for (int k = 0; k < a->geo.nblocks; k++) {
        const RnBlock *b = &a->geo.blocks[k];
        size_t So = (size_t)(b->S / b->stride);
        *act = max_sz(*act, max_sz((size_t)b->planes * b->S * b->S, 4 * (size_t)b->planes * So * So));
        *act = max_sz(*act, (size_t)b->inplanes * b->S * b->S);
        *out = max_sz(*out, 4 * (size_t)b->planes * So * So);
        for (int j = 0; j < 4; j++) {
            Conv2dDims d = block_dims(b, j, a->max_B);
            *scratch = max_sz(*scratch, conv2d_scratch_floats(&d, a->training));
        }
    }
}

static void carve_block(Carver *c, RnBlockActs *x, const RnBlock *b, size_t B) {
    size_t S2 = (size_t)b->S * b->S, So = (size_t)(b->S / b->stride), So2 = So * So, P = (size_t)b->planes;
    carve_convbn(c, &x->c1, B, P, S2);
    carve_convbn(c, &x->c2, B, P, S2);
    x->pool2 = b->stride > 1 ? carve(c, B * P, So2) : x->c2.act;
    carve_convbn(c, &x->c3, B, 4 * P, So2);
    x->dpool = NULL;
    if (b->has_down) {
        if (b->stride > 1) x->dpool = carve(c, B * (size_t)b->inplanes, So2);
        carve_convbn(c, &x->down, B, 4 * P, So2);
    }
}

static void carve_pool(Carver *c, AttnPoolActs *p, const ClipConfig *cfg, size_t B) {
    const ClipVisionConfig *v = &cfg->vision;
    size_t N = (size_t)v->tokens, C = 32 * (size_t)v->width;
    p->tok = carve(c, B * N, C);
    p->tok0 = carve(c, B, C);
    p->q = carve(c, B, C);
    p->k = carve(c, B * N, C);
    p->v = carve(c, B * N, C);
    p->att = carve(c, B * (size_t)v->heads, N);
    p->o = carve(c, B, C);
}

static void carve_all(Carver *c, ResnetActs *a) {
    const ClipVisionConfig *v = &a->cfg.vision;
    size_t B = (size_t)a->max_B, w = (size_t)v->width, S2 = (size_t)v->image_size / 2, S4 = S2 / 2;
    size_t act, out, scratch;
    plan_sizes(a, &act, &out, &scratch);
    a->stem_pool = carve(c, B * w, S4 * S4);
    a->images = a->training ? carve(c, B * 3, 4 * S2 * S2) : NULL;
    float *ping[2] = {NULL, NULL};
    if (!a->training) ping[0] = carve(c, B, out), ping[1] = carve(c, B, out);
    size_t region = c->used;
    carve_convbn(c, &a->stem[0], B, w / 2, S2 * S2);
    carve_convbn(c, &a->stem[1], B, w / 2, S2 * S2);
    carve_convbn(c, &a->stem[2], B, w, S2 * S2);
    for (int k = 0; k < a->geo.nblocks; k++) {
        const RnBlock *b = &a->geo.blocks[k];
        if (!a->training) c->used = region; /* inference: blocks share one region */
        carve_block(c, &a->blocks[k], b, B);
        size_t So = (size_t)(b->S / b->stride);
        a->blocks[k].out = a->training ? carve(c, B * 4 * (size_t)b->planes, So * So) : ping[k % 2];
    }
    c->used = c->peak;
    carve_pool(c, &a->pool, &a->cfg, B);
    a->scratch = carve(c, scratch ? scratch : 1, 1);
    if (!a->training) return;
    for (int i = 0; i < 5; i++) a->d[i] = carve(c, B, act);
    carve_pool(c, &a->dpool, &a->cfg, B);
}

ModxStatus resnet_acts_floats_for(const ClipConfig *cfg, int max_B, int training, uint64_t *floats) {
    ResnetActs a;
    memset(&a, 0, sizeof a);
    a.cfg = *cfg, a.max_B = max_B, a.training = training ? 1 : 0;
    fill_geometry(&a.geo, &cfg->vision);
    Carver c = {NULL, 0, 0, 0};
    carve_all(&c, &a); /* counts without a base */
    if (c.overflow) return modx_fail(MODX_ERR_INVALID, "ResNet activation arena: size overflows for batch %d", max_B);
    *floats = c.used;
    return MODX_OK;
}

/* The ranks of a data-parallel job are the slices of every training batch. */
static ModxStatus gather_ranks(void *ctx, double *buf, size_t count) {
    (void)ctx;
    return dist_allgather_f64(buf, count);
}

ModxStatus resnet_acts_set_bn_sync(ResnetActs *a, BatchnormGatherFn gather, void *ctx, int slice, int nslices) {
    free(a->sync.buf);
    memset(&a->sync, 0, sizeof a->sync);
    if (nslices <= 1) return MODX_OK;
    CHECK(gather && slice >= 0 && slice < nslices, "BatchNorm sync: slice %d of %d", slice, nslices);
    size_t n = (size_t)nslices * batchnorm_sync_slot(32 * a->cfg.vision.width); /* the widest BN: stage 4's */
    double *buf = modx_calloc(n, sizeof(double), "BatchNorm statistics exchange");
    if (!buf) return MODX_ERR_NOMEM;
    a->sync = (BatchnormSync){gather, ctx, slice, nslices, buf};
    return MODX_OK;
}

ModxStatus resnet_acts_new(ResnetActs **out, const ClipConfig *cfg, int max_B, int training) {
    *out = NULL;
    ResnetActs *a = modx_calloc(1, sizeof *a, "ResNet activations");
    if (!a) return MODX_ERR_NOMEM;
    a->cfg = *cfg;
    a->max_B = max_B;
    a->training = training ? 1 : 0;
    ModxStatus st = MODX_OK;
    fill_geometry(&a->geo, &cfg->vision);
    Carver c = {NULL, 0, 0, 0};
    carve_all(&c, a);
    if (c.overflow) {
        st = modx_fail(MODX_ERR_INVALID, "ResNet activation arena: size overflows for batch %d", max_B);
        goto fail;
    }
    a->floats = c.used;
    a->arena = modx_calloc(c.used, sizeof(float), "ResNet activation arena");
    if (!a->arena) {
        modx_error_prefix("batch %d needs %.1f MiB: ", max_B, (double)c.used * 4.0 / 1048576.0);
        st = MODX_ERR_NOMEM;
        goto fail;
    }
    c = (Carver){a->arena, 0, 0, 0};
    carve_all(&c, a);
    CHECK(c.used == a->floats, "ResNet arena layout changed between passes");
    if (dist_size() > 1 && (st = resnet_acts_set_bn_sync(a, gather_ranks, NULL, dist_rank(), dist_size())) != MODX_OK)
        goto fail;
    *out = a;
    return MODX_OK;
fail:
    resnet_acts_free(a);
    return st;
}

void resnet_acts_free(ResnetActs *a) {
    if (!a) return;
    free(a->sync.buf);
    free(a->arena);
    free(a);
}

size_t resnet_acts_floats(const ResnetActs *a) { return a->floats; }

/* ---------------- forward ---------------- */

/* An exchange of statistics between ranks fails only when MPI does (whose
 * errors on the world communicator end the job anyway): a bug, not bad input. */
static void sync_ok(ModxStatus st, const char *what) {
    CHECK(st == MODX_OK, "BatchNorm %s across the batch's slices: %s", what, modx_last_error());
}

static void convbn_forward(RnConvBnActs *x, const RnConvBn *w, const float *inp, const Conv2dDims *d,
                           float *scratch, int bn_train, int relu, const BatchnormSync *sync) {
    int Ho = conv2d_out_h(d), Wo = conv2d_out_w(d);
    conv2d_forward(x->conv, scratch, inp, w->conv, d);
    sync_ok(batchnorm_forward_sync(x->act, x->mean, x->rstd, w->rm, w->rv, x->conv, w->bn_w, w->bn_b, d->B, d->Cout,
                                   Ho * Wo, bn_train, sync), "statistics");
    if (bn_train && w->nbt) w->nbt[0] += 1.0f;
    if (relu) relu_forward(x->act, x->act, (size_t)d->B * d->Cout * Ho * Wo);
}

static void block_forward(RnBlockActs *x, const RnBlock *b, const float *inp, int B, float *scratch, int bn_train,
                          const BatchnormSync *sync) {
    int So = b->S / b->stride;
    size_t nout = (size_t)B * 4 * b->planes * So * So;
    Conv2dDims d = block_dims(b, 0, B);
    convbn_forward(&x->c1, &b->c1, inp, &d, scratch, bn_train, 1, sync);
    d = block_dims(b, 1, B);
    convbn_forward(&x->c2, &b->c2, x->c1.act, &d, scratch, bn_train, 1, sync);
    if (b->stride > 1) avgpool_forward(x->pool2, x->c2.act, B * b->planes, b->S, b->S, b->stride);
    d = block_dims(b, 2, B);
    convbn_forward(&x->c3, &b->c3, x->pool2, &d, scratch, bn_train, 0, sync);
    const float *identity = inp;
    if (b->has_down) {
        const float *dx = inp;
        if (b->stride > 1) {
            avgpool_forward(x->dpool, inp, B * b->inplanes, b->S, b->S, b->stride);
            dx = x->dpool;
        }
        d = block_dims(b, 3, B);
        convbn_forward(&x->down, &b->down, dx, &d, scratch, bn_train, 0, sync);
        identity = x->down.act;
    }
    long n = (long)nout;
#pragma omp parallel for schedule(static) NN_PAR_IF(n)
    for (long i = 0; i < n; i++) {
        float s = x->c3.act[i] + identity[i];
        x->out[i] = s > 0.0f ? s : 0.0f;
    }
}

void resnet_forward(float *out, const ResnetWeights *w, ResnetActs *a, const float *images, int B, int bn_train) {
    const ClipVisionConfig *v = &a->cfg.vision;
    CHECK(B >= 1 && B <= a->max_B, "ResNet forward: batch %d outside [1, %d]", B, a->max_B);
    CHECK(w->nblocks == a->geo.nblocks, "ResNet weights and activations disagree");
    a->B = 0;
    const BatchnormSync *sync = a->sync.nslices > 1 ? &a->sync : NULL;
    const float *x = images;
    if (a->training) {
        memcpy(a->images, images, (size_t)B * 3 * v->image_size * v->image_size * sizeof(float));
        x = a->images;
    }
    for (int i = 0; i < 3; i++) {
        Conv2dDims d = stem_dims(v, i, B);
        convbn_forward(&a->stem[i], &w->stem[i], x, &d, a->scratch, bn_train, 1, sync);
        x = a->stem[i].act;
    }
    avgpool_forward(a->stem_pool, x, B * v->width, v->image_size / 2, v->image_size / 2, 2);
    x = a->stem_pool;
    for (int k = 0; k < w->nblocks; k++) {
        block_forward(&a->blocks[k], &w->blocks[k], x, B, a->scratch, bn_train, sync);
        x = a->blocks[k].out;
    }
    AttnPoolDims pd = {B, 32 * v->width, v->grid * v->grid, v->heads, a->cfg.embed_dim};
    attnpool_forward(out, &a->pool, x, &w->pool, &pd);
    a->B = B;
    a->bn_train = bn_train;
}

/* ---------------- backward ---------------- */

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

/* dact (gradient w.r.t. the BN/ReLU output) is masked in place when relu; tmp
 * receives the gradient w.r.t. the conv output; dinp (may be NULL) +=. */
static void convbn_backward(float *dinp, const RnConvBn *g, float *dact, float *tmp, const RnConvBnActs *x,
                            const RnConvBn *w, const float *inp, const Conv2dDims *d, float *scratch, int bn_train,
                            int relu, const BatchnormSync *sync) {
    int HW = conv2d_out_h(d) * conv2d_out_w(d);
    size_t n = (size_t)d->B * d->Cout * HW;
    if (relu) relu_backward(dact, dact, x->act, n);
    zero(tmp, n);
    sync_ok(batchnorm_backward_sync(tmp, g->bn_w, g->bn_b, dact, x->conv, x->mean, x->rstd, w->bn_w, d->B, d->Cout,
                                    HW, bn_train, sync), "gradient sums");
    conv2d_backward(dinp, g->conv, scratch, tmp, inp, w->conv, d);
}

/* dy: gradient w.r.t. the block output (masked in place); dx (zeroed here) receives
 * the gradient w.r.t. the block input; t: three temporaries. */
static void block_backward(float *dx, float *dy, float *const t[3], const RnBlock *g, const RnBlock *b,
                           const RnBlockActs *x, const float *inp, int B, float *scratch, int bn_train,
                           const BatchnormSync *sync) {
    int So = b->S / b->stride;
    size_t nin = (size_t)B * b->inplanes * b->S * b->S, nout = (size_t)B * 4 * b->planes * So * So;
    size_t n2 = (size_t)B * b->planes * b->S * b->S;
    relu_backward(dy, dy, x->out, nout);
    zero(dx, nin);
    zero(t[1], (size_t)B * b->planes * So * So);
    Conv2dDims d = block_dims(b, 2, B);
    convbn_backward(t[1], &g->c3, dy, t[0], &x->c3, &b->c3, x->pool2, &d, scratch, bn_train, 0, sync);
    float *dact2 = t[1], *dact1 = t[2];
    if (b->stride > 1) {
        dact2 = t[2], dact1 = t[1];
        zero(dact2, n2);
        avgpool_backward(dact2, t[1], B * b->planes, b->S, b->S, b->stride);
    }
    zero(dact1, n2);
    d = block_dims(b, 1, B);
    convbn_backward(dact1, &g->c2, dact2, t[0], &x->c2, &b->c2, x->c1.act, &d, scratch, bn_train, 1, sync);
    d = block_dims(b, 0, B);
    convbn_backward(dx, &g->c1, dact1, t[0], &x->c1, &b->c1, inp, &d, scratch, bn_train, 1, sync);
    if (!b->has_down) {
        for (size_t i = 0; i < nin; i++) dx[i] += dy[i];
        return;
    }
    d = block_dims(b, 3, B);
    if (b->stride == 1) {
        convbn_backward(dx, &g->down, dy, t[0], &x->down, &b->down, inp, &d, scratch, bn_train, 0, sync);
        return;
    }
    size_t np = (size_t)B * b->inplanes * So * So;
    zero(t[1], np);
    convbn_backward(t[1], &g->down, dy, t[0], &x->down, &b->down, x->dpool, &d, scratch, bn_train, 0, sync);
    avgpool_backward(dx, t[1], B * b->inplanes, b->S, b->S, b->stride);
}

void resnet_backward(const ResnetWeights *g, const ResnetWeights *w, ResnetActs *a, const float *dout) {
    CHECK(a->training && a->B > 0, "ResNet backward needs a training forward");
    const ClipVisionConfig *v = &a->cfg.vision;
    int B = a->B, bt = a->bn_train;
    const BatchnormSync *sync = a->sync.nslices > 1 ? &a->sync : NULL;
    AttnPoolDims pd = {B, 32 * v->width, v->grid * v->grid, v->heads, a->cfg.embed_dim};
    float *dy = a->d[0], *dx = a->d[1], *const t[3] = {a->d[2], a->d[3], a->d[4]};
    zero(dy, (size_t)B * pd.C * pd.HW);
    attnpool_backward(dy, &g->pool, &a->dpool, dout, &a->pool, &w->pool, &pd);
    for (int k = w->nblocks - 1; k >= 0; k--) {
        const float *inp = k ? a->blocks[k - 1].out : a->stem_pool;
        block_backward(dx, dy, t, &g->blocks[k], &w->blocks[k], &a->blocks[k], inp, B, a->scratch, bt, sync);
        float *swap = dy;
        dy = dx, dx = swap;
    }
    int w2 = v->width / 2, S2 = v->image_size / 2;
    size_t n3 = (size_t)B * v->width * S2 * S2, n2 = (size_t)B * w2 * S2 * S2;
    zero(dx, n3);
    avgpool_backward(dx, dy, B * v->width, S2, S2, 2);
    const float *inp[3] = {a->images, a->stem[0].act, a->stem[1].act};
    for (int i = 2; i >= 0; i--) {
        Conv2dDims d = stem_dims(v, i, B);
        if (i) zero(dy, n2);
        convbn_backward(i ? dy : NULL, &g->stem[i], dx, t[0], &a->stem[i], &w->stem[i], inp[i], &d,
                        a->scratch, bt, 1, sync);
        float *swap = dy;
        dy = dx, dx = swap;
    }
}

static double conv_flops(const Conv2dDims *d) {
    return 2.0 * d->Cout * d->Cin * d->K * d->K * (double)conv2d_out_h(d) * conv2d_out_w(d);
}

double resnet_forward_flops(const ClipConfig *cfg) {
    const ClipVisionConfig *v = &cfg->vision;
    ResnetWeights geo;
    fill_geometry(&geo, v);
    double f = 0;
    for (int i = 0; i < 3; i++) {
        Conv2dDims d = stem_dims(v, i, 1);
        f += conv_flops(&d);
    }
    for (int k = 0; k < geo.nblocks; k++)
        for (int j = 0; j < (geo.blocks[k].has_down ? 4 : 3); j++) {
            Conv2dDims d = block_dims(&geo.blocks[k], j, 1);
            f += conv_flops(&d);
        }
    double C = 32.0 * v->width, N = v->tokens;
    f += 2 * C * C * (1 + 2 * N) + 2 * 2 * N * C + 2 * C * cfg->embed_dim; /* q, k, v; attention; c_proj */
    return f;
}
