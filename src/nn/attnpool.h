/* Attention pooling of a feature map, as OpenCLIP's AttentionPool2d (the head of
 * the ModifiedResNet): x (B, C, HW) NCHW is read as HW tokens of width C, their
 * mean is prepended as token 0, the positional embedding (N = HW + 1, C) is added,
 * and token 0 alone queries all N tokens with NH-head attention:
 *   q = t₀·Wqᵀ + bq,  k = t·Wkᵀ + bk,  v = t·Wvᵀ + bv   (weights (C, C), biases (C))
 *   per head h (HS = C/NH columns): p = softmax(q_h·k_hᵀ / sqrt(HS)),  o_h = p·v_h
 *   out = o·Wcᵀ + bc                                      (Wc (E, C), bc (E))
 * (OpenCLIP computes every token's output and keeps token 0; the others never
 * reach the result, so only token 0's query is formed.) The products go through
 * nn/linear.h; the per-(batch, head) attention loops are parallel with disjoint
 * outputs. The backward ADDS into dinp and every weight gradient. */
#ifndef MODX_NN_ATTNPOOL_H
#define MODX_NN_ATTNPOOL_H

typedef struct {
    float *pos;                   /* (N, C) positional_embedding */
    float *q_w, *q_b, *k_w, *k_b; /* (C, C), (C) */
    float *v_w, *v_b;             /* (C, C), (C) */
    float *c_w, *c_b;             /* (E, C), (E) */
} AttnPoolWeights;

typedef struct {
    float *tok;  /* (B, N, C) tokens + positions */
    float *tok0; /* (B, C) token 0 */
    float *q;    /* (B, C) */
    float *k, *v; /* (B·N, C) */
    float *att;  /* (B, NH, N) probabilities */
    float *o;    /* (B, C) heads concatenated */
} AttnPoolActs;

typedef struct {
    int B, C, HW, NH, E;
} AttnPoolDims;

/* out (B, E). */
void attnpool_forward(float *out, const AttnPoolActs *a, const float *inp, const AttnPoolWeights *w,
                      const AttnPoolDims *d);
void attnpool_forward_naive(float *out, const AttnPoolActs *a, const float *inp, const AttnPoolWeights *w,
                            const AttnPoolDims *d);
/* dinp (B, C, HW) += ∂/∂x; g's tensors +=. `s` is scratch with the shapes of an
 * AttnPoolActs (its att unused), overwritten. */
void attnpool_backward(float *dinp, const AttnPoolWeights *g, const AttnPoolActs *s, const float *dout,
                       const AttnPoolActs *a, const AttnPoolWeights *w, const AttnPoolDims *d);
void attnpool_backward_naive(float *dinp, const AttnPoolWeights *g, const AttnPoolActs *s, const float *dout,
                             const AttnPoolActs *a, const AttnPoolWeights *w, const AttnPoolDims *d);

#endif
