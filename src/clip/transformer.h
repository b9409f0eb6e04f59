/* The pre-LN residual transformer shared by both towers (OpenCLIP's
 * `Transformer` of `ResidualAttentionBlock`s), over activations (B*N, C):
 *   x1 = x  + out_proj(attn(ln_1(x)))      attn: packed in_proj, NH heads, causal flag
 *   x2 = x1 + c_proj(act(c_fc(ln_2(x1))))  act: QuickGELU or exact GELU
 * Internal to src/clip; the public entry points are in clip/model.h. */
#ifndef MODX_CLIP_TRANSFORMER_H
#define MODX_CLIP_TRANSFORMER_H

#include "clip/config.h"

typedef struct {
    float *ln_1_w, *ln_1_b;           /* (C) */
    float *in_proj_w, *in_proj_b;     /* (3C, C), (3C) */
    float *out_proj_w, *out_proj_b;   /* (C, C), (C) */
    float *ln_2_w, *ln_2_b;           /* (C) */
    float *c_fc_w, *c_fc_b;           /* (F, C), (F) */
    float *c_proj_w, *c_proj_b;       /* (C, F), (C) */
} ClipBlockWeights;

typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* (R, C), (R), (R)   R = B*N rows */
    float *qkv;                       /* (R, 3C) */
    float *att;                       /* (B, NH, N, N) softmax probabilities */
    float *atty;                      /* (R, C) heads concatenated */
    float *res1;                      /* (R, C) x1 */
    float *ln2, *ln2_mean, *ln2_rstd; /* (R, C), (R), (R) */
    float *fch;                       /* (R, F) c_fc output */
    float *fch_act;                   /* (R, F) after the activation */
    float *res2;                      /* (R, C) x2, the block output */
} ClipBlockActs;

/* Backward scratch shared by all blocks (sized for the larger tower). */
typedef struct {
    float *d_ln;      /* (R, C) */
    float *d_qkv;     /* (R, 3C) */
    float *d_atty;    /* (R, C) */
    float *d_fch;     /* (R, F) */
    float *d_fch_act; /* (R, F) */
    float *d_att;     /* (B, NH, N, N) */
} ClipBlockScratch;

typedef struct {
    int B, N, C, NH, F, L, causal, quick_gelu;
} TransformerDims;

/* Runs L blocks on x (R, C). With nbuf == L every block keeps its activations
 * (training); with nbuf == 1 one set is reused (inference). Returns the output
 * (the last block's res2). */
const float *transformer_forward(const TransformerDims *d, const ClipBlockWeights *w, ClipBlockActs *a, int nbuf,
                                 const float *x);
/* dx (R, C): in = ∂loss/∂output, out = ∂loss/∂x (in place). Weight gradients are
 * added into gw. Needs the activations of a training forward (nbuf == L). */
void transformer_backward(const TransformerDims *d, const ClipBlockWeights *w, const ClipBlockWeights *gw,
                          const ClipBlockActs *a, const ClipBlockScratch *s, const float *x, float *dx);

#endif
