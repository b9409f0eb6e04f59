#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/lanesum.h"
#include "core/size.h"

#define NORM_BLOCK 4096

/* A fixed range [lo, hi) of the flat buffer inside segment `seg`: the unit of
 * work of both passes (one parallel loop over all blocks, not one per tensor;
 * each block's result depends only on its range, never on the threads). */
struct AdamWBlock {
    size_t lo, hi;
    int seg;
};

AdamWConfig adamw_default_config(void) {
    return (AdamWConfig){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1, .grad_clip = 0.0};
}

void adamw_free(AdamW *opt) {
    if (!opt) return;
    free(opt->m);
    free(opt->v);
    free(opt->segs);
    free(opt->block_sums);
    free(opt->blocks);
    memset(opt, 0, sizeof *opt);
    opt->clamp_offset = -1;
}

static int cmp_seg(const void *a, const void *b) {
    const OptimSegment *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

ModxStatus adamw_init(AdamW *opt, const AdamWConfig *cfg, size_t n, const OptimSegment *segs, int nseg) {
    memset(opt, 0, sizeof *opt);
    opt->clamp_offset = -1;
    if (!(cfg->beta1 >= 0.0 && cfg->beta1 < 1.0) || !(cfg->beta2 >= 0.0 && cfg->beta2 < 1.0))
        return modx_fail(MODX_ERR_INVALID, "AdamW: betas must lie in [0, 1), got %g and %g", cfg->beta1, cfg->beta2);
    if (!(cfg->eps > 0.0) || !(cfg->weight_decay >= 0.0) || isnan(cfg->grad_clip))
        return modx_fail(MODX_ERR_INVALID, "AdamW: expected eps > 0 and weight_decay >= 0, got eps %g, wd %g, clip %g",
                         cfg->eps, cfg->weight_decay, cfg->grad_clip);
    if (nseg < 0 || (nseg > 0 && !segs))
        return modx_fail(MODX_ERR_INVALID, "AdamW: segment list of %d entries is invalid", nseg);
    ModxStatus st = MODX_OK;
    opt->cfg = *cfg;
    opt->n = n;
    opt->nseg = nseg;
    size_t nblocks = 0;
    opt->segs = modx_calloc(nseg > 0 ? (size_t)nseg : 1, sizeof *opt->segs, "AdamW segment list");
    if (!opt->segs) goto nomem;
    if (nseg > 0) memcpy(opt->segs, segs, (size_t)nseg * sizeof *segs);
    qsort(opt->segs, (size_t)nseg, sizeof *opt->segs, cmp_seg);
    for (int i = 0; i < nseg; i++) {
        const OptimSegment *s = &opt->segs[i];
        size_t end;
        const char *nm = s->name ? s->name : "(unnamed)";
        if (!size_add(s->offset, s->count, &end) || end > n) {
            st = modx_fail(MODX_ERR_INVALID, "AdamW: segment '%s' [%zu, +%zu) lies outside the %zu-float buffer", nm,
                           s->offset, s->count, n);
            goto fail;
        }
        if (i > 0 && opt->segs[i - 1].offset + opt->segs[i - 1].count > s->offset) {
            st = modx_fail(MODX_ERR_INVALID, "AdamW: segment '%s' at %zu overlaps segment '%s'", nm, s->offset,
                           opt->segs[i - 1].name ? opt->segs[i - 1].name : "(unnamed)");
            goto fail;
        }
        nblocks += (s->count + NORM_BLOCK - 1) / NORM_BLOCK;
    }
    opt->nblocks = nblocks;
    opt->m = modx_calloc(n ? n : 1, sizeof *opt->m, "AdamW first moments");
    opt->v = modx_calloc(n ? n : 1, sizeof *opt->v, "AdamW second moments");
    opt->block_sums = modx_calloc(nblocks ? nblocks : 1, sizeof *opt->block_sums, "AdamW norm blocks");
    opt->blocks = modx_calloc(nblocks ? nblocks : 1, sizeof *opt->blocks, "AdamW blocks");
    if (!opt->m || !opt->v || !opt->block_sums || !opt->blocks) goto nomem;
    for (int i = 0, b = 0; i < nseg; i++)
        for (size_t lo = 0; lo < opt->segs[i].count; lo += NORM_BLOCK, b++) {
            size_t hi = lo + NORM_BLOCK < opt->segs[i].count ? lo + NORM_BLOCK : opt->segs[i].count;
            opt->blocks[b] = (struct AdamWBlock){opt->segs[i].offset + lo, opt->segs[i].offset + hi, i};
        }
    return MODX_OK;
nomem:
    st = MODX_ERR_NOMEM;
fail:
    adamw_free(opt);
    return st;
}

ModxStatus adamw_set_clamp(AdamW *opt, size_t offset, float lo, float hi) {
    if (offset >= opt->n || !(lo <= hi))
        return modx_fail(MODX_ERR_INVALID, "AdamW clamp: offset %zu in a %zu-float buffer, range [%g, %g]", offset,
                         opt->n, lo, hi);
    opt->clamp_offset = (int64_t)offset;
    opt->clamp_lo = lo;
    opt->clamp_hi = hi;
    return MODX_OK;
}

double adamw_grad_norm(AdamW *opt, const float *grads) {
    /* Block b covers a fixed range, so the partial sums and their serial
     * total do not depend on the threads. */
    const long nb = (long)opt->nblocks;
    const struct AdamWBlock *blk = opt->blocks;
    double *out = opt->block_sums;
#pragma omp parallel for schedule(static) if (opt->n >= NORM_BLOCK)
    for (long b = 0; b < nb; b++) {
        out[b] = lanesum_sq(grads + blk[b].lo, blk[b].hi - blk[b].lo); /* core/lanesum.h's fixed order */
    }
    double total = 0.0;
    for (size_t b = 0; b < opt->nblocks; b++) total += opt->block_sums[b];
    return sqrt(total);
}

ModxStatus optim_check_finite(double loss, double grad_norm, int64_t step) {
    if (!isfinite(loss))
        return modx_fail(MODX_ERR_NUMERIC, "step %lld: loss is %g (expected a finite value); training stopped",
                         (long long)step, loss);
    if (!isfinite(grad_norm))
        return modx_fail(MODX_ERR_NUMERIC, "step %lld: gradient norm is %g (expected a finite value); training stopped",
                         (long long)step, grad_norm);
    return MODX_OK;
}

typedef struct {
    double clip, b1, b2, eps, step_size, bc2_sqrt, decay;
} AdamWUpdate;

/* One element in double, as the reference formulas (m, v rounded to float). */
static inline void adamw_element(const AdamWUpdate *u, double decay, double gk, float *p, float *m, float *v) {
    const double mk = u->b1 * *m + (1.0 - u->b1) * gk;
    const double vk = u->b2 * *v + (1.0 - u->b2) * gk * gk;
    *m = (float)mk;
    *v = (float)vk;
    const double pk = (double)*p * decay;
    *p = (float)(pk - u->step_size * mk / (sqrt(vk) / u->bc2_sqrt + u->eps));
}

/* The update of elements [lo, hi), each element on its own (vectorised loops
 * would give exactly the scalar results: IEEE sqrt and division; GCC
 * vectorises them only under -fno-math-errno). The clipped gradient is used in
 * double and stored back rounded, as before. */
static void adamw_update_range(const AdamWUpdate *u, int decays, float *restrict p, float *restrict g,
                               float *restrict m, float *restrict v, size_t lo, size_t hi) {
    const double decay = decays ? u->decay : 1.0, clip = u->clip;
    if (clip != 1.0) {
#pragma omp simd
        for (size_t k = lo; k < hi; k++) {
            const double gk = (double)g[k] * clip;
            g[k] = (float)gk;
            adamw_element(u, decay, gk, p + k, m + k, v + k);
        }
    } else {
#pragma omp simd
        for (size_t k = lo; k < hi; k++) adamw_element(u, decay, (double)g[k], p + k, m + k, v + k);
    }
}

ModxStatus adamw_step(AdamW *opt, float *params, float *grads, double lr, double *grad_norm) {
    const double norm = adamw_grad_norm(opt, grads);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm)) {
        for (int s = 0; s < opt->nseg; s++) {
            const OptimSegment *seg = &opt->segs[s];
            for (size_t k = 0; k < seg->count; k++) {
                const float g = grads[seg->offset + k];
                if (!isfinite(g))
                    return modx_fail(MODX_ERR_NUMERIC,
                                     "step %lld: gradient of '%s' is %g at element %zu (expected finite values); "
                                     "the update was not applied",
                                     (long long)opt->step, seg->name ? seg->name : "(unnamed)", (double)g, k);
            }
        }
        return modx_fail(MODX_ERR_NUMERIC, "step %lld: gradient norm is %g (expected a finite value)",
                         (long long)opt->step, norm);
    }
    if (!isfinite(lr) || lr < 0.0)
        return modx_fail(MODX_ERR_INVALID, "step %lld: learning rate %g (expected finite and >= 0)",
                         (long long)opt->step, lr);
    double clip = 1.0;
    if (opt->cfg.grad_clip > 0.0) {
        clip = opt->cfg.grad_clip / (norm + 1e-6);
        if (clip > 1.0) clip = 1.0;
    }
    const int64_t t = opt->step + 1;
    const double b1 = opt->cfg.beta1, b2 = opt->cfg.beta2, eps = opt->cfg.eps;
    const double bc1 = 1.0 - pow(b1, (double)t), bc2_sqrt = sqrt(1.0 - pow(b2, (double)t));
    const double step_size = lr / bc1;
    const AdamWUpdate u = {clip, b1, b2, eps, step_size, bc2_sqrt, 1.0 - lr * opt->cfg.weight_decay};
    const long nb = (long)opt->nblocks;
#pragma omp parallel for schedule(static) if (opt->n >= NORM_BLOCK)
    for (long b = 0; b < nb; b++) {
        const struct AdamWBlock *k = &opt->blocks[b];
        adamw_update_range(&u, opt->segs[k->seg].decay, params, grads, opt->m, opt->v, k->lo, k->hi);
    }
    opt->step = t;
    if (opt->clamp_offset >= 0) {
        float *c = &params[opt->clamp_offset];
        if (*c < opt->clamp_lo) *c = opt->clamp_lo;
        if (*c > opt->clamp_hi) *c = opt->clamp_hi;
    }
    return MODX_OK;
}
