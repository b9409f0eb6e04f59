#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/size.h"

#define NORM_BLOCK 4096

AdamWConfig adamw_default_config(void) {
    return (AdamWConfig){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1, .grad_clip = 0.0};
}

void adamw_free(AdamW *opt) {
    if (!opt) return;
    free(opt->m);
    free(opt->v);
    free(opt->segs);
    free(opt->block_sums);
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
    if (!opt->m || !opt->v || !opt->block_sums) goto nomem;
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
    /* Fill block_sums: block b of segment s covers a fixed range, so the
     * partial sums and their serial total do not depend on the threads. */
    size_t base = 0;
    for (int s = 0; s < opt->nseg; s++) {
        const OptimSegment *seg = &opt->segs[s];
        const size_t nb = (seg->count + NORM_BLOCK - 1) / NORM_BLOCK;
        const float *g = grads + seg->offset;
        double *out = opt->block_sums + base;
#pragma omp parallel for schedule(static)
        for (size_t b = 0; b < nb; b++) {
            const size_t lo = b * NORM_BLOCK, hi = lo + NORM_BLOCK < seg->count ? lo + NORM_BLOCK : seg->count;
            double acc = 0.0;
            for (size_t k = lo; k < hi; k++) acc += (double)g[k] * g[k];
            out[b] = acc;
        }
        base += nb;
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
    for (int s = 0; s < opt->nseg; s++) {
        const OptimSegment *seg = &opt->segs[s];
        const double decay = seg->decay ? 1.0 - lr * opt->cfg.weight_decay : 1.0;
        float *p = params + seg->offset, *g = grads + seg->offset;
        float *m = opt->m + seg->offset, *v = opt->v + seg->offset;
        const size_t cnt = seg->count;
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < cnt; k++) {
            double gk = g[k];
            if (clip != 1.0) {
                gk *= clip;
                g[k] = (float)gk;
            }
            const double mk = b1 * m[k] + (1.0 - b1) * gk;
            const double vk = b2 * v[k] + (1.0 - b2) * gk * gk;
            m[k] = (float)mk;
            v[k] = (float)vk;
            const double pk = (double)p[k] * decay;
            p[k] = (float)(pk - step_size * mk / (sqrt(vk) / bc2_sqrt + eps));
        }
    }
    opt->step = t;
    if (opt->clamp_offset >= 0) {
        float *c = &params[opt->clamp_offset];
        if (*c < opt->clamp_lo) *c = opt->clamp_lo;
        if (*c > opt->clamp_hi) *c = opt->clamp_hi;
    }
    return MODX_OK;
}
