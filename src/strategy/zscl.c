/* zscl (ZSCL): fine-tune each phase from the previous one, and at every
 * step also distil the current model towards the starting model's (phase
 * 0's) image–text logits on a batch of a reference set that is no phase's
 * training data (one of the experiment's test sets, `reference`):
 *   L = L_con(batch) + λ·L_ref,  L_ref = LwF's soft cross-entropy (loss/lwf.h,
 *       τ = 1) between the starting model's logits (its own scale) and the
 *       current model's on the reference batch, both directions;
 * plus weight averaging over iterations: every `interval` steps the weights
 * join a running mean, and at the phase's end the mean (the final weights
 * counted) replaces the phase's model (interval 0: no averaging).
 *
 * The reference batch of step s is batch s of a loader over the reference
 * set (min(B, its size) pairs, seeded from the phase's seed), so a resumed
 * phase draws the same ones. The running mean is saved at each update beside
 * the phase's checkpoint (zscl_average.safetensors: the mean's weights and
 * metadata modx.zscl.count, modx.zscl.last_step); a step at or before
 * last_step is not added again, so a resumed phase (whose redone steps are
 * bit-identical) ends with the same mean. The reference batch's forward and
 * backward passes, and the starting model's forward on it, are counted in
 * the phase's compute record. `reference` has no default: the experiment
 * names it, and refuses a set whose R@1 is a retention figure (run/experiment.c). */
#include "strategy/parts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "io/checkpoint.h"
#include "io/file.h"
#include "loss/lwf.h"

static const char *const *const CHOICES[] = {NULL, STRATEGY_TEST_SET, NULL};

static const StrategyHyper HYPERS[] = {
    {"lambda", "zscl_lambda", 1, 0, 1e6, 0, "weight λ of the distillation to the starting model on the reference set"},
    {"reference", "zscl_reference", STRATEGY_REQUIRED, 0, 1e6, 1,
     "the reference set: the name of a test set of role 'train_sample' or 'heldout' (required; no default)"},
    {"interval", "zscl_interval", 10, 0, 1e9, 1, "steps between weight-averaging updates (0: no averaging)"},
};

typedef struct {
    const StrategyInst *si;
    ClipModel *model, *start;
    ClipStep *step;
    DataLoader *ld;
    Batch b;
    int B;
    float *g, *avg;
    int64_t interval, count, last, now;
    char path[4200];
} Zscl;

ModxStatus strategy_zscl_term(const StrategyInst *si, const StepLossIO *io, StepLoss *out) {
    float lambda = (float)strategy_hp(si, "lambda");
    out->loss_kl = lwf_forward_backward(io->dV, io->dT, io->dscale, io->scratch, io->V, io->T, io->Vo, io->To,
                                        io->scale, io->scale_old, 1.0f, lambda, io->B, io->E);
    out->loss = lambda * out->loss_kl;
    out->loss_con = 0;
    return MODX_OK;
}

static ModxStatus term(const void *ctx, const StepLossIO *io, StepLoss *out) {
    return strategy_zscl_term(ctx, io, out);
}

static ModxStatus save_average(const Zscl *z) {
    char c[32], l[32];
    snprintf(c, sizeof c, "%lld", (long long)z->count);
    snprintf(l, sizeof l, "%lld", (long long)z->last);
    CheckpointMeta meta[] = {{"modx.zscl.count", c}, {"modx.zscl.last_step", l}};
    return checkpoint_save(z->path, z->model, z->avg, meta, 2);
}

static ModxStatus load_average(Zscl *z) {
    if (!io_file_exists(z->path)) return MODX_OK;
    SafeTensors *st;
    MODX_TRY(safetensors_open(&st, z->path));
    const char *c = safetensors_metadata(st, "modx.zscl.count"), *l = safetensors_metadata(st, "modx.zscl.last_step");
    ModxStatus s = c && l ? checkpoint_read_params(st, z->model, z->avg)
                          : modx_fail(MODX_ERR_FORMAT, "%s: no modx.zscl.count / last_step metadata", z->path);
    if (s == MODX_OK) z->count = atoll(c), z->last = atoll(l);
    safetensors_close(st);
    return s;
}

static void average_add(Zscl *z, const float *params, size_t n) {
    if (z->count == 0) memcpy(z->avg, params, n * sizeof *params);
    else
        for (size_t i = 0; i < n; i++) z->avg[i] += (params[i] - z->avg[i]) / (float)(z->count + 1);
    z->count++;
}

/* The step's extra term (StepPenalty): averaging, then λ·L_ref's gradient added into grads. */
static double penalty(void *ctx, float *grads, const float *params, size_t n) {
    Zscl *z = ctx;
    if (z->interval > 0 && z->now > 0 && z->now % z->interval == 0 && z->now > z->last) {
        average_add(z, params, n);
        z->last = z->now;
        if (save_average(z) != MODX_OK) return NAN; /* the trainer stops on a non-finite loss */
    }
    loader_batch_at(z->ld, (uint64_t)z->now, &z->b);
    StepLossTerm t = {term, z->si, 1, "zscl"};
    StepLoss out;
    if (clip_step_run(z->step, z->b.pixels, z->b.tokens, z->B, &t, z->g, &out) != MODX_OK) return NAN;
    for (size_t i = 0; i < n; i++) grads[i] += z->g[i];
    return out.loss;
}

static ModxStatus open_reference(Zscl *z, const StrategyPhase *sp) {
    int r = (int)strategy_hp(sp->si, "reference");
    if (r < 0 || r >= sp->n_tests)
        return modx_fail(MODX_ERR_INVALID, "zscl (%s): 'reference' %s (the name of a test set is required)",
                         sp->si->name, r < 0 ? "not given" : "names no test set");
    const LoaderPart *ref = &sp->tests[r];
    if (ref->n_images < 2)
        return modx_fail(MODX_ERR_INVALID, "zscl (%s): the reference test set has %zu images, at least 2 needed",
                         sp->si->name, ref->n_images);
    z->B = ref->n_images < (size_t)sp->batch ? (int)ref->n_images : sp->batch;
    LoaderConfig lc = {.cache = ref->cache, .images = ref->images, .n_images = ref->n_images, .batch = z->B,
                       .seed = rng_mix64(sp->seed ^ 0x7a73636cull), .drop_last = 1, .shuffle = 1};
    MODX_TRY(loader_create(&z->ld, &lc));
    return batch_alloc(&z->b, z->B, ref->cache->image_size, ref->cache->context);
}

static void zscl_end(StrategyPhase *sp) {
    Zscl *z = sp->state;
    if (!z) return;
    clip_step_free(z->step);
    clip_model_free(z->start);
    if (z->ld) loader_free(z->ld);
    batch_free(&z->b);
    free(z->g), free(z->avg), free(z);
    sp->state = NULL;
}

static ModxStatus before(StrategyPhase *sp) {
    Zscl *z = modx_calloc(1, sizeof *z, "zscl state");
    if (!z) return MODX_ERR_NOMEM;
    sp->state = z;
    z->si = sp->si, z->model = sp->model, z->interval = (int64_t)strategy_hp(sp->si, "interval");
    snprintf(z->path, sizeof z->path, "%s/zscl_average.safetensors", sp->dir);
    size_t n = sp->model->table.total;
    MODX_TRY(open_reference(z, sp));
    MODX_TRY(checkpoint_load(&z->start, sp->start_path, NULL));
    MODX_TRY(clip_step_new(&z->step, sp->model, z->start, z->B));
    if (!(z->g = modx_calloc(n, sizeof(float), "zscl gradients"))) return MODX_ERR_NOMEM;
    if (z->interval > 0) {
        if (!(z->avg = modx_calloc(n, sizeof(float), "zscl average"))) return MODX_ERR_NOMEM;
        MODX_TRY(load_average(z));
    }
    sp->penalty = (StepPenalty){penalty, z, &z->now};
    int64_t ref_pairs = (int64_t)sp->epochs * (int64_t)(sp->n_images / (size_t)sp->batch) * z->B;
    sp->extra_passes = ref_pairs;        /* the current model: forward + backward on each reference batch */
    sp->extra_frozen_passes = ref_pairs; /* the starting model: forward only */
    return MODX_OK;
}

static ModxStatus after(StrategyPhase *sp) {
    Zscl *z = sp->state;
    if (z->interval <= 0) return MODX_OK;
    size_t n = sp->model->table.total;
    average_add(z, sp->model->params, n); /* the final weights (in memory only: a rerun adds them again) */
    memcpy(sp->model->params, z->avg, n * sizeof(float));
    char ph[16], cnt[32];
    snprintf(ph, sizeof ph, "%d", sp->phase);
    snprintf(cnt, sizeof cnt, "%lld", (long long)z->count);
    CheckpointMeta meta[] = {{"modx.strategy", sp->si->name}, {"modx.phase", ph}, {"modx.zscl.averaged", cnt}};
    return checkpoint_save(sp->out_path, sp->model, sp->model->params, meta, 3);
}

const StrategyDesc strategy_zscl = {
    .name = "zscl",
    .summary = "distil to the starting model's logits on a reference set, with weight averaging (ZSCL)",
    .flags = STRATEGY_PHASE_STATE,
    .hypers = HYPERS,
    .n_hypers = 3,
    .choices = CHOICES,
    .before_phase = before,
    .after_phase = after,
    .end_phase = zscl_end,
};
