#include "clip/transformer.h"

#include <string.h>

#include "nn/attention.h"
#include "nn/gelu.h"
#include "nn/layernorm.h"
#include "nn/linear.h"
#include "nn/residual.h"

const float *transformer_forward(const TransformerDims *d, const ClipBlockWeights *w, ClipBlockActs *a, int nbuf,
                                 const float *x) {
    int R = d->B * d->N, C = d->C, F = d->F;
    for (int l = 0; l < d->L; l++) {
        const ClipBlockWeights *bw = &w[l];
        ClipBlockActs *ba = &a[nbuf == 1 ? 0 : l];
        layernorm_forward(ba->ln1, ba->ln1_mean, ba->ln1_rstd, x, bw->ln_1_w, bw->ln_1_b, R, C);
        linear_forward(ba->qkv, ba->ln1, bw->in_proj_w, bw->in_proj_b, R, C, 3 * C);
        attention_forward(ba->atty, ba->att, ba->qkv, d->B, d->N, C, d->NH, d->causal);
        /* The biases of out_proj, c_fc and c_proj are added in the pass that
         * follows each product (residual, activation), not in one of their own. */
        linear_forward(ba->res1, ba->atty, bw->out_proj_w, NULL, R, C, C);
        residual_bias_forward(ba->res1, ba->res1, bw->out_proj_b, x, R, C);
        layernorm_forward(ba->ln2, ba->ln2_mean, ba->ln2_rstd, ba->res1, bw->ln_2_w, bw->ln_2_b, R, C);
        linear_forward(ba->fch, ba->ln2, bw->c_fc_w, NULL, R, C, F);
        if (d->quick_gelu)
            quickgelu_bias_forward(ba->fch_act, ba->fch, bw->c_fc_b, R, F);
        else
            gelu_bias_forward(ba->fch_act, ba->fch, bw->c_fc_b, R, F);
        /* With one buffer set, res2 may be this block's input x: x is no longer
         * needed once res1 exists, and res1 is read by the residual below. */
        linear_forward(ba->res2, ba->fch_act, bw->c_proj_w, NULL, R, F, C);
        residual_bias_forward(ba->res2, ba->res2, bw->c_proj_b, ba->res1, R, C);
        x = ba->res2;
    }
    return x;
}

void transformer_backward(const TransformerDims *d, const ClipBlockWeights *w, const ClipBlockWeights *gw,
                          const ClipBlockActs *a, const ClipBlockScratch *s, const float *x, float *dx) {
    int R = d->B * d->N, C = d->C, F = d->F;
    size_t RF = (size_t)R * F;
    for (int l = d->L - 1; l >= 0; l--) {
        const ClipBlockWeights *bw = &w[l], *bg = &gw[l];
        const ClipBlockActs *ba = &a[l];
        const float *xin = l == 0 ? x : a[l - 1].res2;
        /* dx holds ∂/∂res2; the residual passes it straight to res1. The
         * scratch gradients are written (the _set kernels), not added to. */
        linear_backward_set(s->d_fch_act, bg->c_proj_w, bg->c_proj_b, dx, ba->fch_act, bw->c_proj_w, R, F, C);
        if (d->quick_gelu)
            quickgelu_backward_set(s->d_fch, s->d_fch_act, ba->fch, RF);
        else
            gelu_backward_set(s->d_fch, s->d_fch_act, ba->fch, RF);
        linear_backward_set(s->d_ln, bg->c_fc_w, bg->c_fc_b, s->d_fch, ba->ln2, bw->c_fc_w, R, C, F);
        layernorm_backward(dx, bg->ln_2_w, bg->ln_2_b, s->d_ln, ba->res1, bw->ln_2_w, ba->ln2_mean, ba->ln2_rstd, R,
                           C);
        /* dx now holds ∂/∂res1; the residual passes it straight to x. */
        linear_backward_set(s->d_atty, bg->out_proj_w, bg->out_proj_b, dx, ba->atty, bw->out_proj_w, R, C, C);
        attention_backward_set(s->d_qkv, s->d_att, s->d_atty, ba->qkv, ba->att, d->B, d->N, C, d->NH, d->causal);
        linear_backward_set(s->d_ln, bg->in_proj_w, bg->in_proj_b, s->d_qkv, ba->ln1, bw->in_proj_w, R, C, 3 * C);
        layernorm_backward(dx, bg->ln_1_w, bg->ln_1_b, s->d_ln, xin, bw->ln_1_w, ba->ln1_mean, ba->ln1_rstd, R, C);
    }
}
